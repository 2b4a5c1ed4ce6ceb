"""A person's Slack message as the assistant sees it, read from Slack's events by pure functions."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from bot.answering.conversation import addressed_to_bot, smalltalk
from bot.slack.text import mentioned, plain
from bot.types import Turn

HISTORY_TURNS = 6
PERSON_SUBTYPES = {None, "thread_broadcast", "file_share"}  # a person's text, possibly with a file
Kind = Literal["mention", "dm", "follow-up"]


@dataclass(frozen=True)
class Message:
    """A person's message that may be for the assistant, as the listeners saw it."""

    kind: Kind
    channel: str
    ts: str
    thread_ts: str | None  # the thread it is in, or None for a top-level direct message
    text: str  # plain text: Slack's markup read at the edge (bot/slack/text.py)
    user: str
    team: str = ""
    mentions: frozenset[str] = frozenset()  # the user ids it @mentions
    keys: tuple[str, ...] = ()  # what its event is claimed under (bot.state.claims): one delivery answers it
    tab: bool = False  # in the agent's Messages tab (bot/slack/agent.py): a top-level message starts its thread

    @property
    def direct(self) -> bool:
        """Whether it is in a DM with the assistant."""
        return self.channel.startswith("D")

    @property
    def channel_kind(self) -> str:
        """The audit log's kind of place."""
        if self.direct:
            return "dm"
        return "thread" if self.thread_ts and self.thread_ts != self.ts else "channel"


@dataclass(frozen=True)
class Bot:
    """Who the assistant is in this workspace: its user id, and the id its posts carry."""

    user_id: str
    bot_id: str = ""

    def wrote(self, message: dict[str, Any]) -> bool:
        """Whether a message in a thread or DM is the assistant's own."""
        return message.get("user") == self.user_id or (bool(self.bot_id) and message.get("bot_id") == self.bot_id)

    def is_for_me(self, message: Message) -> bool:
        """An un-mentioned thread reply is for the assistant when it asks something or thanks it."""
        if message.mentions - {self.user_id}:
            return False  # "@dana can you check this?" is for Dana
        return bool(smalltalk(message.text) == "thanks" or addressed_to_bot(message.text))

    def history(self, messages: list[dict[str, Any]], ts: str) -> tuple[Turn, ...]:
        """Earlier turns as Question history, without the current message."""
        turns = [
            Turn("assistant" if self.wrote(m) else "user", plain(m.get("text", "")))
            for m in messages
            if m.get("ts") != ts and m.get("text")
        ]
        return tuple(turns[-HISTORY_TURNS:])


def message_of(
    kind: Kind, event: dict[str, Any], body: dict[str, Any], *, thread_ts: str | None, tab: bool = False
) -> Message:
    """A message event (app_mention or message) as a Message; in the Messages tab it is answered in its thread."""
    return Message(
        kind=kind,
        channel=event["channel"],
        ts=event["ts"],
        thread_ts=thread_ts or (event["ts"] if tab else None),
        text=plain(event.get("text", "")),
        user=event.get("user", ""),
        team=event.get("team") or body.get("team_id", ""),
        keys=event_keys(event, body),
        mentions=mentioned(event.get("text", "")),
        tab=tab,
    )


def from_a_person(event: dict[str, Any]) -> bool:
    """A person's new text: not a bot (ourselves included), not an edit, join or other subtype."""
    return event.get("subtype") in PERSON_SUBTYPES and not event.get("bot_id") and bool(event.get("user"))


def event_keys(event: dict[str, Any], body: dict[str, Any]) -> tuple[str, str]:
    """What an event is claimed under: its event id, and its message's channel and ts."""
    # Retries and redeliveries repeat the event_id; app_mention and message events for one
    # message share channel and ts.
    return body.get("event_id", ""), f"{event.get('channel')}:{event.get('ts')}"
