"""The feedback store: what it keeps, for how long, and that voters are never stored by their raw id."""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import stat
from pathlib import Path

import pytest

from adoptbot.runtime import Runtime
from bot.state.feedback import KEY_FILE, FeedbackStore, user_hash_key
from common.errors import ConfigError
from common.settings import Settings
from tests.clocks import T0, Clock
from tests.conftest import FakeEmbedder
from tests.feedback_store import ANSWER, KEY, open_store, rows, stored_bytes, stored_rows
from tests.old_stores import old_store


def test_user_ids_are_stored_as_keyed_hashes_never_raw(tmp_path):
    store = FeedbackStore(tmp_path / "feedback.sqlite3", user_key=KEY)
    answer_id = store.record_answer("slack", ANSWER)
    assert store.record_vote(answer_id, "U0SECRET42", "helpful")
    assert store.record_vote(answer_id, "U0SECRET42", "not_helpful")  # a change of mind replaces the vote
    [vote] = store.votes()
    assert vote["vote"] == "not_helpful" and vote["user"] == store.user_hash("U0SECRET42")
    assert len(vote["user"]) == 64 and "U0SECRET42" not in vote["user"]
    assert b"U0SECRET42" not in stored_bytes(tmp_path)
    store.close()
    assert b"U0SECRET42" not in stored_bytes(tmp_path)
    other = FeedbackStore(tmp_path / "other" / "feedback.sqlite3", user_key=b"another key" * 4)
    assert other.user_hash("U0SECRET42") != store.user_hash("U0SECRET42")  # keyed: no lookup table across keys


def test_raw_user_ids_from_an_older_store_are_hashed_on_open(tmp_path):
    path = tmp_path / "feedback.sqlite3"
    old_store(path, voters=("URAWID0001", "URAWID0002"))  # as the previous version wrote it: raw ids
    assert b"URAWID0001" in stored_bytes(tmp_path)

    store = FeedbackStore(path, user_key=KEY)
    assert [v["user"] for v in store.votes()] == [store.user_hash("URAWID0001"), store.user_hash("URAWID0002")]
    assert store.record_vote("a1", "URAWID0001", "not_helpful")  # the same person still replaces their vote
    assert [v["vote"] for v in store.votes()] == ["not_helpful", "helpful"]
    store.close()
    reopened = FeedbackStore(path, user_key=KEY)  # migrated once: hashes are not hashed again
    assert [v["user"] for v in reopened.votes()] == [store.user_hash("URAWID0001"), store.user_hash("URAWID0002")]
    reopened.close()
    on_disk = stored_bytes(tmp_path)
    assert b"URAWID0001" not in on_disk and b"URAWID0002" not in on_disk  # not even in free pages


def test_answers_and_votes_older_than_the_retention_period_are_deleted_on_open(tmp_path):
    path = tmp_path / "feedback.sqlite3"
    clock = Clock()
    store = FeedbackStore(path, user_key=KEY, retention_days=90, clock=clock)
    old_id = store.record_answer("slack", dataclasses.replace(ANSWER, question="What did I ask in JANUARY?"))
    store.record_vote(old_id, "U1", "helpful")
    clock.now = T0 + dt.timedelta(days=60)
    recent_id = store.record_answer("teams", ANSWER)
    store.record_vote(recent_id, "U2", "helpful")
    store.close()

    clock.now = T0 + dt.timedelta(days=91)
    store = FeedbackStore(path, user_key=KEY, retention_days=90, clock=clock)
    assert [v["answer_id"] for v in store.votes()] == [recent_id]
    assert rows(path, "answers") == 1
    assert not store.record_vote(old_id, "U3", "helpful")  # its answer is gone too
    store.close()
    on_disk = stored_bytes(tmp_path)
    assert b"Can I paste customer data" in on_disk and b"JANUARY" not in on_disk  # overwritten, not just unlinked


def test_a_long_running_store_prunes_again_after_a_day(tmp_path):
    path = tmp_path / "feedback.sqlite3"
    clock = Clock()
    store = FeedbackStore(path, user_key=KEY, retention_days=1, clock=clock)
    first = store.record_answer("slack", ANSWER)
    store.record_vote(first, "U1", "helpful")
    clock.now = T0 + dt.timedelta(hours=23)
    store.record_answer("slack", ANSWER)  # the last prune is less than a day old: nothing is checked
    assert rows(path, "answers") == 2
    clock.now = T0 + dt.timedelta(days=2)
    latest = store.record_answer("slack", ANSWER)
    assert rows(path, "answers") == 1 and store.votes() == []
    assert store.record_vote(latest, "U1", "helpful")
    store.close()


def test_the_hash_key_is_created_once_readable_by_its_owner_only(tmp_path):
    key = user_hash_key(tmp_path / "data")
    path = tmp_path / "data" / KEY_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(key) >= 32 and user_hash_key(tmp_path / "data") == key
    assert (
        user_hash_key(tmp_path / "elsewhere", "configured-key-from-the-environment")
        == b"configured-key-from-the-environment"
    )
    assert not (tmp_path / "elsewhere").exists()
    path.write_bytes(b"short")
    with pytest.raises(ConfigError, match="delete it"):
        user_hash_key(tmp_path / "data")


