"""Personal data is replaced by typed placeholders; everything else is left exactly as written."""

from __future__ import annotations

import io
import json
import logging
import random
import re
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.state.redaction import (
    DEFAULT_PHONE_REGIONS,
    MAX_LOG_CHARS,
    Redacted,
    RedactingFilter,
    Redactor,
    redact,
    redact_logs,
)
from common.settings import Settings
from tests.fake_slack import feedback_value
from tests.slack_harness import settle, slacks
from tests.stub_engine import StubEngine

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


def calls_made(work: Callable[[], object]) -> int:
    """Function calls (Python's and C's) that work() makes: work, counted the same on any machine."""
    made = 0

    def count(frame: object, event: str, arg: object) -> None:
        nonlocal made
        made += event in ("call", "c_call")

    sys.setprofile(count)
    try:
        work()
    finally:
        sys.setprofile(None)
    return made


# About 170 calls a character at most (phonenumbers and ipaddress parse each candidate in Python); trying
# every window of digit groups, as the card finder once did, made 1,400 a character at 2,000 characters.
WORK_PER_CHAR = 400


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


# -- redaction is linear in the text's length ------------------------------------------------------------------


@pytest.fixture(scope="module")
def warm() -> Redactor:
    """The default redactor with phonenumbers' metadata loaded, so that counts are of the text's work alone."""
    redactor = Redactor()
    redactor("+44 20 7946 0958, 0151 23456789, 10.0.0.5, ::1, 4111 1111 1111 1111, jane@example.com")
    return redactor


def test_a_2000_character_question_of_digit_groups_is_cheap_and_left_as_it_is(warm):
    question = "1 " * 1000  # four of these once held every worker for 155 s
    assert warm(question).text == question
    assert calls_made(lambda: warm(question)) <= WORK_PER_CHAR * len(question)


PIECES = ["1", "1 ", "12-", "4111 ", "0151 ", "+44 ", "(0)", "10.0.0.1 ", "1.", "::", "ff:", "jane", " dot ",
          " at ", "@", "example", ".com", "(at)", "GB82 ", "WEST ", "U024BE7LH ", "29:", "SSN ", "AB 12 ", "-", " ",
          "x"]  # fmt: skip
ALPHABET = "0123456789 -.:@+()[]/aAxZU\n"


