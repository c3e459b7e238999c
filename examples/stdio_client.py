"""A client that spawns a server over stdio, lists its tools and calls one.

    python examples/stdio_client.py                 # talks to examples/notes_server.py
    python examples/stdio_client.py -- COMMAND ARGS # talks to any stdio MCP server
"""

from __future__ import annotations

import sys
from pathlib import Path

import trio

from trio_adapter import Client, CommandTransport


async def main(command: list[str]) -> None:
    client = Client("stdio-client-example", "1.0")
    transport = CommandTransport(command, stderr="inherit")
    async with client.connect(transport) as session:
        print(f"connected to {session.server_info.name} (protocol {session.protocol_version})")
        for tool in await session.list_all_tools():
            print(f"  tool {tool.name}: {tool.description}")
        if any(tool.name == "add_note" for tool in await session.list_all_tools()):
            result = await session.call_tool("add_note", {"title": "hello", "body": "world"})
            print(f"add_note -> {result.structured_content}")
            read = await session.read_resource("notes://index")
            print(f"notes://index -> {read.contents[0].text!r}")
    print(f"closed; the server exited with status {transport.returncode}")


if __name__ == "__main__":
    args = sys.argv[1:]
    if args[:1] == ["--"]:
        args = args[1:]
    if not args:
        args = [sys.executable, str(Path(__file__).with_name("notes_server.py"))]
    trio.run(main, args)
