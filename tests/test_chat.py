"""The chat core every platform calls, and its fair-use limits."""

from __future__ import annotations

import datetime as dt
import threading

import pytest

from adoptbot.runtime import Runtime
from bot.chat import APOLOGY, Chat, Routed
from bot.fairuse import FairUse, Refusal, Ticket
from bot.reindex import Reindexer
from bot.types import Question
from bot.wording import tools_help
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


# -- routing, the pool, the experts -----------------------------------------------------------------------


def test_a_message_is_a_tool_by_its_first_word_a_command_alone_else_a_question(tmp_path):
    chat = core(tmp_path)
    assert chat.route("  Assess  We want product photos ") == Routed("tool", "assess", "We want product photos")
    assert chat.route("checklist status") == Routed("tool", "checklist", "status")
    assert chat.route("Status?") == Routed("command", "status") and chat.route("help!") == Routed("command", "help")
    assert chat.route("status of the project") == Routed("question", rest="status of the project")
    chat.tools = None  # where no tools are configured, their words are only words
    assert chat.route("assess our idea") == Routed("question", rest="assess our idea")


def test_the_slash_command_asks_with_ask_and_anything_else_is_a_command_or_help(tmp_path):
    chat = core(tmp_path)
    assert chat.route("ask  What is a GAN? ", slash=True) == Routed("question", rest="What is a GAN?")
    assert chat.route("STATUS now", slash=True) == Routed("command", "status")
    for text in ("", "ask", "dance", "help me"):
        assert chat.route(text, slash=True) == Routed("command", "help"), text
    assert chat.route("checklist export P1", slash=True) == Routed("tool", "checklist", "export P1")
    chat.tools = None
    assert chat.route("assess an idea", slash=True) == Routed("command", "help")


def test_with_a_prefix_only_prefixed_words_are_commands(tmp_path):
    chat = core(tmp_path)
    assert chat.route("/status", prefix="/") == Routed("command", "status")
    assert chat.route("/status now", prefix="/") == Routed("command", "help")  # a command word, then more: help
    assert chat.route("status", prefix="/") == Routed("question", rest="status")
    assert chat.route("/dance", prefix="/") == Routed("question", rest="/dance")
    assert chat.route("/assess an idea", prefix="/") == Routed("tool", "assess", "an idea")


def test_the_tools_help_lines_are_worded_once_and_typed_the_platforms_way():
    slack = tools_help(lambda v: f"`/adoptbot {v}`")
    teams = tools_help(lambda v: f"**{v}**")
    assert slack[0].startswith("`/adoptbot assess [your idea]`: LLM, image model or both?")
    assert "(**checklist status**, **checklist export PROJECT**)" in teams[1]
    assert [line.replace("`/adoptbot ", "**").replace("`", "**") for line in slack] == list(teams)


def test_submitted_work_runs_on_the_pool_and_gives_its_place_back_when_it_ends(tmp_path):
    chat = core(tmp_path, max_waiting=0, workers=1)
    ticket = chat.admit("U1")
    assert isinstance(ticket, Ticket) and isinstance(chat.admit("U2"), Refusal)  # the one place is taken
    assert chat.submit(ticket, lambda a, b: a + b, 2, 3).result(30) == 5
    assert isinstance(chat.admit("U2"), Ticket)


def test_failed_or_refused_work_gives_its_place_back_too(tmp_path):
    chat = core(tmp_path, max_waiting=0, workers=1)
    ticket = chat.admit("U1")
    with pytest.raises(ZeroDivisionError):
        chat.submit(ticket, lambda: 1 / 0).result(30)
    again = chat.admit("U1")
    assert isinstance(again, Ticket)
    chat.pool.shutdown()
    with pytest.raises(RuntimeError):
        chat.submit(again, print)  # the pool refuses new work while shutting down
    assert isinstance(chat.admit("U3"), Ticket)


def test_the_experts_hear_of_a_decline_after_the_asker_and_of_a_not_helpful_vote(tmp_path):
    chat = core(tmp_path)
    posts: list[tuple[str, object]] = []
    chat.connect_experts("slack", lambda text, origin: posts.append(("experts", origin)))
    chat.ask(Question("something uncovered", user="U1"), platform="slack", channel_kind="dm",
             deliver=lambda reply: posts.append(("asker", reply.kind)), origin="client-1")  # fmt: skip
    assert posts == [("asker", "answer"), ("experts", "client-1")]
    posts.clear()
    answered = chat.ask(Question("What is a GAN?", user="U1"), platform="slack", channel_kind="dm")
    assert posts == []  # an answer is not forwarded
    chat.vote(answered.feedback_id, "U2", "helpful", platform="slack")
    assert posts == []
    voted = chat.vote(answered.feedback_id, "U2", "not_helpful", platform="slack", origin="client-2")
    assert voted.forward and posts == [("experts", "client-2")]
    chat.ask(Question("something uncovered"), platform="teams", channel_kind="dm")  # Teams connected nothing
    assert posts == [("experts", "client-2")]


def test_a_failed_delivery_tells_no_expert_and_a_failed_forward_costs_only_the_forward(tmp_path):
    chat = core(tmp_path)
    told: list[str] = []
    chat.connect_experts("teams", lambda text, origin: told.append(text))

    def unsent(reply):
        raise ConnectionError("Teams is down")

    with pytest.raises(ConnectionError):
        chat.ask(Question("something uncovered"), platform="teams", channel_kind="dm", deliver=unsent)
    assert told == []
    chat.connect_experts("teams", lambda text, origin: 1 / 0)
    reply = chat.ask(Question("something uncovered"), platform="teams", channel_kind="dm")
    assert reply.forward and "does not cover" in reply.text


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
