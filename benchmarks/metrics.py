"""GET /metrics scrape time with every series adoptbot can produce, and the cost of one observation.

    .venv/bin/python benchmarks/metrics.py [--scrapes 1000] [--index stub|embedded|server]

Fills a `Metrics` with every label combination the code can produce (4 platforms x 4 outcomes,
4 backends' latency histograms, both votes, the queue, the index, the process), serves it with
`build_web_app` on a loopback port and scrapes GET /metrics over HTTP, sequentially, as Prometheus
would. The index gauges are read at each scrape through `Runtime.index_info`: `stub` returns a fixed
IndexInfo (the cost of the metrics alone), `embedded` reads an embedded Chroma store in a temporary
directory, `server` starts a real `chroma run` on loopback (the deployment at scale). The knowledge
base is the repository's, embedded with a bag-of-words fake (tests/fake_embedder.py) so no model loads. Prints figures.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


from adoptbot.runtime import Runtime  # noqa: E402
from bot.types import Answer  # noqa: E402
from bot.web.metrics import PLATFORMS, Metrics  # noqa: E402
from bot.web.server import build_web_app  # noqa: E402
from common.settings import Settings  # noqa: E402
from kb.store import IndexInfo  # noqa: E402
from tests.cluster import ChromaServer  # noqa: E402
from tests.fake_embedder import FakeEmbedder  # noqa: E402
from tests.web import BackgroundServer  # noqa: E402

BACKENDS = ("template", "llm", "openai", "none")


def fill(metrics: Metrics) -> None:
    """Every label combination the code can produce, each observed at least once."""
    for platform in (*PLATFORMS, "other"):
        for status in ("answered", "no_answer", "smalltalk"):
            for backend in BACKENDS:
                for ms in (12, 150, 2_400, 31_000):
                    metrics.observe_answer(platform, Answer("q", status, "t", backend, timings_ms={"total": ms}))
        metrics.observe_error(platform)
    metrics.observe_vote("helpful")
    metrics.observe_vote("not_helpful")
    metrics.watch_queue(lambda: 3)


def main() -> None:
    """Print series count, exposition size, in-process and HTTP scrape times."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scrapes", type=int, default=1000)
    parser.add_argument("--index", choices=("stub", "embedded", "server"), default="stub")
    args = parser.parse_args()

    chroma = None
    with tempfile.TemporaryDirectory(prefix="adoptbot-metrics-") as tmp:
        if args.index == "stub":
            info = IndexInfo(version=4, generation=12, documents=40, chunks=100_000, indexed_at="now", embed_model="m")

            def index_info() -> IndexInfo | None:
                return info
        else:
            chroma_url = ""
            if args.index == "server":
                chroma = ChromaServer(Path(tmp) / "chroma-server", log_dir=Path(tmp))
                chroma.wait_ready()
                chroma_url = chroma.url
            settings = Settings(data_dir=Path(tmp) / "data", knowledge_dir=REPO / "knowledge", chroma_url=chroma_url)
            runtime = Runtime(settings, embedder=FakeEmbedder())
            summary = runtime.ingest(progress=False)
            print(f"index: {summary.documents_total} documents, {summary.chunks_total} chunks ({args.index})")
            index_info = runtime.index_info

        try:
            metrics = Metrics(index_info=index_info)
            fill(metrics)
            body = metrics.exposition()
            series = sum(1 for line in body.decode().splitlines() if line and not line.startswith("#"))
            print(f"series: {series}, exposition: {len(body):,} bytes")

            started = time.perf_counter()
            for _ in range(200):
                metrics.exposition()
            print(f"exposition() in process: {(time.perf_counter() - started) / 200 * 1000:.2f} ms")

            answer = Answer("q", "answered", "t", "template", timings_ms={"total": 15.0})
            started = time.perf_counter()
            for _ in range(100_000):
                metrics.observe_answer("slack", answer)
            print(f"observe_answer: {(time.perf_counter() - started) / 100_000 * 1e6:.1f} us per call")

            server = BackgroundServer(build_web_app(index_info=index_info, metrics=metrics), access_log=None)
            url = server.url
            times = []
            for _ in range(args.scrapes):
                started = time.perf_counter()
                with urllib.request.urlopen(url + "/metrics", timeout=30) as response:
                    response.read()
                times.append((time.perf_counter() - started) * 1000)
            times.sort()
            p99 = times[min(len(times) - 1, int(len(times) * 0.99))]
            print(
                f"GET /metrics over HTTP, {args.scrapes} sequential scrapes: p50 {statistics.median(times):.2f} ms, "
                f"p99 {p99:.2f} ms, max {times[-1]:.2f} ms"
            )
            server.close()
        finally:
            if chroma is not None:
                chroma.stop()


if __name__ == "__main__":
    main()
