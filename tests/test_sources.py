from pathlib import Path

import pytest

from kb.files import BadFile, discover
from kb.sources import parse
from tests.conftest import CHECKLIST, GUIDE, REPO


def test_guidance_front_matter_is_read():
    doc = parse("guidance/x.md", GUIDE.format(title="Risks", slug="risks", body="Text.").encode())
    assert (doc.kind, doc.title, doc.owner, doc.last_reviewed) == (
        "guidance",
        "Risks",
        "AI Centre of Excellence",
        "2026-11-01",
    )
    assert doc.url == "https://intranet.example.com/risks"
    assert doc.tags == ("test",)
    assert "## Background" in doc.body and "---" not in doc.body


def test_checklist_items_keep_ids_and_reasons():
    doc = parse("checklists/launch.yaml", CHECKLIST.encode())
    assert doc.kind == "checklist" and doc.checklist_id == "launch"
    assert [i.id for i in doc.items] == ["owner", "review"]
    assert doc.items[0].why == "Someone must answer for the system."
    assert doc.items[1].why == ""


def test_plain_text_without_front_matter_takes_its_title_from_the_name():
    doc = parse("guidance/vendor-notes.txt", b"Ask vendors where data is stored.\n")
    assert (doc.kind, doc.title) == ("text", "Vendor notes")


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("a.md", b"", "empty"),
        ("a.md", b"   \n\n", "empty"),
        ("a.md", b"\x00\x01\x02PNG\x00" * 50, "binary"),
        ("a.md", "---\ntitle: Caf\u00e9\n---\n".encode("latin-1") + b"x", "UTF-8"),
        ("a.md", b"# No front matter\n\nText.", "missing front matter"),
        ("a.md", b"---\ntitle: [unclosed\nowner: x\n---\nBody", "not valid YAML"),
        ("a.md", b"---\ntitle: T\nowner: O\nlast_reviewed: 2026-01-01\nBody never closed", "not closed"),
        ("a.md", b"---\ntitle: T\nlast_reviewed: 2026-01-01\n---\nBody", "missing owner"),
        ("a.md", b"---\ntitle: T\nowner: O\nlast_reviewed: soon\n---\nBody", "not a date"),
        ("a.md", b"---\ntitle: T\nowner: O\nlast_reviewed: 2026-01-01\n---\n\n", "no text"),
        ("a.md", b"---\n- a list\n---\nBody", "key: value"),
        ("c.yaml", b"id: x\ntitle: [oops", "not valid YAML"),
        ("c.yaml", b"just a string", "YAML mapping"),
        ("c.yaml", b"title: T\nowner: O\nlast_reviewed: 2026-01-01\nitems: [a]", "no id"),
        ("c.yaml", b"id: c\ntitle: T\nowner: O\nlast_reviewed: 2026-01-01\nitems: []", "no items"),
        (
            "c.yaml",
            b"id: c\ntitle: T\nowner: O\nlast_reviewed: 2026-01-01\nitems:\n - id: a\n   text: x\n"
            b" - id: a\n   text: y\n",
            "used twice",
        ),
    ],
)
def test_bad_files_are_refused_with_a_reason(name, data, reason):
    with pytest.raises(BadFile, match=reason):
        parse(name, data)


def test_discover_skips_readme_eval_and_hidden_files_and_reports_unsupported(tmp_path: Path):
    for rel in ["README.md", "eval/questions.jsonl", ".git/x.md", "guidance/a.md", "guidance/b.pptx"]:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("x")
    found, unsupported = discover(tmp_path)
    assert [p.relative_to(tmp_path).as_posix() for p in found] == ["guidance/a.md"]
    assert unsupported[0][0] == "guidance/b.pptx" and ".md" in unsupported[0][1] and ".docx" in unsupported[0][1]


def test_every_starter_knowledge_file_parses():
    found, unsupported = discover(REPO / "knowledge")
    assert unsupported == []
    docs = [parse(p.relative_to(REPO / "knowledge").as_posix(), p.read_bytes()) for p in found]
    kinds = {d.kind for d in docs}
    assert kinds == {"guidance", "checklist"}
    assert {d.checklist_id for d in docs if d.kind == "checklist"} >= {"pre-deployment", "governance-practices"}
    assert len([d for d in docs if d.kind == "guidance"]) >= 8
