"""Untrusted input over real HTTP: Slack's signature first, Teams tokens, anonymous service URLs, start-up errors."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import hmac
import itertools
import json
import logging
import socket
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adoptbot.cli import main
from adoptbot.runtime import Runtime
from bot.web.refusals import LogLimiter
from bot.web.server import build_web_app
from common.errors import ConfigError
from common.settings import TEAMS_CLIENT_ID
from tests.fake_connector import FakeConnector, RefusingProxy, teams_activity
from tests.fake_slack import FakeSlackApi, event_body
from tests.slack_harness import Slack, mention, settle
from tests.stub_engine import StubEngine
from tests.teams_harness import served
from tests.web import BackgroundServer

SECRET = "hardening-signing-secret"
CLIENT_ID = "00000000-0000-0000-0000-000000000001"
PROPERTY = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def runtime_with(starter_runtime, tmp_path_factory, **changes) -> Runtime:
    """The indexed starter knowledge base with its own data directory (feedback) and the given settings."""
    data = tmp_path_factory.mktemp("hardening")
    settings_ = dataclasses.replace(starter_runtime.settings, data_dir=data, workers=1, **changes)
    return Runtime(
        settings_, embedder=starter_runtime.embedder, store=starter_runtime.store, answerers=starter_runtime.answerers
    )


def request(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
    req = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=60) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def closed_port() -> int:
    """A loopback port nothing listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def refusals_in(caplog, logger: str) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == logger]


def assert_no_tracebacks(caplog) -> None:
    assert [r.getMessage() for r in caplog.records if r.exc_info or r.name.startswith("aiohttp")] == []


# -- Slack: the signature is checked first -------------------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def slack(tmp_path_factory):
    """Slack over a scripted engine: what matters here is whether a request is answered at all."""
    s = Slack(
        tmp_path_factory.mktemp("hardening-slack"),
        StubEngine(streams=False),
        slack_signing_secret=SECRET,
        refusals=LogLimiter(logging.getLogger("bot.web.server"), per_minute=1_000_000),  # every refusal, for counting
    )
    yield s
    settle(s)
    s.close()


