"""What Teams conversations remember across restarts, kept through the Agents SDK's Storage.

- the earlier turns of each conversation (a 1:1 chat, or one reply chain of a channel), for follow-ups;
- each answer sent, by its feedback id, so a vote can update it in place;
- which answer a Teams message id is, so the feedback loop's thumbs (which name only the message) find it.
"""

from __future__ import annotations

import asyncio
from typing import Any

from microsoft_agents.hosting.core import Storage, StoreItem

from bot.types import Turn

HISTORY_TURNS = 6  # question-and-answer pairs kept per conversation
PREFIX = "adoptbot"  # beside the SDK's own keys ("msteams/conversations/...")


class Document(StoreItem):
    """A JSON object as a StoreItem."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data

    def store_item_to_json(self) -> dict[str, Any]:
        return self.data

    @staticmethod
    def from_json_to_store_item(json_data: Any) -> Document:
        return Document(dict(json_data))


class Conversations:
    """History, answers sent and message ids, read and written through `storage`."""

    def __init__(self, storage: Storage) -> None:
        self.storage = storage
        self._history_lock = asyncio.Lock()  # one read-modify-write of a history at a time

    async def history(self, conversation_id: str) -> tuple[Turn, ...]:
        """The earlier turns of a conversation, oldest first."""
        data = await self._get(_history_key(conversation_id))
        return tuple(Turn(role, text) for role, text in (data or {}).get("turns", []))

    async def add_turn(self, conversation_id: str, question: str, answer: str) -> None:
        """Remember a question and its answer; only the last HISTORY_TURNS pairs are kept."""
        key = _history_key(conversation_id)
        async with self._history_lock:
            turns = ((await self._get(key)) or {}).get("turns", [])
            turns = [*turns, ["user", question], ["assistant", answer]][-HISTORY_TURNS * 2 :]
            await self.storage.write({key: Document({"turns": turns})})

    async def add_answer(
        self, conversation_id: str, message_id: str, feedback_id: str, activity: dict[str, Any]
    ) -> None:
        """Remember an answer as sent (to update it after a vote) and the message that carries it."""
        if not feedback_id:
            return
        changes: dict[str, StoreItem] = {f"{PREFIX}/answer/{feedback_id}": Document({"activity": activity})}
        if message_id:
            changes[_message_key(conversation_id, message_id)] = Document({"feedback_id": feedback_id})
        await self.storage.write(changes)

    async def answer(self, feedback_id: str) -> dict[str, Any] | None:
        """The answer activity sent for a feedback id, if it is remembered."""
        data = await self._get(f"{PREFIX}/answer/{feedback_id}") if feedback_id else None
        return data["activity"] if data else None

    async def feedback_id(self, conversation_id: str, message_id: str) -> str:
        """The feedback id of the answer a message carries ("" when it is not an answer we remember)."""
        data = await self._get(_message_key(conversation_id, message_id)) if message_id else None
        return str(data["feedback_id"]) if data else ""

    async def _get(self, key: str) -> dict[str, Any] | None:
        found = await self.storage.read([key], target_cls=Document)
        return found[key].data if key in found else None


def _history_key(conversation_id: str) -> str:
    return f"{PREFIX}/history/{conversation_id}"


def _message_key(conversation_id: str, message_id: str) -> str:
    # A reply chain's id carries ";messageid=..."; message ids are unique within the channel or chat.
    return f"{PREFIX}/message/{conversation_id.split(';messageid=')[0]}/{message_id}"
