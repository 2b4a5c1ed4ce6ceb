"""A file the editors change while the assistant runs: re-read when its modification time or size changes."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Generic, TypeVar

log = logging.getLogger(__name__)
T = TypeVar("T")


class Watched(Generic[T]):
    """The value read from path by load, re-read when the file changes; a broken edit keeps the last good value.

    load raises one of `errors` (saying what to fix) for a file it cannot use: that is logged, ending with
    `keeping`, and the last good value (or `initial`) stays in force; with none, or when asked strictly, the
    error is raised and the file is read again next time.
    """

    def __init__(
        self,
        path: Path,
        load: Callable[[Path], T],
        *,
        errors: tuple[type[Exception], ...],
        keeping: str,
        initial: T | None = None,
    ) -> None:
        self.path = path
        self._load = load
        self._errors = errors
        self._keeping = keeping
        self._value = initial
        self._stamp: tuple[int, int] | None = None
        self._lock = threading.Lock()

    def current(self, *, strict: bool = False) -> T | None:
        """The value now in force; None when the file does not exist."""
        try:
            stat = self.path.stat()
        except OSError:
            return None
        stamp = (stat.st_mtime_ns, stat.st_size)
        with self._lock:
            if stamp != self._stamp:
                try:
                    self._value = self._load(self.path)
                except self._errors as e:
                    if strict or self._value is None:
                        raise
                    log.warning("%s; %s", e, self._keeping)
                self._stamp = stamp
            return self._value
