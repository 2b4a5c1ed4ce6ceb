"""How a reply reaches Slack: rendered as Block Kit, streamed while it is written or posted once, and short notes."""

from __future__ import annotations

import logging
from typing import Any

from bot.chat import Reply
from bot.slack import blocks, tasks
from bot.slack.agent import Stops
from bot.slack.messages import Message

log = logging.getLogger(__name__)
STREAM_BUFFER = 40  # characters gathered before a chat.appendStream call (a sentence arrives at a time anyway)
STOPPED = "_Stopped, as you asked._"


def render(reply: Reply, command: str, *, markdown_block: bool = False) -> dict[str, Any]:
    """A reply as Slack message arguments: plain text for notifications, and Block Kit.

    `markdown_block`: the answer in a `markdown` block (the agent's Messages tab) rather than converted to mrkdwn.
    """
    if markdown_block and reply.kind != "help":
        text = blocks.answer_text(reply.answer) if reply.answer is not None else blocks.markdown_text(reply.text)
        return {"text": text, "blocks": tasks.answer_blocks(reply)}
    if reply.answer is not None:
        return {
            "text": blocks.answer_text(reply.answer),
            "blocks": blocks.answer_blocks(reply.answer, reply.feedback_id),
        }
    if reply.kind == "help":
        return {"text": blocks.markdown_text(reply.text), "blocks": blocks.help_blocks(command)}
    return blocks.markdown_message(reply.text)


