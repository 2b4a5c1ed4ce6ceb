"""The command line: `adoptbot ingest`, `adoptbot ask`, `adoptbot serve`, ... one module per kind of command.

parser.py reads the arguments, main.py runs a command and maps our errors to exit statuses, terminal.py
is how things reach the terminal; index.py (ingest, status), chat.py (ask, chat), operations.py (serve,
run, teams-package, kb lint, eval), audit.py (audit export, report) and tools.py (assess, checklist) hold
the commands. It may import every layer (adoptbot.runtime, bot, ingest, kb, common); nothing imports it
but the console script, benchmarks and tests.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

# Re-exported lazily: `python -m adoptbot.cli status` imports this package first, and should not pay for the
# commands (and the libraries) it does not run.
_EXPORTS = {
    "build_parser": "adoptbot.cli.parser",
    "ensure_index": "adoptbot.cli.index",
    "main": "adoptbot.cli.main",
    "main_exit": "adoptbot.cli.main",
    "render_answer": "adoptbot.cli.terminal",
    "report_page": "adoptbot.cli.audit",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(_EXPORTS[name]), name)
