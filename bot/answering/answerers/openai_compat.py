"""An OpenAI-compatible chat server (vLLM, a llama.cpp server, Ollama, ...) over HTTP.

The server may be another company's: personal data in what people wrote (the question, earlier
turns) is redacted before it is sent. The knowledge base passages are the company's own guidance,
chosen to be sent, and go as they are (a contact address in a passage stays usable).
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from typing import Any

from bot.answering.answerers.chat_model import ChatModelAnswerer
from bot.state.redaction import Redacted, redact
from common.errors import BackendUnavailable, GenerationFailed

PASSAGES_END = "</passages>"


class OpenAICompatibleAnswerer(ChatModelAnswerer):
    """POSTs to {base_url}/chat/completions at temperature 0."""

    name = "openai"

    def __init__(
        self,
        *,
        base_url: str,
        model: str,
        api_key: str = "",
        max_tokens: int = 300,
        timeout_s: float = 30.0,
        redactor: Callable[[str], Redacted] = redact,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.redact = redactor
        self.model = model
        self.api_key = api_key
        self.max_tokens = max_tokens
        self.timeout_s = timeout_s

    def available(self) -> bool:
        return bool(self.base_url and self.model)

    def complete_stream(self, messages: list[dict[str, str]]) -> Iterator[str]:
        """Server-sent events from /chat/completions with stream=true; a server that answers in one JSON works too."""
        if not self.available():
            raise BackendUnavailable(
                "no OpenAI-compatible server configured: set ADOPTBOT_OPENAI_BASE_URL and ADOPTBOT_OPENAI_MODEL"
            )
        body = json.dumps(
            {
                "model": self.model,
                "messages": self.redacted(messages),
                "temperature": 0,
                "max_tokens": self.max_tokens,
                "stream": True,
            }
        ).encode()
        headers = {"Content-Type": "application/json", "Accept": "text/event-stream"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        request = urllib.request.Request(f"{self.base_url}/chat/completions", data=body, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as response:
                if "text/event-stream" not in response.headers.get("Content-Type", ""):
                    yield _content(json.loads(response.read()), "message")
                    return
                for line in response:
                    data = line.decode("utf-8", "replace").strip()
                    if not data.startswith("data:"):
                        continue  # blank separators, comments, event names
                    data = data[5:].strip()
                    if data == "[DONE]":
                        return
                    yield _content(json.loads(data), "delta")
        except urllib.error.HTTPError as e:
            raise GenerationFailed(f"the model server answered HTTP {e.code} at {self.base_url}") from e
        except (urllib.error.URLError, TimeoutError, OSError) as e:
            raise GenerationFailed(f"the model server at {self.base_url} did not answer: {e}") from e
        except json.JSONDecodeError as e:
            raise GenerationFailed(f"the model server at {self.base_url} did not return JSON") from e

    def redacted(self, messages: list[dict[str, str]]) -> list[dict[str, str]]:
        """messages with personal data redacted everywhere but inside the <passages> block."""
        out = []
        for message in messages:
            content = message.get("content", "")
            head, end, tail = content.rpartition(PASSAGES_END)
            safe = head + end + self.redact(tail).text if end else self.redact(content).text
            out.append({**message, "content": safe})
        return out


def _content(data: Any, key: str) -> str:
    """choices[0].message.content of a reply, or choices[0].delta.content of an event (a usage event has none)."""
    try:
        if key == "delta" and not data.get("choices"):
            return ""
        return data["choices"][0][key].get("content") or ""
    except (KeyError, IndexError, TypeError, AttributeError) as e:
        raise GenerationFailed(f"the model server's reply had no choices[0].{key}.content") from e
