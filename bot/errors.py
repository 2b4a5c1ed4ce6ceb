"""Errors adoptbot raises on purpose; each message says what to do next.

    AdoptbotError
    ├── ConfigError      a setting is missing or invalid (names the variable)
    ├── IngestBusy       another ingest holds the lock
    ├── IndexEmpty       nothing has been indexed yet
    ├── EmptyQuestion    the question has no words in it
    └── BackendError     an answer backend could not produce a usable answer
        ├── BackendUnavailable   it cannot run here (no model, no server)
        └── GenerationFailed     it ran but the output was unusable (timeout, degenerate)

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


class EmptyQuestion(AdoptbotError):
    """The question is empty once markup and whitespace are removed."""


class BackendError(AdoptbotError):
    """An answer backend could not produce a usable answer."""


class BackendUnavailable(BackendError):
    """The backend cannot run here: no model file, no library, no server configured."""


class GenerationFailed(BackendError):
    """The backend ran but its output was unusable: timeout, empty, repetitive or ungrounded."""
