"""Replica start-up at 100,000 chunks: time to GET /readyz answering 200, and retrieval latency once ready.

    .venv/bin/python benchmarks/startup.py [--chunks 100000] [--runs 3] [--server] [--before-code PATH] [--keep DIR]

Writes a synthetic index through the store (so what readers load is saved, as an ingest saves it), then
starts fresh replica processes on it, as `adoptbot serve` starts: open the store, load the serving
generation's passages (the saved records, or every record read from Chroma, the fallback for an index
from before they were saved), load its BM25 index and answer one query (the warm-up), then serve the web
app on a free loopback port and probe GET /readyz until it answers 200 (the index, the database and,
with a server, Chroma's heartbeat). Once ready, each replica retrieves our eval set's questions (hybrid,
the hashing embedder of the synthetic store) and reports p50/p95 and a digest of what came back, so the
modes can be seen to retrieve the same passages. --server serves the index from a real `chroma run` on
loopback; --before-code measures another checkout (for example main) starting on the same store; --keep
writes the store to DIR, or reuses the one an earlier run wrote there. Prints figures; nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CHILD = """
import asyncio, hashlib, json, math, re, statistics, sys, time
started = time.perf_counter(), time.process_time()  # wall, CPU
from pathlib import Path
import aiohttp
from aiohttp import web
from adoptbot.cli.operations import readiness
from adoptbot.runtime import Runtime
from bot.web.server import build_web_app
from common.settings import Settings
from kb.embedding import Embedder
imported = time.perf_counter(), time.process_time()  # wall, CPU

class Hashed(Embedder):
    name = "bench-hashed"
    def embed(self, texts):
        out = []
        for text in texts:
            v = [0.0] * 384
            for w in re.findall(r"\\w+", text.lower()):
                v[int(hashlib.md5(w.encode()).hexdigest(), 16) % 384] += 1.0
            n = math.sqrt(sum(x * x for x in v)) or 1.0
            out.append([x / n for x in v])
        return out
    def count_tokens(self, text):
        return len(text.split())

data_dir, chroma_url, mode, questions = Path(sys.argv[1]), sys.argv[2], sys.argv[3], json.loads(sys.argv[4])
runtime = Runtime(Settings(data_dir=data_dir, chroma_url=chroma_url, knowledge_dir=data_dir / "knowledge"),
                  embedder=Hashed())
store = runtime.store
store.client  # noqa: B018 - opened here, as the first index read of `serve` opens it
opened = time.perf_counter(), time.process_time()  # wall, CPU
if mode == "read":
    store.saved_records.load = lambda collection, at: None  # as an index from before records were saved
snap = runtime.retriever.snapshot()
loaded = time.perf_counter(), time.process_time()  # wall, CPU
runtime.warm_up()  # what `adoptbot serve` does before it listens: BM25 index, one query
warm = time.perf_counter(), time.process_time()  # wall, CPU

async def until_ready():
    # The web app `serve` builds, on a free loopback port, probed as a Kubernetes readiness probe would.
    app = build_web_app(index_info=runtime.index_info, readiness=readiness(runtime), metrics=runtime.metrics)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    probes = 0
    async with aiohttp.ClientSession() as session:
        while True:
            probes += 1
            async with session.get(f"http://127.0.0.1:{port}/readyz") as response:
                if response.status == 200:
                    break
            await asyncio.sleep(0.05)
    await runner.cleanup()
    return probes

probes = asyncio.run(until_ready())
ready = time.perf_counter(), time.process_time()  # wall, CPU
rss_ready = int(re.search(r"VmHWM:\\s+(\\d+)", open("/proc/self/status").read()).group(1)) / 1024
runtime.retriever.vocabulary(), runtime.retriever.topic_terms()  # what answering reads (on main: on first use)
read_ahead = time.perf_counter(), time.process_time()  # wall, CPU
times, results = [], []
for q in questions:
    t = time.perf_counter()
    got = runtime.retriever.retrieve(q)
    times.append((time.perf_counter() - t) * 1000)
    results.append([(p.id, p.source, p.section, p.text, round(p.score, 9)) for p in got.passages])
