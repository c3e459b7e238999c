"""The session lifecycle in every shutdown path (issue 3, cases 1, 2, 3 and 6).

Case 4 (CommandTransport) is in ``test_process.py`` and ``test_stdio_sessions.py``; case 5
(the stdio server) in ``test_stdio_sessions.py``.
"""

from __future__ import annotations

from typing import Any

import pytest
import trio
import trio.testing
from adapter_support import assert_no_leaks

from sansio import RequestReceived
from trio_adapter import (
    Client,
    ConnectError,
    Context,
    MCPError,
    PeerDisconnected,
    RequestTimeout,
    Server,
    SessionClosed,
    Transport,
    memory_transport_pair,
)


class Probe:
    """Records what a slow tool's handler lived through."""

    def __init__(self) -> None:
        self.started = trio.Event()
        self.cancelled = trio.Event()
        self.finished = trio.Event()
        self.release = trio.Event()


def make_server(probe: Probe, **kwargs: Any) -> Server:
    server = Server("lifecycle", "1.0", **kwargs)

    @server.tool()
    async def slow(ctx: Context) -> str:
        probe.started.set()
        try:
            await probe.release.wait()
        except trio.Cancelled:
            probe.cancelled.set()
            raise
        probe.finished.set()
        return "done"

    @server.tool()
    async def echo(text: str) -> str:
        return text

    return server


class Recorder:
    """A trace hook that keeps every frame and event."""

    def __init__(self) -> None:
        self.sent: list[bytes] = []
        self.received: list[bytes] = []
        self.events: list[Any] = []

    def __call__(self, direction: str, item: Any) -> None:
        if direction == "send":
            self.sent.append(item)
        elif direction == "recv":
            self.received.append(item)
        elif direction == "event":
            self.events.append(item)


# ---------------------------------------------------------------- basics


async def test_connect_call_and_close_leave_nothing_behind() -> None:
    probe = Probe()
    server = make_server(probe)
    async with assert_no_leaks():
        client_end, server_end = memory_transport_pair()
        async with trio.open_nursery() as nursery:
            nursery.start_soon(server.serve, server_end)
            async with Client("c", "1", mode="legacy").connect(client_end) as session:
                assert session.initialized
                assert session.server_info.name == "lifecycle"
                result = await session.call_tool("echo", {"text": "hi"})
                assert result.content[0].text == "hi"  # type: ignore[union-attr]
                assert len(server.sessions) == 1
            assert session.closed
    assert server.sessions == []


async def test_body_exception_propagates_as_itself() -> None:
    server = make_server(Probe())
    client_end, server_end = memory_transport_pair()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(server.serve, server_end)
        with pytest.raises(KeyError, match="boom"):
            async with Client("c", "1", mode="legacy").connect(client_end):
                raise KeyError("boom")


async def test_close_is_idempotent_and_calls_after_close_fail() -> None:
    server = make_server(Probe())
    client_end, server_end = memory_transport_pair()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(server.serve, server_end)
        async with Client("c", "1", mode="legacy").connect(client_end) as session:
            await session.aclose()
            await session.aclose()
            with pytest.raises(SessionClosed):
                await session.call_tool("echo", {"text": "x"})
            await session.wait_closed()


# ---------------------------------------------------------------- case 1: local close


@pytest.mark.parametrize("grace", [0.0, 0.5])
async def test_local_close_with_calls_in_flight(autojump_clock: trio.testing.MockClock,
                                                grace: float) -> None:
    probe = Probe()
    server = make_server(probe, handler_grace=grace)
    errors: list[BaseException] = []
    async with assert_no_leaks():
        client_end, server_end = memory_transport_pair()
        async with trio.open_nursery() as nursery:
            async with server.connect(server_end) as server_session:
                async with Client("c", "1", mode="legacy").connect(client_end) as session:

                    async def call() -> None:
                        try:
                            await session.call_tool("slow")
                        except SessionClosed as exc:
                            errors.append(exc)

                    nursery.start_soon(call)
                    await probe.started.wait()
                    t0 = trio.current_time()
                    await session.aclose()
                    # The caller failed at once, naming its request.
                    await trio.testing.wait_all_tasks_blocked()
                    assert trio.current_time() == t0
                    assert len(errors) == 1
                    assert isinstance(errors[0], SessionClosed)
                    assert not isinstance(errors[0], PeerDisconnected)
                    assert errors[0].method == "tools/call"
                    assert errors[0].request_id is not None
                # Server side: the client left, so the handler is cancelled at once.
                await server_session.wait_closed()
                assert probe.cancelled.is_set()
                assert not probe.finished.is_set()


