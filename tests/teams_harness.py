"""Teams over real HTTP with a scripted engine: activities posted to /api/messages as Teams sends them, replies
recorded by a fake Bot Connector.

`TeamsBot` serves the Teams endpoint over a chat core with a stub engine on port 0 (with the adoption tools when
asked: the real assessor, checklists in the data directory). The fixtures `make_bot`, `bot` and `tools_bot` start
them and stop them after the test (`teams_bots` for a fixture of a test's own); `served(runtime)` serves a whole
Runtime's endpoint instead. The other helpers read what Teams received: messages, cards, their inputs, and what a
press of Save sends back.
"""

from __future__ import annotations

import itertools
import json
import re
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from bot.chat import Chat
from bot.reindex import Reindexer
from bot.state.feedback import FeedbackStore
from bot.teams import cards
from bot.teams.app import build_teams_endpoint
from bot.tools.checklists import open_board
from bot.tools.core import Tools
from bot.types import Answer, Question
from bot.web.server import build_web_app
from common.settings import Settings
from ingest.pipeline import IngestSummary
from kb.store import IndexInfo
from tests.conftest import REPO
from tests.fake_connector import FakeConnector, card_submit, teams_activity
from tests.stub_engine import StubEngine
from tests.web import BackgroundServer

ADMIN = "aad-admin"
CHANNEL = "19:channel@thread.tacv2"
INFO = IndexInfo(
    version=1, generation=1, documents=12, chunks=80, indexed_at="2026-11-28 17:00", embed_model="all-MiniLM-L6-v2"
)
_ids = itertools.count(1)


class PacedStub(StubEngine):
    """The shared stub engine; `between(n)` runs after piece n is written, to pace a stream in a test."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.between: Callable[[int], None] | None = None

    def answer(
        self, question: Question, *, backend: str | None = None, on_text: Callable[[str], None] | None = None
    ) -> Answer:
        if on_text is not None and self.between is not None:
            write, between, written = on_text, self.between, itertools.count()

            def on_text(piece: str) -> None:
                write(piece)
                between(next(written))

        return super().answer(question, backend=backend, on_text=on_text)


@dataclass
class TeamsBot:
    """The Teams endpoint over a chat core with a stub engine, served on port 0, replying to a fake connector.

    With an `assessor`, the chat core has the adoption tools: that assessor, and checklists in the data directory.
    """

    settings: Settings
    engine: PacedStub
    connector: FakeConnector
    assessor: Any = None
    chat: Chat | None = None
    server: BackgroundServer | None = None

    def start(self) -> TeamsBot:
        """Build the chat core and endpoint over the data directory (again after `stop`: a restart)."""
        feedback = FeedbackStore(self.settings.feedback_path, user_key=b"k" * 32)
        summary = IngestSummary(documents_added=["guidance/teams-note.md"], documents_total=13, chunks_total=81)
        self.chat = Chat.build(
            engine=self.engine,
            feedback=feedback,
            reindexer=Reindexer(lambda: summary),
            index_info=lambda: INFO,
            settings=self.settings,
        )
        if self.assessor is not None:
            # Not closed after the test: SqliteTickStore.close() cannot close the worker threads' connections.
            board = open_board(REPO / "knowledge", self.settings.data_dir)
            assessor = self.assessor
            self.chat.tools = Tools(assessor=lambda: assessor, board=lambda: board)  # as Chat.build(tools=...) does
        endpoint = build_teams_endpoint(settings=self.settings, chat=self.chat)
        self.server = BackgroundServer(build_web_app(index_info=self.chat.index_info, teams=endpoint))
        return self

    def stop(self) -> None:
        assert self.server is not None and self.chat is not None
        self.server.close()
        self.chat.pool.shutdown(wait=True)

    def send(self, activity: dict[str, Any] | bytes, headers: dict | None = None) -> tuple[int, dict | None]:
        assert self.server is not None
        return post(self.server, activity, headers)

    def ask(self, text: str, **kwargs: Any) -> tuple[int, dict | None]:
        """Post a message as Teams sends it; returns when the turn has ended."""
        return self.send(teams_activity(text, service_url=self.connector.url, **kwargs))

    def submit(self, value: dict[str, Any], card_id: str, **kwargs: Any) -> int:
        """Press a card's Action.Submit; returns when the turn has ended."""
        status, _ = self.send(card_submit(value, reply_to_id=card_id, service_url=self.connector.url, **kwargs))
        return status

    def posted(self) -> list[dict[str, Any]]:
        """Messages sent (not updates), oldest first."""
        return [b for p, b in self.connector.messages() if not p.startswith("PUT ")]

    @property
    def feedback(self) -> FeedbackStore:
        assert self.chat is not None
        return self.chat.feedback


def settings_for(tmp_path: Path, **changes: Any) -> Settings:
    """Anonymous Teams with ADMIN as the one admin and two workers, over a data directory in `tmp_path`."""
    defaults: dict[str, Any] = {"teams_allow_anonymous": True, "teams_admins": ADMIN, "workers": 2}
    return Settings(data_dir=tmp_path / "data", knowledge_dir=tmp_path / "knowledge", **{**defaults, **changes})


@contextmanager
def teams_bots(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Callable[..., TeamsBot]]:
    """make(tools=False, **settings) -> a started TeamsBot; everything started is stopped at the end.

    `tools=True` gives it the adoption tools with the starter knowledge base's assessor.
    """
    started: list[TeamsBot] = []

    def make(*, tools: bool = False, **changes: Any) -> TeamsBot:
        assessor = request.getfixturevalue("starter_runtime").tools.assessor if tools else None
        bot = TeamsBot(settings_for(tmp_path, **changes), PacedStub(), FakeConnector(), assessor=assessor).start()
        started.append(bot)
        return bot

    try:
        yield make
    finally:
        for bot in started:
            if bot.engine.hold is not None:
                bot.engine.hold.set()
            bot.stop()
            bot.connector.close()


