"""The adoption tools in Slack: the assessment form (a modal) and checklists people tick together in a channel."""

from __future__ import annotations

import logging
from typing import Any

from bot.answering.engine import APOLOGY
from bot.audiences import slack_place
from bot.chat import Chat
from bot.slack import blocks
from bot.slack.delivery import tell_privately
from bot.slack.payloads import Tick, form_answers, form_channel
from bot.tools.assessment import Session
from bot.tools.checklists import ChecklistError
from bot.tools.core import CHECKLISTS_UNAVAILABLE, Tools, assessment_markdown
from common.errors import DatabaseUnavailable

log = logging.getLogger(__name__)
STALE_CHOICE = (
    "This choice is no longer offered (the assessment changed while the form was open): pick another, "
    "or cancel and start again with {how}."
)


class SlackTools:
    """`assess` and `checklist` over the tools core (bot/tools/core.py); `command` is the slash command."""

    def __init__(self, chat: Chat, *, command: str) -> None:
        self.chat = chat
        self.command = command

    @property
    def tools(self) -> Tools:
        """The core's tools (the listeners route here only when it has them)."""
        assert self.chat.tools is not None
        return self.chat.tools

    def how(self, args: str) -> str:
        """How a command is typed in Slack, for hints."""
        return blocks.command_usage(self.command)[0](args)

    # -- the assessment ---------------------------------------------------------------------------
    def assess(self, client: Any, trigger_id: str, idea: str, channel: str) -> dict[str, Any]:
        """Open the assessment form, with what the idea already answers filled in."""
        try:
            session = self.tools.start(idea.strip())
            client.views_open(trigger_id=trigger_id, view=blocks.assess_modal(session, channel))
        except Exception:
            log.exception("could not open the assessment form")
            return {"text": "Sorry, I couldn't open the assessment form. Please try again in a minute."}
        return {"text": "Fill in what you know; anything you leave open is listed in the result."}

    def assessment_submitted(self, client: Any, view: dict[str, Any], user: str) -> dict[str, Any] | None:
        """The form was submitted: errors to show in it (a dict for ack), or None and the result follows."""
        tools = self.tools
        idea, chosen = form_answers(view)
        session, stale = tools.fill(idea, chosen)  # the editors may have changed a choice while the form was open
        errors = {f"q_{q}": STALE_CHOICE.format(how=f"{self.command} assess") for q in stale}
        if errors:
            return {"response_action": "errors", "errors": errors}
        missing = tools.missing(session)
        if missing:
            return {
                "response_action": "errors",
                "errors": {f"q_{q}": "Pick one, or describe it in the idea above." for q in missing},
            }
        self.chat.pool.submit(self._post_assessment, client, session, form_channel(view, user), user)
        return None

    def _post_assessment(self, client: Any, session: Session, channel: str, user: str) -> None:
        try:
            result = self.tools.assess(session, place=slack_place(channel))
            if isinstance(result, str):
                client.chat_postEphemeral(channel=channel, user=user, text=blocks.markdown_text(result))
                return
            client.chat_postEphemeral(
                channel=channel, user=user, text=blocks.markdown_text(assessment_markdown(result)),
                blocks=blocks.assessment_blocks(result),
            )  # fmt: skip
        except Exception:
            log.exception("assessment failed")
            client.chat_postEphemeral(channel=channel, user=user, text=APOLOGY)

    # -- checklists -------------------------------------------------------------------------------
    def checklist(self, client: Any, words: list[str], user: str, channel: str) -> dict[str, Any]:
        """A checklist posted for the channel to tick, or the list, status or export (only for the asker)."""
        reply = self.tools.checklist(words, channel=channel, place=slack_place(channel), user=user, how=self.how)
        if reply.progress is None:
            return blocks.markdown_message(reply.text)
        client.chat_postMessage(
            channel=channel, text=blocks.checklist_text(reply.progress),
            blocks=blocks.checklist_blocks(reply.progress),
        )  # fmt: skip
        return {"text": f"Posted the checklist for {blocks.escape(reply.progress.project.project)} here."}

    def checklist_ticked(self, client: Any, tick: Tick, message: dict[str, Any], user: str, channel: str) -> None:
        """Someone changed boxes in a checklist message: store the change, show everyone the new state.

        When the message no longer matches the checklists (editors changed them while it was open),
        or the ticks cannot be stored, the person is told what to do instead of the boxes springing back.
        """
        try:
            progress = self.tools.tick(
                channel=channel, place=slack_place(channel), project=tick.project, checklist=tick.checklist,
                shown_done=tick.shown_done, selected=tick.selected, user=user, how=self.how,
            )  # fmt: skip
        except ChecklistError as e:  # a stale copy, or not a checklist this channel may see: said to the person only
            tell_privately(client, channel, user, str(e))
            return
        except DatabaseUnavailable as e:  # the boxes they clicked would otherwise just spring back, unexplained
            log.warning("checklist tick in %s not stored: %s", channel, e)
            tell_privately(client, channel, user, CHECKLISTS_UNAVAILABLE)
            return
        try:
            client.chat_update(
                channel=channel, ts=message["ts"], text=blocks.checklist_text(progress),
                blocks=blocks.checklist_blocks(progress),
            )  # fmt: skip
        except Exception:  # stored, but not shown: clicking again on this copy stores the same state again
            log.exception("could not update the checklist message in %s", channel)
            tell_privately(client, channel, user, APOLOGY)
