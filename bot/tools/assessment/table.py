"""The editors' decision table file (knowledge/assessment.yaml): read, checked, and re-read when it changes."""

from __future__ import annotations

from pathlib import Path

from bot.tools.assessment.errors import TableError
from common.watched import Watched
from kb.decisions import FILE_NAME, MAX_BYTES, DecisionTable, parse_table
from kb.files import BadFile


class TableFile:
    """The editors' decision table, re-read when it changes; a broken edit keeps the last good table."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file = Watched(
            path, load_table, errors=(TableError,), keeping="keeping the previous decision table until it is fixed."
        )

    def current(self) -> DecisionTable:
        """The table; TableError (saying what to fix) when there has never been a good one."""
        table = self._file.current()
        if table is None:
            raise TableError(
                f"No decision table at {self.path}: restore knowledge/{FILE_NAME} (see knowledge/README.md) or set "
                "ADOPTBOT_KNOWLEDGE_DIR to the knowledge folder that has it."
            )
        return table


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
