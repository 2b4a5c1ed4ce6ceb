"""Slack threads as conversations: which thread replies are for the assistant, and the thread the engine is given.

How a follow-up is read ("and what about VAEs?", pronouns, checklist items) is the engine's part, tested
in test_conversation.py and the eval set; here the engine is scripted and records what Slack asked it.
"""

from __future__ import annotations

import datetime as dt

import pytest

from bot.slack.messages import HISTORY_TURNS
from bot.types import Turn
from tests.slack_harness import Slack, settle, slacks
from tests.stub_engine import StubEngine


@pytest.fixture
def s(tmp_path):
    with slacks(tmp_path) as make:
        yield make(StubEngine(streams=False))


def asked(s: Slack, text: str = "What is a GAN?") -> str:
    """A question that starts a thread, answered there; the thread's ts."""
    root = s.say(text, mention=True)
    s.api.wait_for("chat.postMessage", len(s.api.called("chat.postMessage")) + 1)
    return root


def test_a_follow_up_is_asked_as_a_new_question_with_the_thread_before_it(s):
    root = asked(s)
    s.say("What is a VAE?", thread_ts=root)
    first, second = s.api.wait_for("chat.postMessage", 2)
    assert first["thread_ts"] == second["thread_ts"] == root
    question = s.engine.questions[-1]
    assert (question.text, question.user, question.place) == ("What is a VAE?", "U1", "slack:C1")
    assert [(t.role, t.text.strip()) for t in question.history] == [
        ("user", "What is a GAN?"),  # the mention dropped
        ("assistant", first["text"]),
    ]


def test_the_engine_is_given_the_latest_turns_oldest_first_without_the_message_itself(s):
    root = asked(s)
    for n in range(HISTORY_TURNS):
        s.api.add_message("C1", root, {"user": "U2", "text": f"note {n}", "ts": f"1700000800.{n:06d}"})
    s.say("and what about VAEs?", thread_ts=root)
    s.api.wait_for("chat.postMessage", 2)
    assert s.engine.questions[-1].history == tuple(Turn("user", f"note {n}") for n in range(HISTORY_TURNS))


def test_a_mention_in_a_thread_between_people_is_answered_there_with_what_they_said(s):
    root = s.say("We need mock-ups of product photos.", user="U2")
    s.say("Which kind of model would do that?", thread_ts=root, user="U3")  # the assistant is not in it yet
    settle(s)
    s.say("can you help?", thread_ts=root, mention=True)
    [reply] = s.api.wait_for("chat.postMessage")
    assert reply["thread_ts"] == root
    [question] = s.engine.questions  # the people's messages before it were not for the assistant
    assert [t.text for t in question.history] == [
        "We need mock-ups of product photos.",
        "Which kind of model would do that?",
    ]


def test_a_declined_follow_up_is_answered_in_the_thread_with_the_nearest_topics(s):
    root = asked(s)
    s.say("What about the uncovered topic?", thread_ts=root)
    reply = s.api.wait_for("chat.postMessage", 2)[1]
    assert reply["thread_ts"] == root
    assert reply["blocks"][0]["text"]["text"] == "The knowledge base does not cover that."  # the engine's reason
    contexts = [b["elements"][0]["text"] for b in reply["blocks"] if b["type"] == "context"]
    assert contexts == ["*Nearest topics*"]


def test_thanks_in_the_thread_gets_a_reaction_and_no_message(s):
    root = asked(s)
    ts = s.say("thanks!", thread_ts=root)
    settle(s)
    assert [r["name"] for r in s.api.called("reactions.add") if r["timestamp"] == ts] == ["pray"]
    assert len(s.engine.questions) == 1 and len(s.api.called("chat.postMessage")) == 1


@pytest.mark.parametrize(
    "text",
    [
        "<@U0DANA> can you check this with legal?",
        "<@U0DANA> what do you think?",
        "ok I'll book a slot with the vendor tomorrow",
        "hi all",
    ],
    ids=["mentions-someone-else", "asks-someone-else", "chatter", "greeting"],
)
def test_messages_between_people_in_the_thread_get_no_reply(s, text):
    root = asked(s)
    ts = s.say(text, thread_ts=root, user="U2")
    settle(s)
    assert len(s.engine.questions) == 1 and len(s.api.called("chat.postMessage")) == 1
    assert [r for r in s.api.called("reactions.add") if r["timestamp"] == ts] == []
    assert s.api.called("conversations.replies") == []  # judged by its text, without reading the thread


def test_small_talk_gets_a_short_reply_without_sources_or_buttons(s):
    s.dm("hello")
    [reply] = s.api.wait_for("chat.postMessage")
    assert reply["text"] == "Hello! Ask me about adopting AI."  # the engine's reply, as it is
    assert [b["type"] for b in reply["blocks"]] == ["section"]


def test_every_reply_in_a_thread_is_audited_with_its_channel_kind_and_a_hashed_asker(s):
    root = asked(s, "What is a GAN? mail me at dana@example.com")
    s.say("thanks!", thread_ts=root)  # a nod, no reply: nothing to audit
    s.say("Is the uncovered part in the guidance?", thread_ts=root, mention=True)
    s.api.wait_for("chat.postMessage", 2)
    s.dm("What is a VAE?")
    s.api.wait_for("chat.postMessage", 3)
    settle(s)
    rows = [r for r in s.runtime.feedback.audit(dt.datetime(2000, 1, 1, tzinfo=dt.UTC)) if r["platform"] == "slack"]
    assert [(r["channel_kind"], r["status"]) for r in rows] == [
        ("channel", "answered"),
        ("thread", "no_answer"),
        ("dm", "answered"),
    ]
    assert all(r["user"] == s.runtime.feedback.user_hash("U1") for r in rows)
    assert "dana@example.com" not in rows[0]["question"] and "[email]" in rows[0]["question"]
