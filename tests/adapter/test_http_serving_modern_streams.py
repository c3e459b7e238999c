"""serve_http: stateless requests served without a handshake, SSE keepalives on long-lived
streams, a graceful shutdown that never waits on a listen, and the bounds (a session's input,
a JSON answer's wait)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from typing import Any

import h11
import pytest
import trio
import trio.testing

from sansio.events import Initialized
from sansio.http import StreamEvent
from sansio.sse import SSEDecoder
from sansio.versions import META_PROTOCOL_VERSION, SUPPORTED_VERSIONS
from trio_adapter import MCPError, Server
from trio_adapter import server as server_module
from trio_adapter._http_server import _Endpoint, _Inbox
from trio_adapter.http import HTTPServerInfo, serve_http

V = "2026-07-28"
META = {META_PROTOCOL_VERSION: V, "io.modelcontextprotocol/clientInfo": {"name": "c",
                                                                         "version": "1"},
        "io.modelcontextprotocol/clientCapabilities": {}}
KEEPALIVE = b": keepalive"


@pytest.fixture
def clock() -> trio.testing.MockClock:
    """Virtual time that jumps once every task has waited 20 ms of real time (the loopback
    sockets' bytes are in flight for far less)."""
    return trio.testing.MockClock(autojump_threshold=0.02)


@asynccontextmanager
async def serving(server: Server, **options: Any) -> AsyncIterator[HTTPServerInfo]:
    async with trio.open_nursery() as nursery:
        info: HTTPServerInfo = await nursery.start(lambda task_status: serve_http(
            server, "127.0.0.1", 0, task_status=task_status, **options))
        yield info
        nursery.cancel_scope.cancel()


class Exchange:
    """One HTTP request over a fresh connection, read with h11."""

    def __init__(self, stream: trio.SocketStream) -> None:
        self.stream = stream
        self.h11 = h11.Connection(h11.CLIENT)
        self.response: h11.Response | None = None
        self.body = b""
        self.ended = False

    @classmethod
    async def open(cls, port: int, method: str, message: Any = None,
                   headers: Mapping[str, str] | None = None) -> Exchange:
        self = cls(await trio.open_tcp_stream("127.0.0.1", port))
        data = b"" if message is None else json.dumps(message).encode()
        hdrs = [("host", f"127.0.0.1:{port}"), ("content-type", "application/json"),
                ("accept", "application/json, text/event-stream"),
                ("content-length", str(len(data))), *(headers or {}).items()]
        await self.stream.send_all(
            (self.h11.send(h11.Request(method=method, target="/mcp", headers=hdrs)) or b"")
            + (self.h11.send(h11.Data(data=data)) or b"")
            + (self.h11.send(h11.EndOfMessage()) or b""))
        return self

    @property
    def headers(self) -> dict[str, str]:
        assert self.response is not None
        return {k.decode(): v.decode() for k, v in self.response.headers}

    async def head(self) -> h11.Response:
        while self.response is None:
            await self.next()
        return self.response

    async def whole(self) -> tuple[int, dict[str, str], bytes]:
        while not self.ended:
            await self.next()
        await self.stream.aclose()
        assert self.response is not None
        return self.response.status_code, self.headers, self.body

    async def until(self, predicate: Callable[[bytes], bool]) -> None:
        while not predicate(self.body):
            assert not self.ended, self.body
            await self.next()

    async def next(self) -> None:
        event = self.h11.next_event()
        if event is h11.NEED_DATA:
            self.h11.receive_data(await self.stream.receive_some(65536))
        elif isinstance(event, h11.Response):
            self.response = event
        elif isinstance(event, h11.Data):
            self.body += bytes(event.data)
        elif isinstance(event, (h11.EndOfMessage, h11.ConnectionClosed)):
            self.ended = True


def sse_messages(body: bytes) -> list[Any]:
    return [json.loads(e.data) for e in SSEDecoder().feed(body) if e.data]


def answer_messages(headers: dict[str, str], body: bytes) -> list[Any]:
    """The messages of a POST's answer, as its Content-Type says: one JSON body (how a
    2026-07-28 answer that is whole at once comes) or an SSE stream."""
    if headers["content-type"] == "application/json":
        return [json.loads(body)]
    assert headers["content-type"] == "text/event-stream"
    return sse_messages(body)


def modern(method: str, params: dict[str, Any], rid: Any = 1) -> tuple[dict[str, Any],
                                                                       dict[str, str]]:
    headers = {"mcp-protocol-version": V, "mcp-method": method}
    if method == "tools/call":
        headers["mcp-name"] = params["name"]
    return ({"jsonrpc": "2.0", "id": rid, "method": method, "params": {**params, "_meta": META}},
            headers)


def call(name: str, arguments: dict[str, Any], rid: Any = 1) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": rid, "method": "tools/call",
            "params": {"name": name, "arguments": arguments}}


