"""A question answered in Teams: streamed into a 1:1 chat, or one message in channels and group chats.

In channels and group chats the answer is sent proactively after a holding reply when it is slow (Teams drops
a turn after 15 s). Each answer is remembered for follow-ups and votes (bot/teams/conversations.py).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from bot.chat import Chat, Reply
from bot.fairuse import Ticket, in_line
from bot.teams import activity as read
from bot.teams import cards
from bot.teams.conversations import Conversations
from bot.teams.outbox import Outbox, Reference, message, reference, say, text_message
from bot.teams.streaming import StreamedReply, can_stream
from bot.types import Question
from common.settings import Settings

log = logging.getLogger(__name__)
SEARCHING = "Searching the knowledge base..."
HOLDING = "Still working on that; the answer will follow shortly."


@dataclass
class Answers:
    """Questions answered over the chat core, and the answers remembered."""

    chat: Chat
    settings: Settings
    conversations: Conversations
    outbox: Outbox

    async def reply(self, context: Any, text: str, ticket: Ticket) -> None:
        """Answer a question that has its place in line: streamed where Teams can, else as one message."""
        if can_stream(context):
            await self._stream(context, text, ticket)
        else:
            await self._answer(context, text, ticket)

    async def _stream(self, context: Any, text: str, ticket: Ticket) -> None:
        """1:1 chats: the place in line or what is happening, the text as it is written, the final message."""
        stream = StreamedReply(context)
        stream.inform(in_line(ticket.position) if ticket.position else SEARCHING)
        loop = asyncio.get_running_loop()

        def started() -> None:
            if ticket.position:  # it waited in line; now it is being answered
                loop.call_soon_threadsafe(stream.inform, SEARCHING)

        question = await self._question(context.activity, text)
        reply = await self._run(question, context, ticket, on_text=stream.writer(loop), started=started)
        activity = rendered(reply, personal=True)
        message_id = await stream.finish(activity, reply.answer if reply.kind == "answer" else None)
        await self._remember(context.activity, question, reply, activity, message_id)

    async def _answer(self, context: Any, text: str, ticket: Ticket) -> None:
        """Channels and group chats (and turns answered in the response): the answer as one message."""
        from microsoft_agents.activity import Activity

        # Nothing between taking a place in line and handing the question to the pool may raise.
        await say(context, Activity(type="typing"))
        if ticket.position:
            await say(context, text_message(in_line(ticket.position)))
        question = await self._question(context.activity, text)
        future = asyncio.ensure_future(self._run(question, context, ticket))
        where = reference(context)
        try:
            if context.activity.delivery_mode == "expectReplies":
                reply = await future  # everything goes back in the response to this request
            else:
                reply = await asyncio.wait_for(asyncio.shield(future), self.settings.teams_inline_s)
        except TimeoutError:
            # Teams drops a turn after 15 s: send the answer later, and say so (unless the place in line did).
            self.outbox.in_background(self._deliver_later(where, context.activity, question, future))
            if not ticket.position:
                await say(context, text_message(HOLDING))
            return
        await self._deliver(context.send_activity, context.activity, question, reply)

    async def _deliver_later(
        self, where: Reference, asked: Any, question: Question, future: asyncio.Future[Reply]
    ) -> None:
        reply = await future
        await self._deliver(partial(self.outbox.send_later, where), asked, question, reply)

    async def _deliver(
        self, send: Callable[[Any], Awaitable[Any]], asked: Any, question: Question, reply: Reply
    ) -> None:
        """Send the reply as one message and remember it."""
        activity = rendered(reply, personal=read.is_personal(asked))
        response = await send(message(activity))
        await self._remember(asked, question, reply, activity, (getattr(response, "id", "") or "") if response else "")

    async def _run(
        self,
        question: Question,
        context: Any,
        ticket: Ticket,
        *,
        on_text: Callable[[str], None] | None = None,
        started: Callable[[], None] | None = None,
    ) -> Reply:
        """Answer on the core's worker pool (the core gives up the place in line, and tells the experts)."""
        asked, loop = context.activity, asyncio.get_running_loop()

        def work() -> Reply:  # everything that may raise in here: the core gives up the place in line either way
            if started is not None:
                started()
            return self.chat.ask(
                question,
                platform="teams",
                channel_kind=read.channel_kind(asked),
                link=partial(read.message_link, asked),
                on_text=on_text,
                origin=(reference(context), loop),  # where the experts' forward is sent from
            )

        return await asyncio.wrap_future(self.chat.submit(ticket, work))

    async def _question(self, activity: Any, text: str) -> Question:
        try:
            history = await self.conversations.history(activity.conversation.id)
        except Exception:  # an unreadable history costs the follow-up its context, not its answer
            log.exception("could not read the Teams conversation history of %s", activity.conversation.id)
            history = ()
        return Question(text, history=history, user=read.user(activity), place=read.place(activity))

    async def _remember(
        self, asked: Any, question: Question, reply: Reply, activity: dict[str, Any], message_id: str
    ) -> None:
        """Keep the turn for follow-ups, and the answer for votes (survives a restart)."""
        try:
            if reply.answer is not None:
                await self.conversations.add_turn(asked.conversation.id, question.text, reply.text)
            await self.conversations.add_answer(asked.conversation.id, message_id, reply.feedback_id, activity)
        except Exception:
            log.exception("could not store the Teams conversation state of %s", asked.conversation.id)


def rendered(reply: Reply, *, personal: bool) -> dict[str, Any]:
    """An answer with its citations, card, thumbs and suggested questions (suggested actions in a personal chat);
    a clarifying question with its choices; the rest as text."""
    if reply.kind == "answer" and reply.answer is not None:
        return cards.answer_activity(reply.answer, reply.feedback_id, personal=personal)
    if reply.kind == "clarify" and reply.answer is not None:
        return cards.clarify_activity(reply.answer)
    return cards.text_activity(reply.text)
