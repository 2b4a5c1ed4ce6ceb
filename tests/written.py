"""Test data made of what people and documents wrote: a checklist's progress whose every name is one text."""

from __future__ import annotations

from bot.tools.checklists import Checklist, Item, ItemState, Progress, Project, Tick


def named(s: str) -> Progress:
    """A project named s working through a checklist whose title and items are s, one ticked by U7, one removed."""
    checklist = Checklist(id="launch", title=s, source="checklists/launch.yaml", last_reviewed="2026-11-01",
                          items=(Item("a", s), Item("b", s)))  # fmt: skip
    project = Project(channel="C1", project=s, checklist="launch", started_by="U7", started_at="2026-11-29")
    items = (ItemState(1, checklist.items[0], done=True, by="U7", at="2026-11-29"), ItemState(2, checklist.items[1]))
    gone = Tick("C1", s, "launch", "old", s, True, "U7", "2026-11-28")
    return Progress(project=project, checklist=checklist, items=items, removed=(gone,))