# The fixtures need only pytest's own, so a test module imports just the ones it uses.
@pytest.fixture
def make_bot(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Callable[..., TeamsBot]]:
    """make(tools=False, **settings) -> a started TeamsBot, stopped after the test."""
    with teams_bots(tmp_path, request) as make:
        yield make


@pytest.fixture
def bot(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[TeamsBot]:
    """A Teams bot with the default settings and no adoption tools."""
    with teams_bots(tmp_path, request) as make:
        yield make()


@pytest.fixture
def tools_bot(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[TeamsBot]:
    """A Teams bot with the adoption tools (the real assessor, checklists in the data directory)."""
    with teams_bots(tmp_path, request) as make:
        yield make(tools=True)


@contextmanager
def served(runtime: Any, connector: FakeConnector | None = None) -> Iterator[tuple[FakeConnector, BackgroundServer]]:
    """A Runtime's Teams endpoint on port 0 and a fake connector for its replies (`connector`, or a new one); both
    closed after."""
    connector = connector or FakeConnector()
    try:
        server = BackgroundServer(build_web_app(index_info=runtime.index_info, teams=runtime.teams_endpoint()))
    except BaseException:
        connector.close()
        raise
    try:
        yield connector, server
    finally:
        server.close()
        connector.close()


# -- what Teams sends ---------------------------------------------------------------------------------------------


def post(server: BackgroundServer, payload: Any, headers: dict | None = None) -> tuple[int, dict | None]:
    """POST an activity (or raw bytes) to /api/messages: the status and the JSON body of the response."""
    data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    request = urllib.request.Request(
        server.url + "/api/messages", data=data, headers={"Content-Type": "application/json", **(headers or {})}
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            raw = response.read()
            return response.status, json.loads(raw) if raw else None
    except urllib.error.HTTPError as e:
        return e.code, None


def turn(server: BackgroundServer, connector: FakeConnector, text: str, **activity: Any) -> dict[str, Any]:
    """One message answered in the response (expectReplies), with an id no other turn has; its one message."""
    activity.setdefault("activity_id", f"17000009{next(_ids):05d}")
    _, body = post(server, teams_activity(text, service_url=connector.url, expect_replies=True, **activity))
    assert body is not None, "the Teams endpoint refused the activity"
    [reply] = replies(body)
    return reply


def in_channel(**kwargs: Any) -> dict[str, Any]:
    """teams_activity's arguments for a reply chain of CHANNEL."""
    return {"conversation_type": "channel", "conversation_id": f"{CHANNEL};messageid=1700000000009", **kwargs}


# -- what Teams received ------------------------------------------------------------------------------------------


def replies(body: dict) -> list[dict]:
    """The messages of a response to an expectReplies turn."""
    return [a for a in body["activities"] if a["type"] == "message"]


def stream_id(activity: dict) -> str:
    [info] = [e for e in activity["entities"] if e.get("type") == "streaminfo"]
    return info.get("streamId", "")


def card(activity: dict[str, Any]) -> dict[str, Any]:
    """The Adaptive Card of a message with one attachment."""
    [attachment] = activity["attachments"]
    assert attachment["contentType"] == cards.CARD_TYPE
    return attachment["content"]


def card_texts(activity: dict) -> list[str]:
    """The text of every element of a message's card."""
    return [b["text"] for b in card(activity)["body"]]


def inputs(content: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [element for element in content["body"] if element["type"] == kind]


def texts(content: dict[str, Any]) -> list[str]:
    return [e["text"] for e in content["body"] if e["type"] == "TextBlock"]


def toggled(content: dict[str, Any]) -> list[str]:
    return [t["title"] for t in inputs(content, "Input.Toggle") if t["value"] == "true"]


def as_shown(content: dict[str, Any]) -> dict[str, Any]:
    """What Teams sends for a card nobody changed: the submit's data and every input's value."""
    [submit] = content["actions"]
    assert submit["type"] == "Action.Submit"
    shown = {e["id"]: e.get("value", "") for e in content["body"] if e["type"].startswith("Input.")}
    return {**submit["data"], **shown}


def live(markdown: str) -> bool:
    """Whether Markdown would make a link, an image or HTML of it (what is backslash-escaped is text)."""
    text = re.sub(r"\\.", "", markdown, flags=re.DOTALL)
    return bool(re.search(r"\]\(|<[A-Za-z/!?]|<(?:https?|mailto):", text))


# -- checklists ---------------------------------------------------------------------------------------------------


def post_checklist(bot: TeamsBot, project: str = "web shop photos") -> tuple[dict[str, Any], str]:
    """Ask for the pre-deployment checklist of `project` in CHANNEL: the card and its message id."""
    bot.ask(f"checklist pre-deployment {project}", mention=True, **in_channel())
    posted = bot.posted()[-1]
    return card(posted), bot.connector.id_of(posted)


def save(bot: TeamsBot, content: dict[str, Any], card_id: str, tick: list[int], **who: Any) -> None:
    """Toggle on the items numbered in `tick` (from 1) on this copy of the card, then Save."""
    value = as_shown(content)
    toggles = inputs(content, "Input.Toggle")
    value.update({toggles[n - 1]["id"]: "true" for n in tick})
    assert bot.submit(value, card_id, **in_channel(**who)) in (200, 202)
