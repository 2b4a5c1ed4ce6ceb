"""Slack over real HTTP: signed requests to /slack/events, a fake Web API recording every call.

The engine is scripted (tests/stub_engine.py) so these tests say what Slack does with an answer,
whatever the editors' documents say; one smoke test at the end asks the real engine.
Streaming, the assistant pane and private answers are in test_slack_assistant.py.
"""

from __future__ import annotations

import dataclasses
import json
import threading
import time
import urllib.error
import urllib.request

import pytest

from adoptbot.runtime import Runtime
from bot.answering.engine import APOLOGY
from bot.reindex import Reindexer
from bot.slack.blocks import escape
from bot.types import Answer, Question
from common.errors import ConfigError
from common.settings import Settings
from ingest.pipeline import IngestSummary
from tests.conftest import REPO, FakeEmbedder, write_kb
from tests.fake_slack import BOT_ID, BOT_USER, FakeSlackApi, action_body, event_body, feedback_value
from tests.slack_harness import FORM, Slack, channel_message, drain, fresh_ts, mention, post, settle, slacks
from tests.stub_engine import PIECES, StubEngine
from tests.web import BackgroundServer

ADMIN = "UADMIN"
ANSWER = "".join(PIECES)
STUB_SOURCE = "[1] <https://intranet.example.com/stub|Stub guidance> - Stub section · reviewed 2026-11-20"


@pytest.fixture
def slack(tmp_path):
    with slacks(tmp_path) as make:
        yield make


@pytest.fixture
def s(slack) -> Slack:
    """Slack over an engine that answers at once, as the template backend does: one chat.postMessage an answer."""
    return slack(StubEngine(streams=False), slack_admins=ADMIN)


def context_texts(reply: dict) -> list[list[str]]:
    return [[e["text"] for e in b["elements"]] for b in reply["blocks"] if b["type"] == "context"]


# -- answering -------------------------------------------------------------------------------------------------


def test_a_mention_is_answered_once_in_its_thread_with_sources_and_feedback(s):
    ts = s.mention("How does a GAN work?")
    [reply] = s.api.wait_for("chat.postMessage")
    assert reply["channel"] == "C1" and reply["thread_ts"] == ts
    assert reply["blocks"][0]["text"]["text"] == ANSWER
    assert ["*Sources*", STUB_SOURCE] in context_texts(reply)
    [buttons] = next(b for b in reply["blocks"] if b["type"] == "context_actions")["elements"]
    assert buttons["type"] == "feedback_buttons" and buttons["action_id"] == "feedback"
    assert reply["text"] == f"{ANSWER}\n\nSources:\n[1] Stub guidance - Stub section"  # for notifications
    s.api.wait_for("reactions.remove")
    settle(s)
    assert len(s.api.called("chat.postMessage")) == 1
    assert [(r["name"], r["timestamp"]) for r in s.api.called("reactions.add")] == [("eyes", ts)]
    assert [(r["name"], r["timestamp"]) for r in s.api.called("reactions.remove")] == [("eyes", ts)]
    [question] = s.engine.questions
    assert question == Question("How does a GAN work?", user="U1", place="slack:C1")


def test_a_direct_message_is_answered_in_the_dm_not_in_a_thread(s):
    s.dm("What is a VAE?")
    [reply] = s.api.wait_for("chat.postMessage")
    assert reply["channel"] == "D1" and not reply.get("thread_ts")
    assert reply["blocks"][0]["text"]["text"] == ANSWER
    [question] = s.engine.questions
    assert (question.text, question.user, question.place) == ("What is a VAE?", "U1", "slack:D1")


@pytest.mark.parametrize("streams", [False, True], ids=["posted", "streamed"])
def test_a_follow_up_is_asked_with_the_thread_as_history_and_answered_once_in_that_thread(slack, streams):
    s = slack(StubEngine(streams=streams))
    root = s.say("Can generative models be biased?", mention=True)
    s.api.wait_for("chat.stopStream" if streams else "chat.postMessage")
    s.say("We saw that in our pilot too.", thread_ts=root, user="U2")  # between people: no answer
    s.say("and for images?", thread_ts=root)
    s.api.wait_for("chat.stopStream" if streams else "chat.postMessage", 2)
    settle(s)
    first, follow_up = s.engine.questions
    assert first.history == () and follow_up.text == "and for images?" and follow_up.user == "U1"
    history = [(turn.role, turn.text.strip()) for turn in follow_up.history]
    assert history[0] == ("user", "Can generative models be biased?")
    assert history[1][0] == "assistant" and history[1][1].startswith(ANSWER)  # the answer as the thread shows it
    assert history[2:] == [("user", "We saw that in our pilot too.")]  # the follow-up itself is not history
    assert [r["thread_ts"] for r in s.replies("C1")] == [root, root]
    assert s.api.called("chat.postMessage" if streams else "chat.startStream") == []


