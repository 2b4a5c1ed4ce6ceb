"""Slack's calls still type-check against `@slack/web-api`, the official SDK's TypeScript types.

Real Slack flows (mentions, DMs, streaming, the assistant pane and the Messages tab, slash commands, private answers
and sharing, the tools, votes, clarifying and suggested-question buttons, the experts' channel) run over HTTP
against the fake Web API; every request is taken off the wire as the Python SDK encoded it, its JSON-string fields
(blocks, view, chunks...) decoded back, and written out as `const cN: <Method>Arguments = {...};` for `tsc --noEmit`
(strict, tests/slack_types/tsconfig.json). The argument type of each method is read from the SDK's own method table
(dist/methods.d.ts), so a method the SDK has no type for is caught, not guessed. Form-encoded calls carry every
value as a string: they are checked as `Form<T>`, T with each number as a numeric string and each boolean as
"1"/"0"/"true"/"false". The SDK is pinned in tests/slack_types/package-lock.json; `make test` installs it.
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import subprocess
import threading
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from bot.slack.blocks import CHOICES_BLOCK, SUGGESTIONS_BLOCK
from bot.tools.checklists import open_board
from bot.tools.core import Tools
from tests.conftest import REPO
from tests.fake_slack import FakeSlackApi, action_body, feedback_value
from tests.slack_harness import FORM, Slack, drain, settle
from tests.stub_engine import StubEngine
from tests.test_slack_tools import selected, submission

TYPES = REPO / "tests" / "slack_types"
SDK = TYPES / "node_modules" / "@slack" / "web-api"
TSC = TYPES / "node_modules" / ".bin" / "tsc"
INSTALL = "npm ci --prefix tests/slack_types"
NEEDS = "Node.js with npm (on Debian: `apt-get install nodejs npm`)"

# Web API methods adoptbot calls that @slack/web-api has no argument type for, with why they are still right.
# (agents.sessions.setStatus goes through slack_sdk's generic api_call, but the TypeScript SDK types it.)
UNTYPED: dict[str, str] = {}
# Fields the Python SDK may send as JSON text (always in a form-encoded call): decoded before typing.
JSON_TEXT = ("blocks", "attachments", "view", "chunks", "prompts", "loading_messages", "metadata")
# Calls adoptbot makes outside Slack's flows above, with where they are exercised instead.
NOT_DRIVEN = {
    "auth.test": "bolt's check of the token as the app is made, before the wire is tapped; it takes no arguments",
}
NOT_WEB_API = {"is_connected"}  # bot/slack's `client.x()` calls that are no Web API method (Socket Mode's client)
# Where Slack accepts more than the SDK's types say: each rewritten before typing (and still needed, or the test
# says to take it out), with Slack's own word for it.
KNOWN = {
    "mrkdwn option description": "Slack's option object reference: checkbox group and radio button group items "
    "can also use mrkdwn formatting in `description`; @slack/types 3.x allows only plain_text there",
}
TEAM = "T1"  # the workspace: bolt's client sends its team_id with every call, as WebClient's teamId option does
EXPERTS = "C0EXPERTS"
PRIVATE = "C0PRIV"


# -- the wire -----------------------------------------------------------------------------------------------


@dataclass
class Call:
    method: str  # a Web API method, or "" for a POST to a response_url
    form: bool  # sent form-encoded (every value a string), not as JSON
    args: dict[str, Any]
    path: str


class Wire:
    """Every request the fake Web API is sent, exactly as it arrived, before the fake reads it."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, str, bytes]] = []
        self.lock = threading.Lock()

    def tap(self, api: FakeSlackApi) -> None:
        wire, base = self, api.server.RequestHandlerClass

        class Tapped(base):  # type: ignore[misc, valid-type]
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with wire.lock:
                    wire.requests.append((self.path, self.headers.get("Content-Type", ""), raw))
                real, self.rfile = self.rfile, io.BytesIO(raw)  # the fake reads the same bytes
                try:
                    super().do_POST()
                finally:
                    self.rfile = real

        api.server.RequestHandlerClass = Tapped

    def calls(self) -> list[Call]:
        with self.lock:
            return [decode(*request) for request in self.requests]


def decode(path: str, content_type: str, raw: bytes) -> Call:
    body = raw.decode()
    form = "json" not in content_type
    if form:
        args: dict[str, Any] = {k: v[0] for k, v in urllib.parse.parse_qs(body, keep_blank_values=True).items()}
    else:
        args = json.loads(body or "{}")
    for key in JSON_TEXT:
        if isinstance(args.get(key), str):
            args[key] = json.loads(args[key])
    method = path.split("?")[0].removeprefix("/api/") if path.startswith("/api/") else ""
    return Call(method, form, args, path)


