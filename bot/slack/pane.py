"""The assistant pane: the greeting and suggested prompts of a new assistant thread."""

from __future__ import annotations

from typing import Any

DEFAULT_PROMPTS = (
    "Should our use case use an LLM, an image model or both?",
    "What is on the pre-deployment checklist?",
    "What are the main risks of generative AI?",
    "What are diffusion models good for?",
)


def greet(client: Any, channel: str, thread_ts: str, *, suggested: str = "") -> None:
    """A new assistant thread: a greeting and up to four suggested prompts (`suggested`: "a | b | ...")."""
    prompts = [p.strip() for p in suggested.split("|") if p.strip()][:4]
    client.assistant_threads_setSuggestedPrompts(
        channel_id=channel,
        thread_ts=thread_ts,
        title="Try one of these:",
        prompts=[{"title": _title(p), "message": p} for p in prompts or DEFAULT_PROMPTS],
    )
    client.chat_postMessage(
        channel=channel,
        thread_ts=thread_ts,
        text="Hi! I answer questions about adopting generative AI from our guidance, with sources. "
        "Pick a suggestion or ask your own question.",
    )


def _title(prompt: str) -> str:
    return prompt if len(prompt) <= 40 else prompt[:39].rsplit(" ", 1)[0] + "…"
