import errno
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from common.errors import IngestBusy
from ingest.pipeline import ingest_lock, run_ingest
from kb.store import KnowledgeStore, generation, is_live
from tests.conftest import GUIDE, REPO, FakeEmbedder, write_kb


def ingest(root: Path, settings, store, embedder, **kw):
    return run_ingest(root, data_dir=settings.data_dir, store=store, embedder=embedder, progress=False, **kw)


def snapshot(store: KnowledgeStore) -> dict[str, str]:
    """What a reader sees: chunk id -> text of the records live in the serving generation."""
    col = store.current()
    got = col.get(include=["documents", "metadatas"])
    at = generation(col)
    return {m["chunk_id"]: d for d, m in zip(got["documents"], got["metadatas"], strict=True) if is_live(m, at)}


def test_real_model_cold_ingest_then_nothing_to_redo(tmp_path, settings, store, real_embedder):
    root = write_kb(tmp_path / "kb")
    first = ingest(root, settings, store, real_embedder)
    assert first.documents_added == ["checklists/launch.yaml", "guidance/hallucination.md", "guidance/privacy.md"]
    assert first.chunks_embedded == first.chunks_total == 5
    col = store.current()
    hit = col.query(
        query_embeddings=[real_embedder.embed_query("is it ok to put personal data in a prompt?")],
        n_results=1,
        include=["metadatas"],
    )
    meta = hit["metadatas"][0][0]
    assert (meta["source"], meta["section"]) == ("guidance/privacy.md", "Background")
    assert meta["url"] == "https://intranet.example.com/privacy" and meta["last_reviewed"] == "2026-11-01"
    assert meta["owner"] == "AI Centre of Excellence" and meta["title"] == "Privacy"

    second = ingest(root, settings, store, real_embedder)
    assert not second.changed and second.chunks_embedded == 0
    assert second.documents_unchanged == 3 and second.version == first.version


def test_changed_file_reembeds_only_its_changed_chunks(tmp_path, settings, store):
    root = write_kb(tmp_path / "kb")
    ingest(root, settings, store, FakeEmbedder())
    before = snapshot(store)
    path = root / "guidance/privacy.md"
    path.write_text(path.read_text().replace("data protection officer", "privacy team"))
    embedder = FakeEmbedder()
    summary = ingest(root, settings, store, embedder)
    assert summary.documents_updated == ["guidance/privacy.md"]
    assert (summary.chunks_updated, summary.chunks_added, summary.chunks_removed) == (1, 0, 0)
    assert summary.chunks_embedded == 1 and len(embedder.calls[0]) == 1
    assert "privacy team" in embedder.calls[0][0]
    after = snapshot(store)
    assert set(after) == set(before)  # chunk ids are stable
    assert [i for i in after if after[i] != before[i]] == [i for i in before if "protection officer" in before[i]]


def test_deleted_file_disappears_and_new_file_appears(tmp_path, settings, store):
    root = write_kb(tmp_path / "kb")
    ingest(root, settings, store, FakeEmbedder())
    (root / "guidance/privacy.md").unlink()
    (root / "guidance/bias.md").write_text(GUIDE.format(title="Bias", slug="bias", body="Audit it."))
    summary = ingest(root, settings, store, FakeEmbedder())
    assert summary.documents_removed == ["guidance/privacy.md"]
    assert summary.documents_added == ["guidance/bias.md"]
    col = store.current()
    live = [m for m in col.get(include=["metadatas"])["metadatas"] if is_live(m, generation(col))]
    assert {m["source"] for m in live} == {"checklists/launch.yaml", "guidance/hallucination.md", "guidance/bias.md"}
    # Kept one generation for readers that have not switched yet, then deleted for good.
    (root / "guidance/bias.md").write_text(GUIDE.format(title="Bias", slug="bias", body="Audit it often."))
    ingest(root, settings, store, FakeEmbedder())
    stored = store.current().get(include=["metadatas"])["metadatas"]
    assert "guidance/privacy.md" not in {m["source"] for m in stored}


BAD_FILES = {
    "guidance/broken-front-matter.md": "---\ntitle: [oops\n---\nBody",
    "checklists/invalid.yaml": "id: x\nitems: [unclosed",
    "guidance/empty.md": "",
    "guidance/junk.md": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" * 20,
    "guidance/latin1.md": (
        "---\ntitle: Caf\u00e9\nowner: o\nlast_reviewed: 2026-01-01\n---\nCaf\u00e9".encode("latin-1")
    ),
    "guidance/huge.md": "---\ntitle: Huge\nowner: o\nlast_reviewed: 2026-01-01\n---\n" + "word " * 50_000,
}


