"""A project's progress: the ticks matched to the checklist as it is now, and what a checkbox group changed."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from bot.tools.checklists.checklist import Checklist, Item
from bot.tools.checklists.ticks import Project, Tick


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
