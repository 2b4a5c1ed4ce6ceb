"""The saved BM25 indexes: one per generation, kept in a companion collection `<collection>-lexical`.

An index is a zip cut into metadata strings (not documents, which Chroma full-text indexes: ten times
slower to write, docs/benchmarks.md), so every replica of a Chroma server loads it instead of rebuilding
it. Which records make a generation is kb/store.py's business; this module only keeps the bytes.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kb.bm25 import BM25Index

log = logging.getLogger(__name__)

LEXICAL_SUFFIX = "-lexical"
LEXICAL_PART = 4_000_000  # characters of base64 per record of the lexical collection
GENERATION = "adoptbot_generation"  # the generation a part belongs to (the name kb.store gives the serving one)
PARTS_PER_ADD = 4  # a few MB a request


class BM25Store:
    """The saved BM25 index of each generation of a collection, in one Chroma client."""

    def __init__(self, client: Any) -> None:
        self.client = client

    def save(self, collection: Any, at: int, ids: Sequence[str], texts: Sequence[str]) -> None:
        """Build the BM25 index of generation `at` from its records' ids and texts and save it beside collection."""
        from kb.bm25 import BM25Index

        encoded = base64.b64encode(BM25Index.build(ids, texts).to_bytes()).decode("ascii")
        parts = [encoded[i : i + LEXICAL_PART] for i in range(0, len(encoded), LEXICAL_PART)] or [""]
        lexical = self.client.get_or_create_collection(collection.name + LEXICAL_SUFFIX)
        self.drop(collection, at)  # left by a write that was killed
        for start in range(0, len(parts), PARTS_PER_ADD):
            numbers = range(start, min(len(parts), start + PARTS_PER_ADD))
            lexical.add(
                ids=[f"g{at:012d}-{n:05d}" for n in numbers],
                embeddings=[[1.0]] * len(numbers),  # Chroma wants a vector; nothing searches these
                metadatas=[{GENERATION: at, "part": n, "parts": len(parts), "data": parts[n]} for n in numbers],
            )

    def load(self, collection: Any, at: int) -> BM25Index | None:
        """The saved BM25 index of generation `at`, or None when it has none (built before they were saved)."""
        from kb.bm25 import BM25Index, UnreadableIndex

        lexical = self.companion(collection)
        if lexical is None:
            return None
        parts = sorted(lexical.get(where={GENERATION: at}, include=["metadatas"])["metadatas"] or [], key=_part)
        if not parts or [m["part"] for m in parts] != list(range(parts[0]["parts"])):
            return None  # none saved, or a save that never finished
        try:
            return BM25Index.from_bytes(base64.b64decode("".join(m["data"] for m in parts)))
        except (UnreadableIndex, ValueError) as e:
            log.warning("the saved BM25 index of %s at generation %d is unreadable (%s)", collection.name, at, e)
            return None

    def has(self, collection: Any, at: int) -> bool:
        """Whether any part of generation `at`'s index is saved."""
        return bool(self._parts(collection, at))

    def drop(self, collection: Any, at: int) -> None:
        """Delete what is saved of generation `at` (a write that failed or was killed)."""
        lexical = self.companion(collection)
        if lexical is not None:
            _delete(lexical, self._parts(collection, at))

    def retire(self, collection: Any, *, keep_from: int) -> None:
        """Drop the BM25 indexes of generations no reader can still be on."""
        lexical = self.companion(collection)
        if lexical is not None:
            _delete(lexical, lexical.get(where={GENERATION: {"$lt": keep_from}}, include=[])["ids"])

    def companion(self, collection: Any) -> Any | None:
        """The lexical collection beside collection, or None when it has none."""
        from chromadb.errors import NotFoundError

        try:
            return self.client.get_collection(collection.name + LEXICAL_SUFFIX)
        except NotFoundError:
            return None

    def _parts(self, collection: Any, at: int) -> list[str]:
        lexical = self.companion(collection)
        return [] if lexical is None else list(lexical.get(where={GENERATION: at}, include=[])["ids"])


def _part(metadata: dict[str, Any]) -> int:
    return int(metadata["part"])


def _delete(collection: Any, ids: Sequence[str]) -> None:
    if ids:  # a generation's index is a few parts of 4 MB each: one call, well under Chroma's batch limit
        collection.delete(ids=list(ids))
