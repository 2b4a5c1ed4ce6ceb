"""The records each generation saves for readers: loaded instead of read from Chroma, the same passages either way.

A replica serves exactly what it would have read from Chroma; a missing, stale or damaged copy is logged
and read from Chroma instead; every switch (an ingest, a reindex from chat) saves the new generation's.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

import pytest

import kb.companion
from adoptbot.runtime import Runtime
from bot.answering.retrieval import Retriever
from bot.audiences import labels
from bot.types import Passage
from common.settings import Settings
from ingest.pipeline import run_ingest
from kb.records import FORMAT, QUESTION, Records, UnreadableRecords
from kb.store import COUNTED, KnowledgeStore, generation, is_live
from tests.conftest import GUIDE, FakeEmbedder, write_kb
from tests.hr_kb import HR_DOCS

QUERIES = ["personal data in prompts", "who owns the launch checklist?", "salary bands", "who do we call if it breaks?"]
FALLBACK = "reading every record from Chroma"  # what the store logs whenever a reader does
RUNNING = """---
title: Running models
owner: AI CoE
last_reviewed: 2026-11-01
questions:
  Ownership:
    - Who do we call when the AI system breaks?
---

# Running models

## Ownership

Every model in use has a named owner within the team that runs it.
"""


def knowledge(tmp_path: Path) -> Path:
    """Guidance, a checklist, documents marked for audiences, and a section with its questions."""
    return write_kb(tmp_path / "kb", {**HR_DOCS, "guidance/running.md": RUNNING})


def ingest(root: Path, settings, store: KnowledgeStore):
    return run_ingest(root, data_dir=settings.data_dir, store=store, embedder=FakeEmbedder(), progress=False)


def replica(store: KnowledgeStore, monkeypatch: pytest.MonkeyPatch) -> Retriever:
    """A replica's retriever over the same Chroma, which fails if it reads the records from Chroma."""
    own = KnowledgeStore(store.client)

    def refuse(collection, at):
        raise AssertionError("the records were read from Chroma instead of loaded")

    monkeypatch.setattr(own, "read_records", refuse)
    return Retriever(store=own, embedder=FakeEmbedder())


def served(retriever: Retriever) -> tuple:
    """Everything a snapshot holds, and what retrieval returns for QUERIES."""
    snap = retriever.snapshot()
    state = (snap.passages, snap.checklists, snap.topics, snap.audience, snap.questions, snap.sections)
    return state, [retriever.retrieve(q) for q in QUERIES]


def from_chroma(store: KnowledgeStore) -> tuple:
    """What a replica serves when it reads every record from Chroma."""
    reader = KnowledgeStore(store.client)
    reader.saved_records.load = lambda collection, at: None
    return served(Retriever(store=reader, embedder=FakeEmbedder()))


def as_written(store: KnowledgeStore) -> dict[str, Passage]:
    """Every live passage, built straight from Chroma's records as the retriever always built them."""
    col = store.current()
    got = col.get(include=["documents", "metadatas"])
    return {
        i: Passage(
            id=i,
            text=text or "",
            source=m.get("source", ""),
            title=m.get("title", ""),
            section=m.get("section", ""),
            score=0.0,
            url=m.get("url", ""),
            last_reviewed=m.get("last_reviewed", ""),
            owner=m.get("owner", ""),
            kind=m.get("kind", "guidance"),
            checklist_id=m.get("checklist_id", ""),
            ordinal=int(m.get("ordinal", 0)),
            audience=labels(m.get("audience") or ""),
        )
        for i, text, m in zip(got["ids"], got["documents"], got["metadatas"], strict=True)
        if is_live(m, generation(col)) and m.get("kind") != QUESTION
    }


def test_a_replica_serves_from_the_saved_records_exactly_what_chroma_holds(tmp_path, settings, store, monkeypatch):
    ingest(knowledge(tmp_path), settings, store)
    read = from_chroma(store)
    loaded = served(replica(store, monkeypatch))
    assert loaded == read
    assert dict(loaded[0][0]) == as_written(store)
    state, results = loaded
    passages, checklists, _, audience, questions, _ = state
    assert checklists and audience and questions  # the knowledge base has each kind of record
    assert QUESTION not in {p.kind for p in passages.values()}
    assert results[0].passages[0].source == "guidance/privacy.md"


@pytest.mark.parametrize(
    "damage, said",
    [
        ("missing", "has no saved records at generation 1 (indexed by an older adoptbot)"),
        ("stale", "unusable (stale: saved for adoptbot-v000001 at generation 1, not adoptbot-v000001 at generation 2)"),
        ("damaged", "unusable (damaged: not compressed JSON"),
        ("unfinished", "unusable (1 of its 2 parts are saved)"),
        ("format", f"unusable (format 'adoptbot-records/0', not '{FORMAT}')"),
    ],
)
def test_saved_records_that_cannot_be_used_are_logged_and_read_from_chroma(
    tmp_path, settings, store, monkeypatch, caplog, damage, said
):
    root = knowledge(tmp_path)
    ingest(root, settings, store)
    col = store.current()
    if damage == "stale":  # generation 1's records saved as generation 2's
        first = store.saved_records.load(col, 1)
        (root / "guidance/zebra.md").write_text(GUIDE.format(title="Zebra", slug="zebra", body="Zebra crossings."))
        ingest(root, settings, store)
        store.saved_records.save(col, 2, first)
    elif damage == "missing":
        store.saved_records.drop(col, 1)
    elif damage == "damaged":
        store.saved_records.save(col, 1, b"\x00 not what was saved")
    elif damage == "unfinished":  # a save in two parts killed after the first
        data = store.saved_records.load(col, 1)
        monkeypatch.setattr(kb.companion, "PART_CHARS", len(data))
        store.saved_records.save(col, 1, data)
        monkeypatch.undo()
        companion = store.client.get_collection(col.name + kb.companion.LEXICAL_SUFFIX)
        companion.delete(ids=[f"r{1:012d}-{1:05d}"])
    else:
        records = store.read_records(col, 1)
        monkeypatch.setattr("kb.records.FORMAT", "adoptbot-records/0")  # what another version saved
        raw = records.to_bytes(collection=col.name, at=1)
        monkeypatch.undo()
        store.saved_records.save(col, 1, raw)
    expected = from_chroma(store)
    with caplog.at_level(logging.WARNING, logger="kb.store"):
        got = served(Retriever(store=KnowledgeStore(store.client), embedder=FakeEmbedder()))
    assert got == expected
    assert said in caplog.text and FALLBACK in caplog.text
    if damage == "stale":
        assert "guidance/zebra.md" in {p.source for p in got[0][0].values()}  # generation 2, not 1


