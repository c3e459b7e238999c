"""The demo server behind ``trio-mcp demo``: one of each feature, small enough to read.

``trio-mcp serve trio_adapter.demo --stdio`` serves it on stdio too.
"""

from __future__ import annotations

import attrs
import trio

from .errors import ToolError
from .server import Context, Server

__all__ = ["build_demo_server", "server"]


@attrs.frozen
class Sum:
    """The result of ``add``."""

    total: float
    terms: int


def build_demo_server() -> Server:
    """Return a fresh demo :class:`Server` (tools, a resource, a template and a prompt)."""
    demo = Server("trio-mcp-demo", "1.0", instructions="A demonstration server.")

    @demo.tool()
    async def add(numbers: list[float], ctx: Context) -> Sum:
        """Add numbers, reporting progress after each one."""
        total = 0.0
        for i, n in enumerate(numbers, 1):
            total += n
            await ctx.report_progress(i, len(numbers), f"added {n:g}")
            await trio.lowlevel.checkpoint()
        return Sum(total=total, terms=len(numbers))

    @demo.tool()
    async def echo(text: str) -> str:
        """Return the text unchanged."""
        return text

    @demo.tool()
    async def fail(reason: str = "on purpose") -> str:
        """Always fail, as a tool execution error."""
        raise ToolError(reason)

    @demo.resource("demo://readme", mime_type="text/plain")
    async def readme() -> str:
        """What this server is."""
        return "This is the trio-mcp demo server."

    @demo.resource_template("demo://greeting/{name}", mime_type="text/plain")
    async def greeting(name: str) -> str:
        """A greeting for anyone."""
        return f"Hello, {name}!"

    @demo.prompt()
    async def review(code: str, language: str = "python") -> str:
        """Ask for a code review."""
        return f"Please review this {language} code:\n\n{code}"

    return demo


#: A ready instance, for ``trio-mcp serve trio_adapter.demo --stdio``.
server = build_demo_server()
