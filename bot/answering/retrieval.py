"""Retriever: query -> ranked Passages, fusing BM25 and dense search.

It serves from the newest complete index version (see kb.store) and, when a reindex publishes a
new generation, loads that generation's saved records and BM25 index (saved once, by the ingest that
wrote it); an index from before those were saved is read from Chroma and has its BM25 index built here.
Passages of documents marked for audiences the question's place may not see (bot.audiences) are
dropped from every candidate list before fusion, so nothing downstream can cite or name them.

Sections are also found through the questions editors wrote for them (`questions:` in front matter,
indexed as records of their own): the same dense query that finds passages finds those questions, and
a section whose question is close enough to the query (QUESTION_FLOOR) ranks in the dense list as if
its passage were that close (never lower than its own passage ranks) before fusion with BM25.
The same questions are what answers suggest asking next (bot.answering.suggestions): a snapshot's
`questions_of` a section, and `retrieve` with the embedding ingest stored for one (`vector_of`) to see
where it lands.
"""

from __future__ import annotations

import logging
import re
import threading
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Literal

from bot.answering.lexical import terms
from bot.answering.snapshot import Snapshot, load_snapshot
from bot.audiences import Scope
from bot.types import Passage
from common.errors import IndexEmpty
from kb.bm25 import BM25Index, indexed_text
from kb.embedding import Embedder
from kb.store import KnowledgeStore, generation

Mode = Literal["hybrid", "dense", "bm25"]
Fusion = Literal["rrf", "score"]
RRF_K = 60
QUESTION_FLOOR = 0.6  # cosine of the query to a section's question below which the question is no evidence
log = logging.getLogger(__name__)
CHECKLIST_WORDS = re.compile(r"\bcheck\s?lists?\b", re.IGNORECASE)


@dataclass(frozen=True)
class Retrieval:
    """Ranked passages plus the raw signals the relevance gate reads."""

    passages: list[Passage]
    dense_best: float  # cosine similarity of the best dense hit
    whole_checklist: bool = False  # a checklist was asked for and is returned whole
    # The dense hits alone, scored by cosine similarity: what tells whether two topics fit about equally.
    by_similarity: list[Passage] = field(default_factory=list)
    # Editors' questions among the dense hits (record id -> cosine similarity to the query): what was just asked.
    asked: dict[str, float] = field(default_factory=dict)


