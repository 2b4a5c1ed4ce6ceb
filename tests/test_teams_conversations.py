"""Teams chats and channel threads as conversations: follow-ups read with the real engine, small talk and audit.

The follow-up tests keep the real engine and starter knowledge base: reading a follow-up in the light of the
earlier turns is their point. The others use the stub engine of tests/teams_harness.py.
"""

# The tests take the harness's fixtures (imported below) as parameters of the same name.
# ruff: noqa: F811

from __future__ import annotations

import dataclasses
import datetime as dt
import shutil

import pytest

from adoptbot.runtime import Runtime
from tests.conftest import REPO
from tests.teams_harness import bot, replies, served, turn  # noqa: F401 - fixture


@pytest.fixture(scope="module")
def teams_runtime(tmp_path_factory, real_embedder, starter_runtime):
    tmp = tmp_path_factory.mktemp("teams")
    shutil.copytree(REPO / "knowledge", tmp / "knowledge")
    settings = dataclasses.replace(
        starter_runtime.settings,
        data_dir=tmp / "data",
        knowledge_dir=tmp / "knowledge",
        teams_allow_anonymous=True,
        workers=2,
    )
    runtime = Runtime(settings, embedder=real_embedder, answerers=starter_runtime.answerers)
    runtime.ingest(progress=False)
    return runtime


@pytest.fixture
def teams(teams_runtime):
    with served(teams_runtime) as (connector, server):
        yield connector, server, teams_runtime


def ask(server, connector, text: str, conversation: str) -> dict:
    """One turn of a 1:1 chat; the single message reply."""
    return turn(server, connector, text, conversation_id=conversation)


def cited(reply: dict) -> list[str]:
    entities = [e for e in reply.get("entities") or [] if e.get("@type") == "Message"]
    return [c["appearance"]["name"] for e in entities for c in e.get("citation") or []]


def test_a_second_question_in_a_chat_is_answered_on_its_own(teams):
    connector, server, _ = teams
    first = ask(server, connector, "What is a GAN?", "a:conv-gan-vae")
    second = ask(server, connector, "What is a VAE?", "a:conv-gan-vae")
    assert second["text"] != first["text"]
    assert "VAE" in second["text"] and "GAN" not in second["text"]


def test_an_off_topic_follow_up_is_declined(teams):
    connector, server, _ = teams
    ask(server, connector, "What is a GAN?", "a:conv-weather")
    reply = ask(server, connector, "What's the weather tomorrow in Paris?", "a:conv-weather")
    assert "does not cover" in reply["text"] and not cited(reply)


@pytest.mark.parametrize("text", ["thanks", "hello"])
def test_small_talk_gets_a_short_reply_without_citations_card_or_thumbs(bot, text):
    bot.ask("What is a GAN?", conversation_id=f"a:small-{text}", expect_replies=True)
    _, body = bot.ask(text, conversation_id=f"a:small-{text}", expect_replies=True)
    [reply] = replies(body)
    assert reply["text"] == "Hello! Ask me about adopting AI."
    assert not reply.get("attachments") and not reply.get("entities") and not reply.get("channelData")
    status, _ = bot.ask(text, conversation_id=f"a:small-streamed-{text}")  # streamed in a 1:1 chat
    assert status in (200, 202)
    [(_, final)] = bot.connector.messages()
    assert final["text"] == reply["text"] and not final.get("attachments")
    assert "feedbackLoop" not in (final.get("channelData") or {})


def test_small_talk_in_a_channel_thread_is_plain_text(bot):
    conversation = "19:channel@thread.tacv2;messageid=1700000009999"
    status, _ = bot.ask(
        "thanks", conversation_type="channel", conversation_id=conversation, mention=True, activity_id="1700000009999"
    )
    assert status in (200, 202)
    [(_, reply)] = bot.connector.messages()
    assert reply["text"] == "Hello! Ask me about adopting AI." and not reply.get("attachments")


def test_chats_are_audited_as_dms_and_channel_threads_as_threads(bot):
    started = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    bot.ask("What is RLHF?", conversation_id="a:audited", expect_replies=True)
    bot.ask(
        "What is a diffusion model?",
        conversation_type="channel",
        conversation_id="19:c@thread.tacv2;messageid=1700000008888",
        mention=True,
        activity_id="1700000008888",
    )
    bot.ask("What is a VAE?", conversation_type="groupChat", conversation_id="19:group@thread.v2", mention=True)
    rows = [r for r in bot.feedback.audit(started) if r["platform"] == "teams"]
    assert [r["channel_kind"] for r in rows] == ["dm", "thread", "channel"]
    assert {r["user"] for r in rows} == {bot.feedback.user_hash("aad-user-1")}


@pytest.mark.parametrize(
    ("first", "follow_up", "cited", "said"),
    [
        ("What are GANs good for?", "and what about VAEs?", "Variational autoencoders", "latent"),
        ("What is on the pre-deployment checklist?", "why does monitoring matter?", "Pre-deployment", "monitor"),
        ("What is a hallucination?", "How do we reduce them?", "Output quality", "Mitigations"),
    ],
    ids=["what-about", "checklist-item", "pronoun"],
)
def test_follow_ups_in_a_chat_answer_what_they_ask(teams, first, follow_up, cited, said):
    connector, server, _ = teams
    conversation = f"a:follow-{follow_up}"
    before = ask(server, connector, first, conversation)
    reply = ask(server, connector, follow_up, conversation)
    assert reply["text"] != before["text"] and said in reply["text"]
    assert cited in cited_names(reply)[0] and len(reply["text"]) < len(before["text"]) + 200


def cited_names(reply: dict) -> list[str]:
    return [c["appearance"]["name"] + " " + c["appearance"].get("abstract", "") for c in _claims(reply)]


def _claims(reply: dict) -> list[dict]:
    entities = [e for e in reply.get("entities") or [] if e.get("@type") == "Message"]
    return [c for e in entities for c in e.get("citation") or []]
