"""De-duplication claims: the first process to claim an event handles it, every later claim is refused.

A claim is one INSERT ... ON CONFLICT per key in the `claims` table of the shared-state database,
so it is atomic across threads, processes and (on PostgreSQL) hosts: two replicas handed the same
Slack event both claim it, and exactly one of them answers. Claims older than `keep` count as
never made and are deleted, at most once per PRUNE_EVERY, by a later claim.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Protocol

import sqlalchemy as sa

from bot.database import Database
from bot.errors import DatabaseUnavailable

log = logging.getLogger(__name__)

CLAIMS = sa.table("claims", sa.column("key", sa.Text), sa.column("claimed", sa.Double))
KEEP = dt.timedelta(days=1)  # Slack redelivers for minutes, not days
PRUNE_EVERY = dt.timedelta(hours=1)
Seconds = Callable[[], float]  # a clock: seconds since the epoch


class Claims(Protocol):
    """Who handles an event: claim(*keys) is True for exactly one caller."""

    def claim(self, *keys: str) -> bool:
        """True when none of keys was claimed before; every key is claimed from now on."""
        ...


class MemoryClaims:
    """Claims kept in this process (the most recent `size`): the fallback while the database is unreachable."""

    def __init__(self, size: int = 10_000) -> None:
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    def claim(self, *keys: str) -> bool:
        """True the first time any of keys is seen; all of them are remembered."""
        keys = tuple(k for k in keys if k)
        with self._lock:
            fresh = not any(k in self._seen for k in keys)
            for k in keys:
                self._seen[k] = None
                self._seen.move_to_end(k)
            while len(self._seen) > self._size:
                self._seen.popitem(last=False)
        return fresh


class ResilientClaims:
    """Claims in the database; while it is down, in this process, so that people still get an answer."""

    def __init__(self, claims: Claims) -> None:
        self.claims = claims
        self.local = MemoryClaims()

    def claim(self, *keys: str) -> bool:
        """The database's verdict, or this process's own when the database cannot be reached."""
        try:
            won = self.claims.claim(*keys)
        except DatabaseUnavailable as e:
            log.warning("de-duplicating in this process only: %s", e)
            return self.local.claim(*keys)
        self.local.claim(*keys)  # remembered here too, for an outage that starts mid-redelivery
        return won


class DatabaseClaims:
    """Claims in the shared-state database; raises DatabaseUnavailable when it cannot be reached."""

    def __init__(self, database: Database, *, keep: dt.timedelta = KEEP, clock: Seconds = time.time) -> None:
        self.database = database
        self._keep = keep.total_seconds()
        self._clock = clock
        self._pruned_at = 0.0
        self._lock = threading.Lock()

    def claim(self, *keys: str) -> bool:
        """True when none of keys was claimed (within `keep`) before; every key is claimed from now on.

        Several keys name one event delivered in several ways (Slack's event id, and channel:ts shared
        by the app_mention and message events of one message): a claim of any of them refuses the rest.
        """
        wanted = sorted({k for k in keys if k})  # one order for everyone: no deadlock between two claimers
        if not wanted:
            return True
        now = self._clock()
        expired = now - self._keep
        won = True
        with self.database.writing() as conn:
            self._prune_if_due(conn, now)
            for key in wanted:
                statement = (
                    self.database.insert(CLAIMS)
                    .values(key=key, claimed=now)
                    .on_conflict_do_update(
                        index_elements=["key"], set_={"claimed": now}, where=CLAIMS.c.claimed < expired
                    )
                )
                # An INSERT's rowcount is only kept when asked for; 0 when the key was claimed already.
                won &= conn.execute(statement.execution_options(preserve_rowcount=True)).rowcount == 1
        return won

    def _prune_if_due(self, conn: sa.Connection, now: float) -> None:
        with self._lock:
            if now - self._pruned_at < PRUNE_EVERY.total_seconds():
                return
            self._pruned_at = now
        conn.execute(sa.delete(CLAIMS).where(CLAIMS.c.claimed < now - self._keep))
