"""Slack under load: 50 concurrent signed app_mention events against HTTP mode with a fake Web API.

    .venv/bin/python benchmarks/slack_load.py [--events 50] [--backend auto|template|llm]

Each event comes from a different person (fair use limits questions per person). Prints
acknowledgement latency p50/p99, time to the first text each asker sees (the first streamed
piece, or the whole reply when the backend does not stream) p50/p99, whether every event was
answered exactly once, and the time to the last reply. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import tempfile
import threading
import time
import urllib.request
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from adoptbot.runtime import Runtime  # noqa: E402
from bot.web.server import build_web_app  # noqa: E402
from common.settings import Settings  # noqa: E402
from tests.fake_slack import BOT_USER, FakeSlackApi, event_body, signed_headers  # noqa: E402
from tests.web import BackgroundServer  # noqa: E402

SECRET = "bench-secret"
QUESTIONS = [
    "How does a GAN work?",
    "What is on the pre-deployment checklist?",
    "What is a hallucination?",
    "Who should own an AI model?",
    "What is RLHF?",
    "What are the four types of AI?",
    "What is a VAE?",
    "How do diffusion models generate images?",
    "Do GDPR and HIPAA apply to our AI systems?",
    "How do I reset my VPN password?",
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=50)
    parser.add_argument("--backend", default="auto", choices=["auto", "template", "llm"])
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        api = FakeSlackApi()
        settings = Settings(
            data_dir=Path(tmp),
            knowledge_dir=REPO / "knowledge",
            backend=args.backend,
            slack_bot_token="xoxb-bench",
            slack_signing_secret=SECRET,
            slack_api_base_url=api.api_url,
        )
        runtime = Runtime(settings)
        runtime.ingest(progress=False)
        runtime.warm_up()
        server = BackgroundServer(build_web_app(index_info=runtime.index_info, slack=runtime.slack_app(http=True)))
        print(f"{args.events} concurrent app_mention events, backend {args.backend}, {settings.workers} answer workers")

        acks: list[float] = []
        statuses: list[int] = []
        lock = threading.Lock()
        go = threading.Event()

        def send(n: int) -> None:
            ts = f"1700000000.{n:06d}"
            event = {
                "type": "app_mention",
                "user": f"U{n:05d}",
                "team": "T1",
                "channel": "C1",
                "ts": ts,
                "event_ts": ts,
                "text": f"<@{BOT_USER}> {QUESTIONS[n % len(QUESTIONS)]}",
            }
            body = event_body(event, f"Ev{n}")
            request = urllib.request.Request(
                server.url + "/slack/events",
                data=body.encode(),
                headers=signed_headers(SECRET, body, content_type="application/json"),
            )
            go.wait()
            started = time.perf_counter()
            with urllib.request.urlopen(request, timeout=60) as response:
                status = response.status
            with lock:
                acks.append((time.perf_counter() - started) * 1000)
                statuses.append(status)

        threads = [threading.Thread(target=send, args=(n,)) for n in range(args.events)]
        for t in threads:
            t.start()
        started = time.perf_counter()
        go.set()
        for t in threads:
            t.join()
        deadline = time.monotonic() + 1800
        while len(api.finished()) < args.events and time.monotonic() < deadline:
            time.sleep(0.05)
        last = max(at for _, _, at in api.finished()) - started
        time.sleep(2)  # anything posted twice would show up now
        replies = api.finished()
        per_thread = Counter(thread for thread, _, _ in replies)
        first_text: dict[str, float] = {}
        for (method, call), at in zip(api.calls, api.times, strict=True):
            if method in ("chat.postMessage", "chat.startStream") and call.get("thread_ts"):
                first_text.setdefault(call["thread_ts"], (at - started) * 1000)
        streamed = sum(1 for _, method, _ in replies if method == "chat.stopStream")
        streamed_threads = {thread for thread, method, _ in replies if method == "chat.stopStream"}
        done_at = {thread: at for thread, _, at in replies}
        backends = Counter(r["backend"] for r in runtime.feedback.audit(dt.datetime(2000, 1, 1, tzinfo=dt.UTC)))
        print(f"  HTTP statuses: {dict(Counter(statuses))}")
        print(
            f"  acknowledgement latency: p50 {statistics.median(acks):.0f} ms, "
            f"p99 {p99(acks):.0f} ms, max {max(acks):.0f} ms"
        )
        print(
            f"  replies: {len(replies)} for {args.events} events; threads answered once: "
            f"{sum(1 for c in per_thread.values() if c == 1)}, more than once: "
            f"{sum(1 for c in per_thread.values() if c > 1)}"
        )
        firsts = sorted(first_text.values())
        print(
            f"  time to first text: p50 {statistics.median(firsts):.0f} ms, "
            f"p99 {p99(firsts):.0f} ms "
            f"({streamed} of {len(replies)} replies streamed)"
        )
        ahead = [done_at[t] - first_text[t] / 1000 - started for t in done_at if t in streamed_threads]
        if ahead:
            print(f"  streamed replies: first text p50 {statistics.median(ahead):.1f} s before the reply was complete")
        print(f"  answers by backend: {dict(backends)}")
        print(f"  time to the last reply: {last:.1f} s")
        server.close()
        api.close()


def p99(values: list[float]) -> float:
    """The 99th percentile (the only value when there is one)."""
    return statistics.quantiles(values, n=100, method="inclusive")[98] if len(values) > 1 else values[0]


if __name__ == "__main__":
    main()
