"""A small knowledge base whose sections carry the questions editors wrote (`questions:`), for suggestions.

`suggesting` indexes it once per test module (with the real embedding model) in a Runtime that serves Slack
(signed with slack_harness.SECRET) and anonymous Teams. WRITTEN maps each question editors wrote to its
(source, section); UNKNOWABLE is one of them the assistant declines (a product the guidance never names), so
it must never be suggested.
"""

from __future__ import annotations

import pytest

from adoptbot.runtime import Runtime
from common.settings import Settings
from tests.conftest import write_kb
from tests.slack_harness import SECRET

DESCALE = "How often should the coffee machine be descaled?"
UNKNOWABLE = "Which toner does the Kyocera TASKalfa 3554ci printer take?"
DOCS = {
    "guidance/coffee.md": """---
title: Looking after the coffee machine
owner: Facilities team
last_reviewed: 2026-11-01
url: https://intranet.example.com/coffee
questions:
  Descaling:
    - How often should the coffee machine be descaled?
    - Why does the coffee taste bitter and chalky?
    - What removes limescale from the coffee machine?
  Cleaning the milk frother:
    - How do I clean the milk frother?
    - Why does the milk frother smell sour?
  Choosing coffee beans:
    - Which coffee beans should we buy for the machine?
    - Do oily dark roast beans harm the grinder?
---

# Looking after the coffee machine

## Descaling

Descale the coffee machine every four weeks with the citric acid descaler kept under the sink. Limescale
from hard water makes the coffee taste bitter and chalky, and it slowly blocks the heater.

## Cleaning the milk frother

Rinse the milk frother with hot water after every use, and on Fridays take it apart and soak its parts.
Milk left in the frother turns sour within a day and smells.

## Choosing coffee beans

Buy medium roast whole coffee beans for the machine. Oily dark roast beans clog the grinder, so the
facilities team orders medium roast only.
""",
    "guidance/printers.md": """---
title: Using the office printers
owner: Facilities team
last_reviewed: 2026-11-01
url: https://intranet.example.com/printers
questions:
  Paper jams:
    - What do I do when the printer jams?
    - Why does the printer keep jamming paper?
  Toner cartridges:
    - How do I replace the printer toner cartridge?
    - Where are spare toner cartridges kept?
    - Which toner does the Kyocera TASKalfa 3554ci printer take?
  Scanning to email:
    - How do I scan a paper document to my email?
---

# Using the office printers

## Paper jams

When the printer jams, open the front door, pull the jammed paper out slowly in the direction it travels,
and close the door again. Damp or curled paper keeps jamming the printer, so keep paper in its wrapper.

## Toner cartridges

To replace a toner cartridge, open the top cover, lift the empty cartridge out and slide the new one in
until it clicks. Spare toner cartridges are kept in the supply cupboard next to the printer.

## Scanning to email

To scan a paper document to your email, place it on the glass, choose Scan to me on the printer's screen
and tap your badge; the scan arrives in your inbox as a PDF.
""",
}
WRITTEN = {
    "How often should the coffee machine be descaled?": ("guidance/coffee.md", "Descaling"),
    "Why does the coffee taste bitter and chalky?": ("guidance/coffee.md", "Descaling"),
    "What removes limescale from the coffee machine?": ("guidance/coffee.md", "Descaling"),
    "How do I clean the milk frother?": ("guidance/coffee.md", "Cleaning the milk frother"),
    "Why does the milk frother smell sour?": ("guidance/coffee.md", "Cleaning the milk frother"),
    "Which coffee beans should we buy for the machine?": ("guidance/coffee.md", "Choosing coffee beans"),
    "Do oily dark roast beans harm the grinder?": ("guidance/coffee.md", "Choosing coffee beans"),
    "What do I do when the printer jams?": ("guidance/printers.md", "Paper jams"),
    "Why does the printer keep jamming paper?": ("guidance/printers.md", "Paper jams"),
    "How do I replace the printer toner cartridge?": ("guidance/printers.md", "Toner cartridges"),
    "Where are spare toner cartridges kept?": ("guidance/printers.md", "Toner cartridges"),
    UNKNOWABLE: ("guidance/printers.md", "Toner cartridges"),
    "How do I scan a paper document to my email?": ("guidance/printers.md", "Scanning to email"),
}


def suggesting_runtime(tmp, embedder, docs: dict[str, str] | None = None) -> Runtime:
    """The knowledge base (DOCS, or `docs`) indexed in a Runtime under tmp that serves Slack and Teams."""
    settings = Settings(
        data_dir=tmp / "data",
        knowledge_dir=write_kb(tmp / "knowledge", docs or DOCS),
        backend="template",
        slack_bot_token="xoxb-test",
        slack_signing_secret=SECRET,
        teams_allow_anonymous=True,
        workers=2,
    )
    runtime = Runtime(settings, embedder=embedder)
    summary = runtime.ingest(progress=False)
    assert not summary.skipped, summary.skipped
    return runtime


@pytest.fixture(scope="module")
def suggesting(tmp_path_factory, real_embedder) -> Runtime:
    """DOCS indexed once per module with the real embedding model."""
    return suggesting_runtime(tmp_path_factory.mktemp("suggest"), real_embedder)
