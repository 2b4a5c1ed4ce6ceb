"""The Chroma server mode (ADOPTBOT_CHROMA_URL): a real `chroma run` on loopback, port chosen free."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bot.runtime import Runtime
from bot.settings import Settings
from bot.store import KnowledgeStore, open_client
from bot.types import Question
from tests.conftest import write_kb


@pytest.fixture
def chroma_url(tmp_path):
    chroma = shutil.which("chroma", path=str(Path(sys.executable).parent))
    assert chroma, "the chroma command ships with the chromadb package"
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [chroma, "run", "--path", str(tmp_path / "server"), "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            time.sleep(0.2)
    yield f"http://127.0.0.1:{port}"
    proc.terminate()
    proc.wait(30)


def test_ingest_and_answer_through_a_chroma_server(tmp_path, chroma_url, real_embedder):
    settings = Settings(
        data_dir=tmp_path / "data", knowledge_dir=write_kb(tmp_path / "kb"), backend="template", chroma_url=chroma_url
    )
    runtime = Runtime(settings, embedder=real_embedder)
    summary = runtime.ingest(progress=False)
    assert summary.chunks_total == 5 and not (tmp_path / "data" / "chroma").exists()
    answer = runtime.engine.answer(Question("Is it ok to put personal data into prompts?"))
    assert answer.sources[0].source == "guidance/privacy.md"
    # Another machine (a second client) sees the same index.
    other = KnowledgeStore(open_client(settings))
    assert other.info().chunks == 5
