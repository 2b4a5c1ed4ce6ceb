"""The MCP server: the knowledge base's tools and documents in the protocol of the official `mcp` SDK.

Its low-level `Server` is used, not the decorator-based `MCPServer`: what a caller may list depends on
who calls (a document marked for an audience is listed only where that audience is allowed), so the
list and read handlers are ours. Over HTTP the caller is the one bot/mcp/http.py put on the request
for its bearer token; over stdio it is the local user, given when the server is built.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import anyio
import mcp_types as types
from mcp.server import Server, ServerRequestContext
from mcp.server.stdio import stdio_server
from mcp.shared.exceptions import MCPError

from bot.mcp.knowledge import Caller, Knowledge, Result, failed
from bot.types import Turn

NAME = "adoptbot"
CALLER = "adoptbot_caller"  # where bot/mcp/http.py puts the Caller: the ASGI scope's state
RESOURCE_NOT_FOUND = -32002  # the MCP specification's code for a resource that does not exist
MAX_SEARCH = 20
INSTRUCTIONS = (
    "adoptbot answers questions about adopting generative AI from the organisation's curated knowledge base. "
    "Use `ask` for an answer with numbered sources (it declines what the guidance does not cover: say so, do not "
    "guess), `search` for the passages themselves, `assess` to decide whether a use case needs an LLM, a broader "
    "generative model or a hybrid, and `checklist` for the go-live checklists and a project's progress. Cite the "
    "sources given; every call is recorded in the organisation's audit log."
)
TEXT = {"type": "string"}
READ_ONLY = types.ToolAnnotations(read_only_hint=True, open_world_hint=False)


def _tool(name: str, title: str, description: str, properties: dict[str, Any], *required: str) -> types.Tool:
    schema: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        schema["required"] = list(required)
    return types.Tool(name=name, title=title, description=description, input_schema=schema, annotations=READ_ONLY)


TURN = {
    "type": "object",
    "properties": {"role": {"enum": ["user", "assistant"]}, "text": TEXT},
    "required": ["role", "text"],
}
TOOLS = [
    _tool(
        "ask",
        "Ask the knowledge base",
        "An answer from the guidance with numbered citations [n] and its sources, or a decline naming the "
        "nearest topics when the guidance does not cover the question.",
        {
            "question": {**TEXT, "description": "the question, in the asker's words"},
            "history": {"type": "array", "items": TURN, "description": "earlier turns, oldest first, for a follow-up"},
        },
        "question",
    ),
    _tool(
        "search",
        "Search the knowledge base",
        "The passages of the guidance closest to a query, best first, each with its source (title, section, "
        "path, link, review date).",
        {
            "query": {**TEXT, "description": "what to look for"},
            "limit": {"type": "integer", "minimum": 1, "maximum": MAX_SEARCH, "default": 5},
        },
        "query",
    ),
    _tool(
        "assess",
        "Assess a use case",
        "Whether a use case needs an LLM, a broader generative model (and which family) or a hybrid, step by "
        "step with citations and the checklist items at risk. When a required question is open it lists the "
        "questions with their choices: ask the person, then call again with `answers`.",
        {
            "idea": {**TEXT, "description": "the use case in a sentence"},
            "answers": {
                "type": "object",
                "additionalProperties": TEXT,
                "description": "question id -> choice id (or the answer in words), for questions asked before",
            },
        },
        "idea",
    ),
    _tool(
        "checklist",
        "Checklists and a project's progress",
        "Without a name: the checklists, and the projects working through them here. With a name: that "
        "checklist's items. With a name and a project: the project's progress (who ticked what, when).",
        {
            "name": {**TEXT, "description": "a checklist's id or title"},
            "project": {**TEXT, "description": "a project's name"},
        },
    ),
]


def build_server(knowledge: Knowledge, *, local: Caller | None = None) -> Server[Any]:
    """The MCP server over knowledge; `local` is who every call comes from when no request names one (stdio)."""
    calls = _calls(knowledge)

    def caller_of(ctx: ServerRequestContext[Any]) -> Caller:
        state = getattr(ctx.request, "state", None)
        caller = getattr(state, CALLER, None) if state is not None else None
        if isinstance(caller, Caller):
            return caller
        if local is not None and ctx.request is None:
            return local
        raise MCPError(types.INVALID_REQUEST, "this request carries no caller: send the bearer token")

    async def list_tools(ctx: ServerRequestContext[Any], params: Any) -> types.ListToolsResult:
        return types.ListToolsResult(tools=TOOLS)

    async def call_tool(ctx: ServerRequestContext[Any], params: types.CallToolRequestParams) -> types.CallToolResult:
        caller = caller_of(ctx)
        try:
            run = calls[params.name]
        except KeyError:
            result = failed(f"There is no tool {params.name[:100]!r}: use {', '.join(t.name for t in TOOLS)}.")
        else:
            try:
                result = await anyio.to_thread.run_sync(run, caller, params.arguments or {})
            except ValueError as e:  # arguments that do not fit the tool's schema
                result = failed(str(e))
        return types.CallToolResult(
            content=[types.TextContent(text=result.text)], structured_content=result.data, is_error=result.error
        )

    async def list_resources(ctx: ServerRequestContext[Any], params: Any) -> types.ListResourcesResult:
        documents = await anyio.to_thread.run_sync(knowledge.documents, caller_of(ctx))
        return types.ListResourcesResult(
            resources=[
                types.Resource(
                    uri=d.uri,
                    name=d.source,
                    title=d.title,
                    description=f"{d.title} ({d.source}, reviewed {d.last_reviewed or 'never'})",
                    mime_type="text/markdown",
                    _meta={"url": d.url, "last_reviewed": d.last_reviewed, "audience": list(d.audience)},
                )
                for d in documents
            ]
        )

    async def read_resource(
        ctx: ServerRequestContext[Any], params: types.ReadResourceRequestParams
    ) -> types.ReadResourceResult:
        found = await anyio.to_thread.run_sync(knowledge.document, caller_of(ctx), str(params.uri))
        if found is None:  # hidden from this caller, or not there: the same answer, so nothing is given away
            raise MCPError(RESOURCE_NOT_FOUND, "No such document", {"uri": str(params.uri)[:300]})
        return types.ReadResourceResult(
            contents=[types.TextResourceContents(uri=found.uri, text=found.text, mime_type="text/markdown")]
        )

    return Server(
        NAME,
        title="adoptbot knowledge base",
        instructions=INSTRUCTIONS,
        on_list_tools=list_tools,
        on_call_tool=call_tool,
        on_list_resources=list_resources,
        on_read_resource=read_resource,
    )


async def serve_stdio(server: Server[Any]) -> None:
    """Serve one client over this process's standard input and output until it closes them."""
    async with stdio_server() as (read_stream, write_stream):
        await server.run(read_stream, write_stream, server.create_initialization_options())


