"""Interop with software we did not write: the official MCP Python SDK (``mcp`` on PyPI).

* The SDK's client (``mcp.Client`` over stdio) drives our ``trio_adapter.Server``
  (``scripts/interop_server.py``): tools (structured input and output, progress, a failing
  tool), resources and templates, prompts, logging, and a sampling request from our server
  answered by the SDK client's callback; under asyncio and under trio.
* Our ``Client`` spawns an SDK server (``tests/interop/sdk_server.py``) with
  ``CommandTransport`` and lists and calls its tools, reads its resource, gets its prompt,
  cancels a call, and closes with nothing left running.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest
import trio

mcp = pytest.importorskip("mcp")

import anyio  # noqa: E402  (the SDK's dependency)
import mcp_types  # noqa: E402
from mcp.client.session import ClientRequestContext  # noqa: E402

from sansio import types as t  # noqa: E402
from tests.test_schema_frames import check_if_available  # noqa: E402
from trio_adapter import Client, CommandTransport, MCPError  # noqa: E402

pytestmark = [
    pytest.mark.interop,
    pytest.mark.filterwarnings("ignore::mcp.shared.exceptions.MCPDeprecationWarning"),
]

ROOT = Path(__file__).resolve().parents[2]
OUR_SERVER = ROOT / "tests" / "adapter" / "scripts" / "interop_server.py"
SDK_SERVER = ROOT / "tests" / "interop" / "sdk_server.py"
TIMEOUT = 20.0


# ---------------------------------------------------------------- SDK client -> our server


async def answer_sampling(context: ClientRequestContext,
                          params: mcp_types.CreateMessageRequestParams
                          ) -> mcp_types.CreateMessageResult:
    question = params.messages[0].content
    assert isinstance(question, mcp_types.TextContent)
    return mcp_types.CreateMessageResult(
        role="assistant", model="sdk-fake-llm", stopReason="endTurn",
        content=mcp_types.TextContent(type="text", text=question.text[::-1]))


async def drive_our_server(trace: Path) -> None:
    logs: list[Any] = []
    progress: list[tuple[float, float | None, str | None]] = []

    async def on_log(params: mcp_types.LoggingMessageNotificationParams) -> None:
        logs.append((params.level, params.data))

    async def on_progress(done: float, total: float | None, message: str | None) -> None:
        progress.append((done, total, message))

    params = mcp.StdioServerParameters(command=sys.executable,
                                       args=[str(OUR_SERVER), "--trace", str(trace)])
    with anyio.fail_after(TIMEOUT):
        async with mcp.Client(params, mode="legacy", sampling_callback=answer_sampling,
                              logging_callback=on_log) as client:
            assert client.protocol_version == "2025-11-25"
            assert client.server_info.name == "trio-interop-server"
            assert client.instructions == "trio-mcp under test."
            caps = client.server_capabilities
            assert caps.tools and caps.resources and caps.prompts and caps.logging is not None

            tools = {tool.name: tool for tool in (await client.list_tools()).tools}
            assert set(tools) == {"echo", "order", "countdown", "ask_llm", "broken"}
            assert tools["order"].output_schema["required"] == ["item", "quantity", "total"]
            assert tools["order"].input_schema["required"] == ["item"]

            echoed = await client.call_tool("echo", {"text": "héllo"})
            assert not echoed.is_error and echoed.content[0].text == "héllo"
            receipt = await client.call_tool("order", {"item": "tea", "quantity": 2})
            assert receipt.structured_content == {"item": "tea", "quantity": 2, "total": 5.0}
            invalid = await client.call_tool("order", {"item": "tea", "quantity": "two"})
            assert invalid.is_error
            assert "$.quantity: expected integer, got string" in invalid.content[0].text
            failed = await client.call_tool("broken", {})
            assert failed.is_error and failed.content[0].text == "broken on purpose"
            counted = await client.call_tool("countdown", {"n": 3},
                                             progress_callback=on_progress)
            assert counted.content[0].text == "liftoff"

            sampled = await client.call_tool("ask_llm", {"question": "abc"})
            assert not sampled.is_error, sampled
            assert sampled.content[0].text == "cba"

            resources = await client.list_resources()
            assert [str(r.uri) for r in resources.resources] == ["trio://readme"]
            templates = await client.list_resource_templates()
            assert templates.resource_templates[0].uri_template == "trio://items/{name}"
            read = await client.read_resource("trio://readme")
            assert read.contents[0].text == "served by trio-mcp"
            item = await client.read_resource("trio://items/kettle")
            assert json.loads(item.contents[0].text) == {"name": "kettle"}
            with pytest.raises(mcp.MCPError) as missing:
                await client.read_resource("trio://nothing")
            assert missing.value.error.code == -32002

            prompts = await client.list_prompts()
            assert [(a.name, a.required) for a in prompts.prompts[0].arguments] == [
                ("goal", True), ("steps", False)]
            prompt = await client.get_prompt("plan", {"goal": "ship it"})
            assert prompt.messages[0].content.text == "Make a 3-step plan to ship it."
            with pytest.raises(mcp.MCPError) as bad:
                await client.get_prompt("plan", {})
            assert bad.value.error.code == -32602

            await client.session.send_ping()
    assert progress == [(1, 3, "1 of 3"), (2, 3, "2 of 3"), (3, 3, "3 of 3")]
    assert logs == [("info", "model sdk-fake-llm answered")]


def check_trace(trace: Path) -> None:
    frames = [json.loads(line) for line in trace.read_bytes().splitlines()]
    assert frames
    for frame in frames:
        check_if_available("2025-11-25", frame)
    methods = [f["method"] for f in frames if "method" in f and "id" in f]
    assert methods == ["sampling/createMessage"]


def test_sdk_client_drives_our_server(tmp_path: Path) -> None:
    trace = tmp_path / "frames.jsonl"
    anyio.run(drive_our_server, trace, backend="asyncio")
    check_trace(trace)


async def test_sdk_client_drives_our_server_under_trio(tmp_path: Path) -> None:
    trace = tmp_path / "frames.jsonl"
    await drive_our_server(trace)
    check_trace(trace)


# ---------------------------------------------------------------- our client -> SDK server


@pytest.mark.parametrize("revision", ["2025-03-26", "2025-06-18", "2025-11-25"])
async def test_our_client_drives_an_sdk_server(revision: str) -> None:
    transport = CommandTransport([sys.executable, str(SDK_SERVER)], stderr="capture")
    client = Client("trio-mcp-interop", "1.0", protocol_version=revision)
    async with client.connect(transport) as session:
        assert session.protocol_version == revision
        assert session.server_info.name == "sdk-interop-server"
        tools = {tool.name: tool for tool in await session.list_all_tools()}
        assert {"echo", "add", "wait_forever"} <= set(tools)
        assert tools["add"].input_schema["required"] == ["a", "b"]
        echoed = await session.call_tool("echo", {"text": "from trio"})
        assert echoed.content == [t.TextContent(text="from trio")]
        added = await session.call_tool("add", {"a": 20, "b": 22})
        assert added.content[0].text == "42"  # type: ignore[union-attr]
        if revision >= "2025-06-18":
            assert added.structured_content == {"result": 42}

        resources = await session.list_all_resources()
        assert [r.uri for r in resources] == ["demo://greeting"]
        read = await session.read_resource("demo://greeting")
        assert read.contents[0].text == "Hello from the official SDK!"  # type: ignore
        prompt = await session.get_prompt("greet", {"name": "Ada"})
        assert prompt.messages[0].content.text == "Please greet Ada."  # type: ignore

        # Cancel a call that never ends; the SDK server keeps serving.
        with trio.move_on_after(0.5) as scope:
            await session.call_tool("wait_forever")
        assert scope.cancelled_caught
        assert (await session.call_tool("echo", {"text": "still here"})).content[0].text \
            == "still here"  # type: ignore[union-attr]
        with pytest.raises(MCPError):
            await session.read_resource("demo://nothing")
    # The SDK server exited on stdin EOF, cleanly, and nothing is left running.
    assert transport.returncode == 0, transport.stderr_output()
