"""The audit log: what it keeps of each question, that it keeps no personal data, export, retention."""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import getpass
import io
import json
import sqlite3

import pytest
import sqlalchemy as sa

from adoptbot.cli import main
from adoptbot.runtime import Runtime
from bot.answering.answerers.openai_compat import OpenAICompatibleAnswerer
from bot.answering.engine import Engine
from bot.state.feedback import FeedbackStore
from bot.types import Answer, Citation, Question, Turn
from common.errors import ConfigError
from common.settings import Settings
from tests.clocks import T0, Clock
from tests.conftest import FakeEmbedder, make_runtime, write_kb
from tests.fake_chat import FakeChatServer
from tests.feedback_store import KEY, open_store, rows, stored_bytes, stored_rows
from tests.old_stores import old_store

RAW = ("jane.doe@example.com", "+44 20 7946 0958", "4111 1111 1111 1111", "4111111111111111", "7946 0958")
ASKED = Answer(
    question="Jane here (jane.doe@example.com, +44 20 7946 0958): may I paste card 4111 1111 1111 1111 into a chatbot?",
    status="answered",
    text="No: card numbers such as 4111 1111 1111 1111 stay out of prompts [1]. Ask jane.doe@example.com's DPO.",
    backend="template",
    sources=(Citation(1, "Privacy", "Background", "guidance/privacy.md", "", "2026-11-01", 0.8123),),
    related=(Citation(2, "Hallucinations", "Background", "guidance/hallucination.md", "", "2026-11-01", 0.41),),
    timings_ms={"retrieve": 12.5, "generate": 3.0, "total": 15.5},
)


@pytest.fixture
def runtime(tmp_path):
    """A runtime over a small knowledge base, its audit log on a clock the test moves."""
    settings = Settings(data_dir=tmp_path / "data", knowledge_dir=write_kb(tmp_path / "kb"), backend="template")
    rt = make_runtime(settings, FakeEmbedder())
    rt.clock = Clock()
    rt.__dict__["feedback"] = FeedbackStore(settings.feedback_path, user_key=KEY, clock=rt.clock)
    yield rt
    rt.feedback.close()


def test_a_stored_answer_never_holds_the_raw_personal_data_of_its_question(tmp_path):
    store = FeedbackStore(tmp_path / "feedback.sqlite3", user_key=KEY)
    answer_id = store.record_answer("slack", ASKED, channel_kind="dm", user="U0SECRET42")
    assert store.record_vote(answer_id, "U0SECRET42", "helpful")
    on_disk = stored_bytes(tmp_path)  # the database, its write-ahead log and shared memory, store still open
    assert (tmp_path / "feedback.sqlite3-wal").exists()
    for raw in (*RAW, "U0SECRET42"):
        assert raw.encode() not in on_disk
    assert b"Jane here ([email], [phone]): may I paste card [card] into a chatbot?" in on_disk
    [record] = store.audit(T0)
    assert record["answer"] == "No: card numbers such as [card] stay out of prompts [1]. Ask [email]'s DPO."
    assert record["redacted"] == {"email": 2, "phone": 1, "card": 2}
    store.close()
    on_disk = stored_bytes(tmp_path)
    assert not any(raw.encode() in on_disk for raw in (*RAW, "U0SECRET42"))


