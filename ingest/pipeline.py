"""The ingest job: read the knowledge folder, embed what changed, hand the changes to the store (kb.store)."""

from __future__ import annotations

import hashlib
import json
import logging
import sys
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from common.errors import ConfigError, DataDirUnusable, IngestBusy
from ingest.chunking import Chunk, chunk_document
from kb.embedding import Embedder
from kb.files import BadFile, discover, file_hash, read_bytes
from kb.limits import DEFAULT_LIMITS, Limits
from kb.metadata import MANIFEST, Catalog, takes_metadata
from kb.sources import parse
from kb.store import KnowledgeStore, Record, Serving
from kb.summary import FileWarning, IngestSummary, Skipped

__all__ = ["FileWarning", "IngestSummary", "Skipped", "ingest_lock", "run_ingest"]  # the summary types live in kb


class Database(Protocol):
    """Where hosts sharing an index hold the ingest lock (bot.state.database.Database is one)."""

    name: str

    def lock(self, name: str, *, wait: bool = False) -> AbstractContextManager[bool]: ...


log = logging.getLogger(__name__)
INGEST_LOCK = "ingest"  # the name of the lock in the shared database
WRITE_BATCH = 1000  # records whose vectors are read back at once for reuse
EMBED_BATCH = 256


@contextmanager
def ingest_lock(
    data_dir: Path, *, wait: bool = False, database: Database | None = None, name: str = INGEST_LOCK
) -> Iterator[None]:
    """One ingest at a time, per data directory or (given database) across hosts; refuse at once unless wait."""
    if database is not None:
        with database.lock(name, wait=wait) as held:
            if not held:
                raise IngestBusy(
                    f"Another ingest is already running (it holds the ingest lock in the database {database.name}). "
                    "Wait for it to finish, or run `adoptbot ingest --wait` to start as soon as it does."
                )
            yield
        return
    from filelock import FileLock, Timeout

    lock = FileLock(str(data_dir / "ingest.lock"))
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        lock.acquire(timeout=-1 if wait else 0)
    except Timeout:  # before OSError: filelock's Timeout is a TimeoutError
        raise IngestBusy(
            f"Another ingest is already running on {data_dir}. Wait for it to finish, "
            "or run `adoptbot ingest --wait` to start as soon as it does."
        ) from None
    except OSError as e:
        raise DataDirUnusable(
            data_dir, e, fix="an ingest writes its lock file there, so make it writable by the user running adoptbot"
        ) from e
    try:
        yield
    finally:
        lock.release()


@dataclass
class _Previous:
    """The serving generation as the ingest needs it: per source its file hash and live chunks."""

    base: Serving
    file_hashes: dict[str, str] = field(default_factory=dict)
    chunks: dict[str, dict[str, str]] = field(default_factory=dict)  # source -> chunk id -> record id
    by_embedding: dict[str, str] = field(default_factory=dict)  # embed hash -> a record id whose vector fits

    @classmethod
    def load(cls, base: Serving) -> _Previous:
        prev = cls(base)
        for record_id, meta in base.live.items():
            prev.file_hashes[meta["source"]] = meta["file_hash"]
            prev.chunks.setdefault(meta["source"], {})[meta["chunk_id"]] = record_id
            prev.by_embedding[meta["embed_hash"]] = record_id
        return prev

    def content_of(self, record_id: str) -> str:
        return self.base.live[record_id]["content_hash"]


def run_ingest(
    root: Path,
    *,
    data_dir: Path,
    store: KnowledgeStore,
    embedder: Embedder,
    max_file_bytes: int = 2_000_000,
    limits: Limits = DEFAULT_LIMITS,
    wait: bool = False,
    progress: bool | None = None,
    database: Database | None = None,
) -> IngestSummary:
    """Bring the index in line with the files under root; see the module docstring of kb.store.

    With database (ADOPTBOT_DATABASE_URL), the ingest lock is held there, so hosts sharing a Chroma
    server ingest one at a time; else it is a lock file in data_dir. limits: what one file may unpack to.
    """
    if not root.is_dir():
        raise ConfigError(
            f"Knowledge folder {root} does not exist: pass the folder holding your guidance "
            "(adoptbot ingest PATH) or set ADOPTBOT_KNOWLEDGE_DIR."
        )
    with ingest_lock(data_dir, wait=wait, database=database, name=f"{INGEST_LOCK}:{store.prefix}"):
        return _ingest(root, store, embedder, max_file_bytes, limits, progress)


