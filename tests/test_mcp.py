"""MCP: the knowledge base for other assistants, driven by the official SDK's own client.

Over HTTP against /mcp on the aiohttp app `adoptbot serve` builds (port 0), and over stdio against a
subprocess `python -m adoptbot.cli mcp`, both on a tiny knowledge folder written here with one document
and one checklist marked for HR; the real embedding model retrieves.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import sqlite3
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx2
import pytest
from mcp import Client, MCPError, StdioServerParameters
from mcp.client.streamable_http import streamable_http_client

from adoptbot.runtime import Runtime
from bot.mcp import Caller
from bot.web.server import build_web_app
from common.errors import ConfigError
from common.settings import Settings
from tests.cluster import Server, clean_env, http
from tests.conftest import REPO, write_kb
from tests.hr_kb import HR_DOCS, HR_TITLE, SALARY
from tests.hr_kb import PUBLIC as PRIVACY
from tests.web import BackgroundServer

HR_TOKEN = "hr-token-0123456789abcdef"
PUBLIC_TOKEN = "public-token-0123456789abcdef"
HR_DOC = "hr/salary-bands.md"
HIDDEN = (HR_TITLE, "Pay review", "pay-review", "hr/", "market surveys")  # titles, paths, words of the text
AUDIENCES = "slack:\n  CHR: [hr]\n  default: []\ndm: []\n"


def tiny_knowledge(root: Path) -> Path:
    """The test's knowledge folder: two public documents, a public and an HR checklist, an HR document."""
    folder = write_kb(root / "knowledge", HR_DOCS)
    shutil.copy(REPO / "knowledge" / "assessment.yaml", folder / "assessment.yaml")  # the decision table
    (root / "audiences.yaml").write_text(AUDIENCES, encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def runtime(tmp_path_factory, real_embedder) -> Runtime:
    tmp = tmp_path_factory.mktemp("mcp")
    settings = Settings(
        data_dir=tmp / "data",
        knowledge_dir=tiny_knowledge(tmp),
        backend="template",
        audiences_file=str(tmp / "audiences.yaml"),
        mcp_tokens=f"{HR_TOKEN}=slack:CHR, {PUBLIC_TOKEN}=slack:CPUB",
        questions_per_minute=1000,
        workers=2,
    )
    runtime = Runtime(settings, embedder=real_embedder)
    assert not runtime.ingest(progress=False).skipped
    return runtime


@pytest.fixture(scope="module")
def served(runtime):
    """/mcp on the web app `adoptbot serve` builds, on a loopback port 0."""
    server = BackgroundServer(build_web_app(index_info=runtime.index_info, mcp=runtime.mcp_endpoint()))
    yield server
    server.close()


def over_http(served: BackgroundServer | Server, token: str, scenario: Callable[[Client], Awaitable[Any]]) -> Any:
    """Run scenario(client) with the SDK's client connected to /mcp as a bearer of token."""

    async def run() -> Any:
        async with (
            httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=120) as web,
            Client(streamable_http_client(f"{served.url}/mcp", http_client=web)) as client,
        ):
            return await scenario(client)

    return asyncio.run(run())


def call(served: BackgroundServer | Server, token: str, tool: str, **arguments: Any) -> Any:
    return over_http(served, token, lambda client: client.call_tool(tool, arguments))


def audit(runtime: Runtime) -> list[dict[str, Any]]:
    import datetime as dt

    return list(runtime.feedback.audit(dt.datetime(2000, 1, 1, tzinfo=dt.UTC)))


def shows_hidden(value: Any) -> list[str]:
    if isinstance(value, dict):
        value = {k: v for k, v in value.items() if k not in ("question", "query")}  # what the caller sent
    text = json.dumps(value).lower()
    return [h for h in HIDDEN if h.lower() in text]


# -- over HTTP ---------------------------------------------------------------------------------
def test_the_four_tools_are_listed_with_their_schemas(served):
    listed = over_http(served, PUBLIC_TOKEN, lambda client: client.list_tools())
    tools = {t.name: t for t in listed.tools}
    assert set(tools) == {"ask", "search", "assess", "checklist"}
    assert tools["ask"].input_schema["required"] == ["question"]
    assert tools["search"].input_schema["properties"]["limit"]["maximum"] == 20


