"""answer(question) -> Answer: clean, retrieve, decide, generate, cite."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace

from bot.answering.answerers import Answerer, Prompt
from bot.answering.conversation import Reading, read, smalltalk_reply
from bot.answering.knowable import beyond_guidance
from bot.answering.language import NOTES, detect
from bot.answering.lexical import coverage
from bot.answering.retrieval import Retrieval, Retriever
from bot.answering.snapshot import EditorQuestion, Snapshot
from bot.answering.suggestions import Suggester
from bot.answering.vocabulary import Expansions
from bot.audiences import Audiences, Scope
from bot.state.redaction import redact
from bot.types import REVIEW_AFTER_DAYS, Answer, Choice, Citation, Passage, Question
from common.errors import BackendError, BackendUnavailable, ConfigError, EmptyQuestion
from common.text import clean_question

log = logging.getLogger(__name__)
APOLOGY = "Sorry, something went wrong while answering. Please try again in a minute."
OWN_COVERAGE = 0.5  # "and what about X?": X's own words must be in the passages
_MARKER = re.compile(r"\[(\d+)\]")
_DECLINES = {  # by what bot.answering.knowable found the guidance cannot know ("" when the gate declined)
    "": "The adoptbot knowledge base does not cover that, so I won't guess.",
    "named": (
        "The adoptbot knowledge base does not cover {named}: it holds general guidance on adopting AI, "
        "not the details of particular products, laws or services, so I won't guess."
    ),
    "company": (
        "The adoptbot knowledge base does not cover our own facts (who decided or owns what, dates, budgets, "
        "licences, project status): it holds general guidance on adopting AI, so I won't guess."
    ),
    "history": (
        "The adoptbot knowledge base does not cover who made what or when: it holds general guidance on "
        "adopting AI, so I won't guess."
    ),
}
CLARIFY = "That could be about more than one topic in the guidance. Which one do you mean?"
LABEL_CHARS = 75  # Slack shows at most this much of a button's text
_GENERIC_SECTION = re.compile(r"(?:overview|checklist|items?\b.*)", re.IGNORECASE)  # says nothing without its title
_LIST_ASK = re.compile(
    r"\b(?:list|lists|steps|items|stages|check\s?lists?|all the|every|use cases|examples"
    r"|(?:two|three|four|five|six|seven|main|different)[ -]"
    r"(?:types?|kinds?|steps?|stages?|families|risks|practices))\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Gate:
    """Decides whether the retrieved passages cover the question (calibrated on the eval set)."""

    min_similarity: float = 0.30
    min_similarity_with_terms: float = 0.15
    min_term_coverage: float = 0.75

    def admits(self, query: str, retrieval: Retrieval) -> bool:
        """Semantically close, or somewhat close with the question's own terms in the passages."""
        if not retrieval.passages:
            return False
        if retrieval.dense_best >= self.min_similarity:
            return True
        top = " ".join(p.text + " " + p.title for p in retrieval.passages[:3])
        return retrieval.dense_best >= self.min_similarity_with_terms and coverage(query, top) >= self.min_term_coverage


@dataclass(frozen=True)
class Clarifier:
    """Decides when to ask which topic was meant: the best `topics` sections of dense search about equally close.

    Nothing stands out, so any answer would be a guess. `max_gap` (cosine similarity) was measured on the blind
    dev half (docs/benchmarks.md).
    """

    max_gap: float = 0.01
    topics: int = 3

    def candidates(self, dense: Sequence[Passage]) -> list[Passage]:
        """The best passage of each of the best `topics` sections, when all lie within max_gap of the best hit."""
        best: dict[tuple[str, str], Passage] = {}
        for passage in sorted(dense, key=lambda p: p.score, reverse=True):
            best.setdefault((passage.source, passage.section), passage)
        ranked = list(best.values())[: self.topics]
        if len(ranked) < self.topics or ranked[0].score - ranked[-1].score > self.max_gap:
            return []
        return ranked


