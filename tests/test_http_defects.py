"""Streamable HTTP defects a review found, each pinned by a test: invalid ids, batches where a
revision has none, a body or a head over its limit (the peer must read the answer, not a
reset), and per-object head caches and JSON codecs (no module-level state)."""

from __future__ import annotations

import functools
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import h11
import pytest
import trio
from hypothesis import given, settings
from hypothesis import strategies as st

from sansio import _codec
from sansio.http import (
    Accept,
    CompleteRequest,
    HeadCache,
    HTTPServerConnection,
    OpenStream,
    Reject,
    StreamableHTTPServer,
    answer_messages,
)
from sansio.sse import SSEDecoder, SSEError
from trio_adapter import Server
from trio_adapter.http import HTTPServerInfo, serve_http

BOTH = "application/json, text/event-stream"


def init_message(version: str) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": version, "capabilities": {},
        "clientInfo": {"name": "t", "version": "1"}}}


def post(core: StreamableHTTPServer, body: bytes, headers: dict[str, str] | None = None
         ) -> Any:
    hdrs = {"host": "127.0.0.1", "content-type": "application/json", "accept": BOTH,
            **(headers or {})}
    return core.handle(CompleteRequest("POST", "/mcp", tuple(hdrs.items()), body))


def session(version: str, **kwargs: Any) -> tuple[StreamableHTTPServer, str]:
    """A core with one session that negotiated ``version``."""
    core = StreamableHTTPServer(lambda: "s1", **kwargs)
    outcome = post(core, json.dumps(init_message(version)).encode())
    assert isinstance(outcome, OpenStream)
    core.route(outcome.session_id, json.dumps({"jsonrpc": "2.0", "id": 1, "result": {
        "protocolVersion": version, "capabilities": {},
        "serverInfo": {"name": "s", "version": "1"}}}).encode())
    return core, outcome.session_id


BAD_IDS = [b'{"a":1}', b"[1]", b"[]", b"{}", b"true", b"false", b"1.5", b"1e3", b"null",
           str(2**96).encode(), str(-(2**70)).encode()]


# ---------------------------------------------------------------- 1, 2: ids


@pytest.mark.parametrize("version", ["2025-03-26", "2025-06-18", "2025-11-25"])
@pytest.mark.parametrize("raw_id", BAD_IDS)
def test_a_request_with_an_invalid_id_is_answered_400_invalid_request(
        raw_id: bytes, version: str) -> None:
    """An id that is not an integer (in the codec's range) or a string cannot be answered by
    id: the POST that carried it gets the -32600 at once, id null (omitted from 2025-11-25,
    whose schema forbids null), and the session goes on."""
    core, sid = session(version)
    body = b'{"jsonrpc":"2.0","id":' + raw_id + b',"method":"ping"}'
    outcome = post(core, body, {"mcp-session-id": sid})
    assert isinstance(outcome, Reject) and outcome.status == 400
    answer = json.loads(outcome.body)
    assert answer["error"]["code"] == -32600
    if version < "2025-11-25":
        assert "id" in answer and answer["id"] is None
    else:
        assert "id" not in answer
    assert sid in core.session_ids
    ok = post(core, b'{"jsonrpc":"2.0","id":2,"method":"ping"}', {"mcp-session-id": sid})
    assert isinstance(ok, OpenStream)
    [event] = core.route(sid, b'{"jsonrpc":"2.0","id":2,"result":{}}')
    assert event.stream_id == ok.stream_id and event.final


def test_an_invalid_id_in_a_batch_refuses_the_batch() -> None:
    core, sid = session("2025-03-26")
    body = b'[{"jsonrpc":"2.0","id":2,"method":"ping"},{"jsonrpc":"2.0","id":{},"method":"x"}]'
    outcome = post(core, body, {"mcp-session-id": sid})
    assert isinstance(outcome, Reject) and outcome.status == 400
    assert json.loads(outcome.body)["error"]["code"] == -32600


@pytest.mark.parametrize("version", ["2024-11-05", "2025-06-18", "2025-11-25"])
def test_a_batch_where_the_revision_has_none_is_answered_400(version: str) -> None:
    core, sid = session(version)
    body = b'[{"jsonrpc":"2.0","id":2,"method":"ping"}]'
    outcome = post(core, body, {"mcp-session-id": sid})
    assert isinstance(outcome, Reject) and outcome.status == 400
    answer = json.loads(outcome.body)
    assert answer["error"]["code"] == -32600
    assert version in answer["error"]["message"]


