"""A scripted engine for platform tests: they test Slack and Teams, not the editors' wording."""

from __future__ import annotations

import threading
from collections.abc import Callable

from bot.types import Answer, Choice, Citation, Question
from common.errors import EmptyQuestion

SOURCE = Citation(
    n=1,
    title="Stub guidance",
    section="Stub section",
    source="guidance/stub.md",
    url="https://intranet.example.com/stub",
    last_reviewed="2026-11-20",
    score=0.9,
)
CHOICES = (
    Choice("Stub topic A", "What does the stub guidance say about topic A?"),
    Choice("Stub topic B", "What does the stub guidance say about topic B?"),
)
CLARIFY = "That could be about more than one topic. Which one do you mean?"
SUGGESTIONS = (
    Choice("What else does the stub guidance say?", "What else does the stub guidance say?"),
    Choice("Where is the stub guidance kept?", "Where is the stub guidance kept?"),
)
PIECES = (
    "The first sentence of a stub answer, long enough to be sent on its own [1]. ",
    "A second sentence follows it [1].",
)


class StubEngine:
    """Answers every question with PIECES (streamed when `streams`); "uncovered" questions are declined, and
    "ambiguous" ones get a clarifying question with CHOICES.

    `hold` (an Event) keeps each answer waiting until it is set, for tests of the queue; with `suggests`, answers
    offer SUGGESTIONS.
    """

    def __init__(self, *, streams: bool = True, hold: threading.Event | None = None, suggests: bool = False) -> None:
        self.streams = streams
        self.hold = hold
        self.suggests = suggests
        self.questions: list[Question] = []
        self._lock = threading.Lock()

    def answer(
        self, question: Question, *, backend: str | None = None, on_text: Callable[[str], None] | None = None
    ) -> Answer:
        with self._lock:
            self.questions.append(question)
        if self.hold is not None:
            assert self.hold.wait(60), "the test never let the answer go"
        text = question.text.strip()
        if not text:
            raise EmptyQuestion("Ask a question.")
        if text.lower() in ("hello", "thanks"):
            return Answer(question=text, status="smalltalk", text="Hello! Ask me about adopting AI.", backend="none")
        if "uncovered" in text:
            return Answer(
                question=text, status="no_answer", text="The knowledge base does not cover that.", backend="none",
                related=(SOURCE,),
            )  # fmt: skip
        if "ambiguous" in text:
            return Answer(
                question=text, status="clarify", text=CLARIFY, backend="none", related=(SOURCE,), choices=CHOICES
            )
        if self.streams and on_text is not None:
            for piece in PIECES:
                on_text(piece)
        return Answer(
            question=text, status="answered", text="".join(PIECES), backend="stub", sources=(SOURCE,),
            suggestions=SUGGESTIONS if self.suggests else (),
        )  # fmt: skip

    def describe_backend(self) -> str:
        return "stub (for tests)"