def test_an_audit_record_holds_who_where_what_and_how_long(tmp_path):
    clock = Clock()
    store = FeedbackStore(tmp_path / "feedback.sqlite3", user_key=KEY, clock=clock)
    answer_id = store.record_answer("teams", ASKED, channel_kind="thread", user="29:1GcS4EyB_oSI8A88XmWBN7NJFyMqe")
    declined = dataclasses.replace(ASKED, status="no_answer", text="Not covered.", backend="none", sources=())
    store.record_answer("slack", declined)  # the platforms' present call: channel kind and user unknown
    clock.now = T0 + dt.timedelta(minutes=5)
    store.record_vote(answer_id, "U1", "helpful")
    store.record_vote(answer_id, "U2", "helpful")
    store.record_vote(answer_id, "U1", "not_helpful")  # U1 changes their mind: a new row, not an update
    first, second = store.audit(T0)
    assert first["time"] == "2026-01-01T12:00:00+00:00" and first["platform"] == "teams"
    assert first["channel_kind"] == "thread" and first["user"] == store.user_hash("29:1GcS4EyB_oSI8A88XmWBN7NJFyMqe")
    assert first["status"] == "answered" and first["backend"] == "template"
    assert [(s["source"], s["score"]) for s in first["sources"]] == [("guidance/privacy.md", 0.8123)]
    assert [(s["source"], s["score"]) for s in first["related"]] == [("guidance/hallucination.md", 0.41)]
    assert first["timings_ms"] == {"retrieve": 12.5, "generate": 3.0, "total": 15.5}
    assert [v["vote"] for v in first["votes"]] == ["helpful", "helpful", "not_helpful"]
    assert (first["helpful"], first["not_helpful"]) == (1, 1)  # each voter's latest vote counts
    assert first["votes"][0]["user"] == store.user_hash("U1") and first["votes"][0]["time"].startswith(
        "2026-01-01T12:05"
    )
    assert second["status"] == "no_answer" and second["channel_kind"] == "unknown" and second["user"] == ""
    assert [v["vote"] for v in store.votes()] == ["not_helpful", "helpful"]
    with pytest.raises(ValueError, match="channel_kind must be one of"):
        store.record_answer("slack", ASKED, channel_kind="group")
    store.close()


def test_the_audit_log_is_append_only(tmp_path):
    path = tmp_path / "feedback.sqlite3"
    store = FeedbackStore(path, user_key=KEY)
    answer_id = store.record_answer("slack", ASKED)
    store.record_vote(answer_id, "U1", "helpful")
    store.close()
    db = sqlite3.connect(path)
    for sql in ("UPDATE answers SET answer = 'rewritten'", "UPDATE votes SET vote = 'not_helpful'"):
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            db.execute(sql)
    db.close()
    reopened = FeedbackStore(path, user_key=KEY)
    [record] = reopened.audit(T0)
    assert record["answer"] == ASKED.text.replace("4111 1111 1111 1111", "[card]").replace(
        "jane.doe@example.com", "[email]"
    )
    assert [v["vote"] for v in record["votes"]] == ["helpful"]
    reopened.close()


def test_retention_prunes_audit_rows_and_their_votes(tmp_path):
    path = tmp_path / "feedback.sqlite3"
    clock = Clock()
    store = FeedbackStore(path, user_key=KEY, retention_days=30, clock=clock)
    old = store.record_answer("slack", dataclasses.replace(ASKED, question="What did I ask in JANUARY?"))
    clock.now = T0 + dt.timedelta(days=25)
    store.record_vote(old, "U1", "helpful")  # a late vote goes with its answer, not on its own date
    recent = store.record_answer("terminal", ASKED, channel_kind="terminal")
    store.close()

    clock.now = T0 + dt.timedelta(days=31)
    store = FeedbackStore(path, user_key=KEY, retention_days=30, clock=clock)
    assert [r["id"] for r in store.audit(T0 - dt.timedelta(days=365))] == [recent]
    assert rows(path, "answers") == 1 and rows(path, "votes") == 0
    store.close()
    assert b"JANUARY" not in stored_bytes(tmp_path)


def test_a_store_from_before_the_audit_log_is_redacted_and_its_votes_kept(tmp_path):
    path = tmp_path / "feedback.sqlite3"
    question = "Can I send jane.doe@example.com's file to the model?"
    old_store(path, question=question, answer="No [1].", voters=("c0ffee-hash",), user_version=1)  # hashed voters
    store = FeedbackStore(path, user_key=KEY)
    [record] = store.audit(T0)
    assert record["question"] == "Can I send [email]'s file to the model?" and record["channel_kind"] == "unknown"
    assert record["votes"][0]["user"] == "c0ffee-hash"  # already a hash: not hashed twice
    store.close()
    assert b"jane.doe@example.com" not in stored_bytes(tmp_path)