def test_a_batch_on_2025_03_26_opens_its_stream() -> None:
    core, sid = session("2025-03-26")
    body = b'[{"jsonrpc":"2.0","id":2,"method":"ping"},{"jsonrpc":"2.0","id":"2","method":"x"}]'
    outcome = post(core, body, {"mcp-session-id": sid})
    assert isinstance(outcome, OpenStream)
    [event] = core.route(sid, b'[{"jsonrpc":"2.0","id":2,"result":{}},'
                              b'{"jsonrpc":"2.0","id":"2","result":{}}]')
    assert event.stream_id == outcome.stream_id and event.final


def test_a_stateless_batch_follows_the_requested_revision() -> None:
    core = StreamableHTTPServer(lambda: "unused", stateless=True)
    body = b'[{"jsonrpc":"2.0","id":2,"method":"ping"}]'
    assert isinstance(post(core, body), OpenStream)  # no header: 2025-03-26
    refused = post(core, body, {"mcp-protocol-version": "2025-06-18"})
    assert isinstance(refused, Reject) and refused.status == 400


def test_ids_are_typed_keys_one_and_true_and_the_string_never_collide() -> None:
    core, sid = session("2025-11-25")
    one = post(core, b'{"jsonrpc":"2.0","id":1,"method":"ping"}', {"mcp-session-id": sid})
    text = post(core, b'{"jsonrpc":"2.0","id":"1","method":"ping"}', {"mcp-session-id": sid})
    true = post(core, b'{"jsonrpc":"2.0","id":true,"method":"ping"}', {"mcp-session-id": sid})
    assert isinstance(one, OpenStream) and isinstance(text, OpenStream)
    assert isinstance(true, Reject)
    # An answer with id true, or 1.0, ends neither stream; each real answer ends its own.
    assert core.route(sid, b'{"jsonrpc":"2.0","id":true,"result":{}}') == []
    assert core.route(sid, b'{"jsonrpc":"2.0","id":1.0,"result":{}}') == []
    [event] = core.route(sid, b'{"jsonrpc":"2.0","id":"1","result":{}}')
    assert event.stream_id == text.stream_id and event.final
    [event] = core.route(sid, b'{"jsonrpc":"2.0","id":1,"result":{}}')
    assert event.stream_id == one.stream_id and event.final


def test_a_response_or_notification_with_an_odd_id_is_still_accepted() -> None:
    # Only requests are answered by id; the engine drops what it cannot use.
    core, sid = session("2025-11-25")
    outcome = post(core, b'{"jsonrpc":"2.0","id":{"a":1},"result":{}}', {"mcp-session-id": sid})
    assert isinstance(outcome, Accept)


# ---------------------------------------------------------------- 3, 4: limits (sans-IO)


def request_bytes(headers: list[tuple[str, str]], body: bytes = b"",
                  length: int | None = None) -> bytes:
    client = h11.Connection(h11.CLIENT)
    hdrs = [("host", "127.0.0.1"), ("content-length", str(len(body) if length is None
                                                          else length)), *headers]
    out = client.send(h11.Request(method="POST", target="/mcp", headers=hdrs)) or b""
    return out + body


def status_of(data: bytes) -> int:
    client = h11.Connection(h11.CLIENT)
    client.send(h11.Request(method="GET", target="/", headers=[("host", "x")]))
    client.send(h11.EndOfMessage())
    client.receive_data(data)
    event = client.next_event()
    assert isinstance(event, h11.Response)
    return event.status_code


@pytest.mark.parametrize("piece", [1 << 20, 4096])
def test_a_head_over_the_limit_is_431_however_it_arrives(piece: int) -> None:
    data = request_bytes([("x-big", "a" * 100 * 1024)])
    conn = HTTPServerConnection()
    answer = None
    for i in range(0, len(data), piece):
        conn.receive_data(data[i:i + piece])
        answer = conn.next_request()
        if answer is not None:
            break
    assert isinstance(answer, bytes) and status_of(answer) == 431


def test_the_head_limit_is_configurable() -> None:
    head = request_bytes([("x-big", "a" * 2000)], b"{}")
    small = HTTPServerConnection(max_header=1024)
    small.receive_data(head)
    answer = small.next_request()
    assert isinstance(answer, bytes) and status_of(answer) == 431
    default = HTTPServerConnection()
    default.receive_data(head)
    assert isinstance(default.next_request(), CompleteRequest)


