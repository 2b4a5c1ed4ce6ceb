"""Clocks a test moves by hand: `Clock` (a datetime, for the stores) and `Seconds` (seconds since the epoch)."""

from __future__ import annotations

import datetime as dt

T0 = dt.datetime(2026, 1, 1, 12, 0, tzinfo=dt.UTC)
HOUR = 3600.0


class Clock:
    """A clock the test moves: a timezone-aware datetime."""

    def __init__(self, now: dt.datetime = T0) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now


class Seconds:
    """A clock the test moves: seconds since the epoch."""

    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now
