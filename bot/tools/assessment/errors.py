"""The assessment's errors: a table that cannot be used, a reply that answers nothing, a result not yet possible."""

from __future__ import annotations

from common.errors import AdoptbotError, ConfigError
from kb.decisions import Question


class TableError(ConfigError):
    """The decision table cannot be used; the message names the file and what to fix."""


class AnswerError(AdoptbotError, ValueError):
    """A reply that answers nothing; the message says what replies the question takes."""


class Incomplete(AdoptbotError):
    """A question the result cannot do without is still unanswered; the message says which and how."""

    def __init__(self, message: str, questions: tuple[Question, ...]) -> None:
        super().__init__(message)
        self.questions = questions
