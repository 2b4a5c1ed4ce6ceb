import unicodedata

from hypothesis import given, settings
from hypothesis import strategies as st

from common.text import clean_question


def test_chat_markup_is_not_the_cores_business_it_is_read_at_each_platforms_edge():
    text, notes = clean_question("what about <b>GDPR</b> &amp; HIPAA?", limit=2000)
    assert text == "what about <b>GDPR</b> &amp; HIPAA?"  # as typed in the terminal; Slack and Teams read theirs
    assert notes == []


def test_control_characters_go_and_emoji_and_other_languages_stay():
    text, _ = clean_question("Was ist\x00 ein\x1b[31m LLM?\u200b 🤖\n\nbitte", limit=2000)
    assert text == "Was ist ein[31m LLM? 🤖 bitte"


def test_long_questions_are_cut_at_a_word_with_a_note():
    text, notes = clean_question("word " * 10_000, limit=2000)
    assert len(text) <= 2000 and text.endswith("word")
    assert "only the first" in notes[0] and "49,999" in notes[0]


MARKUP = st.sampled_from(
    [
        "<@U1>",
        "<@U1|ada>",
        "<#C1|general>",
        "<!here>",
        "<!subteam^S1|team>",
        "<https://example.com/a|",
        "<https://[::1|x>",
        "<mailto:a@b.c|",
        "|",
        ">",
        "<",
        "<at>",
        "</at>",
        "<b>",
        "&amp;",
        "&#0;",
        "&#x1b;",
        "\x00",
        "\u200b",
        "\r\n",
        " ",
    ]
)
ANY_TEXT = st.lists(MARKUP | st.text(st.characters(exclude_categories=())), max_size=40).map("".join)


@settings(max_examples=300, deadline=None)
@given(ANY_TEXT, st.integers(min_value=1, max_value=500))
def test_any_text_gives_a_question_within_the_limit_without_control_characters(raw, limit):
    text, notes = clean_question(raw, limit=limit)
    assert len(text) <= limit
    assert not any(unicodedata.category(ch).startswith("C") for ch in text)
    assert text == text.strip() and "  " not in text
    assert len(notes) <= 1
