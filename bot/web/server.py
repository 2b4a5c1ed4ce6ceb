"""The HTTP server: one aiohttp app for Slack's /slack/events, Teams' /api/messages, /mcp and the operators' routes.

Operators' routes: /healthz (liveness), /readyz (readiness), /metrics (Prometheus), /admin/report. Slack's
edge is bot/slack/http.py, Teams' bot/teams/app.py, MCP's bot/mcp/http.py; refusals and their log lines
bot/web/refusals.py.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Callable, Mapping
from concurrent.futures import Executor, ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from aiohttp import web
from aiohttp.http_exceptions import BadHttpMessage
from aiohttp.log import server_logger

from bot.slack.http import slack_route
from bot.state.feedback import parse_since
from bot.state.report import CSP as REPORT_CSP
from bot.web.health import Check, index_loaded, run_checks
from bot.web.metrics import CONTENT_TYPE as METRICS_CONTENT_TYPE
from bot.web.metrics import Metrics
from bot.web.refusals import LimitedLog, LogLimiter, bearer_matches, refuse
from common.errors import AdoptbotError
from kb.store import IndexInfo

if TYPE_CHECKING:
    from bot.mcp.http import McpEndpoint

log = logging.getLogger(__name__)
MAX_BODY = 2 * 1024 * 1024
HEALTHZ_INDEX_WAIT_S = 2.0  # /healthz says what it can about the index in this time, and is 200 regardless
OPS_THREADS = 4  # health checks and scrapes get threads of their own: busy answer threads must not fail /readyz
METRICS = web.AppKey("metrics", Metrics)


def report_route(
    report: Callable[[dt.datetime | None], str], admin_token: str, refusals: LogLimiter
) -> Callable[[web.Request], Any]:
    """GET /admin/report[?since=DATE]: the insight report for a bearer of the admin token, 401 for anyone else."""

    async def admin_report(request: web.Request) -> web.Response:
        if not bearer_matches(request.headers.get("Authorization"), admin_token):
            refusals.warning("report request from %s refused (401): no or wrong admin token", request.remote)
            return web.json_response(
                {"error": "send the admin token (ADOPTBOT_ADMIN_TOKEN) as Authorization: Bearer <token>"},
                status=401,
                headers={"WWW-Authenticate": 'Bearer realm="adoptbot admin"'},
            )
        since = None
        if request.query.get("since"):
            try:
                since = parse_since(request.query["since"])
            except ValueError as e:
                return refuse(400, f"since: {e}")
        try:
            page = await asyncio.get_running_loop().run_in_executor(None, report, since)
        except AdoptbotError as e:  # the audit log cannot be opened: say so, not a bare 500
            log.warning("the insight report could not be built: %s", e)
            return refuse(503, f"the report could not be built: {e}")
        return web.Response(
            text=page,
            content_type="text/html",
            headers={"Content-Security-Policy": REPORT_CSP, "Cache-Control": "no-store"},
        )

    return admin_report


def health_routes(
    *,
    index_info: Callable[[], IndexInfo | None],
    readiness: Mapping[str, Check],
    check_timeout_s: float,
    platforms: dict[str, bool],
    executor: Executor | None = None,
) -> tuple[Callable[[web.Request], Any], Callable[[web.Request], Any]]:
    """GET /healthz (alive: always 200, with what it learns of the index in 2 s) and GET /readyz."""

    async def healthz(_: web.Request) -> web.Response:
        try:
            info = await asyncio.wait_for(
                asyncio.get_running_loop().run_in_executor(executor, index_info), HEALTHZ_INDEX_WAIT_S
            )
        except Exception:  # noqa: BLE001 - liveness: a slow or broken store is for /readyz to report
            info = None
        return web.json_response(
            {
                "ok": True,
                **platforms,
                "documents": info.documents if info else 0,
                "chunks": info.chunks if info else 0,
                "indexed_at": info.indexed_at if info else None,
            }
        )

    async def readyz(_: web.Request) -> web.Response:
        results = await run_checks(readiness, timeout_s=check_timeout_s, executor=executor)
        not_ready = {name: reason for name, reason in results.items() if reason is not None}
        body = {
            "ready": not not_ready,
            "not_ready": sorted(not_ready),
            "checks": {name: reason or "ok" for name, reason in results.items()},
        }
        return web.json_response(body, status=503 if not_ready else 200)

    return healthz, readyz


def metrics_route(metrics: Metrics, executor: Executor | None = None) -> Callable[[web.Request], Any]:
    """GET /metrics: Prometheus' text format, built off the event loop (reading the index may take a while)."""

    async def scrape(_: web.Request) -> web.Response:
        body = await asyncio.get_running_loop().run_in_executor(executor, metrics.exposition)
        return web.Response(body=body, headers={"Content-Type": METRICS_CONTENT_TYPE})

    return scrape


