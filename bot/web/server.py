"""The HTTP server: one aiohttp app for Slack's /slack/events, Teams' /api/messages and the operators' routes.

Operators' routes: /healthz (liveness), /readyz (readiness), /metrics (Prometheus), /admin/report.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import hmac
import logging
import re
import sys
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Executor, ThreadPoolExecutor
from typing import Any

from aiohttp import web
from aiohttp.http_exceptions import BadHttpMessage, HttpProcessingError
from aiohttp.log import server_logger

from bot.state.feedback import parse_since
from bot.state.report import CSP as REPORT_CSP
from bot.web.health import Check, index_loaded, run_checks
from bot.web.metrics import CONTENT_TYPE as METRICS_CONTENT_TYPE
from bot.web.metrics import Metrics
from common.errors import AdoptbotError, ConfigError
from kb.store import IndexInfo

log = logging.getLogger(__name__)
MAX_BODY = 2 * 1024 * 1024
SLACK_MAX_AGE_S = 60 * 5  # Slack's own rule: older requests may be replays
_TIMESTAMP = re.compile(r"[0-9]{1,12}")  # ASCII digits only: int() would also take "١٢" or " 12"
HEALTHZ_INDEX_WAIT_S = 2.0  # /healthz says what it can about the index in this time, and is 200 regardless
OPS_THREADS = 4  # health checks and scrapes get threads of their own: busy answer threads must not fail /readyz
METRICS = web.AppKey("metrics", Metrics)


class LogLimiter:
    """At most `per_minute` lines a minute about refused requests, then one line counting the rest.

    A flood of junk requests must not become a flood of log lines.
    """

    def __init__(self, logger: logging.Logger, *, per_minute: int = 20, clock: Callable[[], float] = time.monotonic):
        self._logger = logger
        self._per_minute = per_minute
        self._clock = clock
        self._lock = threading.Lock()
        self._start = clock()
        self._logged = 0
        self._suppressed = 0

    def warning(self, message: str, *args: object) -> None:
        """Log one line, unless this minute's allowance is spent."""
        if self.allows():
            self._logger.warning(message, *args)

    def allows(self) -> bool:
        """Whether one more line fits in this minute's allowance; a line that does not is counted."""
        with self._lock:
            now = self._clock()
            if now - self._start >= 60:
                if self._suppressed:
                    self._logger.warning("suppressed %d similar lines in the last minute", self._suppressed)
                self._start, self._logged, self._suppressed = now, 0, 0
            if self._logged >= self._per_minute:
                self._suppressed += 1
                return False
            self._logged += 1
            return True


class LimitedLog(logging.LoggerAdapter):
    """aiohttp's server logger, whose lines about requests it cannot parse go through a LogLimiter, one short line each.

    aiohttp logs a full traceback for every request it cannot parse (both Content-Length and chunked, a
    broken header): a flood of such requests must not become a flood of log lines.
    """

    def __init__(self, logger: logging.Logger, limiter: LogLimiter) -> None:
        super().__init__(logger, {})
        self.limiter = limiter

    def log(self, level: int, msg: object, *args: object, exc_info: Any = None, **kwargs: Any) -> None:
        """A request aiohttp could not parse: one line without traceback, within the allowance; the rest as written."""
        error = sys.exc_info()[1] if exc_info is True else exc_info[1] if isinstance(exc_info, tuple) else exc_info
        if level < logging.WARNING or not isinstance(error, HttpProcessingError):
            # Our own handlers' failures keep their traceback: only requests aiohttp cannot parse are cut short.
            super().log(level, msg, *args, exc_info=exc_info, **kwargs)
            return
        if not self.isEnabledFor(level) or not self.limiter.allows():
            return
        try:
            text = str(msg) % args if args else str(msg)
        except (TypeError, ValueError, KeyError):
            text = str(msg)
        # aiohttp's parser errors span lines and quote the raw request: one line of it is enough
        text += f": {type(error).__name__}: {' '.join(str(error).split())[:160]}"
        self.logger.warning(text)


