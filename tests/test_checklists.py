"""Checklists teams work through: ticks stored per channel and project, edits by editors, concurrency, the terminal."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from bot.checklists import (
    Board,
    ChecklistError,
    SqliteTickStore,
    load_checklists,
    open_board,
    toggled,
)
from bot.cli import main
from bot.errors import DataDirUnusable
from bot.settings import Settings
from tests.conftest import REPO, FakeEmbedder, make_runtime, write_kb

LAUNCH = """id: launch
title: Launch checklist
owner: AI Risk Office
last_reviewed: 2026-10-15
items:
{items}
"""
ITEMS = [
    ("owner", "Name an accountable owner."),
    ("review", "Put human review on risky outputs."),
    ("monitoring", "Monitor accuracy after launch."),
]


def write_launch(root: Path, items: list[tuple[str, str]]) -> None:
    lines = "\n".join(f"  - id: {i}\n    text: {t}\n    why: Because." for i, t in items)
    (root / "checklists/launch.yaml").write_text(LAUNCH.format(items=lines), encoding="utf-8")


class Clock:
    """Ticks one minute per reading, from a fixed day."""

    def __init__(self) -> None:
        self.now = dt.datetime(2026, 11, 29, 9, 0, tzinfo=dt.UTC)

    def __call__(self) -> dt.datetime:
        self.now += dt.timedelta(minutes=1)
        return self.now


@pytest.fixture
def kb(tmp_path: Path) -> Path:
    root = write_kb(tmp_path / "kb")
    write_launch(root, ITEMS)
    return root


def board_for(kb: Path, data: Path, clock: Clock | None = None) -> Board:
    store = SqliteTickStore(data / "checklists.sqlite3")
    return Board(checklists=lambda: load_checklists(kb)[0], store=store, clock=clock or Clock())


def test_the_knowledge_bases_checklists_are_read_from_its_files():
    checklists, problems = load_checklists(REPO / "knowledge")
    assert problems == []
    assert {c: len(x.items) for c, x in checklists.items()} == {"pre-deployment": 7, "governance-practices": 5}
    assert checklists["pre-deployment"].items[0].id == "objectives"
    assert checklists["pre-deployment"].source == "checklists/pre-deployment.yaml"


def test_ticks_say_who_and_when_and_survive_a_restart(kb, tmp_path):
    board = board_for(kb, tmp_path / "data")
    posted = board.post("C1", "Web shop", "launch", "alice")
    assert (posted.done, posted.total, posted.project.started_by) == (0, 3, "alice")
    board.tick("C1", "web shop", "launch", "1", "alice")  # by number; project names ignore case
    progress = board.tick("C1", "Web shop", "launch", "monitoring", "bob")  # by id
    assert [(s.done, s.by) for s in progress.items] == [(True, "alice"), (False, ""), (True, "bob")]
    assert progress.items[0].at == "2026-11-29T09:03:00+00:00"
    board.store.close()

    again = board_for(kb, tmp_path / "data")  # a new process, the same data directory
    progress = again.progress("C1", "WEB SHOP", "launch")
    assert progress.project.project == "Web shop" and progress.done == 2
    again.tick("C1", "Web shop", "launch", "Monitor accuracy after launch.", "carol", done=False)  # by text
    assert again.progress("C1", "Web shop", "launch").done == 1


def test_projects_and_channels_keep_their_own_ticks(kb, tmp_path):
    board = board_for(kb, tmp_path / "data")
    board.tick("C1", "alpha", "launch", "1", "alice")
    board.tick("C1", "beta", "launch", "2", "bob")
    board.tick("C2", "alpha", "launch", "3", "carol")
    status = board.status("C1")
    assert [(p.project.project, p.checklist.id, p.done) for p in status] == [
        ("alpha", "launch", 1),
        ("beta", "launch", 1),
    ]
    assert [s.n for s in status[0].items if s.done] == [1]
    assert [(p.project.project, [s.n for s in p.items if s.done]) for p in board.status("C2")] == [("alpha", [3])]
    assert board.status("C3") == []


def test_an_edited_checklist_keeps_ticks_on_items_that_still_exist(kb, tmp_path):
    board = board_for(kb, tmp_path / "data")
    for item in ("owner", "review", "monitoring"):
        board.tick("C1", "web shop", "launch", item, "alice")
    # The editors reword one item (same id), rename another's id (same text), remove the third, add one.
    write_launch(
        kb,
        [
            ("owner", "Name an accountable owner for the model."),
            ("human-review", "Put human review on risky outputs."),
            ("rollback", "Plan how to switch it off."),
        ],
    )
    progress = board.progress("C1", "web shop", "launch")
    assert [(s.item.id, s.done) for s in progress.items] == [
        ("owner", True),
        ("human-review", True),
        ("rollback", False),
    ]
    assert [t.item for t in progress.removed] == ["monitoring"]
    export = board.export("C1", "web shop")
    assert "- [ ] Plan how to switch it off." in export
    assert "Ticked earlier, since removed from the checklist:\n- monitoring (ticked by alice" in export
    # Putting the item back brings its tick back: nothing was lost.
    write_launch(kb, [*ITEMS, ("rollback", "Plan how to switch it off.")])
    assert board.progress("C1", "web shop", "launch").done == 3


def test_two_people_ticking_at_once_lose_nothing_threads(kb, tmp_path):
    board = board_for(kb, tmp_path / "data")
    board.post("C1", "web shop", "launch", "alice")
    start = threading.Barrier(6)
    errors: list[BaseException] = []

    def tick(user: str, item: str, rounds: int) -> None:
        try:
            start.wait()
            for n in range(rounds):
                board.tick("C1", "web shop", "launch", item, user, done=n % 2 == 0)
        except BaseException as e:  # noqa: BLE001 - collected and asserted below
            errors.append(e)

    users = [(f"user{n}", ITEMS[n % 3][0]) for n in range(6)]
    threads = [threading.Thread(target=tick, args=(u, i, 21)) for u, i in users]  # odd: every item ends ticked
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(board.store.ticks("C1", "web shop", "launch")) == 6 * 21
    assert board.progress("C1", "web shop", "launch").done == 3


PROCESS = """
import sys
from pathlib import Path
from bot.checklists import Board, SqliteTickStore, load_checklists
kb, data, user, item = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3], sys.argv[4]
board = Board(checklists=lambda: load_checklists(kb)[0], store=SqliteTickStore(data / "checklists.sqlite3"))
for n in range(25):
    board.tick("C1", "web shop", "launch", item, user, done=True)
