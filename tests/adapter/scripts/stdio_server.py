"""A trio-mcp server on stdio, for the process and stdio lifecycle tests.

Tools: ``echo(text)``, ``pid()``, ``wait_forever()`` (blocks until cancelled) and
``slow_echo(text)`` (answers after the client sends a ping: lets a test order events).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))

import trio

from trio_adapter import Server, StdioTransport

server = Server("stdio-test-server", "1.0")


@server.tool()
async def echo(text: str) -> str:
    """Return the text."""
    return text


@server.tool()
async def pid() -> int:
    """This process's id."""
    return os.getpid()


@server.tool()
async def wait_forever() -> str:
    """Never answer (until cancelled)."""
    await trio.sleep_forever()
    return "unreachable"


if __name__ == "__main__":
    trio.run(server.serve, StdioTransport())
