"""The command line: `adoptbot ingest`, `adoptbot ask`, `adoptbot serve`, ... one module per kind of command.

parser.py reads the arguments, main.py runs a command and maps our errors to exit statuses, terminal.py
is how things reach the terminal; index.py (ingest, status), chat.py (ask, chat), operations.py (serve,
run, teams-package, kb lint, eval), audit.py (audit export, report) and tools.py (assess, checklist) hold
the commands. It may import every layer (adoptbot.runtime, bot, ingest, kb, common); nothing imports it
but the console script, benchmarks and tests. A command's module is imported only when it runs
(main.COMMANDS), and the modules imported here import nothing heavy at module level (tests/test_coldstart.py).
"""

from adoptbot.cli.audit import report_page
from adoptbot.cli.index import ensure_index
from adoptbot.cli.main import main, main_exit
from adoptbot.cli.parser import build_parser
from adoptbot.cli.terminal import render_answer

__all__ = ["build_parser", "ensure_index", "main", "main_exit", "render_answer", "report_page"]
