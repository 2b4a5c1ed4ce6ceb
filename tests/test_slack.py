"""Slack over real HTTP: signed requests to /slack/events, a fake Web API recording every call."""

from __future__ import annotations

import dataclasses
import json
import shutil
import threading
import time
import urllib.error
import urllib.request

import pytest

from bot.answerers.template import TemplateAnswerer
from bot.reindex import Reindexer
from bot.runtime import Runtime
from bot.server import build_web_app
from bot.types import Question
from tests.conftest import REPO
from tests.fake_slack import (
    BOT_ID,
    BOT_USER,
    FakeSlackApi,
    action_body,
    command_body,
    event_body,
    feedback_value,
    signed_headers,
)
from tests.web import BackgroundServer

SECRET = "test-signing-secret"
ADMIN = "UADMIN"


@pytest.fixture(scope="module")
def slack_runtime(tmp_path_factory, real_embedder, starter_runtime):
    """Its own copy of the knowledge base (the reindex test changes it) and data directory."""
    tmp = tmp_path_factory.mktemp("slack")
    knowledge = tmp / "knowledge"
    shutil.copytree(REPO / "knowledge", knowledge)
    settings = dataclasses.replace(
        starter_runtime.settings,
        data_dir=tmp / "data",
        knowledge_dir=knowledge,
        slack_bot_token="xoxb-test",
        slack_signing_secret=SECRET,
        slack_admins=ADMIN,
        workers=2,
    )
    runtime = Runtime(settings, embedder=real_embedder, answerers=starter_runtime.answerers)
    runtime.ingest(progress=False)
    return runtime


def serve(slack_runtime: Runtime, api: FakeSlackApi, reindexer: Reindexer | None = None, answerers=None):
    runtime = Runtime(
        dataclasses.replace(slack_runtime.settings, slack_api_base_url=api.api_url),
        embedder=slack_runtime.embedder,
        store=slack_runtime.store,
        answerers=answerers or slack_runtime.answerers,
    )
    runtime.__dict__["reindexer"] = reindexer or slack_runtime.reindexer
    return runtime, BackgroundServer(build_web_app(index_info=runtime.index_info, slack=runtime.slack_app(http=True)))


@pytest.fixture
def slack(slack_runtime):
    api = FakeSlackApi()
    runtime, server = serve(slack_runtime, api)
    yield api, server, runtime
    server.close()
    api.close()


def post(
    server,
    body: str,
    *,
    content_type: str = "application/json",
    headers: dict | None = None,
    secret: str = SECRET,
    timestamp: int | None = None,
) -> tuple[int, dict]:
    all_headers = signed_headers(secret, body, timestamp=timestamp, content_type=content_type)
    all_headers.update(headers or {})
    request = urllib.request.Request(server.url + "/slack/events", data=body.encode(), headers=all_headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, dict(response.headers)
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers)


def mention(text: str, *, ts: str = "1700000001.000100", channel: str = "C1", thread_ts: str | None = None) -> dict:
    event = {
        "type": "app_mention",
        "user": "U1",
        "text": f"<@{BOT_USER}> {text}",
        "ts": ts,
        "channel": channel,
        "event_ts": ts,
    }
    if thread_ts:
        event["thread_ts"] = thread_ts
    return event


def settle(api: FakeSlackApi) -> None:
    """Let queued work finish before asserting that nothing more was posted."""
    api.wait_for("reactions.remove", len(api.called("reactions.add")))
    time.sleep(0.5)


