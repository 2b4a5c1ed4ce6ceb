"""Block Kit, built by pure functions: our types in, Slack's dicts out."""

from __future__ import annotations

import re
from typing import Any

from bot.store import IndexInfo
from bot.types import Answer, Citation
from ingest.pipeline import IngestSummary

SECTION_LIMIT = 3000  # characters of text in one section block
MAX_BLOCKS = 50
CONTEXT_ELEMENTS = 10
FEEDBACK_ACTIONS = ("feedback_helpful", "feedback_not_helpful")
Block = dict[str, Any]


def escape(text: str) -> str:
    """Slack's three control characters as entities."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def to_mrkdwn(markdown: str) -> str:
    """Markdown as Slack mrkdwn: bold, italics, links, headings and bullets."""
    text = escape(markdown)
    text = re.sub(r"\[([^\]]+)\]\((https?://[^)\s]+)\)", r"<\2|\1>", text)
    text = re.sub(r"(?<![*\w])\*(?!\*)([^*\n]+?)\*(?!\*)", r"_\1_", text)  # *italic* first, then **bold**
    text = re.sub(r"\*\*(.+?)\*\*|__(.+?)__", lambda m: f"*{m.group(1) or m.group(2)}*", text)
    text = re.sub(r"^#{1,6}\s+(.+)$", r"*\1*", text, flags=re.MULTILINE)
    return re.sub(r"^(\s*)[-*+]\s+", r"\1• ", text, flags=re.MULTILINE)


def split_text(text: str, limit: int = SECTION_LIMIT) -> list[str]:
    """Pieces of at most limit characters, cut at paragraph, line or word boundaries."""
    pieces: list[str] = []
    while len(text) > limit:
        cut = max(text.rfind("\n\n", 0, limit), text.rfind("\n", 0, limit), text.rfind(" ", 0, limit))
        cut = cut if cut > limit // 2 else limit
        pieces.append(text[:cut].rstrip())
        text = text[cut:].lstrip()
    if text:
        pieces.append(text)
    return pieces


def _section(text: str) -> Block:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def _context(*texts: str) -> Block:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": t[:SECTION_LIMIT]} for t in texts]}


def citation_line(c: Citation, *, numbered: bool = True) -> str:
    """'[1] <url|Title> - Section · reviewed 2026-11-20' (the title linked when there is a url), flagged if overdue."""
    title = f"<{c.url}|{escape(c.title)}>" if c.url else f"*{escape(c.title)}*"
    reviewed = f" · reviewed {c.last_reviewed}" if c.last_reviewed else ""
    reviewed += " · :warning: *review overdue*" if c.review_overdue else ""
    prefix = f"[{c.n}] " if numbered else ""
    return f"{prefix}{title} - {escape(c.section)}{reviewed}"


def feedback_actions(feedback_id: str) -> Block:
    return {
        "type": "actions",
        "block_id": "feedback",
        "elements": [
            {
                "type": "button",
                "action_id": FEEDBACK_ACTIONS[0],
                "value": feedback_id,
                "text": {"type": "plain_text", "text": ":thumbsup: Helpful", "emoji": True},
            },
            {
                "type": "button",
                "action_id": FEEDBACK_ACTIONS[1],
                "value": feedback_id,
                "text": {"type": "plain_text", "text": ":thumbsdown: Not helpful", "emoji": True},
            },
        ],
    }


def answer_blocks(answer: Answer, feedback_id: str | None = None) -> list[Block]:
    """The answer, its notes, sources (or nearest topics) and the feedback buttons, within 50 blocks."""
    tail: list[Block] = []
    if answer.notes:
        tail.append(_context(*(escape(n) for n in answer.notes[:CONTEXT_ELEMENTS])))
    if answer.sources:
        lines = [citation_line(c) for c in answer.sources]
        tail.append(_context("*Sources*", *lines[: CONTEXT_ELEMENTS - 1]))
    if answer.related:
        label = "*Related*" if answer.answered else "*Nearest topics*"
        lines = [citation_line(c, numbered=False) for c in answer.related]
        tail.append(_context(label, *lines[: CONTEXT_ELEMENTS - 1]))
    if feedback_id:
        tail.append(feedback_actions(feedback_id))
    body = [_section(piece) for piece in split_text(to_mrkdwn(answer.text))]
    room = MAX_BLOCKS - len(tail)
    if len(body) > room:
        body = [*body[: room - 1], _section("_(The answer was too long for one message and was cut.)_")]
    return body + tail


def answer_text(answer: Answer) -> str:
    """Plain-text fallback for notifications and clients without Block Kit."""
    sources = "".join(f"\n[{c.n}] {c.title} - {c.section}" for c in answer.sources)
    return (answer.text + ("\n\nSources:" + sources if sources else ""))[:SECTION_LIMIT]


def thanked(blocks: list[Block], vote: str) -> list[Block]:
    """The same message with its buttons replaced by a thank-you."""
    note = "Thanks, glad it helped!" if vote == "helpful" else "Thanks for telling us; the editors will look at it."
    return [b for b in blocks if b.get("block_id") != "feedback"] + [_context(f":pray: {note}")]


def help_blocks(command: str) -> list[Block]:
    return [
        _section(
            "*adoptbot* answers questions about adopting generative AI from our curated guidance, with sources.\n"
            "• Mention me in a channel, or send me a direct message; reply in the thread to follow up.\n"
            f"• `{command} ask <question>`: an answer only you can see\n"
            f"• `{command} status`: what the knowledge base holds\n"
            f"• `{command} reindex`: reload the knowledge base (editors only)\n"
            f"• `{command} help`: this message"
        )
    ]


def status_text(info: IndexInfo | None, backend: str) -> str:
    if info is None:
        return "The knowledge base has not been indexed yet. An editor can run `reindex`."
    return (
        f"*Knowledge base:* {info.documents} documents, {info.chunks} chunks, last indexed {info.indexed_at}.\n"
        f"*Answer backend:* {backend}."
    )


def reindex_text(summary: IngestSummary | None, error: Exception | None) -> str:
    """The summary an editor sees when a reindex ends."""
    if error is not None:
        return f":warning: Reindex failed: {escape(str(error))}\nThe previous knowledge base is still being used."
    assert summary is not None
    lines = [
        f":white_check_mark: Reindex finished in {summary.seconds:.1f} s: {summary.documents_total} documents, "
        f"{summary.chunks_total} chunks.",
        f"Added {len(summary.documents_added)}, updated {len(summary.documents_updated)}, "
        f"removed {len(summary.documents_removed)}, skipped {len(summary.skipped)}.",
    ]
    for label, docs in summary.document_changes():
        if docs:
            lines.append(f"*{label.capitalize()}:* " + ", ".join(f"`{escape(d)}`" for d in docs[:20]))
    lines += [f":x: `{escape(s.source)}`: {escape(s.describe())}" for s in summary.skipped[:20]]
    lines += [f":warning: `{escape(w.source)}`: {escape(w.message)}" for w in summary.warnings[:20]]
    return "\n".join(lines)[:SECTION_LIMIT]
