"""The ONNX copy against sentence-transformers: the same vectors, the same passages for every eval question.

    .venv/bin/python benchmarks/onnx_parity.py [--sets knowledge/eval benchmarks/holdout ...] [--onnx-dir DIR]

Indexes the starter knowledge base once (sentence-transformers) in a temporary data directory, then
for every turn of every item in the sets embeds it with both embedders and retrieves with each (the
hybrid retrieval the engine uses: dense, BM25, fusion, neighbours merged): prints the lowest cosine
between the two vectors of a question, the largest difference in the best dense similarity (what the
relevance gate reads), and how many questions got other passages or another order (they should be 0).
The ONNX copy is the one `adoptbot export-model` made (--onnx-dir, default the environment's); one is
made in the temporary directory when there is none. Prints figures; nothing is asserted.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from adoptbot.runtime import Runtime  # noqa: E402
from bot.answering.evaluation import load_questions  # noqa: E402
from common.settings import Settings  # noqa: E402
from kb.embedding import SentenceTransformerEmbedder  # noqa: E402
from kb.onnx_embedder import OnnxEmbedder, find_export  # noqa: E402
from kb.onnx_export import export_model  # noqa: E402

SETS = ("knowledge/eval", "benchmarks/holdout", "benchmarks/blind/dev", "benchmarks/blind/test")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", nargs="+", default=list(SETS), help="question sets (files or folders)")
    parser.add_argument("--onnx-dir", type=Path, default=Settings().onnx_dir, help="where the ONNX copy is")
    args = parser.parse_args()
    reference = SentenceTransformerEmbedder()
    with tempfile.TemporaryDirectory(prefix="adoptbot-parity-") as tmp:
        exports = args.onnx_dir
        if find_export(exports, reference.model_path) is None:
            exports = Path(tmp) / "onnx"
            export_model(model_path=None, exports=exports)
        found = find_export(exports, reference.model_path)
        assert found is not None, "export_model leaves a copy find_export finds"
        onnx = OnnxEmbedder(found)
        settings = Settings(data_dir=Path(tmp) / "data", knowledge_dir=REPO / "knowledge", backend="template")
        indexed = Runtime(settings, embedder=reference)
        indexed.ingest(progress=False)
        retrievers = {
            "sentence-transformers": indexed.retriever,
            "onnx": Runtime(settings, embedder=onnx, store=indexed.store).retriever,
        }
        onnx.load()
        for path in args.sets:
            compare(REPO / path, reference, onnx, retrievers)


def compare(path: Path, reference, onnx, retrievers) -> None:
    """One set: vectors and retrieval of every turn, with each embedder."""
    texts = sorted({turn for item in load_questions(path) for turn in item.turns})
    timings = {}
    vectors = {}
    for name, embedder in (("sentence-transformers", reference), ("onnx", onnx)):
        started = time.perf_counter()
        vectors[name] = embedder.embed(texts)
        timings[name] = len(texts) / (time.perf_counter() - started)
    lowest = min(sum(a * b for a, b in zip(u, v, strict=True)) for u, v in zip(*vectors.values(), strict=True))
    other_passages = other_dense = 0
    gate = 0.0
    for text in texts:
        got = {name: r.retrieve(text) for name, r in retrievers.items()}
        st, ox = got["sentence-transformers"], got["onnx"]
        other_passages += [p.id for p in st.passages] != [p.id for p in ox.passages]
        other_dense += [p.id for p in st.by_similarity] != [p.id for p in ox.by_similarity]
        gate = max(gate, abs(st.dense_best - ox.dense_best))
    print(
        f"{path.relative_to(REPO)}: {len(texts)} questions; lowest cosine {lowest:.7f}; "
        f"best dense similarity differs by at most {gate:.1e}; other passages or order: {other_passages}; "
        f"other dense ranking: {other_dense}; embedding {timings['sentence-transformers']:.0f} vs "
        f"{timings['onnx']:.0f} questions/s (sentence-transformers vs onnx)"
    )


if __name__ == "__main__":
    main()