def test_thread_chatter_where_the_assistant_never_answered_is_ignored(s):
    root = s.say("Lunch plans for Friday", user="U2")
    s.say("lunch?", thread_ts=root)  # a question, but in a thread the assistant is not part of
    # Top level and un-mentioned: for the channel, not the assistant.
    s.event(channel_message("What is a GAN?", ts=fresh_ts()))
    settle(s)
    assert s.api.called("conversations.replies")  # the thread was read to see who is in it
    assert s.engine.questions == [] and s.replies("C1") == [] and s.api.called("reactions.add") == []


def test_one_reply_per_message_despite_duplicates_and_retries(s):
    ts = fresh_ts()
    event = mention("What is RLHF?", ts=ts)
    s.event(event, "Ev5")
    s.event({**event, "type": "message", "channel_type": "channel"}, "Ev5m")  # the same message as a message event
    retry = {"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"}
    status, headers, _ = post(s.server, event_body(event, "Ev5"), headers=retry)
    assert status == 200 and headers.get("X-Slack-No-Retry") == "1"
    settle(s)
    assert len(s.engine.questions) == 1 and len(s.replies("C1", ts)) == 1


@pytest.mark.parametrize("how", ["bad-signature", "stale-timestamp", "unsigned"])
def test_bad_or_stale_signatures_get_401_and_no_reply(s, how):
    body = event_body(mention("What is a GAN?", ts=fresh_ts()), "Ev6")
    if how == "bad-signature":
        status = post(s.server, body, secret="wrong-secret")[0]
    elif how == "stale-timestamp":
        status = post(s.server, body, timestamp=int(time.time()) - 60 * 10)[0]
    else:
        request = urllib.request.Request(
            s.server.url + "/slack/events", data=body.encode(), headers={"Content-Type": "application/json"}
        )
        with pytest.raises(urllib.error.HTTPError) as e:
            urllib.request.urlopen(request, timeout=30)
        status = e.value.code
    assert status == 401
    settle(s)
    assert s.engine.questions == [] and s.replies("C1") == []


def test_the_assistants_own_and_other_bots_messages_and_edits_are_ignored(s):
    own = {"type": "message", "channel_type": "im", "user": BOT_USER, "bot_id": BOT_ID, "text": "What is a GAN?",
           "ts": fresh_ts(), "channel": "D1"}  # fmt: skip
    other_bot = {**own, "user": "UOTHER", "bot_id": "BOTHER", "ts": fresh_ts()}
    edit = {"type": "message", "subtype": "message_changed", "channel_type": "im", "channel": "D1", "ts": fresh_ts(),
            "message": {"user": "U1", "text": "What is a GAN?"}}  # fmt: skip
    join = {"type": "message", "subtype": "channel_join", "user": "U1", "text": "joined", "channel": "C1",
            "ts": fresh_ts(), "channel_type": "channel"}  # fmt: skip
    for event in (own, other_bot, edit, join):
        s.event(event)
    settle(s)
    assert s.engine.questions == [] and s.api.called("chat.postMessage") == []
    assert s.api.called("reactions.add") == []


def test_a_bare_mention_gets_the_help_in_its_thread_without_buttons(slack):
    s = slack(StubEngine(streams=False))  # the mention is read away at the edge: the engine gets no question
    ts = s.mention("")
    [reply] = s.api.wait_for("chat.postMessage")
    assert reply["thread_ts"] == ts and "`/adoptbot ask &lt;question&gt;`" in reply["blocks"][0]["text"]["text"]
    assert all(b["type"] == "section" for b in reply["blocks"])  # nothing to vote on


def test_the_engines_notes_are_shown_under_a_long_questions_answer(slack):
    note = "I read only the first 4,000 characters of your question."

    class Cuts(StubEngine):
        def answer(self, question: Question, **kwargs: object) -> Answer:
            answer = super().answer(question, **kwargs)
            return dataclasses.replace(answer, notes=(note,) if len(question.text) > 4000 else ())

    s = slack(Cuts(streams=False))
    long = "What is a diffusion model? " + "blah " * 8000
    ts = s.mention(long)
    [reply] = s.api.wait_for("chat.postMessage")
    assert reply["thread_ts"] == ts and reply["blocks"][0]["text"]["text"] == ANSWER
    assert context_texts(reply)[0] == [note]
    assert s.engine.questions[0].text == long.strip()  # passed on whole, its markup read away