async def legacy_session(port: int) -> str:
    """A handshake-era session (initialize, then notifications/initialized): its id."""
    status, headers, _ = await (await Exchange.open(port, "POST", {
        "jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
            "protocolVersion": "2025-11-25", "capabilities": {},
            "clientInfo": {"name": "c", "version": "1"}}})).whole()
    assert status == 200
    sid = headers["mcp-session-id"]
    status, _, _ = await (await Exchange.open(port, "POST", {
        "jsonrpc": "2.0", "method": "notifications/initialized"},
        {"mcp-session-id": sid, "mcp-protocol-version": "2025-11-25"})).whole()
    assert status == 202
    return sid


def traced_server(frames: list[Any], events: list[Any], **options: Any) -> Server:
    def trace(kind: str, item: Any) -> None:
        if kind == "recv":
            frames.append(json.loads(item))
        elif kind == "event":
            events.append(item)

    server = Server("streams", "1", trace=trace, **options)

    @server.tool()
    async def echo(text: str) -> str:
        return text

    return server


# ---------------------------------------------------------------- stateless, no handshake


@pytest.mark.parametrize(("header", "version"), [(None, "2025-03-26"),
                                                 ("2025-06-18", "2025-06-18")])
async def test_a_stateless_request_is_served_without_any_handshake(
        header: str | None, version: str) -> None:
    frames: list[Any] = []
    events: list[Any] = []
    server = traced_server(frames, events)
    async with serving(server, stateless=True) as info:
        request = call("echo", {"text": "initialize"}, 5)
        headers = {} if header is None else {"mcp-protocol-version": header}
        status, got, body = await (await Exchange.open(info.port, "POST", request,
                                                       headers)).whole()
        assert status == 200 and "mcp-session-id" not in got
        [answer] = sse_messages(body)
        assert answer["id"] == 5
        assert answer["result"]["content"] == [{"type": "text", "text": "initialize"}]
    # The engine read exactly the POSTed request: no synthetic initialize, no initialized.
    assert frames == [request]
    [ready] = [e for e in events if isinstance(e, Initialized)]
    assert ready.protocol_version == version and ready.peer_capabilities == {}


async def test_a_stateless_server_still_answers_an_initialize() -> None:
    frames: list[Any] = []
    server = traced_server(frames, [])
    async with serving(server, stateless=True) as info:
        request = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-11-25", "capabilities": {},
            "clientInfo": {"name": "c", "version": "1"}}}
        status, _, body = await (await Exchange.open(info.port, "POST", request)).whole()
        assert status == 200
        [answer] = sse_messages(body)
        assert answer["result"]["protocolVersion"] == "2025-11-25"
    assert frames == [request]


# ---------------------------------------------------------------- keepalives


