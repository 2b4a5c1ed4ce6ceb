"""One index generation in memory: its passages by id, checklists, sections, questions and BM25 index.

Loaded from the generation's live records (kb.records: the copy its ingest saved, else read from Chroma)
whenever a new generation is published. A Passage is built from its record the first time it is asked
for: most of a large index is never retrieved between two reindexes, and building every one up front was
most of a replica's start-up at 100,000 chunks (docs/benchmarks.md). What is read of every passage
(sections, checklists, audiences; the topic terms and words, which only answering reads, when first
asked for) is read from the records' columns instead.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from bot.answering.lexical import terms, words
from bot.audiences import Scope, labels, visible
from bot.types import Passage
from kb.bm25 import BM25Index
from kb.records import QUESTION, Records


@dataclass(frozen=True)
class EditorQuestion:
    """A question editors wrote for a section (`questions:` in front matter), indexed as a record of its own."""

    id: str
    text: str
    source: str
    section: str


class Passages(Mapping[str, Passage]):
    """A generation's passages by id (question records are not passages), each built when first asked for."""

    def __init__(self, records: Records, rows: dict[str, int]) -> None:
        self.records = records
        self.rows = rows  # passage id -> its row in records
        self._built: dict[str, Passage] = {}
        self._audiences: dict[str, frozenset[str]] = {}  # audience field as stored -> labels: a few distinct values

    def __getitem__(self, chunk_id: str) -> Passage:
        passage = self._built.get(chunk_id)
        if passage is None:  # two threads may both build it: equal passages, either one kept
            passage = self._built[chunk_id] = self._passage(self.rows[chunk_id])
        return passage

    def __contains__(self, chunk_id: object) -> bool:
        return chunk_id in self.rows

    def __iter__(self) -> Iterator[str]:
        return iter(self.rows)

    def __len__(self) -> int:
        return len(self.rows)

    def column(self, name: str) -> Iterator[Any]:
        """One field of every passage, in order, without building them: "text" or a field of kb.records.FIELDS."""
        values = self.records.texts if name == "text" else self.records.fields[name]
        return (values[row] for row in self.rows.values())

    def audience_of(self, stored: str) -> frozenset[str]:
        """The audiences a passage is marked for, from its stored field."""
        found = self._audiences.get(stored)
        if found is None:
            found = self._audiences[stored] = labels(stored or "")
        return found

    def _passage(self, row: int) -> Passage:
        f = self.records.fields
        return Passage(
            id=self.records.ids[row],
            text=self.records.texts[row],
            source=f["source"][row],
            title=f["title"][row],
            section=f["section"][row],
            score=0.0,
            url=f["url"][row],
            last_reviewed=f["last_reviewed"][row],
            owner=f["owner"][row],
            kind=f["kind"][row],
            checklist_id=f["checklist_id"][row],
            ordinal=int(f["ordinal"][row]),
            audience=self.audience_of(f["audience"][row]),
        )


