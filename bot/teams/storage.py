"""The Microsoft Agents SDK's Storage over our State, so Teams conversation state is shared by replicas.

It keeps the SDK's own semantics (those of its MemoryStorage): reading keys that were never written
returns no entry for them, writing replaces, deleting an unknown key is ignored, and an empty list of
keys or an empty key is a ValueError. The SDK does not use etags (version 1.9), so neither does this.
Database calls run in a worker thread, off the event loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import TypeVar

from microsoft_agents.hosting.core.storage import Storage, StoreItem

from bot.state.kv import State

StoreItemT = TypeVar("StoreItemT", bound=StoreItem)


class DatabaseStorage(Storage):
    """Storage for the Agents SDK (ConversationState, UserState) kept in a State under a key prefix."""

    def __init__(self, state: State, *, prefix: str = "agents/") -> None:
        self._state = state
        self._prefix = prefix

    def _keys(self, keys: Iterable[str], operation: str) -> list[str]:
        keys = list(keys)
        if not keys:
            raise ValueError(f"Storage.{operation}(): keys are required.")
        if any(not key for key in keys):
            raise ValueError(f"DatabaseStorage.{operation}(): key cannot be empty")
        return keys

    async def read(self, keys: list[str], *, target_cls: type[StoreItemT], **kwargs: object) -> dict[str, StoreItemT]:
        """The items of those keys that were written, as target_cls."""
        keys = self._keys(keys, "read")
        found = await asyncio.to_thread(self._state.get_many, [self._prefix + k for k in keys])
        return {
            key: target_cls.from_json_to_store_item(found[self._prefix + key])
            for key in keys
            if self._prefix + key in found
        }

    async def write(self, changes: dict[str, StoreItem]) -> None:
        """Write every item (replacing what was stored under its key)."""
        if not changes:
            raise ValueError("Storage.write(): Changes are required when writing.")
        self._keys(changes, "write")
        items = {self._prefix + key: item.store_item_to_json() for key, item in changes.items()}
        await asyncio.to_thread(self._state.put_many, items)

    async def delete(self, keys: list[str]) -> None:
        """Delete the items of keys; unknown keys are ignored."""
        keys = self._keys(keys, "delete")
        await asyncio.to_thread(self._state.delete, *(self._prefix + k for k in keys))