def test_mention_is_answered_in_its_thread_with_sources_and_feedback(slack):
    api, server, _ = slack
    status, _ = post(server, event_body(mention("How does a GAN work?"), "Ev1"))
    assert status == 200
    [reply] = api.wait_for("chat.postMessage")
    assert reply["channel"] == "C1" and reply["thread_ts"] == "1700000001.000100"
    blocks = reply["blocks"]
    assert "discriminator" in blocks[0]["text"]["text"]
    sources = next(b for b in blocks if b["type"] == "context" and b["elements"][0]["text"] == "*Sources*")
    assert "Generative model architectures" in sources["elements"][1]["text"]
    assert "reviewed 2026-11-20" in sources["elements"][1]["text"]
    [buttons] = next(b for b in blocks if b["type"] == "context_actions")["elements"]
    assert buttons["type"] == "feedback_buttons" and buttons["action_id"] == "feedback"
    assert "Sources:" in reply["text"]  # plain-text fallback for notifications
    assert api.wait_for("reactions.add")[0]["name"] == "eyes"
    assert api.wait_for("reactions.remove")[0]["name"] == "eyes"


def test_direct_message_is_answered_in_the_dm(slack):
    api, server, _ = slack
    event = {
        "type": "message",
        "channel_type": "im",
        "user": "U1",
        "text": "What is a VAE?",
        "ts": "1700000002.000100",
        "channel": "D1",
        "event_ts": "1700000002.000100",
    }
    assert post(server, event_body(event, "Ev2"))[0] == 200
    [reply] = api.wait_for("chat.postMessage")
    assert reply["channel"] == "D1" and not reply.get("thread_ts")
    assert "latent" in reply["blocks"][0]["text"]["text"]


def test_thread_follow_up_without_a_mention_uses_the_thread(slack):
    api, server, _ = slack
    api.add_message(
        "C1",
        "1700000003.000100",
        {"user": "U1", "text": f"<@{BOT_USER}> Can generative models be biased?", "ts": "1700000003.000100"},
    )
    api.add_message(
        "C1",
        "1700000003.000100",
        {
            "user": BOT_USER,
            "bot_id": BOT_ID,
            "text": "Yes, they inherit the biases of their training data.",
            "ts": "1700000003.000200",
        },
    )
    follow_up = {
        "type": "message",
        "channel_type": "channel",
        "user": "U1",
        "text": "and for images?",
        "ts": "1700000003.000300",
        "thread_ts": "1700000003.000100",
        "channel": "C1",
    }
    assert post(server, event_body(follow_up, "Ev3"))[0] == 200
    [reply] = api.wait_for("chat.postMessage")
    assert reply["thread_ts"] == "1700000003.000100"
    assert "visual stereotypes" in reply["blocks"][0]["text"]["text"]
    assert api.called("conversations.replies")


def test_thread_chatter_where_the_assistant_never_answered_is_ignored(slack):
    api, server, _ = slack
    chatter = {
        "type": "message",
        "channel_type": "channel",
        "user": "U1",
        "text": "lunch?",
        "ts": "1700000004.000300",
        "thread_ts": "1700000004.000100",
        "channel": "C1",
    }
    top_level = {
        "type": "message",
        "channel_type": "channel",
        "user": "U1",
        "text": "What is a GAN?",
        "ts": "1700000004.000400",
        "channel": "C1",
    }
    assert post(server, event_body(chatter, "Ev4a"))[0] == 200
    assert post(server, event_body(top_level, "Ev4b"))[0] == 200
    api.wait_for("conversations.replies")
    time.sleep(0.5)
    assert api.called("chat.postMessage") == []


def test_one_reply_per_message_despite_duplicates_and_retries(slack):
    api, server, _ = slack
    ts = "1700000005.000100"
    as_message = {**mention("What is RLHF?", ts=ts), "type": "message", "channel_type": "channel"}
    assert post(server, event_body(mention("What is RLHF?", ts=ts), "Ev5"))[0] == 200
    assert post(server, event_body(as_message, "Ev5m"))[0] == 200  # the same message as a message event
    status, headers = post(
        server,
        event_body(mention("What is RLHF?", ts=ts), "Ev5"),
        headers={"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"},
    )
    assert status == 200 and headers.get("X-Slack-No-Retry") == "1"
    api.wait_for("chat.postMessage")
    settle(api)
    assert len(api.called("chat.postMessage")) == 1


