"""Record schemas of the domain's data files, and a JSONL reader whose errors name the
file, line and field."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Iterator, TypeVar

from pydantic import BaseModel, ConfigDict, Field, StrictBool, ValidationError, model_validator

from nuri.errors import DataError


class _Record(BaseModel):
    # Unknown fields are kept out, not rejected: sources add their own metadata.
    model_config = ConfigDict(extra="ignore", frozen=True)


class Document(_Record):
    id: str
    text: str
    source: str = ""
    origin: str = ""                 # the configured source it came from (name or location)
    licence: str = ""
    format: str = ""                 # txt, md, pdf, hwp ... or the source kind for APIs
    markup: str | None = None        # 'md' / 'html' when the text still carries markup


class SftRecord(_Record):
    prompt: str = Field(min_length=1)
    answer: str = Field(min_length=1)
    category: str = "domain"


class CandidateRecord(BaseModel):
    """A prompt and several answers for a person to choose from (`nuri label` input).
    Extra fields are kept: they travel with the choice into the preference set."""

    model_config = ConfigDict(extra="allow", frozen=True)

    prompt: str = Field(min_length=1)
    answers: list[str] = Field(min_length=2)

    @model_validator(mode="after")
    def _answers_not_empty(self):
        if any(not a.strip() for a in self.answers):
            raise ValueError("answers must not be empty")
        return self


class PreferenceRecord(CandidateRecord):
    """A prompt, several answers, and the one a person chose. `kinds` may name what each
    answer is (nuri.data.kinds: "answer", "decline_in_domain", "wrong_fact" ...), so the
    reward model's accuracy can be reported per way of going wrong."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    chosen: int = Field(ge=0)
    kinds: list[str] | None = None

    @model_validator(mode="after")
    def _chosen_in_range(self):
        from nuri.data.kinds import ANSWER_KINDS, RIGHT_RESPONSE

        if self.chosen >= len(self.answers):
            raise ValueError(f"chosen={self.chosen} but only {len(self.answers)} answers")
        if self.kinds is not None:
            if len(self.kinds) != len(self.answers):
                raise ValueError(f"kinds has {len(self.kinds)} entries for {len(self.answers)} answers")
            unknown = sorted(set(self.kinds) - set(ANSWER_KINDS))
            if unknown:
                raise ValueError(f"kinds: unknown kind(s) {unknown} (one of: {', '.join(ANSWER_KINDS)})")
            for i, kind in enumerate(self.kinds):
                right = kind in RIGHT_RESPONSE.values()
                if right != (i == self.chosen):
                    raise ValueError(
                        f"kinds[{i}]: {kind!r} is a {'right response' if right else 'failure'} kind but answer {i} "
                        f"is {'not ' if i != self.chosen else ''}the chosen one (chosen={self.chosen})")
        return self

    def kind(self, i: int) -> str:
        from nuri.data.kinds import UNLABELLED

        return self.kinds[i] if self.kinds else UNLABELLED

    def pairs(self) -> list[tuple[str, str, str]]:
        """(chosen, rejected, kind of the rejected) for every answer the person did not choose."""
        best = self.answers[self.chosen]
        return [(best, a, self.kind(i)) for i, a in enumerate(self.answers) if i != self.chosen]


class SafetyRecord(_Record):
    prompt: str = Field(min_length=1)
    category: str = Field(min_length=1)
    refusal: str = Field(min_length=1)


class HarmfulPromptRecord(_Record):
    """A harmful request without a refusal (data.guard_harmful: the guard learns from it)."""

    prompt: str = Field(min_length=1)
    category: str = Field(min_length=1)


class OffdomainRecord(_Record):
    prompt: str = Field(min_length=1)
    decline: str = Field(min_length=1)


class GuardCheckRecord(_Record):
    """A request of the guard's check set (nuri/serving/guard_check_ko.jsonl)."""

    prompt: str = Field(min_length=1)
    harmful: StrictBool


class KnowledgeRecord(_Record):
    question: str = Field(min_length=1)
    choices: list[str] = Field(min_length=2)
    answer: int = Field(ge=0)

    @model_validator(mode="after")
    def _answer_in_range(self):
        if self.answer >= len(self.choices):
            raise ValueError(f"answer={self.answer} but only {len(self.choices)} choices")
        return self


R = TypeVar("R", bound=BaseModel)


def iter_jsonl(path: Path, model: type[R]) -> Iterator[R]:
    """Yields validated records; the first bad line raises DataError('file:line: ...')."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: file not found")
    with path.open("rb") as f:
        for lineno, raw in enumerate(f, start=1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as e:
                raise DataError(f"{path}:{lineno}: not valid UTF-8 (byte {e.start})") from None
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as e:
                raise DataError(f"{path}:{lineno}: invalid JSON ({e.msg} at column {e.colno})") from None
            if not isinstance(obj, dict):
                raise DataError(f"{path}:{lineno}: expected a JSON object")
            try:
                yield model.model_validate(obj)
            except ValidationError as e:
                err = e.errors()[0]
                msg = "required field is missing" if err["type"] == "missing" else \
                    err["msg"].removeprefix("Value error, ")
                # A check across fields names its own field at the start of its message.
                where = ".".join(str(p) for p in err["loc"])
                raise DataError(f"{path}:{lineno}: {where + ': ' if where else ''}{msg}") from None


def read_jsonl(path: Path, model: type[R], *, allow_empty: bool = False) -> list[R]:
    records = list(iter_jsonl(path, model))
    if not records and not allow_empty:
        raise DataError(f"{path}: no records")
    return records


class JsonlWriter:
    """Appends rows one at a time to `path.tmp`; `close()` renames it into place, so a
    reader never sees a half-written file. `abort(keep_as)` keeps what was written."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.tmp = self.path.with_name(self.path.name + ".tmp")
        self._f = self.tmp.open("w", encoding="utf-8")
        self.count = 0

    def write(self, row) -> None:
        if isinstance(row, BaseModel):
            row = row.model_dump(exclude_none=True)
        self._f.write(json.dumps(row, ensure_ascii=False) + "\n")
        self.count += 1

    def close(self) -> None:
        if not self._f.closed:
            self._f.close()
            self.tmp.replace(self.path)

    def abort(self, keep_as: Path | None = None) -> None:
        if not self._f.closed:
            self._f.close()
        if keep_as is not None:
            self.tmp.replace(keep_as)
        else:
            self.tmp.unlink(missing_ok=True)

    def __enter__(self):
        return self

    def __exit__(self, exc_type, *_):
        if exc_type is None:
            self.close()
        else:
            self.abort()


def write_jsonl(path: Path, rows) -> None:
    """Writes aside and renames, so a reader never sees a half-written file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w", encoding="utf-8") as f:
        for row in rows:
            if isinstance(row, BaseModel):
                row = row.model_dump()
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    tmp.replace(path)
