"""Answering a Slack message: claim its event, decide whether it is for the assistant, answer it on the core's pool."""

from __future__ import annotations

import logging
from typing import Any

from bot.answering.conversation import smalltalk
from bot.answering.engine import APOLOGY
from bot.audiences import slack_place
from bot.chat import Chat, Reply
from bot.fairuse import Refusal, in_line
from bot.slack import blocks
from bot.slack.agent import MessagesTab, Stops
from bot.slack.channels import ChannelModesFile
from bot.slack.delivery import Delivery, note, react, session_status
from bot.slack.experts import SlackExperts
from bot.slack.messages import HISTORY_TURNS, Bot, Message
from bot.slack.payloads import Chosen
from bot.slack.private import PrivateReplies
from bot.state.claims import Claims
from bot.types import Question

log = logging.getLogger(__name__)
THANKS_REACTION = "pray"
STATUS = "is looking in the knowledge base..."
LOADING = ("Searching the guidance...", "Reading the checklists...", "Writing the answer...")


class Questions:
    """Messages to answer: mentions, direct messages and follow-ups in threads the assistant is part of."""

    def __init__(
        self,
        *,
        chat: Chat,
        command: str,
        modes: ChannelModesFile,
        claims: Claims,
        bot: Bot,
        private: PrivateReplies,
        experts: SlackExperts,
        tab: MessagesTab | None = None,
        stops: Stops | None = None,
    ) -> None:
        self.chat = chat
        self.command = command  # the slash command, for the help an empty question gets
        self.modes = modes
        self.seen = claims  # which replica (and which of Slack's redeliveries) answers an event
        self.bot = bot
        self.private = private
        self.experts = experts
        self.tab = tab if tab is not None else MessagesTab(None)  # DMs that are the agent's Messages tab
        self.stops = stops if stops is not None else Stops()  # the sessions' stop buttons

    def take(self, client: Any, message: Message) -> None:
        """Claim the message's event, decide whether it is for the assistant and queue its answer.

        Slack is already acknowledged. The claim is finished once the answer is posted, or at once
        when there is none to give, so that only a delivery whose answer was lost in a crash is retried.
        """
        mode = self.modes.current().of(message.channel)
        if message.kind == "follow-up" and (mode != "normal" or not self.bot.is_for_me(message)):
            return  # chatter, a message for someone else, or follow-ups off here: every replica drops it alike
        if not self.seen.claim(*message.keys):
            return  # another replica, or an earlier delivery of the event, has it
        queued = False
        try:
            queued = self._queue(client, message, mode)
        finally:
            if not queued:
                self.seen.finish(*message.keys)

    def choose(self, client: Any, chosen: Chosen, shown: dict[str, Any], respond: Any) -> None:
        """A button that asks a question (a clarifying choice, a suggested question): asked as that person's
        question in its thread, the button replaced.

        The same road as a typed question (claimed once, fair use, the channel's mode); the message, when
        Slack sent it, shows who chose what instead of the button, so nobody answers it twice. An answer keeps
        its text (the thread's history reads it).
        """
        if shown.get("blocks"):
            try:
                updated = blocks.chosen(
                    shown["blocks"], chosen.user, chosen.label, block_id=chosen.block, value=chosen.value
                )
                text = shown.get("text") if chosen.block == blocks.SUGGESTIONS_BLOCK else None
                respond(blocks=updated, replace_original=True, text=text or chosen.label)
            except Exception as e:  # noqa: BLE001 - the buttons stay; the answer still comes
                log.warning("could not mark the choice in %s: %s", chosen.channel, e)
        direct = chosen.channel.startswith("D")
        message = Message(
            kind="dm" if direct else "mention", channel=chosen.channel, ts=chosen.action_ts,
            thread_ts=chosen.thread_ts, text=chosen.question, user=chosen.user, team=chosen.team,
            keys=(f"choice:{chosen.channel}:{chosen.action_ts}:{chosen.user}",),
            tab=direct and chosen.channel in self.tab,
        )  # fmt: skip
        self.take(client, message)

    def _queue(self, client: Any, message: Message, mode: str) -> bool:
        """Queue the answer, or say why there is none: whether an answer was queued."""
        if mode == "off":
            note(client, message, "I'm turned off in this channel. Send me a direct message instead.")
            return False
        admission = self.chat.admit(message.user)
        if isinstance(admission, Refusal):
            note(client, message, admission.text)
            return False
        if admission.position:
            self._waiting(client, message, admission.position)
        self.chat.submit(admission, self._answer, client, message, mode == "private")
        return True

    def _answer(self, client: Any, message: Message, private: bool) -> None:
        status, replied = None, False
        try:
            earlier = self._earlier_messages(client, message)  # one API call serves both uses
            if message.kind == "follow-up":
                if not any(m.get("user") == self.bot.user_id for m in earlier):
                    return  # a thread the assistant is not part of
                if smalltalk(message.text):
                    react(client, "reactions_add", message, name=THANKS_REACTION)  # a nod, no message
                    return
            status = self._working(client, message, earlier)
            question = Question(
                message.text, history=self.bot.history(earlier, message.ts), user=message.user,
                place=slack_place(message.channel),
            )  # fmt: skip
            delivery = Delivery(client, message, stream=not private and bool(message.thread_ts), stops=self.stops)
            delivery.begin()

            def deliver(reply: Reply) -> None:
                if private:
                    self.private.post(client, message, reply)
                else:
                    delivery.finish(reply, self.command)

            self.chat.ask(
                question,
                platform="slack",
                channel_kind=message.channel_kind,
                link=lambda: self.experts.link(client, message.channel, message.ts),
                on_text=delivery.write,
                deliver=deliver,
                origin=client,
            )
            replied = True
        except Exception:
            log.exception("answering %s/%s failed", message.channel, message.ts)
            if not replied:  # reading the thread or posting failed: an apology, not silence
                note(client, message, APOLOGY)
        finally:
            self.seen.finish(*message.keys)
            if status == "eyes":
                react(client, "reactions_remove", message)

    def _working(self, client: Any, message: Message, earlier: list[dict[str, Any]]) -> str:
        """Show that an answer is coming: the assistant status in a DM thread, else :eyes:."""
        if message.direct and message.thread_ts:
            try:
                client.assistant_threads_setStatus(
                    channel_id=message.channel,
                    thread_ts=message.thread_ts,
                    status=STATUS,
                    loading_messages=list(LOADING),
                )
                first = not any(m.get("ts") != message.ts and not self.bot.wrote(m) for m in earlier)
                title = message.text.strip()[:60] or "Question"
                if message.tab:  # the session's stop button shows while it is processing
                    session_status(client, message, "processing", title=title if first else "")
                if first:
                    client.assistant_threads_setTitle(
                        channel_id=message.channel, thread_ts=message.thread_ts, title=title
                    )
                return "status"
            except Exception as e:  # noqa: BLE001 - not an assistant thread (or an older workspace): :eyes: will do
                log.debug("assistant status unavailable: %s", e)
        react(client, "reactions_add", message)
        return "eyes"

    def _waiting(self, client: Any, message: Message, position: int) -> None:
        """Tell someone waiting their place in line."""
        if message.direct and message.thread_ts:
            try:
                client.assistant_threads_setStatus(
                    channel_id=message.channel,
                    thread_ts=message.thread_ts,
                    status=f"is answering others first: you're #{position} in line",
                )
                return
            except Exception as e:  # noqa: BLE001 - say it in a note instead
                log.debug("assistant status unavailable: %s", e)
        note(client, message, in_line(position))

    def _earlier_messages(self, client: Any, message: Message) -> list[dict[str, Any]]:
        """The thread's messages (or the DM's latest), oldest first; none for a new channel message or a new
        thread of the Messages tab (each is a conversation of its own there)."""
        if message.tab and message.thread_ts == message.ts:
            return []
        if message.thread_ts and message.thread_ts != message.ts:
            return client.conversations_replies(channel=message.channel, ts=message.thread_ts, limit=50)["messages"]
        if message.direct:
            latest = client.conversations_history(channel=message.channel, latest=message.ts, limit=HISTORY_TURNS)
            return list(reversed(latest["messages"]))
        return []