def test_a_failing_answer_gets_an_apology_and_others_are_unaffected(slack, caplog):
    class BrokenOnVaes(StubEngine):
        """Fails (a bug, not a backend error) for one question only."""

        def answer(self, question: Question, **kwargs: object) -> Answer:
            if "VAE" in question.text:
                raise RuntimeError("boom")
            return super().answer(question, **kwargs)

    s = slack(BrokenOnVaes(streams=False))
    broken, fine = s.mention("What is a VAE?"), s.mention("What is a GAN?")
    replies = {r["thread_ts"]: r for r in s.api.wait_for("chat.postMessage", 2)}
    assert replies[broken]["text"] == APOLOGY and all(b["type"] == "section" for b in replies[broken]["blocks"])
    assert replies[fine]["blocks"][0]["text"]["text"] == ANSWER
    assert any(r.exc_info and "boom" in str(r.exc_info[1]) for r in caplog.records)


def test_when_slack_itself_fails_before_the_answer_the_asker_gets_an_apology_not_silence(slack):
    s = slack()
    s.api.errors["conversations.replies"] = "internal_error"  # the thread cannot be read
    s.mention("and what about VAEs?", thread_ts="1700000100.000001")
    [note] = s.api.wait_for("chat.postEphemeral")
    assert note["user"] == "U1" and note["thread_ts"] == "1700000100.000001"
    assert note["text"] == APOLOGY and s.engine.questions == []


def test_a_declined_question_shows_the_engines_reason_and_the_nearest_topics_not_sources(s):
    ts = s.mention("Is the uncovered topic in the guidance?")
    [reply] = s.api.wait_for("chat.postMessage")
    assert reply["thread_ts"] == ts and reply["blocks"][0]["text"]["text"] == "The knowledge base does not cover that."
    nearest = "<https://intranet.example.com/stub|Stub guidance> - Stub section · reviewed 2026-11-20"
    assert context_texts(reply) == [["*Nearest topics*", nearest]]


# -- slash commands --------------------------------------------------------------------------------------------


class HeldIngest:
    """A scripted reindex: counts its runs and finishes when released."""

    def __init__(self) -> None:
        self.runs = 0
        self.release = threading.Event()

    def __call__(self) -> IngestSummary:
        self.runs += 1
        assert self.release.wait(60), "the test never let the reindex finish"
        return IngestSummary(documents_added=["guidance/new.md"], documents_total=1, chunks_total=2)


@pytest.fixture
def held():
    ingest = HeldIngest()
    yield ingest
    ingest.release.set()


def test_a_reindex_by_someone_not_an_editor_is_refused_logged_and_not_started(slack, held, caplog):
    s = slack(StubEngine(streams=False), reindexer=Reindexer(held), slack_admins=ADMIN)
    reply = s.command("reindex", user="U1")
    assert "only knowledge base editors" in reply["text"] and "ADOPTBOT_SLACK_ADMINS" in reply["text"]
    assert any("reindex refused" in r.getMessage() and "U1" in r.getMessage() for r in caplog.records)
    assert not s.runtime.reindexer.running and held.runs == 0
    settle(s)
    assert s.api.called("response/1") == []


def test_a_second_reindex_while_one_runs_does_not_start_another(slack, held):
    s = slack(StubEngine(streams=False), reindexer=Reindexer(held), slack_admins=ADMIN)
    assert "Reindexing" in s.command("reindex", user=ADMIN)["text"]
    assert "already running" in s.command("reindex", user=ADMIN)["text"]
    held.release.set()
    [report] = s.api.wait_for("response/1")
    assert report["response_type"] == "ephemeral" and "`guidance/new.md`" in report["text"] and held.runs == 1


@pytest.fixture
def indexed(slack, tmp_path) -> Slack:
    """Slack over a tiny knowledge folder (three documents) indexed with the fake embedder."""
    knowledge = write_kb(tmp_path / "kb")
    s = slack(StubEngine(streams=False), embedder=FakeEmbedder(), knowledge_dir=knowledge, slack_admins=ADMIN)
    s.runtime.ingest(progress=False)
    return s


