"""A release loaded for serving: the model behind the batching engine, and the services
of the recipe in front of it.

Services, each a model id in /v1/models:
- `<release>`: the domain service. The guard decides first (refuse harmful, decline off
  the domain, with the domain's own messages); an answered question gets the k best
  passages of the ministry's corpus before it, in the format SFT trained on, and the
  response names them as `sources` (document id, title, snippet).
- `<release>/<name>` for each configured basic service (summarisation, conversation,
  code, interview ...): its template and few-shot examples around the user's message;
  harmful requests are refused by the same guard, off-domain ones are not its concern.

Release folder: model/ (weights, tokenizer), safety_classifier/, service/ (retrieval
passages, domain classifier, messages), domain.json (the config that made it)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from nuri.config import DomainConfig, ServiceConfig, ServingConfig
from nuri.errors import NuriError
from nuri.serving.engine import BatchingEngine
from nuri.serving.guard import Guard, GuardDecision
from nuri.serving.openai_schema import APIError, ChatRequest
from nuri.serving.retrieval import Passage, PassageIndex, context_prompt, snippet

log = logging.getLogger("nuri")


@dataclass
class Prepared:
    """What a request becomes: either a fixed reply (the guard's) or a prompt to generate from."""

    service: str
    input_ids: list[int] = field(default_factory=list)
    max_new_tokens: int = 0
    reply: str | None = None
    guard: GuardDecision | None = None
    sources: list[dict] = field(default_factory=list)


class ModelService:
    def __init__(self, model_dir: Path, name: str, serving: ServingConfig, *, guard: Guard | None = None,
                 index: PassageIndex | None = None, start_engine: bool = True):
        self.name, self.serving = name, serving
        self.tokenizer = AutoTokenizer.from_pretrained(model_dir)
        self.model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32).eval()
        self.context_tokens = int(getattr(self.model.config, "max_position_embeddings", 2048))
        self.guard, self.index = guard, index
        eng = serving.engine
        self.engine = BatchingEngine(self.model, self.tokenizer, max_batch=eng.max_batch,
                                     max_wait_s=eng.max_wait_ms / 1000, gap_s=eng.arrival_gap_ms / 1000,
                                     max_queue=eng.max_queue,
                                     context_tokens=self.context_tokens) if start_engine else None

    @classmethod
    def from_release(cls, release_dir: Path, name: str | None = None, serving: ServingConfig | None = None, *,
                     max_batch: int | None = None) -> "ModelService":
        """Loads model/, and the guard and retrieval when the release carries them
        (a release made before they existed serves without: the model alone decides).
        serving: None reads the release's domain.json; max_batch overrides its engine's."""
        from nuri.safety.classifier import SafetyClassifier
        from nuri.serving.assets import SERVICE_FILE
        from nuri.serving.guard import DomainClassifier

        release_dir = Path(release_dir)
        if not (release_dir / "model").is_dir():
            raise NuriError(f"{release_dir}: not a release folder (no model/)")
        if serving is None:
            config_path = release_dir / "domain.json"
            if not config_path.is_file():
                raise NuriError(f"{config_path}: file not found (the release's config)")
            serving = DomainConfig.from_json(config_path.read_text(encoding="utf-8")).serving
        if max_batch is not None:
            serving = serving.model_copy(update={"engine": serving.engine.model_copy(update={"max_batch": max_batch})})
        guard = index = None
        service_dir = release_dir / "service"
        if (service_dir / SERVICE_FILE).is_file():
            import json

            meta = json.loads((service_dir / SERVICE_FILE).read_text(encoding="utf-8"))
            safety = SafetyClassifier.load(release_dir / "safety_classifier") \
                if (release_dir / "safety_classifier").is_dir() else None
            guard = Guard(safety=safety, domain=DomainClassifier.load(service_dir),
                          decline_message=meta["decline_message"], refusal_message=meta["refusal_message"],
                          harmful_threshold=meta.get("harmful_threshold"),
                          harmful_elsewhere_threshold=meta["harmful_elsewhere_threshold"],
                          off_domain_threshold=meta["off_domain_threshold"])
            index = PassageIndex.load(service_dir)
        else:
            log.warning("%s has no service/ folder: serving without guard and retrieval", release_dir)
        if name is None:  # KServe mounts the release at /mnt/models: its marker knows its name
            import json

            marker = release_dir / "RELEASE.json"
            name = json.loads(marker.read_text()).get("release") if marker.is_file() else None
        return cls(release_dir / "model", name or release_dir.name, serving, guard=guard, index=index)

    def close(self) -> None:
        if self.engine is not None:
            self.engine.close()

    # --- services -----------------------------------------------------------------

    @property
    def model_ids(self) -> list[str]:
        return [self.name] + [f"{self.name}/{s}" for s in self.serving.services]

    def service_of(self, model_id: str) -> str:
        """"domain" or a basic service's name; 404 in OpenAI's words for any other id."""
        if model_id == self.name:
            return "domain"
        prefix = f"{self.name}/"
        if model_id.startswith(prefix) and model_id[len(prefix):] in self.serving.services:
            return model_id[len(prefix):]
        raise APIError(404, f"The model '{model_id}' does not exist or you do not have access to it.",
                       param="model", code="model_not_found")

    def _messages(self, req: ChatRequest, service: str, user_text: str) -> list[dict]:
        history = [{"role": "system" if m.role == "developer" else m.role, "content": m.text()}
                   for m in req.messages[:-1]]
        svc: ServiceConfig | None = self.serving.services.get(service)
        system = (svc.system_prompt if svc and svc.system_prompt else self.serving.system_prompt)
        if system:  # the service's own instructions come first; a client's system turns follow
            history.insert(0, {"role": "system", "content": system})
        if svc is not None:
            at = next((i for i, m in enumerate(history) if m["role"] != "system"), len(history))
            for ex in svc.examples:  # few-shot turns, in order, before the conversation's own
                history[at:at] = [{"role": "user", "content": ex.user}, {"role": "assistant", "content": ex.assistant}]
                at += 2
            user_text = svc.template.replace("{input}", user_text)
        return history + [{"role": "user", "content": user_text}]

    def _encode(self, messages: list[dict]) -> list[int]:
        enc = self.tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=True)
        return list(enc["input_ids"] if isinstance(enc, dict) or hasattr(enc, "keys") else enc)

    def token_count(self, text: str) -> int:
        return len(self.tokenizer(text, add_special_tokens=False)["input_ids"])

    def prepare(self, req: ChatRequest) -> Prepared:
        service = self.service_of(req.model)
        last = req.messages[-1]
        if last.role != "user":
            raise APIError(400, "The last message must come from the user.", param="messages")
        question = last.text()
        if not question.strip():
            raise APIError(400, "The last user message is empty.", param="messages")
        asked = req.max_completion_tokens or req.max_tokens
        if asked is not None and asked > self.serving.engine.max_completion_tokens:
            raise APIError(400, f"max_completion_tokens is at most {self.serving.engine.max_completion_tokens} on "
                                f"this server (asked {asked}).", param="max_completion_tokens", code="invalid_value")
        decision = None
        if self.guard is not None:
            # Harm in any user turn is refused; the domain is the last question's.
            earlier = [m.text() for m in req.messages[:-1] if m.role == "user"]
            decision = self.guard.decide(question, check_domain=service == "domain", earlier=earlier)
            reply = self.guard.message(decision)
            if reply is not None:
                return Prepared(service, reply=reply, guard=decision)
        passages: list[Passage] = []
        if service == "domain" and self.index is not None:
            passages = [p for p, _ in self.index.search(question, self.serving.retrieval.k)]
        svc = self.serving.services.get(service)
        default_new = (svc.max_new_tokens if svc and svc.max_new_tokens else None) or self.serving.max_new_tokens
        while True:  # passages go first when the prompt would not fit; the user's text never
            content = context_prompt(question, passages, self.serving.retrieval.snippet_chars)
            ids = self._encode(self._messages(req, service, content))
            room = self.context_tokens - len(ids)
            if room >= (asked or 1) or not passages:
                break
            passages = passages[:-1]
        if room < (asked or 1):
            raise APIError(400, f"This model's maximum context length is {self.context_tokens} tokens. However, "
                                f"you requested {len(ids) + (asked or 1)} tokens ({len(ids)} in the messages, "
                                f"{asked or 1} in the completion). Please reduce the length of the messages "
                                f"or completion.", param="messages", code="context_length_exceeded")
        snip = self.serving.retrieval.snippet_chars
        sources = [{"id": p.doc_id, "title": p.title, "snippet": snippet(p, snip)} for p in passages]
        return Prepared(service, ids, min(asked or default_new, room), guard=decision, sources=sources)