@pytest.mark.parametrize("authorization", [None, "Bearer not-a-configured-token", f"Basic {PUBLIC_TOKEN}"])
def test_without_a_configured_bearer_token_mcp_is_refused_401(served, authorization):
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}).encode()
    headers = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}
    status, answer = http("POST", f"{served.url}/mcp", body=body, headers=headers | (
        {"Authorization": authorization} if authorization else {}))  # fmt: skip
    assert status == 401
    assert "ADOPTBOT_MCP_TOKENS" in answer.decode()


def test_the_sdk_client_with_a_wrong_token_gets_nothing(served, caplog):
    with pytest.raises(ExceptionGroup) as failure:  # the SDK's task groups carry its error out
        over_http(served, "wrong-token-0123456789", lambda client: client.list_tools())
    assert failure.group_contains(MCPError)
    assert "MCP request from 127.0.0.1 refused (401)" in caplog.text


def test_ask_answers_with_numbered_citations_from_the_passages(served):
    result = call(served, PUBLIC_TOKEN, "ask", question=PRIVACY)
    data = result.structured_content
    assert not result.is_error
    assert data["status"] == "answered"
    assert data["sources"] and data["sources"][0]["source"] == "guidance/privacy.md"
    text = result.content[0].text
    assert "[1]" in text and "Sources:" in text and "guidance/privacy.md" in text


def test_ask_declines_what_the_knowledge_base_does_not_cover(served):
    result = call(served, PUBLIC_TOKEN, "ask", question="Who won the football world cup in 2022?")
    assert not result.is_error
    assert result.structured_content["status"] == "no_answer"
    assert result.structured_content["sources"] == []


def test_ask_follows_up_on_the_history_given(served):
    history = [{"role": "user", "text": PRIVACY}, {"role": "assistant", "text": "Keep personal data out."}]
    result = call(served, PUBLIC_TOKEN, "ask", question="why?", history=history)
    assert result.structured_content["status"] == "answered"


def test_an_hr_document_answers_only_a_token_whose_place_may_see_it(served):
    hr = call(served, HR_TOKEN, "ask", question=SALARY).structured_content
    assert hr["status"] == "answered" and hr["sources"][0]["source"] == HR_DOC
    public = call(served, PUBLIC_TOKEN, "ask", question=SALARY)
    assert shows_hidden(public.structured_content) == [] and shows_hidden(public.content[0].text) == []


def test_search_returns_passages_with_their_sources_and_never_a_hidden_one(served):
    hr = call(served, HR_TOKEN, "search", query="salary bands", limit=3).structured_content
    assert hr["passages"][0]["source"] == HR_DOC and "market surveys" in hr["passages"][0]["text"]
    public = call(served, PUBLIC_TOKEN, "search", query="salary bands", limit=20)
    assert public.structured_content["passages"], "the public documents are still found"
    assert all(p["source"] != HR_DOC for p in public.structured_content["passages"])
    assert shows_hidden(public.structured_content) == [] and shows_hidden(public.content[0].text) == []


def test_a_tool_called_with_the_wrong_arguments_says_what_it_takes(served):
    result = call(served, PUBLIC_TOKEN, "search", query="privacy", limit=500)
    assert result.is_error and "limit" in result.content[0].text
    result = call(served, PUBLIC_TOKEN, "ask", question="   ")
    assert result.is_error and "question" in result.content[0].text


def test_documents_are_resources_and_a_hidden_one_is_neither_listed_nor_read(served):
    async def resources(client: Client) -> tuple[list[str], str, str]:
        listed = [str(r.uri) for r in (await client.list_resources()).resources]
        privacy = next(u for u in listed if u.endswith("privacy.md"))
        text = (await client.read_resource(privacy)).contents[0].text
        try:
            hidden = (await client.read_resource("adoptbot://documents/hr/salary-bands.md")).contents[0].text
        except MCPError as e:
            hidden = f"error {e.code}: {e.message}"
        return listed, text, hidden

    listed, text, hidden = over_http(served, PUBLIC_TOKEN, resources)
    assert "Keep personal data out of prompts" in text and text.startswith("# Privacy")
    assert not [u for u in listed if "hr/" in u]
    assert hidden == "error -32002: No such document"
    listed, _, hidden = over_http(served, HR_TOKEN, resources)
    assert "adoptbot://documents/hr/salary-bands.md" in listed
    assert "market surveys" in hidden


