"""What people and documents wrote, as Teams shows it: text in messages' and cards' Markdown, never a link or HTML."""

# The tests take the harness's fixtures (imported below) as parameters of the same name.
# ruff: noqa: F811

from __future__ import annotations

import dataclasses
import re

from hypothesis import given, settings
from hypothesis import strategies as st

from bot import experts
from bot.teams import cards
from bot.tools.core import status_markdown
from bot.types import Answer, Citation
from tests.teams_harness import card, in_channel, live, post_checklist, replies, save, texts
from tests.teams_harness import tools_bot as bot  # noqa: F401 - fixtures; `bot` here has the adoption tools
from tests.written import named

WRITTEN = st.lists(
    st.sampled_from(
        ["[click me](https://evil.example)", "![x](https://evil.example/x.png)", '<a href="https://evil.example">',
         "</a>", "<https://evil.example>", "&lt;b&gt;", "\\", "`", "*", "_", "~", "]", "(", "\n", " "]
    )
    | st.text(max_size=8),
    max_size=12,
).map("".join)  # fmt: skip
EVIL = "[click me](https://evil.example)"


def unescaped(markdown: str) -> str:
    return re.sub(r"\\(.)", r"\1", markdown, flags=re.DOTALL)


def markdown_fields(activity: dict) -> list[str]:
    """The Markdown a Teams message shows: its text, and every TextBlock of its cards."""
    found = [activity["text"]] if "text" in activity else []
    for attachment in activity.get("attachments", []):
        found += [e["text"] for e in attachment["content"]["body"] if e["type"] == "TextBlock"]
    return found


@settings(max_examples=300, deadline=None)
@given(WRITTEN)
def test_nothing_people_or_documents_wrote_becomes_a_link_or_html_in_any_teams_message(s):
    cited = Citation(n=1, title=s, section=s, source="guidance/a.md", url="", last_reviewed="", score=0.5)
    answer = Answer(question=s, status="answered", text="An answer [1].", backend="template", sources=(cited,),
                    related=(dataclasses.replace(cited, n=2),))  # fmt: skip
    progress = named(s)
    every = [
        cards.answer_activity(answer, "fid"),
        cards.checklist_activity(progress),
        cards.text_activity(status_markdown([progress], str)),
        cards.text_activity(experts.not_helpful(s, s, [(s, frozenset())], "", scope=None, comment=s)),
        cards.text_activity(experts.declined(s, [(s, frozenset())], "", scope=None)),
    ]
    for activity in every:
        for markdown in markdown_fields(activity):
            assert not live(markdown), markdown
    heading = markdown_fields(cards.checklist_activity(progress))[0]
    assert unescaped(heading) == f"**{s}** for **{s}**"  # and it reads as written


def test_a_checklist_project_named_like_a_link_is_shown_as_text_in_its_card_and_in_status(bot):
    content, card_id = post_checklist(bot, EVIL)
    [heading] = [t for t in texts(content) if " for " in t]
    assert (
        heading
        == "**Pre-deployment checklist for generative AI and LLM projects** for **\\[click me\\]\\(https://evil.example\\)**"
    )
    assert content["actions"][0]["data"]["project"] == EVIL  # what the Save says is the project as typed
    save(bot, content, card_id, [1], name="[Grace](https://evil.example)")
    [(_, updated)] = bot.connector.updates()
    assert any(t.startswith("ticked by \\[Grace\\]\\(https://evil.example\\) · ") for t in texts(card(updated)))
    _, body = bot.ask("checklist status", mention=True, expect_replies=True, **in_channel())
    [status] = replies(body)
    assert "**\\[click me\\]\\(https://evil.example\\)**" in status["text"] and not live(status["text"])


def test_a_checklist_name_like_a_link_is_echoed_as_text(bot):
    _, body = bot.ask("checklist [click](https://evil.example)", mention=True, expect_replies=True, **in_channel())
    [reply] = replies(body)
    assert "is not a checklist" in reply["text"] and "\\[click\\]\\(https://evil.example\\)" in reply["text"]
    assert not live(reply["text"])
