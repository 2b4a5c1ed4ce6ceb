"""Shared state on SQLite and a real PostgreSQL: migrations, claims, conversation state, the Agents SDK's Storage,
the ingest lock across hosts, and what happens when the database goes away and comes back."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import json
import logging
import signal
import sqlite3
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from microsoft_agents.activity import Activity, ConversationAccount
from microsoft_agents.hosting.core import TurnContext
from microsoft_agents.hosting.core.app.state.conversation_state import ConversationState
from microsoft_agents.hosting.core.storage import MemoryStorage, StoreItem

from adoptbot.runtime import Runtime
from bot.state.claims import DatabaseClaims
from bot.state.database import Database
from bot.state.feedback import FeedbackStore
from bot.state.kv import DatabaseState
from bot.teams.storage import DatabaseStorage
from common.errors import ConfigError, DatabaseUnavailable, IngestBusy
from common.settings import Settings
from ingest.pipeline import ingest_lock, run_ingest
from tests.clocks import HOUR, Seconds
from tests.cluster import at_once, replica_runtime, spawn
from tests.conftest import FakeEmbedder, write_kb
from tests.feedback_store import ANSWER, KEY
from tests.old_stores import old_store
from tests.postgres import PostgresServer, free_port

LONG_AGO = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)


def tables(url: str) -> set[str]:
    engine = sa.create_engine(url)
    try:
        return set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()


# -- the database and its migrations ---------------------------------------------------------------


def test_creating_connects_to_nothing_and_first_use_migrates_to_the_newest_revision(database_url):
    database = Database(database_url)
    assert "answers" not in tables(database_url) and database.revision() is None
    database.ping()
    assert database.revision() == "0005"
    assert {"answers", "votes", "claims", "state", "alembic_version"} <= tables(database_url)
    database.close()


def test_replicas_opening_a_new_database_at_once_migrate_it_once(database_url):
    replicas = [Database(database_url) for _ in range(4)]
    errors = at_once(lambda database: database.ping(), replicas, timeout=60)
    assert errors == []
    assert {d.revision() for d in replicas} == {"0005"}
    for d in replicas:
        d.close()


TODAYS_STORE = """
CREATE TABLE answers (
    id TEXT PRIMARY KEY, platform TEXT NOT NULL, question TEXT NOT NULL, answer TEXT NOT NULL,
    status TEXT NOT NULL, backend TEXT NOT NULL, sources TEXT NOT NULL, created TEXT NOT NULL,
    channel_kind TEXT NOT NULL DEFAULT 'unknown', user TEXT NOT NULL DEFAULT '', related TEXT NOT NULL DEFAULT '[]',
    timings TEXT NOT NULL DEFAULT '{}', redacted TEXT NOT NULL DEFAULT '{}'
);
CREATE TABLE votes (
    id INTEGER PRIMARY KEY AUTOINCREMENT, answer_id TEXT NOT NULL, user TEXT NOT NULL,
    vote TEXT NOT NULL CHECK (vote IN ('helpful', 'not_helpful')), time TEXT NOT NULL
);
CREATE INDEX votes_by_answer ON votes (answer_id, user);
CREATE INDEX answers_by_time ON answers (created);
CREATE TRIGGER answers_append_only BEFORE UPDATE ON answers
    BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER votes_append_only BEFORE UPDATE ON votes
    BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
