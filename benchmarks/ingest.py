"""Ingest speed: cold ingest vs raw encoding, no-change reindex, one-file change.

    .venv/bin/python benchmarks/ingest.py [--synthetic-chunks 10000] [--skip-synthetic] [--embedder onnx]

--embedder: sentence-transformers (torch), or onnx (the ONNX copy `adoptbot export-model` made).

Prints figures; nothing is asserted. Runs in a temporary data directory.
"""

from __future__ import annotations

import argparse
import random
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from common.settings import Settings  # noqa: E402
from ingest.chunking import chunk_document  # noqa: E402
from ingest.pipeline import run_ingest  # noqa: E402
from kb.embedding import Embedder, SentenceTransformerEmbedder  # noqa: E402
from kb.files import discover  # noqa: E402
from kb.sources import parse  # noqa: E402
from kb.store import KnowledgeStore, open_client  # noqa: E402

SECTIONS_PER_FILE = 20


def synthetic_kb(root: Path, chunks: int, seed: int = 7) -> Path:
    """Markdown files of 20 sections, each a ~60-word passage drawn from the starter vocabulary."""
    root.mkdir(parents=True, exist_ok=True)
    words = re.findall(r"[a-z]{3,}", " ".join(p.read_text() for p in (REPO / "knowledge").rglob("*.md")).lower())
    rng = random.Random(seed)
    for f in range((chunks + SECTIONS_PER_FILE - 1) // SECTIONS_PER_FILE):
        sections = [
            f"## Topic {f}-{s}\n\n" + " ".join(rng.choices(words, k=rng.randint(40, 80))) + "."
            for s in range(min(SECTIONS_PER_FILE, chunks - f * SECTIONS_PER_FILE))
        ]
        (root / f"doc{f:05d}.md").write_text(
            f"---\ntitle: Synthetic {f}\nowner: bench\nlast_reviewed: 2026-01-01\n---\n\n" + "\n\n".join(sections)
        )
    return root


def chunk_texts(root: Path, embedder: Embedder) -> list[str]:
    paths, _ = discover(root)
    return [
        c.embed_text
        for p in paths
        for c in chunk_document(parse(p.relative_to(root).as_posix(), p.read_bytes()), embedder.count_tokens, 256)
    ]


def measure(label: str, kb: Path, embedder: Embedder) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp) / "data")
        store = KnowledgeStore(open_client(settings))

        def ingest():
            return run_ingest(kb, data_dir=settings.data_dir, store=store, embedder=embedder, progress=False)

        texts = chunk_texts(kb, embedder)
        started = time.perf_counter()
        embedder.embed(texts)
        raw = time.perf_counter() - started

        cold = ingest()
        again = ingest()
        target = sorted(kb.rglob("*.md"))[len(list(kb.rglob("*.md"))) // 2]
        target.write_text(target.read_text().replace("\n## ", "\n## Revised ", 1) + "\n\nOne more line.\n")
        one = ingest()

    raw_rate = len(texts) / raw
    cold_rate = cold.chunks_total / cold.seconds
    print(f"\n{label}: {cold.documents_total} documents, {cold.chunks_total} chunks")
    print(f"  raw encoding             {raw_rate:8.1f} chunks/s  ({raw:.2f} s)")
    print(
        f"  cold ingest              {cold_rate:8.1f} chunks/s  ({cold.seconds:.2f} s)  "
        f"ratio {cold_rate / raw_rate:.2f}x"
    )
    print(f"  no-change reindex        {again.seconds:8.3f} s      (embedded {again.chunks_embedded})")
    print(
        f"  one-file change          {one.seconds:8.3f} s      (embedded {one.chunks_embedded} of "
        f"{one.chunks_total}; file {target.name})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--synthetic-chunks", type=int, default=10_000)
    parser.add_argument("--skip-synthetic", action="store_true")
    parser.add_argument("--embedder", choices=["sentence-transformers", "onnx"], default="sentence-transformers")
    args = parser.parse_args()

    started = time.perf_counter()
    embedder: Embedder = SentenceTransformerEmbedder()
    if args.embedder == "onnx":
        from kb.onnx_embedder import OnnxEmbedder, find_export

        export = find_export(Settings().onnx_dir, embedder.model_path)
        if export is None:
            sys.exit("No ONNX copy of the embedding model: run `adoptbot export-model` first.")
        embedder = OnnxEmbedder(export)
    print(f"embedder: {embedder.describe()}")
    embedder.embed(["warm up the model"])
    embedder.count_tokens("warm up the tokenizer")
    import llama_index.vector_stores.chroma  # noqa: F401 - a one-time import, like the model's

    print(f"model load, first encode, library imports: {time.perf_counter() - started:.2f} s (excluded below)")

    with tempfile.TemporaryDirectory() as tmp:
        starter = Path(tmp) / "starter"
        shutil.copytree(REPO / "knowledge", starter)
        measure("starter knowledge base", starter, embedder)
        if not args.skip_synthetic:
            synthetic = synthetic_kb(Path(tmp) / "synthetic", args.synthetic_chunks)
            measure(f"synthetic knowledge base ({args.synthetic_chunks} chunks)", synthetic, embedder)


if __name__ == "__main__":
    main()
