"""Humans in the loop: declined questions and "not helpful" votes reach the experts' channel."""

from __future__ import annotations

import pytest

from bot import experts
from tests.fake_connector import feedback_invoke
from tests.fake_slack import BOT_USER, action_body, feedback_value
from tests.slack_harness import FORM, Slack, settle, slacks
from tests.stub_engine import PIECES, StubEngine
from tests.test_teams import make_bot, replies  # noqa: F401 - fixture

EXPERTS = "C0EXPERTS"
TEAMS_EXPERTS = "19:experts@thread.tacv2"


def test_the_forwarded_text_quotes_redacted_and_says_where_to_answer():
    text = experts.declined("Can I email jane@example.com our roadmap?", ["Governance"], "https://x/p1")
    assert "> Can I email [email] our roadmap?" in text and "jane@example.com" not in text
    assert "Nearest topics it covers: Governance." in text and "https://x/p1" in text
    dm = experts.not_helpful("Q?", "A long answer. " * 200, ["Risks - Bias"], "")
    assert "a direct message" in dm and len(dm) < 1600 and "Risks - Bias" in dm


@pytest.fixture
def slack_with_experts(tmp_path):
    with slacks(tmp_path) as make:
        yield make(StubEngine(streams=False), slack_experts_channel=EXPERTS)


def to_experts(s: Slack) -> list[dict]:
    """What the experts' channel was told, once everything Slack sent has been handled."""
    settle(s)
    return [p for p in s.api.called("chat.postMessage") if p["channel"] == EXPERTS]


def test_a_declined_question_is_forwarded_to_the_experts_with_a_link(slack_with_experts):
    s = slack_with_experts
    ts = s.mention("Is booking an uncovered meeting room in the guidance?")
    reply, forward = s.api.wait_for("chat.postMessage", 2)  # the asker hears first
    assert (reply["channel"], reply["thread_ts"]) == ("C1", ts)
    assert to_experts(s) == [forward]
    assert "could not answer" in forward["text"]
    assert f"> <@{BOT_USER}> Is booking an uncovered meeting room in the guidance?" in forward["text"]
    assert "Nearest topics it covers: Stub guidance." in forward["text"]
    assert f"https://example.slack.com/archives/C1/p{ts.replace('.', '')}" in forward["text"]


def test_a_question_declined_in_a_direct_message_is_forwarded_without_a_link(slack_with_experts):
    s = slack_with_experts
    s.dm("Is the uncovered topic in the guidance?")
    [forward] = to_experts(s)
    assert "> Is the uncovered topic in the guidance?" in forward["text"]
    assert "a direct message (no link can be shared)" in forward["text"] and "https://" not in forward["text"]
    assert s.api.called("chat.getPermalink") == []  # an expert could not open someone else's DM


def test_an_answered_question_is_not_forwarded(slack_with_experts):
    s = slack_with_experts
    s.mention("What is a GAN?")
    [reply] = s.api.wait_for("chat.postMessage")
    assert reply["channel"] == "C1" and to_experts(s) == [] and s.api.called("chat.getPermalink") == []


def test_a_not_helpful_vote_is_forwarded_with_the_question_the_answer_and_a_link(slack_with_experts):
    s = slack_with_experts
    s.mention("What is a hallucination?")
    [reply] = s.api.wait_for("chat.postMessage")
    message = {"ts": "1700000203.000200", "text": reply["text"], "blocks": reply["blocks"]}
    body = action_body(
        action_id="feedback", value=feedback_value(reply, "not_helpful"), user="U9", message=message,
        response_url=s.api.url + "/r/1", kind="feedback_buttons",
    )  # fmt: skip
    assert s.post(body, FORM) == 200
    [forward] = to_experts(s)
    assert "not helpful" in forward["text"] and f"> <@{BOT_USER}> What is a hallucination?" in forward["text"]
    assert f"> {PIECES[0].strip()}" in forward["text"] and "Sources: Stub guidance - Stub section." in forward["text"]
    assert "https://example.slack.com/archives/C1/p1700000203000200" in forward["text"]


def test_a_helpful_vote_is_not_forwarded(slack_with_experts):
    s = slack_with_experts
    s.mention("What is a hallucination?")
    [reply] = s.api.wait_for("chat.postMessage")
    message = {"ts": "1700000204.000200", "text": reply["text"], "blocks": reply["blocks"]}
    body = action_body(action_id="feedback", value=feedback_value(reply, "helpful"), user="U9", message=message,
                       response_url=s.api.url + "/r/1", kind="feedback_buttons")  # fmt: skip
    assert s.post(body, FORM) == 200
    s.api.wait_for("r/1")
    assert to_experts(s) == []


@pytest.fixture
def teams_with_experts(make_bot):  # noqa: F811
    return make_bot(teams_experts_channel=TEAMS_EXPERTS)


def test_teams_forwards_a_declined_question_to_the_experts_channel(teams_with_experts):
    bot = teams_with_experts
    _, body = bot.ask("An uncovered question: how do I book a meeting room?", expect_replies=True)
    assert "does not cover" in replies(body)[0]["text"]
    [(path, forward)] = bot.connector.wait_for_messages()
    assert path.startswith(f"/v3/conversations/{TEAMS_EXPERTS}/activities")
    assert "how do I book a meeting room?" in forward["text"] and "direct message" in forward["text"]


def test_teams_answered_questions_and_thumbs_up_are_not_forwarded(teams_with_experts):
    bot = teams_with_experts
    bot.ask("What is RLHF?")
    [(_, answer)] = bot.connector.messages()
    bot.send(feedback_invoke("like", reply_to_id=answer_id(bot, answer), service_url=bot.connector.url))
    assert [v["vote"] for v in bot.feedback.votes()] == ["helpful"]
    assert [p for p, _ in bot.connector.messages() if TEAMS_EXPERTS in p] == []


def test_teams_forwards_thumbs_down_from_a_channel_thread_with_a_link(teams_with_experts):
    bot = teams_with_experts
    thread = "19:general@thread.tacv2;messageid=1700000007777"
    in_thread = {"conversation_type": "channel", "conversation_id": thread}
    bot.ask("What is RLHF?", mention=True, activity_id="1700000007777", **in_thread)
    [(_, answer)] = bot.connector.messages()
    message_id = answer_id(bot, answer)
    status, _ = bot.send(feedback_invoke("dislike", reply_to_id=message_id, service_url=bot.connector.url, **in_thread))
    assert status == 200
    forwards = [b for p, b in bot.connector.wait_for_messages(2) if p.startswith(f"/v3/conversations/{TEAMS_EXPERTS}/")]
    [forward] = forwards
    assert "not helpful" in forward["text"] and "> What is RLHF?" in forward["text"]
    assert f"https://teams.microsoft.com/l/message/19%3Ageneral%40thread.tacv2/{message_id}" in forward["text"]


def answer_id(bot, answer: dict) -> str:
    """The Teams message id of an answer: a stream's id, or the id the connector gave the message."""
    info = [e for e in answer.get("entities") or [] if e.get("type") == "streaminfo"]
    return info[0]["streamId"] if info else bot.connector.id_of(answer)
