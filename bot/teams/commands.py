"""The chat core's commands (help, status, reindex) typed in Teams, and a reindex's report sent when it ends."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from functools import partial
from typing import Any

from bot.chat import Chat
from bot.teams import activity as read
from bot.teams.outbox import Outbox, reference, text_message
from bot.wording import tools_help


def how(verb: str) -> str:
    """How a command is typed in Teams: the word itself (after an @mention in channels)."""
    return f"**{verb}**"


@dataclass
class Commands:
    """Commands run by the chat core off the event loop; help lists the adoption tools where there are any."""

    chat: Chat
    outbox: Outbox

    async def reply(self, context: Any, verb: str) -> None:
        """Run the command and reply; a reindex reports its summary when it ends, after "Reindexing..."."""
        loop = asyncio.get_running_loop()
        where = reference(context)
        replied = asyncio.Event()  # a quick reindex must not report before "Reindexing..." is shown

        async def send_report(text: str) -> None:
            await replied.wait()
            await self.outbox.send_later(where, text_message(text))

        def report(text: str) -> None:  # a reindex's summary, from its thread
            asyncio.run_coroutine_threadsafe(send_report(text), loop)

        extra = tools_help(how) if self.chat.tools is not None else ()
        command = partial(
            self.chat.command, verb, platform="teams", user=read.user(context.activity), report=report, how=how,
            extra=extra,
        )  # fmt: skip
        try:
            text = await loop.run_in_executor(None, command)  # status reads the index: off the event loop
            await context.send_activity(text_message(text))
        finally:
            replied.set()
