"""Which package may import which: the serving bot never loads the ingest pipeline."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import REPO


def test_a_replica_that_only_serves_never_loads_the_ingest_pipeline():
    modules = "bot.runtime, bot.chat, bot.reindex, bot.server, bot.cli, bot.retrieval, bot.store, bot.teams.cards"
    code = f"import sys, {modules}; print(sorted(m for m in sys.modules if m.startswith('ingest.pipeline')))"
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_the_summary_types_are_the_same_objects_on_both_sides():
    from bot.ingest_summary import IngestSummary
    from ingest.pipeline import IngestSummary as FromPipeline

    assert FromPipeline is IngestSummary
