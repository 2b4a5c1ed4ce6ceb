"""The BM25 index of one generation: built, saved as bytes, loaded, searched."""

from __future__ import annotations

import pytest

from kb.bm25 import BM25Index, UnreadableIndex

TEXTS = {
    "a": "Keep personal data out of prompts unless the data protection officer agrees.",
    "b": "Models can state false things fluently; ground answers in approved sources.",
    "c": "Name an accountable owner before launch.",
}


def test_a_saved_index_ranks_exactly_like_the_one_it_was_saved_from():
    built = BM25Index.build(list(TEXTS), list(TEXTS.values()))
    loaded = BM25Index.from_bytes(built.to_bytes())
    for query in ("personal data in prompts", "who owns the launch?", "hallucinations", ""):
        assert loaded.search(query, 3) == built.search(query, 3)
    assert loaded.search("personal data in prompts", 3)[0][0] == "a"


def test_more_hits_asked_for_than_documents_gives_every_document():
    index = BM25Index.build(list(TEXTS), list(TEXTS.values()))
    assert sorted(i for i, _ in index.search("owner", 50)) == ["a", "b", "c"]


def test_an_empty_generation_has_an_empty_index():
    empty = BM25Index.from_bytes(BM25Index.build([], []).to_bytes())
    assert empty.ids == [] and empty.search("anything", 5) == []


@pytest.mark.parametrize("data", [b"", b"not a zip", BM25Index.build([], []).to_bytes()[:-10]])
def test_bytes_that_are_not_an_index_are_refused(data):
    with pytest.raises(UnreadableIndex):
        BM25Index.from_bytes(data)