def _calls(knowledge: Knowledge) -> dict[str, Callable[[Caller, Mapping[str, Any]], Result]]:
    """Each tool: its arguments checked, then the knowledge base's call (blocking)."""
    return {
        "ask": lambda caller, a: knowledge.ask(caller, _text(a, "question"), _history(a.get("history"))),
        "search": lambda caller, a: knowledge.search(caller, _text(a, "query"), _limit(a.get("limit", 5))),
        "assess": lambda caller, a: knowledge.assess(caller, _text(a, "idea"), _answers(a.get("answers"))),
        "checklist": lambda caller, a: knowledge.checklist(
            caller, _text(a, "name", required=False), _text(a, "project", required=False)
        ),
    }


def _text(arguments: Mapping[str, Any], name: str, *, required: bool = True) -> str:
    value = arguments.get(name, "")
    if not isinstance(value, str):
        raise ValueError(f"`{name}` must be text.")
    value = " ".join(value.split())
    if required and not value:
        raise ValueError(f"`{name}` is required: give it as text.")
    return value


def _limit(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_SEARCH:
        raise ValueError(f"`limit` must be a whole number from 1 to {MAX_SEARCH}.")
    return value


def _history(value: Any) -> tuple[Turn, ...]:
    if value is None:
        return ()
    wrong = ValueError('`history` must be a list of {"role": "user" or "assistant", "text": ...}, oldest first.')
    if not isinstance(value, list):
        raise wrong
    turns = []
    for turn in value:
        if (
            not isinstance(turn, dict)
            or turn.get("role") not in ("user", "assistant")
            or not isinstance(turn.get("text"), str)
        ):
            raise wrong
        turns.append(Turn(turn["role"], turn["text"]))
    return tuple(turns)


def _answers(value: Any) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise ValueError('`answers` must map question ids to choice ids (text), e.g. {"data": "clean"}.')
    return value
