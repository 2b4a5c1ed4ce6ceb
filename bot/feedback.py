"""Feedback store: answers as they were sent, and the votes people give them (SQLite).

What it keeps: every answer sent in Slack or Teams (platform, question, answer, status, backend,
sources, time) and every vote (the same fields, the vote, its time, and the voter as a keyed hash,
never the raw user id). Rows older than the retention period are deleted when the store opens and
again at most a day later, on a write. Deleted rows are overwritten, not left in free pages.
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
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

from bot.errors import ConfigError, DataDirUnusable
from bot.types import Answer

log = logging.getLogger(__name__)

SCHEMA = """
CREATE TABLE IF NOT EXISTS answers (
    id TEXT PRIMARY KEY, platform TEXT NOT NULL, question TEXT NOT NULL, answer TEXT NOT NULL,
    status TEXT NOT NULL, backend TEXT NOT NULL, sources TEXT NOT NULL, created TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS feedback (
    id INTEGER PRIMARY KEY AUTOINCREMENT, answer_id TEXT NOT NULL, platform TEXT NOT NULL,
    question TEXT NOT NULL, answer TEXT NOT NULL, sources TEXT NOT NULL,
    user TEXT NOT NULL, vote TEXT NOT NULL CHECK (vote IN ('helpful', 'not_helpful')), time TEXT NOT NULL,
    UNIQUE (answer_id, user)
);
"""
HASHED_USERS = 1  # PRAGMA user_version from which feedback.user holds keyed hashes
VOTES = ("helpful", "not_helpful")
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

    def __init__(self, path: Path, *, user_key: bytes, retention_days: int = 90, clock: Clock = _utc_now) -> None:
        self.path = path
        self._key = user_key
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
            self._hash_raw_user_ids(db)
            self._prune(db, self._clock())
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # old pages leave the write-ahead log too
        except BaseException:
            db.close()
            raise
        return db

    def user_hash(self, user: str) -> str:
        """How user is stored: HMAC-SHA256 with the store's key, so the raw id never reaches the disk."""
        return hmac.new(self._key, user.encode(), hashlib.sha256).hexdigest()

    def _hash_raw_user_ids(self, db: sqlite3.Connection) -> None:
        """Migrate a store written before user ids were hashed."""
        db.execute("BEGIN IMMEDIATE")
        try:
            if db.execute("PRAGMA user_version").fetchone()[0] < HASHED_USERS:
                rows = db.execute("SELECT id, user FROM feedback").fetchall()
                db.executemany("UPDATE feedback SET user = ? WHERE id = ?", [(self.user_hash(u), i) for i, u in rows])
                db.execute(f"PRAGMA user_version = {HASHED_USERS}")
                if rows:
                    log.info("hashed the user ids of %d stored votes in %s", len(rows), self.path)
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    def _prune(self, db: sqlite3.Connection, now: dt.datetime) -> None:
        """Delete answers and votes older than the retention period."""
        cutoff = _stamp(now - self._retention)
        gone = db.execute("DELETE FROM answers WHERE created < ?", (cutoff,)).rowcount
        gone += db.execute("DELETE FROM feedback WHERE time < ?", (cutoff,)).rowcount
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

    def record_answer(self, platform: str, answer: Answer) -> str:
        """Keep what was sent so a later vote can refer to it; its id, or "" when it could not be kept."""
        if self._db is None:
            return ""
        answer_id = uuid.uuid4().hex
        sources = json.dumps([asdict(c) for c in answer.sources])
        row = (answer_id, platform, answer.question, answer.text, answer.status, answer.backend, sources)
        try:
            self._write(self._db, "INSERT INTO answers VALUES (?, ?, ?, ?, ?, ?, ?, ?)", (*row, _stamp(self._clock())))
        except sqlite3.Error as e:
            log.warning("could not record an answer in %s (%s); it is sent without feedback buttons", self.path, e)
            return ""
        return answer_id

    def record_vote(self, answer_id: str, user: str, vote: str) -> bool:
        """Store {question, answer, sources, user hash, vote, time}; a user's later vote replaces theirs."""
        if vote not in VOTES:
            raise ValueError(f"vote must be one of {VOTES}")
        if self._db is None:
            return False
        try:
            with self._lock:
                row = self._db.execute(
                    "SELECT platform, question, answer, sources FROM answers WHERE id = ?", (answer_id,)
                ).fetchone()
            if row is None:
                return False
            self._write(
                self._db,
                "INSERT INTO feedback (answer_id, platform, question, answer, sources, user, vote, time) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (answer_id, user) DO UPDATE SET vote = excluded.vote, time = excluded.time",
                (answer_id, *row, self.user_hash(user), vote, _stamp(self._clock())),
            )
        except sqlite3.Error as e:
            log.warning("could not record a vote in %s (%s)", self.path, e)
            return False
        return True

    def votes(self) -> list[dict[str, Any]]:
        """Every stored vote, oldest first; `user` is the voter's hash (see user_hash)."""
        if self._db is None:
            return []
        with self._lock:
            cursor = self._db.execute(
                "SELECT answer_id, platform, question, answer, sources, user, vote, time FROM feedback ORDER BY id"
            )
            names = [d[0] for d in cursor.description]
            return [{**dict(zip(names, r, strict=True)), "sources": json.loads(r[4])} for r in cursor.fetchall()]

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
