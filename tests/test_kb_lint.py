"""Freshness: `kb lint` findings and exit status, and "review overdue" on citations in every platform."""

import datetime as dt
import json

from adoptbot.cli import main, render_answer
from bot.slack.blocks import citation_line
from bot.teams.cards import answer_activity
from bot.types import REVIEW_AFTER_DAYS, Answer, Citation, Passage
from common.settings import Settings
from ingest.lint import ERROR, WARNING, lint
from tests.conftest import REPO, make_runtime, write_kb
from tests.document_files import make_pdf

TODAY = dt.date(2026, 11, 29)


def doc(title: str, body: str, reviewed: str = "2026-11-01", owner: str = "AI CoE") -> str:
    return f"---\ntitle: {title}\nowner: {owner}\nlast_reviewed: {reviewed}\n---\n\n{body}\n"


def by_file(findings) -> dict[str, list[tuple[str, int, str]]]:
    out: dict[str, list[tuple[str, int, str]]] = {}
    for f in findings:
        out.setdefault(f.source, []).append((f.severity, f.line, f.message))
    return out


def test_lint_reports_each_kind_of_finding_with_file_line_and_fix(tmp_path):
    root = write_kb(
        tmp_path / "kb",
        {
            "guidance/old.md": doc("Old guidance", "## Still true\n\nText.", reviewed="2025-11-28"),
            "guidance/links.md": doc(
                "Links",
                "## See also\n\nRead [privacy](privacy.md), [gone](../guidance/missing.md#part), "
                "[outside](../../etc/passwd), [web](https://example.com/x.md) and [top](#see-also).\n\n"
                "```\n[in code](nowhere.md)\n```\n\n## Empty\n\n## Parent\n\n### Child\n\nText.\n\n## Also empty",
            ),
            "guidance/copy.md": doc("Privacy", "## Copy\n\nA second document called Privacy."),
            "guidance/notes.txt": "Plain text has no owner.\n",
            "guidance/no-owner.md": "---\ntitle: No owner\nlast_reviewed: 2026-11-01\n---\n\nText.\n",
            "policy.pdf": make_pdf("Policy text."),
            "manifest.yaml": "gone.pdf:\n  owner: Legal\n  last_reviewed: 2026-01-01\n"
            "guidance/privacy.md:\n  owner: X\n",
        },
    )
    findings = by_file(lint(root, today=TODAY, review_after_days=365))
    assert findings["guidance/old.md"] == [
        (WARNING, 0, "review overdue: last reviewed 2025-11-28, 366 days ago (the limit is 365, "
         "ADOPTBOT_REVIEW_AFTER_DAYS): review it, then update last_reviewed")
    ]  # fmt: skip
    links = findings["guidance/links.md"]
    assert [(s, n) for s, n, m in links if "link" in m] == [(ERROR, 9), (ERROR, 9)]
    assert any("link to ../guidance/missing.md#part: there is no such file" in m for _, _, m in links)
    assert any("link to ../../etc/passwd points outside the knowledge folder" in m for _, _, m in links)
    assert [(n, m) for s, n, m in links if "empty" in m] == [
        (15, "section 'Empty' is empty: write its text or remove the heading"),
        (23, "section 'Also empty' is empty: write its text or remove the heading"),
    ]
    assert findings["guidance/copy.md"] == [
        (ERROR, 0, "its title is also the title of guidance/privacy.md: give each document its own title")
    ]
    assert [(s, m.split(":")[0]) for s, _, m in findings["guidance/notes.txt"]] == [
        (ERROR, "no owner or last_reviewed")
    ]
    assert findings["guidance/no-owner.md"] == [(ERROR, 0, "ingest skips it: front matter is missing owner")]
    assert findings["policy.pdf"][0][0] == ERROR and "policy.pdf.meta.yaml" in findings["policy.pdf"][0][2]
    assert findings["manifest.yaml"] == [
        (ERROR, 0, "an entry for gone.pdf, which does not exist: fix the path or remove the entry"),
        (ERROR, 0, "an entry for guidance/privacy.md, which carries its own front matter and ignores the manifest: "
         "move the fields into its front matter and remove the entry"),
    ]  # fmt: skip
    assert findings["checklists/launch.yaml"] == [
        (WARNING, 0, "item 2 (review) has no why: add 'why:' saying what the item prevents, so people follow it")
    ]
    assert "guidance/hallucination.md" not in findings  # a clean document has nothing to say


def test_the_review_period_is_a_boundary_not_a_guess(tmp_path):
    root = write_kb(tmp_path / "kb", {"guidance/x.md": doc("X", "## A\n\nText.", reviewed="2026-10-30")})
    at_limit = lint(root, today=TODAY, review_after_days=30)
    over = lint(root, today=TODAY + dt.timedelta(days=1), review_after_days=30)
    assert not [f for f in at_limit if f.source == "guidance/x.md"]
    assert [f.message.split(":")[0] for f in over if f.source == "guidance/x.md"] == ["review overdue"]


