"""Log line formats: readable text by default, one JSON object a line for a log collector (ADOPTBOT_LOG_FORMAT=json)."""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Iterable

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time (UTC, ISO 8601), level, logger, message and any traceback.

    `extra=` fields are left out: the redacting filter cleans the message and traceback, not them.
    """

    def format(self, record: logging.LogRecord) -> str:
        """The record as one line of JSON."""
        entry: dict[str, object] = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        # The redacting filter has already put a redacted traceback in exc_text: use it, never exc_info again.
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = record.stack_info
        return json.dumps(entry, default=str)  # ASCII: no U+2028 or the like can split a line


def use_log_format(handlers: Iterable[logging.Handler], log_format: str) -> None:
    """Give handlers the formatter of ADOPTBOT_LOG_FORMAT: "json" or "text"."""
    formatter = JsonFormatter() if log_format == "json" else logging.Formatter(TEXT_FORMAT)
    for handler in handlers:
        handler.setFormatter(formatter)