PRAGMA user_version = 2;
"""


def test_a_store_written_before_migrations_keeps_its_answers_and_votes_and_gains_the_new_tables(tmp_path):
    path = tmp_path / "feedback.sqlite3"
    old = sqlite3.connect(path, isolation_level=None)  # as adoptbot wrote it before Alembic
    old.execute("PRAGMA journal_mode=WAL")
    old.executescript(TODAYS_STORE)
    old.execute(
        "INSERT INTO answers (id, platform, question, answer, status, backend, sources, created, user) "
        "VALUES ('a1', 'slack', 'What is RAG?', 'Retrieval [1].', 'answered', 'template', '[]', "
        "'2026-01-01T12:00:00+00:00', 'hash-of-asker')"
    )
    old.execute("INSERT INTO votes (answer_id, user, vote, time) VALUES ('a1', 'hash-of-voter', 'helpful', 'x')")
    old.close()
    database = Database.sqlite(path)
    store = FeedbackStore(database, user_key=KEY, retention_days=36500)
    [record] = store.audit(LONG_AGO)
    assert (record["question"], record["user"], record["helpful"]) == ("What is RAG?", "hash-of-asker", 1)
    assert record["votes"][0]["user"] == "hash-of-voter"  # already hashed: not hashed again
    assert database.revision() == "0005" and DatabaseClaims(database).claim("event-1")
    with pytest.raises(sa.exc.IntegrityError, match="append-only"), database.writing() as conn:
        conn.execute(sa.text("UPDATE answers SET answer = 'rewritten'"))
    store.close()


def test_an_old_store_opened_first_for_claims_is_still_hashed_and_redacted(tmp_path):
    """The runtime hands the migrations its hash key and redactor, whichever part opens the database first."""
    data = tmp_path / "data"
    data.mkdir()
    old_store(
        data / "feedback.sqlite3", question="Mail me at jane.doe@example.com", answer="No.", voters=("URAWID0001",)
    )  # before hashing and redaction
    runtime = Runtime(Settings(data_dir=data, user_hash_key="k" * 40), embedder=FakeEmbedder())
    assert runtime.claims.claim("event-1")  # the database is migrated here, before the feedback store exists
    [vote] = runtime.feedback.votes()
    assert vote["user"] == runtime.feedback.user_hash("URAWID0001")
    assert vote["question"] == "Mail me at [email]"
    runtime.feedback.close()


def test_the_database_setting_is_checked_at_start_and_hidden_from_logs():
    with pytest.raises(ConfigError, match="ADOPTBOT_DATABASE_URL must look like postgresql"):
        Settings.from_env({"ADOPTBOT_DATABASE_URL": "mysql://db/adoptbot"})
    with pytest.raises(ConfigError, match="set ADOPTBOT_USER_HASH_KEY to one secret"):
        Settings.from_env({"ADOPTBOT_DATABASE_URL": "postgresql://db/adoptbot"})
    settings = Settings.from_env(
        {"ADOPTBOT_DATABASE_URL": "postgresql://bot:s3cret@db/adoptbot", "ADOPTBOT_USER_HASH_KEY": "k" * 40}
    )
    assert "s3cret" not in repr(settings)
    database = Database(settings.database_url)
    assert database.url.drivername == "postgresql+psycopg" and "s3cret" not in database.name


# -- claims ----------------------------------------------------------------------------------------


def test_the_first_claim_wins_and_one_shared_key_is_enough_to_refuse(database_url):
    claims = DatabaseClaims(Database(database_url))
    assert claims.claim("Ev1", "C1:1700000000.000100")  # app_mention
    assert not claims.claim("Ev1", "C1:1700000000.000100")  # its retry
    assert not claims.claim("Ev2", "C1:1700000000.000100")  # the message event of the same message
    assert not claims.claim("Ev2")  # remembered although refused
    assert claims.claim("Ev3", "C1:1700000000.000200") and claims.claim()
    claims.database.close()


def test_claims_expire_and_are_pruned(database_url):
    clock = Seconds()
    database = Database(database_url)
    claims = DatabaseClaims(database, clock=clock)
    assert claims.claim("Ev1") and claims.claim("Ev2")
    clock.now += 23 * HOUR
    assert not claims.claim("Ev1")
    clock.now += 2 * HOUR  # a day after the first claims: they count as never made
    assert claims.claim("Ev1")
    assert claims.claim("Ev3")  # the hourly prune has run by now
    with database.reading() as conn:
        assert sorted(conn.execute(sa.text('SELECT "key" FROM claims')).scalars()) == ["Ev1", "Ev3"]
    database.close()


RACE = """
import json, sys
from bot.state.claims import DatabaseClaims
from bot.state.database import Database
url, me, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
claims = DatabaseClaims(Database(url))
claims.database.ping()
print("ready", flush=True)
sys.stdin.readline()
# Each process gets its own event id for message i (as app_mention and message events do) and the same channel:ts.
won = [i for i in range(n) if claims.claim(f"Ev{me}-{i}", f"C1:{i}")]
print(json.dumps(won), flush=True)
sys.stdin.readline()  # alive until killed, answering: the claims of a process that died would be taken over
"""


def test_two_processes_claiming_the_same_events_answer_each_exactly_once(database_url):
    Database(database_url).ping()  # migrated before the race, as a running replica's is
    n = 300
    racers = [spawn(RACE, database_url, me, str(n)) for me in ("A", "B")]
    try:
        assert [p.stdout.readline().strip() for p in racers] == ["ready", "ready"]
        for p in racers:
            p.stdin.write("go\n")
            p.stdin.flush()
        a, b = (set(json.loads(p.stdout.readline())) for p in racers)
    finally:
        for p in racers:
            p.kill()
            p.wait()
    assert a | b == set(range(n)) and not a & b


# -- conversation state ----------------------------------------------------------------------------


def test_state_round_trips_json_and_another_replica_sees_it(database_url):
    clock = Seconds()
    mine, theirs = DatabaseState(Database(database_url), clock=clock), DatabaseState(Database(database_url))
    assert mine.get("conv-1") is None and mine.get_many([]) == {}
    mine.put("conv-1", {"turns": [["user", "What is RAG?"], ["assistant", "Retrieval [1]."]], "n": 1})
    mine.put_many({"conv-2": [1, 2.5, None, "é"], "conv-3": "x"})
    assert theirs.get("conv-1") == {"turns": [["user", "What is RAG?"], ["assistant", "Retrieval [1]."]], "n": 1}
    clock.now += 60
    mine.put("conv-1", {"n": 2})  # replaced, not merged
    assert theirs.get_many(["conv-1", "conv-2", "missing"]) == {"conv-1": {"n": 2}, "conv-2": [1, 2.5, None, "é"]}
    assert mine.updated("conv-1") == clock.now
    theirs.delete("conv-2", "missing")
    assert mine.get("conv-2") is None and mine.get("conv-3") == "x"
    mine.database.close()
    theirs.database.close()


def test_state_not_written_for_a_week_is_gone_and_pruned(database_url):
    clock = Seconds()
    state = DatabaseState(Database(database_url), clock=clock)
    state.put("old", 1)
    clock.now += 6 * 24 * HOUR
    state.put("recent", 2)
    clock.now += 2 * 24 * HOUR
    assert state.get_many(["old", "recent"]) == {"recent": 2}  # stale before it is pruned
    assert state.prune() == 1 and state.prune() == 0
    assert state.updated("old") is None and state.get("recent") == 2
    state.database.close()


# -- the Agents SDK's Storage ----------------------------------------------------------------------


@dataclasses.dataclass
class Note(StoreItem):
    text: str = ""
    count: int = 0

    def store_item_to_json(self) -> dict:
        return {"text": self.text, "count": self.count}

    @staticmethod
    def from_json_to_store_item(json_data: dict) -> Note:
        return Note(json_data["text"], json_data["count"])


@pytest.fixture(params=["memory", "sqlite", "postgresql"])
def storage_pair(request, tmp_path):
    """Two Storage objects over the same data, as two replicas have; the SDK's MemoryStorage is the reference."""
    if request.param == "memory":
        shared = MemoryStorage()
        yield shared, shared
        return
    url = f"sqlite:///{tmp_path / 'state.sqlite3'}" if request.param == "sqlite" else None
    url = url or request.getfixturevalue("postgres").create_database()
    databases = [Database(url), Database(url)]
    yield tuple(DatabaseStorage(DatabaseState(d)) for d in databases)
    for d in databases:
        d.close()


