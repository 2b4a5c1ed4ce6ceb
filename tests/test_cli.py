import ctypes
import dataclasses
import json
import logging
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from adoptbot.cli import main
from adoptbot.runtime import Runtime
from common.settings import Settings
from kb.store import generation
from tests import test_chroma_server
from tests.conftest import REPO, FakeEmbedder, make_runtime, write_kb

chroma_url = test_chroma_server.chroma_url  # the fixture: a real `chroma run` on a free loopback port


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


def test_ask_json_has_the_documented_shape(starter_runtime, capsys):
    assert main(["ask", "--json", "What", "is", "a", "VAE?"], runtime=starter_runtime) == 0
    out = json.loads(capsys.readouterr().out)
    assert {"question", "status", "answer", "backend", "sources", "timings_ms"} <= set(out)
    assert out["status"] == "answered" and out["backend"] == "template"
    assert set(out["sources"][0]) == {
        "n",
        "title",
        "section",
        "source",
        "url",
        "last_reviewed",
        "score",
        "review_overdue",
        "audience",
    }
    assert set(out["timings_ms"]) == {"retrieve", "generate", "total"}


def test_ask_reads_one_question_per_line_from_stdin(starter_runtime, capsys, monkeypatch):
    import io

    monkeypatch.setattr("sys.stdin", io.StringIO("What is a VAE?\n\nWho won the 2022 world cup?\n\x07\n"))
    assert main(["ask", "--json", "-"], runtime=starter_runtime) == 0
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert [x["status"] for x in lines] == ["answered", "no_answer", "error"]


def test_ask_prints_sources_for_people(starter_runtime, capsys):
    assert main(["ask", "What are the four types of AI?"], runtime=starter_runtime) == 0
    out = capsys.readouterr().out
    assert "Reactive machines" in out and "Sources:\n  [1] Frequently asked questions" in out
    assert "reviewed 2026-11-20" in out


def test_usage_errors_exit_2_with_a_fix(starter_runtime, tmp_path, capsys):
    assert main(["ask", "   "], runtime=starter_runtime) == 2
    assert "Ask a question" in capsys.readouterr().err
    from adoptbot.runtime import Runtime
    from bot.answering.answerers.llama_cpp import LlamaCppAnswerer

    broken = Runtime(
        starter_runtime.settings,
        embedder=starter_runtime.embedder,
        store=starter_runtime.store,
        answerers={**starter_runtime.answerers, "llm": LlamaCppAnswerer(model_path=tmp_path / "x.gguf")},
    )
    assert main(["ask", "--backend", "llm", "What is a GAN?"], runtime=broken) == 2
    assert "ADOPTBOT_LLM_MODEL_PATH" in capsys.readouterr().err


def test_an_empty_index_is_built_before_the_first_answer(tmp_path, real_embedder, capsys):
    from adoptbot.runtime import Runtime
    from common.settings import Settings

    kb = write_kb(tmp_path / "kb")
    runtime = Runtime(
        Settings(data_dir=tmp_path / "data", knowledge_dir=kb, backend="template"), embedder=real_embedder
    )
    assert main(["ask", "--json", "Is it ok to put personal data into prompts?"], runtime=runtime) == 0
    captured = capsys.readouterr()
    assert "the index is empty; indexing" in captured.err
    assert json.loads(captured.out)["sources"][0]["source"] == "guidance/privacy.md"
    missing = Runtime(Settings(data_dir=tmp_path / "d2", knowledge_dir=tmp_path / "none"), embedder=real_embedder)
    assert main(["ask", "What is a GAN?"], runtime=missing) == 2
    assert "adoptbot ingest" in capsys.readouterr().err


def test_eval_on_the_shipped_question_set_meets_the_bar_with_the_template(starter_runtime, capsys):
    from tests.conftest import REPO

    questions = str(REPO / "knowledge/eval/questions.jsonl")
    args = ["eval", "--questions", questions, "--backend", "template", "--json"]
    assert main([*args, "--min-pass", "0.9", "--min-abstain", "0.9", "--min-hit5", "0.9"], runtime=starter_runtime) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["in_scope"] >= 40 and report["out_of_scope"] >= 10
    assert report["in_scope_pass_rate"] >= 0.9 and report["out_of_scope_abstention_rate"] >= 0.9
    assert main([*args, "--min-pass", "1.01"], runtime=starter_runtime) == 1  # a bar it cannot meet fails


