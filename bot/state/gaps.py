"""Where the guidance could grow: questions it declined, asked back about, or answered unhelpfully, grouped.

Each group of similar questions comes with the knowledge base's section it most resembles: close enough,
its questions are candidates for that section's `questions:` (the section answers them, but retrieval did
not find it); otherwise they are a missing topic for the editors to write. `adoptbot kb suggest` prints
them, the insight report shows them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from kb.embedding import Embedder

# Grouping every distinct question costs one embedding each and a square similarity matrix, so only the
# most-asked distinct ones are grouped; the report says how many were left out.
MAX_GROUPED = 1000
SIMILARITY = 0.6  # a question joins a group when its cosine similarity to the group's first is at least this
# A group's first question at least this similar (cosine) to a section is one that section could answer.
NEAR = 0.45
REASONS = ("declined", "clarified", "not helpful")


@dataclass
class Gap:
    """A group of similar declined questions: how often they were asked, and examples, most asked first."""

    asked: int
    examples: list[tuple[str, int]]


@dataclass(frozen=True)
class Nearest:
    """The section a question most resembles, and how much."""

    source: str
    title: str
    section: str
    similarity: float


@dataclass
class Suggestion:
    """Similar questions, most asked first, why each was a gap, and the section they most resemble."""

    asked: int
    examples: list[tuple[str, int]]
    reasons: Counter[str] = field(default_factory=Counter)
    nearest: Nearest | None = None

    @property
    def kind(self) -> Literal["questions", "missing"]:
        """Candidate `questions:` for the nearest section, or a topic the guidance is missing."""
        return "questions" if self.nearest is not None and self.nearest.similarity >= NEAR else "missing"


def group_similar(questions: Sequence[tuple[str, int]], *, embedder: Embedder) -> list[Gap]:
    """Greedy grouping, most asked first: each ungrouped question gathers the ungrouped ones similar to it."""
    if not questions:
        return []
    vectors = np.asarray(embedder.embed([q for q, _ in questions]), dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    vectors = vectors / np.where(norms == 0, 1.0, norms)
    similar = vectors @ vectors.T >= SIMILARITY
    free = np.ones(len(questions), dtype=bool)
    gaps = []
    for i in range(len(questions)):  # questions come most asked first, so each group is led by its most asked
        if not free[i]:
            continue
        members = np.flatnonzero(similar[i] & free)
        free[members] = False
        examples = [questions[j] for j in members]
        gaps.append(Gap(asked=sum(n for _, n in examples), examples=examples))
    gaps.sort(key=lambda g: -g.asked)  # stable: equal groups keep the order of their most asked question
    return gaps


def reason(record: dict[str, Any]) -> str:
    """Why an audit record is a gap ("" when it is not): declined, asked back about, or voted not helpful."""
    if record["status"] == "no_answer":
        return "declined"
    if record["status"] == "clarify":
        return "clarified"
    if record.get("not_helpful"):
        return "not helpful"
    return ""


def suggestions(
    records: Iterable[dict[str, Any]], *, embedder: Embedder, nearest: Callable[[str], Nearest | None]
) -> list[Suggestion]:
    """The gaps in audit records (FeedbackStore.audit rows), largest group first, each with its nearest section."""
    asked: Counter[str] = Counter()
    why: dict[str, Counter[str]] = {}
    shown: dict[str, str] = {}  # normalised question -> how it was first written
    for record in records:
        if not (because := reason(record)):
            continue
        key = " ".join(record["question"].lower().split())
        if not key:
            continue
        asked[key] += 1
        why.setdefault(key, Counter())[because] += 1
        shown.setdefault(key, record["question"].strip())
    most_asked = asked.most_common(MAX_GROUPED)
    by_text = {shown[k]: k for k, _ in most_asked}
    found = []
    for gap in group_similar([(shown[k], n) for k, n in most_asked], embedder=embedder):
        reasons: Counter[str] = Counter()
        for question, _ in gap.examples:
            reasons.update(why[by_text[question]])
        found.append(Suggestion(gap.asked, gap.examples, reasons, nearest(gap.examples[0][0])))
    return found


def as_json(found: list[Suggestion]) -> list[dict[str, Any]]:
    """The suggestions as plain data (`adoptbot kb suggest --json`)."""
    return [
        {
            "asked": s.asked,
            "questions": [{"question": q, "asked": n} for q, n in s.examples],
            "reasons": dict(s.reasons),
            "suggestion": s.kind,
            "nearest": _nearest_json(s.nearest),
        }
        for s in found
    ]


def _nearest_json(nearest: Nearest | None) -> dict[str, Any] | None:
    if nearest is None:
        return None
    return {
        "source": nearest.source,
        "title": nearest.title,
        "section": nearest.section,
        "similarity": round(nearest.similarity, 3),
    }


def as_text(found: list[Suggestion], *, limit: int = 25) -> str:
    """The suggestions for an editor's terminal: what to add where, most asked first."""
    if not found:
        return "No declined, clarified or unhelpful questions in this period: nothing to suggest."
    lines = []
    for n, s in enumerate(found[:limit], start=1):
        why = ", ".join(f"{s.reasons[r]} {r}" for r in REASONS if s.reasons[r])
        lines.append(f"{n}. Asked {s.asked}x ({why}):")
        lines += [f"     - {q}" + (f" ({k}x)" if k > 1 else "") for q, k in s.examples[:5]]
        if s.kind == "questions" and s.nearest is not None:
            lines.append(
                f"   -> add to the `questions:` of {s.nearest.source}, section {s.nearest.section!r} "
                f"(similarity {s.nearest.similarity:.2f}), if that section answers them"
            )
        else:
            near = ""
            if s.nearest is not None:
                near = f" (nearest: {s.nearest.source}, {s.nearest.section!r}, {s.nearest.similarity:.2f})"
            lines.append(f"   -> a missing topic: write guidance for it, or tell people where to ask{near}")
    if len(found) > limit:
        lines.append(f"... and {len(found) - limit} smaller groups (use --json for all).")
    return "\n".join(lines)
