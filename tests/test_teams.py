"""Teams over real HTTP: activities posted to /api/messages as Teams sends them, replies recorded by a fake connector.

The engine is a stub, so these tests say what Teams shows (streams, citations, cards, thumbs, votes, fair use)
whatever the editors write in the knowledge base.
"""

# The tests take the harness's fixtures (imported below) as parameters of the same name.
# ruff: noqa: F811

from __future__ import annotations

import dataclasses
import json
import re
import threading
from typing import Any

import pytest

from bot.fairuse import in_line
from bot.teams import cards
from bot.teams.answers import HOLDING, SEARCHING
from bot.teams.app import build_teams_endpoint
from common.settings import TEAMS_CLIENT_ID
from tests.fake_connector import ai_entity, feedback_invoke, stream_type, teams_activity
from tests.stub_engine import PIECES, SOURCE
from tests.teams_harness import ADMIN, bot, card_texts, make_bot, replies, stream_id  # noqa: F401 - fixtures


def assert_whole_answer(message: dict) -> None:
    """Text, citation pills matching its [n] markers, the AI label, the sources card and thumbs: one message."""
    assert message["text"] == "".join(PIECES)
    entity = ai_entity(message)
    assert entity["additionalType"] == ["AIGeneratedContent"]
    assert entity["citation"] == [cards.claim(SOURCE)]
    assert {c["position"] for c in entity["citation"]} == {int(n) for n in re.findall(r"\[(\d+)\]", message["text"])}
    assert "reviewed 2026-11-20" in entity["citation"][0]["appearance"]["abstract"]
    texts = card_texts(message)
    assert texts[0] == "Sources" and SOURCE.title in texts[1] and SOURCE.section in texts[1]
    assert "actions" not in message["attachments"][0]["content"]  # votes are the thumbs now
    assert message["channelData"]["feedbackLoop"] == {"type": "default"}


# -- streaming in 1:1 chats ------------------------------------------------------------------------------------


def test_a_personal_question_streams_an_update_the_text_and_one_final_message(bot):
    connector = bot.connector

    def after_piece(n: int) -> None:  # let Teams show some text before the rest is written
        if n == 0:
            connector.wait_until(lambda: any(stream_type(a) == "streaming" for a in connector.streamed()))

    bot.engine.between = after_piece
    status, _ = bot.ask("How does a GAN work?")
    assert status in (200, 202)
    streamed = connector.streamed()
    kinds = [stream_type(a) for a in streamed]
    assert kinds[0] == "informative" and kinds[-1] == "final" and "streaming" in kinds
    assert kinds.count("informative") == 1 and kinds.count("final") == 1
    assert streamed[0]["type"] == "typing" and streamed[0]["text"] == SEARCHING
    texts = [a["text"] for a in streamed if stream_type(a) == "streaming"]
    assert all("".join(PIECES).startswith(t) for t in texts) and texts == sorted(texts, key=len)
    sequence = [e["streamSequence"] for a in streamed[:-1] for e in a["entities"] if e.get("type") == "streaminfo"]
    assert sequence == sorted(sequence) and len(set(sequence)) == len(sequence)
    assert len({stream_id(a) for a in streamed[1:]}) == 1 and stream_id(streamed[-1])  # one stream, one id
    final = streamed[-1]
    assert final["type"] == "message" and final["replyToId"] == "1700000000001"
    assert_whole_answer(final)
    assert [b for _, b in connector.messages()] == [final]  # the final is the only message


