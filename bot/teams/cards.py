"""Teams replies, built by pure functions: citation entities and Adaptive Cards as plain dicts.

Wording comes from the chat core (bot/chat.py) as Markdown, which Teams renders in message text.
"""

from __future__ import annotations

from typing import Any

from bot.chat import related_label
from bot.types import Answer, Citation

CARD_TYPE = "application/vnd.microsoft.card.adaptive"
FEEDBACK = "adoptbot-feedback"  # the card buttons of answers sent before the native feedback loop
FEEDBACK_LOOP = {"feedbackLoop": {"type": "default"}}  # channelData: Teams shows thumbs and sends an invoke
ABSTRACT_LIMIT = 160  # Teams shows at most this much of a citation's abstract


def text_activity(text: str) -> dict[str, Any]:
    """A plain reply: Markdown text, nothing to cite or vote on."""
    return {"type": "message", "text": text, "textFormat": "markdown"}


def citation_entity(answer: Answer) -> dict[str, Any]:
    """The message entity that makes Teams show citation pills and the AI-generated label."""
    entity: dict[str, Any] = {
        "type": "https://schema.org/Message",
        "@type": "Message",
        "@context": "https://schema.org",
        "@id": "",
        "additionalType": ["AIGeneratedContent"],
    }
    if answer.sources:
        entity["citation"] = [claim(c) for c in answer.sources]
    return entity


def claim(c: Citation) -> dict[str, Any]:
    """One citation pill: its position in the text, the document's title, section and review date."""
    appearance: dict[str, Any] = {"@type": "DigitalDocument", "name": c.title, "abstract": abstract(c)}
    if c.url:
        appearance["url"] = c.url
    return {"@type": "Claim", "position": c.n, "appearance": appearance}


def abstract(c: Citation) -> str:
    """What a citation pill says about its source, cut to what Teams shows."""
    return f"{c.section}{_reviewed(c, 'review overdue')} ({c.source})"[:ABSTRACT_LIMIT]


def _reviewed(c: Citation, overdue: str) -> str:
    """' · reviewed 2026-11-20', followed by overdue when the review is overdue."""
    reviewed = f" · reviewed {c.last_reviewed}" if c.last_reviewed else ""
    return reviewed + (f" · {overdue}" if c.review_overdue else "")


def _source_line(c: Citation, *, numbered: bool = True) -> str:
    title = f"[{c.title}]({c.url})" if c.url else f"**{c.title}**"
    reviewed = _reviewed(c, "⚠️ **review overdue**")
    return f"{f'[{c.n}] ' if numbered else ''}{title} - {c.section}{reviewed}"


def _small(text: str, **extra: Any) -> dict[str, Any]:
    return {"type": "TextBlock", "text": text, "wrap": True, "size": "Small", **extra}


def sources_card(answer: Answer) -> dict[str, Any]:
    """An Adaptive Card listing the sources, then related reading (or the nearest topics) and notes."""
    body: list[dict[str, Any]] = []
    if answer.sources:
        body.append({"type": "TextBlock", "text": "Sources", "weight": "Bolder", "size": "Small"})
        body += [_small(_source_line(c)) for c in answer.sources]
    if answer.related:
        body.append({"type": "TextBlock", "text": related_label(answer), "weight": "Bolder", "size": "Small"})
        body += [_small(_source_line(c, numbered=False), isSubtle=True) for c in answer.related]
    body += [_small(n, isSubtle=True) for n in answer.notes]
    return {
        "type": "AdaptiveCard",
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "version": "1.5",
        "body": body,
    }


def sources_attachment(answer: Answer) -> dict[str, Any]:
    """The sources card as a message attachment."""
    return {"contentType": CARD_TYPE, "content": sources_card(answer)}


def answer_activity(answer: Answer, feedback_id: str = "") -> dict[str, Any]:
    """The whole answer in one message: text with [n] markers, citations, the sources card, and thumbs to vote."""
    activity: dict[str, Any] = {
        **text_activity(answer.text),
        "entities": [citation_entity(answer)],
        "attachments": [sources_attachment(answer)],
    }
    if feedback_id:
        activity["channelData"] = dict(FEEDBACK_LOOP)
    return activity


def thanked(activity: dict[str, Any], thanks: str) -> dict[str, Any]:
    """The same answer with its ways to vote (thumbs, or an older card's buttons) replaced by a thank-you."""
    attachments = []
    for attachment in activity.get("attachments", []):
        card = dict(attachment["content"])
        card.pop("actions", None)
        card["body"] = [*card.get("body", []), _small(thanks, isSubtle=True)]
        attachments.append({**attachment, "content": card})
    updated = {**activity, "attachments": attachments}
    channel_data = {k: v for k, v in (activity.get("channelData") or {}).items() if k not in FEEDBACK_LOOP}
    if channel_data:
        updated["channelData"] = channel_data
    else:
        updated.pop("channelData", None)
    return updated