async def test_server_close_gives_handlers_their_grace(
        autojump_clock: trio.testing.MockClock) -> None:
    probe = Probe()
    server = make_server(probe, handler_grace=5.0)
    client_end, server_end = memory_transport_pair()
    async with trio.open_nursery() as nursery:
        async with server.connect(server_end) as server_session:
            async with Client("c", "1", mode="legacy").connect(client_end) as session:
                results: list[Any] = []

                async def call() -> None:
                    try:
                        results.append(await session.call_tool("slow"))
                    except SessionClosed as exc:
                        results.append(exc)

                nursery.start_soon(call)
                await probe.started.wait()
                t0 = trio.current_time()

                async def release_later() -> None:
                    await trio.sleep(1.0)
                    probe.release.set()

                nursery.start_soon(release_later)
                await server_session.aclose()
                # The handler finished within its grace (1 s of 5) and was not cancelled.
                assert trio.current_time() - t0 == pytest.approx(1.0)
                assert probe.finished.is_set()
                assert not probe.cancelled.is_set()
                # ...and its answer still reached the client before the transport closed.
                await session.wait_closed()
                await trio.testing.wait_all_tasks_blocked()
                assert results[0].content[0].text == "done"


async def test_server_close_cancels_handlers_after_grace(
        autojump_clock: trio.testing.MockClock) -> None:
    probe = Probe()
    server = make_server(probe, handler_grace=2.0)
    client_end, server_end = memory_transport_pair()
    async with trio.open_nursery() as nursery:
        async with server.connect(server_end) as server_session:
            async with Client("c", "1", mode="legacy").connect(client_end) as session:
                failures: list[BaseException] = []

                async def call() -> None:
                    try:
                        await session.call_tool("slow")
                    except SessionClosed as exc:
                        failures.append(exc)

                nursery.start_soon(call)
                await probe.started.wait()
                t0 = trio.current_time()
                await server_session.aclose()
                assert trio.current_time() - t0 == pytest.approx(2.0)
                assert probe.cancelled.is_set()
                await session.wait_closed()
                assert isinstance(failures[0], PeerDisconnected)


# ---------------------------------------------------------------- case 2: peer disconnect


async def test_peer_disconnect_fails_pending_calls_within_100ms() -> None:
    probe = Probe()
    server = make_server(probe)
    client_end, server_end = memory_transport_pair()
    failures: list[BaseException] = []
    async with assert_no_leaks():
        async with trio.open_nursery() as nursery:
            async with server.connect(server_end):
                async with Client("c", "1", mode="legacy").connect(client_end) as session:
                    done = trio.Event()

                    async def call(n: int) -> None:
                        try:
                            await session.call_tool("slow")
                        except PeerDisconnected as exc:
                            failures.append(exc)
                        if len(failures) == 3:
                            done.set()

                    for i in range(3):
                        nursery.start_soon(call, i)
                    await trio.testing.wait_all_tasks_blocked()
                    # The peer's transport dies (EOF on our side).
                    await server_end.aclose()
                    with trio.fail_after(0.1):
                        await done.wait()
                        await session.wait_closed()
                    assert sorted(f.request_id for f in failures) == [2, 3, 4]  # type: ignore
                    assert all(f.method == "tools/call" for f in failures)
                    assert session.close_reason == "peer closed the connection"


class BrokenAfter(Transport):
    """A transport whose peer vanishes after the handshake: reads fail, writes fail."""

    def __init__(self, inner: Transport) -> None:
        self.inner = inner
        self.broken = trio.Event()

    async def send(self, data: bytes) -> None:
        if self.broken.is_set():
            raise trio.BrokenResourceError("broken pipe")
        await self.inner.send(data)

    async def receive(self) -> bytes:
        with trio.CancelScope() as scope:
            self._scope = scope
            if self.broken.is_set():
                raise trio.BrokenResourceError("connection reset")
            return await self.inner.receive()
        raise trio.BrokenResourceError("connection reset")

    def break_now(self) -> None:
        self.broken.set()
        self._scope.cancel()

    async def aclose(self) -> None:
        await self.inner.aclose()


