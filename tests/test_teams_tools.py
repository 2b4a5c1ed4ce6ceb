"""The adoption tools in Teams over real HTTP: the assessment card form, and checklist cards ticked as a team.

The assessment runs the real decision table and index (its results are scored in tests/test_assessment.py);
these tests check what Teams receives and sends, not the guidance's words. Answers come from the stub engine.
"""

# The tests take the harness's fixtures (imported below) as parameters of the same name.
# ruff: noqa: F811

from __future__ import annotations

import re
import threading
import time

from bot.state.database import Database
from bot.teams import cards
from bot.tools.checklists import DatabaseTickStore
from bot.tools.core import CHECKLISTS_UNAVAILABLE
from tests.postgres import free_port
from tests.teams_harness import (
    CHANNEL,
    as_shown,
    card,
    in_channel,
    inputs,
    post_checklist,
    replies,
    save,
    texts,
    toggled,
)
from tests.teams_harness import tools_bot as bot  # noqa: F401 - fixtures; `bot` here has the adoption tools

IDEA = "We want product photos in twenty backgrounds for the web shop"


# -- the assessment ----------------------------------------------------------------------------------------------


def test_assess_replies_with_a_form_with_what_the_idea_already_answers(bot):
    status, _ = bot.ask(f"assess {IDEA}")
    assert status in (200, 202)
    [form] = bot.posted()
    content = card(form)
    [idea] = inputs(content, "Input.Text")
    assert idea["id"] == "idea" and idea["isMultiline"] and idea["value"] == IDEA
    questions = inputs(content, "Input.ChoiceSet")
    assert len(questions) >= 3 and all(q["style"] == "compact" and not q["isMultiSelect"] for q in questions)
    content_question = next(q for q in questions if q["id"] == "q_content")
    assert content_question["value"] == "images"  # read from "product photos", pre-selected
    assert any("value" not in q for q in questions)  # what the idea does not say is left open
    assert content["actions"] == [{"type": "Action.Submit", "title": "Assess", "data": {"adoptbot": cards.ASSESS}}]
    assert bot.engine.questions == []  # a tool, not a question for the knowledge base


def test_submitting_the_form_in_a_channel_replies_with_the_recommendation_and_its_sources(bot):
    bot.ask(f"assess {IDEA}", mention=True, **in_channel())
    [form] = bot.posted()
    value = as_shown(card(form))  # submitted as shown: the idea and what was read from it
    assert bot.submit(value, bot.connector.id_of(form), **in_channel()) in (200, 202)  # no @mention on a submit
    _, result = bot.posted()
    assert result["text"].startswith("**Recommendation: ") and result["textFormat"] == "markdown"
    assert '(from "' in result["text"]  # answers kept as read from the idea say which words they came from
    [entity] = [e for e in result["entities"] if e.get("@type") == "Message"]
    assert "additionalType" not in entity  # the editors' decision table, not a model, decided it
    markers = {int(n) for n in re.findall(r"\[(\d+)\]", result["text"])}
    assert markers and {c["position"] for c in entity["citation"]} == markers
    sources = texts(card(result))
    assert sources[0] == "Sources" and len(sources) == len(markers) + 1
    assert all(re.match(r"\[\d+\] ", line) for line in sources[1:])
    assert bot.connector.updates() == []  # the form stays, to try another answer


def test_a_form_without_what_must_be_produced_is_marked_in_place_and_nothing_else_is_sent(bot):
    bot.ask("assess")
    [form] = bot.posted()
    form_id = bot.connector.id_of(form)
    value = {**as_shown(card(form)), "idea": "something with AI", "q_latency": "realtime"}
    assert bot.submit(value, form_id) in (200, 202)
    [(path, marked)] = bot.connector.updates()
    assert path == f"PUT /v3/conversations/a:1on1-conversation/activities/{form_id}"
    content = card(marked)
    flagged = [e["id"] for e in content["body"] if e.get("color") == "Attention"]
    assert flagged == ["q_content_missing"]
    assert inputs(content, "Input.Text")[0]["value"] == "something with AI"  # what was filled in is kept
    assert next(q for q in inputs(content, "Input.ChoiceSet") if q["id"] == "q_latency")["value"] == "realtime"
    assert bot.posted() == [form]  # no result, no other message


# -- checklists ----------------------------------------------------------------------------------------------------


def test_a_checklist_card_has_a_toggle_per_item_and_a_save_that_updates_it_in_place_for_everyone(bot):
    content, card_id = post_checklist(bot)
    toggles = inputs(content, "Input.Toggle")
    assert len(toggles) == 7 and all(t["value"] == "false" for t in toggles)
    [save_action] = content["actions"]
    assert save_action["title"] == "Save"
    assert save_action["data"] == {
        "adoptbot": cards.CHECKLIST, "checklist": "pre-deployment", "project": "web shop photos", "shown": [],
    }  # fmt: skip
    save(bot, content, card_id, [1], aad_object_id="aad-grace", name="Grace Hopper")
    [(path, updated)] = bot.connector.updates()
    assert path == f"PUT /v3/conversations/{CHANNEL};messageid=1700000000009/activities/{card_id}"
    after = card(updated)
    assert toggled(after) == [toggles[0]["title"]] and "1 of 7 done" in texts(after)
    assert any(t.startswith("ticked by Grace Hopper · ") and t.endswith(" UTC") for t in texts(after))
    assert after["actions"][0]["data"]["shown"] == ["objectives"]  # the next Save compares with this copy
    assert len(bot.posted()) == 1  # updated, not posted again


