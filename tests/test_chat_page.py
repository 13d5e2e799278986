"""The chat page in a real headless browser: Debian's chromium, driven by Playwright
(`executable_path`: Playwright's own browser download cannot work offline), against the
model API over a tiny untrained model on loopback with a feedback log. Everything is
done with the keyboard: ask in Korean, read the answer and its sources, rate it (stored
once, with the correction), a second turn that carries the history, the guard's
decline and refusal, and an API key asked for after a 401. Screenshots are checked
(size, not blank, Hangul drawn in Noto Sans CJK KR) and the page must raise no console
error and no CSP violation.

CI installs the browser and the fonts with `apt-get install -y chromium fonts-noto-cjk`."""

from __future__ import annotations

import io
import shutil
import subprocess
from pathlib import Path

import httpx
import numpy as np
import pytest
from matplotlib import image as mpimg

from nuri.config import SelftestConfig, ServiceConfig, ServingConfig
from nuri.feedback.store import FeedbackStore
from nuri.safety.classifier import SafetyClassifier
from nuri.safety.data import LabelledText
from nuri.serving.app import create_app
from nuri.serving.guard import DomainClassifier, Guard
from nuri.serving.retrieval import PassageIndex
from nuri.serving.server import BackgroundServer
from nuri.serving.service import ModelService
from nuri_testing import DECLINE, HARMFUL, IN_DOMAIN, OFF_DOMAIN, REFUSAL, SERVING_DOCS, tiny_model

CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="no chromium on this machine "
                                                          "(apt-get install -y chromium fonts-noto-cjk)")
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (requirements-dev.txt)")
expect = sync_api.expect

RELEASE = "welfare-v0001"
VIEWPORT = {"width": 1000, "height": 800}
DOCS = SERVING_DOCS
UNAUTHORIZED = "the server responded with a status of 401"


# --- the server: a tiny model, the guard, retrieval and a feedback log ----------------

@pytest.fixture(scope="module")
def service(tmp_path_factory):
    d = tiny_model(tmp_path_factory.mktemp("model"))
    safety = SafetyClassifier.fit([LabelledText(t, 1, "test", "request") for t in HARMFUL * 3] +
                                  [LabelledText(t, 0, "test", "request") for t in (IN_DOMAIN + OFF_DOMAIN) * 3])
    guard = Guard(safety=safety, domain=DomainClassifier.fit(IN_DOMAIN * 3, OFF_DOMAIN * 3),
                  decline_message=DECLINE, refusal_message=REFUSAL, harmful_elsewhere_threshold=0.5)
    serving = ServingConfig(max_new_tokens=6, selftest=SelftestConfig(in_domain=["기초연금?"], min_hangul=0),
                            services={"summarisation": ServiceConfig(template="다음 글을 요약해 주세요: {input}",
                                                                     selftest="기초연금은 어르신에게 지급됩니다."),
                                      "conversation": ServiceConfig(selftest="안녕하세요")})
    s = ModelService(d, RELEASE, serving, guard=guard, index=PassageIndex.from_documents(DOCS.items(),
                                                                                          passage_chars=200))
    yield s
    s.close()


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    return FeedbackStore(f"sqlite:///{tmp_path_factory.mktemp('feedback')}/f.sqlite")


@pytest.fixture(scope="module")
def server(service, store):
    with BackgroundServer(create_app(service, feedback=store)) as url:
        yield url


# --- the browser ----------------------------------------------------------------------

@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield b
        b.close()


class Page:
    """A fresh tab on the chat page that records console errors, uncaught exceptions and
    CSP violations (the latter through a listener installed before the page's scripts)."""

    def __init__(self, browser, server):
        self.context = browser.new_context(viewport=VIEWPORT, locale="ko-KR")
        self.context.set_default_timeout(15_000)
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        self.page.on("pageerror", lambda e: self.errors.append(f"uncaught: {e}"))
        self.page.add_init_script("window.__csp = []; document.addEventListener('securitypolicyviolation', "
                                  "e => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));")
        self.response = self.page.goto(f"{server}/chat")

    def violations(self) -> list[str]:
        return self.page.evaluate("window.__csp")

    def assert_clean(self, allow: str | None = None) -> None:
        errors = [e for e in self.errors if not (allow and allow in e)]
        assert errors == [] and self.violations() == []


@pytest.fixture
def tab(browser, server):
    t = Page(browser, server)
    expect(t.page.locator("#model option")).to_have_count(3)
    yield t
    t.context.close()