"""


def test_two_people_ticking_at_once_lose_nothing_processes(kb, tmp_path):
    data = tmp_path / "data"
    board = board_for(kb, data)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    procs = [
        subprocess.Popen([sys.executable, "-c", PROCESS, str(kb), str(data), f"user{n}", ITEMS[n % 3][0]], env=env)
        for n in range(4)
    ]
    assert [p.wait(timeout=120) for p in procs] == [0, 0, 0, 0]
    ticks = board.store.ticks("C1", "web shop", "launch")
    assert len(ticks) == 4 * 25
    assert {t.user for t in ticks} == {"user0", "user1", "user2", "user3"}
    assert board.progress("C1", "web shop", "launch").done == 3


def test_export_is_markdown_for_a_go_live_review(kb, tmp_path):
    board = board_for(kb, tmp_path / "data")
    board.post("C1", "web shop", "launch", "alice")
    board.tick("C1", "web shop", "launch", "2", "bob")
    text = board.export("C1", "Web Shop")
    assert text.startswith("# Go-live review: web shop\n")
    assert "## Launch checklist: 1 of 3 done" in text
    assert "- [ ] Name an accountable owner." in text
    assert "- [x] Put human review on risky outputs. (ticked by bob, 2026-11-29T09:03:00+00:00)" in text
    with pytest.raises(ChecklistError, match="checklist status"):
        board.export("C1", "nope")


def test_bad_input_says_what_to_use_instead(kb, tmp_path):
    board = board_for(kb, tmp_path / "data")
    with pytest.raises(ChecklistError, match="use one of launch"):
        board.post("C1", "web shop", "lunch", "alice")
    with pytest.raises(ChecklistError, match="use a number from 1 to 3 or an item id"):
        board.tick("C1", "web shop", "launch", "9", "alice")
    with pytest.raises(ChecklistError, match="Name the project"):
        board.post("C1", "  ", "launch", "alice")
    with pytest.raises(ChecklistError, match="post it first"):
        board.progress("C1", "web shop", "launch")
    assert board.find("Launch checklist").id == "launch" and board.find("lau").id == "launch"


def test_an_unusable_data_directory_is_named(kb, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(DataDirUnusable, match=r"checklists\.sqlite3 must be writable"):
        SqliteTickStore(blocker / "checklists.sqlite3")


def test_a_checkbox_group_tells_which_items_changed():
    assert toggled(["owner", "review"], ["owner", "monitoring"]) == {"monitoring": True, "review": False}
    assert toggled([], []) == {}


# ------------------------------------------------------------------ the terminal


@pytest.fixture
def cli(kb, tmp_path):
    return make_runtime(Settings(data_dir=tmp_path / "data", knowledge_dir=kb), FakeEmbedder())


def test_checklist_commands_in_the_terminal(cli, capsys, tmp_path):
    assert main(["checklist"], runtime=cli) == 0
    assert "launch: Launch checklist (3 items)" in capsys.readouterr().out
    assert main(["checklist", "launch"], runtime=cli) == 0
    assert "  2. Put human review on risky outputs." in capsys.readouterr().out
    assert main(["checklist", "launch", "web shop", "--tick", "1", "--tick", "monitoring"], runtime=cli) == 0
    out = capsys.readouterr().out
    assert "Launch checklist - web shop: 2 of 3 done" in out and "  1. [x] Name an accountable owner." in out
    assert main(["checklist", "launch", "web shop", "--untick", "1"], runtime=cli) == 0
    assert "1 of 3 done" in capsys.readouterr().out
    assert main(["checklist", "status"], runtime=cli) == 0
    assert capsys.readouterr().out == "web shop: launch 1/3 done\n"
    out_file = tmp_path / "review.md"
    assert main(["checklist", "export", "web shop", "--out", str(out_file)], runtime=cli) == 0
    assert "- [x] Monitor accuracy after launch." in out_file.read_text(encoding="utf-8")
    assert main(["checklist", "export", "web shop"], runtime=cli) == 0
    assert capsys.readouterr().out.startswith("# Go-live review: web shop")


def test_checklist_mistakes_in_the_terminal_change_nothing(cli, capsys):
    assert main(["checklist", "launch", "web shop", "--tick", "1", "--tick", "12"], runtime=cli) == 2
    assert "no item '12'" in capsys.readouterr().err
    assert main(["checklist", "status"], runtime=cli) == 0
    assert "No projects in terminal yet" in capsys.readouterr().out  # the good tick was not half-applied
    assert main(["checklist", "lunch", "web shop"], runtime=cli) == 2
    assert "'lunch' is not a checklist: use one of launch" in capsys.readouterr().err
    assert main(["checklist", "launch", "web", "shop"], runtime=cli) == 2
    assert "quote a name with spaces" in capsys.readouterr().err
    assert main(["checklist", "status", "--tick", "1"], runtime=cli) == 2
    assert "--tick and --untick need a checklist and a project" in capsys.readouterr().err


def test_open_board_reads_the_knowledge_folder_and_the_data_directory(tmp_path):
    board = open_board(REPO / "knowledge", tmp_path / "data")
    try:
        assert [c.id for c in board.names()] == ["governance-practices", "pre-deployment"]
        assert (tmp_path / "data/checklists.sqlite3").is_file()
    finally:
        board.store.close()
