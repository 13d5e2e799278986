"""The tables of the feedback log. Alembic's migrations (migrations/versions/) create
and change them; these classes are what the code reads and writes through."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, DateTime, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


class Completion(Base):
    """One answered (or declined) request, de-identified before it is stored."""

    __tablename__ = "completions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)           # chatcmpl-...
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    release: Mapped[str] = mapped_column(String(128), index=True)
    service: Mapped[str] = mapped_column(String(64))
    messages: Mapped[list] = mapped_column(JSON)        # the conversation as asked (de-identified)
    prompt: Mapped[str] = mapped_column(Text)           # the last user message (de-identified)
    answer: Mapped[str] = mapped_column(Text)           # the first choice (de-identified)
    outcome: Mapped[str] = mapped_column(String(16))    # answered | declined | refused
    sources: Mapped[list] = mapped_column(JSON, default=list)
    prompt_tokens: Mapped[int] = mapped_column(Integer, default=0)
    completion_tokens: Mapped[int] = mapped_column(Integer, default=0)
    latency_ms: Mapped[int] = mapped_column(Integer, default=0)
    redactions: Mapped[int] = mapped_column(Integer, default=0)  # personal data replaced before storing


class Rating(Base):
    """A person's verdict on one completion: good or a failure kind, with an optional
    correction (the answer they expected) and comment, both de-identified."""

    __tablename__ = "ratings"
    __table_args__ = (UniqueConstraint("client_key", name="uq_ratings_client_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    completion_id: Mapped[str] = mapped_column(String(64), ForeignKey("completions.id"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    release: Mapped[str] = mapped_column(String(128), index=True)  # the completion's, for per-release rates
    service: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))
    correction: Mapped[str | None] = mapped_column(Text, nullable=True)
    comment: Mapped[str | None] = mapped_column(Text, nullable=True)
    # A client's retry of the same rating (Idempotency-Key) is stored once.
    client_key: Mapped[str | None] = mapped_column(String(128), nullable=True)
