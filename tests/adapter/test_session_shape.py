"""The session's close is one state machine (issue 12): OPEN -> CLOSING -> CLOSED.

Every close route (local ``aclose``, the peer's end of input, a failed read, a failed write, a
fatal protocol error, a keepalive timeout, the owner's nursery cancelled) goes through the one
close path: the trace shows exactly one ``closing: <reason>`` and one ``closed``, the session
ends in CLOSED with that reason, and no task outlives it. Also: concurrent ``aclose`` calls, the
facts the session exposes instead of its engine, and the bounded memory transport.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import trio
import trio.testing
from adapter_support import assert_no_leaks

from sansio import Connection, Era, Role
from trio_adapter import (
    Client,
    ClientSession,
    Context,
    PeerDisconnected,
    Server,
    SessionClosed,
    Transport,
    memory_transport_pair,
)
from trio_adapter._session import SessionState


class States:
    """A trace hook keeping the session's ``state`` lines."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def __call__(self, direction: str, item: Any) -> None:
        if direction == "state":
            self.lines.append(item)


def make_server(release: trio.Event | None = None, **kwargs: Any) -> Server:
    server = Server("shape", "1.0", **kwargs)

    @server.tool()
    async def echo(text: str) -> str:
        return text

    @server.tool()
    async def slow(ctx: Context) -> str:
        await (release if release is not None else trio.Event()).wait()
        return "done"

    return server


def assert_closed_once(session: Any, states: States, reason: str) -> None:
    assert session.state is SessionState.CLOSED
    assert session.closed
    assert session.close_reason is not None and reason in session.close_reason
    assert states.lines == [f"closing: {session.close_reason}", "closed"]


class Breakable(Transport):
    """Wraps a transport; ``break_reads()`` fails the pending read, ``break_writes`` the next
    write, ``deaf`` swallows everything received (a hung peer)."""

    def __init__(self, inner: Transport) -> None:
        self.inner = inner
        self.writes_broken = False
        self.deaf = False
        self._scope: trio.CancelScope | None = None

    async def send(self, data: bytes) -> None:
        if self.writes_broken:
            raise trio.BrokenResourceError("broken pipe")
        await self.inner.send(data)

    async def receive(self) -> bytes:
        with trio.CancelScope() as scope:
            self._scope = scope
            while True:
                data = await self.inner.receive()
                if not self.deaf or not data:
                    return data
        raise trio.BrokenResourceError("connection reset")

    def break_reads(self) -> None:
        assert self._scope is not None
        self._scope.cancel()

    async def aclose(self) -> None:
        await self.inner.aclose()


# ---------------------------------------------------------------- every route, once


async def test_local_aclose_ends_closed_once() -> None:
    states = States()
    async with assert_no_leaks():
        client_end, server_end = memory_transport_pair()
        async with trio.open_nursery() as nursery:
            nursery.start_soon(make_server().serve, server_end)
            async with Client("c", "1", mode="legacy", trace=states).connect(client_end) as session:
                assert session.state is SessionState.OPEN
                await session.aclose()
                assert_closed_once(session, states, "session closed")
                await session.aclose()  # again: nothing more happens
    assert_closed_once(session, states, "session closed")


async def test_peer_eof_ends_closed_once() -> None:
    states = States()
    async with assert_no_leaks():
        client_end, server_end = memory_transport_pair()
        async with make_server().connect(server_end) as server_session, \
                Client("c", "1", mode="legacy", trace=states).connect(client_end) as session:
            await server_session.wait_initialized()
            await server_session.aclose()  # the server leaves: the client sees end of input
            await session.wait_closed()
            assert_closed_once(session, states, "peer closed the connection")
    assert_closed_once(session, states, "peer closed the connection")


async def test_failed_read_ends_closed_once() -> None:
    states = States()
    async with assert_no_leaks():
        client_end, server_end = memory_transport_pair()
        breakable = Breakable(client_end)
        async with trio.open_nursery() as nursery:
            nursery.start_soon(make_server().serve, server_end)
            async with Client("c", "1", mode="legacy", trace=states).connect(breakable) as session:
                breakable.break_reads()
                await session.wait_closed()
                assert_closed_once(session, states, "transport failed")
                with pytest.raises(PeerDisconnected):
                    await session.ping()


