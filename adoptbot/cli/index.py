"""The index a command works on: `adoptbot ingest`, `adoptbot status`, an ingest on first use, and the
ONNX copy of the embedding model (`adoptbot export-model`)."""

from __future__ import annotations

import argparse
import json
import logging
import sys

from adoptbot.cli.terminal import EXIT_FAILED, EXIT_OK
from adoptbot.runtime import Runtime
from common.errors import AdoptbotError, IndexEmpty
from common.text import visible


def cmd_ingest(runtime: Runtime, args: argparse.Namespace) -> int:
    try:
        summary = runtime.ingest(args.path, wait=args.wait)
    except (AdoptbotError, KeyboardInterrupt):
        raise
    except Exception as e:
        logging.getLogger("adoptbot.ingest").exception("ingest failed")
        print(
            f"adoptbot: ingest failed ({type(e).__name__}: {visible(str(e))}); the previous index is still "
            "serving. Fix the cause (disk space? permissions?) and run `adoptbot ingest` again.",
            file=sys.stderr,
        )
        return EXIT_FAILED
    print(json.dumps(summary.to_dict()) if args.json else summary.render())
    return EXIT_FAILED if args.strict and summary.skipped else EXIT_OK


def cmd_status(runtime: Runtime, args: argparse.Namespace) -> int:
    info = runtime.store.known_info()  # from the file the ingest wrote beside an embedded store: no Chroma
    if args.json:
        print(json.dumps(info.__dict__ if info else None))
    elif info is None:
        print("The knowledge base has not been indexed yet: run `adoptbot ingest`.")
    else:
        print(
            f"{info.documents} documents, {info.chunks} chunks, indexed {visible(info.indexed_at)} "
            f"(collection version {info.version}, generation {info.generation}, "
            f"embeddings: {visible(info.embed_model)})."
        )
    if not args.json:
        print(f"Answers with: {runtime.engine.describe_backend()}.")
        print(f"Embeds with: {runtime.embedder.describe()}.")
    return EXIT_OK


def cmd_export_model(runtime: Runtime, args: argparse.Namespace) -> int:
    from kb.onnx_export import export_model

    s = runtime.settings
    export = export_model(model_path=s.embed_model_path or None, exports=s.onnx_dir)
    print(f"The embedding model's ONNX copy is in {export}: commands embed through onnxruntime, without torch.")
    return EXIT_OK


def ensure_index(runtime: Runtime) -> None:
    """An empty index triggers an ingest of the knowledge folder, or says how to make one."""
    if runtime.store.current() is not None:
        return
    if not runtime.settings.knowledge_dir.is_dir():
        raise IndexEmpty(
            "The knowledge base has not been indexed yet: run `adoptbot ingest PATH` with the folder "
            "holding your guidance (or set ADOPTBOT_KNOWLEDGE_DIR)."
        )
    print(f"adoptbot: the index is empty; indexing {runtime.settings.knowledge_dir} first...", file=sys.stderr)
    # Waits for an ingest running elsewhere (replicas starting beside the first ingest) instead of exiting.
    summary = runtime.ingest(wait=True)
    print(summary.render(), file=sys.stderr)
    if runtime.store.current() is None:
        raise IndexEmpty(f"Nothing in {runtime.settings.knowledge_dir} could be indexed (see the skipped files above).")
