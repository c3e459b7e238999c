"""A trio-mcp server for the reconnect and chaos tests.

``chaos_server.py`` serves on stdio; ``chaos_server.py http PORT`` serves Streamable HTTP on
127.0.0.1:PORT (0: a free port) and prints the bound port on stdout once listening.
Tools: ``echo(text)``, ``pid()``, ``nap(seconds)`` (answers after that long).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))

import trio

from trio_adapter import Server, StdioTransport, serve_http

server = Server("chaos-server", "1.0")


@server.tool()
async def echo(text: str) -> str:
    """Return the text."""
    return text


@server.tool()
async def pid() -> int:
    """This process's id."""
    return os.getpid()


@server.tool()
async def nap(seconds: float) -> str:
    """Answer after ``seconds``."""
    await trio.sleep(seconds)
    return "rested"


async def main_http(port: int) -> None:
    async with trio.open_nursery() as nursery:
        info = await nursery.start(serve_http, server, "127.0.0.1", port)
        print(info.port, flush=True)


if __name__ == "__main__":
    if sys.argv[1:2] == ["http"]:
        trio.run(main_http, int(sys.argv[2]))
    else:
        trio.run(server.serve, StdioTransport())
