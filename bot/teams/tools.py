"""The adoption tools in Teams: `assess` and `checklist` answered with Adaptive Cards, and what their buttons send.

The tools core (bot/tools/core.py) does the work; a card's Action.Submit comes back as a message with the
card's inputs in its value, and the card is updated in place for everyone where Teams allows it.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import Callable, Mapping
from concurrent.futures import Executor
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from bot.answering.engine import APOLOGY
from bot.chat import Chat
from bot.teams import activity as read
from bot.teams import cards
from bot.teams.commands import how
from bot.teams.outbox import Outbox, message, reference, say, text_message, update
from bot.tools.assessment import Session
from bot.tools.checklists import ChecklistError
from bot.tools.core import CHECKLISTS_UNAVAILABLE, Tools
from common.errors import DatabaseUnavailable
from common.settings import Settings

log = logging.getLogger(__name__)
ASSESSING = "Working out the assessment; the result will follow shortly."
PREPARING = "Preparing the assessment form; it will follow shortly."


@dataclass
class ToolCards:
    """The tools' replies as cards, and the submits of those cards."""

    chat: Chat
    settings: Settings
    outbox: Outbox
    # One save of a checklist card at a time (tick, then update), so the last update shows every tick.
    _saving: weakref.WeakValueDictionary[str, asyncio.Lock] = field(
        default_factory=weakref.WeakValueDictionary, init=False
    )

    async def reply(self, context: Any, tool: str, rest: str) -> None:
        """`assess [idea]` replies with the form; `checklist ...` with a checklist card, or Markdown."""
        tools = self.chat.tools
        assert tools is not None
        activity = context.activity
        if tool == "assess":
            form = partial(_assess_form, tools, rest)
            await self._reply_in_time(context, form, "assessment form", pool=self.chat.pool, holding=PREPARING)
            return

        def checklist() -> dict[str, Any]:
            reply = tools.checklist(rest.split(), channel=read.channel(activity), place=read.place(activity),
                                    user=read.person(activity), how=how)  # fmt: skip
            if reply.progress is None:
                return cards.text_activity(reply.text)
            return cards.checklist_activity(reply.progress)

        await self._reply_in_time(context, checklist, "checklist")  # SQLite: quick, off the answers' pool

    async def assessment_submitted(self, context: Any, value: Mapping[str, Any]) -> None:
        """The form's Assess: the card marked where the output is still unknown, else the result with sources."""
        tools = self.chat.tools
        if tools is None:
            return
        idea, chosen = cards.form_answers(value)
        loop = asyncio.get_running_loop()

        def read_form() -> tuple[Session, list[str]]:
            session, _ = tools.fill(idea, chosen)  # a choice the editors have since removed: the question stays open
            return session, tools.missing(session)

        session, missing = await loop.run_in_executor(self.chat.pool, read_form)
        if missing:
            marked = cards.assess_form_activity(session, missing=missing)
            if not await update(context, context.activity.reply_to_id, marked, "card"):
                await context.send_activity(message(marked))
            return
        place = read.place(context.activity)

        def assessed() -> dict[str, Any]:
            result = tools.assess(session, place=place)
            return cards.text_activity(result) if isinstance(result, str) else cards.assessment_activity(result)

        await self._reply_in_time(context, assessed, "assessment", pool=self.chat.pool, holding=ASSESSING)

    async def checklist_saved(self, context: Any, value: Mapping[str, Any]) -> None:
        """A checklist card's Save: apply what this copy changed, then show everyone the new state in place."""
        tools = self.chat.tools
        if tools is None:
            return
        activity = context.activity
        channel = read.channel(activity)
        checklist, project, shown, selected = cards.checklist_changes(value)
        tick = partial(
            tools.tick, channel=channel, place=read.place(activity), project=project, checklist=checklist,
            shown_done=shown, selected=selected, user=read.person(activity), how=how,
        )  # fmt: skip
        key = f"{channel}/{activity.reply_to_id or ''}"
        lock = self._saving.setdefault(key, asyncio.Lock())
        async with lock:
            try:
                progress = await asyncio.get_running_loop().run_in_executor(None, tick)
            except ChecklistError as e:  # a checklist or item the editors have since removed: what to do
                await context.send_activity(text_message(str(e)))
                return
            except DatabaseUnavailable as e:
                log.warning("checklist save in %s not stored: %s", channel, e)
                await context.send_activity(text_message(CHECKLISTS_UNAVAILABLE))
                return
            updated = cards.checklist_activity(progress)
            if not await update(context, activity.reply_to_id, updated, "card"):
                await context.send_activity(message(updated))

    async def _reply_in_time(
        self,
        context: Any,
        work: Callable[[], dict[str, Any]],
        what: str,
        *,
        pool: Executor | None = None,
        holding: str = "",
    ) -> None:
        """Run a tool off the event loop and reply in this turn (if Teams would give up first: `holding`, then it)."""

        def guarded() -> dict[str, Any]:
            try:
                return work()
            except Exception:
                log.exception("the Teams %s failed", what)
                return cards.text_activity(APOLOGY)

        future = asyncio.get_running_loop().run_in_executor(pool, guarded)
        try:
            if context.activity.delivery_mode == "expectReplies" or not holding:
                reply = await future
            else:
                reply = await asyncio.wait_for(asyncio.shield(future), self.settings.teams_inline_s)
        except TimeoutError:
            where = reference(context)

            async def later() -> None:
                await self.outbox.send_later(where, message(await future))

            self.outbox.in_background(later())
            await say(context, text_message(holding))
            return
        await context.send_activity(message(reply))


def _assess_form(tools: Tools, idea: str) -> dict[str, Any]:
    """The assessment form with what the idea already answers."""
    return cards.assess_form_activity(tools.start(idea))
