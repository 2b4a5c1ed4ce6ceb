"""A real PostgreSQL server for tests: Debian's initdb and pg_ctl in a temporary directory, on loopback.

PostgreSQL refuses to run as root, so as root the server runs as the `postgres` user (runuser).
Missing binaries fail the test run with what to install; they never skip it.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from pathlib import Path

import sqlalchemy as sa

BINDIR_VARIABLE = "PG_BINDIR"  # where initdb and pg_ctl are, when not in Debian's /usr/lib/postgresql/<v>/bin
SUPERUSER = "adoptbot"
MEMORY_DIR = Path("/dev/shm")  # a tmpfs on Linux
MEMORY_NEEDED = 2 << 30  # every test database is a copy of template1 (about 300 files, 7.5 MB)


class PostgresMissing(RuntimeError):
    """No PostgreSQL server binaries on this machine."""


def find_bindir() -> Path:
    """The directory holding initdb and pg_ctl."""
    configured = os.environ.get(BINDIR_VARIABLE)
    candidates = [configured] if configured else []
    candidates += sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(Path(p).parent.name), reverse=True)
    on_path = shutil.which("pg_ctl")
    if on_path:
        candidates.append(str(Path(on_path).parent))
    for candidate in candidates:
        if (Path(candidate) / "initdb").exists() and (Path(candidate) / "pg_ctl").exists():
            return Path(candidate)
    raise PostgresMissing(
        "PostgreSQL server binaries (initdb, pg_ctl) were not found: install them with "
        "`apt-get install postgresql` (Debian; `make test` does), or set PG_BINDIR to the directory holding them. "
        "The shared-state tests run against a real PostgreSQL and are never skipped."
    )


def data_parent(durable: bool) -> str | None:
    """Where a server's files go: memory when the server need not be durable and there is room, else the temp dir.

    Deleting the thirty-odd test databases' 10,000 files took 4 to 40 s on the project machine's disk (ext4 with
    online discard, shared with other jobs), at the end of every run; on tmpfs it takes well under a second.
    """
    if durable or not MEMORY_DIR.is_dir() or not os.access(MEMORY_DIR, os.W_OK):
        return None
    room = os.statvfs(MEMORY_DIR)
    return str(MEMORY_DIR) if room.f_bavail * room.f_frsize >= MEMORY_NEEDED else None


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PostgresServer:
    """initdb once, then start and stop (including `-m immediate`, a crash) as often as a test likes."""

    def __init__(self, bindir: Path | None = None, *, durable: bool = False) -> None:
        self.bindir = bindir or find_bindir()
        self.durable = durable  # fsync as in production (benchmarks); tests run without it
        self.root = Path(tempfile.mkdtemp(prefix="adoptbot-pg-", dir=data_parent(durable)))
        self.data = self.root / "data"
        self.port = free_port()
        self._as_postgres = os.geteuid() == 0
        if self._as_postgres:
            shutil.chown(self.root, "postgres", "postgres")
        self._run(
            "initdb", "-D", str(self.data), "-U", SUPERUSER, "--auth=trust", "--locale=C.UTF-8", "--encoding=UTF8",
            "--no-sync",
        )  # fmt: skip

    def _run(self, tool: str, *args: str) -> subprocess.CompletedProcess:
        command = [str(self.bindir / tool), *args]
        if self._as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        done = subprocess.run(command, capture_output=True, text=True, timeout=120, cwd=self.root)
        if done.returncode != 0:
            raise RuntimeError(f"{tool} failed ({done.returncode}): {done.stderr.strip() or done.stdout.strip()}")
        return done

    def start(self) -> None:
        """Start the server on its port (the same port after a stop), waiting until it accepts connections."""
        options = (
            f"-c listen_addresses=127.0.0.1 -c port={self.port} -c unix_socket_directories='{self.root}' "
            "-c max_connections=200"
        )
        if not self.durable:  # an immediate stop still loses no commit: the OS keeps what was written
            options += " -c fsync=off -c full_page_writes=off"
        log = str(self.root / "log")
        self._run("pg_ctl", "start", "-w", "-t", "60", "-D", str(self.data), "-l", log, "-o", options)

    def stop(self, mode: str = "fast") -> None:
        """Stop the server; mode "immediate" is a crash (no clean shutdown, clients cut off)."""
        self._run("pg_ctl", "stop", "-w", "-D", str(self.data), "-m", mode)

    def url(self, database: str = "postgres") -> str:
        """The SQLAlchemy URL of a database on this server."""
        return f"postgresql+psycopg://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def create_database(self) -> str:
        """A new, empty database; its URL."""
        name = f"t_{uuid.uuid4().hex[:16]}"
        engine = sa.create_engine(self.url(), isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as conn:
                conn.exec_driver_sql(f"CREATE DATABASE {name}")
        finally:
            engine.dispose()
        return self.url(name)

    def close(self) -> None:
        """Stop the server if it runs and delete its files."""
        with contextlib.suppress(RuntimeError):  # not running
            self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)
