"""De-duplication claims: the first process to claim an event answers it; later claims are refused.

A claim is one INSERT ... ON CONFLICT per key in the `claims` table of the shared-state database,
so it is atomic across threads, processes and (on PostgreSQL) hosts: two replicas handed the same
Slack event both claim it, and exactly one of them answers.

A claim names its owner (this process, so that another process on the same machine can tell whether
it still runs) and holds a short lease that the owner renews while the answer is produced; `finish`
marks it done once the reply is posted. A claim whose owner died before finishing (a crash, a
SIGKILL) does not refuse Slack's retry: the retry takes it over at once when the owner was a process
of this machine and PID namespace that no longer runs (the restart after a crash), and otherwise
(another host, a restarted container) once the lease has ended unrenewed. A claim whose owner still
runs is never taken. A finished claim refuses every later one for `keep`; claims older than that
count as never made and are deleted, at most once per PRUNE_EVERY, by a later claim.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import os
import socket
import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

import sqlalchemy as sa

from bot.state.database import Database
from common.errors import DatabaseUnavailable

log = logging.getLogger(__name__)

CLAIMS = sa.table(
    "claims",
    sa.column("key", sa.Text),
    sa.column("claimed", sa.Double),
    sa.column("owner", sa.Text),
    sa.column("lease_ends", sa.Double),
    sa.column("done", sa.Boolean),
)
KEEP = dt.timedelta(days=1)  # Slack redelivers for minutes, not days
LEASE = dt.timedelta(seconds=30)  # Slack retries after about a minute, then after five; renewed every third
PRUNE_EVERY = dt.timedelta(hours=1)
Seconds = Callable[[], float]  # a clock: seconds since the epoch


class Claims(Protocol):
    """Who handles an event: claim(*keys) is True for exactly one caller; finish(*keys) once it is answered."""

    def claim(self, *keys: str) -> bool:
        """True when no one is answering (or has answered) the event of keys; they are all claimed from now on."""
        ...

    def finish(self, *keys: str) -> None:
        """The event is answered (or deliberately left unanswered): its claim refuses every later one."""
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

    def finish(self, *keys: str) -> None:
        """Nothing to do: these claims live and die with the process that answers them."""


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

    def finish(self, *keys: str) -> None:
        """Finished in the database; while it is down the claim's lease runs out instead."""
        try:
            self.claims.finish(*keys)
        except DatabaseUnavailable as e:
            log.warning("an answered event stays claimed only until its lease ends: %s", e)


