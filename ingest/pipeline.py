"""The ingest job: read the knowledge folder, embed what changed, publish a new index atomically."""

from __future__ import annotations

import hashlib
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from bot.embedding import Embedder
from bot.errors import ConfigError, IngestBusy
from bot.store import EMBED_MODEL, VERSION, KnowledgeStore, read_all
from ingest.chunking import Chunk, chunk_document
from ingest.sources import BadFile, discover, file_hash, parse, read_bytes

WRITE_BATCH = 1000  # well under Chroma's maximum batch size
EMBED_BATCH = 256


@dataclass(frozen=True)
class Skipped:
    source: str
    reason: str
    kept_previous: bool = False  # its last good version is still served


@dataclass
class IngestSummary:
    """What an ingest changed; `render()` for people, `to_dict()` for --json."""

    documents_added: list[str] = field(default_factory=list)
    documents_updated: list[str] = field(default_factory=list)
    documents_removed: list[str] = field(default_factory=list)
    documents_unchanged: int = 0
    skipped: list[Skipped] = field(default_factory=list)
    chunks_added: int = 0
    chunks_updated: int = 0
    chunks_removed: int = 0
    chunks_embedded: int = 0
    documents_total: int = 0
    chunks_total: int = 0
    version: int | None = None
    seconds: float = 0.0

    @property
    def changed(self) -> bool:
        return bool(self.documents_added or self.documents_updated or self.documents_removed)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def render(self) -> str:
        lines = [
            f"Indexed {self.documents_total} documents as {self.chunks_total} chunks "
            f"in {self.seconds:.1f} s" + ("." if self.changed else " (nothing changed, nothing re-embedded)."),
            f"  documents: {len(self.documents_added)} added, {len(self.documents_updated)} "
            f"updated, {len(self.documents_removed)} removed, {self.documents_unchanged} "
            f"unchanged, {len(self.skipped)} skipped",
            f"  chunks:    {self.chunks_added} added, {self.chunks_updated} updated, "
            f"{self.chunks_removed} removed, {self.chunks_embedded} embedded",
        ]
        for name, docs in (
            ("added", self.documents_added),
            ("updated", self.documents_updated),
            ("removed", self.documents_removed),
        ):
            lines += [f"  {name}: {d}" for d in docs]
        for s in self.skipped:
            kept = " (its previous version is still served)" if s.kept_previous else ""
            lines.append(f"  SKIPPED {s.source}: {s.reason}{kept}")
        return "\n".join(lines)


@contextmanager
def ingest_lock(data_dir: Path, *, wait: bool = False) -> Iterator[None]:
    """One ingest at a time per data directory; refuse at once unless wait is set."""
    from filelock import FileLock, Timeout

    data_dir.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(data_dir / "ingest.lock"))
    try:
        lock.acquire(timeout=-1 if wait else 0)
    except Timeout:
        raise IngestBusy(
            f"Another ingest is already running on {data_dir}. Wait for it to finish, "
            "or run `adoptbot ingest --wait` to start as soon as it does."
        ) from None
    try:
        yield
    finally:
        lock.release()


@dataclass
class _Previous:
    """The serving index, as the ingest needs it: hashes and ids per source."""

    collection: Any = None
    file_hashes: dict[str, str] = field(default_factory=dict)
    ids: dict[str, list[str]] = field(default_factory=dict)
    by_content: dict[str, str] = field(default_factory=dict)  # content hash -> chunk id
    content_of: dict[str, str] = field(default_factory=dict)  # chunk id -> content hash

    @classmethod
    def load(cls, collection: Any, embed_model: str) -> _Previous:
        prev = cls(collection=collection)
        if collection is None or (collection.metadata or {}).get(EMBED_MODEL) != embed_model:
            return prev  # nothing reusable: a different model means re-embedding everything
        got = read_all(collection, ["metadatas"])
        for chunk_id, meta in zip(got["ids"], got["metadatas"], strict=True):
            prev.file_hashes[meta["source"]] = meta["file_hash"]
            prev.ids.setdefault(meta["source"], []).append(chunk_id)
            prev.by_content[meta["content_hash"]] = chunk_id
            prev.content_of[chunk_id] = meta["content_hash"]
        return prev


def run_ingest(
    root: Path,
    *,
    data_dir: Path,
    store: KnowledgeStore,
    embedder: Embedder,
    max_file_bytes: int = 2_000_000,
    wait: bool = False,
    progress: bool | None = None,
) -> IngestSummary:
    """Bring the index in line with the files under root; see the module docstring of bot.store."""
    if not root.is_dir():
        raise ConfigError(
            f"Knowledge folder {root} does not exist: pass the folder holding your guidance "
            "(adoptbot ingest PATH) or set ADOPTBOT_KNOWLEDGE_DIR."
        )
    with ingest_lock(data_dir, wait=wait):
        return _ingest(root, store, embedder, max_file_bytes, progress)


