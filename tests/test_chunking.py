from ingest.chunking import chunk_document
from kb.sources import parse
from tests.conftest import CHECKLIST, GUIDE


def words(text: str) -> int:
    return len(text.split())


def test_chunks_follow_headings_and_carry_citation_metadata():
    doc = parse("guidance/risks.md", GUIDE.format(title="Risks", slug="risks", body="Body text.").encode())
    chunks = chunk_document(doc, words, 256)
    assert [c.section for c in chunks] == ["Background", "Details"]
    first = chunks[0]
    assert first.metadata()["url"] == "https://intranet.example.com/risks"
    assert (first.title, first.owner, first.last_reviewed) == ("Risks", "AI Centre of Excellence", "2026-11-01")
    assert [c.ordinal for c in chunks] == [0, 1]


def test_nested_headings_make_a_heading_path_and_code_fences_are_not_headings():
    body = "# Doc\n\nIntro.\n\n## A\n\nText a.\n\n### A1\n\n```\n# not a heading\n```\n\n## B\n\nText b."
    doc = parse("g.md", f"---\ntitle: Doc\nowner: o\nlast_reviewed: 2026-01-01\n---\n{body}".encode())
    sections = [c.section for c in chunk_document(doc, words, 256)]
    assert sections == ["Overview", "A", "A > A1", "B"]


def test_long_sections_are_split_under_the_token_budget_and_ids_are_stable():
    paragraph = " ".join(f"word{i}." for i in range(900))
    text = GUIDE.format(title="Long", slug="long", body=paragraph).encode()
    doc = parse("g.md", text)
    chunks = chunk_document(doc, words, 100)
    assert len(chunks) > 9
    assert all(words(c.embed_text) + 2 <= 100 for c in chunks)
    assert " ".join(c.text for c in chunks if c.section == "Background").split() == paragraph.split()
    again = chunk_document(parse("g.md", text.replace(b"More about", b"Even more about")), words, 100)
    assert [c.id for c in chunks] == [c.id for c in again]
    assert len({c.id for c in chunks}) == len(chunks)


def test_checklist_chunks_list_their_item_ids():
    doc = parse("checklists/launch.yaml", CHECKLIST.encode())
    [chunk] = chunk_document(doc, words, 256)
    assert chunk.checklist_id == "launch" and chunk.item_ids == "owner,review"
    assert "1. Name an accountable owner. Why: Someone must answer" in chunk.text
    many = CHECKLIST + "".join(f"  - id: extra{i}\n    text: {'long item ' * 20}\n" for i in range(30))
    chunks = chunk_document(parse("checklists/launch.yaml", many.encode()), words, 256)
    assert len(chunks) > 1 and all(words(c.embed_text) + 2 <= 256 for c in chunks)
    ids = ",".join(c.item_ids for c in chunks).split(",")
    assert ids == ["owner", "review", *[f"extra{i}" for i in range(30)]]
