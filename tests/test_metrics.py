"""Prometheus metrics (bot/web/metrics.py) and GET /metrics, read back the way Prometheus parses them."""

from __future__ import annotations

import dataclasses
import math
import urllib.request

import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot.types import Answer
from bot.web.metrics import Metrics
from bot.web.server import METRICS, build_web_app
from kb.store import IndexInfo
from tests.web import BackgroundServer

INFO = IndexInfo(version=3, generation=7, documents=12, chunks=345, indexed_at="2026-11-20T10:00Z", embed_model="m")


def answer(status: str = "answered", backend: str = "template", total_ms: float = 15.0) -> Answer:
    return Answer(question="q", status=status, text="t", backend=backend, timings_ms={"total": total_ms})


def samples(exposition: bytes | str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of an exposition, as Prometheus reads it: (name, sorted labels) -> value."""
    text = exposition.decode() if isinstance(exposition, bytes) else exposition
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def value(metrics: Metrics, name: str, **labels: str) -> float | None:
    return samples(metrics.exposition()).get((name, tuple(sorted(labels.items()))))


def test_replies_are_counted_by_platform_and_outcome():
    metrics = Metrics(process=False)
    metrics.observe_answer("slack", answer())
    metrics.observe_answer("slack", answer())
    metrics.observe_answer("slack", answer("no_answer", backend="none"))
    metrics.observe_answer("teams", answer("smalltalk", backend="none"))
    metrics.observe_error("teams")
    assert value(metrics, "adoptbot_questions_total", platform="slack", status="answered") == 2
    assert value(metrics, "adoptbot_questions_total", platform="slack", status="declined") == 1
    assert value(metrics, "adoptbot_questions_total", platform="teams", status="smalltalk") == 1
    assert value(metrics, "adoptbot_questions_total", platform="teams", status="error") == 1
    assert value(metrics, "adoptbot_declines_total", platform="slack") == 1
    assert value(metrics, "adoptbot_declines_total", platform="teams") is None


def test_answer_latency_is_a_histogram_per_backend_and_small_talk_is_not_timed():
    metrics = Metrics(process=False)
    metrics.observe_answer("slack", answer(backend="template", total_ms=15))
    metrics.observe_answer("slack", answer(backend="openai", total_ms=4_000))
    metrics.observe_answer("slack", answer(backend="openai", total_ms=40_000))
    metrics.observe_answer("slack", answer("smalltalk", backend="none", total_ms=1))
    assert value(metrics, "adoptbot_answer_seconds_count", backend="template") == 1
    assert value(metrics, "adoptbot_answer_seconds_bucket", backend="template", le="0.025") == 1
    assert value(metrics, "adoptbot_answer_seconds_count", backend="openai") == 2
    assert value(metrics, "adoptbot_answer_seconds_bucket", backend="openai", le="5.0") == 1
    assert value(metrics, "adoptbot_answer_seconds_sum", backend="openai") == pytest.approx(44.0)
    assert value(metrics, "adoptbot_answer_seconds_count", backend="none") is None


def test_platform_labels_stay_few_whatever_the_caller_passes():
    metrics = Metrics(process=False)
    metrics.observe_answer("something-else", answer())
    assert value(metrics, "adoptbot_questions_total", platform="other", status="answered") == 1
    metrics.observe_answer("mcp", answer())  # another assistant asking through MCP has its own label
    assert value(metrics, "adoptbot_questions_total", platform="mcp", status="answered") == 1
    metrics.observe_answer("slack", dataclasses.replace(answer(), status="clarify"))  # asked back: not an answer
    assert value(metrics, "adoptbot_questions_total", platform="slack", status="clarified") == 1


def test_votes_are_counted_by_vote_and_an_unknown_vote_is_a_bug():
    metrics = Metrics(process=False)
    metrics.observe_vote("helpful")
    metrics.observe_vote("not_helpful")
    metrics.observe_vote("not_helpful")
    assert value(metrics, "adoptbot_votes_total", vote="helpful") == 1
    assert value(metrics, "adoptbot_votes_total", vote="not_helpful") == 2
    with pytest.raises(ValueError, match="helpful"):
        metrics.observe_vote("meh")


def test_queue_depth_can_be_set_or_read_at_each_scrape():
    metrics = Metrics(process=False)
    metrics.queue_depth.set(3)
    assert value(metrics, "adoptbot_queue_depth") == 3
    waiting = [1, 2]
    metrics.watch_queue(lambda: len(waiting))
    assert value(metrics, "adoptbot_queue_depth") == 2
    waiting.append(3)
    assert value(metrics, "adoptbot_queue_depth") == 3


def test_a_queue_depth_that_cannot_be_read_is_nan_and_the_scrape_still_arrives(caplog):
    metrics = Metrics(process=False)
    metrics.watch_queue(lambda: 1 // 0)
    metrics.observe_vote("helpful")
    assert math.isnan(value(metrics, "adoptbot_queue_depth"))
    assert value(metrics, "adoptbot_votes_total", vote="helpful") == 1
    assert "ZeroDivisionError" in caplog.text


def test_each_app_counts_in_its_own_registry():
    first, second = Metrics(process=False), Metrics(process=False)
    first.observe_vote("helpful")
    assert value(first, "adoptbot_votes_total", vote="helpful") == 1
    assert value(second, "adoptbot_votes_total", vote="helpful") is None


def test_the_index_generation_is_read_from_the_store_at_each_scrape():
    current: list[IndexInfo | None] = [None]
    metrics = Metrics(index_info=lambda: current[0], process=False)
    assert value(metrics, "adoptbot_index_loaded") == 0
    assert value(metrics, "adoptbot_index_generation") is None
    current[0] = INFO
    assert value(metrics, "adoptbot_index_loaded") == 1
    assert value(metrics, "adoptbot_index_generation") == 7
    assert value(metrics, "adoptbot_index_chunks") == 345


def test_an_index_that_cannot_be_read_shows_as_not_loaded_instead_of_failing_the_scrape(caplog):
    def broken() -> IndexInfo | None:
        raise ConnectionError("chroma is down")

    metrics = Metrics(index_info=broken, process=False)
    metrics.observe_vote("helpful")
    assert value(metrics, "adoptbot_index_loaded") == 0
    assert value(metrics, "adoptbot_votes_total", vote="helpful") == 1  # the rest of the scrape still arrives
    assert "chroma is down" in caplog.text


@pytest.fixture
def served():
    metrics = Metrics(index_info=lambda: INFO)
    server = BackgroundServer(build_web_app(index_info=lambda: INFO, metrics=metrics))
    yield metrics, server
    server.close()


def test_get_metrics_serves_the_apps_metrics_in_prometheus_text_format(served):
    metrics, server = served
    metrics.observe_answer("slack", answer())
    with urllib.request.urlopen(server.url + "/metrics", timeout=10) as response:
        content_type = response.headers["Content-Type"]
        scraped = samples(response.read())
    assert content_type.startswith("text/plain") and "version=" in content_type
    assert scraped[("adoptbot_questions_total", (("platform", "slack"), ("status", "answered")))] == 1
    assert scraped[("adoptbot_index_generation", ())] == 7
    assert scraped[("process_resident_memory_bytes", ())] > 0


def test_an_app_built_without_metrics_gets_its_own_with_the_index():
    app = build_web_app(index_info=lambda: INFO)
    assert value(app[METRICS], "adoptbot_index_generation") == 7
    other = build_web_app(index_info=lambda: INFO)
    app[METRICS].observe_vote("helpful")
    assert value(other[METRICS], "adoptbot_votes_total", vote="helpful") is None
