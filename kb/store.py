"""The vector store: Chroma collections whose records carry generations, so a reindex is all-or-nothing.

This module owns the generation scheme; an ingest only says what changed (`KnowledgeStore.write`).
Every record is live from generation `gen_from` up to (not including) `gen_to`; the collection's
metadata names the serving generation G. A reindex adds its new records at G+1 (invisible at G),
marks replaced records dead from G+1 (still visible at G), saves the BM25 index of G+1, then flips G
to G+1 in one metadata write. Readers filter by G, so they never see a half-built index, and a
reindex costs only the records that changed. A failed reindex is rolled back; leftovers of a killed
one are cleaned up by the next. Records dead at G are deleted at the next reindex, so readers still
on G-1 finish safely.

The BM25 index of each generation and its live records (kb/records.py) are saved beside the
collection (kb/companion.py) before the switch, so every replica, embedded or of a Chroma server,
loads them instead of reading every record and rebuilding the index; the switch also writes the
generation's counts into the collection's metadata, so `info()` reads no record. A generation without
them (written by an older adoptbot), or whose saved records are stale or damaged, is read from Chroma.

Beside an embedded store, the serving generation's IndexInfo is also kept in a small JSON file
(`<prefix>-info.json`), so `adoptbot status` reads it without importing Chroma: it is removed before a
switch and written after it, so a switch that dies half way leaves no file, and readers ask the store.

A new collection `<prefix>-v<N>` is built only for the first ingest or a change of embedding
model; it becomes visible when marked complete.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import os
import re
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from common.errors import ConfigError, DataDirUnusable
from common.settings import Settings
from kb.companion import LEXICAL_SUFFIX, SavedBytes, Unfinished, companion
from kb.records import QUESTION, Records, UnreadableRecords

if TYPE_CHECKING:
    from kb.bm25 import BM25Index

log = logging.getLogger(__name__)

COMPLETE = "adoptbot_complete"
VERSION = "adoptbot_version"
EMBED_MODEL = "adoptbot_embed_model"
INDEXED_AT = "adoptbot_indexed_at"
GENERATION = "adoptbot_generation"  # also names the generation of a saved BM25 index's parts
RECORDS_GENERATION = "adoptbot_records_generation"  # names the generation of saved records' parts
# The generation's counts, written with the switch; COUNTED says which generation they are of (an older
# adoptbot switching would carry them over unchanged).
CHUNKS, DOCUMENTS, COUNTED = "adoptbot_chunks", "adoptbot_documents", "adoptbot_counted_generation"
# Bump when record metadata changes: forces a rebuild. 3: cited fields are capped and cleaned at ingest, which
# files whose bytes did not change would otherwise never get. 4: records carry `pages`,
# `audience` and `embed_hash`, and `content_hash` covers the cited fields (a new review date is written).
# 5: the questions a section answers are records of their own (kind QUESTION), outside the BM25 index.
FORMAT, FORMAT_VERSION = "adoptbot_format", 5
LIVE_FROM, LIVE_TO = "gen_from", "gen_to"
FOREVER = 2**62
KEEP_PREVIOUS = 1
READ_BATCH = 5000  # Chroma refuses a single get() of ~30,000+ records (SQL variable limit)
WRITE_BATCH = 1000  # well under Chroma's maximum batch size
INFO_SUFFIX = "-info.json"


def open_client(settings: Settings) -> Any:
    """A Chroma client: a server when ADOPTBOT_CHROMA_URL is set, else the embedded store."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings
    from chromadb.errors import ChromaError

    chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
    if settings.chroma_url:
        match = re.match(r"^(https?)://([^/:]+)(?::(\d+))?/?$", settings.chroma_url)
        if not match:
            raise ConfigError(f"ADOPTBOT_CHROMA_URL={settings.chroma_url!r} is not a URL like http://host:8000")
        scheme, host, port = match.groups()
        return chromadb.HttpClient(
            host=host,
            port=int(port or (443 if scheme == "https" else 8000)),
            ssl=scheme == "https",
            settings=chroma_settings,
        )
    try:
        settings.store_dir.mkdir(parents=True, exist_ok=True)
        return chromadb.PersistentClient(path=str(settings.store_dir), settings=chroma_settings)
    except OSError as e:
        raise DataDirUnusable(settings.data_dir, e) from e
    except ChromaError as e:
        # Chroma's embedded store writes to its SQLite file when it opens, so it cannot serve a read-only copy.
        raise DataDirUnusable(
            settings.data_dir,
            e,
            fix=f"the embedded Chroma store needs write access to {settings.store_dir} even to answer, so make it "
            "writable by the user running adoptbot, or serve the index from a Chroma server (ADOPTBOT_CHROMA_URL)",
        ) from e


