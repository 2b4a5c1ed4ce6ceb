"""How well `adoptbot assess` reads what an idea must produce: keywords alone, then keywords and meaning.

    .venv/bin/python benchmarks/assessment.py

Reads benchmarks/assessment_holdout.yaml and knowledge/assessment.yaml; loads the shipped embedding
model. Prints right / wrong / asked per set; nothing is asserted. (The written scenarios, which are
asserted, are in tests/data/assessment_scenarios.yaml.)
"""

from __future__ import annotations

import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.tools.assessment import Meaning, infer, load_table  # noqa: E402
from kb.embedding import SentenceTransformerEmbedder  # noqa: E402


def main() -> None:
    """Print the figures."""
    table = load_table(ROOT / "knowledge/assessment.yaml")
    sets = yaml.safe_load((ROOT / "benchmarks/assessment_holdout.yaml").read_text(encoding="utf-8"))
    meaning = Meaning(SentenceTransformerEmbedder())
    for name, ideas in sets.items():
        for label, reader in (("keywords", None), ("keywords+meaning", meaning)):
            right = wrong = asked = 0
            for row in ideas:
                given = infer(table, row["idea"], meaning=reader).get("content")
                got = given.choice if given else None
                right += got == row["want"]
                wrong += got is not None and got != row["want"]
                asked += got is None and row["want"] is not None
            print(f"{name:12s} {label:17s} right {right:2d}  wrong {wrong:2d}  asked {asked:2d}  of {len(ideas)}")


if __name__ == "__main__":
    main()
