"""Errors adoptbot raises on purpose; each message says what to do next.

    AdoptbotError
    ├── ConfigError      a setting is missing or invalid (names the variable)
    ├── IngestBusy       another ingest holds the lock
    └── IndexEmpty       nothing has been indexed yet

Third-party exceptions are mapped to these at the boundary where they occur.
"""


class AdoptbotError(Exception):
    """Base class: the message is meant for the person running adoptbot."""


class ConfigError(AdoptbotError):
    """A setting is missing or invalid."""


class IngestBusy(AdoptbotError):
    """Another ingest is running on the same data directory."""


class IndexEmpty(AdoptbotError):
    """The knowledge base has not been indexed yet."""
