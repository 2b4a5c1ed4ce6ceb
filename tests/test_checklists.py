"""Checklists teams work through: ticks stored per channel and project, edits by editors, concurrency, the terminal.

The store's tests run on each TickStore: the data directory's file, and the shared-state database on
SQLite and on a real PostgreSQL (tests/postgres.py); then the upgrade of an older checklists.sqlite3
and two replicas sharing ticks.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from adoptbot.cli import main
from bot.state.database import Database
from bot.tools.checklists import (
    FILE_NAME,
    Board,
    ChecklistError,
    DatabaseTickStore,
    SqliteTickStore,
    TickStore,
    load_checklists,
    open_board,
    toggled,
)
from common.errors import DatabaseUnavailable, DataDirUnusable
from common.settings import Settings
from tests.cluster import at_once, replica_runtime
from tests.conftest import REPO, FakeEmbedder, make_runtime, write_kb
from tests.postgres import free_port

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


class Place:
    """Where ticks are kept: a checklists.sqlite3 path, or a database URL; open() is a store as a new process has it."""

    def __init__(self, where: str) -> None:
        self.where = where
        self._databases: list[Database] = []

    def open(self) -> TickStore:
        if "://" not in self.where:
            return SqliteTickStore(Path(self.where))
        database = Database(self.where)
        self._databases.append(database)
        return DatabaseTickStore(database)

    def close(self) -> None:
        for database in self._databases:
            database.close()


@pytest.fixture(params=["file", "database-sqlite", "database-postgresql"])
def place(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Place]:
    """Each TickStore: the data directory's file, the shared-state database on SQLite, and on PostgreSQL."""
    if request.param == "file":
        where = str(tmp_path / "data" / FILE_NAME)
    elif request.param == "database-sqlite":
        where = f"sqlite:///{tmp_path / 'data' / 'feedback.sqlite3'}"
    else:
        where = request.getfixturevalue("postgres").create_database()
    opened = Place(where)
    yield opened
    opened.close()


def board_for(kb: Path, place: Place, clock: Clock | None = None) -> Board:
    return Board(checklists=lambda: load_checklists(kb)[0], store=place.open(), clock=clock or Clock())


def test_the_knowledge_bases_checklists_are_read_from_its_files():
    checklists, problems = load_checklists(REPO / "knowledge")
    assert problems == []
    assert {c: len(x.items) for c, x in checklists.items()} == {"pre-deployment": 7, "governance-practices": 5}
    assert checklists["pre-deployment"].items[0].id == "objectives"
    assert checklists["pre-deployment"].source == "checklists/pre-deployment.yaml"


def test_ticks_say_who_and_when_and_survive_a_restart(kb, place):
    board = board_for(kb, place)
    posted = board.post("C1", "Web shop", "launch", "alice")
    assert (posted.done, posted.total, posted.project.started_by) == (0, 3, "alice")
    board.tick("C1", "web shop", "launch", "1", "alice")  # by number; project names ignore case
    progress = board.tick("C1", "Web shop", "launch", "monitoring", "bob")  # by id
    assert [(s.done, s.by) for s in progress.items] == [(True, "alice"), (False, ""), (True, "bob")]
    assert progress.items[0].at == "2026-11-29T09:03:00+00:00"
    board.store.close()

    again = board_for(kb, place)  # a new process, the same file or database
    progress = again.progress("C1", "WEB SHOP", "launch")
    assert progress.project.project == "Web shop" and progress.done == 2
    again.tick("C1", "Web shop", "launch", "Monitor accuracy after launch.", "carol", done=False)  # by text
    assert again.progress("C1", "Web shop", "launch").done == 1


def test_projects_and_channels_keep_their_own_ticks(kb, place):
    board = board_for(kb, place)
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


def test_an_edited_checklist_keeps_ticks_on_items_that_still_exist(kb, place):
    board = board_for(kb, place)
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


def test_two_people_ticking_at_once_lose_nothing_threads(kb, place):
    board = board_for(kb, place)
    board.post("C1", "web shop", "launch", "alice")
    start = threading.Barrier(6)

    def tick(user_item: tuple[str, str], rounds: int = 21) -> None:  # odd: every item ends ticked
        user, item = user_item
        start.wait()
        for n in range(rounds):
            board.tick("C1", "web shop", "launch", item, user, done=n % 2 == 0)

    assert at_once(tick, [(f"user{n}", ITEMS[n % 3][0]) for n in range(6)]) == []
    assert len(board.store.ticks("C1", "web shop", "launch")) == 6 * 21
    assert board.progress("C1", "web shop", "launch").done == 3


