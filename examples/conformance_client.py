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
from sansio.oauth import HTTPCall, OAuthError
from trio_adapter import Client, ClientSession, RequestContext
from trio_adapter.http import StreamableHTTPTransport
from trio_adapter.oauth import OAuth, http_request

#: The client ID metadata document URL the auth/basic-cimd scenario expects.
CIMD_URL = "https://conformance-test.local/client-metadata.json"

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


async def follow_redirect(url: str, redirect_uri: str) -> str:
    """The conformance authorization servers approve at once: the answer to a GET of the
    authorization URL is the redirect to ``redirect_uri``."""
    with trio.fail_after(10):
        answer = await http_request(HTTPCall("GET", url))
    location = answer.headers.get("location")
    if answer.status not in (301, 302, 303, 307, 308) or not location:
        raise OAuthError(f"the authorization endpoint answered HTTP {answer.status}")
    return location


def auth_for(scenario: str, context: dict[str, Any]) -> OAuth | None:
    """The OAuth settings a scenario's context calls for (every scenario gets one: a server
    that never asks for a token never runs its flow)."""
    common: dict[str, Any] = {"on_authorize": follow_redirect, "client_metadata_url": CIMD_URL,
                              "client_name": "trio-mcp-conformance-client"}
    if context.get("valid_jwt"):  # workload identity federation (SEP-1933)
        return OAuth(grant="jwt_bearer", client_id=context.get("client_id"),
                     assertion=context["valid_jwt"], **common)
    if context.get("idp_id_token"):  # enterprise-managed authorization (SEP-990)
        return OAuth(grant="id_jag", client_id=context.get("client_id"),
                     client_secret=context.get("client_secret"),
                     id_token=context["idp_id_token"],
                     idp_token_endpoint=context.get("idp_token_endpoint"),
                     idp_client_id=context.get("idp_client_id"), **common)
    if scenario.startswith("auth/client-credentials"):
        if context.get("private_key_pem"):
            return OAuth(grant="client_credentials", client_id=context.get("client_id"),
                         private_key=context["private_key_pem"],
                         signing_alg=context.get("signing_algorithm") or "ES256", **common)
        return OAuth(grant="client_credentials", client_id=context.get("client_id"),
                     client_secret=context.get("client_secret"), **common)
    if context.get("client_id"):
        return OAuth(client_id=context["client_id"], client_secret=context.get("client_secret"),
                     issuer=context.get("issuer"), **common)
    return OAuth(**common)


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
        transport = StreamableHTTPTransport(url, auth=auth_for(scenario, context))
        async with client.connect(transport) as session:
            await exercise(session, scenario, context)
    return 0


if __name__ == "__main__":
    sys.exit(trio.run(main, sys.argv[-1]))
