"""The benchmarks' echo server, written with trio-mcp's trio adapter.

One tool, ``echo(text: str) -> str``, returning its input. Served over stdio by default, or
over Streamable HTTP on loopback with ``--http HOST:PORT``::

    python benchmarks/servers/ours_echo.py                        # stdio
    python benchmarks/servers/ours_echo.py --http 127.0.0.1:8765  # Streamable HTTP at /mcp

The twin of ``sdk_echo.py`` (the same tool written with the official SDK).
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # run from a checkout
    sys.path.insert(0, str(ROOT))

import trio  # noqa: E402

from trio_adapter import Server, StdioTransport, serve_http  # noqa: E402


def build_server() -> Server:
    server = Server("bench-echo", "1.0")

    @server.tool()
    async def echo(text: str) -> str:
        """Return the text unchanged."""
        return text

    return server


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--http", metavar="HOST:PORT",
                        help="serve Streamable HTTP on HOST:PORT (default: stdio)")
    args = parser.parse_args(argv)
    server = build_server()
    if args.http is None:
        trio.run(server.serve, StdioTransport())
        return 0
    host, sep, port = args.http.rpartition(":")
    if not sep or not port.isdigit():
        parser.error(f"--http wants HOST:PORT, not {args.http!r}")

    async def run_http() -> None:
        # run.py's memory workload holds 1,000 idle sessions from one client, each with its
        # GET stream open: past the default bounds on connections (1,024 in all, 256 from one
        # address), which protect a real deployment from one greedy client.
        await serve_http(server, host or "127.0.0.1", int(port), max_connections=None,
                         max_connections_per_client=None)

    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C in a terminal
        trio.run(run_http)
    return 0


if __name__ == "__main__":
    sys.exit(main())
