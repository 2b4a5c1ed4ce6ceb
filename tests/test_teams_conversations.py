"""Teams chats and channel threads as conversations: follow-ups, declines and small talk."""

from __future__ import annotations

import itertools

import pytest

from tests.fake_connector import teams_activity
from tests.test_teams import post, replies, teams, teams_runtime  # noqa: F401 - fixtures

_ids = itertools.count(1)


def ask(server, connector, text: str, conversation: str) -> dict:
    """One turn of a 1:1 chat; the single message reply."""
    _, body = post(
        server,
        teams_activity(
            text,
            service_url=connector.url,
            conversation_id=conversation,
            expect_replies=True,
            activity_id=f"17000009{next(_ids):05d}",
        ),
    )
    [reply] = replies(body)
    return reply


def cited(reply: dict) -> list[str]:
    entities = [e for e in reply.get("entities") or [] if e.get("@type") == "Message"]
    return [c["appearance"]["name"] for e in entities for c in e.get("citation") or []]


def test_a_second_question_in_a_chat_is_answered_on_its_own(teams):  # noqa: F811
    connector, server, _ = teams
    first = ask(server, connector, "What is a GAN?", "a:conv-gan-vae")
    second = ask(server, connector, "What is a VAE?", "a:conv-gan-vae")
    assert second["text"] != first["text"]
    assert "VAE" in second["text"] and "GAN" not in second["text"]


def test_an_off_topic_follow_up_is_declined(teams):  # noqa: F811
    connector, server, _ = teams
    ask(server, connector, "What is a GAN?", "a:conv-weather")
    reply = ask(server, connector, "What's the weather tomorrow in Paris?", "a:conv-weather")
    assert "does not cover" in reply["text"] and not cited(reply)


@pytest.mark.parametrize("text", ["thanks!", "hello", "what can you do?"])
def test_small_talk_gets_a_short_reply_without_citations_or_card(teams, text):  # noqa: F811
    connector, server, _ = teams
    ask(server, connector, "What is a GAN?", f"a:small-{text}")
    reply = ask(server, connector, text, f"a:small-{text}")
    assert not reply.get("attachments") and not cited(reply)
    assert len(reply["text"]) < 600 and "discriminator" not in reply["text"]


def test_thanks_in_a_channel_thread_mentioning_the_assistant_is_small_talk(teams):  # noqa: F811
    connector, server, _ = teams
    conversation = "19:channel@thread.tacv2;messageid=1700000009999"
    status, _ = post(
        server,
        teams_activity(
            "thanks, that helps",
            service_url=connector.url,
            conversation_type="channel",
            conversation_id=conversation,
            mention=True,
            activity_id="1700000009999",
        ),
    )
    assert status in (200, 202)
    [(_, reply)] = connector.wait_for_messages()
    assert reply["text"].startswith("You're welcome") and not reply.get("attachments")


def test_chats_are_audited_as_dms_and_channel_threads_as_threads(teams):  # noqa: F811
    import datetime as dt

    connector, server, runtime = teams
    started = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    ask(server, connector, "What is RLHF?", "a:audited")
    post(
        server,
        teams_activity(
            "What is a diffusion model?",
            service_url=connector.url,
            conversation_type="channel",
            conversation_id="19:c@thread.tacv2;messageid=1700000008888",
            mention=True,
            activity_id="1700000008888",
        ),
    )
    connector.wait_for_messages()
    asked = {"What is RLHF?", "What is a diffusion model?"}
    rows = [r for r in runtime.feedback.audit(started) if r["platform"] == "teams" and r["question"] in asked]
    assert sorted(r["channel_kind"] for r in rows) == ["dm", "thread"]
    assert {r["user"] for r in rows} == {runtime.feedback.user_hash("aad-user-1")}


@pytest.mark.parametrize(
    ("first", "follow_up", "cited", "said"),
    [
        ("What are GANs good for?", "and what about VAEs?", "Variational autoencoders", "latent"),
        ("What is on the pre-deployment checklist?", "why does monitoring matter?", "Pre-deployment", "monitor"),
        ("What is a hallucination?", "How do we reduce them?", "Output quality", "Mitigations"),
    ],
    ids=["what-about", "checklist-item", "pronoun"],
)
def test_follow_ups_in_a_chat_answer_what_they_ask(teams, first, follow_up, cited, said):  # noqa: F811
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
