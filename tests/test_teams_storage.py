"""The Teams state stores: the SQLite Storage behaves as the SDK's MemoryStorage does, and survives reopening.

Another Storage (a database one) can be checked by adding it to `storages`.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from microsoft_agents.hosting.core import MemoryStorage, Storage

from bot.teams.conversations import HISTORY_TURNS, Conversations, Document
from bot.teams.storage import SqliteStorage, data_directory_storage


@pytest.fixture(params=["memory", "sqlite"])
def storage(request, tmp_path: Path) -> Storage:
    return MemoryStorage() if request.param == "memory" else SqliteStorage(tmp_path / "state.sqlite3")


def run(coroutine):
    return asyncio.run(coroutine)


def test_items_are_read_back_replaced_and_deleted(storage):
    run(storage.write({"a": Document({"n": 1}), "b": Document({"n": [1, "two"]})}))
    found = run(storage.read(["a", "b", "missing"], target_cls=Document))
    assert {k: v.data for k, v in found.items()} == {"a": {"n": 1}, "b": {"n": [1, "two"]}}
    run(storage.write({"a": Document({"n": 2})}))
    run(storage.delete(["b", "never-written"]))
    assert {k: v.data for k, v in run(storage.read(["a", "b"], target_cls=Document)).items()} == {"a": {"n": 2}}
    for bad in ([], [""]):
        with pytest.raises(ValueError):
            run(storage.read(bad, target_cls=Document))


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

    run(scenario())


def test_the_sqlite_file_survives_reopening_and_forgets_what_is_past_its_age(tmp_path):
    clock = [1_000_000.0]
    first = SqliteStorage(tmp_path / "state.sqlite3", clock=lambda: clock[0])
    run(first.write({"kept": Document({"v": 1})}))
    clock[0] += 89 * 86_400
    run(first.write({"fresh": Document({"v": 2})}))
    first.close()
    clock[0] += 2 * 86_400  # "kept" is now 91 days old, "fresh" 2
    again = SqliteStorage(tmp_path / "state.sqlite3", max_age_days=90, clock=lambda: clock[0])
    assert set(run(again.read(["kept", "fresh"], target_cls=Document))) == {"fresh"}


def test_an_unwritable_data_directory_keeps_state_in_memory_and_says_so(tmp_path, caplog):
    blocked = tmp_path / "file-not-dir"
    blocked.write_text("")
    storage = data_directory_storage(blocked, max_age_days=90)
    assert isinstance(storage, MemoryStorage)
    assert any("ADOPTBOT_DATA_DIR" in r.getMessage() for r in caplog.records)
