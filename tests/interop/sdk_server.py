"""A tiny stdio MCP server written with the official Python SDK (``mcp`` 2.x, ``MCPServer``).

The interop tests drive it with trio-mcp's engine as the client::

    python tests/interop/sdk_server.py

It serves the tools ``echo`` and ``add``, a tool ``wait_forever`` (to be cancelled), the text
resource ``demo://greeting`` and the prompt ``greet``.
"""

from __future__ import annotations

import anyio
from mcp.server.mcpserver import MCPServer

server = MCPServer("sdk-interop-server", version="1.0.0", log_level="ERROR")


@server.tool()
def echo(text: str) -> str:
    """Return the text unchanged."""
    return text


@server.tool()
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


@server.tool()
async def wait_forever() -> str:
    """Never finish on its own: the tests cancel it."""
    await anyio.Event().wait()
    return "unreachable"


@server.resource("demo://greeting", mime_type="text/plain")
def greeting() -> str:
    """A greeting."""
    return "Hello from the official SDK!"


@server.prompt()
def greet(name: str) -> str:
    """Greet someone by name."""
    return f"Please greet {name}."


if __name__ == "__main__":
    import sys

    if sys.argv[1:2] == ["--http"]:  # python sdk_server.py --http PORT [--stateless]
        server.run("streamable-http", host="127.0.0.1", port=int(sys.argv[2]),
                   stateless_http="--stateless" in sys.argv)
    else:
        server.run("stdio")
