"""What a voter wrote with their vote (Teams asks for a comment after a thumb), redacted like questions.

Revision ID: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add votes.comment (empty for every vote cast before)."""
    op.add_column("votes", sa.Column("comment", sa.Text, nullable=False, server_default=""))


def downgrade() -> None:
    """Drop votes.comment."""
    op.drop_column("votes", "comment")