def test_kb_lint_cli_prints_one_line_per_finding_and_exits_1_on_errors(tmp_path, settings, capsys):
    runtime = make_runtime(settings, embedder=None)
    clean = tmp_path / "clean"
    (clean / "guidance").mkdir(parents=True)
    (clean / "guidance/old.md").write_text(doc("Old", "Text.", "2001-01-01"))  # overdue whatever today is
    assert main(["kb", "lint", str(clean)], runtime=runtime) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("WARNING guidance/old.md: review overdue: last reviewed 2001-01-01")
    assert out[-1] == f"0 errors, 1 warnings in {clean}."

    broken = tmp_path / "broken"
    (broken / "guidance").mkdir(parents=True)
    (broken / "guidance/bad.md").write_text(doc("Bad", "See [x](nope.md).", "2001-01-01"))
    assert main(["kb", "lint", "--json", str(broken)], runtime=runtime) == 1
    report = json.loads(capsys.readouterr().out)
    assert (report["errors"], report["warnings"]) == (1, 1)
    assert report["findings"][0] == {
        "source": "guidance/bad.md",
        "severity": "error",
        "message": "link to nope.md: there is no such file in the knowledge base; fix the link or add the file",
        "line": 7,
    }
    assert main(["kb", "lint", str(tmp_path / "nowhere")], runtime=runtime) == 2
    assert "does not exist" in capsys.readouterr().err


def test_the_starter_knowledge_base_lints_without_errors():
    findings = lint(REPO / "knowledge", today=dt.date(2026, 11, 29))
    assert [f.render() for f in findings if f.severity == ERROR] == []


def test_review_overdue_is_decided_when_the_citation_is_made():
    passage = Passage(id="p", text="t", source="g.md", title="T", section="S", score=0.5, last_reviewed="2025-11-28")
    assert not Citation.of(1, passage, today=dt.date(2026, 11, 28)).review_overdue  # 365 days: due today
    assert Citation.of(1, passage, today=dt.date(2026, 11, 29)).review_overdue
    assert Citation.of(1, passage, today=dt.date(2026, 1, 1), review_after_days=30).review_overdue
    undated = Passage(id="q", text="t", source="n.txt", title="N", section="S", score=0.5)
    assert not Citation.of(1, undated, today=dt.date(2099, 1, 1)).review_overdue


def test_every_platform_says_review_overdue_and_only_when_it_is():
    old = Citation(1, "Risks", "Bias", "guidance/risks.md", "", "2024-01-01", 0.8, review_overdue=True)
    fresh = Citation(2, "LLMs", "Basics", "guidance/llms.md", "", "2026-11-20", 0.7)
    answer = Answer(question="q", status="answered", text="A [1] [2].", backend="template", sources=(old, fresh))
    terminal = render_answer(answer)
    assert "[1] Risks - Bias (guidance/risks.md, reviewed 2024-01-01, review overdue)" in terminal
    assert "[2] LLMs - Basics (guidance/llms.md, reviewed 2026-11-20)" in terminal
    assert citation_line(old) == "[1] *Risks* - Bias · reviewed 2024-01-01 · :warning: *review overdue*"
    assert "overdue" not in citation_line(fresh)
    activity = answer_activity(answer)
    claims = [c["appearance"]["abstract"] for c in activity["entities"][0]["citation"]]
    assert claims == [
        "Bias · reviewed 2024-01-01 · review overdue (guidance/risks.md)",
        "Basics · reviewed 2026-11-20 (guidance/llms.md)",
    ]
    card = json.dumps(activity["attachments"], ensure_ascii=False)
    assert card.count("review overdue") == 1
    assert [s["review_overdue"] for s in answer.to_dict()["sources"]] == [True, False]


def test_the_review_period_setting_is_read_from_the_environment():
    assert Settings().review_after_days == REVIEW_AFTER_DAYS == 365
    assert Settings.from_env({"ADOPTBOT_REVIEW_AFTER_DAYS": "180"}).review_after_days == 180


def test_lint_warns_of_sentences_that_lean_on_the_one_before(tmp_path):
    body = (
        "## Context\n\nLLMs keep track of context. That is what lets them summarise.\n"
        "This matters for long documents.\n\n- It helps chat.\n- Context helps chat.\n\n"
        "## This heading is fine\n\nA model that learns. Models whose output is checked."
    )
    root = write_kb(tmp_path / "kb", {"guidance/lean.md": doc("Leaning", body)})
    leaning = [(n, m.split(":")[0]) for s, n, m in by_file(lint(root, today=TODAY))["guidance/lean.md"]]
    assert leaning == [
        (9, "a sentence starts with 'That'"),
        (10, "a sentence starts with 'This'"),
        (12, "a sentence starts with 'It'"),
    ]
