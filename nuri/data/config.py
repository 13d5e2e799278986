"""The `data:` section of a domain config: sources, cleaning, de-duplication, training
sets, teacher endpoint and bad-input policy. Every field is typed and defaulted, so a
config that only names `corpus:` and the JSONL sets keeps working."""

from __future__ import annotations

import re
from typing import Annotated, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# --- sources ----------------------------------------------------------------------------

class _Source(_Strict):
    name: str | None = Field(None, description="label on the data card (default: the location)")
    licence: str = Field("unspecified", description="licence of the texts, e.g. 'KOGL-1', "
                                                    "'public-domain (Copyright Act art. 7)'")
    formats: list[str] | None = Field(None, description="file suffixes to read (default: all known)")


class FolderSource(_Source):
    kind: Literal["folder"] = "folder"
    path: str = Field(description="folder or single file (relative to the config file)")


class HttpSource(_Source):
    kind: Literal["http"]
    urls: list[str] = Field(min_length=1, description="http(s) URLs of documents (format from suffix "
                                                      "or Content-Type)")
    timeout_s: float = Field(30.0, gt=0)


class S3Source(_Source):
    kind: Literal["s3"]
    uri: str = Field(description="s3://bucket/prefix (endpoint and credentials from the environment)")

    @field_validator("uri")
    @classmethod
    def _s3(cls, v: str) -> str:
        if not v.startswith("s3://"):
            raise ValueError("must start with s3://")
        return v


class OpenDataApiSource(_Source):
    """A public-data portal API (e.g. data.go.kr): paged JSON or XML, a service key."""

    kind: Literal["open_data_api"]
    url: str
    service_key_env: str = Field("NURI_OPEN_DATA_KEY", description="environment variable with the key")
    key_param: str = "serviceKey"
    page_param: str = "pageNo"
    size_param: str = "numOfRows"
    page_size: int = Field(100, ge=1, le=10000)
    max_pages: int = Field(1000, ge=1)
    response_format: Literal["json", "xml"] = "json"
    params: dict[str, str] = Field(default_factory=dict, description="extra query parameters")
    items_path: str = Field("response.body.items.item", description="dot path to the list of items")
    total_path: str | None = Field("response.body.totalCount", description="dot path to the total count")
    text_fields: list[str] = Field(min_length=1, description="item fields joined into the document text")
    id_field: str | None = None
    timeout_s: float = Field(30.0, gt=0)


SourceConfig = Annotated[Union[FolderSource, HttpSource, S3Source, OpenDataApiSource],
                         Field(discriminator="kind")]


# --- cleaning and de-duplication ---------------------------------------------------------

class CleaningConfig(_Strict):
    min_chars: int = Field(20, ge=1, description="shorter documents are removed (too_short)")
    max_chars: int = Field(2_000_000, ge=100, description="longer documents are removed (too_long)")
    min_korean_ratio: float = Field(0.3, ge=0, le=1, description="Hangul share of letters (not_korean)")
    max_symbol_ratio: float = Field(0.3, ge=0, le=1, description="symbol share of non-space characters")
    max_duplicate_line_ratio: float = Field(0.5, ge=0, le=1,
                                            description="share of lines that repeat another line")
    max_top_ngram_ratio: float = Field(0.2, ge=0, le=1,
                                       description="share of words inside the most frequent word 3-gram")
    strip_markup: bool = True
    boilerplate_patterns: list[str] = Field(
        default_factory=lambda: [
            r"^(무단\s*전재|무단전재).*(금지|금함)",
            r"^(copyright|ⓒ|©)\s", r"all rights reserved",
            r"^(이전글|다음글|목록(으로)?|맨\s*위로|top)$",
            r"^(페이지|page)\s*\d+(\s*/\s*\d+)?$", r"^-\s*\d+\s*-$",
        ],
        description="lines matching any of these (case-insensitive) are dropped")

    @field_validator("boilerplate_patterns")
    @classmethod
    def _compile(cls, v: list[str]) -> list[str]:
        for p in v:
            try:
                re.compile(p)
            except re.error as e:
                raise ValueError(f"boilerplate pattern {p!r}: {e}") from None
        return v


