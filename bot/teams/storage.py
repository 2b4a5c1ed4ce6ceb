"""SqliteStorage: the Agents SDK's Storage kept in one SQLite file in the data directory.

Teams conversation state (follow-up history, the answers kept for updating) and the SDK's own turn state
go through the SDK's `Storage` interface, so a database-backed Storage can replace this one unchanged.
Items are stored as the JSON their StoreItem gives; rows untouched for `max_age_days` are deleted on open.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any, TypeVar

from microsoft_agents.hosting.core import MemoryStorage, Storage, StoreItem

log = logging.getLogger(__name__)
FILE_NAME = "teams-state.sqlite3"
Item = TypeVar("Item", bound=StoreItem)


class SqliteStorage(Storage):
    """Storage in a SQLite file; calls run in a worker thread so the event loop never waits on the disk."""

    def __init__(self, path: Path, *, max_age_days: int = 90, clock: Any = time.time) -> None:
        self.path = path
        self._clock = clock
        self._lock = threading.Lock()
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        with self._lock:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS items (key TEXT PRIMARY KEY, value TEXT NOT NULL, updated_at REAL NOT NULL)"
            )
            if max_age_days > 0:
                self._db.execute("DELETE FROM items WHERE updated_at < ?", (clock() - max_age_days * 86_400,))

    async def read(self, keys: list[str], *, target_cls: type[Item], **kwargs: Any) -> dict[str, Item]:
        """The items stored under `keys` (missing keys are left out)."""
        _check(keys, "read")
        rows = await asyncio.to_thread(self._select, keys)
        return {key: target_cls.from_json_to_store_item(json.loads(value)) for key, value in rows}

    async def write(self, changes: dict[str, StoreItem]) -> None:
        """Store each item under its key, replacing what was there."""
        _check(list(changes), "write")
        now = self._clock()
        rows = [(key, json.dumps(item.store_item_to_json()), now) for key, item in changes.items()]
        await asyncio.to_thread(
            self._run_many, "INSERT OR REPLACE INTO items (key, value, updated_at) VALUES (?, ?, ?)", rows
        )

    async def delete(self, keys: list[str]) -> None:
        """Forget the items under `keys`; unknown keys are ignored."""
        _check(keys, "delete")
        await asyncio.to_thread(self._run_many, "DELETE FROM items WHERE key = ?", [(key,) for key in keys])

    def close(self) -> None:
        """Close the file (tests; the server keeps it open for its lifetime)."""
        with self._lock:
            self._db.close()

    def _select(self, keys: list[str]) -> list[tuple[str, str]]:
        marks = ",".join("?" * len(keys))
        with self._lock:
            return self._db.execute(f"SELECT key, value FROM items WHERE key IN ({marks})", keys).fetchall()

    def _run_many(self, sql: str, rows: list[tuple[Any, ...]]) -> None:
        with self._lock:
            self._db.execute("BEGIN")
            try:
                self._db.executemany(sql, rows)
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")


def _check(keys: list[str], verb: str) -> None:
    if not keys:
        raise ValueError(f"Storage.{verb}(): keys are required")
    if any(not key for key in keys):
        raise ValueError(f"Storage.{verb}(): a key cannot be empty")


def data_directory_storage(data_dir: Path, *, max_age_days: int) -> Storage:
    """The default Teams storage in the data directory; in memory (with a warning) when the directory cannot hold it."""
    path = data_dir / FILE_NAME
    try:
        return SqliteStorage(path, max_age_days=max_age_days)
    except (OSError, sqlite3.Error) as e:
        log.warning(
            "Teams state cannot be kept in %s (%s): follow-ups and answer updates are kept in memory and lost on "
            "restart. Make ADOPTBOT_DATA_DIR writable to keep them.",
            path,
            e,
        )
        return MemoryStorage()