def test_assess_recommends_with_its_reasons_or_asks_what_it_needs(served):
    idea = "We want product photos in twenty backgrounds for the web shop"
    done = call(served, PUBLIC_TOKEN, "assess", idea=idea).structured_content
    assert done["status"] == "assessed" and done["recommendation"] in ("llm", "generative", "hybrid")
    assert done["steps"]
    needs = call(served, PUBLIC_TOKEN, "assess", idea="something for the team").structured_content
    assert needs["status"] == "incomplete"
    question = needs["questions"][0]
    chosen = {question["id"]: question["choices"][0]["id"]}
    answered = call(served, PUBLIC_TOKEN, "assess", idea="something for the team", answers=chosen).structured_content
    assert answered["status"] == "assessed"


def test_checklist_lists_shows_and_reports_a_projects_progress_without_hidden_ones(served, runtime):
    board = runtime.tools.board
    board.post("CPUB", "web shop photos", "launch", "U1")
    board.tick("CPUB", "web shop photos", "launch", "owner", "U1", done=True)
    listed = call(served, PUBLIC_TOKEN, "checklist").structured_content
    assert [c["id"] for c in listed["checklists"]] == ["launch"]
    assert [(p["project"], p["done"], p["total"]) for p in listed["projects"]] == [("web shop photos", 1, 2)]
    hr = call(served, HR_TOKEN, "checklist").structured_content
    assert {c["id"] for c in hr["checklists"]} == {"launch", "pay-review"} and hr["projects"] == []
    items = call(served, PUBLIC_TOKEN, "checklist", name="launch").structured_content
    assert [i["text"] for i in items["items"]] == ["Name an accountable owner.", "Put human review on risky outputs."]
    progress = call(served, PUBLIC_TOKEN, "checklist", name="launch", project="web shop photos")
    assert [i["done"] for i in progress.structured_content["items"]] == [True, False]
    assert "[x] Name an accountable owner. (ticked by U1" in progress.content[0].text
    refused = call(served, PUBLIC_TOKEN, "checklist", name="pay-review")
    assert refused.is_error and shows_hidden(refused.structured_content) == ["pay-review"]  # only the name typed


def test_every_call_is_in_the_audit_log_as_mcp_redacted_and_hashed(served, runtime):
    call(served, PUBLIC_TOKEN, "ask", question="Can alice@example.com paste customer data into prompts?")
    call(served, PUBLIC_TOKEN, "search", query="privacy for bob@example.com")
    call(served, PUBLIC_TOKEN, "assess", idea="Summarise supplier contracts for the legal team")
    call(served, PUBLIC_TOKEN, "checklist", name="launch")
    rows = audit(runtime)
    mine = [r for r in rows if "[email]" in r["question"] or "example.com" in r["question"]]
    assert [r["question"] for r in mine] == ["Can [email] paste customer data into prompts?", "privacy for [email]"]
    assert all(r["platform"] == "mcp" and r["channel_kind"] == "unknown" for r in mine)
    assert mine[1]["backend"] == "search" and mine[1]["sources"], "a search is audited with the sources it gave"
    assert all(r["user"] and PUBLIC_TOKEN not in json.dumps(r) for r in rows)
    assert {r["backend"] for r in rows if r["platform"] == "mcp"} >= {"search", "assessment", "checklist"}


def test_without_tokens_there_is_no_mcp_route(runtime, tmp_path):
    plain = Runtime(Settings(data_dir=tmp_path / "data", knowledge_dir=tmp_path / "knowledge"))
    assert plain.mcp_endpoint() is None
    server = BackgroundServer(build_web_app(index_info=lambda: None, mcp=plain.mcp_endpoint()))
    try:
        assert http("POST", f"{server.url}/mcp", body=b"{}", headers={"Authorization": f"Bearer {HR_TOKEN}"})[0] == 404
    finally:
        server.close()


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("short=slack:C1", "at least 16"),
        (f"{HR_TOKEN}", "slack:CHANNEL_ID"),
        (f"{HR_TOKEN}=everything", "slack:CHANNEL_ID"),
        (f"{HR_TOKEN}=slack:C1,{HR_TOKEN}=teams:personal", "repeats"),
    ],
)
def test_a_bad_token_setting_stops_start_up_naming_it_without_the_secret(value, says):
    with pytest.raises(ConfigError) as e:
        Settings.from_env({"ADOPTBOT_MCP_TOKENS": value})
    assert "ADOPTBOT_MCP_TOKENS" in str(e.value) and says in str(e.value)
    assert HR_TOKEN not in str(e.value) and "short" not in str(e.value)