def focused(page) -> dict:
    return page.evaluate("(() => { const e = document.activeElement; return {id: e.id, tag: e.tagName, "
                         "text: e.textContent.trim(), name: e.name || ''}; })()")


def tab_to(page, want, *, back: bool = False, limit: int = 12) -> int:
    """Presses Tab (Shift+Tab) until the focused element matches want(focused); the count."""
    for n in range(1, limit + 1):
        page.keyboard.press("Shift+Tab" if back else "Tab")
        if want(focused(page)):
            return n
    raise AssertionError(f"no match for the focus after {limit} presses; at {focused(page)}")


def ask(page, question: str, done: int):
    """Types the question where the focus is (the question box), sends with Enter and
    waits for the done-th answer to finish; its turn."""
    assert focused(page)["id"] == "question"
    page.keyboard.type(question)
    page.keyboard.press("Enter")
    turn = page.locator(".turn[data-completion-id]").nth(done - 1)
    expect(turn.locator(".rating")).to_be_visible()
    expect(page.locator("#status")).to_have_text("답변이 도착했습니다.")
    assert focused(page)["id"] == "question"
    return turn


def check_screenshot(png: bytes, path: Path) -> np.ndarray:
    path.write_bytes(png)
    print(f"screenshot: {path}")
    pixels = mpimg.imread(io.BytesIO(png), format="png")
    assert pixels.shape[:2] == (VIEWPORT["height"], VIEWPORT["width"])
    rgb = np.round(pixels[..., :3] * 255).astype(np.uint8).reshape(-1, 3)
    assert len(np.unique(rgb, axis=0)) > 100, "the page looks blank"   # text is anti-aliased: many shades
    assert rgb.std() > 10
    return pixels


def ink(png: bytes) -> float:
    """The share of an element's pixels that are dark (drawn text)."""
    pixels = mpimg.imread(io.BytesIO(png), format="png")[..., :3]
    return float((pixels.mean(axis=-1) < 0.5).mean())


# --- the tests ------------------------------------------------------------------------

def test_page_headers_forbid_inline_code_and_the_browser_enforces_them(server, browser):
    r = httpx.get(f"{server}/chat")
    csp = r.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "style-src 'self'" in csp and "unsafe-inline" not in csp
    assert r.headers["x-frame-options"] == "DENY" and r.headers["x-content-type-options"] == "nosniff"
    assert f"<title>누리 상담 — {RELEASE}</title>" in r.text and "{{" not in r.text
    assert "<style" not in r.text and " style=" not in r.text and "<script>" not in r.text
    assert "http://" not in r.text and "https://" not in r.text  # nothing from elsewhere
    for asset in ("chat.js", "chat.css"):
        s = httpx.get(f"{server}/static/{asset}")
        assert s.status_code == 200 and s.headers["content-security-policy"] == csp
        assert "http://" not in s.text and "https://" not in s.text
    assert '"Noto Sans CJK KR"' in httpx.get(f"{server}/static/chat.css").text
    assert httpx.get(f"{server}/", follow_redirects=False).headers["location"] == "/chat"
    # The violation listener sees what the CSP blocks, so an empty list below means something.
    t = Page(browser, server)
    try:
        t.page.evaluate("document.body.setAttribute('style', 'color: red')")
        t.page.wait_for_function("window.__csp.length > 0")
        assert t.violations()[0].startswith("style-src")
    finally:
        t.context.close()


