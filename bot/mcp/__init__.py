"""The knowledge base for other assistants (Claude, ChatGPT, Copilot, IDEs) over the Model Context Protocol.

An edge like bot/slack and bot/teams: it translates the protocol into calls of the core (bot/chat.py,
bot/tools/core.py, the Retriever) and their results back, with the same citations, audiences and audit.
knowledge.py is what a caller may do, in plain data; server.py the official `mcp` SDK's server over it
(tools `ask`, `search`, `assess`, `checklist`; the documents as resources); http.py serves it at /mcp on
the aiohttp server, for bearers of a configured token. `adoptbot mcp` serves it over stdio.
"""

from bot.mcp.knowledge import Caller, Knowledge
from bot.mcp.server import build_server, serve_stdio

__all__ = ["Caller", "Knowledge", "build_server", "serve_stdio"]
