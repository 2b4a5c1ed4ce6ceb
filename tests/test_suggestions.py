"""Suggested next questions, decided by the engine over a small knowledge base indexed with the real model."""

# The tests take the fixture `suggesting` (imported below) as a parameter of the same name.
# ruff: noqa: F811

from __future__ import annotations

from collections.abc import Sequence

from adoptbot.runtime import Runtime
from bot.answering.answerers.template import TemplateAnswerer
from bot.answering.engine import Engine
from bot.answering.suggestions import Suggester
from bot.types import Question, Turn
from kb.embedding import Embedder
from tests.suggest_kb import DESCALE, DOCS, UNKNOWABLE, WRITTEN, suggesting, suggesting_runtime  # noqa: F401
from tests.test_clarify import TIE, TwoTopics


def test_each_answer_offers_questions_editors_wrote_and_each_is_answered_from_its_own_section(suggesting):
    engine = suggesting.engine
    for asked in (q for q in WRITTEN if q != UNKNOWABLE):
        answer = engine.answer(Question(asked))
        assert answer.status == "answered", asked
        offered = [c.question for c in answer.suggestions]
        assert 2 <= len(offered) <= 3, (asked, offered)
        assert asked not in offered and len(set(offered)) == len(offered)
        assert UNKNOWABLE not in offered  # in the toner section, but the assistant declines it
        for suggestion in offered:
            followed = engine.answer(Question(suggestion))  # what a click asks
            assert followed.status == "answered", suggestion
            assert (followed.sources[0].source, followed.sources[0].section) == WRITTEN[suggestion], suggestion
    assert engine.answer(Question(UNKNOWABLE)).status == "no_answer"


def test_the_answered_section_offers_its_own_questions_first_then_the_other_retrieved_sections(suggesting):
    answer = suggesting.engine.answer(Question(DESCALE))
    sections = [WRITTEN[c.question][1] for c in answer.suggestions]
    assert sections[:2] == ["Descaling", "Descaling"] and sections[2] != "Descaling"
    assert answer.to_dict()["suggestions"][0] == {
        "label": answer.suggestions[0].label,
        "question": answer.suggestions[0].question,
    }


def test_what_was_just_asked_in_other_words_or_earlier_in_the_thread_is_not_offered(suggesting):
    engine = suggesting.engine
    reworded = (
        "how often should the coffee machine be descaled",
        "How often do we need to descale the coffee machine?",
    )
    for asked in reworded:
        answer = engine.answer(Question(asked))
        assert answer.status == "answered" and answer.suggestions
        assert DESCALE not in [c.question for c in answer.suggestions], asked
    first = engine.answer(Question(DESCALE)).suggestions[0].question
    history = (Turn("user", first), Turn("assistant", "Limescale makes the coffee taste bitter [1]."))
    again = engine.answer(Question(DESCALE, history=history))
    assert again.suggestions and first not in [c.question for c in again.suggestions]


def test_declines_small_talk_and_clarifying_questions_offer_nothing(suggesting):
    engine = suggesting.engine
    for text in ("What is the capital of France?", UNKNOWABLE, "thanks!"):
        answer = engine.answer(Question(text))
        assert answer.status in ("no_answer", "smalltalk") and answer.suggestions == (), text
    clarifying = Engine(
        retriever=TwoTopics(TIE), answerers={"template": TemplateAnswerer()}, backend="template", suggester=Suggester()
    ).answer(Question("which architecture makes the nicest pictures?"))
    assert clarifying.status == "clarify" and clarifying.suggestions == ()


class Counting(Embedder):
    """The real embedder, counting the texts it embeds."""

    def __init__(self, inner: Embedder) -> None:
        self.inner, self.name, self.texts = inner, inner.name, 0

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        self.texts += len(texts)
        return self.inner.embed(texts)

    def count_tokens(self, text: str) -> int:
        return self.inner.count_tokens(text)


def test_suggestions_cost_no_embedding_of_their_own(suggesting):
    counts = []
    for suggest in (False, True):
        counting = Counting(suggesting.embedder)
        runtime = Runtime(suggesting.settings, embedder=counting, store=suggesting.store)
        if not suggest:
            runtime.engine.suggester = None
        answer = runtime.engine.answer(Question(DESCALE))
        assert bool(answer.suggestions) is suggest
        counts.append(counting.texts)
    assert counts[0] == counts[1]  # the question and the passages' sentences, with suggestions or without


def test_a_reindex_offers_the_questions_editors_wrote_since(tmp_path, real_embedder):
    runtime = suggesting_runtime(tmp_path, real_embedder)
    before = [c.question for c in runtime.engine.answer(Question(DESCALE)).suggestions]
    assert "Why does the coffee taste bitter and chalky?" in before
    coffee = runtime.settings.knowledge_dir / "guidance/coffee.md"
    new = "Why does the coffee taste chalky and bitter after a month?"
    coffee.write_text(DOCS["guidance/coffee.md"].replace("Why does the coffee taste bitter and chalky?", new))
    runtime.ingest(progress=False)
    after = [c.question for c in runtime.engine.answer(Question(DESCALE)).suggestions]
    assert new in after and "Why does the coffee taste bitter and chalky?" not in after