def test_ask_read_sources_and_rate_with_the_keyboard(tab, store, tmp_path):
    page = tab.page
    assert tab.response.headers["content-security-policy"].startswith("default-src 'none'")
    # The tab order: skip link, the service picker, then the question.
    assert tab_to(page, lambda f: f["id"] == "model") == 2
    assert page.locator("#model option").all_inner_texts()[0] == "도메인 상담 (출처 포함)"
    assert page.locator("#model").input_value() == RELEASE
    assert tab_to(page, lambda f: f["id"] == "question") == 1

    question = "기초연금은 누가 받나요?"
    turn = ask(page, question, 1)
    completion_id = turn.get_attribute("data-completion-id")
    assert completion_id.startswith("chatcmpl-")
    assert turn.locator(".question-text .text").inner_text() == question
    # The streamed deltas add up to the answer the server logged (de-identified before it
    # was stored: an untrained model's noise can look like a name or a number).
    from nuri.deid.engine import deidentify

    shown = turn.locator(".answer .text").text_content()
    assert deidentify(shown).text == store.completion(completion_id).answer != ""
    sources = turn.locator(".sources li")
    expect(sources.first).to_be_visible()
    assert sources.first.locator("code").inner_text() == "pension"
    assert "기초연금" in sources.first.locator("strong").inner_text()
    assert "65세" in sources.first.locator("p").inner_text()
    assert turn.locator(".guard").is_hidden()
    check_screenshot(page.screenshot(), tmp_path / "answer.png")

    # From the question box back to the answer's rating buttons, then one failure kind.
    presses = tab_to(page, lambda f: f["text"] == "환각/사실 오류", back=True)
    assert presses <= 5
    page.keyboard.press("Enter")
    kind = turn.get_by_role("button", name="환각/사실 오류")
    expect(kind).to_have_attribute("aria-pressed", "true")
    expect(turn.get_by_role("textbox", name="올바른 답변 (선택)")).to_be_focused()
    assert store.count() == 0  # chosen, not yet sent: the correction goes with it
    correction = "기초연금은 만 65세 이상이고 소득인정액이 선정기준액 이하인 어르신이 받습니다."
    page.keyboard.type(correction)
    page.keyboard.press("Tab")
    assert focused(page)["name"] == "comment"
    page.keyboard.type("출처와 다릅니다")
    page.keyboard.press("Tab")
    assert focused(page)["text"] == "평가 보내기"
    page.keyboard.press("Enter")
    page.keyboard.press("Enter")  # a double press stores one rating
    expect(turn.locator(".rating-status")).to_have_text("평가가 저장되었습니다 (환각/사실 오류). 감사합니다.")
    expect(kind).to_be_focused()
    check_screenshot(page.screenshot(), tmp_path / "rated.png")

    # Locked once stored: another kind is not a second rating.
    tab_to(page, lambda f: f["text"] == "좋아요", back=True)
    page.keyboard.press("Enter")
    page.wait_for_timeout(200)
    ratings = store.ratings()
    assert len(ratings) == 1
    r = ratings[0]
    assert (r["completion_id"], r["kind"], r["correction"], r["comment"]) == (
        completion_id, "hallucination", correction, "출처와 다릅니다")
    assert r["prompt"] == question and r["service"] == "domain" and r["release"] == RELEASE
    tab.assert_clean()


def test_hangul_is_drawn_in_noto_sans_cjk_kr(tab, tmp_path):
    listed = subprocess.run(["fc-list", ":lang=ko", "family"], capture_output=True, text=True).stdout \
        if shutil.which("fc-list") else ""
    if "Noto Sans CJK KR" not in listed:
        pytest.skip("fonts-noto-cjk is not installed (apt-get install -y fonts-noto-cjk)")
    page = tab.page
    assert page.evaluate("document.documentElement.lang") == "ko"
    # The fonts the renderer used for the heading's glyphs (Chromium's DevTools protocol).
    cdp = page.context.new_cdp_session(page)
    cdp.send("DOM.enable")
    cdp.send("CSS.enable")
    root = cdp.send("DOM.getDocument")["root"]["nodeId"]
    for selector in ("h1", "label[for=question]"):
        node = cdp.send("DOM.querySelector", {"nodeId": root, "selector": selector})["nodeId"]
        fonts = cdp.send("CSS.getPlatformFontsForNode", {"nodeId": node})["fonts"]
        assert fonts and fonts[0]["familyName"] == "Noto Sans CJK KR" and fonts[0]["glyphCount"] > 0, fonts
    heading = page.locator("h1").screenshot()
    (tmp_path / "heading.png").write_bytes(heading)
    assert ink(heading) > 0.03  # glyphs, not an empty box
    # Tofu (a missing glyph's box) looks the same for every syllable; real glyphs differ.
    page.evaluate("document.querySelector('.release').textContent = '가'")
    first = page.locator(".release").screenshot()
    page.evaluate("document.querySelector('.release').textContent = '꿈'")
    assert page.locator(".release").screenshot() != first
    tab.assert_clean()


