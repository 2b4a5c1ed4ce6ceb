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

What lives here: checklist.py (the definitions, read from the knowledge folder), ticks.py (the tick
stores), progress.py (ticks matched to a checklist as it is now) and board.py (the Board and open_board).
It may import kb, common, bot.state (the database) and bot.audiences; never a platform.
"""

from bot.tools.checklists.board import Board, open_board, project_name
from bot.tools.checklists.checklist import Checklist, ChecklistError, Item, load_checklists
from bot.tools.checklists.progress import ItemState, Progress, toggled
from bot.tools.checklists.ticks import FILE_NAME, DatabaseTickStore, Project, SqliteTickStore, Tick, TickStore

__all__ = [
    "FILE_NAME",
    "Board",
    "Checklist",
    "ChecklistError",
    "DatabaseTickStore",
    "Item",
    "ItemState",
    "Progress",
    "Project",
    "SqliteTickStore",
    "Tick",
    "TickStore",
    "load_checklists",
    "open_board",
    "project_name",
    "toggled",
]
