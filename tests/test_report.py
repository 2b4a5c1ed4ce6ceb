"""The insight report: its figures from a seeded audit log, the CLI, /admin/report over HTTP, a real browser."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import shutil
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from adoptbot.cli import main
from bot.state.feedback import FeedbackStore
from bot.state.report import build_report
from bot.types import Answer, Citation
from bot.web.server import build_web_app
from common.errors import ConfigError
from common.settings import Settings
from tests.clocks import Clock
from tests.conftest import FakeEmbedder, make_runtime
from tests.feedback_store import KEY
from tests.web import BackgroundServer

T0 = dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.UTC)
NOW = dt.datetime(2026, 11, 5, 12, 0, tzinfo=dt.UTC)
PRIVACY = Citation(1, "Privacy", "Background", "guidance/privacy.md", "", "2026-10-01", 0.81)
VENDORS = Citation(2, "Choosing vendors", "Contracts", "guidance/vendors.md", "", "2024-06-01", 0.74)
SCRIPT = "<script>document.title='pwned'</script> can I <b>paste</b> code?"
LEGAL = (
    "can we use chatgpt for legal contracts",
    "can we use chatgpt for legal contracts review",
    "can we use chatgpt for legal contracts drafting",
)
BUDGET = "what is the gpu budget for next year"


def answered(question: str, *cited: Citation, backend: str = "template", ms: float = 100.0) -> Answer:
    return Answer(question, "answered", "Yes [1].", backend, sources=cited, timings_ms={"total": ms})


def declined(question: str, ms: float = 50.0) -> Answer:
    return Answer(question, "no_answer", "Not covered.", "none", timings_ms={"total": ms})


@pytest.fixture
def store(tmp_path):
    """An audit log over three days: answers citing two documents, votes, declined questions in two gaps."""
    clock = Clock(T0)
    store = FeedbackStore(tmp_path / "data" / "feedback.sqlite3", user_key=KEY, clock=clock, retention_days=3650)
    day1 = [answered("may I paste customer data?", PRIVACY, ms=100 + 10 * i) for i in range(10)]
    for i, answer in enumerate(day1):
        answer_id = store.record_answer("slack", answer, channel_kind="dm", user=f"U{i}")
        store.record_vote(answer_id, f"U{i}", "helpful" if i < 7 else "not_helpful")
    clock.now = T0 + dt.timedelta(days=1)
    for question in (*LEGAL, LEGAL[0], SCRIPT):
        store.record_answer("teams", declined(question))
    vendor_id = store.record_answer("teams", answered("which vendor?", VENDORS, PRIVACY, backend="openai", ms=900))
    store.record_vote(vendor_id, "U1", "not_helpful")
    clock.now = T0 + dt.timedelta(days=2)
    store.record_answer("terminal", declined(BUDGET), channel_kind="terminal", user="alice")
    store.record_answer("slack", dataclasses.replace(declined("hello"), status="smalltalk", backend="smalltalk"))
    yield store
    store.close()


def report_of(store: FeedbackStore, since: dt.datetime = T0) -> str:
    return build_report(store.audit(since), embedder=FakeEmbedder(), now=NOW, since=since)


def section(page: str, name: str) -> str:
    return re.search(rf'<section id="{name}">(.*?)</section>', page, re.S).group(1)


def text_of(fragment: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", fragment).split())


def cells(table_html: str) -> list[list[str]]:
    """The body rows of a table as the text of their cells."""
    rows = re.findall(r"<tr>(.*?)</tr>", table_html, re.S)
    return [[text_of(c) for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)] for row in rows if "<td" in row]


def test_the_content_gaps_group_similar_declined_questions_largest_first(store):
    gaps = cells(section(report_of(store), "content-gaps"))
    assert [row[0] for row in gaps] == ["4", "1", "1"]
    assert "can we use chatgpt for legal contracts (2×)" in gaps[0][1]
    assert all(q in gaps[0][1] for q in LEGAL)
    assert {gaps[1][1], gaps[2][1]} == {BUDGET, SCRIPT.replace("<", "&lt;").replace(">", "&gt;").replace("'", "&#x27;")}


def test_a_script_in_a_question_is_shown_as_text_never_as_markup(store):
    page = report_of(store)
    assert "<script" not in page and "<b>paste" not in page
    assert "&lt;script&gt;document.title=&#x27;pwned&#x27;&lt;/script&gt; can I &lt;b&gt;paste&lt;/b&gt; code?" in page
    assert "Content-Security-Policy" in page and "default-src 'none'" in page


def test_votes_per_document_and_the_most_cited_with_their_review_age(store):
    page = report_of(store)
    assert cells(section(page, "votes")) == [
        ["Privacy guidance/privacy.md", "7", "4"],
        ["Choosing vendors guidance/vendors.md", "0", "1"],
    ]
    assert cells(section(page, "most-cited")) == [
        ["Privacy guidance/privacy.md", "11", "2026-10-01", "35"],
        ["Choosing vendors guidance/vendors.md", "1", "2024-06-01", "887 (review overdue)"],
    ]


def test_latency_percentiles_per_backend_and_questions_per_day(store):
    page = report_of(store)
    assert cells(section(page, "latency")) == [
        ["none", "6", "50", "50"],
        ["openai", "1", "900", "900"],
        ["template", "10", "145", "186"],
    ]
    assert "18 questions: 11 answered, 6 declined, 1 small talk." in page
    for name in ("per-day", "votes", "latency"):
        plot = r'<img class="plot" alt="[^"]+" src="data:image/png;base64,[A-Za-z0-9+/=]{200,}">'
        assert re.search(plot, section(page, name))
    assert "http://" not in page and "https://" not in page  # self-contained: nothing to fetch


def test_since_leaves_out_earlier_questions_and_an_empty_period_says_so(store):
    page = report_of(store, since=T0 + dt.timedelta(days=2))
    assert "2 questions: 0 answered, 1 declined, 1 small talk." in page
    empty = report_of(store, since=T0 + dt.timedelta(days=30))
    assert "No questions in this period." in empty and "No declined questions in this period." in empty
    assert "No votes on answers in this period." in empty and "<img" not in empty


def cli_runtime(tmp_path, store, **settings):
    rt = make_runtime(Settings(data_dir=tmp_path / "data", backend="template", **settings), FakeEmbedder())
    rt.__dict__["feedback"] = store
    return rt


def test_adoptbot_report_writes_the_page_and_refuses_a_malformed_since(store, tmp_path, capsys):
    out = tmp_path / "report.html"
    assert main(["report", "--since", "2026-11-03", "--out", str(out)], runtime=cli_runtime(tmp_path, store)) == 0
    page = out.read_text(encoding="utf-8")
    assert "since 2026-11-03 00:00 UTC" in page and "8 questions: 1 answered, 6 declined, 1 small talk." in page
    assert f"wrote the insight report to {out}" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_:
        main(["report", "--since", "last tuesday", "--out", str(out)], runtime=cli_runtime(tmp_path, store))
    assert exit_.value.code == 2
    assert "'last tuesday' is not a date: use YYYY-MM-DD" in capsys.readouterr().err
    unwritable = tmp_path / "missing" / "report.html"
    assert main(["report", "--out", str(unwritable)], runtime=cli_runtime(tmp_path, store)) == 2
    assert "choose another --out" in capsys.readouterr().err


def get(url: str, token: str | None = None) -> tuple[int, str, dict[str, str]]:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"} if token else {})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, response.read().decode(), dict(response.headers)
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(), dict(e.headers)


@pytest.fixture
def report_server(store):
    app = build_web_app(
        index_info=lambda: None,
        report=lambda since: report_of(store, since or T0),
        admin_token="s3cret-admin-token",
    )
    server = BackgroundServer(app)
    yield server
    server.close()


def test_admin_report_needs_the_admin_token_over_http(report_server):
    url = f"{report_server.url}/admin/report"
    for token in (None, "wrong", "s3cret-admin-token-but-longer"):
        status, body, headers = get(url, token)
        assert status == 401 and "<html" not in body and "ADOPTBOT_ADMIN_TOKEN" in body
        assert headers["WWW-Authenticate"].startswith("Bearer")
    status, body, headers = get(url, "s3cret-admin-token")
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    assert "default-src 'none'" in headers["Content-Security-Policy"]
    assert "18 questions: 11 answered" in body and 'id="content-gaps"' in body
    status, body, _ = get(f"{url}?since=2026-11-04", "s3cret-admin-token")
    assert status == 200 and "2 questions: 0 answered, 1 declined, 1 small talk." in body
    assert get(f"{url}?since=soon", "s3cret-admin-token")[0] == 400
    for edge in ("9999-12-31T23:59:59-23:59", "0001-01-01T00:00:00%2B23:59"):
        status, body, _ = get(f"{url}?since={edge}", "s3cret-admin-token")
        assert status == 400 and "YYYY-MM-DD" in body and "Traceback" not in body


def test_an_audit_log_that_cannot_be_opened_is_a_503_that_says_why(store):
    def broken(since):
        raise ConfigError("The audit log data/feedback.sqlite3 cannot be opened: make the data directory writable")

    server = BackgroundServer(build_web_app(index_info=lambda: None, report=broken, admin_token="t0ken"))
    try:
        status, body, _ = get(f"{server.url}/admin/report", "t0ken")
        assert status == 503 and "make the data directory writable" in body
    finally:
        server.close()


def test_without_an_admin_token_there_is_no_report_route(store):
    server = BackgroundServer(build_web_app(index_info=lambda: None, report=lambda since: report_of(store)))
    try:
        assert get(f"{server.url}/admin/report", "")[0] == 404
        assert get(f"{server.url}/admin/report", "anything")[0] == 404
    finally:
        server.close()


CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-gpu",
    "--no-first-run",
    "--disable-component-update",
    "--disable-sync",
]


def test_the_report_in_a_real_browser_shows_its_plots_and_content_gaps(report_server, tmp_path):
    from playwright.sync_api import sync_playwright

    assert shutil.which(CHROMIUM), "install Debian's chromium (apt-get install chromium); .ci/run does"
    screenshot = tmp_path / "insight-report.png"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(
                viewport={"width": 1280, "height": 900},
                extra_http_headers={"Authorization": "Bearer s3cret-admin-token"},
            )
            dialogs: list[str] = []
            page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
            response = page.goto(f"{report_server.url}/admin/report", wait_until="load")
            assert response is not None and response.status == 200
            plots = page.locator("img.plot")
            assert plots.count() == 3
            for i in range(3):
                assert plots.nth(i).is_visible()
                assert page.evaluate("(img) => img.complete && img.naturalWidth > 0", plots.nth(i).element_handle())
                box = plots.nth(i).bounding_box()
                assert box is not None and box["width"] > 100 and box["height"] > 100
            gaps = page.locator("#content-gaps table.gaps tbody tr")
            assert gaps.count() == 3 and gaps.first.is_visible()
            assert "can we use chatgpt for legal contracts" in gaps.first.inner_text()
            assert page.get_by_text("<script>document.title='pwned'</script> can I <b>paste</b> code?").is_visible()
            assert page.title() == "adoptbot insight report" and not dialogs
            page.screenshot(path=str(screenshot), full_page=True)
        finally:
            browser.close()
    assert screenshot.stat().st_size > 10_000
    print(f"screenshot of the insight report: {screenshot}")


def test_the_report_page_written_by_the_cli_opens_from_a_file(store, tmp_path):
    from playwright.sync_api import sync_playwright

    out = tmp_path / "report.html"
    assert main(["report", "--out", str(out)], runtime=cli_runtime(tmp_path, store)) == 0
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            requests: list[str] = []
            page.on("request", lambda r: requests.append(r.url))
            page.goto(Path(out).as_uri(), wait_until="load")
            assert page.locator("img.plot").count() == 3 and page.locator("#content-gaps table").is_visible()
            assert all(u.startswith(("file:", "data:")) for u in requests)  # nothing fetched from a network
        finally:
            browser.close()