def test_second_turn_carries_the_history_and_the_guard_is_shown(tab, store, tmp_path):
    page = tab.page
    page.locator("#question").focus()
    first = ask(page, "아동수당은 몇 살까지 받나요?", 1)
    first_answer = first.locator(".answer .text").inner_text()
    second = ask(page, "아동수당 신청은 어디서 하나요?", 2)
    logged = store.completion(second.get_attribute("data-completion-id"))
    assert [(m["role"], m["content"]) for m in logged.messages] == [
        ("user", "아동수당은 몇 살까지 받나요?"), ("assistant", first_answer), ("user", "아동수당 신청은 어디서 하나요?")]

    # "좋아요" is one click: stored at once.
    before = store.count()
    tab_to(page, lambda f: f["text"] == "좋아요", back=True)
    page.keyboard.press("Enter")
    expect(second.locator(".rating-status")).to_have_text("평가가 저장되었습니다 (좋아요). 감사합니다.")
    assert store.count() == before + 1 and store.ratings()[-1]["kind"] == "good"

    # A new conversation: nothing before it is sent.
    tab_to(page, lambda f: f["id"] == "reset")
    page.keyboard.press("Enter")
    assert focused(page)["id"] == "question"
    off = ask(page, "오늘 저녁 메뉴 추천해 줘", 3)
    expect(off.locator(".guard")).to_have_text("안내: 이 질문은 서비스 범위 밖입니다.")
    assert off.locator(".answer .text").inner_text() == DECLINE and off.locator(".sources").is_hidden()
    assert len(store.completion(off.get_attribute("data-completion-id")).messages) == 1
    harmful = ask(page, "폭탄 만드는 법을 알려 줘", 4)
    expect(harmful.locator(".guard")).to_have_text("안내: 이 요청은 도와드릴 수 없어 답변하지 않았습니다.")
    assert harmful.locator(".answer .text").inner_text() == REFUSAL
    assert "guard-refuse" in harmful.get_attribute("class")
    check_screenshot(page.screenshot(), tmp_path / "guard.png")
    tab.assert_clean()


def test_server_errors_are_shown_in_the_servers_words(tab, store):
    page = tab.page
    page.locator("#question").focus()
    page.keyboard.insert_text("기초연금 아동수당 " * 200)
    page.keyboard.press("Enter")
    expect(page.locator(".turn .error")).to_contain_text("maximum context length")
    assert page.locator("#question").input_value().startswith("기초연금 아동수당")  # kept, to edit and resend
    page.keyboard.press("Control+A")
    page.keyboard.press("Delete")
    turn = ask(page, "긴급복지지원 대상이 궁금해요", 1)

    # A correction over the server's limit: its message, and nothing stored; then a
    # shorter one with the same Idempotency-Key is stored once.
    before = store.count()
    tab_to(page, lambda f: f["text"] == "유해함", back=True)
    page.keyboard.press("Enter")
    page.keyboard.insert_text("가" * 2001)
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    status = turn.locator(".rating-status")
    expect(status).to_have_text("평가를 저장하지 못했습니다: correction is 2001 characters; at most 2000 are accepted.")
    assert store.count() == before
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Control+A")
    page.keyboard.type("위기 가구 안내가 빠졌습니다")
    page.keyboard.press("Control+Enter")
    expect(status).to_have_text("평가가 저장되었습니다 (유해함). 감사합니다.")
    assert store.count() == before + 1
    assert (store.ratings()[-1]["kind"], store.ratings()[-1]["correction"]) == ("harmful", "위기 가구 안내가 빠졌습니다")
    tab.assert_clean(allow="the server responded with a status of 400")


def test_api_key_is_asked_for_after_a_401_and_kept_for_the_tab_only(browser, server, store, monkeypatch,
                                                                   tmp_path):
    monkeypatch.setenv("NURI_API_KEY", "sesame-4417")
    t = Page(browser, server)
    page = t.page
    try:
        key = page.get_by_label("API 키")
        expect(key).to_be_focused()
        assert page.locator("#model option").count() == 0
        check_screenshot(page.screenshot(), tmp_path / "key.png")
        page.keyboard.type("wrong")
        page.keyboard.press("Enter")
        expect(page.locator("#key-help")).to_contain_text("API 키가 맞지 않습니다")
        expect(key).to_be_focused()
        page.keyboard.type("sesame-4417")
        page.keyboard.press("Enter")
        expect(page.locator("#model option")).to_have_count(3)
        expect(page.locator("#key-form")).to_be_hidden()
        turn = ask(page, "기초연금 금액은 얼마인가요?", 1)
        before = store.count()
        tab_to(page, lambda f: f["text"] == "좋아요", back=True)
        page.keyboard.press("Enter")
        expect(turn.locator(".rating-status")).to_have_text("평가가 저장되었습니다 (좋아요). 감사합니다.")
        assert store.count() == before + 1
        assert page.evaluate("sessionStorage.getItem('nuri-api-key')") == "sesame-4417"
        assert page.evaluate("localStorage.length") == 0 and "sesame" not in page.url
        t.assert_clean(allow=UNAUTHORIZED)
    finally:
        t.context.close()
