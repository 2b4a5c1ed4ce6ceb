"""The next questions an answer offers: ones editors wrote for its section and for the other sections retrieved.

They come from the index (`questions:` in front matter, stored as records of their own), never from the
answer's text. None repeats what was just asked (the same words, or an editors' question dense retrieval
found about as close as the question itself) or asked earlier in the thread. Each is offered only when the
knowledge base answers it from its own section: `lands` decides that as the engine would answer it, with the
embedding ingest stored for the question (no embedding is computed for a suggestion), once per index
generation.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable, Iterator, Sequence
from typing import Protocol

from bot.answering.lexical import terms
from bot.answering.retrieval import Retrieval
from bot.answering.snapshot import EditorQuestion
from bot.types import Choice, Citation, Passage

NEAR_DUPLICATE = 0.9  # cosine similarity of the query to an editors' question at which both ask the same
SAME_WORDS = 0.8  # share of two questions' content words they have in common at which they ask the same
LABEL_CHARS = 75  # Slack shows at most this much of a button's text


class Questions(Protocol):
    """What suggestions read of one index version (bot.answering.retrieval.Snapshot)."""

    def questions_of(self, passage: Passage) -> list[EditorQuestion]: ...

    def section_of(self, passage: Passage) -> tuple[str, str]: ...


class Suggester:
    """Picks up to `count` next questions for an answer, at most one per section until every section gave one."""

    def __init__(
        self,
        *,
        count: int = 3,
        near: float = NEAR_DUPLICATE,
        max_checks: int = 8,
    ) -> None:
        self.count = count
        self.near = near
        self.max_checks = max_checks  # questions not checked before that one answer may check
        self._lands: dict[str, bool] = {}  # question record -> whether it is answered from its own section
        self._generation: Hashable = None
        self._lock = threading.Lock()

    def pick(
        self,
        *,
        asked: Sequence[str],
        sources: Sequence[Citation],
        retrieval: Retrieval,
        index: Questions,
        lands: Callable[[EditorQuestion], bool],
        generation: Hashable,
    ) -> tuple[Choice, ...]:
        """The suggestions for an answer citing `sources` from `retrieval`.

        Two from the answered section (unless it was given whole: a checklist), then one from each other
        retrieved section, then the rest in turn. `asked`: what the thread asked, the question just answered first;
        `generation`: what a check's verdict holds for (the index version and the asker's scope).
        """
        sections = self._sections(sources, retrieval, index)
        if retrieval.whole_checklist and sections:
            sections[0] = []  # asking about the checklist again would give the same checklist
        budget = [self.max_checks]  # checks of questions not checked before, for this answer
        earlier = [(text, set(terms(text))) for text in asked]

        def offered(question: EditorQuestion) -> bool:
            if self._repeats(question, earlier, retrieval):
                return False
            verdict = self._verdict(question, generation)
            if verdict is None and budget[0] > 0:
                budget[0] -= 1
                verdict = self._remember(question, generation, lands(question))
            return bool(verdict)

        pending = [(q for q in section if offered(q)) for section in sections]
        picked: list[Choice] = []
        for n in _turns(len(pending)):
            if len(picked) == self.count or not any(pending):
                break
            question = next(pending[n], None) if pending[n] is not None else None
            if question is None:
                pending[n] = None
            elif question.text not in (c.question for c in picked):
                picked.append(Choice(_cut(question.text, LABEL_CHARS), question.text))
        return tuple(picked)

    def _sections(
        self, sources: Sequence[Citation], retrieval: Retrieval, index: Questions
    ) -> list[list[EditorQuestion]]:
        """Each retrieved section's questions: the cited ones in citation order, then the others by rank."""
        cited = [(c.source, c.section) for c in sources]
        order = sorted(
            retrieval.passages,
            key=lambda p: cited.index((p.source, p.section)) if (p.source, p.section) in cited else len(cited),
        )  # a stable sort: the others keep their rank
        seen: set[tuple[str, str]] = set()
        out: list[list[EditorQuestion]] = []
        for passage in order:
            section = index.section_of(passage)
            if section not in seen:
                seen.add(section)
                out.append(index.questions_of(passage))
        return out

    def _repeats(self, question: EditorQuestion, earlier: Sequence[tuple[str, set[str]]], retrieval: Retrieval) -> bool:
        """Whether question asks what was just asked, or what the thread asked before (each with its terms)."""
        if retrieval.asked.get(question.id, 0.0) >= self.near:
            return True
        own = set(terms(question.text))
        return any(_same(question.text, own, text, words) for text, words in earlier)

    def _verdict(self, question: EditorQuestion, generation: Hashable) -> bool | None:
        with self._lock:
            if generation != self._generation:
                self._lands, self._generation = {}, generation
            return self._lands.get(question.id)

    def _remember(self, question: EditorQuestion, generation: Hashable, verdict: bool) -> bool:
        with self._lock:
            if generation == self._generation:
                self._lands[question.id] = verdict
        return verdict


def _same(a: str, ta: set[str], b: str, tb: set[str]) -> bool:
    """Whether two questions (with their terms) share nearly all their content words ("What is a VAE?",
    "what's a VAE")."""
    if not ta or not tb:
        return a.strip().casefold() == b.strip().casefold()
    return len(ta & tb) / len(ta | tb) >= SAME_WORDS


def _turns(sections: int) -> Iterator[int]:
    """Which section offers the next suggestion: the answered one twice, each other one, then all in turn."""
    if sections:
        yield from (0, *range(sections))
        while True:
            yield from range(sections)


def _cut(text: str, limit: int) -> str:
    """text, or as much of its words as fits in limit characters with an ellipsis."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    return (cut.rsplit(" ", 1)[0] if " " in cut else cut).rstrip(" ,;:") + "…"
