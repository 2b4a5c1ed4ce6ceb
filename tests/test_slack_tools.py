"""The adoption tools in Slack over real HTTP: the assessment modal, and checklists ticked as a team.

The assessment runs the real decision table and index (its results are scored in
tests/test_assessment.py); these tests check what Slack receives and sends, not the guidance's words.
"""

from __future__ import annotations

import json
import threading
import urllib.parse
from typing import Any

import pytest

from bot.slack.listeners import COMMAND_FAILED, FORM_FAILED
from bot.state.database import Database
from bot.tools.checklists import Board, DatabaseTickStore, SqliteTickStore, load_checklists, open_board
from bot.tools.core import CHECKLISTS_UNAVAILABLE, Tools
from tests.conftest import REPO
from tests.fake_slack import action_body, command_body
from tests.postgres import free_port
from tests.slack_harness import Slack, settle
from tests.stub_engine import StubEngine

FORM = "application/x-www-form-urlencoded"


@pytest.fixture
def slack(tmp_path, starter_runtime):
    tools = Tools(
        assessor=lambda: starter_runtime.tools.assessor,
        board=lambda: open_board(REPO / "knowledge", tmp_path / "ticks"),
    )
    s = Slack(tmp_path, StubEngine(), tools=tools)
    yield s
    s.close()


def command(s: Slack, text: str, user: str = "U1") -> dict:
    status, body = s.exchange(command_body(text, user=user, response_url=s.api.url + "/r/cmd"), FORM)
    assert status == 200
    return json.loads(body)


def submission(view: dict, values: dict, user: str = "U1") -> str:
    payload = {
        "type": "view_submission",
        "team": {"id": "T1"},
        "user": {"id": user},
        "api_app_id": "A1",
        "trigger_id": "1.2.3",
        "view": {**view, "id": "V1", "state": {"values": values}},
    }
    return urllib.parse.urlencode({"payload": json.dumps(payload)})


def selected(view: dict) -> dict:
    """The form's values as Slack sends them: each select with its shown option."""
    values: dict = {}
    for block in view["blocks"]:
        element = block["element"]
        if element["type"] == "plain_text_input":
            values[block["block_id"]] = {"idea": {"type": "plain_text_input", "value": element.get("initial_value")}}
        else:
            values[block["block_id"]] = {
                element["action_id"]: {"type": "static_select", "selected_option": element.get("initial_option")}
            }
    return values


def test_assess_opens_a_form_with_what_the_idea_already_answers(slack):
    reply = command(slack, "assess We want product photos in twenty backgrounds for the web shop")
    assert "leave open" in reply["text"]
    [opened] = slack.api.wait_for("views.open")
    view = opened["view"]
    assert opened["trigger_id"] == "1.2.3" and view["callback_id"] == "assess" and view["private_metadata"] == "C1"
    idea, *questions = view["blocks"]
    assert idea["element"]["initial_value"].startswith("We want product photos")
    assert len(questions) >= 3 and all(q["element"]["type"] == "static_select" for q in questions)
    assert any("initial_option" in q["element"] for q in questions)  # read from the idea, pre-selected
    assert all(len(o["text"]["text"]) <= 75 for q in questions for o in q["element"]["options"])


def test_submitting_the_form_posts_the_recommendation_with_sources_to_the_asker(slack):
    command(slack, "assess We want product photos in twenty backgrounds for the web shop")
    [opened] = slack.api.wait_for("views.open")
    status, body = slack.exchange(submission(opened["view"], selected(opened["view"])), FORM)
    assert status == 200 and body in ("", "{}")  # the form closes
    [result] = slack.api.wait_for("chat.postEphemeral")
    assert result["channel"] == "C1" and result["user"] == "U1"
    assert result["blocks"][0]["text"]["text"].startswith("*Recommendation: ")
    sources = result["blocks"][-1]
    assert sources["type"] == "context" and sources["elements"][0]["text"] == "*Sources*"
    assert '(from "' in result["text"]  # what was read from the idea still says which words it came from


def test_a_form_without_what_must_be_produced_is_sent_back_with_the_question_marked(slack):
    command(slack, "assess")
    [opened] = slack.api.wait_for("views.open")
    values = selected(opened["view"])
    values["idea"]["idea"]["value"] = "something with AI"
    status, body = slack.exchange(submission(opened["view"], values), FORM)
    answer = json.loads(body)
    assert status == 200 and answer["response_action"] == "errors"
    assert list(answer["errors"]) == ["q_content"] and slack.api.called("chat.postEphemeral") == []


