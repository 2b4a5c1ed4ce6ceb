"""A local stand-in for Slack's Web API (port 0) that records every call, and request signing."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler
from typing import Any

from tests.web import reply_json, start_http

BOT_USER = "UBOT"
BOT_ID = "BBOT"


class FakeSlackApi:
    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.times: list[float] = []  # when each call arrived (time.perf_counter), for the load benchmark
        self.threads: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self.socket_url = ""  # what apps.connections.open hands out (Socket Mode tests)
        self.errors: dict[str, str] = {}  # method -> the error Slack answers it with
        self.streams: dict[str, str] = {}  # ts of a streamed message -> its text so far
        self.stream_threads: dict[str, str] = {}  # ts of a streamed message -> the thread it is in
        self._ts = itertools.count(1)
        self._changed = threading.Condition()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
                if "json" in self.headers.get("Content-Type", ""):
                    args = json.loads(raw or "{}")
                else:
                    args = {k: v[0] for k, v in urllib.parse.parse_qs(raw).items()}
                reply_json(self, outer._handle(self.path, args))

            def log_message(self, *args):
                pass

        self.server, self.url = start_http(Handler)
        self.api_url = self.url + "/api/"

    def _handle(self, path: str, args: dict[str, Any]) -> dict[str, Any]:
        method = path.removeprefix("/api/").lstrip("/")
        for key in ("blocks", "attachments", "view"):
            if isinstance(args.get(key), str):
                args[key] = json.loads(args[key])
        reply: dict[str, Any] = {"ok": True}
        if method in self.errors:
            reply = {"ok": False, "error": self.errors[method]}
        elif method == "auth.test":
            reply.update(user_id=BOT_USER, bot_id=BOT_ID, team_id="T1", user="adoptbot")
        elif method == "chat.postMessage":
            ts = f"1700000000.{next(self._ts):06d}"
            reply.update(channel=args["channel"], ts=ts)
            if args.get("thread_ts"):
                self.add_message(
                    args["channel"],
                    args["thread_ts"],
                    {"user": BOT_USER, "bot_id": BOT_ID, "text": args.get("text", ""), "ts": ts},
                )
        elif method == "chat.startStream":
            ts = f"1700000000.{next(self._ts):06d}"
            reply.update(channel=args["channel"], ts=ts)
            self.streams[ts] = _chunk_text(args)
            self.stream_threads[ts] = args["thread_ts"]
            self.add_message(args["channel"], args["thread_ts"], {"user": BOT_USER, "bot_id": BOT_ID, "ts": ts})
        elif method in ("chat.appendStream", "chat.stopStream"):
            if args.get("ts") not in self.streams:
                reply = {"ok": False, "error": "message_not_found"}
            else:
                self.streams[args["ts"]] += _chunk_text(args)
                for messages in self.threads.values():  # what conversations.replies shows from now on
                    for m in messages:
                        if m["ts"] == args["ts"]:
                            m["text"] = self.streams[args["ts"]]
        elif method == "views.open":
            reply["view"] = {"id": f"V{next(self._ts)}", **(args.get("view") or {})}
        elif method == "chat.postEphemeral":
            reply["message_ts"] = f"1700000000.{next(self._ts):06d}"
        elif method == "conversations.replies":
            reply["messages"] = self.threads.get((args["channel"], args["ts"]), [])
        elif method == "chat.getPermalink":
            reply["permalink"] = (
                f"https://example.slack.com/archives/{args['channel']}/p{args['message_ts'].replace('.', '')}"
            )
        elif method == "conversations.history":
            reply["messages"] = []
        elif method == "apps.connections.open":
            reply["url"] = self.socket_url
        with self._changed:
            self.calls.append((method, args))
            self.times.append(time.perf_counter())
            self._changed.notify_all()
        return reply

    def add_message(self, channel: str, thread_ts: str, message: dict[str, Any]) -> None:
        self.threads.setdefault((channel, thread_ts), []).append(message)

    def finished(self) -> list[tuple[str, str, float]]:
        """Replies completed so far, as (thread, method, when): a posted message, or a stream that was stopped."""
        with self._changed:
            calls, times, streams = list(self.calls), list(self.times), dict(self.stream_threads)
        done = []
        for (method, call), at in zip(calls, times, strict=True):
            if method == "chat.postMessage" and call.get("thread_ts"):
                done.append((call["thread_ts"], method, at))
            elif method == "chat.stopStream" and call.get("ts") in streams:
                done.append((streams[call["ts"]], method, at))
        return done

    def called(self, method: str) -> list[dict[str, Any]]:
        return [args for m, args in self.calls if m == method]

    def wait_for(self, method: str, count: int = 1, timeout: float = 60) -> list[dict[str, Any]]:
        """Block until method has been called count times (a deadline, not a timing assertion)."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while len(self.called(method)) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"{method} called {len(self.called(method))} times, expected {count}")
                self._changed.wait(left)
        return self.called(method)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _chunk_text(args: dict[str, Any]) -> str:
    """The markdown a streaming call carries (markdown_text, or markdown_text chunks)."""
    chunks = args.get("chunks") or []
    if isinstance(chunks, str):
        chunks = json.loads(chunks)
    return (args.get("markdown_text") or "") + "".join(
        c.get("text", "") for c in chunks if c.get("type") == "markdown_text"
    )


