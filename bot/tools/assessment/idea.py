"""Reading an idea: the answers a free-text description gives, by keyword or by meaning, each with its words."""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

from bot.answering.lexical import stems
from common.text import visible
from kb.decisions import DecisionTable, Question
from kb.embedding import Embedder

How = Literal["chosen", "inferred", "assumed"]
_TOKEN = re.compile(r"[a-z0-9]+", re.IGNORECASE)  # the characters bot.answering.lexical reads words from


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