def build_web_app(
    *,
    index_info: Callable[[], IndexInfo | None],
    slack: Any = None,
    teams: Any = None,
    mcp: McpEndpoint | None = None,
    refusals: LogLimiter | None = None,
    report: Callable[[dt.datetime | None], str] | None = None,
    admin_token: str = "",
    metrics: Metrics | None = None,
    readiness: Mapping[str, Check] | None = None,
    check_timeout_s: float = 2.0,
) -> web.Application:
    """Routes for whatever is configured, plus GET /healthz, /readyz and /metrics. `teams` is a TeamsEndpoint.

    /readyz runs the "index" check (from index_info) and every named check in `readiness`; /metrics
    serves `metrics` (default: a fresh Metrics over index_info, also at app[METRICS]).
    GET /admin/report exists only when both `report` (since -> HTML) and `admin_token` are given; /mcp
    only with an `mcp` endpoint (bot/mcp/http.py: at least one token configured).
    """
    refusals = refusals or LogLimiter(log)
    metrics = metrics or Metrics(index_info=index_info)
    checks = {"index": index_loaded(index_info), **(readiness or {})}

    @web.middleware
    async def unreadable_bodies(request: web.Request, handler: Callable[[web.Request], Any]) -> web.StreamResponse:
        try:
            return await handler(request)
        except (web.RequestPayloadError, BadHttpMessage) as e:  # a body cut short or badly chunked
            refusals.warning("request to %s from %s refused (400): %s", request.path, request.remote, type(e).__name__)
            return refuse(400, "the body could not be read (check Content-Encoding and Content-Length)")

    # Bodies are taken as sent: Slack and Teams do not compress them, and aiohttp would otherwise log a
    # traceback for each one that claims a Content-Encoding it does not have, even on refused requests.
    # Requests aiohttp cannot parse never reach a middleware: its own loggers go through the limiter.
    app = web.Application(
        client_max_size=MAX_BODY,
        middlewares=[unreadable_bodies],
        handler_args={
            "auto_decompress": False,
            "logger": LimitedLog(server_logger, refusals),
        },
    )
    app[METRICS] = metrics
    ops = ThreadPoolExecutor(max_workers=OPS_THREADS, thread_name_prefix="ops")

    async def stop_ops(_: web.Application) -> None:
        ops.shutdown(wait=False, cancel_futures=True)  # a check that hangs must not hold up shutdown

    app.on_cleanup.append(stop_ops)
    healthz, readyz = health_routes(
        index_info=index_info,
        readiness=checks,
        check_timeout_s=check_timeout_s,
        platforms={"slack": slack is not None, "teams": teams is not None},
        executor=ops,
    )
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics_route(metrics, ops))
    if slack is not None:
        app.router.add_post("/slack/events", slack_route(slack, refusals))
    if teams is not None:
        app["agent_configuration"] = teams.auth_config  # read by the SDK's JWT check
        app.router.add_post("/api/messages", teams.handler)
    if mcp is not None:
        from bot.mcp.http import PATH

        app.cleanup_ctx.append(mcp.running)
        app.router.add_route("*", PATH, mcp.route(refusals))
    if report is not None and admin_token:
        app.router.add_get("/admin/report", report_route(report, admin_token, refusals))
    return app