def test_eval_scores_conversations_colloquial_questions_and_small_talk_against_the_ci_bars(starter_runtime, capsys):
    bars = ["--min-pass", "0.9", "--min-abstain", "0.9", "--min-conv-pass", "0.9", "--min-conv-abstain", "0.9"]
    args = ["eval", "--backend", "template", "--json", *bars, "--min-smalltalk", "1"]
    assert main(args, runtime=starter_runtime) == 0, capsys.readouterr().err
    report = json.loads(capsys.readouterr().out)
    assert report["conversations_in_scope"] >= 25 and report["conversations_out_of_scope"] >= 5
    assert report["smalltalk"] >= 10 and report["smalltalk_rate"] == 1.0
    assert report["in_scope"] >= 75  # the single questions and 25 colloquial ones
    assert report["answer_chars_median"] <= 600  # focused answers


def test_eval_on_the_blind_dev_set_keeps_wrong_answers_with_a_citation_under_the_bar(starter_runtime, capsys):
    """The blind dev half (benchmarks/blind): a wrong answer with a citation is the worst reply; it must not rise."""
    from tests.conftest import REPO

    dev = str(REPO / "benchmarks/blind/dev")
    args = ["eval", "--questions", dev, "--backend", "template", "--json", "--max-wrong-cited", "0.16"]
    assert main(args, runtime=starter_runtime) == 0, capsys.readouterr().err
    report = json.loads(capsys.readouterr().out)
    assert sum(s["items"] for s in report["sets"].values()) >= 160
    assert report["sets"]["smalltalk"]["correct_rate"] == 1.0 and report["sets"]["declines"]["correct_rate"] >= 0.9
    assert main([*args[:-1], "0.05"], runtime=starter_runtime) == 1  # the goal is not met yet: the bar bites


def test_eval_rejects_a_broken_question_file(starter_runtime, tmp_path, capsys):
    bad = tmp_path / "q.jsonl"
    bad.write_text('{"id": 1, "q": "ok", "kind": "in"}\n{not json\n')
    assert main(["eval", "--questions", str(bad)], runtime=starter_runtime) == 2
    assert "line 2" in capsys.readouterr().err


def test_serve_with_nothing_configured_says_what_to_set(settings, capsys):
    runtime = make_runtime(settings, FakeEmbedder())
    assert main(["serve"], runtime=runtime) == 2
    err = capsys.readouterr().err
    assert "SLACK_BOT_TOKEN" in err and "CONNECTIONS__SERVICE_CONNECTION__SETTINGS__CLIENTID" in err


def test_serve_starts_slack_and_teams_in_one_process(tmp_path):
    """The real composition root, as a subprocess: ingest, then both platforms behind one port."""
    from tests.cluster import Server
    from tests.fake_slack import FakeSlackApi

    api = FakeSlackApi()
    env = dict(
        SLACK_BOT_TOKEN="xoxb-test",
        SLACK_SIGNING_SECRET="s",
        SLACK_API_BASE_URL=api.api_url,
        ADOPTBOT_TEAMS_ALLOW_ANONYMOUS="true",
        ADOPTBOT_DATA_DIR=str(tmp_path / "data"),
        ADOPTBOT_KNOWLEDGE_DIR=str(write_kb(tmp_path / "kb")),
        ADOPTBOT_BACKEND="template",
    )
    server = Server("serve", env, log_dir=tmp_path, args=("--slack-http",))
    try:
        health = server.wait_healthy(timeout=120)
        assert health["ok"] and health["slack"] and health["teams"] and health["chunks"] == 5
        assert api.called("auth.test")
    finally:
        server.stop()
        api.close()


