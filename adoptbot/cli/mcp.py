"""`adoptbot mcp`: the knowledge base for another assistant on this machine, over standard input and output."""

from __future__ import annotations

import argparse
import sys

from adoptbot.cli.index import ensure_index
from adoptbot.cli.terminal import EXIT_OK, login_name
from adoptbot.runtime import Runtime


def cmd_mcp(runtime: Runtime, args: argparse.Namespace) -> int:
    """Serve one MCP client on stdio as the local user, who sees what the terminal sees (or --place's)."""
    import anyio  # the SDK loads only for this command

    from bot.mcp import Caller, serve_stdio

    ensure_index(runtime)
    runtime.warm_up()  # the models load before the client's first call, not during it
    caller = Caller(place=args.place or "", user=login_name("terminal"), channel_kind="terminal")
    print("adoptbot: serving MCP on standard input and output.", file=sys.stderr)
    anyio.run(serve_stdio, runtime.mcp_server(local=caller))
    return EXIT_OK
