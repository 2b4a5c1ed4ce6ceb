"""What the chat core's own replies say on every platform: help, status, a reindex's result, related topics.

Markdown; `how(args)` says how a command is typed on the platform (Slack: `/adoptbot status`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from bot.types import Answer
from common.errors import IngestBusy
from kb.store import IndexInfo
from kb.summary import IngestSummary

ASK_IN_CHAT = "Ask me here; in a channel, @mention me, and reply in the thread to follow up."


def related_label(answer: Answer) -> str:
    """What the passages beside the answer are called: related reading, a clarifying question's topics, or the
    nearest topics to a decline."""
    if answer.status == "clarify":
        return "Topics"
    return "Related" if answer.answered else "Nearest topics"


def tools_help(how: Callable[[str], str]) -> tuple[str, ...]:
    """The help lines of the adoption tools, with each platform's way of typing a command."""
    return (
        f"{how('assess [your idea]')}: LLM, image model or both? A short form, then the recommendation with reasons",
        f"{how('checklist [name] [project]')}: work through a checklist as a team "
        f"({how('checklist status')}, {how('checklist export PROJECT')})",
    )


def help_text(how: Callable[[str], str], extra: Sequence[str] = (), *, ask: str = ASK_IN_CHAT) -> str:
    """What adoptbot does and how to use it, with each platform's way of typing a command (and its own extras)."""
    return "\n".join(
        [
            "**adoptbot** answers questions about adopting generative AI from our curated guidance, with sources.",
            f"- {ask}",
            *(f"- {line}" for line in extra),
            f"- {how('status')}: what the knowledge base holds and which backend answers",
            f"- {how('reindex')}: reload the knowledge base (editors only)",
            f"- {how('help')}: this message",
        ]
    )


def status_text(info: IndexInfo | None, backend: str) -> str:
    """What the knowledge base holds and which backend answers."""
    if info is None:
        return "The knowledge base has not been indexed yet. An editor can run **reindex**."
    return (
        f"**Knowledge base:** {info.documents} documents, {info.chunks} chunks, last indexed {info.indexed_at}.\n"
        f"**Answer backend:** {backend}."
    )


def reindex_text(summary: IngestSummary | None, error: Exception | None) -> str:
    """The summary an editor sees when a reindex ends."""
    if isinstance(error, IngestBusy):
        return (
            "⏳ Another reindex is running (from another replica or `adoptbot ingest`), so this one did not start. "
            "Its changes will be served when it finishes; reindex again then if your edits came later."
        )
    if error is not None:
        return f"⚠️ Reindex failed: {error}\nThe previous knowledge base is still being used."
    assert summary is not None
    lines = [
        f"✅ Reindex finished in {summary.seconds:.1f} s: {summary.documents_total} documents, "
        f"{summary.chunks_total} chunks.",
        f"Added {len(summary.documents_added)}, updated {len(summary.documents_updated)}, "
        f"removed {len(summary.documents_removed)}, skipped {len(summary.skipped)}.",
    ]
    for label, docs in summary.document_changes():
        if docs:
            lines.append(f"**{label.capitalize()}:** " + ", ".join(f"`{d}`" for d in docs[:20]))
    lines += [f"❌ `{s.source}`: {s.describe()}" for s in summary.skipped[:20]]
    lines += [f"⚠️ `{w.source}`: {w.message}" for w in summary.warnings[:20]]
    return "\n".join(lines)
