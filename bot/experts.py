"""Humans in the loop: what the experts' channel is told about a declined question or a 'not helpful' vote.

Platform-neutral Markdown; Slack and Teams post it to the channel their settings name
(ADOPTBOT_SLACK_EXPERTS_CHANNEL, ADOPTBOT_TEAMS_EXPERTS_CHANNEL), with a link back to the
conversation so an expert can answer there and fix the knowledge base. Questions are redacted, as
everywhere they leave the conversation, and quoted as written (common.text.literal): a mention or a
link someone typed reaches the experts as text. Documents the experts' channel may not see
(bot/audiences.py) are counted, never named, and an answer drawn from one is not quoted.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.audiences import ALL, Scope, visible
from bot.state.redaction import redact
from common.text import literal

MAX_QUOTE = 1200  # characters of a question or an answer quoted in the experts' channel
WITHHELD = "_Not quoted here: it came from a document this channel may not see. Open the conversation to read it._"
# A source as the forward names it ("Title - Section"), and the audiences of its document (None: not known).
Cited = tuple[str, frozenset[str] | None]


def declined(question: str, nearest: Sequence[Cited], link: str, *, scope: Scope) -> str:
    """A question the knowledge base does not cover; `scope` is what the experts' channel may see."""
    lines = [
        "adoptbot could not answer this question from the knowledge base:",
        _quote(question),
    ]
    if nearest:
        lines.append("Nearest topics it covers: " + _names(nearest[:3], scope) + ".")
    lines.append(_where(link))
    lines.append("Please answer in the conversation, and add or fix the guidance if it belongs in the knowledge base.")
    return "\n".join(lines)


def not_helpful(
    question: str, answer: str, sources: Sequence[Cited], link: str, *, scope: Scope, comment: str = ""
) -> str:
    """An answer someone marked as not helpful (with what they wrote about it, if anything).

    The answer is quoted only when the experts' channel may see every document it cites.
    """
    lines = ["Someone marked an adoptbot answer as **not helpful**.", "Question:", _quote(question), "Answer:"]
    lines.append(_quote(answer) if all(_shown(audience, scope) for _, audience in sources) else WITHHELD)
    if comment.strip():
        lines += ["Their comment:", _quote(comment)]
    if sources:
        lines.append("Sources: " + _names(sources[:5], scope) + ".")
    lines.append(_where(link))
    lines.append("Please check the answer and the guidance it cites.")
    return "\n".join(lines)


def _shown(audience: frozenset[str] | None, scope: Scope) -> bool:
    """Whether the experts' channel may see a document with these audiences (unknown ones: only if it sees all)."""
    if audience is None:
        return scope is None or ALL in scope
    return visible(audience, scope)


def _names(sources: Sequence[Cited], scope: Scope) -> str:
    """The sources the experts may see, by name; the others as a count."""
    names = [literal(name) for name, audience in sources if _shown(audience, scope)]
    hidden = len(sources) - len(names)
    if hidden:
        counted = f"{hidden} restricted document{'s' if hidden > 1 else ''} (not named here)"
        names.append(f"and {counted}" if names else counted)
    return "; ".join(names)


def _quote(text: str) -> str:
    text = redact(text).text
    if len(text) > MAX_QUOTE:
        text = text[:MAX_QUOTE].rsplit(" ", 1)[0] + " ..."
    return "\n".join(f"> {literal(line)}" for line in text.splitlines() or [""])


def _where(link: str) -> str:
    return f"Conversation: {link}" if link else "Conversation: a direct message (no link can be shared)."
