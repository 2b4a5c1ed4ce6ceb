"""Cleaning what people type (control characters, over-long questions), and quoting it in Markdown.

Chat markup never gets here: each platform turns its own into plain text at its edge (bot/slack/text.py,
bot/teams/activity.py).
"""

from __future__ import annotations

import re
import unicodedata

_SPACES = re.compile(r"[ \t]+")
# What can start a link, an image, emphasis, code or HTML in Markdown (Teams messages and Adaptive Cards too).
_MARKDOWN = re.compile(r"([\\`*_~\[\]()<>])")
# Zero-width (non-)joiners shape Persian and Indic text and emoji; every other format character is invisible.
_JOINERS = {"\u200c", "\u200d"}
_INVISIBLE_CATEGORIES = {"Cc", "Cf", "Zl", "Zp"}


def literal(text: str) -> str:
    """text for Markdown exactly as written: whatever could start a link, emphasis, code or HTML backslash-escaped.

    What people typed and what documents say is quoted this way wherever the core writes Markdown around
    it, so a question "[click](https://evil.example)" reads as those characters, never as a link.
    """
    return _MARKDOWN.sub(r"\\\1", text)


def clean_question(text: str, *, limit: int) -> tuple[str, list[str]]:
    """The question as the engine should see it, and notes about what was changed."""
    notes: list[str] = []
    # Control and format characters (not newlines or emoji) only confuse retrieval and the model.
    text = "".join(
        " " if ch in "\t\r\n" else ch for ch in text if ch in "\t\r\n" or not unicodedata.category(ch).startswith("C")
    )
    text = _SPACES.sub(" ", text).strip()
    if len(text) > limit:
        cut = (text[:limit].rsplit(" ", 1)[0] if " " in text[:limit] else text[:limit]).rstrip()
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
