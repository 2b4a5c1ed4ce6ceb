"""A clarifying question in Teams over real HTTP: its topics as card buttons, and a press answered as a question."""

# The tests take the harness's fixtures (imported below) as parameters of the same name.
# ruff: noqa: F811

from __future__ import annotations

from bot.teams import cards
from bot.types import Answer, Choice
from tests.stub_engine import CHOICES, CLARIFY
from tests.teams_harness import bot, card, in_channel  # noqa: F401 - fixtures


def test_the_card_offers_each_topic_as_a_submit_that_carries_its_question():
    answer = Answer(
        question="q", status="clarify", text="Which one?", backend="none", choices=(Choice("GANs", "q (GANs)"),)
    )
    activity = cards.clarify_activity(answer)
    [submit] = activity["attachments"][0]["content"]["actions"]
    data = {"adoptbot": cards.ASK, "question": "q (GANs)"}
    assert submit == {"type": "Action.Submit", "title": "GANs", "data": data}
    assert cards.chosen_question(submit["data"]) == "q (GANs)"
    assert cards.chosen_question({"adoptbot": cards.ASK, "question": ["not", "text"]}) == ""


def test_a_clarifying_question_in_a_channel_gets_buttons_and_a_press_is_answered(bot):
    bot.ask("an ambiguous question", mention=True, **in_channel())
    [asked] = bot.posted()
    assert asked["text"] == CLARIFY
    content = card(asked)
    assert [a["title"] for a in content["actions"]] == [c.label for c in CHOICES]
    assert "channelData" not in asked  # nothing to vote on yet
    chosen = content["actions"][1]["data"]
    assert bot.submit(chosen, bot.connector.id_of(asked), **in_channel()) in (200, 202)  # no @mention on a submit
    _, answer = bot.posted()
    assert "stub answer" in answer["text"] and answer["channelData"]["feedbackLoop"]
    question = bot.engine.questions[-1]
    assert (question.text, question.user) == (CHOICES[1].question, "aad-user-1")
    assert [t.text for t in question.history][-1] == CLARIFY  # the conversation, clarifying question included


def test_a_press_in_a_one_to_one_chat_is_answered_there(bot):
    bot.ask("an ambiguous question")
    asked = bot.posted()[-1]
    assert [a["title"] for a in card(asked)["actions"]] == [c.label for c in CHOICES]
    assert bot.submit(card(asked)["actions"][0]["data"], bot.connector.id_of(asked)) in (200, 202)
    assert bot.engine.questions[-1].text == CHOICES[0].question
    assert "stub answer" in bot.posted()[-1]["text"]