class Delivery:
    """One reply to one message: streamed while the backend writes, else posted once; never twice.

    In the agent's Messages tab (`message.tab`) the stream opens at once with the search as a task, the
    answer replies to the person's message with the recipient's ids, and the session's stop button is heeded.
    """

    def __init__(self, client: Any, message: Message, *, stream: bool, stops: Stops | None = None) -> None:
        self.client = client
        self.message = message
        self.stream = stream
        self.stops = stops
        self.streamer: Any = None
        self.broken = False  # the stream started, then failed: the message is fixed in place at the end
        self.written = ""  # the answer's Markdown streamed so far
        self.stopped = False  # the person pressed the session's stop button

    def begin(self) -> None:
        """In the Messages tab, open the stream before answering: the knowledge-base search shows as a task."""
        if not (self.stream and self.message.tab):
            return
        if self.stops is not None:
            self.stops.begin(self.message.channel, self._thread)
        self._send(chunks=[tasks.searching()])

    def write(self, piece: str) -> None:
        """A piece of the answer as the backend writes it (called on the worker thread)."""
        if not self.stream or self.broken or self._stopping():
            return
        for part in tasks.pieces(blocks.streamed(piece), tasks.MARKDOWN_LIMIT - STREAM_BUFFER):
            if not self._send(markdown_text=part):
                return
        self.written += piece

    def finish(self, reply: Reply, command: str) -> None:
        """Close the stream with the sources and feedback buttons, or post the reply as one message."""
        try:
            if self._stopping():
                self._finish_stopped()
            else:
                self._finish(reply, command)
        finally:
            if self.stops is not None and self.message.tab:
                self.stops.end(self.message.channel, self._thread)

    def _finish(self, reply: Reply, command: str) -> None:
        rendered = render(reply, command, markdown_block=self.message.tab)
        started = self.streamer is not None and self.streamer.ts is not None
        if self.streamer is not None and not self.broken:
            try:
                self._close(reply)
                return
            except Exception as e:  # noqa: BLE001 - fix the message in place, or post it once
                log.info("could not finish the stream in %s (%s)", self.message.channel, e)
                started = self.streamer.ts is not None
        if started:
            self.client.chat_update(channel=self.message.channel, ts=self.streamer.ts, **rendered)
        else:
            self.client.chat_postMessage(
                channel=self.message.channel, thread_ts=self.message.thread_ts, unfurl_links=False, **rendered
            )
        if self.message.tab:
            session_status(self.client, self.message, "active")  # no stream to end the session's processing

    def _close(self, reply: Reply) -> None:
        """Stop the stream: what was not streamed yet, the search done, then sources and buttons."""
        answer = reply.answer
        if answer is not None:
            # A whole answer gets its sources and buttons; one the backend gave at once is written here first.
            rest, tail = ("" if self.written else answer.text), blocks.tail_blocks(answer, reply.feedback_id)
            if answer.choices and not self.written:
                tail.insert(0, blocks.choices_block(answer.choices))
        else:  # an apology (or help) after a partial answer is appended
            rest, tail = (f"\n\n{reply.text}" if self.written else reply.text), []
        rest = blocks.streamed(rest) if answer is not None else rest
        parts = tasks.pieces(rest, tasks.MARKDOWN_LIMIT - STREAM_BUFFER)
        for part in parts[:-1]:
            self.streamer.append(markdown_text=part)
        self.streamer.stop(
            markdown_text=parts[-1] or None,
            chunks=[tasks.searched(reply)] if self.message.tab else None,
            blocks=tail or None,
        )

    def _finish_stopped(self) -> None:
        """The stop button was pressed: the answer so far, and a word that it stopped; the session no longer busy."""
        note = STOPPED if not self.written else f"\n\n{STOPPED}"
        if self.streamer is not None and self.streamer.ts is not None and not self.broken:
            try:
                self.streamer.stop(markdown_text=note, chunks=[tasks.stopped()], session_status="active")
                return
            except Exception as e:  # noqa: BLE001 - Slack may have ended the stream itself when stop was pressed
                log.info("could not end the stopped stream in %s (%s)", self.message.channel, e)
            text = blocks.to_mrkdwn(self.written + note)[: blocks.SECTION_LIMIT]
            self.client.chat_update(channel=self.message.channel, ts=self.streamer.ts, text=text)
        else:
            self.client.chat_postMessage(channel=self.message.channel, thread_ts=self.message.thread_ts, text=STOPPED)
        session_status(self.client, self.message, "active")

    @property
    def _thread(self) -> str:
        return self.message.thread_ts or self.message.ts

    def _stopping(self) -> bool:
        if not self.stopped and self.stops is not None and self.message.tab:
            self.stopped = self.stops.stopped(self.message.channel, self._thread)
        return self.stopped

    def _send(self, **piece: Any) -> bool:
        """Append to the stream (opening it first): whether it took the piece; a refusal ends streaming."""
        try:
            if self.streamer is None:
                tab = self.message.tab  # Slack wants the recipient outside a DM; the agent's tab names it too
                recipient = not self.message.direct or tab
                self.streamer = self.client.chat_stream(
                    channel=self.message.channel,
                    thread_ts=self._thread if tab else self.message.thread_ts,
                    recipient_user_id=self.message.user if recipient else None,
                    recipient_team_id=(self.message.team or None) if recipient else None,
                    task_display_mode="timeline" if tab else None,
                    buffer_size=STREAM_BUFFER,
                )
            self.streamer.append(**piece)
            return True
        except Exception as e:  # noqa: BLE001 - streaming refused (older workspace, rate limit): post at the end
            log.info("streaming to %s stopped (%s); the answer will be posted whole", self.message.channel, e)
            if self.streamer is None or self.streamer.ts is None:
                self.stream = False
            else:
                self.broken = True
            return False


def session_status(client: Any, message: Message, status: str, *, title: str = "") -> None:
    """The agent session of the person's thread (Messages tab): processing shows the stop button; active ends it.

    slack-sdk 3.47.0 has no method for agents.sessions.setStatus, so it goes through api_call; a workspace
    without agent sessions refuses it, and the answer does not depend on it.
    """
    args = {"channel_id": message.channel, "thread_ts": message.thread_ts or message.ts, "status": status}
    if title:
        args["title"] = title[:200]
    try:
        client.api_call("agents.sessions.setStatus", json=args)
    except Exception as e:  # noqa: BLE001
        log.debug("agent session status unavailable: %s", e)


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
