"""Knowledge files as untrusted input: symlinks, YAML bombs, oversized fields, names that fool a terminal."""

from __future__ import annotations

import io
import json
import os
import re
import signal
import struct
import subprocess
import sys
import textwrap
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import docx
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adoptbot.cli import main
from common.errors import ConfigError
from common.settings import Settings
from common.text import is_invisible
from ingest.chunking import MAX_HEADING, MAX_SECTION, chunk_document
from ingest.pipeline import run_ingest
from kb.files import ALIAS_BUDGET, BadFile
from kb.limits import Limits
from kb.sources import MAX_ITEM_TEXT, MAX_OWNER, MAX_TAG, MAX_TAGS, MAX_TITLE, SourceDoc, parse
from kb.store import KnowledgeStore, generation, is_live
from tests.conftest import CHECKLIST, REPO, FakeEmbedder, make_runtime, write_kb
from tests.document_files import make_pdf

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


class Hung(Exception):
    """Raised in the test when work that should finish at once is still running."""


@contextmanager
def no_hang(seconds: float) -> Iterator[None]:
    """Turn a hang into a failure (not a speed check: the work guarded here takes milliseconds)."""

    def stop(signum, frame):
        raise Hung(f"still running after {seconds} s")

    previous = signal.signal(signal.SIGALRM, stop)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


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
        from kb.files import BadFile
        from kb.sources import parse
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


# -- Row 7: fields that would flood every citation ---------------------------------------------------


def test_a_huge_title_is_cut_reported_and_the_file_still_indexed(tmp_path, settings, store, capsys):
    title = "Very long title " * 100_000  # 1.6 MB
    root = write_kb(tmp_path / "kb", {"guidance/long.md": guide(title=title, body="Text about long titles.")})
    runtime = make_runtime(settings, FakeEmbedder())
    assert main(["ingest", str(root)], runtime=runtime) == 0
    out = capsys.readouterr().out
    assert "added: guidance/long.md" in out
    assert "WARNING guidance/long.md: title is 1,599,999 characters long, over the limit of 200" in out
    assert len(out) < 5_000
    [(text, meta)] = served(runtime.store)["guidance/long.md"]
    assert len(meta["title"]) <= MAX_TITLE and meta["title"].startswith("Very long title") and text


def test_an_index_from_before_the_caps_is_rebuilt_so_unchanged_files_get_them(tmp_path, settings, store):
    title = "Very long title " * 10_000
    root = write_kb(tmp_path / "kb", {"guidance/long.md": guide(title=title, body="Text about long titles.")})
    ingest(root, settings, store)
    old = store.current()  # now make it what the previous version wrote: the title in full, format 2
    got = old.get(include=["metadatas"])
    old.update(ids=got["ids"], metadatas=[{**m, "title": title.strip()} for m in got["metadatas"]])
    old.modify(metadata={**(old.metadata or {}), "adoptbot_format": 2})
    assert len(served(store)["guidance/long.md"][0][1]["title"]) > 100_000

    summary = ingest(root, settings, store)  # the file itself has not changed

    assert store.current().name != old.name and summary.chunks_total == 6
    assert len(served(store)["guidance/long.md"][0][1]["title"]) <= MAX_TITLE
    assert [w.source for w in summary.warnings] == ["guidance/long.md"]


def test_every_capped_field_is_cut_with_a_warning_naming_it():
    many_tags = "[" + ", ".join(f"t{i}" for i in range(30)) + ", " + "x" * 80 + "]"
    text = guide(title="T", owner="O" * 500, url="https://x.example/" + "a" * 3000, tags=many_tags)
    doc = parse("guidance/x.md", text.encode())
    assert len(doc.owner) == MAX_OWNER and doc.url == "" and len(doc.tags) == MAX_TAGS
    warnings = "\n".join(doc.warnings)
    assert "owner is 500 characters long, over the limit of 200" in warnings
    assert "url is 3,018 characters long, over the limit of 2,000: it was left out" in warnings
    assert f"a tag is 80 characters long, over the limit of {MAX_TAG}" in warnings
    assert "31 tags, over the limit of 20" in warnings