def test_a_checklist_is_posted_for_the_channel_and_a_tick_shows_who_for_everyone(slack):
    reply = command(slack, "checklist pre-deployment web shop photos")
    assert "Posted the checklist" in reply["text"]
    [posted] = slack.api.wait_for("chat.postMessage")
    groups = [b for b in posted["blocks"] if b["type"] == "actions"]
    assert groups and all(b["elements"][0]["type"] == "checkboxes" for b in groups)
    first = groups[0]["elements"][0]["options"][0]
    message = {"ts": "1700000000.000042", "blocks": posted["blocks"]}
    tick = action_body(action_id="checklist_tick", value="", user="U7", message=message,
                       response_url=slack.api.url + "/r/t", kind="checkboxes",
                       block_id=groups[0]["block_id"], selected=[first])  # fmt: skip
    assert slack.post(tick, FORM) == 200
    [update] = slack.api.wait_for("chat.update")
    assert update["ts"] == "1700000000.000042" and "1 of" in update["blocks"][0]["text"]["text"]
    box = next(b for b in update["blocks"] if b["type"] == "actions")["elements"][0]
    assert box["initial_options"][0]["value"] == first["value"]
    assert "<@U7>" in box["initial_options"][0]["description"]["text"]
    status = command(slack, "checklist status")
    assert "web shop photos" in status["text"] and "1 of" in status["text"]
    export = command(slack, "checklist export web shop photos")
    assert "- [x]" in export["text"] and "U7" in export["text"]


def test_two_people_ticking_different_items_at_once_lose_nothing(slack):
    command(slack, "checklist pre-deployment launch")
    [posted] = slack.api.wait_for("chat.postMessage")
    group = next(b for b in posted["blocks"] if b["type"] == "actions")
    options = group["elements"][0]["options"]
    message = {"ts": "1700000000.000043", "blocks": posted["blocks"]}  # both see the untouched checklist

    def click(user: str, option: dict) -> None:
        body = action_body(action_id="checklist_tick", value="", user=user, message=message,
                           response_url=slack.api.url + "/r/x", kind="checkboxes",
                           block_id=group["block_id"], selected=[option])  # fmt: skip
        assert slack.post(body, FORM) == 200

    clicks = [threading.Thread(target=click, args=(u, o)) for u, o in (("U1", options[0]), ("U2", options[1]))]
    for t in clicks:
        t.start()
    for t in clicks:
        t.join()
    slack.api.wait_for("chat.update", 2)
    status = command(slack, "checklist status")
    assert "2 of" in status["text"]


def test_help_names_the_tools(slack):
    reply = command(slack, "help")
    assert "/adoptbot assess" in reply["text"] and "/adoptbot checklist" in reply["text"]


def test_when_the_checklists_database_is_down_people_are_told_not_left_in_silence(slack):
    command(slack, "checklist pre-deployment web shop photos")
    [posted] = slack.api.wait_for("chat.postMessage")
    group = next(b for b in posted["blocks"] if b["type"] == "actions")
    board = slack.runtime.tools.board
    board.store = DatabaseTickStore(Database(f"postgresql+psycopg://adoptbot@127.0.0.1:{free_port()}/adoptbot"))
    status = command(slack, "checklist status")
    assert status["text"] == CHECKLISTS_UNAVAILABLE
    message = {"ts": "1700000000.000044", "blocks": posted["blocks"]}
    body = action_body(action_id="checklist_tick", value="", user="U7", message=message,
                       response_url=slack.api.url + "/r/t", kind="checkboxes", block_id=group["block_id"],
                       selected=[group["elements"][0]["options"][0]])  # fmt: skip
    assert slack.post(body, FORM) == 200
    [sorry] = slack.api.wait_for("chat.postEphemeral")
    assert (sorry["channel"], sorry["user"], sorry["text"]) == ("C1", "U7", CHECKLISTS_UNAVAILABLE)
    assert slack.api.called("chat.update") == []


# -- payloads that no longer match the knowledge base (editors changed it while a message was open) ---------


def tick(s: Slack, message: dict, block_id: str, values: list[str], user: str = "U7") -> None:
    """Slack's block_actions when someone changes a box in a checklist message: these values selected now."""
    body = action_body(action_id="checklist_tick", value="", user=user, message=message,
                       response_url=s.api.url + "/r/t", kind="checkboxes", block_id=block_id,
                       selected=[{"text": {"type": "mrkdwn", "text": v}, "value": v} for v in values])  # fmt: skip
    assert s.post(body, FORM) == 200


