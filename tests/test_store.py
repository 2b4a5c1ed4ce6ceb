"""The store's own rules: it writes the next generation, saves its BM25 index, switches and retires."""

from __future__ import annotations

import errno
from pathlib import Path

import pytest

import bot.answering.retrieval
from bot.answering.retrieval import Retriever
from ingest.pipeline import run_ingest
from kb.companion import LEXICAL_SUFFIX
from kb.store import GENERATION, RECORDS_GENERATION, KnowledgeStore, Record, generation
from tests.conftest import GUIDE, FakeEmbedder, write_kb

QUERIES = ["personal data in prompts", "who owns the launch checklist?", "hallucinations", "new body"]


def ingest(root: Path, settings, store, embedder=None):
    embedder = embedder or FakeEmbedder()
    return run_ingest(root, data_dir=settings.data_dir, store=store, embedder=embedder, progress=False)


def ranked(retriever: Retriever) -> list[list[tuple[str, float]]]:
    snap = retriever.snapshot()
    return [retriever._bm25(snap, q, None) for q in QUERIES]


def no_building(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(passages):
        raise AssertionError("the BM25 index was built instead of loaded")

    monkeypatch.setattr(bot.answering.retrieval, "_build_bm25", refuse)


def no_reading(monkeypatch: pytest.MonkeyPatch, store: KnowledgeStore) -> None:
    def refuse(collection, at):
        raise AssertionError("the records were read from Chroma instead of loaded")

    monkeypatch.setattr(store, "read_records", refuse)


def saved_generations(store: KnowledgeStore, key: str = GENERATION) -> set[int]:
    """The generations whose BM25 index (or, with key=RECORDS_GENERATION, records) are saved."""
    lexical = store.client.get_collection(store.current().name + LEXICAL_SUFFIX)
    return {m[key] for m in lexical.get(include=["metadatas"])["metadatas"] if key in m}


def test_a_replica_loads_the_bm25_index_the_ingest_saved_and_ranks_as_if_it_had_built_it(
    tmp_path, settings, store, monkeypatch
):
    ingest(write_kb(tmp_path / "kb"), settings, store)
    built = ranked(Retriever(store=KnowledgeStore(store.client), embedder=FakeEmbedder(), mode="bm25"))
    no_building(monkeypatch)
    loaded = ranked(Retriever(store=store, embedder=FakeEmbedder(), mode="bm25"))
    assert loaded == built and loaded[0][0][1] > 0


def test_an_index_saved_before_bm25_indexes_is_built_by_readers_until_the_next_ingest_saves_one(
    tmp_path, settings, store, monkeypatch
):
    root = write_kb(tmp_path / "kb")
    ingest(root, settings, store)
    store.client.delete_collection(store.current().name + LEXICAL_SUFFIX)  # as an older adoptbot left it
    reader = Retriever(store=store, embedder=FakeEmbedder())
    before = reader.retrieve("personal data in prompts").passages
    assert store.lexical(store.current(), generation(store.current())) is None
    summary = ingest(root, settings, store)
    assert not summary.changed and generation(store.current()) == 1  # no new generation, only its index
    no_building(monkeypatch)
    assert Retriever(store=store, embedder=FakeEmbedder()).retrieve("personal data in prompts").passages == before


def test_each_switch_keeps_what_readers_load_of_the_serving_and_the_previous_generation_only(tmp_path, settings, store):
    root = write_kb(tmp_path / "kb")
    for n in range(4):
        (root / f"guidance/extra{n}.md").write_text(GUIDE.format(title=f"Extra {n}", slug=f"x{n}", body="More."))
        ingest(root, settings, store)
    assert generation(store.current()) == 4
    assert saved_generations(store) == {3, 4}
    assert saved_generations(store, RECORDS_GENERATION) == {3, 4}


def test_a_reader_sees_the_new_generation_with_its_own_bm25_index_without_a_restart(tmp_path, settings, store):
    root = write_kb(tmp_path / "kb")
    ingest(root, settings, store)
    reader = Retriever(store=store, embedder=FakeEmbedder(), mode="bm25")
    assert "guidance/zebra.md" not in {p.source for p in reader.retrieve("zebra crossings").passages}
    (root / "guidance/zebra.md").write_text(GUIDE.format(title="Zebra", slug="zebra", body="Zebra crossings."))
    ingest(root, settings, store)
    assert reader.retrieve("zebra crossings").passages[0].source == "guidance/zebra.md"


def test_a_failure_while_saving_what_readers_load_leaves_the_previous_generation_serving(
    tmp_path, settings, store, monkeypatch
):
    root = write_kb(tmp_path / "kb")
    ingest(root, settings, store)
    reader = Retriever(store=store, embedder=FakeEmbedder(), mode="bm25")
    before, stored = ranked(reader), store.current().count()
    (root / "guidance/new.md").write_text(GUIDE.format(title="New", slug="new", body="New body."))

    def full_disk(collection, at, data):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(store.bm25, "save", full_disk)  # the records of generation 2 are saved by then
    with pytest.raises(OSError):
        ingest(root, settings, store)
    monkeypatch.undo()
    assert generation(store.current()) == 1 and store.current().count() == stored
    assert saved_generations(store, RECORDS_GENERATION) == {1}  # rolled back with the records
    assert ranked(Retriever(store=store, embedder=FakeEmbedder(), mode="bm25")) == before
    assert ingest(root, settings, store).documents_added == ["guidance/new.md"]
    assert saved_generations(store) == saved_generations(store, RECORDS_GENERATION) == {1, 2}


def test_what_a_killed_write_saved_for_readers_is_replaced_by_the_next_write(tmp_path, settings, store, monkeypatch):
    root = write_kb(tmp_path / "kb")
    ingest(root, settings, store)
    col = store.current()
    store.save_for_readers(col, 2)  # what a write killed just before its switch leaves: generation 1's records
    (root / "guidance/new.md").write_text(GUIDE.format(title="New", slug="new", body="New body."))
    ingest(root, settings, store)
    no_building(monkeypatch)
    no_reading(monkeypatch, store)
    reader = Retriever(store=store, embedder=FakeEmbedder(), mode="bm25")
    assert reader.retrieve("new body").passages[0].source == "guidance/new.md"


def test_a_saved_index_that_does_not_match_the_passages_is_not_used(tmp_path, settings, store):
    ingest(write_kb(tmp_path / "kb"), settings, store)
    col = store.current()
    col.delete(ids=[col.get(limit=1)["ids"][0]])  # a record gone behind the store's back
    store.saved_records.drop(col, generation(col))  # so the passages are read from Chroma, one fewer than indexed
    reader = Retriever(store=store, embedder=FakeEmbedder(), mode="bm25")
    snap = reader.snapshot()
    assert set(reader.lexical(snap).ids) == set(snap.passages)


def test_the_store_writes_what_it_is_told_and_readers_switch_only_at_the_end(tmp_path, settings, store):
    base = store.serving("fake-embedder")
    assert base.collection is None and base.live == {}
    meta = {"source": "a.md", "title": "A", "url": None}
    record = Record(id="r1", text="Hello world", metadata=meta, vector=[1.0, 0.0])
    version = store.write(base, added=[[record]], retired=[], embed_model="fake-embedder")
    col = store.current()
    assert version == 1 and generation(col) == 1
    stored = col.get(ids=["r1"], include=["metadatas"])["metadatas"][0]
    assert stored["url"] == "" and stored["gen_from"] == 1
    again = store.serving("fake-embedder")
    assert list(again.live) == ["r1"]
    store.write(again, added=[], retired=["r1"], embed_model="fake-embedder")
    assert store.serving("fake-embedder").live == {} and store.info().chunks == 0
