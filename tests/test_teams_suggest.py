"""Suggested next questions in Teams: suggested actions in a personal chat, card buttons in channels; pressing one
asks it in the same conversation.

Over real HTTP against the fake Bot Connector, with the real engine over a small knowledge base of its own.
"""

# The tests take the fixture `suggesting` (imported below) as a parameter of the same name.
# ruff: noqa: F811

from __future__ import annotations

from typing import Any

import pytest

from bot.teams import cards
from bot.types import Answer, Choice, Citation
from tests.fake_connector import FakeConnector, card_submit, stream_type, teams_activity
from tests.suggest_kb import DESCALE, WRITTEN, suggesting  # noqa: F401 - fixture
from tests.teams_harness import CHANNEL, card, post, served
from tests.web import BackgroundServer

SOURCE = Citation(n=1, title="Coffee", section="Descaling", source="coffee.md", url="", last_reviewed="", score=0.9)
ANSWER = Answer(
    question="q", status="answered", text="Descale it every four weeks [1].", backend="template", sources=(SOURCE,),
    suggestions=tuple(Choice(f"Question {n}?", f"The whole question {n}?") for n in range(1, 5)),
)  # fmt: skip


def test_personal_chats_get_suggested_actions_and_other_chats_card_buttons():
    personal = cards.answer_activity(ANSWER, "fid", personal=True)
    assert personal["suggestedActions"] == {
        "actions": [
            {"type": "imBack", "title": f"Question {n}?", "value": f"The whole question {n}?"} for n in (1, 2, 3)
        ]
    }  # Teams shows three at most
    assert "actions" not in card(personal)
    channel = cards.answer_activity(ANSWER, "fid", personal=False)
    assert "suggestedActions" not in channel
    buttons = card(channel)["actions"]
    data = {"adoptbot": cards.ASK, "question": "The whole question 1?"}
    assert buttons[0] == {"type": "Action.Submit", "title": "Question 1?", "data": data}
    assert [cards.chosen_question(b["data"]) for b in buttons] == [f"The whole question {n}?" for n in range(1, 5)]
    assert cards.ASK_NEXT in [b["text"] for b in card(channel)["body"]]
    thanked = cards.thanked(channel, "Thanks!")
    assert card(thanked)["actions"] == buttons and "channelData" not in thanked  # a vote leaves the questions


@pytest.fixture
def teams(suggesting):
    with served(suggesting) as (connector, server):
        yield connector, server


def ask(server: BackgroundServer, connector: FakeConnector, text: str, **activity: Any) -> None:
    status, _ = post(server, teams_activity(text, service_url=connector.url, **activity))
    assert status in (200, 202)


def finals(connector: FakeConnector) -> list[dict[str, Any]]:
    return [a for a in connector.streamed() if stream_type(a) == "final"]


def cited_section(message: dict[str, Any]) -> str:
    """The section of the first source on the answer's card ("[1] **Title** - Section · reviewed ...")."""
    line = next(b["text"] for b in card(message)["body"] if b["text"].startswith("[1] "))
    return line.split(" - ", 1)[1].split(" · ", 1)[0]


def test_a_personal_answer_streams_with_suggested_actions_and_one_pressed_is_answered_there(teams):
    connector, server = teams
    ask(server, connector, DESCALE, activity_id="1700000100001")
    [answer] = connector.wait_until(lambda: finals(connector), what="the streamed answer")
    actions = answer["suggestedActions"]["actions"]
    assert 2 <= len(actions) <= 3 and all(a["type"] == "imBack" and a["value"] in WRITTEN for a in actions)
    assert DESCALE not in [a["value"] for a in actions] and "actions" not in card(answer)
    pressed = actions[-1]["value"]  # Teams sends the press as the person's message
    ask(server, connector, pressed, activity_id="1700000100002")
    _, followed = connector.wait_until(lambda: finals(connector)[1:] and finals(connector), what="the second answer")
    assert followed["conversation"]["id"] == "a:1on1-conversation"
    assert cited_section(followed) == WRITTEN[pressed][1]  # answered from the section it was written for
    assert pressed not in [a["value"] for a in followed["suggestedActions"]["actions"]]


def test_a_channel_answer_has_the_suggestions_as_buttons_and_a_press_is_answered_in_the_thread(teams):
    connector, server = teams
    thread = f"{CHANNEL};messageid=1700000200001"
    where = {"conversation_type": "channel", "conversation_id": thread}
    ask(server, connector, DESCALE, mention=True, activity_id="1700000200001", **where)
    [(_, answer)] = connector.wait_for_messages(1)
    assert "suggestedActions" not in answer
    buttons = card(answer)["actions"]
    assert 2 <= len(buttons) <= 3 and all(b["data"]["question"] in WRITTEN for b in buttons)
    pressed = buttons[0]["data"]
    status, _ = post(
        server,
        card_submit(pressed, reply_to_id=connector.id_of(answer), service_url=connector.url,
                    activity_id="1700000200002", **where),  # no @mention on a submit
    )  # fmt: skip
    assert status in (200, 202)
    _, (_, followed) = connector.wait_for_messages(2)
    assert followed["conversation"]["id"] == thread  # the same conversation: the thread of the question
    assert cited_section(followed) == WRITTEN[pressed["question"]][1]
