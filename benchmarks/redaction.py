"""Precision and recall of bot/redaction.py per type on a labelled corpus, and its speed.

    .venv/bin/python benchmarks/redaction.py [--corpus tests/data/pii_corpus.jsonl] [--show-errors]

A corpus line is {"text": ..., "expect": ["email", "phone", ...]}: the placeholders the redacted
text must hold, in order. Per line and type, min(expected, found) counts as found correctly.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.redaction import TYPES, redact

CORPUS = Path(__file__).resolve().parent.parent / "tests" / "data" / "pii_corpus.jsonl"
PLACEHOLDER = re.compile(r"\[(" + "|".join(re.escape(t) for t in TYPES) + r")\]")


def load(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def placeholders(text: str) -> list[str]:
    """The placeholder types in redacted text, in order."""
    return PLACEHOLDER.findall(text)


def score(corpus: list[dict], show_errors: bool = False) -> dict[str, Counter]:
    tally: dict[str, Counter] = {t: Counter() for t in (*TYPES, "overall")}
    for row in corpus:
        found = Counter(placeholders(redact(row["text"]).text))
        expected = Counter(row["expect"])
        for kind in TYPES:
            hit = min(found[kind], expected[kind])
            for name in (kind, "overall"):
                tally[name]["tp"] += hit
                tally[name]["fp"] += found[kind] - hit
                tally[name]["fn"] += expected[kind] - hit
        if show_errors and found != expected:
            print(f"  expected {sorted(expected.elements())}, got {sorted(found.elements())}: {row['text']}")
    return tally


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--show-errors", action="store_true", help="print every line redacted wrongly")
    parser.add_argument("--repeat", type=int, default=50, help="passes over the corpus for the speed figure")
    args = parser.parse_args()
    corpus = load(args.corpus)
    with_pii = sum(1 for r in corpus if r["expect"])
    print(f"{len(corpus)} lines: {with_pii} with personal data, {len(corpus) - with_pii} without")
    tally = score(corpus, args.show_errors)
    print(f"{'type':<12} {'expected':>8} {'precision':>10} {'recall':>8}")
    for kind, c in tally.items():
        expected, flagged = c["tp"] + c["fn"], c["tp"] + c["fp"]
        precision = c["tp"] / flagged if flagged else 1.0
        recall = c["tp"] / expected if expected else 1.0
        print(f"{kind:<12} {expected:>8} {precision:>9.1%} {recall:>8.1%}   (fp {c['fp']}, fn {c['fn']})")
    texts = [r["text"] for r in corpus]
    for text in texts:  # warm up: phonenumbers loads its metadata on first use
        redact(text)
    started = time.perf_counter()
    for _ in range(args.repeat):
        for text in texts:
            redact(text)
    elapsed = time.perf_counter() - started
    n = args.repeat * len(texts)
    chars = args.repeat * sum(len(t) for t in texts)
    print(f"speed: {n / elapsed:,.0f} lines/s, {elapsed / n * 1e6:.0f} us per line, {chars / elapsed / 1e6:.2f} MB/s")


if __name__ == "__main__":
    main()
