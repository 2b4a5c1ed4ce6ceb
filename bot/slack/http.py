"""Slack's HTTP edge: POST /slack/events checked (signature, age, payload shape), then handed to the bolt App.

A pair of translations, as bolt's own adapters: `to_bolt_request` (aiohttp -> BoltRequest) and
`to_aiohttp_response` (BoltResponse -> aiohttp). Imports bot.web.refusals, slack_bolt and slack_sdk.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable
from typing import Any

from aiohttp import web

from bot.web.refusals import LogLimiter, refuse
from common.errors import ConfigError

SLACK_MAX_AGE_S = 60 * 5  # Slack's own rule: older requests may be replays
_TIMESTAMP = re.compile(r"[0-9]{1,12}")  # ASCII digits only: int() would also take "١٢" or " 12"


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
