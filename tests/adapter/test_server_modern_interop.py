"""Interop, 2026-07-28: the official Python SDK's client (``mcp``, its default ``mode="auto"``)
against our server over stdio (``trio-mcp serve examples/everything_server.py``).

``auto`` probes ``server/discover`` first; our dual-era server answers it, so the SDK stays
on 2026-07-28 (no ``initialize``), calls a tool, answers an elicitation the tool asks for
with an ``InputRequiredResult`` (the SDK retries with ``inputResponses`` and the sealed
``requestState``), and opens a ``subscriptions/listen`` stream that gets
``notifications/tools/list_changed``.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import pytest

mcp = pytest.importorskip("mcp")

import anyio  # noqa: E402  (the SDK's dependency)
import mcp_types  # noqa: E402

pytestmark = [
    pytest.mark.interop,
    pytest.mark.filterwarnings("ignore::mcp.shared.exceptions.MCPDeprecationWarning"),
]

ROOT = Path(__file__).resolve().parents[2]
EVERYTHING = ROOT / "examples" / "everything_server.py"
TIMEOUT = 20.0


async def answer_elicitation(context: Any, params: mcp_types.ElicitRequestParams
                             ) -> mcp_types.ElicitResult:
    assert params.message == "What is your name?"
    return mcp_types.ElicitResult(action="accept", content={"name": "Alice"})


ENV = {**os.environ, "TRIO_MCP_STATE_KEYS": "interop-" + "s" * 32, "PYTHONPATH": str(ROOT)}


async def drive(target: Any = None) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    if target is None:  # stdio
        target = mcp.StdioServerParameters(
            command=sys.executable, args=["-m", "trio_adapter", "serve", str(EVERYTHING)],
            env=ENV, cwd=str(ROOT))
    with anyio.fail_after(TIMEOUT):
        async with mcp.Client(target, elicitation_callback=answer_elicitation) as client:
            seen["version"] = client.protocol_version
            seen["server"] = client.server_info.name if client.server_info else None
            simple = await client.call_tool("test_simple_text", {})
            seen["simple"] = simple.content[0].text
            greeted = await client.call_tool("test_input_required_result_elicitation", {})
            seen["greeted"] = greeted.content[0].text
            async with client.listen(tools_list_changed=True) as sub:
                seen["honored"] = sub.honored
                await client.call_tool("test_trigger_tool_change", {})
                async for event in sub:
                    seen["event"] = type(event).__name__
                    break
    return seen


def test_sdk_auto_mode_ends_on_2026_07_28_with_mrtr_and_listen() -> None:
    seen = anyio.run(drive, backend="asyncio")
    assert seen["version"] == "2026-07-28"
    assert seen["server"] == "trio-mcp-everything"
    assert seen["simple"] == "This is a simple text response for testing."
    assert seen["greeted"] == "Hello, Alice!"
    assert seen["event"]


def test_sdk_auto_mode_over_http_ends_on_2026_07_28_with_mrtr_and_listen() -> None:
    """The same over Streamable HTTP (``trio-mcp serve ... --http 127.0.0.1:0``)."""
    import re
    import subprocess

    proc = subprocess.Popen(
        [sys.executable, "-m", "trio_adapter", "serve", str(EVERYTHING), "--http",
         "127.0.0.1:0"], cwd=str(ROOT), env=ENV, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stderr is not None
        url = None
        for line in proc.stderr:  # the server says where it listens, then goes quiet
            found = re.match(r"trio-mcp: serving .* at (http:\S+)$", line.strip())
            if found:
                url = found.group(1)
                break
        assert url, "the server did not say where it listens"
        seen = anyio.run(drive, url, backend="asyncio")
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    assert seen["version"] == "2026-07-28"
    assert seen["simple"] == "This is a simple text response for testing."
    assert seen["greeted"] == "Hello, Alice!"
    assert seen["event"]
