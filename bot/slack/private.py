"""Private answers: posted so only the asker sees them, kept for "Share in channel", and shared on request."""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from bot.chat import Reply
from bot.slack import blocks
from bot.slack.delivery import render
from bot.slack.messages import Message
from bot.state.kv import State
from common.errors import DatabaseUnavailable

log = logging.getLogger(__name__)
GONE = "That answer is no longer available to share (answers are kept for 7 days). Ask again, please."


class Recent:
    """A bounded map of recent private answers (feedback id -> message), for "Share in channel"."""

    def __init__(self, size: int = 2_000) -> None:
        self._items: OrderedDict[str, Any] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    def put(self, key: str, value: Any) -> None:
        """Keep a value, forgetting the oldest beyond the size."""
        with self._lock:
            self._items[key] = value
            while len(self._items) > self._size:
                self._items.popitem(last=False)

    def pop(self, key: str) -> Any:
        """Take a value out (None: not kept, or forgotten)."""
        with self._lock:
            return self._items.pop(key, None)


class PrivateAnswers:
    """Private answers kept for "Share in channel", in the shared-state database when there is one.

    Any replica, or this one after a restart, can then share them; without a database (or while it is
    down) they are kept in this process.
    """

    PREFIX = "slack/private/"

    def __init__(self, state: State | None) -> None:
        self.state = state
        self.local = Recent()

    def put(self, feedback_id: str, rendered: dict[str, Any]) -> None:
        """Keep a rendered private answer under its feedback id."""
        if self.state is not None:
            try:
                self.state.put(self.PREFIX + feedback_id, rendered)
                return
            except DatabaseUnavailable as e:
                log.warning("private answer kept in this process only: %s", e)
        self.local.put(feedback_id, rendered)

    def pop(self, feedback_id: str) -> dict[str, Any] | None:
        """Take a kept private answer out, from the database or this process (None: not kept)."""
        if self.state is not None:
            try:
                rendered = self.state.get(self.PREFIX + feedback_id)
                if rendered is not None:
                    self.state.delete(self.PREFIX + feedback_id)
                    return rendered
            except DatabaseUnavailable as e:
                log.warning("looking for a private answer in this process only: %s", e)
        return self.local.pop(feedback_id)


class PrivateReplies:
    """Replies only the asker sees, with "Share in channel"; `command` is the slash command, for the help."""

    def __init__(self, state: State | None, *, command: str) -> None:
        self.kept = PrivateAnswers(state)
        self.command = command

    def post(self, client: Any, message: Message, reply: Reply) -> None:
        """An answer to a message, posted ephemerally in its channel (and thread)."""
        rendered = self._kept(reply)
        client.chat_postEphemeral(
            channel=message.channel,
            user=message.user,
            thread_ts=message.thread_ts if message.thread_ts != message.ts else None,
            text=rendered["text"],
            blocks=blocks.private(rendered["blocks"], reply.feedback_id),
        )

    def respond(self, respond: Callable[..., Any], reply: Reply) -> None:
        """An answer to the slash command's `ask`, through its response URL."""
        rendered = self._kept(reply)
        respond(
            text=rendered["text"],
            blocks=blocks.private(rendered["blocks"], reply.feedback_id),
            response_type="ephemeral",
            replace_original=False,
        )

    def share(self, client: Any, feedback_id: str, user: str, channel: str, respond: Callable[..., Any]) -> None:
        """Post a private answer to the channel for everyone, and remove the private copy."""
        rendered = self.kept.pop(feedback_id)
        if rendered is None:
            respond(text=GONE, response_type="ephemeral", replace_original=False)
            return
        shared = [*rendered["blocks"], blocks.asked_by(user)]
        client.chat_postMessage(channel=channel, text=rendered["text"], blocks=shared, unfurl_links=False)
        respond(delete_original=True)

    def _kept(self, reply: Reply) -> dict[str, Any]:
        rendered = render(reply, self.command)
        if reply.feedback_id:
            self.kept.put(reply.feedback_id, rendered)
        return rendered
