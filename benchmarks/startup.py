"""Replica start-up at 100,000 chunks: time to the first hybrid answer, BM25 index loaded vs built.

    .venv/bin/python benchmarks/startup.py [--chunks 100000] [--runs 3] [--server] [--before-code PATH]

Writes a synthetic index through the store (so its BM25 index is saved, as an ingest does), then starts
fresh replica processes on it: each opens the store, loads the serving generation's passages, gets its
BM25 index (the saved one, or built as every replica did before it was saved) and answers one query.
--server serves the index from a real `chroma run` on loopback; --before-code measures another checkout
(for example main) starting on the same store. Prints figures; nothing is asserted.
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
import hashlib, json, math, re, sys, time
started = time.perf_counter()
from kb.embedding import Embedder
from bot.answering.retrieval import Retriever
from common.settings import Settings
from kb.store import KnowledgeStore, open_client
imported = time.perf_counter()

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

from pathlib import Path
settings = Settings(data_dir=Path(sys.argv[1]), chroma_url=sys.argv[2])
store = KnowledgeStore(open_client(settings))
opened = time.perf_counter()
if sys.argv[3] == "build" and hasattr(store, "lexical"):
    store.lexical = lambda collection, at: None  # as before BM25 indexes were saved: every replica builds
retriever = Retriever(store=store, embedder=Hashed())
t0 = time.perf_counter()
snap = retriever.snapshot()
t1 = time.perf_counter()
retriever.retrieve("how do we keep personal data out of prompts?")
t2 = time.perf_counter()
print(json.dumps({"imports": imported - started, "open": opened - imported, "passages": t1 - t0,
                  "bm25_and_query": t2 - t1, "total": t2 - started, "chunks": len(snap.passages),
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
    store.save_lexical(col, 1)  # again, to time it alone: read the generation, tokenise, index, save
    lexical = time.perf_counter() - started
    started = time.perf_counter()
    saved = store.lexical(col, 1)
    loaded = time.perf_counter() - started
    size = len(saved.to_bytes()) if saved else 0
    return {"write": written, "save_lexical": lexical, "load_lexical": loaded, "lexical_mb": size / 1e6}


def start_replica(data_dir: Path, chroma_url: str, mode: str, code: Path) -> dict[str, float]:
    env = {**os.environ, "PYTHONPATH": str(code), "ANONYMIZED_TELEMETRY": "False"}
    out = subprocess.run(
        [sys.executable, "-c", CHILD, str(data_dir), chroma_url, mode],
        env=env,
        cwd=code,
        capture_output=True,
        text=True,
    )
    if out.returncode:
        raise SystemExit(f"a replica of {code} failed to start:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def report(label: str, runs: list[dict[str, float]]) -> None:
    def med(key: str) -> float:
        return statistics.median(r[key] for r in runs)

    print(
        f"  {label:30s} total {med('total'):6.2f} s  (imports {med('imports'):5.2f}, open {med('open'):5.2f}, passages "
        f"{med('passages'):5.2f}, BM25 + first query {med('bm25_and_query'):5.2f})  "
        f"peak RSS {med('rss_mb'):5.0f} MB  [{len(runs)} runs, median]"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chunks", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3, help="replica starts per mode (median reported)")
    parser.add_argument("--server", action="store_true", help="serve the index from a real `chroma run`")
    parser.add_argument("--before-code", type=Path, help="also start replicas of this checkout (e.g. main)")
    args = parser.parse_args()
    os.environ["ANONYMIZED_TELEMETRY"] = "False"

    with tempfile.TemporaryDirectory(prefix="adoptbot-startup-") as tmp:
        data_dir = Path(tmp) / "data"
        sys.path.insert(0, str(REPO))
        from tests.cluster import ChromaServer

        server = ChromaServer(Path(tmp) / "server", log_dir=Path(tmp)) if args.server else None
        if server is not None:
            server.wait_ready()
        url = server.url if server is not None else ""
        try:
            where = f"Chroma server {url}" if url else "embedded Chroma"
            print(f"{args.chunks:,} chunks, {where}")
            built = synthetic_store(data_dir, url, args.chunks)
            print(
                f"  write the generation           {built['write']:7.1f} s (records, then its BM25 index)\n"
                f"  build + save the BM25 index    {built['save_lexical']:7.2f} s "
                f"({built['lexical_mb']:.1f} MB zipped)\n"
                f"  load the saved BM25 index      {built['load_lexical']:7.2f} s"
            )
            modes = [("saved BM25 index loaded", "load", REPO), ("BM25 index built (fallback)", "build", REPO)]
            if args.before_code:
                modes.append((f"before: {args.before_code}", "build", args.before_code.resolve()))
            results: dict[str, list[dict[str, float]]] = {label: [] for label, _, _ in modes}
            for _ in range(args.runs):  # interleaved, so load on the shared machine hits every mode alike
                for label, mode, code in modes:
                    results[label].append(start_replica(data_dir, url, mode, code))
            print("replica start-up, to the first hybrid answer:")
            for label, runs in results.items():
                assert all(r["chunks"] == args.chunks for r in runs), runs
                report(label, runs)
            load, build = (statistics.median(r["total"] for r in results[m[0]]) for m in modes[:2])
            print(f"  saved vs built: {build / load:.1f}x faster, {build - load:.1f} s less per replica start")
        finally:
            if server is not None:
                server.stop()


if __name__ == "__main__":
    main()
