"""The audit log and feedback store: every question answered, declined or chatted, and every vote (SQLite).

Table `answers`, one row per reply: time, platform, channel kind, the asker as a keyed hash, the
question and the answer after redaction (bot/redaction.py), status, backend, the cited and the other
retrieved sources with their scores, timings, and how many pieces of personal data were redacted.
Table `votes`, one row per vote: the answer, the voter as a keyed hash, the vote, its time; a
change of mind is a new row, and the latest row is the person's vote. Both tables are append-only:
triggers refuse UPDATE, and the only DELETE is the retention prune. Rows older than the retention
period are deleted when the store opens and again at most a day later, on a write; deleted rows are
overwritten, not left in free pages.
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
import sqlite3
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Any

from bot.errors import ConfigError, DataDirUnusable
from bot.redaction import Redacted, redact
from bot.types import Answer

log = logging.getLogger(__name__)

SCHEMA = """
CREATE TABLE IF NOT EXISTS answers (
    id TEXT PRIMARY KEY, platform TEXT NOT NULL, question TEXT NOT NULL, answer TEXT NOT NULL,
    status TEXT NOT NULL, backend TEXT NOT NULL, sources TEXT NOT NULL, created TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS votes (
    id INTEGER PRIMARY KEY AUTOINCREMENT, answer_id TEXT NOT NULL, user TEXT NOT NULL,
    vote TEXT NOT NULL CHECK (vote IN ('helpful', 'not_helpful')), time TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS votes_by_answer ON votes (answer_id, user);
"""
# Columns added to `answers` by the audit log (a store from before it gets them on open).
AUDIT_COLUMNS = {
    "channel_kind": "TEXT NOT NULL DEFAULT 'unknown'",
    "user": "TEXT NOT NULL DEFAULT ''",
    "related": "TEXT NOT NULL DEFAULT '[]'",
    "timings": "TEXT NOT NULL DEFAULT '{}'",
    "redacted": "TEXT NOT NULL DEFAULT '{}'",
}
APPEND_ONLY = """
CREATE INDEX IF NOT EXISTS answers_by_time ON answers (created);
CREATE TRIGGER IF NOT EXISTS answers_append_only BEFORE UPDATE ON answers
    BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS votes_append_only BEFORE UPDATE ON votes
    BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
"""
HASHED_USERS = 1  # PRAGMA user_version from which stored voters are keyed hashes
AUDIT_LOG = 2  # from which votes are append-only rows and answers carry the audit columns, redacted
VOTES = ("helpful", "not_helpful")
CHANNEL_KINDS = ("dm", "channel", "thread", "terminal", "unknown")
KEY_FILE = "user-hash.key"
PRUNE_EVERY = dt.timedelta(days=1)

Clock = Callable[[], dt.datetime]


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _stamp(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat(timespec="seconds")


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
    """One SQLite file under the data directory, shared by every platform.

    Opening it can raise DataDirUnusable; once open, a failed write is logged and the answer is
    still sent (without feedback buttons). `FeedbackStore.unavailable()` keeps nothing at all.
    """

    def __init__(
        self,
        path: Path,
        *,
        user_key: bytes,
        retention_days: int = 90,
        clock: Clock = _utc_now,
        redactor: Callable[[str], Redacted] = redact,
    ) -> None:
        self.path = path
        self._key = user_key
        self._redact = redactor
        self._retention = dt.timedelta(days=retention_days)
        self._clock = clock
        self._lock = threading.Lock()
        self._pruned_at = clock()
        self._db: sqlite3.Connection | None = None
        try:
            self._db = self._open()
        except (OSError, sqlite3.Error) as e:
            raise DataDirUnusable(path.parent, e, fix=f"the feedback store {path.name} must be writable") from e

    @classmethod
    def unavailable(cls) -> FeedbackStore:
        """A store that keeps nothing: answers get no feedback buttons, votes are ignored."""
        store = cls.__new__(cls)
        store.path, store._key, store._retention, store._clock = Path(), b"", dt.timedelta(0), _utc_now
        store._redact = redact
        store._lock, store._pruned_at, store._db = threading.Lock(), _utc_now(), None
        return store

    @property
    def available(self) -> bool:
        return self._db is not None

    def _open(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        os.close(os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600))  # a new file is private to its owner
        db = sqlite3.connect(str(self.path), check_same_thread=False, isolation_level=None)
        try:
            db.execute("PRAGMA secure_delete = ON")  # pruned questions and raw ids are overwritten on disk
            db.execute("PRAGMA journal_mode = WAL")
            db.executescript(SCHEMA)
            self._migrate(db)
            db.executescript(APPEND_ONLY)
            self._prune(db, self._clock())
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # old pages leave the write-ahead log too
        except BaseException:
            db.close()
            raise
        return db

    def user_hash(self, user: str) -> str:
        """How user is stored: HMAC-SHA256 with the store's key, so the raw id never reaches the disk."""
        return hmac.new(self._key, user.encode(), hashlib.sha256).hexdigest()

    def _migrate(self, db: sqlite3.Connection) -> None:
        """Bring a store written by an earlier version up to the audit log, in one transaction."""
        db.execute("BEGIN IMMEDIATE")
        try:
            version = db.execute("PRAGMA user_version").fetchone()[0]
            if version < AUDIT_LOG:
                have = {row[1] for row in db.execute("PRAGMA table_info(answers)")}
                for name, kind in AUDIT_COLUMNS.items():
                    if name not in have:
                        db.execute(f"ALTER TABLE answers ADD COLUMN {name} {kind}")
                self._move_votes(db, hashed=version >= HASHED_USERS)
                self._redact_stored(db)
                db.execute(f"PRAGMA user_version = {AUDIT_LOG}")
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    def _move_votes(self, db: sqlite3.Connection, *, hashed: bool) -> None:
        """Votes of the old `feedback` table (one updatable row per voter) become append-only rows."""
        if not db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'feedback'").fetchone():
            return
        rows = db.execute("SELECT answer_id, user, vote, time FROM feedback ORDER BY id").fetchall()
        db.executemany(
            "INSERT INTO votes (answer_id, user, vote, time) VALUES (?, ?, ?, ?)",
            [(a, u if hashed else self.user_hash(u), v, t) for a, u, v, t in rows],
        )
        db.execute("DROP TABLE feedback")  # its copies of questions and answers go with it
        if rows and not hashed:
            log.info("hashed the user ids of %d stored votes in %s", len(rows), self.path)

    def _redact_stored(self, db: sqlite3.Connection) -> None:
        """Questions and answers kept before redaction existed are redacted now."""
        changed = []
        for answer_id, question, text in db.execute("SELECT id, question, answer FROM answers").fetchall():
            q, a = self._redact(question), self._redact(text)
            if q.found or a.found:
                changed.append((q.text, a.text, json.dumps(_merge(q.counts, a.counts)), answer_id))
        db.executemany("UPDATE answers SET question = ?, answer = ?, redacted = ? WHERE id = ?", changed)
        if changed:
            log.info("redacted personal data in %d stored answers in %s", len(changed), self.path)

    def _prune(self, db: sqlite3.Connection, now: dt.datetime) -> None:
        """Delete answers and votes older than the retention period."""
        cutoff = _stamp(now - self._retention)
        gone = db.execute("DELETE FROM answers WHERE created < ?", (cutoff,)).rowcount
        # A vote goes with its answer: alone it is a hash and a word.
        gone += db.execute(
            "DELETE FROM votes WHERE time < ? OR answer_id NOT IN (SELECT id FROM answers)", (cutoff,)
        ).rowcount
        self._pruned_at = now
        if gone:
            log.info("deleted %d answers and votes older than %d days", gone, self._retention.days)

    def _write(self, db: sqlite3.Connection, sql: str, args: tuple) -> None:
        """One write, after the daily prune if it is due (a cheap check)."""
        now = self._clock()
        with self._lock:
            if now - self._pruned_at >= PRUNE_EVERY:
                self._prune(db, now)
            db.execute(sql, args)

    def record_answer(self, platform: str, answer: Answer, *, channel_kind: str = "unknown", user: str = "") -> str:
        """Log a reply (question and answer redacted, user hashed); its id for votes, or "" when not kept.

        channel_kind is dm, channel, thread, terminal or unknown; user is the asker's platform id.
        """
        if channel_kind not in CHANNEL_KINDS:
            raise ValueError(f"channel_kind must be one of {CHANNEL_KINDS}, not {channel_kind!r}")
        if self._db is None:
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
        sql = f"INSERT INTO answers ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})"
        try:
            self._write(self._db, sql, tuple(row.values()))
        except sqlite3.Error as e:
            log.warning("could not record an answer in %s (%s); it is sent without feedback buttons", self.path, e)
            return ""
        return answer_id

    def record_vote(self, answer_id: str, user: str, vote: str) -> bool:
        """Append {answer, user hash, vote, time}; a user's later vote is their vote from then on."""
        if vote not in VOTES:
            raise ValueError(f"vote must be one of {VOTES}")
        if self._db is None:
            return False
        try:
            with self._lock:
                known = self._db.execute("SELECT 1 FROM answers WHERE id = ?", (answer_id,)).fetchone()
            if known is None:
                return False
            self._write(
                self._db,
                "INSERT INTO votes (answer_id, user, vote, time) VALUES (?, ?, ?, ?)",
                (answer_id, self.user_hash(user), vote, _stamp(self._clock())),
            )
        except sqlite3.Error as e:
            log.warning("could not record a vote in %s (%s)", self.path, e)
            return False
        return True

    def answer(self, answer_id: str) -> dict[str, Any] | None:
        """One recorded reply, as stored (redacted), or None when unknown or not kept."""
        if self._db is None:
            return None
        with self._lock:
            row = self._db.execute(
                "SELECT question, answer, status, sources FROM answers WHERE id = ?", (answer_id,)
            ).fetchone()
        if row is None:
            return None
        question, text, status, sources = row
        return {"question": question, "answer": text, "status": status, "sources": json.loads(sources)}

    def votes(self) -> list[dict[str, Any]]:
        """Every voter's current vote with its answer, in the order first cast; `user` is the voter's hash."""
        if self._db is None:
            return []
        with self._lock:
            cursor = self._db.execute(
                "SELECT v.answer_id, a.platform, a.question, a.answer, a.sources, v.user, v.vote, v.time "
                "FROM votes v JOIN answers a ON a.id = v.answer_id "
                "WHERE v.id = (SELECT MAX(id) FROM votes w WHERE w.answer_id = v.answer_id AND w.user = v.user) "
                "ORDER BY (SELECT MIN(id) FROM votes w WHERE w.answer_id = v.answer_id AND w.user = v.user)"
            )
            names = [d[0] for d in cursor.description]
            return [{**dict(zip(names, r, strict=True)), "sources": json.loads(r[4])} for r in cursor.fetchall()]

    def audit(self, since: dt.datetime) -> Iterator[dict[str, Any]]:
        """The audit log from since on, oldest first: each reply with every vote cast on it."""
        if self._db is None:
            return
        with self._lock:
            answers = self._db.execute(
                "SELECT id, created, platform, channel_kind, user, question, status, answer, backend, sources, "
                "related, timings, redacted FROM answers WHERE created >= ? ORDER BY created, rowid",
                (_stamp(since),),
            ).fetchall()
            cast: dict[str, list[dict[str, str]]] = {}
            for answer_id, user, vote, time in self._db.execute(
                "SELECT answer_id, user, vote, time FROM votes WHERE answer_id IN "
                "(SELECT id FROM answers WHERE created >= ?) ORDER BY id",
                (_stamp(since),),
            ):
                cast.setdefault(answer_id, []).append({"user": user, "vote": vote, "time": time})
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
        with self._lock:
            if self._db is not None:
                self._db.close()


def _merge(*counts: dict[str, int]) -> dict[str, int]:
    total: dict[str, int] = {}
    for c in counts:
        for kind, n in c.items():
            total[kind] = total.get(kind, 0) + n
    return total
