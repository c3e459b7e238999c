"""The benchmarks' echo server, written with the official MCP Python SDK (``mcp``, ``MCPServer``).

One tool, ``echo(text: str) -> str``, returning its input. Served over stdio by default, or
over Streamable HTTP on 127.0.0.1 with ``--http PORT``::

    python benchmarks/servers/sdk_echo.py              # stdio
    python benchmarks/servers/sdk_echo.py --http 8765  # Streamable HTTP at /mcp

The twin of ``ours_echo.py`` (the same tool written with trio-mcp).
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import warnings

warnings.simplefilter("ignore", DeprecationWarning)
warnings.simplefilter("ignore", PendingDeprecationWarning)

from mcp.server.mcpserver import MCPServer  # noqa: E402
from mcp.shared.exceptions import MCPDeprecationWarning  # noqa: E402

warnings.simplefilter("ignore", MCPDeprecationWarning)


def build_server() -> MCPServer:
    server = MCPServer("bench-echo", version="1.0", log_level="ERROR")

    @server.tool()
    async def echo(text: str) -> str:
        """Return the text unchanged."""
        return text

    return server


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--http", metavar="PORT", type=int,
                        help="serve Streamable HTTP on 127.0.0.1:PORT (default: stdio)")
    args = parser.parse_args(argv)
    server = build_server()
    if args.http is None:
        server.run("stdio")
    else:
        with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C in a terminal
            server.run("streamable-http", host="127.0.0.1", port=args.http)
    return 0


if __name__ == "__main__":
    sys.exit(main())
