"""Conversation state: a small key -> JSON store with the time each key was last written.

It lives in the `state` table of the shared-state database, so every replica sees what another
wrote (Teams conversation state through bot/teams/storage.py, for one). Entries not written for
`keep` are treated as gone and are deleted, at most once per PRUNE_EVERY, by a later write.
Values are stored as given: callers keep personal data out, or keep `keep` short.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Protocol

import sqlalchemy as sa

from bot.state.database import Database

STATE = sa.table("state", sa.column("key", sa.Text), sa.column("value", sa.Text), sa.column("updated", sa.Double))
KEEP = dt.timedelta(days=7)
PRUNE_EVERY = dt.timedelta(hours=1)
Seconds = Callable[[], float]  # a clock: seconds since the epoch


class State(Protocol):
    """Key -> JSON-serialisable value."""

    def get_many(self, keys: Iterable[str]) -> dict[str, Any]:
        """The values of those keys that have one."""
        ...

    def put_many(self, items: Mapping[str, Any]) -> None:
        """Write every key's value (replacing what was there)."""
        ...

    def delete(self, *keys: str) -> None:
        """Forget keys; unknown keys are ignored."""
        ...


class DatabaseState:
    """State in the shared-state database; raises DatabaseUnavailable when it cannot be reached."""

    def __init__(self, database: Database, *, keep: dt.timedelta = KEEP, clock: Seconds = time.time) -> None:
        self.database = database
        self._keep = keep.total_seconds()
        self._clock = clock
        self._pruned_at = 0.0
        self._lock = threading.Lock()

    def get(self, key: str, default: Any = None) -> Any:
        """The value of key, or default."""
        return self.get_many([key]).get(key, default)

    def get_many(self, keys: Iterable[str]) -> dict[str, Any]:
        """The values of those keys that have one (written within `keep`)."""
        wanted = list(dict.fromkeys(keys))
        if not wanted:
            return {}
        fresh = self._clock() - self._keep
        with self.database.reading() as conn:
            rows = conn.execute(
                sa.select(STATE.c.key, STATE.c.value).where(STATE.c.key.in_(wanted), STATE.c.updated >= fresh)
            ).all()
        return {key: json.loads(value) for key, value in rows}

    def put(self, key: str, value: Any) -> None:
        """Write key's value."""
        self.put_many({key: value})

    def put_many(self, items: Mapping[str, Any]) -> None:
        """Write every key's value in one transaction (replacing what was there)."""
        if not items:
            return
        now = self._clock()
        rows = [{"key": k, "value": json.dumps(v), "updated": now} for k, v in items.items()]
        with self.database.writing() as conn:
            self._prune_if_due(conn, now)
            for row in rows:
                statement = self.database.insert(STATE).values(row)
                statement = statement.on_conflict_do_update(
                    index_elements=["key"], set_={"value": statement.excluded.value, "updated": now}
                )
                conn.execute(statement)

    def delete(self, *keys: str) -> None:
        """Forget keys; unknown keys are ignored."""
        if keys:
            with self.database.writing() as conn:
                conn.execute(sa.delete(STATE).where(STATE.c.key.in_(keys)))

    def updated(self, key: str) -> float | None:
        """When key was last written (seconds since the epoch), or None."""
        with self.database.reading() as conn:
            return conn.execute(sa.select(STATE.c.updated).where(STATE.c.key == key)).scalar()

    def prune(self) -> int:
        """Delete entries not written for `keep`; how many."""
        now = self._clock()
        with self.database.writing() as conn:
            return self._delete_stale(conn, now)

    def _prune_if_due(self, conn: sa.Connection, now: float) -> None:
        with self._lock:
            if now - self._pruned_at < PRUNE_EVERY.total_seconds():
                return
            self._pruned_at = now
        self._delete_stale(conn, now)

    def _delete_stale(self, conn: sa.Connection, now: float) -> int:
        return conn.execute(sa.delete(STATE).where(STATE.c.updated < now - self._keep)).rowcount
