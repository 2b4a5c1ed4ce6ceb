"""Two `adoptbot serve --slack-http` replicas as real processes, sharing real servers on loopback.

A real PostgreSQL (tests/postgres.py), a real `chroma run`, llama.cpp's OpenAI-compatible server with
the shipped GGUF, and one fake Slack Web API that both replicas post to. Replica A answers through
the LLM server (ADOPTBOT_BACKEND=openai), replica B with the template. Everything is started once for
the module; the database outage runs last and leaves the database running again.
"""

from __future__ import annotations

import json
import re
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from adoptbot.cli import ensure_index
from adoptbot.runtime import Runtime
from bot.state.database import Database
from common.settings import Settings
from ingest.pipeline import INGEST_LOCK
from tests.cluster import ChromaServer, LlamaServer, Replica, mention, start_all, stop_all
from tests.conftest import write_kb
from tests.fake_slack import (
    FakeSlackApi,
    action_body,
    command_body,
    feedback_value,
    signed_headers,
)
from tests.postgres import PostgresMissing, PostgresServer

SECRET = "replicas-signing-secret"
ADMIN = "UEDITOR"
ADMIN_TOKEN = "replicas-admin-token"
PREFIX = "adoptbot"  # the collection prefix, and so the name of the ingest lock
NEW_DOC = """---
title: Sandbox tenancy
owner: AI Platform Team
last_reviewed: 2026-11-02
url: https://intranet.example.com/quokka-lab
---

# Sandbox tenancy

## The quokka-lab tenant

Every pilot team gets the quokka-lab sandbox tenant, which holds synthetic data only and is wiped each month.
"""
NEW_QUESTION = "What is the quokka-lab sandbox tenant?"


@dataclass
class Cluster:
    postgres: PostgresServer
    a: Replica  # answers through the llama.cpp server
    b: Replica  # answers with the template
    api: FakeSlackApi
    knowledge: Path
    database_url: str
    other_host: Runtime  # an ingest host of its own (its own data directory), in this process
    shared: dict[str, str]  # the settings every replica shares


@pytest.fixture(scope="module")
def cluster(tmp_path_factory, real_embedder) -> Iterator[Cluster]:
    root = tmp_path_factory.mktemp("replicas")
    started: list[Any] = []
    try:
        postgres = PostgresServer()
    except PostgresMissing as e:
        pytest.fail(str(e), pytrace=False)
    api = FakeSlackApi()
    try:
        chroma = ChromaServer(root / "chroma", log_dir=root)
        started.append(chroma)
        llama = LlamaServer(log_dir=root)
        started.append(llama)
        postgres.start()
        database_url = postgres.create_database()
        knowledge = write_kb(root / "knowledge")
        chroma.wait_ready()
        shared = {
            "ADOPTBOT_DATABASE_URL": database_url,
            "ADOPTBOT_CHROMA_URL": chroma.url,
            "ADOPTBOT_OPENAI_BASE_URL": llama.base_url,
            "ADOPTBOT_OPENAI_MODEL": LlamaServer.ALIAS,
            "ADOPTBOT_USER_HASH_KEY": secrets.token_hex(32),
            "ADOPTBOT_KNOWLEDGE_DIR": str(knowledge),
            "ADOPTBOT_COLLECTION_PREFIX": PREFIX,
            "ADOPTBOT_SLACK_ADMINS": ADMIN,
            "ADOPTBOT_ADMIN_TOKEN": ADMIN_TOKEN,
            "ADOPTBOT_WORKERS": "2",
            "SLACK_BOT_TOKEN": "xoxb-replicas",
            "SLACK_SIGNING_SECRET": SECRET,
            "SLACK_API_BASE_URL": api.api_url,
        }
        # The first index is built before the replicas start, as the ingest Job or compose service does.
        other_host = Runtime(Settings.from_env(shared, data_dir=root / "ingest-host"), embedder=real_embedder)
        assert other_host.ingest(progress=False).chunks_total > 0
        a = Replica("replica-a", {**shared, "ADOPTBOT_BACKEND": "openai"}, root=root)
        started.append(a)
        b = Replica("replica-b", {**shared, "ADOPTBOT_BACKEND": "template"}, root=root)
        started.append(b)
        llama.wait_ready()
        start_all([a, b])
        yield Cluster(postgres, a, b, api, knowledge, database_url, other_host, shared)
    finally:
        stop_all(started)
        api.close()
        postgres.close()