def test_an_answer_written_at_once_still_streams_its_final_message(bot):
    bot.engine.streams = False  # the template backend: no text until the answer is whole
    bot.ask("How does a GAN work?")
    kinds = [stream_type(a) for a in bot.connector.streamed()]
    assert kinds[0] == "informative" and kinds[-1] == "final"
    [(_, final)] = bot.connector.messages()
    assert_whole_answer(final)


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (400, {"error": {"code": "BadArgument", "message": "Streaming API is not enabled for this conversation"}}),
        (403, {"error": {"code": "ContentStreamNotAllowed", "message": "Content stream is not allowed"}}),
        (500, {"error": {"code": "ServiceError", "message": "Unknown error"}}),
    ],
    ids=["not-enabled", "not-allowed", "server-error"],
)
def test_when_teams_refuses_streaming_the_answer_is_one_ordinary_message(bot, status, error):
    bot.connector.refuse_streaming = (status, error)
    status_code, _ = bot.ask("How does a GAN work?")
    assert status_code in (200, 202)  # the turn has ended: nothing more will be sent
    assert bot.connector.refused and stream_type(bot.connector.refused[0]) == "informative"
    [(path, message)] = bot.connector.messages()
    assert path.startswith("/v3/conversations/a:1on1-conversation/activities/1700000000001")
    assert not stream_type(message)
    assert_whole_answer(message)
    assert len(bot.connector.refused) == 1  # nothing streamed after the refusal


def test_after_the_person_presses_stop_nothing_more_is_sent(bot):
    bot.connector.refuse_streaming = (
        403,
        {"error": {"code": "ContentStreamNotAllowed", "message": "Content stream was cancelled by user."}},
    )
    bot.ask("How does a GAN work?")
    assert bot.connector.refused and bot.connector.messages() == []
    assert [r["question"] for r in bot.feedback.audit(_long_ago())] == ["How does a GAN work?"]  # still audited


def test_turns_answered_in_the_response_are_not_streamed(bot):
    status, body = bot.ask("How does a GAN work?", expect_replies=True)
    assert status == 200 and body["activities"][0]["type"] == "typing"
    [reply] = replies(body)
    assert not stream_type(reply)
    assert_whole_answer(reply)
    assert bot.connector.posts == []  # expectReplies: everything came back in the response


# -- channels and group chats ------------------------------------------------------------------------------------


def test_a_channel_mention_is_answered_with_one_message_through_the_connector(bot):
    conversation = "19:channel@thread.tacv2;messageid=1700000000002"
    status, _ = bot.ask(
        "How does a GAN work?",
        conversation_type="channel",
        conversation_id=conversation,
        mention=True,
        activity_id="1700000000002",
    )
    assert status in (200, 202)
    [(path, reply)] = bot.connector.messages()
    assert path.startswith(f"/v3/conversations/{conversation}/activities")
    assert reply["replyToId"] == "1700000000002" and not stream_type(reply)
    assert_whole_answer(reply)
    assert bot.connector.posts[0][1]["type"] == "typing"  # the typing indicator came first
    assert bot.engine.questions[0].text == "How does a GAN work?"  # the mention was taken out


def test_a_channel_message_without_a_mention_is_ignored(bot):
    status, _ = bot.ask("What is a GAN?", conversation_type="channel", conversation_id="19:c;messageid=9")
    assert status in (200, 202)
    assert bot.connector.posts == [] and bot.engine.questions == []


def test_a_slow_answer_in_a_group_chat_follows_a_holding_reply(make_bot):
    bot = make_bot(teams_inline_s=0.2)
    bot.engine.hold = threading.Event()
    group = {"conversation_type": "groupChat", "conversation_id": "19:group@thread.v2", "mention": True}
    status, _ = bot.ask("How does a GAN work?", **group)
    assert status in (200, 202)
    [(_, holding)] = bot.connector.wait_for_messages(1)
    assert holding["text"] == HOLDING
    bot.engine.hold.set()
    _, (path, answer) = bot.connector.wait_for_messages(2)
    assert path.startswith("/v3/conversations/19:group@thread.v2/activities")
    assert_whole_answer(answer)


def test_a_declined_question_shows_the_nearest_topics(bot):
    _, body = bot.ask("An uncovered question?", expect_replies=True)
    [reply] = replies(body)
    assert "does not cover" in reply["text"] and "citation" not in ai_entity(reply)
    assert "Nearest topics" in card_texts(reply)