class Retriever:
    """Hybrid retrieval over the serving index."""

    def __init__(
        self,
        *,
        store: KnowledgeStore,
        embedder: Embedder,
        fusion: Fusion = "rrf",
        mode: Mode = "hybrid",
        top_k: int = 5,
        candidates: int = 20,
        question_floor: float = QUESTION_FLOOR,
    ) -> None:
        self.store = store
        self.question_floor = question_floor
        self.embedder = embedder
        self.fusion = fusion
        self.mode = mode
        self.top_k = top_k
        self.candidates = candidates
        self._snapshot: Snapshot | None = None
        self._lock = threading.Lock()

    def snapshot(self) -> Snapshot:
        """The in-memory view of the serving version, rebuilt when a new version is published."""
        collection = self.store.current()
        if collection is None:
            raise IndexEmpty("The knowledge base has not been indexed yet: run `adoptbot ingest`.")
        version = (collection.name, generation(collection))
        with self._lock:
            if self._snapshot is None or self._snapshot.version != version:
                self._snapshot = load_snapshot(version, collection, self.store.records(collection, version[1]))
            return self._snapshot

    def topic_terms(self) -> frozenset[str]:
        """The words the knowledge base's titles and sections are made of (stemmed)."""
        return self.snapshot().topics

    def vocabulary(self) -> frozenset[str]:
        """Every word the knowledge base uses (lower-cased, as written)."""
        return self.snapshot().words

    def retrieve(
        self,
        query: str,
        *,
        mode: Mode | None = None,
        k: int | None = None,
        scope: Scope = None,
        vector: Sequence[float] | None = None,
    ) -> Retrieval:
        """The top k passages for query that scope may see, neighbours merged, an asked-for checklist whole.

        `vector`: the query's embedding when it is already known (an editors' question's, from the index).
        """
        snap = self.snapshot()
        k = k or self.top_k
        mode = mode or self.mode
        # Always: the relevance gate reads its best similarity.
        dense, dense_best, asked = self._dense(snap, query, scope, vector)
        lexical: list[tuple[str, float]] = []
        if mode in ("hybrid", "bm25"):
            lexical = self._bm25(snap, query, scope)
        if mode == "dense":
            fused = dense
        elif mode == "bm25":
            fused = lexical
        else:
            fused = _rrf(dense, lexical) if self.fusion == "rrf" else _score_fusion(dense, lexical)
        ranked = [snap.passages[i].with_score(s) for i, s in fused]
        ranked, whole = _expand_checklists(snap, query, ranked, scope)
        passages = _merge_neighbours(ranked)[:k]
        # The gate reads how close the passages themselves are, not the questions: those are the evidence.
        by_similarity = [snap.passages[i].with_score(s) for i, s in dense]
        return Retrieval(
            passages=passages, dense_best=dense_best, whole_checklist=whole, by_similarity=by_similarity, asked=asked
        )

    def drawn_from(self, text: str, *, scope: Scope = None) -> Passage | None:
        """The passage a text was most likely taken from, by its words alone: what an earlier answer was about."""
        snap = self.snapshot()
        hits = self._bm25(snap, text, scope)
        return snap.passages[hits[0][0]] if hits else None

    def _dense(
        self, snap: Snapshot, query: str, scope: Scope, vector: Sequence[float] | None = None
    ) -> tuple[list[tuple[str, float]], float, dict[str, float]]:
        """Dense hits (sections lifted by their questions), the best passage's own similarity, the questions hit."""
        # Records of other generations (replaced ones, a reindex in progress) and passages scope may not
        # see are skipped, so ask for that many more.
        total = snap.collection.count()
        n = min(total, self.candidates + max(0, total - len(snap.passages)) + snap.hidden(scope))
        if n == 0:
            return [], 0.0, {}
        embedding = list(vector) if vector is not None else self.embedder.embed_query(query)
        got = snap.collection.query(query_embeddings=[embedding], n_results=n, include=["distances"])
        # Cosine space: distance = 1 - cosine similarity.
        scored = list(zip(got["ids"][0], [1.0 - d for d in got["distances"][0]], strict=True))
        hits = [(i, s) for i, s in scored if snap.sees(i, scope)][: self.candidates]
        best = hits[0][1] if hits else 0.0
        asked = _asked(snap, scored, self.question_floor, scope)
        lifted = {**dict(hits), **{i: s for i, s in asked.items() if s > dict(hits).get(i, -1.0)}}
        ranked = sorted(lifted.items(), key=lambda kv: kv[1], reverse=True)
        return ranked[: self.candidates], best, {i: s for i, s in scored if i in snap.questions}

    def lexical(self, snap: Snapshot) -> BM25Index:
        """The BM25 index of snap's generation: the saved one, else (an older index) built from its passages."""
        if snap.bm25 is None:
            with self._lock:
                if snap.bm25 is None:
                    snap.bm25 = self._saved_bm25(snap) or _build_bm25(snap.passages.values())
        return snap.bm25

    def _saved_bm25(self, snap: Snapshot) -> BM25Index | None:
        saved = self.store.lexical(snap.collection, snap.version[1])
        if saved is not None and (len(saved.ids) != len(snap.passages) or set(saved.ids) != snap.passages.keys()):
            log.warning("the saved BM25 index of %s does not match its passages; building one", snap.version)
            return None
        return saved

    def _bm25(self, snap: Snapshot, query: str, scope: Scope) -> list[tuple[str, float]]:
        # Enough hits that dropping every passage marked for an audience still leaves `candidates`.
        hits = self.lexical(snap).search(query, self.candidates + len(snap.audience))
        found = [(i, s) for i, s in hits if s > 0]
        return [(i, s) for i, s in found if snap.sees(i, scope)][: self.candidates]


def _asked(snap: Snapshot, scored: list[tuple[str, float]], floor: float, scope: Scope) -> dict[str, float]:
    """The passages of each section with a question at least floor close to the query, scored as that question."""
    best: dict[tuple[str, str], float] = {}
    for record_id, score in scored:
        section = snap.questions.get(record_id)
        if section is not None and score >= floor and score > best.get(section, -1.0):
            best[section] = score
    return {
        chunk_id: score
        for section, score in best.items()
        for chunk_id in snap.sections.get(section, [])
        if snap.sees(chunk_id, scope)
    }


