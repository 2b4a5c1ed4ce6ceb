"""The feedback store and audit log as they were before migrations: answers, votes, append-only.

A SQLite file written before migrations existed is brought up to this revision in place: the
audit columns are added to `answers`, the votes of the old `feedback` table (one updatable row per
voter, raw user ids before PRAGMA user_version 1) become append-only rows with hashed voters, and
stored questions and answers are redacted. That needs `hash_user` and `redact` from the opener
(bot.state.database.Database's upgrade_with); a fresh database does not.

Revision ID: 0001
"""

from __future__ import annotations

import json
import logging

import sqlalchemy as sa
from alembic import context, op

from common.errors import ConfigError

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

log = logging.getLogger(__name__)
HASHED_USERS = 1  # PRAGMA user_version from which stored voters are keyed hashes
AUDIT_LOG = 2  # from which votes are append-only rows and answers carry the audit columns, redacted
AUDIT_COLUMNS = {"channel_kind": "unknown", "user": "", "related": "[]", "timings": "{}", "redacted": "{}"}
APPEND_ONLY = "the audit log is append-only"


def upgrade() -> None:
    """Create the schema, or bring an older SQLite store up to it."""
    bind = op.get_bind()
    sqlite = bind.dialect.name == "sqlite"
    tables = set(sa.inspect(bind).get_table_names())
    version = bind.exec_driver_sql("PRAGMA user_version").scalar() if sqlite else AUDIT_LOG
    if "answers" in tables:
        have = {c["name"] for c in sa.inspect(bind).get_columns("answers")}
        for name, default in AUDIT_COLUMNS.items():
            if name not in have:
                op.add_column("answers", sa.Column(name, sa.Text, nullable=False, server_default=default))
    else:
        _create_answers(sqlite)
    if "votes" not in tables:
        op.create_table(
            "votes",
            sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
            sa.Column("answer_id", sa.Text, nullable=False),
            sa.Column("user", sa.Text, nullable=False),
            sa.Column("vote", sa.Text, sa.CheckConstraint("vote IN ('helpful', 'not_helpful')"), nullable=False),
            sa.Column("time", _time(), nullable=False),
            sqlite_autoincrement=True,
        )
    if "feedback" in tables:
        _move_votes(bind, hashed=version >= HASHED_USERS)
    if "answers" in tables and version < AUDIT_LOG:
        _redact_stored(bind)
    op.create_index("votes_by_answer", "votes", ["answer_id", "user"], if_not_exists=True)
    op.create_index("answers_by_time", "answers", ["created"], if_not_exists=True)
    _append_only(sqlite)
    if sqlite:
        op.execute(f"PRAGMA user_version = {AUDIT_LOG}")  # what adoptbot before migrations checks


def downgrade() -> None:
    """Drop the feedback store (everything in it is lost)."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION adoptbot_append_only() CASCADE")
    op.drop_table("votes")
    op.drop_table("answers")


def _time() -> sa.types.TypeEngine:
    """ISO 8601 text in UTC, compared as text: byte order on PostgreSQL whatever the database's collation."""
    return sa.Text().with_variant(sa.Text(collation="C"), "postgresql")


def _create_answers(sqlite: bool) -> None:
    columns = [
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("platform", sa.Text, nullable=False),
        sa.Column("question", sa.Text, nullable=False),
        sa.Column("answer", sa.Text, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("backend", sa.Text, nullable=False),
        sa.Column("sources", sa.Text, nullable=False),
        sa.Column("created", _time(), nullable=False),
        *(sa.Column(name, sa.Text, nullable=False, server_default=d) for name, d in AUDIT_COLUMNS.items()),
    ]
    if not sqlite:  # insertion order for the audit log (SQLite has its rowid)
        columns.append(sa.Column("seq", sa.BigInteger, sa.Identity(always=True), nullable=False, unique=True))
    op.create_table("answers", *columns)


def _append_only(sqlite: bool) -> None:
    """Refuse UPDATE of answers and votes; the only DELETE is the retention prune."""
    if sqlite:
        for table in ("answers", "votes"):
            op.execute(
                f"CREATE TRIGGER IF NOT EXISTS {table}_append_only BEFORE UPDATE ON {table} "
                f"BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY}'); END"
            )
        return
    op.execute(
        "CREATE FUNCTION adoptbot_append_only() RETURNS trigger LANGUAGE plpgsql AS "
        f"$$ BEGIN RAISE EXCEPTION '{APPEND_ONLY}'; END $$"
    )
    for table in ("answers", "votes"):
        op.execute(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION adoptbot_append_only()"
        )


def _needed(name: str) -> object:
    opener = context.config.attributes.get(name)
    if opener is None:
        raise ConfigError(
            "This feedback store was written by an adoptbot from before the audit log; open it through adoptbot "
            "(for example `adoptbot audit export`) once to bring it up to date."
        )
    return opener


def _move_votes(bind: sa.Connection, *, hashed: bool) -> None:
    """Votes of the old `feedback` table (one updatable row per voter) become append-only rows."""
    rows = bind.exec_driver_sql("SELECT answer_id, user, vote, time FROM feedback ORDER BY id").fetchall()
    hash_user = (lambda u: u) if hashed else _needed("hash_user")
    votes = sa.table("votes", sa.column("answer_id"), sa.column("user"), sa.column("vote"), sa.column("time"))
    if rows:
        bind.execute(
            sa.insert(votes), [{"answer_id": a, "user": hash_user(u), "vote": v, "time": t} for a, u, v, t in rows]
        )
    op.drop_table("feedback")  # its copies of questions and answers go with it
    if rows and not hashed:
        log.info("hashed the user ids of %d stored votes", len(rows))


def _redact_stored(bind: sa.Connection) -> None:
    """Questions and answers kept before redaction existed are redacted now."""
    stored = bind.exec_driver_sql("SELECT id, question, answer FROM answers").fetchall()
    if not stored:
        return
    redact = _needed("redact")
    changed = []
    for answer_id, question, text in stored:
        q, a = redact(question), redact(text)
        if q.found or a.found:
            counts: dict[str, int] = {}
            for kind, n in [*q.counts.items(), *a.counts.items()]:
                counts[kind] = counts.get(kind, 0) + n
            changed.append({"q": q.text, "a": a.text, "r": json.dumps(counts), "id": answer_id})
    if changed:
        bind.execute(sa.text("UPDATE answers SET question = :q, answer = :a, redacted = :r WHERE id = :id"), changed)
        log.info("redacted personal data in %d stored answers", len(changed))