# -- talking to the replicas as Slack does ----------------------------------------------------------


def deliver(replica: Replica, event: dict, event_id: str, *, retry: int = 0) -> int:
    """Post one signed event callback; the HTTP status of Slack's acknowledgement."""
    return replica.deliver(event, event_id, secret=SECRET, retry=retry)


def deliver_to_all(replicas: list[Replica], event: dict, event_id: str) -> list[int]:
    """The same event to every replica at once, as a load balancer might after a redelivery."""
    statuses: list[int] = []
    go = threading.Barrier(len(replicas))

    def send(replica: Replica) -> None:
        go.wait()
        statuses.append(deliver(replica, event, event_id))

    threads = [threading.Thread(target=send, args=(r,)) for r in replicas]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return statuses


def slash(replica: Replica, text: str, *, user: str, response_url: str) -> dict:
    """A signed /adoptbot slash command; the immediate (ephemeral) reply."""
    body = command_body(text, user=user, response_url=response_url)
    status, raw = replica.post(
        "/slack/events", body, signed_headers(SECRET, body, content_type="application/x-www-form-urlencoded")
    )
    assert status == 200, raw
    return json.loads(raw or b"{}")


def click(replica: Replica, value: str, reply: dict, *, user: str, response_url: str) -> None:
    """A click on an answer's feedback button, sent to `replica`."""
    message = {"ts": "1700000099.000001", "text": reply["text"], "blocks": reply["blocks"]}
    body = action_body(
        action_id="feedback", kind="feedback_buttons", block_id="feedback_buttons", value=value, user=user,
        message=message, response_url=response_url,
    )  # fmt: skip
    status, raw = replica.post(
        "/slack/events", body, signed_headers(SECRET, body, content_type="application/x-www-form-urlencoded")
    )
    assert status == 200, raw


def replies(api: FakeSlackApi, thread_ts: str) -> list[tuple[str, dict]]:
    """Every reply started in a thread: posted messages and streams."""
    return [
        (method, call)
        for method, call in list(api.calls)
        if method in ("chat.postMessage", "chat.startStream") and call.get("thread_ts") == thread_ts
    ]


def finished(api: FakeSlackApi, thread_ts: str) -> dict | None:
    """The reply in a thread once it is complete: a posted message, or a stream's text and closing blocks."""
    for method, call in list(api.calls):
        if method == "chat.postMessage" and call.get("thread_ts") == thread_ts:
            return call
        if method == "chat.stopStream" and api.stream_threads.get(call.get("ts")) == thread_ts:
            return {"text": api.streams[call["ts"]], "blocks": call.get("blocks") or [], "streamed": True}
    return None


def wait_reply(api: FakeSlackApi, thread_ts: str, timeout: float = 120) -> dict:
    """The finished reply in a thread (a deadline, not a timing assertion)."""
    deadline = time.monotonic() + timeout
    while (reply := finished(api, thread_ts)) is None:
        assert time.monotonic() < deadline, f"no reply in thread {thread_ts}"
        time.sleep(0.05)
    return reply


def settle(api: FakeSlackApi) -> None:
    """Let both replicas finish what they took on (every :eyes: removed) before counting replies."""
    deadline = time.monotonic() + 60
    while len(api.called("reactions.remove")) < len(api.called("reactions.add")):
        assert time.monotonic() < deadline, "a replica never finished an answer"
        time.sleep(0.05)
    time.sleep(1.0)  # a replica that (wrongly) won a claim late would have posted by now


def sources_line(reply: dict) -> str:
    """The Sources context block of an answer (linked titles), or ""."""
    for block in reply["blocks"]:
        if block["type"] == "context" and block["elements"][0].get("text") == "*Sources*":
            return block["elements"][1]["text"]
    return ""


def has_feedback_buttons(reply: dict) -> bool:
    return any(b["type"] == "context_actions" for b in reply["blocks"])


# -- the tests ------------------------------------------------------------------------------------


