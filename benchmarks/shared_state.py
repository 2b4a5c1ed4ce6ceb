"""Shared state latency: claims, conversation state and feedback writes on SQLite vs PostgreSQL, on this machine.

    .venv/bin/python benchmarks/shared_state.py [--n 2000] [--threads 4] [--url postgresql+psycopg://...]

Without --url a throwaway PostgreSQL is started from Debian's binaries on loopback (tests/postgres.py);
SQLite is a file in a temporary directory, as in the data directory. Prints p50/p99 per operation in
one thread, then claims per second with --threads threads claiming at once. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bot.state.claims import DatabaseClaims  # noqa: E402
from bot.state.database import Database  # noqa: E402
from bot.state.feedback import FeedbackStore  # noqa: E402
from bot.state.kv import DatabaseState  # noqa: E402
from bot.types import Answer  # noqa: E402
from tests.postgres import PostgresServer  # noqa: E402

ANSWER = Answer(question="What is RAG?", status="answered", text="Retrieval-augmented generation [1].", backend="x")


def timed(n: int, operation: Callable[[int], object]) -> list[float]:
    """Milliseconds per call of operation(i), i in range(n)."""
    out = []
    for i in range(n):
        started = time.perf_counter()
        operation(i)
        out.append((time.perf_counter() - started) * 1000)
    return out


def describe(name: str, ms: list[float]) -> str:
    p99 = statistics.quantiles(ms, n=100, method="inclusive")[98]
    return f"    {name:<26} p50 {statistics.median(ms):6.2f} ms   p99 {p99:6.2f} ms"


def concurrent_claims(database: Database, threads: int, n: int) -> float:
    """Claims per second with threads claiming distinct keys at once (half of them also retry a claimed one)."""
    claims = DatabaseClaims(database)
    run = uuid.uuid4().hex[:8]

    def work(t: int) -> None:
        for i in range(n):
            claims.claim(f"{run}-{t}-{i}", f"{run}-shared-{i}")

    workers = [threading.Thread(target=work, args=(t,)) for t in range(threads)]
    started = time.perf_counter()
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return threads * n / (time.perf_counter() - started)


def bench(label: str, database: Database, n: int, threads: int) -> None:
    database.ping()
    claims, state = DatabaseClaims(database), DatabaseState(database)
    store = FeedbackStore(database, user_key=b"k" * 32, retention_days=3650)
    run = uuid.uuid4().hex[:8]
    print(f"  {label}")
    print(describe("claim (new key)", timed(n, lambda i: claims.claim(f"{run}-{i}"))))
    print(describe("claim (already claimed)", timed(n, lambda i: claims.claim(f"{run}-{i}"))))
    print(describe("state put", timed(n, lambda i: state.put(f"{run}-{i % 100}", {"turns": ["q", "a"] * 3}))))
    print(describe("state get", timed(n, lambda i: state.get(f"{run}-{i % 100}"))))
    print(describe("record an answer", timed(n // 4, lambda i: store.record_answer("slack", ANSWER, user="U1"))))
    print(f"    {threads} threads claiming at once: {concurrent_claims(database, threads, n // threads):.0f} claims/s")
    database.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--url", default="", help="a PostgreSQL to use instead of a throwaway one")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        database = Database.sqlite(Path(tmp) / "feedback.sqlite3")
        bench("SQLite (a file in the data directory)", database, args.n, args.threads)
    server = None
    if not args.url:
        server = PostgresServer(durable=True)  # fsync on, like SQLite here
        server.start()
    try:
        url = args.url or server.create_database()
        bench("PostgreSQL (loopback)", Database(url), args.n, args.threads)
    finally:
        if server is not None:
            server.close()


if __name__ == "__main__":
    main()
