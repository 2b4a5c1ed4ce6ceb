"""The assessor: the decision for a session's answers, cited from the passages the Retriever finds."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from bot.answering.retrieval import Retriever
from bot.audiences import Audiences
from bot.audiences import visible as in_scope
from bot.tools.assessment.decision import OpenQuestion, decide
from bot.tools.assessment.idea import Given, Meaning
from bot.tools.assessment.session import Session
from bot.tools.assessment.table import TableFile
from bot.tools.checklists import Checklist, load_checklists
from bot.types import REVIEW_AFTER_DAYS, Citation, Passage
from kb.decisions import FILE_NAME, Cite, DecisionTable

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Step:
    step: str
    title: str
    finding: str
    sources: tuple[int, ...]  # numbers of Assessment.sources


@dataclass(frozen=True)
class Risk:
    checklist: str
    item: str
    text: str
    because: tuple[str, ...]
    sources: tuple[int, ...]


@dataclass(frozen=True)
class Assessment:
    """The result: recommendation, family, the reasons step by step, open questions, risks, citations."""

    recommendation: str  # llm | generative | hybrid
    family: str | None  # diffusion | gan | vae | transformer | None
    steps: tuple[Step, ...]
    open_questions: tuple[OpenQuestion, ...]
    checklist_risks: tuple[Risk, ...]
    sources: tuple[Citation, ...]
    answers: tuple[Given, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape of `adoptbot assess --json`."""
        return {
            "recommendation": self.recommendation,
            "family": self.family,
            "steps": [asdict(s) | {"sources": list(s.sources)} for s in self.steps],
            "open_questions": [q.to_dict() for q in self.open_questions],
            "checklist_risks": [
                {**asdict(r), "because": list(r.because), "sources": list(r.sources)} for r in self.checklist_risks
            ],
            "sources": [asdict(c) for c in self.sources],
        }


class _Citer:
    """Finds the passage behind each cite once, and numbers citations by first use."""

    def __init__(self, retriever: Retriever, scope: Any, review_after_days: int) -> None:
        self.retriever = retriever
        self.scope = scope
        self.review_after_days = review_after_days
        self.found: dict[tuple[str, str], Passage | None] = {}
        self.numbers: dict[str, int] = {}
        self.citations: list[Citation] = []

    def cite(self, cites: Iterable[Cite]) -> tuple[int, ...]:
        out: list[int] = []
        for c in cites:
            passage = self.passage(c)
            if passage is None:
                continue
            key = f"{passage.source}#{passage.section}"
            if key not in self.numbers:
                self.numbers[key] = len(self.citations) + 1
                self.citations.append(Citation.of(self.numbers[key], passage, review_after_days=self.review_after_days))
            if self.numbers[key] not in out:
                out.append(self.numbers[key])
        return tuple(out)

    def passage(self, cite: Cite) -> Passage | None:
        """The best retrieved passage from the cite's source, else the best retrieved one."""
        key = (cite.query, cite.source)
        if key not in self.found:
            passages = self.retriever.retrieve(cite.query, k=8, scope=self.scope).passages
            named = [p for p in passages if p.source == cite.source]
            self.found[key] = (named or passages or [None])[0]
            if cite.source and not named:
                log.warning("assessment: %r found nothing from %s; citing the best passage instead", cite.query,
                            cite.source)  # fmt: skip
        return self.found[key]


class Assessor:
    """Runs assessments over the knowledge base the rest of the bot answers from."""

    def __init__(
        self,
        *,
        table: Callable[[], DecisionTable],
        retriever: Retriever,
        checklists: Callable[[], Mapping[str, Checklist]],
        audiences: Audiences | None = None,
        review_after_days: int = REVIEW_AFTER_DAYS,
    ) -> None:
        self._table = table
        self.retriever = retriever
        self._checklists = checklists
        self.audiences = audiences or Audiences()
        self.review_after_days = review_after_days
        self.meaning = Meaning(retriever.embedder)

    @classmethod
    def for_folder(
        cls,
        knowledge_dir: Path,
        *,
        retriever: Retriever,
        audiences: Audiences | None = None,
        review_after_days: int = REVIEW_AFTER_DAYS,
        max_file_bytes: int = 2_000_000,
    ) -> Assessor:
        """An assessor over the knowledge folder's decision table and checklists, re-read when they change."""
        table = TableFile(knowledge_dir / FILE_NAME)
        table.current()  # a missing or broken table stops here, before any slow work

        def checklists() -> dict[str, Checklist]:
            return load_checklists(knowledge_dir, max_file_bytes=max_file_bytes)[0]

        return cls(
            table=table.current,
            retriever=retriever,
            checklists=checklists,
            audiences=audiences,
            review_after_days=review_after_days,
        )

    @property
    def table(self) -> DecisionTable:
        return self._table()

    def session(self, idea: str = "") -> Session:
        """A new session, with what the idea's words say already answered."""
        return Session.start(self.table, idea, meaning=self.meaning)

    def resume(self, data: Mapping[str, Any]) -> Session:
        """A session kept by a platform as Session.to_dict(), against the current table."""
        return Session.from_dict(self.table, data, meaning=self.meaning)

    def assess(self, session: Session, *, place: str = "") -> Assessment:
        """The result for the session's answers, cited from passages place may see; Incomplete if it cannot be."""
        decision = decide(session.table, session.answers)
        scope = self.audiences.scope(place)
        citer = _Citer(self.retriever, scope, self.review_after_days)
        steps = tuple(Step(s.step, s.title, s.finding, citer.cite(s.cites)) for s in decision.steps)
        checklists = self._checklists()
        risks = []
        for r in decision.risks:
            checklist = checklists.get(r.checklist)
            item = next((i for i in checklist.items if i.id == r.item), None) if checklist else None
            if checklist is None or item is None:  # kb lint reports it; the rest of the result still helps
                log.warning("assessment: %s/%s is not a checklist item (run adoptbot kb lint)", r.checklist, r.item)
                continue
            if not in_scope(checklist.audience, scope):
                continue  # a checklist this place may not see is not named here either
            sources = citer.cite([Cite(query=item.text, source=checklist.source)])
            risks.append(Risk(r.checklist, r.item, item.text, r.because, sources))
        return Assessment(
            recommendation=decision.recommendation,
            family=decision.family,
            steps=steps,
            open_questions=decision.open_questions,
            checklist_risks=tuple(risks),
            sources=tuple(citer.citations),
            answers=decision.answers,
        )
