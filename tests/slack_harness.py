"""Slack over real HTTP with a scripted engine: signed requests in, the fake Web API's record out.

`Slack` serves a Runtime whose engine is a StubEngine on loopback, talking to a FakeSlackApi;
`settle` waits until everything Slack was sent has been handled, so a test can assert that
nothing (more) was posted without sleeping.
"""

from __future__ import annotations

import itertools
import json
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import Executor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from adoptbot.runtime import Runtime
from bot.answering.answerers import Answerer
from bot.reindex import Reindexer
from bot.tools.core import Tools
from bot.web.refusals import LogLimiter
from bot.web.server import build_web_app
from common.settings import Settings
from kb.embedding import Embedder
from kb.store import KnowledgeStore
from tests.fake_slack import BOT_USER, FakeSlackApi, command_body, event_body, signed_headers
from tests.stub_engine import StubEngine
from tests.web import BackgroundServer

SECRET = "test-signing-secret"
FORM = "application/x-www-form-urlencoded"
_ids = itertools.count(1)


def fresh_ts(seconds: int = 1700000500) -> str:
    """A message timestamp no other message in the run has."""
    return f"{seconds}.{next(_ids):06d}"


def mention(
    text: str, *, ts: str, channel: str = "C1", thread_ts: str | None = None, user: str = "U1"
) -> dict[str, Any]:
    """An app_mention event, as Slack sends it."""
    return _event("app_mention", f"<@{BOT_USER}> {text}", ts=ts, channel=channel, thread_ts=thread_ts, user=user)


def channel_message(
    text: str, *, ts: str, channel: str = "C1", thread_ts: str | None = None, user: str = "U1"
) -> dict[str, Any]:
    """A message event in a channel (in a thread when `thread_ts`), as Slack sends it."""
    return _event("message", text, ts=ts, channel=channel, thread_ts=thread_ts, user=user, channel_type="channel")


def direct_message(text: str, *, ts: str, channel: str = "D1", thread_ts: str | None = None) -> dict[str, Any]:
    """A message event in a DM with the assistant, from U1."""
    return _event("message", text, ts=ts, channel=channel, thread_ts=thread_ts, user="U1", channel_type="im")


def _event(
    kind: str, text: str, *, ts: str, channel: str, thread_ts: str | None, user: str, channel_type: str = ""
) -> dict[str, Any]:
    event = {"type": kind, "user": user, "text": text, "ts": ts, "channel": channel, "event_ts": ts}
    if channel_type:
        event["channel_type"] = channel_type
    if thread_ts:
        event["thread_ts"] = thread_ts
    return event