class DedupConfig(_Strict):
    near_duplicates: bool = True
    threshold: float = Field(0.8, gt=0, lt=1, description="estimated Jaccard similarity of shingles")
    num_perm: int = Field(64, ge=16, le=512)
    shingle_words: int = Field(3, ge=1, le=10)


# --- training sets ----------------------------------------------------------------------

class HarmCategory(_Strict):
    """One category of harmful queries the model must refuse."""

    name: str = Field(pattern=r"^[a-z][a-z0-9_]{1,40}$")
    description: str = ""
    refusal: str = Field(min_length=1, description="the expected refusal (used when an example has none)")
    examples: list[str] = Field(default_factory=list, description="harmful prompts of this category")


class SftTemplate(_Strict):
    """A prompt/answer template filled from a document: {title}, {lead}, {body}."""

    prompt: str
    answer: str

    @model_validator(mode="after")
    def _fields(self):
        allowed = {"title", "lead", "body"}
        for part in (self.prompt, self.answer):
            names = set(re.findall(r"\{(\w+)\}", part))
            if names - allowed:
                raise ValueError(f"unknown placeholder(s) {sorted(names - allowed)}; use {sorted(allowed)}")
        return self


class TeacherConfig(_Strict):
    """An OpenAI-compatible chat endpoint that writes SFT pairs from documents."""

    base_url: str = Field(description="e.g. http://teacher.nuri-system:8000/v1")
    model: str
    api_key_env: str = Field("NURI_TEACHER_API_KEY", description="environment variable with the key")
    max_documents: int = Field(50, ge=1)
    pairs_per_document: int = Field(2, ge=1, le=10)
    timeout_s: float = Field(60.0, gt=0)
    temperature: float = Field(0.3, ge=0, le=2)


class AugmentConfig(_Strict):
    """Grows the sets with prompt variants; never duplicates an item (normalised)."""

    sft_variants: int = Field(0, ge=0, le=5, description="extra phrasings per SFT prompt")
    filtering_variants: int = Field(0, ge=0, le=5, description="extra phrasings per harmful prompt")
    preference_variants: int = Field(0, ge=0, le=5, description="extra phrasings per preference prompt")
    seed: int = 13


class SetsConfig(_Strict):
    system_prompt: str = Field("", description="system message of the chat-format SFT records")
    max_prompt_chars: int = Field(4000, ge=10)
    max_answer_chars: int = Field(8000, ge=10)
    templates: list[SftTemplate] = Field(default_factory=list)
    max_template_documents: int = Field(0, ge=0, description="documents the templates are applied to")
    harmful_taxonomy: list[HarmCategory] = Field(default_factory=list)
    augment: AugmentConfig = AugmentConfig()


class BootstrapConfig(_Strict):
    """Training sets derived from the corpus for an agency that has only documents
    (nuri/data/bootstrap): every set the config does not give is derived at ingest."""

    offdomain_prompts: str = Field(description="JSONL of {prompt}: questions outside any ministry's remit "
                                               "(domains/shared/offdomain_prompts.jsonl)")
    harmful_prompts: str = Field(description="JSONL of {prompt, category}: requests every service refuses "
                                             "(domains/shared/harmful_prompts.jsonl)")
    split_documents: bool = Field(True, description="the corpus as one document per article or section, so "
                                                    "held-out text, retrieval and sources are per provision")
    answer_chars: int = Field(160, ge=40, le=2000, description="derived answers quote at most this much")
    knowledge_items: int = Field(40, ge=0, description="multiple-choice knowledge questions to derive")
    reviewed: str | None = Field(None, description="`nuri label` output for the derived review.jsonl: items "
                                                   "a person confirmed count as reviewed, ones they rejected are "
                                                   "dropped")
    require_review: bool = Field(False, description="train only on reviewed items")
    seed: int = 13