def test_after_413_the_rest_of_the_body_is_read_then_the_connection_closes() -> None:
    conn = HTTPServerConnection(max_body=100)
    conn.receive_data(request_bytes([("content-type", "application/json")], length=150))
    answer = conn.next_request()
    assert isinstance(answer, bytes) and status_of(answer) == 413
    assert b"connection: close" in answer.lower()
    assert conn.discarding
    conn.receive_data(b"x" * 100)
    assert conn.next_request() is None and conn.discarding
    conn.receive_data(b"x" * 50)
    assert conn.next_request() is None
    assert not conn.discarding and conn.closed


def test_discarding_is_bounded() -> None:
    conn = HTTPServerConnection(max_body=100, max_discard=1000)
    conn.receive_data(request_bytes([], length=10**9))
    assert isinstance(conn.next_request(), bytes)
    for _ in range(5):
        conn.receive_data(b"x" * 300)
        assert conn.next_request() is None
    assert not conn.discarding and conn.closed


def test_discarding_ends_at_eof() -> None:
    conn = HTTPServerConnection(max_body=10)
    conn.receive_data(request_bytes([], length=100))
    assert isinstance(conn.next_request(), bytes) and conn.discarding
    conn.receive_data(b"")
    assert conn.next_request() is None and not conn.discarding


def test_a_head_too_large_to_parse_is_discarded_raw_and_bounded() -> None:
    conn = HTTPServerConnection(max_header=1024, max_discard=4096)
    conn.receive_data(b"POST /mcp HTTP/1.1\r\nx-big: " + b"a" * 3000)
    answer = conn.next_request()
    assert isinstance(answer, bytes) and status_of(answer) == 431
    assert conn.discarding
    conn.receive_data(b"a" * 5000)
    assert conn.next_request() is None and not conn.discarding


# ---------------------------------------------------------------- 3, 4: through serve_http


def tiny_server() -> Server:
    server = Server("defects", "1")

    @server.tool()
    async def echo(text: str) -> str:
        return text

    return server


@asynccontextmanager
async def serving(**kwargs: Any) -> AsyncIterator[HTTPServerInfo]:
    async with trio.open_nursery() as nursery:
        info: HTTPServerInfo = await nursery.start(lambda task_status: serve_http(
            tiny_server(), "127.0.0.1", 0, task_status=task_status, **kwargs))
        yield info
        nursery.cancel_scope.cancel()


async def read_answer(stream: trio.SocketStream, conn: h11.Connection
                      ) -> tuple[h11.Response, bytes]:
    head: h11.Response | None = None
    body = b""
    while True:
        event = conn.next_event()
        if event is h11.NEED_DATA:
            conn.receive_data(await stream.receive_some(65536))
        elif isinstance(event, h11.Response):
            head = event
        elif isinstance(event, h11.Data):
            body += event.data
        elif isinstance(event, h11.EndOfMessage):
            assert head is not None
            return head, body
        else:
            raise AssertionError(f"unexpected {event!r}")


async def test_a_client_sending_a_body_over_the_limit_reads_the_413() -> None:
    with trio.fail_after(10):
        async with serving(max_body=64 * 1024) as info:
            stream = await trio.open_tcp_stream("127.0.0.1", info.port)
            body = b" " * (100 * 1024)
            await stream.send_all(request_bytes([("content-type", "application/json"),
                                                 ("accept", BOTH)], length=len(body)))
            for i in range(0, len(body), 8192):  # the whole body, then read the answer
                await stream.send_all(body[i:i + 8192])
            conn = h11.Connection(h11.CLIENT)
            conn.send(h11.Request(method="POST", target="/mcp", headers=[("host", "x")]))
            head, answer = await read_answer(stream, conn)
            assert head.status_code == 413
            assert json.loads(answer)["error"]["code"] == -32600
            assert await stream.receive_some(1024) == b""  # then the server closes
            await stream.aclose()


async def test_a_client_sending_a_huge_head_reads_the_431() -> None:
    with trio.fail_after(10):
        async with serving(max_header=16 * 1024) as info:
            stream = await trio.open_tcp_stream("127.0.0.1", info.port)
            data = request_bytes([("content-type", "application/json"), ("accept", BOTH),
                                  ("x-big", "a" * 20 * 1024)], b"{}")
            await stream.send_all(data)
            conn = h11.Connection(h11.CLIENT)
            conn.send(h11.Request(method="POST", target="/mcp", headers=[("host", "x")]))
            head, _ = await read_answer(stream, conn)
            assert head.status_code == 431
            await stream.aclose()


