"""A deterministic embedder for tests and benchmarks: hashed word counts, no model to load."""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Sequence

from kb.embedding import Embedder


class FakeEmbedder(Embedder):
    """Deterministic bag-of-words vectors; one token per word; `calls` records what it embedded."""

    name = "fake-embedder"

    def __init__(self, dims: int = 64) -> None:
        self.dims = dims
        self.calls: list[list[str]] = []

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        self.calls.append(list(texts))
        vectors = []
        for text in texts:
            v = [0.0] * self.dims
            for word in re.findall(r"\w+", text.lower()):
                v[int(hashlib.md5(word.encode()).hexdigest(), 16) % self.dims] += 1.0
            norm = math.sqrt(sum(x * x for x in v)) or 1.0
            vectors.append([x / norm for x in v])
        return vectors

    def count_tokens(self, text: str) -> int:
        return len(text.split())

    @property
    def embedded(self) -> int:
        return sum(len(c) for c in self.calls)