def _build_bm25(passages: Iterable[Passage]) -> BM25Index:
    listed = list(passages)
    return BM25Index.build([p.id for p in listed], [indexed_text(p.title, p.section, p.text) for p in listed])


def _rrf(*rankings: list[tuple[str, float]]) -> list[tuple[str, float]]:
    """Reciprocal rank fusion: sum of 1 / (60 + rank) over the rankings."""
    scores: dict[str, float] = defaultdict(float)
    for ranking in rankings:
        for rank, (chunk_id, _) in enumerate(ranking, start=1):
            scores[chunk_id] += 1.0 / (RRF_K + rank)
    return sorted(scores.items(), key=lambda kv: kv[1], reverse=True)


def _score_fusion(dense: list[tuple[str, float]], lexical: list[tuple[str, float]]) -> list[tuple[str, float]]:
    """Scores normalised to [0, 1] by each ranking's best, then averaged."""
    scores: dict[str, float] = defaultdict(float)
    for ranking in (dense, lexical):
        if ranking:
            best = max(s for _, s in ranking) or 1.0
            for chunk_id, s in ranking:
                scores[chunk_id] += 0.5 * max(s, 0.0) / best
    return sorted(scores.items(), key=lambda kv: kv[1], reverse=True)


def _expand_checklists(
    snap: Snapshot, query: str, ranked: list[Passage], scope: Scope = None
) -> tuple[list[Passage], bool]:
    """A checklist comes back whole when asked for ("checklist", or its name) among the top three.

    Asked for by name (every word of its id in the query) it also moves to the top. Otherwise its
    items stay separate passages, so "why does monitoring matter?" gets the monitoring item.
    """
    query_terms = set(terms(query))
    named = [
        i
        for i, p in enumerate(ranked[:3])
        if p.checklist_id and set(terms(p.checklist_id.replace("-", " "))) <= query_terms
    ]
    if named:
        ranked = [ranked[named[0]], *ranked[: named[0]], *ranked[named[0] + 1 :]]
    asked = bool(CHECKLIST_WORDS.search(query)) or bool(named)
    out: list[Passage] = []
    done: set[str] = set()
    for rank, passage in enumerate(ranked):
        cid = passage.checklist_id
        if cid and asked and rank < 3:
            if cid in done:
                continue
            done.add(cid)
            members = [snap.passages[i] for i in snap.checklists.get(cid, [passage.id]) if snap.sees(i, scope)]
            whole = "\n".join(m.text for m in members)
            out.append(replace(passage, id=members[0].id, text=whole, section="Checklist", ordinal=members[0].ordinal))
        elif not (cid and cid in done):
            out.append(passage)
    return out, bool(done)


def _merge_neighbours(ranked: list[Passage]) -> list[Passage]:
    """Runs of adjacent chunks of one section become one passage, placed at its best member's rank."""
    runs: dict[tuple[str, str], list[list[tuple[int, Passage]]]] = defaultdict(list)
    for rank, passage in enumerate(ranked):
        runs[(passage.source, passage.section)].append([(rank, passage)])
    merged: list[tuple[int, Passage]] = []
    for (_, section), singles in runs.items():
        if section == "Checklist":  # already whole
            merged += [run[0] for run in singles]
            continue
        members = sorted((m for run in singles for m in run), key=lambda m: m[1].ordinal)
        run = [members[0]]
        for member in members[1:]:
            if member[1].ordinal == run[-1][1].ordinal + 1:
                run.append(member)
            else:
                merged.append(_join(run))
                run = [member]
        merged.append(_join(run))
    return [p for _, p in sorted(merged, key=lambda rp: rp[0])]


def _join(run: list[tuple[int, Passage]]) -> tuple[int, Passage]:
    """One passage from consecutive chunks (in document order), ranked and scored as its best."""
    best_rank, best = min(run, key=lambda m: m[0])
    if len(run) == 1:
        return best_rank, best
    first = run[0][1]
    text = "\n\n".join(p.text for _, p in run)
    return best_rank, replace(best, id=first.id, text=text, ordinal=first.ordinal)
