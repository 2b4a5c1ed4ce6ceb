"""Slack as a modern AI assistant, over real HTTP against the fake Web API, with a scripted engine.

Streaming (chat.startStream / appendStream / stopStream) and its fallback, the assistant pane
(suggested prompts, status, title), private answers with "Share in channel", per-channel modes and
fair use, each asserted on the exact Web API calls Slack would receive.
"""

from __future__ import annotations

import threading
import time
import urllib.request
from pathlib import Path

import pytest

from tests.fake_slack import BOT_USER, action_body, command_body, feedback_value
from tests.slack_harness import Slack, channel_message, fresh_ts, settle, slacks
from tests.stub_engine import PIECES, StubEngine


@pytest.fixture
def slack(tmp_path):
    with slacks(tmp_path) as make:
        yield make


# -- streaming ---------------------------------------------------------------------------------------------


def test_a_mention_is_streamed_into_its_thread_then_closed_with_sources_and_feedback(slack):
    s = slack()
    ts = s.mention("How do GANs work?")
    [stop] = s.api.wait_for("chat.stopStream")
    [start] = s.api.called("chat.startStream")
    assert start["channel"] == "C1" and start["thread_ts"] == ts
    assert start["recipient_user_id"] == "U1" and start["recipient_team_id"] == "T1"  # required in channels
    assert s.api.streams[stop["ts"]] == "".join(PIECES)  # every piece, in order, exactly once
    tail = stop["blocks"]
    assert tail[0]["elements"][0]["text"] == "*Sources*" and "Stub guidance" in tail[0]["elements"][1]["text"]
    assert tail[-1]["type"] == "context_actions" and tail[-1]["elements"][0]["type"] == "feedback_buttons"
    settle(s)
    assert s.api.called("chat.postMessage") == []  # streamed, so never posted a second time
    assert [r["name"] for r in s.api.called("reactions.add")] == ["eyes"] and s.api.called("reactions.remove")


def test_when_streaming_is_refused_the_answer_is_posted_once(slack):
    s = slack()
    s.api.errors["chat.startStream"] = "not_allowed_token_type"
    ts = s.mention("How do GANs work?")
    [reply] = s.api.wait_for("chat.postMessage")
    settle(s)
    assert reply["thread_ts"] == ts and "".join(PIECES)[:40] in reply["blocks"][0]["text"]["text"]
    assert any(b["type"] == "context_actions" for b in reply["blocks"])
    assert len(s.api.called("chat.postMessage")) == 1 and s.api.called("chat.stopStream") == []


def test_a_stream_that_breaks_midway_is_finished_in_place_not_posted_again(slack):
    s = slack()
    s.api.errors["chat.stopStream"] = "streaming_state_conflict"
    s.mention("How do GANs work?")
    [update] = s.api.wait_for("chat.update")
    [start] = s.api.called("chat.startStream")
    settle(s)
    assert update["ts"] and update["text"].startswith(PIECES[0].strip()[:30])
    assert any(b["type"] == "context_actions" for b in update["blocks"])
    assert s.api.called("chat.postMessage") == [] and start["thread_ts"]


def test_a_backend_that_answers_at_once_is_posted_without_a_stream(slack):
    s = slack(StubEngine(streams=False))
    s.mention("How do GANs work?")
    [reply] = s.api.wait_for("chat.postMessage")
    settle(s)
    assert s.api.called("chat.startStream") == [] and "Stub guidance" in str(reply["blocks"])


# -- the assistant pane ------------------------------------------------------------------------------------


def started(thread_ts: str = "1700000400.000001") -> dict:
    return {
        "type": "assistant_thread_started",
        "assistant_thread": {"user_id": "U1", "channel_id": "D1", "thread_ts": thread_ts, "context": {}},
        "event_ts": thread_ts,
    }


