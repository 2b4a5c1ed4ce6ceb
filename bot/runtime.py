"""The composition root: builds the long-lived objects once, lazily, from Settings."""

from __future__ import annotations

import threading
from functools import cached_property
from pathlib import Path

from bot.embedding import Embedder, SentenceTransformerEmbedder
from bot.settings import Settings
from bot.store import KnowledgeStore, open_client
from ingest.pipeline import IngestSummary, run_ingest


class Runtime:
    """Holds the shared embedder and store; pass collaborators in to replace them in tests."""

    def __init__(
        self,
        settings: Settings,
        *,
        embedder: Embedder | None = None,
        store: KnowledgeStore | None = None,
    ) -> None:
        self.settings = settings
        self._lock = threading.Lock()
        if embedder is not None:
            self.__dict__["embedder"] = embedder
        if store is not None:
            self.__dict__["store"] = store

    @cached_property
    def embedder(self) -> Embedder:
        return SentenceTransformerEmbedder(
            model_path=self.settings.embed_model_path or None,
            batch_size=self.settings.embed_batch_size,
        )

    @cached_property
    def store(self) -> KnowledgeStore:
        return KnowledgeStore(open_client(self.settings), prefix=self.settings.collection_prefix)

    def ingest(self, path: Path | None = None, *, wait: bool = False, progress: bool | None = None) -> IngestSummary:
        """Run the incremental ingest of path (default: the configured knowledge folder)."""
        return run_ingest(
            path or self.settings.knowledge_dir,
            data_dir=self.settings.data_dir,
            store=self.store,
            embedder=self.embedder,
            max_file_bytes=self.settings.max_file_bytes,
            wait=wait,
            progress=progress,
        )
