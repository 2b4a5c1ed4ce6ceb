"""One replica against two: Slack events answered per second and acknowledgement latency, shared PostgreSQL.

    .venv/bin/python benchmarks/replicas.py [--events 200] [--workers 4]

Starts a real PostgreSQL (fsync on, tests/postgres.py), a real `chroma run` holding the starter
knowledge base, and `adoptbot serve --slack-http` replicas as processes (template backend), all
posting to one fake Slack Web API. Then, in the same run:

1. one replica: `--events` concurrent app_mention events, each delivered once;
2. two replicas, the events split between them (a load balancer, round robin);
3. two replicas, each event delivered to both at once (as after a redelivery through a load
   balancer), so the shared claims must keep every event to one reply.

For each it prints the HTTP statuses, acknowledgement latency p50/p99 over every delivery, answers per
second (events / time from the first delivery to the last reply), and replies per event (exactly once
holds when every event got one). Each event comes from a different person (fair use limits questions
per person), and the queue is deep enough that nobody is told to try again. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from adoptbot.runtime import Runtime  # noqa: E402
from benchmarks.slack_load import QUESTIONS  # noqa: E402
from common.settings import Settings  # noqa: E402
from kb.embedding import SentenceTransformerEmbedder  # noqa: E402
from tests.cluster import ChromaServer, Replica, mention, start_all, stop_all  # noqa: E402
from tests.fake_slack import FakeSlackApi, event_body, signed_headers  # noqa: E402
from tests.postgres import PostgresServer  # noqa: E402

SECRET = "bench-secret"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200)
    parser.add_argument("--workers", type=int, default=4, help="answer workers per replica (ADOPTBOT_WORKERS)")
    args = parser.parse_args()

    root = Path(tempfile.mkdtemp(prefix="adoptbot-bench-replicas-"))
    postgres = PostgresServer(durable=True)
    api = FakeSlackApi()
    processes: list = []
    try:
        chroma = ChromaServer(root / "chroma", log_dir=root)
        processes.append(chroma)
        postgres.start()
        chroma.wait_ready()
        shared = {
            "ADOPTBOT_DATABASE_URL": postgres.create_database(),
            "ADOPTBOT_CHROMA_URL": chroma.url,
            "ADOPTBOT_USER_HASH_KEY": secrets.token_hex(32),
            "ADOPTBOT_KNOWLEDGE_DIR": str(REPO / "knowledge"),
            "ADOPTBOT_BACKEND": "template",
            "ADOPTBOT_WORKERS": str(args.workers),
            "ADOPTBOT_MAX_WAITING": str(args.events * 2),  # nobody is turned away: this measures answering
            "SLACK_BOT_TOKEN": "xoxb-bench",
            "SLACK_SIGNING_SECRET": SECRET,
            "SLACK_API_BASE_URL": api.api_url,
        }
        ingest = Runtime(Settings.from_env(shared, data_dir=root / "ingest"), embedder=SentenceTransformerEmbedder())
        summary = ingest.ingest(progress=False)
        print(
            f"{os.cpu_count()} CPUs; starter knowledge base: {summary.documents_total} documents, "
            f"{summary.chunks_total} chunks in chroma run; PostgreSQL {postgres.bindir.parent.name} (fsync on); "
            f"template backend, {args.workers} answer workers per replica"
        )
        a = Replica("replica-a", shared, root=root)
        b = Replica("replica-b", shared, root=root)
        processes += [a, b]
        start_all([a, b])
        for n, replica in enumerate((a, b)):  # the first answer of a process pays for lazy imports
            warm_up(replica, api, f"1600000000.{n:06d}")

        run("1 replica, each event delivered once", api, args.events, lambda n: [a])
        run("2 replicas, events split between them", api, args.events, lambda n: [(a, b)[n % 2]])
        run("2 replicas, each event delivered to both", api, args.events, lambda n: [a, b])
    finally:
        stop_all(processes)
        api.close()
        postgres.close()
        shutil.rmtree(root, ignore_errors=True)


def warm_up(replica: Replica, api: FakeSlackApi, ts: str) -> None:
    replica.deliver(mention(QUESTIONS[0], ts, user="UWARM" + ts[-2:]), f"EvWarm{ts}", secret=SECRET)
    deadline = time.monotonic() + 120
    while ts not in {thread for thread, _, _ in api.finished()} and time.monotonic() < deadline:
        time.sleep(0.05)


def run(title: str, api: FakeSlackApi, events: int, targets: Callable[[int], list[Replica]]) -> None:
    """Deliver `events` events at once (event n to every replica in targets(n)) and print what happened."""
    phase = time.time_ns() % 1_000_000  # thread timestamps of their own, so earlier phases do not count
    threads = {f"17{phase:06d}00.{n:06d}": n for n in range(events)}
    acks: list[float] = []
    statuses: Counter[int] = Counter()
    lock = threading.Lock()
    go = threading.Event()
    calls_before = len(api.calls)

    def send(replica: Replica, ts: str, n: int) -> None:
        body = event_body(mention(QUESTIONS[n % len(QUESTIONS)], ts, user=f"U{phase:06d}{n:05d}"), f"Ev{phase}-{n}")
        headers = signed_headers(SECRET, body, content_type="application/json")
        go.wait()
        started = time.perf_counter()
        status, _ = replica.post("/slack/events", body, headers, timeout=120)
        with lock:
            acks.append((time.perf_counter() - started) * 1000)
            statuses[status] += 1

    senders = [
        threading.Thread(target=send, args=(replica, ts, n)) for ts, n in threads.items() for replica in targets(n)
    ]
    for t in senders:
        t.start()
    started = time.perf_counter()
    go.set()
    for t in senders:
        t.join()
    deadline = time.monotonic() + 1800
    while len(answered(api, threads)) < events and time.monotonic() < deadline:
        time.sleep(0.05)
    done = answered(api, threads)
    last = max(done.values()) - started if done else float("nan")
    time.sleep(2)  # a second reply to any event would show up now
    per_event = Counter(thread for method, call in api.calls[calls_before:] for thread in _reply_thread(method, call))
    per_event = Counter({ts: per_event.get(ts, 0) for ts in threads})
    notes = sum(1 for method, _ in api.calls[calls_before:] if method == "chat.postEphemeral")
    p99 = statistics.quantiles(acks, n=100, method="inclusive")[98]
    print(f"\n{title}: {events} events, {len(acks)} deliveries")
    print(f"  HTTP statuses: {dict(statuses)}")
    print(f"  acknowledgement latency: p50 {statistics.median(acks):.0f} ms, p99 {p99:.0f} ms, max {max(acks):.0f} ms")
    print(f"  answers per second: {len(done) / last:.1f} ({len(done)} answered, the last {last:.1f} s after the first)")
    print(
        f"  replies per event: {dict(sorted(Counter(per_event.values()).items()))} "
        f"(exactly once: {'held' if set(per_event.values()) == {1} else 'BROKEN'}); "
        f"'wait in line' notes: {notes}"
    )


def _reply_thread(method: str, call: dict) -> list[str]:
    """The thread a call replies in, if it is a reply (a posted message or the start of a stream)."""
    if method in ("chat.postMessage", "chat.startStream") and call.get("thread_ts"):
        return [call["thread_ts"]]
    return []


def answered(api: FakeSlackApi, threads: dict[str, int]) -> dict[str, float]:
    """Threads of this phase with a finished reply, and when the first one finished (perf_counter)."""
    done: dict[str, float] = {}
    for thread, _, at in api.finished():
        if thread in threads:
            done.setdefault(thread, at)
    return done


if __name__ == "__main__":
    main()
