"""Where projects and ticks are kept: the TickStore interface, a SQLite file, and the shared-state database."""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import uuid
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

from bot.state.database import SQLITE_BUSY_S, Database
from common.errors import DataDirUnusable

log = logging.getLogger(__name__)

FILE_NAME = "checklists.sqlite3"


def project_key(name: str) -> str:
    """A project name as compared: "Web Shop " is "web shop"."""
    return " ".join(name.split()).casefold()


@dataclass(frozen=True)
class Tick:
    """One tick or untick of an item, as stored."""

    channel: str
    project: str
    checklist: str
    item: str  # the item's id when it was ticked
    key: str  # its normalized text then
    done: bool
    user: str
    time: str  # ISO 8601, UTC


@dataclass(frozen=True)
class Project:
    """A project's checklist in a channel, from the moment someone posted it."""

    channel: str
    project: str  # as first written
    checklist: str
    started_by: str
    started_at: str


class TickStore(ABC):
    """Where projects and ticks are kept; every write is one row, so concurrent writers lose nothing."""

    @abstractmethod
    def start(self, project: Project) -> Project:
        """Record that a project's checklist was posted; the first start wins, later ones return it."""

    @abstractmethod
    def record(self, tick: Tick) -> None:
        """Append one tick or untick."""

    @abstractmethod
    def projects(self, channel: str) -> list[Project]:
        """The projects started in channel, oldest first."""

    @abstractmethod
    def ticks(self, channel: str, project: str, checklist: str) -> list[Tick]:
        """Every tick and untick of a project's checklist, oldest first."""

    @abstractmethod
    def close(self) -> None:
        """Release the store's connections."""


SCHEMA = """
CREATE TABLE IF NOT EXISTS projects (
    channel TEXT NOT NULL, project_key TEXT NOT NULL, checklist TEXT NOT NULL, project TEXT NOT NULL,
    started_by TEXT NOT NULL, started_at TEXT NOT NULL, PRIMARY KEY (channel, project_key, checklist)
);
CREATE TABLE IF NOT EXISTS ticks (
    id INTEGER PRIMARY KEY AUTOINCREMENT, channel TEXT NOT NULL, project_key TEXT NOT NULL,
    checklist TEXT NOT NULL, item TEXT NOT NULL, item_key TEXT NOT NULL, done INTEGER NOT NULL,
    user TEXT NOT NULL, time TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS ticks_by_project ON ticks (channel, project_key, checklist, id);
CREATE TRIGGER IF NOT EXISTS ticks_append_only BEFORE UPDATE ON ticks
    BEGIN SELECT RAISE(ABORT, 'ticks are append-only'); END;
"""


class SqliteTickStore(TickStore):
    """One SQLite file in the data directory (write-ahead log, so several processes can share it)."""

    def __init__(self, path: Path, *, timeout_s: float = 30.0) -> None:
        self.path = path
        self._timeout = timeout_s
        self._local = threading.local()
        self._opened: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))
            db = self._db()
            db.execute("PRAGMA journal_mode = WAL")
            db.executescript(SCHEMA)
        except (OSError, sqlite3.Error) as e:
            raise DataDirUnusable(path.parent, e, fix=f"the checklist store {path.name} must be writable") from e

    def _db(self) -> sqlite3.Connection:
        """This thread's connection: SQLite serializes the writers, each waits up to timeout_s for its turn."""
        db = getattr(self._local, "db", None)
        if db is None:
            # Each thread uses its own connection; close() may run on another thread at shutdown.
            db = sqlite3.connect(str(self.path), timeout=self._timeout, isolation_level=None, check_same_thread=False)
            self._local.db = db
            with self._lock:
                self._opened.append(db)
        return db

    def start(self, project: Project) -> Project:
        db = self._db()
        db.execute(
            "INSERT OR IGNORE INTO projects (channel, project_key, checklist, project, started_by, started_at) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (
                project.channel,
                project_key(project.project),
                project.checklist,
                project.project,
                project.started_by,
                project.started_at,
            ),
        )
        row = db.execute(
            "SELECT project, started_by, started_at FROM projects WHERE channel = ? AND project_key = ? "
            "AND checklist = ?",
            (project.channel, project_key(project.project), project.checklist),
        ).fetchone()
        return Project(project.channel, row[0], project.checklist, row[1], row[2])

    def record(self, tick: Tick) -> None:
        self._db().execute(
            "INSERT INTO ticks (channel, project_key, checklist, item, item_key, done, user, time) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                tick.channel,
                project_key(tick.project),
                tick.checklist,
                tick.item,
                tick.key,
                int(tick.done),
                tick.user,
                tick.time,
            ),
        )

    def projects(self, channel: str) -> list[Project]:
        rows = self._db().execute(
            "SELECT project, checklist, started_by, started_at FROM projects WHERE channel = ? "
            "ORDER BY started_at, rowid",
            (channel,),
        )
        return [Project(channel, p, c, by, at) for p, c, by, at in rows.fetchall()]

    def ticks(self, channel: str, project: str, checklist: str) -> list[Tick]:
        rows = self._db().execute(
            "SELECT item, item_key, done, user, time FROM ticks WHERE channel = ? AND project_key = ? "
            "AND checklist = ? ORDER BY id",
            (channel, project_key(project), checklist),
        )
        return [Tick(channel, project, checklist, i, k, bool(d), u, t) for i, k, d, u, t in rows.fetchall()]

    def close(self) -> None:
        with self._lock:
            for db in self._opened:
                db.close()
            self._opened.clear()
        self._local = threading.local()