@dataclass
class Snapshot:
    """One index version in memory: live passages by id, checklist members, and its BM25 index."""

    version: tuple[str, int]  # (collection name, generation)
    collection: Any
    passages: Passages
    bm25: BM25Index | None = None
    checklists: dict[str, list[str]] = field(default_factory=dict)
    audience: dict[str, frozenset[str]] = field(default_factory=dict)  # passages of documents marked for audiences
    questions: dict[str, tuple[str, str]] = field(default_factory=dict)  # question record -> (source, section)
    # (source, section) of a question record -> the section's passages, in document order
    sections: dict[tuple[str, str], list[str]] = field(default_factory=dict)
    asks: dict[tuple[str, str], list[EditorQuestion]] = field(default_factory=dict)  # a section's, as editors wrote

    @cached_property
    def topics(self) -> frozenset[str]:
        """The terms of every passage's title, section and checklist id (read when first asked, not at load).

        terms() stems word by word, so the terms of many texts are those of their distinct words: each
        distinct title, section and word is read once, however many passages share it.
        """
        named = {*self.passages.column("title"), *self.passages.column("section")}
        named |= {checklist_id.replace("-", " ") for checklist_id in set(self.passages.column("checklist_id"))}
        return frozenset(terms(" ".join(set(words(" ".join(named))))))

    @cached_property
    def words(self) -> frozenset[str]:
        """Every word of every passage, lower-cased and unstemmed (read when first asked, not at load)."""
        texts = zip(*(self.passages.column(name) for name in ("title", "section", "text")), strict=True)
        return frozenset(w.lower() for title, section, text in texts for w in words(f"{title} {section} {text}"))

    def questions_of(self, passage: Passage) -> list[EditorQuestion]:
        """The questions editors wrote for passage's section (a whole checklist's: its first passage's), in order."""
        return list(self.asks.get(self.section_of(passage), []))

    def section_of(self, passage: Passage) -> tuple[str, str]:
        """(source, section) of a passage as indexed (a checklist returned whole: its first passage's)."""
        own = self.passages.get(passage.id, passage)  # a checklist returned whole is cited as "Checklist"
        return own.source, own.section

    def vector_of(self, question: EditorQuestion) -> list[float] | None:
        """The embedding ingest stored for an editors' question (None: not in this version)."""
        got = self.collection.get(ids=[question.id], include=["embeddings"])
        vectors = got.get("embeddings")
        return [float(x) for x in vectors[0]] if vectors is not None and len(vectors) else None

    def sees(self, chunk_id: str, scope: Scope) -> bool:
        """Whether a live passage may be cited in scope."""
        return chunk_id in self.passages and visible(self.audience.get(chunk_id, frozenset()), scope)

    def hidden(self, scope: Scope) -> int:
        """How many live passages scope may not see."""
        return 0 if scope is None else sum(not visible(a, scope) for a in self.audience.values())


def load_snapshot(version: tuple[str, int], collection: Any, records: Records) -> Snapshot:
    """The snapshot of one generation from its live records."""
    f = records.fields
    kinds, sources, sections_of = f["kind"], f["source"], f["section"]
    kept = [row for row, kind in enumerate(kinds) if kind != QUESTION]  # the passages' rows, in record order
    asked = [row for row, kind in enumerate(kinds) if kind == QUESTION]
    questions = {records.ids[row]: (sources[row], sections_of[row]) for row in asked}
    asks: dict[tuple[str, str], list[EditorQuestion]] = defaultdict(list)
    for row in sorted(asked, key=lambda row: (sources[row], int(f["ordinal"][row]))):
        asks[(sources[row], sections_of[row])].append(
            EditorQuestion(records.ids[row], records.texts[row] or "", sources[row], sections_of[row])
        )
    passages = Passages(records, {records.ids[row]: row for row in kept})
    ordinals = [int(f["ordinal"][row]) for row in kept]
    audience: dict[str, frozenset[str]] = {}
    for row in (row for row in kept if f["audience"][row]):
        if marked := passages.audience_of(f["audience"][row]):
            audience[records.ids[row]] = marked
    checklists: dict[str, list[str]] = defaultdict(list)
    for n in sorted((n for n, row in enumerate(kept) if f["checklist_id"][row]), key=ordinals.__getitem__):
        checklists[f["checklist_id"][kept[n]]].append(records.ids[kept[n]])
    asked_about = set(questions.values())
    sections: dict[tuple[str, str], list[str]] = defaultdict(list)
    answering = (n for n, row in enumerate(kept) if (sources[row], sections_of[row]) in asked_about)
    for n in sorted(answering, key=ordinals.__getitem__):  # stable: record order within an ordinal
        sections[(sources[kept[n]], sections_of[kept[n]])].append(records.ids[kept[n]])
    return Snapshot(
        version,
        collection,
        passages,
        checklists=dict(checklists),
        audience=audience,
        questions=questions,
        sections=dict(sections),
        asks=dict(asks),
    )