# --- the section -------------------------------------------------------------------------

class DataConfig(_Strict):
    """Where the ministry's data lives and how it becomes versioned training sets."""

    corpus: str | None = Field(None, description="folder or s3:// prefix of documents (kept for "
                                                 "simple configs; same as one folder/s3 source)")
    corpus_licence: str = "unspecified"
    sources: list[SourceConfig] = Field(default_factory=list)
    sft: str | None = Field(None, description="JSONL of {prompt, answer}; derived when absent (bootstrap:)")
    preferences: str | None = Field(None, description="JSONL of {prompt, answers[], chosen}; derived when "
                                                      "absent (bootstrap:)")
    safety: str | None = Field(None, description="JSONL of {prompt, category, refusal}")
    offdomain: str | None = Field(None, description="JSONL of {prompt, decline}")
    guard_harmful: str | None = Field(None, description="JSONL of {prompt, category}: harmful requests the "
                                                        "guard also learns to refuse, beside data.safety "
                                                        "(domains/shared/harmful_prompts.jsonl: those every "
                                                        "service refuses); not a training set of the model")
    knowledge_eval: str | None = Field(None, description="JSONL of {question, choices[], answer}")
    feedback: str | None = Field(None, description="folder or s3:// prefix of a feedback dataset (made by "
                                                   "`nuri retrain` from people's ratings): trained on, never "
                                                   "held out")
    holdout_fraction: float = Field(0.1, gt=0, lt=0.5)
    min_doc_chars: int | None = Field(None, ge=1, description="deprecated: cleaning.min_chars")
    on_bad_input: Literal["skip", "reject"] = Field(
        "reject", description="unreadable files / malformed records: skip (reported) or stop the run")
    encodings: list[str] = Field(default_factory=lambda: ["utf-8"],
                                 description="tried in order for text files; add 'cp949' for legacy files")
    progress_every: int = Field(1000, ge=1, description="log progress every N documents")
    cleaning: CleaningConfig = CleaningConfig()
    dedup: DedupConfig = DedupConfig()
    sets: SetsConfig = SetsConfig()
    teacher: TeacherConfig | None = None
    bootstrap: BootstrapConfig | None = None
    publish: bool = Field(True, description="publish each dataset version to storage.uri/datasets/")

    @model_validator(mode="after")
    def _has_corpus(self):
        if not self.corpus and not self.sources:
            raise ValueError("give corpus: or sources:")
        return self

    @model_validator(mode="after")
    def _has_sets(self):
        for name in ("sft", "preferences"):
            if getattr(self, name) is None and self.bootstrap is None:
                raise ValueError(f"give {name}: (a JSONL file) or bootstrap: (derive the sets from the corpus)")
        return self

    @field_validator("sources", mode="before")
    @classmethod
    def _folder_by_default(cls, v):
        if isinstance(v, list):
            return [{**s, "kind": "folder"} if isinstance(s, dict) and "kind" not in s and "path" in s else s
                    for s in v]
        return v

    @field_validator("encodings")
    @classmethod
    def _known_encodings(cls, v: list[str]) -> list[str]:
        import codecs

        for e in v:
            try:
                codecs.lookup(e)
            except LookupError:
                raise ValueError(f"unknown encoding {e!r}") from None
        return v

    def all_sources(self) -> list:
        """`corpus:` as a source, then `sources:`."""
        out = []
        if self.corpus:
            if self.corpus.startswith("s3://"):
                out.append(S3Source(kind="s3", uri=self.corpus, name="corpus", licence=self.corpus_licence))
            else:
                out.append(FolderSource(path=self.corpus, name="corpus", licence=self.corpus_licence))
        return out + list(self.sources)

    @property
    def min_chars(self) -> int:
        return self.min_doc_chars or self.cleaning.min_chars