# -- the feedback loop -------------------------------------------------------------------------------------------


def test_thumbs_down_on_a_streamed_answer_is_stored_and_the_answer_says_thanks(bot):
    bot.ask("What is RLHF?")
    [(_, final)] = bot.connector.messages()
    message_id = stream_id(final)
    status, _ = bot.send(feedback_invoke("dislike", reply_to_id=message_id, service_url=bot.connector.url))
    assert status == 200
    [vote] = bot.feedback.votes()
    assert vote["vote"] == "not_helpful" and vote["question"] == "What is RLHF?" and vote["platform"] == "teams"
    assert vote["user"] == bot.feedback.user_hash("aad-user-1")
    [(path, updated)] = bot.connector.updates()
    assert path == f"PUT /v3/conversations/a:1on1-conversation/activities/{message_id}"
    assert updated["text"] == final["text"] and ai_entity(updated)["citation"]  # the answer itself stays
    assert "editors will look" in card_texts(updated)[-1]
    assert "feedbackLoop" not in (updated.get("channelData") or {})  # the thumbs give way to the thank-you
    # Changing one's mind: the later vote is the one kept.
    bot.send(feedback_invoke("like", reply_to_id=message_id, service_url=bot.connector.url))
    assert [v["vote"] for v in bot.feedback.votes()] == ["helpful"]


def test_what_someone_writes_after_a_thumb_is_kept_redacted_with_their_vote(bot):
    import datetime as dt

    bot.ask("What is RLHF?")
    [(_, final)] = bot.connector.messages()
    comment = "Too vague for our claims team; ask me at jane.doe@example.com"
    invoke = feedback_invoke("dislike", reply_to_id=stream_id(final), service_url=bot.connector.url, comment=comment)
    assert bot.send(invoke)[0] == 200
    [record] = [r for r in bot.feedback.audit(dt.datetime(2000, 1, 1, tzinfo=dt.UTC)) if r["votes"]]
    [vote] = record["votes"]
    assert vote["comment"].startswith("Too vague for our claims team") and "jane.doe@example.com" not in vote["comment"]


def test_thumbs_on_a_message_that_is_not_an_answer_are_acknowledged_and_ignored(bot, caplog):
    status, _ = bot.send(feedback_invoke("like", reply_to_id="some-other-message", service_url=bot.connector.url))
    assert status == 200 and bot.feedback.votes() == [] and bot.connector.posts == []
    assert any("ignored Teams feedback" in r.getMessage() for r in caplog.records)


def test_the_buttons_of_an_answer_card_sent_before_the_feedback_loop_still_vote(bot):
    bot.ask("What is RLHF?", conversation_type="channel", conversation_id="19:c@thread.tacv2", mention=True)
    [feedback_id] = [v["id"] for v in bot.feedback.audit(_long_ago())]
    button = {"adoptbot": cards.FEEDBACK, "vote": "not_helpful", "answer_id": feedback_id}
    click = teams_activity(
        "",
        service_url=bot.connector.url,
        conversation_type="channel",
        conversation_id="19:c@thread.tacv2",
        value=button,
    )
    click["replyToId"] = "reply-card-1"
    bot.send(click)
    [(path, updated)] = bot.connector.updates()
    assert path.endswith("/activities/reply-card-1") and "editors will look" in card_texts(updated)[-1]
    # Where the card cannot be updated (no connector under expectReplies): a thank-you message.
    _, body = bot.send(
        teams_activity("", service_url=bot.connector.url, expect_replies=True, value={**button, "vote": "helpful"})
    )
    assert "Thanks" in replies(body)[0]["text"]
    assert [v["vote"] for v in bot.feedback.votes()] == ["helpful"]


# -- state that survives a restart -------------------------------------------------------------------------------