# -- the SDK's types ----------------------------------------------------------------------------------------


def installed() -> None:
    """Fail (never skip) with what to run when the pinned SDK and TypeScript are not there."""
    if not TSC.exists() or not (SDK / "package.json").exists():
        how = f"`{INSTALL}`" if shutil.which("npm") else f"{NEEDS}, then `{INSTALL}`"
        pytest.fail(f"@slack/web-api's types are not installed: run {how} (`make test` runs it)", pytrace=False)
    lock = json.loads((TYPES / "package-lock.json").read_text(encoding="utf-8"))
    for package in ("@slack/web-api", "typescript"):
        want = lock["packages"][f"node_modules/{package}"]["version"]
        have = json.loads((TYPES / "node_modules" / package / "package.json").read_text(encoding="utf-8"))["version"]
        if have != want:
            pytest.fail(f"{package} {have} is installed, the lock file pins {want}: run `{INSTALL}`", pytrace=False)
    if not shutil.which("node"):
        pytest.fail(f"tsc needs {NEEDS}", pytrace=False)


def as_the_sdk_takes_them(call: Call, used: set[str]) -> Call:
    """The call's own arguments: the client's team_id left out, each KNOWN divergence rewritten (and noted)."""
    args = {k: v for k, v in call.args.items() if not (k == "team_id" and v == TEAM)}

    def walk(node: Any) -> Any:
        if isinstance(node, list):
            return [walk(n) for n in node]
        if not isinstance(node, dict):
            return node
        node = {k: walk(v) for k, v in node.items()}
        if node.get("type") in ("checkboxes", "radio_buttons"):
            for key in ("options", "initial_options"):
                for option in node.get(key) or []:
                    if (option.get("description") or {}).get("type") == "mrkdwn":
                        option["description"] = {**option["description"], "type": "plain_text"}
                        used.add("mrkdwn option description")
        return node

    return Call(call.method, call.form, walk(args), call.path)


def sdk_methods() -> dict[str, str]:
    """Web API method -> its argument type, from the SDK's own method table."""
    table = (SDK / "dist" / "methods.d.ts").read_text(encoding="utf-8")
    found = re.findall(r"reference/methods/([\w.]+)[^*]*\*/\s*\w+: Method\w*<(\w+)", table)
    assert len(found) > 200, "the SDK's method table changed shape: update sdk_methods()"
    return dict(found)


HEADER = """\
import type { %s } from "@slack/web-api";

// A form-encoded call as sent: every number a numeric string, every boolean 1/0 or true/false.
type Wire<V> = V extends boolean ? "1" | "0" | "true" | "false" : V extends number ? `${number}` : V;
type Form<T> = { [K in keyof T]: Wire<T[K]> };
"""


def typescript(calls: list[Call], types: dict[str, str]) -> tuple[str, dict[int, Call]]:
    """The calls as typed constants, and which call each line of the file belongs to."""
    used = sorted({types[c.method] for c in calls})
    lines = (HEADER % ", ".join(used)).splitlines()
    at: dict[int, Call] = {}
    for n, call in enumerate(calls, 1):
        kind = f"Form<{types[call.method]}>" if call.form else types[call.method]
        lines.append(f"// {call.method}, sent {'form-encoded' if call.form else 'as JSON'}")
        literal = json.dumps(call.args, indent=2, ensure_ascii=False).splitlines()
        for i in range(len(literal) + 1):
            at[len(lines) + 1 + i] = call
        lines.extend([f"const c{n}: {kind} = {literal[0]}", *literal[1:]])
        lines[-1] += ";"
    return "\n".join(lines) + "\n", at


def tsc(tmp_path: Path, source: str) -> subprocess.CompletedProcess[str]:
    """`tsc --noEmit` over one generated file, with the committed strict settings and the pinned SDK."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    (tmp_path / "calls.ts").write_text(source, encoding="utf-8")
    (tmp_path / "tsconfig.json").write_text(
        json.dumps({"extends": str(TYPES / "tsconfig.json"), "files": ["calls.ts"]}), encoding="utf-8"
    )
    if not (tmp_path / "node_modules").exists():
        os.symlink(TYPES / "node_modules", tmp_path / "node_modules")  # so "@slack/web-api" resolves
    return subprocess.run(
        [str(TSC), "--noEmit", "--pretty", "false", "-p", str(tmp_path / "tsconfig.json")],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip


def rejected(result: subprocess.CompletedProcess[str], at: dict[int, Call]) -> str:
    """tsc's errors, each with the call it is about (method and path as sent)."""
    out = []
    for line in (result.stdout + result.stderr).strip().splitlines():
        out.append(line)
        m = re.search(r"calls\.ts\((\d+),\d+\)", line)
        if m and int(m.group(1)) in at:
            call = at[int(m.group(1))]
            out.append(f"    in {call.method}: {json.dumps(call.args, ensure_ascii=False)[:1500]}")
    return "\n".join(out)


