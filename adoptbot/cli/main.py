"""The entry point: parse the command line, run the command, turn our errors into exit statuses."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence
from importlib import import_module

from adoptbot.cli.parser import build_parser
from adoptbot.cli.terminal import EXIT_FAILED, EXIT_USAGE
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

# Command -> the module holding it: imported only for the command that runs, so `adoptbot status` never
# loads what `adoptbot ask` or `adoptbot serve` needs.
COMMANDS: dict[str, tuple[str, str]] = {
    "serve": ("adoptbot.cli.operations", "cmd_serve"),
    "run": ("adoptbot.cli.operations", "cmd_run"),
    "teams-package": ("adoptbot.cli.operations", "cmd_teams_package"),
    "ingest": ("adoptbot.cli.index", "cmd_ingest"),
    "status": ("adoptbot.cli.index", "cmd_status"),
    "export-model": ("adoptbot.cli.index", "cmd_export_model"),
    "ask": ("adoptbot.cli.chat", "cmd_ask"),
    "chat": ("adoptbot.cli.chat", "cmd_chat"),
    "mcp": ("adoptbot.cli.mcp", "cmd_mcp"),
    "eval": ("adoptbot.cli.operations", "cmd_eval"),
    "audit": ("adoptbot.cli.audit", "cmd_audit"),
    "report": ("adoptbot.cli.audit", "cmd_report"),
    "kb": ("adoptbot.cli.operations", "cmd_kb"),
    "assess": ("adoptbot.cli.tools", "cmd_assess"),
    "checklist": ("adoptbot.cli.tools", "cmd_checklist"),
}


def command(name: str) -> Callable[[Runtime, argparse.Namespace], int]:
    """The function that runs a command, its module imported now."""
    module, function = COMMANDS[name]
    return getattr(import_module(module), function)


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
        return command(args.command)(runtime, args)
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
