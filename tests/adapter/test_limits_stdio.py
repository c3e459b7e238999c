"""Server-side limits of issue 14 over a stream transport (stdio's shape): the per-session
cap on handlers in flight (a busy error, never a blocked reader), and the error frame a frame
over 16 MiB gets before the session closes."""

from __future__ import annotations

import contextlib
import json
import logging
from typing import Any

import pytest
import trio
import trio.testing

from sansio import ErrorCode
from trio_adapter import Context, Server, memory_transport_pair
from trio_adapter._transport import MemoryTransport

INIT = {"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
    "protocolVersion": "2025-06-18", "clientInfo": {"name": "raw", "version": "0"},
    "capabilities": {"roots": {}}}}


def line(obj: Any) -> bytes:
    return json.dumps(obj).encode() + b"\n"


class Raw:
    """A hand-driven client end: writes frames, reads them back one by one."""

    def __init__(self, end: MemoryTransport) -> None:
        self.end = end
        self.buf = b""

    async def send(self, obj: Any) -> None:
        await self.end.send(line(obj))

    async def recv(self) -> dict[str, Any]:
        while b"\n" not in self.buf:
            data = await self.end.receive()
            assert data, "the server closed"
            self.buf += data
        first, _, self.buf = self.buf.partition(b"\n")
        out: dict[str, Any] = json.loads(first)
        return out

    async def handshake(self) -> None:
        await self.send(INIT)
        assert (await self.recv())["id"] == 0
        await self.send({"jsonrpc": "2.0", "method": "notifications/initialized"})


def call(rid: int, name: str) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": rid, "method": "tools/call",
            "params": {"name": name, "arguments": {}}}


async def test_over_the_cap_is_answered_busy_and_waiting_handlers_still_get_answers() -> None:
    """Every handler in flight waits for the client's answer (roots/list): one more request
    is refused at once with -32050, the reader keeps reading, and the client's answers
    still reach the waiting handlers, which then finish."""
    server = Server("limits", "1", max_concurrent_requests=4)

    @server.tool()
    async def roots(ctx: Context) -> str:
        return str(len(await ctx.list_roots()))

    client_end, server_end = memory_transport_pair()
    raw = Raw(client_end)
    async with trio.open_nursery() as nursery, server.connect(server_end):
        await raw.handshake()
        for rid in range(1, 5):
            await raw.send(call(rid, "roots"))
        asks = [await raw.recv() for _ in range(4)]
        assert all(m["method"] == "roots/list" for m in asks)
        await raw.send(call(5, "roots"))
        busy = await raw.recv()
        assert busy["id"] == 5 and busy["error"]["code"] == ErrorCode.SERVER_BUSY == -32050
        assert "busy" in busy["error"]["message"]
        await raw.send({"jsonrpc": "2.0", "id": 99, "method": "ping"})  # never refused
        assert await raw.recv() == {"jsonrpc": "2.0", "id": 99, "result": {}}
        for ask in asks:
            await raw.send({"jsonrpc": "2.0", "id": ask["id"], "result": {"roots": []}})
        done = [await raw.recv() for _ in range(4)]
        assert sorted(m["id"] for m in done) == [1, 2, 3, 4]
        assert all("result" in m for m in done)
        await raw.send(call(6, "roots"))  # room again
        ask = await raw.recv()
        assert ask["method"] == "roots/list"
        await raw.send({"jsonrpc": "2.0", "id": ask["id"], "result": {"roots": []}})
        assert (await raw.recv())["id"] == 6
        nursery.cancel_scope.cancel()


async def test_flood_is_bounded_by_the_cap() -> None:
    """1,000 calls at once with the default cap: at most 128 handlers ever run together,
    and every request is answered (a result or -32050)."""
    server = Server("limits", "1")
    running = peak = 0
    gate = trio.Event()

    @server.tool()
    async def slow() -> str:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await gate.wait()
        running -= 1
        return "ok"

    client_end, server_end = memory_transport_pair()
    raw = Raw(client_end)
    async with trio.open_nursery() as nursery, server.connect(server_end):
        await raw.handshake()

        async def flood() -> None:
            for rid in range(1, 1001):
                await raw.send(call(rid, "slow"))

        nursery.start_soon(flood)
        answers = [await raw.recv() for _ in range(1000 - 128)]
        assert all(a["error"]["code"] == -32050 for a in answers)
        gate.set()
        answers += [await raw.recv() for _ in range(128)]
        assert sorted(a["id"] for a in answers) == list(range(1, 1001))
        assert peak == 128
        nursery.cancel_scope.cancel()


async def test_frame_over_the_limit_gets_an_error_frame_and_one_log_line(
        caplog: pytest.LogCaptureFixture) -> None:
    server = Server("limits", "1")
    client_end, server_end = memory_transport_pair()
    raw = Raw(client_end)
    caplog.set_level(logging.WARNING, logger="trio_mcp")
    async with server.connect(server_end) as session:
        await raw.handshake()
        await raw.end.send(b'{"jsonrpc":"2.0","id":1,"method":"ping","params":{"p":"'
                           + b"x" * (17 * 1024 * 1024) + b'"}}\n')
        error = await raw.recv()
        assert error["error"]["code"] == -32600 and error["id"] is None
        assert "max_frame_size" in error["error"]["message"]
        await session.wait_closed()
    lines = [r for r in caplog.records if "max_frame_size" in r.getMessage()]
    assert len(lines) == 1 and lines[0].levelno == logging.WARNING


def test_serve_help_says_it_runs_the_files_code_and_names_the_limits() -> None:
    from trio_adapter.cli import SERVE_EPILOG, _parser

    assert "RUNS THE FILE'S" in SERVE_EPILOG
    args = _parser().parse_args([
        "serve", "x.py", "--max-concurrent-requests", "8", "--keepalive-interval", "2.5",
        "--max-sessions", "3", "--unused-session-timeout", "5", "--idle-session-timeout",
        "50", "--max-connections", "9", "--max-connections-per-client", "4"])
    assert (args.max_concurrent_requests, args.keepalive_interval, args.max_sessions,
            args.unused_session_timeout, args.idle_session_timeout, args.max_connections,
            args.max_connections_per_client) == (8, 2.5, 3, 5.0, 50.0, 9, 4)
    with pytest.raises(SystemExit):
        _parser().parse_args(["serve", "x.py", "--max-sessions", "0"])


async def test_a_client_that_never_reads_stops_the_reader() -> None:
    """A client writes 10,000 calls and reads nothing: once its unread output fills the
    transport's buffer, the server stops reading (the client's writes wait), so at most the
    cap's handlers and a transport buffer's worth of answers are ever held (was: every
    request read, one handler each, 10,000 in memory)."""
    server = Server("limits", "1", max_concurrent_requests=16)

    @server.tool()
    async def answer() -> str:
        return "y" * 5000

    client_end, server_end = memory_transport_pair(buffer=8)
    raw = Raw(client_end)
    sent = 0
    async with trio.open_nursery() as nursery, server.connect(server_end) as session:
        await raw.handshake()

        async def flood() -> None:
            nonlocal sent
            with contextlib.suppress(trio.BrokenResourceError):
                for rid in range(1, 10_001):
                    await raw.send(call(rid, "answer"))
                    sent += 1

        nursery.start_soon(flood)
        await trio.testing.wait_all_tasks_blocked(0.05)
        assert sent < 100
        # The cap's handlers, plus the one whose answer is being written (it left the
        # engine's count when it answered, and waits for the client to read).
        assert session.serving_requests <= 16 + 1
        nursery.cancel_scope.cancel()