def test_storage_keeps_the_sdks_semantics(storage_pair):
    mine, theirs = storage_pair

    async def scenario() -> None:
        assert await mine.read(["never-written"], target_cls=Note) == {}
        await mine.write({"a": Note("first", 1), "b": Note("second", 2)})
        assert await theirs.read(["a", "b", "c"], target_cls=Note) == {"a": Note("first", 1), "b": Note("second", 2)}
        await theirs.write({"a": Note("changed", 3)})
        assert await mine.read(["a"], target_cls=Note) == {"a": Note("changed", 3)}
        await mine.delete(["a", "never-written"])  # an unknown key is ignored
        assert await theirs.read(["a", "b"], target_cls=Note) == {"b": Note("second", 2)}
        for call in (mine.read([], target_cls=Note), mine.write({}), mine.delete([])):
            with pytest.raises(ValueError):
                await call
        for call in (mine.read([""], target_cls=Note), mine.write({"": Note()}), mine.delete([""])):
            with pytest.raises(ValueError, match="empty"):
                await call

    asyncio.run(scenario())


def test_teams_conversation_state_saved_by_one_replica_is_loaded_by_another(storage_pair):
    def turn() -> TurnContext:
        activity = Activity(type="message", channel_id="msteams", conversation=ConversationAccount(id="19:abc@thread"))
        return TurnContext(object(), activity)

    async def scenario() -> None:
        first, context = ConversationState(storage_pair[0]), turn()
        await first.load(context)
        await first.create_property("history").set(context, {"turns": ["What is RAG?", "Retrieval [1]."]})
        await first.save(context)
        second, context = ConversationState(storage_pair[1]), turn()
        await second.load(context)
        assert await second.create_property("history").get(context) == {"turns": ["What is RAG?", "Retrieval [1]."]}
        await second.delete(context)
        third, context = ConversationState(storage_pair[0]), turn()
        await third.load(context)
        assert await third.create_property("history").get(context) is None

    asyncio.run(scenario())


