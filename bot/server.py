"""The HTTP server: one aiohttp app for /healthz, Slack's /slack/events and Teams' /api/messages."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from aiohttp import web

from bot.store import IndexInfo

log = logging.getLogger(__name__)
MAX_BODY = 2 * 1024 * 1024


async def to_bolt_request(request: web.Request) -> Any:
    """aiohttp request -> BoltRequest (the raw body is kept: the signature covers it)."""
    from slack_bolt.request import BoltRequest

    return BoltRequest(body=await request.text(), query=request.query_string, headers=dict(request.headers))


def to_aiohttp_response(bolt_response: Any, *, retried: bool) -> web.Response:
    """BoltResponse -> aiohttp response; a retried delivery is told not to retry again."""
    headers = dict(bolt_response.first_headers_without_set_cookie())
    if retried:
        headers["X-Slack-No-Retry"] = "1"
    return web.Response(status=bolt_response.status, body=bolt_response.body.encode(), headers=headers)


def slack_route(bolt_app: Any) -> Callable[[web.Request], Any]:
    """POST /slack/events: dispatch to the sync bolt App off the event loop."""

    async def slack_events(request: web.Request) -> web.Response:
        bolt_request = await to_bolt_request(request)
        response = await asyncio.get_running_loop().run_in_executor(None, bolt_app.dispatch, bolt_request)
        return to_aiohttp_response(response, retried="X-Slack-Retry-Num" in request.headers)

    return slack_events


def build_web_app(
    *,
    index_info: Callable[[], IndexInfo | None],
    slack: Any = None,
    teams: Any = None,
) -> web.Application:
    """Routes for whatever is configured, plus GET /healthz. `teams` is a TeamsEndpoint."""
    app = web.Application(client_max_size=MAX_BODY)

    async def healthz(_: web.Request) -> web.Response:
        info = await asyncio.get_running_loop().run_in_executor(None, index_info)
        return web.json_response(
            {
                "ok": info is not None,
                "slack": slack is not None,
                "teams": teams is not None,
                "documents": info.documents if info else 0,
                "chunks": info.chunks if info else 0,
                "indexed_at": info.indexed_at if info else None,
            },
            status=200 if info is not None else 503,
        )

    app.router.add_get("/healthz", healthz)
    if slack is not None:
        app.router.add_post("/slack/events", slack_route(slack))
    if teams is not None:
        app["agent_configuration"] = teams.auth_config  # read by the SDK's JWT check
        app.router.add_post("/api/messages", teams.handler)
    return app
