"""Checklist projects and ticks, so replicas share them (they were in checklists.sqlite3 per data directory).

`checklist_projects`: one row per project's checklist in a channel; the first start wins.
`checklist_ticks`: every tick and untick as its own row (who, when); a trigger refuses UPDATE. `copied`
marks ticks copied from an older checklists.sqlite3: they were made before any tick kept here.
`checklist_copies`: how far each old checklists.sqlite3 has been copied in (bot/tools/checklists/ticks.py).

Revision ID: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

APPEND_ONLY = "checklist ticks are append-only"


def _time() -> sa.types.TypeEngine:
    """ISO 8601 text in UTC, compared as text: byte order on PostgreSQL whatever the database's collation."""
    return sa.Text().with_variant(sa.Text(collation="C"), "postgresql")


def upgrade() -> None:
    """Create the checklist tables and the ticks' append-only trigger."""
    op.create_table(
        "checklist_projects",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("channel", sa.Text, nullable=False),
        sa.Column("project_key", sa.Text, nullable=False),
        sa.Column("checklist", sa.Text, nullable=False),
        sa.Column("project", sa.Text, nullable=False),
        sa.Column("started_by", sa.Text, nullable=False),
        sa.Column("started_at", _time(), nullable=False),
        sa.UniqueConstraint("channel", "project_key", "checklist", name="checklist_projects_once"),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "checklist_ticks",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("channel", sa.Text, nullable=False),
        sa.Column("project_key", sa.Text, nullable=False),
        sa.Column("checklist", sa.Text, nullable=False),
        sa.Column("item", sa.Text, nullable=False),
        sa.Column("item_key", sa.Text, nullable=False),
        sa.Column("done", sa.Boolean, nullable=False),
        sa.Column("user", sa.Text, nullable=False),
        sa.Column("time", _time(), nullable=False),
        sa.Column("copied", sa.Boolean, nullable=False, server_default=sa.false()),
        sqlite_autoincrement=True,
    )
    op.create_index("checklist_ticks_by_project", "checklist_ticks", ["channel", "project_key", "checklist", "id"])
    op.create_table(
        "checklist_copies",
        sa.Column("file_id", sa.Text, primary_key=True),
        sa.Column("ticks_upto", sa.Integer, nullable=False),
    )
    if op.get_bind().dialect.name == "sqlite":
        op.execute(
            "CREATE TRIGGER checklist_ticks_append_only BEFORE UPDATE ON checklist_ticks "
            f"BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY}'); END"
        )
        return
    op.execute(
        "CREATE FUNCTION adoptbot_ticks_append_only() RETURNS trigger LANGUAGE plpgsql AS "
        f"$$ BEGIN RAISE EXCEPTION '{APPEND_ONLY}'; END $$"
    )
    op.execute(
        "CREATE TRIGGER checklist_ticks_append_only BEFORE UPDATE ON checklist_ticks "
        "FOR EACH ROW EXECUTE FUNCTION adoptbot_ticks_append_only()"
    )


def downgrade() -> None:
    """Drop the checklist tables (every tick in them is lost)."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION adoptbot_ticks_append_only() CASCADE")
    op.drop_table("checklist_copies")
    op.drop_table("checklist_ticks")
    op.drop_table("checklist_projects")