def test_checklist_items_and_ids_are_capped_with_warnings():
    checklist = CHECKLIST.replace("Name an accountable owner.", "owner " * 400).replace(
        "id: review", "id: " + "r" * 150
    )
    checklist = checklist.replace("Someone must answer for the system.", "because " * 200)
    doc = parse("checklists/launch.yaml", checklist.encode())
    assert len(doc.items[0].text) == MAX_ITEM_TEXT and len(doc.items[0].why) == MAX_ITEM_TEXT
    assert len(doc.items[1].id) == 100
    warnings = "\n".join(doc.warnings)
    assert "item 1 text is 2,399 characters long, over the limit of 1,000" in warnings
    assert "item 1 why is 1,599 characters long, over the limit of 1,000" in warnings
    assert "item 2 id is 150 characters long, over the limit of 100" in warnings


def test_long_headings_are_cut_in_citations_and_reported(tmp_path, settings, store):
    heading = "Heading " * 300
    body = f"# Doc\n\n## {heading}\n\nFirst.\n\n### {heading}\n\nSecond."
    root = write_kb(tmp_path / "kb", {"guidance/headings.md": guide(title="Doc", body=body)})
    summary = ingest(root, settings, store)
    sections = [m["section"] for _, m in served(store)["guidance/headings.md"]]
    assert len(sections) == 2 and all(len(s) <= MAX_SECTION for s in sections)
    assert sections[0].startswith("Heading Heading") and sections[0].endswith("…") and len(sections[0]) <= MAX_HEADING
    messages = [w.message for w in summary.warnings if w.source == "guidance/headings.md"]
    assert len(messages) == 2 and all("2,399 characters long, over the limit of 200" in m for m in messages)


def test_a_heading_line_of_many_spaces_does_not_hang_the_ingest():
    doc = parse("guidance/x.md", guide(body="## a" + " " * 100_000 + "b\n\nText.").encode())
    with no_hang(60):  # the old heading pattern backtracked for hours on this line
        [chunk] = chunk_document(doc, lambda s: len(s.split()), 256)
    assert chunk.section == "a b"


# -- Issue 21, row 9: what one file may unpack to --------------------------------------------------

DOCX_META = {"owner": "Legal", "last_reviewed": "2026-11-01"}
PARAGRAPH = b"<w:p><w:r><w:t>Prompt logs are kept for thirty days.</w:t></w:r></w:p>"


def docx_parts() -> dict[str, bytes]:
    """The parts of an empty Word document, as python-docx writes it."""
    out = io.BytesIO()
    docx.Document().save(out)
    with zipfile.ZipFile(out) as z:
        return {info.filename: z.read(info) for info in z.infolist()}


def docx_with_body(body: bytes, repeat: int = 1, *, extra: int = 0) -> bytes:
    """A .docx (written with zipfile) whose body is `body` repeated, streamed so no copy of it is held."""
    parts = docx_parts()
    head = parts["word/document.xml"].split(b"<w:body>")[0] + b"<w:body>"
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        for name, data in parts.items():
            if name != "word/document.xml":
                z.writestr(name, data)
        with z.open("word/document.xml", "w") as f:
            f.write(head)
            for _ in range(repeat):
                f.write(body)
            f.write(b"<w:sectPr/></w:body></w:document>")
        for n in range(extra):
            z.writestr(f"extra/item{n}.xml", b"<x/>")
    return out.getvalue()


