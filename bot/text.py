"""Cleaning what people type: chat markup, control characters, over-long questions."""

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


def strip_markup(text: str) -> str:
    """Plain text from Slack mrkdwn / Teams HTML: mentions dropped, links as "label (host/path)"."""
    text = _SLACK_USER.sub(" ", text)
    text = _SLACK_CHANNEL.sub(lambda m: "#" + m.group(1), text)
    text = _SLACK_SPECIAL.sub(lambda m: m.group(1) or " ", text)
    text = _SLACK_LINK.sub(lambda m: _link(m.group(1), m.group(2)), text)
    text = _TEAMS_AT.sub(" ", text)
    text = _TAGS.sub(" ", text)
    return html.unescape(text)


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