async def test_failed_write_ends_closed_once() -> None:
    states = States()
    async with assert_no_leaks():
        client_end, server_end = memory_transport_pair()
        breakable = Breakable(client_end)
        async with trio.open_nursery() as nursery:
            nursery.start_soon(make_server().serve, server_end)
            async with Client("c", "1", mode="legacy", trace=states).connect(breakable) as session:
                breakable.writes_broken = True
                with pytest.raises(PeerDisconnected, match="write failed"):
                    await session.ping()
                await session.wait_closed()
                assert_closed_once(session, states, "transport write failed")


async def test_fatal_protocol_error_ends_closed_once() -> None:
    """A server session whose peer sends a frame over the size limit: a fatal error."""
    states = States()
    async with assert_no_leaks():
        client_end, server_end = memory_transport_pair()
        async with make_server(trace=states).connect(server_end) as session:
            await client_end.send(json.dumps({
                "jsonrpc": "2.0", "id": 1, "method": "initialize",
                "params": {"protocolVersion": "2025-11-25", "capabilities": {},
                           "clientInfo": {"name": "raw", "version": "1"}}}).encode() + b"\n")
            assert b'"result"' in await client_end.receive()
            await client_end.send(b"x" * (16 * 1024 * 1024 + 1))  # no newline, over the limit
            await session.wait_closed()
            assert_closed_once(session, states, "protocol error")
            await client_end.aclose()


async def test_keepalive_timeout_ends_closed_once(
        autojump_clock: trio.testing.MockClock) -> None:
    states = States()
    async with assert_no_leaks():
        client_end, server_end = memory_transport_pair()
        breakable = Breakable(client_end)
        async with make_server().connect(server_end):
            client = Client("c", "1", mode="legacy", keepalive_interval=1.0, trace=states)
            async with client.connect(breakable) as session:
                breakable.deaf = True
                await session.wait_closed()
                assert_closed_once(session, states, "keepalive")


async def test_cancelled_owner_ends_closed_once() -> None:
    states = States()
    release = trio.Event()
    async with assert_no_leaks():
        client_end, server_end = memory_transport_pair()
        async with trio.open_nursery() as outer:
            outer.start_soon(make_server(release).serve, server_end)
            async with trio.open_nursery() as owner:
                session = await Client("c", "1", mode="legacy", trace=states).connect_in(
                        owner, client_end)
                failures: list[BaseException] = []

                async def call() -> None:
                    try:
                        await session.call_tool("slow")
                    except SessionClosed as exc:
                        failures.append(exc)

                outer.start_soon(call)
                await trio.testing.wait_all_tasks_blocked()
                assert session.pending_requests == 1
                owner.cancel_scope.cancel()  # the nursery running the session goes away
            assert_closed_once(session, states, "session cancelled")
            await trio.testing.wait_all_tasks_blocked()
            assert [type(f) for f in failures] == [SessionClosed]
            release.set()
            outer.cancel_scope.cancel()


async def test_closed_before_it_ran_still_closes_once() -> None:
    """aclose() waits in another task before the session task has started: the session
    task, once it runs, does the shutdown."""
    states = States()
    async with assert_no_leaks():
        client_end, server_end = memory_transport_pair()
        client = Client("c", "1", mode="legacy", trace=states)
        session = ClientSession(client, Connection(Role.CLIENT), client_end, trace=states)
        async with trio.open_nursery() as nursery:
            nursery.start_soon(session.aclose)
            await trio.testing.wait_all_tasks_blocked()
            assert session.state is SessionState.CLOSING  # nothing runs it yet
            await nursery.start(session._run)
            await session.wait_closed()
            assert_closed_once(session, states, "session closed")
        await server_end.aclose()


# ---------------------------------------------------------------- concurrent closes