class Engine:
    """The assistant's core: platforms hand it a Question and render the Answer it returns."""

    def __init__(
        self,
        *,
        retriever: Retriever,
        answerers: Mapping[str, Answerer],
        backend: str = "auto",
        gate: Gate | None = None,
        max_question_chars: int = 2000,
        escalation_contact: str = "",
        expansions: Callable[[], Expansions] = Expansions,
        auto: Sequence[str] = ("openai", "llm"),
        auto_reason: str = "",
        review_after_days: int = REVIEW_AFTER_DAYS,
        audiences: Audiences | None = None,
        clarifier: Clarifier | None = Clarifier(),  # frozen: one shared default is safe
        suggester: Suggester | None = None,  # next questions for answers; needs a Retriever over a real index
    ) -> None:
        self.retriever = retriever
        self.answerers = dict(answerers)
        self.backend = backend
        self.gate = gate or Gate()
        self.max_question_chars = max_question_chars
        self.escalation_contact = escalation_contact
        self.expansions = expansions
        self.auto = tuple(auto)
        self.auto_reason = auto_reason
        self.review_after_days = review_after_days
        self.audiences = audiences or Audiences()
        self.clarifier = clarifier
        self.suggester = suggester

    def answer(
        self, question: Question, *, backend: str | None = None, on_text: Callable[[str], None] | None = None
    ) -> Answer:
        """Answer from the knowledge base only, or say it does not cover the question.

        With on_text, a backend that writes incrementally hands over the answer's text as it grows
        (cited and renumbered like the final Answer's); the others call nothing and answer at once.
        """
        started = time.perf_counter()
        text, notes = clean_question(question.text, limit=self.max_question_chars)
        if not text:
            raise EmptyQuestion("Ask a question, for example: `What is on the pre-deployment checklist?`")
        language = detect(text)
        if language != "en":  # answered from the English guidance like any question, and said so
            notes.append(NOTES[language])
        scope = self.audiences.scope(question.place)
        subject = lambda said: self._subject(said, scope)  # noqa: E731  (looked up only for a follow-up)
        reading = read(text, question.history, topic_terms=self.retriever.topic_terms, subject=subject)
        if reading.kind == "smalltalk" and reading.smalltalk:
            reply = smalltalk_reply(reading.smalltalk)
            answer = Answer(question=text, status="smalltalk", text=reply, backend="none", notes=tuple(notes))
            retrieved = time.perf_counter()
        else:
            expansions = self.expansions()
            # Only passages the question's place may see: the gate, the answer and the topics named all read these.
            query = expansions.expand(reading.query)
            retrieval = self.retriever.retrieve(query, scope=scope)
            if reading.own:  # "and what about VAEs?": the VAE passages before the GAN ones
                about = sorted(retrieval.passages, key=lambda p: coverage(reading.own, _words(p)) < OWN_COVERAGE)
                retrieval = replace(retrieval, passages=about)
            retrieved = time.perf_counter()
            # Personal data is not a name the guidance should know: "my id is U02ABCDEF12" is still a question.
            beyond = beyond_guidance(redact(text).text, self.retriever.vocabulary(), language=language)
            if beyond or not self._covers(reading, retrieval):
                answer = self._no_answer(text, retrieval.passages, notes, beyond)
            elif topics := self._ambiguous(text, reading, retrieval):
                answer = self._clarify(text, topics, notes)
            else:
                keywords = expansions.added(reading.focus)
                answer = self._generate(
                    text, reading, question, retrieval, keywords, notes, backend or self.backend, on_text
                )
                if answer.answered and self.suggester is not None:
                    answer = replace(answer, suggestions=self._suggest(answer, reading, question, retrieval, scope))
        done = time.perf_counter()
        answer.timings_ms.update(
            retrieve=round((retrieved - started) * 1000, 1),
            generate=round((done - retrieved) * 1000, 1),
            total=round((done - started) * 1000, 1),
        )
        return answer

    def backends_for(self, choice: str) -> list[str]:
        """Backends to try in order: auto prefers a configured server, then the local LLM."""
        if choice != "auto":
            if choice not in self.answerers:
                raise ConfigError(
                    f"Unknown backend {choice!r}: use auto or one of {', '.join(sorted(self.answerers))}."
                )
            return [choice]
        order = [n for n in self.auto if n in self.answerers and self.answerers[n].available()]
        return [*order, "template"]

    def describe_backend(self) -> str:
        """Which backend answers, and why: for `status` on every platform."""
        if self.backend != "auto":
            return f"{self.backend} (set by ADOPTBOT_BACKEND)"
        first = self.backends_for("auto")[0]
        reason = self.auto_reason or "the first available of " + ", ".join(self.auto)
        if self.auto and first == "template":
            reason += f"; {self.auto[0]} is not available, so the template answers"
        return f"{first} (auto: {reason})"

    def _subject(self, said: str, scope: Scope) -> str:
        """What an earlier answer was about: the name of the section it was drawn from."""
        passage = self.retriever.drawn_from(said, scope=scope) if said.strip() else None
        if passage is None or passage.kind == "checklist":  # a checklist's follow-ups pick up its items instead
            return ""
        return _label(passage)

    def _covers(self, reading: Reading, retrieval: Retrieval) -> bool:
        """The gate, on the question as read; the new subject of "and what about X?" must be covered itself."""
        if not self.gate.admits(reading.query, retrieval):
            return False
        if reading.own:  # one passage must hold its words: scattered common words do not count
            own = f"{reading.own} {self.expansions().added(reading.own)}"  # "bigger": "larger" will do
            return max(coverage(own, _words(p)) for p in retrieval.passages[:3]) >= OWN_COVERAGE
        return True

    def _ambiguous(self, text: str, reading: Reading, retrieval: Retrieval) -> list[Passage]:
        """The topics to ask between, when the question fits two or more about equally well; else none.

        Not when it already names one of them (a choice asked, "GANs or diffusion?"), has its own subject
        ("and what about X?") or asks for a checklist.
        """
        if self.clarifier is None or reading.own or retrieval.whole_checklist:
            return []
        topics = self.clarifier.candidates(retrieval.by_similarity)
        if any(coverage(_label(p), text) == 1.0 for p in topics):
            return []
        return topics

    def _clarify(self, text: str, topics: list[Passage], notes: list[str]) -> Answer:
        """A short question, and each topic as a choice that asks the question again about it."""
        labels = [_label(p) for p in topics]
        if len(set(labels)) < len(labels):  # two documents' sections of the same name: their titles tell them apart
            labels = [_cut(p.title, LABEL_CHARS) for p in topics]
        asked = text.rstrip()
        choices = tuple(Choice(label, f"{_cut(asked, 1900)} ({label})") for label in labels)
        related = tuple(
            Citation.of(n, p, review_after_days=self.review_after_days) for n, p in enumerate(topics, start=1)
        )
        return Answer(
            question=text, status="clarify", text=CLARIFY, backend="none", related=related, notes=tuple(notes),
            choices=choices,
        )  # fmt: skip

    def _suggest(
        self, answer: Answer, reading: Reading, question: Question, retrieval: Retrieval, scope: Scope
    ) -> tuple[Choice, ...]:
        """Questions editors wrote that the answer could be followed by (bot.answering.suggestions)."""
        assert self.suggester is not None
        asked = [answer.question, reading.query, *(t.text for t in question.history if t.role == "user")]
        index = self.retriever.snapshot()  # one index version for every question offered
        return self.suggester.pick(
            asked=asked, sources=answer.sources, retrieval=retrieval, index=index,
            lands=lambda q: self._lands(q, index, scope), generation=(index.version, scope),
        )  # fmt: skip

    def _lands(self, asked: EditorQuestion, index: Snapshot, scope: Scope) -> bool:
        """Whether an editors' question asked on its own is answered from its own section.

        answer()'s decisions up to generating, with the embedding ingest stored for the question.
        """
        vector = index.vector_of(asked)
        reading = read(asked.text, topic_terms=self.retriever.topic_terms)
        if vector is None or reading.kind == "smalltalk":
            return False
        retrieval = self.retriever.retrieve(self.expansions().expand(reading.query), scope=scope, vector=vector)
        if beyond_guidance(asked.text, self.retriever.vocabulary()) or not self._covers(reading, retrieval):
            return False
        if self._ambiguous(asked.text, reading, retrieval):
            return False
        return index.section_of(retrieval.passages[0]) == (asked.source, asked.section)

    def _generate(
        self,
        text: str,
        reading: Reading,
        question: Question,
        retrieval: Retrieval,
        keywords: str,
        notes: list[str],
        choice: str,
        on_text: Callable[[str], None] | None = None,
    ) -> Answer:
        passages = retrieval.passages
        prompt = Prompt(
            question=reading.focus,
            passages=passages,
            history=question.history,
            whole_list=retrieval.whole_checklist or bool(_LIST_ASK.search(reading.focus)),
            keywords=keywords,
            emphasis=reading.own or reading.asks,
        )
        for name in self.backends_for(choice):
            answerer = self.answerers[name]
            streamed = _Streamed(len(passages), on_text)
            try:
                raw = streamed.run(answerer, prompt) if on_text and answerer.streams else answerer.answer(prompt)
            except BackendUnavailable:
                if choice != "auto":
                    raise
                log.warning("backend %s unavailable; trying the next", name, exc_info=True)
                continue
            except BackendError as e:
                if streamed.raw:  # the reader has seen part of it: finish with what was written
                    log.warning("backend %s failed after writing part of the answer (%s)", name, e)
                    raw = streamed.raw
                else:
                    log.warning("backend %s failed (%s); falling back to the template", name, e)
                    if name == "template":
                        raise
                    raw = self.answerers["template"].answer(prompt)
                    name = "template"
            return _cited(text, raw, passages, name, notes, review_after_days=self.review_after_days)
        raise BackendUnavailable("no answer backend is available")  # template always is

    def _no_answer(self, text: str, passages: list[Passage], notes: list[str], beyond: str = "") -> Answer:
        topics = list(dict.fromkeys(p.title for p in passages))[:3]
        kind, _, named = beyond.partition(": ")
        reply = _DECLINES[kind].format(named=named)
        if topics:
            reply += " The nearest topics it does cover: " + "; ".join(topics) + "."
        # Who to ask: the configured contact, else the team that owns the nearest guidance (its metadata).
        owner = next((p.owner for p in passages if p.owner), "")
        contact = self.escalation_contact or (f"{owner}, who owns that guidance" if owner else "")
        if contact:
            ask = "Please ask" if beyond else "For anything else, please ask"  # what it cannot know: who can
            reply += f" {ask} {contact}."
        related = tuple(
            Citation.of(n, p, review_after_days=self.review_after_days) for n, p in enumerate(passages[:3], start=1)
        )
        return Answer(
            question=text, status="no_answer", text=reply, backend="none", related=related, notes=tuple(notes)
        )