# -- Slack's flows ------------------------------------------------------------------------------------------


def opened(tab: str = "messages") -> dict[str, Any]:
    return {"type": "app_home_opened", "user": "U1", "channel": "D1", "tab": tab, "event_ts": "1700000400.000009"}


def click(s: Slack, reply: dict[str, Any], *, action_id: str, value: str, ts: str, **kw: Any) -> None:
    message = {"ts": ts, "text": reply.get("text", ""), "blocks": reply["blocks"]}
    body = action_body(action_id=action_id, value=value, user="U9", message=message,
                       response_url=s.api.url + "/response/click", **kw)  # fmt: skip
    assert s.post(body, FORM) == 200
    settle(s)


def posted_answers(s: Slack, flows: list[str]) -> None:
    """Answers posted whole: mentions, DMs, follow-ups, help, declines, clarifying and suggested-question buttons,
    votes, commands."""
    root = s.mention("How does a GAN work?")
    [reply] = s.api.wait_for("chat.postMessage")
    s.say("and for images?", thread_ts=root)  # a follow-up: the thread is read
    s.dm("What is a VAE?")
    s.dm("and a follow-up in the DM")  # the DM's recent history is read
    s.mention("")  # the help
    s.mention("Is the uncovered topic in the guidance?")  # declined: forwarded to the experts, with a link
    settle(s)
    for vote, ts in (("helpful", "1700000008.000200"), ("not_helpful", "1700000008.000201")):
        click(s, reply, action_id="feedback", value=feedback_value(reply, vote), ts=ts,
              kind="feedback_buttons", block_id="feedback_buttons")  # fmt: skip
    ambiguous = s.say("an ambiguous question", mention=True)
    settle(s)
    [asking] = [p for p in s.api.called("chat.postMessage") if p.get("thread_ts") == ambiguous]
    choices = next(b for b in asking["blocks"] if b.get("block_id") == CHOICES_BLOCK)
    button = choices["elements"][0]
    message = {"ts": "1700000000.000777", "thread_ts": ambiguous, "text": asking["text"], "blocks": asking["blocks"]}
    payload = {
        "type": "block_actions", "team": {"id": "T1"}, "user": {"id": "U7"}, "api_app_id": "A1",
        "container": {"type": "message", "message_ts": message["ts"], "channel_id": "C1", "is_ephemeral": False},
        "channel": {"id": "C1"}, "response_url": s.api.url + "/response/choice", "trigger_id": "1.2.3",
        "actions": [{**button, "block_id": choices["block_id"], "action_ts": "1700000900.000001"}], "message": message,
    }  # fmt: skip
    assert s.post(urllib.parse.urlencode({"payload": json.dumps(payload)}), FORM) == 200
    settle(s)
    suggested = next(b for b in reply["blocks"] if b.get("block_id") == SUGGESTIONS_BLOCK)
    click(s, reply, action_id=suggested["elements"][0]["action_id"], value=suggested["elements"][0]["value"],
          ts="1700000008.000300", block_id=SUGGESTIONS_BLOCK)  # fmt: skip
    for text in ("help", "status", "ask What is a diffusion model?"):
        s.command(text, response_url=s.api.url + "/response/command")
    settle(s)
    [private] = [c for m, c in s.api.calls if m == "response/command" and c.get("response_type") == "ephemeral"][-1:]
    share = next(b for b in private["blocks"] if b.get("block_id") == "share")["elements"][0]
    body = action_body(action_id="share_answer", value=share["value"], user="U1", message=None,
                       response_url=s.api.url + "/response/share", block_id="share")  # fmt: skip
    assert s.post(body, FORM) == 200
    s.mention("What is a GAN?", channel=PRIVATE)  # answered privately, with "Share in channel"
    s.event({"type": "assistant_thread_started", "event_ts": "1700000400.000001",
             "assistant_thread": {"user_id": "U1", "channel_id": "D2", "thread_ts": "1700000400.000001"}})  # fmt: skip
    settle(s)
    flows.append("posted")


