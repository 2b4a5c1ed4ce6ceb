"""PDF, Word and HTML files: built here with fpdf2 and python-docx, indexed with their sidecar or manifest metadata."""

import datetime as dt
import json
from dataclasses import replace
from pathlib import Path

import pytest

from adoptbot.cli import main, render_answer
from bot.slack.blocks import citation_line
from bot.teams.cards import answer_activity
from bot.types import Question
from ingest.chunking import chunk_document
from ingest.lint import lint
from ingest.pipeline import run_ingest
from kb.files import BadFile, discover
from kb.sources import parse
from kb.store import generation, is_live
from tests.conftest import FakeEmbedder, make_runtime, write_kb
from tests.document_files import junk_docx, make_docx, make_pdf

META = {"owner": "Legal", "last_reviewed": "2026-11-01"}
SIDECAR = "owner: Legal\nlast_reviewed: 2026-11-01\n"


HTML = b"""<!doctype html><html><head><title>Retention notice</title>
<style>.secret { content: "STYLESECRET"; }</style>
<script>var token = "SCRIPTSECRET"; document.write("SCRIPTSECRET");</script></head>
<body><h1>Retention notice</h1><p>Chat transcripts are deleted after <b>90 days</b>.</p>
<h2>Exceptions</h2><ul><li>Legal holds keep transcripts longer.</li><li>Audits may ask for them.</li></ul>
<noscript>NOSCRIPTSECRET</noscript><script>alert("SCRIPTSECRET")</script></body></html>"""


def ingest(root: Path, settings, store, embedder=None):
    return run_ingest(
        root, data_dir=settings.data_dir, store=store, embedder=embedder or FakeEmbedder(), progress=False
    )


def live_records(store) -> list[tuple[str, dict]]:
    """(text, metadata) of every record the serving generation shows."""
    col = store.current()
    got = col.get(include=["documents", "metadatas"])
    at = generation(col)
    return [(d, m) for d, m in zip(got["documents"], got["metadatas"], strict=True) if is_live(m, at)]


def test_a_pdf_answer_cites_its_page_on_every_platform(tmp_path, settings, real_embedder, capsys):
    root = write_kb(tmp_path / "kb")
    (root / "policies").mkdir()
    (root / "policies/ai-policy.pdf").write_bytes(
        make_pdf(
            "Acceptable use of AI tools. Employees may use approved assistants for drafting.",
            "Prompt logs are kept for 30 days and then deleted automatically.",
        )
    )
    (root / "policies/ai-policy.pdf.meta.yaml").write_text(
        "title: AI acceptable use policy\nowner: Legal\nlast_reviewed: 2020-01-15\n"
        "url: https://intranet.example.com/ai-policy\n"
    )
    runtime = make_runtime(replace(settings, backend="template"), real_embedder)
    summary = runtime.ingest(root, progress=False)
    assert "policies/ai-policy.pdf" in summary.documents_added and not summary.skipped

    answer = runtime.engine.answer(Question("How long are prompt logs kept?"))
    assert answer.answered, answer.text
    cited = answer.sources[0]
    assert (cited.source, cited.section, cited.title) == (
        "policies/ai-policy.pdf",
        "Page 2",
        "AI acceptable use policy",
    )
    assert cited.review_overdue  # reviewed in 2020
    assert "AI acceptable use policy - Page 2 (policies/ai-policy.pdf, reviewed 2020-01-15, review overdue)" in (
        render_answer(answer)
    )
    assert "- Page 2 · reviewed 2020-01-15 · :warning: *review overdue*" in citation_line(cited)
    card = json.dumps(answer_activity(answer), ensure_ascii=False)
    assert "Page 2 · reviewed 2020-01-15 · review overdue" in card and "**review overdue**" in card

    assert main(["ask", "--json", "How long are prompt logs kept?"], runtime=runtime) == 0
    source = json.loads(capsys.readouterr().out)["sources"][0]
    assert source["section"] == "Page 2" and source["review_overdue"] is True
    pages = {m["pages"] for _, m in live_records(runtime.store) if m["source"] == "policies/ai-policy.pdf"}
    assert pages == {"1", "2"}