def test_status_and_export_cover_the_channel_in_markdown(bot):
    content, card_id = post_checklist(bot)
    save(bot, content, card_id, [2], name="Grace Hopper")
    other_thread = {"conversation_id": f"{CHANNEL};messageid=1700000000077"}  # the same channel, another thread
    _, body = bot.ask("checklist status", mention=True, expect_replies=True, **in_channel(**other_thread))
    [status] = replies(body)
    assert "web shop photos" in status["text"] and "1 of 7 done" in status["text"]
    assert status["textFormat"] == "markdown"
    _, body = bot.ask("checklist export web shop photos", mention=True, expect_replies=True, **in_channel())
    [export] = replies(body)
    assert "# Go-live review: web shop photos" in export["text"]
    assert "- [x] Select the right kind of model" in export["text"] and "ticked by Grace Hopper" in export["text"]
    _, body = bot.ask("checklist status", expect_replies=True)  # a 1:1 chat has projects of its own
    assert "No projects here yet" in replies(body)[0]["text"]


def test_two_people_saving_the_same_copy_at_once_lose_nothing(bot):
    content, card_id = post_checklist(bot, "launch")  # both see the untouched checklist
    board = bot.chat.tools.board
    first = threading.Event()

    def hold_the_first_update() -> None:
        # Give the other save the chance to tick and update in between; the card has to end up showing both.
        if not first.is_set():
            first.set()
            deadline = time.monotonic() + 3
            while len(board.store.ticks(CHANNEL, "launch", "pre-deployment")) < 2 and time.monotonic() < deadline:
                time.sleep(0.02)

    bot.connector.before_update = hold_the_first_update
    people = [
        threading.Thread(target=save, args=(bot, content, card_id, [n]), kwargs={"aad_object_id": a, "name": name})
        for n, a, name in ((1, "aad-ada", "Ada Lovelace"), (3, "aad-grace", "Grace Hopper"))
    ]
    for person in people:
        person.start()
    for person in people:
        person.join(60)
    updates = bot.connector.updates()
    assert len(updates) == 2
    last = card(updates[-1][1])
    assert len(toggled(last)) == 2 and "2 of 7 done" in texts(last)  # the card everyone sees shows both
    assert {"Ada Lovelace", "Grace Hopper"} <= {n for t in texts(last) for n in re.findall(r"by (.+?) · ", t)}


def test_unticking_on_a_stale_copy_changes_only_what_that_person_changed(bot):
    content, card_id = post_checklist(bot)
    save(bot, content, card_id, [1, 2], name="Ada Lovelace")
    fresh = card(bot.connector.updates()[-1][1])
    value = {**as_shown(fresh), inputs(fresh, "Input.Toggle")[0]["id"]: "false"}  # Ada unticks item 1
    bot.submit(value, card_id, **in_channel())
    save(bot, content, card_id, [4], name="Grace Hopper")  # Grace's copy is the first one: nothing ticked
    last = card(bot.connector.updates()[-1][1])
    assert [t.split(".")[0] for t in toggled(last)] == ["2", "4"]


def test_ticks_survive_a_restart(bot):
    content, card_id = post_checklist(bot)
    save(bot, content, card_id, [5], name="Grace Hopper")
    bot.stop()
    bot.start()  # a new endpoint, chat core and board over the same data directory
    again, _ = post_checklist(bot)
    assert [t.split(".")[0] for t in toggled(again)] == ["5"]
    assert any(t.startswith("ticked by Grace Hopper") for t in texts(again))
    save(bot, content, card_id, [6], name="Ada Lovelace")  # the card from before the restart still saves
    assert [t.split(".")[0] for t in toggled(card(bot.connector.updates()[-1][1]))] == ["5", "6"]


def test_a_checklist_that_does_not_exist_says_which_do(bot):
    _, body = bot.ask("checklist nonsense launch", expect_replies=True)
    [reply] = replies(body)
    assert "pre-deployment" in reply["text"] and "attachments" not in reply


def test_help_lists_the_tools(bot):
    _, body = bot.ask("help", expect_replies=True)
    text = replies(body)[0]["text"]
    assert "**assess [your idea]**" in text and "**checklist [name] [project]**" in text
    assert "**checklist export PROJECT**" in text


def test_when_the_checklists_database_is_down_people_are_told_not_left_in_silence(bot):
    content, card_id = post_checklist(bot)
    board = bot.chat.tools.board
    board.store = DatabaseTickStore(Database(f"postgresql+psycopg://adoptbot@127.0.0.1:{free_port()}/adoptbot"))
    _, body = bot.ask("checklist status", expect_replies=True)
    assert replies(body)[0]["text"] == CHECKLISTS_UNAVAILABLE
    save(bot, content, card_id, [1], name="Grace Hopper")
    assert bot.posted()[-1]["text"] == CHECKLISTS_UNAVAILABLE
    assert bot.connector.updates() == []  # the card is not shown as saved


def test_a_save_on_a_card_the_editors_have_since_changed_says_to_reopen_it_and_changes_nothing(bot):
    content, card_id = post_checklist(bot)
    value = {
        **as_shown(content),
        f"{cards.ITEM_INPUT}no-such-item": "true",
        inputs(content, "Input.Toggle")[0]["id"]: "true",
    }
    assert bot.submit(value, card_id, **in_channel()) in (200, 202)
    told = bot.posted()[-1]
    assert "out of date" in told["text"] and "**checklist pre-deployment web shop photos**" in told["text"]
    gone = {**as_shown(content), "checklist": "retired"}
    assert bot.submit(gone, card_id, **in_channel()) in (200, 202)
    assert "no longer offered here" in bot.posted()[-1]["text"] and "**checklist**" in bot.posted()[-1]["text"]
    assert bot.connector.updates() == []
    assert bot.chat.tools.board.store.ticks(CHANNEL, "web shop photos", "pre-deployment") == []
