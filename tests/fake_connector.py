"""A local stand-in for the Bot Connector service (port 0) that records every activity posted to it."""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.web import reply_json, start_http

BOT = {"id": "28:bot-app-id", "name": "adoptbot"}


class FakeConnector:
    """Records every activity posted or PUT; `refuse_streaming` makes it answer streaming activities with an error."""

    def __init__(self) -> None:
        self.posts: list[tuple[str, dict[str, Any]]] = []
        self.ids: list[str] = []  # the id answered for each post, as Teams gives a message its id
        self.refused: list[dict[str, Any]] = []
        self.refuse_streaming: tuple[int, dict[str, Any]] | None = None
        self.before_update: Callable[[], None] | None = None  # runs before an update is taken (to hold it)
        self._ids = itertools.count(1)
        self._changed = threading.Condition()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
                refusal = outer.refuse_streaming
                if refusal is not None and stream_type(body):
                    with outer._changed:
                        outer.refused.append(body)
                        outer._changed.notify_all()
                    reply_json(self, refusal[1], status=refusal[0])
                    return
                sent_id = f"reply-{next(outer._ids)}"
                # Recorded before the answer, so a turn that has ended has every activity it sent recorded.
                with outer._changed:
                    outer.posts.append((self.path if self.command == "POST" else f"PUT {self.path}", body))
                    outer.ids.append(sent_id)
                    outer._changed.notify_all()
                reply_json(self, {"id": sent_id})

            def do_PUT(self):  # an update of an activity the bot sent earlier
                if outer.before_update is not None:
                    outer.before_update()
                self.do_POST()

            def log_message(self, *args):
                pass

        self.server, base = start_http(Handler)
        self.url = base + "/"

    def messages(self) -> list[tuple[str, dict[str, Any]]]:
        return [(p, b) for p, b in self.posts if b.get("type") == "message"]

    def id_of(self, activity: dict[str, Any]) -> str:
        """The id the connector gave an activity it received."""
        return self.ids[next(i for i, (_, b) in enumerate(self.posts) if b is activity)]

    def streamed(self) -> list[dict[str, Any]]:
        """The activities of streams (informative, streaming, final), in the order they arrived."""
        return [b for _, b in self.posts if stream_type(b)]

    def updates(self) -> list[tuple[str, dict[str, Any]]]:
        return [(p, b) for p, b in self.posts if p.startswith("PUT ")]

    def wait_until(self, condition: Callable[[], Any], timeout: float = 60, what: str = "the connector") -> Any:
        """Wait until condition() is true (it is evaluated as posts arrive); returns its value."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while not (value := condition()):
                left = deadline - time.monotonic()
                if left <= 0:
                    kinds = [b.get("type") for _, b in self.posts]
                    raise AssertionError(f"timed out waiting for {what}; activities posted: {kinds}")
                self._changed.wait(left)
        return value

    def wait_for_messages(self, count: int = 1, timeout: float = 60) -> list[tuple[str, dict[str, Any]]]:
        self.wait_until(lambda: len(self.messages()) >= count, timeout, f"{count} messages")
        return self.messages()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def stream_type(activity: dict[str, Any]) -> str:
    """'informative', 'streaming' or 'final' for an activity of a stream; '' for any other."""
    for entity in activity.get("entities") or []:
        if entity.get("type") == "streaminfo":
            return entity.get("streamType") or "streaming"
    return ""


def ai_entity(activity: dict[str, Any]) -> dict[str, Any]:
    """The message's AI-generated-content entity (citations and the AI label)."""
    [entity] = [e for e in activity.get("entities") or [] if e.get("@type") == "Message"]
    return entity


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
    name: str = "Ada Lovelace",
    activity_id: str = "1700000000001",
    team: str = "19:team",
) -> dict[str, Any]:
    """A message activity shaped as Teams sends it (in a channel: of `team`)."""
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
        "from": {"id": f"29:{aad_object_id}", "name": name, "aadObjectId": aad_object_id},
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
        activity["channelData"].update(teamsChannelId="19:channel@thread.tacv2", team={"id": team})
    if expect_replies:
        activity["deliveryMode"] = "expectReplies"
    if value is not None:
        activity["value"] = value
        activity.pop("text")
    return activity


def card_submit(value: dict[str, Any], *, reply_to_id: str, service_url: str, **kwargs: Any) -> dict[str, Any]:
    """What Teams sends when someone presses a card's Action.Submit: a message with the inputs and data as its value."""
    activity = teams_activity("", service_url=service_url, value=value, **kwargs)
    activity["replyToId"] = reply_to_id
    return activity


def feedback_invoke(
    reaction: str,
    *,
    reply_to_id: str,
    service_url: str,
    conversation_type: str = "personal",
    conversation_id: str = "a:1on1-conversation",
    aad_object_id: str = "aad-user-1",
    comment: str = "",
) -> dict[str, Any]:
    """The invoke Teams sends when someone gives an answer a thumbs up or down (the feedback loop)."""
    activity = teams_activity(
        "",
        service_url=service_url,
        conversation_type=conversation_type,
        conversation_id=conversation_id,
        aad_object_id=aad_object_id,
        value={
            "actionName": "feedback",
            "actionValue": {"reaction": reaction, "feedback": json.dumps({"feedbackText": comment})},
        },
    )
    activity.update(type="invoke", name="message/submitAction", replyToId=reply_to_id)
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
