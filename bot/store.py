"""The vector store: Chroma collections whose records carry generations, so a reindex is all-or-nothing.

Every record is live from generation `gen_from` up to (not including) `gen_to`; the collection's
metadata names the serving generation G. A reindex adds its new records at G+1 (invisible at G),
marks replaced records dead from G+1 (still visible at G), then flips G to G+1 in one metadata
write. Readers filter by G, so they never see a half-built index, and a reindex costs only the
records that changed. A failed reindex is rolled back; leftovers of a killed one are cleaned up by
the next. Records dead at G are deleted at the next reindex, so readers still on G-1 finish safely.

A new collection `<prefix>-v<N>` is built only for the first ingest or a change of embedding
model; it becomes visible when marked complete.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from bot.errors import ConfigError, DataDirUnusable
from bot.settings import Settings

COMPLETE = "adoptbot_complete"
VERSION = "adoptbot_version"
EMBED_MODEL = "adoptbot_embed_model"
INDEXED_AT = "adoptbot_indexed_at"
GENERATION = "adoptbot_generation"
# Bump when record metadata changes: forces a rebuild. 3: cited fields are capped and cleaned at ingest, which
# files whose bytes did not change would otherwise never get. 4: records carry `pages`,
# `audience` and `embed_hash`, and `content_hash` covers the cited fields (a new review date is written).
FORMAT, FORMAT_VERSION = "adoptbot_format", 4
LIVE_FROM, LIVE_TO = "gen_from", "gen_to"
FOREVER = 2**62
KEEP_PREVIOUS = 1
READ_BATCH = 5000  # Chroma refuses a single get() of ~30,000+ records (SQL variable limit)


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


class KnowledgeStore:
    """Versioned collections in one Chroma client."""

    def __init__(self, client: Any, *, prefix: str = "adoptbot") -> None:
        self.client = client
        self.prefix = prefix
        self._pattern = re.compile(rf"^{re.escape(prefix)}-v(\d+)$")

    def _versions(self) -> Iterator[tuple[int, Any]]:
        for col in self.client.list_collections():
            match = self._pattern.match(col.name)
            if match:
                yield int(match.group(1)), col

    def current(self) -> Any | None:
        """The newest complete collection, or None before the first ingest."""
        complete = [(v, c) for v, c in self._versions() if (c.metadata or {}).get(COMPLETE) is True]
        return max(complete, key=lambda vc: vc[0])[1] if complete else None

    def begin(self, *, embed_model: str) -> Any:
        """A new, incomplete collection one version above every existing one."""
        version = max((v for v, _ in self._versions()), default=0) + 1
        return self.client.create_collection(
            f"{self.prefix}-v{version:06d}",
            configuration={"hnsw": {"space": "cosine"}},
            metadata={COMPLETE: False, VERSION: version, EMBED_MODEL: embed_model, FORMAT: FORMAT_VERSION},
        )

    def publish(self, collection: Any, at: int) -> None:
        """Make generation `at` of collection the one readers use (one metadata write), then prune."""
        metadata = dict(collection.metadata or {})
        metadata.update(
            {COMPLETE: True, GENERATION: at, INDEXED_AT: dt.datetime.now(dt.UTC).isoformat(timespec="seconds")}
        )
        collection.modify(metadata=metadata)
        self.prune()

    def abort(self, collection: Any) -> None:
        """Drop a collection that was never published."""
        # Best effort: prune() removes leftovers on the next ingest.
        with contextlib.suppress(Exception):
            self.client.delete_collection(collection.name)

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
                self.client.delete_collection(col.name)

    def info(self) -> IndexInfo | None:
        """Counts and dates of the serving index."""
        col = self.current()
        if col is None:
            return None
        at = generation(col)
        live = [m for m in read_all(col, ["metadatas"])["metadatas"] if is_live(m, at)]
        meta = col.metadata or {}
        return IndexInfo(
            version=meta.get(VERSION, 0),
            generation=at,
            documents=len({m["source"] for m in live}),
            chunks=len(live),
            indexed_at=meta.get(INDEXED_AT, ""),
            embed_model=meta.get(EMBED_MODEL, ""),
        )
