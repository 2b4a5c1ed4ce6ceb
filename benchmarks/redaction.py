"""Precision and recall of bot/state/redaction.py per type on a labelled corpus, and its speed.

    .venv/bin/python benchmarks/redaction.py [--corpus tests/data/pii_corpus.jsonl] [--show-errors]

A corpus line is {"text": ..., "expect": ["email", "phone", ...]}: the placeholders the redacted
text must hold, in order. Per line and type, min(expected, found) counts as found correctly.
Then the CPU time of three hard inputs: "1 " * 1000 (a question of digit groups), a 100 KB log line
through the log filter, and 10,000 random characters of digits, separators and letters.
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import re
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.state.redaction import TYPES, RedactingFilter, redact

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


def log_line(size: int) -> str:
    """A log line of about size characters: a pasted payload of names, addresses, card numbers and figures."""
    piece = (
        "user jane.doe@example.com paid 4111 1111 1111 1111 on 2026-11-29 from 10.0.0.5, "
        "call +44 20 7946 0958, figures 1200 1350 980 1100; "
    )
    return ("payload: " + piece * (size // len(piece) + 1))[:size]


def hard_inputs() -> dict[str, tuple[str, object]]:
    """Inputs that once took seconds or more, by name: (how it is redacted, the input)."""
    rng = random.Random(21)
    record = logging.LogRecord("bench", logging.WARNING, __file__, 0, log_line(100_000), None, None)
    return {
        '"1 " * 1000': ("redact", "1 " * 1000),
        "100 KB log line": ("log filter", record),
        "10,000 random characters": ("redact", "".join(rng.choice("0123456789 -.:@+aZ") for _ in range(10_000))),
    }


def cpu_seconds(how: str, value: object) -> float:
    """CPU time this process spends redacting value once."""
    started = time.process_time()
    if how == "log filter":
        RedactingFilter().filter(value)
    else:
        redact(value)
    return time.process_time() - started


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
    for name, (how, value) in hard_inputs().items():
        print(f"{name} ({how}): {cpu_seconds(how, value):.3f} s CPU")


if __name__ == "__main__":
    main()