def _ingest(
    root: Path, store: KnowledgeStore, embedder: Embedder, max_file_bytes: int, limits: Limits, progress: bool | None
) -> IngestSummary:
    started = time.perf_counter()
    summary = IngestSummary()
    prev = _Previous.load(store.serving(embedder.name))
    paths, unsupported = discover(root)
    summary.skipped += [Skipped(s, r) for s, r in unsupported]
    catalog = Catalog.load(root, max_file_bytes)
    if catalog.problem:
        summary.skipped.append(Skipped(MANIFEST, catalog.problem))

    live = 0  # chunks that stay as they are
    fresh: list[tuple[Chunk, str]] = []  # (chunk, file hash) to write
    dead: list[str] = []  # record ids replaced or removed
    seen: set[str] = set()
    for path in paths:
        source = path.relative_to(root).as_posix()
        seen.add(source)
        old = prev.chunks.get(source, {})
        try:
            data = read_bytes(path, max_file_bytes, inside=root)
            external = catalog.external(source) if takes_metadata(source) else None
            # A sidecar or manifest edit changes the document as much as an edit of the file itself.
            digest = file_hash(data + external.fingerprint) if external and external.fingerprint else file_hash(data)
            if prev.file_hashes.get(source) == digest:
                live += len(old)
                summary.documents_unchanged += 1
                continue
            doc = parse(source, data, external.fields if external else None, limits=limits)
            warnings = list(doc.warnings)
            chunks = chunk_document(
                doc, embedder.count_tokens, embedder.max_tokens, warn=warnings.append, max_chunks=limits.file_chunks
            )
        except (BadFile, OSError) as e:
            reason = str(e) if isinstance(e, BadFile) else f"could not be read ({e.strerror or e})"
            live += len(old)  # its last good version keeps serving
            at_fault = getattr(e, "source", "") or source  # a metadata file, when it is the one at fault
            summary.skipped.append(Skipped(at_fault, reason, kept_previous=bool(old)))
            continue
        (summary.documents_updated if old else summary.documents_added).append(source)
        summary.warnings += [FileWarning(source, w) for w in warnings]
        new = {c.id: c for c in chunks}
        for chunk in chunks:
            record = old.get(chunk.id)
            if record is not None and prev.content_of(record) == _content_hash(chunk):
                live += 1
                continue
            fresh.append((chunk, digest))
            if record is None:
                summary.chunks_added += 1
            else:
                summary.chunks_updated += 1
                dead.append(record)
        gone = [record for chunk_id, record in old.items() if chunk_id not in new]
        summary.chunks_removed += len(gone)
        dead += gone
    for source in sorted(set(prev.chunks) - seen):
        summary.documents_removed.append(source)
        summary.chunks_removed += len(prev.chunks[source])
        dead += prev.chunks[source].values()

    summary.documents_total = (
        len({c.source for c, _ in fresh})
        + summary.documents_unchanged
        + sum(1 for s in summary.skipped if s.kept_previous)
    )
    summary.chunks_total = live + len(fresh)
    if fresh or dead or (summary.changed and prev.base.collection is None):
        records = _records(embedder, prev, fresh, summary, progress)
        summary.version = store.write(prev.base, added=records, retired=dead, embed_model=embedder.name)
    else:
        summary.version = store.keep(prev.base)
    summary.seconds = round(time.perf_counter() - started, 3)
    return summary


def _content_hash(chunk: Chunk) -> str:
    """What a record holds: its text and every cited field, so a new owner or review date is written too."""
    return hashlib.sha1(json.dumps([chunk.embed_text, chunk.metadata()], sort_keys=True).encode()).hexdigest()[:24]


def _embed_hash(chunk: Chunk) -> str:
    """What its vector depends on: records with the same embed text share one embedding."""
    return hashlib.sha1(chunk.embed_text.encode()).hexdigest()[:24]


def _record(chunk: Chunk, digest: str, vector: list[float]) -> Record:
    """A record for the store: its id changes with its content, so old and new versions coexist."""
    content = _content_hash(chunk)
    metadata = {
        **chunk.metadata(),
        "chunk_id": chunk.id,
        "file_hash": digest,
        "content_hash": content,
        "embed_hash": _embed_hash(chunk),
    }
    return Record(id=f"{chunk.id}-{content[:12]}", text=chunk.text, metadata=metadata, vector=vector)


def _records(
    embedder: Embedder, prev: _Previous, fresh: list[tuple[Chunk, str]], summary: IngestSummary, progress: bool | None
) -> Iterator[list[Record]]:
    """Batches of records for the store, embedded as the store writes them."""
    for batch, vectors in _embedded(embedder, prev, fresh, summary, progress):
        yield [_record(chunk, digest, vector) for (chunk, digest), vector in zip(batch, vectors, strict=True)]


def _embedded(
    embedder: Embedder,
    prev: _Previous,
    fresh: list[tuple[Chunk, str]],
    summary: IngestSummary,
    progress: bool | None,
) -> Iterator[tuple[list[tuple[Chunk, str]], list[list[float]]]]:
    """Batches of (chunks, vectors): reused where the same text was embedded before, else computed."""
    from tqdm import tqdm

    reused = [(c, d) for c, d in fresh if _embed_hash(c) in prev.by_embedding]
    todo = [(c, d) for c, d in fresh if _embed_hash(c) not in prev.by_embedding]
    for start in range(0, len(reused), WRITE_BATCH):
        batch = reused[start : start + WRITE_BATCH]
        ids = [prev.by_embedding[_embed_hash(c)] for c, _ in batch]
        by_id = prev.base.vectors(ids)
        yield batch, [by_id[i] for i in ids]
    show = sys.stderr.isatty() if progress is None else progress
    with tqdm(total=len(todo), unit="chunk", desc="Embedding", disable=not show or not todo) as bar:
        for start in range(0, len(todo), EMBED_BATCH):
            batch = todo[start : start + EMBED_BATCH]
            yield batch, embedder.embed([c.embed_text for c, _ in batch])
            bar.update(len(batch))
    summary.chunks_embedded = len(todo)