def test_an_index_from_before_saved_records_gets_them_from_the_next_ingest_even_with_nothing_changed(
    tmp_path, settings, store, monkeypatch
):
    root = knowledge(tmp_path)
    ingest(root, settings, store)
    col = store.current()
    store.saved_records.drop(col, 1)  # as an older adoptbot left it: no records, no counts
    col.modify(metadata={k: v for k, v in col.metadata.items() if k != COUNTED})
    before = from_chroma(store)
    summary = ingest(root, settings, store)
    assert not summary.changed and generation(store.current()) == 1
    assert store.current().metadata[COUNTED] == 1
    assert served(replica(store, monkeypatch)) == before


def test_a_running_replica_loads_the_records_each_new_generation_saved(tmp_path, settings, store, monkeypatch):
    root = knowledge(tmp_path)
    ingest(root, settings, store)
    running = replica(store, monkeypatch)
    assert "guidance/zebra.md" not in {p.source for p in running.snapshot().passages.values()}
    (root / "guidance/zebra.md").write_text(GUIDE.format(title="Zebra", slug="zebra", body="Zebra crossings."))
    (root / "guidance/privacy.md").unlink()
    ingest(root, settings, store)
    sources = {p.source for p in running.snapshot().passages.values()}
    assert "guidance/zebra.md" in sources and "guidance/privacy.md" not in sources
    assert running.retrieve("zebra crossings").passages[0].source == "guidance/zebra.md"
    assert served(running) == from_chroma(store)


def test_a_reindex_from_chat_switches_the_replica_to_the_new_generations_records(tmp_path, caplog):
    root = knowledge(tmp_path)
    runtime = Runtime(Settings(data_dir=tmp_path / "data", knowledge_dir=root), embedder=FakeEmbedder())
    runtime.ingest(progress=False)
    runtime.warm_up()
    (root / "guidance/zebra.md").write_text(GUIDE.format(title="Zebra", slug="zebra", body="Zebra crossings."))
    done = threading.Event()
    with caplog.at_level(logging.WARNING, logger="kb.store"):
        assert runtime.reindexer.start(lambda summary, error: done.set(), requested_by="U1")
        assert done.wait(60)
        snap = runtime.retriever.snapshot()  # loaded again by the reindex's warm-up
    assert FALLBACK not in caplog.text
    sources = {p.source for p in snap.passages.values()}
    assert snap.version[1] == 2 and "guidance/zebra.md" in sources
    assert served(runtime.retriever) == from_chroma(runtime.store)
    assert (runtime.index_info().documents, runtime.index_info().chunks) == (len(sources), len(snap.passages))


def test_the_counts_the_switch_wrote_are_what_counting_the_records_gives(tmp_path, settings, store):
    root = knowledge(tmp_path)
    ingest(root, settings, store)
    (root / "guidance/zebra.md").write_text(GUIDE.format(title="Zebra", slug="zebra", body="Zebra crossings."))
    ingest(root, settings, store)
    written = store.info()
    col = store.current()
    col.modify(metadata={**col.metadata, COUNTED: 1})  # counts of another generation (an older adoptbot switched)
    counted = store.info()  # from every record's metadata
    assert counted == written and written.generation == 2 and written.documents == 7


def test_records_come_back_as_they_were_saved_and_only_for_their_generation():
    records = Records(
        ids=["a", "b", "c"],
        texts=["one", "", "three"],
        fields={
            "source": ["x.md", "x.md", "y.md"],
            "title": ["X", "X", "Y"],
            "section": ["S", "T", "S"],
            "url": ["", "", "https://y"],
            "last_reviewed": ["2026-01-01"] * 3,
            "owner": ["o", "o", "p"],
            "kind": ["guidance", QUESTION, "checklist"],
            "checklist_id": ["", "", "launch"],
            "ordinal": [0, 1, True],  # 1 and True stay apart
            "audience": ["", "", "hr,managers"],
        },
    )
    data = records.to_bytes(collection="adoptbot-v000003", at=7)
    back = Records.from_bytes(data, collection="adoptbot-v000003", at=7)
    assert back == records and [type(v) for v in back.fields["ordinal"]] == [int, int, bool]
    assert back.counts() == (2, 2)
    for collection, at in (("adoptbot-v000003", 6), ("adoptbot-v000004", 7)):
        with pytest.raises(UnreadableRecords, match="stale: saved for adoptbot-v000003 at generation 7"):
            Records.from_bytes(data, collection=collection, at=at)
