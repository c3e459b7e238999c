"""A small trio-mcp server (both eras, the default) whose tools say which era served them, for
the MCP Inspector CLI interop tests (``tests/adapter/test_inspector_interop.py``)::

    python -m trio_adapter serve tests/interop/era_server.py            # stdio
    python -m trio_adapter serve tests/interop/era_server.py --http 127.0.0.1:0
"""

from __future__ import annotations

from trio_adapter import Context, Server

server = Server("era-server", "1.0")


@server.tool()
async def era(ctx: Context) -> str:
    """The revision this request was served at (2026-07-28: a stateless-era request)."""
    return ctx.protocol_version or "unknown"


@server.tool()
async def echo(text: str) -> str:
    """Return the text unchanged."""
    return text
