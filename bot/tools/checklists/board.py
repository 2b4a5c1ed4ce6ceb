"""The board: every channel's projects and their checklists, posted, ticked, reported and exported."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from pathlib import Path

from bot.audiences import TERMINAL, Audiences
from bot.audiences import visible as in_scope
from bot.state.database import Database
from bot.tools.checklists.checklist import Checklist, ChecklistError, Item, load_checklists, quoted
from bot.tools.checklists.progress import Progress, progress_of
from bot.tools.checklists.ticks import (
    FILE_NAME,
    DatabaseTickStore,
    Project,
    SqliteTickStore,
    Tick,
    TickStore,
    project_key,
)
from common.text import visible

MAX_PROJECT = 100  # characters of a project name

Clock = Callable[[], dt.datetime]


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
        raise ChecklistError(f"{quoted(name)} {what}: use one of {known}")

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
            raise ChecklistError(f"{checklist.id} has no item {quoted(unknown[0])}: nothing was changed")
        return self._record(channel, project, checklist, [(items[i], done) for i, done in changes.items()], user)

    def progress(self, channel: str, project: str, name: str, *, place: str = TERMINAL) -> Progress:
        """A project's checklist as it stands, without changing anything."""
        project = project_name(project)
        checklist = self.find(name, place)
        for started in self.store.projects(channel):
            if started.checklist == checklist.id and project_key(started.project) == project_key(project):
                return self._progress(started, checklist)
        raise ChecklistError(
            f"No project {quoted(project)} works through {checklist.id} here yet: post it first "
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
                f"No project {quoted(project)} in this channel: see `checklist status` for the projects here"
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
