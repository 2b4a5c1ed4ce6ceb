"""Checklists teams work through: the knowledge base's checklists, with each project's ticks kept in a store.

The checklists come from the YAML files under `knowledge/checklists/`, read with the parser ingest
uses. Ticks belong to a channel, a project and a checklist; the store keeps every tick and untick
as its own row (who, when), so two people ticking at once never overwrite each other and the
history survives a restart. A tick is matched to the checklist as it is *now*: by the item's id, or
by its normalized text when editors changed the id, so an edited checklist keeps the ticks on items
that still exist and shows new items as open. `TickStore` is the storage interface: `DatabaseTickStore`
keeps it in the shared-state database (every replica sees every tick; the ticks of an older
`checklists.sqlite3` are copied in), `SqliteTickStore` in the data directory when there is no
database. `Board` is what Slack, Teams and the terminal call; it offers each place only the
checklists the audiences file lets it see (bot/audiences.py), as retrieval does with documents.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import re
import sqlite3
import threading
import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

from bot.audiences import TERMINAL, Audiences, labels
from bot.audiences import visible as in_scope
from bot.state.database import SQLITE_BUSY_S, Database
from common.errors import AdoptbotError, DataDirUnusable
from common.text import visible
from kb.files import BadFile, discover, read_bytes
from kb.sources import parse

log = logging.getLogger(__name__)

FILE_NAME = "checklists.sqlite3"
MAX_PROJECT = 100  # characters of a project name

Clock = Callable[[], dt.datetime]


class ChecklistError(AdoptbotError):
    """A checklist, item or project that cannot be used; the message says what to use instead."""


@dataclass(frozen=True)
class Item:
    """One checklist item as the editors wrote it; `key` matches it across rewordings of its id."""

    id: str
    text: str
    why: str = ""

    @property
    def key(self) -> str:
        return item_key(self.text)


@dataclass(frozen=True)
class Checklist:
    id: str
    title: str
    source: str
    last_reviewed: str
    items: tuple[Item, ...]
    audience: frozenset[str] = frozenset()  # as compared (bot.audiences.labels); empty: every place sees it

    def item(self, ref: str) -> Item:
        """The item a person means: its number (1-based), its id, or its text; ChecklistError otherwise."""
        ref = " ".join(ref.split())
        if ref.isdigit() and 1 <= int(ref) <= len(self.items):
            return self.items[int(ref) - 1]
        for item in self.items:
            if ref.casefold() in (item.id.casefold(), item.text.casefold()) or item_key(ref) == item.key:
                return item
        raise ChecklistError(
            f"{self.id} has no item {_quote(ref)}: use a number from 1 to {len(self.items)} or an item id "
            f"({', '.join(i.id for i in self.items)})"
        )


def item_key(text: str) -> str:
    """An item's text as compared: case, punctuation and spacing do not matter."""
    return " ".join(re.findall(r"\w+", text.casefold()))


def project_key(name: str) -> str:
    """A project name as compared: "Web Shop " is "web shop"."""
    return " ".join(name.split()).casefold()


def load_checklists(root: Path, *, max_file_bytes: int = 2_000_000) -> tuple[dict[str, Checklist], list[str]]:
    """The knowledge folder's checklists by id, and a problem line for each checklist file that cannot be read."""
    found: dict[str, Checklist] = {}
    problems: list[str] = []
    paths, _ = discover(root)
    for path in paths:
        source = path.relative_to(root).as_posix()
        if path.suffix.lower() not in (".yaml", ".yml"):
            continue
        try:
            doc = parse(source, read_bytes(path, max_file_bytes, inside=root))
        except (BadFile, OSError) as e:
            problems.append(f"{source}: {e}: fix it (adoptbot kb lint shows how); its ticks are kept meanwhile")
            continue
        if doc.kind == "checklist":
            items = tuple(Item(i.id, i.text, i.why) for i in doc.items)
            found[doc.checklist_id] = Checklist(
                doc.checklist_id, doc.title, source, doc.last_reviewed, items, labels(doc.audience)
            )
    return found, problems


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


@dataclass(frozen=True)
class ItemState:
    """An item of the checklist as it is now, and its latest tick in the project."""

    n: int
    item: Item
    done: bool = False
    by: str = ""
    at: str = ""


@dataclass(frozen=True)
class Progress:
    """A project's checklist: every current item with its state, and ticks on items since removed."""

    project: Project
    checklist: Checklist
    items: tuple[ItemState, ...]
    removed: tuple[Tick, ...] = ()  # ticked items the editors have since taken off the checklist

    @property
    def done(self) -> int:
        return sum(s.done for s in self.items)

    @property
    def total(self) -> int:
        return len(self.items)


