"""answer(question) -> Answer: clean, retrieve, decide, generate, cite."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass

from bot.answerers import Answerer, Prompt
from bot.errors import BackendError, BackendUnavailable, ConfigError, EmptyQuestion
from bot.lexical import coverage, terms
from bot.retrieval import Retrieval, Retriever
from bot.text import clean_question
from bot.types import Answer, Citation, Passage, Question

log = logging.getLogger(__name__)
APOLOGY = "Sorry, something went wrong while answering. Please try again in a minute."
FOLLOW_UP_TERMS = 4  # a question this short leans on the previous one
_MARKER = re.compile(r"\[(\d+)\]")


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
    ) -> None:
        self.retriever = retriever
        self.answerers = dict(answerers)
        self.backend = backend
        self.gate = gate or Gate()
        self.max_question_chars = max_question_chars
        self.escalation_contact = escalation_contact

    def answer(self, question: Question, *, backend: str | None = None) -> Answer:
        """Answer from the knowledge base only, or say it does not cover the question."""
        started = time.perf_counter()
        text, notes = clean_question(question.text, limit=self.max_question_chars)
        if not text:
            raise EmptyQuestion("Ask a question, for example: `What is on the pre-deployment checklist?`")
        query = self._retrieval_query(text, question)
        retrieval = self.retriever.retrieve(query)
        retrieved = time.perf_counter()
        if not self.gate.admits(query, retrieval):
            answer = self._no_answer(text, retrieval.passages, notes)
        else:
            answer = self._generate(text, question, retrieval.passages, notes, backend or self.backend)
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
                raise ConfigError(f"Unknown backend {choice!r}: use auto, llm, template or openai.")
            return [choice]
        order = [n for n in ("openai", "llm") if n in self.answerers and self.answerers[n].available()]
        return [*order, "template"]

    def _retrieval_query(self, text: str, question: Question) -> str:
        earlier = [t.text for t in question.history if t.role == "user" and t.text.strip()]
        if earlier and len(terms(text)) <= FOLLOW_UP_TERMS:
            previous, _ = clean_question(earlier[-1], limit=self.max_question_chars)
            return f"{previous} {text}"
        return text

    def _generate(
        self, text: str, question: Question, passages: list[Passage], notes: list[str], choice: str
    ) -> Answer:
        prompt = Prompt(question=text, passages=passages, history=question.history)
        for name in self.backends_for(choice):
            try:
                raw = self.answerers[name].answer(prompt)
            except BackendUnavailable:
                if choice != "auto":
                    raise
                log.warning("backend %s unavailable; trying the next", name, exc_info=True)
                continue
            except BackendError as e:
                log.warning("backend %s failed (%s); falling back to the template", name, e)
                if name == "template":
                    raise
                raw = self.answerers["template"].answer(prompt)
                name = "template"
            return _cited(text, raw, passages, name, notes)
        raise BackendUnavailable("no answer backend is available")  # template always is

    def _no_answer(self, text: str, passages: list[Passage], notes: list[str]) -> Answer:
        topics = list(dict.fromkeys(p.title for p in passages))[:3]
        reply = "The adoptbot knowledge base does not cover that, so I won't guess."
        if topics:
            reply += " The nearest topics it does cover: " + "; ".join(topics) + "."
        if self.escalation_contact:
            reply += f" For anything else, please ask {self.escalation_contact}."
        related = tuple(Citation.of(n, p) for n, p in enumerate(passages[:3], start=1))
        return Answer(
            question=text, status="no_answer", text=reply, backend="none", related=related, notes=tuple(notes)
        )


def _cited(text: str, raw: str, passages: list[Passage], backend: str, notes: list[str]) -> Answer:
    """Renumber [n] markers by first use; used passages become sources, the rest related."""
    order: list[int] = []
    for m in _MARKER.finditer(raw):
        n = int(m.group(1))
        if 1 <= n <= len(passages) and n not in order:
            order.append(n)
    renumber = {old: new for new, old in enumerate(order, start=1)}

    def swap(m: re.Match[str]) -> str:
        n = int(m.group(1))
        return f"[{renumber[n]}]" if n in renumber else ""

    body = re.sub(r"\s+([.,;:!?])", r"\1", _MARKER.sub(swap, raw)).strip()
    sources = tuple(Citation.of(renumber[old], passages[old - 1]) for old in order)
    rest = [p for i, p in enumerate(passages, start=1) if i not in renumber]
    cited_sources = {c.source for c in sources}
    related = tuple(
        Citation.of(len(sources) + k, p)
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
