"""Answer backends by name: the one table the CLI's choices, settings validation and the runtime read.

A backend is registered with a factory that builds its Answerer from the runtime's parts, and with
what it needs from the settings. Implementations are imported only when a factory runs, so reading
the names (the CLI, Settings.validate) loads no model library.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from common.errors import ConfigError
from common.settings import add_check

if TYPE_CHECKING:
    from bot.answering.answerers.base import Answerer
    from bot.state.redaction import Redactor
    from common.settings import Settings
    from kb.embedding import Embedder

AUTO = "auto"  # not a backend: the first available of those `auto` tries, else the fallback
FALLBACK = "template"  # always available; answers when a generator cannot


class Parts(Protocol):
    """What a factory may use: the runtime's settings and shared collaborators."""

    settings: Settings
    embedder: Embedder
    redactor: Redactor


def _always(settings: Settings) -> bool:
    return True


def _no_problem(settings: Settings) -> str:
    return ""


@dataclass(frozen=True)
class Backend:
    """One answer backend: its name, its factory, and what it needs from the settings."""

    name: str
    build: Callable[[Parts], Answerer]
    summary: str
    # Whether the runtime builds it at all (a server backend needs its URL).
    configured: Callable[[Settings], bool] = _always
    # Why these settings cannot run it when it is chosen (ADOPTBOT_BACKEND, --backend); "" when they can.
    problem: Callable[[Settings], str] = _no_problem
    # Why `auto` tries it with these settings ("" when auto does not); auto tries by ascending auto_rank.
    auto_reason: Callable[[Settings], str] = _no_problem
    auto_rank: int = 100


_BACKENDS: dict[str, Backend] = {}


def register(backend: Backend) -> Backend:
    """Add a backend (a plugin may too); its name becomes a valid ADOPTBOT_BACKEND and --backend."""
    if backend.name == AUTO or not backend.name.isidentifier():
        raise ValueError(f"{backend.name!r} cannot name a backend")
    if backend.name in _BACKENDS:
        raise ValueError(f"a backend named {backend.name!r} is already registered")
    _BACKENDS[backend.name] = backend
    return backend


def unregister(name: str) -> None:
    """Remove a backend registered by register()."""
    _BACKENDS.pop(name, None)


def backends() -> list[Backend]:
    """Every registered backend, in registration order."""
    return list(_BACKENDS.values())


def backend_names() -> tuple[str, ...]:
    """What ADOPTBOT_BACKEND and --backend accept: auto, then every registered backend."""
    return (AUTO, *_BACKENDS)


def problem(settings: Settings) -> str:
    """Why settings.backend cannot run with these settings, naming the variables to set; "" when it can."""
    if settings.backend == AUTO:
        return ""
    backend = _BACKENDS.get(settings.backend)
    if backend is None:
        return f"ADOPTBOT_BACKEND={settings.backend!r} is not one of {', '.join(backend_names())}."
    return backend.problem(settings)


def build_answerers(parts: Parts) -> dict[str, Answerer]:
    """One answerer per backend these settings configure, by name."""
    built = {b.name: b.build(parts) for b in _BACKENDS.values() if b.configured(parts.settings)}
    if FALLBACK not in built:
        raise ConfigError(f"The {FALLBACK} backend is not registered; it answers when no generator can.")
    return built


def auto_plan(settings: Settings) -> dict[str, object]:
    """What `auto` tries before the fallback, in order, and why: the Engine's auto and auto_reason."""
    tried = sorted(
        ((b.auto_rank, b.name, b.auto_reason(settings)) for b in _BACKENDS.values() if b.name != FALLBACK),
        key=lambda r: r[0],
    )
    chosen = [(name, reason) for _, name, reason in tried if reason]
    if chosen:
        reason = chosen[0][1]
    else:
        reason = (
            "no OpenAI-compatible server or larger local model is configured, and the shipped SmolLM2-135M "
            "answers worse than the template; set ADOPTBOT_OPENAI_BASE_URL or ADOPTBOT_LLM_MODEL_PATH to generate"
        )
    return {"auto": tuple(name for name, _ in chosen), "auto_reason": reason}


# -- the built-in backends -------------------------------------------------------------------------


def _template(parts: Parts) -> Answerer:
    from bot.answering.answerers.template import TemplateAnswerer

    return TemplateAnswerer(embedder=parts.embedder)


def _llm(parts: Parts) -> Answerer:
    from bot.answering.answerers.llama_cpp import LlamaCppAnswerer

    s = parts.settings
    return LlamaCppAnswerer(
        model_path=s.llm_model_path or None,
        max_tokens=s.llm_max_tokens,
        timeout_s=s.llm_timeout_s,
        threads=s.llm_threads,
    )


def _openai(parts: Parts) -> Answerer:
    from bot.answering.answerers.openai_compat import OpenAICompatibleAnswerer

    s = parts.settings
    return OpenAICompatibleAnswerer(
        base_url=s.openai_base_url,
        model=s.openai_model,
        api_key=s.openai_api_key,
        timeout_s=s.openai_timeout_s,
        redactor=parts.redactor,
    )


def _openai_problem(s: Settings) -> str:
    if s.openai_base_url and s.openai_model:
        return ""
    return (
        "The openai backend needs ADOPTBOT_OPENAI_BASE_URL (e.g. http://localhost:8000/v1) and ADOPTBOT_OPENAI_MODEL."
    )


# The shipped SmolLM2-135M answers worse than the template on our eval set (docs/benchmarks.md), so
# `auto` uses a local model only when one was chosen with ADOPTBOT_LLM_MODEL_PATH.
register(
    Backend(
        name="llm",
        build=_llm,
        summary="a local GGUF model through llama-cpp-python",
        auto_reason=lambda s: (
            f"the local model {Path(s.llm_model_path).name} (ADOPTBOT_LLM_MODEL_PATH)" if s.llm_model_path else ""
        ),
        auto_rank=20,
    )
)
register(Backend(name=FALLBACK, build=_template, summary="sentences quoted from the passages, no model"))
register(
    Backend(
        name="openai",
        build=_openai,
        summary="an OpenAI-compatible chat completions server (llama.cpp server, vLLM, ...)",
        configured=lambda s: bool(s.openai_base_url),
        problem=_openai_problem,
        auto_reason=lambda s: (
            f"the OpenAI-compatible server at {s.openai_base_url} when it answers" if s.openai_base_url else ""
        ),
        auto_rank=10,
    )
)


add_check(problem)  # ADOPTBOT_BACKEND is refused when no registered backend can run it
