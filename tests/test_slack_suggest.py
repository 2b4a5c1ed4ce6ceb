"""Suggested next questions in Slack: buttons under the answer, and a click asked in the thread as that person's.

Over real HTTP against the fake Web API, with the real engine over a small knowledge base of its own.
"""

# The tests take the fixture `suggesting` (imported below) as a parameter of the same name.
# ruff: noqa: F811

from __future__ import annotations

import json
import urllib.parse
from typing import Any

import pytest
from slack_sdk.models.blocks import Block

from bot.slack.blocks import BUTTON_TEXT, FEEDBACK_BLOCK, SUGGESTIONS_BLOCK, answer_blocks, answer_text, chosen, escape
from bot.types import Answer, Choice, Citation
from tests.slack_harness import FORM, Slack, settle
from tests.suggest_kb import DESCALE, WRITTEN, suggesting  # noqa: F401 - fixture

LONG = "How do we keep a coffee machine that forty people use every day clean, descaled and working all year round?"
SOURCE = Citation(n=1, title="Coffee", section="Descaling", source="coffee.md", url="", last_reviewed="", score=0.9)
SUGGESTING = Answer(
    question="q", status="answered", text="Descale it every four weeks [1].", backend="template", sources=(SOURCE,),
    suggestions=(Choice(LONG[:74] + "…", LONG), Choice("Why does <b> & co taste bitter?", "Why does it taste bitter?")),
)  # fmt: skip


def suggestions(reply: dict[str, Any]) -> list[dict[str, Any]]:
    [block] = [b for b in reply["blocks"] if b.get("block_id") == SUGGESTIONS_BLOCK]
    return block["elements"]


def click(button: dict[str, Any], *, user: str, message: dict[str, Any], response_url: str) -> str:
    """The block_actions payload Slack sends when a suggested question's button is pressed in a channel."""
    payload = {
        "type": "block_actions", "team": {"id": "T1"}, "user": {"id": user}, "api_app_id": "A1",
        "container": {"type": "message", "message_ts": message["ts"], "channel_id": "C1", "is_ephemeral": False},
        "channel": {"id": "C1"}, "response_url": response_url, "trigger_id": "1.2.3", "message": message,
        "actions": [{**button, "block_id": SUGGESTIONS_BLOCK, "action_ts": "1700000900.000042"}],
    }  # fmt: skip
    return urllib.parse.urlencode({"payload": json.dumps(payload)})


def test_the_buttons_are_block_kit_slack_accepts_within_its_limits_and_stay_out_of_the_text():
    blocks = answer_blocks(SUGGESTING, "fid")
    for block in blocks:
        assert Block.parse(block).to_dict() == block  # type-checked by slack_sdk's models, field for field
    assert [b.get("block_id") for b in blocks][-2:] == [SUGGESTIONS_BLOCK, FEEDBACK_BLOCK]
    buttons = suggestions({"blocks": blocks})
    assert [(len(e["text"]["text"]) <= BUTTON_TEXT, e["value"]) for e in buttons] == [
        (True, LONG), (True, "Why does it taste bitter?")
    ]  # fmt: skip
    assert buttons[1]["text"]["text"] == "Why does <b> & co taste bitter?"  # plain_text: shown as written
    assert len({e["action_id"] for e in buttons}) == 2
    assert "bitter" not in answer_text(SUGGESTING)  # the text (notifications, the thread's history) is the answer's


def test_a_click_leaves_the_other_suggestions_and_shows_who_asked():
    blocks = answer_blocks(SUGGESTING, "fid")
    after = chosen(
        blocks, "U7", "Why does <b> & co taste bitter?", block_id=SUGGESTIONS_BLOCK, value="Why does it taste bitter?"
    )
    at = next(i for i, b in enumerate(after) if b["type"] == "context" and "asked" in b["elements"][0]["text"])
    assert after[at]["elements"][0]["text"] == f"<@U7> asked *{escape('Why does <b> & co taste bitter?')}*"
    assert [e["value"] for e in suggestions({"blocks": after})] == [LONG]  # the other one can still be asked
    assert after[at + 1]["block_id"] == SUGGESTIONS_BLOCK and after[-1]["block_id"] == FEEDBACK_BLOCK
    last = chosen(after, "U8", LONG[:74] + "…", block_id=SUGGESTIONS_BLOCK, value=LONG)
    assert not any(b.get("block_id") == SUGGESTIONS_BLOCK for b in last)
    assert sum("asked" in b["elements"][0].get("text", "") for b in last if b["type"] == "context") == 2


@pytest.fixture
def s(tmp_path, suggesting):
    slack = Slack(tmp_path, None, embedder=suggesting.embedder, store=suggesting.store, backend="template")
    try:
        yield slack
    finally:
        try:
            settle(slack)
        finally:
            slack.close()


def test_an_answer_offers_suggestions_and_a_click_is_answered_once_in_the_thread_from_its_section(s: Slack):
    root = s.say(DESCALE, mention=True)
    [reply] = s.api.wait_for("chat.postMessage")
    assert reply["thread_ts"] == root and "Descaling" in json.dumps(reply["blocks"])
    shown = suggestions(reply)
    assert 2 <= len(shown) <= 3 and all(b["value"] in WRITTEN and b["value"] != DESCALE for b in shown)
    ts = s.api.threads[("C1", root)][-1]["ts"]  # the answer, as Slack keeps it in the thread
    message = {"ts": ts, "thread_ts": root, "text": reply["text"], "blocks": reply["blocks"]}
    body = click(shown[1], user="U7", message=message, response_url=s.api.url + "/response/click")
    assert s.post(body, FORM) == 200
    assert s.post(body, FORM) == 200  # a second delivery of the same click
    settle(s)
    _, answer = s.api.wait_for("chat.postMessage", 2)
    assert len(s.api.called("chat.postMessage")) == 2  # answered once
    _, section = WRITTEN[shown[1]["value"]]
    sources = next(b for b in answer["blocks"] if b["type"] == "context" and "Sources" in json.dumps(b))
    assert answer["thread_ts"] == root and f" - {escape(section)}" in sources["elements"][1]["text"]
    assert shown[1]["value"] not in [b["value"] for b in suggestions(answer)]  # just asked
    update, *again = s.api.wait_for("response/click")
    assert all(u == update for u in again)  # a second delivery marks it the same way
    assert update["replace_original"] is True and update["text"] == reply["text"]  # the answer keeps its text
    assert f"<@U7> asked *{escape(shown[1]['text']['text'])}*" in json.dumps(update["blocks"])
    assert [b["value"] for b in suggestions(update)] == [shown[0]["value"], *(b["value"] for b in shown[2:])]
    assert any(b.get("block_id") == FEEDBACK_BLOCK for b in update["blocks"])  # still open to a vote
