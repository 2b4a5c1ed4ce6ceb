"""What an ingest reports: shared by the ingest job that fills it and the bot that shows it.

Plain data with no ingest or store machinery behind it, so bot/ never imports the ingest pipeline.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from common.text import visible


@dataclass(frozen=True)
class Skipped:
    """A file that was not indexed, and why."""

    source: str
    reason: str
    kept_previous: bool = False  # its last good version is still served

    def describe(self) -> str:
        """The reason, and whether the file's last good version is still served."""
        return self.reason + (" (its previous version is still served)" if self.kept_previous else "")


@dataclass(frozen=True)
class FileWarning:
    """Something cut or cleaned in a file that was indexed all the same."""

    source: str
    message: str


@dataclass
class IngestSummary:
    """What an ingest changed; `render()` for people, `to_dict()` for --json."""

    documents_added: list[str] = field(default_factory=list)
    documents_updated: list[str] = field(default_factory=list)
    documents_removed: list[str] = field(default_factory=list)
    documents_unchanged: int = 0
    skipped: list[Skipped] = field(default_factory=list)
    warnings: list[FileWarning] = field(default_factory=list)
    chunks_added: int = 0
    chunks_updated: int = 0
    chunks_removed: int = 0
    chunks_embedded: int = 0
    documents_total: int = 0
    chunks_total: int = 0
    version: int | None = None
    seconds: float = 0.0

    @property
    def changed(self) -> bool:
        """Whether any document was added, updated or removed."""
        return bool(self.documents_added or self.documents_updated or self.documents_removed)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data."""
        return asdict(self)

    def document_changes(self) -> list[tuple[str, list[str]]]:
        """(added|updated|removed, documents), for every way of reporting a reindex."""
        return [
            ("added", self.documents_added),
            ("updated", self.documents_updated),
            ("removed", self.documents_removed),
        ]

    def render(self) -> str:
        """The summary for a terminal."""
        lines = [
            f"Indexed {self.documents_total} documents as {self.chunks_total} chunks "
            f"in {self.seconds:.1f} s" + ("." if self.changed else " (nothing changed, nothing re-embedded)."),
            f"  documents: {len(self.documents_added)} added, {len(self.documents_updated)} "
            f"updated, {len(self.documents_removed)} removed, {self.documents_unchanged} "
            f"unchanged, {len(self.skipped)} skipped",
            f"  chunks:    {self.chunks_added} added, {self.chunks_updated} updated, "
            f"{self.chunks_removed} removed, {self.chunks_embedded} embedded",
        ]
        for name, docs in self.document_changes():
            lines += [f"  {name}: {visible(d)}" for d in docs]
        lines += [f"  WARNING {visible(w.source)}: {visible(w.message)}" for w in self.warnings]
        lines += [f"  SKIPPED {visible(s.source)}: {visible(s.describe())}" for s in self.skipped]
        return "\n".join(lines)
