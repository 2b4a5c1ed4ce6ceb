"""A file re-read when it changes, its last good value kept through a broken edit."""

from __future__ import annotations

import os

import pytest

from common.watched import Watched


def _number(path):
    text = path.read_text()
    if not text.strip().isdigit():
        raise ValueError(f"{path.name} is not a number")
    return int(text)


def _edit(path, text, tick):
    path.write_text(text)
    os.utime(path, ns=(tick, tick))  # a new modification time, whatever the file system's resolution


def test_a_changed_file_is_read_again_and_a_broken_edit_keeps_the_last_good_value(tmp_path, caplog):
    path = tmp_path / "n.txt"
    watched = Watched(path, _number, errors=(ValueError,), keeping="keeping the previous number")
    assert watched.current() is None  # no file yet
    _edit(path, "1", 1_000_000_000)
    assert watched.current() == 1
    _edit(path, "22", 2_000_000_000)
    assert watched.current() == 22
    _edit(path, "oops", 3_000_000_000)
    assert watched.current() == 22 and "n.txt is not a number; keeping the previous number" in caplog.text
    with pytest.raises(ValueError, match="not a number"):
        Watched(path, _number, errors=(ValueError,), keeping="").current()  # nothing good to keep


def test_strict_reading_raises_and_tries_again_next_time(tmp_path):
    path = tmp_path / "n.txt"
    _edit(path, "x", 1_000_000_000)
    watched = Watched(path, _number, errors=(ValueError,), keeping="", initial=0)
    with pytest.raises(ValueError):
        watched.current(strict=True)
    assert watched.current() == 0  # not strict: the initial value stays, and the broken file was read