def test_the_audit_log_is_append_only_redacted_and_in_order_on_either_database(database_url):
    clock = Clock()
    store = open_store(database_url, clock=clock)
    first = store.record_answer("teams", ASKED, channel_kind="thread", user="U0SECRET42")
    declined = dataclasses.replace(ASKED, status="no_answer", text="Not covered.", backend="none", sources=())
    later = [store.record_answer("slack", declined) for _ in range(3)]  # the same second: kept in the order asked
    store.record_vote(first, "U1", "helpful")
    store.record_vote(first, "U1", "not_helpful")
    for sql in ("UPDATE answers SET answer = 'rewritten'", "UPDATE votes SET vote = 'helpful'"):
        with pytest.raises(sa.exc.DBAPIError, match="append-only"), store.database.writing() as conn:
            conn.execute(sa.text(sql))
    held = repr(stored_rows(store, "answers") + stored_rows(store, "votes"))
    assert not any(raw in held for raw in (*RAW, "U0SECRET42"))
    records = list(store.audit(T0))
    assert [r["id"] for r in records] == [first, *later]
    record = records[0]
    assert record["question"] == "Jane here ([email], [phone]): may I paste card [card] into a chatbot?"
    assert record["redacted"] == {"email": 2, "phone": 1, "card": 2} and record["channel_kind"] == "thread"
    assert record["user"] == store.user_hash("U0SECRET42") and record["timings_ms"]["total"] == 15.5
    assert [v["vote"] for v in record["votes"]] == ["helpful", "not_helpful"] and record["not_helpful"] == 1
    assert list(store.audit(T0 + dt.timedelta(seconds=1))) == []
    store.close()


def seed(runtime: Runtime) -> None:
    store = runtime.feedback
    store.record_answer("slack", dataclasses.replace(ASKED, question="first, on new year's day"), channel_kind="dm")
    runtime.clock.now = T0 + dt.timedelta(days=2)
    answer_id = store.record_answer("teams", ASKED, channel_kind="channel", user="U9")
    store.record_vote(answer_id, "U9", "not_helpful")


def test_export_as_json_lines_from_a_date(runtime, capsys):
    seed(runtime)
    assert main(["audit", "export", "--since", "2026-01-02"], runtime=runtime) == 0
    [line] = capsys.readouterr().out.splitlines()
    record = json.loads(line)
    assert record["platform"] == "teams" and record["channel_kind"] == "channel" and record["not_helpful"] == 1
    assert record["question"].startswith("Jane here ([email], [phone])") and record["sources"][0]["score"] == 0.8123
    assert main(["audit", "export"], runtime=runtime) == 0  # no --since: everything kept
    assert len(capsys.readouterr().out.splitlines()) == 2


def test_export_as_csv_to_a_file(runtime, tmp_path, capsys):
    seed(runtime)
    out = tmp_path / "audit.csv"
    assert (
        main(
            ["audit", "export", "--since", "2026-01-01T11:00:00-02:00", "--format", "csv", "--out", str(out)],
            runtime=runtime,
        )
        == 0
    )
    assert capsys.readouterr().err.strip() == f"adoptbot: wrote 1 audit records to {out}."
    [record] = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"))))  # 13:00 UTC: only the later one
    assert record["platform"] == "teams" and record["not_helpful"] == "1" and record["helpful"] == "0"
    assert json.loads(record["sources"])[0]["source"] == "guidance/privacy.md"
    assert [v["vote"] for v in json.loads(record["votes"])] == ["not_helpful"]
    assert "jane.doe@example.com" not in out.read_text()


def test_an_export_that_cannot_be_written_is_a_usage_error(runtime, tmp_path, capsys):
    seed(runtime)
    assert main(["audit", "export", "--out", str(tmp_path / "no-such-dir" / "audit.jsonl")], runtime=runtime) == 2
    err = capsys.readouterr().err
    assert "Cannot write" in err and "choose another --out" in err


@pytest.mark.parametrize("since", ["yesterday", "2026-13-01", "01/11/2026"])
def test_a_malformed_since_is_a_usage_error(runtime, capsys, since):
    with pytest.raises(SystemExit) as exit_:
        main(["audit", "export", "--since", since], runtime=runtime)
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert f"argument --since: {since!r} is not a date: use YYYY-MM-DD" in err