@pytest.mark.parametrize(
    ("block_id", "value", "says"),
    [
        ("cl|pre-deployment|0|web shop photos", "no-such-item", "out of date"),
        ("cl|pre-deployment|0|web shop photos", "ownership", "out of date"),  # an item of governance-practices
        ("cl|retired|0|web shop photos", "objectives", "no longer offered here"),  # a checklist since removed
    ],
    ids=["unknown-item", "another-checklists-item", "removed-checklist"],
)
def test_a_tick_that_no_longer_matches_the_checklists_is_explained_and_changes_nothing(slack, block_id, value, says):
    command(slack, "checklist pre-deployment web shop photos")
    [posted] = slack.api.wait_for("chat.postMessage")
    tick(slack, {"ts": "1700000000.000045", "blocks": posted["blocks"]}, block_id, ["objectives", value])
    [told] = slack.api.wait_for("chat.postEphemeral")
    assert (told["channel"], told["user"]) == ("C1", "U7") and says in told["text"]
    reopen = "checklist pre-deployment web shop photos`" if "retired" not in block_id else "checklist`"
    assert f"`/adoptbot {reopen}" in told["text"]  # what to do next
    settle(slack)
    assert slack.api.called("chat.update") == []
    assert slack.runtime.tools.board.store.ticks("C1", "web shop photos", "pre-deployment") == []  # not half-applied


def test_a_form_with_a_choice_the_editors_removed_is_sent_back_saying_what_to_do(slack):
    command(slack, "assess We want product photos in twenty backgrounds for the web shop")
    [opened] = slack.api.wait_for("views.open")
    values = selected(opened["view"])
    values["q_content"]["content"]["selected_option"] = {"text": {"type": "plain_text", "text": "3D"}, "value": "3d"}
    status, body = slack.exchange(submission(opened["view"], values), FORM)
    answer = json.loads(body)
    assert status == 200 and answer["response_action"] == "errors"
    assert list(answer["errors"]) == ["q_content"]
    assert "no longer offered" in answer["errors"]["q_content"] and "/adoptbot assess" in answer["errors"]["q_content"]
    settle(slack)
    assert slack.api.called("chat.postEphemeral") == []


def test_a_project_name_too_long_is_refused_before_any_work(tmp_path, starter_runtime):
    reads = []

    def checklists() -> dict:
        reads.append(1)
        return load_checklists(REPO / "knowledge")[0]

    board = Board(checklists=checklists, store=SqliteTickStore(tmp_path / "ticks" / "checklists.sqlite3"))
    s = Slack(tmp_path, StubEngine(), tools=Tools(assessor=lambda: starter_runtime.tools.assessor, board=lambda: board))
    try:
        name = "1 " * 50_000  # 100 KB
        for text in (f"checklist pre-deployment {name}", f"checklist export {name}"):
            reply = command(s, text)
            assert "The project name is 99,999 characters long: keep it under 100" in reply["text"]
            assert len(json.dumps(reply)) < 1000  # the name is not said back
        assert reads == []  # refused before the checklists were read or the store was asked
        reply = command(s, f"checklist {'x' * 100_000} web shop")
        assert "is not a checklist" in reply["text"] and len(json.dumps(reply)) < 1000
        settle(s)
        assert s.api.called("chat.postMessage") == []
    finally:
        s.close()


def test_a_command_or_form_that_fails_unexpectedly_still_gets_a_short_answer(tmp_path):
    def broken() -> Any:
        raise RuntimeError("the decision table went away")

    tools = Tools(assessor=broken, board=lambda: open_board(REPO / "knowledge", tmp_path / "ticks"))
    s = Slack(tmp_path, StubEngine(), tools=tools)
    try:
        s.api.errors["chat.postMessage"] = "not_in_channel"
        assert command(s, "checklist pre-deployment launch")["text"] == COMMAND_FAILED  # 200, not a 500
        view = {"type": "modal", "callback_id": "assess", "private_metadata": "C1", "blocks": []}
        idea = {"idea": {"idea": {"type": "plain_text_input", "value": "x"}}}
        status, body = s.exchange(submission(view, idea), FORM)
        assert status == 200 and json.loads(body) == {"response_action": "errors", "errors": {"idea": FORM_FAILED}}
    finally:
        s.close()
