"""The embedding model through onnxruntime: its ONNX copy, the model's own tokenizer and numpy, no torch.

The copy is made once by kb/onnx_export.py (`adoptbot export-model`, run by `make setup`) into a folder
named for the model files it was made from, so a changed model is never paired with an old copy.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from common.errors import ConfigError
from kb.embedding import Embedder, model_folder, word_pieces

if TYPE_CHECKING:
    from tokenizers import Tokenizer

log = logging.getLogger(__name__)
MODEL_FILE = "model.onnx"  # beside it model.onnx.data, the weights: onnxruntime maps them instead of copying
TOKENIZER_FILE = "tokenizer.json"  # the tokenizer transformers built from the model's files
INFO_FILE = "export.json"  # what the copy was made from and how it tokenizes


def fingerprint(folder: Path) -> str:
    """Names, sizes and modification times of the model's files: another model, or a changed one, differs."""
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    stats = [(p.relative_to(folder).as_posix(), p.stat().st_size, p.stat().st_mtime_ns) for p in files]
    return hashlib.sha256(json.dumps(stats).encode()).hexdigest()[:16]


def export_dir(exports: Path, folder: Path) -> Path:
    """Where the ONNX copy of the model in folder lives under exports."""
    return exports / f"{folder.name}-{fingerprint(folder)}"


def find_export(exports: Path, folder: Path) -> Path | None:
    """The finished ONNX copy of the model in folder, if there is one (and onnxruntime to run it)."""
    import importlib.util

    target = export_dir(exports, folder)
    if (target / INFO_FILE).is_file() and importlib.util.find_spec("onnxruntime") is not None:
        return target
    stale = [p.parent for p in exports.glob(f"*/{INFO_FILE}") if made_from(p) == str(folder)]
    if stale:
        log.warning(
            "The ONNX copy of the embedding model in %s was made from an older %s; embedding through "
            "sentence-transformers (a slower start). Run `adoptbot export-model` to make a new copy.",
            stale[0], folder,
        )  # fmt: skip
    return None


def made_from(info: Path) -> str:
    """The model folder an export's INFO_FILE says it was made from ("" when unreadable)."""
    try:
        return str(json.loads(info.read_text(encoding="utf-8")).get("source", ""))
    except (OSError, ValueError, AttributeError):
        return ""


class OnnxEmbedder(Embedder):
    """The model's ONNX copy through onnxruntime, loaded on first use: sentence-transformers' vectors."""

    def __init__(self, export: Path, *, model_path: str | Path | None = None, batch_size: int = 32) -> None:
        self.export = export
        self.model_path, self.name = model_folder(model_path)
        self.batch_size = batch_size
        info = json.loads((export / INFO_FILE).read_text(encoding="utf-8"))
        self.max_seq_length = int(info["max_seq_length"])
        self.lower_case = bool(info.get("do_lower_case", False))
        self._session: Any = None
        self._tokenizer: Tokenizer | None = None  # truncates to max_seq_length, as sentence-transformers does
        self._pieces: Tokenizer | None = None  # untruncated, for count_tokens
        self._pad_id = 0
        self._lock = threading.Lock()

    def describe(self) -> str:
        return f"{self.name} through onnxruntime (the ONNX copy in {self.export})"

    def load(self) -> None:
        with self._lock:
            if self._session is None:
                import onnxruntime
                from tokenizers import Tokenizer

                tokenizer = Tokenizer.from_file(str(self.export / TOKENIZER_FILE))
                self._pad_id = (tokenizer.padding or {}).get("pad_id", 0)
                tokenizer.enable_truncation(self.max_seq_length)
                tokenizer.no_padding()
                options = onnxruntime.SessionOptions()
                options.log_severity_level = 3  # errors only
                state = onnxruntime.capi.onnxruntime_pybind11_state
                try:
                    session = onnxruntime.InferenceSession(
                        str(self.export / MODEL_FILE), options, providers=["CPUExecutionProvider"]
                    )
                except (state.Fail, state.InvalidProtobuf, state.NoSuchFile, state.InvalidGraph) as e:
                    raise ConfigError(
                        f"The ONNX copy of the embedding model in {self.export} cannot be loaded ({e}): remove "
                        "that folder, then run `adoptbot export-model` (or leave it removed to embed through "
                        "sentence-transformers)."
                    ) from None
                self._tokenizer, self._session = tokenizer, session

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        if not texts:
            return []
        import numpy as np

        self.load()
        assert self._tokenizer is not None
        if self.lower_case:
            texts = [t.lower() for t in texts]
        encoded = self._tokenizer.encode_batch(list(texts))
        # Longest first, padded to the longest of each batch: the attention mask keeps padding out of the mean.
        order = sorted(range(len(encoded)), key=lambda i: -len(encoded[i].ids))
        batches = [order[i : i + self.batch_size] for i in range(0, len(order), self.batch_size)]
        ran = np.concatenate([self._run([encoded[i] for i in batch]) for batch in batches])
        vectors = np.empty_like(ran)
        vectors[order] = ran
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)  # normalised already; kept exact for any model
        return (vectors / np.maximum(norms, 1e-12)).tolist()

    def _run(self, encodings: list[Any]) -> Any:
        import numpy as np

        width = max(len(e.ids) for e in encodings)
        ids = np.full((len(encodings), width), self._pad_id, dtype=np.int64)
        mask = np.zeros_like(ids)
        types = np.zeros_like(ids)
        for row, e in enumerate(encodings):
            ids[row, : len(e.ids)] = e.ids
            mask[row, : len(e.ids)] = 1
            types[row, : len(e.ids)] = e.type_ids
        feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}
        wanted = {i.name for i in self._session.get_inputs()}
        return self._session.run(None, {k: v for k, v in feeds.items() if k in wanted})[0]

    def count_tokens(self, text: str) -> int:
        if self._pieces is None:
            self._pieces = word_pieces(self.model_path)
        return len(self._pieces.encode(text, add_special_tokens=False).ids)
