import json

from bot.cli import main
from tests.conftest import FakeEmbedder, make_runtime, write_kb


def test_ingest_json_summary_and_strict_exit(tmp_path, settings, capsys):
    root = write_kb(tmp_path / "kb", {"guidance/bad.md": "no front matter here"})
    runtime = make_runtime(settings, FakeEmbedder())
    assert main(["ingest", str(root), "--json"], runtime=runtime) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["chunks_total"] == 5 and summary["chunks_embedded"] == 5
    assert summary["skipped"][0]["source"] == "guidance/bad.md"
    assert "front matter" in summary["skipped"][0]["reason"]
    assert main(["ingest", str(root), "--strict"], runtime=runtime) == 1
    out = capsys.readouterr().out
    assert "nothing re-embedded" in out and "SKIPPED guidance/bad.md" in out


def test_missing_knowledge_folder_is_a_usage_error(tmp_path, settings, capsys):
    runtime = make_runtime(settings, FakeEmbedder())
    assert main(["ingest", str(tmp_path / "nope")], runtime=runtime) == 2
    assert "does not exist" in capsys.readouterr().err


def test_status_before_and_after_ingest(tmp_path, settings, capsys):
    runtime = make_runtime(settings, FakeEmbedder())
    assert main(["status"], runtime=runtime) == 0
    assert "not been indexed" in capsys.readouterr().out
    main(["ingest", str(write_kb(tmp_path / "kb"))], runtime=runtime)
    capsys.readouterr()
    main(["status", "--json"], runtime=runtime)
    info = json.loads(capsys.readouterr().out)
    assert (info["documents"], info["chunks"], info["version"]) == (3, 5, 1)
