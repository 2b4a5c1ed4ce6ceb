import dataclasses
import html
import re

from hypothesis import given, settings
from hypothesis import strategies as st

from bot import experts
from bot.chat import THANKS
from bot.slack.blocks import (
    SECTION_LIMIT,
    answer_blocks,
    answer_text,
    checklist_blocks,
    checklist_text,
    markdown_blocks,
    markdown_message,
    split_text,
    thanked,
    to_mrkdwn,
)
from bot.tools.core import status_markdown
from bot.types import Answer, Citation
from bot.wording import reindex_text
from common.text import literal
from tests.written import named


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


# -- what people and documents wrote, as Slack shows it ---------------------------------------------------
WRITTEN = st.lists(
    st.sampled_from(
        ["<!here>", "<!channel>", "<@U0123ABCD>", "<#C1|general>", "<https://evil.example|click>", "<mailto:a@b.c>",
         "&lt;!channel&gt;", "&amp;", "[click](https://evil.example)", "`", "```", "\\", "*", "_", "> ", "\n", " "]
    )
    | st.text(max_size=8),
    max_size=12,
).map("".join)  # fmt: skip
MENTION = re.compile(r"<[!@#]")  # @here, @channel, a person or a channel, as Slack reads mrkdwn
LIVE = re.compile(r"<[!@#]|<(?:https?|mailto):")  # those, or a link


def shown(message: dict) -> list[str]:
    """Every text a Slack message shows: its `text`, and each text object's in its blocks."""
    found = []

    def walk(value: object) -> None:
        if isinstance(value, dict):
            for key, inner in value.items():
                if key == "text" and isinstance(inner, str):
                    found.append(inner)
                else:
                    walk(inner)
        elif isinstance(value, list):
            for inner in value:
                walk(inner)

    walk(message)
    return found


@settings(max_examples=300, deadline=None)
@given(WRITTEN)
def test_nothing_people_or_documents_wrote_becomes_a_mention_or_a_link_in_any_slack_message(s):
    cited = Citation(n=1, title=s, section=s, source="guidance/a.md", url="", last_reviewed="", score=0.5)
    answer = Answer(question=s, status="answered", text="An answer [1].", backend="template",
                    sources=(cited,), related=(dataclasses.replace(cited, n=2),), notes=(s,))  # fmt: skip
    # The answer's own text is Markdown (its links stay links), but a mention in it is only ever text.
    quoting = dataclasses.replace(answer, text=f"An answer quoting the guidance: {s} [1].")
    for text in shown({"text": answer_text(quoting), "blocks": answer_blocks(quoting, "fid")}):
        assert not MENTION.search(text), text
    progress = named(s)
    every = [
        {"text": answer_text(answer), "blocks": answer_blocks(answer, "fid")},
        {"text": checklist_text(progress), "blocks": checklist_blocks(progress)},
        markdown_message(status_markdown([progress], str)),
        {"text": to_mrkdwn(experts.not_helpful(s, s, [(s, frozenset())], "", scope=None, comment=s))},
        {"text": to_mrkdwn(experts.declined(s, [(s, frozenset())], "", scope=None))},
    ]
    for message in every:
        for text in shown(message):
            assert not LIVE.search(text.replace("<@U7>", "")), text  # U7 ticked an item: that one is ours
    assert html.unescape(checklist_text(progress)) == f"{s}: {s}"  # and it reads as written


def test_escaped_markdown_and_code_are_written_as_they_are():
    assert to_mrkdwn(literal("[click](https://evil.example) *not bold* <!here>")) == (
        "[click](https://evil.example) *not bold* &lt;!here&gt;"
    )
    assert to_mrkdwn("> quoted\n`- not a bullet` and ```\n# not a heading\n```") == (
        "> quoted\n`- not a bullet` and ```\n# not a heading\n```"
    )
