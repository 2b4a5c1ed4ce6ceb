"""Sending to Teams: progress messages and in-place updates within a turn, and messages sent outside it.

A message sent outside the turn (proactively) goes through the adapter to a conversation reference taken
during the turn: a slow answer, a reindex's report, the experts' forward.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import Any

from bot.teams import cards

log = logging.getLogger(__name__)
Reference = tuple[Any, Any]  # (claims identity, conversation reference): enough to send outside the turn


def message(activity: dict[str, Any]) -> Any:
    """An activity built by bot/teams/cards.py, as the Agents SDK sends it."""
    from microsoft_agents.activity import Activity

    return Activity.model_validate(activity)


def text_message(text: str) -> Any:
    """A Markdown text message."""
    return message(cards.text_activity(text))


def reference(context: Any) -> Reference:
    """Where the turn's conversation is, to send to it after the turn has ended."""
    return context.identity, context.activity.get_conversation_reference()


async def say(context: Any, activity: Any) -> None:
    """Send a progress message (typing, place in line, holding reply); its failure must not cost the answer."""
    try:
        await context.send_activity(activity)
    except Exception:
        log.exception("could not send a progress message to Teams conversation %s", context.activity.conversation.id)


async def update(context: Any, message_id: str, activity: dict[str, Any], what: str) -> bool:
    """Replace a message sent earlier, for everyone in the conversation; False when it cannot be."""
    from microsoft_agents.activity import Activity

    if not message_id:
        return False
    try:
        await context.update_activity(Activity.model_validate({**activity, "id": message_id}))
    except Exception as e:  # noqa: BLE001 - the caller sends a new message instead
        log.info("could not update the Teams %s %s (%s)", what, message_id, e)
        return False
    return True


@dataclass
class Outbox:
    """Messages outside the turn, through the adapter; `pending` keeps the deliveries still running."""

    adapter: Any
    experts_channel: str = ""
    pending: set[asyncio.Task] = field(default_factory=set)

    async def send_later(self, reference: Reference, reply: Any) -> Any:
        """Send outside the original turn (proactively), to the same conversation; the resource response."""
        identity, conversation = reference
        sent: list[Any] = []

        async def send(context: Any) -> None:
            sent.append(await context.send_activity(reply))

        try:
            await self.adapter.continue_conversation_with_claims(
                identity, conversation.get_continuation_activity(), send
            )
        except Exception:
            log.exception("could not deliver a message proactively to %s", conversation.conversation.id)
        return sent[0] if sent else None

    async def tell_experts(self, reference: Reference, text: str) -> None:
        """Post to the experts' channel, if one is set, in the same tenant as the conversation."""
        if not self.experts_channel or not text:
            return
        from microsoft_agents.activity import ConversationAccount

        identity, conversation = reference
        there = conversation.model_copy(
            update={
                "conversation": ConversationAccount(id=self.experts_channel, conversation_type="channel"),
                "activity_id": None,
            }
        )
        await self.send_later((identity, there), text_message(text))

    def tell_experts_from_thread(self, text: str, origin: tuple[Reference, asyncio.AbstractEventLoop]) -> None:
        """The chat core's experts notifier: the forward is posted from the turn's event loop, not waited for."""
        where, loop = origin
        loop.call_soon_threadsafe(lambda: self.in_background(self.tell_experts(where, text)))

    def in_background(self, coroutine: Awaitable[None]) -> None:
        """Run a delivery after the turn has ended."""
        task = asyncio.ensure_future(coroutine)
        self.pending.add(task)  # keep a reference until it is done
        task.add_done_callback(self.pending.discard)