def test_serve_reports_bad_platform_configuration_before_doing_any_work(tmp_path, capsys):
    import dataclasses

    from common.settings import Settings

    settings = Settings(data_dir=tmp_path / "data", knowledge_dir=tmp_path / "missing")
    for changes, variable in (
        ({"slack_bot_token": "xoxp-user"}, "SLACK_BOT_TOKEN"),
        ({"slack_bot_token": "xoxb-bot"}, "SLACK_APP_TOKEN"),
    ):
        runtime = make_runtime(dataclasses.replace(settings, **changes), FakeEmbedder())
        assert main(["serve"], runtime=runtime) == 2
        assert variable in capsys.readouterr().err


# -- An unusable data directory: one line naming it and the fix, never a traceback ---------------------


def unusable_data_dirs(tmp_path) -> dict[str, Path]:
    """Directories no one can write, root included (the tests may run as root, where chmod stops nothing)."""
    blocker = tmp_path / "a-file"
    blocker.write_text("a file where the data directory should be")
    return {"under-proc": Path("/proc/nope"), "file-in-the-way": blocker / "data"}


@pytest.mark.parametrize("where", ["under-proc", "file-in-the-way"])
@pytest.mark.parametrize("command", ["status", "ask", "ingest", "serve"])
def test_an_unusable_data_dir_is_a_usage_error_naming_it_and_the_fix(tmp_path, capsys, command, where):
    data_dir = unusable_data_dirs(tmp_path)[where]
    settings = Settings(
        data_dir=data_dir,
        knowledge_dir=write_kb(tmp_path / "kb"),
        slack_bot_token="xoxb-test",
        slack_signing_secret="s",
    )
    argv = {"ask": ["ask", "What is a GAN?"], "serve": ["serve", "--slack-http"]}.get(command, [command])
    assert main(argv, runtime=make_runtime(settings, FakeEmbedder())) == 2
    [line] = capsys.readouterr().err.splitlines()
    assert line.startswith(f"adoptbot: Cannot use the data directory {data_dir} (")
    assert line.endswith("or set ADOPTBOT_DATA_DIR to a directory that is.")


def run_cli(command: list[str], settings: dict[str, str], **options: Any) -> subprocess.CompletedProcess[str]:
    """`python -m adoptbot.cli command` in a process of its own, with only these ADOPTBOT_ settings set."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ADOPTBOT_")}
    return subprocess.run([sys.executable, "-m", "adoptbot.cli", *command], cwd=REPO, env={**env, **settings},
                          capture_output=True, text=True, timeout=300, **options)  # fmt: skip


def test_adoptbot_data_dir_from_the_environment_is_reported_the_same_way(tmp_path):
    env = {"ADOPTBOT_DATA_DIR": "/proc/nope", "ADOPTBOT_KNOWLEDGE_DIR": str(write_kb(tmp_path / "kb"))}
    for command in (["status"], ["ask", "What is a GAN?"]):
        done = run_cli(command, env)
        assert done.returncode == 2, done.stderr
        [line] = done.stderr.splitlines()
        assert "Cannot use the data directory /proc/nope" in line and "ADOPTBOT_DATA_DIR" in line


PR_CAPBSET_DROP, CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH = 24, 1, 2


def without_root_overrides() -> None:
    """In the child before exec: drop root's power to ignore file permissions, so chmod binds it too."""
    libc = ctypes.CDLL(None, use_errno=True)
    for capability in (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH):
        if libc.prctl(PR_CAPBSET_DROP, capability, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP) failed")


