"""/healthz (liveness) and /readyz (readiness), over real HTTP; Chroma's check against a real `chroma run`."""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request

import pytest

from bot.web.health import chroma_reachable
from bot.web.server import build_web_app
from kb.store import IndexInfo
from tests.web import BackgroundServer

INFO = IndexInfo(version=1, generation=2, documents=3, chunks=40, indexed_at="2026-11-20T10:00Z", embed_model="m")


def get(url: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


@pytest.fixture
def serve():
    servers: list[BackgroundServer] = []

    def start(**kwargs) -> str:
        servers.append(BackgroundServer(build_web_app(**kwargs)))
        return servers[-1].url

    yield start
    for server in servers:
        server.close()


def test_healthz_is_200_without_an_index_and_says_so(serve):
    status, body = get(serve(index_info=lambda: None) + "/healthz")
    assert status == 200 and body["ok"] and body["chunks"] == 0


def test_healthz_reports_the_index_it_serves(serve):
    status, body = get(serve(index_info=lambda: INFO) + "/healthz")
    assert status == 200
    assert (body["documents"], body["chunks"], body["indexed_at"]) == (3, 40, INFO.indexed_at)
    assert body["slack"] is False and body["teams"] is False


def test_healthz_answers_within_seconds_while_the_store_hangs(serve):
    release = threading.Event()

    def hanging() -> IndexInfo | None:
        release.wait(30)
        return INFO

    url = serve(index_info=hanging)
    try:
        started = time.monotonic()
        status, body = get(url + "/healthz")
        assert status == 200 and body["ok"] and body["chunks"] == 0
        assert time.monotonic() - started < 3
    finally:
        release.set()


def test_readyz_is_200_when_the_index_and_every_named_check_are_ready(serve):
    status, body = get(serve(index_info=lambda: INFO, readiness={"database": lambda: None}) + "/readyz")
    assert status == 200
    assert body == {"ready": True, "not_ready": [], "checks": {"index": "ok", "database": "ok"}}


def test_readyz_is_503_naming_a_missing_index_and_how_to_fix_it(serve):
    status, body = get(serve(index_info=lambda: None) + "/readyz")
    assert status == 503 and body["not_ready"] == ["index"]
    assert "adoptbot ingest" in body["checks"]["index"]


def test_readyz_names_each_dependency_that_fails_or_does_not_answer_in_time(serve):
    release = threading.Event()

    def database() -> str | None:
        raise ConnectionRefusedError("connection to postgres:5432 refused\nsecond line is not shown")

    def cache() -> str | None:
        return "warming up"

    url = serve(
        index_info=lambda: INFO,
        readiness={"database": database, "slow": lambda: release.wait(30) and None, "cache": cache},
        check_timeout_s=0.5,
    )
    try:
        status, body = get(url + "/readyz")
    finally:
        release.set()
    assert status == 503
    assert body["not_ready"] == ["cache", "database", "slow"]
    assert body["checks"] == {
        "index": "ok",
        "database": "ConnectionRefusedError: connection to postgres:5432 refused",
        "slow": "no answer within 0.5 s",
        "cache": "warming up",
    }


def test_readyz_follows_a_real_chroma_server_going_away(serve, chroma_server):
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    client = chromadb.HttpClient(
        host="127.0.0.1", port=chroma_server.port, settings=ChromaSettings(anonymized_telemetry=False)
    )
    url = serve(index_info=lambda: INFO, readiness={"chroma": chroma_reachable(client)})
    assert get(url + "/readyz") == (200, {"ready": True, "not_ready": [], "checks": {"index": "ok", "chroma": "ok"}})
    chroma_server.stop()
    status, body = get(url + "/readyz")
    assert status == 503 and body["not_ready"] == ["chroma"]
    assert "refused" in body["checks"]["chroma"]


def test_readyz_and_healthz_answer_while_every_default_worker_thread_is_busy():
    """Slack dispatches run on the loop's default executor; a burst of them must not make a replica unready."""
    from tests.web import BackgroundServer

    server = BackgroundServer(build_web_app(index_info=lambda: INFO))
    release = threading.Event()
    try:
        for _ in range(64):  # more than the default executor's threads on any machine
            server.loop.call_soon_threadsafe(lambda: server.loop.run_in_executor(None, release.wait, 30))
        started = time.monotonic()
        assert get(server.url + "/readyz")[0] == 200
        status, body = get(server.url + "/healthz")
        assert status == 200 and body["chunks"] == 40
        assert time.monotonic() - started < 3
    finally:
        release.set()
        server.close()