def reusable(collection: Any, embed_model: str) -> bool:
    """Whether an ingest can update collection in place: same embedding model, same record format."""
    metadata = collection.metadata or {}
    return metadata.get(EMBED_MODEL) == embed_model and metadata.get(FORMAT) == FORMAT_VERSION


def generation(collection: Any) -> int:
    """The serving generation of a collection."""
    return int((collection.metadata or {}).get(GENERATION, 0))


def is_live(metadata: dict[str, Any], at: int) -> bool:
    """Whether a record belongs to generation `at` (records without generations always do)."""
    return int(metadata.get(LIVE_FROM, 0)) <= at < int(metadata.get(LIVE_TO, FOREVER))


def read_all(collection: Any, include: list[str]) -> dict[str, list]:
    """Every record of collection, read page by page; the same shape as collection.get()."""
    out: dict[str, list] = {"ids": [], **{key: [] for key in include}}
    offset = 0
    while True:
        page = collection.get(include=include, limit=READ_BATCH, offset=offset)
        for key in out:
            out[key].extend(page[key])
        if len(page["ids"]) < READ_BATCH:
            return out
        offset += READ_BATCH


@dataclass(frozen=True)
class IndexInfo:
    """What the serving index holds."""

    version: int
    generation: int
    documents: int
    chunks: int
    indexed_at: str
    embed_model: str


def info_file(store_dir: Path, prefix: str) -> Path:
    """Where the serving index's IndexInfo is kept beside an embedded store in store_dir."""
    return store_dir / f"{prefix}{INFO_SUFFIX}"


def saved_info(path: Path) -> IndexInfo | None:
    """The IndexInfo the last switch saved at path; None when there is none to trust (then ask the store).

    Opened for writing too, never written: embedded Chroma cannot open a read-only copy even to answer, and
    asking the store then says so.
    """
    try:
        with path.open("r+", encoding="utf-8") as f:
            raw = json.loads(f.read())
        info = IndexInfo(**raw)
    except (OSError, ValueError, TypeError):
        return None
    ints = (info.version, info.generation, info.documents, info.chunks)
    texts = (info.indexed_at, info.embed_model)
    if not all(type(n) is int for n in ints) or not all(isinstance(t, str) for t in texts):
        return None
    return info


def _info_path(client: Any, prefix: str) -> Path | None:
    """The info file of an embedded (persistent) Chroma client; None for a server's client or a stand-in."""
    get_settings = getattr(client, "get_settings", None)  # a stand-in client has none: no file, readers ask it
    chroma = get_settings() if callable(get_settings) else None
    directory = getattr(chroma, "persist_directory", "") if getattr(chroma, "is_persistent", False) else ""
    return info_file(Path(directory), prefix) if isinstance(directory, str) and directory else None


@dataclass(frozen=True)
class Record:
    """One chunk as the store keeps it; the store adds the generation fields."""

    id: str
    text: str
    metadata: dict[str, Any]
    vector: Sequence[float]


@dataclass
class Serving:
    """The serving generation as a writer sees it: its live records, and what earlier writes left."""

    collection: Any = None
    generation: int = 0
    live: dict[str, dict[str, Any]] = field(default_factory=dict)  # record id -> metadata (dead marks undone)
    expired: list[str] = field(default_factory=list)  # dead before this generation: safe to delete
    stray: list[str] = field(default_factory=list)  # written by a write that never switched
    unmarked: list[str] = field(default_factory=list)  # marked dead by a write that never switched

    def vectors(self, ids: Sequence[str]) -> dict[str, list[float]]:
        """The stored vectors of live records, to reuse instead of embedding the same text again."""
        got = self.collection.get(ids=sorted(set(ids)), include=["embeddings"])
        return {i: [float(x) for x in v] for i, v in zip(got["ids"], got["embeddings"], strict=True)}


