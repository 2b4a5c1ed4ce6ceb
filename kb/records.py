"""The live records of one generation as readers use them: columns, and the compact bytes saved of them.

A reader of a generation needs every live record's id, text and the fields passages are made of
(FIELDS). Reading those from Chroma takes seconds at 100,000 records, nearly all of it inside Chroma's
get() (docs/benchmarks.md). The ingest that writes a generation reads them once anyway, to build its
BM25 index, so it saves them too, beside that index (kb/store.py), and every replica loads the bytes.

The bytes are zlib-compressed JSON of the columns, each field's distinct values listed once with a code
per record (a document's title or owner is stored once, not once per chunk, and shared once loaded), and
they name the collection and generation they were saved for: bytes of another generation or format, or
damaged ones, are refused with UnreadableRecords, and the reader reads Chroma instead.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

FORMAT = "adoptbot-records/1"
QUESTION = "question"  # the kind of a record holding one question a section answers, not a passage
# The fields a passage is made of, and what a record without one has: what every reader of a record uses.
FIELDS: dict[str, Any] = {
    "source": "",
    "title": "",
    "section": "",
    "url": "",
    "last_reviewed": "",
    "owner": "",
    "kind": "guidance",
    "checklist_id": "",
    "ordinal": 0,
    "audience": "",
}


class UnreadableRecords(ValueError):
    """Saved bytes that are not the records of the asked-for generation in a format this version reads."""


@dataclass(frozen=True)
class Records:
    """Records in columns: ids[i] has texts[i] and fields[name][i] for every name of FIELDS."""

    ids: list[str]
    texts: list[str]
    fields: dict[str, list[Any]]

    @classmethod
    def of(cls, ids: Sequence[str], texts: Sequence[str | None], metadatas: Sequence[dict[str, Any]]) -> Records:
        """Records from rows as Chroma returns them (a missing text is "")."""
        return cls(
            ids=list(ids),
            texts=[text or "" for text in texts],
            fields={name: [meta.get(name, default) for meta in metadatas] for name, default in FIELDS.items()},
        )

    def __len__(self) -> int:
        return len(self.ids)

    def counts(self) -> tuple[int, int]:
        """(documents, chunks): the distinct sources of the passages, and how many passages (questions aside)."""
        sources = [s for s, kind in zip(self.fields["source"], self.fields["kind"], strict=True) if kind != QUESTION]
        return len(set(sources)), len(sources)

    def to_bytes(self, *, collection: str, at: int) -> bytes:
        """The records as saved for generation `at` of collection."""
        fields = {}
        for name, column in self.fields.items():
            codes: dict[tuple[type, Any], int] = {}  # keyed by type too: 1 and True are one dict key
            fields[name] = {"codes": [codes.setdefault((type(v), v), len(codes)) for v in column]}
            fields[name]["values"] = [v for _, v in codes]
        body = {
            "format": FORMAT,
            "collection": collection,
            "generation": at,
            "count": len(self.ids),
            "ids": self.ids,
            "texts": self.texts,
            "fields": fields,
        }
        return zlib.compress(json.dumps(body, separators=(",", ":")).encode("utf-8"))

    @classmethod
    def from_bytes(cls, data: bytes, *, collection: str, at: int) -> Records:
        """The records saved by to_bytes() for generation `at` of collection; UnreadableRecords otherwise."""
        try:
            body = json.loads(zlib.decompress(data))
        except (zlib.error, ValueError) as e:
            raise UnreadableRecords(f"damaged: not compressed JSON ({e})") from e
        if not isinstance(body, dict) or body.get("format") != FORMAT:
            found = body.get("format") if isinstance(body, dict) else None
            raise UnreadableRecords(f"format {found!r}, not {FORMAT!r}")
        if (body.get("collection"), body.get("generation")) != (collection, at):
            raise UnreadableRecords(
                f"stale: saved for {body.get('collection')} at generation {body.get('generation')}, "
                f"not {collection} at generation {at}"
            )
        try:
            count, ids, texts = body["count"], body["ids"], body["texts"]
            fields = {}
            for name in FIELDS:
                fields[name] = list(map(body["fields"][name]["values"].__getitem__, body["fields"][name]["codes"]))
            if not (count == len(ids) == len(texts) and all(len(c) == count for c in fields.values())):
                raise UnreadableRecords(f"damaged: {count} records listed, columns of other lengths")
        except (KeyError, TypeError, IndexError) as e:
            raise UnreadableRecords(f"damaged: {type(e).__name__} {e}") from e
        return cls(ids=ids, texts=texts, fields=fields)
