"""Thin Slack listeners, registered in one place: translate the event into a Message, hand it to the assistant."""

from __future__ import annotations

import logging
from typing import Any

from bot.slack.assistant import Message, SlackAssistant
from bot.slack.blocks import ASSESS_VIEW, CHECKLIST_ACTION, FEEDBACK_ACTION, LEGACY_FEEDBACK_ACTIONS, SHARE_ACTION

log = logging.getLogger(__name__)
PERSON_SUBTYPES = {None, "thread_broadcast", "file_share"}  # a person's text, possibly with a file
COMMAND_FAILED = "Sorry, something went wrong with that command. Please try again in a minute."
FORM_FAILED = "Sorry, something went wrong reading the form. Please press Assess again in a minute."


def register(app: Any, assistant: SlackAssistant) -> None:
    """Wire every listener to the assistant."""

    @app.event("app_mention")
    def handle_app_mention(event: dict, body: dict, client: Any) -> None:
        if not _from_a_person(event):
            return
        assistant.take(client, _message("mention", event, body, thread_ts=event.get("thread_ts") or event["ts"]))

    @app.event("message")
    def handle_message(event: dict, body: dict, client: Any) -> None:
        if not _from_a_person(event):
            return
        direct = event.get("channel_type") == "im"
        mentioned = f"<@{assistant.bot_user_id}>" in event.get("text", "")
        if not direct and (mentioned or not event.get("thread_ts")):
            return  # mentions come as app_mention; plain channel chatter is not for us
        assistant.take(client, _message("dm" if direct else "follow-up", event, body, thread_ts=event.get("thread_ts")))

    @app.event("assistant_thread_started")
    def handle_assistant_thread_started(event: dict, client: Any) -> None:
        thread = event.get("assistant_thread") or {}
        if thread.get("channel_id") and thread.get("thread_ts"):
            assistant.thread_started(client, thread["channel_id"], thread["thread_ts"])

    @app.event("assistant_thread_context_changed")
    def handle_assistant_thread_context_changed() -> None:
        pass  # the channel the person is looking at does not change what the knowledge base says

    @app.command(assistant.settings.slack_command)
    def handle_command(ack: Any, command: dict, respond: Any, client: Any) -> None:
        try:
            reply = assistant.command(
                command.get("text", ""),
                command.get("user_id", ""),
                respond,
                channel=command.get("channel_id", ""),
                client=client,
                trigger_id=command.get("trigger_id", ""),
            )
        except Exception:
            log.exception("the %s command failed", assistant.settings.slack_command)
            reply = {"text": COMMAND_FAILED}
        ack(response_type="ephemeral", **reply)

    @app.view(ASSESS_VIEW)
    def handle_assessment(ack: Any, view: dict, body: dict, client: Any) -> None:
        try:
            errors = assistant.assessment_submitted(client, view, body.get("user", {}).get("id", ""))
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
        assistant.checklist_ticked(
            client,
            action,
            body.get("message") or {},
            body.get("user", {}).get("id", ""),
            (body.get("channel") or {}).get("id", ""),
        )

    @app.action(FEEDBACK_ACTION)
    @app.action(LEGACY_FEEDBACK_ACTIONS[0])
    @app.action(LEGACY_FEEDBACK_ACTIONS[1])
    def handle_feedback(ack: Any, body: dict, action: dict, respond: Any, client: Any) -> None:
        ack()
        value = action.get("value", "")
        if action["action_id"] in LEGACY_FEEDBACK_ACTIONS:  # the value was the answer id alone
            vote = "helpful" if action["action_id"] == LEGACY_FEEDBACK_ACTIONS[0] else "not_helpful"
            value = f"{vote}:{value}"
        assistant.vote(
            client,
            value,
            body.get("user", {}).get("id", ""),
            (body.get("message") or {}).get("blocks", []),
            respond,
            channel=(body.get("channel") or {}).get("id", ""),
            message_ts=(body.get("message") or {}).get("ts", ""),
        )

    @app.action(SHARE_ACTION)
    def handle_share(ack: Any, body: dict, action: dict, respond: Any, client: Any) -> None:
        ack()
        channel = (body.get("channel") or {}).get("id") or (body.get("container") or {}).get("channel_id", "")
        assistant.share(client, action.get("value", ""), body.get("user", {}).get("id", ""), channel, respond)

    @app.error
    def handle_error(error: Exception, body: dict) -> None:
        log.error("unhandled Slack error: %s", error, exc_info=error)


def _message(kind: Any, event: dict, body: dict, *, thread_ts: str | None) -> Message:
    return Message(
        kind=kind,
        channel=event["channel"],
        ts=event["ts"],
        thread_ts=thread_ts,
        text=event.get("text", ""),
        user=event.get("user", ""),
        team=event.get("team") or body.get("team_id", ""),
        keys=_keys(event, body),
    )


def _from_a_person(event: dict) -> bool:
    """A person's new text: not a bot (ourselves included), not an edit, join or other subtype."""
    return event.get("subtype") in PERSON_SUBTYPES and not event.get("bot_id") and bool(event.get("user"))


def _keys(event: dict, body: dict) -> tuple[str, str]:
    # Retries and redeliveries repeat the event_id; app_mention and message events for one
    # message share channel and ts.
    return body.get("event_id", ""), f"{event.get('channel')}:{event.get('ts')}"
