"""Slack's mrkdwn as plain text, at the edge: the engine only ever sees what the person wrote, in words."""

from __future__ import annotations

import html
import re
from urllib.parse import urlsplit

_USER = re.compile(r"<@([A-Z0-9]+)(?:\|[^>]*)?>")
_CHANNEL = re.compile(r"<#[A-Z0-9]+\|([^>]*)>")
_SPECIAL = re.compile(r"<!(?:here|channel|everyone)(?:\|[^>]*)?>|<!subteam\^[A-Z0-9]+(?:\|([^>]*))?>")
_LINK = re.compile(r"<((?:https?|mailto):[^>|]+)(?:\|([^>]*))?>")
_TAGS = re.compile(r"</?[a-zA-Z][^>]{0,200}>")


def plain(mrkdwn: str) -> str:
    """Plain text from Slack mrkdwn: mentions dropped, channels by name, links as "label (host/path)"."""
    text = _USER.sub(" ", mrkdwn)
    text = _CHANNEL.sub(lambda m: "#" + m.group(1), text)
    text = _SPECIAL.sub(lambda m: m.group(1) or " ", text)
    text = _LINK.sub(lambda m: _link(m.group(1), m.group(2)), text)
    text = _TAGS.sub(" ", text)
    return html.unescape(text).strip()  # Slack escapes &, < and > in what people type


def mentioned(mrkdwn: str) -> frozenset[str]:
    """The user ids a message @mentions."""
    return frozenset(_USER.findall(mrkdwn))


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
