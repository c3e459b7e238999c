"""Our tasks client against our tasks server (issue 13), both eras: ``session.call_tool`` on a
tool that runs as a task polls it to the result the synchronous call would give, answers the
task's input requests through the client's elicitation handler, raises the task's failure,
and the lower-level handle cancels. In memory and over Streamable HTTP; the poll interval is
the server's (short here), deadlines guard every test."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
import trio

from trio_adapter import (
    Client,
    ClientSession,
    Context,
    MCPError,
    RequestContext,
    Server,
    TaskFailed,
    TaskHandle,
)
from trio_adapter.http import StreamableHTTPTransport, serve_http
from trio_adapter.tasks import TaskRunner
from trio_adapter.testing import connected

NAME = {"type": "object", "properties": {"name": {"type": "string"}}}
ERAS = ["auto", "legacy"]


def make_server() -> tuple[Server, trio.Event]:
    release = trio.Event()
    server = Server("tasks-e2e", "1.0", tasks=TaskRunner(poll_interval=0.01))

    @server.tool(structured_output=False, task_support="required")
    async def build(target: str) -> str:
        return f"built {target}"

    @server.tool(structured_output=False, task_support="required")
    async def greet(ctx: Context) -> str:
        answer = await ctx.elicit("who?", NAME)
        return f"hello {(answer.content or {}).get('name')}"

    @server.tool(structured_output=False, task_support="required")
    async def broken() -> str:
        raise MCPError(-32603, "the build broke")

    @server.tool(structured_output=False, task_support="required")
    async def forever() -> str:
        await release.wait()
        return "never"

    return server, release


async def elicit(ctx: RequestContext, params: Any) -> dict[str, Any]:
    return {"action": "accept", "content": {"name": "ada"}}


async def exercise(session: ClientSession, mode: str) -> None:
    assert session.protocol_version == ("2026-07-28" if mode == "auto" else "2025-11-25")
    result = await session.call_tool("build", {"target": "docs"})
    assert not result.is_error and result.content[0].text == "built docs"
    result = await session.call_tool("greet")
    assert result.content[0].text == "hello ada"
    with pytest.raises(TaskFailed) as failed:
        await session.call_tool("broken")
    assert failed.value.code == -32603 and "the build broke" in str(failed.value)
    handle = await session.call_tool_as_task("forever")
    assert isinstance(handle, TaskHandle)
    await handle.cancel()
    assert (await handle.get()).status == "cancelled"


@pytest.mark.parametrize("mode", ERAS)
async def test_in_memory(mode: str) -> None:
    server, _ = make_server()
    with trio.fail_after(20):
        async with connected(server, mode=mode, elicitation_handler=elicit) as session:
            await exercise(session, mode)


@asynccontextmanager
async def http_session(server: Server, mode: str) -> AsyncIterator[ClientSession]:
    async with trio.open_nursery() as nursery:
        info = await nursery.start(lambda task_status: serve_http(
            server, "127.0.0.1", 0, task_status=task_status))
        client = Client("e2e", "1", mode=mode, elicitation_handler=elicit)  # type: ignore[arg-type]
        async with client.connect(StreamableHTTPTransport(info.url)) as session:
            yield session
        nursery.cancel_scope.cancel()


@pytest.mark.parametrize("mode", ERAS)
async def test_over_http(mode: str) -> None:
    server, _ = make_server()
    with trio.fail_after(30):
        async with http_session(server, mode) as session:
            await exercise(session, mode)