class KnowledgeStore:
    """Versioned collections in one Chroma client; the one place that writes, switches and retires generations."""

    def __init__(
        self,
        client: Any = None,
        *,
        prefix: str = "adoptbot",
        connect: Callable[[], Any] | None = None,
        info_path: Path | None = None,
    ) -> None:
        """Over client; or over the client connect() opens on first use, its info file at info_path (if any)."""
        if (client is None) == (connect is None):
            raise TypeError("KnowledgeStore needs a client or connect, not both")
        self.prefix = prefix
        self._client = client
        self._connect = connect
        self._connect_lock = threading.Lock()
        self.info_path = _info_path(client, prefix) if client is not None else info_path
        self._pattern = re.compile(rf"^{re.escape(prefix)}-v(\d+)$")

    @property
    def client(self) -> Any:
        """The Chroma client, opened now if it was given as connect (Chroma is imported only then)."""
        if self._client is None:
            with self._connect_lock:
                if self._client is None and self._connect is not None:
                    self._client = self._connect()
        return self._client

    @cached_property
    def bm25(self) -> SavedBytes:
        """The saved BM25 index of each generation (kb/bm25.py's bytes)."""
        return SavedBytes(self.client, key=GENERATION, tag="g")

    @cached_property
    def saved_records(self) -> SavedBytes:
        """The saved live records of each generation (kb/records.py's bytes)."""
        return SavedBytes(self.client, key=RECORDS_GENERATION, tag="r")

    def known_info(self) -> IndexInfo | None:
        """What the serving index holds: from the info file the last switch wrote (no Chroma), else info()."""
        return (saved_info(self.info_path) if self.info_path is not None else None) or self.info()

    def _versions(self) -> Iterator[tuple[int, Any]]:
        for col in self.client.list_collections():
            match = self._pattern.match(col.name)
            if match:
                yield int(match.group(1)), col

    def current(self) -> Any | None:
        """The newest complete collection, or None before the first ingest."""
        complete = [(v, c) for v, c in self._versions() if (c.metadata or {}).get(COMPLETE) is True]
        return max(complete, key=lambda vc: vc[0])[1] if complete else None

    # -- writing a generation (under the ingest lock) ---------------------------------------------

    def serving(self, embed_model: str) -> Serving:
        """What the next write builds on; empty when the serving collection was made by another model or format."""
        collection = self.current()
        if collection is None or not reusable(collection, embed_model):
            return Serving()
        base = Serving(collection=collection, generation=generation(collection))
        got = read_all(collection, ["metadatas"])
        for record_id, meta in zip(got["ids"], got["metadatas"], strict=True):
            gen_from, gen_to = int(meta.get(LIVE_FROM, 0)), int(meta.get(LIVE_TO, FOREVER))
            if gen_from > base.generation:
                base.stray.append(record_id)
            elif gen_to <= base.generation:
                base.expired.append(record_id)
            else:
                if gen_to != FOREVER:
                    base.unmarked.append(record_id)
                    meta = {**meta, LIVE_TO: FOREVER}
                base.live[record_id] = meta
        return base

    def write(
        self, base: Serving, *, added: Iterable[Sequence[Record]], retired: Sequence[str], embed_model: str
    ) -> int:
        """Write generation G+1 (base, plus added, less retired) beside G, switch readers to it; its version.

        All or nothing: on any failure, Ctrl-C included, readers stay on G and what was written is undone
        (or, if the process dies, cleaned up by the next write).
        """
        self._tidy(base)
        collection = base.collection if base.collection is not None else self.begin(embed_model=embed_model)
        at = base.generation + 1
        # Dead since G or earlier: no reader needs them (a reader on G-1 has had a whole reindex to move on),
        # and a new record may reuse one of their ids.
        _delete(collection, base.expired)
        written: list[str] = []
        try:
            for batch in added:
                for start in range(0, len(batch), WRITE_BATCH):
                    part = batch[start : start + WRITE_BATCH]
                    collection.add(
                        ids=[r.id for r in part],
                        embeddings=[list(r.vector) for r in part],
                        documents=[r.text for r in part],
                        metadatas=[_stored(r.metadata, at) for r in part],
                    )
                    written += [r.id for r in part]
            _set_metadata(collection, retired, base.live, **{LIVE_TO: at})
            records = self.save_for_readers(collection, at)
            self.publish(collection, at, records=records)
        except BaseException:
            if base.collection is None:
                self.abort(collection)
            else:
                _rollback(collection, written, retired, base, at, self)
            raise
        return int((collection.metadata or {})[VERSION])

    def keep(self, base: Serving) -> int | None:
        """No new generation: undo what a killed write left, save what readers load if the generation lacks it."""
        self._tidy(base)
        collection, at = base.collection, base.generation
        if collection is None:
            return None
        # An index from before BM25 indexes, saved records or counts were kept: save what it lacks. What it
        # has stays untouched (replicas may be reading it).
        lexical, records = not self.bm25.has(collection, at), not self.saved_records.has(collection, at)
        counted = (collection.metadata or {}).get(COUNTED) == at
        if lexical or records or not counted:
            saved = self.save_for_readers(collection, at, lexical=lexical, records=records)
            if not counted:
                collection.modify(metadata={**(collection.metadata or {}), **_counts(saved, at)})
        if self.info_path is not None and not self.info_path.exists():
            self._save_info()  # an index from before the file was kept
        return (collection.metadata or {}).get(VERSION)

    def _tidy(self, base: Serving) -> None:
        """Undo what a killed write left behind: its unswitched records and its dead marks."""
        if not (base.stray or base.unmarked):
            return
        log.warning("cleaning up after an interrupted reindex (%d records)", len(base.stray) + len(base.unmarked))
        _delete(base.collection, base.stray)
        _set_metadata(base.collection, base.unmarked, base.live)
        base.stray, base.unmarked = [], []

    def begin(self, *, embed_model: str) -> Any:
        """A new, incomplete collection one version above every existing one."""
        version = max((v for v, _ in self._versions()), default=0) + 1
        return self.client.create_collection(
            f"{self.prefix}-v{version:06d}",
            configuration={"hnsw": {"space": "cosine"}},
            metadata={COMPLETE: False, VERSION: version, EMBED_MODEL: embed_model, FORMAT: FORMAT_VERSION},
        )

    def publish(self, collection: Any, at: int, *, records: Records | None = None) -> None:
        """Make generation `at` of collection (its live records, if given) the one readers use, then prune.

        One metadata write, which also holds the generation's counts when its records are given.
        """
        metadata = dict(collection.metadata or {})
        metadata.update(
            {COMPLETE: True, GENERATION: at, INDEXED_AT: dt.datetime.now(dt.UTC).isoformat(timespec="seconds")}
        )
        if records is not None:
            metadata.update(_counts(records, at))
        if self.info_path is not None:
            self.info_path.unlink(missing_ok=True)  # dying between here and _save_info leaves readers no stale file
        collection.modify(metadata=metadata)
        self._save_info()
        try:  # readers have switched: from here on a failure only leaves garbage for the next switch
            self.bm25.retire(collection, keep_from=at - KEEP_PREVIOUS)
            self.saved_records.retire(collection, keep_from=at - KEEP_PREVIOUS)
            self.prune()
        except Exception:
            log.warning("retiring old generations failed; the next reindex retires them", exc_info=True)

    def abort(self, collection: Any) -> None:
        """Drop a collection that was never published."""
        # Best effort: prune() removes leftovers on the next ingest.
        for name in (collection.name + LEXICAL_SUFFIX, collection.name):
            with contextlib.suppress(Exception):
                self.client.delete_collection(name)

    def prune(self) -> None:
        """Delete everything but the current version and KEEP_PREVIOUS complete ones before it."""
        current = self.current()
        if current is None:
            return
        newest = (current.metadata or {})[VERSION]
        complete = sorted(
            (v for v, c in self._versions() if (c.metadata or {}).get(COMPLETE) is True and v < newest),
            reverse=True,
        )
        keep = {newest, *complete[:KEEP_PREVIOUS]}
        for version, col in list(self._versions()):
            # Incomplete versions newer than current may be an ingest still running elsewhere.
            if version not in keep and version < newest:
                if companion(self.client, col) is not None:
                    self.client.delete_collection(col.name + LEXICAL_SUFFIX)
                self.client.delete_collection(col.name)

    # -- what readers load of a generation: its records and its BM25 index ------------------------------

    def save_for_readers(self, collection: Any, at: int, *, lexical: bool = True, records: bool = True) -> Records:
        """Read generation `at`'s live records once; save them and (built from them) its BM25 index; return them."""
        live = self.read_records(collection, at)
        if records:
            self.saved_records.save(collection, at, live.to_bytes(collection=collection.name, at=at))
        if lexical:
            from kb.bm25 import BM25Index, indexed_text

            passages = [i for i, kind in enumerate(live.fields["kind"]) if kind != QUESTION]
            title, section = live.fields["title"], live.fields["section"]
            index = BM25Index.build(
                [live.ids[i] for i in passages], [indexed_text(title[i], section[i], live.texts[i]) for i in passages]
            )
            self.bm25.save(collection, at, index.to_bytes())
        return live

    def read_records(self, collection: Any, at: int) -> Records:
        """The live records of generation `at`, read from Chroma (every record's text and metadata)."""
        got = read_all(collection, ["documents", "metadatas"])
        rows = [
            (record_id, text, meta)
            for record_id, text, meta in zip(got["ids"], got["documents"], got["metadatas"], strict=True)
            if is_live(meta, at)
        ]
        return Records.of([r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows])

    def records(self, collection: Any, at: int) -> Records:
        """The live records of generation `at`: those its ingest saved, else (none, stale, damaged) from Chroma."""
        try:
            data = self.saved_records.load(collection, at)
            if data is not None:
                return Records.from_bytes(data, collection=collection.name, at=at)
            log.warning(
                "%s has no saved records at generation %d (indexed by an older adoptbot): reading every record from "
                "Chroma, which is slow for a large index; `adoptbot ingest` saves them, even with nothing changed",
                collection.name,
                at,
            )
        except (Unfinished, UnreadableRecords) as e:
            log.warning(
                "the saved records of %s at generation %d are unusable (%s): reading every record from Chroma instead",
                collection.name,
                at,
                e,
            )
        return self.read_records(collection, at)

    def lexical(self, collection: Any, at: int) -> BM25Index | None:
        """The saved BM25 index of generation `at`, or None when it has none usable (then readers build one)."""
        from kb.bm25 import BM25Index, UnreadableIndex

        try:
            data = self.bm25.load(collection, at)
            return None if data is None else BM25Index.from_bytes(data)
        except (Unfinished, UnreadableIndex) as e:
            log.warning("the saved BM25 index of %s at generation %d is unreadable (%s)", collection.name, at, e)
            return None

    def _save_info(self) -> None:
        """Write the serving index's IndexInfo to the info file; on failure there is none, and readers ask the store."""
        if self.info_path is None:
            return
        tmp = self.info_path.with_name(f".{self.info_path.name}.{os.getpid()}.tmp")
        try:
            info = self.info()
            if info is not None:
                tmp.write_text(json.dumps(asdict(info)), encoding="utf-8")
                os.replace(tmp, self.info_path)
        except Exception:
            log.warning("saving %s failed; `adoptbot status` reads the store instead", self.info_path, exc_info=True)
        finally:
            tmp.unlink(missing_ok=True)

    def info(self) -> IndexInfo | None:
        """Counts and dates of the serving index: the counts its switch wrote, else counted from its records."""
        col = self.current()
        if col is None:
            return None
        at = generation(col)
        meta = col.metadata or {}
        if meta.get(COUNTED) == at:
            documents, chunks = int(meta[DOCUMENTS]), int(meta[CHUNKS])
        else:
            metadatas = read_all(col, ["metadatas"])["metadatas"]
            live = [m for m in metadatas if is_live(m, at) and m.get("kind") != QUESTION]
            documents, chunks = len({m["source"] for m in live}), len(live)
        return IndexInfo(
            version=meta.get(VERSION, 0),
            generation=at,
            documents=documents,
            chunks=chunks,
            indexed_at=meta.get(INDEXED_AT, ""),
            embed_model=meta.get(EMBED_MODEL, ""),
        )


