"""De-duplication claims and conversation state, so replicas share them.

`claims`: one row per claimed key and when it was claimed (seconds since the epoch).
`state`: a key, its JSON value, and when it was last written (seconds since the epoch).

Revision ID: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the claims and state tables."""
    op.create_table(
        "claims",
        sa.Column("key", sa.Text, primary_key=True),
        sa.Column("claimed", sa.Double, nullable=False),
    )
    op.create_index("claims_by_time", "claims", ["claimed"])
    op.create_table(
        "state",
        sa.Column("key", sa.Text, primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
        sa.Column("updated", sa.Double, nullable=False),
    )
    op.create_index("state_by_time", "state", ["updated"])


def downgrade() -> None:
    """Drop the claims and state tables."""
    op.drop_table("state")
    op.drop_table("claims")
