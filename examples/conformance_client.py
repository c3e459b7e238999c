"""A trio-mcp client for the conformance suite's client scenarios.

    python examples/conformance_client.py URL

The harness runs it with the server URL as the last argument, the scenario name in
``MCP_CONFORMANCE_SCENARIO``, its data in ``MCP_CONFORMANCE_CONTEXT`` (JSON) and the revision
under test in ``MCP_CONFORMANCE_PROTOCOL_VERSION``. It connects over Streamable HTTP pinned to
that revision (2026-07-28: ``server/discover``, no handshake; otherwise ``initialize``), lists
the tools and calls each one (with the context's arguments when it gives some, else arguments
made from the input schema), then reads every resource and gets every prompt the server
offers. Elicitation requests, whether server-to-client requests or 2026-07-28
``input_required`` rounds, are accepted with the schema's defaults (SEP-1034). Exit status 0
when every step worked.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout

import trio

from sansio import SUPPORTED_VERSIONS
from trio_adapter import Client, ClientSession, RequestContext
from trio_adapter.http import StreamableHTTPTransport

_SAMPLE = {"number": 1, "integer": 1, "string": "conformance", "boolean": True}
_ECHO = "json_schema_echo"


def arguments_for(schema: dict[str, Any]) -> dict[str, Any]:
    """Arguments satisfying the required properties of a simple input schema."""
    props = schema.get("properties") or {}
    return {name: _SAMPLE.get(str(props.get(name, {}).get("type")), "x")
            for name in schema.get("required") or ()}


async def accept_with_defaults(ctx: RequestContext, params: Any) -> dict[str, Any]:
    schema = getattr(params, "requested_schema", None)
    props = schema.properties if schema is not None else {}
    content = {}
    for name, prop in (props or {}).items():
        default = getattr(prop, "default", None)
        if default is not None:
            content[name] = default
    return {"action": "accept", "content": content}


async def sample(ctx: RequestContext, params: Any) -> dict[str, Any]:
    return {"role": "assistant", "content": {"type": "text", "text": "conformance"},
            "model": "conformance-model", "stopReason": "endTurn"}


async def exercise(session: ClientSession, scenario: str, context: dict[str, Any]) -> None:
    caps = session.server_capabilities
    print(f"{scenario}: era={session.era} version={session.protocol_version}", file=sys.stderr)
    if "tools" in caps or session.era == "modern":
        listing = await session.send_request("tools/list")
        tools = [tool for tool in listing.get("tools", []) if isinstance(tool, dict)]
        calls = context.get("toolCalls")
        if isinstance(calls, list) and calls:
            plan = [(c["name"], c.get("arguments") or {}) for c in calls]
        else:
            schemas = {tool["name"]: tool.get("inputSchema") or {} for tool in tools}
            plan = []
            for name, schema in schemas.items():
                if name == _ECHO:  # round-trip another tool's schema, verbatim (SEP-1613)
                    focal = next((s for n, s in schemas.items() if n != _ECHO), {})
                    plan.append((name, {"schema": focal}))
                else:
                    plan.append((name, arguments_for(schema)))
        for name, arguments in plan:
            result = await session.call_tool(name, arguments)
            print(f"{scenario}: {name} -> is_error={result.is_error}", file=sys.stderr)
    if "resources" in caps:
        for resource in await session.list_all_resources():
            await session.read_resource(resource.uri)
    if "prompts" in caps:
        for prompt in await session.list_all_prompts():
            await session.get_prompt(prompt.name)


async def main(url: str) -> int:
    scenario = os.environ.get("MCP_CONFORMANCE_SCENARIO", "")
    version = os.environ.get("MCP_CONFORMANCE_PROTOCOL_VERSION") or None
    context = json.loads(os.environ.get("MCP_CONFORMANCE_CONTEXT") or "{}")
    if version not in SUPPORTED_VERSIONS:
        version = None  # auto: probe with server/discover, fall back to initialize
    client = Client("trio-mcp-conformance-client", "1.0",
                    supported_versions=SUPPORTED_VERSIONS, protocol_version=version,
                    elicitation_handler=accept_with_defaults, sampling_handler=sample)
    with trio.fail_after(30):
        async with client.connect(StreamableHTTPTransport(url)) as session:
            await exercise(session, scenario, context)
    return 0


if __name__ == "__main__":
    sys.exit(trio.run(main, sys.argv[-1]))
