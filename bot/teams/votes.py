"""Votes on answers in Teams: the feedback loop's thumbs, and the buttons of answer cards sent before it.

The answer stays as it was sent; its ways to vote give way to a thank-you, as in Slack.
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass
from functools import partial
from typing import Any

from bot.chat import Chat, Voted
from bot.teams import activity as read
from bot.teams import cards
from bot.teams.conversations import Conversations
from bot.teams.outbox import Outbox, reference, text_message, update

log = logging.getLogger(__name__)
REACTIONS = {"like": "helpful", "dislike": "not_helpful"}  # the feedback loop's thumbs, as our votes


@dataclass
class Votes:
    """Votes stored through the chat core (which tells the experts what they should hear)."""

    chat: Chat
    conversations: Conversations
    outbox: Outbox

    async def thumbs(self, context: Any) -> None:
        """The feedback loop's thumbs (an invoke naming the answer's message); always answered with 200."""
        from microsoft_agents.activity import Activity, InvokeResponse

        activity = context.activity
        value = activity.value if isinstance(activity.value, dict) else {}
        action = value.get("actionValue") if isinstance(value.get("actionValue"), dict) else {}
        vote = REACTIONS.get(str(action.get("reaction", "")))
        message_id = activity.reply_to_id or ""
        try:
            feedback_id = await self.conversations.feedback_id(activity.conversation.id, message_id)
            if value.get("actionName") == "feedback" and vote and feedback_id:
                voted = await self._vote(context, feedback_id, vote, message_id, comment(action))
                # Copilot Chat thanks the person itself and takes nothing after an answer's stream has ended.
                if not read.in_copilot(activity):
                    thanked = await self._thank_in_place(context, feedback_id, message_id, voted.thanks)
                    if not (thanked or voted.recorded):  # Teams says thanks itself; an apology is ours to say
                        await context.send_activity(text_message(voted.thanks))
            else:
                log.warning("ignored Teams feedback %r on message %r", action.get("reaction"), message_id)
        except Exception:  # Teams shows an error for anything but 200; the vote is lost either way
            log.exception("Teams feedback on message %r failed", message_id)
        await context.send_activity(Activity(type="invokeResponse", value=InvokeResponse(status=200)))

    async def button(self, context: Any, value: dict[str, Any]) -> None:
        """A button on the card of an answer sent before the feedback loop; a message when it cannot be updated."""
        message_id = context.activity.reply_to_id or ""
        voted = await self._vote(context, str(value.get("answer_id", "")), str(value.get("vote")), message_id)
        if not await self._thank_in_place(context, str(value.get("answer_id", "")), message_id, voted.thanks):
            await context.send_activity(text_message(voted.thanks))

    async def _vote(self, context: Any, feedback_id: str, vote: str, message_id: str, comment: str = "") -> Voted:
        """Store a vote through the core; a "not helpful" reaches the experts through the outbox."""
        activity = context.activity
        loop = asyncio.get_running_loop()
        vote_call = partial(
            self.chat.vote, feedback_id, read.user(activity), vote, platform="teams",
            link=partial(read.message_link, activity, message_id), comment=comment, origin=(reference(context), loop),
        )  # fmt: skip
        return await loop.run_in_executor(None, vote_call)

    async def _thank_in_place(self, context: Any, feedback_id: str, message_id: str, thanks: str) -> bool:
        """The answer as it was sent, with a thank-you where its ways to vote were."""
        if not message_id:
            return False
        try:
            original = await self.conversations.answer(feedback_id)
            thanked = cards.thanked(original, thanks) if original is not None else None
        except Exception as e:  # noqa: BLE001 - a thank-you message does as well
            log.info("could not update the Teams answer %s (%s)", message_id, e)
            return False
        return thanked is not None and await update(context, message_id, thanked, "answer")


def comment(action: dict[str, Any]) -> str:
    """What the person wrote after a thumb: Teams sends it as JSON text, {"feedbackText": ...}."""
    raw = action.get("feedback")
    try:
        data = json.loads(raw) if isinstance(raw, str) else raw
    except ValueError:
        return ""
    text = data.get("feedbackText") if isinstance(data, dict) else None
    return text if isinstance(text, str) else ""