def progress_of(project: Project, checklist: Checklist, ticks: Iterable[Tick]) -> Progress:
    """Match the ticks to the checklist as it is now: by item id, else by the item's text (pure)."""
    latest: dict[int, Tick] = {}
    matched: set[int] = set()
    events = list(ticks)
    for n, item in enumerate(checklist.items):
        for k, tick in enumerate(events):
            if tick.item == item.id or tick.key == item.key:
                latest[n] = tick
                matched.add(k)
    states = tuple(
        ItemState(n + 1, item, latest[n].done, latest[n].user, latest[n].time)
        if n in latest
        else ItemState(n + 1, item)
        for n, item in enumerate(checklist.items)
    )
    gone: dict[str, Tick] = {}
    for k, tick in enumerate(events):
        if k not in matched:
            gone[tick.key] = tick
    return Progress(project, checklist, states, tuple(t for t in gone.values() if t.done))


def toggled(shown_done: Iterable[str], selected: Iterable[str]) -> dict[str, bool]:
    """Item ids whose state a checkbox group changed: what was shown ticked vs what is selected now."""
    before, after = set(shown_done), set(selected)
    return {**{i: True for i in sorted(after - before)}, **{i: False for i in sorted(before - after)}}


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Board:
    """The checklists of every channel's projects: post, tick, status and export.

    Every call says where it comes from (a place, bot.audiences): a checklist marked for audiences
    that place may not see is there as if it did not exist, and so are its projects and their
    ticks, as a document marked so is to a question asked there. The terminal (the default) sees
    every checklist.
    """

    def __init__(
        self,
        *,
        checklists: Callable[[], Mapping[str, Checklist]],
        store: TickStore,
        audiences: Audiences | None = None,
        clock: Clock = _utc_now,
    ) -> None:
        self._checklists = checklists
        self.store = store
        self.audiences = audiences or Audiences()
        self._clock = clock

    def offered(self, place: str = TERMINAL) -> dict[str, Checklist]:
        """The checklists place may see, by id."""
        scope = self.audiences.scope(place)
        return {k: c for k, c in self._checklists().items() if in_scope(c.audience, scope)}

    def names(self, place: str = TERMINAL) -> list[Checklist]:
        """The checklists people at place can post, by id."""
        return sorted(self.offered(place).values(), key=lambda c: c.id)

    def find(self, name: str, place: str = TERMINAL) -> Checklist:
        """The checklist called name (its id, a unique start of it, or its title); ChecklistError otherwise."""
        wanted = " ".join(name.split()).casefold()
        every = self.offered(place)
        if wanted in every:
            return every[wanted]
        hits = [c for c in every.values() if wanted in (c.id.casefold(), c.title.casefold())]
        hits = hits or [c for c in every.values() if c.id.casefold().startswith(wanted) and wanted]
        if len(hits) == 1:
            return hits[0]
        known = ", ".join(sorted(every)) or "none: add one under knowledge/checklists/"
        what = "matches several checklists" if hits else "is not a checklist"
        raise ChecklistError(f"{_quote(name)} {what}: use one of {known}")

    def post(self, channel: str, project: str, name: str, user: str, *, place: str = TERMINAL) -> Progress:
        """Start (or reopen) a project's checklist in channel; what to show."""
        project = project_name(project)  # first: a name that cannot be one costs no other work
        checklist = self.find(name, place)
        started = self.store.start(Project(channel, project, checklist.id, user, self._now()))
        return self._progress(started, checklist)

    def tick(
        self, channel: str, project: str, name: str, item: str, user: str, *, done: bool = True, place: str = TERMINAL
    ) -> Progress:
        """Tick (or untick) one item, by number, id or text; the checklist's state afterwards."""
        project = project_name(project)
        checklist = self.find(name, place)
        return self._record(channel, project, checklist, [(checklist.item(item), done)], user)

    def change(
        self, channel: str, project: str, name: str, changes: Mapping[str, bool], user: str, *, place: str = TERMINAL
    ) -> Progress:
        """Tick and untick items by id (a group of boxes): every one must be on the checklist, or nothing changes."""
        project = project_name(project)
        checklist = self.find(name, place)
        items = {i.id: i for i in checklist.items}
        unknown = [i for i in changes if i not in items]
        if unknown:
            raise ChecklistError(f"{checklist.id} has no item {_quote(unknown[0])}: nothing was changed")
        return self._record(channel, project, checklist, [(items[i], done) for i, done in changes.items()], user)

    def progress(self, channel: str, project: str, name: str, *, place: str = TERMINAL) -> Progress:
        """A project's checklist as it stands, without changing anything."""
        project = project_name(project)
        checklist = self.find(name, place)
        for started in self.store.projects(channel):
            if started.checklist == checklist.id and project_key(started.project) == project_key(project):
                return self._progress(started, checklist)
        raise ChecklistError(
            f"No project {_quote(project)} works through {checklist.id} here yet: post it first "
            f"(checklist {checklist.id} {project})"
        )

    def status(self, channel: str, *, place: str = TERMINAL) -> list[Progress]:
        """Every project's checklists in channel that place may see, projects in the order they started."""
        every = self.offered(place)
        return [self._progress(p, every[p.checklist]) for p in self.store.projects(channel) if p.checklist in every]

    def export(self, channel: str, project: str, *, place: str = TERMINAL) -> str:
        """A project's checklists as Markdown for a go-live review: every item, who ticked it and when."""
        project = project_name(project)
        mine = [p for p in self.status(channel, place=place) if project_key(p.project.project) == project_key(project)]
        if not mine:
            raise ChecklistError(
                f"No project {_quote(project)} in this channel: see `checklist status` for the projects here"
            )
        name = visible(mine[0].project.project)
        lines = [f"# Go-live review: {name}", "", f"Exported {self._now()} (UTC) from {visible(channel)}.", ""]
        for p in mine:
            c = p.checklist
            lines += [
                f"## {visible(c.title)}: {p.done} of {p.total} done",
                "",
                f"Started by {visible(p.project.started_by)} on {p.project.started_at}; checklist "
                f"{c.source}, reviewed {c.last_reviewed}.",
                "",
            ]
            for s in p.items:
                who = f" (ticked by {visible(s.by)}, {s.at})" if s.done else ""
                lines.append(f"- [{'x' if s.done else ' '}] {_md(s.item.text)}{who}")
            if p.removed:
                lines += ["", "Ticked earlier, since removed from the checklist:"]
                lines += [f"- {visible(t.item)} (ticked by {visible(t.user)}, {t.time})" for t in p.removed]
            lines.append("")
        return "\n".join(lines).rstrip() + "\n"

    def _record(
        self, channel: str, project: str, checklist: Checklist, changes: list[tuple[Item, bool]], user: str
    ) -> Progress:
        started = self.store.start(Project(channel, project, checklist.id, user, self._now()))
        for item, done in changes:
            self.store.record(Tick(channel, started.project, checklist.id, item.id, item.key, done, user, self._now()))
        return self._progress(started, checklist)

    def _progress(self, project: Project, checklist: Checklist) -> Progress:
        return progress_of(project, checklist, self.store.ticks(project.channel, project.project, checklist.id))

    def _now(self) -> str:
        return self._clock().astimezone(dt.UTC).isoformat(timespec="seconds")