PROCESS = """
import sys
from pathlib import Path
from bot.tools.checklists import Board, DatabaseTickStore, SqliteTickStore, load_checklists
from bot.state.database import Database
kb, where, user, item = Path(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
store = DatabaseTickStore(Database(where)) if "://" in where else SqliteTickStore(Path(where))
board = Board(checklists=lambda: load_checklists(kb)[0], store=store)
for n in range(25):
    board.tick("C1", "web shop", "launch", item, user, done=True)
"""


def test_two_people_ticking_at_once_lose_nothing_processes(kb, place):
    board = board_for(kb, place)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    procs = [
        subprocess.Popen([sys.executable, "-c", PROCESS, str(kb), place.where, f"user{n}", ITEMS[n % 3][0]], env=env)
        for n in range(4)
    ]
    assert [p.wait(timeout=120) for p in procs] == [0, 0, 0, 0]
    ticks = board.store.ticks("C1", "web shop", "launch")
    assert len(ticks) == 4 * 25
    assert {t.user for t in ticks} == {"user0", "user1", "user2", "user3"}
    assert board.progress("C1", "web shop", "launch").done == 3


def test_export_is_markdown_for_a_go_live_review(kb, place):
    board = board_for(kb, place)
    board.post("C1", "web shop", "launch", "alice")
    board.tick("C1", "web shop", "launch", "2", "bob")
    text = board.export("C1", "Web Shop")
    assert text.startswith("# Go-live review: web shop\n")
    assert "## Launch checklist: 1 of 3 done" in text
    assert "- [ ] Name an accountable owner." in text
    assert "- [x] Put human review on risky outputs. (ticked by bob, 2026-11-29T09:03:00+00:00)" in text
    with pytest.raises(ChecklistError, match="checklist status"):
        board.export("C1", "nope")


def test_bad_input_says_what_to_use_instead(kb, place):
    board = board_for(kb, place)
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
    # The terminal ticks where Slack and Teams do: the board of the runtime's tools, in the shared-state database.
    [progress] = cli.tools.board.status("terminal")
    assert progress.done == 1 and isinstance(cli.tools.board.store, DatabaseTickStore)


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


# ------------------------------------------------------------------ the shared-state database


def old_file(kb: Path, data: Path, ticks: list[tuple[str, str, bool]], clock: Clock) -> None:
    """A checklists.sqlite3 as an adoptbot before the database kept ticks wrote it: (user, item, done) on web shop."""
    board = Board(checklists=lambda: load_checklists(kb)[0], store=SqliteTickStore(data / FILE_NAME), clock=clock)
    board.post("C1", "Web shop", "launch", "alice")
    for user, item, done in ticks:
        board.tick("C1", "web shop", "launch", item, user, done=done)
    board.store.close()


def test_an_old_checklists_file_is_copied_into_the_database_once(kb, tmp_path, database_url):
    data, clock = tmp_path / "data", Clock()
    old_file(kb, data, [("alice", "owner", True), ("bob", "review", True), ("bob", "review", False)], clock)
    database = Database(database_url)
    board = open_board(kb, data, database=database)
    assert isinstance(board.store, DatabaseTickStore)
    progress = board.progress("C1", "web shop", "launch")
    assert progress.project.started_by == "alice" and progress.project.project == "Web shop"
    assert [(s.done, s.by, s.at) for s in progress.items][:2] == [
        (True, "alice", "2026-11-29T09:03:00+00:00"),
        (False, "bob", "2026-11-29T09:07:00+00:00"),
    ]
    for _ in range(2):  # every later start copies nothing twice
        again = open_board(kb, data, database=database)
        assert len(again.store.ticks("C1", "web shop", "launch")) == 3
    # An adoptbot of the old version still running on this machine keeps writing to the file: the next open copies it.
    old_file(kb, data, [("carol", "monitoring", True)], clock)
    assert open_board(kb, data, database=database).progress("C1", "web shop", "launch").done == 2
    assert len(board.store.ticks("C1", "web shop", "launch")) == 4
    database.close()


