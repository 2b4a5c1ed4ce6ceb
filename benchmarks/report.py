"""Insight report build time for 100,000 logged questions, with the shipped embedding model.

    .venv/bin/python benchmarks/report.py [--questions 100000] [--declined 0.2] [--fake-embedder]

Seeds a temporary audit log by bulk insert (30 days, 20 % declined, a vote on one answer in ten),
then times `adoptbot.cli.report_page` (read the log, group the declined questions, draw, render) and
prints the build time, the page size and how many distinct declined questions were grouped.
Prints figures; nothing is asserted.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import sys
import tempfile
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from adoptbot.cli import report_page  # noqa: E402
from adoptbot.runtime import Runtime  # noqa: E402
from bot.state.feedback import FeedbackStore  # noqa: E402
from common.settings import Settings  # noqa: E402

DOCS = [(f"guidance/topic-{i:02d}.md", f"Topic {i:02d}", f"202{4 + i % 3}-0{1 + i % 9}-15") for i in range(40)]
SUBJECTS = ["chatgpt", "copilot", "gemini", "an internal model", "a coding assistant", "an image generator"]
TASKS = [
    "draft legal contracts", "write performance reviews", "summarise board minutes", "translate patient letters",
    "screen job applicants", "answer customer complaints", "write marketing copy", "review source code",
    "price insurance policies", "grade exams", "plan the GPU budget", "train on our CRM data",
]  # fmt: skip
FORMS = ["can we use {s} to {t}", "is it allowed to {t} with {s}", "how do I {t} using {s}", "{s} for {t}: ok?"]
BACKENDS = [("template", 40.0), ("llm", 2500.0), ("openai", 900.0)]


def seed(path: Path, questions: int, declined_share: float, *, start: dt.datetime) -> None:
    """Bulk-insert audit rows (the store's own schema; redaction skipped: the text is synthetic)."""
    FeedbackStore(path, user_key=b"k" * 32, retention_days=3650).close()
    import sqlite3

    rng = random.Random(7)
    db = sqlite3.connect(path)
    answers, votes = [], []
    for i in range(questions):
        created = (start + dt.timedelta(seconds=i * 30 * 86400 // questions)).isoformat(timespec="seconds")
        answer_id = uuid.UUID(int=rng.getrandbits(128)).hex
        question = rng.choice(FORMS).format(s=rng.choice(SUBJECTS), t=rng.choice(TASKS)) + f" (case {i % 997})"
        backend, ms = rng.choice(BACKENDS)
        if rng.random() < declined_share:
            status, backend, sources = "no_answer", "none", []
        else:
            cited = rng.sample(DOCS, 2)
            sources = [
                {"n": n, "title": t, "section": "S", "source": s, "url": "", "last_reviewed": r, "score": 0.8}
                for n, (s, t, r) in enumerate(cited, 1)
            ]
            status = "answered"
            if i % 10 == 0:
                votes.append((answer_id, f"u{i}", rng.choice(["helpful", "not_helpful"]), created))
        timings = json.dumps({"total": ms * rng.uniform(0.5, 2.0)})
        answers.append(
            (answer_id, "slack", question, "text", status, backend, json.dumps(sources), created, "dm", "", timings)
        )
    with db:
        db.executemany(
            "INSERT INTO answers (id, platform, question, answer, status, backend, sources, created, channel_kind, "
            "user, timings) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            answers,
        )
        db.executemany("INSERT INTO votes (answer_id, user, vote, time) VALUES (?, ?, ?, ?)", votes)
    db.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=int, default=100_000)
    parser.add_argument("--declined", type=float, default=0.2, help="share of declined questions")
    parser.add_argument("--fake-embedder", action="store_true", help="bag-of-words vectors instead of the model")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        data.mkdir()
        now = dt.datetime.now(dt.UTC)
        started = time.perf_counter()
        seed(data / "feedback.sqlite3", args.questions, args.declined, start=now - dt.timedelta(days=30))
        print(f"seeded {args.questions:,} questions in {time.perf_counter() - started:.1f} s")
        embedder = None
        if args.fake_embedder:
            from tests.conftest import FakeEmbedder

            embedder = FakeEmbedder()
        runtime = Runtime(Settings(data_dir=data, retention_days=3650), embedder=embedder)
        runtime.embedder.embed(["warm up"])  # loading the model is start-up, not report time
        started = time.perf_counter()
        page = report_page(runtime, None)
        elapsed = time.perf_counter() - started
        distinct = page.split(" distinct declined questions")[0].rsplit(">", 1)[-1]
        print(f"embedder: {runtime.embedder.name}")
        print(f"report built in {elapsed:.2f} s, {len(page.encode()):,} bytes; {distinct} distinct declined questions")
        runtime.feedback.close()


if __name__ == "__main__":
    main()
