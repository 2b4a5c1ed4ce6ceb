"""Teams activities translated into chat-core calls: which part of the Teams assistant a message is for.

A message is an older answer card's vote (bot/teams/votes.py), a tool (bot/teams/tools.py), a command
(bot/teams/commands.py) or a question (bot/teams/answers.py). What each reply says, who may reindex and what
the experts hear come from the chat core (bot/chat.py); the adoption tools from the tools core.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from bot.chat import Chat
from bot.fairuse import Refusal
from bot.teams import activity as read
from bot.teams import cards
from bot.teams.answers import Answers
from bot.teams.commands import Commands
from bot.teams.conversations import Conversations
from bot.teams.outbox import Outbox, text_message
from bot.teams.tools import ToolCards
from bot.teams.votes import Votes
from common.settings import Settings


@dataclass
class TeamsAssistant:
    """The handlers' logic: questions, commands, tools and votes, over one chat core."""

    chat: Chat
    settings: Settings
    conversations: Conversations
    adapter: Any = None
    outbox: Outbox = field(init=False)
    answers: Answers = field(init=False)
    commands: Commands = field(init=False)
    tools: ToolCards = field(init=False)
    votes: Votes = field(init=False)

    def __post_init__(self) -> None:
        self.outbox = Outbox(self.adapter, experts_channel=self.settings.teams_experts_channel)
        self.answers = Answers(self.chat, self.settings, self.conversations, self.outbox)
        self.commands = Commands(self.chat, self.outbox)
        self.tools = ToolCards(self.chat, self.settings, self.outbox)
        self.votes = Votes(self.chat, self.conversations, self.outbox)
        self.chat.connect_experts("teams", self.outbox.tell_experts_from_thread)

    async def on_message(self, context: Any) -> None:
        """A message: an older card's vote, a tool, a command, or a question."""
        activity = context.activity
        if isinstance(activity.value, dict) and activity.value.get("adoptbot") == cards.FEEDBACK:
            await self.votes.button(context, activity.value)
            return
        if not read.is_personal(activity) and not activity.is_recipient_mentioned():
            return  # in channels and group chats, only messages that @mention the assistant
        routed = self.chat.route(read.plain(activity.remove_recipient_mention() or ""))
        if routed.kind == "tool":
            await self.tools.reply(context, routed.name, routed.rest)
            return
        if routed.kind == "command":
            await self.commands.reply(context, routed.name)
            return
        admitted = self.chat.admit(read.user(activity))
        if isinstance(admitted, Refusal):
            await context.send_activity(text_message(admitted.text))
            return
        await self.answers.reply(context, routed.rest, admitted)

    async def assessment_submitted(self, context: Any, value: Mapping[str, Any]) -> None:
        """The assessment form's Assess."""
        await self.tools.assessment_submitted(context, value)

    async def checklist_saved(self, context: Any, value: Mapping[str, Any]) -> None:
        """A checklist card's Save."""
        await self.tools.checklist_saved(context, value)

    async def choice_submitted(self, context: Any, value: Mapping[str, Any]) -> None:
        """A card's ask button (a clarifying choice, a suggested question): that person's question, answered like a
        typed one in the same conversation."""
        question = cards.chosen_question(value)
        if not question:
            return
        admitted = self.chat.admit(read.user(context.activity))
        if isinstance(admitted, Refusal):
            await context.send_activity(text_message(admitted.text))
            return
        await self.answers.reply(context, question, admitted)

    async def on_submit_action(self, context: Any) -> None:
        """The feedback loop's thumbs."""
        await self.votes.thumbs(context)
