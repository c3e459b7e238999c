"""A trio_adapter server on stdio for the official SDK's client to drive.

    python tests/adapter/scripts/interop_server.py [--trace FILE]

With ``--trace FILE``, every frame the server writes is appended to FILE (one per line), so
the test can check them against the schema.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))

import attrs
import trio

from sansio import types as t
from trio_adapter import Context, Server, StdioTransport, ToolError


@attrs.frozen
class Order:
    item: str
    quantity: int = 1


@attrs.frozen
class Receipt:
    """What an order cost."""

    item: str
    quantity: int
    total: float


def build() -> Server:
    server = Server("trio-interop-server", "1.0", instructions="trio-mcp under test.")

    @server.tool()
    async def echo(text: str) -> str:
        """Return the text unchanged."""
        return text

    @server.tool()
    async def order(order: Order) -> Receipt:
        """Structured input (an attrs class) and structured output."""
        return Receipt(item=order.item, quantity=order.quantity, total=2.5 * order.quantity)

    @server.tool()
    async def countdown(n: int, ctx: Context) -> str:
        """Report progress n times."""
        for i in range(1, n + 1):
            await ctx.report_progress(i, n, f"{i} of {n}")
        return "liftoff"

    @server.tool()
    async def ask_llm(question: str, ctx: Context) -> str:
        """Ask the client's model (sampling) in the middle of the call."""
        result = await ctx.sample(
            [t.SamplingMessage(role="user", content=t.TextContent(text=question))],
            max_tokens=100)
        content = result.content
        assert isinstance(content, t.TextContent)
        await ctx.log("info", f"model {result.model} answered")
        return content.text

    @server.tool()
    async def broken() -> str:
        """Always fails."""
        raise ToolError("broken on purpose")

    @server.resource("trio://readme", mime_type="text/plain")
    async def readme() -> str:
        return "served by trio-mcp"

    @server.resource_template("trio://items/{name}", mime_type="application/json")
    async def item(name: str) -> str:
        return f'{{"name": "{name}"}}'

    @server.prompt()
    async def plan(goal: str, steps: str = "3") -> Any:
        """Plan something."""
        return f"Make a {steps}-step plan to {goal}."

    return server


def main() -> None:
    server = build()
    if sys.argv[1:2] == ["--trace"]:
        out = open(sys.argv[2], "ab")

        def trace(direction: str, item: Any) -> None:
            if direction == "send":
                out.write(item + b"\n")
                out.flush()

        server.trace = trace
    trio.run(server.serve, StdioTransport())


if __name__ == "__main__":
    main()