async def test_concurrent_aclose_from_two_tasks(autojump_clock: trio.testing.MockClock) -> None:
    """Two tasks close at once while a handler runs: one close, both return when CLOSED."""
    server_states = States()
    release = trio.Event()
    async with assert_no_leaks():
        client_end, server_end = memory_transport_pair()
        server = make_server(release, handler_grace=5.0, trace=server_states)
        async with server.connect(server_end) as server_session, \
                Client("c", "1", mode="legacy").connect(client_end) as client_session, \
                trio.open_nursery() as nursery:
            nursery.start_soon(_call_ignoring_close, client_session)
            await trio.testing.wait_all_tasks_blocked()
            assert server_session.serving_requests == 1
            returned: list[tuple[str, SessionState]] = []

            async def close(name: str) -> None:
                await server_session.aclose()
                returned.append((name, server_session.state))

            nursery.start_soon(close, "a")
            nursery.start_soon(close, "b")
            await trio.testing.wait_all_tasks_blocked()
            assert server_session.state is SessionState.CLOSING  # the handler has its grace
            assert returned == []
            t0 = trio.current_time()
            release.set()  # the handler finishes within its grace: the close goes on
        assert trio.current_time() - t0 < 5.0
        assert sorted(returned) == [("a", SessionState.CLOSED), ("b", SessionState.CLOSED)]
        assert_closed_once(server_session, server_states, "session closed")


async def test_a_cancelled_aclose_does_not_stop_the_other(
        autojump_clock: trio.testing.MockClock) -> None:
    """One closer is cancelled mid-grace: the grace is cut short, the close still ends."""
    server_states = States()
    async with assert_no_leaks():
        client_end, server_end = memory_transport_pair()
        server = make_server(handler_grace=30.0, trace=server_states)
        async with server.connect(server_end) as server_session, \
                Client("c", "1", mode="legacy").connect(client_end) as client_session, \
                trio.open_nursery() as nursery:
            nursery.start_soon(_call_ignoring_close, client_session)
            await trio.testing.wait_all_tasks_blocked()
            other_done = trio.Event()

            async def other() -> None:
                await server_session.aclose()
                other_done.set()

            nursery.start_soon(other)
            t0 = trio.current_time()
            with trio.move_on_after(1.0):
                await server_session.aclose()  # cancelled in the handler's grace
            await other_done.wait()
            assert trio.current_time() - t0 < 2.0  # not the 30 s grace
        assert_closed_once(server_session, server_states, "session closed")


async def _call_ignoring_close(session: Any) -> None:
    try:
        await session.call_tool("slow")
    except SessionClosed:
        pass
    except Exception:  # the handler was cancelled: the server answers with an error
        pass


# ---------------------------------------------------------------- facts without the engine


async def test_session_facts_without_the_engine() -> None:
    client_end, server_end = memory_transport_pair()
    async with make_server().connect(server_end) as server_session, \
            Client("c", "1", mode="legacy").connect(client_end) as session:
        await server_session.wait_initialized()
        assert session.protocol_version == "2025-11-25"
        assert session.era is Era.HANDSHAKE
        assert session.peer_info is not None and session.peer_info["name"] == "shape"
        assert session.peer_capabilities is not None and "tools" in session.peer_capabilities
        assert server_session.peer_info is not None and server_session.peer_info["name"] == "c"
        assert session.pending_requests == 0 and session.serving_requests == 0
        assert session.engine.protocol_version == session.protocol_version  # still works


# ---------------------------------------------------------------- the bounded memory transport


async def test_memory_transport_is_bounded_by_default() -> None:
    a, b = memory_transport_pair()
    sent = 0
    while a.send_nowait(b"x\n"):
        sent += 1
    assert sent == 256  # the default bound: the next write waits for the reader
    with trio.move_on_after(0.01) as scope:
        await a.send(b"y\n")
    assert scope.cancelled_caught
    assert await b.receive() == b"x\n"
    with trio.fail_after(1):
        await a.send(b"y\n")  # room again
