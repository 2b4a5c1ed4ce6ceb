"""Teams conversation state through the Agents SDK's Storage: the SDK's MemoryStorage and ours over the database."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from microsoft_agents.hosting.core import MemoryStorage, Storage

from bot.state.database import Database
from bot.state.kv import DatabaseState
from bot.teams.conversations import HISTORY_TURNS, Conversations
from bot.teams.storage import DatabaseStorage


@pytest.fixture(params=["memory", "database"])
def storage(request, tmp_path: Path) -> Storage:
    if request.param == "memory":
        return MemoryStorage()
    return DatabaseStorage(DatabaseState(Database.sqlite(tmp_path / "state.sqlite3")), prefix="teams/")


def test_conversations_keep_the_last_turns_and_find_answers_by_message(storage):
    conversations = Conversations(storage)

    async def scenario() -> None:
        for n in range(HISTORY_TURNS + 2):
            await conversations.add_turn("a:chat", f"q{n}", f"a{n}")
        history = await conversations.history("a:chat")
        assert len(history) == HISTORY_TURNS * 2 and history[-1].text == f"a{HISTORY_TURNS + 1}"
        assert history[0].role == "user" and await conversations.history("a:other") == ()
        await conversations.add_answer("19:c@thread.tacv2;messageid=1", "m-1", "fb-1", {"text": "an answer"})
        assert await conversations.feedback_id("19:c@thread.tacv2;messageid=1", "m-1") == "fb-1"
        assert await conversations.feedback_id("19:c@thread.tacv2", "m-1") == "fb-1"  # the same channel
        assert await conversations.feedback_id("19:other@thread.tacv2", "m-1") == ""
        assert await conversations.answer("fb-1") == {"text": "an answer"}
        await conversations.add_answer("a:chat", "m-2", "", {"text": "small talk"})  # nothing to vote on
        assert await conversations.feedback_id("a:chat", "m-2") == ""

    asyncio.run(scenario())