async def test_an_invalid_id_over_http_gets_its_answer_and_the_session_goes_on() -> None:
    with trio.fail_after(10):
        async with serving() as info:
            stream = await trio.open_tcp_stream("127.0.0.1", info.port)
            conn = h11.Connection(h11.CLIENT)

            async def exchange(body: bytes, sid: str | None = None
                               ) -> tuple[h11.Response, bytes]:
                headers = [("host", "127.0.0.1"), ("content-type", "application/json"),
                           ("accept", BOTH), ("content-length", str(len(body))),
                           ("mcp-protocol-version", "2025-06-18")]
                if sid:
                    headers.append(("mcp-session-id", sid))
                await stream.send_all((conn.send(h11.Request(
                    method="POST", target="/mcp", headers=headers)) or b"")
                    + (conn.send(h11.Data(data=body)) or b"")
                    + (conn.send(h11.EndOfMessage()) or b""))
                answer = await read_answer(stream, conn)
                conn.start_next_cycle()
                return answer

            head, _ = await exchange(json.dumps(init_message("2025-06-18")).encode())
            sid = dict(head.headers)[b"mcp-session-id"].decode()
            await exchange(b'{"jsonrpc":"2.0","method":"notifications/initialized"}', sid)
            for bad in (b'{"jsonrpc":"2.0","id":{"a":[1]},"method":"ping"}',
                        b'{"jsonrpc":"2.0","id":true,"method":"ping"}',
                        b'[{"jsonrpc":"2.0","id":3,"method":"ping"}]'):
                head, body = await exchange(bad, sid)
                assert head.status_code == 400
                assert json.loads(body) == {"jsonrpc": "2.0", "id": None, "error": {
                    "code": -32600, "message": json.loads(body)["error"]["message"]}}
            head, body = await exchange(b'{"jsonrpc":"2.0","id":1,"method":"ping"}', sid)
            ctype = dict(head.headers)[b"content-type"].decode()
            assert head.status_code == 200
            assert answer_messages(ctype, body) == [{"jsonrpc": "2.0", "id": 1, "result": {}}]
            await stream.aclose()


# ---------------------------------------------------------------- 5: no module-level state


def test_head_caches_belong_to_their_owner_and_are_bounded() -> None:
    heads = HeadCache(max_heads=4)
    headers = (("content-type", "text/event-stream"),)
    first = heads.response(200, headers)
    assert heads.response(200, headers) is first
    assert HeadCache().response(200, headers) is not first  # another owner, another cache
    for i in range(20):
        heads.response(200, (("x-n", str(i)),))
        heads.request("GET", f"/{i}", (("host", "x"),))
    assert len(heads) <= 8
    core = StreamableHTTPServer(lambda: "s")
    one, two = core.connection(), core.connection()
    assert one.heads is two.heads is core.heads
    assert StreamableHTTPServer(lambda: "s").heads is not core.heads


def test_the_codec_is_chosen_per_object() -> None:
    calls: list[str] = []

    def loads(data: bytes | bytearray | memoryview | str) -> Any:
        calls.append("loads")
        return _codec.STDLIB.loads(data)

    def dumps(obj: Any) -> bytes:
        calls.append("dumps")
        return _codec.STDLIB.dumps(obj)

    counting = _codec.Codec("counting", loads, dumps)
    core = StreamableHTTPServer(lambda: "s", codec=counting)
    assert post(core, b'{"jsonrpc":"2.0","id":1,"method":"ping"}').status == 400  # no session
    assert calls == ["loads", "dumps"]
    assert StreamableHTTPServer(lambda: "s").codec is _codec.DEFAULT
    conn = HTTPServerConnection(max_body=1, codec=counting)
    conn.receive_data(request_bytes([], b"xx"))
    assert isinstance(conn.next_request(), bytes) and calls[-1] == "dumps"
    assert _codec.codec_named("stdlib") is _codec.STDLIB
    with pytest.raises(ValueError, match="unknown JSON codec"):
        _codec.codec_named("yaml")


# ---------------------------------------------------------------- a body with line breaks


def test_a_body_with_line_breaks_reaches_the_session_on_one_line() -> None:
    core = StreamableHTTPServer(lambda: "s1")
    pretty = json.dumps(init_message("2025-11-25"), indent=2).encode()
    outcome = post(core, pretty)
    assert isinstance(outcome, OpenStream)
    assert b"\n" not in outcome.message
    assert json.loads(outcome.message) == init_message("2025-11-25")
    compact = b'{"jsonrpc":"2.0","method":"notifications/initialized"}'
    accepted = post(core, compact, {"mcp-session-id": "s1"})
    assert isinstance(accepted, Accept) and accepted.message == compact  # as it came