def lying_docx(inflates_to_mb: int, declared: int) -> bytes:
    """A .docx written by hand whose index says word/document.xml is `declared` bytes; it inflates far more.

    Its data is one deflate block of a megabyte of spaces repeated (each flushed, so they chain), and the
    checksum is that of the declared first bytes, so a reader that trusts the index finds nothing wrong.
    """
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = packer.compress(b" " * (1 << 20)) + packer.flush(zlib.Z_FULL_FLUSH)
    parts = [(name, _deflated(data), len(data), zlib.crc32(data)) for name, data in docx_parts().items()]
    bomb = block * inflates_to_mb + packer.flush()
    parts = [p if p[0] != "word/document.xml" else (p[0], bomb, declared, zlib.crc32(b" " * declared)) for p in parts]
    out, index = bytearray(), bytearray()
    for name, data, size, crc in parts:
        offset = len(out)
        fields = struct.pack("<HHHHHIII", 20, 0, zipfile.ZIP_DEFLATED, 0, 33, crc, len(data), size)
        out += b"PK\x03\x04" + fields + struct.pack("<HH", len(name), 0) + name.encode() + data
        index += b"PK\x01\x02" + struct.pack("<H", 20) + fields
        index += struct.pack("<HHHHHII", len(name), 0, 0, 0, 0, 0, offset) + name.encode()
    end = struct.pack("<4s4H2IH", b"PK\x05\x06", 0, 0, len(parts), len(parts), len(index), len(out), 0)
    return bytes(out + index + end)


def _deflated(data: bytes) -> bytes:
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    return packer.compress(data) + packer.flush()


