"""Humans in the loop: declined questions and "not helpful" votes reach the experts' channel."""

from __future__ import annotations

import dataclasses
import urllib.request

import pytest

from bot import experts
from bot.runtime import Runtime
from bot.server import build_web_app
from tests.fake_connector import feedback_invoke
from tests.fake_slack import FakeSlackApi, action_body, event_body, feedback_value, signed_headers
from tests.test_slack import SECRET, mention, post, slack_runtime  # noqa: F401 - fixture
from tests.test_teams import make_bot, replies  # noqa: F401 - fixture
from tests.web import BackgroundServer

EXPERTS = "C0EXPERTS"
TEAMS_EXPERTS = "19:experts@thread.tacv2"


def test_the_forwarded_text_quotes_redacted_and_says_where_to_answer():
    text = experts.declined("Can I email jane@example.com our roadmap?", ["Governance"], "https://x/p1")
    assert "> Can I email [email] our roadmap?" in text and "jane@example.com" not in text
    assert "Nearest topics it covers: Governance." in text and "https://x/p1" in text
    dm = experts.not_helpful("Q?", "A long answer. " * 200, ["Risks - Bias"], "")
    assert "a direct message" in dm and len(dm) < 1600 and "Risks - Bias" in dm


@pytest.fixture
def slack_with_experts(slack_runtime):  # noqa: F811
    api = FakeSlackApi()
    settings = dataclasses.replace(
        slack_runtime.settings, slack_api_base_url=api.api_url, slack_experts_channel=EXPERTS
    )
    runtime = Runtime(
        settings, embedder=slack_runtime.embedder, store=slack_runtime.store, answerers=slack_runtime.answerers
    )
    server = BackgroundServer(build_web_app(index_info=runtime.index_info, slack=runtime.slack_app(http=True)))
    yield api, server
    server.close()
    api.close()


def to_experts(api: FakeSlackApi, count: int = 1) -> list[dict]:
    posts = api.wait_for("chat.postMessage", count + 1)  # the reply in the thread comes first
    return [p for p in posts if p["channel"] == EXPERTS]


def test_a_declined_question_is_forwarded_to_the_experts_with_a_link(slack_with_experts):
    api, server = slack_with_experts
    post(server, event_body(mention("How do I book a meeting room?", ts="1700000201.000100"), "EvX1"))
    [forward] = to_experts(api)
    assert "could not answer" in forward["text"] and "How do I book a meeting room?" in forward["text"]
    assert "https://example.slack.com/archives/C1/p1700000201000100" in forward["text"]


def test_an_answered_question_is_not_forwarded(slack_with_experts):
    api, server = slack_with_experts
    post(server, event_body(mention("What is a GAN?", ts="1700000202.000100"), "EvX2"))
    [reply] = api.wait_for("chat.postMessage")
    assert reply["channel"] == "C1" and api.called("chat.getPermalink") == []


def test_a_not_helpful_vote_is_forwarded_with_the_question_the_answer_and_a_link(slack_with_experts):
    api, server = slack_with_experts
    post(server, event_body(mention("What is a hallucination?", ts="1700000203.000100"), "EvX3"))
    [reply] = api.wait_for("chat.postMessage")
    message = {"ts": "1700000203.000200", "text": reply["text"], "blocks": reply["blocks"]}
    body = action_body(
        action_id="feedback", value=feedback_value(reply, "not_helpful"), user="U9", message=message,
        response_url=api.url + "/r/1", kind="feedback_buttons",
    )  # fmt: skip
    headers = signed_headers(SECRET, body, content_type="application/x-www-form-urlencoded")
    request = urllib.request.Request(server.url + "/slack/events", data=body.encode(), headers=headers)
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.status == 200
    [forward] = to_experts(api)
    assert "not helpful" in forward["text"] and "> What is a hallucination?" in forward["text"]
    assert "Output quality and hallucinations" in forward["text"]
    assert "https://example.slack.com/archives/C1/p1700000203000200" in forward["text"]


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
