"""Slack threads as conversations: follow-ups read against the thread, chatter and thanks left alone."""

from __future__ import annotations

import itertools

import pytest

from tests.fake_slack import BOT_USER, FakeSlackApi, event_body
from tests.test_slack import post, serve, slack_runtime  # noqa: F401 - fixtures

ROOT = "1700000100.000100"
_ts = itertools.count(200)


@pytest.fixture
def thread(slack_runtime):  # noqa: F811 - the fixture imported above
    api = FakeSlackApi()
    _, server = serve(slack_runtime, api)
    yield api, server
    server.close()
    api.close()


def say(api, server, text: str, *, mention: bool = False, root: bool = False) -> str:
    """A person's message in the thread, recorded in the fake API's thread as Slack would."""
    ts = ROOT if root else f"1700000100.{next(_ts):06d}"
    event = {
        "type": "app_mention" if mention else "message",
        "channel_type": "channel",
        "user": "U1",
        "text": f"<@{BOT_USER}> {text}" if mention else text,
        "ts": ts,
        "channel": "C9",
    }
    if not root:
        event["thread_ts"] = ROOT
    api.add_message("C9", ROOT, {k: v for k, v in event.items() if k in ("user", "text", "ts")})
    assert post(server, event_body(event, f"Ev{ts}"))[0] == 200
    return ts


def drain(api, server) -> None:
    """Queue one more answerable message behind the earlier ones and wait for its reply.

    Work starts in the order it was queued, and a message judged from its text alone finishes
    at once, so once the sentinel is answered the earlier message has been handled.
    """
    count = len(api.called("chat.postMessage"))
    say(api, server, "What is a diffusion model?")
    assert "Diffusion models" in sources(api.wait_for("chat.postMessage", count + 1)[-1])


def sources(reply: dict) -> str:
    return " ".join(e["text"] for b in reply["blocks"] if b["type"] == "context" for e in b["elements"] if "text" in e)


def test_a_follow_up_in_the_thread_answers_the_new_question_not_the_old_one(thread):
    api, server = thread
    say(api, server, "What is a GAN?", mention=True, root=True)
    [first] = api.wait_for("chat.postMessage")
    say(api, server, "What is a VAE?")
    second = api.wait_for("chat.postMessage", 2)[1]
    assert second["thread_ts"] == ROOT
    assert "Variational autoencoders" in sources(second) and "Generative adversarial" in sources(first)
    assert second["text"] != first["text"]


def test_and_what_about_leans_on_the_previous_question(thread):
    api, server = thread
    say(api, server, "What are GANs good for?", mention=True, root=True)
    api.wait_for("chat.postMessage")
    say(api, server, "and what about VAEs?")
    reply = api.wait_for("chat.postMessage", 2)[1]
    assert "Variational autoencoders" in sources(reply).split("Related")[0]


def test_an_off_topic_follow_up_is_declined_like_a_first_question(thread):
    api, server = thread
    say(api, server, "What is a GAN?", mention=True, root=True)
    api.wait_for("chat.postMessage")
    say(api, server, "What's the weather tomorrow in Paris?")
    reply = api.wait_for("chat.postMessage", 2)[1]
    assert "does not cover" in reply["text"] and "*Sources*" not in sources(reply)


def test_thanks_in_the_thread_gets_a_reaction_and_no_message(thread):
    api, server = thread
    say(api, server, "What is a GAN?", mention=True, root=True)
    api.wait_for("chat.postMessage")
    ts = say(api, server, "thanks!")
    [nod] = [r for r in api.wait_for("reactions.add", 2) if r["timestamp"] == ts]
    assert nod["name"] == "pray"
    drain(api, server)
    assert len(api.called("chat.postMessage")) == 2  # the first answer and the sentinel's


@pytest.mark.parametrize(
    "text",
    ["<@U0DANA> can you check this with legal?", "ok I'll book a slot with the vendor tomorrow", "hi all"],
    ids=["mentions-someone-else", "chatter", "greeting"],
)
def test_messages_between_people_in_the_thread_get_no_reply(thread, text):
    api, server = thread
    say(api, server, "What is a GAN?", mention=True, root=True)
    api.wait_for("chat.postMessage")
    say(api, server, text)
    drain(api, server)
    assert len(api.called("chat.postMessage")) == 2  # the first answer and the sentinel's
    assert len(api.called("conversations.replies")) == 1  # the sentinel's: the chatter was judged by its text


def test_small_talk_to_the_assistant_gets_a_short_reply_without_sources_or_buttons(thread):
    api, server = thread
    say(api, server, "hello", mention=True, root=True)
    [reply] = api.wait_for("chat.postMessage")
    assert "adoptbot" in reply["text"] and "?" in reply["text"]  # who it is, and example questions
    assert [b["type"] for b in reply["blocks"]] == ["section"]


def test_every_reply_in_a_thread_is_audited_with_its_channel_kind_and_a_hashed_asker(thread, slack_runtime):  # noqa: F811
    import datetime as dt

    api, server = thread
    started = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    say(api, server, "What is a GAN? mail me at dana@example.com", mention=True, root=True)
    api.wait_for("chat.postMessage")
    say(api, server, "thanks!")  # a nod, no reply: nothing to audit
    say(api, server, "hello adoptbot", mention=True)
    api.wait_for("chat.postMessage", 2)
    rows = [r for r in slack_runtime.feedback.audit(started) if r["platform"] == "slack"]
    assert [(r["channel_kind"], r["status"]) for r in rows][-2:] == [("channel", "answered"), ("thread", "smalltalk")]
    assert all(r["user"] == slack_runtime.feedback.user_hash("U1") for r in rows[-2:])
    assert "dana@example.com" not in rows[-2]["question"] and "[email]" in rows[-2]["question"]


@pytest.mark.parametrize(
    ("first", "follow_up", "cited", "said"),
    [
        ("What is on the pre-deployment checklist?", "why does monitoring matter?", "Pre-deployment", "monitor"),
        ("What is a hallucination?", "How do we reduce them?", "Output quality", "Mitigations"),
    ],
    ids=["checklist-item", "pronoun"],
)
def test_follow_ups_in_a_thread_answer_what_they_ask(thread, first, follow_up, cited, said):
    api, server = thread
    say(api, server, first, mention=True, root=True)
    [before] = api.wait_for("chat.postMessage")
    say(api, server, follow_up)
    reply = api.wait_for("chat.postMessage", 2)[1]
    answer = reply["blocks"][0]["text"]["text"]
    assert said in answer and answer != before["blocks"][0]["text"]["text"]
    assert cited in sources(reply).split("Related")[0]
