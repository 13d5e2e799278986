// The chat page: ask a service of the release, read the streamed answer and its
// sources, rate the answer. It talks only to this server's /v1 routes, the same ones
// any OpenAI client uses. Loaded as a same-origin file (the page's CSP allows no inline
// script); every control is a native button, select or textarea, so the keyboard alone
// works and screen readers name each one.
//
// How a rating is stored exactly once:
// - Each answer gets one random Idempotency-Key when it arrives. Every POST /v1/feedback
//   for that answer carries it, so a double click, or a retry after a lost response,
//   stores one rating; the server answers the first one again.
// - "좋아요" is one click: it is sent at once.
// - A failure kind (환각/사실 오류, 유해함, 편향됨, 회피함) is one click to choose: the button
//   is pressed and the optional fields (올바른 답변, 의견) open beside it, the first one
//   focused; "평가 보내기" sends the kind with whatever was written. The correction goes
//   in the same request as the kind, never as a second rating, because the API has no
//   way to amend a stored rating and a second POST would count the failure twice.
// - Once stored, the answer's rating buttons are locked (aria-disabled, still focusable
//   so the keyboard focus is not lost) and the confirmation is announced.
"use strict";

(() => {
  const KEY_STORAGE = "nuri-api-key";  // sessionStorage only: gone when the tab closes
  const DOMAIN_LABEL = "도메인 상담 (출처 포함)";
  const SERVICE_LABELS = {
    summarisation: "요약",
    conversation: "대화 (대화 기록 전체 반영)",
    code: "코드 작성",
    interview: "면접 질문 만들기",
  };
  const GUARD_NOTES = {
    decline: "안내: 이 질문은 서비스 범위 밖입니다.",
    refuse: "안내: 이 요청은 도와드릴 수 없어 답변하지 않았습니다.",
  };
  const KIND_LABELS = {
    good: "좋아요", hallucination: "환각/사실 오류", harmful: "유해함", biased: "편향됨", evasive: "회피함",
  };

  const $ = (id) => document.getElementById(id);
  const ui = {
    log: $("log"), ask: $("ask"), model: $("model"), question: $("question"), send: $("send"),
    stop: $("stop"), reset: $("reset"), status: $("status"), keyForm: $("key-form"), apiKey: $("api-key"),
    keyHelp: $("key-help"), template: $("turn-template"),
  };

  let history = [];      // the conversation sent as `messages`: {role, content}
  let streaming = null;  // the AbortController of the answer being streamed
  let retries = [];      // what to do again once an API key is given
  let memoryKey = null;  // the key where sessionStorage is disabled
  let turns = 0;

  class ApiError extends Error {
    constructor(status, message) {
      super(message);
      this.status = status;
    }
  }

  // --- the API ------------------------------------------------------------------------

  function storedKey() {
    try { return sessionStorage.getItem(KEY_STORAGE); } catch (_) { return null; }
  }

  function storeKey(key) {
    try {
      if (key) sessionStorage.setItem(KEY_STORAGE, key); else sessionStorage.removeItem(KEY_STORAGE);
    } catch (_) { /* storage disabled: the key lasts until the page is left */ }
    memoryKey = key;
  }

  async function api(path, { method = "GET", body, headers = {}, signal } = {}) {
    const key = storedKey() || memoryKey;
    const all = { Accept: "application/json", ...headers };
    if (body !== undefined) all["Content-Type"] = "application/json";
    if (key) all.Authorization = `Bearer ${key}`;
    let res;
    try {
      res = await fetch(`/v1/${path}`, {
        method, headers: all, body: body === undefined ? undefined : JSON.stringify(body), signal, cache: "no-store",
      });
    } catch (err) {
      if (err.name === "AbortError") throw err;
      throw new ApiError(0, "서버에 연결하지 못했습니다. 잠시 뒤에 다시 시도해 주세요.");
    }
    if (!res.ok) throw await errorOf(res);
    return res;
  }

  async function errorOf(res) {
    let message = `서버가 오류로 답했습니다 (HTTP ${res.status}).`;
    try {
      const body = await res.json();
      if (body && body.error && body.error.message) message = body.error.message;
    } catch (_) { /* not JSON: keep the status line */ }
    return new ApiError(res.status, message);
  }

  // Server-sent events from a fetch body: yields each event's data.
  async function* events(body) {
    const reader = body.getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    try {
      for (;;) {
        const { value, done } = await reader.read();
        buffer += decoder.decode(value || new Uint8Array(), { stream: !done });
        let at;
        while ((at = buffer.indexOf("\n\n")) >= 0) {
          const block = buffer.slice(0, at);
          buffer = buffer.slice(at + 2);
          const data = block.split("\n").filter((l) => l.startsWith("data:"))
            .map((l) => l.slice(5).replace(/^ /, "")).join("\n");
          if (data) yield data;
        }
        if (done) return;
      }
    } finally {
      reader.cancel().catch(() => {});
    }
  }

  // --- the API key --------------------------------------------------------------------

  function needKey(retry) {
    const hadKey = Boolean(storedKey() || memoryKey);
    storeKey(null);
    if (!retries.includes(retry)) retries.push(retry);
    ui.keyHelp.textContent = hadKey
      ? "API 키가 맞지 않습니다. 다시 입력해 주세요. 키는 이 탭에만 보관됩니다."
      : "이 서버는 API 키가 필요합니다. 키는 이 탭에만 보관되며 탭을 닫으면 지워집니다.";
    ui.keyForm.hidden = false;
    ui.apiKey.focus();
    announce("API 키가 필요합니다.");
  }

  ui.keyForm.addEventListener("submit", async (e) => {
    e.preventDefault();
    const key = ui.apiKey.value.trim();
    if (!key || /[^\x21-\x7e]/.test(key)) {  // a header value: printable ASCII only
      if (key) ui.keyHelp.textContent = "API 키에는 영문, 숫자와 기호만 들어갑니다. 다시 입력해 주세요.";
      ui.apiKey.focus();
      return;
    }
    storeKey(key);
    ui.apiKey.value = "";
    ui.keyForm.hidden = true;
    const todo = retries;
    retries = [];
    ui.question.focus();
    for (const f of todo) await f();  // in order: the service list before a question
  });

  // --- services -----------------------------------------------------------------------

  async function loadModels() {
    try {
      const res = await api("models");
      const ids = (await res.json()).data.map((m) => m.id);
      const chosen = ui.model.value;
      ui.model.replaceChildren(...ids.map((id, i) => {
        const name = id.includes("/") ? id.slice(id.indexOf("/") + 1) : id;
        const label = i === 0 ? DOMAIN_LABEL : `${SERVICE_LABELS[name] || name} (${id})`;
        return new Option(label, id, false, id === chosen);
      }));
    } catch (err) {
      if (err.status === 401) needKey(loadModels);
      else announce(`서비스 목록을 불러오지 못했습니다: ${err.message}`);
    }
  }

  // --- asking -------------------------------------------------------------------------

  function announce(text) {
    ui.status.textContent = text;
  }

  function newTurn(question, model) {
    turns += 1;
    const node = ui.template.content.firstElementChild.cloneNode(true);
    const id = `turn-${turns}`;
    node.id = id;
    node.querySelector(".question-text .text").textContent = question;
    node.querySelector(".service").textContent = `· ${ui.model.selectedOptions[0]?.text || model}`;
    ui.log.append(node);
    node.scrollIntoView({ block: "end" });
    return {
      node, id,
      text: node.querySelector(".answer .text"),
      guard: node.querySelector(".guard"),
      error: node.querySelector(".error"),
      sources: node.querySelector(".sources"),
      rating: node.querySelector(".rating"),
    };
  }

  function setBusy(turn) {
    const on = Boolean(turn);
    ui.stop.hidden = !on;
    ui.send.setAttribute("aria-disabled", String(on));
    if (turn) {
      turn.node.setAttribute("aria-busy", "true");
      announce("답변을 작성하는 중입니다…");
    }
  }

  function showMeta(turn, data) {
    const action = data.guard && data.guard.action;
    if (GUARD_NOTES[action]) {
      turn.guard.textContent = GUARD_NOTES[action];
      turn.guard.hidden = false;
      turn.node.classList.add(`guard-${action}`);
    }
    const sources = data.sources || [];
    if (sources.length) {
      turn.sources.querySelector("ol").replaceChildren(...sources.map((s) => {
        const li = document.createElement("li");
        const title = document.createElement("strong");
        title.textContent = s.title || s.id;
        const id = document.createElement("code");
        id.textContent = s.id;
        const snippet = document.createElement("p");
        snippet.textContent = s.snippet || "";
        li.append(title, " ", id, snippet);
        return li;
      }));
      turn.sources.hidden = false;
    }
  }

  function showError(turn, message) {
    turn.error.textContent = `오류: ${message}`;
    turn.error.hidden = false;
  }

  async function send() {
    if (streaming) {
      announce("앞의 답변이 끝난 뒤에 보낼 수 있습니다.");
      return;
    }
    const question = ui.question.value.trim();
    if (!question) {
      announce("질문을 입력해 주세요.");
      ui.question.focus();
      return;
    }
    const model = ui.model.value;
    if (!model) {
      announce("서비스 목록을 아직 불러오지 못했습니다.");
      return;
    }
    const messages = [...history, { role: "user", content: question }];
    const turn = newTurn(question, model);
    ui.question.value = "";
    const controller = new AbortController();
    streaming = controller;
    setBusy(turn);
    let answer = "";
    let completionId = null;
    let finished = false;
    try {
      const res = await api("chat/completions", {
        method: "POST", signal: controller.signal,
        body: { model, messages, stream: true, stream_options: { include_usage: true } },
      });
      for await (const data of events(res.body)) {
        if (data === "[DONE]") {
          finished = true;
          break;
        }
        const chunk = JSON.parse(data);
        if (chunk.error) throw new ApiError(500, chunk.error.message);
        if (!completionId) {  // the first chunk: the completion's id, sources and guard
          completionId = chunk.id;
          showMeta(turn, chunk);
        }
        for (const choice of chunk.choices || []) {
          if (choice.index === 0 && choice.delta && choice.delta.content) {
            answer += choice.delta.content;
            turn.text.textContent = answer;
          }
        }
      }
      if (!finished) throw new ApiError(0, "답변이 중간에 끊겼습니다.");
      history = [...messages, { role: "assistant", content: answer }];
      if (!answer) turn.text.textContent = "(빈 답변)";
      turn.node.dataset.completionId = completionId;
      setUpRating(turn, completionId);
      announce("답변이 도착했습니다.");
    } catch (err) {
      if (err.name === "AbortError") {
        showError(turn, "답변을 중지했습니다. 중지한 답변은 대화에 넣지 않고 평가할 수 없습니다.");
        announce("답변을 중지했습니다.");
      } else if (err.status === 401) {
        turn.node.remove();
        if (!ui.question.value) ui.question.value = question;
        needKey(send);
      } else {
        showError(turn, err instanceof ApiError ? err.message : "답변을 받는 중 연결이 끊겼습니다.");
        if (!ui.question.value) ui.question.value = question;  // to send again
        announce("답변을 받지 못했습니다.");
      }
    } finally {
      turn.node.removeAttribute("aria-busy");
      streaming = null;
      setBusy(null);
    }
  }

  ui.ask.addEventListener("submit", (e) => {
    e.preventDefault();
    send();
  });

  ui.question.addEventListener("keydown", (e) => {
    // Enter sends, Shift+Enter is a new line; an Enter that ends a Hangul syllable's
    // composition (IME) is the input method's, not a send.
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing && e.keyCode !== 229) {
      e.preventDefault();
      send();
    }
  });

  ui.stop.addEventListener("click", () => {
    if (streaming) streaming.abort();
    ui.question.focus();
  });

  ui.reset.addEventListener("click", () => {
    if (streaming) streaming.abort();
    history = [];
    // Earlier answers stay on the page (and can still be rated); they are no longer sent.
    if (ui.log.lastElementChild && !ui.log.lastElementChild.classList.contains("divider")) {
      const divider = document.createElement("p");
      divider.className = "divider";
      divider.textContent = "새 대화";
      ui.log.append(divider);
    }
    ui.question.value = "";
    ui.question.focus();
    announce("새 대화를 시작했습니다. 앞의 대화는 보내지 않습니다.");
  });

  // --- rating -------------------------------------------------------------------------

  function randomKey() {
    const bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);  // unlike randomUUID, also on plain http
    return `chat-${Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("")}`;
  }

  function setUpRating(turn, completionId) {
    const box = turn.rating;
    const title = box.querySelector(".rating-title");
    const group = box.querySelector(".kinds");
    const buttons = Array.from(group.querySelectorAll("button"));
    const details = box.querySelector(".details");
    const correction = details.elements.correction;
    const comment = details.elements.comment;
    const status = box.querySelector(".rating-status");
    title.id = `${turn.id}-rating`;
    group.setAttribute("aria-labelledby", title.id);
    details.setAttribute("aria-labelledby", title.id);
    correction.id = `${turn.id}-correction`;
    comment.id = `${turn.id}-comment`;
    const [correctionLabel, commentLabel] = details.querySelectorAll("label");
    correctionLabel.htmlFor = correction.id;
    commentLabel.htmlFor = comment.id;

    const state = { key: randomKey(), kind: null, sending: false, stored: false };

    function press(kind) {
      state.kind = kind;
      buttons.forEach((b) => b.setAttribute("aria-pressed", String(b.dataset.kind === kind)));
    }

    function pressed() {
      return buttons.find((b) => b.dataset.kind === state.kind) || buttons[0];
    }

    async function submit() {
      if (state.sending || state.stored || !state.kind) return;
      state.sending = true;
      box.setAttribute("aria-busy", "true");
      status.textContent = "평가를 보내는 중입니다…";
      const body = { completion_id: completionId, kind: state.kind };
      if (state.kind !== "good") {
        if (correction.value.trim()) body.correction = correction.value.trim();
        if (comment.value.trim()) body.comment = comment.value.trim();
      }
      try {
        const res = await api("feedback", { method: "POST", body, headers: { "Idempotency-Key": state.key } });
        await res.json();
        state.stored = true;
        buttons.forEach((b) => b.setAttribute("aria-disabled", "true"));
        box.classList.add("stored");
        const focused = details.contains(document.activeElement);
        details.hidden = true;
        if (focused) pressed().focus();
        status.textContent = `평가가 저장되었습니다 (${KIND_LABELS[state.kind]}). 감사합니다.`;
      } catch (err) {
        if (err.status === 401) {
          status.textContent = "API 키를 입력하면 평가를 보냅니다.";
          needKey(submit);
        } else {
          status.textContent = `평가를 저장하지 못했습니다: ${err.message}`;
        }
      } finally {
        state.sending = false;
        box.removeAttribute("aria-busy");
      }
    }

    buttons.forEach((b) => b.addEventListener("click", () => {
      if (state.stored || state.sending) return;
      const kind = b.dataset.kind;
      press(kind);
      if (kind === "good") {
        details.hidden = true;
        submit();
        return;
      }
      details.hidden = false;
      status.textContent = `‘${KIND_LABELS[kind]}’을(를) 골랐습니다. 올바른 답변과 의견은 선택 사항이며, ‘평가 보내기’를 누르면 저장됩니다.`;
      correction.focus();
    }));

    details.addEventListener("submit", (e) => {
      e.preventDefault();
      submit();
    });

    details.addEventListener("keydown", (e) => {
      if (e.key === "Enter" && (e.ctrlKey || e.metaKey) && !e.isComposing) {  // Ctrl+Enter sends
        e.preventDefault();
        submit();
      } else if (e.key === "Escape") {
        cancel();
      }
    });

    function cancel() {
      if (state.sending) return;
      const back = pressed();
      press(null);
      details.hidden = true;
      status.textContent = "평가를 취소했습니다.";
      back.focus();
    }

    details.querySelector(".cancel-rating").addEventListener("click", cancel);
    box.hidden = false;
  }

  loadModels();
})();
