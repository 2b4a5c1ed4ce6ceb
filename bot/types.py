"""The plain data that flows through the assistant: Question -> Passages -> Answer."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Literal

Role = Literal["user", "assistant"]
Status = Literal["answered", "no_answer", "smalltalk", "clarify"]
REVIEW_AFTER_DAYS = 365  # the default of ADOPTBOT_REVIEW_AFTER_DAYS


@dataclass(frozen=True)
class Turn:
    """One earlier message of a conversation."""

    role: Role
    text: str


@dataclass(frozen=True)
class Question:
    """What a person asked, with the earlier turns of its thread (oldest first)."""

    text: str
    history: tuple[Turn, ...] = ()
    user: str = ""
    place: str = ""  # where it was asked, for audience scoping (bot.audiences); empty: the terminal, sees everything


@dataclass(frozen=True)
class Passage:
    """A retrieved piece of the knowledge base, with everything needed to cite it."""

    id: str
    text: str
    source: str
    title: str
    section: str
    score: float
    url: str = ""
    last_reviewed: str = ""
    owner: str = ""
    kind: str = "guidance"
    checklist_id: str = ""
    ordinal: int = 0
    audience: frozenset[str] = frozenset()  # the audiences its document is marked for (bot.audiences); none: everyone

    def with_score(self, score: float) -> Passage:
        return replace(self, score=score)


@dataclass(frozen=True)
class Citation:
    """A numbered source of an answer, taken from passage metadata."""

    n: int
    title: str
    section: str
    source: str
    url: str
    last_reviewed: str
    score: float
    review_overdue: bool = False  # last_reviewed is older than the review period, as of answer time
    audience: tuple[str, ...] = ()  # the audiences its document is marked for; none: everyone

    @classmethod
    def of(
        cls, n: int, passage: Passage, *, today: dt.date | None = None, review_after_days: int = REVIEW_AFTER_DAYS
    ) -> Citation:
        """The citation of a passage; whether its review is overdue is decided now, not at ingest."""
        return cls(
            n=n,
            title=passage.title,
            section=passage.section,
            source=passage.source,
            url=passage.url,
            last_reviewed=passage.last_reviewed,
            score=round(passage.score, 4),
            review_overdue=review_overdue(
                passage.last_reviewed, today=today or dt.date.today(), after_days=review_after_days
            ),
            audience=tuple(sorted(passage.audience)),
        )


def review_overdue(last_reviewed: str, *, today: dt.date, after_days: int) -> bool:
    """Whether a YYYY-MM-DD review date is more than after_days before today; no date or a bad one is not."""
    try:
        reviewed = dt.date.fromisoformat(last_reviewed.strip())
    except ValueError:
        return False
    return (today - reviewed).days > after_days


@dataclass(frozen=True)
class Choice:
    """One thing a reply offers to ask next: what it is called, and the question choosing it asks.

    A clarifying question's topics are choices; so are an answer's suggested next questions.
    """

    label: str
    question: str


@dataclass(frozen=True)
class Answer:
    """The reply to a Question: text with [n] markers matching `sources`."""

    question: str
    status: Status
    text: str
    backend: str
    sources: tuple[Citation, ...] = ()
    related: tuple[Citation, ...] = ()
    notes: tuple[str, ...] = ()
    timings_ms: dict[str, float] = field(default_factory=dict)
    choices: tuple[Choice, ...] = ()  # status "clarify": the topics it asks the person to choose between
    suggestions: tuple[Choice, ...] = ()  # status "answered": questions editors wrote that it could answer next

    @property
    def answered(self) -> bool:
        return self.status == "answered"

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape of `adoptbot ask --json`."""
        return {
            "question": self.question,
            "status": self.status,
            "answer": self.text,
            "backend": self.backend,
            "sources": [asdict(c) for c in self.sources],
            "related": [asdict(c) for c in self.related],
            "notes": list(self.notes),
            "choices": [asdict(c) for c in self.choices],
            "suggestions": [asdict(c) for c in self.suggestions],
            "timings_ms": self.timings_ms,
        }