async def test_broken_transport_fails_pending_calls() -> None:
    probe = Probe()
    server = make_server(probe)
    client_end, server_end = memory_transport_pair()
    broken = BrokenAfter(client_end)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(server.serve, server_end)
        async with Client("c", "1", mode="legacy").connect(broken) as session:
            failures: list[BaseException] = []

            async def call() -> None:
                try:
                    await session.call_tool("slow")
                except PeerDisconnected as exc:
                    failures.append(exc)

            nursery.start_soon(call)
            await probe.started.wait()
            broken.break_now()
            with trio.fail_after(0.1):
                await session.wait_closed()
            await trio.testing.wait_all_tasks_blocked()
            assert len(failures) == 1
            assert "transport failed" in (session.close_reason or "")
            with pytest.raises(PeerDisconnected):
                await session.call_tool("echo", {"text": "x"})


async def test_write_to_broken_transport_fails_the_call() -> None:
    server = make_server(Probe())
    client_end, server_end = memory_transport_pair()
    broken = BrokenAfter(client_end)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(server.serve, server_end)
        async with Client("c", "1", mode="legacy").connect(broken) as session:
            broken.broken.set()
            with pytest.raises(PeerDisconnected, match="write failed"):
                await session.call_tool("echo", {"text": "x"})
            with trio.fail_after(1):
                await session.wait_closed()


async def test_server_sees_client_leave() -> None:
    server = make_server(Probe())
    client_end, server_end = memory_transport_pair()
    async with trio.open_nursery() as nursery:
        async with server.connect(server_end) as server_session:
            async with Client("c", "1", mode="legacy").connect(client_end):
                await server_session.wait_initialized()
            with trio.fail_after(1):
                await server_session.wait_closed()
            assert server_session.close_reason == "peer closed the connection"
            assert server.sessions == []
            nursery.cancel_scope.cancel()


# ---------------------------------------------------------------- case 3: caller cancelled


async def test_cancelled_caller_cancels_the_peer_handler() -> None:
    probe = Probe()
    server_trace, client_trace = Recorder(), Recorder()
    server = make_server(probe, trace=server_trace)
    client_end, server_end = memory_transport_pair()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(server.serve, server_end)
        async with Client("c", "1", mode="legacy", trace=client_trace).connect(
                client_end) as session:
            with trio.move_on_after(5) as scope:

                async def cancel_when_started() -> None:
                    await probe.started.wait()
                    scope.cancel()

                nursery.start_soon(cancel_when_started)
                await session.call_tool("slow")
            assert scope.cancelled_caught
            with trio.fail_after(1):
                await probe.cancelled.wait()
            # The session still works, and the cancelled request was never answered.
            result = await session.call_tool("echo", {"text": "after"})
            assert result.content[0].text == "after"  # type: ignore[union-attr]
    cancels = [f for f in client_trace.sent if b"notifications/cancelled" in f]
    assert len(cancels) == 1
    slow_ids = [e.request_id for e in server_trace.events if isinstance(e, RequestReceived)
                and e.params and e.params.get("name") == "slow"]
    assert len(slow_ids) == 1
    assert b'"requestId":%d' % slow_ids[0] in cancels[0]
    answered = [f for f in server_trace.sent if b'"id":%d,' % slow_ids[0] in f]
    assert answered == []
    assert not probe.finished.is_set()


async def test_fail_after_on_a_call_sends_cancel(autojump_clock: trio.testing.MockClock) -> None:
    probe = Probe()
    client_trace = Recorder()
    server = make_server(probe)
    client_end, server_end = memory_transport_pair()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(server.serve, server_end)
        async with Client("c", "1", mode="legacy", trace=client_trace).connect(
                client_end) as session:
            with pytest.raises(trio.TooSlowError):
                with trio.fail_after(3):
                    await session.call_tool("slow")
            await probe.cancelled.wait()
    assert sum(b"notifications/cancelled" in f for f in client_trace.sent) == 1


