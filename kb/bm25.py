"""The lexical (BM25) index of one index generation: built once, saved as bytes, loaded by every replica.

Tokenised as llama-index's BM25Retriever did (bm25s, English stopwords and Snowball stemmer, words of
two or more characters), so a saved index ranks exactly as one rebuilt from the passages would.
The bytes are a zip of bm25s's own saved files plus the record ids in index order.
"""

from __future__ import annotations

import io
import json
import logging
import tempfile
import zipfile
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

FORMAT = "adoptbot-bm25/1"
TOKEN_PATTERN = r"(?u)\b\w\w+\b"
_IDS, _FORMAT = "ids.json", "format"


class UnreadableIndex(ValueError):
    """Saved bytes that are not a lexical index this version can read."""


def indexed_text(title: str, section: str, text: str) -> str:
    """What BM25 sees of a passage: its title and section count as words of it."""
    return f"{title}\n{section}\n{text}"


@lru_cache(maxsize=1)
def _stemmer() -> Any:
    import Stemmer

    return Stemmer.Stemmer("english")


def _bm25s() -> Any:
    import bm25s

    logging.getLogger("bm25s").setLevel(logging.WARNING)
    return bm25s


class BM25Index:
    """Record ids and their BM25 scores matrix; search(query, k) -> [(id, score)]."""

    def __init__(self, ids: Sequence[str], model: Any) -> None:
        self.ids = list(ids)
        self._model = model

    @classmethod
    def build(cls, ids: Sequence[str], texts: Sequence[str]) -> BM25Index:
        """Tokenise and index texts; ids[i] names texts[i]."""
        if not ids:
            return cls([], None)
        bm25s = _bm25s()
        tokens = bm25s.tokenize(
            list(texts), stopwords="en", stemmer=_stemmer(), token_pattern=TOKEN_PATTERN, show_progress=False
        )
        model = bm25s.BM25()
        model.index(tokens, show_progress=False)
        return cls(ids, model)

    def search(self, query: str, k: int) -> list[tuple[str, float]]:
        """The k best records for query, best first, with their scores (zero scores included)."""
        k = min(k, len(self.ids))
        if k <= 0:
            return []
        bm25s = _bm25s()
        # Stopwords are not removed from the query: they are not in the vocabulary, so they score nothing.
        tokens = bm25s.tokenize(query, stemmer=_stemmer(), token_pattern=TOKEN_PATTERN, show_progress=False)
        found, scores = self._model.retrieve(tokens, k=k, show_progress=False)
        return [(self.ids[int(i)], float(s)) for i, s in zip(found[0], scores[0], strict=True)]

    def to_bytes(self) -> bytes:
        """The index as one compressed blob."""
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
            zf.writestr(_FORMAT, FORMAT)
            zf.writestr(_IDS, json.dumps(self.ids))
            if self._model is not None:
                with tempfile.TemporaryDirectory(prefix="adoptbot-bm25-") as tmp:
                    self._model.save(tmp, show_progress=False)
                    for path in sorted(Path(tmp).iterdir()):
                        zf.write(path, f"bm25s/{path.name}")
        return out.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> BM25Index:
        """An index saved by to_bytes(); UnreadableIndex if it is not one."""
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as zf:
                if zf.read(_FORMAT).decode() != FORMAT:
                    raise UnreadableIndex(f"not a {FORMAT} index")
                ids = json.loads(zf.read(_IDS))
                if not ids:
                    return cls([], None)
                with tempfile.TemporaryDirectory(prefix="adoptbot-bm25-") as tmp:
                    for name in zf.namelist():
                        if name.startswith("bm25s/"):
                            (Path(tmp) / Path(name).name).write_bytes(zf.read(name))
                    model = _bm25s().BM25.load(tmp, show_progress=False)
        except (zipfile.BadZipFile, KeyError, OSError, ValueError) as e:
            raise UnreadableIndex(str(e)) from e
        if int(model.scores["num_docs"]) != len(ids):
            raise UnreadableIndex(f"{len(ids)} ids for {model.scores['num_docs']} indexed documents")
        return cls(ids, model)
