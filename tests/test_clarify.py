"""Asking instead of guessing: the engine's decision, and the clarifying question in `ask --json` and the terminal."""

from __future__ import annotations

import json

from bot.answering.answerers.template import TemplateAnswerer
from bot.answering.engine import Clarifier, Engine
from bot.answering.evaluation import EvalItem, outcome
from bot.answering.retrieval import Retrieval
from bot.types import Passage, Question


def passage(source: str, section: str, score: float, text: str = "") -> Passage:
    return Passage(
        id=f"{source}#{section}", text=text or f"{section} is explained here in a sentence [1].", source=source,
        title=source.removesuffix(".md").title(), section=section, score=score, url=f"https://intra.example/{source}",
        last_reviewed="2026-11-20",
    )  # fmt: skip


class TwoTopics:
    """A retriever whose dense search finds `dense` (cosine similarities), whatever it is asked."""

    def __init__(self, dense: list[Passage]) -> None:
        self.dense = dense
        self.asked: list[tuple[str, str]] = []

    def retrieve(self, query: str, *, mode: str | None = None, k: int | None = None, scope: object = None) -> Retrieval:
        self.asked.append((query, mode or "hybrid"))
        ranked = sorted(self.dense, key=lambda p: p.score, reverse=True)
        if mode != "dense":  # fused scores: the named topic first when the question names one
            ranked = sorted(ranked, key=lambda p: p.section.lower() not in query.lower())
            ranked = [p.with_score(1 / (60 + n)) for n, p in enumerate(ranked, start=1)]
        by_similarity = sorted(self.dense, key=lambda p: p.score, reverse=True)
        best = max(p.score for p in self.dense)
        return Retrieval(passages=ranked[: k or 5], dense_best=best, by_similarity=by_similarity)

    def topic_terms(self) -> frozenset[str]:
        return frozenset()

    def vocabulary(self) -> frozenset[str]:
        return frozenset(w.lower() for p in self.dense for w in f"{p.title} {p.section} {p.text}".split())


def engine(dense: list[Passage]) -> Engine:
    return Engine(retriever=TwoTopics(dense), answerers={"template": TemplateAnswerer()}, backend="template")


TIE = [
    passage("gans.md", "Generative adversarial networks", 0.612),
    passage("diffusion.md", "Diffusion models", 0.610),
    passage("vaes.md", "Variational autoencoders", 0.605),
    passage("gans.md", "Overview", 0.41),
]


def test_three_sections_about_equally_close_get_a_clarifying_question_with_their_topics():
    answer = engine(TIE).answer(Question("which architecture makes the nicest pictures?"))
    assert answer.status == "clarify" and not answer.sources and answer.backend == "none"
    assert [c.label for c in answer.choices] == [
        "Generative adversarial networks", "Diffusion models", "Variational autoencoders"
    ]  # fmt: skip
    assert answer.choices[1].question == "which architecture makes the nicest pictures? (Diffusion models)"
    # What it names comes from the retrieved passages' metadata, as citations always do.
    assert [(c.source, c.section, c.url) for c in answer.related] == [
        ("gans.md", "Generative adversarial networks", "https://intra.example/gans.md"),
        ("diffusion.md", "Diffusion models", "https://intra.example/diffusion.md"),
        ("vaes.md", "Variational autoencoders", "https://intra.example/vaes.md"),
    ]
    assert answer.to_dict()["choices"][0] == {
        "label": "Generative adversarial networks",
        "question": "which architecture makes the nicest pictures? (Generative adversarial networks)",
    }


def test_choosing_a_topic_answers_it_from_that_topic():
    e = engine(TIE)
    choice = e.answer(Question("which architecture makes the nicest pictures?")).choices[1]
    answer = e.answer(Question(choice.question))
    assert answer.status == "answered"
    assert answer.sources[0].section == "Diffusion models"


def test_a_clear_winner_or_only_two_close_topics_are_answered_without_asking():
    clear = [passage("gans.md", "Generative adversarial networks", 0.70), *TIE[1:]]
    assert engine(clear).answer(Question("what is a generator network?")).status == "answered"
    two = [*TIE[:2], passage("vaes.md", "Variational autoencoders", 0.59)]
    assert engine(two).answer(Question("what is a generator network?")).status == "answered"
    one_section = [passage("gans.md", "Training", 0.612), passage("gans.md", "Training", 0.611)]  # neighbours
    assert Clarifier().candidates(one_section) == []


def test_without_a_clarifier_it_answers_as_before():
    e = Engine(
        retriever=TwoTopics(TIE), answerers={"template": TemplateAnswerer()}, backend="template", clarifier=None
    )
    assert e.answer(Question("which architecture makes the nicest pictures?")).status == "answered"


def test_a_generic_section_is_named_by_its_document_and_three_topics_at_most():
    dense = [passage(f"doc{n}.md", "Overview", 0.6 - n * 0.001) for n in range(5)]
    answer = engine(dense).answer(Question("tell me about the thing"))
    assert [c.label for c in answer.choices] == ["Doc0", "Doc1", "Doc2"]
    assert Clarifier(max_gap=0.0).candidates(dense) == []


def test_the_evaluation_scores_a_clarifying_question_as_clarified():
    answer = engine(TIE).answer(Question("which architecture makes the nicest pictures?"))
    item = EvalItem(id="1", turns=("which architecture makes the nicest pictures?",), kind="in", must=(("GAN",),))
    assert outcome(item, answer, ok=False) == "clarified"
    declined = EvalItem(id="2", turns=("our budget for pictures?",), kind="out")
    assert outcome(declined, answer, ok=False) == "clarified"  # not counted as an answer with a citation


def test_the_clarifying_question_is_audited_like_any_answer(tmp_path):
    from bot.state.feedback import FeedbackStore

    store = FeedbackStore(tmp_path / "feedback.sqlite3", user_key=b"k" * 32)
    answer = engine(TIE).answer(Question("which architecture makes the nicest pictures?"))
    answer_id = store.record_answer("terminal", answer, channel_kind="terminal", user="me")
    assert store.answer(answer_id)["status"] == "clarify"
    assert json.loads(json.dumps(answer.to_dict()))["status"] == "clarify"
