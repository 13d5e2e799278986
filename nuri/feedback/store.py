"""The feedback log: every completion the service returns and every rating people give,
in a real database through SQLAlchemy, its schema made and changed by Alembic.

SQLite file by default (WAL, full sync: a rating acknowledged is on disk, whatever
happens to the server after); PostgreSQL in the cluster, its URL from an environment
variable filled from a secret. Text is de-identified before it is stored, so no personal
data enters the log; the URL (it may hold a password) is never logged."""

from __future__ import annotations

import datetime as dt
import logging
import os
from dataclasses import dataclass
from pathlib import Path

# Alembic's INFO lines (plugins set up at import, "Context impl SQLiteImpl" at each
# start) say nothing to a user; warnings and errors still show.
logging.getLogger("alembic").setLevel(logging.WARNING)

from alembic import command  # noqa: E402
from alembic.config import Config as AlembicConfig  # noqa: E402
from sqlalchemy import create_engine, event, func, select  # noqa: E402
from sqlalchemy.engine import Engine, make_url  # noqa: E402
from sqlalchemy.exc import IntegrityError  # noqa: E402
from sqlalchemy.orm import sessionmaker  # noqa: E402

from nuri.deid.config import DeidConfig
from nuri.deid.engine import Deidentifier
from nuri.errors import ConfigError, NuriError
from nuri.feedback.models import Completion, Rating, utcnow

log = logging.getLogger("nuri")
MIGRATIONS = Path(__file__).with_name("migrations")


class UnknownCompletion(NuriError):
    pass


def database_url(config, storage_uri: str | None = None) -> str:
    """Where the feedback log lives: the URL in the configured environment variable
    (cluster: PostgreSQL, from a secret), else the configured SQLite file, else a SQLite
    file beside the domain's local storage folder."""
    fb = config.feedback
    env = os.environ.get(fb.database_url_env)
    if env:
        return env
    if fb.database:
        return f"sqlite:///{Path(fb.database).expanduser().resolve()}"
    storage = storage_uri or config.storage.uri
    if "://" in storage:
        raise ConfigError(f"feedback: storage {storage} is not a local folder; set {fb.database_url_env} "
                          f"(e.g. postgresql+psycopg://... from a secret) or feedback.database")
    return f"sqlite:///{(Path(storage).expanduser().resolve() / 'feedback' / f'{config.name}.sqlite')}"


def safe_url(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


def _engine(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True)
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    # Many server threads share the file: waits instead of "database is locked".
    engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

    @event.listens_for(engine, "connect")
    def _pragmas(conn, _):
        cur = conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")      # readers do not block the writer
        cur.execute("PRAGMA synchronous=FULL")      # committed means on disk
        cur.execute("PRAGMA foreign_keys=ON")       # a rating needs its completion
        cur.close()

    return engine


def migrate(engine: Engine, revision: str = "head") -> None:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


def migration_sql(url: str) -> str:
    """The migrations as SQL for a dialect (offline mode), e.g. for a DBA to review."""
    import contextlib
    import io

    cfg = AlembicConfig(output_buffer=io.StringIO())
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url)
    with contextlib.redirect_stdout(io.StringIO()):
        command.upgrade(cfg, "head", sql=True)
    return cfg.output_buffer.getvalue()


@dataclass(frozen=True)
class StoredRating:
    id: int
    completion_id: str
    created: bool   # False: the same Idempotency-Key was stored before; nothing new