async def test_a_pretty_printed_request_over_http_gets_its_answer() -> None:
    with trio.fail_after(10):
        async with serving(json_response=True) as info:
            stream = await trio.open_tcp_stream("127.0.0.1", info.port)
            conn = h11.Connection(h11.CLIENT)
            body = json.dumps(init_message("2025-11-25"), indent=2).encode()
            await stream.send_all((conn.send(h11.Request(method="POST", target="/mcp", headers=[
                ("host", "127.0.0.1"), ("content-type", "application/json"), ("accept", BOTH),
                ("content-length", str(len(body)))])) or b"")
                + (conn.send(h11.Data(data=body)) or b"") + (conn.send(h11.EndOfMessage()) or b""))
            head, answer = await read_answer(stream, conn)
            assert head.status_code == 200
            assert json.loads(answer)["result"]["serverInfo"]["name"] == "defects"
            await stream.aclose()


# ---------------------------------------------------------------- the SSE decoder's scan

sse_bytes = st.lists(st.sampled_from([b"data: a", b"data:b", b"id: 1/2", b"retry: 5", b": c",
                                      b"\r", b"\n", b"\r\n", b"event: x", b"\xef\xbb\xbf",
                                      b"x" * 40]), max_size=30).map(b"".join)


@settings(max_examples=400, deadline=None)
@given(sse_bytes, st.lists(st.integers(min_value=0, max_value=60), max_size=10))
def test_sse_decoding_is_the_same_in_any_chunking(data: bytes, cuts: list[int]) -> None:
    """The decoder looks for line ends only in new bytes and once per kind: whatever the
    chunking (a CR LF split included), it decodes exactly what one feed does."""
    def decode(chunks: list[bytes]) -> tuple[list[Any], str | None, int | None]:
        decoder = SSEDecoder()
        events = [e for c in chunks for e in decoder.feed(c)]
        return events, decoder.last_event_id, decoder.retry

    points = sorted({min(c, len(data)) for c in cuts})
    chunks = [data[a:b] for a, b in zip([0, *points], [*points, len(data)], strict=True)]
    assert decode(chunks) == decode([data])


def test_an_sse_line_over_the_limit_is_refused_however_it_arrives() -> None:
    for chunks in ([b"data: " + b"x" * 200], [b"data: ", b"x" * 100, b"x" * 100]):
        decoder = SSEDecoder(max_line=100)
        with pytest.raises(SSEError, match="longer than 100 bytes"):
            for chunk in chunks:
                decoder.feed(chunk)


# ------------------------------------------------ the client: an SSE answer over its limit