def streamed_answers(s: Slack, flows: list[str]) -> None:
    """Answers streamed: in a channel's thread, the assistant pane, the Messages tab and its stop button."""
    s.mention("How do GANs work?")
    s.api.wait_for("chat.stopStream")
    s.event({"type": "assistant_thread_started", "event_ts": "1700000400.000002",
             "assistant_thread": {"user_id": "U1", "channel_id": "D2", "thread_ts": "1700000400.000002"}})  # fmt: skip
    s.api.wait_for("assistant.threads.setSuggestedPrompts")
    s.dm("What is a GAN?", thread_ts="1700000400.000002", channel="D2")
    s.api.wait_for("chat.stopStream", 2)
    s.event(opened())
    s.api.wait_for("assistant.threads.setSuggestedPrompts", 2)
    s.dm("Which model family suits product photos?")
    s.api.wait_for("chat.stopStream", 3)
    settle(s)
    flows.append("streamed")


def stopped_answer(s: Slack, hold: threading.Event, flows: list[str]) -> None:
    s.event(opened())
    s.api.wait_for("assistant.threads.setSuggestedPrompts")
    ts = s.dm("What is a GAN?")
    s.api.wait_for("chat.startStream")
    s.event({"type": "agent_session_stopped", "channel": "D1", "thread_ts": ts, "user": "U1",
             "streaming_message_ts": [], "event_ts": "1700000999.000001"})  # fmt: skip
    drain(s.app.listener_runner.listener_executor)
    hold.set()
    s.api.wait_for("chat.stopStream")
    settle(s)
    flows.append("stopped")


def broken_streams(s: Slack, flows: list[str]) -> None:
    """Streaming refused (posted instead) and broken midway (finished with chat.update); Slack failing."""
    s.api.errors["chat.startStream"] = "not_allowed_token_type"
    s.event(opened())
    s.dm("What is a GAN?")
    s.mention("How do GANs work?")
    settle(s)
    del s.api.errors["chat.startStream"]
    s.api.errors["chat.stopStream"] = "streaming_state_conflict"
    s.mention("How do diffusion models work?")
    s.api.wait_for("chat.update")
    s.api.errors["conversations.replies"] = "internal_error"  # an apology, privately
    s.mention("and what about VAEs?", thread_ts="1700000100.000001")
    s.api.wait_for("chat.postEphemeral")
    settle(s)
    flows.append("broken")


def tools(s: Slack, flows: list[str]) -> None:
    """The assessment modal and its result, a checklist posted and ticked."""
    s.command("assess We want product photos in twenty backgrounds for the web shop")
    [opened_] = s.api.wait_for("views.open")
    status, _ = s.exchange(submission(opened_["view"], selected(opened_["view"])), FORM)  # the tools tests' form
    assert status == 200
    s.api.wait_for("chat.postEphemeral")
    s.command("checklist pre-deployment web shop photos")
    [posted] = s.api.wait_for("chat.postMessage")
    group = next(b for b in posted["blocks"] if b["type"] == "actions")
    first = group["elements"][0]["options"][0]
    tick = action_body(action_id="checklist_tick", value="", user="U7",
                       message={"ts": "1700000000.000042", "blocks": posted["blocks"]},
                       response_url=s.api.url + "/response/tick", kind="checkboxes",
                       block_id=group["block_id"], selected=[first])  # fmt: skip
    assert s.post(tick, FORM) == 200
    s.api.wait_for("chat.update")
    settle(s)
    flows.append("tools")


@pytest.fixture(scope="module")
def recorded(tmp_path_factory, starter_runtime) -> tuple[list[Call], list[str]]:
    """Every request the flows sent, as (calls, the flows that ran to the end)."""
    root = tmp_path_factory.mktemp("slack-types")
    wire, flows, made = Wire(), [], []
    (root / "channels.yaml").write_text(f"channels:\n  {PRIVATE}: private\n", encoding="utf-8")

    def make(name: str, engine: StubEngine, **settings: Any) -> Slack:
        made.append(Slack(root / name, engine, **settings))
        wire.tap(made[-1].api)
        return made[-1]

    try:
        posted_answers(make("posted", StubEngine(streams=False, suggests=True), slack_experts_channel=EXPERTS,
                            slack_channels_file=str(root / "channels.yaml")), flows)  # fmt: skip
        streamed_answers(make("streamed", StubEngine(suggests=True)), flows)
        hold = threading.Event()
        stopped_answer(make("stopped", StubEngine(hold=hold)), hold, flows)
        broken_streams(make("broken", StubEngine()), flows)
        board = root / "ticks"
        kit = Tools(assessor=lambda: starter_runtime.tools.assessor,
                    board=lambda: open_board(REPO / "knowledge", board))  # fmt: skip
        tools(make("tools", StubEngine(), tools=kit), flows)
    finally:
        for s in made:
            try:
                settle(s)
            finally:
                s.close()
    return wire.calls(), flows