def test_bad_files_are_reported_and_skipped_and_the_rest_is_indexed(tmp_path, settings, store):
    root = write_kb(tmp_path / "kb", BAD_FILES)
    summary = ingest(root, settings, store, FakeEmbedder(), max_file_bytes=100_000)
    reasons = {s.source: s.reason for s in summary.skipped}
    assert set(reasons) == set(BAD_FILES)
    assert "not valid YAML" in reasons["guidance/broken-front-matter.md"]
    assert "not valid YAML" in reasons["checklists/invalid.yaml"]
    assert "empty" in reasons["guidance/empty.md"]
    assert "binary" in reasons["guidance/junk.md"]
    assert "UTF-8" in reasons["guidance/latin1.md"]
    assert "too large" in reasons["guidance/huge.md"]
    assert summary.documents_added == ["checklists/launch.yaml", "guidance/hallucination.md", "guidance/privacy.md"]
    assert summary.chunks_total == 5 == store.current().count()


def test_a_file_that_breaks_keeps_its_last_good_version(tmp_path, settings, store):
    root = write_kb(tmp_path / "kb")
    ingest(root, settings, store, FakeEmbedder())
    before = snapshot(store)
    (root / "guidance/privacy.md").write_text("---\ntitle: [broken\n---\n")
    summary = ingest(root, settings, store, FakeEmbedder())
    [skipped] = summary.skipped
    assert skipped.source == "guidance/privacy.md" and skipped.kept_previous
    assert not summary.changed and snapshot(store) == before
    # Another file changes in the same run: the broken file's old chunks are carried over.
    (root / "guidance/hallucination.md").write_text(GUIDE.format(title="Hallucinations", slug="h", body="New."))
    summary = ingest(root, settings, store, FakeEmbedder())
    assert summary.documents_updated == ["guidance/hallucination.md"]
    privacy = {i: d for i, d in before.items() if "personal data" in d or "More about privacy" in d}
    assert privacy and all(snapshot(store)[i] == d for i, d in privacy.items())


class ExplodingEmbedder(FakeEmbedder):
    def __init__(self, error: BaseException) -> None:
        super().__init__()
        self.error = error

    def embed(self, texts):
        raise self.error


@pytest.mark.parametrize(
    "error",
    [RuntimeError("crash"), KeyboardInterrupt(), OSError(errno.ENOSPC, "No space left on device")],
    ids=["crash", "ctrl-c", "disk-full"],
)
def test_a_failed_reindex_leaves_the_previous_index_serving(tmp_path, settings, store, error):
    root = write_kb(tmp_path / "kb")
    first = ingest(root, settings, store, FakeEmbedder())
    before = snapshot(store)
    (root / "guidance/new.md").write_text(GUIDE.format(title="New", slug="new", body="New body."))
    stored = store.current().count()
    with pytest.raises(type(error)):
        ingest(root, settings, store, ExplodingEmbedder(error))
    assert snapshot(store) == before
    assert store.current().count() == stored  # nothing half-written left behind
    assert (store.current().metadata or {})["adoptbot_version"] == first.version
    current = store.current().name  # and its BM25 index beside it: no half-built version left
    assert sorted(c.name for c in store.client.list_collections()) == [current, f"{current}-lexical"]
    assert ingest(root, settings, store, FakeEmbedder()).documents_added == ["guidance/new.md"]


class BlockingEmbedder(FakeEmbedder):
    def __init__(self) -> None:
        super().__init__()
        self.entered = threading.Event()
        self.release = threading.Event()

    def embed(self, texts):
        self.entered.set()
        assert self.release.wait(30)
        return super().embed(texts)


def test_readers_see_the_old_index_until_the_new_one_is_complete(tmp_path, settings, store):
    root = write_kb(tmp_path / "kb")
    ingest(root, settings, store, FakeEmbedder())
    before = snapshot(store)
    (root / "guidance/new.md").write_text(GUIDE.format(title="New", slug="new", body="New body."))
    embedder = BlockingEmbedder()
    worker = threading.Thread(target=ingest, args=(root, settings, store, embedder))
    worker.start()
    try:
        assert embedder.entered.wait(30)
        assert snapshot(store) == before  # mid-build: still the complete old version
        with pytest.raises(IngestBusy, match="already running"):
            ingest(root, settings, store, FakeEmbedder())
    finally:
        embedder.release.set()
        worker.join(30)
    assert len(snapshot(store)) == len(before) + 2


def test_a_second_ingest_process_is_refused_or_waits(tmp_path, settings, store):
    root = write_kb(tmp_path / "kb")
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from pathlib import Path; from ingest.pipeline import ingest_lock\n"
            "with ingest_lock(Path(sys.argv[1])):\n print('locked', flush=True); time.sleep(float(sys.argv[2]))",
            str(settings.data_dir),
            "1.5",
        ],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(IngestBusy, match="--wait"):
            ingest(root, settings, store, FakeEmbedder())
        summary = ingest(root, settings, store, FakeEmbedder(), wait=True)
        assert holder.poll() is not None  # it only ran once the holder had finished
        assert summary.chunks_total == 5
    finally:
        holder.kill()
        holder.wait()


def test_lock_is_released_after_an_ingest(tmp_path):
    with ingest_lock(tmp_path):
        pass
    with ingest_lock(tmp_path):  # would raise IngestBusy if the first had not released it
        pass