class FeedbackStore:
    def __init__(self, url: str, deid: DeidConfig | None = None):
        self.url = url
        self.engine = _engine(url)
        migrate(self.engine)
        self._session = sessionmaker(self.engine, expire_on_commit=False)
        self._deid = Deidentifier(deid or DeidConfig())
        log.info("feedback log at %s", safe_url(url))

    @classmethod
    def for_domain(cls, config, storage_uri: str | None = None) -> "FeedbackStore":
        return cls(database_url(config, storage_uri), config.deid)

    def close(self) -> None:
        self.engine.dispose()

    def _redact(self, text: str | None) -> tuple[str | None, int]:
        if text is None:
            return None, 0
        r = self._deid.redact(text)
        return r.text, sum(r.counts.values())

    # --- writing --------------------------------------------------------------------

    def log_completion(self, id: str, *, release: str, service: str, messages: list[dict], answer: str,
                       outcome: str, sources: list[dict] | None = None, prompt_tokens: int = 0,
                       completion_tokens: int = 0, latency_ms: int = 0) -> None:
        redacted_messages, n = [], 0
        for m in messages:
            text, k = self._redact(m.get("content", ""))
            redacted_messages.append({"role": m.get("role"), "content": text})
            n += k
        answer_text, k = self._redact(answer)
        n += k
        prompt = next((m["content"] for m in reversed(redacted_messages) if m["role"] == "user"), "")
        with self._session.begin() as s:
            s.add(Completion(id=id, release=release, service=service, messages=redacted_messages, prompt=prompt,
                             answer=answer_text, outcome=outcome, sources=sources or [],
                             prompt_tokens=prompt_tokens, completion_tokens=completion_tokens,
                             latency_ms=latency_ms, redactions=n))

    def add_rating(self, completion_id: str, kind: str, *, correction: str | None = None,
                   comment: str | None = None, client_key: str | None = None) -> StoredRating:
        """Stores one rating, committed before it returns. UnknownCompletion when the
        completion was never logged; the same client_key twice stores it once."""
        correction, _ = self._redact(correction)
        comment, _ = self._redact(comment)
        with self._session() as s:
            if client_key:
                found = s.scalar(select(Rating).where(Rating.client_key == client_key))
                if found is not None:
                    return StoredRating(found.id, found.completion_id, created=False)
            done = s.get(Completion, completion_id)
            if done is None:
                raise UnknownCompletion(f"completion {completion_id!r} is not in the log")
            rating = Rating(completion_id=completion_id, release=done.release, service=done.service, kind=kind,
                            correction=correction or None, comment=comment or None, client_key=client_key)
            s.add(rating)
            try:
                s.commit()
            except IntegrityError:  # the same key, committed by a concurrent retry
                s.rollback()
                found = s.scalar(select(Rating).where(Rating.client_key == client_key))
                if found is None:
                    raise
                return StoredRating(found.id, found.completion_id, created=False)
            return StoredRating(rating.id, completion_id, created=True)

    # --- reading --------------------------------------------------------------------

    def ratings(self, *, release: str | None = None, since: dt.datetime | None = None) -> list[dict]:
        """Ratings joined with what they rate, oldest first."""
        q = select(Rating, Completion).join(Completion, Rating.completion_id == Completion.id)
        if release is not None:
            q = q.where(Rating.release == release)
        if since is not None:
            q = q.where(Rating.created_at >= since)
        with self._session() as s:
            rows = s.execute(q.order_by(Rating.created_at, Rating.id)).all()
        return [{"id": r.id, "completion_id": r.completion_id, "created_at": _aware(r.created_at),
                 "release": r.release, "service": r.service, "kind": r.kind, "correction": r.correction,
                 "comment": r.comment, "prompt": c.prompt, "answer": c.answer, "messages": c.messages,
                 "outcome": c.outcome} for r, c in rows]

    def count(self, table=Rating) -> int:
        with self._session() as s:
            return s.scalar(select(func.count()).select_from(table))

    def completion(self, completion_id: str) -> Completion | None:
        with self._session() as s:
            return s.get(Completion, completion_id)


def _aware(t: dt.datetime) -> dt.datetime:
    """SQLite hands datetimes back naive; they were stored in UTC."""
    return t if t.tzinfo else t.replace(tzinfo=dt.timezone.utc)


__all__ = ["FeedbackStore", "StoredRating", "UnknownCompletion", "database_url", "migrate", "migration_sql",
           "safe_url", "utcnow"]
