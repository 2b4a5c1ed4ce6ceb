"""The use-case assessment: an LLM, a broader generative model or a hybrid, step by step, with citations.

The questions and rules are data (`knowledge/assessment.yaml`, read by kb/decisions.py). The
flow, on every platform:

    session = assessor.session("We want product photos in twenty backgrounds")  # infers what it can
    question = session.next_question()            # None when nothing is left to ask
    session.answer(question.id, "2")              # a number, a choice id or label, or free text
    result = assessor.assess(session)             # an Assessment; result.to_dict() is `assess --json`

`infer` reads keywords (explainable: each answer keeps the words it came from), `decide` applies the
table (pure), and `Assessor` adds citations from the passages the Retriever finds, never invented ones.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from bot.answering.lexical import stems
from bot.answering.retrieval import Retriever
from bot.audiences import Audiences
from bot.audiences import visible as in_scope
from bot.tools.checklists import Checklist, load_checklists
from bot.types import REVIEW_AFTER_DAYS, Citation, Passage
from common.errors import AdoptbotError, ConfigError
from common.text import visible
from kb.decisions import FILE_NAME, MAX_BYTES, Cite, DecisionTable, Question, Rule, parse_table
from kb.embedding import Embedder
from kb.files import BadFile

log = logging.getLogger(__name__)
How = Literal["chosen", "inferred", "assumed"]
_TOKEN = re.compile(r"[a-z0-9]+", re.IGNORECASE)  # the characters bot.answering.lexical reads words from


class TableError(ConfigError):
    """The decision table cannot be used; the message names the file and what to fix."""


class AnswerError(AdoptbotError, ValueError):
    """A reply that answers nothing; the message says what replies the question takes."""


class Incomplete(AdoptbotError):
    """A question the result cannot do without is still unanswered; the message says which and how."""

    def __init__(self, message: str, questions: tuple[Question, ...]) -> None:
        super().__init__(message)
        self.questions = questions


@dataclass(frozen=True)
class Given:
    """An answer to one question, and where it came from (chosen, inferred from words, or assumed)."""

    question: str
    choice: str
    how: How
    evidence: str = ""  # the words it was inferred from, as written (by meaning: the closest keyword or label)
    meaning: bool = False  # inferred by meaning (embeddings), not by a keyword

    def explain(self, table: DecisionTable) -> str:
        """'content = images (from "product photos")', as shown with a result."""
        q = table.question(self.question)
        choice = q.choice(self.choice) if q else None
        label = f"{self.question} = {self.choice}"
        if choice is None:
            return label
        if self.how == "inferred" and self.meaning:
            return f'{label} (closest in meaning to "{visible(self.evidence)}")'
        if self.how == "inferred":
            return f'{label} (from "{visible(self.evidence)}")'
        if self.how == "assumed":
            return f"{label} (assumed; nobody said)"
        return f"{label} (answered)"


# ---------------------------------------------------------------- inference


@dataclass(frozen=True)
class _Match:
    start: int
    end: int
    question: str
    choice: str
    words: str  # as written in the text


@lru_cache(maxsize=8)
def _phrases(table: DecisionTable) -> tuple[tuple[str, str, tuple[str, ...]], ...]:
    """(question, choice, keyword stems) for every keyword of the table."""
    out = []
    for q in table.questions:
        for c in q.choices:
            for keyword in c.keywords:
                key = tuple(stems(" ".join(_TOKEN.findall(keyword))))
                if key:
                    out.append((q.id, c.id, key))
    return tuple(out)


def _words(text: str) -> tuple[list[str], list[tuple[int, int]]]:
    """The stems of text's words and each word's span in text."""
    found = list(_TOKEN.finditer(text))
    words = stems(" ".join(m.group() for m in found))
    if len(words) != len(found):  # cannot happen with _TOKEN's characters; stay safe if bot.answering.lexical changes
        return [], []
    return words, [m.span() for m in found]


def infer(table: DecisionTable, text: str, *, only: str = "", meaning: Meaning | None = None) -> dict[str, Given]:
    """The answers a free-text idea suggests, each with the words it came from (only: one question's).

    Per question, a longer keyword inside the same words beats a shorter one ("visual variants" beats
    "variants"); a choice that `yields_to` another mentioned one gives way; of the rest, the one
    mentioned first wins. A choice's `implies` answers other questions nobody's words answered. A
    `by_meaning` question no keyword answers goes to meaning (when given) for a clearly closest choice.
    """
    words, spans = _words(text)
    matches: list[_Match] = []
    for qid, cid, key in _phrases(table):
        if only and qid != only:
            continue
        n = len(key)
        for i in range(len(words) - n + 1):
            if tuple(words[i : i + n]) == key:
                matches.append(_Match(i, i + n, qid, cid, text[spans[i][0] : spans[i + n - 1][1]]))
    kept: dict[str, list[_Match]] = {}
    for m in sorted(matches, key=lambda m: (m.start - m.end, m.start)):  # longest first
        same = kept.setdefault(m.question, [])
        if not any(m.start < k.end and k.start < m.end for k in same):
            same.append(m)
    given: dict[str, Given] = {}
    implied: list[tuple[str, str, str]] = []
    for q in table.questions:
        mentioned = sorted(kept.get(q.id, []), key=lambda m: m.start)
        if not mentioned:
            continue
        named = {m.choice for m in mentioned}
        stays = [m for m in mentioned if not (set(q.choice(m.choice).yields_to) & named)]  # type: ignore[union-attr]
        first = (stays or mentioned)[0]
        given[q.id] = Given(q.id, first.choice, "inferred", first.words)
        for m in mentioned:
            implied += [(qid, cid, m.words) for qid, cid in q.choice(m.choice).implies]  # type: ignore[union-attr]
    if meaning is not None and text.strip():
        for q in table.questions:
            if q.by_meaning and q.id not in given and (not only or q.id == only):
                found = meaning.closest(q, text)
                if found is not None:
                    given[q.id] = Given(q.id, found[0], "inferred", found[1], meaning=True)
                    implied += [(qid, cid, text) for qid, cid in q.choice(found[0]).implies]  # type: ignore[union-attr]
    if not only:
        for qid, cid, words in implied:
            given.setdefault(qid, Given(qid, cid, "inferred", words))
    return given


class Meaning:
    """Answers a question by meaning: the choice whose keywords or label are clearly closest to the text.

    Calibrated on ideas no keyword reads (see docs/assessment.md). It does not guess when the best
    choice is below MIN_SIMILARITY, within MIN_MARGIN of the runner-up, or when the text is closer to
    a vague request (VAGUE: "something with AI") than to any choice: then the question is asked.
    """

    MIN_SIMILARITY = 0.25
    MIN_MARGIN = 0.03
    VAGUE = (
        "something with AI",
        "use generative AI",
        "a new project",
        "an idea",
        "help our team",
        "be more productive",
        "improve our processes",
        "make us faster",
        "save time",
        "hello",
    )

    def __init__(self, embedder: Embedder) -> None:
        self.embedder = embedder
        self._vectors: dict[tuple[str, tuple[tuple[str, str], ...]], list[list[float]]] = {}
        self._lock = threading.Lock()

    def closest(self, question: Question, text: str) -> tuple[str, str] | None:
        """(choice id, the keyword or label it is closest to), or None when no choice is clearly closest."""
        phrases = tuple((c.id, p) for c in question.choices for p in (c.label, *c.keywords))
        phrases += tuple(("", p) for p in self.VAGUE)
        key = (question.id, phrases)
        with self._lock:
            if key not in self._vectors:
                self._vectors[key] = self.embedder.embed([p for _, p in phrases])
            vectors = self._vectors[key]
        query = self.embedder.embed_query(text)
        best: dict[str, tuple[float, str]] = {}
        for (cid, phrase), vector in zip(phrases, vectors, strict=True):
            score = sum(a * b for a, b in zip(query, vector, strict=True))
            if score > best.get(cid, (-2.0, ""))[0]:
                best[cid] = (score, phrase)
        ranked = sorted(best.items(), key=lambda kv: kv[1][0], reverse=True)
        (first, (score, phrase)), runner_up = ranked[0], ranked[1][1][0]
        if not first or score < self.MIN_SIMILARITY or score - runner_up < self.MIN_MARGIN:
            return None
        return first, phrase


# ---------------------------------------------------------------- the session


def relevant(question: Question, answers: Mapping[str, Given]) -> bool:
    """Whether the question applies, given the answers so far (its `when` holds)."""
    return all(qid in answers and answers[qid].choice in accepted for qid, accepted in question.when)


class Session:
    """One person's assessment in progress: asks only what is still unknown, in the table's order.

    Platforms keep it between turns as `to_dict()` (a Slack modal's private_metadata, a Teams card's
    data) and rebuild it with `Session.from_dict`.
    """

    def __init__(
        self,
        table: DecisionTable,
        *,
        idea: str = "",
        answers: Mapping[str, Given] | None = None,
        meaning: Meaning | None = None,
    ) -> None:
        self.table = table
        self.idea = idea
        self.answers: dict[str, Given] = dict(answers or {})
        self.skipped: set[str] = set()
        self.meaning = meaning

    @classmethod
    def start(cls, table: DecisionTable, idea: str = "", *, meaning: Meaning | None = None) -> Session:
        """A session with what the idea's words answer already filled in."""
        answers = infer(table, idea, meaning=meaning) if idea.strip() else {}
        return cls(table, idea=idea, answers=answers, meaning=meaning)

    def pending(self) -> list[Question]:
        """The questions still to ask now, in order (a question whose `when` is unknown waits for it)."""
        known = dict(self.answers)
        for q in self.table.questions:  # a skipped question counts as its default, as in the result
            if q.id in self.skipped and q.default and q.id not in known:
                known[q.id] = Given(q.id, q.default, "assumed")
        return [
            q
            for q in self.table.questions
            if (q.id not in self.answers or self.suggested(q.id)) and q.id not in self.skipped and relevant(q, known)
        ]

    def suggested(self, question_id: str) -> str:
        """The choice meaning suggests for a question, still to be confirmed (a platform pre-selects it), or ''."""
        given = self.answers.get(question_id)
        return given.choice if given is not None and given.meaning and given.how == "inferred" else ""

    def next_question(self) -> Question | None:
        """The next question to ask, or None when everything that applies is answered or skipped."""
        pending = self.pending()
        return pending[0] if pending else None

    def answer(self, question_id: str, reply: str) -> Given:
        """Record a reply: a choice's number, id or label, or free text; AnswerError when it matches none.

        Free text also fills in other questions its words answer, when nobody has answered them yet.
        """
        q = self._question(question_id)
        reply = " ".join(reply.split())
        choice = _choice_named(q, reply)
        if choice:
            given = Given(q.id, choice, "chosen")
        else:
            found = infer(self.table, reply, only=q.id, meaning=self.meaning).get(q.id)
            if found is None:
                raise AnswerError(
                    f"Not sure which answer {visible(reply[:80])!r} means for: {q.ask} Reply with a number from 1 "
                    f"to {len(q.choices)}, or one of: {', '.join(c.id for c in q.choices)}; or skip the question."
                )
            given = Given(q.id, found.choice, "chosen", found.evidence, found.meaning)
            for qid, other in infer(self.table, reply).items():
                if qid != q.id and qid not in self.answers:
                    self.answers[qid] = other
        self.answers[q.id] = given
        self.skipped.discard(q.id)
        return given

    def skip(self, question_id: str) -> None:
        """Leave a question unanswered: a suggestion or its default is assumed, or it is listed as open."""
        self.skipped.add(self._question(question_id).id)

    def to_dict(self) -> dict[str, Any]:
        """The session as plain JSON data."""
        return {
            "idea": self.idea,
            "answers": [[g.question, g.choice, g.how, g.evidence, g.meaning] for g in self.answers.values()],
            "skipped": sorted(self.skipped),
        }

    @classmethod
    def from_dict(cls, table: DecisionTable, data: Mapping[str, Any], *, meaning: Meaning | None = None) -> Session:
        """Rebuild a session; answers to questions or choices the table no longer has are dropped."""
        session = cls(table, idea=str(data.get("idea") or ""), meaning=meaning)
        for row in data.get("answers") or []:
            qid, cid, how, evidence, by_meaning = [*row, "", "", "chosen", "", False][:5]
            q = table.question(str(qid))
            if q and q.choice(str(cid)) and how in ("chosen", "inferred", "assumed"):
                session.answers[q.id] = Given(q.id, str(cid), how, str(evidence), by_meaning is True)
        session.skipped = {str(s) for s in data.get("skipped") or [] if table.question(str(s))}
        return session

    def _question(self, question_id: str) -> Question:
        q = self.table.question(question_id)
        if q is None:
            known = ", ".join(x.id for x in self.table.questions)
            raise AnswerError(f"There is no question {visible(question_id)!r}: use one of {known}")
        return q


def _choice_named(q: Question, reply: str) -> str:
    """The choice a reply names by number, id or label, or ''."""
    if reply.isdigit() and 1 <= int(reply) <= len(q.choices):
        return q.choices[int(reply) - 1].id
    wanted = reply.casefold()
    for c in q.choices:
        if wanted in (c.id.casefold(), c.label.casefold()):
            return c.id
    return ""


# ---------------------------------------------------------------- the decision (pure)


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


# ---------------------------------------------------------------- the result, with citations


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


class TableFile:
    """The editors' decision table, re-read when it changes; a broken edit keeps the last good table."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._stamp: tuple[int, int] | None = None
        self._table: DecisionTable | None = None
        self._lock = threading.Lock()

    def current(self) -> DecisionTable:
        """The table; TableError (saying what to fix) when there has never been a good one."""
        try:
            stat = self.path.stat()
        except OSError:
            raise TableError(
                f"No decision table at {self.path}: restore knowledge/{FILE_NAME} (see knowledge/README.md) or set "
                "ADOPTBOT_KNOWLEDGE_DIR to the knowledge folder that has it."
            ) from None
        stamp = (stat.st_mtime_ns, stat.st_size)
        with self._lock:
            if stamp != self._stamp:
                self._stamp = stamp
                try:
                    self._table = load_table(self.path)
                except TableError as e:
                    if self._table is None:
                        raise
                    log.warning("%s; keeping the previous decision table until it is fixed.", e)
            assert self._table is not None
            return self._table


def load_table(path: Path) -> DecisionTable:
    """The decision table in path; TableError naming the file and the first problem."""
    try:
        if path.stat().st_size > MAX_BYTES:
            raise BadFile(f"it is larger than {MAX_BYTES:,} bytes: keep the table short")
        return parse_table(path.read_text(encoding="utf-8-sig"))
    except BadFile as e:
        raise TableError(f"{path}: {e}") from None
    except (OSError, UnicodeDecodeError) as e:
        raise TableError(f"{path} cannot be read ({e}): make it a readable UTF-8 file") from None
