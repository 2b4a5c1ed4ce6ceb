"""Errors adoptbot raises on purpose; each message says what to do next.

    AdoptbotError
    ├── ConfigError      a setting is missing or invalid (names the variable)
    │   └── DataDirUnusable   the data directory cannot be created or written (names it and ADOPTBOT_DATA_DIR)
    ├── IngestBusy       another ingest holds the lock
    ├── DatabaseUnavailable   the shared-state database cannot be reached or used (names it and what to do)
    ├── IndexEmpty       nothing has been indexed yet
    ├── EmptyQuestion    the question has no words in it
    └── BackendError     an answer backend could not produce a usable answer
        ├── BackendUnavailable   it cannot run here (no model, no server)
        └── GenerationFailed     it ran but the output was unusable (timeout, degenerate)

Third-party exceptions are mapped to these at the boundary where they occur.
"""

from __future__ import annotations

from pathlib import Path


class AdoptbotError(Exception):
    """Base class: the message is meant for the person running adoptbot."""


class ConfigError(AdoptbotError):
    """A setting is missing or invalid."""


class DataDirUnusable(ConfigError):
    """The data directory (ADOPTBOT_DATA_DIR) cannot be created or written."""

    def __init__(self, directory: Path, problem: BaseException, fix: str = "") -> None:
        self.directory = directory
        detail = " ".join(str(problem).split())
        super().__init__(
            f"Cannot use the data directory {directory} ({detail}): "
            + (fix or "make it writable by the user running adoptbot")
            + ", or set ADOPTBOT_DATA_DIR to a directory that is."
        )


class IngestBusy(AdoptbotError):
    """Another ingest is running on the same data directory."""


class DatabaseUnavailable(AdoptbotError):
    """The shared-state database (ADOPTBOT_DATABASE_URL, or SQLite in the data directory) cannot be used now."""

    def __init__(self, where: str, problem: BaseException | str, fix: str = "") -> None:
        self.where = where
        detail = " ".join(str(problem).split())[:300]
        super().__init__(
            f"The database {where} cannot be used ({detail}): "
            + (fix or "check that it is running and reachable and that ADOPTBOT_DATABASE_URL names it")
            + "; adoptbot reconnects by itself once it answers again."
        )


class IndexEmpty(AdoptbotError):
    """The knowledge base has not been indexed yet."""


class EmptyQuestion(AdoptbotError):
    """The question is empty once markup and whitespace are removed."""


class BackendError(AdoptbotError):
    """An answer backend could not produce a usable answer."""


class BackendUnavailable(BackendError):
    """The backend cannot run here: no model file, no library, no server configured."""


class GenerationFailed(BackendError):
    """The backend ran but its output was unusable: timeout, empty, repetitive or ungrounded."""
