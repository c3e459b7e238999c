"""Reconnect over real transports (issue 14, section 1): a stdio server killed is spawned
again; an HTTP server process killed and started again on its port is reached again."""

from __future__ import annotations

from typing import Any

import pytest
import trio
from chaos_support import HTTPServerProcess, alive, stdio_command

from trio_adapter import (
    Client,
    CommandTransport,
    MCPError,
    PeerDisconnected,
    Reconnect,
    StreamableHTTPTransport,
)

# generous: a server process takes a second or more to start again on a loaded machine
POLICY = Reconnect(max_attempts=30, initial_backoff=0.05, max_backoff=0.5, attempt_timeout=10)


def text(result: Any) -> str:
    return str(result.content[0].text)


async def test_a_killed_stdio_server_is_spawned_again() -> None:
    transport = CommandTransport(stdio_command(), stderr="devnull")
    async with Client("c", "1", mode="legacy").connect(transport, reconnect=POLICY) as session:
        first = int(text(await session.call_tool("pid")))
        assert transport.process is not None
        transport.process.kill()
        info = await session.wait_reconnected()
        assert info.reconnects == 1
        second = int(text(await session.call_tool("pid")))
        assert second != first and session.transport is not transport
        assert transport.returncode == -9  # the old child was reaped
        current = session.transport
    assert isinstance(current, CommandTransport) and current.returncode == 0  # clean EOF exit
    assert not alive(first) and not alive(second)


async def test_a_stdio_server_that_exits_is_spawned_again_in_the_modern_era() -> None:
    transport = CommandTransport(stdio_command(), stderr="devnull")
    async with Client("c", "1", mode="modern").connect(transport, reconnect=POLICY) as session:
        first = int(text(await session.call_tool("pid")))
        assert transport.process is not None
        transport.process.terminate()
        await session.wait_reconnected()
        assert int(text(await session.call_tool("pid"))) != first


@pytest.mark.parametrize("era", ["legacy", "modern"])
async def test_an_http_server_that_goes_away_and_comes_back_is_reached_again(era: str) -> None:
    server = HTTPServerProcess()
    try:
        await server.start()
        transport = StreamableHTTPTransport(server.url, connect_timeout=5)
        async with Client("c", "1", mode=era).connect(  # type: ignore[arg-type]
                transport, reconnect=POLICY) as session:
            first = int(text(await session.call_tool("pid")))
            await server.kill()
            await server.start()
            # The first call after the restart may meet the dead connection (the modern era
            # has no session to lose: it may simply succeed), then the new server.
            seen: list[str] = []
            for _ in range(3):
                try:
                    second = int(text(await session.call_tool("pid")))
                    break
                except (PeerDisconnected, MCPError) as exc:
                    seen.append(f"{type(exc).__name__}: {exc}")
                    if isinstance(exc, PeerDisconnected):
                        assert exc.retry_safe is (era == "modern")
            else:
                raise AssertionError(f"no call succeeded after the restart: {seen}, "
                                     f"{session.reconnects}")
            assert second != first
            if era == "legacy":  # a new MCP session on a new transport
                assert session.reconnects is not None and session.reconnects.reconnects >= 1
                assert session.transport is not transport
    finally:
        await server.aclose()
    assert not any(alive(pid) for pid in server.pids)


async def test_an_http_server_that_never_comes_back_ends_the_session_clearly() -> None:
    server = HTTPServerProcess()
    try:
        await server.start()
        policy = Reconnect(max_attempts=3, initial_backoff=0.05, max_backoff=0.2)
        transport = StreamableHTTPTransport(server.url, connect_timeout=5)
        async with Client("c", "1", mode="legacy").connect(transport,
                                                           reconnect=policy) as session:
            await session.call_tool("pid")
            await server.kill()
            with trio.fail_after(10):
                with pytest.raises(PeerDisconnected):
                    await session.call_tool("pid")
                with pytest.raises(PeerDisconnected, match="gave up after 3 attempts"):
                    await session.wait_reconnected()
            with pytest.raises(PeerDisconnected, match="gave up"):
                await session.call_tool("pid")
            assert "connect" in (session.reconnects.gave_up or "")  # type: ignore[union-attr]
    finally:
        await server.aclose()