def project_name(name: str) -> str:
    """A project name as stored: one line of visible text, or ChecklistError saying what to write."""
    text = " ".join(visible(name).split())
    if not text:
        raise ChecklistError("Name the project, for example: checklist pre-deployment web-shop-photos")
    if len(text) > MAX_PROJECT:
        raise ChecklistError(f"The project name is {len(text):,} characters long: keep it under {MAX_PROJECT}")
    return text


def _quote(text: str, limit: int = 60) -> str:
    """What a person typed, for a message: visible, quoted, and cut when long."""
    text = visible(text[: limit * 4])  # a pasted page is not worth cleaning whole to show its start
    return repr(text if len(text) <= limit else text[: limit - 1] + "…")


def _md(text: str) -> str:
    """Item text for a Markdown list: visible, and no line that could start a heading or a new item."""
    return " ".join(visible(text).split())


def open_board(
    knowledge_dir: Path,
    data_dir: Path,
    *,
    max_file_bytes: int = 2_000_000,
    database: Database | None = None,
    audiences: Audiences | None = None,
) -> Board:
    """The board over the knowledge folder's checklists (re-read on each use) and its ticks, seen as audiences allow.

    Ticks are kept in database when there is one (copying in those of the data directory's older
    checklists.sqlite3), else in that file.
    """

    def current() -> dict[str, Checklist]:
        return load_checklists(knowledge_dir, max_file_bytes=max_file_bytes)[0]

    legacy = data_dir / FILE_NAME
    store = SqliteTickStore(legacy) if database is None else DatabaseTickStore(database, legacy=legacy)
    return Board(checklists=current, store=store, audiences=audiences)
