"""The terminal's suggested next questions: numbered after an answer in `adoptbot chat`, listed in `ask --json`."""

# The tests take the fixture `suggesting` (imported below) as a parameter of the same name.
# ruff: noqa: F811

from __future__ import annotations

import io
import json
import re

from adoptbot.cli import main
from bot.types import Question
from tests.suggest_kb import DESCALE, WRITTEN, suggesting  # noqa: F401 - fixture


def numbered(reply: str) -> list[str]:
    """The questions listed under "You could ask next:" in a reply, in order."""
    _, _, listed = reply.partition("You could ask next:\n")
    return re.findall(r"^  \d\. (.+)$", listed, flags=re.MULTILINE)


def test_chat_numbers_the_suggestions_and_a_number_asks_the_one_of_the_last_reply(suggesting, capsys, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO(f"{DESCALE}\n2\n1\n"))
    assert main(["chat"], runtime=suggesting) == 0
    first, second, third = capsys.readouterr().out.split("adoptbot> ")[1:]
    offered = numbered(first)
    assert 2 <= len(offered) <= 3 and all(q in WRITTEN for q in offered)
    assert f"(type 1-{len(offered)} to ask one of the suggested questions)" in first
    assert f"(asking: {offered[1]})" in first  # echoed before the next reply
    source, section = WRITTEN[offered[1]]
    assert "Sources:\n  [1] " in second and f"- {section} ({source}" in second  # answered from its own section
    offered_next = numbered(second)
    assert offered_next and f"(asking: {offered_next[0]})" in second  # a number is from the list shown last
    assert DESCALE not in offered_next  # asked earlier in the conversation
    assert "Sources:" in third


def test_ask_json_lists_the_suggestions_with_the_question_each_asks(suggesting, capsys):
    assert main(["ask", "--json", DESCALE], runtime=suggesting) == 0
    reply = json.loads(capsys.readouterr().out)
    assert reply["status"] == "answered"
    expected = suggesting.engine.answer(Question(DESCALE)).suggestions
    assert reply["suggestions"] == [{"label": c.label, "question": c.question} for c in expected] != []
    assert main(["ask", "--json", "What is the capital of France?"], runtime=suggesting) == 0
    assert json.loads(capsys.readouterr().out)["suggestions"] == []
