"""Settings are checked at start-up, all of them: each error names its variable and says how to fix it."""

from __future__ import annotations

import pytest

from adoptbot.runtime import Runtime
from bot.answering.answerers import registry
from bot.answering.answerers.base import Answerer
from common.errors import ConfigError
from common.settings import RANGES, Settings
from tests.conftest import FakeEmbedder


def refused(env: dict[str, str]) -> str:
    with pytest.raises(ConfigError) as raised:
        Settings.from_env(env)
    return str(raised.value)


def test_nothing_set_is_a_working_configuration():
    assert Settings.from_env({}).backend == "auto"


@pytest.mark.parametrize(
    ("variable", "value", "says"),
    [
        ("ADOPTBOT_PORT", "70000", "ADOPTBOT_PORT=70000 is out of range: use 0 to 65535"),
        ("ADOPTBOT_MIN_SIMILARITY", "1.5", "ADOPTBOT_MIN_SIMILARITY=1.5 is out of range: use 0 to 1 (a cosine"),
        ("ADOPTBOT_MIN_TERM_COVERAGE", "-0.1", "ADOPTBOT_MIN_TERM_COVERAGE=-0.1 is out of range"),
        ("ADOPTBOT_LLM_TIMEOUT_S", "0.0", "ADOPTBOT_LLM_TIMEOUT_S=0.0 is out of range: use 0.1 to 3600 (seconds)"),
        ("ADOPTBOT_TEAMS_INLINE_S", "20", "ADOPTBOT_TEAMS_INLINE_S=20.0 is out of range: use 0 to 14"),
        ("ADOPTBOT_TOP_K", "500", "ADOPTBOT_TOP_K=500 is out of range: use 1 to 50 (passages)"),
        ("ADOPTBOT_WORKERS", "many", "ADOPTBOT_WORKERS='many' is not a whole number"),
        ("ADOPTBOT_FUSION", "max", "ADOPTBOT_FUSION='max' is not one of rrf, score"),
        ("ADOPTBOT_RETRIEVAL", "sparse", "ADOPTBOT_RETRIEVAL='sparse' is not one of hybrid, dense, bm25"),
        ("ADOPTBOT_BACKEND", "gpt", "ADOPTBOT_BACKEND='gpt' is not one of auto, llm, template, openai"),
        ("ADOPTBOT_BACKEND", "openai", "The openai backend needs ADOPTBOT_OPENAI_BASE_URL"),
        ("ADOPTBOT_CHROMA_URL", "chroma:8000", "ADOPTBOT_CHROMA_URL='chroma:8000' is not an http:// or https:// URL"),
        ("ADOPTBOT_CHROMA_URL", "http://chroma:8000/api", "must be the server's address only"),
        ("ADOPTBOT_CHROMA_URL", "http://chroma:port", "is not a URL like http://host:8000"),
        ("ADOPTBOT_OPENAI_BASE_URL", "localhost:8080/v1", "ADOPTBOT_OPENAI_BASE_URL='localhost:8080/v1' is not an"),
        ("ADOPTBOT_TEAMS_SERVICE_URLS", "https://ok.example,tunnel", "ADOPTBOT_TEAMS_SERVICE_URLS: 'tunnel' is not"),
        ("ADOPTBOT_COLLECTION_PREFIX", "-bad name", "ADOPTBOT_COLLECTION_PREFIX='-bad name' cannot name a Chroma"),
        ("ADOPTBOT_USER_HASH_KEY", "short", "ADOPTBOT_USER_HASH_KEY is 5 characters long: use at least 32"),
        ("ADOPTBOT_ADMIN_TOKEN", "t0ken", "ADOPTBOT_ADMIN_TOKEN is too short to be secret"),
        ("SLACK_BOT_TOKEN", "xapp-1-abc", "SLACK_BOT_TOKEN does not start with xoxb-: copy it again"),
        ("SLACK_APP_TOKEN", "xoxb-1-abc", "SLACK_APP_TOKEN does not start with xapp-"),
        ("ADOPTBOT_SLACK_COMMAND", "adoptbot", "ADOPTBOT_SLACK_COMMAND='adoptbot' is not a Slack slash command"),
        ("ADOPTBOT_SLACK_ADMINS", "U012ABC, alice", "ADOPTBOT_SLACK_ADMINS: 'alice' are not Slack user ids"),
        ("ADOPTBOT_SLACK_EXPERTS_CHANNEL", "#experts", "ADOPTBOT_SLACK_EXPERTS_CHANNEL='#experts' is not a channel"),
        ("ADOPTBOT_SLACK_SUGGESTED_PROMPTS", "a|b|c|d|e", "has 5 prompts: Slack shows at most 4"),
        ("ADOPTBOT_TEAMS_ADMINS", "bob", "ADOPTBOT_TEAMS_ADMINS: 'bob' are not Entra object ids"),
        ("ADOPTBOT_TEAMS_EXPERTS_CHANNEL", "experts", "is not a channel conversation id: use the 19:"),
        ("ADOPTBOT_DATABASE_URL", "mysql://db/adoptbot", "ADOPTBOT_DATABASE_URL must look like postgresql"),
    ],
)
def test_a_value_that_cannot_work_is_refused_naming_the_variable_and_the_fix(variable, value, says):
    assert says in refused({variable: value})


