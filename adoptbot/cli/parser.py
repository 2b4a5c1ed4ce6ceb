"""The command line's arguments: one subcommand per thing `adoptbot` does, and the options they share."""

from __future__ import annotations

import argparse
import datetime as dt
from pathlib import Path

from bot.answering.answerers.registry import backend_names
from bot.audiences import check_place

PLACE_HELP = (
    "answer as if asked there, seeing only the documents the audiences file allows it: slack:CHANNEL_ID, "
    "teams:TEAM_ID or teams:personal (default: every document)"
)


def _place(text: str) -> str:
    try:
        return check_place(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="adoptbot",
        description="Answers questions about adopting generative AI from a curated knowledge base.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    ingest = sub.add_parser("ingest", help="index the knowledge folder (incremental)")
    ingest.add_argument("path", nargs="?", type=Path, help="knowledge folder (default: knowledge/)")
    ingest.add_argument("--json", action="store_true", help="print the summary as JSON")
    ingest.add_argument("--strict", action="store_true", help="exit 1 if any file was skipped")
    ingest.add_argument("--wait", action="store_true", help="wait for a running ingest instead of refusing")

    status = sub.add_parser("status", help="what the index holds")
    status.add_argument("--json", action="store_true", help="print as JSON")

    sub.add_parser(
        "export-model",
        help="make the ONNX copy of the embedding model that commands start with, instead of torch (once; make setup)",
    )

    ask = sub.add_parser("ask", help="answer one question ('-' reads one question per line from stdin)")
    ask.add_argument("question", nargs="+", help="the question, or - for standard input")
    ask.add_argument("--json", action="store_true", help="print one JSON object per answer")
    ask.add_argument("--backend", choices=backend_names(), help="answer backend (default: ADOPTBOT_BACKEND or auto)")
    ask.add_argument("--place", type=_place, help=PLACE_HELP)

    chat = sub.add_parser("chat", help="an interactive chat in the terminal")
    chat.add_argument("--backend", choices=backend_names(), help="answer backend (default: ADOPTBOT_BACKEND or auto)")
    chat.add_argument("--place", type=_place, help=PLACE_HELP)

    serve = sub.add_parser("serve", help="serve every configured chat platform (Slack, Teams)")
    serve.add_argument("--slack-http", action="store_true", help="Slack over HTTP (POST /slack/events)")
    serve.add_argument("--teams", action="store_true", help="require Teams (POST /api/messages)")
    serve.add_argument("--port", type=int, help="HTTP port (default: ADOPTBOT_PORT or 3000)")
    serve.add_argument("--host", help="interface to listen on (default: ADOPTBOT_HOST or 0.0.0.0)")

    mcp = sub.add_parser("mcp", help="serve the knowledge base to another assistant over MCP (stdio)")
    mcp.add_argument("--place", type=_place, help=PLACE_HELP.replace("answer as if", "answer every call as if"))

    package = sub.add_parser("teams-package", help="build the Teams app package (zip) an admin uploads")
    package.add_argument("--app-id", help="the Azure Bot's Microsoft App ID (default: CONNECTIONS__...__CLIENTID)")
    package.add_argument(
        "--out", type=Path, help="where to write the zip (default: build/adoptbot-teams.zip, or -copilot.zip)"
    )
    package.add_argument("--developer-name", default="AI Centre of Excellence", help="shown in the Teams app store")
    package.add_argument("--website-url", default="https://www.example.com", help="an https:// page about the app")
    package.add_argument(
        "--copilot", action="store_true", help="also declare it a custom engine agent for Microsoft 365 Copilot Chat"
    )
    package.add_argument(
        "--app-version", default="1.0.0", help="the app's version; raise it to update an app uploaded before"
    )

    kb = sub.add_parser("kb", help="knowledge base tools for editors")
    kb_sub = kb.add_subparsers(dest="kb_command", required=True, metavar="KB_COMMAND")
    lint = kb_sub.add_parser("lint", help="check the knowledge base; exit 1 on errors (for its CI)")
    lint.add_argument("path", nargs="?", type=Path, help="knowledge folder (default: knowledge/)")
    lint.add_argument("--json", action="store_true", help="print the findings as JSON")
    suggest = kb_sub.add_parser(
        "suggest", help="declined, clarified and not-helpful questions, grouped, with what to add where"
    )
    suggest.add_argument("--json", action="store_true", help="print the groups as JSON")
    add_since(suggest)

    run = sub.add_parser("run", help="ingest, then serve the configured platforms, else chat in the terminal")
    run.add_argument("--backend", choices=backend_names(), help="answer backend for the terminal chat")

    ev = sub.add_parser("eval", help="score the assistant on a question set")
    ev.add_argument(
        "--questions",
        type=Path,
        nargs="+",
        help="JSONL question sets, or folders of them (default: the eval folder of the knowledge base)",
    )
    ev.add_argument("--backend", choices=backend_names(), help="answer backend (default: ADOPTBOT_BACKEND or auto)")
    ev.add_argument("--retrieval", choices=["hybrid", "dense", "bm25"], help="retrieval mode (default: hybrid)")
    ev.add_argument("--fusion", choices=["rrf", "score"], help="how hybrid retrieval fuses (default: rrf)")
    ev.add_argument("--json", action="store_true", help="print the report as JSON")
    ev.add_argument("--min-pass", type=float, default=0.0, help="fail below this in-scope pass rate (0-1)")
    ev.add_argument("--min-abstain", type=float, default=0.0, help="fail below this out-of-scope abstention rate")
    ev.add_argument("--min-hit5", type=float, default=0.0, help="fail below this retrieval hit@5")
    ev.add_argument("--min-conv-pass", type=float, default=0.0, help="fail below this in-scope conversation rate")
    ev.add_argument(
        "--min-conv-abstain", type=float, default=0.0, help="fail below this rate of off-topic follow-ups declined"
    )
    ev.add_argument("--min-smalltalk", type=float, default=0.0, help="fail below this small-talk recognition rate")
    ev.add_argument(
        "--max-wrong-cited", type=float, default=1.0, help="fail above this rate of wrong answers with a citation (0-1)"
    )

    audit = sub.add_parser("audit", help="the audit log: every question, its answer, sources and votes")
    audit_sub = audit.add_subparsers(dest="audit_command", required=True, metavar="ACTION")
    export = audit_sub.add_parser("export", help="write the audit log (redacted, users hashed) as JSON lines or CSV")
    add_since(export)
    export.add_argument("--format", choices=["jsonl", "csv"], default="jsonl", help="output format (default: jsonl)")
    export.add_argument("--out", type=Path, metavar="FILE", help="write to this file instead of standard output")

    report = sub.add_parser("report", help="write the insight report (one self-contained HTML page)")
    add_since(report)
    report.add_argument("--out", type=Path, metavar="FILE", required=True, help="where to write the page (.html)")
    add_adoption_tools(sub)
    return parser


def add_since(parser: argparse.ArgumentParser) -> None:
    """The --since option that audit export and report share."""
    parser.add_argument(
        "--since",
        type=since_date,
        metavar="DATE",
        help="from this day (YYYY-MM-DD, UTC) or time (ISO 8601); default: all kept",
    )


def since_date(text: str) -> dt.datetime:
    """--since: a day (midnight UTC) or an ISO 8601 time (UTC unless it names its offset)."""
    from bot.state.feedback import parse_since  # the audit log's module loads for the commands that read it

    try:
        return parse_since(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def add_adoption_tools(sub: argparse._SubParsersAction) -> None:
    """The assess and checklist subcommands."""
    assess = sub.add_parser("assess", help="assess a use case: an LLM, a broader generative model or a hybrid?")
    assess.add_argument("idea", nargs="*", help="the idea in a sentence (without it, the questions start at once)")
    assess.add_argument(
        "--json", action="store_true", help="decide from the idea without asking; print one JSON object"
    )
    assess.add_argument(
        "--answer",
        action="append",
        default=[],
        metavar="QUESTION=CHOICE",
        help="answer a question up front, e.g. --answer data=clean (repeatable)",
    )
    assess.add_argument("--place", type=_place, help=PLACE_HELP.replace("answer as if", "cite as if"))
    checklist = sub.add_parser(
        "checklist",
        help="work through a checklist for a project: checklist [NAME [PROJECT]] | status | export PROJECT",
    )
    checklist.add_argument("words", nargs="*", metavar="NAME PROJECT | status | export PROJECT")
    checklist.add_argument("--tick", action="append", default=[], metavar="ITEM", help="tick an item (number or id)")
    checklist.add_argument("--untick", action="append", default=[], metavar="ITEM", help="untick an item")
    checklist.add_argument("--channel", default="terminal", help="whose projects (default: terminal)")
    checklist.add_argument(
        "--place",
        type=_place,
        help="list, show, tick and export only the checklists the audiences file lets this place see: "
        "slack:CHANNEL_ID, teams:TEAM_ID or teams:personal (default: every checklist)",
    )
    checklist.add_argument("--out", type=Path, metavar="FILE", help="export: write the Markdown to this file")
