"""The part shared by backends that run a chat model: prompt in, grounded and cited text out."""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Iterator

from bot.answering.answerers.base import Answerer, Grounder, Prompt, _repetitive, build_messages, ground
from common.errors import GenerationFailed

_SENTENCE_END = (".", "!", "?")


class ChatModelAnswerer(Answerer):
    """A chat model behind `complete_stream`; grounding and citations are the application's job."""

    streams = True

    @abstractmethod
    def complete_stream(self, messages: list[dict[str, str]]) -> Iterator[str]:
        """The model's reply to messages, in pieces as it writes them; raises BackendError on failure."""

    def complete(self, messages: list[dict[str, str]]) -> str:
        """The model's whole reply."""
        return "".join(self.complete_stream(messages))

    def answer(self, prompt: Prompt) -> str:
        return ground(self.complete(build_messages(prompt)), prompt.passages, prompt.question)

    def stream(self, prompt: Prompt) -> Iterator[str]:
        """Grounded sentences as the model finishes them; unsupported ones never reach the reader."""
        grounder = Grounder(prompt.passages, prompt.question)
        written, pending, kept = "", "", 0
        for piece in self.complete_stream(build_messages(prompt)):
            written += piece
            pending += piece
            if _repetitive(written):
                break  # what was kept so far stands; the loop would only add more of the same
            *done, pending = _split(pending)
            for sentence in done:
                grounded = grounder.sentence(sentence)
                if grounded:
                    kept += 1
                    yield grounded + " "
        grounded = grounder.sentence(pending) if pending.strip() and not _repetitive(written) else None
        if grounded:
            kept += 1
            yield grounded
        if not kept:
            raise GenerationFailed("the answer had no overlap with the knowledge base passages")


def _split(text: str) -> list[str]:
    """Complete sentences, then the unfinished rest (possibly empty)."""
    parts: list[str] = []
    start = 0
    for i in range(len(text) - 1):
        if text[i] in _SENTENCE_END and text[i + 1].isspace():
            parts.append(text[start : i + 1])
            start = i + 1
    return [*parts, text[start:]]
