"""Export the embedding model to ONNX once (torch), checked against sentence-transformers before it is used.

The whole sentence-transformers pipeline is traced, the modules its modules.json names (for the shipped
model: the transformer, mean pooling over the attention mask, L2 normalisation), so the copy computes what
the model computes. The copy is kept only when its vectors for varied texts, one longer than the model
reads, have a cosine of at least MIN_COSINE with sentence-transformers' own.
"""

from __future__ import annotations

import json
import os
import shutil
import warnings
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from common.errors import ConfigError
from kb.embedding import Embedder, SentenceTransformerEmbedder, model_folder
from kb.onnx_embedder import INFO_FILE, MODEL_FILE, TOKENIZER_FILE, OnnxEmbedder, export_dir, fingerprint, made_from

MIN_COSINE = 0.99999
OPSET = 17
# Short and long, padded in a batch, accents, scripts and emoji, stray whitespace, nothing at all, and text
# past the model's 256 word pieces (cut where sentence-transformers cuts it).
PROBES = (
    "What is a GAN?",
    "Can I paste customer emails into a public chatbot to summarise them?",
    "   leading and trailing spaces\t\n",
    "",
    "Ünïcödé café naïve — 中文字符 テスト 🎉 Ελληνικά",
    "hallucination " * 300,
    " ".join(f"clause {n} of the acceptable use policy applies to generated images" for n in range(60)),
)


class ExportFailed(ConfigError):
    """The ONNX copy could not be made, or does not give the model's vectors."""


def export_model(*, model_path: str | Path | None, exports: Path) -> Path:
    """The checked ONNX copy of the model under exports: the existing one, or one made now (needs torch, onnx)."""
    folder, _ = model_folder(model_path)
    target = export_dir(exports, folder)
    if (target / INFO_FILE).is_file():
        return target
    reference = SentenceTransformerEmbedder(model_path=model_path)
    try:
        exports.mkdir(parents=True, exist_ok=True)
        work = exports / f".{target.name}.{os.getpid()}.tmp"
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir()
    except OSError as e:
        raise ExportFailed(
            f"Cannot write the ONNX copy of the embedding model to {exports} ({e.strerror or e}): "
            "make it writable, or set ADOPTBOT_EMBED_ONNX_DIR to a folder that is."
        ) from None
    try:
        model = reference.model()
        _trace(model, work / MODEL_FILE)
        # The tokenizer as transformers set it up from the model's files (it may adjust lower-casing, for one).
        (work / TOKENIZER_FILE).write_text(model.tokenizer.backend_tokenizer.to_str(), encoding="utf-8")
        info = {
            "source": str(folder),
            "fingerprint": fingerprint(folder),
            "max_seq_length": int(model.max_seq_length),
            "do_lower_case": bool(getattr(model[0], "do_lower_case", False)),
            "exported_with": {p: _version(p) for p in ("torch", "sentence-transformers", "onnx", "onnxruntime")},
        }
        (work / INFO_FILE).write_text(json.dumps(info, indent=2), encoding="utf-8")
        info["min_cosine"] = check_vectors(OnnxEmbedder(work, model_path=model_path), reference)
        (work / INFO_FILE).write_text(json.dumps(info, indent=2), encoding="utf-8")
        try:
            work.rename(target)
        except OSError:  # another process finished the same copy first: keep that one
            if not (target / INFO_FILE).is_file():
                raise
    finally:
        shutil.rmtree(work, ignore_errors=True)
    _remove_older(exports, folder, keep=target)
    return target


def _trace(model: Any, out: Path) -> None:
    """Trace model (a SentenceTransformer) into out, its weights in a file beside it."""
    try:
        import onnx
    except ImportError:
        raise ExportFailed(
            "Exporting the embedding model needs the onnx package: run `make setup` (or `pip install onnx==1.23.2`)."
        ) from None
    import torch

    names = [n for n in ("input_ids", "attention_mask", "token_type_ids") if n in model.tokenizer.model_input_names]

    class Pipeline(torch.nn.Module):
        """Tensors in, the sentence embedding out: what SentenceTransformer.encode runs, per batch."""

        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, *tensors: torch.Tensor) -> torch.Tensor:
            return self.model(dict(zip(names, tensors, strict=True)))["sentence_embedding"]

    batch = model.tokenizer(["What is a GAN?", "A longer example sentence, so the batch is padded."],
                            padding=True, return_tensors="pt")  # fmt: skip
    axes = {n: {0: "batch", 1: "tokens"} for n in names} | {"sentence_embedding": {0: "batch"}}
    with warnings.catch_warnings(), torch.inference_mode():
        warnings.simplefilter("ignore")  # the tracer's notes on Python conditions, true for every batch we send
        torch.onnx.export(
            Pipeline().eval(), tuple(batch[n] for n in names), str(out), input_names=names,
            output_names=["sentence_embedding"], dynamic_axes=axes, opset_version=OPSET, dynamo=False,
        )  # fmt: skip
    # Weights in a file of their own: onnxruntime maps it at start-up instead of parsing it (~3x faster).
    graph = onnx.load(str(out))
    onnx.save_model(graph, str(out), save_as_external_data=True, all_tensors_to_one_file=True,
                    location=f"{out.name}.data", size_threshold=1024)  # fmt: skip
    (out.parent / f"{out.name}.data").chmod(0o644)  # onnx writes it 0600: the user serving may not be the one exporting


def check_vectors(candidate: Embedder, reference: Embedder) -> float:
    """The lowest cosine between the copy's vectors and the model's for PROBES; ExportFailed below MIN_COSINE."""
    texts = list(PROBES)
    got, want = candidate.embed(texts), reference.embed(texts)
    cosines = [sum(a * b for a, b in zip(g, w, strict=True)) for g, w in zip(got, want, strict=True)]
    worst = min(cosines)
    if worst < MIN_COSINE:
        text = texts[cosines.index(worst)]
        raise ExportFailed(
            f"The ONNX copy of {reference.name} does not give its vectors (cosine {worst:.6f} for {text[:40]!r}); "
            "nothing was kept, and sentence-transformers embeds as before."
        )
    return worst


def _remove_older(exports: Path, folder: Path, *, keep: Path) -> None:
    """Copies made from earlier versions of the same model folder: no longer used."""
    for info in exports.glob(f"*/{INFO_FILE}"):
        if made_from(info) == str(folder) and info.parent != keep:
            shutil.rmtree(info.parent, ignore_errors=True)


def _version(package: str) -> str:
    try:
        return version(package)
    except PackageNotFoundError:
        return ""
