"""The rule that reads a message against its conversation, and the editors' synonyms file."""

from __future__ import annotations

import pytest

from bot.answering.conversation import addressed_to_bot, read, smalltalk
from bot.answering.lexical import terms
from bot.answering.vocabulary import VocabularyError, VocabularyFile, parse
from bot.types import Turn

TOPICS = frozenset(
    terms("generative adversarial networks GANs variational autoencoders VAEs hallucinations checklist models images")
)


def topics() -> frozenset[str]:
    return TOPICS


def history(*pairs: tuple[str, str]) -> tuple[Turn, ...]:
    return tuple(t for q, a in pairs for t in (Turn("user", q), Turn("assistant", a)))


GAN = history(("What is a GAN?", "A GAN trains two networks against each other [1].\n\nSources:\n[1] Architectures"))


@pytest.mark.parametrize(
    ("text", "link"),
    [
        ("What is a VAE?", "none"),  # names its own subject
        ("What's the weather tomorrow in Paris?", "loose"),  # no subject of its own: see below
        ("how do I book a meeting room?", "loose"),
        ("Is there a model that makes images?", "none"),  # "is there" is not a reference
        ("and what about VAEs?", "substitution"),
        ("and for images?", "substitution"),
        ("How do we reduce them?", "reference"),
        ("why?", "reference"),
        ("give me an example", "reference"),
        ("why does that matter?", "reference"),
        ("what is the second step?", "reference"),  # no list in the last answer to pick from
        ("why does the generator lose sometimes?", "none"),
        ("and who approves my expense reports?", "loose"),  # a new question after "and", not "about X"
    ],
)
def test_a_message_leans_on_the_thread_only_when_it_refers_back(text, link):
    assert read(text, GAN, topic_terms=topics).link == link


def test_a_message_without_a_subject_of_its_own_carries_its_words_for_the_coverage_check():
    reading = read("What's the weather tomorrow in Paris?", GAN, topic_terms=topics)
    assert set(reading.own.split()) == set(terms("weather tomorrow Paris"))  # the engine declines unless covered
    bigger = read("is bigger always better?", GAN, topic_terms=topics)
    assert bigger.own == "bigger" and "GAN" in bigger.query


def test_a_bare_why_asks_the_last_question_again():
    reading = read(
        "why though?", history(("do we need a person checking what the bot says?", "...")), topic_terms=topics
    )
    assert reading.link == "reference" and "person checking" in reading.query


def test_a_first_message_stands_on_its_own_whatever_it_says():
    reading = read("How do we reduce them?", (), topic_terms=topics)
    assert (reading.link, reading.query) == ("none", "How do we reduce them?")


def test_a_reference_is_resolved_to_the_subject_of_the_last_question():
    reading = read("How do we reduce them?", history(("What is a hallucination?", "...")), topic_terms=topics)
    assert "hallucination" in reading.query and "hallucination" in reading.focus


def test_a_reference_after_a_question_that_named_no_topic_leans_on_what_the_last_answer_was_about():
    said = "Customer support automation: draft replies to tickets [1]."
    asked = history(("our support team is drowning in tickets, could an LLM help?", said))
    seen: list[str] = []

    def subject(answer: str) -> str:
        seen.append(answer)
        return "Customer support automation"

    reading = read("how would we roll it out?", asked, topic_terms=topics, subject=subject)
    assert reading.link == "reference" and "Customer support automation" in reading.query
    assert seen == [said]  # asked about the last answer itself
    earlier = history(("What is a hallucination?", said))
    named = read("How do we reduce them?", earlier, topic_terms=topics, subject=subject)
    assert "hallucination" in named.query and "Customer support" not in named.query  # the question's own subject wins


def test_and_what_about_asks_the_last_question_about_the_new_subject():
    reading = read("and what about VAEs?", history(("What are GANs good for?", "...")), topic_terms=topics)
    assert reading.own == "vaes" and "GANs" in reading.query  # searched with the old question
    assert "GANs" not in reading.focus and "good for" in reading.focus  # answered about VAEs


def test_an_ordinal_picks_the_item_of_the_last_answers_list():
    answer = (
        "The *Launch checklist* has 3 items [1]:\n1. Name an owner.\n2. Put human review on risky outputs.\n3. Log."
    )
    reading = read("what's the second item?", history(("What is on the checklist?", answer)), topic_terms=topics)
    assert reading.link == "ordinal" and "human review" in reading.query
    last = read("and the last one?", history(("What is on the checklist?", answer)), topic_terms=topics)
    assert "Log" in last.query


