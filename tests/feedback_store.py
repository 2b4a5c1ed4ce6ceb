"""The feedback store as tests open and read it: a user key, a recorded answer, and what a store holds."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import sqlalchemy as sa

from bot.state.database import Database
from bot.state.feedback import FeedbackStore
from bot.types import Answer, Citation

KEY = b"k" * 64
ANSWER = Answer(
    question="Can I paste customer data into a chatbot?",
    status="answered",
    text="Not without the data protection officer's agreement [1].",
    backend="template",
    sources=(Citation(1, "Privacy", "Background", "guidance/privacy.md", "", "2026-11-01", 0.8),),
)


def stored_bytes(folder: Path) -> bytes:
    """Everything SQLite has on disk for the stores in folder: database, write-ahead log, shared memory."""
    return b"".join(p.read_bytes() for p in sorted(folder.iterdir()) if p.name.startswith("feedback.sqlite3"))


def rows(path: Path, table: str) -> int:
    with sqlite3.connect(path) as db:
        return db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]


def open_store(url: str, **kw) -> FeedbackStore:
    return FeedbackStore(Database(url), user_key=KEY, **kw)


def stored_rows(store: FeedbackStore, table: str) -> list[tuple]:
    """Every row of a table as the database holds it."""
    with store.database.reading() as conn:
        return [tuple(row) for row in conn.execute(sa.text(f"SELECT * FROM {table}"))]
