"""One setting's value read from the environment's text and checked on its own: numbers, lists, URLs, paths.

common.settings reads every setting with these and says, per variable, what to fix.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from common.errors import ConfigError

if TYPE_CHECKING:
    from sqlalchemy.engine import URL


DRIVERS = {"postgresql": "postgresql+psycopg", "postgres": "postgresql+psycopg", "postgresql+psycopg": "", "sqlite": ""}


def parse_url(url: str) -> URL:
    """A SQLAlchemy URL for ADOPTBOT_DATABASE_URL; postgresql:// means psycopg 3. ConfigError when unusable."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        parsed = make_url(url)
    except ArgumentError:
        parsed = None
    if parsed is None or parsed.drivername not in DRIVERS:
        raise ConfigError(
            "ADOPTBOT_DATABASE_URL must look like postgresql+psycopg://user:password@host:5432/adoptbot "
            "(or be empty for the SQLite file in the data directory)."
        )
    driver = DRIVERS[parsed.drivername]
    return parsed.set(drivername=driver) if driver else parsed


MCP_TOKEN = re.compile(r"^[A-Za-z0-9._~+/-]{16,}$")


MCP_EXAMPLE = "ADOPTBOT_MCP_TOKENS=3f9c...e1=slack:C0123ABCD,7d2a...09=teams:personal"


def mcp_token(entry: str) -> tuple[str, str, str]:
    """(token, place, why it cannot work or "") of one TOKEN=PLACE entry of ADOPTBOT_MCP_TOKENS."""
    token, _, place = (part.strip() for part in entry.partition("="))
    platform, _, where = place.partition(":")
    if not MCP_TOKEN.match(token):
        return token, place, (
            "a token must be at least 16 letters, digits or -._~+/ (for example `openssl rand -hex 24`)"
        )
    if platform not in ("slack", "teams") or not where.strip():
        return token, place, (
            "the place after = must be slack:CHANNEL_ID, teams:TEAM_ID or teams:personal, the places the "
            "audiences file names"
        )
    return token, f"{platform}:{where.strip()}", ""


def items(value: str) -> list[str]:
    return [x.strip() for x in value.split(",") if x.strip()]


def bad_url(url: str, *, bare: bool = False) -> str:
    """Why url is not an http(s) URL with a host (and, when bare, nothing after host:port); "" when it is."""
    example = "http://host:8000" if bare else "https://host/path"
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number or out of range
    except ValueError:
        return f"is not a URL like {example}"
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return f"is not an http:// or https:// URL like {example}"
    if bare and (parts.path.strip("/") or parts.query or parts.fragment):
        return f"must be the server's address only, like {example}"
    return ""


def missing(path: Path, *, folder: bool) -> str:
    if not path.exists():
        return "does not exist"
    if folder and not path.is_dir():
        return "is not a folder"
    if not folder and not path.is_file():
        return "is not a file"
    return ""


def convert(name: str, raw: str, default: Any) -> Any:
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
