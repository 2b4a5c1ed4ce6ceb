"""Thin Slack listeners, registered in one place: translate the event, hand it to SlackAssistant."""

from __future__ import annotations

import logging
from typing import Any

from bot.slack.app import SlackAssistant
from bot.slack.blocks import FEEDBACK_ACTIONS

log = logging.getLogger(__name__)
PERSON_SUBTYPES = {None, "thread_broadcast", "file_share"}  # a person's text, possibly with a file


def register(app: Any, assistant: SlackAssistant) -> None:
    """Wire every listener to the assistant."""

    @app.event("app_mention")
    def handle_app_mention(event: dict, body: dict, client: Any) -> None:
        if not _from_a_person(event) or not assistant.seen.first(*_keys(event, body)):
            return
        assistant.submit_question(
            client,
            channel=event["channel"],
            ts=event["ts"],
            thread_ts=event.get("thread_ts") or event["ts"],
            text=event.get("text", ""),
            user=event.get("user", ""),
            in_thread=True,
        )

    @app.event("message")
    def handle_message(event: dict, body: dict, client: Any) -> None:
        if not _from_a_person(event):
            return
        channel, thread_ts = event["channel"], event.get("thread_ts")
        direct = event.get("channel_type") == "im"
        mentioned = f"<@{assistant.bot_user_id}>" in event.get("text", "")
        if not direct and (mentioned or not thread_ts):
            return  # mentions come as app_mention; plain channel chatter is not for us
        if not assistant.seen.first(*_keys(event, body)):
            return
        assistant.submit_question(
            client,
            channel=channel,
            ts=event["ts"],
            thread_ts=thread_ts,
            text=event.get("text", ""),
            user=event.get("user", ""),
            in_thread=bool(thread_ts) or not direct,
            only_if_joined=not direct,
        )

    @app.command(assistant.settings.slack_command)
    def handle_command(ack: Any, command: dict, respond: Any) -> None:
        reply = assistant.command(
            command.get("text", ""), command.get("user_id", ""), respond, channel=command.get("channel_id", "")
        )
        ack(response_type="ephemeral", **reply)

    @app.action(FEEDBACK_ACTIONS[0])
    @app.action(FEEDBACK_ACTIONS[1])
    def handle_feedback(ack: Any, body: dict, action: dict, respond: Any, client: Any) -> None:
        ack()
        assistant.vote(
            action.get("value", ""),
            body.get("user", {}).get("id", ""),
            action["action_id"],
            body.get("message", {}).get("blocks", []),
            respond,
            client=client,
            channel=(body.get("channel") or {}).get("id", ""),
            message_ts=(body.get("message") or {}).get("ts", ""),
        )

    @app.error
    def handle_error(error: Exception, body: dict) -> None:
        log.error("unhandled Slack error: %s", error, exc_info=error)


def _from_a_person(event: dict) -> bool:
    """A person's new text: not a bot (ourselves included), not an edit, join or other subtype."""
    return event.get("subtype") in PERSON_SUBTYPES and not event.get("bot_id") and bool(event.get("user"))


def _keys(event: dict, body: dict) -> tuple[str, str]:
    # Retries and redeliveries repeat the event_id; app_mention and message events for one
    # message share channel and ts.
    return body.get("event_id", ""), f"{event.get('channel')}:{event.get('ts')}"