def test_follow_ups_and_votes_still_work_after_a_restart(bot):
    bot.ask("What is a GAN?")
    [(_, final)] = bot.connector.messages()
    bot.stop()
    bot.start()  # a new endpoint and chat core over the same data directory

    bot.ask("and how is it trained?", expect_replies=True)
    follow_up = bot.engine.questions[-1]
    assert [(t.role, t.text) for t in follow_up.history] == [("user", "What is a GAN?"), ("assistant", final["text"])]
    bot.send(feedback_invoke("like", reply_to_id=stream_id(final), service_url=bot.connector.url))
    [(path, updated)] = bot.connector.updates()
    assert path.endswith(f"/activities/{stream_id(final)}") and "glad it helped" in card_texts(updated)[-1]
    assert [v["vote"] for v in bot.feedback.votes()] == ["helpful"]


def test_each_conversation_keeps_its_own_history(bot):
    bot.ask("What is a GAN?", conversation_id="a:one", expect_replies=True)
    bot.ask("What is a VAE?", conversation_id="a:two", expect_replies=True)
    bot.ask("and why?", conversation_id="a:two", expect_replies=True)
    assert [t.text for t in bot.engine.questions[-1].history if t.role == "user"] == ["What is a VAE?"]


# -- fair use ------------------------------------------------------------------------------------------------------


def test_over_the_per_person_limit_the_reply_says_when_to_try_again(make_bot):
    bot = make_bot(questions_per_minute=2)
    for _ in range(2):
        bot.ask("What is a GAN?", expect_replies=True)
    _, body = bot.ask("What is a GAN?", expect_replies=True)
    [reply] = replies(body)
    assert "try again in" in reply["text"] and len(bot.engine.questions) == 2
    _, body = bot.ask("What is a GAN?", expect_replies=True, aad_object_id="aad-user-2")  # someone else
    assert replies(body)[0]["text"] == "".join(PIECES)


def test_questions_waiting_for_a_worker_are_told_their_place_in_line(make_bot):
    bot = make_bot(workers=1, teams_inline_s=0.2)
    connector, gate = bot.connector, threading.Event()
    bot.engine.hold = gate
    # The one worker is busy with a channel question; a group chat question and a 1:1 question wait.
    bot.ask("first?", conversation_type="channel", conversation_id="19:c@thread.tacv2", mention=True)
    assert connector.wait_for_messages(1)[0][1]["text"] == HOLDING
    bot.ask("second?", conversation_type="groupChat", conversation_id="19:group@thread.v2", mention=True)
    assert connector.wait_for_messages(2)[1][1]["text"] == in_line(1)  # instead of a holding reply
    personal = threading.Thread(target=bot.ask, args=("third?",))
    personal.start()
    connector.wait_until(lambda: any(a.get("text") == in_line(2) for a in connector.streamed()), what="#2 in line")
    gate.set()
    personal.join(60)
    informative = [a["text"] for a in connector.streamed() if stream_type(a) == "informative"]
    assert informative == [in_line(2), SEARCHING]
    answers = connector.wait_for_messages(5)[2:]
    assert sorted(p.split("/")[3] for p, _ in answers) == [
        "19:c@thread.tacv2",
        "19:group@thread.v2",
        "a:1on1-conversation",
    ]
    assert all(b["text"] == "".join(PIECES) for _, b in answers)
    assert len(connector.messages()) == 5  # holding, in line, three answers: each question answered once


# -- commands ------------------------------------------------------------------------------------------------------


def test_reindex_is_refused_for_a_non_admin_and_runs_for_an_admin(bot, caplog):
    _, body = bot.ask("reindex", expect_replies=True)
    assert "only knowledge base editors" in replies(body)[0]["text"]
    assert any("reindex refused" in r.getMessage() for r in caplog.records)
    status, _ = bot.ask("reindex", aad_object_id=ADMIN)
    assert status in (200, 202)
    started, summary = bot.connector.wait_for_messages(2)
    assert "Reindexing" in started[1]["text"]
    assert "Reindex finished" in summary[1]["text"] and "teams-note.md" in summary[1]["text"]
    assert summary[0].startswith("/v3/conversations/a:1on1-conversation/activities")