def test_word_headings_become_sections_and_the_title_style_the_title():
    data = make_docx(
        ("Title", "Vendor due diligence"),
        ("Heading 1", "Scope"),
        ("", "Applies to every vendor that processes prompts."),
        ("Heading 2", "Data residency"),
        ("", "# Data must stay in the EU."),
        ("List Bullet", "Ask where the model is hosted."),
        ("Heading 1", "Approval"),
        ("", "The AI Risk Office signs off."),
    )
    doc = parse("guidance/vendors.docx", data, META)
    assert (doc.title, doc.owner, doc.last_reviewed) == ("Vendor due diligence", "Legal", "2026-11-01")
    chunks = chunk_document(doc, lambda t: len(t.split()), 256)
    assert [(c.section, c.text) for c in chunks] == [
        ("Scope", "Applies to every vendor that processes prompts."),
        ("Scope > Data residency", "# Data must stay in the EU.\n- Ask where the model is hosted."),
        ("Approval", "The AI Risk Office signs off."),
    ]


def test_html_headings_are_sections_and_scripts_and_styles_are_never_indexed(tmp_path, settings, store):
    root = write_kb(tmp_path / "kb", {"guidance/retention.html": HTML, "guidance/retention.html.meta.yaml": SIDECAR})
    summary = ingest(root, settings, store)
    assert "guidance/retention.html" in summary.documents_added
    assert any(w.source == "guidance/retention.html" and "<script>" in w.message for w in summary.warnings)
    records = [(d, m) for d, m in live_records(store) if m["source"] == "guidance/retention.html"]
    assert [(m["title"], m["section"]) for _, m in records] == [
        ("Retention notice", "Overview"),
        ("Retention notice", "Exceptions"),
    ]
    assert "deleted after 90 days" in records[0][0]
    everything = json.dumps(live_records(store))
    for secret in ("SCRIPTSECRET", "STYLESECRET", "NOSCRIPTSECRET"):
        assert secret not in everything


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("locked.pdf", make_pdf("Secret plans.", user_password="pw"), "password-protected"),
        ("broken.pdf", b"%PDF-1.7\n1 0 obj << /Type /Catalog >>\ntruncated", "not a readable PDF"),
        ("scan.pdf", make_pdf(" "), "no text to index"),
        ("junk.docx", junk_docx(), "not a readable Word document"),
        ("text.docx", b"just some text saved as .docx", "not a readable Word document"),
        ("only-script.html", b"<html><script>alert(1)</script></html>", "no visible text"),
    ],
)
def test_bad_documents_are_skipped_with_what_to_do_and_nothing_else_is_lost(
    tmp_path, settings, store, name, data, reason
):
    root = write_kb(tmp_path / "kb", {f"guidance/{name}": data, f"guidance/{name}.meta.yaml": SIDECAR})
    summary = ingest(root, settings, store)
    assert [(s.source, s.kept_previous) for s in summary.skipped] == [(f"guidance/{name}", False)]
    assert reason in summary.skipped[0].reason
    assert summary.documents_added == ["checklists/launch.yaml", "guidance/hallucination.md", "guidance/privacy.md"]


def test_a_pdf_broken_later_keeps_its_last_good_version(tmp_path, settings, store):
    root = write_kb(tmp_path / "kb", {"p.pdf": make_pdf("Keep backups for a year."), "p.pdf.meta.yaml": SIDECAR})
    ingest(root, settings, store)
    (root / "p.pdf").write_bytes(make_pdf("Keep backups for a year.", user_password="pw"))
    summary = ingest(root, settings, store)
    assert [(s.source, s.kept_previous) for s in summary.skipped] == [("p.pdf", True)]
    assert "its previous version is still served" in summary.render()
    assert [d for d, m in live_records(store) if m["source"] == "p.pdf"] == ["Keep backups for a year."]


