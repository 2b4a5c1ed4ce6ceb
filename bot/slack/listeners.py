"""Thin Slack listeners, registered in one place: read the payload (messages.py, payloads.py), hand it on."""

from __future__ import annotations

import logging
import re
from typing import Any

from bot.slack import pane
from bot.slack.assistant import SlackAssistant
from bot.slack.blocks import (
    ASSESS_VIEW,
    CHECKLIST_ACTION,
    CHOICE_ACTION,
    FEEDBACK_ACTION,
    LEGACY_FEEDBACK_ACTIONS,
    SHARE_ACTION,
)
from bot.slack.messages import from_a_person, message_of
from bot.slack.payloads import channel_of, choice_of, command_of, share_channel, tick_of, user_of, vote_of

log = logging.getLogger(__name__)
COMMAND_FAILED = "Sorry, something went wrong with that command. Please try again in a minute."
FORM_FAILED = "Sorry, something went wrong reading the form. Please press Assess again in a minute."


def register(app: Any, assistant: SlackAssistant) -> None:
    """Wire every listener to the assistant."""
    questions, settings = assistant.questions, assistant.settings

    @app.event("app_mention")
    def handle_app_mention(event: dict, body: dict, client: Any) -> None:
        if not from_a_person(event):
            return
        questions.take(client, message_of("mention", event, body, thread_ts=event.get("thread_ts") or event["ts"]))

    @app.event("message")
    def handle_message(event: dict, body: dict, client: Any) -> None:
        if not from_a_person(event):
            return
        direct = event.get("channel_type") == "im"
        mentioned = f"<@{assistant.bot.user_id}>" in event.get("text", "")
        if not direct and (mentioned or not event.get("thread_ts")):
            return  # mentions come as app_mention; plain channel chatter is not for us
        kind = "dm" if direct else "follow-up"
        tab = direct and event["channel"] in assistant.tab  # the agent's Messages tab: answered in its thread
        questions.take(client, message_of(kind, event, body, thread_ts=event.get("thread_ts"), tab=tab))

    @app.event("app_home_opened")
    def handle_app_home_opened(event: dict, client: Any) -> None:
        # With agent_view this replaces assistant_thread_started: the person opened the DM's Messages tab.
        channel = event.get("channel") or ""
        if event.get("tab") == "messages" and assistant.tab.opened(channel):
            pane.suggest(client, channel, suggested=settings.slack_suggested_prompts)

    @app.event("app_context_changed")
    def handle_app_context_changed() -> None:
        pass  # agent_view's "what the person is looking at": the knowledge base says the same wherever they are

    @app.event("agent_session_stopped")
    def handle_agent_session_stopped(event: dict) -> None:
        if not assistant.stops.stop(event.get("channel") or "", event.get("thread_ts") or ""):
            log.info("stop pressed in %s with no answer being written here", event.get("channel"))

    @app.event("assistant_thread_started")
    def handle_assistant_thread_started(event: dict, client: Any) -> None:
        thread = event.get("assistant_thread") or {}
        if thread.get("channel_id") and thread.get("thread_ts"):
            pane.greet(client, thread["channel_id"], thread["thread_ts"], suggested=settings.slack_suggested_prompts)

    @app.event("assistant_thread_context_changed")
    def handle_assistant_thread_context_changed() -> None:
        pass  # the channel the person is looking at does not change what the knowledge base says

    @app.command(settings.slack_command)
    def handle_command(ack: Any, command: dict, respond: Any, client: Any) -> None:
        try:
            reply = assistant.command(client, command_of(command), respond)
        except Exception:
            log.exception("the %s command failed", settings.slack_command)
            reply = {"text": COMMAND_FAILED}
        ack(response_type="ephemeral", **reply)

    @app.view(ASSESS_VIEW)
    def handle_assessment(ack: Any, view: dict, body: dict, client: Any) -> None:
        try:
            errors = assistant.tools.assessment_submitted(client, view, user_of(body))
        except Exception:
            log.exception("the assessment form could not be read")
            errors = {"response_action": "errors", "errors": {"idea": FORM_FAILED}}
        if errors:
            ack(**errors)  # shown in the form; nothing is lost
        else:
            ack()

    @app.action(CHECKLIST_ACTION)
    def handle_checklist_tick(ack: Any, body: dict, action: dict, client: Any) -> None:
        ack()
        message = body.get("message") or {}
        tick = tick_of(action, message)
        if tick is not None:
            assistant.tools.checklist_ticked(client, tick, message, user_of(body), channel_of(body))

    @app.action(FEEDBACK_ACTION)
    @app.action(LEGACY_FEEDBACK_ACTIONS[0])
    @app.action(LEGACY_FEEDBACK_ACTIONS[1])
    def handle_feedback(ack: Any, body: dict, action: dict, respond: Any, client: Any) -> None:
        ack()
        vote, feedback_id = vote_of(action)
        message = body.get("message") or {}
        assistant.votes.vote(
            client, vote, feedback_id, user_of(body), message.get("blocks", []), respond,
            channel=channel_of(body), message_ts=message.get("ts", ""),
        )  # fmt: skip

    @app.action(re.compile(f"^{CHOICE_ACTION}:"))
    def handle_choice(ack: Any, body: dict, respond: Any, client: Any) -> None:
        ack()
        chosen = choice_of(body)
        if chosen is not None:
            questions.choose(client, chosen, body.get("message") or {}, respond)

    @app.action(SHARE_ACTION)
    def handle_share(ack: Any, body: dict, action: dict, respond: Any, client: Any) -> None:
        ack()
        assistant.private.share(client, action.get("value", ""), user_of(body), share_channel(body), respond)

    @app.error
    def handle_error(error: Exception, body: dict) -> None:
        log.error("unhandled Slack error: %s", error, exc_info=error)