def signed_headers(secret: str, body: str, *, timestamp: int | None = None, content_type: str) -> dict[str, str]:
    """Headers exactly as Slack signs a request: v0=HMAC-SHA256(secret, 'v0:{ts}:{body}')."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    digest = hmac.new(secret.encode(), f"v0:{ts}:{body}".encode(), hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": f"v0={digest}", "Content-Type": content_type}


def event_body(event: dict[str, Any], event_id: str) -> str:
    return json.dumps(
        {
            "token": "legacy",
            "team_id": "T1",
            "api_app_id": "A1",
            "type": "event_callback",
            "event_id": event_id,
            "event_time": int(time.time()),
            "event": event,
            "authorizations": [{"team_id": "T1", "user_id": BOT_USER, "is_bot": True}],
        }
    )


def command_body(text: str, *, user: str, response_url: str, command: str = "/adoptbot", channel: str = "C1") -> str:
    return urllib.parse.urlencode(
        {
            "token": "legacy",
            "team_id": "T1",
            "channel_id": channel,
            "user_id": user,
            "command": command,
            "text": text,
            "response_url": response_url,
            "trigger_id": "1.2.3",
            "api_app_id": "A1",
        }
    )


def feedback_value(reply: dict[str, Any], vote: str = "helpful") -> str:
    """The value Slack sends when the answer's thumbs up (or down) is clicked."""
    block = next(b for b in reply["blocks"] if b["type"] == "context_actions")
    buttons = block["elements"][0]
    return buttons["positive_button" if vote == "helpful" else "negative_button"]["value"]


def action_body(
    *,
    action_id: str,
    value: str,
    user: str,
    message: dict[str, Any] | None,
    response_url: str,
    kind: str = "button",
    block_id: str = "feedback",
    selected: list[dict[str, Any]] | None = None,
) -> str:
    """A block_actions payload; message None is a click in an ephemeral message (Slack sends no message then).

    `selected`: the options of a checkboxes element selected now (Slack's selected_options).
    """
    payload = {
        "type": "block_actions",
        "team": {"id": "T1"},
        "user": {"id": user},
        "api_app_id": "A1",
        "container": {
            "type": "message",
            "message_ts": (message or {}).get("ts", "1700000000.999999"),
            "channel_id": "C1",
            "is_ephemeral": message is None,
        },
        "channel": {"id": "C1"},
        "response_url": response_url,
        "trigger_id": "1.2.3",
        "actions": [
            {
                "type": kind,
                "action_id": action_id,
                "block_id": block_id,
                "value": value,
                "action_ts": str(time.time()),
            }
        ],
    }
    if selected is not None:
        payload["actions"][0]["selected_options"] = selected
    if message is not None:
        payload["message"] = message
    return urllib.parse.urlencode({"payload": json.dumps(payload)})