def test_sidecar_and_manifest_metadata_are_applied_sidecar_first(tmp_path, settings, store):
    root = write_kb(
        tmp_path / "kb",
        {
            "manifest.yaml": (
                "policies/a.pdf:\n  title: Policy A\n  owner: Legal\n  last_reviewed: 2026-10-01\n"
                "  url: https://intranet.example.com/a\n  tags: [policy, legal]\n  audience: [managers, hr]\n"
                "./policies/b.docx:\n  title: From the manifest\n  owner: Procurement\n  last_reviewed: 2026-09-01\n"
            ),
            "policies/a.pdf": make_pdf("Policy A text."),
            "policies/b.docx": make_docx(("Heading 1", "Buying"), ("", "Buy from approved vendors.")),
            "policies/b.docx.meta.yaml": "title: Buying AI tools\naudience: everyone\n",
        },
    )
    summary = ingest(root, settings, store)
    assert not summary.skipped
    meta = {m["source"]: m for _, m in live_records(store)}
    assert set(meta) == {"checklists/launch.yaml", "guidance/hallucination.md", "guidance/privacy.md", *(
        "policies/a.pdf", "policies/b.docx")}  # fmt: skip
    a, b = meta["policies/a.pdf"], meta["policies/b.docx"]
    assert (a["title"], a["owner"], a["last_reviewed"], a["url"]) == (
        "Policy A", "Legal", "2026-10-01", "https://intranet.example.com/a")  # fmt: skip
    assert (a["tags"], a["audience"], a["section"], a["pages"]) == ("policy,legal", "managers,hr", "Page 1", "1")
    assert (b["title"], b["owner"], b["last_reviewed"], b["audience"]) == (
        "Buying AI tools", "Procurement", "2026-09-01", "everyone")  # fmt: skip


def test_editing_only_the_sidecar_reindexes_the_document(tmp_path, settings, store):
    root = write_kb(tmp_path / "kb", {"p.pdf": make_pdf("Backups."), "p.pdf.meta.yaml": SIDECAR})
    ingest(root, settings, store)
    (root / "p.pdf.meta.yaml").write_text(SIDECAR.replace("Legal", "Security"))
    summary = ingest(root, settings, store)
    assert summary.documents_updated == ["p.pdf"]
    assert {m["owner"] for _, m in live_records(store) if m["source"] == "p.pdf"} == {"Security"}


def test_a_pdf_without_metadata_is_skipped_and_told_where_to_put_it(tmp_path, settings, store):
    root = write_kb(tmp_path / "kb", {"policies/ai-policy.pdf": make_pdf("Text.")})
    summary = ingest(root, settings, store)
    [skipped] = summary.skipped
    assert skipped.source == "policies/ai-policy.pdf"
    assert "no owner or last_reviewed" in skipped.reason
    assert "ai-policy.pdf.meta.yaml" in skipped.reason and "'policies/ai-policy.pdf:' in knowledge/manifest.yaml" in (
        skipped.reason
    )


def test_sidecars_and_the_manifest_are_not_indexed_and_stray_sidecars_are_reported(tmp_path):
    root = write_kb(
        tmp_path / "kb",
        {
            "manifest.yaml": "a.pdf:\n  owner: Legal\n",
            "a.pdf": make_pdf("A."),
            "a.pdf.meta.yaml": SIDECAR,
            "gone.pdf.meta.yaml": SIDECAR,
            "guidance/privacy.md.meta.yaml": SIDECAR,
        },
    )
    found, refused = discover(root)
    assert [p.relative_to(root).as_posix() for p in found] == [
        "a.pdf", "checklists/launch.yaml", "guidance/hallucination.md", "guidance/privacy.md"]  # fmt: skip
    reasons = dict(refused)
    assert set(reasons) == {"gone.pdf.meta.yaml", "guidance/privacy.md.meta.yaml"}
    assert "gone.pdf, which does not exist" in reasons["gone.pdf.meta.yaml"]
    assert "front matter of guidance/privacy.md" in reasons["guidance/privacy.md.meta.yaml"]


