"""Alembic's environment: migrations run on the connection bot.state.database hands over, inside its transaction."""

from __future__ import annotations

from alembic import context

from bot.state.database import VERSION_TABLE


def run() -> None:
    """Run the pending revisions on the connection in config.attributes (see bot.state.database._upgrade)."""
    connection = context.config.attributes.get("connection")
    if connection is None:
        raise RuntimeError("adoptbot migrates its database itself when it opens it; there is no alembic.ini to use")
    context.configure(connection=connection, version_table=VERSION_TABLE, transactional_ddl=True)
    with context.begin_transaction():
        context.run_migrations()


run()
