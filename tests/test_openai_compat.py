"""The OpenAI-compatible backend against a local fake server (port 0) that records requests."""

import pytest

from bot.answering.answerers.openai_compat import OpenAICompatibleAnswerer
from bot.answering.engine import Engine
from bot.types import Question
from tests.fake_chat import FakeChatServer


@pytest.fixture
def server():
    s = FakeChatServer()
    yield s
    s.close()


def engine_for(runtime, url: str) -> Engine:
    openai = OpenAICompatibleAnswerer(base_url=url, model="qwen-7b", api_key="sk-test", timeout_s=5)
    return Engine(
        retriever=runtime.retriever,
        answerers={"template": runtime.answerers["template"], "openai": openai},
        backend="auto",
    )


def test_answers_through_the_server_with_a_grounded_prompt(starter_runtime, server):
    answer = engine_for(starter_runtime, server.url).answer(Question("How does a GAN work?"))
    assert answer.backend == "openai" and "[1]" in answer.text
    [request] = server.requests
    assert request["path"] == "/v1/chat/completions" and request["auth"] == "Bearer sk-test"
    body = request["body"]
    assert body["model"] == "qwen-7b" and body["temperature"] == 0
    assert body["messages"][0]["role"] == "system" and "<passages>" in body["messages"][1]["content"]


def test_a_failing_server_falls_back_to_the_template(starter_runtime, server):
    server.status = 500
    answer = engine_for(starter_runtime, server.url).answer(Question("How does a GAN work?"))
    assert answer.backend == "template" and "discriminator" in answer.text


def test_an_unreachable_server_falls_back_to_the_template(starter_runtime, server):
    url = server.url
    server.close()
    answer = engine_for(starter_runtime, url).answer(Question("How does a GAN work?"))
    assert answer.backend == "template"
