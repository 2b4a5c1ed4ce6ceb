"""Running the assistant: serve, run, teams-package, kb lint and eval."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from collections.abc import Callable
from pathlib import Path

from adoptbot.cli.index import ensure_index
from adoptbot.cli.terminal import EXIT_FAILED, EXIT_OK
from adoptbot.runtime import Runtime
from common.errors import ConfigError


def cmd_eval(runtime: Runtime, args: argparse.Namespace) -> int:
    from bot.answering.evaluation import load_questions, run_eval

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

    from adoptbot.cli.audit import report_page
    from bot.web.server import build_web_app

    settings = runtime.settings
    if not (settings.slack_enabled or settings.teams_enabled or args.teams or settings.mcp_places):
        raise ConfigError(
            "Nothing to serve: set SLACK_BOT_TOKEN (and SLACK_APP_TOKEN or SLACK_SIGNING_SECRET) for Slack, "
            "or CONNECTIONS__SERVICE_CONNECTION__SETTINGS__CLIENTID (with CLIENTSECRET and TENANTID) for Teams, "
            "or ADOPTBOT_MCP_TOKENS for other assistants; see the README. Or run `adoptbot chat` for a terminal chat."
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
    mcp = runtime.mcp_endpoint()
    if mcp is not None:
        print("adoptbot: MCP at /mcp (bearer: a token of ADOPTBOT_MCP_TOKENS).", file=sys.stderr)
    app = build_web_app(
        index_info=runtime.index_info,
        slack=slack,
        teams=teams,
        mcp=mcp,
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
    """`adoptbot teams-package [--copilot]`: the app package zip an admin uploads."""
    from bot.teams.package import build_manifest, build_package

    manifest = build_manifest(
        app_id=args.app_id or runtime.settings.teams_client_id,
        developer_name=args.developer_name,
        website_url=args.website_url,
        copilot=args.copilot,
        version=args.app_version,
    )
    default = "build/adoptbot-copilot.zip" if args.copilot else "build/adoptbot-teams.zip"
    out = build_package(manifest, out=args.out or Path(default))
    if args.copilot:
        print(
            f"Wrote {out}: a Teams admin uploads it in the Teams admin center (Teams apps -> Manage apps -> Upload "
            "new app) and makes it available to the users who should have it; they find adoptbot under Agents in "
            "Microsoft 365 Copilot Chat, and in Teams as before."
        )
    else:
        print(
            f"Wrote {out}: upload it in Teams (Apps -> Manage your apps -> Upload an app), or give it to your "
            "Teams admin for the Teams admin center."
        )
    return EXIT_OK


def cmd_kb(runtime: Runtime, args: argparse.Namespace) -> int:
    """`adoptbot kb lint` (one line per finding; exit 1 if any is an error) or `adoptbot kb suggest`."""
    if args.kb_command == "suggest":
        from adoptbot.cli.audit import cmd_suggest

        return cmd_suggest(runtime, args)
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
    from adoptbot.cli.chat import cmd_chat

    print(runtime.ingest().render(), file=sys.stderr)
    if runtime.settings.slack_enabled or runtime.settings.teams_enabled:
        return cmd_serve(runtime, argparse.Namespace(slack_http=False, teams=False, port=None, host=None))
    print("adoptbot: no chat platform configured (see the README); starting the terminal chat.", file=sys.stderr)
    return cmd_chat(runtime, argparse.Namespace(backend=args.backend, place=None))
