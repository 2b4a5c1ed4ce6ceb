"""The tools core (bot/tools/core.py) every platform calls, over a tiny knowledge folder and a stub retriever.

Slack, Teams and the terminal only translate in and render out; what the checklist command says, how a
stale box or a removed form choice is handled and what an unfinished assessment asks for is decided here.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest

from bot.tools.assessment import Assessment, Assessor, Incomplete
from bot.tools.checklists import Board, ChecklistError, SqliteTickStore, TickStore, load_checklists
from bot.tools.core import (
    CHECKLISTS_UNAVAILABLE,
    ChecklistReply,
    Tools,
    assessment_markdown,
    assessment_plain,
)
from bot.types import Passage
from common.errors import DatabaseUnavailable
from tests.conftest import FakeEmbedder

CHECKLIST = """id: launch
title: Launch checklist
owner: Tests
last_reviewed: 2026-10-15
items:
{items}
"""
ITEMS = [("owner", "Name an owner."), ("review", "Review risky outputs."), ("monitoring", "Monitor after launch.")]
TABLE = """title: Tiny assessment
owner: Tests
last_reviewed: 2026-11-29
steps:
  task: Define the task
questions:
  - id: content
    step: task
    ask: What must it produce?
    required: true
    cite: {query: "what it produces", source: guidance/stub.md}
    choices:
      - id: text
        label: Text
        finding: The output is text.
        keywords: [text, summaries]
      - id: images
        label: Images
        finding: The output is images.
        keywords: [photos, images]
  - id: data
    step: task
    ask: Is the data clean?
    default: unknown
    choices:
      - {id: clean, label: Clean, keywords: [clean data]}
      - {id: unknown, label: Not sure}
recommendation:
  - when: {content: text}
    recommend: llm
    because: Text is language work.
  - when: {content: images}
    recommend: generative
    because: Images need a generative model.
family:
  - when: {content: images}
    family: diffusion
    because: Diffusion makes images.
risks:
  - when: {data: unknown}
    items: [launch/owner]
    because: Nobody knows the data.
