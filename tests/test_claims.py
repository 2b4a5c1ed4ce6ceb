"""Claims outlive no crash: a claim whose owner died stops no retry, a finished one still refuses for a day.

On SQLite and a real PostgreSQL: leases and owners through DatabaseClaims, a claiming process killed
with SIGKILL, and `adoptbot serve` itself killed with SIGKILL while it holds answers, then restarted
and sent Slack's redeliveries.
"""

from __future__ import annotations

import datetime as dt
import secrets
import signal
import subprocess
import threading
import time
from typing import Any

import pytest
import sqlalchemy as sa

from bot.state.claims import DatabaseClaims, owner_running, this_process
from bot.state.database import Database
from tests.clocks import HOUR, Seconds
from tests.cluster import Replica, mention, spawn
from tests.conftest import write_kb
from tests.fake_slack import FakeSlackApi

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
from bot.state.claims import DatabaseClaims
from bot.state.database import Database
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


# -- adoptbot serve, killed with SIGKILL while it holds answers --------------------------------------

SECRET = "claims-signing-secret"
WORKERS = 2
QUESTIONS = (
    "Is it ok to put personal data into prompts?",
    "How do we keep models from stating false things?",
    "What is on the launch checklist?",
)


class HeldSlackApi(FakeSlackApi):
    """The fake Web API, where :eyes: on a held message never comes back: its answer hangs until the server dies."""

    def __init__(self) -> None:
        self.held: set[str] = set()  # ts of messages whose reactions.add hangs
        self.hanging: list[str] = []  # reactions.add calls hanging now
        super().__init__()

    def _handle(self, path: str, args: dict[str, Any]) -> dict[str, Any]:
        if path.endswith("/reactions.add") and args.get("timestamp") in self.held:
            with self._changed:
                self.hanging.append(args["timestamp"])
                self._changed.notify_all()
            threading.Event().wait()  # never answered: the server that asked is killed meanwhile
        return super()._handle(path, args)


def deliver(server: Replica, ts: str, n: int, *, retry: int = 0) -> int:
    """One signed event callback for message ts (event id Ev<ts>), as Slack's delivery or its retry number `retry`."""
    event = mention(QUESTIONS[n % len(QUESTIONS)], ts, user="U" + ts.replace(".", ""))
    return server.deliver(event, f"Ev{ts}", secret=SECRET, retry=retry)


def replies(api: FakeSlackApi, ts: str) -> int:
    """Replies started in the thread of message ts: posted messages and streams."""
    return sum(m in ("chat.postMessage", "chat.startStream") and c.get("thread_ts") == ts for m, c in list(api.calls))


def eyes_removed(api: FakeSlackApi, ts: str) -> bool:
    """The answer to ts has ended, its claim finished (the :eyes: go last)."""
    return any(c.get("timestamp") == ts for c in api.called("reactions.remove"))


@pytest.fixture(params=["sqlite", "postgresql"])
def shared_state(request: pytest.FixtureRequest) -> dict[str, str]:
    """Where the server keeps its claims: the data directory's SQLite file, or a new PostgreSQL database."""
    if request.param == "sqlite":
        return {}
    url = request.getfixturevalue("postgres").create_database()
    return {"ADOPTBOT_DATABASE_URL": url, "ADOPTBOT_USER_HASH_KEY": secrets.token_hex(32)}


def test_events_claimed_by_a_server_killed_before_answering_are_answered_once_after_a_restart(tmp_path, shared_state):
    api = HeldSlackApi()
    env = {
        **shared_state,
        "ADOPTBOT_KNOWLEDGE_DIR": str(write_kb(tmp_path / "knowledge")),
        "ADOPTBOT_BACKEND": "template",
        "ADOPTBOT_WORKERS": str(WORKERS),
        "SLACK_BOT_TOKEN": "xoxb-claims",
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_API_BASE_URL": api.api_url,
    }
    answered = [f"1700000600.000{n:03d}" for n in range(3)]
    lost = [f"1700000700.000{n:03d}" for n in range(6)]
    server = Replica("adoptbot", env, root=tmp_path)
    try:
        server.wait_ready()
        for n, ts in enumerate(answered):
            assert deliver(server, ts, n) == 200
        until(lambda: all(eyes_removed(api, ts) for ts in answered), "the first questions were never answered")
        api.held.update(lost)
        for n, ts in enumerate(lost):
            assert deliver(server, ts, n) == 200
        # All six are claimed and none answered: two hang on their :eyes: (every worker), four wait in line.
        until(lambda: len(api.hanging) == WORKERS, "the workers never took the held questions")
        in_line = lambda: [c for c in api.called("chat.postEphemeral") if c.get("thread_ts") in lost]  # noqa: E731
        until(lambda: len(in_line()) == len(lost) - WORKERS, "the other held questions were never queued")
        server.proc.send_signal(signal.SIGKILL)
        server.proc.wait(30)
        server.stop()
        assert [replies(api, ts) for ts in lost] == [0] * len(lost)

        api.held.clear()
        server = Replica("adoptbot", env, root=tmp_path)  # the same data directory and database
        server.wait_ready()
        started = len(api.calls)
        for n, ts in enumerate(answered + lost):
            assert deliver(server, ts, n, retry=1) == 200
        until(lambda: all(eyes_removed(api, ts) for ts in lost), "a redelivered question was never answered")
        for n, ts in enumerate(answered + lost):
            assert deliver(server, ts, n, retry=2) == 200
        after = lambda method: sum(m == method for m, _ in api.calls[started:])  # noqa: E731
        until(lambda: after("reactions.remove") == after("reactions.add"), "an answer never ended")
        time.sleep(1.0)  # a delivery that (wrongly) won its claim would have posted by now
        assert {ts: replies(api, ts) for ts in answered + lost} == {ts: 1 for ts in answered + lost}
        assert after("reactions.add") == len(lost)  # the restarted server took up each lost question, once
    finally:
        server.stop()
        api.close()