def phases(end, start):
    return [end[0] - start[0], end[1] - start[1]]

print(json.dumps({"imports": phases(imported, started), "open": phases(opened, imported),
                  "passages": phases(loaded, opened), "bm25_and_query": phases(warm, loaded),
                  "readyz": phases(ready, warm), "total": phases(ready, started), "probes": probes,
                  "words": phases(read_ahead, ready), "chunks": len(snap.passages),
                  "query_p50_ms": statistics.median(times),
                  "query_p95_ms": statistics.quantiles(times, n=20, method="inclusive")[-1],
                  "results": hashlib.sha256(json.dumps(results).encode()).hexdigest()[:16],
                  "rss_ready_mb": rss_ready,
                  "rss_mb": int(re.search(r"VmHWM:\\s+(\\d+)", open("/proc/self/status").read()).group(1)) / 1024}))
"""


def synthetic_store(data_dir: Path, chroma_url: str, chunks: int) -> dict[str, float]:
    """`chunks` passages of 60 starter-vocabulary words with random unit vectors, written by the store."""
    import numpy as np

    sys.path.insert(0, str(REPO))
    from common.settings import Settings
    from kb.store import KnowledgeStore, Record, open_client

    words = re.findall(r"[a-z]{3,}", " ".join(p.read_text() for p in (REPO / "knowledge").rglob("*.md")).lower())
    rng = random.Random(3)
    vectors = np.random.default_rng(3).standard_normal((chunks, 384)).astype("float32")
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    store = KnowledgeStore(open_client(Settings(data_dir=data_dir, chroma_url=chroma_url)))

    def batches():
        for start in range(0, chunks, 5000):
            yield [
                Record(
                    id=f"c{i}",
                    text=" ".join(rng.choices(words, k=60)),
                    metadata={
                        "source": f"doc{i // 20}.md",
                        "title": f"Doc {i // 20}",
                        "section": f"Topic {i}",
                        "ordinal": i % 20,
                        "kind": "guidance",
                        "checklist_id": "",
                        "last_reviewed": "2026-01-01",
                        "owner": "bench",
                    },
                    vector=vectors[i].tolist(),
                )
                for i in range(start, min(chunks, start + 5000))
            ]

    started = time.perf_counter()
    store.write(store.serving("bench-hashed"), added=batches(), retired=[], embed_model="bench-hashed")
    written = time.perf_counter() - started
    col = store.current()
    started = time.perf_counter()
    store.save_for_readers(col, 1)  # again, to time it alone: read the generation, index it, save both
    saved = time.perf_counter() - started
    started = time.perf_counter()
    records, lexical = store.records(col, 1), store.lexical(col, 1)
    loaded = time.perf_counter() - started
    return {
        "write": written,
        "save": saved,
        "load": loaded,
        "records_mb": len(records.to_bytes(collection=col.name, at=1)) / 1e6,
        "lexical_mb": len(lexical.to_bytes()) / 1e6 if lexical else 0.0,
    }


def start_replica(data_dir: Path, chroma_url: str, mode: str, code: Path) -> dict[str, float]:
    env = {**os.environ, "PYTHONPATH": str(code), "ANONYMIZED_TELEMETRY": "False"}
    out = subprocess.run(
        [sys.executable, "-c", CHILD, str(data_dir), chroma_url, mode, json.dumps(questions())],
        env=env,
        cwd=code,
        capture_output=True,
        text=True,
    )
    if out.returncode:
        raise SystemExit(f"a replica of {code} failed to start:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def questions() -> list[str]:
    """The questions of our own eval set, asked of every replica once it is ready."""
    lines = (REPO / "knowledge/eval/questions.jsonl").read_text().splitlines()
    return [json.loads(line)["q"] for line in lines if line.strip()]


def report(label: str, runs: list[dict]) -> None:
    def med(key: str, i: int | None = None) -> float:
        return statistics.median(r[key] if i is None else r[key][i] for r in runs)

    def phase(key: str) -> str:
        return f"{med(key, 0):5.2f} ({med(key, 1):4.2f})"

    print(
        f"  {label}  [{len(runs)} runs, median; wall s (CPU s)]\n"
        f"    ready {phase('total')}: imports {phase('imports')}, open {phase('open')}, "
        f"passages {phase('passages')}, BM25 + first query {phase('bm25_and_query')}, /readyz {phase('readyz')}\n"
        f"    peak RSS {med('rss_ready_mb'):4.0f} MB when ready, {med('rss_mb'):4.0f} MB at the end; "
        f"then the words answering reads {phase('words')}; retrieval p50 {med('query_p50_ms'):5.1f} ms, "
        f"p95 {med('query_p95_ms'):5.1f} ms"
    )


def load_average() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chunks", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3, help="replica starts per mode (median reported)")
    parser.add_argument("--server", action="store_true", help="serve the index from a real `chroma run`")
    parser.add_argument("--before-code", type=Path, help="also start replicas of this checkout (e.g. main)")
    parser.add_argument(
        "--keep",
        type=Path,
        help="write the synthetic store (and the server's data) here, or start on the one a previous run wrote",
    )
    args = parser.parse_args()
    os.environ["ANONYMIZED_TELEMETRY"] = "False"

    with tempfile.TemporaryDirectory(prefix="adoptbot-startup-") as tmp:
        root = args.keep.resolve() if args.keep else Path(tmp)
        root.mkdir(parents=True, exist_ok=True)
        data_dir, figures = root / "data", root / f"written-{'server' if args.server else 'embedded'}.json"
        sys.path.insert(0, str(REPO))
        from tests.cluster import ChromaServer

        server = ChromaServer(root / "server", log_dir=Path(tmp)) if args.server else None
        if server is not None:
            server.wait_ready()
        url = server.url if server is not None else ""
        try:
            where = f"Chroma server {url}" if url else "embedded Chroma"
            print(f"{args.chunks:,} chunks, {where}; load average {load_average()} at the start")
            if figures.exists():
                built = json.loads(figures.read_text())
                print(f"  (the store written by an earlier run, in {root})")
            else:
                built = synthetic_store(data_dir, url, args.chunks)
                figures.write_text(json.dumps(built))
            print(
                f"  write the generation              {built['write']:7.1f} s (records, then what readers load)\n"
                f"  save the records + BM25 index     {built['save']:7.2f} s "
                f"({built['records_mb']:.1f} + {built['lexical_mb']:.1f} MB compressed)\n"
                f"  load them back                    {built['load']:7.2f} s"
            )
            modes = [
                ("saved records and BM25 index", "load", REPO),
                ("records read from Chroma (fallback)", "read", REPO),
            ]
            if args.before_code:
                modes.append((f"before: {args.before_code}", "load", args.before_code.resolve()))
            results: dict[str, list[dict[str, float]]] = {label: [] for label, _, _ in modes}
            for _ in range(args.runs):  # interleaved, so load on the shared machine hits every mode alike
                for label, mode, code in modes:
                    results[label].append(start_replica(data_dir, url, mode, code))
            print(f"replica start-up, to GET /readyz answering 200 (load average {load_average()} at the end):")
            for label, runs in results.items():
                assert all(r["chunks"] == args.chunks for r in runs), runs
                report(label, runs)
            answers = {r["results"] for runs in results.values() for r in runs}
            print(f"  the {len(questions())} questions retrieved the same passages in every mode: {len(answers) == 1}")
            load, read = (statistics.median(r["total"][0] for r in results[m[0]]) for m in modes[:2])
            print(f"  saved vs read: {read / load:.1f}x faster, {read - load:.1f} s less per replica start")
        finally:
            if server is not None:
                server.stop()


if __name__ == "__main__":
    main()
