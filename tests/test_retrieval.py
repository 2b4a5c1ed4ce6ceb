from bot.answering.retrieval import Retriever
from ingest.pipeline import run_ingest
from tests.conftest import FakeEmbedder, write_kb

LONG = """---
title: Model cards
owner: AI Centre of Excellence
last_reviewed: 2026-11-01
---

## What a model card records

{body}

## Unrelated

Cafeteria opening hours are posted by the kitchen.
"""


def test_adjacent_chunks_of_one_section_come_back_as_one_passage(tmp_path, settings, store):
    sentences = [f"Model cards record intended use number {i} and known limitation {i}." for i in range(60)]
    root = write_kb(tmp_path / "kb", {"guidance/model-cards.md": LONG.format(body=" ".join(sentences))})
    embedder = FakeEmbedder()
    embedder.max_tokens = 120  # small chunks, so the section spans several
    run_ingest(root, data_dir=settings.data_dir, store=store, embedder=embedder, progress=False)
    retriever = Retriever(store=store, embedder=embedder, top_k=10, candidates=40)
    chunks = [p for p in retriever.snapshot().passages.values() if p.section == "What a model card records"]
    assert len(chunks) >= 3
    passages = retriever.retrieve("model cards record intended use and known limitation").passages
    merged = [p for p in passages if p.section == "What a model card records"]
    assert len(merged) == 1  # neighbours joined, not listed separately
    ordered = sorted(chunks, key=lambda p: p.ordinal)
    assert ordered[0].text in merged[0].text and ordered[1].text in merged[0].text
    assert merged[0].text.index(ordered[0].text) < merged[0].text.index(ordered[1].text)