def test_a_knowledge_base_larger_than_one_chroma_batch(tmp_path, settings, store):
    root = tmp_path / "kb"
    (root / "guidance").mkdir(parents=True)
    for f in range(300):
        sections = "\n\n".join(f"## Topic {f} {s}\n\nSentence number {s} of file {f}." for s in range(20))
        (root / f"guidance/doc{f:03d}.md").write_text(
            f"---\ntitle: Doc {f}\nowner: o\nlast_reviewed: 2026-01-01\n---\n\n{sections}"
        )
    assert store.client.get_max_batch_size() < 6000
    summary = ingest(root, settings, store, FakeEmbedder())
    assert summary.chunks_total == 6000 == store.current().count()
    (root / "guidance/doc000.md").unlink()
    assert ingest(root, settings, store, FakeEmbedder()).chunks_total == 5980 == len(snapshot(store))


def test_read_all_pages_through_a_collection(tmp_path, settings, store, monkeypatch):
    import kb.store

    ingest(write_kb(tmp_path / "kb"), settings, store, FakeEmbedder())
    monkeypatch.setattr(kb.store, "READ_BATCH", 2)
    got = kb.store.read_all(store.current(), ["metadatas"])
    assert len(got["ids"]) == len(set(got["ids"])) == 5 == len(got["metadatas"])


def test_a_failure_at_the_switch_is_rolled_back(tmp_path, settings, store, monkeypatch):
    root = write_kb(tmp_path / "kb")
    ingest(root, settings, store, FakeEmbedder())
    before, stored = snapshot(store), store.current().count()
    path = root / "guidance/privacy.md"
    path.write_text(path.read_text().replace("data protection officer", "privacy team"))

    def full_disk(collection, at, **_):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(store, "publish", full_disk)
    with pytest.raises(OSError):
        ingest(root, settings, store, FakeEmbedder())
    monkeypatch.undo()
    assert snapshot(store) == before and store.current().count() == stored
    col = store.current()
    assert all(m["gen_to"] > generation(col) for m in col.get(include=["metadatas"])["metadatas"])
    assert ingest(root, settings, store, FakeEmbedder()).documents_updated == ["guidance/privacy.md"]


def test_leftovers_of_a_killed_reindex_are_cleaned_up(tmp_path, settings, store):
    root = write_kb(tmp_path / "kb")
    ingest(root, settings, store, FakeEmbedder())
    before = snapshot(store)
    col = store.current()
    at = generation(col)
    got = col.get(include=["metadatas", "embeddings", "documents"], limit=1)
    victim, meta = got["ids"][0], got["metadatas"][0]
    # What a reindex killed between writing and switching leaves: a record of the next generation,
    # and a live record already marked dead from it.
    col.add(
        ids=["stray"],
        embeddings=[got["embeddings"][0]],
        documents=["half-built"],
        metadatas=[{**meta, "gen_from": at + 1, "chunk_id": "stray"}],
    )
    col.update(ids=[victim], metadatas=[{**meta, "gen_to": at + 1}])
    assert snapshot(store) == before  # readers are not affected
    summary = ingest(root, settings, store, FakeEmbedder())
    assert not summary.changed and snapshot(store) == before
    stored = col.get(include=["metadatas"])
    assert "stray" not in stored["ids"]
    assert dict(zip(stored["ids"], stored["metadatas"], strict=True))[victim]["gen_to"] > at + 1


def test_an_index_from_another_model_or_format_is_rebuilt_then_replaced(tmp_path, settings, store):
    root = write_kb(tmp_path / "kb")
    ingest(root, settings, store, FakeEmbedder())
    old = store.current()
    old.modify(metadata={**(old.metadata or {}), "adoptbot_format": 1})
    summary = ingest(root, settings, store, FakeEmbedder())
    assert summary.chunks_embedded == summary.chunks_total == 5
    assert store.current().name != old.name and len(snapshot(store)) == 5


def test_the_lock_in_an_unwritable_data_dir_is_a_config_error_naming_it(tmp_path):
    from common.errors import ConfigError

    blocker = tmp_path / "data"
    blocker.write_text("a file where the data directory should be")
    for data_dir in (Path("/proc/nope"), blocker):  # not writable by anyone, root included
        with (
            pytest.raises(
                ConfigError, match=f"Cannot use the data directory {data_dir} .*lock file.*ADOPTBOT_DATA_DIR"
            ),
            ingest_lock(data_dir),
        ):
            pass


def test_a_new_review_date_alone_is_written_without_re_embedding(tmp_path, settings, store):
    root = write_kb(tmp_path / "kb")
    ingest(root, settings, store, FakeEmbedder())
    path = root / "guidance/privacy.md"
    path.write_text(path.read_text().replace("last_reviewed: 2026-11-01", "last_reviewed: 2026-11-28"))
    embedder = FakeEmbedder()
    summary = ingest(root, settings, store, embedder)
    assert summary.documents_updated == ["guidance/privacy.md"] and embedder.embedded == 0
    col = store.current()
    got = col.get(include=["metadatas"])
    dates = {
        m["last_reviewed"]
        for m in got["metadatas"]
        if m["source"] == "guidance/privacy.md" and is_live(m, generation(col))
    }
    assert dates == {"2026-11-28"}
