"""The Chroma server mode (ADOPTBOT_CHROMA_URL): a real `chroma run` on loopback, port chosen free."""

from __future__ import annotations

import pytest

from adoptbot.runtime import Runtime
from bot.types import Question
from common.settings import Settings
from kb.store import KnowledgeStore, open_client
from tests.conftest import GUIDE, write_kb


@pytest.fixture
def chroma_url(chroma_server):
    """A real `chroma run` on a free loopback port (tests/conftest.py)."""
    return chroma_server.url


def test_ingest_and_answer_through_a_chroma_server(tmp_path, chroma_url, real_embedder):
    settings = Settings(
        data_dir=tmp_path / "data", knowledge_dir=write_kb(tmp_path / "kb"), backend="template", chroma_url=chroma_url
    )
    runtime = Runtime(settings, embedder=real_embedder)
    summary = runtime.ingest(progress=False)
    assert summary.chunks_total == 5 and not (tmp_path / "data" / "chroma").exists()
    answer = runtime.engine.answer(Question("Is it ok to put personal data into prompts?"))
    assert answer.sources[0].source == "guidance/privacy.md"
    # Another machine (a second client) sees the same index.
    other = KnowledgeStore(open_client(settings))
    assert other.info().chunks == 5


def test_a_reindex_on_one_host_is_served_by_another_with_the_records_and_bm25_index_it_saved(
    tmp_path, chroma_url, real_embedder, monkeypatch
):
    import bot.answering.retrieval

    kb = write_kb(tmp_path / "kb")
    hosts = [
        Runtime(
            Settings(data_dir=tmp_path / name, knowledge_dir=kb, backend="template", chroma_url=chroma_url),
            embedder=real_embedder,
        )
        for name in ("host-a", "host-b")
    ]
    hosts[0].ingest(progress=False)

    def refuse(passages):
        raise AssertionError("a replica built the BM25 index instead of loading the saved one")

    def read(collection, at):
        raise AssertionError("a replica read every record from Chroma instead of loading the saved ones")

    monkeypatch.setattr(bot.answering.retrieval, "_build_bm25", refuse)
    replica = hosts[1]
    monkeypatch.setattr(replica.store, "read_records", read)
    assert replica.engine.answer(Question("personal data in prompts?")).sources[0].source == "guidance/privacy.md"
    (kb / "guidance/zebra.md").write_text(
        GUIDE.format(title="Zebra crossings", slug="zebra", body="Pedestrians cross the road at zebra crossings.")
    )
    assert hosts[0].ingest(progress=False).documents_added == ["guidance/zebra.md"]
    answer = replica.engine.answer(Question("Where do pedestrians cross the road?"))
    assert answer.sources[0].source == "guidance/zebra.md"  # no restart: the next question sees generation 2
    assert replica.retriever.snapshot().version[1] == 2 and replica.index_info().chunks == 7
