"""`adoptbot teams-package`, plain and `--copilot`: the zip's manifest against Microsoft's own schema (offline).

The schema is the one Microsoft publishes for the manifest's version, vendored from the npm package
`@microsoft/app-manifest` (tests/data/teams-schema/SOURCE.md).
"""

from __future__ import annotations

import copy
import json
import zipfile
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from adoptbot.cli import main
from tests.conftest import REPO

APP_ID = "0e6f3c2a-1b2c-4d5e-8f90-123456789abc"
SCHEMAS = REPO / "tests" / "data" / "teams-schema"
# The schemas say draft-04 but pin manifestVersion with draft-06's `const`, which Microsoft's own validator
# (ajv) enforces and jsonschema's Draft4Validator would ignore.
ManifestValidator = jsonschema.validators.extend(
    jsonschema.Draft4Validator, {"const": jsonschema.Draft6Validator.VALIDATORS["const"]}
)


def schema_errors(manifest: dict[str, Any], version: str | None = None) -> list[str]:
    """What Microsoft's schema for `version` (the manifest's own by default) says is wrong with it (empty: valid)."""
    version = version or manifest["manifestVersion"]
    schema = json.loads((SCHEMAS / f"v{version}" / "MicrosoftTeams.schema.json").read_text())
    validator = ManifestValidator(schema, format_checker=jsonschema.Draft4Validator.FORMAT_CHECKER)
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(manifest)]


def package(tmp_path: Path, *options: str) -> dict[str, Any]:
    """Run `adoptbot teams-package` with `options`; the manifest in the zip it wrote."""
    out = tmp_path / "app.zip"
    assert main(["teams-package", "--app-id", APP_ID, "--out", str(out), *options], runtime=None) == 0
    with zipfile.ZipFile(out) as zf:
        assert sorted(zf.namelist()) == ["color.png", "manifest.json", "outline.png"]
        return json.loads(zf.read("manifest.json"))


def test_the_copilot_package_declares_the_bot_a_custom_engine_agent_as_microsofts_schema_requires(tmp_path):
    manifest = package(tmp_path, "--copilot")
    assert schema_errors(manifest) == []
    assert tuple(map(int, manifest["manifestVersion"].split("."))) >= (1, 21)
    assert manifest["$schema"].endswith(f"/v{manifest['manifestVersion']}/MicrosoftTeams.schema.json")
    [agent] = manifest["copilotAgents"]["customEngineAgents"]
    assert agent == {"type": "bot", "id": APP_ID}
    # What the schema only describes: the agent is a bot of this app with personal scope, and the app has
    # a short name and a short description.
    [bot] = [b for b in manifest["bots"] if b["botId"] == agent["id"]]
    assert "personal" in bot["scopes"]
    assert manifest["name"]["short"] and manifest["description"]["short"]


def test_the_plain_package_still_validates_and_is_not_a_copilot_agent(tmp_path):
    manifest = package(tmp_path)
    assert schema_errors(manifest) == []
    assert "copilotAgents" not in manifest and manifest["bots"][0]["botId"] == APP_ID


def test_the_schema_rejects_what_copilot_would_refuse(tmp_path):
    """The validation is live: each change breaks a rule of Microsoft's schema."""
    manifest = package(tmp_path, "--copilot")
    for change in (
        lambda m: m["copilotAgents"]["customEngineAgents"][0].update(type="declarativeAgent"),
        lambda m: m["copilotAgents"]["customEngineAgents"][0].update(id="adoptbot"),  # not a GUID
        lambda m: m["copilotAgents"].update(customEngineAgents=[]),
        lambda m: m["name"].update(short="adoptbot, guidance for adopting generative AI"),  # over 30 characters
        lambda m: m.update(manifestVersion="1.17"),  # customEngineAgents need 1.21 or later
    ):
        changed = copy.deepcopy(manifest)
        change(changed)
        assert schema_errors(changed, version="1.21"), changed


def test_a_later_app_version_for_an_update_and_a_bad_one_refused(tmp_path, capsys):
    assert package(tmp_path, "--copilot", "--app-version", "1.1.0")["version"] == "1.1.0"
    out = tmp_path / "bad.zip"
    assert main(["teams-package", "--app-id", APP_ID, "--out", str(out), "--app-version", "v2"], runtime=None) == 2
    assert "--app-version" in capsys.readouterr().err and not out.exists()


@pytest.mark.parametrize(("options", "name"), [((), "adoptbot-teams.zip"), (("--copilot",), "adoptbot-copilot.zip")])
def test_each_package_has_its_own_default_file(tmp_path, monkeypatch, options, name):
    monkeypatch.chdir(tmp_path)
    assert main(["teams-package", "--app-id", APP_ID, *options], runtime=None) == 0
    assert (tmp_path / "build" / name).is_file()
