"""Questions in German, French and Spanish: read like English ones, answered from the English guidance, and said so."""

from __future__ import annotations

import pytest

from bot.answering.conversation import smalltalk
from bot.answering.language import NOTES, detect
from bot.types import Question


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("What is a GAN?", "en"),
        ("whats the diff between genai and an llm lol", "en"),
        ("LLM?", "en"),  # too short to tell: English
        ("was sind halluzinationen bei LLMs und wie kriegt man das in den griff?", "de"),
        ("c'est quoi la diff entre un LLM et l'IA générative en gros ?", "fr"),
        ("qué es el fine-tuning y por qué importa tanto?", "es"),
    ],
)
def test_the_language_of_a_short_question_is_read_from_its_words(text, language):
    assert detect(text) == language


def test_a_question_in_german_gets_one_line_in_german_saying_the_answer_is_english(starter_runtime):
    answer = starter_runtime.engine.answer(Question("was genau ist ein VAE und wofür nimmt man das?"))
    assert NOTES["de"] in answer.notes and answer.text
    english = starter_runtime.engine.answer(Question("What exactly is a VAE?"))
    assert not any(note in english.notes for note in NOTES.values())


@pytest.mark.parametrize("text", ["danke!", "merci beaucoup", "muchas gracias", "hola", "bonjour"])
def test_small_talk_is_small_talk_in_every_language(text):
    assert smalltalk(text) is not None