def _label(passage: Passage) -> str:
    """A topic's name on a button: its section's heading, or its document's title for "Overview" and the like."""
    name = passage.title if _GENERIC_SECTION.fullmatch(passage.section.strip()) else passage.section
    return _cut(name.strip() or passage.title, LABEL_CHARS)


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _words(passage: Passage) -> str:
    return f"{passage.title} {passage.section} {passage.text}"


def _renumbered(raw: str, passages: int) -> tuple[str, list[int]]:
    """raw with [n] markers renumbered by first use (unknown ones dropped), and the passages in that order."""
    order: list[int] = []
    for m in _MARKER.finditer(raw):
        n = int(m.group(1))
        if 1 <= n <= passages and n not in order:
            order.append(n)
    renumber = {old: new for new, old in enumerate(order, start=1)}

    def swap(m: re.Match[str]) -> str:
        n = int(m.group(1))
        return f"[{renumber[n]}]" if n in renumber else ""

    return re.sub(r"\s+([.,;:!?])", r"\1", _MARKER.sub(swap, raw)).strip(), order


class _Streamed:
    """Runs a streaming backend, handing on_text each new piece of the answer as it will finally read."""

    def __init__(self, passages: int, on_text: Callable[[str], None] | None) -> None:
        self.passages = passages
        self.on_text = on_text
        self.raw = ""
        self.shown = ""

    def run(self, answerer: Answerer, prompt: Prompt) -> str:
        for piece in answerer.stream(prompt):
            self.raw += piece
            body, _ = _renumbered(self.raw, self.passages)
            if body.startswith(self.shown) and len(body) > len(self.shown) and self.on_text:
                # The space between sentences is shown with the next one, so the pieces join up exactly.
                self.on_text(body[len(self.shown) :])
                self.shown = body
        return self.raw


def _cited(
    text: str, raw: str, passages: list[Passage], backend: str, notes: list[str], *, review_after_days: int
) -> Answer:
    """Renumber [n] markers by first use; used passages become sources, the rest related."""
    body, order = _renumbered(raw, len(passages))
    renumber = {old: new for new, old in enumerate(order, start=1)}
    sources = tuple(Citation.of(renumber[old], passages[old - 1], review_after_days=review_after_days) for old in order)
    rest = [p for i, p in enumerate(passages, start=1) if i not in renumber]
    cited_sources = {c.source for c in sources}
    related = tuple(
        Citation.of(len(sources) + k, p, review_after_days=review_after_days)
        for k, p in enumerate((p for p in rest if p.source not in cited_sources), start=1)
    )[:3]
    return Answer(
        question=text,
        status="answered",
        text=body,
        backend=backend,
        sources=sources,
        related=related,
        notes=tuple(notes),
    )