def refuse(status: int, error: str) -> web.Response:
    """A short JSON error that says what is wrong with the request."""
    return web.json_response({"error": error}, status=status)


def slack_header_problem(timestamp: str | None, signature: str | None, *, now: float) -> str | None:
    """What makes a request unsigned, from its headers alone (None: nothing); checked before the body is read."""
    if not timestamp or not signature:
        return "missing X-Slack-Request-Timestamp or X-Slack-Signature"
    if not _TIMESTAMP.fullmatch(timestamp):
        return "X-Slack-Request-Timestamp is not a Unix time"
    if abs(now - int(timestamp)) > SLACK_MAX_AGE_S:
        return "X-Slack-Request-Timestamp is more than 5 minutes off"
    return None


def slack_signature_problem(verifier: Any, body: bytes, timestamp: str, signature: str) -> str | None:
    """Whether X-Slack-Signature is Slack's signature of this body (None: it is)."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return "signature does not match the body"  # Slack signs UTF-8 text; nothing else can match
    if not verifier.is_valid(body=text, timestamp=timestamp, signature=signature):
        return "signature does not match the body"
    return None


def to_bolt_request(request: web.Request, body: bytes) -> Any:
    """aiohttp request -> BoltRequest; a ValueError for a body that is not a Slack payload adoptbot handles."""
    from slack_bolt.request import BoltRequest

    try:
        bolt_request = BoltRequest(body=body.decode("utf-8"), query=request.query_string, headers=dict(request.headers))
    except ValueError as e:  # not JSON, or a form whose payload is not JSON
        raise ValueError(f"not JSON ({e})") from None
    except Exception:  # noqa: BLE001 - bolt reads ids from the payload and trips on other types
        raise ValueError("a JSON value whose fields are not of the types Slack sends") from None
    problem = slack_payload_problem(bolt_request.body)
    if problem:
        raise ValueError(problem)
    return bolt_request


def slack_payload_problem(payload: Any) -> str | None:
    """What is wrong with a payload's shape, for the kinds adoptbot handles (None: nothing).

    bolt and the listeners index these fields without checking their types, so a payload Slack would
    never send crashes them with a traceback; such payloads are refused here instead.
    """
    if not isinstance(payload, dict):
        return f"a JSON {type(payload).__name__}, not an object"
    kind = payload.get("type")
    if kind is None and isinstance(payload.get("command"), str):
        # A slash command comes as a form: every value is a string, and bolt relies on it.
        return None if all(isinstance(v, str) for v in payload.values()) else "a slash command with a non-text field"
    if kind == "url_verification":
        return None if isinstance(payload.get("challenge"), str) else "url_verification without a challenge"
    if kind == "event_callback":
        return _event_problem(payload)
    if kind == "block_actions":
        actions = payload.get("actions")
        if not isinstance(actions, list) or not actions or not all(isinstance(a, dict) for a in actions):
            return "block_actions without a list of actions"
        if any(k in payload and not isinstance(payload[k], dict) for k in ("user", "message", "container", "view")):
            return "a block_actions field that should be an object is not"
        return None
    if kind == "view_submission":
        view = payload.get("view")
        if not isinstance(view, dict) or not isinstance(view.get("callback_id"), str):
            return "view_submission without a view and its callback_id"
        state = view.get("state", {})
        values = state.get("values", {}) if isinstance(state, dict) else None
        if not isinstance(values, dict) or not all(
            isinstance(block, dict) and all(isinstance(field, dict) for field in block.values())
            for block in values.values()
        ):
            return "a view_submission whose state.values is not blocks of fields"
        if any(k in payload and not isinstance(payload[k], dict) for k in ("user", "team")):
            return "a view_submission field that should be an object is not"
        return None
    return (
        f"type {str(kind)[:40]!r} is not one adoptbot handles "
        "(event_callback, block_actions, view_submission, a slash command)"
    )


def _event_problem(payload: dict) -> str | None:
    event = payload.get("event")
    if not isinstance(event, dict) or not isinstance(event.get("type"), str):
        return "event_callback without an event object with a type"
    if not isinstance(payload.get("event_id"), str | None):
        return "event_id is not a string"
    authorizations = payload.get("authorizations", [])
    if not isinstance(authorizations, list) or not all(isinstance(a, dict) for a in authorizations):
        return "authorizations is not a list of objects"
    if any(k in event and not isinstance(event[k], dict) for k in ("message", "previous_message")):
        return "an event message that is not an object"
    strings = ("subtype", "bot_id", "user", "ts", "thread_ts", "channel_type")
    if any(not isinstance(event.get(k), str | None) for k in strings) or not isinstance(event.get("text", ""), str):
        return "an event field that should be a string is not"
    if event["type"] in ("app_mention", "message") and not (
        isinstance(event.get("channel"), str) and isinstance(event.get("ts"), str)
    ):
        return f"{event['type']} event without a channel and ts"
    return None


def to_aiohttp_response(bolt_response: Any, *, retried: bool) -> web.Response:
    """BoltResponse -> aiohttp response; a retried delivery is told not to retry again."""
    headers = dict(bolt_response.first_headers_without_set_cookie())
    if retried:
        headers["X-Slack-No-Retry"] = "1"
    return web.Response(status=bolt_response.status, body=bolt_response.body.encode(), headers=headers)


def slack_route(bolt_app: Any, refusals: LogLimiter) -> Callable[[web.Request], Any]:
    """POST /slack/events: check Slack's signature first, then dispatch to the sync bolt App off the event loop."""
    from slack_sdk.signature import SignatureVerifier

    verifier = SignatureVerifier(signing_secret_of(bolt_app))

    async def slack_events(request: web.Request) -> web.Response:
        timestamp = request.headers.get("X-Slack-Request-Timestamp", "")
        signature = request.headers.get("X-Slack-Signature", "")
        problem = slack_header_problem(timestamp, signature, now=time.time())
        if not problem:
            body = await request.read()  # over MAX_BODY: 413
            problem = slack_signature_problem(verifier, body, timestamp, signature)
        if problem:
            refusals.warning("Slack request from %s refused (401): %s", request.remote, problem)
            return refuse(401, f"not signed by Slack: {problem}")
        try:
            bolt_request = to_bolt_request(request, body)
        except ValueError as e:
            reason = str(e)[:160]
            refusals.warning("signed Slack request refused (400): %s", reason)
            return refuse(400, f"not a Slack payload adoptbot handles: {reason}")
        try:
            response = await asyncio.get_running_loop().run_in_executor(None, bolt_app.dispatch, bolt_request)
        except Exception as e:  # noqa: BLE001 - bolt's own error handling failed on this payload
            refusals.warning("signed Slack request refused (400): bolt could not handle it (%s)", type(e).__name__)
            return refuse(400, "not a Slack payload adoptbot handles")
        return to_aiohttp_response(response, retried="X-Slack-Retry-Num" in request.headers)

    return slack_events


def signing_secret_of(bolt_app: Any) -> str:
    """The signing secret the bolt App was built with; fail fast without one."""
    # bolt keeps it privately and offers no accessor; reading it here keeps build_slack_app's result a plain App.
    secret = getattr(bolt_app, "_signing_secret", "") or ""
    if not secret.strip():
        raise ConfigError(
            "SLACK_SIGNING_SECRET is needed to serve /slack/events: find it at api.slack.com/apps -> your app -> "
            "Basic Information -> App Credentials -> Signing Secret."
        )
    return secret


def bearer_matches(header: str | None, token: str) -> bool:
    """Whether an Authorization header is `Bearer <token>`, compared in constant time."""
    scheme, _, given = (header or "").partition(" ")
    # Digests of equal length, so the comparison's time does not even tell the token's length.
    given_digest = hashlib.sha256(given.strip().encode()).digest()
    return scheme.lower() == "bearer" and hmac.compare_digest(given_digest, hashlib.sha256(token.encode()).digest())


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
    GET /admin/report exists only when both `report` (since -> HTML) and `admin_token` are given.
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
    if report is not None and admin_token:
        app.router.add_get("/admin/report", report_route(report, admin_token, refusals))
    return app
