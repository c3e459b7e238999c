"""Tasks against the official TypeScript "everything" server (npm
``@modelcontextprotocol/server-everything``, over stdio): its ``simulate-research-query`` tool
requires task augmentation (2025-11-25 ``execution.taskSupport: "required"``).

The server is found at ``$MCP_EVERYTHING_SERVER``, else in ``.cache/everything`` (where
``scripts/everything-server.sh`` installs it), else on ``PATH``; without it the tests skip.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from sansio.versions import Era
from trio_adapter import Client, CommandTransport, RequestContext, TaskCancelled, TaskHandle

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.interop


def everything_server() -> str | None:
    found = os.environ.get("MCP_EVERYTHING_SERVER")
    if found:
        return found
    local = ROOT / ".cache" / "everything" / "node_modules" / ".bin" / "mcp-server-everything"
    if local.exists():
        return str(local)
    return shutil.which("mcp-server-everything")


SERVER = everything_server()
needs_server = pytest.mark.skipif(
    SERVER is None or shutil.which("node") is None,
    reason="the TypeScript everything server is not installed (scripts/everything-server.sh)")


def transport() -> CommandTransport:
    assert SERVER is not None
    return CommandTransport([SERVER, "stdio"])


async def clarify(ctx: RequestContext, params: Any) -> dict[str, Any]:
    first = params.requested_schema.properties["interpretation"].one_of[0].const
    return {"action": "accept", "content": {"interpretation": first}}


@needs_server
async def test_simulate_research_query_runs_to_completion() -> None:
    statuses: list[tuple[str, str | None]] = []

    async def on_status(snapshot: Any) -> None:
        statuses.append((snapshot.status, snapshot.status_message))

    client = Client("interop", "1", mode="legacy")
    async with client.connect(transport()) as session:
        assert session.era is Era.HANDSHAKE
        result = await session.call_tool("simulate-research-query", {"topic": "tides"},
                                         on_task_status=on_status)
    assert not result.is_error
    assert result.content[0].text.startswith("# Research Report: tides")
    assert statuses[0][0] == "working" and statuses[-1][0] == "completed"
    assert ("working", "Synthesizing findings...") in statuses


@needs_server
async def test_its_clarification_is_answered_by_the_elicitation_handler() -> None:
    client = Client("interop", "1", mode="legacy", elicitation_handler=clarify)
    async with client.connect(transport()) as session:
        result = await session.call_tool("simulate-research-query",
                                         {"topic": "python", "ambiguous": True})
    text = result.content[0].text
    assert text.startswith("# Research Report: python (") and "unavailable" not in text


@needs_server
async def test_the_handle_cancels_it() -> None:
    client = Client("interop", "1", mode="legacy")
    async with client.connect(transport()) as session:
        handle = await session.call_tool_as_task("simulate-research-query", {"topic": "x"})
        assert isinstance(handle, TaskHandle) and handle.status == "working"
        await handle.cancel()
        assert handle.status == "cancelled"
        with pytest.raises(TaskCancelled):
            await handle.wait()


@needs_server
def test_trio_mcp_call_runs_it_and_shows_the_status() -> None:
    assert SERVER is not None
    proc = subprocess.run(
        [sys.executable, "-m", "trio_adapter", "call", "simulate-research-query", "topic=tides",
         "--", SERVER, "stdio"],
        check=False, capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("# Research Report: tides")
    lines = proc.stderr.splitlines()
    assert any(line.startswith("trio-mcp: task ") and ": working: " in line for line in lines)
    assert any(": completed" in line for line in lines)


@needs_server
def test_trio_mcp_call_cancels_the_task_on_ctrl_c() -> None:
    assert SERVER is not None
    proc = subprocess.Popen(
        [sys.executable, "-m", "trio_adapter", "call", "--trace", "simulate-research-query",
         "topic=tides", "--", SERVER, "stdio"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
    assert proc.stderr is not None
    seen: list[str] = []
    for line in proc.stderr:  # wait until the task is running
        seen.append(line)
        if line.startswith("trio-mcp: task ") and ": working: " in line:
            break
    proc.send_signal(signal.SIGINT)
    try:
        _out, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 130, err
    assert '"method":"tasks/cancel"' in err and '"status":"cancelled"' in err
    assert "interrupted" in err
