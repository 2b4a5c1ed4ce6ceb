"""The chat core every platform calls, and its fair-use limits."""

from __future__ import annotations

import datetime as dt
import threading

import pytest

from adoptbot.runtime import Runtime
from bot.chat import APOLOGY, Chat
from bot.fairuse import FairUse, Refusal, Ticket
from bot.reindex import Reindexer
from bot.types import Question
from common.errors import BackendUnavailable
from common.settings import Settings
from tests.stub_engine import StubEngine


class Broken(StubEngine):
    def __init__(self, error: Exception) -> None:
        super().__init__()
        self.error = error

    def answer(self, question, *, backend=None, on_text=None):
        raise self.error


def core(tmp_path, engine=None, **settings) -> Chat:
    values = dict(data_dir=tmp_path / "data", slack_admins="UADMIN", teams_admins="aad-admin")
    values.update(settings)
    runtime = Runtime(Settings(**values))
    runtime.__dict__["engine"] = engine or StubEngine()
    runtime.__dict__["reindexer"] = Reindexer(lambda: (_ for _ in ()).throw(RuntimeError("disk full")))
    runtime.__dict__["index_info"] = lambda: None
    return runtime.chat


def test_an_answer_is_audited_and_a_decline_is_forwarded_with_its_link(tmp_path):
    chat = core(tmp_path)
    reply = chat.ask(Question("What is a GAN?", user="U1"), platform="slack", channel_kind="thread")
    assert reply.kind == "answer" and reply.feedback_id and not reply.forward
    asked_for_link = []
    declined = chat.ask(
        Question("something uncovered", user="U1"), platform="teams", channel_kind="channel",
        link=lambda: asked_for_link.append(1) or "https://link.example/1",
    )  # fmt: skip
    assert "https://link.example/1" in declined.forward and asked_for_link == [1]
    platforms = {r["platform"] for r in chat.feedback.audit(dt.datetime(2000, 1, 1, tzinfo=dt.UTC))}
    assert platforms == {"slack", "teams"}


def test_small_talk_is_audited_but_has_nothing_to_vote_on(tmp_path):
    reply = core(tmp_path).ask(Question("hello"), platform="slack", channel_kind="dm")
    assert reply.kind == "smalltalk" and reply.feedback_id == ""


def test_a_failure_is_an_apology_unless_the_person_chose_the_backend(tmp_path):
    chat = core(tmp_path, Broken(BackendUnavailable("no GGUF model at /x.gguf")))
    assert chat.ask(Question("q"), platform="slack", channel_kind="dm").text == APOLOGY
    with pytest.raises(BackendUnavailable, match=r"x\.gguf"):
        chat.ask(Question("q"), platform="terminal", channel_kind="terminal", backend="llm")
    assert core(tmp_path, Broken(KeyError("x"))).ask(Question("q"), platform="teams", channel_kind="dm").kind == "error"


def test_only_each_platforms_editors_may_reindex_and_a_refusal_names_the_setting(tmp_path):
    chat = core(tmp_path)
    said = []
    refusal = chat.command("reindex", platform="slack", user="U1", report=said.append, how=str)
    assert "ADOPTBOT_SLACK_ADMINS" in refusal and said == []
    assert "ADOPTBOT_TEAMS_ADMINS" in chat.command("reindex", platform="teams", user="x", report=said.append, how=str)
    assert chat.may_reindex("slack", "UADMIN") and chat.may_reindex("teams", "aad-admin")
    assert not chat.may_reindex("slack", "") and chat.may_reindex("terminal", "")


def test_a_reindex_reports_its_failure_when_it_ends(tmp_path):
    chat = core(tmp_path)
    done = threading.Event()
    said: list[str] = []
    started = chat.command("reindex", platform="slack", user="UADMIN", report=lambda t: (said.append(t), done.set()),
                           how=str)  # fmt: skip
    assert "Reindexing" in started and done.wait(30)
    assert "Reindex failed: disk full" in said[0] and "previous knowledge base is still being used" in said[0]


def test_help_and_status_are_worded_once_with_each_platforms_way_of_typing_commands(tmp_path):
    chat = core(tmp_path)
    slack = chat.command("help", platform="slack", user="U1", report=print, how=lambda v: f"`/adoptbot {v}`")
    teams = chat.command("", platform="teams", user="U1", report=print, how=lambda v: f"**{v}**")
    assert "`/adoptbot status`" in slack and "**status**" in teams
    assert slack.replace("`/adoptbot ", "**").replace("`", "**") == teams  # the same words, typed differently
    assert "not been indexed" in chat.command("status", platform="slack", user="U1", report=print, how=str)


def test_a_not_helpful_vote_is_stored_and_forwarded_a_vote_on_nothing_is_not(tmp_path):
    chat = core(tmp_path)
    reply = chat.ask(Question("What is a GAN?", user="U1"), platform="slack", channel_kind="thread")
    voted = chat.vote(reply.feedback_id, "U2", "not_helpful", platform="slack", link=lambda: "https://link.example/2")
    assert voted.recorded and "editors will look" in voted.thanks
    assert "What is a GAN?" in voted.forward and "Stub guidance - Stub section" in voted.forward
    comment = "It skips the data question."
    with_comment = chat.vote(reply.feedback_id, "U3", "not_helpful", platform="slack", comment=comment)
    assert "Their comment:" in with_comment.forward and "> It skips the data question." in with_comment.forward
    assert not chat.vote("no-such-answer", "U2", "helpful", platform="slack").recorded
    assert not chat.vote(reply.feedback_id, "U2", "meh", platform="slack").recorded


# -- fair use ------------------------------------------------------------------------------------------------


def test_the_per_person_limit_says_how_long_to_wait():
    fair = FairUse(per_minute=2, max_waiting=10, workers=4)
    tickets = [fair.admit("U1"), fair.admit("U1")]
    assert all(isinstance(t, Ticket) for t in tickets)
    refused = fair.admit("U1")
    assert isinstance(refused, Refusal) and 1 <= refused.retry_after_s <= 60
    assert f"try again in {refused.retry_after_s} seconds" in refused.text or "1 second" in refused.text
    assert isinstance(fair.admit("U2"), Ticket)  # another person is not held up


def test_the_line_gives_places_and_refuses_beyond_its_length_and_a_release_counts_once():
    fair = FairUse(per_minute=0, max_waiting=2, workers=1)
    first, second, third = (fair.admit(f"U{n}") for n in range(3))
    assert (first.position, second.position, third.position) == (0, 1, 2)
    assert isinstance(fair.admit("U9"), Refusal) and fair.waiting == 2
    first.release()
    first.release()  # twice by mistake: still one place freed
    assert fair.waiting == 1 and isinstance(fair.admit("U9"), Ticket)


def test_a_reindex_refused_because_another_is_running_elsewhere_says_so_calmly(tmp_path):
    from common.errors import IngestBusy

    chat = core(tmp_path)
    chat.reindexer = Reindexer(lambda: (_ for _ in ()).throw(IngestBusy("Another ingest is already running")))
    done = threading.Event()
    said: list[str] = []
    chat.command("reindex", platform="teams", user="aad-admin", report=lambda t: (said.append(t), done.set()), how=str)
    assert done.wait(30) and "Another reindex is running" in said[0] and "failed" not in said[0]
