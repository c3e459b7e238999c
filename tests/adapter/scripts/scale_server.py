"""The server of the scale-out tests: each answer names the worker that gave it.

    trio-mcp serve tests/adapter/scripts/scale_server.py --http 127.0.0.1:PORT --store ...

``TRIO_MCP_WORKER_ID`` is set by ``serve --store`` (and ``--workers``) in each worker.
"""

from __future__ import annotations

import os

import trio

from sansio import types as t
from trio_adapter import Context, Server

server = Server("trio-mcp-scale", "1.0")
NAME_SCHEMA = {"type": "object", "properties": {"name": {"type": "string"}},
               "required": ["name"]}


def me() -> str:
    return os.environ.get("TRIO_MCP_WORKER_ID", "?")


@server.tool(structured_output=False)
async def whoami() -> str:
    """The id of the worker that answers."""
    return me()


@server.tool(structured_output=False)
async def greet(ctx: Context) -> str:
    """Ask the user's name (2026-07-28: an MRTR round; its message names the asking worker)."""
    answer = await ctx.elicit(f"asked by {me()}: your name?", NAME_SCHEMA)
    return f"hello {(answer.content or {}).get('name')}, from {me()}"


@server.tool(structured_output=False)
async def countdown(n: int, ctx: Context) -> str:
    """Report progress n times."""
    for i in range(1, n + 1):
        await ctx.report_progress(i, n, f"{i} of {n}")
    return f"liftoff from {me()}"


@server.tool(structured_output=False)
async def ask_llm(question: str, ctx: Context) -> str:
    """Sample the client's model in the middle of the call."""
    result = await ctx.sample(
        [t.SamplingMessage(role="user", content=t.TextContent(text=question))], max_tokens=50)
    assert isinstance(result.content, t.TextContent)
    return f"{result.content.text} via {me()}"


@server.tool(structured_output=False)
async def touch(uri: str) -> str:
    """Say the resource at ``uri`` changed (to every worker's subscribers)."""
    server.resource_updated(uri)
    return f"touched by {me()}"


@server.tool(structured_output=False)
async def slow_stream(n: int, ctx: Context) -> str:
    """n progress notifications 0.2 s apart (a stream that can be dropped and resumed)."""
    for i in range(1, n + 1):
        await ctx.report_progress(i, n)
        await trio.sleep(0.2)
    return f"streamed {n} from {me()}"


@server.tool(structured_output=False, task_support="optional")
async def job(seconds: float = 1.0) -> str:
    """A task: works ``seconds`` seconds, then names its worker."""
    await trio.sleep(min(max(seconds, 0.0), 60.0))
    return f"job done by {me()}"


@server.tool(structured_output=False, task_support="required")
async def forever() -> str:
    """A task that never ends (until its worker dies)."""
    await trio.sleep_forever()
    return "never"


@server.resource("scale://counter", mime_type="text/plain")
async def counter() -> str:
    return f"read on {me()}"