def post_slack(server, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
    return request(server.url + "/slack/events", body, headers)


def sign(body: bytes, *, timestamp: str | None = None, content_type: str = "application/json") -> dict[str, str]:
    """Slack's signature over the raw bytes, with any timestamp string."""
    ts = str(int(time.time())) if timestamp is None else timestamp
    digest = hmac.new(SECRET.encode(), f"v0:{ts}:".encode() + body, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": f"v0={digest}", "Content-Type": content_type}


ASKED = itertools.count(1)


def ask(s: Slack, body: bytes | None = None, ts: str = "") -> None:
    """A signed question (by default a new one) is answered in its thread: the server is answering."""
    if body is None:
        ts = f"1700000200.{next(ASKED):06d}"
        body = event_body(mention("What is a GAN?", ts=ts), f"Ev-asked-{ts}").encode()
    assert post_slack(s.server, body, sign(body))[0] == 200
    settle(s)
    assert len(s.replies("C1", ts)) == 1


JUNK = [
    (b"[1,2,3]", "application/json"),
    (b'{"type":', "application/json"),
    (b"\x8b\xff\x00\xfe\x1f garbage", "application/octet-stream"),
    (b"payload=%7Bnot", "application/x-www-form-urlencoded"),
]
JUNK_IDS = ["json-list", "cut-json", "garbage-bytes", "form-payload-not-json"]


@pytest.mark.parametrize(("body", "content_type"), JUNK, ids=JUNK_IDS)
def test_unsigned_junk_gets_401_and_one_short_log_line(slack, caplog, body, content_type):
    caplog.clear()
    status, reply = post_slack(slack.server, body, {"Content-Type": content_type})
    assert status == 401
    assert "not signed by Slack" in json.loads(reply)["error"]
    [line] = refusals_in(caplog, "bot.web.server")
    assert "401" in line.getMessage() and "\n" not in line.getMessage() and len(line.getMessage()) < 200
    assert_no_tracebacks(caplog)


@pytest.mark.parametrize(("body", "content_type"), JUNK[:2] + JUNK[3:], ids=JUNK_IDS[:2] + JUNK_IDS[3:])
def test_signed_but_malformed_bodies_get_400_and_one_short_log_line(slack, caplog, body, content_type):
    caplog.clear()
    status, reply = post_slack(slack.server, body, sign(body, content_type=content_type))
    assert status == 400
    assert "not a Slack payload" in json.loads(reply)["error"]
    [line] = refusals_in(caplog, "bot.web.server")
    assert "400" in line.getMessage() and "\n" not in line.getMessage()
    assert_no_tracebacks(caplog)


@pytest.mark.parametrize(
    "payload",
    [
        {"type": "event_callback", "event": 5},
        {"type": "event_callback", "event": {"type": "app_mention"}},
        {"type": "event_callback", "event": {"type": "message", "channel": "C1", "ts": "1", "subtype": ["x"]}},
        {"type": "block_actions", "actions": 5},
        {"type": "block_actions", "actions": [{"action_id": "feedback_helpful"}], "message": "x"},
        {"type": "url_verification", "challenge": 5},
        {"type": "event_callback", "event": {"type": "message"}, "authorizations": 5},
        {"event": None, "command": ""},  # found by the property test: a "slash command" that is not a form
    ],
    ids=["event-not-object", "mention-no-channel", "subtype-list", "actions-not-list", "message-not-object",
         "challenge-not-string", "authorizations-not-list", "command-not-a-form"],
)  # fmt: skip
def test_signed_payloads_of_the_wrong_shape_get_400_not_a_crash(slack, caplog, payload):
    # Each of these made bolt raise (500 with a traceback) before its shape was checked.
    caplog.clear()
    body = json.dumps(payload).encode()
    assert post_slack(slack.server, body, sign(body))[0] == 400
    assert_no_tracebacks(caplog)


@pytest.mark.parametrize(
    "timestamp",
    ["notanumber", "", "1e9", " 1700000000", "١٧٠٠٠٠٠٠٠٠", "-5", "99999999999999999999", "stale", "future"],
)
def test_a_timestamp_that_is_not_a_recent_unix_time_gets_401_and_no_answer(slack, caplog, timestamp):
    caplog.clear()
    settle(slack)
    asked = len(slack.engine.questions)
    ts = {"stale": str(int(time.time()) - 600), "future": str(int(time.time()) + 600)}.get(timestamp, timestamp)
    body = event_body(mention("What is a GAN?", ts="1700000100.000100"), f"Ev-ts-{timestamp}").encode()
    headers = sign(body, timestamp=ts)
    headers["X-Slack-Request-Timestamp"] = ts.encode("utf-8").decode("latin-1")  # http.client sends latin-1
    status, reply = post_slack(slack.server, body, headers)
    assert status == 401 and "Timestamp" in json.loads(reply)["error"]
    assert_no_tracebacks(caplog)
    settle(slack)
    assert len(slack.engine.questions) == asked and slack.replies("C1", "1700000100.000100") == []


def test_a_signed_body_over_2_mb_gets_413_and_an_unsigned_one_401_unread(slack):
    body = b'{"type": "event_callback", "pad": "' + b"x" * (2 * 1024 * 1024) + b'"}'
    assert post_slack(slack.server, body, sign(body))[0] == 413
    assert post_slack(slack.server, body, {"Content-Type": "application/json"})[0] == 401


def test_a_body_claiming_a_content_encoding_it_lacks_is_refused_without_a_traceback(slack, caplog):
    caplog.clear()
    body = b"\x00\x00 not gzip"
    assert post_slack(slack.server, body, {**sign(body), "Content-Encoding": "gzip"})[0] == 400
    assert post_slack(slack.server, body, {"Content-Type": "application/json", "Content-Encoding": "gzip"})[0] == 401
    assert_no_tracebacks(caplog)


def test_a_signed_question_is_still_answered(slack):
    ask(slack)


def test_a_flood_of_refused_requests_logs_a_few_lines_then_a_count(tmp_path, caplog):
    clock = Clock()
    limiter = LogLimiter(logging.getLogger("bot.web.server"), per_minute=5, clock=clock)
    s = Slack(tmp_path, StubEngine(), slack_signing_secret=SECRET, refusals=limiter)
    try:
        caplog.clear()
        for _ in range(40):
            assert post_slack(s.server, b"[1,2,3]", {"Content-Type": "application/json"})[0] == 401
        assert len(refusals_in(caplog, "bot.web.server")) == 5
        clock.now += 61
        assert post_slack(s.server, b"[1,2,3]", {"Content-Type": "application/json"})[0] == 401
        lines = [r.getMessage() for r in refusals_in(caplog, "bot.web.server")]
        assert len(lines) == 7 and "suppressed 35" in lines[5]
        assert_no_tracebacks(caplog)
    finally:
        s.close()


# -- requests aiohttp itself cannot parse ----------------------------------------------------------------------


def raw_status(server: BackgroundServer, data: bytes) -> bytes:
    """Send bytes as they are over a new connection; the status line the server answers before it closes."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as conn:
        conn.sendall(data)
        answer = b""
        while chunk := conn.recv(65536):
            answer += chunk
    return answer.split(b"\r\n", 1)[0]


SMUGGLED = (
    b"POST /slack/events HTTP/1.1\r\nHost: adoptbot\r\nContent-Type: application/json\r\n"
    b"Content-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
)


MALFORMED = {
    "bad-chunk-size": b"POST /slack/events HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    "header-without-colon": b"GET /healthz HTTP/1.1\r\nHost: a\r\nthis is not a header\r\n\r\n",
    "two-content-lengths": b"POST /slack/events HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
    "control-character": b"GET /healthz HTTP/1.1\r\nHost: a\r\nX-Note: a\x01b\r\n\r\n",
}


@pytest.mark.parametrize("data", MALFORMED.values(), ids=MALFORMED.keys())
def test_a_request_aiohttp_cannot_parse_gets_400_and_one_short_line_without_traceback(slack, caplog, data):
    caplog.clear()
    assert raw_status(slack.server, data).endswith(b" 400 Bad Request")
    [line] = [r.getMessage() for r in caplog.records if r.name.startswith("aiohttp")]
    assert line.startswith("Error handling request from 127.0.0.1: BadHttpMessage: 400, message: ")
    assert len(line) < 300 and "\n" not in line
    assert not any(r.exc_info or r.exc_text for r in caplog.records)


def test_a_failure_in_our_own_handler_is_logged_with_its_traceback_not_cut_short(caplog):
    def broken(since):
        raise RuntimeError("a bug in the report")

    server = BackgroundServer(build_web_app(index_info=lambda: None, report=broken, admin_token="t0ken"))
    try:
        caplog.clear()
        request = urllib.request.Request(f"{server.url}/admin/report", headers={"Authorization": "Bearer t0ken"})
        with pytest.raises(urllib.error.HTTPError) as failed:
            urllib.request.urlopen(request, timeout=10)
        assert failed.value.code == 500
        [record] = [r for r in caplog.records if r.name.startswith("aiohttp") and r.levelno >= logging.ERROR]
        assert record.exc_info and record.exc_info[0] is RuntimeError  # the traceback is there to debug it
    finally:
        server.close()


def test_a_flood_of_requests_aiohttp_cannot_parse_logs_a_few_short_lines_then_a_count(tmp_path, caplog):
    clock = Clock()
    limiter = LogLimiter(logging.getLogger("bot.web.server"), per_minute=5, clock=clock)
    s = Slack(tmp_path, StubEngine(), slack_signing_secret=SECRET, refusals=limiter)
    try:
        caplog.clear()
        for _ in range(100):  # both Content-Length and chunked: a request smuggling attempt
            assert raw_status(s.server, SMUGGLED).endswith(b" 400 Bad Request")
        lines = [r for r in caplog.records if r.name.startswith("aiohttp")]
        assert len(lines) == 5 and not any(r.exc_info or r.exc_text for r in caplog.records)
        assert all(len(r.getMessage()) < 300 and "\n" not in r.getMessage() for r in lines)
        assert "Content-Length" in lines[0].getMessage()
        clock.now += 61
        assert raw_status(s.server, SMUGGLED).endswith(b" 400 Bad Request")
        counted = [r.getMessage() for r in refusals_in(caplog, "bot.web.server")]
        assert counted == ["suppressed 95 similar lines in the last minute"]
        assert len([r for r in caplog.records if r.name.startswith("aiohttp")]) == 6
        ask(s)  # and the server still answers
    finally:
        s.close()


SLACK_HEADERS = st.dictionaries(
    st.sampled_from(
        ["X-Slack-Signature", "X-Slack-Request-Timestamp", "Content-Type", "X-Slack-Retry-Num", "Content-Encoding"]
    ),
    st.one_of(
        st.text(st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_characters="\x7f"), max_size=60),
        st.sampled_from(["application/json", "application/x-www-form-urlencoded", "gzip", "v0=" + "0" * 64]),
        st.integers(min_value=0, max_value=2 * 10**9).map(str),
    ),
)
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=12,
)
SLACK_KEYS = ["type", "event", "event_id", "actions", "authorizations", "command", "challenge", "user", "team",
              "channel", "enterprise", "message", "container", "view", "subtype", "ts", "text"]  # fmt: skip
SLACK_LIKE = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=10) | st.sampled_from(
        ["event_callback", "block_actions", "url_verification", "app_mention", "message", "/adoptbot", "C1", "D1"]
    ),
    lambda children: st.lists(children, max_size=3)
    | st.dictionaries(st.sampled_from(SLACK_KEYS) | st.text(max_size=8), children, max_size=5),
    max_leaves=15,
)  # fmt: skip


A_QUESTION = event_body(mention("What is a GAN?", ts="1700000300.000100"), "Ev-unsigned").encode()


def test_property_unsigned_requests_never_crash_and_are_never_answered(slack):
    settle(slack)
    asked, calls = len(slack.engine.questions), len(slack.api.calls)

    @PROPERTY
    @given(
        body=st.binary(max_size=300) | JSON.map(lambda v: json.dumps(v).encode()) | st.just(A_QUESTION),
        headers=SLACK_HEADERS,
    )
    def unsigned(body, headers):
        assert post_slack(slack.server, body, headers)[0] in (400, 401, 413, 415)

    unsigned()
    settle(slack)  # anything an unsigned request had queued has been handled by now
    assert len(slack.engine.questions) == asked and len(slack.api.calls) == calls  # not even a reaction
    ask(slack, A_QUESTION, "1700000300.000100")  # the same question, signed, is answered (and was never seen)


@PROPERTY
@given(payload=SLACK_LIKE, form=st.booleans())
def test_property_signed_payloads_of_any_shape_never_get_a_500(slack, payload, form):
    if form:
        body = urllib.parse.urlencode({"payload": json.dumps(payload)}).encode()
        headers = sign(body, content_type="application/x-www-form-urlencoded")
    else:
        body = json.dumps(payload).encode()
        headers = sign(body)
    status, _ = post_slack(slack.server, body, headers)
    assert status < 500


# -- Slack: start-up -----------------------------------------------------------------------------------------------


@pytest.fixture
def fake_api():
    api = FakeSlackApi()
    yield api
    api.close()


def serve_or_give_up(runtime: Runtime) -> int | None:
    """`adoptbot serve` in Socket Mode, in a thread: a start-up that wrongly succeeds would serve forever."""
    status: list[int] = []
    thread = threading.Thread(target=lambda: status.append(main(["serve", "--port", "0"], runtime=runtime)))
    thread.daemon = True
    thread.start()
    thread.join(60)
    return status[0] if status else None


@pytest.mark.parametrize("error", ["invalid_auth", "not_authed", "account_inactive", "token_revoked"])
def test_a_token_slack_refuses_stops_start_up_with_exit_2_naming_SLACK_BOT_TOKEN(
    starter_runtime, tmp_path_factory, fake_api, capsys, error
):
    fake_api.errors["auth.test"] = error
    runtime = runtime_with(
        starter_runtime,
        tmp_path_factory,
        slack_bot_token="xoxb-revoked",
        slack_signing_secret=SECRET,
        slack_api_base_url=fake_api.api_url,
    )
    assert main(["serve", "--slack-http", "--port", "0"], runtime=runtime) == 2
    err = capsys.readouterr().err
    assert f"Slack refused SLACK_BOT_TOKEN ({error})" in err and "OAuth & Permissions" in err
    assert "Traceback" not in err


def test_an_unreachable_slack_api_stops_start_up_with_exit_2_naming_SLACK_API_BASE_URL(
    starter_runtime, tmp_path_factory, capsys
):
    url = f"http://127.0.0.1:{closed_port()}/api/"
    runtime = runtime_with(
        starter_runtime,
        tmp_path_factory,
        slack_bot_token="xoxb-test",
        slack_signing_secret=SECRET,
        slack_api_base_url=url,
    )
    assert main(["serve", "--slack-http", "--port", "0"], runtime=runtime) == 2
    err = capsys.readouterr().err
    assert f"Could not reach the Slack Web API at {url}" in err and "SLACK_API_BASE_URL" in err and "proxy" in err
    assert "Traceback" not in err


def test_an_answer_that_is_not_slacks_stops_start_up_naming_SLACK_API_BASE_URL(
    starter_runtime, tmp_path_factory, fake_api, capsys
):
    runtime = runtime_with(
        starter_runtime,
        tmp_path_factory,
        slack_bot_token="xoxb-test",
        slack_signing_secret=SECRET,
        slack_api_base_url=fake_api.url + "/not-the-api/",
    )
    fake_api.errors["not-the-api/auth.test"] = "unknown_method"  # what a server that is not Slack's API says
    assert main(["serve", "--slack-http", "--port", "0"], runtime=runtime) == 2
    err = capsys.readouterr().err
    assert "auth.test failed" in err and "unknown_method" in err and "SLACK_API_BASE_URL" in err


def test_an_app_token_slack_refuses_stops_socket_mode_start_up_naming_SLACK_APP_TOKEN(
    starter_runtime, tmp_path_factory, fake_api, capsys
):
    fake_api.errors["apps.connections.open"] = "invalid_auth"
    runtime = runtime_with(
        starter_runtime,
        tmp_path_factory,
        slack_bot_token="xoxb-test",
        slack_app_token="xapp-revoked",
        slack_api_base_url=fake_api.api_url,
    )
    assert serve_or_give_up(runtime) == 2
    err = capsys.readouterr().err
    assert "Slack refused SLACK_APP_TOKEN (invalid_auth)" in err and "App-Level Tokens" in err
    assert "Traceback" not in err


def test_an_unreachable_socket_mode_url_stops_start_up_with_exit_2(starter_runtime, tmp_path_factory, fake_api, capsys):
    fake_api.socket_url = f"ws://127.0.0.1:{closed_port()}/link"
    runtime = runtime_with(
        starter_runtime,
        tmp_path_factory,
        slack_bot_token="xoxb-test",
        slack_app_token="xapp-test",
        slack_api_base_url=fake_api.api_url,
    )
    assert serve_or_give_up(runtime) == 2
    err = capsys.readouterr().err
    assert "Could not open Slack's Socket Mode connection" in err and "--slack-http" in err
    assert "Traceback" not in err


# -- Teams: tokens -------------------------------------------------------------------------------------------------


def b64(value: object) -> str:
    raw = value if isinstance(value, bytes) else json.dumps(value).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def token(header: dict, payload: object, signature: bytes = b"sig") -> str:
    return f"{b64(header)}.{b64(payload)}.{b64(signature)}"


def hs256(payload: dict, *, kid: str | None = None) -> str:
    header = {"alg": "HS256", "typ": "JWT", **({"kid": kid} if kid else {})}
    signing_input = f"{b64(header)}.{b64(payload)}".encode()
    return f"{signing_input.decode()}.{b64(hmac.new(b'guessed', signing_input, hashlib.sha256).digest())}"


CLAIMS = {"aud": CLIENT_ID, "iss": "https://api.botframework.com", "exp": int(time.time()) + 3600}


@pytest.fixture(scope="module")
def proxy():
    """Every HTTPS fetch by urllib (the SDK's signing-key fetch) goes to a local proxy that refuses it."""
    proxy = RefusingProxy()
    with pytest.MonkeyPatch.context() as mp:
        for name in ("https_proxy", "HTTPS_PROXY"):
            mp.setenv(name, proxy.url)
        for name in ("no_proxy", "NO_PROXY"):
            mp.delenv(name, raising=False)
        yield proxy
    proxy.close()


@pytest.fixture(scope="module")
def teams_authenticated(starter_runtime, tmp_path_factory, proxy):
    prefix = TEAMS_CLIENT_ID.rsplit("__", 1)[0] + "__"
    runtime = runtime_with(
        starter_runtime,
        tmp_path_factory,
        teams_sdk_env=((TEAMS_CLIENT_ID, CLIENT_ID), (prefix + "CLIENTSECRET", "secret"), (prefix + "TENANTID", "t-1")),
    )
    with served(runtime) as (connector, server):
        yield connector, server, proxy


def post_teams(server, body: bytes | dict, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    return request(server.url + "/api/messages", data, {"Content-Type": "application/json", **(headers or {})})


@pytest.mark.parametrize(
    "bearer",
    [
        "eyJhbGciOiJub25lIn0.e30.",
        hs256(CLAIMS),
        hs256(CLAIMS, kid="guessed-key"),
        token({"alg": "RS256", "typ": "JWT"}, CLAIMS),
        token({"alg": "RS256", "kid": 7}, CLAIMS),
        token({"alg": "RS256", "kid": "k"}, [1, 2]),
        "not.a.jwt",
        "abc",
    ],
    ids=["alg-none-no-kid", "hs256-no-kid", "hs256-with-kid", "rs256-no-kid", "kid-not-a-string", "claims-a-list",
         "not-base64", "one-part"],
)  # fmt: skip
def test_a_token_that_cannot_verify_gets_401_without_a_network_call(teams_authenticated, caplog, bearer):
    connector, server, proxy = teams_authenticated
    before = len(proxy.targets)
    activity = teams_activity("What is a GAN?", service_url=connector.url, expect_replies=True)
    status, reply = post_teams(server, activity, {"Authorization": f"Bearer {bearer}"})
    assert status == 401
    assert len(reply) < 200 and "token" in json.loads(reply)["error"].lower()
    assert len(proxy.targets) == before  # refused before any signing-key fetch
    assert connector.posts == []
    assert_no_tracebacks(caplog)


def test_a_token_with_an_unknown_key_id_gets_401_once_the_key_fetch_fails(teams_authenticated, caplog):
    connector, server, proxy = teams_authenticated
    before = len(proxy.targets)
    bearer = token({"alg": "RS256", "kid": "unknown-key", "typ": "JWT"}, CLAIMS)
    activity = teams_activity("What is a GAN?", service_url=connector.url, expect_replies=True)
    status, reply = post_teams(server, activity, {"Authorization": f"Bearer {bearer}"})
    assert status == 401 and len(reply) < 200
    assert len(proxy.targets) > before and all(t.endswith(":443") for t in proxy.targets)  # went for the keys, refused
    assert connector.posts == []
    assert_no_tracebacks(caplog)


def test_missing_and_non_bearer_authorization_get_401(teams_authenticated):
    connector, server, _ = teams_authenticated
    activity = teams_activity("What is a GAN?", service_url=connector.url, expect_replies=True)
    assert post_teams(server, activity)[0] == 401
    assert post_teams(server, activity, {"Authorization": "Basic abc"})[0] == 401
    assert post_teams(server, activity, {"Authorization": "Bearer a b"})[0] == 401
    assert connector.posts == []


BEARERS = st.one_of(
    st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), max_size=80),
    st.builds(token, st.dictionaries(st.sampled_from(["alg", "kid", "typ"]), JSON, max_size=3), JSON),
    st.builds(
        token,
        st.fixed_dictionaries({"alg": st.just("RS256"), "kid": st.text(min_size=1, max_size=8)}),
        st.dictionaries(st.sampled_from(["aud", "iss", "exp", "tid", "serviceurl"]), JSON, max_size=5),
    ),
)


@PROPERTY
@given(
    body=st.binary(max_size=200) | JSON.map(lambda v: json.dumps(v).encode()),
    bearer=st.none() | BEARERS,
    scheme=st.sampled_from(["Bearer", "bearer", "Basic", ""]),
)
def test_property_teams_requests_without_a_valid_token_never_crash_and_send_nothing(
    teams_authenticated, body, bearer, scheme
):
    connector, server, _ = teams_authenticated
    headers = {} if bearer is None else {"Authorization": f"{scheme} {bearer}".strip()}
    status, _ = post_teams(server, body, headers)
    assert status in (400, 401, 413)
    assert connector.posts == []


# -- Teams: anonymous development mode and service URLs ------------------------------------------------------------


@pytest.fixture(scope="module")
def teams_anonymous(starter_runtime, tmp_path_factory):
    connector = FakeConnector()
    port = connector.url.rsplit(":", 1)[1].strip("/")
    runtime = runtime_with(
        starter_runtime,
        tmp_path_factory,
        teams_allow_anonymous=True,
        teams_service_urls=f"http://0.0.0.0:{port}/relay/",  # a non-loopback address that reaches the fake
    )
    with served(runtime, connector) as (_, server):
        yield connector, server, port


def ask_teams(server, service_url: str, conversation_id: str) -> int:
    activity = teams_activity("status", service_url=service_url, conversation_id=conversation_id)
    return post_teams(server, activity)[0]


def test_anonymous_mode_refuses_service_urls_off_this_machine_and_sends_nothing(teams_anonymous, caplog):
    connector, server, port = teams_anonymous
    refused = [
        "http://203.0.113.9/",
        f"http://0.0.0.0:{port}/",  # reaches this machine, but is neither loopback nor allowed
        f"http://0.0.0.0:{port}/relay-other/",
        f"https://0.0.0.0:{port}/relay/",
        f"http://user@127.0.0.1:{port}/",
        "http://[::1/",
        "file:///etc/passwd",
    ]
    for n, url in enumerate(refused):
        status = ask_teams(server, url, f"a:refused-{n}")
        assert status == 403, url
    assert ask_teams(server, "", "a:refused-empty") == 400  # the SDK's model requires one
    assert any("serviceUrl" in r.getMessage() and "403" in r.getMessage() for r in caplog.records)
    assert ask_teams(server, connector.url, "a:drain") in (200, 202)  # anything queued has been sent by now
    paths = [p for p, _ in connector.wait_for_messages(1)]
    assert not any("refused" in p for p in paths) and any("a:drain" in p for p in paths)


def test_anonymous_mode_replies_to_loopback_and_allowed_service_urls(teams_anonymous):
    connector, server, port = teams_anonymous
    before = len(connector.messages())
    assert ask_teams(server, f"http://localhost:{port}/", "a:localhost") in (200, 202)
    assert ask_teams(server, f"http://0.0.0.0:{port}/relay/", "a:relayed") in (200, 202)
    paths = [p for p, _ in connector.wait_for_messages(before + 2)[before:]]
    assert any(p.startswith("/v3/conversations/a:localhost/") for p in paths)
    assert any("a:relayed" in p for p in paths)


@PROPERTY
@given(
    service_url=st.sampled_from(["http://203.0.113.9/", "http://0.0.0.0:{port}/", "https://evil.example/", ""])
    | st.text(max_size=30),
    extra=st.dictionaries(st.sampled_from(["type", "conversation", "from", "recipient", "value", "text"]), JSON),
)
def test_property_anonymous_activities_never_crash_and_never_go_off_this_machine(teams_anonymous, service_url, extra):
    connector, server, port = teams_anonymous
    service_url = service_url.replace("{port}", port)
    activity = {**teams_activity("status", service_url=service_url), **extra}
    if isinstance(activity.get("conversation"), dict):
        activity["conversation"]["id"] = "a:refused-property"
    status, _ = post_teams(server, activity)
    assert status in (400, 403) or urllib.parse.urlsplit(service_url).hostname in ("127.0.0.1", "localhost")
    assert not any("refused" in p for p, _ in connector.posts)


def test_a_teams_body_claiming_a_content_encoding_it_lacks_gets_400_without_a_traceback(teams_anonymous, caplog):
    _, server, _ = teams_anonymous
    caplog.clear()
    assert post_teams(server, b"\x00\x00 not gzip", {"Content-Encoding": "gzip"})[0] == 400
    assert [r.getMessage() for r in caplog.records if r.name.startswith("aiohttp")] == []


def test_a_service_url_allow_list_that_is_not_urls_stops_start_up(starter_runtime, tmp_path_factory):
    runtime = runtime_with(
        starter_runtime, tmp_path_factory, teams_allow_anonymous=True, teams_service_urls="smba.trafficmanager.net"
    )
    with pytest.raises(ConfigError, match="ADOPTBOT_TEAMS_SERVICE_URLS"):
        runtime.teams_endpoint()
