from bot.text import clean_question


def test_chat_markup_is_reduced_to_plain_text():
    text, notes = clean_question(
        "<@U123ABC> what about <https://example.com/gdpr|GDPR> and <#C999|ai-help> &amp; <at>adoptbot</at> HIPAA?",
        limit=2000,
    )
    assert text == "what about GDPR and #ai-help & HIPAA?"
    assert notes == []


def test_control_characters_go_and_emoji_and_other_languages_stay():
    text, _ = clean_question("Was ist\x00 ein\x1b[31m LLM?\u200b 🤖\n\nbitte", limit=2000)
    assert text == "Was ist ein[31m LLM? 🤖 bitte"


def test_long_questions_are_cut_at_a_word_with_a_note():
    text, notes = clean_question("word " * 10_000, limit=2000)
    assert len(text) <= 2000 and text.endswith("word")
    assert "only the first" in notes[0] and "49,999" in notes[0]