def test_ticks_copied_late_from_another_replicas_file_do_not_undo_newer_ones(kb, tmp_path, database_url):
    clock = Clock()
    old_file(kb, tmp_path / "two", [("alice", "owner", True)], clock)  # replica two, before the upgrade
    database = Database(database_url)
    one = open_board(kb, tmp_path / "one", database=database)  # replica one upgraded first; bob unticks there
    one.tick("C1", "web shop", "launch", "owner", "bob", done=False)
    open_board(kb, tmp_path / "two", database=database)  # replica two upgrades: alice's older tick comes in
    [owner, *_] = one.progress("C1", "web shop", "launch").items
    assert (owner.done, owner.by) == (False, "bob")
    database.close()


def test_two_processes_opening_next_to_an_old_file_at_once_copy_it_once(kb, tmp_path, database_url):
    data = tmp_path / "data"
    old_file(kb, data, [(f"user{n}", ITEMS[n % 3][0], True) for n in range(30)], Clock())
    databases = [Database(database_url) for _ in range(4)]
    assert at_once(lambda database: DatabaseTickStore(database, legacy=data / FILE_NAME), databases, timeout=60) == []
    assert len(DatabaseTickStore(databases[0]).ticks("C1", "web shop", "launch")) == 30
    for d in databases:
        d.close()


def test_ticks_in_the_database_are_append_only(kb, tmp_path, database_url):
    database = Database(database_url)
    board = Board(checklists=lambda: load_checklists(kb)[0], store=DatabaseTickStore(database), clock=Clock())
    board.tick("C1", "web shop", "launch", "1", "alice")
    with pytest.raises(sa.exc.DatabaseError, match="append-only"), database.writing() as conn:
        conn.execute(sa.text("UPDATE checklist_ticks SET done = :no"), {"no": False})
    assert board.progress("C1", "web shop", "launch").done == 1
    database.close()


def test_a_database_that_is_down_raises_our_error(kb, tmp_path):
    down = Database(f"postgresql+psycopg://adoptbot@127.0.0.1:{free_port()}/adoptbot")
    board = Board(checklists=lambda: load_checklists(kb)[0], store=DatabaseTickStore(down))
    with pytest.raises(DatabaseUnavailable, match=r"127\.0\.0\.1"):
        board.tick("C1", "web shop", "launch", "1", "alice")
    with pytest.raises(DatabaseUnavailable):
        board.status("C1")
    old_file(kb, tmp_path / "data", [("alice", "owner", True)], Clock())
    with pytest.raises(DatabaseUnavailable):  # the copy of an old file waits for the database, and is not lost
        open_board(kb, tmp_path / "data", database=down)
    assert SqliteTickStore(tmp_path / "data" / FILE_NAME).ticks("C1", "web shop", "launch")


def test_a_runtime_keeps_ticks_in_the_feedback_stores_database_and_copies_the_old_file(kb, tmp_path):
    old_file(kb, tmp_path / "data", [("alice", "owner", True)], Clock())
    runtime = make_runtime(Settings(data_dir=tmp_path / "data", knowledge_dir=kb), FakeEmbedder())
    board = runtime.tools.board
    assert isinstance(board.store, DatabaseTickStore) and board.store.database is runtime.feedback.database
    assert board.progress("C1", "web shop", "launch").done == 1
    runtime.database.close()


def test_two_replicas_on_one_postgresql_see_each_others_ticks(kb, tmp_path, postgres):
    url = postgres.create_database()
    one, two = (replica_runtime(tmp_path / name, knowledge=kb, database_url=url, embedder=FakeEmbedder())
                for name in ("one", "two"))  # fmt: skip
    one.tools.board.post("C1", "Web shop", "launch", "alice")
    for runtime, user, item in ((two, "bob", "review"), (one, "ann", "owner")):
        runtime.tools.tick(
            channel="C1", place="slack:C1", project="web shop", checklist="launch", shown_done=[], selected=[item],
            user=user, how=str,
        )  # fmt: skip
    for runtime in (one, two):
        [progress] = runtime.tools.board.status("C1")
        assert [(s.done, s.by) for s in progress.items] == [(True, "ann"), (True, "bob"), (False, "")]
        assert progress.project.started_by == "alice"
    assert not (tmp_path / "one" / FILE_NAME).exists() and not (tmp_path / "two" / FILE_NAME).exists()
    for runtime in (one, two):
        runtime.database.close()
