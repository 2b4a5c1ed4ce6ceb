"""One-shot commands load only what they run: no Chroma, torch or model library for status, checklist, kb lint
and audit export, and no torch for ask, assess and report once the embedding model has its ONNX copy
(benchmarks/coldstart.py measures the seconds; this checks the imports, in fresh processes)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from adoptbot.cli import main
from adoptbot.runtime import Runtime
from common.settings import Settings
from kb.onnx_embedder import OnnxEmbedder
from kb.store import info_file
from tests.conftest import REPO, FakeEmbedder, make_runtime, write_kb

TORCH = ("torch", "sentence_transformers", "transformers")  # what embedding through sentence-transformers loads
MODELS = (*TORCH, "llama_index", "llama_cpp", "onnxruntime")
HEAVY = (*MODELS, "chromadb", "numpy")
DATABASE = ("sqlalchemy", "alembic")  # the audit log's and the checklist board's: not for status or kb lint
CHILD = """
import json, sys
from adoptbot.cli import main
code = main(sys.argv[2:])
heavy = sorted({m.split(".")[0] for m in sys.modules} & set(json.loads(sys.argv[1])))  # loaded of those named
print(json.dumps({"code": code, "heavy": heavy}), file=sys.stderr)
"""


@pytest.fixture
def indexed(tmp_path: Path) -> Settings:
    """A data directory indexed once (fake embedder), with one question in the audit log."""
    settings = Settings(
        data_dir=tmp_path / "data", knowledge_dir=write_kb(tmp_path / "knowledge"), backend="template",
        embed_onnx_dir=str(tmp_path / "no-onnx"),
    )  # fmt: skip
    runtime = make_runtime(settings, FakeEmbedder())
    runtime.ingest()
    assert main(["ask", "What are hallucinations?"], runtime=runtime) == 0
    return settings


def run_fresh(settings: Settings, *args: str) -> tuple[dict, str]:
    """`adoptbot ARGS` in a new interpreter: its exit status and heavy modules loaded, and what it printed."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ADOPTBOT_", "SLACK_", "CONNECTIONS__"))}
    env |= {
        "PYTHONPATH": str(REPO),
        "ADOPTBOT_DATA_DIR": str(settings.data_dir),
        "ADOPTBOT_KNOWLEDGE_DIR": str(settings.knowledge_dir),
        "ADOPTBOT_BACKEND": "template",
        "ADOPTBOT_EMBED_ONNX_DIR": str(settings.onnx_dir),
    }
    done = subprocess.run(
        [sys.executable, "-c", CHILD, json.dumps([*HEAVY, *DATABASE]), *args],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    return json.loads(done.stderr.strip().splitlines()[-1]), done.stdout


@pytest.mark.parametrize(
    ("args", "needs"),
    [(("status",), []), (("kb", "lint"), []), (("checklist",), DATABASE), (("audit", "export"), DATABASE)],
    ids=["status", "kb lint", "checklist", "audit export"],
)
def test_a_one_shot_command_loads_no_chroma_torch_or_model_library(indexed, args, needs):
    result, out = run_fresh(indexed, *args)
    assert result == {"code": 0, "heavy": sorted(needs)}
    assert out.strip()


def test_status_reads_the_counts_the_ingest_saved_beside_the_index(indexed):
    result, out = run_fresh(indexed, "status", "--json")
    assert result["heavy"] == []
    info = json.loads(out)
    assert info["documents"] == 3 and info["chunks"] > 0 and info["generation"] == 1


def test_a_new_generation_rewrites_the_saved_counts(indexed):
    (indexed.knowledge_dir / "guidance" / "hallucination.md").unlink()
    make_runtime(indexed, FakeEmbedder()).ingest()
    result, out = run_fresh(indexed, "status", "--json")
    info = json.loads(out)
    assert result["heavy"] == [] and info["documents"] == 2 and info["generation"] == 2


def test_without_the_saved_counts_status_counts_in_the_store(indexed):
    saved = info_file(indexed.store_dir, indexed.collection_prefix)
    before = json.loads(saved.read_text())
    saved.unlink()
    result, out = run_fresh(indexed, "status", "--json")
    assert "chromadb" in result["heavy"] and not set(MODELS) & set(result["heavy"])
    assert json.loads(out) == before


def test_a_switch_that_fails_leaves_no_stale_counts(indexed, monkeypatch):
    """The file goes before the switch: readers after a failed one count in the store, and see the old index."""
    from chromadb.api.models.Collection import Collection

    (indexed.knowledge_dir / "guidance" / "hallucination.md").unlink()

    def fail(*_: object, **__: object) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(Collection, "modify", fail)
    with pytest.raises(RuntimeError, match="disk full"):
        make_runtime(indexed, FakeEmbedder()).ingest()
    assert not info_file(indexed.store_dir, indexed.collection_prefix).exists()
    result, out = run_fresh(indexed, "status", "--json")
    assert "chromadb" in result["heavy"] and not set(MODELS) & set(result["heavy"])
    assert json.loads(out)["documents"] == 3


@pytest.fixture(scope="module")
def indexed_for_real(tmp_path_factory, onnx_exports: Path) -> Settings:
    """The starter knowledge base indexed with the real model (its ONNX copy), and two questions asked."""
    settings = Settings(
        data_dir=tmp_path_factory.mktemp("real") / "data", knowledge_dir=REPO / "knowledge", backend="template",
        embed_onnx_dir=str(onnx_exports),
    )  # fmt: skip
    runtime = Runtime(settings)
    assert isinstance(runtime.embedder, OnnxEmbedder)
    runtime.ingest(progress=False)
    for question in ("What are hallucinations?", "Which canteen serves the best soup?"):  # one gap for the report
        assert main(["ask", question], runtime=runtime) == 0
    return settings


@pytest.mark.parametrize(
    "args",
    [("ask", "What are hallucinations?"), ("assess", "--json", "We want product photos in twenty backgrounds"),
     ("report", "--out", "report.html")],
    ids=["ask", "assess", "report"],
)  # fmt: skip
def test_with_the_onnx_copy_ask_assess_and_report_embed_without_torch(indexed_for_real, tmp_path, args):
    args = tuple(str(tmp_path / a) if a == "report.html" else a for a in args)
    result, out = run_fresh(indexed_for_real, *args)
    assert result["code"] == 0 and "onnxruntime" in result["heavy"]  # it embedded
    assert not set(TORCH) & set(result["heavy"])
    report = tmp_path / "report.html"
    assert "canteen" in report.read_text() if args[0] == "report" else out.strip()  # the gap, grouped by meaning


def test_without_the_onnx_copy_ask_embeds_through_sentence_transformers(indexed_for_real, tmp_path):
    no_copy = replace(indexed_for_real, embed_onnx_dir=str(tmp_path / "empty"))
    result, out = run_fresh(no_copy, "ask", "What are hallucinations?")
    assert result["code"] == 0 and {"torch", "sentence_transformers"} <= set(result["heavy"])
    assert "onnxruntime" not in result["heavy"] and "hallucination" in out.lower()
    assert "start-up" in out
