"""The Slack assistant: its parts wired over one chat core, for the listeners (bot/slack/listeners.py) to call.

Answering messages (questions.py; the agent's Messages tab and its sessions in agent.py), the slash command
(commands.py) and its tools (tools.py), private answers (private.py), votes (votes.py) and the experts'
channel (experts.py); what every reply says comes from the chat core (bot.chat). These modules only speak
Slack's Web API.
"""

from __future__ import annotations

from bot.chat import Chat
from bot.slack.agent import MessagesTab, Stops
from bot.slack.channels import ChannelModesFile
from bot.slack.commands import SlashCommand
from bot.slack.experts import SlackExperts
from bot.slack.messages import Bot
from bot.slack.private import PrivateReplies
from bot.slack.questions import Questions
from bot.slack.tools import SlackTools
from bot.slack.votes import Votes
from bot.state.claims import Claims
from bot.state.kv import State
from common.settings import Settings


class SlackAssistant:
    """Everything the listeners hand events to; connects Slack's experts' channel to the core."""

    def __init__(
        self,
        *,
        chat: Chat,
        settings: Settings,
        modes: ChannelModesFile,
        claims: Claims,
        bot_user_id: str,
        bot_id: str = "",
        state: State | None = None,
    ) -> None:
        command = settings.slack_command
        self.settings = settings
        self.bot = Bot(bot_user_id, bot_id)
        self.experts = SlackExperts(settings)
        chat.connect_experts("slack", self.experts.notify)
        self.private = PrivateReplies(state, command=command)
        self.tab = MessagesTab(state)
        self.stops = Stops()
        self.questions = Questions(
            chat=chat, command=command, modes=modes, claims=claims, bot=self.bot, private=self.private,
            experts=self.experts, tab=self.tab, stops=self.stops,
        )  # fmt: skip
        self.tools = SlackTools(chat, command=command)
        self.command = SlashCommand(chat, command=command, tools=self.tools, private=self.private)
        self.votes = Votes(chat, self.experts)
