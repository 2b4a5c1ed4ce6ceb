"""The command line: `adoptbot ingest`, `adoptbot status`, ..."""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import getpass
import io
import json
import logging
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from adoptbot.logs import use_log_format
from adoptbot.runtime import Runtime
from bot.answering.answerers.registry import backend_names
from bot.answering.evaluation import load_questions, run_eval
from bot.audiences import check_place
from bot.chat import COMMANDS as COMMAND_VERBS
from bot.state.feedback import FeedbackStore, parse_since
from bot.state.redaction import redact_logs
from bot.types import Answer, Citation, Question, Turn
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

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
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

    package = sub.add_parser("teams-package", help="build the Teams app package (zip) an admin uploads")
    package.add_argument("--app-id", help="the Azure Bot's Microsoft App ID (default: CONNECTIONS__...__CLIENTID)")
    package.add_argument("--out", type=Path, default=Path("build/adoptbot-teams.zip"), help="where to write the zip")
    package.add_argument("--developer-name", default="AI Centre of Excellence", help="shown in the Teams app store")
    package.add_argument("--website-url", default="https://www.example.com", help="an https:// page about the app")

    kb = sub.add_parser("kb", help="knowledge base tools for editors")
    kb_sub = kb.add_subparsers(dest="kb_command", required=True, metavar="KB_COMMAND")
    lint = kb_sub.add_parser("lint", help="check the knowledge base; exit 1 on errors (for its CI)")
    lint.add_argument("path", nargs="?", type=Path, help="knowledge folder (default: knowledge/)")
    lint.add_argument("--json", action="store_true", help="print the findings as JSON")

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
    try:
        return parse_since(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


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


def cmd_ingest(runtime: Runtime, args: argparse.Namespace) -> int:
    try:
        summary = runtime.ingest(args.path, wait=args.wait)
    except (AdoptbotError, KeyboardInterrupt):
        raise
    except Exception as e:
        logging.getLogger("adoptbot.ingest").exception("ingest failed")
        print(
            f"adoptbot: ingest failed ({type(e).__name__}: {visible(str(e))}); the previous index is still "
            "serving. Fix the cause (disk space? permissions?) and run `adoptbot ingest` again.",
            file=sys.stderr,
        )
        return EXIT_FAILED
    print(json.dumps(summary.to_dict()) if args.json else summary.render())
    return EXIT_FAILED if args.strict and summary.skipped else EXIT_OK


def cmd_status(runtime: Runtime, args: argparse.Namespace) -> int:
    info = runtime.store.info()
    if args.json:
        print(json.dumps(info.__dict__ if info else None))
    elif info is None:
        print("The knowledge base has not been indexed yet: run `adoptbot ingest`.")
    else:
        print(
            f"{info.documents} documents, {info.chunks} chunks, indexed {visible(info.indexed_at)} "
            f"(collection version {info.version}, generation {info.generation}, "
            f"embeddings: {visible(info.embed_model)})."
        )
    if not args.json:
        print(f"Answers with: {runtime.engine.describe_backend()}.")
    return EXIT_OK


def ensure_index(runtime: Runtime) -> None:
    """An empty index triggers an ingest of the knowledge folder, or says how to make one."""
    if runtime.store.current() is not None:
        return
    if not runtime.settings.knowledge_dir.is_dir():
        raise IndexEmpty(
            "The knowledge base has not been indexed yet: run `adoptbot ingest PATH` with the folder "
            "holding your guidance (or set ADOPTBOT_KNOWLEDGE_DIR)."
        )
    print(f"adoptbot: the index is empty; indexing {runtime.settings.knowledge_dir} first...", file=sys.stderr)
    # Waits for an ingest running elsewhere (replicas starting beside the first ingest) instead of exiting.
    summary = runtime.ingest(wait=True)
    print(summary.render(), file=sys.stderr)
    if runtime.store.current() is None:
        raise IndexEmpty(f"Nothing in {runtime.settings.knowledge_dir} could be indexed (see the skipped files above).")


def render_answer(answer: Answer) -> str:
    """An answer and its sources for a person reading a terminal; nothing from the files reaches it raw."""
    lines = [visible(answer.text, keep="\n\t"), ""]
    if answer.sources:
        lines.append("Sources:")
        lines += [f"  [{c.n}] {_cite_line(c)}" for c in answer.sources]
    if answer.related:
        lines.append("Related:" if answer.answered else "Nearest topics:")
        lines += [f"  - {_cite_line(c)}" for c in answer.related]
    lines += [f"Note: {visible(n)}" for n in answer.notes]
    if answer.status != "smalltalk":
        lines.append(f"({answer.backend}, {answer.timings_ms.get('total', 0):.0f} ms)")
    return "\n".join(lines).rstrip()


def _cite_line(c: Citation) -> str:
    """One citation on one line: line breaks and invisible characters (U+202E) in metadata are escaped."""
    reviewed = f", reviewed {c.last_reviewed}" if c.last_reviewed else ""
    reviewed += ", review overdue" if c.review_overdue else ""
    url = f" <{c.url}>" if c.url else ""
    return visible(f"{c.title} - {c.section} ({c.source}{reviewed}){url}")


def cmd_ask(runtime: Runtime, args: argparse.Namespace) -> int:
    ensure_index(runtime)
    engine = runtime.engine
    if args.question == ["-"]:
        for line in sys.stdin:
            if not line.strip():
                continue
            try:
                question = replace(question_from_line(line), place=args.place or "")
                answer = engine.answer(question, backend=args.backend)
                audit_terminal(runtime, answer)
                out = answer.to_dict() if args.json else render_answer(answer)
            except (EmptyQuestion, ValueError) as e:
                out = {"question": line.strip()[:200], "status": "error", "error": str(e)} if args.json else str(e)
            print(json.dumps(out) if args.json else f"{out}\n", flush=True)
        return EXIT_OK
    answer = engine.answer(Question(" ".join(args.question), place=args.place or ""), backend=args.backend)
    audit_terminal(runtime, answer)
    print(json.dumps(answer.to_dict()) if args.json else render_answer(answer))
    return EXIT_OK


def audit_terminal(runtime: Runtime, answer: Answer) -> None:
    """The terminal's questions go to the audit log like Slack's and Teams', asked by the login name."""
    runtime.chat.record(answer, platform="terminal", channel_kind="terminal", user=login_name())


def login_name() -> str:
    """Who is at the terminal (empty for a container user with no name)."""
    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return ""


def question_from_line(line: str) -> Question:
    """A plain line is a question; a JSON line is `{"question": ..., "history": [{"role", "text"}, ...]}`."""
    if not line.lstrip().startswith("{"):
        return Question(line.rstrip("\n"))
    try:
        raw = json.loads(line)
        history = tuple(Turn(t["role"], str(t["text"])) for t in raw.get("history") or [])
        if not isinstance(raw["question"], str) or any(t.role not in ("user", "assistant") for t in history):
            raise TypeError
    except json.JSONDecodeError as e:
        raise ValueError(f"not valid JSON ({e.msg}, column {e.colno})") from None
    except (KeyError, TypeError, AttributeError):
        raise ValueError(
            'a JSON line needs "question" (text) and optionally "history": '
            '[{"role": "user" or "assistant", "text": ...}, ...]'
        ) from None
    return Question(raw["question"], history=history)


def cmd_chat(runtime: Runtime, args: argparse.Namespace) -> int:
    ensure_index(runtime)
    chat, user = runtime.chat, login_name()
    print("adoptbot: ask about adopting generative AI. /help lists the commands, /new starts over, /quit leaves.")
    history: list[Turn] = []
    while True:
        try:
            line = input("\nyou> ").strip()
        except EOFError:
            print()
            return EXIT_OK
        if line in ("/quit", "/exit"):
            return EXIT_OK
        if line == "/new":
            history = []
            print("(new conversation)")
            continue
        if line.startswith("/") and line[1:].split(" ")[0].lower() in COMMAND_VERBS:
            said = chat.command(
                line[1:], platform="terminal", user=user, report=lambda text: print(f"\nadoptbot> {plain(text)}"),
                how=lambda verb: f"/{verb}", ask="Type a question; what you type next follows on from it.",
                extra=("/new: start a new conversation; /quit: leave",
                       "outside the chat: `adoptbot assess` (LLM, image model or both?) and `adoptbot checklist`"),
            )  # fmt: skip
            print(f"\nadoptbot> {plain(said)}")
            continue
        if not line:
            continue
        question = Question(line, history=tuple(history), user=user, place=args.place or "")
        reply = chat.ask(question, platform="terminal", channel_kind="terminal", backend=args.backend)
        print("\nadoptbot> " + (render_answer(reply.answer) if reply.answer else plain(reply.text)))
        if reply.answer is not None:
            history += [Turn("user", line), Turn("assistant", reply.answer.text)]


def plain(markdown: str) -> str:
    """Core Markdown for a terminal: bold markers dropped, invisible characters escaped."""
    return visible(markdown.replace("**", ""), keep="\n\t")


def cmd_eval(runtime: Runtime, args: argparse.Namespace) -> int:
    questions = load_questions(*(args.questions or [runtime.settings.knowledge_dir / "eval"]))
    if args.retrieval:
        runtime.retriever.mode = args.retrieval
    if args.fusion:
        runtime.retriever.fusion = args.fusion
    ensure_index(runtime)
    report = run_eval(runtime.engine, questions, backend=args.backend)
    print(json.dumps(report.to_dict()) if args.json else report.render())
    below = []
    if report.pass_rate < args.min_pass:
        below.append(f"in-scope pass rate {report.pass_rate:.1%} < {args.min_pass:.0%}")
    if report.abstention_rate < args.min_abstain:
        below.append(f"abstention rate {report.abstention_rate:.1%} < {args.min_abstain:.0%}")
    hit5 = report.hit5 / report.with_source if report.with_source else 0.0
    if args.min_hit5 and hit5 < args.min_hit5:
        below.append(f"hit@5 {hit5:.1%} < {args.min_hit5:.0%}")
    for name, score, bar in (
        ("in-scope conversations", report.conversation_in, args.min_conv_pass),
        ("off-topic follow-ups declined", report.conversation_out, args.min_conv_abstain),
        ("small talk recognised", report.smalltalk, args.min_smalltalk),
    ):
        if bar and score.rate < bar:
            below.append(f"{name} {score.rate:.1%} < {bar:.0%}")
    if report.wrong_cited_rate > args.max_wrong_cited:
        below.append(f"wrong answers with a citation {report.wrong_cited_rate:.1%} > {args.max_wrong_cited:.0%}")
    for problem in below:
        print(f"adoptbot eval: below threshold: {problem}", file=sys.stderr)
    return EXIT_FAILED if below else EXIT_OK


def cmd_serve(runtime: Runtime, args: argparse.Namespace) -> int:
    from aiohttp import web

    from bot.web.server import build_web_app

    settings = runtime.settings
    if not (settings.slack_enabled or settings.teams_enabled or args.teams):
        raise ConfigError(
            "Nothing to serve: set SLACK_BOT_TOKEN (and SLACK_APP_TOKEN or SLACK_SIGNING_SECRET) for Slack, "
            "or CONNECTIONS__SERVICE_CONNECTION__SETTINGS__CLIENTID (with CLIENTSECRET and TENANTID) for Teams; "
            "see the README. Or run `adoptbot chat` for a terminal chat."
        )
    runtime.audiences  # noqa: B018 - a broken audiences file stops start-up before any slow work
    http = args.slack_http or not settings.slack_app_token
    if settings.slack_enabled:
        from bot.slack.app import check_slack_settings

        check_slack_settings(settings, http=http)  # configuration errors before any slow work
    teams = runtime.teams_endpoint() if (settings.teams_enabled or args.teams) else None
    ensure_index(runtime)
    slack = None
    if settings.slack_enabled:
        slack = runtime.slack_app(http=http)
        if not http:
            from bot.slack.app import connect_socket_mode

            connect_socket_mode(slack, settings.slack_app_token)
            print("adoptbot: Slack connected over Socket Mode.", file=sys.stderr)
            slack = None  # events arrive over the socket, not over HTTP
        else:
            print("adoptbot: Slack events expected at POST /slack/events.", file=sys.stderr)
    runtime.warm_up()
    if teams is not None:
        print("adoptbot: Teams activities expected at POST /api/messages.", file=sys.stderr)
    app = build_web_app(
        index_info=runtime.index_info,
        slack=slack,
        teams=teams,
        report=lambda since: report_page(runtime, since),
        admin_token=settings.admin_token,
        metrics=runtime.metrics,
        readiness=readiness(runtime),
    )
    host, port = args.host or settings.host, args.port or settings.port
    print(f"adoptbot: listening on http://{host}:{port} (GET /healthz)", file=sys.stderr)
    if settings.admin_token:
        print("adoptbot: the insight report is at GET /admin/report (bearer: ADOPTBOT_ADMIN_TOKEN).", file=sys.stderr)
    web.run_app(app, host=host, port=port, print=None)
    return EXIT_OK


def readiness(runtime: Runtime) -> dict[str, Callable[[], str | None]]:
    """What /readyz checks besides the index: the database, and the Chroma server when one is configured."""
    from bot.web.health import chroma_reachable
    from common.errors import DatabaseUnavailable

    def database() -> str | None:
        try:
            runtime.database.ping()
        except DatabaseUnavailable as e:
            return str(e)
        return None

    checks: dict[str, Callable[[], str | None]] = {"database": database}
    if runtime.settings.chroma_url:
        checks["chroma"] = chroma_reachable(runtime.store.client)
    return checks


def cmd_teams_package(runtime: Runtime, args: argparse.Namespace) -> int:
    from bot.teams.package import build_package

    out = build_package(
        app_id=args.app_id or runtime.settings.teams_client_id,
        out=args.out,
        developer_name=args.developer_name,
        website_url=args.website_url,
    )
    print(
        f"Wrote {out}: upload it in Teams (Apps -> Manage your apps -> Upload an app), or give it to your "
        "Teams admin for the Teams admin center."
    )
    return EXIT_OK


def cmd_kb(runtime: Runtime, args: argparse.Namespace) -> int:
    """`adoptbot kb lint`: one line per finding; exit 1 if any is an error."""
    from ingest.lint import ERROR, lint
    from kb.limits import Limits

    settings = runtime.settings
    root = args.path or settings.knowledge_dir
    if not root.is_dir():
        raise ConfigError(f"Knowledge folder {root} does not exist: pass it (adoptbot kb lint PATH).")
    findings = lint(
        root,
        today=dt.date.today(),
        review_after_days=settings.review_after_days,
        max_file_bytes=settings.max_file_bytes,
        limits=Limits.from_settings(settings),
    )
    errors = sum(1 for f in findings if f.severity == ERROR)
    if args.json:
        print(
            json.dumps(
                {"errors": errors, "warnings": len(findings) - errors, "findings": [f.to_dict() for f in findings]}
            )
        )
    else:
        for finding in findings:
            print(finding.render())
        print(f"{errors} errors, {len(findings) - errors} warnings in {root}.")
    return EXIT_FAILED if errors else EXIT_OK


def cmd_run(runtime: Runtime, args: argparse.Namespace) -> int:
    print(runtime.ingest().render(), file=sys.stderr)
    if runtime.settings.slack_enabled or runtime.settings.teams_enabled:
        return cmd_serve(runtime, argparse.Namespace(slack_http=False, teams=False, port=None, host=None))
    print("adoptbot: no chat platform configured (see the README); starting the terminal chat.", file=sys.stderr)
    return cmd_chat(runtime, argparse.Namespace(backend=args.backend, place=None))


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


def report_page(runtime: Runtime, since: dt.datetime | None) -> str:
    """The insight report over the runtime's audit log, its content gaps grouped with the runtime's embedder."""
    from bot.state.report import build_report

    store = open_audit_log(runtime)
    return build_report(
        store.audit(since or dt.datetime.min.replace(tzinfo=dt.UTC)),
        embedder=runtime.embedder,
        now=dt.datetime.now(dt.UTC),
        since=since,
        review_after_days=runtime.settings.review_after_days,
    )


def cmd_report(runtime: Runtime, args: argparse.Namespace) -> int:
    page = report_page(runtime, args.since)
    write_atomically(args.out, page)
    print(f"adoptbot: wrote the insight report to {args.out} ({len(page.encode()):,} bytes).", file=sys.stderr)
    return EXIT_OK


def write_atomically(out: Path, text: str) -> None:
    """Write text to out through a temporary file, so a half-written file never replaces a good one."""
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8", newline="")
        os.replace(tmp, out)
    except OSError as e:
        tmp.unlink(missing_ok=True)
        raise ConfigError(f"Cannot write {out} ({e.strerror or e}): choose another --out.") from None


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


# ---- adoption tools: `adoptbot assess` and `adoptbot checklist` (bot/tools/assessment.py, bot/tools/checklists.py)


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


def _login() -> str:
    """Who is at the terminal: the login name, or 'terminal' for a container user with no name."""
    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return "terminal"


def cmd_assess(runtime: Runtime, args: argparse.Namespace) -> int:
    from bot.tools.assessment import AnswerError, Incomplete, relevant

    idea = " ".join(args.idea).strip()
    if args.json and not idea and not args.answer:
        raise ConfigError(
            'Give the idea in a sentence: adoptbot assess --json "We want product photos in twenty backgrounds", '
            "or run `adoptbot assess` to answer the questions one by one."
        )
    assessor = runtime.tools.assessor  # the one Slack and Teams use
    session = assessor.session(idea)
    for pair in args.answer:
        question, _, reply = pair.partition("=")
        try:
            session.answer(question.strip(), reply)
        except AnswerError as e:
            raise ConfigError(f"--answer {pair}: {e}") from None
    ensure_index(runtime)
    if args.json:
        try:
            result = assessor.assess(session, place=args.place or "")
        except Incomplete as e:
            q = e.questions[0]
            print(f"adoptbot: {visible(str(e))} For example: --answer {q.id}={q.choices[0].id}", file=sys.stderr)
            return EXIT_USAGE
        print(json.dumps(result.to_dict()))
        return EXIT_OK
    if not idea and sys.stdin.isatty():
        print("adoptbot: describe the idea in a sentence, or press Enter to go through the questions.")
        idea = _read_reply("idea> ")
        session = assessor.session(idea or "")
    for given in session.answers.values():
        if relevant(session.table.question(given.question), session.answers):
            print(f"  from your description: {visible(given.explain(session.table))}")
    while True:
        ended = _ask_in_turn(session, AnswerError)
        try:
            result = assessor.assess(session, place=args.place or "")
        except Incomplete as e:
            print(f"\n{visible(str(e))}")
            if ended:
                return EXIT_USAGE
            session.skipped -= {q.id for q in e.questions}  # needed after all: ask it again
            continue
        print("\n" + render_assessment(result))
        return EXIT_OK


def _read_reply(prompt: str) -> str | None:
    """One line from the person at the terminal; None once input has ended."""
    try:
        return input(prompt).strip()
    except EOFError:
        print()
        return None


def _ask_in_turn(session: Any, answer_error: type[Exception]) -> bool:
    """Ask every question still open, one at a time, until all are answered or skipped; True if input ended."""
    while (question := session.next_question()) is not None:
        print(f"\n{visible(question.ask)}")
        suggested = session.suggested(question.id)
        for n, choice in enumerate(question.choices, start=1):
            print(f"  {n}. {visible(choice.label)}{'   <- suggested' if choice.id == suggested else ''}")
        keep = "Enter keeps the suggestion" if suggested else "Enter skips"
        reply = _read_reply(f"(a number, or say it in your words; {keep})> ")
        if reply is None:
            for q in session.pending():
                session.skip(q.id)
            return True
        if not reply:
            session.skip(question.id)
            continue
        try:
            session.answer(question.id, reply)
        except answer_error as e:
            print(visible(str(e)))
    return False


def render_assessment(result: Any) -> str:
    """An assessment for a person reading a terminal: the reasons step by step, risks, open questions, sources."""
    family = f" (family: {result.family})" if result.family else ""
    names = {"llm": "an LLM", "generative": "a broader generative model", "hybrid": "a hybrid"}
    lines = [f"Recommendation: {names[result.recommendation]}{family}", ""]
    for n, step in enumerate(result.steps, start=1):
        marks = "".join(f"[{k}]" for k in step.sources)
        lines += [f"{n}. {visible(step.title)}", f"   {visible(step.finding)} {marks}".rstrip(), ""]
    if result.checklist_risks:
        lines.append("Checklist items at risk:")
        for risk in result.checklist_risks:
            marks = "".join(f"[{k}]" for k in risk.sources)
            lines.append(f"  - {risk.checklist}/{risk.item}: {visible(risk.text)} {marks}".rstrip())
            lines += [f"      because: {visible(b)}" for b in risk.because]
        lines.append("")
    if result.open_questions:
        lines.append("Open questions:")
        for q in result.open_questions:
            assumed = f" (assumed: {visible(q.assumed)})" if q.assumed else ""
            lines.append(f"  - {visible(q.ask)}{assumed}")
        lines.append("")
    if result.sources:
        lines.append("Sources:")
        lines += [f"  [{c.n}] {_cite_line(c)}" for c in result.sources]
    return "\n".join(lines).rstrip()


def cmd_checklist(runtime: Runtime, args: argparse.Namespace) -> int:
    from bot.tools.checklists import ChecklistError

    board = runtime.tools.board  # the same store as Slack and Teams: the shared-state database
    words, channel, user = args.words, args.channel, _login()
    try:
        return _checklist(board, words, channel, user, args.place or "", args)
    except ChecklistError as e:
        print(f"adoptbot: {visible(str(e))}", file=sys.stderr)
        return EXIT_USAGE
    finally:
        board.store.close()


def _checklist(board: Any, words: list[str], channel: str, user: str, place: str, args: argparse.Namespace) -> int:
    """One checklist command: list, show, post and tick, status or export, seeing what place sees."""
    from bot.tools.checklists import ChecklistError

    if (args.tick or args.untick) and (len(words) != 2 or words[0] in ("status", "export")):
        raise ChecklistError(
            "--tick and --untick need a checklist and a project: adoptbot checklist NAME PROJECT --tick 1"
        )
    if not words:
        for c in board.names(place):
            print(f"{c.id}: {visible(c.title)} ({len(c.items)} items)")
        print("Work through one for a project: adoptbot checklist NAME PROJECT (then --tick N).")
    elif words == ["status"]:
        every = board.status(channel, place=place)
        if not every:
            print(f"No projects in {visible(channel)} yet: start one with adoptbot checklist NAME PROJECT.")
        for p in every:
            print(f"{visible(p.project.project)}: {p.checklist.id} {p.done}/{p.total} done")
    elif words[0] == "export":
        if len(words) != 2:
            raise ChecklistError('Name one project: adoptbot checklist export PROJECT (quote it: "web shop")')
        text = board.export(channel, words[1], place=place)
        if args.out:
            write_atomically(args.out, text)
            print(f"adoptbot: wrote the go-live review of {visible(words[1])} to {args.out}.", file=sys.stderr)
        else:
            sys.stdout.write(text)
    elif len(words) == 1:
        checklist = board.find(words[0], place)
        print(visible(checklist.title))
        for n, item in enumerate(checklist.items, start=1):
            print(f"  {n}. {visible(item.text)}")
        print(f"Work through it for a project: adoptbot checklist {checklist.id} PROJECT")
    elif len(words) == 2:
        checklist = board.find(words[0], place)
        for ref in [*args.tick, *args.untick]:
            checklist.item(ref)  # every item must exist before anything is ticked
        progress = board.post(channel, words[1], words[0], user, place=place)
        for item, done in [*((i, True) for i in args.tick), *((i, False) for i in args.untick)]:
            progress = board.tick(channel, words[1], words[0], item, user, done=done, place=place)
        print(render_progress(progress))
    else:
        raise ChecklistError('Give a checklist and one project name: quote a name with spaces ("web shop")')
    return EXIT_OK


def render_progress(progress: Any) -> str:
    """A project's checklist for the terminal: [x] per ticked item, with who and when."""
    c = progress.checklist
    lines = [f"{visible(c.title)} - {visible(progress.project.project)}: {progress.done} of {progress.total} done"]
    for s in progress.items:
        who = f"  (ticked by {visible(s.by)}, {s.at})" if s.done else ""
        lines.append(f"  {s.n}. [{'x' if s.done else ' '}] {visible(s.item.text)}{who}")
    return "\n".join(lines)


# ---- end of the adoption tools


COMMANDS = {
    "serve": cmd_serve,
    "run": cmd_run,
    "teams-package": cmd_teams_package,
    "ingest": cmd_ingest,
    "status": cmd_status,
    "ask": cmd_ask,
    "chat": cmd_chat,
    "eval": cmd_eval,
    "audit": cmd_audit,
    "report": cmd_report,
    "kb": cmd_kb,
    "assess": cmd_assess,
    "checklist": cmd_checklist,
}


def main_exit() -> None:
    """Console-script wrapper: exit with main()'s status."""
    sys.exit(main())


if __name__ == "__main__":
    main_exit()
