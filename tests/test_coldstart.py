"""One-shot commands load only what they run: no Chroma, torch or model library for status, checklist, kb lint
and audit export (benchmarks/coldstart.py measures the seconds; this checks the imports, in fresh processes)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from adoptbot.cli import main
from common.settings import Settings
from kb.store import info_file
from tests.conftest import REPO, FakeEmbedder, make_runtime, write_kb

MODELS = ("torch", "sentence_transformers", "transformers", "llama_index", "llama_cpp", "onnxruntime")
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
    settings = Settings(data_dir=tmp_path / "data", knowledge_dir=write_kb(tmp_path / "knowledge"), backend="template")
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
