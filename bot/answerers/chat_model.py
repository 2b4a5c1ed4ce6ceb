"""The part shared by backends that run a chat model: prompt in, grounded and cited text out."""

from __future__ import annotations

from abc import abstractmethod

from bot.answerers.base import Answerer, Prompt, build_messages, ground


class ChatModelAnswerer(Answerer):
    """A chat model behind `complete`; grounding and citations are the application's job."""

    @abstractmethod
    def complete(self, messages: list[dict[str, str]]) -> str:
        """The model's reply to messages; raises BackendError on failure."""

    def answer(self, prompt: Prompt) -> str:
        return ground(self.complete(build_messages(prompt)), prompt.passages, prompt.question)