async def test_an_idle_get_stream_gets_keepalive_comments(
        clock: trio.testing.MockClock) -> None:
    server = traced_server([], [])
    async with serving(server) as info:
        sid = await legacy_session(info.port)
        get = await Exchange.open(info.port, "GET", None, {
            "mcp-session-id": sid, "mcp-protocol-version": "2025-11-25",
            "accept": "text/event-stream"})
        head = await get.head()
        assert head.status_code == 200
        assert get.headers["x-accel-buffering"] == "no"
        start = trio.current_time()
        await get.until(lambda body: KEEPALIVE in body)
        assert 14.9 <= trio.current_time() - start <= 16
        assert SSEDecoder().feed(get.body)[-1].data == ""  # only the priming event: no data
        await get.stream.aclose()


async def test_keepalives_follow_the_interval_and_can_be_disabled(
        clock: trio.testing.MockClock) -> None:
    server = traced_server([], [])
    for interval, expected in ((2.0, 5), (None, 0)):
        async with serving(server, keepalive_interval=interval) as info:
            sid = await legacy_session(info.port)
            get = await Exchange.open(info.port, "GET", None, {
                "mcp-session-id": sid, "mcp-protocol-version": "2025-11-25",
                "accept": "text/event-stream"})
            await get.head()
            with trio.move_on_after(11):
                while True:
                    await get.next()
            assert get.body.count(KEEPALIVE) == expected
            await get.stream.aclose()


def test_keepalive_interval_must_be_positive() -> None:
    with pytest.raises(ValueError, match="keepalive_interval"):
        trio.run(lambda: serve_http(Server("s", "1"), keepalive_interval=0))


# ---------------------------------------------------------------- listens and shutdown




@pytest.fixture
def hanging_listen(monkeypatch: pytest.MonkeyPatch) -> tuple[trio.Event, trio.Event]:
    """A server-side subscriptions/listen that stays open until cancelled (the server's own
    listen support may replace it; either way the stream is long-lived)."""
    started, cancelled = trio.Event(), trio.Event()

    async def listen(session: Any, ctx: Any, params: Mapping[str, Any]) -> Any:
        started.set()
        try:
            await trio.sleep_forever()
        finally:
            cancelled.set()

    monkeypatch.setitem(server_module._HANDLERS, "subscriptions/listen", listen)
    return started, cancelled


async def test_a_listen_gets_keepalives_and_a_shutdown_never_waits_on_it(
        clock: trio.testing.MockClock, hanging_listen: tuple[trio.Event, trio.Event]) -> None:
    started, cancelled = hanging_listen
    server = Server("listen", "1", supported_versions=SUPPORTED_VERSIONS)
    stop = trio.Event()
    async with trio.open_nursery() as nursery:
        info: HTTPServerInfo = await nursery.start(lambda task_status: serve_http(
            server, "127.0.0.1", 0, stop=stop, drain_timeout=20, task_status=task_status))
        sid = await legacy_session(info.port)
        get = await Exchange.open(info.port, "GET", None, {
            "mcp-session-id": sid, "mcp-protocol-version": "2025-11-25",
            "accept": "text/event-stream"})
        message, headers = modern("subscriptions/listen", {"notifications": {
            "toolsListChanged": True}}, "L")
        listen = await Exchange.open(info.port, "POST", message, headers)
        head = await listen.head()
        assert head.status_code == 200 and listen.headers["x-accel-buffering"] == "no"
        await listen.until(lambda body: KEEPALIVE in body)
        await get.until(lambda body: KEEPALIVE in body)
        stopped_at = trio.current_time()
        stop.set()
        await listen.whole()  # both responses end cleanly
        await get.whole()
        if started.is_set():  # (the server's own listen support may serve it instead)
            await cancelled.wait()  # the listen's end is its cancellation
    assert trio.current_time() - stopped_at < 1  # nothing waited for the drain timeout


# ---------------------------------------------------------------- bounds


