"""A checklist as the editors wrote it (knowledge/checklists/*.yaml): its items, and how a person names one."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from bot.audiences import labels
from common.errors import AdoptbotError
from common.text import visible
from kb.files import BadFile, discover, read_bytes
from kb.sources import parse


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
            f"{self.id} has no item {quoted(ref)}: use a number from 1 to {len(self.items)} or an item id "
            f"({', '.join(i.id for i in self.items)})"
        )


def item_key(text: str) -> str:
    """An item's text as compared: case, punctuation and spacing do not matter."""
    return " ".join(re.findall(r"\w+", text.casefold()))


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


def quoted(text: str, limit: int = 60) -> str:
    """What a person typed, for a message: visible, quoted, and cut when long."""
    text = visible(text[: limit * 4])  # a pasted page is not worth cleaning whole to show its start
    return repr(text if len(text) <= limit else text[: limit - 1] + "…")