def test_status_and_help(bot):
    _, body = bot.ask("status", expect_replies=True)
    assert "12 documents" in replies(body)[0]["text"] and "stub (for tests)" in replies(body)[0]["text"]
    _, body = bot.ask("help", expect_replies=True)
    assert "**reindex**" in replies(body)[0]["text"] and replies(body)[0]["textFormat"] == "markdown"
    assert bot.engine.questions == []


# -- the edge: malformed activities, authentication, configuration ---------------------------------------------


@pytest.mark.parametrize(
    "payload",
    [
        b"{not json",
        b"[]",
        json.dumps({"type": "message"}).encode(),
        json.dumps({"type": 5, "conversation": "x"}).encode(),
    ],
    ids=["not-json", "not-an-object", "no-conversation", "wrong-types"],
)
def test_malformed_activities_get_400_and_the_server_keeps_working(bot, payload):
    assert bot.send(payload)[0] == 400
    status, body = bot.ask("What is a VAE?", expect_replies=True)
    assert status == 200 and replies(body)[0]["text"] == "".join(PIECES)


def test_unauthenticated_requests_are_rejected_when_credentials_are_configured(make_bot):
    prefix = TEAMS_CLIENT_ID.rsplit("__", 1)[0] + "__"
    bot = make_bot(
        teams_allow_anonymous=False,
        teams_sdk_env=(
            (TEAMS_CLIENT_ID, "00000000-0000-0000-0000-000000000001"),
            (prefix + "CLIENTSECRET", "secret"),
            (prefix + "TENANTID", "tenant-1"),
        ),
    )
    activity = teams_activity("What is a GAN?", service_url=bot.connector.url, expect_replies=True)
    assert bot.send(activity)[0] == 401
    assert bot.send(activity, headers={"Authorization": "Basic abc"})[0] == 401
    assert bot.connector.posts == [] and bot.engine.questions == []


def test_missing_teams_configuration_names_the_variable(bot):
    from common.errors import ConfigError

    settings = dataclasses.replace(bot.settings, teams_allow_anonymous=False, teams_sdk_env=())
    with pytest.raises(ConfigError, match=TEAMS_CLIENT_ID):
        build_teams_endpoint(settings=settings, chat=bot.chat)
    settings = dataclasses.replace(settings, teams_sdk_env=((TEAMS_CLIENT_ID, "abc"),))
    with pytest.raises(ConfigError, match="CLIENTSECRET"):
        build_teams_endpoint(settings=settings, chat=bot.chat)


def test_teams_package_holds_the_filled_manifest_and_icons(tmp_path, capsys):
    import zipfile

    from adoptbot.cli import main

    out = tmp_path / "app.zip"
    app_id = "0e6f3c2a-1b2c-4d5e-8f90-123456789abc"
    assert main(["teams-package", "--app-id", app_id, "--out", str(out)], runtime=None) == 0
    with zipfile.ZipFile(out) as zf:
        assert sorted(zf.namelist()) == ["color.png", "manifest.json", "outline.png"]
        manifest = json.loads(zf.read("manifest.json"))
        assert zf.read("color.png")[:8] == b"\x89PNG\r\n\x1a\n"
    assert manifest["id"] == app_id and manifest["bots"][0]["botId"] == app_id
    assert "{{" not in json.dumps(manifest)
    assert {c["title"] for c in manifest["bots"][0]["commandLists"][0]["commands"]} == {
        "help",
        "status",
        "reindex",
        "assess",
        "checklist",
    }
    assert main(["teams-package", "--app-id", "not-a-guid", "--out", str(out)], runtime=None) == 2
    assert "Microsoft App ID" in capsys.readouterr().err


def _long_ago() -> Any:
    import datetime as dt

    return dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