def parse_in_a_gigabyte(source: str, path: Path) -> str:
    """What parse says about the file, run in a process limited to 1 GB of address space."""
    script = textwrap.dedent(
        """
        import resource, sys
        resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))
        from pathlib import Path
        from kb.files import BadFile
        from kb.sources import parse
        try:
            parse(sys.argv[1], Path(sys.argv[2]).read_bytes(), {"owner": "Legal", "last_reviewed": "2026-11-01"})
        except BadFile as e:
            print("BadFile:", e)
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script, source, str(path)], cwd=REPO, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-2000:]  # a MemoryError would end it with a traceback
    return done.stdout


def test_a_zip_bomb_docx_is_refused_by_its_unpacked_size_within_a_memory_limit(tmp_path):
    """1 MB on disk, 300 MB of document.xml: python-docx alone would need gigabytes to read it."""
    path = tmp_path / "bomb.docx"
    path.write_bytes(docx_with_body(PARAGRAPH * 1000, 300_000_000 // (len(PARAGRAPH) * 1000)))
    assert path.stat().st_size < Settings().max_file_bytes  # under the file size limit, as in the issue

    said = parse_in_a_gigabyte("guidance/bomb.docx", path)

    assert re.match(r"BadFile: the Word document unpacks to 30\d,\d{3},\d{3} bytes", said), said
    assert "over the limit of 20,000,000" in said and "raise ADOPTBOT_MAX_UNPACKED_BYTES" in said


def test_a_docx_whose_index_understates_a_part_is_refused_within_a_memory_limit(tmp_path):
    """The index says 4 KB; the data inflates to 1.5 GB. Only what the index declares is ever unpacked."""
    path = tmp_path / "liar.docx"
    path.write_bytes(lying_docx(inflates_to_mb=1536, declared=4096))
    with zipfile.ZipFile(path) as z:  # a valid archive by its index
        assert z.getinfo("word/document.xml").file_size == 4096 and path.stat().st_size < 3_000_000

    said = parse_in_a_gigabyte("guidance/liar.docx", path)

    assert said.startswith("BadFile: not a readable Word document"), said
    assert "MemoryError" not in said  # python-docx inflated the part all at once: "(MemoryError: Unable to allocate"
    assert "save it again as .docx" in said


def test_a_docx_with_too_many_files_inside_is_refused(tmp_path):
    data = docx_with_body(PARAGRAPH, extra=1_000)
    with pytest.raises(BadFile, match=r"holds 1,01\d files inside it, over the limit of 1,000: .* ADOPTBOT_MAX_DOCX"):
        parse("guidance/many.docx", data, DOCX_META)
    assert parse("guidance/many.docx", data, DOCX_META, limits=Limits(docx_entries=2_000)).body


def test_a_10_mb_document_xml_is_read_with_one_style_lookup_per_style(monkeypatch):
    """10 MB of paragraphs that compress to kilobytes: python-docx looks every paragraph's style up anew."""
    lookups = []
    style = docx.text.paragraph.Paragraph.style
    monkeypatch.setattr(docx.text.paragraph.Paragraph, "style", property(lambda p: lookups.append(1) or style.fget(p)))
    repeat = 10_000_000 // (len(PARAGRAPH) * 1000)
    data = docx_with_body(PARAGRAPH * 1000, repeat)
    assert len(data) < 100_000
    doc = parse("guidance/long.docx", data, DOCX_META)
    assert doc.body.count("Prompt logs are kept for thirty days.") == repeat * 1000
    assert len(lookups) <= 2  # one per style used (here only the default); it was one per paragraph


def test_a_table_merged_down_two_thousand_rows_is_read_once_per_row():
    """python-docx finds a merged cell's first row from every row below it: quadratic, and recursion-deep."""

    def cell(text: bytes, merge: bytes = b"") -> bytes:
        merged = b"<w:tcPr><w:vMerge%s/></w:tcPr>" % merge if merge else b""
        return b"<w:tc>%s<w:p><w:r><w:t>%s</w:t></w:r></w:p></w:tc>" % (merged, text)

    rows = [b"<w:tr>" + cell(b"Region EU", b' w:val="restart"') + cell(b"row 0") + b"</w:tr>"]
    rows += [b"<w:tr>" + cell(b"", b" ") + cell(b"row %d" % n) + b"</w:tr>" for n in range(1, 2000)]
    data = docx_with_body(b"<w:tbl>" + b"".join(rows) + b"</w:tbl>")
    doc = parse("guidance/table.docx", data, DOCX_META)
    lines = doc.body.split("\n")
    assert lines[:3] == ["", "Region EU | row 0", "row 1"] and "row 1999" in lines
    assert doc.body.count("Region EU") == 1


@pytest.mark.parametrize(
    ("html", "reason"),
    [
        (b"<html><body>" + b"<div>x" * 100_000 + b"</div>" * 100_000, "nests elements more than 256 deep"),
        (b"<html><body>" + b"<p>x</p>" * 240_000, "more than 200,000 elements"),
    ],
    ids=["100000-nested", "240000-wide"],
)
def test_html_past_the_depth_or_element_limit_is_refused_and_within_them_read_in_one_pass(html, reason):
    """Each took minutes (inserting a line break before and after every block was quadratic)."""
    assert len(html) < Settings().max_file_bytes
    with no_hang(60), pytest.raises(BadFile, match=f"{reason}: .* raise ADOPTBOT_MAX_HTML_"):
        parse("guidance/deep.html", html, DOCX_META)
    unlimited = Limits(html_depth=1_000_000, html_elements=1_000_000)
    with no_hang(60):  # the old code took 632 s on the nested page; this is a hang guard, not a speed check
        doc = parse("guidance/deep.html", html, DOCX_META, limits=unlimited)
    assert doc.body.count("x") == html.count(b"x")


def blank_pdf(pages: int) -> bytes:
    """A PDF of one page of text and then blank pages (pypdf), about 130 bytes a page."""
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(make_pdf("Prompt logs are kept for 30 days."))))
    for _ in range(pages - 1):
        writer.add_blank_page(612, 792)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def test_a_pdf_of_20000_pages_is_refused_by_its_page_count():
    data = blank_pdf(20_000)
    with pytest.raises(BadFile, match=r"the PDF has 20,000 pages, over the limit of 1,000: split .* ADOPTBOT_MAX_PDF"):
        parse("policies/huge.pdf", data, DOCX_META)
    assert len(parse("policies/huge.pdf", data, DOCX_META, limits=Limits(pdf_pages=20_000)).pages) == 20_000


def test_a_pdf_whose_text_passes_the_unpacked_limit_is_refused_at_that_page():
    data = make_pdf(*(["Prompt logs are kept for thirty days. " * 10] * 5))
    with pytest.raises(BadFile, match=r"the PDF's text passes 1,000 bytes by page 3: .* ADOPTBOT_MAX_UNPACKED_BYTES"):
        parse("policies/p.pdf", data, DOCX_META, limits=Limits(unpacked_bytes=1_000))