async def test_a_flood_into_one_session_stays_bounded(clock: trio.testing.MockClock) -> None:
    release = trio.Event()
    blocked = trio.Event()

    async def roots_changed(session: Any) -> None:  # the session's reader waits here
        blocked.set()
        await release.wait()

    server = Server("flood", "1", roots_changed_handler=roots_changed)
    note = {"jsonrpc": "2.0", "method": "notifications/roots/list_changed"}
    async with serving(server, max_pending=3, request_timeout=5) as info:
        sid = await legacy_session(info.port)
        headers = {"mcp-session-id": sid, "mcp-protocol-version": "2025-11-25"}
        status, _, _ = await (await Exchange.open(info.port, "POST", note, headers)).whole()
        assert status == 202
        await blocked.wait()
        statuses: list[int] = []
        retry: list[str | None] = []

        async def post() -> None:
            status, got, _ = await (await Exchange.open(info.port, "POST", note,
                                                        headers)).whole()
            statuses.append(status)
            retry.append(got.get("retry-after"))

        async with trio.open_nursery() as nursery:
            for _ in range(20):
                nursery.start_soon(post)
        # Three fit in the session's input; every other POST was refused, none is kept.
        assert sorted(statuses) == [202] * 3 + [503] * 17
        assert retry.count("1") == 17
        [transport] = [t for t in server.sessions if t.transport is not None]
        assert len(transport.transport._inbox) == 3  # type: ignore[attr-defined]
        release.set()
        status, _, body = await (await Exchange.open(info.port, "POST", call("x", {}, 9),
                                                     headers)).whole()
        assert status == 200 and sse_messages(body)[0]["id"] == 9  # the session goes on


async def test_a_json_answer_waits_at_most_response_timeout(
        clock: trio.testing.MockClock) -> None:
    server = Server("slow", "1")

    @server.tool()
    async def hang() -> str:
        await trio.sleep_forever()
        return ""  # pragma: no cover

    async with serving(server, stateless=True, json_response=True,
                       response_timeout=7) as info:
        start = trio.current_time()
        status, _, body = await (await Exchange.open(info.port, "POST",
                                                     call("hang", {}))).whole()
        assert status == 504 and 7 <= trio.current_time() - start < 8
        assert json.loads(body)["error"]["code"] == -32001


# ---------------------------------------------------------------- 2026-07-28 answers


def erring_server() -> Server:
    server = Server("errors", "1", supported_versions=SUPPORTED_VERSIONS)

    @server.tool()
    async def needs_roots(delay: float = 0) -> str:
        await trio.sleep(delay)
        raise MCPError(-32021, "the client did not declare roots",
                       {"requiredCapabilities": {"roots": {}}})

    @server.tool()
    async def echo(text: str) -> str:
        return text

    return server


async def test_a_modern_error_answer_gets_its_http_status() -> None:
    async with serving(erring_server()) as info:
        message, headers = modern("tools/call", {"name": "needs_roots", "arguments": {}}, 3)
        status, got, body = await (await Exchange.open(info.port, "POST", message,
                                                       headers)).whole()
        assert status == 400 and got["content-type"] == "application/json"
        answer = json.loads(body)
        assert answer["id"] == 3 and answer["error"]["code"] == -32021
        # An unknown method never reaches a session: 404 with -32601.
        message, headers = modern("foo/bar", {}, "u")
        status, _, body = await (await Exchange.open(info.port, "POST", message,
                                                     headers)).whole()
        assert status == 404 and json.loads(body) == {"jsonrpc": "2.0", "id": "u", "error": {
            "code": -32601, "message": json.loads(body)["error"]["message"]}}
        # A result at once is a 200 JSON body.
        message, headers = modern("tools/call", {"name": "echo", "arguments": {"text": "a"}})
        status, got, body = await (await Exchange.open(info.port, "POST", message,
                                                       headers)).whole()
        assert status == 200 and got["content-type"] == "application/json"
        assert json.loads(body)["result"]["content"][0]["text"] == "a"


