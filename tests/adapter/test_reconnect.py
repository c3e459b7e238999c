"""Client sessions that survive transport failures (issue 14, section 1): ``reconnect=``.

In memory, on trio's autojump clock: a :class:`Farm` starts a fresh in-memory server session
for each open of its transport (``reopened()``), can kill the current one (the client sees
EOF) and refuse the next opens (as a server that is down would).
"""

from __future__ import annotations

from typing import Any

import pytest
import trio
import trio.testing
from adapter_support import assert_no_leaks

from sansio import HANDSHAKE_VERSIONS
from trio_adapter import (
    Client,
    MemoryTransport,
    PeerDisconnected,
    Reconnect,
    ReconnectInfo,
    Server,
    Transport,
    memory_transport_pair,
)

ERAS = ["legacy", "modern"]


def make_server(**kwargs: Any) -> Server:
    server = Server("farm", "1.0", **kwargs)

    @server.tool()
    async def echo(text: str) -> str:
        return text

    @server.tool()
    async def forever() -> str:
        await trio.sleep_forever()
        raise AssertionError("unreachable")

    return server


class Farm:
    """Starts a server session for each open; kills it; refuses opens while ``down``."""

    def __init__(self, server: Server, nursery: trio.Nursery) -> None:
        self.server = server
        self.nursery = nursery
        self.opens = 0
        self.refused = 0
        self.down = False
        self.drop_after_open = False  # a server that accepts and then drops every connection
        self.server_end: MemoryTransport | None = None

    def transport(self) -> FarmTransport:
        return FarmTransport(self)

    async def kill(self) -> None:
        assert self.server_end is not None
        await self.server_end.aclose()


class FarmTransport(Transport):
    def __init__(self, farm: Farm) -> None:
        self.farm = farm
        self.inner: MemoryTransport | None = None

    def reopened(self) -> FarmTransport:
        return FarmTransport(self.farm)

    async def start(self, nursery: trio.Nursery | None = None) -> None:
        await trio.lowlevel.checkpoint()
        farm = self.farm
        if farm.down:
            farm.refused += 1
            raise OSError("connection refused")
        farm.opens += 1
        client_end, server_end = memory_transport_pair()
        self.inner, farm.server_end = client_end, server_end
        farm.nursery.start_soon(farm.server.serve, server_end)

    async def send(self, data: bytes) -> None:
        assert self.inner is not None
        if self.farm.drop_after_open and b'"tools/call"' in data:
            await self.farm.kill()  # the server is gone before it read the call
            return
        await self.inner.send(data)

    async def receive(self) -> bytes:
        assert self.inner is not None
        return await self.inner.receive()

    async def aclose(self) -> None:
        if self.inner is not None:
            await self.inner.aclose()
        else:
            await trio.lowlevel.checkpoint()


def client_for(era: str, **kwargs: Any) -> Client:
    return Client("c", "1", mode=era, **kwargs)  # type: ignore[arg-type]


POLICY = Reconnect(max_attempts=4, initial_backoff=0.5, max_backoff=4.0, jitter=0.0,
                   attempt_timeout=5.0)


@pytest.mark.parametrize("era", ERAS)
async def test_a_lost_transport_is_opened_again_and_calls_go_on(
        era: str, autojump_clock: Any) -> None:
    async with assert_no_leaks(), trio.open_nursery() as nursery:
        farm = Farm(make_server(), nursery)
        async with client_for(era).connect(farm.transport(), reconnect=POLICY) as session:
            assert (await session.call_tool("echo", {"text": "a"})).content[0].text == "a"  # type: ignore[union-attr]
            first = session.transport
            start = trio.current_time()
            await farm.kill()
            info = await session.wait_reconnected()
            assert isinstance(info, ReconnectInfo) and info is session.reconnects
            assert info.reconnects == 1 and info.attempts == 1 and not info.reconnecting
            assert info.last_error is not None
            assert trio.current_time() - start == pytest.approx(0.5)  # the first backoff
            assert session.transport is not first and farm.opens == 2
            assert (await session.call_tool("echo", {"text": "b"})).content[0].text == "b"  # type: ignore[union-attr]
            assert session.reconnects is not None and session.reconnects.attempts == 0
            assert session.era is not None and session.era.name == (
                "STATELESS" if era == "modern" else "HANDSHAKE")
        assert session.closed
        nursery.cancel_scope.cancel()


