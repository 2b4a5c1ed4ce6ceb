"""One answer streamed into a Teams 1:1 chat through the Agents SDK's StreamingResponse.

Teams shows an informative update, then the text as it grows, then the final message with citations,
the AI label, the sources card, the feedback thumbs and the suggested next questions. If the connector
refuses a streaming activity, streaming stops there and the answer goes out as one ordinary message when
it is ready: never two, never none. If the person pressed Stop, nothing more is sent.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from bot.teams import cards
from bot.teams.activity import is_personal
from bot.types import Answer

log = logging.getLogger(__name__)
STREAM_INFO = "streaminfo"


def can_stream(context: Any) -> bool:
    """Teams streams only in 1:1 chats, and not in turns whose replies come back in the response."""
    return is_personal(context.activity) and context.streaming_response.is_streaming_channel


class StreamedReply:
    """Writes one answer into the turn's StreamingResponse; the SDK's sends pass through `_guard`."""

    def __init__(self, context: Any) -> None:
        self._context = context
        self._response = context.streaming_response
        self._written = ""  # text handed to the stream so far
        self._ending = False
        self.refused = False  # the connector refused a streaming activity
        self.stopped = False  # the person pressed Stop
        self.delivered = False  # the final streamed message reached Teams
        self.message_id = ""  # the streamed message's id (Teams' stream id)
        self.suggested: dict[str, Any] | None = None  # the final message's suggested actions (the SDK sets none)
        context.on_send_activities(self._guard)

    def inform(self, text: str) -> None:
        """Show what is happening (a place in line, searching) until text arrives; call on the event loop."""
        if not (self._ending or self._written or self.refused or self.stopped):
            self._response.queue_informative_update(text)

    def write(self, piece: str) -> None:
        """Add text to the streamed message; call on the event loop."""
        if self._ending or not piece:
            return
        self._written += piece
        if not (self.refused or self.stopped):
            self._response.queue_text_chunk(piece)

    def writer(self, loop: asyncio.AbstractEventLoop) -> Callable[[str], None]:
        """`write` for a worker thread: each piece is handed to the event loop, in order."""

        def write(piece: str) -> None:
            loop.call_soon_threadsafe(self.write, piece)

        return write

    async def finish(self, activity: dict[str, Any], answer: Answer | None = None) -> str:
        """End the stream with `activity` (an answer's also carries its citations); the message id, or ""."""
        from microsoft_agents.activity import Activity, Attachment
        from microsoft_agents.hosting.core.app.streaming import Citation

        text = activity.get("text") or ""
        self.suggested = activity.get("suggestedActions")
        # Teams requires the final text to extend what was streamed; an answer always does (the engine's
        # pieces join to its text), an apology after a failure mid-answer is added below it.
        rest = text[len(self._written) :] if text.startswith(self._written) else "\n\n" + text
        self.write(rest)
        self._ending = True
        if not (self.refused or self.stopped):
            if answer is not None:
                # The SDK numbers citations by their order; the sources are numbered 1..n in order.
                sources = sorted(answer.sources, key=lambda c: c.n)
                self._response.set_citations(
                    [Citation(content=cards.abstract(c), title=c.title, url=c.url or None) for c in sources]
                )
                self._response.set_generated_by_ai_label(True)
            attachments = [Attachment.model_validate(a) for a in activity.get("attachments", [])]
            if attachments:
                self._response.set_attachments(attachments)
            self._response.set_feedback_loop("feedbackLoop" in (activity.get("channelData") or {}))
            try:
                await self._response.end_stream()
            except Exception:
                log.exception("ending a Teams stream failed")
        else:
            await self._response.wait_for_queue()  # updates already queued go nowhere, but let them finish
        if self.delivered or self.stopped:
            return self.message_id if self.delivered else ""
        # Streaming was refused or broke off: the whole answer once, as an ordinary message.
        response = await self._context.send_activity(Activity.model_validate(activity))
        return (response.id if response else "") or ""

    async def _guard(self, context: Any, activities: list[Any], send: Callable[[], Any]) -> Any:
        """Let streaming activities through until one is refused; after that, none reach Teams."""
        from microsoft_agents.activity import ResourceResponse

        streamed = [_stream_type(a) for a in activities]
        if not any(streamed):
            return await send()
        if self.refused or self.stopped:
            return [ResourceResponse() for _ in activities]
        if self.suggested and "final" in streamed:  # StreamingResponse cannot add them: added on their way out
            from microsoft_agents.activity import SuggestedActions

            for activity, kind in zip(activities, streamed, strict=True):
                if kind == "final":
                    activity.suggested_actions = SuggestedActions.model_validate(self.suggested)
        try:
            responses = await send()
        except Exception as e:  # noqa: BLE001 - any refusal ends streaming; the answer still goes out once
            if _stopped_by_person(e):
                log.info("the person stopped the Teams stream")
                self.stopped = True
            else:
                log.warning("Teams refused a streaming message (%s); the answer will be sent as one message", e)
                self.refused = True
            return [ResourceResponse() for _ in activities]
        if not self.message_id:
            self.message_id = next((r.id for r in responses if r is not None and r.id), "")
        if "final" in streamed:
            self.delivered = True
        return responses


def _stream_type(activity: Any) -> str:
    """'informative', 'streaming' or 'final' for an activity of a stream; '' for any other."""
    for entity in activity.entities or []:
        if getattr(entity, "type", None) == STREAM_INFO:
            return getattr(entity, "stream_type", None) or "streaming"
    return ""


def _stopped_by_person(error: Exception) -> bool:
    """Teams answers 403 with 'cancelled by user' to streaming activities after the person pressed Stop."""
    message = str(error).lower()
    return getattr(error, "status", None) == 403 and ("canceled by user" in message or "cancelled by user" in message)
