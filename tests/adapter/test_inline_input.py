"""The HTTP paths' shortcuts past the scheduler: a write the kernel takes at once
(``send_quickly``), and input acted on by the task that read it when the session's reader is
idle (``Transport.feed_inline``): same behaviour, in order, with fewer task hops."""

from __future__ import annotations

import itertools
import json
import os
import socket
import struct
from typing import Any

import pytest
import trio
import trio.testing
from test_http_serving_modern_streams import (
    META,
    Exchange,
    answer_messages,
    call,
    legacy_session,
    modern,
    serving,
    sse_messages,
)

from trio_adapter import Client, Context, Server, _http_server, _util
from trio_adapter._transport import Transport, memory_transport_pair
from trio_adapter._util import QUICK_WRITES_IN_A_ROW, receive_after_wait, send_quickly
from trio_adapter.http import HTTPServerInfo, StreamableHTTPTransport, serve_http


@pytest.fixture
def clock() -> trio.testing.MockClock:
    """Virtual time that jumps once every task has waited 20 ms of real time."""
    return trio.testing.MockClock(autojump_threshold=0.02)


async def socket_pair() -> tuple[trio.SocketStream, trio.SocketStream]:
    listener = trio.socket.socket()
    await listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    client = trio.SocketStream(trio.socket.socket())
    await client.socket.connect(listener.getsockname())
    sock, _ = await listener.accept()
    listener.close()
    return client, trio.SocketStream(sock)


async def receive_exactly(stream: trio.SocketStream, n: int) -> bytes:
    got = b""
    while len(got) < n:
        got += await stream.receive_some(n - len(got))
    return got


# ---------------------------------------------------------------- send_quickly


