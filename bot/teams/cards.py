"""Teams replies, built by pure functions: citation entities and Adaptive Cards as plain dicts."""

from __future__ import annotations

from typing import Any

from bot.store import IndexInfo
from bot.types import Answer, Citation
from ingest.pipeline import IngestSummary

CARD_TYPE = "application/vnd.microsoft.card.adaptive"
FEEDBACK = "adoptbot-feedback"
ABSTRACT_LIMIT = 160  # Teams shows at most this much of a citation's abstract


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
        entity["citation"] = [_claim(c) for c in answer.sources]
    return entity


def _reviewed(c: Citation, overdue: str) -> str:
    """' · reviewed 2026-11-20', followed by overdue when the review is overdue."""
    reviewed = f" · reviewed {c.last_reviewed}" if c.last_reviewed else ""
    return reviewed + (f" · {overdue}" if c.review_overdue else "")


def _claim(c: Citation) -> dict[str, Any]:
    reviewed = _reviewed(c, "review overdue")
    appearance: dict[str, Any] = {
        "@type": "DigitalDocument",
        "name": c.title,
        "abstract": f"{c.section}{reviewed} ({c.source})"[:ABSTRACT_LIMIT],
    }
    if c.url:
        appearance["url"] = c.url
    return {"@type": "Claim", "position": c.n, "appearance": appearance}


def _source_line(c: Citation, *, numbered: bool = True) -> str:
    title = f"[{c.title}]({c.url})" if c.url else f"**{c.title}**"
    reviewed = _reviewed(c, "⚠️ **review overdue**")
    return f"{f'[{c.n}] ' if numbered else ''}{title} - {c.section}{reviewed}"


def feedback_actions(feedback_id: str) -> list[dict[str, Any]]:
    return [
        {
            "type": "Action.Submit",
            "title": "👍 Helpful",
            "data": {"adoptbot": FEEDBACK, "vote": "helpful", "answer_id": feedback_id},
        },
        {
            "type": "Action.Submit",
            "title": "👎 Not helpful",
            "data": {"adoptbot": FEEDBACK, "vote": "not_helpful", "answer_id": feedback_id},
        },
    ]


def sources_card(answer: Answer, feedback_id: str | None) -> dict[str, Any]:
    """An Adaptive Card listing the sources (or nearest topics), with feedback buttons."""
    body: list[dict[str, Any]] = []
    if answer.sources:
        body.append({"type": "TextBlock", "text": "Sources", "weight": "Bolder", "size": "Small"})
        body += [{"type": "TextBlock", "text": _source_line(c), "wrap": True, "size": "Small"} for c in answer.sources]
    if answer.related:
        label = "Related" if answer.answered else "Nearest topics"
        body.append({"type": "TextBlock", "text": label, "weight": "Bolder", "size": "Small"})
        body += [
            {
                "type": "TextBlock",
                "text": _source_line(c, numbered=False),
                "wrap": True,
                "size": "Small",
                "isSubtle": True,
            }
            for c in answer.related
        ]
    body += [{"type": "TextBlock", "text": n, "wrap": True, "size": "Small", "isSubtle": True} for n in answer.notes]
    card: dict[str, Any] = {
        "type": "AdaptiveCard",
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "version": "1.5",
        "body": body,
    }
    if feedback_id:
        card["actions"] = feedback_actions(feedback_id)
    return card


def answer_activity(answer: Answer, feedback_id: str | None = None) -> dict[str, Any]:
    """The reply: text with [n] markers, citation entity, and the sources card."""
    return {
        "type": "message",
        "text": answer.text,
        "textFormat": "markdown",
        "entities": [citation_entity(answer)],
        "attachments": [{"contentType": CARD_TYPE, "content": sources_card(answer, feedback_id)}],
    }


def thanks(vote: str) -> str:
    return "Thanks, glad it helped!" if vote == "helpful" else "Thanks for telling us; the editors will look at it."


def thanked(activity: dict[str, Any], vote: str) -> dict[str, Any]:
    """The same reply with the card's buttons replaced by a thank-you."""
    attachments = []
    for attachment in activity.get("attachments", []):
        card = dict(attachment["content"])
        card.pop("actions", None)
        card["body"] = [
            *card.get("body", []),
            {"type": "TextBlock", "text": thanks(vote), "wrap": True, "size": "Small", "isSubtle": True},
        ]
        attachments.append({**attachment, "content": card})
    return {**activity, "attachments": attachments}


def help_text() -> str:
    return (
        "I answer questions about adopting generative AI from our curated guidance, with sources. "
        "Ask me anything here; in a channel or group chat, @mention me. Commands: **status** (what the "
        "knowledge base holds), **reindex** (reload it; editors only), **help**."
    )


def status_text(info: IndexInfo | None, backend: str) -> str:
    if info is None:
        return "The knowledge base has not been indexed yet. An editor can send **reindex**."
    return (
        f"Knowledge base: {info.documents} documents, {info.chunks} chunks, last indexed "
        f"{info.indexed_at}. Answer backend: {backend}."
    )


def reindex_text(summary: IngestSummary | None, error: Exception | None) -> str:
    if error is not None:
        return f"Reindex failed: {error}. The previous knowledge base is still being used."
    assert summary is not None
    lines = [
        f"Reindex finished in {summary.seconds:.1f} s: {summary.documents_total} documents, "
        f"{summary.chunks_total} chunks. Added {len(summary.documents_added)}, updated "
        f"{len(summary.documents_updated)}, removed {len(summary.documents_removed)}, skipped "
        f"{len(summary.skipped)}."
    ]
    lines += [f"- {label} `{d}`" for label, docs in summary.document_changes() for d in docs[:20]]
    lines += [f"- skipped `{s.source}`: {s.describe()}" for s in summary.skipped[:20]]
    lines += [f"- warning `{w.source}`: {w.message}" for w in summary.warnings[:20]]
    return "\n".join(lines)
