"""The audit log and feedback store: every question answered, declined or chatted, and every vote.

They live in the shared-state database (bot/state/database.py): SQLite in the data directory by default,
PostgreSQL when ADOPTBOT_DATABASE_URL is set; the schema is in Alembic revisions 0001 and 0004 (bot/state/migrations).
Table `answers`, one row per reply: time, platform, channel kind, the asker as a keyed hash, the
question and the answer after redaction (bot/state/redaction.py), status, backend, the cited and the other
retrieved sources with their scores, timings, and how many pieces of personal data were redacted.
Table `votes`, one row per vote: the answer, the voter as a keyed hash, the vote, its time, and what
the voter wrote with it (Teams asks; redacted); a change of mind is a new row, and the latest row is
the person's vote. Both tables are append-only: triggers refuse UPDATE, and the only DELETE is the
retention prune. Rows older than the retention period are deleted when the store opens and again at
most a day later, on a write; in SQLite deleted rows are overwritten, not left in free pages
(PostgreSQL reclaims them by vacuum).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import hmac
import json
import logging
import os
import secrets
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from bot.state.database import Database
from bot.state.redaction import Redacted, redact
from bot.types import Answer
from common.errors import ConfigError, DatabaseUnavailable, DataDirUnusable

log = logging.getLogger(__name__)

ANSWERS = sa.table(
    "answers",
    *(sa.column(name) for name in ("id", "platform", "channel_kind", "user", "question", "answer", "status")),
    *(sa.column(name) for name in ("backend", "sources", "related", "timings", "redacted", "created")),
)
VOTES_TABLE = sa.table("votes", *(sa.column(name) for name in ("id", "answer_id", "user", "vote", "time", "comment")))
MAX_COMMENT = 2000  # characters of a voter's comment kept
SAME_VOTER = 'w.answer_id = v.answer_id AND w."user" = v."user"'  # "user" is a reserved word in PostgreSQL
VOTES = ("helpful", "not_helpful")
CHANNEL_KINDS = ("dm", "channel", "thread", "terminal", "unknown")
KEY_FILE = "user-hash.key"
PRUNE_EVERY = dt.timedelta(days=1)

Clock = Callable[[], dt.datetime]


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


SINCE_HELP = "use YYYY-MM-DD (e.g. 2026-11-01) or an ISO time (2026-11-01T09:30:00+01:00)"


def parse_since(text: str) -> dt.datetime:
    """A day (midnight UTC) or an ISO 8601 time as an aware UTC moment; ValueError saying what to type."""
    try:
        moment = dt.datetime.fromisoformat(text.strip())
        # An offset can push a moment at either end of the calendar past year 1 or 9999 in UTC.
        return moment.replace(tzinfo=moment.tzinfo or dt.UTC).astimezone(dt.UTC)
    except (ValueError, OverflowError):
        raise ValueError(f"{text[:100]!r} is not a date: {SINCE_HELP}") from None


def _stamp(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat(timespec="seconds")


def keyed_hash(key: bytes, user: str) -> str:
    """HMAC-SHA256 of a user id with key, hex: how voters and askers are stored."""
    return hmac.new(key, user.encode(), hashlib.sha256).hexdigest()


def user_hash_key(data_dir: Path, configured: str = "") -> bytes:
    """The key user ids are hashed with: ADOPTBOT_USER_HASH_KEY, else a random one kept in data_dir (0600)."""
    if configured:
        return configured.encode()
    path = data_dir / KEY_FILE
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        if not path.exists():
            _create_key(path)
        key = path.read_bytes().strip()
    except OSError as e:
        raise DataDirUnusable(data_dir, e) from e
    if len(key) < 32:
        raise ConfigError(
            f"{path} does not hold a usable key (it is {len(key)} bytes): delete it and adoptbot makes a new one "
            "(votes stored so far keep their old hashes), or set ADOPTBOT_USER_HASH_KEY."
        )
    return key


def _create_key(path: Path) -> None:
    """Write a new random key, readable by its owner only; a key another process wrote first wins."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(secrets.token_hex(32).encode())
        with contextlib.suppress(FileExistsError):
            os.link(tmp, path)  # atomic: never a half-written key
    finally:
        tmp.unlink(missing_ok=True)


