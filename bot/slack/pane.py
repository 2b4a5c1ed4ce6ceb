"""Suggested prompts: for the agent's Messages tab (agent_view), and with a greeting for a new assistant thread
(assistant_view)."""

from __future__ import annotations

from typing import Any

TITLE = "Try one of these:"
DEFAULT_PROMPTS = (
    "Should our use case use an LLM, an image model or both?",
    "What is on the pre-deployment checklist?",
    "What are the main risks of generative AI?",
    "What are diffusion models good for?",
)


def suggest(client: Any, channel: str, *, suggested: str = "") -> None:
    """The Messages tab of an agent's DM: up to four suggested prompts (`suggested`: "a | b | ...").

    Without thread_ts: Slack says an agent app's call with one fails silently.
    """
    client.assistant_threads_setSuggestedPrompts(channel_id=channel, title=TITLE, prompts=prompts(suggested))


def greet(client: Any, channel: str, thread_ts: str, *, suggested: str = "") -> None:
    """A new assistant thread: a greeting and up to four suggested prompts (`suggested`: "a | b | ...")."""
    client.assistant_threads_setSuggestedPrompts(
        channel_id=channel, thread_ts=thread_ts, title=TITLE, prompts=prompts(suggested)
    )
    client.chat_postMessage(
        channel=channel,
        thread_ts=thread_ts,
        text="Hi! I answer questions about adopting generative AI from our guidance, with sources. "
        "Pick a suggestion or ask your own question.",
    )


def prompts(suggested: str) -> list[dict[str, str]]:
    """The prompts Slack shows: the setting's (up to four), else ours."""
    chosen = [p.strip() for p in suggested.split("|") if p.strip()][:4]
    return [{"title": _title(p), "message": p} for p in chosen or DEFAULT_PROMPTS]


def _title(prompt: str) -> str:
    return prompt if len(prompt) <= 40 else prompt[:39].rsplit(" ", 1)[0] + "…"
