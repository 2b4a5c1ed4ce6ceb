"""Personal data is replaced by typed placeholders; everything else is left exactly as written."""

from __future__ import annotations

import io
import json
import logging
from pathlib import Path

import pytest

from bot.redaction import Redacted, Redactor, redact, redact_logs

CORPUS = [json.loads(line) for line in (Path(__file__).parent / "data" / "pii_corpus.jsonl").read_text().splitlines()]
PLACEHOLDERS = ("[email]", "[phone]", "[card]", "[iban]", "[national-id]", "[ip]", "[user]")


def placeholders_in(text: str) -> list[str]:
    """The placeholder types in text, in order of appearance."""
    found = []
    i = 0
    while i < len(text):
        hit = next((p for p in PLACEHOLDERS if text.startswith(p, i)), None)
        if hit:
            found.append(hit[1:-1])
            i += len(hit)
        else:
            i += 1
    return found


def test_the_corpus_is_large_and_balanced():
    with_pii = [r for r in CORPUS if r["expect"]]
    assert len(CORPUS) >= 100 and 0.4 <= len(with_pii) / len(CORPUS) <= 0.6


@pytest.mark.parametrize("row", CORPUS, ids=[r["text"][:40] for r in CORPUS])
def test_corpus_line_is_redacted_as_labelled(row):
    result = redact(row["text"])
    assert placeholders_in(result.text) == row["expect"]
    assert sum(result.counts.values()) == len(row["expect"])
    if not row["expect"]:
        assert result.text == row["text"]  # nothing without personal data is touched


def test_the_raw_values_are_gone_and_the_rest_of_the_sentence_stays():
    result = redact("Jo (jo@example.com, +44 20 7946 0958) paid with 4111-1111-1111-1111 from 10.0.0.5.")
    assert result.text == "Jo ([email], [phone]) paid with [card] from [ip]."
    assert result.counts == {"email": 1, "phone": 1, "card": 1, "ip": 1}
    assert redact(result.text) == Redacted(result.text, {})  # placeholders are not redacted again


def test_phone_regions_decide_how_numbers_without_a_country_code_are_read():
    uk = "ring 020 7946 0958 today"
    assert redact(uk).text == "ring [phone] today"  # the default regions are US and GB
    assert Redactor(phone_regions=["DE"])(uk).text == uk
    assert Redactor(phone_regions=[])("+44 20 7946 0958").text == "[phone]"  # international numbers always
    with pytest.raises(ValueError, match=r"unknown phone region.*XX"):
        Redactor(phone_regions=["XX"])


def test_log_lines_arguments_and_tracebacks_leave_redacted():
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    redact_logs([handler])
    redact_logs([handler])  # installing twice filters once
    logger = logging.getLogger("test.redaction")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning("question from %s: %s", "<@U024BE7LH>", "mail jane.doe@example.com")
        logger.warning("one placeholder for jo@example.com: %s", "two", "arguments")
        try:
            raise ValueError("bad card 4111 1111 1111 1111")
        except ValueError:
            logger.exception("failed for 192.168.10.24")
    finally:
        logger.removeHandler(handler)
    text = out.getvalue()
    assert "WARNING question from [user]: mail [email]" in text
    assert "one placeholder for [email]: %s (arguments not shown" in text
    assert "ERROR failed for [ip]" in text and "ValueError: bad card [card]" in text
    for raw in ("U024BE7LH", "jane.doe@example.com", "jo@example.com", "4111 1111", "192.168.10.24"):
        assert raw not in text
    assert len(handler.filters) == 1