def test_an_editors_reindex_reports_what_changed_and_status_counts_the_new_document(indexed):
    s, knowledge = indexed, indexed.runtime.settings.knowledge_dir
    assert "3 documents" in s.command("status")["text"]
    (knowledge / "guidance/vendors.md").write_text(
        "---\ntitle: Choosing AI vendors\nowner: Procurement\nlast_reviewed: 2026-11-27\n---\n\n"
        "## Questions for vendors\n\nAsk every vendor where prompts and outputs are stored.\n"
    )
    (knowledge / "guidance/broken.md").write_text("---\ntitle: [oops\n---\nBody")
    assert "Reindexing" in s.command("reindex", user=ADMIN)["text"]
    [report] = s.api.wait_for("response/1")
    assert "Reindex finished" in report["text"] and "Added 1" in report["text"]
    assert "guidance/vendors.md" in report["text"]
    assert "guidance/broken.md" in report["text"] and "not valid YAML" in report["text"]
    assert "`guidance/vendors.md`" in report["blocks"][0]["text"]["text"]  # Markdown rendered as mrkdwn
    assert "4 documents" in s.command("status")["text"]


def test_status_before_any_index_says_so_and_help_shows_the_commands(s):
    status = s.command("status")
    assert "not been indexed yet" in status["text"] and "*reindex*" in status["blocks"][0]["text"]["text"]
    help_text = s.command("help")["blocks"][0]["text"]["text"]
    assert "`/adoptbot ask &lt;question&gt;`" in help_text and "`/adoptbot reindex`" in help_text


def test_healthz_says_slack_is_served_and_what_the_index_holds(indexed):
    with urllib.request.urlopen(indexed.server.url + "/healthz", timeout=30) as response:
        health = json.loads(response.read())
    info = indexed.runtime.index_info()
    assert health["ok"] and health["slack"] and not health["teams"]
    assert (health["documents"], health["chunks"]) == (3, info.chunks) and info.chunks > 3


def test_ask_command_answers_ephemerally_with_the_question_alone(s):
    assert "Looking into: What is a diffusion model?" in s.command("ask What is a diffusion model?")["text"]
    [reply] = s.api.wait_for("response/1")
    assert reply["response_type"] == "ephemeral" and reply["blocks"][0]["text"]["text"] == ANSWER
    [question] = s.engine.questions
    assert (question.text, question.user, question.place) == ("What is a diffusion model?", "U1", "slack:C1")


# -- feedback --------------------------------------------------------------------------------------------------


def test_feedback_click_is_stored_and_the_message_thanks_the_user(s):
    s.mention("What is a hallucination?")
    [reply] = s.api.wait_for("chat.postMessage")
    value = feedback_value(reply, "helpful")
    feedback_id = value.removeprefix("helpful:")
    message = {"ts": "1700000008.000200", "text": reply["text"], "blocks": reply["blocks"]}
    body = action_body(action_id="feedback", kind="feedback_buttons", block_id="feedback_buttons", value=value,
                       user="U9", message=message, response_url=s.api.url + "/response/2")  # fmt: skip
    assert s.post(body, FORM) == 200
    [update] = s.api.wait_for("response/2")
    assert update["replace_original"] is True
    assert not any(b["type"] in ("actions", "context_actions") for b in update["blocks"])
    assert update["blocks"][0] == reply["blocks"][0]  # the answer stays
    assert update["blocks"][-1]["elements"][0]["text"] == ":pray: Thanks, glad it helped!"
    [vote] = [v for v in s.runtime.feedback.votes() if v["answer_id"] == feedback_id]
    assert vote["vote"] == "helpful" and vote["user"] == s.runtime.feedback.user_hash("U9") and vote["time"]
    assert vote["question"].endswith("What is a hallucination?") and vote["answer"] == ANSWER
    assert vote["sources"][0]["source"] == "guidance/stub.md"


# -- configuration and Socket Mode -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "http", "names"),
    [
        ({"slack_bot_token": "xoxp-user-token"}, True, "SLACK_BOT_TOKEN"),
        ({"slack_signing_secret": ""}, True, "SLACK_SIGNING_SECRET"),
        ({"slack_app_token": ""}, False, "SLACK_APP_TOKEN"),
        ({"slack_api_base_url": "slack.example.com"}, True, "SLACK_API_BASE_URL"),
    ],
)
def test_bad_slack_configuration_stops_start_up_naming_the_variable(tmp_path, changes, http, names):
    from bot.slack.app import check_slack_settings

    good = dict(slack_bot_token="xoxb-test", slack_signing_secret="secret", slack_app_token="xapp-test")
    check_slack_settings(Settings(data_dir=tmp_path, **good), http=http)
    with pytest.raises(ConfigError, match=names):
        check_slack_settings(Settings(data_dir=tmp_path, **{**good, **changes}), http=http)