def test_opening_the_assistant_pane_offers_four_suggested_prompts_and_a_greeting(slack):
    s = slack()
    s.event(started())
    [prompts] = s.api.wait_for("assistant.threads.setSuggestedPrompts")
    assert prompts["channel_id"] == "D1" and prompts["thread_ts"] == "1700000400.000001"
    assert len(prompts["prompts"]) == 4 and all(p["title"] and p["message"] for p in prompts["prompts"])
    [hello] = s.api.wait_for("chat.postMessage")
    assert hello["thread_ts"] == "1700000400.000001" and "Hi" in hello["text"]


def test_suggested_prompts_come_from_the_setting_when_given(slack):
    s = slack(slack_suggested_prompts="What is RAG?| Which model for images? ")
    s.event(started())
    [prompts] = s.api.wait_for("assistant.threads.setSuggestedPrompts")
    assert [p["message"] for p in prompts["prompts"]] == ["What is RAG?", "Which model for images?"]


def test_a_question_in_the_assistant_pane_shows_status_sets_the_title_and_streams(slack):
    s = slack()
    ts = s.dm("Which model family suits product photos?", thread_ts="1700000400.000001")
    [stop] = s.api.wait_for("chat.stopStream")
    [status] = s.api.called("assistant.threads.setStatus")
    assert status["channel_id"] == "D1" and status["thread_ts"] == "1700000400.000001"
    assert status["status"] and status["loading_messages"]
    [title] = s.api.called("assistant.threads.setTitle")
    assert title["title"] == "Which model family suits product photos?"
    [start] = s.api.called("chat.startStream")
    assert start["thread_ts"] == "1700000400.000001" and "recipient_user_id" not in start  # a DM needs none
    assert s.api.streams[stop["ts"]] == "".join(PIECES)
    assert s.api.called("reactions.add") == [] and ts  # the status replaces :eyes:
    assert s.engine.questions[-1].text == "Which model family suits product photos?"


def test_a_follow_up_in_the_pane_keeps_the_title_and_reads_the_thread(slack):
    s = slack()
    thread = "1700000400.000002"
    s.api.add_message("D1", thread, {"user": "U1", "text": "What is a GAN?", "ts": "1700000400.000003"})
    s.api.add_message("D1", thread, {"user": BOT_USER, "text": "A GAN is ...", "ts": "1700000400.000004"})
    ts = s.dm("and what about VAEs?", thread_ts=thread)
    s.api.wait_for("chat.stopStream")
    assert s.api.called("assistant.threads.setTitle") == []
    history = s.engine.questions[-1].history
    assert [t.role for t in history] == ["user", "assistant"] and ts


def test_a_top_level_direct_message_is_answered_without_a_stream(slack):
    s = slack()
    s.dm("What is a GAN?")
    [reply] = s.api.wait_for("chat.postMessage")
    settle(s)
    assert reply["channel"] == "D1" and reply.get("thread_ts") is None and s.api.called("chat.startStream") == []


# -- private answers ---------------------------------------------------------------------------------------


def test_ask_answers_privately_and_share_posts_it_to_the_channel(slack):
    s = slack()
    assert s.post(command_body("ask What is a GAN?", user="U1", response_url=s.api.url + "/r/ask"),
                  "application/x-www-form-urlencoded") == 200  # fmt: skip
    [private] = s.api.wait_for("r/ask")
    assert private["response_type"] == "ephemeral"
    share = next(b for b in private["blocks"] if b.get("block_id") == "share")["elements"][0]
    assert share["text"]["text"] == "Share in channel"
    body = action_body(action_id="share_answer", value=share["value"], user="U1", message=None,
                       response_url=s.api.url + "/r/share", block_id="share")  # fmt: skip
    assert s.post(body, "application/x-www-form-urlencoded") == 200
    [shared] = s.api.wait_for("chat.postMessage")
    assert shared["channel"] == "C1" and "Stub guidance" in str(shared["blocks"])
    assert "Shared by <@U1>" in str(shared["blocks"]) and not any(
        b.get("block_id") == "share" for b in shared["blocks"]
    )
    assert any(b["type"] == "context_actions" for b in shared["blocks"])  # others can vote on it too
    [gone] = s.api.wait_for("r/share")
    assert gone["delete_original"] is True