async def test_a_write_the_kernel_takes_whole_is_not_a_schedule_point(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_util, "_quick_writes", itertools.count(1))  # a fresh budget
    a, b = await socket_pair()
    ran: list[str] = []

    async def other() -> None:
        ran.append("other task")

    async with trio.open_nursery() as nursery:
        nursery.start_soon(other)
        written = 0
        for _ in range(QUICK_WRITES_IN_A_ROW - 2):  # within the budget: no yield at all
            assert await send_quickly(a, b"0123456789") == b""
            written += 10
        assert ran == []  # the sibling never got a turn
    assert await receive_exactly(b, written) == b"0123456789" * (written // 10)
    await a.aclose()
    await b.aclose()


async def test_every_so_often_the_write_is_left_to_send_all() -> None:
    a, b = await socket_pair()
    rests = [await send_quickly(a, b"x") for _ in range(2 * QUICK_WRITES_IN_A_ROW)]
    left = [rest for rest in rests if rest]
    assert left and all(rest == b"x" for rest in left)  # the caller's send_all yields then
    for rest in left:
        await a.send_all(rest)
    assert await receive_exactly(b, len(rests)) == b"x" * len(rests)
    await a.aclose()
    await b.aclose()


async def test_other_streams_and_closed_sockets_are_left_to_send_all() -> None:
    left, _right = trio.testing.memory_stream_pair()
    assert await send_quickly(left, b"data") == b"data"  # not a socket: nothing written
    a, b = await socket_pair()
    await a.aclose()
    assert await send_quickly(a, b"data") == b"data"
    try:
        await a.send_all(b"data")
    except trio.ClosedResourceError:
        pass
    else:  # pragma: no cover - the assertion is the point
        raise AssertionError("send_all on a closed stream did not fail")
    await b.aclose()


async def test_a_full_kernel_buffer_returns_the_rest() -> None:
    a, b = await socket_pair()
    a.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
    big = bytes(range(256)) * 8192  # 2 MiB: far more than the buffers hold
    rest = b""
    for _ in range(QUICK_WRITES_IN_A_ROW):
        rest = await send_quickly(a, big)
        if rest != big:
            break
    assert 0 < len(rest) < len(big)  # part written, the rest returned
    sent = len(big) - len(rest)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(a.send_all, rest)
        assert await receive_exactly(b, sent + len(rest)) == big[:sent] + bytes(rest)
    await a.aclose()
    await b.aclose()


async def test_a_cancelled_caller_writes_nothing() -> None:
    a, b = await socket_pair()
    with trio.CancelScope() as scope:
        scope.cancel()
        await send_quickly(a, b"never")
        raise AssertionError("not cancelled")  # pragma: no cover
    assert scope.cancelled_caught
    await a.aclose()
    assert await b.receive_some(100) == b""
    await b.aclose()


# ---------------------------------------------------------------- receive_after_wait


async def test_a_read_after_a_wait_gets_what_comes_later() -> None:
    a, b = await socket_pair()
    async with trio.open_nursery() as nursery:
        got: list[bytes | bytearray] = []

        async def read() -> None:
            got.append(await receive_after_wait(b, 100))

        nursery.start_soon(read)
        await trio.testing.wait_all_tasks_blocked()
        assert got == []  # waiting: nothing was there
        await a.send_all(b"answer")
    assert got == [b"answer"]
    await a.aclose()
    assert await receive_after_wait(b, 100) == b""  # end of stream
    await b.aclose()


async def test_a_read_after_a_wait_gets_what_is_there_already() -> None:
    a, b = await socket_pair()
    await a.send_all(b"early")
    with trio.fail_after(5):
        assert await receive_after_wait(b, 2) == b"ea"  # at most max_bytes
        assert await receive_after_wait(b, 100) == b"rly"
    await a.aclose()
    await b.aclose()


async def test_a_reset_or_closed_stream_fails_the_read_as_trio_does() -> None:
    a, b = await socket_pair()
    a.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    await a.aclose()  # a reset, not an end of stream
    with trio.fail_after(5), pytest.raises(trio.BrokenResourceError):
        await receive_after_wait(b, 100)
    await b.aclose()
    with pytest.raises(trio.ClosedResourceError):
        await receive_after_wait(b, 100)


async def test_a_read_after_a_wait_on_another_stream_is_receive_some() -> None:
    send, receive = trio.testing.memory_stream_pair()
    await send.send_all(b"memory")
    assert await receive_after_wait(receive, 100) == b"memory"


# ---------------------------------------------------------------- feed_inline


async def test_transports_that_do_not_say_never_have_input_fed_inline() -> None:
    left, right = memory_transport_pair()
    assert not left.reader_idle() and not right.reader_idle()
    assert left.feed_inline is None  # no session runs it
    assert Transport.reader_idle(left) is False


async def test_a_quick_2026_request_is_served_by_its_connection_task() -> None:
    server = Server("inline", "1")
    where: list[trio.lowlevel.Task] = []

    @server.tool()
    async def whoami() -> str:
        where.append(trio.lowlevel.current_task())
        return "here"

    async with serving(server) as info:
        for rid in (1, 2, 3):
            message, headers = modern("tools/call", {"name": "whoami", "arguments": {}}, rid)
            status, got, body = await (await Exchange.open(info.port, "POST", message,
                                                           headers)).whole()
            assert status == 200
            [answer] = [m for m in answer_messages(got, body) if "id" in m]
            assert answer["id"] == rid
            assert answer["result"]["content"][0]["text"] == "here"
    # The first started the shared session (its reader was not waiting yet): a handler task.
    # Then no handler task: each ran in the task of the connection that read it.
    names = [task.name.rsplit(".", 1)[-1] for task in where]
    assert names == ["_serve_request", "_run_handler", "_run_handler"], names
    assert where[1] is not where[2]


async def test_progress_sent_without_waiting_keeps_its_answer_on_an_sse_stream() -> None:
    """An answer whole at once is written the moment it is routed, but only when nothing
    came before it: progress the handler reported first (without ever waiting) opens the SSE
    stream, and the answer follows it there, in order."""
    server = Server("steps", "1")

    @server.tool()
    async def steps(ctx: Context) -> str:
        await ctx.report_progress(1, 2)
        await ctx.report_progress(2, 2)
        return "done"

    async with serving(server) as info:
        for rid in (1, 2):  # the first starts the shared session; the second runs inline
            message, headers = modern("tools/call", {"name": "steps", "arguments": {}}, rid)
            message["params"]["_meta"] = {**META, "progressToken": "p"}
            status, got, body = await (await Exchange.open(info.port, "POST", message,
                                                           headers)).whole()
            assert status == 200 and got["content-type"] == "text/event-stream"
            messages = sse_messages(body)
            assert [m.get("method") for m in messages] == ["notifications/progress"] * 2 + [
                None]
            assert messages[-1]["id"] == rid
            assert messages[-1]["result"]["content"][0]["text"] == "done"


async def test_a_large_answer_at_once_is_one_json_body_written_in_pieces() -> None:
    """An answer too large to join with its head (64 KiB and more) is not written by the
    immediate path; the connection writes it after the handler, its body never copied."""
    server = Server("large", "1")

    @server.tool()
    async def big(n: int) -> str:
        return "x" * n

    async with serving(server) as info:
        for rid in (1, 2, 3):  # the first starts the shared session; the others run inline
            message, headers = modern("tools/call", {"name": "big",
                                                     "arguments": {"n": 200_000}}, rid)
            status, got, body = await (await Exchange.open(info.port, "POST", message,
                                                           headers)).whole()
            assert status == 200 and got["content-type"] == "application/json"
            assert int(got["content-length"]) == len(body)
            answer = json.loads(body)
            assert answer["id"] == rid and answer["result"]["content"][0]["text"] == "x" * 200_000


@pytest.mark.parametrize("taken", [0, 7, "all"])
async def test_an_answer_the_kernel_takes_only_in_part_is_sent_whole(
        monkeypatch: pytest.MonkeyPatch, taken: int | str) -> None:
    """What the immediate write of a whole answer leaves (the kernel's buffer was full, or it
    was the write left to ``send_all`` now and then) is sent by the connection's task after
    the handler: the client reads the same one JSON body, and the connection goes on."""
    writes: list[int] = []

    def partial(stream: Any, data: bytes) -> bytes | memoryview:
        if taken == "all":
            return real(stream, data)
        writes.append(len(data))
        sent = os.write(stream.socket.fileno(), data[:taken]) if taken else 0
        return memoryview(data)[sent:]

    real = _http_server.write_nowait
    monkeypatch.setattr(_http_server, "write_nowait", partial)
    server = Server("echo", "1")

    @server.tool()
    async def echo(text: str) -> str:
        return text

    async with serving(server) as info:
        exchange = await Exchange.open(info.port, "POST", *modern(
            "tools/call", {"name": "echo", "arguments": {"text": "first"}}, 1))
        await exchange.whole()  # the shared session's first request: a handler task
        for rid in (2, 3):
            message, headers = modern("tools/call", {"name": "echo",
                                                     "arguments": {"text": f"t{rid}"}}, rid)
            status, got, body = await (await Exchange.open(info.port, "POST", message,
                                                           headers)).whole()
            assert status == 200 and got["content-type"] == "application/json"
            answer = json.loads(body)
            assert answer["id"] == rid and answer["result"]["content"][0]["text"] == f"t{rid}"
    if taken != "all":
        assert len(writes) == 2  # both inline answers went through the immediate write


async def test_a_handler_that_waits_streams_its_progress_and_its_answer(
        clock: trio.testing.MockClock) -> None:
    server = Server("waits", "1")
    go = trio.Event()

    @server.tool()
    async def slow(ctx: Context) -> str:
        await ctx.report_progress(1, 2)
        await go.wait()
        await ctx.report_progress(2, 2)
        return "finished"

    async with serving(server) as info:
        message, headers = modern("tools/call", {"name": "slow", "arguments": {},
                                                 "_meta": {"progressToken": "p"}}, 7)
        message["params"]["_meta"] = {**META, "progressToken": "p"}
        exchange = await Exchange.open(info.port, "POST", message, headers)
        await exchange.until(lambda body: b"notifications/progress" in body)
        assert b"finished" not in exchange.body  # the first progress came before the end
        go.set()
        status, _, body = await exchange.whole()
        assert status == 200
        messages = sse_messages(body)
        assert [m.get("method") for m in messages] == ["notifications/progress"] * 2 + [None]
        assert messages[-1]["id"] == 7
        assert messages[-1]["result"]["content"][0]["text"] == "finished"


def waiting_server(name: str) -> tuple[Server, trio.Event, trio.Event, list[str]]:
    """A server whose tool ``forever`` waits until cancelled: the server, the events set
    when the tool starts and when it ends, and what happened to it."""
    server = Server(name, "1")
    started, ended = trio.Event(), trio.Event()
    outcome: list[str] = []

    @server.tool()
    async def forever() -> str:
        started.set()
        try:
            await trio.sleep_forever()
        except trio.Cancelled:
            outcome.append("cancelled")
            raise
        finally:
            ended.set()
        return ""  # pragma: no cover

    return server, started, ended, outcome


async def test_a_client_that_hangs_up_cancels_the_handler_its_connection_runs(
        clock: trio.testing.MockClock) -> None:
    server, started, ended, outcome = waiting_server("hangup")
    async with serving(server) as info:
        message, headers = modern("tools/call", {"name": "forever", "arguments": {}}, 3)
        exchange = await Exchange.open(info.port, "POST", message, headers)
        await started.wait()
        await exchange.stream.aclose()
        with trio.fail_after(5):
            await ended.wait()
        assert outcome == ["cancelled"]
        # the server goes on serving
        message, headers = modern("tools/list", {}, 4)
        status, got, body = await (await Exchange.open(info.port, "POST", message,
                                                       headers)).whole()
        assert status == 200 and answer_messages(got, body)[-1]["id"] == 4


async def test_a_shutdown_cancels_a_handler_its_connection_runs(
        clock: trio.testing.MockClock) -> None:
    server, started, _, outcome = waiting_server("shutdown")
    stop = trio.Event()
    with trio.fail_after(20):
        async with trio.open_nursery() as nursery:
            info: HTTPServerInfo = await nursery.start(lambda task_status: serve_http(
                server, "127.0.0.1", 0, stop=stop, drain_timeout=2, task_status=task_status))
            message, headers = modern("tools/call", {"name": "forever", "arguments": {}}, 3)
            exchange = await Exchange.open(info.port, "POST", message, headers)
            await started.wait()
            stop.set()  # serve_http returns once its drain is over: nothing hangs
    assert outcome == ["cancelled"]
    await exchange.stream.aclose()


async def test_a_request_waits_its_turn_while_the_reader_is_busy() -> None:
    release = trio.Event()
    blocked = trio.Event()
    order: list[str] = []

    async def roots_changed(session: Any) -> None:  # the session's reader waits here
        blocked.set()
        await release.wait()
        order.append("notification handled")

    server = Server("busy", "1", roots_changed_handler=roots_changed)

    @server.tool()
    async def mark() -> str:
        order.append("request handled")
        return "ok"

    async with serving(server) as info:
        sid = await legacy_session(info.port)
        headers = {"mcp-session-id": sid, "mcp-protocol-version": "2025-11-25"}
        note = {"jsonrpc": "2.0", "method": "notifications/roots/list_changed"}
        status, _, _ = await (await Exchange.open(info.port, "POST", note, headers)).whole()
        assert status == 202  # at once: a notification's handler never holds up its POST
        await blocked.wait()
        exchange = await Exchange.open(info.port, "POST", call("mark", {}, 5), headers)
        await trio.testing.wait_all_tasks_blocked()
        assert order == []  # queued behind the busy reader, not run inline
        release.set()
        status, _, body = await exchange.whole()
        assert status == 200 and sse_messages(body)[-1]["id"] == 5
    assert order == ["notification handled", "request handled"]


async def test_progress_then_the_answer_reach_the_client_in_order() -> None:
    server = Server("progress", "1")

    @server.tool()
    async def steps(ctx: Context) -> str:
        for done in (1, 2, 3):
            await ctx.report_progress(done, 3)
        return "done"

    seen: list[Any] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        seen.append(progress)

    async with serving(server) as info:
        transport = StreamableHTTPTransport(f"http://127.0.0.1:{info.port}/mcp")
        async with Client("c", "1").connect(transport, mode="modern") as session:
            for _ in range(3):
                seen.clear()
                result = await session.call_tool("steps", {}, on_progress=on_progress)
                assert result.content[0].text == "done"  # type: ignore[union-attr]
                assert seen == [1, 2, 3]
            result = await session.call_tool("steps", {})
            assert json.loads(json.dumps(result.structured_content)) == {"result": "done"}


# ---------------------------------------------------------------- the client's own answer


class Spawned(trio.abc.Instrument):
    """The names of the tasks started while it is installed."""

    def __init__(self) -> None:
        self.names: list[str] = []

    def task_spawned(self, task: trio.lowlevel.Task) -> None:
        self.names.append(task.name.rsplit(".", 1)[-1])


def tools_server() -> tuple[Server, dict[str, Any]]:
    server = Server("answers", "1")
    state: dict[str, Any] = {"cancelled": trio.Event(), "started": trio.Event()}

    @server.tool()
    async def echo(text: str) -> str:
        return text

    @server.tool()
    async def stuck() -> str:
        state["started"].set()
        try:
            await trio.sleep_forever()
        except trio.Cancelled:
            state["cancelled"].set()
            raise
        return ""  # pragma: no cover

    return server, state


@pytest.mark.parametrize("mode", ["modern", "legacy"])
async def test_a_caller_reads_its_own_answer_without_a_task(mode: str) -> None:
    server, _ = tools_server()
    async with serving(server) as info:
        transport = StreamableHTTPTransport(f"http://127.0.0.1:{info.port}/mcp")
        async with Client("c", "1").connect(transport, mode=mode) as session:
            await session.call_tool("echo", {"text": "warm"})
            spawned = Spawned()
            trio.lowlevel.add_instrument(spawned)
            try:
                for n in range(5):
                    result = await session.call_tool("echo", {"text": f"t{n}"})
                    assert result.content[0].text == f"t{n}"  # type: ignore[union-attr]
            finally:
                trio.lowlevel.remove_instrument(spawned)
    assert "_answer_later" not in spawned.names, spawned.names


async def test_parallel_callers_each_get_their_own_answer() -> None:
    server, _ = tools_server()
    async with serving(server) as info:
        transport = StreamableHTTPTransport(f"http://127.0.0.1:{info.port}/mcp")
        async with Client("c", "1").connect(transport, mode="modern") as session:
            got: dict[int, str] = {}

            async def one(n: int) -> None:
                for k in range(5):
                    result = await session.call_tool("echo", {"text": f"{n}-{k}"})
                    got[n * 10 + k] = result.content[0].text  # type: ignore[union-attr]

            async with trio.open_nursery() as nursery:
                for n in range(8):
                    nursery.start_soon(one, n)
    assert got == {n * 10 + k: f"{n}-{k}" for n in range(8) for k in range(5)}


@pytest.mark.parametrize("how", ["cancelled", "timeout"])
async def test_a_caller_that_stops_waiting_closes_its_answer_and_the_session_goes_on(
        how: str, clock: trio.testing.MockClock) -> None:
    server, state = tools_server()
    async with serving(server) as info:
        transport = StreamableHTTPTransport(f"http://127.0.0.1:{info.port}/mcp")
        client = Client("c", "1", request_timeout=3 if how == "timeout" else None)
        async with client.connect(transport, mode="modern") as session:
            if how == "timeout":
                with pytest.raises(TimeoutError):
                    await session.call_tool("stuck", {})
            else:
                with trio.move_on_after(3) as scope:
                    await session.call_tool("stuck", {})
                assert scope.cancelled_caught
            # The stream was closed: in 2026-07-28, the request's cancellation.
            with trio.fail_after(5):
                await state["cancelled"].wait()
            result = await session.call_tool("echo", {"text": "still here"})
            assert result.content[0].text == "still here"  # type: ignore[union-attr]


@pytest.mark.parametrize("mode", ["modern", "legacy"])
async def test_an_answers_connection_is_reused_by_what_the_answer_leads_to(mode: str) -> None:
    """The connection of a whole answer goes back to the pool before its messages are acted
    on, so what they lead to (``notifications/initialized`` after ``initialize``, the next
    call) reuses it: a session holds one connection (plus, in the handshake era, the GET
    stream that took the first one over), not one more per step."""
    server, _ = tools_server()
    async with serving(server) as info:
        transport = StreamableHTTPTransport(f"http://127.0.0.1:{info.port}/mcp")
        async with Client("c", "1").connect(transport, mode=mode) as session:
            assert len(transport._pool._live) == 1  # type: ignore[attr-defined]
            for _ in range(3):
                await session.call_tool("echo", {"text": "x"})
            assert len(transport._pool._live) == (1 if mode == "modern" else 2)  # type: ignore[attr-defined]
