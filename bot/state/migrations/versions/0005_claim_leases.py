"""Claims name their owner and hold a lease, so a claim left by a process that died does not refuse a retry.

`claims.owner`: the process that holds the claim (bot/state/claims.py: machine, process id, start time).
`claims.lease_ends`: until when the owner counts as answering (seconds since the epoch); it renews it.
`claims.done`: the event was answered; such a claim refuses every later one until it is a day old.
Claims made before this revision count as done, as they did.

Revision ID: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add claims.owner, claims.lease_ends and claims.done."""
    op.add_column("claims", sa.Column("owner", sa.Text, nullable=False, server_default=""))
    op.add_column("claims", sa.Column("lease_ends", sa.Double, nullable=False, server_default="0"))
    op.add_column("claims", sa.Column("done", sa.Boolean, nullable=False, server_default=sa.true()))


def downgrade() -> None:
    """Drop the owner, lease and done columns (every claim then refuses for a day again)."""
    with op.batch_alter_table("claims") as batch:
        batch.drop_column("done")
        batch.drop_column("lease_ends")
        batch.drop_column("owner")