class FakeSocketMode:
    """Slack's Socket Mode end: a websocket that says hello, pushes envelopes and collects acks."""

    def __init__(self) -> None:
        from aiohttp import WSMsgType, web

        self.acks: list[str] = []
        self.acked = threading.Condition()
        self.outbox: list[dict] = []
        self.connected = threading.Event()

        async def link(request):
            ws = web.WebSocketResponse(autoping=True)
            await ws.prepare(request)
            await ws.send_json({"type": "hello", "num_connections": 1, "debug_info": {"host": "fake"}})
            self.connected.set()
            sent = 0
            while not ws.closed:
                while sent < len(self.outbox):
                    await ws.send_json(self.outbox[sent])
                    sent += 1
                try:
                    msg = await ws.receive(timeout=0.05)
                except TimeoutError:
                    continue
                if msg.type == WSMsgType.TEXT:
                    with self.acked:
                        self.acks.append(json.loads(msg.data).get("envelope_id", ""))
                        self.acked.notify_all()
                elif msg.type in (WSMsgType.CLOSE, WSMsgType.CLOSED, WSMsgType.ERROR):
                    break
            return ws

        app = web.Application()
        app.router.add_get("/link", link)
        self.server = BackgroundServer(app)
        self.url = self.server.url.replace("http://", "ws://") + "/link"

    def wait_for_acks(self, *envelope_ids: str) -> None:
        with self.acked:
            assert self.acked.wait_for(lambda: set(envelope_ids) <= set(self.acks), 60), self.acks


def test_socket_mode_receives_events_acknowledges_them_and_answers_a_redelivery_once(tmp_path):
    from bot.slack.app import connect_socket_mode

    api, socket = FakeSlackApi(), FakeSocketMode()
    api.socket_url = socket.url
    runtime = Runtime(Settings(data_dir=tmp_path, slack_bot_token="xoxb-test", slack_app_token="xapp-test",
                               slack_api_base_url=api.api_url))  # fmt: skip
    runtime.__dict__["engine"] = StubEngine(streams=False)
    app = runtime.slack_app(http=False)
    handler = connect_socket_mode(app, "xapp-test")
    try:
        assert socket.connected.wait(30)
        ts = fresh_ts()
        envelope = {"accepts_response_payload": False, "type": "events_api",
                    "payload": json.loads(event_body(mention("What is a VAE?", ts=ts), "Ev14"))}  # fmt: skip
        socket.outbox.append({**envelope, "envelope_id": "env-1", "retry_attempt": 0, "retry_reason": ""})
        socket.outbox.append({**envelope, "envelope_id": "env-2", "retry_attempt": 1, "retry_reason": "timeout"})
        socket.wait_for_acks("env-1", "env-2")  # each handed to bolt, which queues its listener before the ack
        drain(app.listener_runner.listener_executor)
        drain(runtime.chat.pool)
        [reply] = api.called("chat.postMessage")
        assert reply["thread_ts"] == ts and reply["blocks"][0]["text"]["text"] == ANSWER
        assert api.called("apps.connections.open")
    finally:
        handler.close()
        socket.server.close()
        api.close()


# -- the real engine, end to end -------------------------------------------------------------------------------


def test_smoke_the_real_engine_answers_a_mention_citing_a_knowledge_base_document(starter_runtime, tmp_path):
    """The one Slack test over the real engine and the shipped knowledge base: wiring, not wording."""
    real, settings = starter_runtime, starter_runtime.settings
    s = Slack(tmp_path, None, embedder=real.embedder, store=real.store, answerers=real.answerers,
              knowledge_dir=settings.knowledge_dir, backend=settings.backend)  # fmt: skip
    try:
        ts = s.mention("How does a GAN work?")
        [reply] = s.api.wait_for("chat.postMessage")
        assert reply["thread_ts"] == ts and reply["blocks"][0]["text"]["text"]
        answered = s.runtime.feedback.answer(feedback_value(reply).removeprefix("helpful:"))
        assert answered is not None and answered["sources"]
        [sources] = [lines for lines in context_texts(reply) if lines[0] == "*Sources*"]
        for n, cited in enumerate(answered["sources"], 1):
            assert (REPO / "knowledge" / cited["source"]).is_file()
            assert sources[n].startswith(f"[{n}] ") and f"{escape(cited['title'])}" in sources[n]
            assert f" - {escape(cited['section'])}" in sources[n]
    finally:
        s.close()