def test_the_same_event_delivered_to_both_replicas_gets_exactly_one_reply(cluster):
    replicas = [cluster.a, cluster.b]
    questions = [
        "Is it ok to put personal data into prompts?",
        "How do we keep models from stating false things?",
        "What is on the launch checklist?",
    ]
    threads = []
    for n, question in enumerate(questions):
        ts = f"1700000100.{n:06d}"
        event = mention(question, ts, user=f"U10{n}")
        assert deliver_to_all(replicas, event, f"EvDup{n}") == [200, 200]
        assert deliver(cluster.a, event, f"EvDup{n}", retry=1) == 200  # and Slack's own retry on top
        threads.append(ts)
    for ts in threads:
        wait_reply(cluster.api, ts)
    settle(cluster.api)
    assert {ts: len(replies(cluster.api, ts)) for ts in threads} == {ts: 1 for ts in threads}


def test_an_answer_goes_through_the_llm_server_streamed(cluster):
    # SmolLM2-135M often writes nothing the passages support, and then the template answers instead; at
    # temperature 0 it grounds the first of these, the others are there in case a new build words it differently.
    questions = ["What is on the launch checklist?", "Who must agree before personal data goes into prompts?",
                 "How do we keep models from stating false things?"]  # fmt: skip
    streamed = []
    for n, question in enumerate(questions):
        ts = f"1700000200.{n:06d}"
        assert deliver(cluster.a, mention(question, ts, user=f"U20{n}"), f"EvLlm{n}") == 200
        reply = wait_reply(cluster.api, ts, timeout=300)
        if reply.get("streamed"):  # the template does not stream: these words came from the model, piece by piece
            streamed.append(reply)
            break
    assert streamed and streamed[0]["text"].strip(), "no answer came through the llama.cpp server"
    status, page = cluster.b.get("/admin/report", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
    assert status == 200
    assert re.search(r"<tr><td>openai</td><td class=\"n\">[1-9]", page), "B's report shows no answer by openai"


def test_a_reindex_through_one_replica_is_served_by_the_other_without_a_restart(cluster):
    before = wait_reply_to(cluster.b, cluster.api, NEW_QUESTION, "1700000300.000001")
    assert "quokka-lab" not in sources_line(before)
    documents = cluster.b.get("/healthz")[1]["documents"]
    (cluster.knowledge / "guidance" / "sandbox.md").write_text(NEW_DOC, encoding="utf-8")
    started = slash(cluster.a, "reindex", user=ADMIN, response_url=cluster.api.url + "/response/reindex")
    assert "Reindexing" in started["text"]
    [report] = cluster.api.wait_for("response/reindex", timeout=120)
    assert "Reindex finished" in report["text"] and "guidance/sandbox.md" in report["text"]
    after = wait_reply_to(cluster.b, cluster.api, NEW_QUESTION, "1700000300.000002")
    assert "<https://intranet.example.com/quokka-lab|Sandbox tenancy>" in sources_line(after)
    assert cluster.b.get("/healthz")[1]["documents"] == documents + 1  # what B tells its operators moved on too


def wait_reply_to(replica: Replica, api: FakeSlackApi, question: str, ts: str, *, user: str = "U300") -> dict:
    assert deliver(replica, mention(question, ts, user=user), f"Ev{ts}") == 200
    return wait_reply(api, ts)


def test_a_vote_through_one_replica_is_in_the_report_read_through_the_other(cluster):
    reply = wait_reply_to(cluster.b, cluster.api, "How do we keep models from stating false things?",
                          "1700000400.000001")  # fmt: skip
    assert "Hallucinations" in sources_line(reply)
    vote = feedback_value(reply, "helpful")
    click(cluster.a, vote, reply, user="UVOTER", response_url=cluster.api.url + "/response/vote")
    [thanked] = cluster.api.wait_for("response/vote")
    assert "Thanks" in thanked["blocks"][-1]["elements"][0]["text"]
    status, page = cluster.b.get("/admin/report", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
    assert status == 200
    row = re.search(r"guidance/hallucination\.md</span></td><td class=\"n\">(\d+)</td>", page)
    assert row and int(row.group(1)) >= 1, "the vote taken by A is not in B's report"


def test_an_ingest_while_another_host_holds_the_lock_is_refused_or_waits(cluster):
    holder = Database(cluster.database_url)
    waited: dict[str, Any] = {}

    def ingest_and_wait() -> None:
        waited["summary"] = cluster.other_host.ingest(wait=True, progress=False)
        waited["at"] = time.time()

    try:
        with holder.lock(f"{INGEST_LOCK}:{PREFIX}") as held:
            assert held
            started = slash(cluster.a, "reindex", user=ADMIN, response_url=cluster.api.url + "/response/busy")
            assert "Reindexing" in started["text"]
            [report] = cluster.api.wait_for("response/busy", timeout=120)
            assert "Another reindex is running" in report["text"] and "failed" not in report["text"]
            waiter = threading.Thread(target=ingest_and_wait)
            waiter.start()
            wait_for_a_lock_waiter(holder)
            released_at = time.time()
        waiter.join(120)
        assert waited["at"] >= released_at  # it ran only once the other host let go
        assert waited["summary"].documents_total >= 3
    finally:
        holder.close()


def test_a_replica_starting_on_an_empty_index_while_another_host_ingests_waits_for_it(cluster, tmp_path):
    # What `serve` does before it listens: a replica started beside the first ingest (the Job, the compose
    # service) must wait for it, not exit with IngestBusy and be restarted in a loop by its orchestrator.
    settings = Settings.from_env(cluster.shared, collection_prefix="fresh", data_dir=tmp_path / "starting")
    starting = Runtime(settings, embedder=cluster.other_host.embedder)
    holder = Database(cluster.database_url)
    outcome: dict[str, Any] = {}

    def start() -> None:
        try:
            ensure_index(starting)
        except Exception as e:  # noqa: BLE001 - the assertion below says what happened
            outcome["error"] = e

    try:
        with holder.lock(f"{INGEST_LOCK}:fresh") as held:
            assert held
            starter = threading.Thread(target=start)
            starter.start()
            wait_for_a_lock_waiter(holder, unless=lambda: not starter.is_alive())
            assert "error" not in outcome, f"start-up gave up instead of waiting: {outcome.get('error')!r}"
        starter.join(120)
        assert "error" not in outcome, outcome
        assert starting.store.current() is not None  # it indexed once the other host let go
    finally:
        holder.close()


def wait_for_a_lock_waiter(database: Database, *, unless: Callable[[], bool] = lambda: False) -> None:
    """Until PostgreSQL shows a session waiting for an advisory lock (the ingest asking for the held one)."""
    deadline = time.monotonic() + 60
    query = sa.text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")
    while not unless():
        with database.reading() as conn:
            if conn.execute(query).scalar():
                return
        assert time.monotonic() < deadline, "the ingest never asked for the lock"
        time.sleep(0.05)


def test_with_the_database_down_people_get_replies_and_the_replicas_recover(cluster):
    api, a, b = cluster.api, cluster.a, cluster.b
    earlier = wait_reply_to(b, api, "Is it ok to put personal data into prompts?", "1700000500.000001")
    value = feedback_value(earlier, "not_helpful")
    cluster.postgres.stop("immediate")
    try:
        during = wait_reply_to(b, api, "How do we keep models from stating false things?", "1700000500.000002")
        assert during["text"].strip() and not has_feedback_buttons(during)  # answered, with nowhere to vote
        click(a, value, earlier, user="UOUTAGE", response_url=api.url + "/response/outage-vote")
        [apology] = api.wait_for("response/outage-vote")
        assert "couldn't record your vote" in str(apology)
        for replica in (a, b):
            status, body = replica.get("/readyz")
            assert status == 503 and "database" in body["not_ready"], body
            assert replica.get("/healthz")[0] == 200  # alive: an orchestrator must not restart it for this
    finally:
        cluster.postgres.start()
    for replica in (a, b):
        replica.wait_ready(timeout=60)
    click(a, value, earlier, user="UOUTAGE", response_url=api.url + "/response/vote-again")
    [thanked] = api.wait_for("response/vote-again")
    assert "Thanks" in str(thanked)
    ts = "1700000500.000003"
    event = mention("What is on the launch checklist?", ts, user="U501")
    assert deliver_to_all([a, b], event, "EvAfter") == [200, 200]
    after = wait_reply(api, ts, timeout=300)
    settle(api)
    assert len(replies(api, ts)) == 1 and has_feedback_buttons(after)
