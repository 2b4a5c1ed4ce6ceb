"""A local stand-in for the Bot Connector service (port 0) that records every activity posted to it."""

from __future__ import annotations

import itertools
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.web import reply_json, start_http

BOT = {"id": "28:bot-app-id", "name": "adoptbot"}


class FakeConnector:
    def __init__(self) -> None:
        self.posts: list[tuple[str, dict[str, Any]]] = []
        self._ids = itertools.count(1)
        self._changed = threading.Condition()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
                reply_json(self, {"id": f"reply-{next(outer._ids)}"})
                with outer._changed:
                    outer.posts.append((self.path if self.command == "POST" else f"PUT {self.path}", body))
                    outer._changed.notify_all()

            def do_PUT(self):  # an update of an activity the bot sent earlier
                self.do_POST()

            def log_message(self, *args):
                pass

        self.server, base = start_http(Handler)
        self.url = base + "/"

    def messages(self) -> list[tuple[str, dict[str, Any]]]:
        return [(p, b) for p, b in self.posts if b.get("type") == "message"]

    def wait_for_messages(self, count: int = 1, timeout: float = 60) -> list[tuple[str, dict[str, Any]]]:
        deadline = time.monotonic() + timeout
        with self._changed:
            while len(self.messages()) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"{len(self.messages())} messages posted, expected {count}")
                self._changed.wait(left)
        return self.messages()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def teams_activity(
    text: str,
    *,
    service_url: str,
    conversation_type: str = "personal",
    conversation_id: str = "a:1on1-conversation",
    mention: bool = False,
    expect_replies: bool = False,
    value: dict[str, Any] | None = None,
    aad_object_id: str = "aad-user-1",
    activity_id: str = "1700000000001",
) -> dict[str, Any]:
    """A message activity shaped as Teams sends it."""
    entities: list[dict[str, Any]] = [
        {"type": "clientInfo", "locale": "en-GB", "country": "GB", "platform": "Web", "timezone": "Europe/London"}
    ]
    if mention:
        entities.append({"type": "mention", "text": "<at>adoptbot</at>", "mentioned": BOT})
        text = f"<at>adoptbot</at> {text}"
    activity: dict[str, Any] = {
        "type": "message",
        "id": activity_id,
        "timestamp": "2026-11-28T17:00:00.000Z",
        "localTimestamp": "2026-11-28T17:00:00.000+00:00",
        "serviceUrl": service_url,
        "channelId": "msteams",
        "from": {"id": "29:1user", "name": "Ada Lovelace", "aadObjectId": aad_object_id},
        "conversation": {
            "id": conversation_id,
            "conversationType": conversation_type,
            "tenantId": "tenant-1",
            "isGroup": conversation_type != "personal",
        },
        "recipient": BOT,
        "textFormat": "plain",
        "locale": "en-GB",
        "text": text,
        "entities": entities,
        "channelData": {"tenant": {"id": "tenant-1"}},
    }
    if conversation_type == "channel":
        activity["channelData"].update(teamsChannelId="19:channel@thread.tacv2", team={"id": "19:team"})
    if expect_replies:
        activity["deliveryMode"] = "expectReplies"
    if value is not None:
        activity["value"] = value
        activity.pop("text")
    return activity


class RefusingProxy:
    """An HTTPS proxy (port 0) that records where each CONNECT would go and refuses it.

    Set as https_proxy, it keeps urllib callers (the SDK fetching Microsoft's signing keys) off the network.
    """

    def __init__(self) -> None:
        self.targets: list[str] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_CONNECT(self):
                outer.targets.append(self.path)
                self.send_response(403)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
