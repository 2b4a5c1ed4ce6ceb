"""What the agent's Messages tab shows beside the answer, built by pure functions: the search as a task, the answer
as a `markdown` block.

The shapes are slack-sdk's TaskUpdateChunk (a `task_update` streaming chunk, its sources UrlSourceElements) and
MarkdownBlock, written as plain dicts like the rest of our Block Kit.
"""

from __future__ import annotations

from typing import Any

from bot.chat import Reply
from bot.slack import blocks
from bot.types import Citation

SEARCH_TASK = "search"
SEARCHING = "Searching the knowledge base"
MARKDOWN_LIMIT = 12_000  # characters of markdown_text in one streaming call, and of one markdown block
SOURCE_TEXT = 150
MAX_SOURCES = 10


def searching() -> dict[str, Any]:
    """The search, under way."""
    return {"type": "task_update", "id": SEARCH_TASK, "title": SEARCHING, "status": "in_progress"}


def searched(reply: Reply) -> dict[str, Any]:
    """The search, done: how many passages the reply rests on, with their sources as links."""
    answer = reply.answer
    if answer is None or reply.kind == "smalltalk":
        return {"type": "task_update", "id": SEARCH_TASK, "title": "Nothing to look up", "status": "complete"}
    found = answer.sources or answer.related
    chunk: dict[str, Any] = {
        "type": "task_update",
        "id": SEARCH_TASK,
        "title": f"Found {len(found)} passage{'' if len(found) == 1 else 's'}",
        "status": "complete",
    }
    sources = [_source(c, numbered=bool(answer.sources)) for c in found if c.url][:MAX_SOURCES]
    if sources:
        chunk["sources"] = sources
    return chunk


def stopped() -> dict[str, Any]:
    """The search, cut short by the stop button."""
    return {"type": "task_update", "id": SEARCH_TASK, "title": "Stopped", "status": "error"}


def answer_blocks(reply: Reply) -> list[dict[str, Any]]:
    """A reply posted whole in the Messages tab: its Markdown in a `markdown` block, then sources and buttons."""
    answer = reply.answer
    if answer is None:
        return [_markdown(reply.text)]
    tail = blocks.tail_blocks(answer, reply.feedback_id)
    if answer.choices:
        tail.insert(0, blocks.choices_block(answer.choices))
    return [_markdown(answer.text), *tail][: blocks.MAX_BLOCKS]


def pieces(markdown: str, limit: int = MARKDOWN_LIMIT) -> list[str]:
    """Markdown cut into parts Slack takes in one streaming call (exactly the text, nothing dropped)."""
    return [markdown[i : i + limit] for i in range(0, len(markdown), limit)] or [""]


def _markdown(text: str) -> dict[str, Any]:
    # "<" escaped as in a stream, so an answer quoting "<!channel>" or "<@U1>" pings nobody.
    return {"type": "markdown", "text": blocks.streamed(text)[:MARKDOWN_LIMIT] or " "}


def _source(c: Citation, *, numbered: bool) -> dict[str, Any]:
    text = f"[{c.n}] {c.title}" if numbered else c.title
    return {"type": "url", "url": c.url, "text": text[:SOURCE_TEXT]}
