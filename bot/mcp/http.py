"""MCP over streamable HTTP at /mcp, on the aiohttp server that serves Slack and Teams.

The SDK's streamable HTTP transport is an ASGI application (`StreamableHTTPSessionManager.handle_request`).
Rather than a second server on a second port, this module is the pair of translations at the edge:
an aiohttp request becomes an ASGI scope with its body, and the ASGI messages sent back become the
aiohttp response. The bearer token is checked here, before the SDK sees anything: an unknown one is a
401, a known one puts its Caller (its place, for the audiences) on the scope, where bot/mcp/server.py
reads it. The transport runs stateless with JSON responses, so any replica behind a load balancer can
answer any request (no session to keep).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, MutableMapping
from typing import Any

from aiohttp import web
from mcp.server import Server
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager

from bot.mcp.knowledge import Caller
from bot.mcp.server import CALLER
from bot.web.refusals import LogLimiter, bearer_matches

Message = MutableMapping[str, Any]
Asgi = Callable[[Message, Callable[[], Awaitable[Message]], Callable[[Message], Awaitable[None]]], Awaitable[None]]
PATH = "/mcp"


class McpEndpoint:
    """/mcp for bearers of a configured token; each token calls from its place (token -> place)."""

    def __init__(self, server: Server[Any], places: Mapping[str, str]) -> None:
        if not places:
            raise ValueError("an MCP endpoint needs at least one token")
        self._callers = {token: token_caller(token, place) for token, place in places.items()}
        self._manager = StreamableHTTPSessionManager(app=server, stateless=True, json_response=True)

    def caller(self, authorization: str | None) -> Caller | None:
        """The caller of a bearer token (every token compared, in constant time), or None."""
        found = None
        for token, caller in self._callers.items():
            if bearer_matches(authorization, token):
                found = caller
        return found

    def route(self, refusals: LogLimiter) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        """The aiohttp handler for every method on /mcp."""

        async def mcp(request: web.Request) -> web.StreamResponse:
            caller = self.caller(request.headers.get("Authorization"))
            if caller is None:
                refusals.warning("MCP request from %s refused (401): no or unknown bearer token", request.remote)
                return web.json_response(
                    {"error": "send one of the tokens in ADOPTBOT_MCP_TOKENS as Authorization: Bearer <token>"},
                    status=401,
                    headers={"WWW-Authenticate": 'Bearer realm="adoptbot mcp"'},
                )
            return await call_asgi(self._manager.handle_request, request, state={CALLER: caller})

        return mcp

    async def running(self, _: web.Application) -> AsyncIterator[None]:
        """For the app's cleanup_ctx: the SDK's transport runs from start-up to shutdown.

        It runs in a task of its own, so it is entered and left in one task whatever task aiohttp starts
        and cleans up in.
        """
        started, stop = asyncio.Event(), asyncio.Event()

        async def run() -> None:
            async with self._manager.run():
                started.set()
                await stop.wait()

        task = asyncio.create_task(run(), name="mcp-transport")
        waiting = asyncio.create_task(started.wait())
        await asyncio.wait({task, waiting}, return_when=asyncio.FIRST_COMPLETED)
        if task.done():
            waiting.cancel()
            task.result()  # raises why the transport could not start
        try:
            yield
        finally:
            stop.set()
            with contextlib.suppress(asyncio.CancelledError):
                await task


def token_caller(token: str, place: str) -> Caller:
    """Who a token calls as: its place, and a fingerprint for the audit log (which hashes it again)."""
    return Caller(place=place, user="mcp:" + hashlib.sha256(token.encode()).hexdigest()[:16])


async def call_asgi(app: Asgi, request: web.Request, *, state: Mapping[str, Any]) -> web.StreamResponse:
    """Serve an aiohttp request with an ASGI application: the body in one message, the response as it comes."""
    body = await request.read()
    host, _, port = (request.host or "").rpartition(":")
    scope: Message = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": f"{request.version.major}.{request.version.minor}",
        "method": request.method,
        "scheme": request.scheme,
        "path": request.path,
        "raw_path": request.rel_url.raw_path.encode(),
        "query_string": request.rel_url.raw_query_string.encode(),
        "root_path": "",
        "headers": [(name.lower(), value) for name, value in request.raw_headers],
        "client": (request.remote or "", 0),
        "server": (host, int(port)) if port.isdigit() else (request.host, None),
        "state": dict(state),
    }
    delivered = False
    done = asyncio.Event()
    response: web.StreamResponse | None = None

    async def receive() -> Message:
        nonlocal delivered
        if not delivered:
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}
        await done.wait()  # nothing more will come: the client is gone once the response is over
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        nonlocal response
        if message["type"] == "http.response.start":
            response = web.StreamResponse(status=message["status"])
            for name, value in message.get("headers", []):
                response.headers.add(name.decode("latin-1"), value.decode("latin-1"))
            await response.prepare(request)
        elif message["type"] == "http.response.body" and response is not None:
            await response.write(message.get("body", b""))
            if not message.get("more_body", False):
                await response.write_eof()
                done.set()

    try:
        await app(scope, receive, send)
    finally:
        done.set()
    if response is None:  # the application ended without answering
        return web.json_response({"error": "the MCP transport did not answer"}, status=500)
    return response