def test_a_read_only_index_is_reported_because_embedded_chroma_cannot_open_one(tmp_path):
    """`chmod -R a-w data`, then status, ask and ingest, with the real Chroma.

    Root ignores file permissions, so when the tests run as root the commands run without the
    capabilities that let it (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH): the kernel then enforces the
    modes exactly as for any other user. Chroma's embedded store writes to its SQLite file as it
    opens, so even answering needs write access: the message says so and offers a Chroma server.
    """
    settings = Settings(data_dir=tmp_path / "data", knowledge_dir=write_kb(tmp_path / "kb"))
    make_runtime(settings, FakeEmbedder()).ingest(progress=False)
    tree = [settings.data_dir, *settings.data_dir.rglob("*")]
    modes = {path: path.stat().st_mode for path in tree}
    for path in tree:
        path.chmod(modes[path] & ~0o222)  # chmod -R a-w data
    env = {"ADOPTBOT_DATA_DIR": str(settings.data_dir), "ADOPTBOT_KNOWLEDGE_DIR": str(settings.knowledge_dir)}
    try:
        for command in (["status"], ["ask", "What is a hallucination?"], ["ingest"]):
            done = run_cli(command, env, preexec_fn=without_root_overrides if os.geteuid() == 0 else None)
            assert done.returncode == 2, done.stderr
            [line] = done.stderr.splitlines()
            assert f"Cannot use the data directory {settings.data_dir} (" in line and "readonly database" in line
            assert "needs write access" in line and "ADOPTBOT_CHROMA_URL" in line and "ADOPTBOT_DATA_DIR" in line
    finally:
        for path in tree:
            path.chmod(modes[path])


def test_with_a_chroma_server_an_unwritable_data_dir_still_answers(tmp_path, chroma_url, real_embedder, capsys, caplog):
    kb = write_kb(tmp_path / "kb")
    writer = Runtime(
        Settings(data_dir=tmp_path / "data", knowledge_dir=kb, chroma_url=chroma_url), embedder=real_embedder
    )
    writer.ingest(progress=False)
    settings = Settings(data_dir=Path("/proc/nope"), knowledge_dir=kb, chroma_url=chroma_url, backend="template")
    runtime = Runtime(settings, embedder=real_embedder)

    assert main(["ask", "--json", "Is it ok to put personal data into prompts?"], runtime=runtime) == 0
    assert json.loads(capsys.readouterr().out)["sources"][0]["source"] == "guidance/privacy.md"
    with caplog.at_level(logging.WARNING):
        assert not runtime.feedback.available  # Slack and Teams answer without feedback buttons
    assert any("/proc/nope" in r.getMessage() and "without feedback buttons" in r.getMessage() for r in caplog.records)
    assert main(["ingest"], runtime=runtime) == 2
    [line] = capsys.readouterr().err.splitlines()
    assert "Cannot use the data directory /proc/nope" in line and "lock file" in line


def test_serve_starts_with_an_unwritable_data_dir_when_the_index_is_on_a_chroma_server(
    tmp_path, chroma_url, real_embedder
):
    """The real composition root: Teams (anonymous, development mode) served, feedback off with a warning."""
    from tests.cluster import Server

    kb = write_kb(tmp_path / "kb")
    Runtime(
        Settings(data_dir=tmp_path / "data", knowledge_dir=kb, chroma_url=chroma_url), embedder=real_embedder
    ).ingest(progress=False)
    env = dict(
        ADOPTBOT_TEAMS_ALLOW_ANONYMOUS="true",
        ADOPTBOT_DATA_DIR="/proc/nope",
        ADOPTBOT_CHROMA_URL=chroma_url,
        ADOPTBOT_KNOWLEDGE_DIR=str(kb),
        ADOPTBOT_BACKEND="template",
    )
    server = Server("serve", env, log_dir=tmp_path, args=())
    try:
        health = server.wait_healthy(timeout=120)
        assert health["ok"] and health["teams"] and health["chunks"] == 5
    finally:
        server.stop()
    err = server.log_path.read_text()
    assert "Cannot use the data directory /proc/nope" in err and "without feedback buttons" in err
    assert "Traceback" not in err


