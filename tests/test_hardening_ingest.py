"""Knowledge files as untrusted input: symlinks, YAML bombs, names that fool a terminal."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from bot.cli import main
from bot.store import KnowledgeStore, generation, is_live
from ingest.pipeline import run_ingest
from ingest.sources import (
    ALIAS_BUDGET,
    BadFile,
    parse,
)
from tests.conftest import CHECKLIST, REPO, FakeEmbedder, make_runtime, write_kb

STANDARD = ["checklists/launch.yaml", "guidance/hallucination.md", "guidance/privacy.md"]


def ingest(root: Path, settings, store, embedder=None, **kw):
    return run_ingest(
        root, data_dir=settings.data_dir, store=store, embedder=embedder or FakeEmbedder(), progress=False, **kw
    )


def served(store: KnowledgeStore) -> dict[str, list[tuple[str, dict]]]:
    """source -> (text, metadata) of every record readers see."""
    col = store.current()
    got = col.get(include=["documents", "metadatas"])
    out: dict[str, list[tuple[str, dict]]] = {}
    for text, meta in zip(got["documents"], got["metadatas"], strict=True):
        if is_live(meta, generation(col)):
            out.setdefault(meta["source"], []).append((text, meta))
    return out


def guide(title: str = "Doc", body: str = "Some guidance text.", **fields: str) -> str:
    front = {"title": title, "owner": "AI CoE", "last_reviewed": "2026-11-01", **fields}
    lines = "".join(f"{k}: {v}\n" for k, v in front.items())
    return f"---\n{lines}---\n\n{body}\n"


# -- Row 1: nothing outside the knowledge folder is read ----------------------------------------------


def test_symlinks_to_files_and_folders_outside_the_knowledge_folder_are_reported_and_never_read(
    tmp_path, settings, store
):
    outside = tmp_path / "outside"
    (outside / "notes").mkdir(parents=True)
    (outside / "secret.txt").write_text("TOPSECRET root:x:0:0 outside the knowledge folder\n")
    (outside / "notes/secret.md").write_text(guide(title="Secret", body="TOPSECRET guidance from elsewhere."))
    root = write_kb(tmp_path / "kb")
    (root / "guidance/passwd.txt").symlink_to("/etc/passwd")  # the issue's own example
    (root / "guidance/secret.txt").symlink_to(outside / "secret.txt")
    (root / "guidance/notes").symlink_to(outside / "notes")  # a folder outside
    (root / "guidance/escape.md").symlink_to("../../outside/secret.txt")  # relative, still outside
    embedder = FakeEmbedder()

    summary = ingest(root, settings, store, embedder)

    reasons = {s.source: s.reason for s in summary.skipped}
    assert set(reasons) == {"guidance/passwd.txt", "guidance/secret.txt", "guidance/notes", "guidance/escape.md"}
    assert all("outside the knowledge folder" in r and "copy" in r for r in reasons.values())
    assert summary.documents_added == STANDARD
    stored = " ".join(text for records in served(store).values() for text, _ in records)
    embedded = " ".join(text for call in embedder.calls for text in call)
    for secret in ("TOPSECRET", "root:x:0:0"):
        assert secret not in stored and secret not in embedded


def test_a_file_that_becomes_a_symlink_outside_stops_being_served(tmp_path, settings, store):
    root = write_kb(tmp_path / "kb")
    ingest(root, settings, store)
    assert "guidance/privacy.md" in served(store)
    secret = tmp_path / "secret.md"
    secret.write_text(guide(title="Privacy", body="TOPSECRET replaced by a link."))
    (root / "guidance/privacy.md").unlink()
    (root / "guidance/privacy.md").symlink_to(secret)

    summary = ingest(root, settings, store)

    [skipped] = summary.skipped
    assert skipped.source == "guidance/privacy.md" and "outside the knowledge folder" in skipped.reason
    assert summary.documents_removed == ["guidance/privacy.md"]  # not "kept": its old text might be anything now
    assert "guidance/privacy.md" not in served(store)


def test_symlinks_inside_the_folder_are_followed_but_nothing_is_indexed_twice(tmp_path, settings, store):
    root = write_kb(tmp_path / "kb")
    (root / ".drafts").mkdir()
    (root / ".drafts/draft.md").write_text(guide(title="Draft", body="A draft linked in on purpose."))
    (root / "guidance/drafts").symlink_to("../.drafts")  # a folder that is otherwise not indexed
    (root / "guidance/privacy-again.md").symlink_to("privacy.md")
    (root / "again").symlink_to("guidance")
    (root / "guidance/loop").symlink_to("..")

    summary = ingest(root, settings, store)

    assert summary.documents_added == sorted([*STANDARD, "guidance/drafts/draft.md"])
    reasons = {s.source: s.reason for s in summary.skipped}
    assert set(reasons) == {"guidance/privacy-again.md", "again", "guidance/loop"}
    assert "guidance/privacy.md, which is indexed already" in reasons["guidance/privacy-again.md"]
    assert "guidance, which is indexed already" in reasons["again"]
    assert "the knowledge folder itself" in reasons["guidance/loop"]
    texts = [text for records in served(store).values() for text, _ in records]
    assert sum("data protection officer" in t for t in texts) == 1


def test_broken_and_looping_symlinks_are_reported(tmp_path, settings, store):
    root = write_kb(tmp_path / "kb")
    (root / "guidance/gone.md").symlink_to("nowhere.md")
    (root / "guidance/a.md").symlink_to("b.md")
    (root / "guidance/b.md").symlink_to("a.md")
    summary = ingest(root, settings, store)
    reasons = {s.source: s.reason for s in summary.skipped}
    assert set(reasons) == {"guidance/gone.md", "guidance/a.md", "guidance/b.md"}
    assert all("does not exist" in r for r in reasons.values())
    assert summary.documents_added == STANDARD


# -- Row 2: YAML bombs -------------------------------------------------------------------------------

LAUGHS = """a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
"""
BOMBS = {
    "guidance/laughs.md": f"---\n{LAUGHS}title: *i\nowner: o\nlast_reviewed: 2026-01-01\n---\n\nBody.\n",
    "checklists/laughs.yaml": (
        f"id: laughs\n{LAUGHS}title: Laughs\nowner: o\nlast_reviewed: 2026-01-01\nitems:\n  - text: *i\n"
    ),
}


@pytest.mark.parametrize("source", sorted(BOMBS))
def test_a_billion_laughs_file_is_refused_within_a_memory_limit(tmp_path, source):
    """The parse runs in a process limited to 1 GB of address space: expanding the aliases would exceed it."""
    path = tmp_path / Path(source).name
    path.write_text(BOMBS[source])
    assert path.stat().st_size < 600  # a few hundred bytes, as in the issue
    script = textwrap.dedent(
        """
        import resource, sys
        resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))
        from pathlib import Path
        from ingest.sources import BadFile, parse
        try:
            parse(sys.argv[1], Path(sys.argv[2]).read_bytes())
        except BadFile as e:
            print("BadFile:", e)
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script, source, str(path)], cwd=REPO, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-2000:]  # a MemoryError would end it with a traceback
    assert done.stdout.startswith("BadFile: YAML anchors and aliases")
    assert f"over the limit of {ALIAS_BUDGET:,}" in done.stdout and "write the repeated text out" in done.stdout


