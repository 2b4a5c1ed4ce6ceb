"""A clarifying question in Slack: its topics as buttons, and a click asked in the thread as that person's question."""

from __future__ import annotations

import json
import urllib.parse

import pytest
from slack_sdk.models.blocks import Block

from bot.slack.blocks import CHOICES_BLOCK, answer_blocks, answer_text, chosen
from bot.slack.payloads import choice_of
from bot.types import Answer, Choice
from tests.slack_harness import FORM, Slack, settle, slacks
from tests.stub_engine import CHOICES, CLARIFY, StubEngine


@pytest.fixture
def s(tmp_path):
    with slacks(tmp_path) as make:
        yield make(StubEngine(streams=False))


CLARIFYING = Answer(
    question="q", status="clarify", text="Which one do you mean?", backend="none",
    choices=(Choice("GANs <&>", "q (GANs)"), Choice("Diffusion models", "q (Diffusion models)")),
)  # fmt: skip


def buttons(reply: dict) -> list[dict]:
    [block] = [b for b in reply["blocks"] if b.get("block_id") == CHOICES_BLOCK]
    return block["elements"]


def click(button: dict, *, user: str, message: dict | None, response_url: str, channel: str = "C1") -> str:
    """The block_actions payload Slack sends when a clarifying question's button is pressed."""
    payload = {
        "type": "block_actions", "team": {"id": "T1"}, "user": {"id": user}, "api_app_id": "A1",
        "container": {"type": "message", "message_ts": (message or {}).get("ts", "1700000000.999999"),
                      "channel_id": channel, "is_ephemeral": message is None},
        "channel": {"id": channel}, "response_url": response_url, "trigger_id": "1.2.3",
        "actions": [{**button, "block_id": CHOICES_BLOCK, "action_ts": "1700000900.000001"}],
    }  # fmt: skip
    if message is not None:
        payload["message"] = message
    return urllib.parse.urlencode({"payload": json.dumps(payload)})


def test_the_buttons_are_block_kit_slack_accepts_and_each_asks_its_question():
    blocks = answer_blocks(CLARIFYING)
    for block in blocks:
        assert Block.parse(block).to_dict() == block  # type-checked by slack_sdk's models, field for field
    [block] = [b for b in blocks if b.get("block_id") == CHOICES_BLOCK]
    assert [(e["text"]["text"], e["value"]) for e in block["elements"]] == [
        ("GANs <&>", "q (GANs)"),  # plain_text: shown as written
        ("Diffusion models", "q (Diffusion models)"),
    ]
    assert len({e["action_id"] for e in block["elements"]}) == 2
    assert "• GANs &lt;&amp;&gt;" in answer_text(CLARIFYING)  # clients without Block Kit see the topics too
    after = chosen(blocks, "U7", "Diffusion models")
    assert not any(b.get("block_id") == CHOICES_BLOCK for b in after)
    assert after[-1]["elements"][0]["text"] == "<@U7> chose *Diffusion models*"


def test_a_click_is_read_into_the_question_its_person_and_thread():
    button = {"type": "button", "action_id": "clarify_choice:1", "value": "q (Diffusion models)",
              "text": {"type": "plain_text", "text": "Diffusion models"}}  # fmt: skip
    body = json.loads(urllib.parse.parse_qs(
        click(button, user="U7", message={"ts": "1.2", "thread_ts": "1.1"}, response_url="")
    )["payload"][0])  # fmt: skip
    chosen_ = choice_of(body)
    assert chosen_ is not None
    assert (chosen_.question, chosen_.label, chosen_.user, chosen_.channel, chosen_.thread_ts) == (
        "q (Diffusion models)", "Diffusion models", "U7", "C1", "1.1"
    )
    top_of_dm = {**body, "channel": {"id": "D1"}, "message": {"ts": "1.2"}}
    assert choice_of(top_of_dm).thread_ts is None  # a DM's question at the top is answered at the top
    assert choice_of({**body, "actions": [{**button, "action_id": "feedback"}]}) is None


def test_a_clarifying_question_gets_buttons_and_a_click_is_answered_once_in_the_thread(s: Slack):
    root = s.say("an ambiguous question", mention=True)
    [reply] = s.api.wait_for("chat.postMessage")
    assert reply["thread_ts"] == root and reply["blocks"][0]["text"]["text"] == CLARIFY
    shown = buttons(reply)
    assert [b["text"]["text"] for b in shown] == [c.label for c in CHOICES]
    assert not any(b["type"] == "context_actions" for b in reply["blocks"])  # nothing to vote on yet
    message = {"ts": "1700000000.000001", "thread_ts": root, "text": reply["text"], "blocks": reply["blocks"]}
    body = click(shown[1], user="U7", message=message, response_url=s.api.url + "/response/2")
    assert s.post(body, FORM) == 200
    assert s.post(body, FORM) == 200  # a second delivery of the same click
    settle(s)
    _, answer = s.api.wait_for("chat.postMessage", 2)
    assert len(s.api.called("chat.postMessage")) == 2  # answered once
    assert answer["thread_ts"] == root and "stub answer" in answer["text"]
    asked = s.engine.questions[-1]
    assert (asked.text, asked.user, asked.place) == (CHOICES[1].question, "U7", "slack:C1")
    assert asked.history and asked.history[-1].role == "assistant"  # the thread, clarifying question included
    update = s.api.wait_for("response/2")[0]
    assert update["replace_original"] is True and not any(b.get("block_id") == CHOICES_BLOCK for b in update["blocks"])


def test_a_click_waits_its_turn_like_a_typed_question(tmp_path):
    with slacks(tmp_path) as make:
        s = make(StubEngine(streams=False), questions_per_minute=1)
        root = s.say("an ambiguous question", mention=True)
        [reply] = s.api.wait_for("chat.postMessage")
        message = {"ts": "1700000000.000001", "thread_ts": root, "blocks": reply["blocks"]}
        assert s.post(click(buttons(reply)[0], user="U1", message=message, response_url=s.api.url + "/r"), FORM) == 200
        settle(s)
        [note] = s.api.wait_for("chat.postEphemeral")
        assert note["user"] == "U1" and len(s.engine.questions) == 1  # fair use refused it, politely
