"""Metadata for files that cannot carry front matter (PDF, Word, HTML): a sidecar next to each, or one manifest.

`policy.pdf.meta.yaml` next to `policy.pdf` holds its fields; `knowledge/manifest.yaml` maps paths to
fields for many files at once. A sidecar's fields win over the manifest's. Neither is indexed itself.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kb.files import DOCUMENT_SUFFIXES, SIDECAR_SUFFIX, BadFile, load_yaml, read_bytes

MANIFEST = "manifest.yaml"
FIELDS = ("title", "owner", "last_reviewed", "url", "tags", "audience")


def is_sidecar(source: str) -> bool:
    """Whether a path names a metadata sidecar (`x.pdf.meta.yaml`)."""
    return source.lower().endswith(SIDECAR_SUFFIX)


def sidecar_of(source: str) -> str:
    """The sidecar path of a document (`x.pdf` -> `x.pdf.meta.yaml`)."""
    return source + SIDECAR_SUFFIX


def takes_metadata(source: str) -> bool:
    """Whether a file's metadata comes from a sidecar or the manifest rather than front matter."""
    return Path(source).suffix.lower() in DOCUMENT_SUFFIXES


@dataclass(frozen=True)
class External:
    """A document's fields from its sidecar and the manifest; `fingerprint` changes when they do."""

    fields: dict[str, Any]
    fingerprint: bytes = b""
    origin: str = ""  # where the fields came from, for messages


@dataclass
class Catalog:
    """The manifest of one knowledge folder, read once per ingest or lint."""

    root: Path
    max_bytes: int = 2_000_000
    entries: dict[str, dict[str, Any]] = field(default_factory=dict)
    problem: str = ""  # why the manifest could not be used; its documents fall back to their sidecars

    @classmethod
    def load(cls, root: Path, max_bytes: int = 2_000_000) -> Catalog:
        """The manifest at root/manifest.yaml, if any; a broken one is recorded in `problem`, not raised."""
        catalog = cls(root=root, max_bytes=max_bytes)
        path = root / MANIFEST
        if not path.exists():
            return catalog
        try:
            data = load_yaml(read_bytes(path, max_bytes, inside=root).decode("utf-8-sig"), "the manifest")
            catalog.entries = _entries(data)
        except (BadFile, OSError, UnicodeDecodeError) as e:
            catalog.problem = _reason(e) + "; documents listed in it keep their previous version until it is fixed"
        return catalog

    def unknown_paths(self, sources: set[str]) -> list[str]:
        """Manifest keys that name no document found in the knowledge folder."""
        return sorted(k for k in self.entries if k not in sources)

    def external(self, source: str) -> External:
        """The fields for source from the manifest and its sidecar; raises BadFile for a broken sidecar."""
        fields: dict[str, Any] = dict(self.entries.get(source, {}))
        origins = [MANIFEST] if source in self.entries else []
        sidecar = self.root / sidecar_of(source)
        raw = b""
        if sidecar.exists() or sidecar.is_symlink():
            where = Path(sidecar_of(source)).name
            try:
                raw = _read_sidecar(sidecar, self.max_bytes, self.root, source)
                data = load_yaml(raw.decode("utf-8-sig"), f"its metadata file {where}")
            except UnicodeDecodeError:
                raise BadFile(f"its metadata file {where} is not valid UTF-8: save it with UTF-8 encoding") from None
            except OSError as e:
                raise BadFile(f"its metadata file {where} could not be read ({e.strerror or e})") from None
            if data is not None and not isinstance(data, dict):
                raise BadFile(f"its metadata file {where} must be 'key: value' lines (title, owner, last_reviewed)")
            fields.update(data or {})
            origins.append(where)
        stamp = json.dumps(self.entries.get(source), sort_keys=True, default=str).encode()
        fingerprint = hashlib.sha256(stamp + b"\x00" + raw).digest() if origins else b""
        return External(fields=fields, fingerprint=fingerprint, origin=" and ".join(origins))


def _read_sidecar(sidecar: Path, max_bytes: int, root: Path, document: str) -> bytes:
    """A sidecar's bytes; a sidecar too large (or pointing outside) is reported under its own name."""
    try:
        return read_bytes(sidecar, max_bytes, inside=root, fix="it should hold a few fields (owner, ...)")
    except BadFile as e:
        raise BadFile(
            f"{e}; it is the metadata file of {document}, which is not indexed until this is fixed",
            source=sidecar_of(document),
        ) from None


def _entries(data: Any) -> dict[str, dict[str, Any]]:
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise BadFile(
            "the manifest must map paths to fields: a line 'policies/ai-policy.pdf:', then indented 'owner: ...'"
        )
    entries: dict[str, dict[str, Any]] = {}
    for path, fields in data.items():
        key = str(path).strip().removeprefix("./")
        if not isinstance(fields, dict):
            raise BadFile(f"the manifest entry {str(path)[:80]!r} must be indented 'key: value' lines (owner, ...)")
        entries[key] = fields
    return entries


def _reason(error: Exception) -> str:
    if isinstance(error, BadFile):
        return str(error)
    if isinstance(error, UnicodeDecodeError):
        return "the manifest is not valid UTF-8: save it with UTF-8 encoding"
    return f"the manifest could not be read ({getattr(error, 'strerror', None) or error})"
