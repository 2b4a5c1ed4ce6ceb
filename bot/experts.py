"""Humans in the loop: what the experts' channel is told about a declined question or a 'not helpful' vote.

Platform-neutral text; Slack and Teams post it to the channel their settings name
(ADOPTBOT_SLACK_EXPERTS_CHANNEL, ADOPTBOT_TEAMS_EXPERTS_CHANNEL), with a link back to the
conversation so an expert can answer there and fix the knowledge base. Questions are redacted, as
everywhere they leave the conversation.
"""

from __future__ import annotations

from bot.redaction import redact

MAX_QUOTE = 1200  # characters of a question or an answer quoted in the experts' channel


def declined(question: str, nearest: list[str], link: str) -> str:
    """A question the knowledge base does not cover."""
    lines = [
        "adoptbot could not answer this question from the knowledge base:",
        _quote(question),
    ]
    if nearest:
        lines.append("Nearest topics it covers: " + "; ".join(nearest[:3]) + ".")
    lines.append(_where(link))
    lines.append("Please answer in the conversation, and add or fix the guidance if it belongs in the knowledge base.")
    return "\n".join(lines)


def not_helpful(question: str, answer: str, sources: list[str], link: str, *, comment: str = "") -> str:
    """An answer someone marked as not helpful (with what they wrote about it, if anything)."""
    lines = ["Someone marked an adoptbot answer as *not helpful*.", "Question:", _quote(question), "Answer:"]
    lines.append(_quote(answer))
    if comment.strip():
        lines += ["Their comment:", _quote(comment)]
    if sources:
        lines.append("Sources: " + "; ".join(sources[:5]) + ".")
    lines.append(_where(link))
    lines.append("Please check the answer and the guidance it cites.")
    return "\n".join(lines)


def _quote(text: str) -> str:
    text = redact(text).text
    if len(text) > MAX_QUOTE:
        text = text[:MAX_QUOTE].rsplit(" ", 1)[0] + " ..."
    return "\n".join(f"> {line}" for line in text.splitlines() or [""])


def _where(link: str) -> str:
    return f"Conversation: {link}" if link else "Conversation: a direct message (no link can be shared)."
