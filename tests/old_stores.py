"""Feedback stores as versions from before the audit log wrote them, for the upgrade tests."""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path

SCHEMA = (
    "CREATE TABLE answers (id TEXT PRIMARY KEY, platform TEXT NOT NULL, question TEXT NOT NULL, "
    "answer TEXT NOT NULL, status TEXT NOT NULL, backend TEXT NOT NULL, sources TEXT NOT NULL, "
    "created TEXT NOT NULL);"
    "CREATE TABLE feedback (id INTEGER PRIMARY KEY AUTOINCREMENT, answer_id TEXT NOT NULL, "
    "platform TEXT NOT NULL, question TEXT NOT NULL, answer TEXT NOT NULL, sources TEXT NOT NULL, "
    "user TEXT NOT NULL, vote TEXT NOT NULL CHECK (vote IN ('helpful', 'not_helpful')), time TEXT NOT NULL, "
    "UNIQUE (answer_id, user));"
)


def old_store(path: Path, *, question: str = "q", answer: str = "a", voters: tuple[str, ...] = (),
              user_version: int = 0) -> None:  # fmt: skip
    """A pre-audit-log store at path: one answer 'a1' and a vote from each of voters, as that version wrote them.

    user_version 1: the version that already hashed voters; 0: the one that kept raw ids.
    """
    now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.executescript(SCHEMA + f"PRAGMA user_version = {user_version};")
    db.execute(
        "INSERT INTO answers VALUES ('a1', 'slack', ?, ?, 'answered', 'template', '[]', ?)", (question, answer, now)
    )
    for user in voters:
        db.execute(
            "INSERT INTO feedback (answer_id, platform, question, answer, sources, user, vote, time) "
            "VALUES ('a1', 'slack', ?, ?, '[]', ?, 'helpful', ?)",
            (question, answer, user, now),
        )
    db.close()