def post(
    server: BackgroundServer,
    body: str,
    *,
    content_type: str = "application/json",
    headers: dict[str, str] | None = None,
    secret: str = SECRET,
    timestamp: int | None = None,
) -> tuple[int, dict[str, str], bytes]:
    """POST a body to a server's /slack/events signed with `secret`: the status, headers and body of the answer."""
    all_headers = signed_headers(secret, body, timestamp=timestamp, content_type=content_type)
    all_headers.update(headers or {})
    request = urllib.request.Request(server.url + "/slack/events", data=body.encode(), headers=all_headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


class Slack:
    """A Slack app over a stub engine, served on loopback, talking to a fake Web API.

    `engine` None is the runtime's real engine (the one smoke test); `embedder`, `store`, `answerers`,
    `reindexer` and `tools` replace the runtime's own; everything else in `settings` goes to Settings.
    """

    def __init__(
        self,
        tmp_path: Path,
        engine: StubEngine | None,
        *,
        embedder: Embedder | None = None,
        store: KnowledgeStore | None = None,
        answerers: dict[str, Answerer] | None = None,
        reindexer: Reindexer | None = None,
        tools: Tools | None = None,
        refusals: LogLimiter | None = None,
        **settings: object,
    ) -> None:
        self.api = FakeSlackApi()
        values: dict[str, Any] = dict(
            data_dir=tmp_path / "data",
            knowledge_dir=tmp_path / "knowledge",
            slack_bot_token="xoxb-test",
            slack_signing_secret=SECRET,
            slack_api_base_url=self.api.api_url,
            workers=2,
            questions_per_minute=1000,
        )
        values.update(settings)
        try:
            self.runtime = Runtime(Settings(**values), embedder=embedder, store=store, answerers=answerers)
            if engine is not None:
                self.runtime.__dict__["engine"] = engine
            self.engine: Any = self.runtime.engine
            for name, part in (("reindexer", reindexer), ("tools", tools)):
                if part is not None:
                    self.runtime.__dict__[name] = part
            self.app = self.runtime.slack_app(http=True)
        except BaseException:
            self.api.close()
            raise
        self.server = BackgroundServer(
            build_web_app(
                index_info=self.runtime.index_info, slack=self.app, refusals=refusals, metrics=self.runtime.metrics
            )
        )

    # -- what Slack sends ---------------------------------------------------------------------------
    def post(self, body: str, content_type: str = "application/json") -> int:
        return self.exchange(body, content_type)[0]

    def exchange(self, body: str, content_type: str = "application/json") -> tuple[int, str]:
        """POST a signed request; Slack's view of the answer: status and body."""
        status, _, reply = post(self.server, body, content_type=content_type)
        return status, reply.decode()

    def event(self, event: dict, event_id: str | None = None) -> None:
        assert self.post(event_body(event, event_id or f"Ev{next(_ids)}")) == 200

    def mention(self, text: str, *, channel: str = "C1", ts: str | None = None, thread_ts: str | None = None) -> str:
        ts = ts or fresh_ts(1700000100)
        self.event({**mention(text, ts=ts, channel=channel, thread_ts=thread_ts), "team": "T1"})
        return ts

    def dm(self, text: str, *, thread_ts: str | None = None, channel: str = "D1") -> str:
        ts = fresh_ts(1700000300)
        self.event(direct_message(text, ts=ts, channel=channel, thread_ts=thread_ts))
        return ts

    def say(
        self, text: str, *, thread_ts: str | None = None, mention: bool = False, channel: str = "C1", user: str = "U1"
    ) -> str:
        """A person's channel message (in a thread, unless it starts one), shown in the thread as Slack would."""
        ts = fresh_ts(1700000700)
        kind, said = ("app_mention", f"<@{BOT_USER}> {text}") if mention else ("message", text)
        event = _event(kind, said, ts=ts, channel=channel, thread_ts=thread_ts, user=user, channel_type="channel")
        self.api.add_message(channel, thread_ts or ts, {"user": user, "text": event["text"], "ts": ts})
        self.event(event)
        return ts

    def command(self, text: str, *, user: str = "U1", response_url: str = "") -> dict[str, Any]:
        """The slash command's immediate (ephemeral) reply; later ones go to `response_url` on the fake API."""
        body = command_body(text, user=user, response_url=response_url or self.api.url + "/response/1")
        status, reply = self.exchange(body, FORM)
        assert status == 200
        return json.loads(reply or "{}")

    # -- what Slack received ------------------------------------------------------------------------
    def replies(self, channel: str = "C1", thread_ts: str | None = None) -> list[dict[str, Any]]:
        """Every reply posted or streamed into a channel (or one thread of it), in the order they began."""
        return [
            args
            for method, args in self.api.calls
            if method in ("chat.postMessage", "chat.startStream")
            and args.get("channel") == channel
            and (thread_ts is None or args.get("thread_ts") == thread_ts)
        ]

    def close(self) -> None:
        self.server.close()
        self.api.close()


@contextmanager
def slacks(tmp_path: Path) -> Iterator[Any]:
    """make(engine=None, **settings) -> a new Slack; all of them closed at the end."""
    made: list[Slack] = []

    def make(engine: StubEngine | None = None, **settings: Any) -> Slack:
        made.append(Slack(tmp_path / str(len(made)), engine or StubEngine(), **settings))
        return made[-1]

    try:
        yield make
    finally:
        for s in made:
            try:
                settle(s)  # nothing still talking to the fake API as it closes
            finally:
                s.close()


def settle(s: Slack) -> None:
    """Wait until everything Slack sent has been handled: bolt's listeners first, then the answers they queued."""
    drain(s.app.listener_runner.listener_executor)
    drain(s.runtime.chat.pool)


def drain(pool: Executor) -> None:
    """Return once every task given to the pool before has finished: each of its workers meets at a barrier."""
    workers = pool._max_workers  # type: ignore[attr-defined] - a ThreadPoolExecutor's size; no public accessor
    barrier = threading.Barrier(workers)
    for future in [pool.submit(barrier.wait, 60) for _ in range(workers)]:
        future.result(timeout=60)
