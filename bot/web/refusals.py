"""Refusing a request: a short JSON error, log lines about refusals kept few, and the bearer-token check.

Shared by every route (the operators', Slack's, Teams'); imports aiohttp only.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError


class LogLimiter:
    """At most `per_minute` lines a minute about refused requests, then one line counting the rest.

    A flood of junk requests must not become a flood of log lines.
    """

    def __init__(self, logger: logging.Logger, *, per_minute: int = 20, clock: Callable[[], float] = time.monotonic):
        self._logger = logger
        self._per_minute = per_minute
        self._clock = clock
        self._lock = threading.Lock()
        self._start = clock()
        self._logged = 0
        self._suppressed = 0

    def warning(self, message: str, *args: object) -> None:
        """Log one line, unless this minute's allowance is spent."""
        if self.allows():
            self._logger.warning(message, *args)

    def allows(self) -> bool:
        """Whether one more line fits in this minute's allowance; a line that does not is counted."""
        with self._lock:
            now = self._clock()
            if now - self._start >= 60:
                if self._suppressed:
                    self._logger.warning("suppressed %d similar lines in the last minute", self._suppressed)
                self._start, self._logged, self._suppressed = now, 0, 0
            if self._logged >= self._per_minute:
                self._suppressed += 1
                return False
            self._logged += 1
            return True


class LimitedLog(logging.LoggerAdapter):
    """aiohttp's server logger, whose lines about requests it cannot parse go through a LogLimiter, one short line each.

    aiohttp logs a full traceback for every request it cannot parse (both Content-Length and chunked, a
    broken header): a flood of such requests must not become a flood of log lines.
    """

    def __init__(self, logger: logging.Logger, limiter: LogLimiter) -> None:
        super().__init__(logger, {})
        self.limiter = limiter

    def log(self, level: int, msg: object, *args: object, exc_info: Any = None, **kwargs: Any) -> None:
        """A request aiohttp could not parse: one line without traceback, within the allowance; the rest as written."""
        error = sys.exc_info()[1] if exc_info is True else exc_info[1] if isinstance(exc_info, tuple) else exc_info
        if level < logging.WARNING or not isinstance(error, HttpProcessingError):
            # Our own handlers' failures keep their traceback: only requests aiohttp cannot parse are cut short.
            super().log(level, msg, *args, exc_info=exc_info, **kwargs)
            return
        if not self.isEnabledFor(level) or not self.limiter.allows():
            return
        try:
            text = str(msg) % args if args else str(msg)
        except (TypeError, ValueError, KeyError):
            text = str(msg)
        # aiohttp's parser errors span lines and quote the raw request: one line of it is enough
        text += f": {type(error).__name__}: {' '.join(str(error).split())[:160]}"
        self.logger.warning(text)


def refuse(status: int, error: str) -> web.Response:
    """A short JSON error that says what is wrong with the request."""
    return web.json_response({"error": error}, status=status)


def bearer_matches(header: str | None, token: str) -> bool:
    """Whether an Authorization header is `Bearer <token>`, compared in constant time."""
    scheme, _, given = (header or "").partition(" ")
    # Digests of equal length, so the comparison's time does not even tell the token's length.
    given_digest = hashlib.sha256(given.strip().encode()).digest()
    return scheme.lower() == "bearer" and hmac.compare_digest(given_digest, hashlib.sha256(token.encode()).digest())