def test_tokens_map_to_their_places():
    settings = Settings.from_env({"ADOPTBOT_MCP_TOKENS": f" {HR_TOKEN}=slack:CHR , {PUBLIC_TOKEN}=teams:personal "})
    assert settings.mcp_places == {HR_TOKEN: "slack:CHR", PUBLIC_TOKEN: "teams:personal"}
    assert HR_TOKEN not in repr(settings)


def test_adoptbot_serve_with_only_mcp_tokens_serves_mcp_and_shuts_down_cleanly(tmp_path):
    env = {
        "ADOPTBOT_DATA_DIR": str(tmp_path / "data"),
        "ADOPTBOT_KNOWLEDGE_DIR": str(tiny_knowledge(tmp_path)),
        "ADOPTBOT_AUDIENCES_FILE": str(tmp_path / "audiences.yaml"),
        "ADOPTBOT_BACKEND": "template",
        "ADOPTBOT_MCP_TOKENS": f"{PUBLIC_TOKEN}=slack:CPUB",
    }
    server = Server("serve-mcp", env, log_dir=tmp_path, args=())
    try:
        server.wait_ready()
        found = call(server, PUBLIC_TOKEN, "search", query="salary bands").structured_content
        assert found["passages"] and all(p["source"] != HR_DOC for p in found["passages"])
        assert http("POST", f"{server.url}/mcp", body=b"{}")[0] == 401
    finally:
        server.stop()
    assert server.proc.returncode == 0, server.log()
    assert "Traceback" not in server.log() and "MCP at /mcp" in server.log()


def test_a_local_caller_given_a_place_sees_what_that_place_sees(runtime):
    server = runtime.mcp_server(local=Caller(place="slack:CPUB", user="me", channel_kind="terminal"))

    async def run() -> list[str]:
        async with Client(server, mode="legacy") as client:  # in process: no HTTP request, so the local caller
            return [str(r.uri) for r in (await client.list_resources()).resources]

    listed = asyncio.run(run())
    assert "adoptbot://documents/guidance/privacy.md" in listed and not [u for u in listed if "hr/" in u]


# -- over stdio --------------------------------------------------------------------------------
def test_adoptbot_mcp_over_stdio_answers_as_the_local_user_and_audits(tmp_path):
    folder = tiny_knowledge(tmp_path)
    env = clean_env(
        ADOPTBOT_DATA_DIR=str(tmp_path / "data"),
        ADOPTBOT_KNOWLEDGE_DIR=str(folder),
        ADOPTBOT_AUDIENCES_FILE=str(tmp_path / "audiences.yaml"),
        ADOPTBOT_BACKEND="template",
    )
    params = StdioServerParameters(command=sys.executable, args=["-m", "adoptbot.cli", "mcp"], env=env, cwd=REPO)

    async def run() -> tuple[Any, ...]:
        with (tmp_path / "server.log").open("w") as errlog:
            async with Client(stdio_client_of(params, errlog), read_timeout_seconds=300) as client:
                tools = {t.name for t in (await client.list_tools()).tools}
                answer = await client.call_tool("ask", {"question": SALARY})
                found = await client.call_tool("search", {"query": "privacy", "limit": 2})
                documents = [str(r.uri) for r in (await client.list_resources()).resources]
                checklists = await client.call_tool("checklist", {})
                return tools, answer, found, documents, checklists

    tools, answer, found, documents, checklists = asyncio.run(run())
    assert tools == {"ask", "search", "assess", "checklist"}
    # The terminal's place sees every document, as `adoptbot ask` does.
    assert answer.structured_content["status"] == "answered"
    assert answer.structured_content["sources"][0]["source"] == HR_DOC
    assert found.structured_content["passages"][0]["source"] == "guidance/privacy.md"
    assert "adoptbot://documents/hr/salary-bands.md" in documents
    assert {c["id"] for c in checklists.structured_content["checklists"]} == {"launch", "pay-review"}
    with sqlite3.connect(tmp_path / "data" / "feedback.sqlite3") as db:
        rows = db.execute("SELECT platform, channel_kind, backend, question FROM answers ORDER BY rowid").fetchall()
    assert [r[:3] for r in rows] == [("mcp", "terminal", "template"), ("mcp", "terminal", "search"),
                                     ("mcp", "terminal", "checklist")]  # fmt: skip
    assert rows[0][3] == SALARY


def stdio_client_of(params: StdioServerParameters, errlog: Any) -> Any:
    from mcp.client.stdio import stdio_client

    return stdio_client(params, errlog=errlog)