# -- the tests ----------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def types() -> dict[str, str]:
    """The SDK's method table, once the pinned SDK is known to be installed."""
    installed()
    return sdk_methods()


def test_every_web_api_call_slack_makes_type_checks_against_the_official_sdk(types, recorded, tmp_path):
    calls, flows = recorded
    assert flows == ["posted", "streamed", "stopped", "broken", "tools"]
    api = [c for c in calls if c.method]
    assert len(api) > 50 and {c.path.split("/")[1] for c in calls if not c.method} == {"response"}
    untyped = sorted({c.method for c in api} - types.keys() - UNTYPED.keys())
    assert not untyped, f"@slack/web-api has no argument type for {untyped}: list them in UNTYPED with a reason"
    assert not UNTYPED.keys() & types.keys(), "the SDK types these now: take them out of UNTYPED"
    used: set[str] = set()
    typed = [as_the_sdk_takes_them(c, used) for c in api if c.method in types and c.method != "auth.test"]
    assert used == KNOWN.keys(), f"no call needs {sorted(KNOWN.keys() - used)} any more: take it out of KNOWN"
    source, at = typescript(typed, types)
    result = tsc(tmp_path, source)
    assert result.returncode == 0, "tsc rejects calls adoptbot sends Slack:\n" + rejected(result, at)
    seen = {c.method for c in typed}
    assert {"chat.postMessage", "chat.startStream", "chat.appendStream", "chat.stopStream", "chat.update",
            "chat.postEphemeral", "chat.getPermalink", "views.open", "reactions.add", "conversations.replies",
            "assistant.threads.setStatus", "agents.sessions.setStatus"} <= seen  # fmt: skip


def called_in_code() -> set[str]:
    """Every Web API method bot/slack calls through slack_sdk's client (chat_stream: its three methods)."""
    methods: set[str] = set()
    for path in sorted((REPO / "bot" / "slack").glob("*.py")):
        text = path.read_text(encoding="utf-8")
        for name in re.findall(r"client\.(\w+)\(", text):
            if name == "chat_stream":
                methods |= {"chat.startStream", "chat.appendStream", "chat.stopStream"}
            elif name not in ("api_call", *NOT_WEB_API):
                methods.add(name.replace("_", "."))
        methods |= set(re.findall(r"api_call\(\s*\"([\w.]+)\"", text))
    return methods


def test_the_flows_make_every_web_api_call_the_slack_code_has(recorded):
    calls, _ = recorded
    code = called_in_code()
    assert {"chat.postMessage", "agents.sessions.setStatus", "chat.startStream"} <= code  # the scan still works
    missing = sorted(code - {c.method for c in calls} - NOT_DRIVEN.keys())
    assert not missing, f"bot/slack calls {missing}, which no flow here makes: add a flow so its calls are typed"


def test_a_wrong_call_is_rejected_by_tsc(types, tmp_path):
    """The check can fail: blocks with a field no block has, a stream chunk of no known type, a bad form value."""
    wrong = [
        Call("chat.postMessage", False, {"channel": "C1", "text": "hi", "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": "hi"}, "colour": "red"}]}, "/api/chat.postMessage"),
        Call("chat.appendStream", False, {"channel": "C1", "ts": "1.2", "chunks": [{"type": "banner", "text": "x"}]},
             "/api/chat.appendStream"),
        Call("conversations.replies", True, {"channel": "C1", "ts": "1.2", "limit": "fifty"},
             "/api/conversations.replies"),
    ]  # fmt: skip
    right = [Call("conversations.replies", True, {"channel": "C1", "ts": "1.2", "limit": "50"}, "/api/x")]
    assert tsc(tmp_path / "right", typescript(right, types)[0]).returncode == 0
    for n, call in enumerate(wrong):
        source, at = typescript([call], types)
        result = tsc(tmp_path / str(n), source)
        assert result.returncode != 0, f"tsc accepted a wrong {call.method}: {call.args}"
        assert "error TS" in result.stdout and call.method in rejected(result, at)