class DatabaseClaims:
    """Claims in the shared-state database; raises DatabaseUnavailable when it cannot be reached.

    While this process holds unfinished claims, a thread renews their lease every third of `lease`.
    """

    def __init__(
        self,
        database: Database,
        *,
        keep: dt.timedelta = KEEP,
        lease: dt.timedelta = LEASE,
        clock: Seconds = time.time,
        owner: str = "",
    ) -> None:
        self.database = database
        self.owner = owner or this_process()
        self._keep = keep.total_seconds()
        self._lease = lease.total_seconds()
        self._clock = clock
        self._pruned_at = 0.0
        self._lock = threading.Lock()
        self._held: set[str] = set()  # claimed by this process and not finished: their leases are renewed
        self._renewing = False

    def claim(self, *keys: str) -> bool:
        """True when no one holds or finished any of keys (within `keep`); every key is claimed from now on.

        Several keys name one event delivered in several ways (Slack's event id, and channel:ts shared
        by the app_mention and message events of one message): a claim of any of them refuses the rest,
        and the keys taken by a refused claim are marked done, since someone else answers their event.
        """
        wanted = sorted({k for k in keys if k})  # one order for everyone: no deadlock between two claimers
        if not wanted:
            return True
        now = self._clock()
        taken: list[str] = []
        with self.database.writing() as conn:
            self._prune_if_due(conn, now)
            for key in wanted:
                if self._take(conn, key, now):
                    taken.append(key)
            won = len(taken) == len(wanted)
            if taken and not won:
                conn.execute(sa.update(CLAIMS).where(CLAIMS.c.key.in_(taken)).values(done=True))
        if won:
            self._hold(taken)
        return won

    def finish(self, *keys: str) -> None:
        """Mark this process's claims of keys done: they refuse every later claim for `keep`."""
        wanted = sorted({k for k in keys if k})
        with self._lock:
            self._held.difference_update(wanted)
        if not wanted:
            return
        with self.database.writing() as conn:
            conn.execute(
                sa.update(CLAIMS).where(CLAIMS.c.key.in_(wanted), CLAIMS.c.owner == self.owner).values(done=True)
            )

    def renew(self) -> None:
        """Extend the lease of every claim this process holds and has not finished."""
        with self._lock:
            held = sorted(self._held)
        if not held:
            return
        with self.database.writing() as conn:
            conn.execute(
                sa.update(CLAIMS)
                .where(CLAIMS.c.key.in_(held), CLAIMS.c.owner == self.owner, ~CLAIMS.c.done)
                .values(lease_ends=self._clock() + self._lease)
            )

    def _take(self, conn: sa.Connection, key: str, now: float) -> bool:
        """Claim one key: new, a day old, or held unfinished by an owner that died or stopped renewing."""
        mine = {"claimed": now, "owner": self.owner, "lease_ends": now + self._lease, "done": False}
        new = (
            self.database.insert(CLAIMS)
            .values(key=key, **mine)
            .on_conflict_do_update(index_elements=["key"], set_=mine, where=CLAIMS.c.claimed < now - self._keep)
        )
        if _changed(conn, new):
            return True
        held = CLAIMS.c.owner, CLAIMS.c.done, CLAIMS.c.lease_ends
        holder = conn.execute(sa.select(*held).where(CLAIMS.c.key == key)).first()
        if holder is None or holder.done:
            return False
        running = owner_running(holder.owner)
        if running or (running is None and holder.lease_ends >= now):
            return False  # still answering, or it may be: an owner elsewhere renews its lease while it does
        # Taken only as it was judged: of two retries racing for it, or its owner renewing it late, one wins.
        as_judged = CLAIMS.c.owner == holder.owner, CLAIMS.c.lease_ends == holder.lease_ends, ~CLAIMS.c.done
        orphan = sa.update(CLAIMS).where(CLAIMS.c.key == key, *as_judged)
        return _changed(conn, orphan.values(**mine))

    def _hold(self, keys: list[str]) -> None:
        with self._lock:
            self._held.update(keys)
            if self._renewing:
                return
            self._renewing = True
        renewing = (weakref.ref(self), self._lease / 3)
        threading.Thread(target=_renew_while_held, args=renewing, name="claim-leases", daemon=True).start()

    def _still_holding(self) -> bool:
        """Whether to renew again; when nothing is held, the renewing thread ends (the next claim starts another)."""
        with self._lock:
            self._renewing = bool(self._held)
            return self._renewing

    def _prune_if_due(self, conn: sa.Connection, now: float) -> None:
        with self._lock:
            if now - self._pruned_at < PRUNE_EVERY.total_seconds():
                return
            self._pruned_at = now
        conn.execute(sa.delete(CLAIMS).where(CLAIMS.c.claimed < now - self._keep))


def _renew_while_held(claims: weakref.ref[DatabaseClaims], every: float) -> None:
    """Renew the leases of claims every `every` seconds while it holds any (and exists at all)."""
    while True:
        time.sleep(every)
        holder = claims()
        if holder is None or not holder._still_holding():
            return
        try:
            holder.renew()
        except DatabaseUnavailable as e:
            log.warning("could not renew the leases of answers in progress, trying again in %.0f s: %s", every, e)
        except Exception:  # a bug: said with its traceback, and the leases are still renewed
            log.exception("could not renew the leases of answers in progress")
        del holder  # between renewals only the weak reference remains


def _changed(conn: sa.Connection, statement: sa.Executable) -> bool:
    # An INSERT's rowcount is only kept when asked for; 0 when nothing was inserted or updated.
    return conn.execute(statement.execution_options(preserve_rowcount=True)).rowcount == 1


def this_process() -> str:
    """This process as a claim's owner: its machine, process id and start time."""
    pid = os.getpid()
    return f"{_machine() or socket.gethostname()}/{pid}/{_started(pid)}"


def owner_running(owner: str) -> bool | None:
    """Whether a claim's owner still runs; None when it ran on another machine, or this one cannot tell."""
    machine, pid, started = [*owner.rsplit("/", 2), "", ""][:3]
    if not _machine() or machine != _machine() or not started or not pid.isdigit():
        return None
    return _started(int(pid)) == started  # a process id reused by a later process starts at another time


@functools.cache
def _machine() -> str:
    """Where process ids mean the same: this boot of this kernel and its PID namespace; "" when it cannot be told."""
    try:
        boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
        return f"{boot}:{os.readlink('/proc/self/ns/pid')}"
    except OSError:  # not Linux (or no /proc): claims of the dead are taken over when their lease ends
        return ""


def _started(pid: int) -> str:
    """When process pid started (clock ticks since boot); "" when it does not run or this system cannot tell."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return ""
    fields = stat.rsplit(")", 1)[1].split()  # after the command name, which may hold spaces and parentheses
    return "" if fields[0] in ("Z", "X") else fields[19]  # a zombie has died; field 22 is the start time
