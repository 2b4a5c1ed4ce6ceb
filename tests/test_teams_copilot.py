"""A turn in Microsoft 365 Copilot Chat over real HTTP: the activities the fake Bot Connector receives.

Copilot's rules for a custom engine agent's turn: one streaming response, the attachments inside it (on its
final message), and nothing sent after the stream has ended. Copilot Chat reaches the bot as Teams does, with
a `ProductInfo` entity naming the COPILOT product (the SDK reads it as the channel `msteams:COPILOT`).
"""

# The tests take the harness's fixtures (imported below) as parameters of the same name.
# ruff: noqa: F811

from __future__ import annotations

from typing import Any

from bot.teams import cards
from bot.teams.answers import SEARCHING
from tests.fake_connector import ai_entity, feedback_invoke, stream_type, teams_activity
from tests.stub_engine import PIECES, SOURCE
from tests.teams_harness import bot, card_texts, stream_id  # noqa: F401 - fixtures

COPILOT = {"type": "ProductInfo", "id": "COPILOT"}


def in_copilot(activity: dict[str, Any]) -> dict[str, Any]:
    """The activity as Copilot Chat sends it: Teams' own, with the COPILOT product named."""
    activity["entities"] = [*(activity.get("entities") or []), COPILOT]
    return activity


def ask_in_copilot(bot, text: str) -> list[dict[str, Any]]:
    """Ask in Copilot Chat, letting Copilot show some text before the rest is written; every activity posted."""
    connector = bot.connector

    def after_piece(n: int) -> None:
        if n == 0:
            connector.wait_until(lambda: any(stream_type(a) == "streaming" for a in connector.streamed()))

    bot.engine.between = after_piece
    status, _ = bot.send(in_copilot(teams_activity(text, service_url=connector.url)))
    assert status in (200, 202)  # the turn has ended
    return [body for _, body in connector.posts]


def test_a_copilot_turn_is_one_stream_whose_final_message_carries_the_answer_and_its_card(bot):
    posted = ask_in_copilot(bot, "How does a GAN work?")
    kinds = [stream_type(a) for a in posted]
    # Everything sent is the stream: an update, the text as it grows, then one final message, last.
    assert kinds[0] == "informative" and posted[0]["type"] == "typing" and posted[0]["text"] == SEARCHING
    assert kinds[-1] == "final" and kinds.count("final") == 1 and "streaming" in kinds
    assert set(kinds[1:-1]) <= {"streaming"}, kinds
    [message] = [a for a in posted if a["type"] == "message"]
    assert message is posted[-1]
    # One stream: every activity after the first names the id Teams gave the first.
    first_id = bot.connector.ids[0]
    assert all(stream_id(a) == first_id for a in posted[1:])
    texts = [a["text"] for a in posted if stream_type(a) == "streaming"]
    assert all("".join(PIECES).startswith(t) for t in texts) and texts == sorted(texts, key=len)
    # The answer, its citations, the AI label, the sources card and the thumbs all travel in the final message.
    assert message["text"] == "".join(PIECES) and message["replyToId"] == "1700000000001"
    entity = ai_entity(message)
    assert entity["additionalType"] == ["AIGeneratedContent"] and entity["citation"] == [cards.claim(SOURCE)]
    assert card_texts(message)[0] == "Sources" and SOURCE.title in card_texts(message)[1]
    assert message["channelData"]["feedbackLoop"] == {"type": "default"}
    assert all(not a.get("attachments") for a in posted[:-1])  # no card before the end of the stream
    # The replies go back to Copilot Chat, not to a Teams chat.
    assert all(COPILOT in a["entities"] for a in posted)


def test_a_thumb_on_a_copilot_answer_is_stored_and_nothing_is_sent_after_the_stream(bot):
    posted = ask_in_copilot(bot, "What is RLHF?")
    final = posted[-1]
    invoke = in_copilot(feedback_invoke("dislike", reply_to_id=stream_id(final), service_url=bot.connector.url))
    status, _ = bot.send(invoke)
    assert status == 200
    [vote] = bot.feedback.votes()
    assert vote["vote"] == "not_helpful" and vote["question"] == "What is RLHF?"
    # Copilot Chat thanks the person itself: no update of the answer, no message after it.
    assert [body for _, body in bot.connector.posts] == posted
