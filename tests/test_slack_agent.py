"""Slack's Agent messaging experience (agent_view), over real HTTP against the fake Web API, with a scripted engine.

Opening the DM's Messages tab (app_home_opened) offers suggested prompts; a question there gets the loading
status, a title, an agent session and one streamed reply to the person's message, with the search as a task
and sources and feedback at the end; the session's stop button ends it; app_context_changed is acknowledged.
"""

from __future__ import annotations

import logging
import threading

import pytest

from tests.slack_harness import drain, settle, slacks
from tests.stub_engine import PIECES, SOURCE, StubEngine


@pytest.fixture
def slack(tmp_path):
    with slacks(tmp_path) as make:
        yield make


def opened(channel: str = "D1", tab: str = "messages") -> dict:
    """app_home_opened, as Slack sends it when someone opens the app's DM."""
    return {"type": "app_home_opened", "user": "U1", "channel": channel, "tab": tab, "event_ts": "1700000400.000009"}


def in_the_tab(s, channel: str = "D1") -> None:
    s.event(opened(channel))
    s.api.wait_for("assistant.threads.setSuggestedPrompts")


def test_opening_the_messages_tab_offers_suggested_prompts_once(slack):
    s = slack()
    s.event(opened())
    [prompts] = s.api.wait_for("assistant.threads.setSuggestedPrompts")
    assert prompts["channel_id"] == "D1" and "thread_ts" not in prompts  # an agent app's call with one fails
    assert len(prompts["prompts"]) == 4 and all(p["title"] and p["message"] for p in prompts["prompts"])
    s.event(opened())  # opened again: the prompts are already there
    s.event(opened(tab="home"))
    settle(s)
    assert len(s.api.called("assistant.threads.setSuggestedPrompts")) == 1 and s.api.called("chat.postMessage") == []


def test_the_messages_tab_is_remembered_across_a_restart(slack, tmp_path):
    first = slack()
    in_the_tab(first)
    again = slack(data_dir=first.runtime.settings.data_dir)  # the same database: a replica, or a restart
    again.event(opened())
    again.dm("What is a GAN?")
    again.api.wait_for("chat.stopStream")
    settle(again)
    assert again.api.called("assistant.threads.setSuggestedPrompts") == []
    [start] = again.api.called("chat.startStream")
    assert start["recipient_user_id"] == "U1"


def test_a_question_in_the_messages_tab_gets_status_title_session_and_one_streamed_reply(slack):
    s = slack()
    in_the_tab(s)
    ts = s.dm("Which model family suits product photos?")
    [stop] = s.api.wait_for("chat.stopStream")
    settle(s)
    [status] = s.api.called("assistant.threads.setStatus")
    assert status["channel_id"] == "D1" and status["thread_ts"] == ts and status["loading_messages"]
    [title] = s.api.called("assistant.threads.setTitle")
    assert title["thread_ts"] == ts and title["title"] == "Which model family suits product photos?"
    [session] = s.api.called("agents.sessions.setStatus")
    assert (session["thread_ts"], session["status"], session["title"]) == (ts, "processing", title["title"])
    [start] = s.api.called("chat.startStream")
    assert start["channel"] == "D1" and start["thread_ts"] == ts  # a reply to the person's message
    assert (start["recipient_user_id"], start["recipient_team_id"]) == ("U1", "T1")
    [searching] = start["chunks"]
    assert (searching["type"], searching["title"], searching["status"]) == (
        "task_update", "Searching the knowledge base", "in_progress",
    )  # fmt: skip
    assert s.api.called("chat.appendStream") and s.api.streams[stop["ts"]] == "".join(PIECES)
    [found] = [c for c in stop["chunks"] if c["type"] == "task_update"]
    assert (found["id"], found["title"], found["status"]) == (searching["id"], "Found 1 passage", "complete")
    assert found["sources"] == [{"type": "url", "url": SOURCE.url, "text": "[1] Stub guidance"}]
    assert "Stub guidance" in str(stop["blocks"]) and stop["blocks"][-1]["type"] == "context_actions"
    assert stop["blocks"][-1]["elements"][0]["type"] == "feedback_buttons"
    assert s.api.called("chat.postMessage") == [] and s.api.called("reactions.add") == []  # exactly one reply
    assert s.api.called("conversations.history") == [] and s.engine.questions[-1].history == ()  # a new thread


def test_an_answer_given_at_once_is_still_streamed_whole_in_the_tab(slack):
    s = slack(StubEngine(streams=False))
    in_the_tab(s)
    s.dm("What is a GAN?")
    [stop] = s.api.wait_for("chat.stopStream")
    settle(s)
    assert s.api.streams[stop["ts"]] == "".join(PIECES) and len(s.api.called("chat.startStream")) == 1
    assert s.api.called("chat.postMessage") == []


