"""A trio-mcp client for the conformance suite's client scenarios.

    python examples/conformance_client.py URL

The harness runs it with the server URL as the last argument and the scenario name in
``MCP_CONFORMANCE_SCENARIO``. It connects over Streamable HTTP, lists the tools and calls each
one with arguments made from its input schema; elicitation requests are accepted with the
schema's defaults (SEP-1034). Exit status 0 when every step worked.
"""

from __future__ import annotations

import os
import sys
from typing import Any

import trio

from trio_adapter import Client, RequestContext
from trio_adapter.http import StreamableHTTPTransport

_SAMPLE = {"number": 1, "integer": 1, "string": "conformance", "boolean": True}


def arguments_for(schema: dict[str, Any]) -> dict[str, Any]:
    """Arguments satisfying the required properties of a simple input schema."""
    props = schema.get("properties") or {}
    return {name: _SAMPLE.get(str(props.get(name, {}).get("type")), "x")
            for name in schema.get("required") or ()}


async def accept_with_defaults(ctx: RequestContext, params: Any) -> dict[str, Any]:
    schema = getattr(params, "requested_schema", None)
    props = schema.properties if schema is not None else {}
    content = {}
    for name, prop in props.items():
        default = getattr(prop, "default", None)
        if default is not None:
            content[name] = default
    return {"action": "accept", "content": content}


async def main(url: str) -> int:
    scenario = os.environ.get("MCP_CONFORMANCE_SCENARIO", "")
    client = Client("trio-mcp-conformance-client", "1.0",
                    elicitation_handler=accept_with_defaults)
    with trio.fail_after(30):
        async with client.connect(StreamableHTTPTransport(url)) as session:
            if "tools" in session.server_capabilities:
                for tool in await session.list_all_tools():
                    result = await session.call_tool(tool.name, arguments_for(tool.input_schema))
                    print(f"{scenario}: {tool.name} -> is_error={result.is_error}",
                          file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(trio.run(main, sys.argv[-1]))
