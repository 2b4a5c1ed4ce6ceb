"""What editors could add: declined, clarified and not-helpful questions grouped, each with its nearest section."""

from __future__ import annotations

import datetime as dt
import json

from adoptbot.cli import main
from bot.state.feedback import FeedbackStore
from bot.state.gaps import NEAR, Nearest, as_text, suggestions
from bot.state.report import build_report
from bot.types import Answer, Citation
from tests.conftest import FakeEmbedder, make_runtime, write_kb

PRIVACY = Citation(1, "Privacy", "Background", "guidance/privacy.md", "", "2026-10-01", 0.81)


def _record(question: str, status: str = "no_answer", not_helpful: int = 0) -> dict:
    return {"question": question, "status": status, "not_helpful": not_helpful}


def _nearest(question: str) -> Nearest | None:
    if "gpu" in question:
        return Nearest("guidance/infra.md", "Infrastructure", "Compute", NEAR - 0.2)  # too far: a missing topic
    return Nearest("guidance/privacy.md", "Privacy", "Background", NEAR + 0.1)


def test_gaps_are_grouped_with_why_and_what_to_add_where():
    records = [
        _record("can we paste customer emails into chatgpt"),
        _record("Can we paste customer emails into ChatGPT  "),  # the same question
        _record("can we paste customer emails into chatgpt?", status="clarify"),
        _record("may I paste customer data?", status="answered", not_helpful=1),
        _record("what is the gpu budget for next year"),
        _record("what is a GAN?", status="answered"),  # answered and not voted down: not a gap
        _record("thanks", status="smalltalk"),
    ]
    found = suggestions(records, embedder=FakeEmbedder(), nearest=_nearest)
    questions = [q for s in found for q, _ in s.examples]
    assert "what is a GAN?" not in questions and "thanks" not in questions
    [budget] = [s for s in found if any("gpu" in q for q, _ in s.examples)]
    assert budget.kind == "missing" and budget.reasons == {"declined": 1}
    emails = [s for s in found if any("emails" in q for q, _ in s.examples)]
    assert sum(s.asked for s in emails) == 3 and all(s.kind == "questions" for s in emails)
    reasons = sum((s.reasons for s in found), start=type(budget.reasons)())
    assert reasons == {"declined": 3, "clarified": 1, "not helpful": 1}
    text = as_text(found)
    assert "add to the `questions:` of guidance/privacy.md, section 'Background'" in text
    assert "a missing topic" in text


def test_the_report_says_what_to_add_where_only_when_it_can_compare_with_the_index(tmp_path):
    store = FeedbackStore(tmp_path / "feedback.sqlite3", user_key=b"k" * 32, retention_days=3650)
    store.record_answer("slack", Answer("what is the gpu budget for next year", "no_answer", "Not covered.", "none"))
    answer_id = store.record_answer("teams", Answer("may I paste data?", "answered", "Yes [1].", "template",
                                                    sources=(PRIVACY,)))  # fmt: skip
    store.record_vote(answer_id, "U1", "not_helpful")
    since = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
    now = dt.datetime.now(dt.UTC)
    page = build_report(store.audit(since), embedder=FakeEmbedder(), now=now, nearest=_nearest)
    assert 'id="suggestions"' in page and "a missing topic" in page and "1 not helpful" in page
    assert "add to the questions of guidance/privacy.md, section Background" in page
    plain = build_report(store.audit(since), embedder=FakeEmbedder(), now=now)
    assert 'id="suggestions"' not in plain


def test_kb_suggest_reads_the_audit_log_and_compares_with_the_index(tmp_path, settings, capsys):
    runtime = make_runtime(settings, FakeEmbedder())
    assert main(["ingest", str(write_kb(tmp_path / "kb"))], runtime=runtime) == 0
    declined = Answer("which vendor do we pay for gpus", "no_answer", "Not covered.", "none")
    runtime.feedback.record_answer("slack", declined)
    capsys.readouterr()
    assert main(["kb", "suggest", "--json"], runtime=runtime) == 0
    [group] = json.loads(capsys.readouterr().out)
    assert group["questions"] == [{"question": "which vendor do we pay for gpus", "asked": 1}]
    assert group["reasons"] == {"declined": 1} and group["suggestion"] in ("questions", "missing")
    assert group["nearest"]["source"].startswith(("guidance/", "checklists/"))
    assert main(["kb", "suggest"], runtime=runtime) == 0
    assert "which vendor do we pay for gpus" in capsys.readouterr().out