def test_a_file_that_makes_too_many_passages_is_refused_before_the_rest_is_split():
    body = "\n\n".join(f"Paragraph {n} " + "word " * 60 for n in range(10_000))
    doc = parse("guidance/big.md", guide(body=body).encode())
    counted = []

    def count(text: str) -> int:
        counted.append(text)
        return len(text.split())

    with pytest.raises(BadFile, match=r"more than 20 passages, the limit for one file: .* ADOPTBOT_MAX_FILE_CHUNKS"):
        chunk_document(doc, count, 128, max_chunks=20)
    assert len(counted) < 200  # it stopped at the 21st passage; splitting all 10,000 paragraphs counts 20,000 times
    assert len(chunk_document(doc, lambda s: len(s.split()), 128, max_chunks=5_000)) == 5_000  # two a passage


def test_files_over_a_limit_are_skipped_with_the_setting_to_raise_and_everything_else_is_indexed(
    tmp_path, settings, capsys
):
    sidecar = "owner: Legal\nlast_reviewed: 2026-11-01\n"
    root = write_kb(
        tmp_path / "kb",
        {
            "guidance/bomb.docx": docx_with_body(PARAGRAPH * 1000, 30_000_000 // (len(PARAGRAPH) * 1000)),
            "guidance/bomb.docx.meta.yaml": sidecar,
            "guidance/deep.html": b"<div>" * 300 + b"deep" + b"</div>" * 300,
            "guidance/deep.html.meta.yaml": sidecar,
            "policies/pages.pdf": blank_pdf(6),
            "policies/pages.pdf.meta.yaml": sidecar,
            "guidance/long.md": guide(body="\n\n".join("word " * 200 for _ in range(40))),
        },
    )
    env = {"ADOPTBOT_MAX_PDF_PAGES": "5", "ADOPTBOT_MAX_FILE_CHUNKS": "30"}
    tight = Settings.from_env(env, data_dir=settings.data_dir, knowledge_dir=root)
    runtime = make_runtime(tight, FakeEmbedder())

    assert main(["ingest", "--json", str(root)], runtime=runtime) == 0

    summary = json.loads(capsys.readouterr().out)
    reasons = {s["source"]: s["reason"] for s in summary["skipped"]}
    assert set(reasons) == {"guidance/bomb.docx", "guidance/deep.html", "policies/pages.pdf", "guidance/long.md"}
    assert "raise ADOPTBOT_MAX_UNPACKED_BYTES" in reasons["guidance/bomb.docx"]
    assert "raise ADOPTBOT_MAX_HTML_DEPTH" in reasons["guidance/deep.html"]
    assert "6 pages, over the limit of 5" in reasons["policies/pages.pdf"]
    assert "more than 30 passages" in reasons["guidance/long.md"]
    assert summary["documents_added"] == STANDARD

    roomy = Settings.from_env({**env, "ADOPTBOT_MAX_PDF_PAGES": "6"}, data_dir=settings.data_dir, knowledge_dir=root)
    assert main(["ingest", "--json", str(root)], runtime=make_runtime(roomy, FakeEmbedder())) == 0
    assert "policies/pages.pdf" in json.loads(capsys.readouterr().out)["documents_added"]


def test_the_limits_are_settings_validated_like_the_others():
    assert Limits.from_settings(Settings()) == Limits()
    for name in ("MAX_UNPACKED_BYTES", "MAX_DOCX_ENTRIES", "MAX_HTML_DEPTH", "MAX_HTML_ELEMENTS", "MAX_PDF_PAGES"):
        with pytest.raises(ConfigError, match=f"ADOPTBOT_{name} must be greater than 0"):
            Settings.from_env({f"ADOPTBOT_{name}": "0"})
    with pytest.raises(ConfigError, match=r"ADOPTBOT_MAX_FILE_CHUNKS=100000000 is out of range: use 1 to 1e\+07"):
        Settings.from_env({"ADOPTBOT_MAX_FILE_CHUNKS": "100000000"})
    assert Settings.from_env({"ADOPTBOT_MAX_HTML_DEPTH": "512"}).max_html_depth == 512


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


def test_invisible_characters_in_titles_and_headings_are_removed_with_a_warning(tmp_path, settings, store):
    body = "## Sec\u202etion\n\nText."
    root = write_kb(tmp_path / "kb", {"guidance/rtl.md": guide(title="Evil\u202eTitle", body=body)})
    summary = ingest(root, settings, store)
    [(_, meta)] = served(store)["guidance/rtl.md"]
    assert (meta["title"], meta["section"]) == ("EvilTitle", "Section")
    messages = [w.message for w in summary.warnings]
    assert any(m.startswith("title had invisible control characters") for m in messages)
    assert any(m.startswith("heading 'Section' had invisible control characters") for m in messages)


# -- Properties: any bytes give a document or a BadFile, never another exception, never a hang -------

NAMES = st.sampled_from(["guidance/a.md", "guidance/a.txt", "checklists/c.yaml", "guidance/a.markdown"])
YAMLISH = st.lists(
    st.sampled_from(
        [
            "---\n",
            "title: ",
            "owner: ",
            "last_reviewed: ",
            "2026-01-01",
            "0000-13-45",
            "url: ",
            "https://x/",
            "tags: ",
            "items:\n",
            "  - ",
            "text: ",
            "why: ",
            "id: ",
            "&a ",
            "*a",
            "&b ",
            "*b",
            "<<: ",
            "[",
            "]",
            "{",
            "}",
            ", ",
            ": ",
            "- ",
            "? ",
            "\n",
            "  ",
            "\t",
            "!!",
            "!!binary ",
            "!!timestamp ",
            "!!set ",
            "!!python/object ",
            "'",
            '"',
            "#",
            "|\n",
            ">\n",
            "x",
            "1e9999",
            "~",
            "null",
            "\u202e",
            "\x1b",
            "\x00",
            "\ufeff",
            "é",
            "# H\n",
            "## ",
            "```\n",
            "%YAML 1.1\n",
            "...\n",
        ]
    ),
    max_size=60,
).map("".join)
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=50), st.dates())
VALUES = st.recursive(
    SCALARS, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
)
FRONT = st.fixed_dictionaries(
    {},
    optional={
        k: VALUES | st.text(max_size=300)
        for k in ("title", "owner", "last_reviewed", "url", "tags", "id", "items", "summary")
    },
)
PROPERTY = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def check_outcome(source: str, data: bytes) -> None:
    """parse gives a SourceDoc whose cited fields are capped and visible, or raises BadFile; chunking works."""
    with no_hang(20):
        try:
            doc = parse(source, data)
        except BadFile as e:
            assert str(e)
            return
        assert isinstance(doc, SourceDoc)
        for value in (doc.title, doc.owner, *doc.tags, doc.checklist_id, *(i.id for i in doc.items)):
            assert len(value) <= MAX_TITLE and not any(is_invisible(ch) for ch in value)
        assert doc.url == "" or doc.url.startswith(("http://", "https://"))
        for chunk in chunk_document(doc, lambda s: len(s.split()), 64):
            assert len(chunk.section) <= MAX_SECTION and not any(is_invisible(ch) for ch in chunk.section)


@PROPERTY
@given(source=NAMES, data=st.binary(max_size=400))
def test_any_bytes_parse_to_a_document_or_a_bad_file(source, data):
    check_outcome(source, data)


@PROPERTY
@given(source=NAMES, text=YAMLISH, body=st.text(max_size=200))
def test_any_yamlish_text_parses_to_a_document_or_a_bad_file(source, text, body):
    check_outcome(source, text.encode())
    check_outcome(source, f"---\n{text}\n---\n{body}".encode())


@PROPERTY
@given(source=NAMES, front=FRONT, body=st.text(max_size=300))
def test_any_front_matter_parses_to_a_document_or_a_bad_file(source, front, body):
    dumped = yaml.safe_dump(front, allow_unicode=True)
    check_outcome(source, f"---\n{dumped}---\n{body}".encode())
    if source.endswith(".yaml"):
        check_outcome(source, dumped.encode())


def test_the_hang_guard_itself_fires():
    """no_hang must turn a real hang into a failure, or the properties above could not catch one."""
    read_end, write_end = os.pipe()
    try:
        with pytest.raises(Hung), no_hang(0.2):
            os.read(read_end, 1)  # nothing is ever written: blocks for ever
    finally:
        os.close(read_end)
        os.close(write_end)