def test_bombs_are_skipped_and_everything_else_is_indexed(tmp_path, settings, store):
    root = write_kb(tmp_path / "kb", BOMBS)
    summary = ingest(root, settings, store)
    assert {s.source for s in summary.skipped} == set(BOMBS)
    assert all("anchors and aliases" in s.reason for s in summary.skipped)
    assert summary.documents_added == STANDARD


def test_a_few_aliases_still_work(tmp_path):
    checklist = CHECKLIST.replace("why: Someone must answer for the system.", "why: &why Someone must answer.")
    checklist += "  - id: again\n    text: Name a deputy.\n    why: *why\n"
    doc = parse("checklists/launch.yaml", checklist.encode())
    assert [i.why for i in doc.items] == ["Someone must answer.", "", "Someone must answer."]


@pytest.mark.parametrize(
    ("front", "reason"),
    [
        ("title: &t [a, *t]", "refers to the value it is part of"),
        ("title: " + "[" * 200 + "x" + "]" * 200, "nested more than"),
        ("title: &big " + "x" * 6000 + "\nsubtitle: [*big, *big]", "anchors and aliases"),
        ("title: T\nlast_reviewed: 2026-02-30", "real dates"),
        ("title: T\nlast_reviewed: 0000-01-01", "real dates"),
        ("title: T\nlast_reviewed: !!timestamp soon", "real dates"),
        ("title: !!int " + "9" * 5000, "YAML cannot build"),
        ("title: T\ncontrol: \x1b[2J", "not valid YAML"),
    ],
    ids=["self-reference", "deep", "big-alias", "feb-30", "year-0", "bad-timestamp", "huge-int", "escape-char"],
)
def test_yaml_that_used_to_crash_or_blow_up_is_a_bad_file(front, reason):
    text = f"---\n{front}\nowner: o\n" + ("" if "last_reviewed" in front else "last_reviewed: 2026-01-01\n")
    with pytest.raises(BadFile, match=reason):
        parse("guidance/x.md", f"{text}---\n\nBody.\n".encode())


# -- Cosmetic: names and fields that would fool a terminal -------------------------------------------


def test_file_names_with_line_breaks_or_bidi_overrides_are_refused_and_shown_escaped(tmp_path, settings, capsys):
    root = write_kb(
        tmp_path / "kb",
        {
            "guidance/invoice\u202etxt.md": guide(title="Override"),
            "guidance/two\nlines.md": guide(title="Newline"),
        },
    )
    assert main(["ingest", str(root)], runtime=make_runtime(settings, FakeEmbedder())) == 0
    out = capsys.readouterr().out
    assert "\u202e" not in out and "two\nlines" not in out
    assert "SKIPPED guidance/invoice\\u202etxt.md: the name has a line break or an invisible control" in out
    assert "SKIPPED guidance/two\\nlines.md: the name has" in out
