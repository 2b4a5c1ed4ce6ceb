"""The editors' decision table file (knowledge/assessment.yaml): read, checked, and re-read when it changes."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from bot.tools.assessment.errors import TableError
from kb.decisions import FILE_NAME, MAX_BYTES, DecisionTable, parse_table
from kb.files import BadFile

log = logging.getLogger(__name__)


class TableFile:
    """The editors' decision table, re-read when it changes; a broken edit keeps the last good table."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._stamp: tuple[int, int] | None = None
        self._table: DecisionTable | None = None
        self._lock = threading.Lock()

    def current(self) -> DecisionTable:
        """The table; TableError (saying what to fix) when there has never been a good one."""
        try:
            stat = self.path.stat()
        except OSError:
            raise TableError(
                f"No decision table at {self.path}: restore knowledge/{FILE_NAME} (see knowledge/README.md) or set "
                "ADOPTBOT_KNOWLEDGE_DIR to the knowledge folder that has it."
            ) from None
        stamp = (stat.st_mtime_ns, stat.st_size)
        with self._lock:
            if stamp != self._stamp:
                self._stamp = stamp
                try:
                    self._table = load_table(self.path)
                except TableError as e:
                    if self._table is None:
                        raise
                    log.warning("%s; keeping the previous decision table until it is fixed.", e)
            assert self._table is not None
            return self._table


def load_table(path: Path) -> DecisionTable:
    """The decision table in path; TableError naming the file and the first problem."""
    try:
        if path.stat().st_size > MAX_BYTES:
            raise BadFile(f"it is larger than {MAX_BYTES:,} bytes: keep the table short")
        return parse_table(path.read_text(encoding="utf-8-sig"))
    except BadFile as e:
        raise TableError(f"{path}: {e}") from None
    except (OSError, UnicodeDecodeError) as e:
        raise TableError(f"{path} cannot be read ({e}): make it a readable UTF-8 file") from None
