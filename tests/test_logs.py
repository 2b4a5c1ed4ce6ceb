"""Log formats (adoptbot/logs.py): JSON lines on request, still redacted."""

from __future__ import annotations

import io
import json
import logging

import pytest

from adoptbot.logs import use_log_format
from bot.state.redaction import redact_logs
from common.errors import ConfigError
from common.settings import Settings


@pytest.fixture
def logged():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    logger = logging.getLogger("adoptbot.test-logs")
    logger.addHandler(handler)
    logger.propagate = False
    yield logger, handler, stream
    logger.removeHandler(handler)


def test_json_lines_carry_level_logger_message_and_a_redacted_traceback(logged):
    logger, handler, stream = logged
    use_log_format([handler], "json")
    redact_logs([handler])
    logger.warning("answering %s failed\nfor %s", "C0123", "dana@example.com")
    try:
        raise RuntimeError("token for bob@example.com refused")
    except RuntimeError:
        logger.exception("boom")
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2
    first, second = (json.loads(line) for line in lines)
    assert first["level"] == "WARNING" and first["logger"] == "adoptbot.test-logs"
    assert first["message"] == "answering C0123 failed\nfor [email]"
    assert first["time"].endswith("+00:00")
    assert second["message"] == "boom" and "RuntimeError: token for [email] refused" in second["exception"]
    assert "example.com" not in stream.getvalue()


def test_text_stays_the_default_format(logged):
    logger, handler, stream = logged
    use_log_format([handler], Settings().log_format)
    logger.warning("hello")
    assert stream.getvalue().rstrip().endswith("WARNING adoptbot.test-logs: hello")


def test_an_unknown_log_format_stops_start_up_naming_the_variable():
    with pytest.raises(ConfigError, match="ADOPTBOT_LOG_FORMAT='yaml' is not one of text, json"):
        Settings.from_env({"ADOPTBOT_LOG_FORMAT": "yaml"})
    assert Settings.from_env({"ADOPTBOT_LOG_FORMAT": "json"}).log_format == "json"
