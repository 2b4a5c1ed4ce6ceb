"""`adoptbot teams-package`: the zip a Teams admin uploads (manifest.json and the two icons).

With `copilot=True` the same app also declares itself a custom engine agent, so it can be added to
Microsoft 365 Copilot Chat: `copilotAgents.customEngineAgents` names the bot (manifest 1.21 or later;
Copilot requires the bot's personal scope and the short name and description, which the template has).
"""

from __future__ import annotations

import json
import re
import zipfile
from pathlib import Path
from typing import Any

from common.errors import ConfigError

DEPLOY = Path(__file__).resolve().parents[2] / "deploy" / "teams"
GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
SEMVER = re.compile(r"^\d+\.\d+\.\d+$")


def build_package(manifest: dict[str, Any], *, out: Path, source: Path = DEPLOY) -> Path:
    """Zip a manifest (from `build_manifest`) with the icons; returns the zip's path."""
    out.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("manifest.json", json.dumps(manifest, indent=2))
        for icon in ("color.png", "outline.png"):
            zf.write(source / icon, icon)
    return out


def build_manifest(
    *,
    app_id: str,
    developer_name: str,
    website_url: str,
    copilot: bool = False,
    version: str = "1.0.0",
    source: Path = DEPLOY,
) -> dict[str, Any]:
    """The manifest from the template in `source`, filled in; with the custom engine agent for Copilot Chat."""
    if not GUID.match(app_id or ""):
        raise ConfigError(
            f"{app_id!r} is not a Microsoft App ID: pass --app-id with the Azure Bot's Microsoft App ID "
            "(a GUID; Azure portal -> your Azure Bot -> Configuration), or set "
            "CONNECTIONS__SERVICE_CONNECTION__SETTINGS__CLIENTID."
        )
    if not website_url.startswith("https://"):
        raise ConfigError(f"--website-url must be an https:// address (got {website_url!r}).")
    if not SEMVER.match(version):
        raise ConfigError(f"--app-version must look like 1.2.3, above the version uploaded before (got {version!r}).")
    template = (source / "manifest.json").read_text(encoding="utf-8")
    for key, value in {"APP_ID": app_id.lower(), "DEVELOPER_NAME": developer_name, "WEBSITE_URL": website_url}.items():
        template = template.replace("{{" + key + "}}", json.dumps(value)[1:-1])
    manifest = json.loads(template)  # fails loudly if the template is broken
    manifest["version"] = version
    if copilot:
        # Copilot Chat talks to the same bot: the agent's id is the bot's id (one agent per app).
        manifest["copilotAgents"] = {"customEngineAgents": [{"type": "bot", "id": manifest["bots"][0]["botId"]}]}
    return manifest
