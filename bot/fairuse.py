"""Fair use: a per-person limit on questions a minute, and a cap on questions waiting for a worker.

Over a limit, the person is told when to try again; a question that has to wait is told its place
in line. Nobody gets silence. The per-person window is `limits`' moving window, in memory (one
process); the line is this process's own.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from limits import RateLimitItemPerMinute
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter


@dataclass(frozen=True)
class Ticket:
    """A place in line: position 0 is being answered now; 1 is next, and so on."""

    position: int
    release: Callable[[], None]


@dataclass(frozen=True)
class Refusal:
    """Why a question was not taken, in words for the person who asked it."""

    text: str
    retry_after_s: int


class FairUse:
    """Admits questions: `admit(user)` gives a Ticket (release it when answered) or a Refusal."""

    def __init__(
        self,
        *,
        per_minute: int,
        max_waiting: int,
        workers: int,
    ) -> None:
        self.per_minute = per_minute
        self.max_waiting = max_waiting
        self.workers = max(1, workers)
        self._limit = RateLimitItemPerMinute(per_minute) if per_minute > 0 else None
        self._window = MovingWindowRateLimiter(MemoryStorage())
        self._lock = threading.Lock()
        self._in_line = 0  # questions taken and not yet released: being answered or waiting

    @property
    def waiting(self) -> int:
        """Questions waiting for a free worker (not yet being answered)."""
        with self._lock:
            return max(0, self._in_line - self.workers)

    def admit(self, user: str) -> Ticket | Refusal:
        """Take the question, or say why not and when to try again."""
        if self._limit is not None and not self._window.hit(self._limit, user or "anonymous"):
            reset = self._window.get_window_stats(self._limit, user or "anonymous").reset_time
            wait = max(1, math.ceil(reset - time.time()))  # limits keeps wall-clock time
            return Refusal(
                f"You've asked {self.per_minute} questions in the last minute, which is my limit per person. "
                f"Please try again in {_seconds(wait)}.",
                wait,
            )
        with self._lock:
            waiting = max(0, self._in_line - self.workers + 1)
            if self.max_waiting >= 0 and waiting > self.max_waiting:
                return Refusal(
                    f"I'm answering a lot of questions right now ({self._in_line - self.workers} waiting). "
                    "Please try again in a minute.",
                    60,
                )
            self._in_line += 1
        return Ticket(position=waiting, release=_once(self._release))

    def _release(self) -> None:
        with self._lock:
            self._in_line = max(0, self._in_line - 1)


def in_line(position: int) -> str:
    """What a person waiting is told: their place in line."""
    return f"You're #{position} in line; your answer will follow here as soon as I get to it."


def _seconds(n: int) -> str:
    return "1 second" if n == 1 else f"{n} seconds"


def _once(fn: Callable[[], None]) -> Callable[[], None]:
    first = threading.Lock()

    def call() -> None:
        if first.acquire(blocking=False):  # never released: only the first call gets through
            fn()

    return call
