"""Scoring: every reply is one outcome, counted per question set, and a wrong answer with a citation is its own."""

from __future__ import annotations

import json

from bot.answering.evaluation import load_questions, run_eval
from tests.stub_engine import StubEngine


def write_set(path, *items):
    path.write_text("".join(json.dumps(item) + "\n" for item in items), encoding="utf-8")
    return path


def test_each_reply_is_one_outcome_counted_per_set(tmp_path):
    questions = write_set(
        tmp_path / "questions.jsonl",
        {"id": "right", "kind": "in", "q": "what is a stub?", "must": [["stub answer"]], "cat": "definition"},
        {"id": "wrong", "kind": "in", "q": "what is a GAN?", "must": [["discriminator"]]},
        {"id": "missed", "kind": "in", "q": "uncovered but in scope"},
    )
    declines = write_set(
        tmp_path / "declines.jsonl",
        {"id": "kept-out", "kind": "out", "q": "uncovered: our budget?"},
        {"id": "leaked", "kind": "out", "q": "which tools are we licensed for?", "lang": "en"},
        {"id": "hi", "kind": "smalltalk", "q": "hello"},
    )
    report = run_eval(StubEngine(streams=False), load_questions(questions, declines))
    d = report.to_dict()
    assert d["sets"]["questions"]["correct"] == 1 and d["sets"]["questions"]["wrong_cited"] == 1
    assert d["sets"]["questions"]["declined"] == 1 and d["sets"]["questions"]["items"] == 3
    assert d["sets"]["declines"]["correct"] == 2 and d["sets"]["declines"]["wrong_cited"] == 1
    assert d["wrong_cited_rate"] == round(2 / 6, 4)
    leaked = next(f for f in d["failures"] if f["id"] == "leaked")
    assert leaked["outcome"] == "wrong_cited" and leaked["set"] == "declines" and leaked["lang"] == "en"
    assert "set declines: 3 items: 2 correct, 1 wrong with a citation (33.3%)" in report.render()
