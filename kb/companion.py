"""Bytes saved per generation beside a collection, in its companion collection `<collection>-lexical`.

What readers would otherwise rebuild from every record of a generation (its BM25 index, its passages) is
saved once, by the ingest that writes the generation, before the switch, so every replica of a Chroma
server, as of an embedded store, loads it in one request. The bytes are base64 cut into metadata strings
(not documents, which Chroma full-text indexes: ten times slower to write, docs/benchmarks.md). The
companion is named for its first use, the BM25 index; each kind of bytes names the generation it belongs
to under a metadata key of its own, so kinds never mix and a reader of one never reads the other's parts.
Which records make a generation is kb/store.py's business; this module only keeps the bytes.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from typing import Any

LEXICAL_SUFFIX = "-lexical"
PART_CHARS = 4_000_000  # characters of base64 per record of the companion collection
PARTS_PER_ADD = 4  # a few MB a request
# Embedded Chroma saves a collection's vector index, and drops the log of writes behind it, only every
# sync_threshold writes (1000 by default): a companion written a few parts at a time never reached it, so
# every process that opened it replayed every part ever written (0.3 s of CPU at 100,000 chunks).
SYNC_EVERY = 2


def _synced() -> dict[str, Any]:
    """The configuration of a companion (a new dict each time: Chroma fills in the one it is given)."""
    return {"hnsw": {"batch_size": SYNC_EVERY, "sync_threshold": SYNC_EVERY}}


class Unfinished(ValueError):
    """Saved parts that do not make whole bytes: a save that never finished, or parts that are not base64."""


def companion(client: Any, collection: Any) -> Any | None:
    """The companion collection beside collection, or None when it has none."""
    from chromadb.errors import NotFoundError

    try:
        return client.get_collection(collection.name + LEXICAL_SUFFIX)
    except NotFoundError:
        return None


class SavedBytes:
    """One kind of bytes per generation of a collection: parts whose metadata `key` names their generation."""

    def __init__(self, client: Any, *, key: str, tag: str) -> None:
        """tag starts the ids of this kind's parts (ids are unique across kinds)."""
        self.client = client
        self.key = key
        self.tag = tag

    def save(self, collection: Any, at: int, data: bytes) -> None:
        """Save data as generation `at`'s, replacing what a killed save left."""
        encoded = base64.b64encode(data).decode("ascii")
        parts = [encoded[i : i + PART_CHARS] for i in range(0, len(encoded), PART_CHARS)] or [""]
        saved = self.client.get_or_create_collection(collection.name + LEXICAL_SUFFIX, configuration=_synced())
        if ((saved.configuration or {}).get("hnsw") or {}).get("sync_threshold") != SYNC_EVERY:
            saved.modify(configuration=_synced())  # made by an older adoptbot
        self.drop(collection, at)
        for start in range(0, len(parts), PARTS_PER_ADD):
            numbers = range(start, min(len(parts), start + PARTS_PER_ADD))
            saved.add(
                ids=[f"{self.tag}{at:012d}-{n:05d}" for n in numbers],
                embeddings=[[1.0]] * len(numbers),  # Chroma wants a vector; nothing searches these
                metadatas=[{self.key: at, "part": n, "parts": len(parts), "data": parts[n]} for n in numbers],
            )

    def load(self, collection: Any, at: int) -> bytes | None:
        """Generation `at`'s bytes; None when none are saved; Unfinished when its parts do not make them whole."""
        saved = companion(self.client, collection)
        if saved is None:
            return None
        parts = sorted(saved.get(where={self.key: at}, include=["metadatas"])["metadatas"] or [], key=_part)
        if not parts:
            return None
        if [m["part"] for m in parts] != list(range(parts[0]["parts"])):
            raise Unfinished(f"{len(parts)} of its {parts[0]['parts']} parts are saved")
        try:
            return base64.b64decode("".join(m["data"] for m in parts), validate=True)
        except (binascii.Error, ValueError) as e:
            raise Unfinished(f"its parts are not base64 ({e})") from e

    def has(self, collection: Any, at: int) -> bool:
        """Whether any part of generation `at`'s bytes is saved."""
        return bool(self._parts(collection, at))

    def drop(self, collection: Any, at: int) -> None:
        """Delete what is saved of generation `at` (a write that failed or was killed)."""
        saved = companion(self.client, collection)
        if saved is not None:
            _delete(saved, self._parts(collection, at))

    def retire(self, collection: Any, *, keep_from: int) -> None:
        """Drop the bytes of generations no reader can still be on."""
        saved = companion(self.client, collection)
        if saved is not None:
            _delete(saved, saved.get(where={self.key: {"$lt": keep_from}}, include=[])["ids"])

    def _parts(self, collection: Any, at: int) -> list[str]:
        saved = companion(self.client, collection)
        return [] if saved is None else list(saved.get(where={self.key: at}, include=[])["ids"])


def _part(metadata: dict[str, Any]) -> int:
    return int(metadata["part"])


def _delete(collection: Any, ids: Sequence[str]) -> None:
    if ids:  # a generation's bytes are a few parts of 4 MB each: one call, well under Chroma's batch limit
        collection.delete(ids=list(ids))