PROJECTS = sa.table(
    "checklist_projects",
    *(sa.column(c, sa.Text) for c in ("channel", "project_key", "checklist", "project", "started_by", "started_at")),
    sa.column("id", sa.Integer),
)
TICKS = sa.table(
    "checklist_ticks",
    *(sa.column(c, sa.Text) for c in ("channel", "project_key", "checklist", "item", "item_key", "user", "time")),
    sa.column("done", sa.Boolean),
    sa.column("copied", sa.Boolean),
    sa.column("id", sa.Integer),
)
COPIES = sa.table("checklist_copies", sa.column("file_id", sa.Text), sa.column("ticks_upto", sa.Integer))
PROJECT_COLUMNS = ("channel", "project_key", "checklist", "project", "started_by", "started_at")
TICK_COLUMNS = ("channel", "project_key", "checklist", "item", "item_key", "done", "user", "time")


class DatabaseTickStore(TickStore):
    """Projects and ticks in the shared-state database, seen by every replica; DatabaseUnavailable when it is down.

    legacy: the checklists.sqlite3 an older adoptbot kept in this data directory; its ticks not yet
    copied are copied in when the store opens (see copy_from).
    """

    def __init__(self, database: Database, *, legacy: Path | None = None) -> None:
        self.database = database
        if legacy is not None and legacy.is_file():
            self.copy_from(legacy)

    def start(self, project: Project) -> Project:
        key = project_key(project.project)
        row = {
            "channel": project.channel,
            "project_key": key,
            "checklist": project.checklist,
            "project": project.project,
            "started_by": project.started_by,
            "started_at": project.started_at,
        }
        with self.database.writing() as conn:
            conn.execute(self._insert_project(), [row])
            # READ COMMITTED: a start committed by another replica meanwhile is seen here, and wins.
            first = conn.execute(
                sa.select(PROJECTS.c.project, PROJECTS.c.started_by, PROJECTS.c.started_at).where(
                    PROJECTS.c.channel == project.channel,
                    PROJECTS.c.project_key == key,
                    PROJECTS.c.checklist == project.checklist,
                )
            ).one()
        return Project(project.channel, first.project, project.checklist, first.started_by, first.started_at)

    def record(self, tick: Tick) -> None:
        with self.database.writing() as conn:
            conn.execute(
                sa.insert(TICKS).values(
                    channel=tick.channel,
                    project_key=project_key(tick.project),
                    checklist=tick.checklist,
                    item=tick.item,
                    item_key=tick.key,
                    done=tick.done,
                    user=tick.user,
                    time=tick.time,
                    copied=False,
                )
            )

    def projects(self, channel: str) -> list[Project]:
        with self.database.reading() as conn:
            rows = conn.execute(
                sa.select(PROJECTS.c.project, PROJECTS.c.checklist, PROJECTS.c.started_by, PROJECTS.c.started_at)
                .where(PROJECTS.c.channel == channel)
                .order_by(PROJECTS.c.started_at, PROJECTS.c.id)
            ).all()
        return [Project(channel, p, c, by, at) for p, c, by, at in rows]

    def ticks(self, channel: str, project: str, checklist: str) -> list[Tick]:
        with self.database.reading() as conn:
            rows = conn.execute(
                sa.select(TICKS.c.item, TICKS.c.item_key, TICKS.c.done, TICKS.c.user, TICKS.c.time)
                .where(
                    TICKS.c.channel == channel,
                    TICKS.c.project_key == project_key(project),
                    TICKS.c.checklist == checklist,
                )
                # In the order they were stored; ticks copied from an older file were made before all others.
                .order_by(TICKS.c.copied.desc(), TICKS.c.id)
            ).all()
        return [Tick(channel, project, checklist, i, k, bool(d), u, t) for i, k, d, u, t in rows]

    def close(self) -> None:
        """Nothing to release: the database belongs to the runtime (the feedback store uses it too)."""

    def copy_from(self, path: Path) -> int:
        """Copy the projects and ticks of an older checklists.sqlite3 not copied before; how many ticks.

        The file is marked with an id of its own, and the database remembers up to which tick each
        file was copied, in the same transaction as the copy: opening again (or two processes at once,
        or a crash halfway) copies nothing twice, and ticks an older process wrote since come along.
        Copied ticks count as older than every tick made in the database, so a late copy undoes nothing.
        A file that cannot be read is left as it is, with a warning, and tried again on the next open.
        """
        try:
            old = sqlite3.connect(str(path), timeout=SQLITE_BUSY_S, isolation_level=None)
        except sqlite3.Error as e:
            log.warning("could not open %s to copy its checklist ticks (%s); trying again next time", path, e)
            return 0
        try:
            tables = {name for (name,) in old.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            if not {"projects", "ticks"} <= tables:
                return 0
            file_id = _file_id(old)
            with self.database.writing() as conn:
                conn.execute(
                    self.database.insert(COPIES)
                    .values(file_id=file_id, ticks_upto=0)
                    .on_conflict_do_nothing(index_elements=["file_id"])
                )
                where = COPIES.c.file_id == file_id
                upto = conn.execute(sa.select(COPIES.c.ticks_upto).where(where).with_for_update()).scalar_one()
                projects = old.execute(f"SELECT {', '.join(PROJECT_COLUMNS)} FROM projects ORDER BY started_at, rowid")
                rows = [dict(zip(PROJECT_COLUMNS, p, strict=True)) for p in projects.fetchall()]
                if rows:
                    conn.execute(self._insert_project(), rows)
                columns = ", ".join(TICK_COLUMNS)
                ticks = old.execute(f"SELECT id, {columns} FROM ticks WHERE id > ? ORDER BY id", (upto,))
                copied = [(n, dict(zip(TICK_COLUMNS, t, strict=True))) for n, *t in ticks.fetchall()]
                if copied:
                    conn.execute(sa.insert(TICKS), [{**t, "done": bool(t["done"]), "copied": True} for _, t in copied])
                    conn.execute(sa.update(COPIES).where(where).values(ticks_upto=copied[-1][0]))
        except sqlite3.Error as e:
            log.warning("could not copy the checklist ticks of %s (%s); trying again next time", path, e)
            return 0
        finally:
            old.close()
        if copied:
            log.info("copied %d checklist ticks from %s into %s", len(copied), path, self.database.name)
        return len(copied)

    def _insert_project(self) -> sa.Insert:
        return self.database.insert(PROJECTS).on_conflict_do_nothing(
            index_elements=["channel", "project_key", "checklist"]
        )


def _file_id(old: sqlite3.Connection) -> str:
    """The id an older checklists.sqlite3 is known by in the database, given to it on its first copy."""
    old.execute("BEGIN IMMEDIATE")  # two processes opening it at once agree on one id
    try:
        old.execute("CREATE TABLE IF NOT EXISTS adoptbot_copy (id TEXT NOT NULL)")
        row = old.execute("SELECT id FROM adoptbot_copy").fetchone()
        file_id = row[0] if row else uuid.uuid4().hex
        if row is None:
            old.execute("INSERT INTO adoptbot_copy (id) VALUES (?)", (file_id,))
        old.execute("COMMIT")
    except BaseException:
        old.execute("ROLLBACK")
        raise
    return file_id
