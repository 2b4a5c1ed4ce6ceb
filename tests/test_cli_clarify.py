"""The terminal's clarifying question: numbered choices in `adoptbot chat`, status "clarify" in `ask --json`."""

from __future__ import annotations

import io
import json

import pytest

from adoptbot.cli import main
from tests.conftest import FakeEmbedder, make_runtime, write_kb
from tests.stub_engine import CHOICES, StubEngine


@pytest.fixture
def runtime(settings):
    write_kb(settings.knowledge_dir)
    runtime = make_runtime(settings, FakeEmbedder())
    runtime.ingest(progress=False)
    runtime.__dict__["engine"] = StubEngine(streams=False)
    return runtime


def test_chat_numbers_the_choices_and_typing_a_number_asks_it(runtime, capsys, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO("an ambiguous question\n2\n2\n"))
    assert main(["chat"], runtime=runtime) == 0
    out = capsys.readouterr().out
    clarifying, answer, again = out.split("adoptbot> ")[1:]
    assert f"  1. {CHOICES[0].label}\n  2. {CHOICES[1].label}" in clarifying and "type 1-2" in clarifying
    assert "stub answer" in answer
    asked = [q.text for q in runtime.engine.questions]
    # The number asked the second topic's question; after an answer a number is an ordinary question again.
    assert asked == ["an ambiguous question", CHOICES[1].question, "2"]
    assert [t.text for t in runtime.engine.questions[1].history][-1].startswith("That could be about")
    assert "stub answer" in again


def test_ask_json_says_clarify_with_the_choices(runtime, capsys):
    assert main(["ask", "--json", "an ambiguous question"], runtime=runtime) == 0
    reply = json.loads(capsys.readouterr().out)
    assert reply["status"] == "clarify" and reply["sources"] == []
    assert reply["choices"] == [{"label": c.label, "question": c.question} for c in CHOICES]
    assert main(["ask", "--json", "a plain question"], runtime=runtime) == 0
    assert json.loads(capsys.readouterr().out)["choices"] == []