def _stored(metadata: dict[str, Any], at: int) -> dict[str, Any]:
    """A new record's metadata: live from generation `at`; Chroma refuses None, so it becomes ""."""
    return {**{k: "" if v is None else v for k, v in metadata.items()}, LIVE_FROM: at, LIVE_TO: FOREVER}


def _counts(records: Records, at: int) -> dict[str, int]:
    """The collection metadata that says how many documents and passages generation `at` holds."""
    documents, chunks = records.counts()
    return {DOCUMENTS: documents, CHUNKS: chunks, COUNTED: at}


def _delete(collection: Any, ids: Sequence[str]) -> None:
    for start in range(0, len(ids), WRITE_BATCH):
        collection.delete(ids=list(ids[start : start + WRITE_BATCH]))


def _set_metadata(collection: Any, ids: Sequence[str], metadata: dict[str, dict[str, Any]], **changes: Any) -> None:
    for start in range(0, len(ids), WRITE_BATCH):
        batch = ids[start : start + WRITE_BATCH]
        collection.update(ids=list(batch), metadatas=[{**metadata[i], **changes} for i in batch])


def _rollback(
    collection: Any, written: list[str], retired: Sequence[str], base: Serving, at: int, store: KnowledgeStore
) -> None:
    """Best effort: what is left over is cleaned up by the next write (see KnowledgeStore._tidy)."""
    try:
        _delete(collection, written)
        _set_metadata(collection, retired, base.live)
        store.bm25.drop(collection, at)
        store.saved_records.drop(collection, at)
    except Exception:
        log.exception("rollback incomplete; the next ingest will finish it")
