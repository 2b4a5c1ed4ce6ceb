"""Claims outlive no crash: a claim whose owner died stops no retry, a finished one still refuses for a day.

On SQLite and a real PostgreSQL: leases and owners through DatabaseClaims, a claiming process killed
with SIGKILL.
"""

from __future__ import annotations

import datetime as dt
import signal
import subprocess
import time
from typing import Any

import sqlalchemy as sa

from bot.claims import DatabaseClaims, owner_running, this_process
from bot.database import Database
from tests.test_database import HOUR, Seconds, spawn

LEASE = dt.timedelta(seconds=30)
ELSEWHERE = "another-machine:pid:[1]/4242/1000"  # a process whose liveness this machine cannot see


def until(done: Any, what: str, timeout: float = 120) -> None:
    """Poll done() until true (a deadline, not a timing assertion)."""
    deadline = time.monotonic() + timeout
    while not done():
        assert time.monotonic() < deadline, what
        time.sleep(0.05)


def test_a_claim_refuses_while_its_owner_renews_it_and_after_it_is_finished(database_url):
    clock = Seconds()
    database = Database(database_url)
    mine = DatabaseClaims(database, clock=clock, lease=LEASE, owner=ELSEWHERE)
    theirs = DatabaseClaims(database, clock=clock, lease=LEASE, owner="yet-another-machine/7/7")
    assert mine.claim("Ev1", "C1:1") and mine.claim("Ev2", "C1:2")
    for _ in range(4):  # two minutes of answering: the lease is renewed every 20 s
        clock.now += 20
        mine.renew()
        assert not theirs.claim("Ev1") and not theirs.claim("Ev9", "C1:1")
    mine.finish("Ev1", "C1:1")
    clock.now += 23 * HOUR  # answered: every redelivery of the day is refused
    assert not theirs.claim("Ev1", "C1:1")
    assert theirs.claim("Ev2", "C1:2")  # never finished, its lease not renewed: its owner is gone
    clock.now += 2 * HOUR
    assert theirs.claim("Ev1", "C1:1")  # a day after it was answered it counts as never made
    database.close()


def test_a_held_claims_lease_is_renewed_by_its_owner_until_it_is_finished(database_url):
    database = Database(database_url)
    claims = DatabaseClaims(database, lease=dt.timedelta(seconds=0.3), owner=ELSEWHERE)
    assert claims.claim("Ev1")
    first = lease_ends(database, "Ev1")
    until(lambda: lease_ends(database, "Ev1") > first, "the lease was never renewed")
    claims.finish("Ev1")
    with database.reading() as conn:
        assert conn.execute(sa.text("SELECT done FROM claims WHERE key = 'Ev1'")).scalar()
    database.close()


def lease_ends(database: Database, key: str) -> float:
    """When the lease of the claim of key ends (seconds since the epoch), as its owner last renewed it."""
    with database.reading() as conn:
        return conn.execute(sa.text("SELECT lease_ends FROM claims WHERE key = :k"), {"k": key}).scalar()


CLAIM_AND_WAIT = """
import datetime as dt, sys
from bot.claims import DatabaseClaims
from bot.database import Database
url, owner, lease_s, *keys = sys.argv[1:]
claims = DatabaseClaims(Database(url), owner=owner, lease=dt.timedelta(seconds=float(lease_s)))
print("claimed" if claims.claim(*keys) else "refused", flush=True)
sys.stdin.readline()
"""


def claiming(database_url: str, *keys: str, owner: str = "", lease: dt.timedelta = LEASE) -> subprocess.Popen:
    """A process that claims keys (as `owner`, by default itself) and then waits, renewing, until it is killed."""
    process = spawn(CLAIM_AND_WAIT, database_url, owner, str(lease.total_seconds()), *keys)
    assert process.stdout.readline().strip() == "claimed"
    return process


def kill(process: subprocess.Popen) -> None:
    process.send_signal(signal.SIGKILL)
    process.wait()


def test_a_claim_of_an_owner_on_another_machine_killed_is_taken_over_once_its_lease_ends(database_url):
    database = Database(database_url)
    database.ping()
    kill(claiming(database_url, "Ev1", "C1:1", owner=ELSEWHERE))
    ends = lease_ends(database, "Ev1")  # where the killed owner's last renewal left it
    clock = Seconds(ends - 1)
    retry = DatabaseClaims(database, clock=clock, lease=LEASE)
    assert not retry.claim("Ev1", "C1:1")  # within the lease: for all this machine can see, it is still answering
    clock.now = ends + 1  # never renewed: Slack's retry is answered
    assert retry.claim("Ev1", "C1:1")
    assert not DatabaseClaims(database, clock=clock, owner=ELSEWHERE).claim("Ev1", "C1:1")  # by that retry only
    database.close()


def test_a_claim_left_by_a_process_killed_on_this_machine_is_taken_at_once(database_url):
    Database(database_url).ping()
    day = dt.timedelta(days=1)  # no lease ends during the test: only the owners' deaths decide
    killed, running = claiming(database_url, "Ev1", "C1:1", lease=day), claiming(database_url, "Ev2", "C1:2", lease=day)
    try:
        kill(killed)
        retry = DatabaseClaims(Database(database_url))
        assert retry.claim("Ev1", "C1:1")  # its owner is dead: the restarted process answers the retry
        assert not retry.claim("Ev2", "C1:2")  # its owner runs: it is still answering
        assert not DatabaseClaims(Database(database_url)).claim("Ev1")  # taken over by a process that runs
    finally:
        kill(running)


def test_a_claims_owner_is_judged_alive_only_where_its_process_ids_mean_the_same():
    me = this_process()
    assert owner_running(me) is True
    machine, pid, started = me.rsplit("/", 2)
    assert owner_running(f"{machine}/{pid}/{int(started) + 1}") is False  # its process id, reused later
    assert owner_running(ELSEWHERE) is None and owner_running("") is None  # unknown: the lease decides