async def test_a_late_modern_error_stays_on_its_stream(clock: trio.testing.MockClock) -> None:
    async with serving(erring_server()) as info:
        message, headers = modern("tools/call", {"name": "needs_roots",
                                                 "arguments": {"delay": 5}}, 3)
        status, _, body = await (await Exchange.open(info.port, "POST", message,
                                                     headers)).whole()
        assert status == 200  # the head went out before the answer: the error is an event
        assert sse_messages(body)[-1]["error"]["code"] == -32021


async def test_a_json_response_server_gives_modern_errors_their_status() -> None:
    async with serving(erring_server(), json_response=True) as info:
        message, headers = modern("tools/call", {"name": "needs_roots", "arguments": {}}, 8)
        status, _, body = await (await Exchange.open(info.port, "POST", message,
                                                     headers)).whole()
        assert status == 400 and json.loads(body)["error"]["code"] == -32021


# ---------------------------------------------------------------- the buffers themselves


class _StubCore:
    """Routes every frame to stream "1" (the endpoint's buffering is under test)."""

    def __init__(self) -> None:
        self.detached: list[str] = []

    def route(self, key: str, frame: Any, related: Any) -> list[StreamEvent]:
        return [StreamEvent("1", bytes(frame))]

    def detach(self, key: str, stream_id: str) -> None:
        self.detached.append(stream_id)


async def test_a_stream_whose_client_does_not_read_is_ended(
        clock: trio.testing.MockClock) -> None:
    core = _StubCore()
    async with trio.open_nursery() as nursery:
        endpoint = _Endpoint(Server("s", "1"), core, nursery,  # type: ignore[arg-type]
                             False, stream_buffer=2, send_timeout=5)
        events = endpoint.open_channel("k", "1")
        await endpoint.dispatch("k", b"a", None)
        await endpoint.dispatch("k", b"b", None)
        start = trio.current_time()
        await endpoint.dispatch("k", b"c", None)  # no room for 5 s: the stream is ended
        assert trio.current_time() - start == pytest.approx(5)
        assert core.detached == ["1"] and ("k", "1") not in endpoint.streams
        assert [event.data async for event in events] == [b"a", b"b"]
        await endpoint.dispatch("k", b"d", None)  # nothing is kept for an ended stream


async def test_a_sessions_inbox_is_bounded_but_takes_cancellations() -> None:
    inbox = _Inbox(2)
    await inbox.put(b"1\n")
    await inbox.put(b"2\n")
    with trio.move_on_after(0.01) as waited:
        await inbox.put(b"3\n")
    assert waited.cancelled_caught and len(inbox) == 2  # a cancelled put appends nothing
    inbox.put_nowait(b"cancel\n")  # the adapter's own messages always fit
    assert await inbox.get() == b"1\n2\ncancel\n" and len(inbox) == 0
    async with trio.open_nursery() as nursery:
        nursery.start_soon(inbox.put, b"4\n")
        await trio.testing.wait_all_tasks_blocked()
        assert await inbox.get() == b"4\n"
    inbox.close()
    await inbox.put(b"late\n")  # dropped once closed
    assert await inbox.get() == b""


async def test_closing_a_listen_stream_cancels_the_listen(
        hanging_listen: tuple[trio.Event, trio.Event]) -> None:
    started, cancelled = hanging_listen
    server = Server("listen", "1", supported_versions=SUPPORTED_VERSIONS)
    async with serving(server) as info:
        message, headers = modern("subscriptions/listen", {"notifications": {
            "toolsListChanged": True}}, "L")
        listen = await Exchange.open(info.port, "POST", message, headers)
        assert (await listen.head()).status_code == 200
        await trio.testing.wait_all_tasks_blocked()
        [session] = server.sessions  # the listen's one-request session
        await listen.stream.aclose()
        if started.is_set():  # (the server's own listen support may serve it instead)
            await cancelled.wait()
        await session.wait_closed()  # it ends (bounded by the test's guard)
        await trio.testing.wait_all_tasks_blocked()
        assert server.sessions == []