async def test_default_request_timeout(autojump_clock: trio.testing.MockClock) -> None:
    probe = Probe()
    server = make_server(probe)
    client_end, server_end = memory_transport_pair()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(server.serve, server_end)
        client = Client("c", "1", mode="legacy", request_timeout=2.0)
        async with client.connect(client_end) as session:
            with pytest.raises(RequestTimeout) as info:
                await session.call_tool("slow")
            assert info.value.method == "tools/call"
            await probe.cancelled.wait()


# ---------------------------------------------------------------- case 6: mid-frame EOF


class Scripted(Transport):
    """A fake server: answers initialize, then sends half a frame and closes."""

    def __init__(self, script: list[bytes]) -> None:
        self.script = script
        self.written: list[bytes] = []
        self.wake = trio.Event()

    async def send(self, data: bytes) -> None:
        self.written.append(data)
        self.wake.set()
        await trio.lowlevel.checkpoint()

    async def receive(self) -> bytes:
        while not self.script:
            await trio.sleep_forever()
        if not self.written:
            await self.wake.wait()
        return self.script.pop(0)

    async def aclose(self) -> None:
        await trio.lowlevel.checkpoint()


INIT_RESULT = (b'{"jsonrpc":"2.0","id":1,"result":{"protocolVersion":"2025-11-25",'
               b'"capabilities":{"tools":{}},"serverInfo":{"name":"s","version":"1"}}}\n')


async def test_eof_mid_frame_is_a_clear_error() -> None:
    transport = Scripted([INIT_RESULT, b'{"jsonrpc":"2.0","id":2,"res', b""])
    async with Client("c", "1", mode="legacy").connect(transport) as session:
        with pytest.raises(PeerDisconnected, match="mid-frame"):
            await session.list_tools()


async def test_eof_during_handshake_is_a_connect_error() -> None:
    transport = Scripted([b'{"jsonrpc":"2.0","id":1,"res', b""])
    with pytest.raises(ConnectError, match="mid-frame"):
        async with Client("c", "1", mode="legacy").connect(transport):
            raise AssertionError("not reached")  # pragma: no cover


async def test_unsupported_version_is_a_connect_error() -> None:
    reply = INIT_RESULT.replace(b"2025-11-25", b"2099-01-01")
    with pytest.raises(ConnectError) as info:
        async with Client("c", "1", mode="legacy").connect(Scripted([reply])):
            raise AssertionError("not reached")  # pragma: no cover
    assert info.value.code == -32022


async def test_initialize_refused_is_a_connect_error() -> None:
    reply = b'{"jsonrpc":"2.0","id":1,"error":{"code":-32600,"message":"go away"}}\n'
    with pytest.raises(ConnectError, match="go away"):
        async with Client("c", "1", mode="legacy").connect(Scripted([reply])):
            raise AssertionError("not reached")  # pragma: no cover


async def test_garbage_from_peer_gets_an_error_answer_and_the_session_survives() -> None:
    garbage = b"this is not json\n"
    transport = Scripted([INIT_RESULT, garbage])
    async with Client("c", "1", mode="legacy").connect(transport) as session:
        await trio.testing.wait_all_tasks_blocked()
        assert any(b"-32700" in w for w in transport.written)
        assert session.initialized


async def test_error_from_handler_is_answered() -> None:
    server = Server("s", "1")

    @server.tool()
    async def refuse() -> str:
        raise MCPError(-32042, "needs a URL elicitation", {"elicitations": []})

    client_end, server_end = memory_transport_pair()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(server.serve, server_end)
        async with Client("c", "1", mode="legacy").connect(client_end) as session:
            with pytest.raises(MCPError) as info:
                await session.call_tool("refuse")
            assert info.value.code == -32042
            assert info.value.data == {"elicitations": []}


async def test_connect_in_runs_the_session_in_the_callers_nursery() -> None:
    server = make_server(Probe())
    client_end, server_end = memory_transport_pair()
    async with assert_no_leaks():
        async with trio.open_nursery() as nursery:
            server_session = await server.connect_in(nursery, server_end)
            session = await Client("c", "1", mode="legacy").connect_in(nursery, client_end)
            # The sessions' tasks are children of *this* nursery.
            assert len(nursery.child_tasks) == 2
            assert server.sessions == [server_session]
            result = await session.call_tool("echo", {"text": "low level"})
            assert result.content[0].text == "low level"  # type: ignore[union-attr]
            await session.aclose()
            await server_session.wait_closed()
            await server_session.aclose()
        assert server.sessions == []
