"""Slack's inbound payloads (bot/slack/payloads.py, bot/slack/messages.py) read by pure functions, as plain dicts."""

from __future__ import annotations

from bot.slack.messages import Bot, from_a_person, message_of
from bot.slack.payloads import (
    Tick,
    command_of,
    form_answers,
    form_channel,
    share_channel,
    tick_of,
    user_of,
    vote_of,
)
from bot.types import Turn


def test_the_assessment_form_gives_its_idea_and_each_questions_choice():
    view = {
        "private_metadata": "C1",
        "state": {
            "values": {
                "idea": {"idea": {"type": "plain_text_input", "value": "Product photos in twenty backgrounds"}},
                "q_output": {"output": {"type": "static_select", "selected_option": {"value": "image"}}},
                "q_data": {"data": {"type": "static_select", "selected_option": None}},
                "other": {"x": {"value": "not a question"}},
            }
        },
    }
    assert form_answers(view) == ("Product photos in twenty backgrounds", {"output": "image", "data": ""})
    assert form_answers({}) == ("", {})
    assert form_channel(view, "U1") == "C1" and form_channel({"private_metadata": ""}, "U1") == "U1"


def test_a_checklist_tick_names_its_checklist_and_project_what_the_copy_showed_and_what_is_ticked_now():
    block_id = "cl|pre-deployment|0|Project Falcon"
    message = {"blocks": [{"block_id": "other"}, {"block_id": block_id, "elements": [
        {"type": "checkboxes", "initial_options": [{"value": "owner"}]}]}]}  # fmt: skip
    action = {"block_id": block_id, "selected_options": [{"value": "owner"}, {"value": "data"}]}
    assert tick_of(action, message) == Tick("pre-deployment", "Project Falcon", ["owner"], ["owner", "data"])
    assert tick_of({"block_id": block_id}, {}) == Tick("pre-deployment", "Project Falcon", [], [])
    assert tick_of({"block_id": "feedback_buttons"}, message) is None


def test_a_vote_reads_new_buttons_and_the_older_ones_whose_value_was_the_answer_id():
    assert vote_of({"action_id": "feedback", "value": "not_helpful:abc123"}) == ("not_helpful", "abc123")
    assert vote_of({"action_id": "feedback_helpful", "value": "abc123"}) == ("helpful", "abc123")
    assert vote_of({"action_id": "feedback_not_helpful", "value": "abc123"}) == ("not_helpful", "abc123")
    assert vote_of({"action_id": "feedback"}) == ("", "")


def test_who_and_where_of_commands_and_actions():
    typed = command_of({"text": "ask What is a GAN?", "user_id": "U1", "channel_id": "C1", "trigger_id": "t.1"})
    assert (typed.text, typed.user, typed.channel, typed.trigger_id) == ("ask What is a GAN?", "U1", "C1", "t.1")
    assert command_of({}).text == "" and user_of({"user": {"id": "U9"}}) == "U9" and user_of({}) == ""
    assert share_channel({"channel": {"id": "C1"}}) == "C1"
    assert share_channel({"container": {"channel_id": "C2"}}) == "C2"  # an ephemeral message names only its container


def test_a_message_event_is_read_with_its_claim_keys_and_only_peoples_new_text_counts():
    event = {"type": "app_mention", "user": "U1", "text": "<@UBOT> hi", "ts": "1.000100", "channel": "C1"}
    message = message_of("mention", event, {"event_id": "Ev1", "team_id": "T1"}, thread_ts="1.000100")
    assert message.keys == ("Ev1", "C1:1.000100") and message.team == "T1" and message.channel_kind == "channel"
    assert message_of("dm", {**event, "channel": "D1"}, {}, thread_ts=None).channel_kind == "dm"
    assert from_a_person(event) and from_a_person({**event, "subtype": "file_share"})
    assert not from_a_person({**event, "bot_id": "B1"}) and not from_a_person({**event, "subtype": "message_changed"})


def test_the_bot_knows_its_own_posts_and_which_thread_replies_are_for_it():
    bot = Bot("UBOT", "BBOT")
    assert bot.wrote({"user": "UBOT"}) and bot.wrote({"bot_id": "BBOT"}) and not bot.wrote({"user": "U1"})
    reply = {"type": "message", "user": "U1", "ts": "3", "thread_ts": "1", "channel": "C1"}
    assert not bot.is_for_me(message_of("follow-up", {**reply, "text": "<@U2> can you check this?"}, {}, thread_ts="1"))
    assert bot.is_for_me(message_of("follow-up", {**reply, "text": "thanks <@UBOT>!"}, {}, thread_ts="1"))
    thread = [
        {"ts": "1", "user": "U1", "text": "What is a <https://x.y|GAN>?"},
        {"ts": "2", "bot_id": "BBOT", "text": "A model."},
        {"ts": "3", "user": "U1", "text": "and now?"},
    ]
    assert bot.history(thread, "3") == (Turn("user", "What is a GAN (x.y)?"), Turn("assistant", "A model."))