def _ingest(
    root: Path, store: KnowledgeStore, embedder: Embedder, max_file_bytes: int, progress: bool | None
) -> IngestSummary:
    started = time.perf_counter()
    summary = IngestSummary()
    prev = _Previous.load(store.current(), embedder.name)
    paths, unsupported = discover(root)
    summary.skipped += [Skipped(s, r) for s, r in unsupported]

    keep: list[str] = []  # chunk ids copied unchanged from the serving index
    fresh: list[tuple[Chunk, str]] = []  # (chunk, file hash) to write
    seen: set[str] = set()
    for path in paths:
        source = path.relative_to(root).as_posix()
        seen.add(source)
        try:
            data = read_bytes(path, max_file_bytes)
            digest = file_hash(data)
            if prev.file_hashes.get(source) == digest:
                keep += prev.ids[source]
                summary.documents_unchanged += 1
                continue
            chunks = chunk_document(parse(source, data), embedder.count_tokens, embedder.max_tokens)
        except (BadFile, OSError) as e:
            reason = str(e) if isinstance(e, BadFile) else f"could not be read ({e.strerror or e})"
            kept = source in prev.ids
            keep += prev.ids.get(source, [])
            summary.skipped.append(Skipped(source, reason, kept_previous=kept))
            continue
        (summary.documents_updated if source in prev.ids else summary.documents_added).append(source)
        fresh += [(c, digest) for c in chunks]
        old_ids = set(prev.ids.get(source, []))
        new_ids = {c.id for c in chunks}
        summary.chunks_added += len(new_ids - old_ids)
        summary.chunks_removed += len(old_ids - new_ids)
        summary.chunks_updated += sum(
            1 for c in chunks if c.id in old_ids and prev.content_of.get(c.id) != _content_hash(c)
        )
    for source in sorted(set(prev.ids) - seen):
        summary.documents_removed.append(source)
        summary.chunks_removed += len(prev.ids[source])

    summary.documents_total = (
        len({c.source for c, _ in fresh})
        + summary.documents_unchanged
        + sum(1 for s in summary.skipped if s.kept_previous)
    )
    summary.chunks_total = len(keep) + len(fresh)
    if summary.changed or (prev.collection is None and fresh):
        summary.version = _publish(store, embedder, prev, keep, fresh, summary, progress)
    elif prev.collection is not None:
        summary.version = (prev.collection.metadata or {}).get(VERSION)
    summary.seconds = round(time.perf_counter() - started, 3)
    return summary


def _content_hash(chunk: Chunk) -> str:
    return hashlib.sha1(chunk.embed_text.encode()).hexdigest()[:24]


def _publish(
    store: KnowledgeStore,
    embedder: Embedder,
    prev: _Previous,
    keep: list[str],
    fresh: list[tuple[Chunk, str]],
    summary: IngestSummary,
    progress: bool | None,
) -> int:
    """Write a complete new version and switch readers to it; on any failure, drop it."""
    from llama_index.vector_stores.chroma import ChromaVectorStore

    collection = store.begin(embed_model=embedder.name)
    try:
        for start in range(0, len(keep), WRITE_BATCH):
            # Unchanged chunks are copied as stored: no re-embedding, no re-serialising.
            got = prev.collection.get(
                ids=keep[start : start + WRITE_BATCH], include=["embeddings", "documents", "metadatas"]
            )
            collection.add(
                ids=got["ids"], embeddings=got["embeddings"], documents=got["documents"], metadatas=got["metadatas"]
            )
        vector_store = ChromaVectorStore(chroma_collection=collection)
        for batch, vectors in _embedded(embedder, prev, fresh, summary, progress):
            vector_store.add([_node(chunk, digest, v) for (chunk, digest), v in zip(batch, vectors, strict=True)])
        store.commit(collection)
    except BaseException:
        store.abort(collection)
        raise
    return (collection.metadata or {})[VERSION]


def _node(chunk: Chunk, digest: str, vector: list[float]) -> Any:
    from llama_index.core.schema import TextNode

    metadata = {**chunk.metadata(), "file_hash": digest, "content_hash": _content_hash(chunk)}
    return TextNode(id_=chunk.id, text=chunk.text, metadata=metadata, embedding=vector)


def _embedded(
    embedder: Embedder,
    prev: _Previous,
    fresh: list[tuple[Chunk, str]],
    summary: IngestSummary,
    progress: bool | None,
) -> Iterator[tuple[list[tuple[Chunk, str]], list[list[float]]]]:
    """Batches of (chunks, vectors): reused where the same text was embedded before, else computed."""
    from tqdm import tqdm

    reused = [(c, d) for c, d in fresh if _content_hash(c) in prev.by_content]
    todo = [(c, d) for c, d in fresh if _content_hash(c) not in prev.by_content]
    for start in range(0, len(reused), WRITE_BATCH):
        batch = reused[start : start + WRITE_BATCH]
        ids = [prev.by_content[_content_hash(c)] for c, _ in batch]
        got = prev.collection.get(ids=sorted(set(ids)), include=["embeddings"])
        by_id = {i: [float(x) for x in v] for i, v in zip(got["ids"], got["embeddings"], strict=True)}
        yield batch, [by_id[i] for i in ids]
    show = sys.stderr.isatty() if progress is None else progress
    with tqdm(total=len(todo), unit="chunk", desc="Embedding", disable=not show or not todo) as bar:
        for start in range(0, len(todo), EMBED_BATCH):
            batch = todo[start : start + EMBED_BATCH]
            yield batch, embedder.embed([c.embed_text for c, _ in batch])
            bar.update(len(batch))
    summary.chunks_embedded = len(todo)