def test_files_given_must_exist_and_folders_must_be_folders(tmp_path):
    model = tmp_path / "model.gguf"
    assert "ADOPTBOT_LLM_MODEL_PATH=" in refused({"ADOPTBOT_LLM_MODEL_PATH": str(model)})
    assert "does not exist: fix the path, or unset it" in refused({"ADOPTBOT_AUDIENCES_FILE": str(tmp_path / "a.yaml")})
    model.write_bytes(b"GGUF")
    assert Settings.from_env({"ADOPTBOT_LLM_MODEL_PATH": str(model)}).llm_model_path == str(model)
    assert "ADOPTBOT_EMBED_MODEL_PATH" in refused({"ADOPTBOT_EMBED_MODEL_PATH": str(model)})  # a file, not a folder
    assert "is not a file" in refused({"ADOPTBOT_SLACK_CHANNELS_FILE": str(tmp_path)})
    assert "ADOPTBOT_DATA_DIR" in refused({"ADOPTBOT_DATA_DIR": str(model)})
    assert Settings.from_env({"ADOPTBOT_KNOWLEDGE_DIR": str(tmp_path / "not-yet")})  # ingest says it is missing


def test_every_problem_is_listed_at_once():
    message = refused({"ADOPTBOT_PORT": "70000", "ADOPTBOT_FUSION": "max", "SLACK_BOT_TOKEN": "nope"})
    assert message.startswith("Fix these settings:")
    assert all(v in message for v in ("ADOPTBOT_PORT", "ADOPTBOT_FUSION", "SLACK_BOT_TOKEN"))


def test_the_defaults_are_inside_every_range():
    defaults = Settings()
    for name, (low, high, _) in RANGES.items():
        assert low <= getattr(defaults, name) <= high, name


class Echo(Answerer):
    name = "echo"

    def answer(self, prompt):
        return "Echo [1]"


@pytest.fixture
def echo_backend():
    registry.register(registry.Backend(name="echo", build=lambda parts: Echo(), summary="says it back"))
    yield
    registry.unregister("echo")


def test_a_registered_backend_is_a_valid_setting_choice_and_built_by_the_runtime(tmp_path, echo_backend):
    from adoptbot.cli import build_parser

    settings = Settings.from_env({"ADOPTBOT_BACKEND": "echo", "ADOPTBOT_DATA_DIR": str(tmp_path)})
    runtime = Runtime(settings, embedder=FakeEmbedder())
    assert isinstance(runtime.answerers["echo"], Echo) and "template" in runtime.answerers
    assert "openai" not in runtime.answerers  # not configured: no ADOPTBOT_OPENAI_BASE_URL
    assert build_parser().parse_args(["ask", "--backend", "echo", "hi"]).backend == "echo"


def test_auto_tries_the_configured_server_then_a_chosen_local_model(tmp_path):
    model = tmp_path / "bigger.gguf"
    model.write_bytes(b"GGUF")
    env = {"ADOPTBOT_OPENAI_BASE_URL": "http://127.0.0.1:9/v1", "ADOPTBOT_LLM_MODEL_PATH": str(model)}
    plan = registry.auto_plan(Settings.from_env(env))
    assert plan["auto"] == ("openai", "llm") and "http://127.0.0.1:9/v1 when it answers" in plan["auto_reason"]
    assert registry.auto_plan(Settings.from_env({}))["auto"] == ()
