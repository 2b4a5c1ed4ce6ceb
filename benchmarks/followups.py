"""Which follow-up rule reads conversations best: the same engine, only the rule swapped.

    .venv/bin/python benchmarks/followups.py

Scores `knowledge/eval/conversations.jsonl` (template backend) with:
  alone      every message read on its own (history ignored)
  short      the first version's rule: a message of at most 4 terms is glued to the previous question
  always     every follow-up glued to the previous question
  cues       bot.answering.conversation.read: follow-ups recognised by how they refer back (the default)
Prints figures; nothing is asserted. Uses a temporary data directory.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import bot.answering.engine  # noqa: E402
from adoptbot.runtime import Runtime  # noqa: E402
from bot.answering.conversation import Reading, read  # noqa: E402
from bot.answering.evaluation import load_questions, run_eval  # noqa: E402
from bot.answering.lexical import terms  # noqa: E402
from common.settings import Settings  # noqa: E402


def alone(text, history, *, topic_terms):
    small = read(text, (), topic_terms=topic_terms)
    return small if small.kind == "smalltalk" else Reading("question", text, text)


def glued(limit: int | None):
    def rule(text, history, *, topic_terms):
        reading = alone(text, history, topic_terms=topic_terms)
        earlier = [t.text for t in history if t.role == "user"]
        if reading.kind == "smalltalk" or not earlier or (limit is not None and len(terms(text)) > limit):
            return reading
        query = f"{earlier[-1]} {text}"
        return Reading("question", query, query, link="reference")

    return rule


RULES = {"alone": alone, "short": glued(4), "always": glued(None), "cues": read}


def main() -> None:
    with tempfile.TemporaryDirectory() as data:
        runtime = Runtime(Settings(data_dir=Path(data), knowledge_dir=REPO / "knowledge", backend="template"))
        runtime.ingest(progress=False)
        items = load_questions(REPO / "knowledge/eval/conversations.jsonl")
        print(f"{'rule':8s} {'in-scope answered':>18s} {'off-topic declined':>19s} {'median chars':>13s}")
        for name, rule in RULES.items():
            bot.answering.engine.read = rule
            report = run_eval(runtime.engine, items, backend="template").to_dict()
            conv, out = report["conversation_pass_rate"], report["conversation_abstention_rate"]
            print(f"{name:8s} {conv:18.1%} {out:19.1%} {report['answer_chars_median']:13d}")


if __name__ == "__main__":
    main()
