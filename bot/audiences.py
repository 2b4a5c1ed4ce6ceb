"""Audiences: which documents each Slack channel, Teams team and direct chat may see.

A document marked `audience: [hr, managers]` (front matter, sidecar or manifest) is cited only where
one of those audiences is allowed; a document without an audience is visible everywhere. The
deployment's audiences file (ADOPTBOT_AUDIENCES_FILE, default `<data dir>/audiences.yaml`) says
which audiences each place may see:

    slack:
      C0123ABCD: [hr, managers]   # a channel id
      default: []                 # every other Slack channel
    teams:
      "19:abc...@thread.tacv2": [hr]   # a team id
      default: []                 # every other team and group chat
    dm: [managers]                # Slack direct messages and Teams personal chats

Without the file every place sees every document. With it, a place it does not name gets its
platform's `default` (none: only unmarked documents), and `*` in a list means every audience.
Questions say where they were asked (`Question.place`); the terminal (an empty place) sees everything.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from common.errors import ConfigError
from kb.files import BadFile, load_yaml

ALL = "*"
MAX_BYTES = 1_000_000
PLATFORMS = ("slack", "teams")
TERMINAL = ""  # the place of the terminal: it sees every document

# None: every document is visible; a set: documents without an audience, and those sharing one with it.
Scope = frozenset[str] | None


def label(text: str) -> str:
    """An audience as compared: case and spacing do not matter ("All  Staff" is "all staff")."""
    return " ".join(text.split()).casefold()


def labels(raw: str | Iterable[str]) -> frozenset[str]:
    """Audiences as compared, from a list or the comma-separated form stored in the index."""
    parts = raw.split(",") if isinstance(raw, str) else raw
    return frozenset(label(p) for p in parts if label(p))


def visible(audience: frozenset[str], scope: Scope) -> bool:
    """Whether a document with these (compared) audiences may be cited in scope."""
    return scope is None or not audience or ALL in scope or bool(audience & scope)


def slack_place(channel: str) -> str:
    """Where a Slack message was asked: its channel id (D... is a direct message)."""
    return f"slack:{channel}"


def teams_place(conversation_type: str | None, channel_data: Any) -> str:
    """Where a Teams message was asked: a personal chat, or the team in its channel data (none: a group chat)."""
    if (conversation_type or "personal") == "personal":
        return "teams:personal"
    team = _get(channel_data, "team")
    return f"teams:{_get(team, 'id') or ''}"


def check_place(text: str) -> str:
    """A place typed by a person (`adoptbot ask --place`); ValueError says what one looks like."""
    platform, _, where = text.strip().partition(":")
    if platform not in PLATFORMS or not where.strip():
        raise ValueError(
            f"{text!r} is not a place: use slack:CHANNEL_ID (D... for a direct message), teams:TEAM_ID "
            "or teams:personal"
        )
    return f"{platform}:{where.strip()}"


def _get(value: Any, key: str) -> Any:
    return value.get(key) if isinstance(value, Mapping) else getattr(value, key, None)


@dataclass(frozen=True)
class Audiences:
    """The audiences each place may see; `configured` is False without a file (everything everywhere)."""

    slack: Mapping[str, frozenset[str]] = field(default_factory=dict)
    teams: Mapping[str, frozenset[str]] = field(default_factory=dict)
    defaults: Mapping[str, frozenset[str]] = field(default_factory=dict)  # per platform, and "dm"
    configured: bool = False

    def scope(self, place: str) -> Scope:
        """The audiences a question asked at place may see (None: all of them)."""
        if not self.configured or place == TERMINAL:
            return None
        platform, _, where = place.partition(":")
        if platform == "slack":
            if where.startswith("D"):
                return self.defaults.get("dm", frozenset())
            return self.slack.get(where, self.defaults.get("slack", frozenset()))
        if platform == "teams":
            if where == "personal":
                return self.defaults.get("dm", frozenset())
            return self.teams.get(where, self.defaults.get("teams", frozenset()))
        return frozenset()  # an unknown place sees only documents without an audience

    @classmethod
    def load(cls, path: Path, *, required: bool) -> Audiences:
        """The audiences file at path; missing is everything everywhere, unless required (set explicitly)."""
        try:
            raw = path.read_bytes()
        except (FileNotFoundError, NotADirectoryError):
            # The default path under a data directory that is not there (yet): no file. An unusable
            # data directory is reported where it is used, naming the directory.
            if required:
                raise ConfigError(
                    f"The audiences file {path} does not exist: create it (see the README, 'Audiences') or unset "
                    "ADOPTBOT_AUDIENCES_FILE to show every document everywhere."
                ) from None
            return cls()
        except OSError as e:
            raise ConfigError(f"Cannot read the audiences file {path} ({e.strerror or e}): make it readable.") from None
        if len(raw) > MAX_BYTES:
            raise ConfigError(f"The audiences file {path} is larger than {MAX_BYTES:,} bytes: it cannot be right.")
        try:
            return parse(raw.decode("utf-8"))
        except UnicodeDecodeError:
            raise ConfigError(f"The audiences file {path} is not UTF-8 text: save it as UTF-8.") from None
        except (BadFile, ValueError) as e:
            raise ConfigError(f"The audiences file {path}: {e}. Fix it and start adoptbot again.") from None


def parse(text: str) -> Audiences:
    """Audiences from the file's YAML text; ValueError (or BadFile) says what is wrong."""
    data = load_yaml(text, "it")
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ValueError("it must be a mapping with 'slack', 'teams' and 'dm', for example: slack: {C0123: [hr]}")
    unknown = sorted(str(k) for k in data if k not in (*PLATFORMS, "dm"))
    if unknown:
        raise ValueError(f"unknown key {unknown[0]!r}: use slack, teams and dm")
    places: dict[str, dict[str, frozenset[str]]] = {}
    defaults: dict[str, frozenset[str]] = {}
    for platform in PLATFORMS:
        section = data.get(platform) or {}
        if not isinstance(section, dict):
            raise ValueError(f"'{platform}' must map ids to lists of audiences, for example: {platform}: {{ID: [hr]}}")
        places[platform] = {}
        for key, value in section.items():
            if not isinstance(key, str) or not key.strip():
                raise ValueError(f"'{platform}' has the key {key!r}, which is not an id: put ids in quotes")
            audiences = _audiences(value, f"{platform}: {key}")
            if key == "default":
                defaults[platform] = audiences
            else:
                places[platform][key.strip()] = audiences
    if "dm" in data:
        defaults["dm"] = _audiences(data["dm"], "dm")
    return Audiences(slack=places["slack"], teams=places["teams"], defaults=defaults, configured=True)


def _audiences(value: Any, where: str) -> frozenset[str]:
    if value is None:
        return frozenset()
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"'{where}' must be a list of audiences, for example: [hr, managers]")
    return labels(value)
