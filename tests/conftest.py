"""Shared fixtures. Tests never read the developer's environment or home directory."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

# Before anything imports a library that looks at HOME or tokens: a clean, private environment.
# One thread per math library: the suite runs servers beside the test process on few cores, where torch's
# spinning OpenMP threads (one per core in every process) made a query embedding about 15x slower on a busy
# 2-core machine. Children inherit it (tests/cluster.py's clean_env passes it on); no test checks threads.
_HOME = tempfile.mkdtemp(prefix="adoptbot-test-home-")
for _name in list(os.environ):
    if _name.startswith(("ADOPTBOT_", "SLACK_", "MICROSOFT_", "CONNECTIONS__", "OPENAI_", "HF_")):
        del os.environ[_name]
os.environ.update(
    HOME=_HOME,
    OMP_NUM_THREADS="1",
    MKL_NUM_THREADS="1",
    OPENBLAS_NUM_THREADS="1",
    HF_HOME=os.path.join(_HOME, "hf"),
    HF_HUB_OFFLINE="1",
    TRANSFORMERS_OFFLINE="1",
    ANONYMIZED_TELEMETRY="False",
)

from adoptbot.runtime import Runtime  # noqa: E402
from common.settings import Settings  # noqa: E402
from kb.embedding import Embedder, SentenceTransformerEmbedder  # noqa: E402
from kb.store import KnowledgeStore, open_client  # noqa: E402
from tests.cluster import ChromaServer  # noqa: E402
from tests.fake_embedder import FakeEmbedder  # noqa: E402, F401 - tests import it from here
from tests.postgres import PostgresMissing, PostgresServer  # noqa: E402

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def real_embedder() -> SentenceTransformerEmbedder:
    """The shipped all-MiniLM-L6-v2, loaded once for the whole run."""
    return SentenceTransformerEmbedder()


@pytest.fixture(scope="session")
def onnx_exports(tmp_path_factory) -> Path:
    """A folder holding the shipped model's ONNX copy (`adoptbot export-model`), made once for the whole run."""
    from kb.onnx_export import export_model

    root = tmp_path_factory.mktemp("onnx")
    export_model(model_path=None, exports=root)
    return root


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """A real PostgreSQL on loopback for the whole run; missing binaries fail the tests that need it, never skip."""
    try:
        server = PostgresServer()
    except PostgresMissing as e:
        pytest.fail(str(e), pytrace=False)
    try:
        server.start()
        yield server
    finally:
        server.close()


@pytest.fixture
def chroma_server(tmp_path: Path) -> Iterator[ChromaServer]:
    """A real `chroma run` on a free loopback port, its data and log in tmp_path; stopped after the test."""
    server = ChromaServer(tmp_path / "chroma", log_dir=tmp_path)
    try:
        server.wait_ready()
        yield server
    finally:
        server.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty shared-state database of each kind: a SQLite file in tmp_path, a new database on `postgres`."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'db' / 'feedback.sqlite3'}"
    return request.getfixturevalue("postgres").create_database()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data", knowledge_dir=tmp_path / "knowledge")


@pytest.fixture
def store(settings: Settings) -> KnowledgeStore:
    return KnowledgeStore(open_client(settings), prefix=settings.collection_prefix)


def make_runtime(settings: Settings, embedder: Embedder) -> Runtime:
    return Runtime(settings, embedder=embedder)


GUIDE = """---
title: {title}
owner: AI Centre of Excellence
last_reviewed: 2026-11-01
url: https://intranet.example.com/{slug}
tags: [test]
---

# {title}

## Background

{body}

## Details

More about {slug}: it has a second section so documents have several chunks.
"""

CHECKLIST = """id: launch
title: Launch checklist
owner: AI Risk Office
last_reviewed: 2026-10-15
summary: What to check before launch.
items:
  - id: owner
    text: Name an accountable owner.
    why: Someone must answer for the system.
  - id: review
    text: Put human review on risky outputs.
"""


def write_kb(root: Path, docs: dict[str, str] | None = None) -> Path:
    """A small knowledge folder: two guidance documents and a checklist, plus extras."""
    root.mkdir(parents=True, exist_ok=True)
    files = {
        "guidance/hallucination.md": GUIDE.format(
            title="Hallucinations",
            slug="hallucination",
            body="Models can state false things fluently; ground answers in approved sources.",
        ),
        "guidance/privacy.md": GUIDE.format(
            title="Privacy",
            slug="privacy",
            body="Keep personal data out of prompts unless the data protection officer agrees.",
        ),
        "checklists/launch.yaml": CHECKLIST,
    }
    files.update(docs or {})
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    return root


@pytest.fixture(scope="session")
def starter_runtime(tmp_path_factory, real_embedder) -> Runtime:
    """The starter knowledge base indexed once with the real model; template backend by default."""
    data = tmp_path_factory.mktemp("starter-data")
    settings = Settings(
        data_dir=data,
        knowledge_dir=REPO / "knowledge",
        backend="template",
        escalation_contact="the AI Centre of Excellence (#ai-coe)",
        questions_per_minute=10_000,  # platform tests send many questions as one person; fair use has its own tests
    )
    runtime = Runtime(settings, embedder=real_embedder)
    summary = runtime.ingest(progress=False)
    assert not summary.skipped, summary.skipped
    return runtime