def ten_thousand(text: str) -> str:
    return (text * (10_000 // len(text) + 1))[:10_000]


HARD_TEXTS = st.one_of(
    st.lists(st.sampled_from(PIECES), min_size=1, max_size=60).map(lambda parts: ten_thousand("".join(parts))),
    st.randoms(use_true_random=False).map(lambda rng: "".join(rng.choice(ALPHABET) for _ in range(10_000))),
)


@settings(max_examples=25, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(text=HARD_TEXTS)
def test_property_redacting_any_10000_character_text_takes_bounded_work(warm, text):
    assert calls_made(lambda: warm(text)) <= WORK_PER_CHAR * len(text)
    started = time.process_time()  # regular expressions backtrack inside C, out of the count's sight
    warm(text)
    assert time.process_time() - started < 10  # about 0.1 s; trying every window of "1 " * 5000 took hours


def monthly_figures(rng: random.Random, count: int) -> list[str]:
    return [str(rng.randint(300, 25_000)) for _ in range(count)]


def test_a_pasted_list_of_480_monthly_figures_has_no_card_numbers(warm):
    rng = random.Random(480)
    figures = " ".join(monthly_figures(rng, 480))  # once 23 false [card] marks
    assert warm(figures).text == figures
    table = "\n".join(f"{2000 + year} " + " ".join(monthly_figures(rng, 12)) for year in range(40))
    assert warm(table).text == table


@pytest.mark.parametrize(
    ("text", "redacted"),
    [
        ("card 4111 1111 1111 1111 cvc 123", "card [card] cvc 123"),
        ("card 4111 1111 1111 1111 123 expires soon", "card [card] 123 expires soon"),  # a security code after it
        ("card 4111 11111111 1111 was declined", "card [card] was declined"),
        ("paid with 4111 1111 1111 1111 1226 1234 ok", "paid with [card] 1226 1234 ok"),  # expiry and code after it
        ("figures 1200 1350 4111111111111111 980 1100 1250 1300", "figures 1200 1350 [card] 980 1100 1250 1300"),
        ("1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 2", "1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 2"),  # Luhn-valid, but not a card's groups
    ],
)
def test_a_card_is_written_alone_in_groups_or_as_one_number_in_a_list(warm, text, redacted):
    assert warm(text).text == redacted


# -- spelled-out addresses and the regions phone numbers are read in -------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "jane dot doe at example dot com",
        "Jane Dot Doe AT Example DOT co DOT uk",
        "jane (at) example (dot) com",
        "jane.doe[at]example.com",
        "j.doe [at] mail.example [dot] org",
    ],
)
def test_an_email_address_spelled_out_is_redacted(text):
    assert redact(f"mail {text}, thanks").text == "mail [email], thanks"


@pytest.mark.parametrize(
    "text",
    [
        "look at the data",
        "have a look at example.com",  # a web site, not an address
        "startups at the dot com boom",
        "the bug is at line 3 of main dot py",
        "we meet at 10 dot 30 at the office",
        "jane dot doe at example dot company",
        "a dot " * 20 + "at",
    ],
)
def test_prose_with_at_and_dot_is_left_as_written(text):
    assert redact(text).text == text


def test_numbers_without_a_country_code_are_read_as_the_regions_numbers_only():
    german = "call 0151 23456789 or 030 901820"
    assert redact(german).text == german  # the default regions are the US and the UK
    assert Redactor(phone_regions=["US", "GB", "DE"])(german).text == "call [phone] or [phone]"
    assert redact("call +49 151 23456789").text == "call [phone]"  # with +country, in any region
    assert tuple(Settings().phone_regions.split(",")) == DEFAULT_PHONE_REGIONS  # one default, documented once


# -- log lines are cut before they are redacted ----------------------------------------------------------------


@pytest.fixture
def log_out():
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    redact_logs([handler])
    logger = logging.getLogger("test.redaction.long")
    logger.addHandler(handler)
    logger.propagate = False
    yield logger, out
    logger.removeHandler(handler)


def test_a_100_kb_log_line_keeps_its_start_and_end_and_the_cut_leaves_no_half_address(log_out):
    logger, out = log_out
    start = "question from jane@example.com: " + "x " * (MAX_LOG_CHARS // 4 - 18)
    line = start + "bob.smith@example.org " + "1 " * 50_000 + "end of line 4111 1111 1111 1111"
    assert line.index("bob.smith") < MAX_LOG_CHARS // 2 < line.index("example.org")  # the cut falls inside it
    logger.warning(line)
    [logged] = out.getvalue().splitlines()
    assert logged.startswith("question from [email]: x x") and logged.endswith("1 1 end of line [card]")
    [cut] = re.findall(r"\[([\d,]+) characters not logged\]", logged)
    assert len(line) - MAX_LOG_CHARS <= int(cut.replace(",", "")) <= len(line) - MAX_LOG_CHARS + len("bob.smith@")
    assert len(logged) <= MAX_LOG_CHARS + 40
    assert "bob" not in logged and "smith" not in logged


def test_a_long_traceback_is_cut_and_redacted(log_out):
    logger, out = log_out
    try:
        raise ValueError("bad payload from jane@example.com: " + "1 1 1 " * 20_000 + "end")
    except ValueError:
        logger.exception("failed")
    logged = out.getvalue()
    assert "ValueError: bad payload from [email]: 1 1 1" in logged and logged.rstrip().endswith("1 1 1 end")
    assert "characters not logged" in logged and len(logged) < 2 * MAX_LOG_CHARS


def test_logging_a_line_of_any_length_takes_the_work_of_a_capped_one(warm):
    record = logging.LogRecord("test", logging.WARNING, __file__, 0, "1 " * 500_000, None, None)
    assert calls_made(lambda: RedactingFilter(warm).filter(record)) <= WORK_PER_CHAR * MAX_LOG_CHARS


# -- over Slack: long questions of digits do not hold up others ------------------------------------------------


def test_four_long_questions_of_digits_do_not_hold_up_a_fifth_persons_answer(tmp_path, warm):
    long = "1 " * 1000
    with slacks(tmp_path) as make:
        slack = make(StubEngine(streams=False), workers=4)
        for n in range(4):
            slack.say(long, mention=True, user=f"U{n + 10}")
        asked = slack.say("What are GANs good for?", mention=True, user="U99")
        replies = slack.api.wait_for("chat.postMessage", 5)
        settle(slack)
        assert len(slack.api.called("chat.postMessage")) == 5
        assert len(slack.replies("C1", asked)) == 1
        for reply in replies:
            stored = slack.runtime.feedback.answer(feedback_value(reply).removeprefix("helpful:"))
            assert stored is not None and "[card]" not in stored["question"] and "[phone]" not in stored["question"]
        assert calls_made(lambda: slack.runtime.redactor(long)) <= WORK_PER_CHAR * len(long)