async def test_an_sse_answer_over_the_clients_limit_fails_that_call_in_one_line() -> None:
    """A server whose SSE answer has a line longer than the client's decoder accepts: that
    call fails with a one-line JSON-RPC error; the session is not torn down by a ValueError."""
    from trio_adapter import Client, MCPError
    from trio_adapter.http import StreamableHTTPTransport

    async def scripted(stream: trio.SocketStream) -> None:
        conn = h11.Connection(h11.SERVER)
        while True:
            head: h11.Request | None = None
            body = b""
            while True:
                event = conn.next_event()
                if event is h11.NEED_DATA:
                    data = await stream.receive_some(65536)
                    if not data:
                        return
                    conn.receive_data(data)
                elif isinstance(event, h11.Request):
                    head = event
                elif isinstance(event, h11.Data):
                    body += event.data
                elif isinstance(event, h11.EndOfMessage):
                    break
                else:
                    return
            assert head is not None
            msg = json.loads(body) if body else {}
            sid = ("mcp-session-id", "s1")
            if head.method != b"POST":
                out = conn.send(h11.Response(status_code=405, headers=[("content-length", "0")]))
                out += conn.send(h11.EndOfMessage())
            elif msg.get("method") == "initialize":
                answer = json.dumps({"jsonrpc": "2.0", "id": msg["id"], "result": {
                    "protocolVersion": "2025-11-25", "capabilities": {"tools": {}},
                    "serverInfo": {"name": "big", "version": "1"}}}).encode()
                out = conn.send(h11.Response(status_code=200, headers=[
                    ("content-type", "application/json"), sid,
                    ("content-length", str(len(answer)))]))
                out += conn.send(h11.Data(data=answer)) + conn.send(h11.EndOfMessage())
            elif "id" not in msg:
                out = conn.send(h11.Response(status_code=202, headers=[("content-length", "0")]))
                out += conn.send(h11.EndOfMessage())
            else:  # an SSE answer whose one line never ends within the client's limit
                await stream.send_all(conn.send(h11.Response(status_code=200, headers=[
                    ("content-type", "text/event-stream"), sid])) or b"")
                piece = b"x" * (1 << 20)
                try:
                    await stream.send_all(conn.send(h11.Data(data=b"data: ")) or b"")
                    for _ in range(17):
                        await stream.send_all(conn.send(h11.Data(data=piece)) or b"")
                except trio.BrokenResourceError:
                    return  # the client gave the stream up: what the test wants
                await trio.sleep_forever()
            await stream.send_all(out or b"")
            if conn.our_state is h11.MUST_CLOSE:
                return
            conn.start_next_cycle()

    with trio.fail_after(20):
        async with trio.open_nursery() as nursery:
            listeners = await nursery.start(functools.partial(
                trio.serve_tcp, scripted, 0, host="127.0.0.1"))
            port = listeners[0].socket.getsockname()[1]
            transport = StreamableHTTPTransport(f"http://127.0.0.1:{port}/mcp")
            async with Client("c", "1").connect(transport) as session:
                with pytest.raises(MCPError) as info:
                    await session.call_tool("big", {})
                assert "\n" not in str(info.value)
                assert "SSE line longer than" in info.value.message
            nursery.cancel_scope.cancel()


# ---------------------------------------------------------------- nesting the engine refuses


def nested(depth: int) -> Any:
    """A value nesting ``depth`` arrays and objects."""
    value: Any = 1
    for i in range(depth):
        value = [value] if i % 2 else {"a": value}
    return value


@pytest.mark.parametrize("version", ["2025-03-26", "2025-11-25"])
def test_a_message_nesting_deeper_than_the_engine_reads_is_answered_400(version: str) -> None:
    """The engine refuses a frame nesting deeper than its max_depth without reading its id,
    so no stream could carry that refusal: the POST gets it."""
    from sansio import DEFAULT_MAX_DEPTH

    core, sid = session(version)
    for depth, refused in ((DEFAULT_MAX_DEPTH, False), (DEFAULT_MAX_DEPTH + 1, True)):
        # the message object itself is one level, its params one more
        body = json.dumps({"jsonrpc": "2.0", "id": depth, "method": "tools/call",
                           "params": {"name": "x", "arguments": nested(depth - 2)}}).encode()
        outcome = post(core, body, {"mcp-session-id": sid})
        if refused:
            assert isinstance(outcome, Reject) and outcome.status == 400
            answer = json.loads(outcome.body)
            assert answer["error"]["code"] == -32600 and "deeper" in answer["error"]["message"]
        else:
            assert isinstance(outcome, OpenStream)


async def test_a_too_deep_request_over_http_gets_its_answer() -> None:
    with trio.fail_after(10):
        async with serving(json_response=True) as info:
            stream = await trio.open_tcp_stream("127.0.0.1", info.port)
            conn = h11.Connection(h11.CLIENT)

            async def exchange(body: bytes, sid: str | None = None
                               ) -> tuple[h11.Response, bytes]:
                headers = [("host", "127.0.0.1"), ("content-type", "application/json"),
                           ("accept", BOTH), ("content-length", str(len(body)))]
                if sid:
                    headers.append(("mcp-session-id", sid))
                await stream.send_all((conn.send(h11.Request(
                    method="POST", target="/mcp", headers=headers)) or b"")
                    + (conn.send(h11.Data(data=body)) or b"")
                    + (conn.send(h11.EndOfMessage()) or b""))
                answer = await read_answer(stream, conn)
                conn.start_next_cycle()
                return answer

            head, _ = await exchange(json.dumps(init_message("2025-11-25")).encode())
            sid = dict(head.headers)[b"mcp-session-id"].decode()
            deep = json.dumps({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {
                "name": "echo", "arguments": {"text": nested(100)}}}).encode()
            head, body = await exchange(deep, sid)
            assert head.status_code == 400 and json.loads(body)["error"]["code"] == -32600
            head, body = await exchange(b'{"jsonrpc":"2.0","id":3,"method":"ping"}', sid)
            assert head.status_code == 200 and json.loads(body)["id"] == 3
            await stream.aclose()