def test_a_broken_manifest_is_reported_and_its_documents_keep_their_previous_version(tmp_path, settings, store):
    root = write_kb(
        tmp_path / "kb",
        {"manifest.yaml": "a.pdf:\n  owner: Legal\n  last_reviewed: 2026-01-01\n", "a.pdf": make_pdf("A.")},
    )
    assert not ingest(root, settings, store).skipped
    (root / "manifest.yaml").write_text("a.pdf: [unclosed\n")
    summary = ingest(root, settings, store)
    skipped = {s.source: s for s in summary.skipped}
    assert "not valid YAML" in skipped["manifest.yaml"].reason
    assert skipped["a.pdf"].kept_previous and "no owner or last_reviewed" in skipped["a.pdf"].reason
    assert summary.documents_unchanged == 3 and {m["source"] for _, m in live_records(store)} >= {"a.pdf"}


def test_a_bad_date_in_a_sidecar_is_refused_like_in_front_matter(tmp_path, settings, store):
    root = write_kb(
        tmp_path / "kb", {"a.pdf": make_pdf("A."), "a.pdf.meta.yaml": "owner: L\nlast_reviewed: 2026-02-30\n"}
    )
    [skipped] = ingest(root, settings, store).skipped
    assert skipped.source == "a.pdf" and "write dates as real dates" in skipped.reason


def test_a_sidecar_too_large_is_reported_under_its_own_name_not_the_documents(tmp_path, settings, store):
    root = write_kb(tmp_path / "kb", {"a.pdf": make_pdf("A."), "a.pdf.meta.yaml": SIDECAR})
    run_ingest(root, data_dir=settings.data_dir, store=store, embedder=FakeEmbedder(), max_file_bytes=5_000)
    (root / "a.pdf.meta.yaml").write_text(SIDECAR + "# notes\n" * 1_000)  # 8 KB: the PDF itself is 1 KB

    summary = run_ingest(root, data_dir=settings.data_dir, store=store, embedder=FakeEmbedder(), max_file_bytes=5_000)

    [skipped] = summary.skipped
    assert (skipped.source, skipped.kept_previous) == ("a.pdf.meta.yaml", True)
    assert skipped.reason.startswith("file is too large (8,039 bytes; the limit is 5,000): it should hold a few")
    assert "it is the metadata file of a.pdf, which is not indexed until this is fixed" in skipped.reason
    assert [d for d, m in live_records(store) if m["source"] == "a.pdf"] == ["A."]  # its last good version
    errors = [f for f in lint(root, today=dt.date(2026, 12, 1), max_file_bytes=5_000) if f.severity == "error"]
    assert [(f.source, "too large" in f.message) for f in errors] == [("a.pdf.meta.yaml", True)]


def test_html_text_with_a_private_use_character_is_text(tmp_path):
    """The old extractor marked headings with U+E000 and crashed the whole ingest on a page that used it."""
    doc = parse("p.html", "<h2>Intro</h2><p>\ue000x marks the spot</p>".encode(), META)
    assert doc.body == "## Intro\n\n\ue000x marks the spot"


def test_html_in_utf8_without_a_declared_charset_is_read_as_utf8():
    doc = parse("p.html", "<p>Café – naïve</p>".encode(), META)
    assert doc.body == "Café – naïve"


def test_audience_in_front_matter_is_parsed_and_stored():
    doc = parse(
        "g.md", b"---\ntitle: T\nowner: O\nlast_reviewed: 2026-01-01\naudience: [engineering, hr]\n---\nText.\n"
    )
    assert doc.audience == ("engineering", "hr")
    [chunk] = chunk_document(doc, lambda t: len(t.split()), 256)
    assert chunk.metadata()["audience"] == "engineering,hr"


def test_parse_without_metadata_raises_bad_file():
    with pytest.raises(BadFile, match="no owner or last_reviewed"):
        parse("x.html", HTML)