def test_a_private_answer_can_be_shared_after_a_restart_or_through_another_replica(slack, tmp_path):
    first = slack()
    assert first.post(command_body("ask What is a GAN?", user="U1", response_url=first.api.url + "/r/ask"),
                      "application/x-www-form-urlencoded") == 200  # fmt: skip
    [private] = first.api.wait_for("r/ask")
    value = next(b for b in private["blocks"] if b.get("block_id") == "share")["elements"][0]["value"]
    root = first.runtime.settings.data_dir.parent
    again = Slack(root, StubEngine())  # another app over the same data directory: a replica, or this one restarted
    body = action_body(action_id="share_answer", value=value, user="U1", message=None,
                       response_url=again.api.url + "/r/share", block_id="share")  # fmt: skip
    assert again.post(body, "application/x-www-form-urlencoded") == 200
    [shared] = again.api.wait_for("chat.postMessage")
    assert "Stub guidance" in str(shared["blocks"]) and "Shared by <@U1>" in str(shared["blocks"])
    again.close()


def channels_file(tmp_path: Path, text: str) -> str:
    path = tmp_path / "channels.yaml"
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_a_private_channel_answers_mentions_only_to_the_asker(slack, tmp_path):
    s = slack(slack_channels_file=channels_file(tmp_path, "channels:\n  C0PRIV2: private\n"))
    ts = s.mention("What is a GAN?", channel="C0PRIV2")
    [private] = s.api.wait_for("chat.postEphemeral")
    settle(s)
    assert private["channel"] == "C0PRIV2" and private["user"] == "U1" and private.get("thread_ts") is None
    assert any(b.get("block_id") == "share" for b in private["blocks"]) and ts
    assert s.api.called("chat.postMessage") == [] and s.api.called("chat.startStream") == []


def test_a_channel_that_is_off_says_so_privately_and_asks_nothing(slack, tmp_path):
    s = slack(slack_channels_file=channels_file(tmp_path, "default: normal\nchannels:\n  C0OFF3: 'off'\n"))
    s.mention("What is a GAN?", channel="C0OFF3")
    [note] = s.api.wait_for("chat.postEphemeral")
    settle(s)
    assert "turned off" in note["text"] and s.engine.questions == []


def test_a_mention_only_channel_ignores_unmentioned_thread_replies(slack, tmp_path):
    s = slack(slack_channels_file=channels_file(tmp_path, "channels:\n  C0MENT4: mention-only\n"))
    root = s.mention("What is a GAN?", channel="C0MENT4")
    s.api.wait_for("chat.stopStream")
    s.api.add_message("C0MENT4", root, {"user": "U1", "text": "q", "ts": root})
    ts = fresh_ts()
    s.event(channel_message("why does that matter?", ts=ts, thread_ts=root, channel="C0MENT4"))
    s.mention("and for VAEs?", channel="C0MENT4", thread_ts=root)  # a mention in the thread is still answered
    s.api.wait_for("chat.stopStream", 2)
    settle(s)
    assert [q.text for q in s.engine.questions] == ["What is a GAN?", "and for VAEs?"]


def test_a_broken_channels_file_stops_start_up_naming_it(tmp_path):
    from common.errors import ConfigError

    path = channels_file(tmp_path, "channels:\n  general: private\n")
    with pytest.raises(ConfigError, match="not a Slack channel id"):
        Slack(tmp_path, StubEngine(), slack_channels_file=path)


# -- fair use ------------------------------------------------------------------------------------------------


def test_over_the_per_person_limit_the_asker_is_told_when_to_try_again(slack):
    s = slack(questions_per_minute=2)
    for n in range(3):
        s.mention(f"Question {n}?")
    [note] = s.api.wait_for("chat.postEphemeral")
    s.api.wait_for("chat.stopStream", 2)
    settle(s)
    assert note["user"] == "U1" and "try again in" in note["text"] and "seconds" in note["text"]
    assert len(s.engine.questions) == 2