@pytest.mark.parametrize(("era", "safe"), [("legacy", False), ("modern", True)])
async def test_calls_in_flight_fail_at_once_saying_whether_a_retry_is_safe(
        era: str, safe: bool, autojump_clock: Any) -> None:
    async with trio.open_nursery() as nursery:
        farm = Farm(make_server(), nursery)
        async with client_for(era).connect(farm.transport(), reconnect=POLICY) as session:
            failures: list[PeerDisconnected] = []

            async def call() -> None:
                try:
                    await session.call_tool("forever")
                except PeerDisconnected as exc:
                    failures.append(exc)

            nursery.start_soon(call)
            nursery.start_soon(call)
            await trio.testing.wait_all_tasks_blocked()
            killed_at = trio.current_time()
            await farm.kill()
            await trio.testing.wait_all_tasks_blocked()
            assert trio.current_time() == killed_at  # at once, before any backoff
            assert len(failures) == 2
            # a handshake-era tools/call may have run: not known to be safe to send again
            assert {(f.retry_safe, f.method) for f in failures} == {(safe, "tools/call")}
            await session.wait_reconnected()
        nursery.cancel_scope.cancel()


@pytest.mark.parametrize("era", ERAS)
async def test_calls_made_while_reconnecting_wait_for_the_new_transport(
        era: str, autojump_clock: Any) -> None:
    async with trio.open_nursery() as nursery:
        farm = Farm(make_server(), nursery)
        async with client_for(era).connect(farm.transport(), reconnect=POLICY) as session:
            farm.down = True
            await farm.kill()
            await trio.testing.wait_all_tasks_blocked()
            assert session.reconnects is not None and session.reconnects.reconnecting

            async def bring_back() -> None:
                await trio.sleep(1.0)  # two refused attempts (0.5 s, then 1 s later)
                farm.down = False

            nursery.start_soon(bring_back)
            result = await session.call_tool("echo", {"text": "waited"})
            assert result.content[0].text == "waited"  # type: ignore[union-attr]
            await session.ping()
            assert farm.refused >= 1 and session.reconnects.reconnects == 1
        nursery.cancel_scope.cancel()


@pytest.mark.parametrize("era", ERAS)
async def test_spent_attempts_end_the_session_and_every_later_call_fails_at_once(
        era: str, autojump_clock: Any) -> None:
    policy = Reconnect(max_attempts=3, initial_backoff=0.1, max_backoff=1.0, jitter=0.0)
    async with trio.open_nursery() as nursery:
        farm = Farm(make_server(), nursery)
        async with client_for(era).connect(farm.transport(), reconnect=policy) as session:
            farm.down = True
            await farm.kill()
            waiting: list[BaseException] = []

            async def call_meanwhile() -> None:
                try:
                    await session.call_tool("echo", {"text": "x"})
                except PeerDisconnected as exc:
                    waiting.append(exc)

            nursery.start_soon(call_meanwhile)
            with pytest.raises(PeerDisconnected, match="reconnect gave up after 3 attempts"):
                await session.wait_reconnected()
            await trio.testing.wait_all_tasks_blocked()
            assert [str(e) for e in waiting] and "gave up" in str(waiting[0])
            assert farm.refused == 3
            assert session.reconnects is not None
            assert session.reconnects.gave_up is not None
            assert "connection refused" in session.reconnects.gave_up
            before = trio.current_time()
            with pytest.raises(PeerDisconnected, match="gave up"):
                await session.call_tool("echo", {"text": "later"})
            assert trio.current_time() == before  # at once: no wait, no hang
            await session.wait_closed()
        nursery.cancel_scope.cancel()


async def test_an_intentional_close_never_restarts(autojump_clock: Any) -> None:
    async with trio.open_nursery() as nursery:
        farm = Farm(make_server(), nursery)
        async with Client("c", "1").connect(farm.transport(), reconnect=POLICY) as session:
            await session.call_tool("echo", {"text": "x"})
        await trio.sleep(20)
        assert farm.opens == 1 and session.reconnects is not None
        assert session.reconnects.total_attempts == 0
        nursery.cancel_scope.cancel()


