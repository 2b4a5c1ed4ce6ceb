"""Slack's Agent messaging experience: which DMs are the agent's Messages tab, and which sessions were stopped.

With the manifest's `agent_view`, opening the app's DM sends `app_home_opened` with `tab == "messages"`
(it replaces `assistant_thread_started`), and each top-level message there starts a thread the agent
answers in. A DM is taken to be such a Messages tab once that event has been seen for it, so an app still
on `assistant_view` keeps its classic DM. The stop button of an agent session sends `agent_session_stopped`.
"""

from __future__ import annotations

import logging
import threading

from bot.state.kv import State

log = logging.getLogger(__name__)
PREFIX = "slack:agent-dm:"


class MessagesTab:
    """The DMs opened in the agent's Messages tab, kept in the shared state (when there is one) for every replica."""

    def __init__(self, state: State | None) -> None:
        self.state = state
        self._known: set[str] = set()
        self._lock = threading.Lock()

    def opened(self, channel: str) -> bool:
        """Record that the Messages tab of this DM was opened: whether it is the first time (prompts are due)."""
        if channel in self:
            return False
        with self._lock:
            self._known.add(channel)
        if self.state is not None:
            try:
                self.state.put_many({PREFIX + channel: True})
            except Exception as e:  # noqa: BLE001 - this replica still knows; the others learn on the next open
                log.warning("could not record the Messages tab of %s: %s", channel, e)
        return True

    def __contains__(self, channel: object) -> bool:
        if not isinstance(channel, str) or not channel.startswith("D"):
            return False
        with self._lock:
            if channel in self._known:
                return True
        if self.state is None:
            return False
        try:
            found = bool(self.state.get_many([PREFIX + channel]))
        except Exception as e:  # noqa: BLE001 - a classic DM reply is still a reply
            log.warning("could not read the Messages tab of %s: %s", channel, e)
            return False
        if found:
            with self._lock:
                self._known.add(channel)
        return found


class Stops:
    """Agent sessions being answered, and those whose stop button was pressed (`agent_session_stopped`)."""

    def __init__(self) -> None:
        self._running: set[tuple[str, str]] = set()
        self._stopped: set[tuple[str, str]] = set()
        self._lock = threading.Lock()

    def begin(self, channel: str, thread_ts: str) -> None:
        """An answer is being written in this thread."""
        with self._lock:
            self._running.add((channel, thread_ts))
            self._stopped.discard((channel, thread_ts))

    def stop(self, channel: str, thread_ts: str) -> bool:
        """The person pressed stop: whether an answer was being written there."""
        with self._lock:
            if (channel, thread_ts) not in self._running:
                return False
            self._stopped.add((channel, thread_ts))
            return True

    def stopped(self, channel: str, thread_ts: str) -> bool:
        """Whether the answer in this thread should stop."""
        with self._lock:
            return (channel, thread_ts) in self._stopped

    def end(self, channel: str, thread_ts: str) -> None:
        """The answer in this thread is finished."""
        with self._lock:
            self._running.discard((channel, thread_ts))
            self._stopped.discard((channel, thread_ts))