def test_a_new_store_is_readable_by_its_owner_only(tmp_path):
    FeedbackStore(tmp_path / "feedback.sqlite3", user_key=KEY).close()
    assert stat.S_IMODE((tmp_path / "feedback.sqlite3").stat().st_mode) == 0o600


def test_the_runtime_hashes_with_the_data_dirs_key_and_keeps_the_configured_retention(tmp_path):
    settings = Settings.from_env({"ADOPTBOT_DATA_DIR": str(tmp_path / "data"), "ADOPTBOT_RETENTION_DAYS": "7"})
    store = Runtime(settings, embedder=FakeEmbedder()).feedback
    assert store.available and store.user_hash("U1") == FeedbackStore(
        tmp_path / "x.sqlite3", user_key=(tmp_path / "data" / KEY_FILE).read_bytes()
    ).user_hash("U1")
    assert settings.retention_days == 7 and "user_hash_key" not in repr(settings)
    with pytest.raises(ConfigError, match="ADOPTBOT_RETENTION_DAYS must be greater than 0"):
        Settings.from_env({"ADOPTBOT_RETENTION_DAYS": "0"})


def test_a_data_dir_that_cannot_hold_the_store_degrades_to_answers_without_buttons(tmp_path, caplog):
    """/proc/nope cannot be created even by root, so this holds whoever runs the tests."""
    runtime = Runtime(Settings(data_dir=Path("/proc/nope"), knowledge_dir=tmp_path), embedder=FakeEmbedder())
    with caplog.at_level(logging.WARNING):
        store = runtime.feedback
    assert not store.available
    [record] = [r for r in caplog.records if r.name == "adoptbot.runtime"]
    message = record.getMessage()
    assert "/proc/nope" in message and "ADOPTBOT_DATA_DIR" in message and "without feedback buttons" in message
    assert store.record_answer("slack", ANSWER) == ""  # Slack and Teams send the answer without buttons
    assert store.record_vote("anything", "U1", "helpful") is False and store.votes() == []


def test_opening_a_store_in_an_unusable_directory_names_it(tmp_path):
    blocker = tmp_path / "data"
    blocker.write_text("a file where the data directory should be")
    with pytest.raises(ConfigError, match=f"Cannot use the data directory {blocker} .*ADOPTBOT_DATA_DIR"):
        FeedbackStore(blocker / "feedback.sqlite3", user_key=KEY)


# -- the same guarantees on either database (SQLite, and PostgreSQL when ADOPTBOT_DATABASE_URL is set) ----------


def test_users_are_keyed_hashes_and_a_change_of_mind_is_a_new_row_on_either_database(database_url):
    store = open_store(database_url)
    answer_id = store.record_answer("slack", ANSWER, user="U0SECRET42")
    assert store.record_vote(answer_id, "U0SECRET42", "helpful")
    assert store.record_vote(answer_id, "U0SECRET42", "not_helpful")
    assert not store.record_vote("no-such-answer", "U0SECRET42", "helpful")
    [vote] = store.votes()
    assert vote["vote"] == "not_helpful" and vote["user"] == store.user_hash("U0SECRET42")
    assert vote["sources"][0]["source"] == "guidance/privacy.md"
    assert len(stored_rows(store, "votes")) == 2
    assert "U0SECRET42" not in repr(stored_rows(store, "answers") + stored_rows(store, "votes"))
    assert store.answer(answer_id)["question"] == ANSWER.question and store.answer("no-such-answer") is None
    store.close()


def test_retention_on_open_and_daily_on_either_database(database_url):
    clock = Clock()
    store = open_store(database_url, retention_days=90, clock=clock)
    old_id = store.record_answer("slack", ANSWER)
    store.record_vote(old_id, "U1", "helpful")
    clock.now = T0 + dt.timedelta(days=60)
    recent_id = store.record_answer("teams", ANSWER)
    store.record_vote(recent_id, "U2", "helpful")
    store.close()

    clock.now = T0 + dt.timedelta(days=149, hours=12)
    store = open_store(database_url, retention_days=90, clock=clock)  # another replica starting, say
    assert [v["answer_id"] for v in store.votes()] == [recent_id] and len(stored_rows(store, "answers")) == 1
    assert not store.record_vote(old_id, "U3", "helpful")
    clock.now = T0 + dt.timedelta(days=150, hours=6)  # the recent one has expired, but the last prune was today
    store.record_answer("slack", ANSWER)
    assert len(stored_rows(store, "answers")) == 2
    clock.now = T0 + dt.timedelta(days=150, hours=13)
    store.record_answer("slack", ANSWER)
    assert len(stored_rows(store, "answers")) == 2 and store.votes() == []
    store.close()
