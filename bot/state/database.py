"""The shared-state database: SQLite in the data directory by default, PostgreSQL when ADOPTBOT_DATABASE_URL is set.

It holds the feedback store and audit log (bot/state/feedback.py), de-duplication claims (bot/state/claims.py),
conversation state (bot/state/kv.py) and checklist ticks (bot/tools/checklists/ticks.py), and it lends the ingest
its lock across hosts. Creating a
Database connects to nothing; the first use brings the schema to the newest Alembic revision
(bot/state/migrations), whichever process gets there first. Driver errors that mean "the database cannot
be used now" (refused, dropped, disk full, locked for too long) become DatabaseUnavailable here, so
callers deal with one error that says what to do; connections are checked before use
(pool_pre_ping), so the first use after an outage reconnects.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import threading
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import URL, Connection, Engine

from common.errors import DatabaseUnavailable, DataDirUnusable
from common.values import parse_url

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
VERSION_TABLE = "alembic_version"
SQLITE_BUSY_S = 30.0  # a writer waits this long for another process's write to finish
CONNECT_TIMEOUT_S = 5  # an unreachable PostgreSQL fails within this, not after the OS gives up
SQLITE_FIX = "check that the disk is not full and the file is readable and writable by the user running adoptbot"
def lock_key(name: str) -> int:
    """A PostgreSQL advisory lock key (signed 64-bit) for a lock name."""
    return int.from_bytes(hashlib.sha256(f"adoptbot:{name}".encode()).digest()[:8], "big", signed=True)


class Database:
    """One SQLAlchemy engine over the shared-state database, its schema migrated on first use.

    upgrade_with is handed to the migrations: `hash_user` and `redact`, which a feedback store
    written before the audit log needs to be brought up to date (see bot/state/migrations).
    """

    def __init__(self, url: str | URL, *, upgrade_with: Mapping[str, Any] | None = None) -> None:
        self.url = parse_url(url) if isinstance(url, str) else url
        self.dialect = self.url.get_backend_name()
        self.name = self.url.render_as_string(hide_password=True)
        self._upgrade_with = dict(upgrade_with or {})
        self._migrated = False
        self._migrating = threading.Lock()
        if self.dialect == "sqlite":
            self.path: Path | None = Path(self.url.database or "")
            self.name = str(self.path)
            self._create_file(self.path)
            self.engine = _sqlite_engine(self.url)
        else:
            self.path = None
            self.engine = sa.create_engine(
                self.url,
                pool_pre_ping=True,
                pool_size=5,
                max_overflow=10,
                pool_timeout=CONNECT_TIMEOUT_S,
                connect_args={"connect_timeout": CONNECT_TIMEOUT_S},
            )

    @classmethod
    def sqlite(cls, path: Path, *, upgrade_with: Mapping[str, Any] | None = None) -> Database:
        """The SQLite database file at path (created readable by its owner only)."""
        return cls(URL.create("sqlite", database=str(path)), upgrade_with=upgrade_with)

    @property
    def shared(self) -> bool:
        """Whether several hosts can share it (PostgreSQL), not only the processes of one machine."""
        return self.dialect != "sqlite"

    @staticmethod
    def _create_file(path: Path) -> None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))  # a new file is private to its owner
        except OSError as e:
            raise DataDirUnusable(path.parent, e, fix=f"the database {path.name} must be writable") from e

    # -- schema ---------------------------------------------------------------------------------
    def migrate(self) -> None:
        """Bring the schema to the newest revision, once per Database; concurrent openers wait for each other."""
        if self._migrated:
            return
        with self._migrating:
            if self._migrated:
                return
            with self._mapped(), self.engine.connect() as conn:
                conn.execution_options(adoptbot_write=True)
                with conn.begin():
                    if self.dialect == "postgresql":
                        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": lock_key("migrations")})
                    _upgrade(conn, self._upgrade_with)
            self._migrated = True

    def revision(self) -> str | None:
        """The schema revision the database is at (None before the first migration); migrates nothing."""
        with self._mapped(), self.engine.connect() as conn, conn.begin():
            if not sa.inspect(conn).has_table(VERSION_TABLE):
                return None
            return conn.execute(sa.text(f"SELECT version_num FROM {VERSION_TABLE}")).scalar()

    # -- use ------------------------------------------------------------------------------------
    @contextlib.contextmanager
    def reading(self) -> Iterator[Connection]:
        """A connection in a read transaction."""
        self.migrate()
        with self._mapped(), self.engine.connect() as conn, conn.begin():
            yield conn

    @contextlib.contextmanager
    def writing(self) -> Iterator[Connection]:
        """A connection in a write transaction, committed when the block ends without an error."""
        self.migrate()
        with self._mapped(), self.engine.connect() as conn:
            conn.execution_options(adoptbot_write=True)  # SQLite: take the write lock first (BEGIN IMMEDIATE)
            with conn.begin():
                yield conn

    def insert(self, table: Any) -> Any:
        """An INSERT for table that supports on_conflict_do_nothing / on_conflict_do_update."""
        if self.dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert
        else:
            from sqlalchemy.dialects.sqlite import insert
        return insert(table)

    def ping(self) -> None:
        """Readiness: raise DatabaseUnavailable unless the database answers with its schema up to date."""
        with self.reading() as conn:
            conn.execute(sa.text("SELECT 1"))

    def checkpoint(self) -> None:
        """SQLite: move the write-ahead log into the database file and truncate it (pruned rows leave it too)."""
        if self.dialect != "sqlite":
            return
        with self._mapped(), self.engine.connect() as conn:
            conn.connection.driver_connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    @contextlib.contextmanager
    def lock(self, name: str, *, wait: bool = False) -> Iterator[bool]:
        """Hold the lock `name` for the block; yields False at once when another holder has it and wait is False.

        PostgreSQL: a session advisory lock, released when the block ends or the holder's connection
        dies (a crashed host does not keep it). SQLite: a lock file beside the database file.
        """
        if self.dialect == "sqlite":
            with self._file_lock(name, wait=wait) as held:
                yield held
            return
        key, held = lock_key(name), False
        with self._mapped():
            conn = self.engine.connect()
        try:
            with self._mapped():
                if wait:
                    conn.execute(sa.text("SELECT pg_advisory_lock(:k)"), {"k": key})
                    held = True
                else:
                    held = bool(conn.execute(sa.text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar())
                conn.commit()  # the lock belongs to the session, not the transaction
            yield held
        finally:
            if held:
                try:
                    conn.execute(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": key})
                    conn.commit()
                except sa.exc.DBAPIError as e:  # the session is gone, and its lock with it
                    log.warning("could not release the lock %s in %s (%s)", name, self.name, e.orig)
            conn.close()

    @contextlib.contextmanager
    def _file_lock(self, name: str, *, wait: bool) -> Iterator[bool]:
        from filelock import FileLock, Timeout

        assert self.path is not None
        lock = FileLock(str(self.path.with_name(f"{self.path.name}.{name}.lock")))
        try:
            lock.acquire(timeout=-1 if wait else 0)
        except Timeout:
            yield False
            return
        try:
            yield True
        finally:
            lock.release()

    @contextlib.contextmanager
    def _mapped(self) -> Iterator[None]:
        """Map driver errors meaning "cannot be used now" to DatabaseUnavailable (never with SQL or parameters)."""
        try:
            yield
        except sa.exc.DBAPIError as e:
            if not _unavailable(e):
                raise
            raise DatabaseUnavailable(
                self.name, e.orig or e, fix=SQLITE_FIX if self.dialect == "sqlite" else ""
            ) from e
        except sa.exc.TimeoutError as e:  # every pooled connection busy for CONNECT_TIMEOUT_S
            raise DatabaseUnavailable(self.name, e, fix="it is overloaded, or too many requests wait for it") from e

    def close(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()


def _unavailable(e: sa.exc.DBAPIError) -> bool:
    """Whether a driver error means the database cannot be used now, rather than a mistake in a statement."""
    if e.connection_invalidated or isinstance(e, sa.exc.OperationalError | sa.exc.InterfaceError):
        return True
    # SQLite: "file is not a database", a damaged file (sqlite3.DatabaseError itself, no subclass).
    return type(e) is sa.exc.DatabaseError


def _sqlite_engine(url: URL) -> Engine:
    """SQLite with transactions we begin ourselves (DDL included), WAL, and deleted rows overwritten."""
    engine = sa.create_engine(url, pool_pre_ping=True, connect_args={"timeout": SQLITE_BUSY_S})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # no implicit BEGIN from the driver: see _on_begin
        dbapi_conn.execute("PRAGMA secure_delete = ON")  # pruned questions are overwritten on disk
        dbapi_conn.execute("PRAGMA journal_mode = WAL")

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # A writer takes the write lock up front, so it waits for another writer instead of failing
        # when it upgrades from reading; readers do not block anyone.
        conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get("adoptbot_write") else "BEGIN")

    return engine


def _upgrade(conn: Connection, upgrade_with: Mapping[str, Any]) -> None:
    """Run the Alembic migrations on conn, inside its transaction."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes.update(upgrade_with, connection=conn)
    command.upgrade(config, "head")