@pytest.mark.parametrize("how", ["bad-signature", "stale-timestamp", "unsigned"])
def test_bad_or_stale_signatures_get_401_and_no_reply(slack, how):
    api, server, _ = slack
    body = event_body(mention("What is a GAN?", ts="1700000006.000100"), "Ev6")
    if how == "bad-signature":
        status, _ = post(server, body, secret="wrong-secret")
    elif how == "stale-timestamp":
        status, _ = post(server, body, timestamp=int(time.time()) - 60 * 10)
    else:
        request = urllib.request.Request(
            server.url + "/slack/events", data=body.encode(), headers={"Content-Type": "application/json"}
        )
        with pytest.raises(urllib.error.HTTPError) as e:
            urllib.request.urlopen(request, timeout=30)
        status = e.value.code
    assert status == 401
    time.sleep(0.5)
    assert api.called("chat.postMessage") == []


def test_the_assistants_own_and_other_bots_messages_and_edits_are_ignored(slack):
    api, server, _ = slack
    own = {
        "type": "message",
        "channel_type": "im",
        "user": BOT_USER,
        "bot_id": BOT_ID,
        "text": "What is a GAN?",
        "ts": "1700000007.000100",
        "channel": "D1",
    }
    other_bot = {**own, "user": "UOTHER", "bot_id": "BOTHER", "ts": "1700000007.000200"}
    edit = {
        "type": "message",
        "subtype": "message_changed",
        "channel_type": "im",
        "channel": "D1",
        "ts": "1700000007.000300",
        "message": {"user": "U1", "text": "What is a GAN?"},
    }
    join = {
        "type": "message",
        "subtype": "channel_join",
        "user": "U1",
        "text": "joined",
        "channel": "C1",
        "ts": "1700000007.000400",
        "channel_type": "channel",
    }
    for n, event in enumerate([own, other_bot, edit, join]):
        assert post(server, event_body(event, f"Ev7{n}"))[0] == 200
    time.sleep(1)
    assert api.called("chat.postMessage") == []


def run_command(api, server, text: str, user: str = "U1") -> dict:
    body = command_body(text, user=user, response_url=api.url + "/response/1")
    request = urllib.request.Request(
        server.url + "/slack/events",
        data=body.encode(),
        headers=signed_headers(SECRET, body, content_type="application/x-www-form-urlencoded"),
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read() or b"{}")


def test_non_admin_reindex_is_refused_and_logged(slack, caplog):
    api, server, _ = slack
    reply = run_command(api, server, "reindex", user="U1")
    assert "only knowledge base editors" in reply["text"]
    assert any("reindex refused" in r.getMessage() and "U1" in r.getMessage() for r in caplog.records)
    time.sleep(0.5)
    assert api.called("response/1") == []


def test_admin_reindex_runs_and_reports(slack):
    api, server, runtime = slack
    (runtime.settings.knowledge_dir / "guidance/vendors.md").write_text(
        "---\ntitle: Choosing AI vendors\nowner: Procurement\nlast_reviewed: 2026-11-27\n---\n\n"
        "## Questions for vendors\n\nAsk every vendor where prompts and outputs are stored.\n"
    )
    (runtime.settings.knowledge_dir / "guidance/broken.md").write_text("---\ntitle: [oops\n---\nBody")
    first = run_command(api, server, "reindex", user=ADMIN)
    assert "Reindexing" in first["text"]
    [report] = api.wait_for("response/1")
    assert "Reindex finished" in report["text"]
    assert "guidance/vendors.md" in report["text"] and "Added 1" in report["text"]
    assert "guidance/broken.md" in report["text"] and "not valid YAML" in report["text"]
    answer = runtime.engine.answer(Question("Where do vendors store prompts?"))
    assert answer.sources[0].source == "guidance/vendors.md"


def test_a_second_reindex_while_one_runs_does_not_start_another(slack_runtime):
    release, runs = threading.Event(), []

    def slow_ingest():
        runs.append(1)
        assert release.wait(30)
        return slack_runtime.ingest(progress=False)

    api = FakeSlackApi()
    _, server = serve(slack_runtime, api, Reindexer(slow_ingest))
    try:
        assert "Reindexing" in run_command(api, server, "reindex", user=ADMIN)["text"]
        assert "already running" in run_command(api, server, "reindex", user=ADMIN)["text"]
        release.set()
        [report] = api.wait_for("response/1")
        assert "Reindex finished" in report["text"] and runs == [1]
    finally:
        release.set()
        server.close()
        api.close()