"""
STUB = Passage(id="p1", text="Stub guidance.", source="guidance/stub.md", title="Stub", section="Intro", score=0.9)


def how(typed: str) -> str:
    return f"`{typed}`"


def write_checklist(root: Path, items: list[tuple[str, str]]) -> None:
    lines = "\n".join(f"  - id: {i}\n    text: {t}" for i, t in items)
    (root / "checklists").mkdir(parents=True, exist_ok=True)
    (root / "checklists/launch.yaml").write_text(CHECKLIST.format(items=lines), encoding="utf-8")


class StubRetriever:
    """Finds the one stub passage for every query."""

    def __init__(self) -> None:
        self.embedder = FakeEmbedder()

    def retrieve(self, query: str, *, k: int = 5, scope: object = None) -> SimpleNamespace:
        return SimpleNamespace(passages=[STUB])


@pytest.fixture
def kb(tmp_path: Path) -> Path:
    root = tmp_path / "kb"
    write_checklist(root, ITEMS)
    (root / "assessment.yaml").write_text(TABLE, encoding="utf-8")
    return root


def tools_for(kb: Path, store: TickStore) -> Tools:
    board = Board(checklists=lambda: load_checklists(kb)[0], store=store)
    return Tools(
        assessor=lambda: Assessor.for_folder(kb, retriever=StubRetriever()),  # type: ignore[arg-type]
        board=lambda: board,
    )


@pytest.fixture
def tools(kb: Path, tmp_path: Path) -> Iterator[Tools]:
    store = SqliteTickStore(tmp_path / "data" / "checklists.sqlite3")
    yield tools_for(kb, store)
    store.close()


def checklist(tools: Tools, *words: str, **kw: list[str]) -> ChecklistReply:
    return tools.checklist(list(words), channel="C1", place="", user="alice", how=how, **kw)


# ------------------------------------------------------------------ checklists


def test_listing_and_showing_checklists(tools):
    listed = checklist(tools)
    assert listed.text == (
        "- **launch**: Launch checklist (3 items)\nWork through one for a project: `checklist NAME PROJECT`."
    )
    assert [c.id for c in listed.listed] == ["launch"] and listed.error is None
    shown = checklist(tools, "launch")
    assert shown.text == (
        "**Launch checklist**\n1. Name an owner.\n2. Review risky outputs.\n3. Monitor after launch.\n\n"
        "Work through it: `checklist launch PROJECT`."
    )
    assert shown.shown is not None and shown.shown.id == "launch"


def test_posting_a_project_and_ticking_it_up_front(tools):
    posted = checklist(tools, "launch", "web", "shop")
    assert posted.progress is not None and posted.progress.project.project == "web shop"
    assert (posted.progress.done, posted.progress.total, posted.text) == (0, 3, "")
    ticked = checklist(tools, "launch", "web shop", tick=["1", "monitoring"], untick=[])
    assert ticked.progress is not None and [s.done for s in ticked.progress.items] == [True, False, True]
    assert ticked.progress.items[0].by == "alice"
    unticked = checklist(tools, "launch", "web shop", tick=[], untick=["owner"])
    assert unticked.progress is not None and unticked.progress.done == 1


def test_a_tick_naming_no_item_posts_and_changes_nothing(tools):
    reply = checklist(tools, "launch", "web shop", tick=["1", "12"], untick=[])
    assert isinstance(reply.error, ChecklistError) and "launch has no item '12'" in reply.text
    assert reply.progress is None
    assert checklist(tools, "status").projects == ()


def test_status_and_export(tools):
    empty = checklist(tools, "status")
    assert empty.text == "No projects here yet: start one with `checklist NAME PROJECT`." and empty.projects == ()
    checklist(tools, "launch", "web shop", tick=["review"], untick=[])
    status = checklist(tools, "STATUS")
    assert status.text == "- **web shop**: Launch checklist, 1 of 3 done"
    assert [p.project.project for p in status.projects] == ["web shop"]
    exported = checklist(tools, "export", "web", "shop")
    assert exported.export.startswith("# Go-live review: web shop\n")
    assert "- [x] Review risky outputs. (ticked by alice, " in exported.export
    assert exported.text == f"```\n{exported.export}```"
    assert checklist(tools, "export").text == "Name the project: `checklist export PROJECT`."


def test_an_unknown_checklist_or_project_says_what_to_use(tools):
    reply = checklist(tools, "lunch")
    assert reply.text == "'lunch' is not a checklist: use one of launch" and isinstance(reply.error, ChecklistError)
    reply = checklist(tools, "export", "nowhere")
    assert "No project 'nowhere' in this channel" in reply.text


def test_a_database_that_is_down_is_an_apology_carrying_its_error(kb):
    class Down(SqliteTickStore):
        def __init__(self) -> None:
            pass

        def projects(self, channel: str) -> list:
            raise DatabaseUnavailable("the test database", "connection refused")

        def close(self) -> None:
            pass

    reply = checklist(tools_for(kb, Down()), "status")
    assert reply.text == CHECKLISTS_UNAVAILABLE and isinstance(reply.error, DatabaseUnavailable)


def test_a_stale_tick_changes_nothing_and_says_how_to_reopen(tools, kb):
    checklist(tools, "launch", "web shop")

    def tick(checklist_id: str, shown: list[str], selected: list[str]):
        return tools.tick(
            channel="C1", place="", project="web shop", checklist=checklist_id, shown_done=shown,
            selected=selected, user="bob", how=how,
        )  # fmt: skip

    assert tick("launch", [], ["owner"]).done == 1
    assert tick("launch", ["owner"], ["owner"]).done == 1  # nothing changed: the state as it stands
    write_checklist(kb, [("owner", "Name an owner."), ("review", "Review risky outputs.")])  # monitoring removed
    with pytest.raises(ChecklistError, match=r"out of date .* `checklist launch web shop`"):
        tick("launch", ["owner"], ["owner", "monitoring"])
    with pytest.raises(ChecklistError, match=r"no longer offered here .* `checklist`"):
        tick("retired", [], ["owner"])
    [progress] = checklist(tools, "status").projects
    assert [s.done for s in progress.items] == [True, False]  # the stale copies changed nothing


# ------------------------------------------------------------------ the assessment


def test_fill_keeps_a_removed_choice_open_and_never_reads_it_as_another(tools):
    session, stale = tools.fill("An assistant", {"content": "video", "data": "clean"})
    assert stale == ["content"] and "content" not in session.answers
    assert session.answers["data"].choice == "clean"
    assert tools.missing(session) == ["content"]
    session, stale = tools.fill("", {"content": "images"})
    assert stale == [] and session.answers["content"].choice == "images"


def test_an_incomplete_assessment_says_what_is_needed(tools):
    session = tools.start("Something with AI")
    said = tools.assess(session)
    assert said == (
        "Cannot tell yet: What must it produce? Say it in the description, or answer: text (Text); images (Images)."
    )
    result = tools.result(session)
    assert isinstance(result, Incomplete) and [q.id for q in result.questions] == ["content"]


def test_an_assessment_as_markdown_and_as_plain_lines(tools):
    result = tools.assess(tools.start("Product photos"))
    assert isinstance(result, Assessment) and [c.source for c in result.sources] == ["guidance/stub.md"]
    markdown = assessment_markdown(result)
    assert markdown.startswith("**Recommendation: a broader generative model (diffusion)**\n\n1. **Define the task**: ")
    assert "The output is images (from \"photos\")." in markdown
    assert "\n\n**Checklist items at risk**\n- Name an owner. [1] (because: Nobody knows the data. (" in markdown
    assert markdown.endswith("\n\n**Open questions**\n- Is the data clean? (assumed: Not sure)")
    plain = assessment_plain(result)
    assert plain.startswith("Recommendation: a broader generative model (family: diffusion)\n\n1. Define the task: ")
    assert "\n\nChecklist items at risk:\n" in plain and "\n\nOpen questions:\n" in plain and "**" not in plain