class FeedbackStore:
    """The feedback store and audit log, shared by every platform (and every replica, on PostgreSQL).

    Give it the runtime's Database, or a path for a SQLite file of its own. Opening it can raise
    DataDirUnusable (SQLite) or DatabaseUnavailable (PostgreSQL). Once open, a reply that cannot be
    recorded is logged and still sent (without feedback buttons); votes and reads raise
    DatabaseUnavailable, so the caller can tell the person. `FeedbackStore.unavailable()` keeps nothing.
    """

    def __init__(
        self,
        database: Database | Path,
        *,
        user_key: bytes,
        retention_days: int = 90,
        clock: Clock = _utc_now,
        redactor: Callable[[str], Redacted] = redact,
    ) -> None:
        self._key = user_key
        self._redact = redactor
        self._retention = dt.timedelta(days=retention_days)
        self._clock = clock
        self._lock = threading.Lock()
        self._pruned_at = clock()
        if isinstance(database, Path):
            database = Database.sqlite(database, upgrade_with={"hash_user": self.user_hash, "redact": redactor})
        self.database: Database | None = database
        self.path = database.path or Path()  # the SQLite file, for messages about the data directory
        try:
            with database.writing() as conn:
                self._prune(conn, self._clock())
            database.checkpoint()  # pruned rows leave the write-ahead log too
        except DatabaseUnavailable as e:
            database.close()
            if database.dialect != "sqlite":
                raise
            raise DataDirUnusable(
                self.path.parent, e.__cause__ or e, fix=f"the feedback store {self.path.name} must be writable"
            ) from e

    @classmethod
    def unavailable(cls) -> FeedbackStore:
        """A store that keeps nothing: answers get no feedback buttons, votes are ignored."""
        store = cls.__new__(cls)
        store.path, store._key, store._retention, store._clock = Path(), b"", dt.timedelta(0), _utc_now
        store._redact = redact
        store._lock, store._pruned_at, store.database = threading.Lock(), _utc_now(), None
        return store

    @property
    def available(self) -> bool:
        return self.database is not None

    def user_hash(self, user: str) -> str:
        """How user is stored: HMAC-SHA256 with the store's key, so the raw id never reaches the disk."""
        return keyed_hash(self._key, user)

    def _prune(self, conn: sa.Connection, now: dt.datetime) -> None:
        """Delete answers and votes older than the retention period."""
        cutoff = {"cutoff": _stamp(now - self._retention)}
        gone = conn.execute(sa.text("DELETE FROM answers WHERE created < :cutoff"), cutoff).rowcount
        # A vote goes with its answer: alone it is a hash and a word.
        gone += conn.execute(
            sa.text("DELETE FROM votes WHERE time < :cutoff OR answer_id NOT IN (SELECT id FROM answers)"), cutoff
        ).rowcount
        with self._lock:
            self._pruned_at = now
        if gone:
            log.info("deleted %d answers and votes older than %d days", gone, self._retention.days)

    def _prune_if_due(self, conn: sa.Connection) -> None:
        """The daily prune, on a write (a cheap check)."""
        now = self._clock()
        with self._lock:
            due = now - self._pruned_at >= PRUNE_EVERY
        if due:
            self._prune(conn, now)

    def record_answer(self, platform: str, answer: Answer, *, channel_kind: str = "unknown", user: str = "") -> str:
        """Log a reply (question and answer redacted, user hashed); its id for votes, or "" when not kept.

        channel_kind is dm, channel, thread, terminal or unknown; user is the asker's platform id.
        """
        if channel_kind not in CHANNEL_KINDS:
            raise ValueError(f"channel_kind must be one of {CHANNEL_KINDS}, not {channel_kind!r}")
        if self.database is None:
            return ""
        answer_id = uuid.uuid4().hex
        question, text = self._redact(answer.question), self._redact(answer.text)
        row = {
            "id": answer_id,
            "platform": platform,
            "channel_kind": channel_kind,
            "user": self.user_hash(user) if user else "",
            "question": question.text,
            "answer": text.text,
            "status": answer.status,
            "backend": answer.backend,
            "sources": json.dumps([asdict(c) for c in answer.sources]),
            "related": json.dumps([asdict(c) for c in answer.related]),
            "timings": json.dumps(answer.timings_ms),
            "redacted": json.dumps(_merge(question.counts, text.counts)),
            "created": _stamp(self._clock()),
        }
        try:
            with self.database.writing() as conn:
                self._prune_if_due(conn)
                conn.execute(sa.insert(ANSWERS).values(row))
        except DatabaseUnavailable as e:
            log.warning("could not record an answer (%s); it is sent without feedback buttons", e)
            return ""
        return answer_id

    def record_vote(self, answer_id: str, user: str, vote: str, comment: str = "") -> bool:
        """Append {answer, user hash, vote, time, comment (redacted)}; a user's later vote is their vote from then on.

        False when the answer is unknown (or no longer kept); DatabaseUnavailable when the vote cannot be stored.
        """
        if vote not in VOTES:
            raise ValueError(f"vote must be one of {VOTES}")
        if self.database is None:
            return False
        with self.database.writing() as conn:
            self._prune_if_due(conn)
            if conn.execute(sa.select(ANSWERS.c.id).where(ANSWERS.c.id == answer_id)).first() is None:
                return False
            conn.execute(
                sa.insert(VOTES_TABLE).values(
                    answer_id=answer_id,
                    user=self.user_hash(user),
                    vote=vote,
                    time=_stamp(self._clock()),
                    comment=self._redact(" ".join(comment.split())[:MAX_COMMENT]).text if comment else "",
                )
            )
        return True

    def answer(self, answer_id: str) -> dict[str, Any] | None:
        """One recorded reply, as stored (redacted), or None when unknown or not kept."""
        if self.database is None:
            return None
        with self.database.reading() as conn:
            row = conn.execute(
                sa.select(ANSWERS.c.question, ANSWERS.c.answer, ANSWERS.c.status, ANSWERS.c.sources).where(
                    ANSWERS.c.id == answer_id
                )
            ).first()
        if row is None:
            return None
        question, text, status, sources = row
        return {"question": question, "answer": text, "status": status, "sources": json.loads(sources)}

    def votes(self) -> list[dict[str, Any]]:
        """Every voter's current vote with its answer, in the order first cast; `user` is the voter's hash."""
        if self.database is None:
            return []
        with self.database.reading() as conn:
            result = conn.execute(
                sa.text(
                    'SELECT v.answer_id, a.platform, a.question, a.answer, a.sources, v."user", v.vote, v.time '
                    "FROM votes v JOIN answers a ON a.id = v.answer_id "
                    f"WHERE v.id = (SELECT MAX(id) FROM votes w WHERE {SAME_VOTER}) "
                    f"ORDER BY (SELECT MIN(id) FROM votes w WHERE {SAME_VOTER})"
                )
            )
            names = list(result.keys())
            return [{**dict(zip(names, r, strict=True)), "sources": json.loads(r[4])} for r in result.all()]

    def audit(self, since: dt.datetime) -> Iterator[dict[str, Any]]:
        """The audit log from since on, oldest first: each reply with every vote cast on it."""
        if self.database is None:
            return
        order = "rowid" if self.database.dialect == "sqlite" else "seq"  # insertion order within a second
        after = {"since": _stamp(since)}
        with self.database.reading() as conn:
            answers = conn.execute(
                sa.text(
                    'SELECT id, created, platform, channel_kind, "user", question, status, answer, backend, sources, '
                    f"related, timings, redacted FROM answers WHERE created >= :since ORDER BY created, {order}"
                ),
                after,
            ).all()
            cast: dict[str, list[dict[str, str]]] = {}
            for answer_id, user, vote, time, comment in conn.execute(
                sa.text(
                    'SELECT answer_id, "user", vote, time, comment FROM votes WHERE answer_id IN '
                    "(SELECT id FROM answers WHERE created >= :since) ORDER BY id"
                ),
                after,
            ):
                cast.setdefault(answer_id, []).append({"user": user, "vote": vote, "time": time, "comment": comment})
        for answer_id, created, platform, kind, user, question, status, text, backend, *blobs in answers:
            sources, related, timings, redacted = (json.loads(b) for b in blobs)
            votes = cast.get(answer_id, [])
            current = {v["user"]: v["vote"] for v in votes}  # each voter's latest
            yield {
                "id": answer_id,
                "time": created,
                "platform": platform,
                "channel_kind": kind,
                "user": user,
                "question": question,
                "status": status,
                "answer": text,
                "backend": backend,
                "sources": sources,
                "related": related,
                "timings_ms": timings,
                "redacted": redacted,
                "helpful": sum(v == "helpful" for v in current.values()),
                "not_helpful": sum(v == "not_helpful" for v in current.values()),
                "votes": votes,
            }

    def close(self) -> None:
        """Close the database's pooled connections (SQLite: the write-ahead log is folded into the file)."""
        if self.database is not None:
            self.database.close()


def _merge(*counts: dict[str, int]) -> dict[str, int]:
    total: dict[str, int] = {}
    for c in counts:
        for kind, n in c.items():
            total[kind] = total.get(kind, 0) + n
    return total
