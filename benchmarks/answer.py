"""Answer speed: retrieval latency (starter and 100,000 chunks), answer latency per backend,
LLM tokens/s in the pipeline against raw llama-cpp, peak RSS.

    .venv/bin/python benchmarks/answer.py [--chunks 100000] [--skip-synthetic] [--skip-llm]

Prints figures; nothing is asserted. Uses temporary data directories.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from adoptbot.runtime import Runtime  # noqa: E402
from bot.answering.answerers.base import Prompt, build_messages  # noqa: E402
from bot.answering.evaluation import load_questions  # noqa: E402
from bot.answering.retrieval import Retriever  # noqa: E402
from bot.types import Question, Turn  # noqa: E402
from common.settings import Settings  # noqa: E402
from kb.store import KnowledgeStore, open_client  # noqa: E402


def pct(values: list[float], p: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[p - 1] if len(values) > 1 else values[0]


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def timed(fn, *args, **kwargs) -> tuple[float, object]:
    started = time.perf_counter()
    result = fn(*args, **kwargs)
    return (time.perf_counter() - started) * 1000, result


def questions() -> list[str]:
    lines = (REPO / "knowledge/eval/questions.jsonl").read_text().splitlines()
    return [json.loads(x)["q"] for x in lines if x.strip()]


def retrieval_latency(retriever: Retriever, qs: list[str], label: str) -> None:
    retriever.retrieve(qs[0])  # warm: BM25 index, model
    for mode in ("hybrid", "dense", "bm25"):
        times = [timed(retriever.retrieve, q, mode=mode)[0] for q in qs]
        print(f"  retrieval {mode:6s} {label:28s} p50 {pct(times, 50):7.1f} ms   p95 {pct(times, 95):7.1f} ms")


def synthetic_store(root: Path, chunks: int, embedder) -> KnowledgeStore:
    """A store of `chunks` passages: texts from the starter vocabulary, random unit vectors."""
    import numpy as np

    words = re.findall(r"[a-z]{3,}", " ".join(p.read_text() for p in (REPO / "knowledge").rglob("*.md")).lower())
    rng = random.Random(3)
    vectors = np.random.default_rng(3).standard_normal((chunks, 384)).astype("float32")
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    store = KnowledgeStore(open_client(Settings(data_dir=root)))
    col = store.begin(embed_model=embedder.name)
    for start in range(0, chunks, 5000):
        ids = [f"c{i}" for i in range(start, min(chunks, start + 5000))]
        col.add(
            ids=ids,
            embeddings=vectors[start : start + len(ids)],
            documents=[" ".join(rng.choices(words, k=60)) for _ in ids],
            metadatas=[
                {
                    "source": f"doc{int(i[1:]) // 20}.md",
                    "title": f"Doc {int(i[1:]) // 20}",
                    "section": f"S{i}",
                    "ordinal": int(i[1:]) % 20,
                    "kind": "guidance",
                    "checklist_id": "",
                    "url": "",
                    "last_reviewed": "2026-01-01",
                    "owner": "bench",
                }
                for i in ids
            ],
        )
    store.publish(col, 1)
    return store


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chunks", type=int, default=100_000)
    parser.add_argument("--skip-synthetic", action="store_true")
    parser.add_argument("--skip-llm", action="store_true", help="no local LLM figures")
    args = parser.parse_args()
    qs = questions()
    in_scope = [
        json.loads(x)["q"]
        for x in (REPO / "knowledge/eval/questions.jsonl").read_text().splitlines()
        if x.strip() and json.loads(x)["kind"] == "in"
    ]

    with tempfile.TemporaryDirectory() as tmp:
        runtime = Runtime(Settings(data_dir=Path(tmp) / "data", knowledge_dir=REPO / "knowledge"))
        runtime.ingest(progress=False)
        print(f"starter knowledge base: {runtime.store.info().chunks} chunks, {len(qs)} questions")
        retrieval_latency(runtime.retriever, qs, "starter")

        engine = runtime.engine
        first = [engine.answer(Question(q), backend="template").timings_ms["total"] for q in in_scope]
        print(
            f"  answer  template (first pass: sentence embeddings computed) p50 {pct(first, 50):7.1f} ms   "
            f"p95 {pct(first, 95):7.1f} ms"
        )
        for backend in ("template",) if args.skip_llm else ("template", "llm"):
            engine.answer(Question(in_scope[0]), backend=backend)  # warm
            results = [engine.answer(Question(q), backend=backend) for q in in_scope]
            totals = [a.timings_ms["total"] for a in results]
            used = {b: sum(1 for a in results if a.backend == b) for b in {a.backend for a in results}}
            print(
                f"  answer  {backend:8s} (warm, {len(in_scope)} in-scope)  p50 {pct(totals, 50):7.1f} ms   "
                f"p95 {pct(totals, 95):7.1f} ms   produced by {used}"
            )
        conversations = load_questions(REPO / "knowledge/eval/conversations.jsonl")
        last_turns = []
        for item in conversations:
            history = []
            for text in item.turns:
                answer = engine.answer(Question(text, history=tuple(history)), backend="template")
                history += [Turn("user", text), Turn("assistant", answer.text)]
            last_turns.append(answer.timings_ms["total"])
        print(
            f"  answer  template, follow-up turn of {len(conversations)} conversations   "
            f"p50 {pct(last_turns, 50):7.1f} ms   p95 {pct(last_turns, 95):7.1f} ms"
        )
        print(f"  peak RSS with the embedding model and the LLM loaded: {rss_mb():.0f} MB")
        if not args.skip_llm:
            llm_speed(runtime, in_scope)

        if not args.skip_synthetic:
            started = time.perf_counter()
            store = synthetic_store(Path(tmp) / "synthetic", args.chunks, runtime.embedder)
            print(f"\nsynthetic store: {args.chunks} chunks written in {time.perf_counter() - started:.0f} s")
            retriever = Retriever(store=store, embedder=runtime.embedder)
            started = time.perf_counter()
            retriever.retrieve(qs[0])
            print(f"  first query (loads passages, builds BM25): {time.perf_counter() - started:.1f} s")
            retrieval_latency(retriever, qs, f"{args.chunks} chunks")
        print(f"\npeak RSS at the end: {rss_mb():.0f} MB")


def llm_speed(runtime: Runtime, in_scope: list[str]) -> None:
    """Tokens/s of the local LLM: raw llama-cpp against the pipeline, on the same prompts."""
    llm = runtime.answerers["llm"]
    model = llm.model()
    raw_tokens = raw_ms = our_tokens = our_ms = 0.0
    for i, q in enumerate(in_scope[:10]):
        messages = build_messages(Prompt(q, runtime.retriever.retrieve(q).passages))

        def raw(messages: list = messages) -> int:
            out = model.create_chat_completion(messages=messages, temperature=0.0, max_tokens=llm.max_tokens)
            return out["usage"]["completion_tokens"]

        def ours(messages: list = messages) -> int:
            text = llm.complete(messages)
            return len(model.tokenize(text.encode(), add_bos=False, special=False))

        # Same prompt both ways; the KV cache is reset so neither reuses the other's prompt evaluation,
        # and the order alternates.
        for name in ("raw", "ours") if i % 2 == 0 else ("ours", "raw"):
            model.reset()
            ms, tokens = timed(raw if name == "raw" else ours)
            if name == "raw":
                raw_tokens, raw_ms = raw_tokens + tokens, raw_ms + ms
            else:
                our_tokens, our_ms = our_tokens + tokens, our_ms + ms
    raw_tps, our_tps = raw_tokens / raw_ms * 1000, our_tokens / our_ms * 1000
    print(
        f"  LLM, 10 prompts, prompt evaluation + generation: raw llama-cpp {raw_tps:.1f} tokens/s, "
        f"pipeline {our_tps:.1f} tokens/s, pipeline overhead {100 * (raw_tps / our_tps - 1):+.1f} %"
    )


if __name__ == "__main__":
    main()