def test_a_full_line_tells_people_their_place_or_to_come_back_and_answers_each_once(slack):
    hold = threading.Event()
    s = slack(StubEngine(hold=hold), workers=1, max_waiting=1)
    s.mention("First?")
    deadline = time.monotonic() + 30
    while not s.engine.questions:  # the first question is being answered (held)
        assert time.monotonic() < deadline
        time.sleep(0.01)
    asked = {s.mention("Second?"): "Second?", s.mention("Third?"): "Third?"}  # Slack may deliver them in any order
    notes = s.api.wait_for("chat.postEphemeral", 2)
    [waiting] = [n for n in notes if "#1 in line" in n["text"]]
    [refused] = [n for n in notes if n is not waiting]
    assert "a lot of questions" in refused["text"] and "try again" in refused["text"]
    hold.set()
    s.api.wait_for("chat.stopStream", 2)
    settle(s)
    answered = sorted(q.text for q in s.engine.questions)
    assert answered == sorted(["First?", asked[waiting["thread_ts"]]])  # the one told to wait, not the one refused
    assert len(s.api.called("chat.stopStream")) == 2


# -- feedback ------------------------------------------------------------------------------------------------


def test_thumbs_on_an_answer_posted_before_the_upgrade_still_count(slack):
    s = slack(StubEngine(streams=False))
    s.mention("What is a GAN?")
    [reply] = s.api.wait_for("chat.postMessage")
    answer_id = feedback_value(reply).removeprefix("helpful:")
    message = {"ts": "1700000000.000001", "text": "old", "blocks": [{"type": "actions", "block_id": "feedback"}]}
    body = action_body(action_id="feedback_not_helpful", value=answer_id, user="U9", message=message,
                       response_url=s.api.url + "/r/old")  # fmt: skip
    assert s.post(body, "application/x-www-form-urlencoded") == 200
    [update] = s.api.wait_for("r/old")
    assert "editors will look" in update["text"]
    [vote] = [v for v in s.runtime.feedback.votes() if v["answer_id"] == answer_id]
    assert vote["vote"] == "not_helpful"


@pytest.mark.parametrize("name", ["manifest.yml", "manifest-http.yml"])
def test_the_manifests_ask_for_what_the_assistant_uses(name):
    import yaml

    from tests.conftest import REPO

    manifest = yaml.safe_load((REPO / "deploy" / "slack" / name).read_text(encoding="utf-8"))
    scopes = set(manifest["oauth_config"]["scopes"]["bot"])
    assert {"assistant:write", "chat:write", "reactions:write", "commands", "im:history"} <= scopes
    events = set(manifest["settings"]["event_subscriptions"]["bot_events"])
    assert {"app_mention", "message.im", "assistant_thread_started", "assistant_thread_context_changed"} <= events
    agent = manifest["features"]["agent_view"]
    assert agent["agent_description"] and 1 <= len(agent["suggested_prompts"]) <= 4
    assert manifest["settings"]["interactivity"]["is_enabled"] is True


def test_questions_votes_and_the_line_are_counted_for_prometheus(slack):
    s = slack(StubEngine(streams=False))
    s.mention("What is a GAN?")
    s.mention("something uncovered")
    replies = s.api.wait_for("chat.postMessage", 2)
    body = action_body(action_id="feedback", value=feedback_value(replies[0]), user="U9", message=None,
                       response_url=s.api.url + "/r/v", kind="feedback_buttons")  # fmt: skip
    assert s.post(body, "application/x-www-form-urlencoded") == 200
    s.api.wait_for("r/v")
    with urllib.request.urlopen(s.server.url + "/metrics", timeout=30) as response:
        metrics = response.read().decode()
    assert 'adoptbot_questions_total{platform="slack",status="answered"} 1.0' in metrics
    assert 'adoptbot_declines_total{platform="slack"} 1.0' in metrics
    assert 'adoptbot_votes_total{vote="helpful"} 1.0' in metrics and "adoptbot_queue_depth 0.0" in metrics
