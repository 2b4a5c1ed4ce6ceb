from bot.chat import THANKS, reindex_text
from bot.slack.blocks import SECTION_LIMIT, answer_blocks, answer_text, markdown_blocks, split_text, thanked, to_mrkdwn
from bot.types import Answer, Citation


def cite(n: int, url: str = "") -> Citation:
    return Citation(
        n=n,
        title=f"Doc {n} <&>",
        section="Risks",
        source=f"guidance/d{n}.md",
        url=url,
        last_reviewed="2026-11-20",
        score=0.5,
    )


def test_markdown_becomes_mrkdwn():
    md = "## Heading\n**Bold** and *italic* with [a link](https://x.example/a) & <tags>\n- one\n- two"
    assert to_mrkdwn(md) == (
        "*Heading*\n*Bold* and _italic_ with <https://x.example/a|a link> &amp; &lt;tags&gt;\n• one\n• two"
    )


def test_long_answers_are_split_under_slacks_limits():
    text = ("A sentence of words. " * 400).strip()
    pieces = split_text(text)
    assert all(len(p) <= SECTION_LIMIT for p in pieces) and " ".join(pieces).split() == text.split()
    huge = Answer(question="q", status="answered", text="para. " * 60_000, backend="template", sources=(cite(1),))
    blocks = answer_blocks(huge, "fid")
    assert len(blocks) <= 50
    assert all(len(b["text"]["text"]) <= SECTION_LIMIT for b in blocks if b["type"] == "section")
    assert blocks[-1]["type"] == "context_actions" and "cut" in blocks[-3]["text"]["text"]
    assert len(answer_text(huge)) <= SECTION_LIMIT


def test_sources_link_titles_with_urls_and_escape_text():
    answer = Answer(
        question="q",
        status="answered",
        text="Text [1] [2].",
        backend="template",
        sources=(cite(1, "https://intranet.example.com/d1"), cite(2)),
    )
    context = answer_blocks(answer)[1]
    lines = [e["text"] for e in context["elements"]]
    assert lines[0] == "*Sources*"
    assert lines[1] == "[1] <https://intranet.example.com/d1|Doc 1 &lt;&amp;&gt;> - Risks · reviewed 2026-11-20"
    assert lines[2] == "[2] *Doc 2 &lt;&amp;&gt;* - Risks · reviewed 2026-11-20"


def test_thanks_replace_the_buttons():
    blocks = answer_blocks(Answer(question="q", status="answered", text="x", backend="t"), "fid")
    after = thanked(blocks, THANKS["not_helpful"])
    assert not any(b["type"] in ("actions", "context_actions") for b in after)
    assert "editors will look" in after[-1]["elements"][0]["text"]


def test_reindex_summaries_name_what_was_cut_and_read_right_in_slack():
    from ingest.pipeline import FileWarning, IngestSummary

    summary = IngestSummary(documents_total=3, warnings=[FileWarning("guidance/a.md", "title cut to 200 characters")])
    text = reindex_text(summary, None)
    assert "guidance/a.md" in text and "title cut to 200 characters" in text
    [section] = markdown_blocks(text)
    assert "`guidance/a.md`" in section["text"]["text"] and "**" not in section["text"]["text"]  # Slack's *bold*
