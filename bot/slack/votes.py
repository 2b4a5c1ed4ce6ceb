"""Votes on Slack answers: the feedback buttons, thanked in place (the chat core tells the experts)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bot.chat import Chat
from bot.slack import blocks
from bot.slack.experts import SlackExperts


class Votes:
    """A press of 👍 or 👎 under an answer."""

    def __init__(self, chat: Chat, experts: SlackExperts) -> None:
        self.chat = chat
        self.experts = experts

    def vote(
        self,
        client: Any,
        vote: str,
        feedback_id: str,
        user: str,
        message_blocks: list[dict],
        respond: Callable[..., Any],
        *,
        channel: str = "",
        message_ts: str = "",
    ) -> None:
        """Store the vote and thank the voter in place of the buttons."""
        voted = self.chat.vote(
            feedback_id, user, vote, platform="slack", link=lambda: self.experts.link(client, channel, message_ts),
            origin=client,
        )  # fmt: skip
        respond(blocks=blocks.thanked(message_blocks, voted.thanks), replace_original=True, text=voted.thanks)