def test_a_question_about_a_line_of_the_last_answer_is_searched_with_that_line():
    answer = "The checklist [1]:\n1. Define objectives.\n5. Establish monitoring - track performance."
    reading = read("why does monitoring matter?", history(("What is on the checklist?", answer)), topic_terms=topics)
    assert reading.link == "mention" and "track performance" in reading.query
    assert reading.focus == "why does monitoring matter?"


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("hello", "greeting"),
        ("Hi there!", "greeting"),
        ("good morning adoptbot", "greeting"),
        ("how are you?", "greeting"),
        ("thanks!", "thanks"),
        ("great, thank you 🙏", "thanks"),
        ("cheers, that helps", "thanks"),
        ("ok cool", "thanks"),
        ("who are you?", "about"),
        ("What can you do?", "about"),
        ("help", "about"),
        ("bye!", "goodbye"),
        ("hi there, who are you?", "about"),
        ("ok cool, bye for now", "goodbye"),
        ("perfect, that's all for now. bye", "goodbye"),
        ("awesome, super helpful 🙏", "thanks"),
        ("ok that's it, thanks a lot!", "thanks"),
        ("thanks, but is that all for now?", None),
        ("bye the way, what is a VAE", None),
        ("What is a GAN?", None),
        ("thanks, and what about VAEs?", None),
        ("hi, how do I get started with an LLM pilot?", None),
        ("great question: what is RLHF?", None),
    ],
)
def test_small_talk_is_told_apart_from_questions(text, kind):
    assert smalltalk(text) == kind


@pytest.mark.parametrize(
    ("text", "for_bot"),
    [
        ("and what about VAEs?", True),
        ("why does monitoring matter", True),
        ("Explain the second step", True),
        ("ok I'll book a slot with the vendor tomorrow", False),
        ("lunch?", True),  # a question: better answered (and declined) than ignored
        ("nice one", False),
        ("", False),
    ],
)
def test_thread_replies_without_a_mention_are_for_the_bot_only_when_they_ask(text, for_bot):
    assert addressed_to_bot(text) is for_bot


def test_synonyms_expand_phrases_by_their_word_forms():
    expansions = parse("- when: [go live, switch on]\n  add: production deployment\n")
    assert expansions.expand("When are we going live?") == "When are we going live? production deployment"
    assert expansions.expand("What is a GAN?") == "What is a GAN?"


@pytest.mark.parametrize(
    "text",
    ["- when: [go live]\n", "just a string", "- {when: [], add: x}", "[unclosed"],
    ids=["no-add", "str", "empty", "yaml"],
)
def test_a_broken_synonyms_file_is_refused_with_the_reason(text):
    with pytest.raises(VocabularyError, match=r"synonyms\.yaml"):
        parse(text)


def test_a_broken_edit_keeps_the_last_good_synonyms(tmp_path, caplog):
    path = tmp_path / "synonyms.yaml"
    vocabulary = VocabularyFile(path)
    assert vocabulary.current().rules == ()  # no file: no expansions
    path.write_text("- when: [go live]\n  add: production\n")
    assert vocabulary.current().expand("go live") == "go live production"
    path.write_text("- when: [go live]\n  add: production\n- oops: [\n")
    assert vocabulary.current().expand("go live") == "go live production"
    assert "keeping the previous synonyms" in caplog.text


def test_the_synonyms_file_gets_the_knowledge_files_yaml_limits():
    bomb = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, "
        f"*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}]\n"
        for i in range(8)
    )
    with pytest.raises(VocabularyError, match=r"synonyms\.yaml"):
        parse(bomb)


def test_a_follow_up_carries_its_own_words_to_the_answer_and_a_new_question_carries_none():
    history = [Turn("user", "What is a VAE?"), Turn("assistant", "A VAE encodes its input into a latent space [1].")]
    assert read("What is it good for?", history).asks == "good"
    assert read("why?", history).asks == ""
    assert read("What is a VAE?").asks == ""


def test_the_words_a_follow_up_asks_about_pick_the_sentence_that_answers_it(real_embedder):
    from bot.answering.answerers.base import Prompt
    from bot.answering.answerers.template import TemplateAnswerer
    from bot.types import Passage

    text = (
        "A VAE encodes its input into a compressed latent space and decodes it back into content. Sampling "
        "different points of that space yields variations of the input rather than exact copies. "
        "Good for: synthetic data sets for simulations, design variations, and anomaly detection."
    )
    passage = Passage(id="p", text=text, source="guidance/a.md", title="Architectures", section="VAEs", score=0.9)
    history = (Turn("user", "What is a VAE?"), Turn("assistant", text + " [1]"))  # it was all said
    question = "What is it good for? (What is a VAE?)"
    reading = read("What is it good for?", history)
    template = TemplateAnswerer(embedder=real_embedder)
    plain = template.answer(Prompt(question=question, passages=[passage], history=history))
    stressed = template.answer(Prompt(question=question, passages=[passage], history=history, emphasis=reading.asks))
    # Everything was said once; asked what it is good for, the answer is the line that says so, not the first.
    assert "synthetic data" not in plain  # without the follow-up's own words, the first sentence again
    assert "synthetic data" in stressed
