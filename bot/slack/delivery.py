"""How a reply reaches Slack: rendered as Block Kit, streamed while it is written or posted once, and short notes."""

from __future__ import annotations

import logging
from typing import Any

from bot.chat import Reply
from bot.slack import blocks
from bot.slack.messages import Message

log = logging.getLogger(__name__)
STREAM_BUFFER = 40  # characters gathered before a chat.appendStream call (a sentence arrives at a time anyway)


def render(reply: Reply, command: str) -> dict[str, Any]:
    """A reply as Slack message arguments: plain text for notifications, and Block Kit."""
    if reply.answer is not None:
        return {
            "text": blocks.answer_text(reply.answer),
            "blocks": blocks.answer_blocks(reply.answer, reply.feedback_id),
        }
    if reply.kind == "help":
        return {"text": blocks.markdown_text(reply.text), "blocks": blocks.help_blocks(command)}
    return blocks.markdown_message(reply.text)


class Delivery:
    """One reply to one message: streamed while the backend writes, else posted once; never twice."""

    def __init__(self, client: Any, message: Message, *, stream: bool) -> None:
        self.client = client
        self.message = message
        self.stream = stream
        self.streamer: Any = None
        self.broken = False  # the stream started, then failed: the message is fixed in place at the end

    def write(self, piece: str) -> None:
        """A piece of the answer as the backend writes it (called on the worker thread)."""
        if not self.stream or self.broken:
            return
        try:
            if self.streamer is None:
                self.streamer = self.client.chat_stream(
                    channel=self.message.channel,
                    thread_ts=self.message.thread_ts,
                    recipient_user_id=None if self.message.direct else self.message.user,
                    recipient_team_id=None if self.message.direct else self.message.team or None,
                    buffer_size=STREAM_BUFFER,
                )
            self.streamer.append(markdown_text=blocks.streamed(piece))
        except Exception as e:  # noqa: BLE001 - streaming refused (older workspace, rate limit): post at the end
            log.info("streaming to %s stopped (%s); the answer will be posted whole", self.message.channel, e)
            if self.streamer is None or self.streamer.ts is None:
                self.stream = False
            else:
                self.broken = True

    def finish(self, reply: Reply, command: str) -> None:
        """Close the stream with the sources and feedback buttons, or post the reply as one message."""
        rendered = render(reply, command)
        started = self.streamer is not None and self.streamer.ts is not None
        if self.streamer is not None and not self.broken:
            tail = blocks.tail_blocks(reply.answer, reply.feedback_id) if reply.answer else None
            try:
                # An apology after a partial answer is appended; a whole answer gets its sources and buttons.
                self.streamer.stop(blocks=tail or None, markdown_text=None if reply.answer else f"\n\n{reply.text}")
                return
            except Exception as e:  # noqa: BLE001 - fix the message in place, or post it once
                log.info("could not finish the stream in %s (%s)", self.message.channel, e)
                started = self.streamer.ts is not None
        if started:
            self.client.chat_update(channel=self.message.channel, ts=self.streamer.ts, unfurl_links=False, **rendered)
            return
        self.client.chat_postMessage(
            channel=self.message.channel,
            thread_ts=self.message.thread_ts,
            unfurl_links=False,
            **rendered,
        )


def note(client: Any, message: Message, text: str) -> None:
    """A short word for the person only (in a DM, a message: only they see it anyway)."""
    try:
        if message.direct:
            client.chat_postMessage(channel=message.channel, thread_ts=message.thread_ts, text=text)
        else:
            client.chat_postEphemeral(
                channel=message.channel, user=message.user, thread_ts=message.thread_ts, text=text
            )
    except Exception as e:  # noqa: BLE001 - nothing more can be done for a note
        log.warning("could not tell %s in %s: %s", message.user, message.channel, e)


def tell_privately(client: Any, channel: str, user: str, markdown: str) -> None:
    """A note only the person sees, in the channel they clicked in."""
    client.chat_postEphemeral(channel=channel, user=user, **blocks.markdown_message(markdown))


def react(client: Any, method: str, message: Message, *, name: str = "eyes") -> None:
    """Add or remove a reaction on the person's message; a missing reaction must not cost the answer."""
    try:
        getattr(client, method)(channel=message.channel, timestamp=message.ts, name=name)
    except Exception as e:  # noqa: BLE001
        log.debug("%s failed: %s", method, e)