async def test_a_server_that_drops_every_connection_cannot_loop_forever(
        autojump_clock: Any) -> None:
    policy = Reconnect(max_attempts=3, initial_backoff=0.1, max_backoff=1.0, jitter=0.0)
    async with trio.open_nursery() as nursery:
        farm = Farm(make_server(), nursery)
        async with Client("c", "1", mode="legacy").connect(
                farm.transport(), reconnect=policy) as session:
            farm.drop_after_open = True  # each reconnect succeeds; each call then kills it
            for _ in range(10):
                with pytest.raises(PeerDisconnected):
                    await session.call_tool("echo", {"text": "x"})
                if session.closed:
                    break
            assert session.closed and "gave up after 3 attempts" in (session.close_reason or "")
            assert farm.opens == 4  # the first connection and three reconnects, no more
        nursery.cancel_scope.cancel()


async def test_modern_calls_are_retried_when_the_policy_allows(autojump_clock: Any) -> None:
    server = make_server()
    calls = 0

    @server.tool()
    async def flaky() -> str:
        nonlocal calls
        calls += 1
        if calls == 1:
            await trio.sleep_forever()
        return "second time"

    policy = Reconnect(max_attempts=3, initial_backoff=0.1, jitter=0.0, retry_calls=1)
    async with trio.open_nursery() as nursery:
        farm = Farm(server, nursery)
        async with Client("c", "1", mode="modern").connect(
                farm.transport(), reconnect=policy) as session:

            async def killer() -> None:
                await trio.testing.wait_all_tasks_blocked()
                await farm.kill()

            nursery.start_soon(killer)
            result = await session.call_tool("flaky")
            assert result.content[0].text == "second time"  # type: ignore[union-attr]
            assert calls == 2 and farm.opens == 2
        nursery.cancel_scope.cancel()


async def test_a_listen_keeps_working_across_a_reconnect(autojump_clock: Any) -> None:
    server = make_server()
    async with trio.open_nursery() as nursery:
        farm = Farm(server, nursery)
        async with Client("c", "1", mode="modern").connect(
                farm.transport(), reconnect=POLICY) as session:
            async with session.listen(tools=True) as listener:
                await farm.kill()
                await session.wait_reconnected()
                await trio.testing.wait_all_tasks_blocked()  # the listen is sent again

                @server.tool()
                async def added() -> str:
                    return "new"

                with trio.fail_after(5):
                    note = await listener.receive()
                assert note.method == "notifications/tools/list_changed"
        nursery.cancel_scope.cancel()


async def test_a_legacy_listen_resubscribes_after_a_reconnect(autojump_clock: Any) -> None:
    server = Server("farm", "1", supported_versions=HANDSHAKE_VERSIONS)

    @server.resource("test://watched")
    async def watched() -> str:
        return "w"

    subscribed: list[int] = []
    async with trio.open_nursery() as nursery:
        farm = Farm(server, nursery)
        async with Client("c", "1", mode="legacy").connect(
                farm.transport(), reconnect=POLICY) as session:
            async with session.listen(resource_uris=["test://watched"]):
                await farm.kill()
                await session.wait_reconnected()
                await trio.testing.wait_all_tasks_blocked()
                subscribed.append(farm.opens)
        assert subscribed == [2]
        nursery.cancel_scope.cancel()


async def test_reconnect_needs_a_transport_that_can_be_opened_again() -> None:
    client_end, _server_end = memory_transport_pair()
    with pytest.raises(ValueError, match="opened again"):
        async with Client("c", "1").connect(client_end, reconnect=Reconnect()):
            raise AssertionError("not reached")  # pragma: no cover


async def test_wait_reconnected_without_reconnect_is_an_error() -> None:
    server = make_server()
    client_end, server_end = memory_transport_pair()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(server.serve, server_end)
        async with Client("c", "1").connect(client_end) as session:
            assert session.reconnects is None
            with pytest.raises(ValueError, match="without reconnect"):
                await session.wait_reconnected()
        nursery.cancel_scope.cancel()


