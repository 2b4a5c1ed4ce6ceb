"""The questions a section answers (`questions:` in front matter): parsed, linted, indexed incrementally, retrieved."""

import datetime as dt

import pytest

from bot.answering.retrieval import Retriever
from ingest.lint import ERROR, WARNING, lint
from ingest.pipeline import run_ingest
from kb.files import BadFile
from kb.sources import MAX_SECTION_QUESTIONS, WHOLE, parse
from kb.store import QUESTION, generation, is_live
from tests.conftest import REPO, FakeEmbedder

TODAY = dt.date(2026, 11, 29)

RUNNING = """---
title: Running models
owner: AI CoE
last_reviewed: 2026-11-01
questions:
  Ownership:
    - Who do we call when the AI system breaks?
    - Does every model need a named person behind it?
{extra}---

# Running models

## Ownership

Every model in use has a named owner within the team that runs it. The owner is accountable for how the
model behaves, for its updates and for responding to incidents.

## Release notes

Publish a short note with every model update: what changed, why, and who to contact when the system
breaks after the update.

## Monitoring

Watch accuracy and latency dashboards after launch, and page the on-call engineer when alerts fire.
"""


def folder(tmp_path, files: dict[str, str]):
    root = tmp_path / "kb"
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


def ingest(root, settings, store, embedder):
    return run_ingest(root, data_dir=settings.data_dir, store=store, embedder=embedder, progress=False)


def live(store) -> list[tuple[str, dict]]:
    col = store.current()
    got = col.get(include=["documents", "metadatas"])
    at = generation(col)
    return [(d, m) for d, m in zip(got["documents"], got["metadatas"], strict=True) if is_live(m, at)]


# -- parsing ------------------------------------------------------------------------------------------


def test_questions_are_read_per_section_cleaned_and_capped():
    many = "".join(f"    - Question number {n}?\n" for n in range(MAX_SECTION_QUESTIONS + 2))
    text = RUNNING.format(
        extra="  Release notes:\n    - What goes in a release note?\n    - ''\n    - what goes in a release note\n"
        f"  Monitoring:\n{many}"
    )
    doc = parse("guidance/run.md", text.encode())
    questions = dict(doc.questions)
    assert questions["Ownership"] == (
        "Who do we call when the AI system breaks?",
        "Does every model need a named person behind it?",
    )
    assert questions["Release notes"] == ("What goes in a release note?",)  # the empty and the repeated one dropped
    assert len(questions["Monitoring"]) == MAX_SECTION_QUESTIONS
    warnings = "\n".join(doc.warnings)
    assert "question 2 is empty" in warnings and "is there twice" in warnings
    assert f"over the limit of {MAX_SECTION_QUESTIONS}" in warnings


@pytest.mark.parametrize(
    ("front", "fix"),
    [
        ("questions: [Who owns it]", "must map a section heading to the questions it answers"),
        ("questions:\n  Ownership: {a: b}", "must be a list"),
        ("questions:\n  Ownership:\n    - [nested, list]", "question 1 is not text"),
    ],
)
def test_a_malformed_questions_field_is_refused_saying_how_to_write_it(front, fix):
    text = f"---\ntitle: T\nowner: O\nlast_reviewed: 2026-11-01\n{front}\n---\n\n## Ownership\n\nText.\n"
    with pytest.raises(BadFile, match=fix):
        parse("guidance/t.md", text.encode())


def test_a_checklist_takes_a_list_of_questions_about_it_as_a_whole():
    text = (
        "id: launch\ntitle: Launch checklist\nowner: O\nlast_reviewed: 2026-11-01\n"
        "questions:\n  - What must be ready before we go live?\nitems:\n  - text: Name an owner.\n"
    )
    assert parse("checklists/launch.yaml", text.encode()).questions == (
        (WHOLE, ("What must be ready before we go live?",)),
    )
    with pytest.raises(BadFile, match="must be a list of the questions it answers"):
        parse("checklists/launch.yaml", text.replace("questions:\n  -", "questions:\n  x:").encode())


# -- lint ---------------------------------------------------------------------------------------------


