"""The slash command: `ask` answered privately, `assess` and `checklist` (the tools), help, status and reindex."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from bot.audiences import slack_place
from bot.chat import Chat
from bot.fairuse import Refusal, in_line
from bot.slack import blocks
from bot.slack.payloads import Command
from bot.slack.private import PrivateReplies
from bot.slack.tools import SlackTools
from bot.types import Question

log = logging.getLogger(__name__)


class SlashCommand:
    """What `/adoptbot ...` does, routed by the chat core; slow work reports through `respond`."""

    def __init__(self, chat: Chat, *, command: str, tools: SlackTools, private: PrivateReplies) -> None:
        self.chat = chat
        self.command = command
        self.tools = tools
        self.private = private

    def __call__(self, client: Any, typed: Command, respond: Callable[..., Any]) -> dict[str, Any]:
        """The immediate (ephemeral) reply to the slash command."""
        routed = self.chat.route(typed.text, slash=True)
        if routed.kind == "tool" and routed.name == "assess":
            return self.tools.assess(client, typed.trigger_id, routed.rest, typed.channel)
        if routed.kind == "tool":
            return self.tools.checklist(client, routed.rest.split(), typed.user, typed.channel)
        if routed.kind == "question":
            admission = self.chat.admit(typed.user)
            if isinstance(admission, Refusal):
                return {"text": admission.text}
            self.chat.submit(admission, self._ask_privately, client, routed.rest, typed, respond)
            waiting = f" {in_line(admission.position)}" if admission.position else ""
            return {"text": f":eyes: Looking into: {blocks.escape(routed.rest[:200])}{waiting}"}

        def report(markdown: str) -> None:
            respond(**blocks.markdown_message(markdown), response_type="ephemeral", replace_original=False)

        how, extra = blocks.command_usage(self.command)
        reply = self.chat.command(routed.name, platform="slack", user=typed.user, report=report, how=how, extra=extra)
        return blocks.markdown_message(reply)

    def _ask_privately(self, client: Any, text: str, typed: Command, respond: Callable[..., Any]) -> None:
        try:
            self.chat.ask(
                Question(text, user=typed.user, place=slack_place(typed.channel)), platform="slack",
                channel_kind="channel", deliver=lambda reply: self.private.respond(respond, reply), origin=client,
            )  # fmt: skip
        except Exception:
            log.exception("slash-command answer failed")
