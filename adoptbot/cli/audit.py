"""The audit log and what it shows: `adoptbot audit export`, `adoptbot report` and `adoptbot kb suggest`."""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import io
import json
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

from adoptbot.cli.terminal import EXIT_OK, write_atomically
from adoptbot.runtime import Runtime
from common.errors import ConfigError

if TYPE_CHECKING:
    from bot.state.feedback import FeedbackStore
    from bot.state.gaps import Nearest

AUDIT_FIELDS = (
    "id", "time", "platform", "channel_kind", "user", "question", "status", "answer", "backend",
    "sources", "related", "timings_ms", "redacted", "helpful", "not_helpful", "votes",
)  # fmt: skip


def open_audit_log(runtime: Runtime) -> FeedbackStore:
    """The runtime's audit log; a ConfigError saying how to fix it when it cannot be opened."""
    store = runtime.feedback
    if not store.available:
        raise ConfigError(
            f"The audit log {runtime.settings.feedback_path} cannot be opened (see the warning above): "
            "make the data directory readable and writable, or set ADOPTBOT_DATA_DIR to the one the assistant uses."
        )
    return store


def nearest_section(runtime: Runtime) -> Callable[[str], Nearest | None]:
    """question -> the indexed section it most resembles (dense similarity; every audience: editors read this)."""
    from bot.state.gaps import Nearest

    def nearest(question: str) -> Nearest | None:
        found = runtime.retriever.retrieve(question, mode="dense", k=1)
        if not found.passages:
            return None
        best = found.passages[0]
        return Nearest(best.source, best.title, best.section, found.dense_best)

    return nearest


def _since(since: dt.datetime | None) -> dt.datetime:
    return since or dt.datetime.min.replace(tzinfo=dt.UTC)


def report_page(runtime: Runtime, since: dt.datetime | None) -> str:
    """The insight report over the runtime's audit log, its content gaps grouped with the runtime's embedder."""
    from bot.state.report import build_report

    store = open_audit_log(runtime)
    return build_report(
        store.audit(_since(since)),
        embedder=runtime.embedder,
        now=dt.datetime.now(dt.UTC),
        since=since,
        review_after_days=runtime.settings.review_after_days,
        nearest=nearest_section(runtime) if runtime.index_info() else None,
    )


def cmd_suggest(runtime: Runtime, args: argparse.Namespace) -> int:
    """`adoptbot kb suggest`: the audit log's gaps, grouped, each with what to add where."""
    from bot.state.gaps import as_json, as_text, suggestions  # numpy: only for the commands that group

    store = open_audit_log(runtime)
    if not runtime.index_info():
        raise ConfigError("The index is empty: run `adoptbot ingest` first, so questions can be compared with it.")
    found = suggestions(store.audit(_since(args.since)), embedder=runtime.embedder, nearest=nearest_section(runtime))
    print(json.dumps(as_json(found), ensure_ascii=False, indent=2) if args.json else as_text(found))
    return EXIT_OK


def cmd_report(runtime: Runtime, args: argparse.Namespace) -> int:
    page = report_page(runtime, args.since)
    write_atomically(args.out, page)
    print(f"adoptbot: wrote the insight report to {args.out} ({len(page.encode()):,} bytes).", file=sys.stderr)
    return EXIT_OK


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")  # what a spreadsheet may run as a formula (OWASP CSV injection)


def csv_cell(value: object) -> str | int:
    """One audit field as a CSV cell; text a spreadsheet would run as a formula gets a leading apostrophe."""
    if isinstance(value, int):
        return value
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return f"'{text}" if text.startswith(FORMULA_STARTS) else text


def cmd_audit(runtime: Runtime, args: argparse.Namespace) -> int:
    store = open_audit_log(runtime)
    since = args.since or dt.datetime.min.replace(tzinfo=dt.UTC)
    out = io.StringIO(newline="")
    count = 0
    if args.format == "csv":
        writer = csv.DictWriter(out, fieldnames=AUDIT_FIELDS)
        writer.writeheader()
    for record in store.audit(since):
        count += 1
        if args.format == "jsonl":
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
        else:
            writer.writerow({k: csv_cell(v) for k, v in record.items()})
    if args.out is None:
        sys.stdout.write(out.getvalue())
        return EXIT_OK
    write_atomically(args.out, out.getvalue())
    print(f"adoptbot: wrote {count} audit records to {args.out}.", file=sys.stderr)
    return EXIT_OK
