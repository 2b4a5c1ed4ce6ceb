"""Cleaning what people type (chat markup, control characters, over-long questions), and quoting it in Markdown."""

from __future__ import annotations

import html
import re
import unicodedata
from urllib.parse import urlsplit

_SLACK_USER = re.compile(r"<@[A-Z0-9]+(?:\|[^>]*)?>")
_SLACK_CHANNEL = re.compile(r"<#[A-Z0-9]+\|([^>]*)>")
_SLACK_SPECIAL = re.compile(r"<!(?:here|channel|everyone)(?:\|[^>]*)?>|<!subteam\^[A-Z0-9]+(?:\|([^>]*))?>")
_SLACK_LINK = re.compile(r"<((?:https?|mailto):[^>|]+)(?:\|([^>]*))?>")
_TEAMS_AT = re.compile(r"<at>(.*?)</at>", re.IGNORECASE | re.DOTALL)
_TAGS = re.compile(r"</?[a-zA-Z][^>]{0,200}>")
_SPACES = re.compile(r"[ \t]+")
# What can start a link, an image, emphasis, code or HTML in Markdown (Teams messages and Adaptive Cards too).
_MARKDOWN = re.compile(r"([\\`*_~\[\]()<>])")
# Zero-width (non-)joiners shape Persian and Indic text and emoji; every other format character is invisible.
_JOINERS = {"\u200c", "\u200d"}
_INVISIBLE_CATEGORIES = {"Cc", "Cf", "Zl", "Zp"}


def strip_markup(text: str) -> str:
    """Plain text from Slack mrkdwn / Teams HTML: mentions dropped, links as "label (host/path)"."""
    text = _SLACK_USER.sub(" ", text)
    text = _SLACK_CHANNEL.sub(lambda m: "#" + m.group(1), text)
    text = _SLACK_SPECIAL.sub(lambda m: m.group(1) or " ", text)
    text = _SLACK_LINK.sub(lambda m: _link(m.group(1), m.group(2)), text)
    text = _TEAMS_AT.sub(" ", text)
    text = _TAGS.sub(" ", text)
    return html.unescape(text)


def literal(text: str) -> str:
    """text for Markdown exactly as written: whatever could start a link, emphasis, code or HTML backslash-escaped.

    What people typed and what documents say is quoted this way wherever the core writes Markdown around
    it, so a question "[click](https://evil.example)" reads as those characters, never as a link.
    """
    return _MARKDOWN.sub(r"\\\1", text)


def _link(url: str, label: str | None) -> str:
    """A link as words: its label, plus where it points unless the label already says so.

    A label such as "this" or "here" alone can turn a question into a no-answer; the link's path words
    ("ai/model-risk-policy") are what retrieval can use. Scheme, query and fragment add only noise.
    """
    label = (label or "").strip()
    where = _host_and_path(url)
    if not label:
        return url
    if label.lower().rstrip("/") in (url.lower().rstrip("/"), where.lower()):
        return label
    return f"{label} ({where})"


def _host_and_path(url: str) -> str:
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
    except ValueError:  # an unparseable host or port: keep what was pasted
        return url
    return (host.removeprefix("www.") + parts.path).rstrip("/") or url


def clean_question(text: str, *, limit: int) -> tuple[str, list[str]]:
    """The question as the engine should see it, and notes about what was changed."""
    notes: list[str] = []
    text = strip_markup(text)
    # Control and format characters (not newlines or emoji) only confuse retrieval and the model.
    text = "".join(
        " " if ch in "\t\r\n" else ch for ch in text if ch in "\t\r\n" or not unicodedata.category(ch).startswith("C")
    )
    text = _SPACES.sub(" ", text).strip()
    if len(text) > limit:
        cut = text[:limit].rsplit(" ", 1)[0] if " " in text[:limit] else text[:limit]
        notes.append(f"Your question was {len(text):,} characters long; only the first {len(cut):,} were read.")
        text = cut
    return text, notes


def is_invisible(ch: str) -> bool:
    """Whether ch is a control or invisible formatting character (line breaks, U+202E, ...)."""
    return unicodedata.category(ch) in _INVISIBLE_CATEGORIES and ch not in _JOINERS


def visible(text: str, keep: str = "") -> str:
    """text with control and invisible formatting characters written as escapes (\\n, \\u202e), except keep."""
    if text.isprintable():
        return text
    return "".join(ch if ch in keep or not is_invisible(ch) else _escape(ch) for ch in text)


def _escape(ch: str) -> str:
    if ch in "\n\r\t":
        return repr(ch)[1:-1]
    return f"\\u{ord(ch):04x}" if ord(ch) <= 0xFFFF else f"\\U{ord(ch):08x}"