# -- the ingest lock across hosts ------------------------------------------------------------------

HOLDER = """
import sys, time
from pathlib import Path
from bot.state.database import Database
from ingest.pipeline import INGEST_LOCK, ingest_lock
with ingest_lock(Path(sys.argv[1]), database=Database(sys.argv[2]), name=INGEST_LOCK + ":adoptbot"):
    print("locked", flush=True)
    time.sleep(float(sys.argv[3]))
    print(time.time(), flush=True)  # when it lets go
"""


def ingest_on_this_host(root: Path, settings: Settings, store, url: str, **kw) -> object:
    database = Database(url)
    try:
        kw.update(data_dir=settings.data_dir, store=store, embedder=FakeEmbedder(), progress=False)
        return run_ingest(root, database=database, **kw)
    finally:
        database.close()


@pytest.fixture
def postgres_url(postgres) -> str:
    return postgres.create_database()


def test_an_ingest_while_another_host_holds_the_lock_is_refused_or_waits(tmp_path, settings, store, postgres_url):
    root = write_kb(tmp_path / "kb")
    other_host = spawn(HOLDER, str(tmp_path / "other-host-data"), postgres_url, "1.5")
    try:
        assert other_host.stdout.readline().strip() == "locked"
        with pytest.raises(IngestBusy, match=r"already running .*in the database .*--wait"):
            ingest_on_this_host(root, settings, store, postgres_url)
        started = time.time()
        summary = ingest_on_this_host(root, settings, store, postgres_url, wait=True)
        finished = time.time()
        released = float(other_host.stdout.readline())
        assert started < released <= finished  # it waited for the other host, and ran once it had finished
        assert summary.chunks_total == 5
    finally:
        other_host.kill()
        other_host.wait()


def test_a_host_that_dies_holding_the_lock_does_not_keep_it(tmp_path, settings, store, postgres_url):
    root = write_kb(tmp_path / "kb")
    other_host = spawn(HOLDER, str(tmp_path / "other-host-data"), postgres_url, "600")
    try:
        assert other_host.stdout.readline().strip() == "locked"
        other_host.send_signal(signal.SIGKILL)
        other_host.wait()
        assert ingest_on_this_host(root, settings, store, postgres_url).chunks_total == 5  # no --wait needed
    finally:
        other_host.kill()
        other_host.wait()