@pytest.mark.parametrize("since", ["9999-12-31T23:59:59-23:59", "0001-01-01T00:00:00+23:59"])
def test_a_date_past_the_calendar_in_utc_is_a_usage_error_not_a_traceback(runtime, capsys, since):
    with pytest.raises(SystemExit) as exit_:
        main(["audit", "export", "--since", since], runtime=runtime)
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert f"argument --since: {since!r} is not a date: use YYYY-MM-DD" in err and "Traceback" not in err


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
def test_csv_cells_a_spreadsheet_would_run_start_with_an_apostrophe(runtime, tmp_path, start):
    store = runtime.feedback
    formula = f'{start}HYPERLINK("https://evil.example","click")'
    asked = dataclasses.replace(ASKED, question=formula, text="-1 is the answer")
    store.record_answer("slack", asked, channel_kind="dm")
    out = tmp_path / "audit.csv"
    assert main(["audit", "export", "--format", "csv", "--out", str(out)], runtime=runtime) == 0
    with out.open(encoding="utf-8", newline="") as f:
        [record] = list(csv.DictReader(f))
    assert record["question"] == "'" + formula and record["answer"] == "'-1 is the answer"
    assert record["platform"] == "slack" and not any(v.startswith(("=", "+", "-", "@")) for v in record.values())
    jsonl = tmp_path / "audit.jsonl"
    assert main(["audit", "export", "--out", str(jsonl)], runtime=runtime) == 0
    assert json.loads(jsonl.read_text())["question"] == formula  # JSON Lines are data, never neutralised


def test_terminal_questions_are_audited(runtime, capsys):
    runtime.ingest(progress=False)
    assert main(["ask", "What are hallucinations? Mail me at jane.doe@example.com"], runtime=runtime) == 0
    capsys.readouterr()
    [record] = runtime.feedback.audit(T0)
    assert record["platform"] == "terminal" and record["channel_kind"] == "terminal"
    assert record["question"] == "What are hallucinations? Mail me at [email]"
    assert record["user"] == runtime.feedback.user_hash(getpass.getuser())


def test_a_bad_phone_region_setting_stops_with_the_variable_named(tmp_path):
    runtime = Runtime(Settings(data_dir=tmp_path, phone_regions="US,XX"), embedder=FakeEmbedder())
    with pytest.raises(ConfigError, match=r"ADOPTBOT_PHONE_REGIONS='US,XX': unknown phone region\(s\) XX"):
        runtime.feedback  # noqa: B018


def test_the_openai_compatible_server_never_receives_the_raw_personal_data(starter_runtime):
    server = FakeChatServer()
    try:
        openai = OpenAICompatibleAnswerer(base_url=server.url, model="qwen-7b", timeout_s=5)
        engine = Engine(
            retriever=starter_runtime.retriever,
            answerers={"template": starter_runtime.answerers["template"], "openai": openai},
        )
        history = (Turn("user", "I'm jane.doe@example.com, card 4111 1111 1111 1111"), Turn("assistant", "Hello."))
        question = "How does a GAN work? Text me on +44 20 7946 0958, my id is U02ABCDEF12"
        answer = engine.answer(Question(question, history=history))
    finally:
        server.close()
    assert answer.backend == "openai"
    [request] = server.requests
    sent = json.dumps(request["body"])
    for raw in (*RAW, "U02ABCDEF12"):
        assert raw not in sent
    user = request["body"]["messages"][1]["content"]
    assert "Question: How does a GAN work? Text me on [phone], my id is [user]" in user
    assert "Earlier question in this conversation: I'm [email], card [card]" in user


def test_passages_go_to_the_server_as_written():
    openai = OpenAICompatibleAnswerer(base_url="http://127.0.0.1:9", model="m")
    messages = [
        {"role": "system", "content": "Rules."},
        {
            "role": "user",
            "content": "<passages>\n[1] Ask dpo@example.com\n</passages>\n\nQuestion: I am ann@example.com",
        },
    ]
    [system, user] = openai.redacted(messages)
    assert system == messages[0]
    assert user["content"] == "<passages>\n[1] Ask dpo@example.com\n</passages>\n\nQuestion: I am [email]"
