"""Per-ministry de-identification settings; embedded in the domain config under ``deid:``."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from nuri.deid.pii_types import BUILTIN_TYPES, SENSITIVE

_LABEL = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,39}$")


class SensitivePattern(BaseModel):
    """A ministry's own pattern; its name (upper-cased) is the placeholder and count key."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    regex: str

    @field_validator("name")
    @classmethod
    def _name_is_a_label(cls, name: str) -> str:
        if not _LABEL.match(name):
            raise ValueError(
                f"sensitive pattern name {name!r} must be a letter followed by letters, digits or _")
        return name

    @model_validator(mode="after")
    def _regex_compiles(self) -> SensitivePattern:
        try:
            compiled = re.compile(self.regex)
        except re.error as exc:
            raise ValueError(f"sensitive pattern {self.name!r}: invalid regex: {exc}") from None
        if compiled.match(""):
            raise ValueError(f"sensitive pattern {self.name!r}: regex matches the empty string")
        return self

    @property
    def label(self) -> str:
        return self.name.upper()


class DeidConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # placeholder: "[RRN]"; mask: "*" of the same length; pseudonym: keyed
    # HMAC token, the same value giving the same token across a dataset.
    mode: Literal["placeholder", "mask", "pseudonym"] = "placeholder"
    types: list[str] = Field(default_factory=lambda: list(BUILTIN_TYPES))
    sensitive_terms: list[str] = Field(default_factory=list)
    sensitive_patterns: list[SensitivePattern] = Field(default_factory=list)
    # Nationwide representative numbers (1577-1000) belong to organisations and
    # are kept; a ministry whose texts carry sole traders' lines can have them
    # replaced as PHONE.
    redact_representative_numbers: bool = False
    # Name of the environment variable holding the pseudonym key; the key
    # itself never goes into a config file.
    pseudonym_key_env: str = "NURI_PSEUDONYM_KEY"

    @field_validator("types")
    @classmethod
    def _known_types(cls, types: list[str]) -> list[str]:
        unknown = sorted(set(types) - set(BUILTIN_TYPES))
        if unknown:
            raise ValueError(f"unknown de-identification types {unknown}; known: {list(BUILTIN_TYPES)}")
        return types

    @field_validator("sensitive_terms")
    @classmethod
    def _no_blank_terms(cls, terms: list[str]) -> list[str]:
        if any(not t.strip() for t in terms):
            raise ValueError("sensitive_terms must not contain blank terms")
        return terms

    @model_validator(mode="after")
    def _pattern_names_unique(self) -> DeidConfig:
        labels = [p.label for p in self.sensitive_patterns]
        clashes = {label for label in labels if labels.count(label) > 1}
        clashes |= set(labels) & (set(BUILTIN_TYPES) | {SENSITIVE})
        if clashes:
            raise ValueError(f"sensitive pattern names clash with each other or built-in types: {sorted(clashes)}")
        return self