async def test_serve_http_refuses_a_body_limit_over_the_engines_frame_limit() -> None:
    from sansio import DEFAULT_MAX_FRAME_SIZE

    with trio.fail_after(5), pytest.raises(ValueError, match="frame limit"):
        await serve_http(tiny_server(), "127.0.0.1", 0, max_body=DEFAULT_MAX_FRAME_SIZE + 1)


def test_a_431_for_a_request_without_a_body_waits_for_nothing_more() -> None:
    conn = HTTPServerConnection(max_header=1024)
    conn.receive_data(b"GET /mcp HTTP/1.1\r\nhost: x\r\nx-big: " + b"a" * 2000 + b"\r\n\r\n")
    answer = conn.next_request()
    assert isinstance(answer, bytes) and status_of(answer) == 431
    assert not conn.discarding and conn.closed  # close at once: nothing is still coming


def test_a_pipelined_head_over_the_limit_is_431_too() -> None:
    """The head limit is checked for every request of a connection, a head arriving with the
    request before it included."""
    small = request_bytes([], b"{}")
    big = request_bytes([("x-big", "a" * 3000)], b"{}")
    for chunks in ([small + big], [small, big], [small + big[:100], big[100:]]):
        conn = HTTPServerConnection(max_header=1024)
        got: list[Any] = []
        for chunk in chunks:
            conn.receive_data(chunk)
            while (item := conn.next_request()) is not None:
                got.append(item)
                if isinstance(item, bytes):
                    break
                conn.response(202, [])
                assert conn.next_cycle()
        assert isinstance(got[0], CompleteRequest)
        assert isinstance(got[1], bytes) and status_of(got[1]) == 431


# ---------------------------------------------------------------- with the real engine


class EngineSession:
    """The engine of one session, answering every request at once (as a server would)."""

    def __init__(self) -> None:
        from sansio import Connection, Role

        self.engine = Connection(Role.SERVER)

    def feed(self, message: bytes) -> list[bytes]:
        from sansio import NEED_DATA, LocalProtocolError, RemoteProtocolError
        from sansio.events import InitializeRequested, RequestReceived

        engine = self.engine
        engine.receive_data(message.rstrip(b"\n") + b"\n")
        out: list[bytes] = []
        while True:
            try:
                event = engine.next_event()
            except RemoteProtocolError as exc:
                if exc.response_hint is not None:
                    out.append(exc.response_hint)
                if exc.fatal:
                    break
                continue
            if event is NEED_DATA:
                break
            try:
                if isinstance(event, InitializeRequested):
                    engine.send_initialize_result(event.request_id,
                                                  {"name": "s", "version": "1"})
                elif isinstance(event, RequestReceived):
                    engine.send_response(event.request_id, {})
            except LocalProtocolError:
                pass
        data = engine.data_to_send()
        return out + data.splitlines()


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(["2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25"]),
       st.lists(st.one_of(
           st.builds(lambda m: json.dumps(m).encode(), st.fixed_dictionaries(
               {"jsonrpc": st.just("2.0"),
                "id": st.one_of(st.none(), st.booleans(), st.integers(-(2**70), 2**70),
                                st.floats(allow_nan=False, allow_infinity=False),
                                st.text(max_size=3), st.lists(st.integers(), max_size=2),
                                st.dictionaries(st.text(max_size=2), st.integers(),
                                                max_size=2)),
                "method": st.sampled_from(["ping", "tools/list", "x/y", "initialize"])},
               optional={"params": st.sampled_from([{}, {"a": 1}, [], 3, None])})),
           st.sampled_from([b'[{"jsonrpc":"2.0","id":5,"method":"ping"}]',
                            b'[{"jsonrpc":"2.0","id":5,"method":"ping"},'
                            b'{"jsonrpc":"2.0","method":"notifications/x"}]',
                            b'[{"jsonrpc":"2.0","id":5,"method":"ping"},'
                            b'{"jsonrpc":"2.0","id":6,"method":"nope"}]',
                            b'{"jsonrpc":"2.0","id":7,"method":"ping","params":5}',
                            b'{"jsonrpc":"2.0","id":8,"method":9}',
                            b'{"jsonrpc":"2.0","id":11}',
                            b'{"jsonrpc":"2.0","id":12,"method":null,"result":{}}',
                            b'{\n "jsonrpc": "2.0",\n "id": 9,\n "method": "ping"\n}',
                            json.dumps({"jsonrpc": "2.0", "id": 10, "method": "ping",
                                        "params": {"a": nested(70)}}).encode()])),
           min_size=1, max_size=5))
