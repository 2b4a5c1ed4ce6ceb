"""The entry point: parse the command line, run the command, turn our errors into exit statuses."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence

from adoptbot.cli.audit import cmd_audit, cmd_report
from adoptbot.cli.chat import cmd_ask, cmd_chat
from adoptbot.cli.index import cmd_ingest, cmd_status
from adoptbot.cli.mcp import cmd_mcp
from adoptbot.cli.operations import cmd_eval, cmd_kb, cmd_run, cmd_serve, cmd_teams_package
from adoptbot.cli.parser import build_parser
from adoptbot.cli.terminal import EXIT_FAILED, EXIT_USAGE
from adoptbot.cli.tools import cmd_assess, cmd_checklist
from adoptbot.logs import use_log_format
from adoptbot.runtime import Runtime
from bot.state.redaction import redact_logs
from common.errors import (
    AdoptbotError,
    BackendUnavailable,
    ConfigError,
    EmptyQuestion,
    IndexEmpty,
    IngestBusy,
)
from common.settings import Settings
from common.text import visible

USAGE_ERRORS = (ConfigError, IngestBusy, IndexEmpty, EmptyQuestion, BackendUnavailable)

COMMANDS: dict[str, Callable[[Runtime, argparse.Namespace], int]] = {
    "serve": cmd_serve,
    "run": cmd_run,
    "teams-package": cmd_teams_package,
    "ingest": cmd_ingest,
    "status": cmd_status,
    "ask": cmd_ask,
    "chat": cmd_chat,
    "mcp": cmd_mcp,
    "eval": cmd_eval,
    "audit": cmd_audit,
    "report": cmd_report,
    "kb": cmd_kb,
    "assess": cmd_assess,
    "checklist": cmd_checklist,
}


def main(argv: Sequence[str] | None = None, *, runtime: Runtime | None = None) -> int:
    """Entry point of the `adoptbot` console script; returns the exit status."""
    args = build_parser().parse_args(argv)
    existing = set(logging.getLogger().handlers)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    ours = [h for h in logging.getLogger().handlers if h not in existing]
    try:
        runtime = runtime or Runtime(Settings.from_env())
        redact_logs(ours, redactor=runtime.redactor)  # nobody's email or phone number reaches our log lines
        use_log_format(ours, runtime.settings.log_format)
        return COMMANDS[args.command](runtime, args)
    except USAGE_ERRORS as e:
        print(f"adoptbot: {visible(str(e))}", file=sys.stderr)
        return EXIT_USAGE
    except AdoptbotError as e:
        print(f"adoptbot: {visible(str(e))}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        print("adoptbot: interrupted; the previous index is still serving.", file=sys.stderr)
        return 130


def main_exit() -> None:
    """Console-script wrapper: exit with main()'s status."""
    sys.exit(main())