def test_lint_names_a_section_that_does_not_exist_an_empty_and_a_repeated_question(tmp_path):
    extra = (
        "  Ownershp:\n    - Who is in charge?\n  Release notes:\n    - ''\n    - Who writes it?\n    - who writes it\n"
    )
    root = folder(tmp_path, {"guidance/run.md": RUNNING.format(extra=extra)})
    findings = [(f.severity, f.message) for f in lint(root, today=TODAY) if "question" in f.message]
    errors = [m for s, m in findings if s == ERROR]
    assert len(errors) == 1 and "no section 'Ownershp'" in errors[0] and "Ownership" in errors[0]
    warnings = [m for s, m in findings if s == WARNING]
    assert any("question 1 is empty" in m for m in warnings)
    assert any("is there twice" in m for m in warnings)


def test_the_shipped_knowledge_base_has_questions_for_every_section_and_lints_clean():
    findings = lint(REPO / "knowledge", today=TODAY)
    assert not [f for f in findings if "question" in f.message]
    from ingest.chunking import section_names

    for path in sorted((REPO / "knowledge/guidance").glob("*.md")):
        doc = parse(f"guidance/{path.name}", path.read_bytes())
        asked = dict(doc.questions)
        for section in section_names(doc):
            assert 2 <= len(asked.get(section, ())) <= 5, (path.name, section)


# -- ingest -------------------------------------------------------------------------------------------


def test_questions_are_indexed_as_records_of_their_section_and_a_changed_one_alone_is_reembedded(
    tmp_path, settings, store
):
    root = folder(tmp_path, {"guidance/run.md": RUNNING.format(extra="")})
    first = ingest(root, settings, store, FakeEmbedder())
    questions = sorted((d, m["section"]) for d, m in live(store) if m["kind"] == QUESTION)
    assert questions == [
        ("Does every model need a named person behind it?", "Ownership"),
        ("Who do we call when the AI system breaks?", "Ownership"),
    ]
    assert first.chunks_total == 5  # three passages, two questions
    assert store.info().chunks == 3  # the index's passages: questions are not passages
    bm25 = store.lexical(store.current(), generation(store.current()))
    assert len(bm25.ids) == 3  # nor are they searched by keyword

    path = root / "guidance/run.md"
    path.write_text(path.read_text().replace("named person behind it", "named owner"))
    embedder = FakeEmbedder()
    second = ingest(root, settings, store, embedder)
    assert embedder.calls == [["Does every model need a named owner?"]]  # not the passages, not the other question
    assert (second.chunks_updated, second.chunks_added, second.chunks_removed) == (1, 0, 0)
    assert "Does every model need a named owner?" in [d for d, m in live(store) if m["kind"] == QUESTION]

    path.write_text(path.read_text().replace("  Ownership:\n", "  Ownershp:\n"))  # a typo: the questions leave
    third = ingest(root, settings, store, FakeEmbedder())
    assert [m for _, m in live(store) if m["kind"] == QUESTION] == []
    assert any("no section 'Ownershp'" in w.message for w in third.warnings)


# -- retrieval ----------------------------------------------------------------------------------------


def test_a_section_is_found_through_its_question_when_the_words_differ_from_its_text(
    tmp_path, settings, store, real_embedder
):
    query = "the AI system broke, who do we contact?"  # "contact" and "broke" are in Release notes, not Ownership
    root = folder(tmp_path, {"guidance/run.md": RUNNING.format(extra="")})
    ingest(root, settings, store, real_embedder)
    # Dense search, where the questions act (fusion with BM25 then weighs the keywords as before).
    retriever = Retriever(store=store, embedder=real_embedder, mode="dense")
    got = retriever.retrieve(query)
    assert got.passages[0].section == "Ownership"
    assert got.passages[0].kind == "guidance" and "named owner" in got.passages[0].text  # the passage, cited
    # Without the question the words win: the release notes come first.
    unasked = Retriever(store=store, embedder=real_embedder, mode="dense", question_floor=2.0)
    assert unasked.retrieve(query).passages[0].section == "Release notes"
    # The gate reads the passages' own similarity, which the questions do not raise.
    assert got.dense_best == unasked.retrieve(query).dense_best


def test_a_loose_resemblance_to_a_question_changes_nothing(tmp_path, settings, store, real_embedder):
    root = folder(tmp_path, {"guidance/run.md": RUNNING.format(extra="")})
    ingest(root, settings, store, real_embedder)
    query = "which dashboards show latency after launch?"
    asked = Retriever(store=store, embedder=real_embedder).retrieve(query)
    unasked = Retriever(store=store, embedder=real_embedder, question_floor=2.0).retrieve(query)
    assert [p.id for p in asked.passages] == [p.id for p in unasked.passages]
    assert asked.passages[0].section == "Monitoring"