def test_status_and_help_commands(slack):
    api, server, _ = slack
    assert "documents" in run_command(api, server, "status")["text"]
    assert "/adoptbot ask" in run_command(api, server, "help")["blocks"][0]["text"]["text"]


def test_ask_command_answers_ephemerally(slack):
    api, server, _ = slack
    assert "Looking into" in run_command(api, server, "ask What is a diffusion model?")["text"]
    [reply] = api.wait_for("response/1")
    assert reply["response_type"] == "ephemeral" and "noise" in reply["blocks"][0]["text"]["text"]


def test_feedback_click_is_stored_and_the_message_thanks_the_user(slack):
    api, server, runtime = slack
    post(server, event_body(mention("What is a hallucination?", ts="1700000008.000100"), "Ev8"))
    [reply] = api.wait_for("chat.postMessage")
    value = feedback_value(reply, "helpful")
    feedback_id = value.removeprefix("helpful:")
    message = {"ts": "1700000008.000200", "text": reply["text"], "blocks": reply["blocks"]}
    body = action_body(
        action_id="feedback",
        kind="feedback_buttons",
        block_id="feedback_buttons",
        value=value,
        user="U9",
        message=message,
        response_url=api.url + "/response/2",
    )
    request = urllib.request.Request(
        server.url + "/slack/events",
        data=body.encode(),
        headers=signed_headers(SECRET, body, content_type="application/x-www-form-urlencoded"),
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.status == 200
    [update] = api.wait_for("response/2")
    assert update["replace_original"] is True
    assert not any(b["type"] in ("actions", "context_actions") for b in update["blocks"])
    assert "Thanks" in update["blocks"][-1]["elements"][0]["text"]
    vote = [v for v in runtime.feedback.votes() if v["answer_id"] == feedback_id]
    assert len(vote) == 1 and vote[0]["vote"] == "helpful" and vote[0]["user"] == runtime.feedback.user_hash("U9")
    assert vote[0]["question"] == "What is a hallucination?" and "hallucination" in vote[0]["answer"]
    assert vote[0]["sources"][0]["source"] == "guidance/risks.md" and vote[0]["time"]


def test_uncovered_question_says_so_and_names_a_person(slack):
    api, server, _ = slack
    post(server, event_body(mention("How do I reset my VPN password?", ts="1700000009.000100"), "Ev9"))
    [reply] = api.wait_for("chat.postMessage")
    text = reply["blocks"][0]["text"]["text"]
    assert "does not cover" in text and "#ai-coe" in text


def test_huge_message_and_bare_mention_are_handled(slack):
    api, server, _ = slack
    post(server, event_body(mention("What is a diffusion model? " + "blah " * 8000, ts="1700000010.000100"), "Ev10"))
    post(server, event_body({**mention("", ts="1700000010.000200")}, "Ev11"))
    replies = api.wait_for("chat.postMessage", 2)
    by_thread = {r["thread_ts"]: r for r in replies}
    huge = by_thread["1700000010.000100"]
    assert any("only the first" in e["text"] for b in huge["blocks"] if b["type"] == "context" for e in b["elements"])
    assert "/adoptbot ask" in by_thread["1700000010.000200"]["blocks"][0]["text"]["text"]


def test_healthz_reports_the_index(slack):
    _, server, _ = slack
    with urllib.request.urlopen(server.url + "/healthz", timeout=30) as response:
        health = json.loads(response.read())
    assert health["ok"] and health["slack"] and health["chunks"] > 40


class BrokenOnVaes(TemplateAnswerer):
    """Fails (a bug, not a backend error) for one question only."""

    def answer(self, prompt):
        if "VAE" in prompt.question:
            raise RuntimeError("boom")
        return super().answer(prompt)


def test_a_failing_answer_gets_an_apology_and_others_are_unaffected(slack_runtime, caplog):
    api = FakeSlackApi()
    _, server = serve(slack_runtime, api, answerers={"template": BrokenOnVaes()})
    try:
        post(server, event_body(mention("What is a VAE?", ts="1700000011.000100"), "Ev12"))
        post(server, event_body(mention("What is a GAN?", ts="1700000011.000200"), "Ev13"))
        replies = {r["thread_ts"]: r for r in api.wait_for("chat.postMessage", 2)}
        assert "Sorry, something went wrong" in replies["1700000011.000100"]["text"]
        assert "discriminator" in replies["1700000011.000200"]["blocks"][0]["text"]["text"]
        assert any(r.exc_info and "boom" in str(r.exc_info[1]) for r in caplog.records)
    finally:
        server.close()
        api.close()


@pytest.mark.parametrize(
    ("changes", "http", "names"),
    [
        ({"slack_bot_token": "xoxp-user-token"}, True, "SLACK_BOT_TOKEN"),
        ({"slack_signing_secret": ""}, True, "SLACK_SIGNING_SECRET"),
        ({"slack_app_token": ""}, False, "SLACK_APP_TOKEN"),
        ({"slack_api_base_url": "slack.example.com"}, True, "SLACK_API_BASE_URL"),
    ],
)
def test_bad_slack_configuration_stops_start_up_naming_the_variable(slack_runtime, changes, http, names):
    from bot.errors import ConfigError
    from bot.slack.app import check_slack_settings

    with pytest.raises(ConfigError, match=names):
        check_slack_settings(dataclasses.replace(slack_runtime.settings, **changes), http=http)


class FakeSocketMode:
    """Slack's Socket Mode end: a websocket that says hello, pushes envelopes and collects acks."""

    def __init__(self) -> None:
        from aiohttp import WSMsgType, web

        self.acks: list[str] = []
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
                    self.acks.append(json.loads(msg.data).get("envelope_id", ""))
                elif msg.type in (WSMsgType.CLOSE, WSMsgType.CLOSED, WSMsgType.ERROR):
                    break
            return ws

        app = web.Application()
        app.router.add_get("/link", link)
        self.server = BackgroundServer(app)
        self.url = self.server.url.replace("http://", "ws://") + "/link"


def test_socket_mode_receives_events_and_acknowledges_them(slack_runtime):
    from bot.slack.app import connect_socket_mode

    api, socket = FakeSlackApi(), FakeSocketMode()
    api.socket_url = socket.url
    runtime = Runtime(
        dataclasses.replace(slack_runtime.settings, slack_api_base_url=api.api_url, slack_app_token="xapp-test"),
        embedder=slack_runtime.embedder,
        store=slack_runtime.store,
        answerers=slack_runtime.answerers,
    )
    handler = connect_socket_mode(runtime.slack_app(http=False), "xapp-test")
    try:
        assert socket.connected.wait(30)
        envelope = json.loads(event_body(mention("What is a VAE?", ts="1700000012.000100"), "Ev14"))
        socket.outbox.append(
            {
                "envelope_id": "env-1",
                "type": "events_api",
                "accepts_response_payload": False,
                "retry_attempt": 0,
                "retry_reason": "",
                "payload": envelope,
            }
        )
        socket.outbox.append(
            {
                "envelope_id": "env-2",
                "type": "events_api",
                "accepts_response_payload": False,
                "retry_attempt": 1,
                "retry_reason": "timeout",
                "payload": envelope,
            }
        )  # redelivery
        [reply] = api.wait_for("chat.postMessage")
        assert reply["thread_ts"] == "1700000012.000100" and "latent" in reply["blocks"][0]["text"]["text"]
        settle(api)
        assert len(api.called("chat.postMessage")) == 1
        assert {"env-1", "env-2"} <= set(socket.acks)
        assert api.called("apps.connections.open")
    finally:
        handler.close()
        socket.server.close()
        api.close()
