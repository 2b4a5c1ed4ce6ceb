"""Reindex from chat: one background ingest at a time, its result handed to a callback."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from common.errors import IngestBusy
from kb.summary import IngestSummary

log = logging.getLogger(__name__)
Done = Callable[[IngestSummary | None, Exception | None], None]


class Reindexer:
    """Runs the incremental ingest in a background thread; a second request while one runs is refused."""

    def __init__(self, ingest: Callable[[], IngestSummary]) -> None:
        self._ingest = ingest
        self._running = threading.Lock()

    @property
    def running(self) -> bool:
        return self._running.locked()

    def start(self, on_done: Done, *, requested_by: str = "") -> bool:
        """Start a reindex unless one is running; on_done(summary, error) is called when it ends."""
        if not self._running.acquire(blocking=False):
            return False
        log.info("reindex started by %s", requested_by or "unknown")
        threading.Thread(target=self._run, args=(on_done,), name="reindex", daemon=True).start()
        return True

    def _run(self, on_done: Done) -> None:
        try:
            summary = self._ingest()
        except IngestBusy as e:  # another host (or an `adoptbot ingest`) is indexing: timing, not a fault
            log.warning("reindex not started: %s", e)
            self._running.release()
            on_done(None, e)
            return
        except Exception as e:
            log.exception("reindex failed")
            self._running.release()
            on_done(None, e)
            return
        self._running.release()
        on_done(summary, None)