def test_with_the_real_engine_every_post_of_a_request_is_answered_once(
        version: str, bodies: list[bytes]) -> None:
    """The core and the real engine together: whatever is POSTed, a POST with a request gets
    exactly one final answer (a 400 from the core, or the end of its stream), and the session
    still answers a ping afterwards."""
    core = StreamableHTTPServer(lambda: "s1")
    engine = EngineSession()
    opened = post(core, json.dumps(init_message(version)).encode())
    assert isinstance(opened, OpenStream)
    for data in engine.feed(opened.message):
        core.route("s1", data)
    engine.feed(b'{"jsonrpc":"2.0","method":"notifications/initialized"}')
    headers = {"mcp-session-id": "s1", "mcp-protocol-version": version}
    for body in [*bodies, b'{"jsonrpc":"2.0","id":"last","method":"ping"}']:
        outcome = post(core, body, headers)
        if isinstance(outcome, Reject):
            assert outcome.status == 400
            continue
        assert isinstance(outcome, (OpenStream, Accept)), outcome
        events = [e for data in engine.feed(outcome.message) for e in core.route("s1", data)]
        if isinstance(outcome, Accept):
            assert events == []
        else:
            assert [e.final for e in events if e.stream_id == outcome.stream_id][-1:] == [True]
            assert sum(e.final for e in events) == 1
    assert body.endswith(b'"last","method":"ping"}') and events[-1].final


@pytest.mark.parametrize(("body", "waits"), [
    (b'{"jsonrpc":"2.0","id":11}', True),  # request-shaped: the engine answers -32600 to it
    (b'{"jsonrpc":"2.0","id":12,"method":null,"result":{}}', False),  # response-shaped
])
def test_the_core_waits_for_exactly_what_the_engine_answers(body: bytes, waits: bool) -> None:
    """The core and the engine classify a message by one rule (sansio.jsonrpc.classify): a POST
    waits for an answer exactly when the engine writes one, so none hangs and no answer is
    lost."""
    core = StreamableHTTPServer(lambda: "s1")
    engine = EngineSession()
    opened = post(core, json.dumps(init_message("2025-11-25")).encode())
    assert isinstance(opened, OpenStream)
    for data in engine.feed(opened.message):
        core.route("s1", data)
    engine.feed(b'{"jsonrpc":"2.0","method":"notifications/initialized"}')
    outcome = post(core, body, {"mcp-session-id": "s1", "mcp-protocol-version": "2025-11-25"})
    answers = engine.feed(outcome.message)
    events = [e for data in answers for e in core.route("s1", data)]
    if waits:
        assert isinstance(outcome, OpenStream)
        [answer] = answers
        assert json.loads(answer)["error"]["code"] == -32600
        assert [e.final for e in events] == [True] and events[0].stream_id == outcome.stream_id
    else:
        assert isinstance(outcome, Accept) and answers == [] and events == []


def test_a_chunked_body_over_the_limit_is_413_and_its_rest_is_read() -> None:
    client = h11.Connection(h11.CLIENT)
    head = client.send(h11.Request(method="POST", target="/mcp", headers=[
        ("host", "x"), ("transfer-encoding", "chunked")])) or b""
    pieces = [client.send(h11.Data(data=b"x" * 60)) or b"" for _ in range(4)]
    end = client.send(h11.EndOfMessage()) or b""
    conn = HTTPServerConnection(max_body=100)
    conn.receive_data(head + pieces[0] + pieces[1])
    answer = conn.next_request()
    assert isinstance(answer, bytes) and status_of(answer) == 413 and conn.discarding
    for piece in (pieces[2], pieces[3], end):
        assert conn.discarding
        conn.receive_data(piece)
        assert conn.next_request() is None
    assert not conn.discarding and conn.closed


def test_the_process_default_is_still_the_environment_choice() -> None:
    import os
    import subprocess
    import sys

    script = ("import sys; from sansio import _codec; from sansio.http import "
              "StreamableHTTPServer; print(_codec.DEFAULT.name, _codec.ORJSON is None, "
              "'orjson' in sys.modules, StreamableHTTPServer(str).codec is _codec.DEFAULT)")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          env={**os.environ, "TRIO_MCP_JSON": "stdlib"}, timeout=60,
                          check=True)
    assert done.stdout.split() == ["stdlib", "True", "False", "True"]
