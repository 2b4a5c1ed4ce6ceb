"""Slack's interactive payloads (slash commands, views, block actions) read into plain values by pure functions."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.slack.blocks import CHOICE_ACTION, CHOICES_BLOCK, LEGACY_FEEDBACK_ACTIONS, checklist_of
from bot.slack.text import plain


@dataclass(frozen=True)
class Command:
    """The slash command as typed: its text, who typed it where, and the trigger a form needs."""

    text: str
    user: str
    channel: str
    trigger_id: str


@dataclass(frozen=True)
class Tick:
    """Boxes changed in one checklist group: which checklist, what that copy showed ticked, what is ticked now."""

    checklist: str
    project: str
    shown_done: list[str]
    selected: list[str]


def command_of(command: dict[str, Any]) -> Command:
    """A slash command's form fields."""
    return Command(
        text=plain(command.get("text", "")),
        user=command.get("user_id", ""),
        channel=command.get("channel_id", ""),
        trigger_id=command.get("trigger_id", ""),
    )


def user_of(body: dict[str, Any]) -> str:
    """Who clicked or submitted."""
    return body.get("user", {}).get("id", "")


def channel_of(body: dict[str, Any]) -> str:
    """The channel a block action came from."""
    return (body.get("channel") or {}).get("id", "")


def share_channel(body: dict[str, Any]) -> str:
    """The channel a private answer's "Share" was pressed in (an ephemeral message names it in its container)."""
    return channel_of(body) or (body.get("container") or {}).get("channel_id", "")


def form_answers(view: dict[str, Any]) -> tuple[str, dict[str, str]]:
    """The assessment form's idea, and the choice picked for each question (empty: none)."""
    values = view.get("state", {}).get("values", {})
    idea = ((values.get("idea") or {}).get("idea") or {}).get("value") or ""
    chosen = {
        question: str(((field_value or {}).get("selected_option") or {}).get("value") or "")
        for block_id, fields in values.items()
        if block_id.startswith("q_")
        for question, field_value in fields.items()
    }
    return idea, chosen


def form_channel(view: dict[str, Any], user: str) -> str:
    """Where the assessment's result goes: the channel the form was opened in, else a DM with the person."""
    return view.get("private_metadata") or user


def tick_of(action: dict[str, Any], message: dict[str, Any]) -> Tick | None:
    """A checklist tick: the group's checklist and project, the copy's ticks and the new ones (None: not ours)."""
    belongs = checklist_of(action.get("block_id", ""))
    if belongs is None:
        return None
    checklist, project = belongs
    shown = next((b for b in message.get("blocks", []) if b.get("block_id") == action["block_id"]), {})
    element = (shown.get("elements") or [{}])[0]
    return Tick(
        checklist,
        project,
        shown_done=[o.get("value", "") for o in element.get("initial_options", [])],
        selected=[o.get("value", "") for o in action.get("selected_options", [])],
    )


def vote_of(action: dict[str, Any]) -> tuple[str, str]:
    """A feedback button's vote and the answer it is about; older buttons' values were the answer id alone."""
    value = action.get("value", "")
    if action.get("action_id") in LEGACY_FEEDBACK_ACTIONS:
        return ("helpful" if action["action_id"] == LEGACY_FEEDBACK_ACTIONS[0] else "not_helpful"), value
    vote, _, feedback_id = value.partition(":")
    return vote, feedback_id


@dataclass(frozen=True)
class Chosen:
    """A button that asks a question pressed (a clarifying choice, a suggested question): the question it asks, by
    whom, and the thread it belongs to."""

    question: str
    label: str
    user: str
    channel: str
    thread_ts: str | None  # the thread of the clarifying question; None for one at the top of a DM
    action_ts: str  # when it was pressed: a click is claimed once, like a message
    team: str = ""
    block: str = CHOICES_BLOCK  # the block of the button: a clarifying question's, or an answer's suggestions
    value: str = ""  # the button's value as sent


def choice_of(body: dict[str, Any]) -> Chosen | None:
    """A press of a button that asks a question (None: not one, or empty); ephemeral ones carry no message."""
    action = next(iter(body.get("actions") or []), {})
    question = plain(action.get("value") or "")
    if not str(action.get("action_id", "")).startswith(CHOICE_ACTION + ":") or not question:
        return None
    container = body.get("container") or {}
    message = body.get("message") or {}
    channel = channel_of(body) or container.get("channel_id", "")
    thread = message.get("thread_ts") or container.get("thread_ts")
    if not thread and not channel.startswith("D"):  # a channel's clarifying question starts a thread of its own
        thread = message.get("ts") or container.get("message_ts")
    return Chosen(
        question=question,
        label=((action.get("text") or {}).get("text") or question),
        user=user_of(body),
        channel=channel,
        thread_ts=thread or None,
        action_ts=str(action.get("action_ts") or container.get("message_ts") or ""),
        team=(body.get("team") or {}).get("id", ""),
        block=str(action.get("block_id") or CHOICES_BLOCK),
        value=str(action.get("value") or ""),
    )
