"""Personal data out of text: redact(text) -> Redacted(text with typed placeholders, counts per type).

Candidates are found with regular expressions and kept only when they validate: phone numbers with
Google's libphonenumber (`phonenumbers`), card numbers with the Luhn check and IBANs with their
mod-97 checksum and the country's format (`python-stdnum`), US social security numbers with stdnum's
rules, UK National Insurance numbers with HMRC's letter rules, IP addresses with `ipaddress`.
Nothing is downloaded; redacting a question takes tens of microseconds, and the work grows linearly with
the text's length (docs/benchmarks.md). Log lines are cut to MAX_LOG_CHARS before they are redacted.
"""

from __future__ import annotations

import functools
import ipaddress
import logging
import re
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

import phonenumbers
from stdnum import iban, luhn
from stdnum.us import ssn

TYPES = ("email", "phone", "card", "iban", "national-id", "ip", "user")
DEFAULT_PHONE_REGIONS = ("US", "GB")  # numbers written without +country code are read as these countries'

Span = tuple[int, int, str]

MAX_LOG_CHARS = 10_000  # a log message, traceback or stack longer than this loses its middle before redaction
_SPACES = " \t\r\n"

# The address starts where its local part does: trying every later character as a start is quadratic work.
_EMAIL = re.compile(
    r"<mailto:[^>|\s]+(?:\|[^>]*)?>|(?<![\w.%+'-])[\w.%+'-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"
)
# Spelled out to dodge scrapers: "jane dot doe at example dot com", "jane.doe (at) example [dot] com". A plain
# " at " needs a spelled " dot " before a known top-level domain and no article after it ("look at example.com",
# "startups at the dot com boom" are prose); the repetitions are bounded, so "a dot a dot ..." costs linear work.
_TLD = (
    r"(?:com|org|net|edu|gov|mil|int|info|biz|io|co|ai|app|dev"
    r"|eu|uk|us|ca|au|nz|ie|de|fr|nl|ch|es|se|dk|fi|pl|pt|cz|jp|cn|br|mx|za|sg|hk)"
)  # no word-like ones ("in", "it", "no", "me") and no file extensions ("py", "sh", "md")
_LOCAL = r"(?<![\w.%+'-])[\w%+'-]+(?:\.[\w%+'-]+){0,4}"
_SPELLED_DOT = r"(?:\s+dot\s+|\s*[(\[]dot[)\]]\s*)"
_SPELLED_EMAIL = re.compile(
    rf"{_LOCAL}(?:{_SPELLED_DOT}[\w%+'-]+){{0,3}}"
    rf"(?:\s+at\s+(?!(?:the|a|an|this|that|my|your|our|their)\s)[A-Za-z0-9-]+(?:{_SPELLED_DOT}[A-Za-z0-9-]+){{0,3}}{_SPELLED_DOT}"
    rf"|\s*[(\[]at[)\]]\s*[A-Za-z0-9-]+(?:(?:{_SPELLED_DOT}|\.)[A-Za-z0-9-]+){{0,3}}(?:{_SPELLED_DOT}|\.))"
    rf"{_TLD}(?![\w-])",
    re.IGNORECASE,
)
_TEL = re.compile(r"<tel:[^>|\s]+(?:\|[^>]*)?>")
# Slack: <@U0123ABCD> or <@U0123ABCD|jane> mentions, bare member ids (U/W + at least 8 capitals and digits,
# with a digit). Teams: 29:... user ids, 8:orgid:<guid>, and Entra object ids named as such.
_SLACK_MENTION = re.compile(r"<@[UW][A-Z0-9]{6,}(?:\|[^>]*)?>")
_SLACK_ID = re.compile(r"(?<![\w-])[UW](?=[A-Z]*\d)[A-Z0-9]{8,11}(?![\w-])")
_TEAMS_ID = re.compile(r"(?<![\w:])(?:29:[\w-]{10,}|8:orgid:[0-9a-fA-F-]{36})")
_GUID = re.compile(r"(?<![\w-])[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}(?![\w-])")
_GUID_AS_USER = re.compile(
    r"(?:aad|entra|object|oid|user|member|person|employee|from|sender)[\w ]{0,12}(?:id)?\W{0,3}$", re.IGNORECASE
)
_IPV4 = re.compile(r"(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?!\.?\w)(?!\.\d)")
_IPV6 = re.compile(
    r"(?<![\w:.])(?:[0-9A-Fa-f]{0,4}:){2,7}(?:\d{1,3}(?:\.\d{1,3}){3}|[0-9A-Fa-f]{0,4})(?:%\w+)?(?![\w:])"
)
_GLUED = re.compile(r"\w-?$")  # INV-2026-000123: the tail of an identifier, not a phone number
_VERSION_BEFORE = re.compile(r"(?:\bv|version\s*|release\s*)$", re.IGNORECASE)
_IBAN = re.compile(r"(?<![\w-])[A-Za-z]{2}\d{2}(?:[ -]?[A-Za-z0-9]){11,32}(?!\w)")
_DIGIT_RUN = re.compile(r"(?<![\w.,-])\d+(?:[ -]\d+)*(?![\w]|[.,]\d)")
_DIGITS = re.compile(r"\d+")
_DIGITS_ONLY = re.compile(r"\D")
# A card written in groups stands alone: its 13 to 19 digits and at most two short groups more (an expiry
# date and a security code). A longer run of groups is a list of figures, in which only a group of 13 to 19
# digits can be a card.
_CARD_RUN_DIGITS = 27
_SSN = re.compile(r"(?<![\w.-])\d{3}([- ])\d{2}\1\d{4}(?![\w-])")
_SSN_BARE = re.compile(r"(?:\bSSN|social security(?: number| no\.?)?)\W{0,3}(\d{9})\b", re.IGNORECASE)
_NINO = re.compile(
    r"(?<![\w-])(?!BG|GB|KN|NK|NT|TN|ZZ)[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z]"
    r" ?\d{2} ?\d{2} ?\d{2} ?[A-D](?![\w-])",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Redacted:
    """Text with personal data replaced by [type] placeholders, and how many of each type were found."""

    text: str
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def found(self) -> int:
        return sum(self.counts.values())


class Redactor:
    """Finds and replaces personal data; one instance is shared (it holds no state but its settings)."""

    def __init__(self, *, phone_regions: Sequence[str] = DEFAULT_PHONE_REGIONS) -> None:
        regions = [r.strip().upper() for r in phone_regions if r.strip()]
        unknown = [r for r in regions if r not in phonenumbers.SUPPORTED_REGIONS]
        if unknown:
            raise ValueError(f"unknown phone region(s) {', '.join(unknown)}: use ISO country codes such as US, GB, DE")
        self.phone_regions = tuple(regions) or ("ZZ",)  # ZZ: only numbers written with +country code
        # Most specific first: an email holds digits, an IBAN a card-like run, a card a phone-like run.
        self._finders: list[Callable[[str], Iterator[Span]]] = [
            _emails,
            _user_ids,
            _ibans,
            _cards,
            _national_ids,
            _ips,
            self._phones,
        ]

    def __call__(self, text: str) -> Redacted:
        """Replace every piece of personal data in text by its typed placeholder."""
        if not text:
            return Redacted(text, {})
        taken: list[Span] = []
        covered = bytearray(len(text))  # 1 where an earlier, more specific finder took the character
        for find in self._finders:
            for start, end, kind in find(text):
                if 1 not in covered[start:end]:
                    taken.append((start, end, kind))
                    covered[start:end] = b"\x01" * (end - start)
        if not taken:
            return Redacted(text, {})
        taken.sort()
        parts, last = [], 0
        for start, end, kind in taken:
            parts += [text[last:start], f"[{kind}]"]
            last = end
        parts.append(text[last:])
        return Redacted("".join(parts), dict(Counter(kind for _, _, kind in taken)))

    def _phones(self, text: str) -> Iterator[Span]:
        for m in _TEL.finditer(text):  # Slack's <tel:+1...|+1 ...> link is one number, not two
            yield m.start(), m.end(), "phone"
        for region in self.phone_regions:
            for match in phonenumbers.PhoneNumberMatcher(text, region, leniency=phonenumbers.Leniency.VALID):
                if not _GLUED.search(text, max(0, match.start - 2), match.start):
                    yield match.start, match.end, "phone"


def _emails(text: str) -> Iterator[Span]:
    for pattern in (_EMAIL, _SPELLED_EMAIL):
        for m in pattern.finditer(text):
            yield m.start(), m.end(), "email"


def _user_ids(text: str) -> Iterator[Span]:
    for pattern in (_SLACK_MENTION, _TEAMS_ID, _SLACK_ID):
        for m in pattern.finditer(text):
            yield m.start(), m.end(), "user"
    for m in _GUID.finditer(text):
        if _GUID_AS_USER.search(text[max(0, m.start() - 30) : m.start()]):
            yield m.start(), m.end(), "user"


def _ibans(text: str) -> Iterator[Span]:
    for m in _IBAN.finditer(text):
        candidate = m.group()
        # The pattern may run on into the next capitalised word: try shorter readings until one validates.
        for end in sorted({i for i, c in enumerate(candidate) if c in " -"} | {len(candidate)}, reverse=True):
            # Checksum and the country's format, not its bank registry: a new bank's IBAN is still one.
            if end >= 15 and iban.is_valid(candidate[:end].replace("-", ""), check_country=False):
                yield m.start(), m.start() + end, "iban"
                break


def _cards(text: str) -> Iterator[Span]:
    """13 to 19 digits (spaces or dashes allowed between groups) that pass the Luhn check, issuer 2-6."""
    for m in _DIGIT_RUN.finditer(text):
        groups = [(g.start(), g.end()) for g in _DIGITS.finditer(text, m.start(), m.end())]
        if sum(end - start for start, end in groups) > _CARD_RUN_DIGITS:
            yield from ((start, end, "card") for start, end in groups if _is_card(text[start:end]))
            continue
        i = 0
        while i < len(groups):  # at most 27 groups: the windows are few
            found = None
            for j in range(len(groups) - 1, i - 1, -1):  # the longest valid window starting at group i
                start, end = groups[i][0], groups[j][1]
                # Written in groups, a card's groups but the last have 4 digits or more ("4111 1111 1111 1111").
                if all(b - a >= 4 for a, b in groups[i:j]) and _is_card(_DIGITS_ONLY.sub("", text[start:end])):
                    found = (j, start, end)
                    break
            if found:
                yield found[1], found[2], "card"
                i = found[0] + 1
            else:
                i += 1


def _is_card(digits: str) -> bool:
    return 13 <= len(digits) <= 19 and digits[0] in "23456" and luhn.is_valid(digits)


def _national_ids(text: str) -> Iterator[Span]:
    for m in _SSN.finditer(text):
        if ssn.is_valid(m.group().replace(" ", "-")):
            yield m.start(), m.end(), "national-id"
    for m in _SSN_BARE.finditer(text):
        if ssn.is_valid(m.group(1)):
            yield m.start(1), m.end(1), "national-id"
    for m in _NINO.finditer(text):
        yield m.start(), m.end(), "national-id"


def _ips(text: str) -> Iterator[Span]:
    for m in _IPV4.finditer(text):
        if _VERSION_BEFORE.search(text[max(0, m.start() - 9) : m.start()]):
            continue  # "version 10.0.0.1" is a version number
        try:
            ipaddress.IPv4Address(m.group())
        except ValueError:
            continue
        yield m.start(), m.end(), "ip"
    for m in _IPV6.finditer(text):
        address = m.group().split("%")[0]
        groups = [g for g in re.split(r"[:.]", address) if g]
        if len(groups) < 3 and not any(len(g) >= 3 for g in groups):
            continue  # "1::2" in a slice, "a::b": too short to be anyone's address
        try:
            ipaddress.IPv6Address(address)
        except ValueError:
            continue
        yield m.start(), m.end(), "ip"


@functools.cache
def _default() -> Redactor:
    return Redactor()


def redact(text: str) -> Redacted:
    """Redact text with the default settings (phone numbers without +country code read as US or UK)."""
    return _default()(text)


class RedactingFilter(logging.Filter):
    """A log handler filter: the message, its arguments and any traceback leave with personal data redacted."""

    def __init__(self, redactor: Callable[[str], Redacted] = redact) -> None:
        super().__init__()
        self._redact = redactor

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError, KeyError):  # a bad format string: neither crash the caller nor leak
            message = f"{record.msg} (arguments not shown: they do not fit the message)"
        record.msg, record.args = self._redact(capped(message)).text, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self._redact(capped(record.exc_text)).text
        if record.stack_info:
            record.stack_info = self._redact(capped(record.stack_info)).text
        return True


def capped(text: str, limit: int = MAX_LOG_CHARS) -> str:
    """text, or its start and its end around a note of what was cut; a word the cut falls in goes whole."""
    if len(text) <= limit:
        return text
    half = limit // 2
    head, tail = text[:half], text[-half:]
    # Half an address may no longer look like one, and would then be logged as it is.
    if not (head[-1].isspace() or text[half].isspace()):
        head = head[: max(head.rfind(c) for c in _SPACES) + 1]
    if not (tail[0].isspace() or text[-half - 1].isspace()):
        starts = [i for i in (tail.find(c) for c in _SPACES) if i >= 0]
        tail = tail[min(starts) :] if starts else ""
    return f"{head.rstrip()} [{len(text) - len(head) - len(tail):,} characters not logged] {tail.lstrip()}"


def redact_logs(
    handlers: Sequence[logging.Handler] | None = None, redactor: Callable[[str], Redacted] = redact
) -> None:
    """Install RedactingFilter on handlers (default: the root logger's), once each."""
    for handler in logging.getLogger().handlers if handlers is None else handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter(redactor))