def test_the_database_lock_is_one_holder_at_a_time(database_url):
    one, two = Database(database_url), Database(database_url)
    with one.lock("ingest") as held, two.lock("ingest") as also:
        assert held and not also
    with two.lock("ingest") as held:
        assert held
    one.close()
    two.close()


# -- the database going away -----------------------------------------------------------------------


def test_operations_raise_our_error_while_the_database_is_down_and_work_again_when_it_returns(caplog):
    server = PostgresServer()  # its own server: this test crashes it
    try:
        server.start()
        url = server.create_database()
        database = Database(url)
        claims, state = DatabaseClaims(database), DatabaseState(database)
        store = FeedbackStore(database, user_key=KEY)
        answer_id = store.record_answer("slack", ANSWER)
        assert claims.claim("Ev1") and answer_id
        server.stop("immediate")  # a crash: pooled connections are cut off

        for operation in (
            database.ping,
            lambda: claims.claim("Ev2"),
            lambda: state.put("conv", {"n": 1}),
            lambda: state.get("conv"),
            lambda: store.record_vote(answer_id, "U1", "helpful"),
            lambda: list(store.audit(LONG_AGO)),
        ):
            with pytest.raises(DatabaseUnavailable) as caught:
                operation()
            message = str(caught.value)
            assert url.split("@")[1] in message and "ADOPTBOT_DATABASE_URL" in message and "reconnects" in message
            assert "SELECT" not in message and "INSERT" not in message  # never the statement or its values
        with caplog.at_level(logging.WARNING):
            assert store.record_answer("slack", ANSWER) == ""  # the answer still goes out, without buttons
        assert "without feedback buttons" in caplog.text

        server.start()
        database.ping()  # the same objects, no restart of adoptbot
        assert claims.claim("Ev2") and not claims.claim("Ev1")
        assert store.record_vote(answer_id, "U1", "helpful")
        state.put("conv", {"n": 1})
        assert state.get("conv") == {"n": 1}
        database.close()
    finally:
        server.close()


def test_a_database_that_never_answers_fails_fast_without_its_password():
    database = Database(f"postgresql+psycopg://bot:s3cret@127.0.0.1:{free_port()}/adoptbot")
    with pytest.raises(DatabaseUnavailable, match="Connection refused") as caught:
        database.ping()
    assert "s3cret" not in str(caught.value) and "***" in str(caught.value)


# -- two replicas through the runtime --------------------------------------------------------------


def test_two_runtimes_on_one_database_share_votes_claims_and_state(tmp_path, postgres_url):
    def replica(name: str) -> Runtime:
        return replica_runtime(tmp_path / name, knowledge=knowledge, database_url=postgres_url, embedder=FakeEmbedder())

    knowledge = write_kb(tmp_path / "kb")
    one, two = replica("one"), replica("two")
    answer_id = one.feedback.record_answer("slack", ANSWER, user="U1")
    assert two.feedback.record_vote(answer_id, "U1", "helpful")
    [record] = one.feedback.audit(LONG_AGO)
    assert record["helpful"] == 1 and record["user"] == two.feedback.user_hash("U1")
    assert one.claims.claim("Ev1") and not two.claims.claim("Ev1")
    one.state.put("conv", [1])
    assert two.state.get("conv") == [1]
    assert one.database is one.claims.database is one.state.database
    with (
        ingest_lock(tmp_path / "two", database=two.database, name="ingest:adoptbot"),
        pytest.raises(IngestBusy, match="in the database"),
    ):
        one.ingest(progress=False)  # another host's ingest holds the lock, although the data dirs differ
    assert one.ingest(progress=False).chunks_total == 5
    assert not (tmp_path / "one" / "feedback.sqlite3").exists()
    for runtime in (one, two):
        runtime.database.close()
