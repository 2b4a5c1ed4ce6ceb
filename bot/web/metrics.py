"""Prometheus metrics: questions, declines, answer latency per backend, queue depth, votes, the index.

One `Metrics` per running app, each with a registry of its own (never the process-wide default), so
two apps in one process or two tests never count into each other. The chat core calls
`observe_answer`, `observe_error` and `observe_vote`; the HTTP server serves `exposition()` at /metrics.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterator

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.process_collector import ProcessCollector
from prometheus_client.registry import Collector

from bot.types import Answer
from kb.store import IndexInfo

log = logging.getLogger(__name__)

CONTENT_TYPE = CONTENT_TYPE_LATEST
PLATFORMS = ("slack", "teams", "terminal", "mcp")  # anything else is counted as "other": labels stay few
STATUSES = {"answered": "answered", "no_answer": "declined", "smalltalk": "smalltalk", "clarify": "clarified"}
VOTES = ("helpful", "not_helpful")
# From the template's ~15 ms to an OpenAI-compatible server's 30 s timeout.
LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0, 60.0)


def _platform(platform: str) -> str:
    return platform if platform in PLATFORMS else "other"


class Metrics:
    """adoptbot's metrics in a registry of their own; `index_info` is read at each scrape."""

    def __init__(
        self,
        *,
        index_info: Callable[[], IndexInfo | None] | None = None,
        registry: CollectorRegistry | None = None,
        process: bool = True,
    ) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.questions = Counter(
            "adoptbot_questions", "Replies to questions, by platform and outcome", ["platform", "status"], registry=r
        )
        self.declines = Counter(
            "adoptbot_declines", "Questions declined: the knowledge base does not cover them", ["platform"], registry=r
        )
        self.answer_seconds = Histogram(
            "adoptbot_answer_seconds",
            "Time from question to answer (retrieval and generation), by the backend that answered",
            ["backend"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.queue_depth = Gauge("adoptbot_queue_depth", "Questions waiting for a free answer worker", registry=r)
        self.votes = Counter("adoptbot_votes", "Feedback votes, by vote", ["vote"], registry=r)
        if index_info is not None:
            r.register(IndexCollector(index_info))
        if process:
            ProcessCollector(registry=r)  # memory, CPU and open files of this process (Linux /proc)

    def observe_answer(self, platform: str, answer: Answer) -> None:
        """Count one reply (answered, declined or small talk) and how long it took, by its backend."""
        platform = _platform(platform)
        status = STATUSES.get(answer.status, "answered")
        self.questions.labels(platform=platform, status=status).inc()
        if status == "declined":
            self.declines.labels(platform=platform).inc()
        total_ms = answer.timings_ms.get("total")
        if status != "smalltalk" and total_ms is not None:
            self.answer_seconds.labels(backend=answer.backend or "none").observe(total_ms / 1000)

    def observe_error(self, platform: str) -> None:
        """Count a question that got the apology instead of an answer."""
        self.questions.labels(platform=_platform(platform), status="error").inc()

    def observe_vote(self, vote: str) -> None:
        """Count one helpful / not helpful vote."""
        if vote not in VOTES:
            raise ValueError(f"vote must be one of {VOTES}, not {vote!r}")
        self.votes.labels(vote=vote).inc()

    def watch_queue(self, depth: Callable[[], int]) -> None:
        """Read the queue depth from `depth()` at each scrape, e.g. `lambda: chat.fair.waiting`."""

        def read() -> float:
            try:
                return float(depth())
            except Exception as e:  # noqa: BLE001 - one broken reading must not fail the whole scrape
                log.warning("metrics: the queue depth could not be read (%s: %s)", type(e).__name__, e)
                return math.nan

        self.queue_depth.set_function(read)

    def exposition(self) -> bytes:
        """Every metric in Prometheus' text format (content type: CONTENT_TYPE)."""
        return generate_latest(self.registry)


class IndexCollector(Collector):
    """The serving index's generation and size, read from the store when Prometheus scrapes."""

    def __init__(self, index_info: Callable[[], IndexInfo | None]) -> None:
        self._index_info = index_info

    def collect(self) -> Iterator[Metric]:
        """Gauges from index_info(); an index that cannot be read shows as not loaded, never a failed scrape."""
        try:
            info = self._index_info()
        except Exception as e:  # noqa: BLE001 - a Chroma server that is down must not break the scrape
            log.warning("metrics: the index could not be read (%s: %s)", type(e).__name__, e)
            info = None
        yield GaugeMetricFamily("adoptbot_index_loaded", "1 when an index is serving, else 0", value=int(bool(info)))
        if info is None:
            return
        for name, text, value in (
            ("generation", "Generation of the serving index", info.generation),
            ("version", "Version (collection) of the serving index", info.version),
            ("documents", "Documents in the serving index", info.documents),
            ("chunks", "Passages in the serving index", info.chunks),
        ):
            yield GaugeMetricFamily(f"adoptbot_index_{name}", text, value=value)
