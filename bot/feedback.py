"""Feedback store: answers as they were sent, and the votes people give them (SQLite)."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
import threading
import uuid
from dataclasses import asdict
from pathlib import Path
from typing import Any

from bot.types import Answer

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
VOTES = ("helpful", "not_helpful")


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


class FeedbackStore:
    """One SQLite file under the data directory, shared by every platform."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(SCHEMA)

    def record_answer(self, platform: str, answer: Answer) -> str:
        """Keep what was sent so a later vote can refer to it; returns its id."""
        answer_id = uuid.uuid4().hex
        sources = json.dumps([asdict(c) for c in answer.sources])
        with self._lock:
            self._db.execute(
                "INSERT INTO answers VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (answer_id, platform, answer.question, answer.text, answer.status, answer.backend, sources, _now()),
            )
        return answer_id

    def record_vote(self, answer_id: str, user: str, vote: str) -> bool:
        """Store {question, answer, sources, user, vote, time}; a user's later vote replaces theirs."""
        if vote not in VOTES:
            raise ValueError(f"vote must be one of {VOTES}")
        with self._lock:
            row = self._db.execute(
                "SELECT platform, question, answer, sources FROM answers WHERE id = ?", (answer_id,)
            ).fetchone()
            if row is None:
                return False
            self._db.execute(
                "INSERT INTO feedback (answer_id, platform, question, answer, sources, user, vote, time) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (answer_id, user) DO UPDATE SET vote = excluded.vote, time = excluded.time",
                (answer_id, *row, user, vote, _now()),
            )
        return True

    def votes(self) -> list[dict[str, Any]]:
        """Every stored vote, oldest first."""
        with self._lock:
            cursor = self._db.execute(
                "SELECT answer_id, platform, question, answer, sources, user, vote, time FROM feedback ORDER BY id"
            )
            names = [d[0] for d in cursor.description]
            return [{**dict(zip(names, r, strict=True)), "sources": json.loads(r[4])} for r in cursor.fetchall()]

    def close(self) -> None:
        with self._lock:
            self._db.close()
