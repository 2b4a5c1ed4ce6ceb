import unicodedata

from hypothesis import given, settings
from hypothesis import strategies as st

from common.text import clean_question, strip_markup


def test_chat_markup_is_reduced_to_plain_text():
    text, notes = clean_question(
        "<@U123ABC> what about <https://example.com/gdpr|GDPR> and <#C999|ai-help> &amp; <at>adoptbot</at> HIPAA?",
        limit=2000,
    )
    assert text == "what about GDPR (example.com/gdpr) and #ai-help & HIPAA?"
    assert notes == []


def test_a_link_keeps_its_label_and_the_words_of_where_it_points():
    # A label like "this" alone would leave retrieval nothing to go on.
    assert (
        strip_markup("what does <https://www.intranet.example.com/ai/model-risk-policy/?utm=x#top|this> say?")
        == "what does this (intranet.example.com/ai/model-risk-policy) say?"
    )
    assert strip_markup("mail <mailto:coe@example.com|the CoE>") == "mail the CoE (coe@example.com)"


def test_a_link_whose_label_is_its_address_appears_once():
    assert strip_markup("see <http://example.com|example.com>") == "see example.com"
    assert strip_markup("see <https://example.com/a|https://example.com/a>") == "see https://example.com/a"
    assert strip_markup("see <https://example.com/a>") == "see https://example.com/a"


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