def test_citations_never_print_control_or_bidi_characters_raw(tmp_path, settings, capsys):
    """An index written before names and fields were cleaned (or by another writer) still prints safely."""
    runtime = make_runtime(dataclasses.replace(settings, backend="template"), FakeEmbedder())
    main(["ingest", str(write_kb(tmp_path / "kb"))], runtime=runtime)
    col = runtime.store.current()
    got = col.get(include=["metadatas"])
    hostile = {
        "title": "Invoice\u202egpj.exe",
        "section": "First line\nSecond line",
        "source": "guidance/\x1b[2Jcleared.md",
        "url": "https://intranet.example.com/\u2028x",
    }
    col.update(ids=got["ids"], metadatas=[{**m, **hostile} for m in got["metadatas"]])
    runtime.store.save_for_readers(col, generation(col), lexical=False)  # as that writer saves what replicas load
    capsys.readouterr()

    assert main(["ask", "Is it ok to put personal data into prompts?"], runtime=runtime) == 0
    out = capsys.readouterr().out
    assert not any(ch in out for ch in "\u202e\x1b\u2028")
    cited = [line for line in out.splitlines() if "Invoice" in line]
    assert cited and all(
        "Invoice\\u202egpj.exe - First line\\nSecond line (guidance/\\u001b[2Jcleared.md" in c for c in cited
    )


def test_chat_follows_the_conversation_turn_by_turn(starter_runtime, capsys, monkeypatch):
    import io

    turns = [
        "What is a GAN?",
        "What is a VAE?",
        "and what about VAEs?",
        "What's the weather tomorrow in Paris?",
        "What is a hallucination?",
        "How do we reduce them?",
        "What is on the pre-deployment checklist?",
        "why does monitoring matter?",
        "thanks!",
        "hello",
    ]
    monkeypatch.setattr("sys.stdin", io.StringIO("\n".join(turns) + "\n"))
    assert main(["chat", "--backend", "template"], runtime=starter_runtime) == 0
    replies = capsys.readouterr().out.split("adoptbot> ")[1:]
    assert len(replies) == len(turns)
    gan, vae, vae_again, weather, hallucination, reduce, checklist, monitoring, thanks, hello = replies
    assert "[1] Generative model architectures - Generative adversarial networks" in gan
    assert "Variational autoencoders (VAEs)" in vae.split("Related:")[0] and vae != gan
    assert "Variational autoencoders (VAEs)" in vae_again.split("Related:")[0]
    assert "does not cover" in weather and "Sources:" not in weather
    assert "Mitigations" in reduce and reduce.split("Sources:")[0] != hallucination.split("Sources:")[0]
    assert "has 7 items" in checklist and "has 7 items" not in monitoring
    assert len(monitoring.split("\n\nSources:")[0]) <= 600 and "monitor" in monitoring.lower()
    for small in (thanks, hello):
        assert "Sources:" not in small
    assert "What is on the pre-deployment checklist?" in hello  # an introduction with examples
    assert len(thanks.split("\n")[0]) < 120 and "welcome" in thanks  # thanks stay small (issue 17)


def test_run_without_a_chat_platform_ingests_then_chats_in_the_terminal(
    tmp_path, settings, real_embedder, capsys, monkeypatch
):
    import dataclasses
    import io

    from adoptbot.runtime import Runtime

    root = write_kb(tmp_path / "knowledge")
    runtime = Runtime(dataclasses.replace(settings, knowledge_dir=root, backend="template"), embedder=real_embedder)
    monkeypatch.setattr("sys.stdin", io.StringIO("hello\nHow do we keep personal data out of prompts?\nthanks\n"))
    assert main(["run"], runtime=runtime) == 0
    out, err = capsys.readouterr()
    assert "Indexed 3 documents" in err and "starting the terminal chat" in err
    hello, answer, thanks = out.split("adoptbot> ")[1:]
    assert "I'm adoptbot" in hello and "[1] Privacy" in answer and "welcome" in thanks


def test_the_terminal_chat_takes_the_same_commands_as_slack_and_teams(starter_runtime, capsys, monkeypatch):
    import io

    monkeypatch.setattr("sys.stdin", io.StringIO("/help\n/status\n/quit\n"))
    assert main(["chat", "--backend", "template"], runtime=starter_runtime) == 0
    help_reply, status_reply = capsys.readouterr().out.split("adoptbot> ")[1:]
    assert "/status: what the knowledge base holds" in help_reply and "/new" in help_reply
    assert "**" not in help_reply  # Markdown bold is for chat clients, not terminals
    assert "@mention" not in help_reply and "adoptbot assess" in help_reply  # words for a terminal
    assert "Knowledge base:" in status_reply and "Answer backend: template" in status_reply
