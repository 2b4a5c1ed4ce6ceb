"""The decision (pure): what the table says for a set of answers, before citations are looked up."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bot.tools.assessment.errors import Incomplete, TableError
from bot.tools.assessment.idea import Given
from bot.tools.assessment.session import relevant
from common.text import visible
from kb.decisions import FILE_NAME, Cite, DecisionTable, Question, Rule


@dataclass(frozen=True)
class OpenQuestion:
    """A question nobody answered (with what was assumed instead, if anything), or a rule's open point."""

    question: str  # the question's id; "" for a rule's open point
    ask: str
    choices: tuple[str, ...] = ()
    assumed: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.question or None, "question": self.ask, "choices": list(self.choices),
                "assumed": self.assumed or None}  # fmt: skip


@dataclass(frozen=True)
class StepDraft:
    step: str
    title: str
    finding: str
    cites: tuple[Cite, ...]


@dataclass(frozen=True)
class RiskDraft:
    checklist: str
    item: str
    because: tuple[str, ...]


@dataclass(frozen=True)
class Decision:
    """What the table says for a set of answers, before citations are looked up."""

    recommendation: str
    family: str | None
    steps: tuple[StepDraft, ...]
    risks: tuple[RiskDraft, ...]
    open_questions: tuple[OpenQuestion, ...]
    answers: tuple[Given, ...]


def holds(rule: Rule, answers: Mapping[str, Given]) -> bool:
    """Whether every question the rule names has one of its accepted answers."""
    return all(qid in answers and answers[qid].choice in accepted for qid, accepted in rule.when)


def decide(table: DecisionTable, answers: Mapping[str, Given]) -> Decision:
    """Apply the table to the answers; Incomplete when a required question is unanswered."""
    effective: dict[str, Given] = {}
    open_questions: list[OpenQuestion] = []
    missing: list[Question] = []
    for q in table.questions:
        if not relevant(q, effective):
            continue
        choices = tuple(c.label for c in q.choices)
        if q.id in answers:
            effective[q.id] = answers[q.id]
            if answers[q.id].meaning and answers[q.id].how == "inferred":  # a suggestion: confirm it
                suggested = q.choice(answers[q.id].choice)
                open_questions.append(OpenQuestion(q.id, q.ask, choices, suggested.label if suggested else ""))
        elif q.default:
            effective[q.id] = Given(q.id, q.default, "assumed")
            open_questions.append(OpenQuestion(q.id, q.ask, choices, q.choice(q.default).label))  # type: ignore[union-attr]
        elif q.required:
            missing.append(q)
        else:
            open_questions.append(OpenQuestion(q.id, q.ask, choices))
    if missing:
        first = missing[0]
        options = "; ".join(f"{c.id} ({c.label})" for c in first.choices)
        raise Incomplete(
            f"Cannot tell yet: {first.ask} Say it in the description, or answer: {options}.", tuple(missing)
        )
    recommend = next((r for r in table.recommendation if holds(r, effective)), None)
    if recommend is None:
        said = ", ".join(f"{g.question} = {g.choice}" for g in effective.values())
        raise TableError(f"{FILE_NAME}: no recommendation rule holds for {said}: add one that does")
    family = next((r for r in table.family if holds(r, effective)), None)
    open_questions += [OpenQuestion("", r.open) for r in (recommend, family) if r is not None and r.open]

    steps: list[StepDraft] = []
    for step, title in table.steps:
        findings, cites = [], []
        for q in table.questions:
            given = effective.get(q.id)
            if q.step != step or given is None:
                continue
            choice = q.choice(given.choice)
            text = (choice.finding if choice and choice.finding else f"{q.ask} {given.choice}.").strip()
            findings.append(f"{text.rstrip('.')}{_source_note(given)}." if _source_note(given) else text)
            if q.cite:
                cites.append(q.cite)
        if findings:
            steps.append(StepDraft(step, title, " ".join(findings), tuple(cites)))
    why = [g.explain(table) for qid, accepted in recommend.when for g in [effective[qid]]]
    finding = f"{_LABELS[recommend.recommend]}: {recommend.because} Because {'; '.join(why)}."
    cites = [recommend.cite] if recommend.cite else []
    if family is not None:
        which = f"Family: {family.family}." if family.family else "Family: none named."
        finding += f" {which} {family.because}"
        cites += [family.cite] if family.cite else []
    steps.append(StepDraft("recommendation", "Recommendation", finding, tuple(cites)))

    risks: dict[str, list[str]] = {}
    for rule in table.risks:
        if holds(rule, effective):
            why = ", ".join(effective[qid].explain(table) for qid, _ in rule.when)
            for ref in rule.items:
                risks.setdefault(ref, []).append(f"{rule.because} ({why})")
    return Decision(
        recommendation=recommend.recommend,
        family=family.family if family is not None else None,
        steps=tuple(steps),
        risks=tuple(RiskDraft(*ref.split("/", 1), tuple(b)) for ref, b in risks.items()),
        open_questions=tuple(open_questions),
        answers=tuple(effective.values()),
    )


_LABELS = {"llm": "An LLM", "generative": "A broader generative model", "hybrid": "A hybrid"}


def _source_note(given: Given) -> str:
    if given.meaning:
        return f' (closest in meaning to "{visible(given.evidence)}")'
    if given.how == "inferred":
        return f' (from "{visible(given.evidence)}")'
    if given.how == "assumed":
        return " (assumed: nobody said; see the open questions)"
    return ""