def test_when_streaming_is_refused_in_the_tab_the_answer_is_posted_once_in_a_markdown_block(slack):
    s = slack()
    s.api.errors["chat.startStream"] = "not_allowed_token_type"
    in_the_tab(s)
    ts = s.dm("What is a GAN?")
    [reply] = s.api.wait_for("chat.postMessage")
    settle(s)
    assert reply["channel"] == "D1" and reply["thread_ts"] == ts
    assert reply["blocks"][0] == {"type": "markdown", "text": "".join(PIECES)}
    assert reply["blocks"][-1]["type"] == "context_actions" and "Stub guidance" in reply["text"]
    assert len(s.api.called("chat.postMessage")) == 1 and s.api.called("chat.stopStream") == []
    assert [c["status"] for c in s.api.called("agents.sessions.setStatus")] == ["processing", "active"]


def test_a_long_answer_is_streamed_within_slacks_markdown_limit(slack):
    class Long(StubEngine):
        def answer(self, question, *, backend=None, on_text=None):
            answer = super().answer(question, backend=backend, on_text=None)
            return type(answer)(**{**answer.__dict__, "text": "word " * 5000})  # 25,000 characters, given at once

    s = slack(Long())
    in_the_tab(s)
    s.dm("Tell me everything")
    [stop] = s.api.wait_for("chat.stopStream")
    settle(s)
    sent = [*s.api.called("chat.appendStream"), stop]
    texts = [c["text"] for call in sent for c in call.get("chunks") or [] if c["type"] == "markdown_text"]
    assert all(len(t) <= 12_000 for t in texts) and "".join(texts) == "word " * 5000


def test_the_stop_button_stops_the_answer_and_says_so(slack):
    hold = threading.Event()
    s = slack(StubEngine(hold=hold))
    in_the_tab(s)
    ts = s.dm("What is a GAN?")
    [start] = s.api.wait_for("chat.startStream")  # the search shows while the answer is held
    s.event({"type": "agent_session_stopped", "channel": "D1", "thread_ts": ts, "user": "U1",
             "streaming_message_ts": [], "event_ts": "1700000999.000001"})  # fmt: skip
    drain(s.app.listener_runner.listener_executor)  # the stop is taken before the answer goes on
    hold.set()
    [stop] = s.api.wait_for("chat.stopStream")
    settle(s)
    assert start["thread_ts"] == ts and s.api.called("chat.appendStream") == []  # nothing more was written
    assert "Stopped" in s.api.streams[stop["ts"]] and PIECES[0] not in s.api.streams[stop["ts"]]
    assert stop["session_status"] == "active" and not stop.get("blocks")
    assert s.api.called("chat.postMessage") == []


def test_app_context_changed_is_acknowledged_without_an_unhandled_request(slack, caplog):
    s = slack()
    with caplog.at_level(logging.WARNING):
        s.event({"type": "app_context_changed", "context": {"entities": [
            {"type": "slack#/types/channel_id", "value": "C0VIEWED", "team_id": "T1"}]}})  # fmt: skip
        s.event(opened())
        settle(s)
    assert not [r for r in caplog.records if "Unhandled request" in r.getMessage()]
    assert [m for m, _ in s.api.calls if m != "auth.test"] == ["assistant.threads.setSuggestedPrompts"]


def test_without_the_messages_tab_a_top_level_dm_is_still_a_classic_dm(slack):
    s = slack()
    s.dm("What is a GAN?")
    [reply] = s.api.wait_for("chat.postMessage")
    settle(s)
    assert reply.get("thread_ts") is None and s.api.called("agents.sessions.setStatus") == []


def test_the_assistant_view_pane_still_greets_a_new_assistant_thread(slack):
    s = slack()
    s.event({"type": "assistant_thread_started", "event_ts": "1700000400.000001",
             "assistant_thread": {"user_id": "U1", "channel_id": "D2", "thread_ts": "1700000400.000001"}})  # fmt: skip
    [prompts] = s.api.wait_for("assistant.threads.setSuggestedPrompts")
    [hello] = s.api.wait_for("chat.postMessage")
    assert prompts["thread_ts"] == hello["thread_ts"] == "1700000400.000001"
    s.dm("What is a GAN?", thread_ts="1700000400.000001", channel="D2")
    [start] = s.api.wait_for("chat.startStream")
    settle(s)
    assert "recipient_user_id" not in start and {c["type"] for c in start["chunks"]} == {"markdown_text"}  # as before
    assert s.api.called("agents.sessions.setStatus") == []


@pytest.mark.parametrize("name", ["manifest.yml", "manifest-http.yml"])
def test_the_manifests_subscribe_to_the_agent_messaging_events(name):
    import yaml

    from tests.conftest import REPO

    manifest = yaml.safe_load((REPO / "deploy" / "slack" / name).read_text(encoding="utf-8"))
    events = set(manifest["settings"]["event_subscriptions"]["bot_events"])
    assert {"app_home_opened", "app_context_changed", "agent_session_stopped", "message.im"} <= events
    assert manifest["features"]["agent_view"] and manifest["features"]["app_home"]["messages_tab_enabled"]