async def test_without_reconnect_in_flight_calls_still_say_whether_retry_is_safe() -> None:
    async with trio.open_nursery() as nursery:
        farm = Farm(make_server(), nursery)
        async with Client("c", "1", mode="modern").connect(farm.transport()) as session:
            failures: list[PeerDisconnected] = []

            async def call() -> None:
                try:
                    await session.call_tool("forever")
                except PeerDisconnected as exc:
                    failures.append(exc)

            nursery.start_soon(call)
            await trio.testing.wait_all_tasks_blocked()
            await farm.kill()
            await session.wait_closed()
            assert [f.retry_safe for f in failures] == [True]
        nursery.cancel_scope.cancel()


class HintedTransport(FarmTransport):
    retry_hint = 2.0  # as a StreamableHTTPTransport reports a server's SSE ``retry``

    def reopened(self) -> HintedTransport:
        return HintedTransport(self.farm)


async def test_the_server_reconnection_time_is_honoured(autojump_clock: Any) -> None:
    async with trio.open_nursery() as nursery:
        farm = Farm(make_server(), nursery)
        async with Client("c", "1").connect(HintedTransport(farm), reconnect=POLICY) as session:
            start = trio.current_time()
            await farm.kill()
            await session.wait_reconnected()
            assert trio.current_time() - start == pytest.approx(2.0)  # not the 0.5 s backoff
        nursery.cancel_scope.cancel()


async def test_the_keepalive_goes_on_after_a_reconnect(autojump_clock: Any) -> None:
    pings: list[float] = []

    def trace(direction: str, item: object) -> None:
        if direction == "send" and isinstance(item, bytes) and b'"ping"' in item:
            pings.append(trio.current_time())

    async with trio.open_nursery() as nursery:
        farm = Farm(make_server(), nursery)
        client = Client("c", "1", mode="legacy", keepalive_interval=1.0, trace=trace)
        async with client.connect(farm.transport(), reconnect=POLICY) as session:
            await trio.sleep(2.5)
            await farm.kill()
            await session.wait_reconnected()
            reconnected = trio.current_time()
            await trio.sleep(3.5)
            assert len([t for t in pings if t > reconnected]) >= 2
            assert not session.closed
        nursery.cancel_scope.cancel()


async def test_an_http_transport_reopens_with_the_same_settings() -> None:
    from trio_adapter import StreamableHTTPTransport

    first = StreamableHTTPTransport("http://127.0.0.1:1/mcp", headers={"x-a": "1"},
                                    connect_timeout=3.0, max_reconnects=2)
    first.fail_on_loss = True
    again = first.reopened()
    assert again is not first and again.url == first.url and again.fail_on_loss
    assert again.client is not first.client and again.client.max_reconnects == 2
    assert again._connect_timeout == 3.0 and again.client.extra_headers == (("x-a", "1"),)
    assert again.retry_hint is None
    await trio.lowlevel.checkpoint()


async def test_closing_while_reconnecting_stops_it_and_nothing_hangs(
        autojump_clock: Any) -> None:
    from trio_adapter import SessionClosed

    async with assert_no_leaks(), trio.open_nursery() as nursery:
        farm = Farm(make_server(), nursery)
        async with Client("c", "1").connect(farm.transport(), reconnect=POLICY) as session:
            farm.down = True
            await farm.kill()
            await trio.sleep(0.7)  # one refused attempt; the next is waiting its backoff
            assert session.reconnects is not None and session.reconnects.reconnecting
            outcomes: list[BaseException] = []

            async def waiter() -> None:
                try:
                    await session.wait_reconnected()
                except SessionClosed as exc:
                    outcomes.append(exc)

            nursery.start_soon(waiter)
            await trio.testing.wait_all_tasks_blocked()
            closed_at = trio.current_time()
            await session.aclose()
            assert trio.current_time() - closed_at < 0.1
            await trio.testing.wait_all_tasks_blocked()
            assert len(outcomes) == 1 and not isinstance(outcomes[0], PeerDisconnected)
            with pytest.raises(SessionClosed):
                await session.call_tool("echo", {"text": "x"})
        opens = farm.opens
        await trio.sleep(20)
        assert farm.opens == opens and not session.reconnects.reconnecting
        nursery.cancel_scope.cancel()
