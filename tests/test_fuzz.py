"""Fuzz properties of the engine: whatever arrives, it yields events or raises
RemoteProtocolError, and never anything else, and never hangs.

Every test feeds either role in each lifecycle stage (fresh, mid-handshake, operating) and:

* arbitrary bytes, invalid frames and valid frames mixed, whole, byte by byte, in random chunks,
  and followed by trailing valid data, then end of input;
* arbitrary JSON values (and invalid JSON-RPC messages) through ``receive_message``;
* valid frames with bytes flipped, inserted or deleted, and valid envelopes with a member
  replaced by a value of a wrong type.

Whenever a RemoteProtocolError carries a ``response_hint``, the hint is one line holding one
valid JSON-RPC error response (an array of them only for a batch in 2025-03-26). The hints with
``"id": null`` are checked by hand: no revision's schema can express them (see
tests/test_properties.py).

The stateless era (2026-07-28) is fuzzed the same way: a server (and a client) already in the
stateless era is one more stage (``"stateless"``), a fresh server is dual-era (its first
message decides the era), and the valid frames mixed in include modern requests with random
per-request ``_meta``, misbehaving modern requests and the revision's notifications. Hints of a
stateless-era engine omit the id of an unreadable frame and validate against the 2026-07-28
schema; ``-32022`` hints carry ``{"supported", "requested"}``. ``tests/test_modern_frames.py``
holds the hand-written modern fuzz cases.

``tests/fuzz_engine.py`` is the long-running harness (atheris when installed).
"""

from __future__ import annotations

from typing import Any, Literal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sansio import (
    HANDSHAKE_VERSIONS,
    NEED_DATA,
    Closed,
    Connection,
    Event,
    PeerDisconnected,
    RemoteProtocolError,
    Role,
    State,
    _codec,
)
from sansio import events as events_module
from sansio.jsonrpc import ErrorResponse, decode_message
from sansio.testing import ConnectionPair
from sansio.testing import strategies as mcps
from sansio.versions import BATCH_VERSIONS, STATELESS_VERSIONS, SUPPORTED_VERSIONS, Era
from tests.conftest import schemas_available
from tests.helpers import FULL_CLIENT_CAPS, FULL_SERVER_CAPS
from tests.test_properties import assert_frame_valid, assert_valid

pytestmark = pytest.mark.slow

Stage = Literal["fresh", "handshake", "initialized", "operating", "stateless"]
STAGES: tuple[Stage, ...] = ("fresh", "handshake", "initialized", "operating", "stateless")
MODERN = STATELESS_VERSIONS[-1]
MAX_STEPS = 10_000  # next_event calls allowed per input before we call it a hang

FUZZ = settings(max_examples=80, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                       HealthCheck.filter_too_much])


def engine(role: Role, stage: Stage, version: str, **kwargs: Any) -> Connection:
    """An engine of ``role`` brought to ``stage`` by a real peer.

    ``handshake``: initialize sent (client) or received (server) but not answered;
    ``initialized``: initialize answered, ``notifications/initialized`` not yet sent/received;
    ``operating``: handshake complete, with every capability advertised on both sides;
    ``stateless``: in the stateless era (the client started with ``start_stateless``, the server
    after one modern request).
    """
    pair = ConnectionPair() if stage != "stateless" else ConnectionPair(
        client_versions=SUPPORTED_VERSIONS, server_versions=SUPPORTED_VERSIONS)
    if role is Role.SERVER and stage == "stateless":
        kwargs.setdefault("server_capabilities", FULL_SERVER_CAPS)
        kwargs.setdefault("server_info", {"name": "s", "version": "1"})
    conn = Connection(role, **kwargs)
    if role is Role.CLIENT:
        pair.client = conn
    else:
        pair.server = conn
    if stage == "fresh":
        return conn
    if stage == "stateless":
        pair.client.start_stateless(client_capabilities=FULL_CLIENT_CAPS, log_level="debug")
        if role is Role.SERVER:
            pair.client.send_request("tools/list", progress_token="p")
            pair.deliver(pair.client)
        assert conn.state is State.STATELESS
        return conn
    client, server = pair.client, pair.server
    rid = client.send_initialize({"name": "c", "version": "1"}, FULL_CLIENT_CAPS,
                                 protocol_version=version)
    pair.deliver(client)
    if stage == "handshake":
        return conn
    server.send_initialize_result(rid, {"name": "s", "version": "1"}, FULL_SERVER_CAPS)
    pair.deliver(server)
    if stage == "initialized":
        return conn
    client.send_initialized()
    pair.deliver(client)
    assert conn.state is State.OPERATING
    return conn


def check_hint(conn: Connection, exc: RemoteProtocolError) -> None:
    """A response hint is one line with one valid JSON-RPC error response (or a batch of them)."""
    hint = exc.response_hint
    if hint is None:
        return
    assert isinstance(hint, bytes)
    assert hint.endswith(b"\n") and hint.count(b"\n") == 1, hint
    decoded = _codec.loads(hint)
    if isinstance(decoded, list):
        assert conn.protocol_version in BATCH_VERSIONS, decoded
        assert decoded
        items = decoded
    else:
        items = [decoded]
    modern = conn.era is Era.STATELESS
    for item in items:
        assert isinstance(item, dict) and set(item) <= {"jsonrpc", "id", "error"}, item
        assert item["jsonrpc"] == "2.0"
        assert isinstance(decode_message(item), ErrorResponse)
        error = item["error"]
        assert isinstance(error["code"], int) and not isinstance(error["code"], bool)
        assert isinstance(error["message"], str)
        version = conn.protocol_version or (MODERN if modern else None)
        if error["code"] == -32022 and conn.role is Role.SERVER:
            assert set(error["data"]) == {"supported", "requested"}, error
            assert error["data"]["supported"] == sorted(conn.supported_versions, reverse=True)
        if item.get("id") is not None and schemas_available():
            # an answer with an id: valid in the stateless revision too (a modern request
            # refused by a fresh dual-era server is answered this way)
            assert_valid(MODERN, "JSONRPCMessage", item)
        if "id" in item and item["id"] is None:
            # JSON-RPC's null id: only before 2025-11-25 (which omits the id instead). No
            # revision's schema can express it, so it is checked by hand only.
            assert version is None or version < "2025-11-25"
            assert not modern
        elif "id" not in item:
            assert version is not None and version >= "2025-11-25"
        if ((version is not None and item.get("id") is not None) or "id" not in item) \
                and schemas_available():
            assert_valid(version or HANDSHAKE_VERSIONS[-1], "JSONRPCMessage", item)


def drain(conn: Connection) -> list[Event]:
    """Pull events until NEED_DATA, the end, or a fatal error; only RemoteProtocolError may be
    raised, and never more than MAX_STEPS times in a row without progress."""
    events: list[Event] = []
    for _ in range(MAX_STEPS):
        try:
            event = conn.next_event()
        except RemoteProtocolError as exc:
            check_hint(conn, exc)
            if exc.fatal:
                assert conn.state is State.ERROR
                return events
            assert conn.state is not State.ERROR
            continue
        if event is NEED_DATA:
            return events
        assert isinstance(event, Event), event
        events.append(event)
        if isinstance(event, (PeerDisconnected, Closed)):
            return events
    raise AssertionError(f"next_event did not settle after {MAX_STEPS} calls (a hang)")


def feed(conn: Connection, chunks: list[bytes], *, eof: bool = True) -> list[Event]:
    """Feed ``chunks`` (draining after each), then end of input; check the ending."""
    events: list[Event] = []
    for chunk in chunks:
        if conn.state is State.ERROR:
            break
        conn.receive_data(chunk)
        events += drain(conn)
    if eof:
        conn.receive_data(b"")
        events += drain(conn)
        if conn.state is not State.ERROR:
            assert isinstance(events[-1], PeerDisconnected), events[-1:]
            assert conn.state is State.CLOSED
    return events


def split(data: bytes, how: str, draw: st.DataObject) -> list[bytes]:
    if how == "whole":
        return [data]
    if how == "bytes":
        return [data[i : i + 1] for i in range(len(data))]
    return draw.draw(mcps.ndjson_chunks(data))


roles = st.sampled_from(list(Role))
stages = st.sampled_from(STAGES)
versions = st.sampled_from(HANDSHAKE_VERSIONS)
hows = st.sampled_from(["whole", "bytes", "chunks"])


def modern_frames() -> st.SearchStrategy[bytes]:
    """Stateless-era frames: well-behaved and misbehaving requests, notifications both ways,
    and results (complete, input_required, with a bad resultType)."""
    method = st.sampled_from(mcps.mcp_methods(MODERN, "client", "request"))
    results = method.flatmap(lambda m: st.one_of(
        mcps.mcp_results(m, MODERN, input_required=True), mcps.invalid_modern_results(m)))
    return st.one_of(
        mcps.ndjson(mcps.mcp_requests(MODERN, "client")),
        mcps.ndjson(mcps.invalid_modern_requests().map(lambda case: case[0])),
        mcps.ndjson(mcps.mcp_notifications(MODERN, "client")),
        mcps.ndjson(mcps.mcp_notifications(MODERN, "server")),
        mcps.ndjson(mcps.jsonrpc_responses(results=results)),
    )


def valid_frames(version: str) -> st.SearchStrategy[bytes]:
    direction: Any = "client"
    other: Any = "server"
    return st.one_of(
        mcps.ndjson(mcps.mcp_requests(version, direction)),
        mcps.ndjson(mcps.mcp_requests(version, other)),
        mcps.ndjson(mcps.mcp_notifications(version, direction)),
        mcps.ndjson(mcps.mcp_notifications(version, other)),
        mcps.ndjson(mcps.jsonrpc_messages()),
        modern_frames(),
    )


def streams(version: str) -> st.SearchStrategy[bytes]:
    """Byte streams: random bytes, invalid frames and valid frames, mixed."""
    piece = st.one_of(st.binary(max_size=64), mcps.invalid_frames(), valid_frames(version),
                      st.sampled_from([b"\n", b"\r\n", b" \n", b"\xff\n"]))
    return st.lists(piece, max_size=6).map(b"".join)


TRAILER = mcps.encode_frame({"jsonrpc": "2.0", "id": "trailer", "method": "ping"})


@FUZZ
@given(role=roles, stage=stages, version=versions, how=hows, trailing=st.booleans(),
       data=st.data())
def test_any_bytes(role: Role, stage: Stage, version: str, how: str, trailing: bool,
                   data: st.DataObject) -> None:
    """Random byte streams yield events or RemoteProtocolError, whole, byte by byte or chunked,
    with trailing data after them, and end in PeerDisconnected or ERROR."""
    conn = engine(role, stage, version)
    stream = data.draw(streams(version))
    if trailing:
        stream += b"\n" + TRAILER + b"trailing junk"
    feed(conn, split(stream, how, data))


@FUZZ
@given(role=roles, stage=stages, version=versions, data=st.data())
def test_arbitrary_messages(role: Role, stage: Stage, version: str, data: st.DataObject) -> None:
    """receive_message with any JSON value (decoded, as str, or as bytes) never raises anything
    but RemoteProtocolError."""
    conn = engine(role, stage, version)
    values = st.one_of(mcps.json_values(max_depth=5), mcps.invalid_messages(),
                       mcps.jsonrpc_messages(), st.lists(mcps.jsonrpc_messages(), max_size=3))
    for value in data.draw(st.lists(values, min_size=1, max_size=4)):
        form = data.draw(st.sampled_from(["value", "str", "bytes"]))
        if conn.state is State.ERROR:
            break
        message = value
        if form != "value":
            text = _codec.dumps(value)
            message = text if form == "bytes" else text.decode("utf-8")
        conn.receive_message(message)
        drain(conn)
    conn.connection_lost("done")
    drain(conn)


def mutate(frame: bytes, ops: list[tuple[str, int, int]]) -> bytes:
    data = bytearray(frame.rstrip(b"\n"))
    for op, pos, byte in ops:
        if not data:
            break
        i = pos % len(data)
        if op == "flip":
            data[i] ^= 1 << (byte % 8)
        elif op == "set":
            data[i] = byte
        elif op == "insert":
            data.insert(i, byte)
        else:
            del data[i]
    return bytes(data).replace(b"\n", b" ") + b"\n"


@FUZZ
@given(role=roles, stage=stages, version=versions, data=st.data())
def test_mutated_frames(role: Role, stage: Stage, version: str, data: st.DataObject) -> None:
    """Valid frames with bytes flipped, overwritten, inserted or deleted."""
    conn = engine(role, stage, version)
    ops = st.lists(st.tuples(st.sampled_from(["flip", "set", "insert", "delete"]),
                             st.integers(0, 10_000), st.integers(0, 255)),
                   min_size=1, max_size=4)
    frames = data.draw(st.lists(st.tuples(valid_frames(version), ops), min_size=1, max_size=3))
    stream = b"".join(mutate(frame, o) for frame, o in frames)
    feed(conn, split(stream, data.draw(hows), data))


def replace_member(message: dict[str, Any], path: list[str], value: Any) -> dict[str, Any]:
    out = dict(message)
    node = out
    for key in path[:-1]:
        child = node.get(key)
        if not isinstance(child, dict):
            return out
        node[key] = child = dict(child)
        node = child
    node[path[-1]] = value
    return out


@FUZZ
@given(role=roles, stage=stages, version=versions, data=st.data())
def test_wrong_types_in_valid_envelopes(role: Role, stage: Stage, version: str,
                                        data: st.DataObject) -> None:
    """A valid MCP message with one member (envelope or params) replaced by any JSON value."""
    conn = engine(role, stage, version)
    message = data.draw(st.one_of(valid_frames(version).map(_codec.loads)))
    keys = list(message)
    params = message.get("params") or message.get("result") or {}
    paths = [[k] for k in keys] + [[k] for k in ("id", "method", "params", "result", "error")]
    if isinstance(params, dict):
        outer = "params" if "params" in message else "result"
        paths += [[outer, k] for k in params] + [[outer, "_meta"], [outer, "_meta",
                                                                  "progressToken"]]
    path = data.draw(st.sampled_from(paths))
    bad = replace_member(message, path, data.draw(mcps.json_values(max_depth=3)))
    if data.draw(st.booleans()):
        conn.receive_message(bad)
        drain(conn)
        conn.connection_lost(None)
        drain(conn)
    else:
        feed(conn, [mcps.encode_frame(bad)])


@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize("how", ["line", "message", "value"])
def test_deep_nesting(role: Role, how: str) -> None:
    """Nesting far past max_depth (and past the stdlib parser's recursion limit) is a
    RemoteProtocolError, not a RecursionError."""
    conn = engine(role, "operating", HANDSHAKE_VERSIONS[-1])
    for depth in (65, 1_000, 100_000):
        text = b"[" * depth + b"]" * depth
        if how == "line":
            conn.receive_data(text + b"\n")
        elif how == "message":
            conn.receive_message(text)
        else:
            conn.receive_message(mcps.deeply_nested(depth))
        with pytest.raises(RemoteProtocolError) as info:
            conn.next_event()
        check_hint(conn, info.value)
    assert conn.state is State.OPERATING


@FUZZ
@given(role=roles, frame=mcps.oversized_frames(1024), data=st.data())
def test_oversized_frames(role: Role, frame: bytes, data: st.DataObject) -> None:
    """A line longer than max_frame_size is fatal on a stream, recoverable as a message."""
    conn = engine(role, "operating", HANDSHAKE_VERSIONS[-1], max_frame_size=1024)
    for chunk in data.draw(mcps.ndjson_chunks(frame)):
        conn.receive_data(chunk)
        drain(conn)
    assert conn.state is State.ERROR
    conn = engine(role, "operating", HANDSHAKE_VERSIONS[-1], max_frame_size=1024)
    conn.receive_message(frame)
    with pytest.raises(RemoteProtocolError) as info:
        conn.next_event()
    assert not info.value.fatal
    check_hint(conn, info.value)


@FUZZ
@given(version=versions, data=st.data())
def test_batches(version: str, data: st.DataObject) -> None:
    """Batches are accepted by an operating server in 2025-03-26 only; refused elsewhere with
    one error response."""
    conn = engine(Role.SERVER, "operating", version)
    batch = data.draw(mcps.batches("2025-03-26", "client"))
    conn.receive_data(mcps.encode_frame(batch))
    if version in BATCH_VERSIONS:
        drain(conn)
    else:
        with pytest.raises(RemoteProtocolError) as info:
            conn.next_event()
        check_hint(conn, info.value)
        assert info.value.response_hint is not None
    assert conn.state is State.OPERATING


# ---------------------------------------------------------------------------- regressions


@pytest.mark.parametrize("line", [
    b'{"id":"\\ud800"}\n',
    b'{"jsonrpc":"2.0","id":"\\udc00","method":5}\n',
    b'{"jsonrpc":"2.0","id":"\\ud800","method":"ping","params":[]}\n',
])
@pytest.mark.parametrize("role", list(Role))
def test_lone_surrogate_id_is_answered(role: Role, line: bytes) -> None:
    """A request whose string id is a lone surrogate escape is refused with a
    RemoteProtocolError (orjson: a parse error; stdlib: whatever it is, not EncodeError)."""
    conn = engine(role, "operating", HANDSHAKE_VERSIONS[-1])
    conn.receive_data(line)
    with pytest.raises(RemoteProtocolError) as info:
        conn.next_event()
    check_hint(conn, info.value)


# ---------------------------------------------------------------------------- the stateless era

MODERN_TRAILER = mcps.encode_frame({
    "jsonrpc": "2.0", "id": "trailer", "method": "tools/list",
    "params": {"_meta": {"io.modelcontextprotocol/protocolVersion": MODERN,
                         "io.modelcontextprotocol/clientCapabilities": {}}}})
DOCUMENTED_EVENTS = tuple(getattr(events_module, name) for name in events_module.__all__
                          if isinstance(getattr(events_module, name), type)
                          and issubclass(getattr(events_module, name), Event))


def modern_streams() -> st.SearchStrategy[bytes]:
    """Byte streams of stateless-era traffic mixed with junk."""
    piece = st.one_of(modern_frames(), modern_frames(), st.binary(max_size=48),
                      mcps.invalid_frames(include_batches=False),
                      st.sampled_from([b"\n", b"\r\n", b"\xff\n"]))
    return st.lists(piece, max_size=6).map(b"".join)


@FUZZ
@given(stage=st.sampled_from(["fresh", "stateless"]), how=hows, trailing=st.booleans(),
       data=st.data())
def test_modern_streams_to_a_server(stage: Stage, how: str, trailing: bool,
                                    data: st.DataObject) -> None:
    """Modern traffic (valid, misbehaving, junk between) fed to a dual-era server before its
    first message, and to one in the stateless era, whole, byte by byte or chunked, with
    trailing data: only documented events or RemoteProtocolError come out, every hint is a
    valid error response of its revision (check_hint), and an engine in the stateless era
    stays in it and still reads a valid request after the junk."""
    conn = engine(Role.SERVER, stage, MODERN)
    stream = data.draw(modern_streams())
    if trailing:
        stream += b"\n" + MODERN_TRAILER + b"trailing junk"
    events = feed(conn, [c for c in split(stream, how, data) if c], eof=False)  # b"": the end
    assert all(isinstance(e, DOCUMENTED_EVENTS) for e in events), events
    if stage == "stateless":
        assert conn.state is State.STATELESS
        if trailing:
            last = [e for e in events if getattr(e, "request_id", None) == "trailer"]
            assert last and last[-1].method == "tools/list", events[-3:]
    conn.receive_data(b"")
    drain(conn)
    assert conn.state in (State.CLOSED, State.ERROR)


@FUZZ
@given(stage=st.sampled_from(["fresh", "stateless"]), data=st.data())
def test_modern_messages_to_a_server(stage: Stage, data: st.DataObject) -> None:
    """receive_message with modern frames (and invalid values) in either form: only
    RemoteProtocolError; a well-behaved modern request reaches the handler or is refused with
    its id; a stateless-era server stays stateless."""
    conn = engine(Role.SERVER, stage, MODERN)
    values = st.one_of(modern_frames().map(_codec.loads), mcps.invalid_messages(),
                       mcps.json_values(max_depth=4))
    for value in data.draw(st.lists(values, min_size=1, max_size=4)):
        form = data.draw(st.sampled_from(["value", "str", "bytes"]))
        text = _codec.dumps(value)
        conn.receive_message(value if form == "value" else
                             text if form == "bytes" else text.decode("utf-8"))
        events = drain(conn)
        assert all(isinstance(e, DOCUMENTED_EVENTS) for e in events), events
        if stage == "stateless":
            assert conn.state is State.STATELESS


@FUZZ
@given(frame=mcps.mcp_requests(MODERN, "client"), how=hows, data=st.data())
def test_every_modern_request_is_answered_once(frame: dict[str, Any], how: str,
                                               data: st.DataObject) -> None:
    """A well-behaved modern request, fed in pieces to a dual-era server, comes out as one
    RequestReceived (then its answer is a schema-valid 2026-07-28 response) or one refusal
    with its id (listen aside, which the server may also just accept)."""
    conn = engine(Role.SERVER, "fresh", MODERN, server_capabilities=FULL_SERVER_CAPS,
                  server_info={"name": "s", "version": "1"})
    refusals: list[RemoteProtocolError] = []
    received: list[Event] = []
    for chunk in split(mcps.encode_frame(frame), how, data):
        conn.receive_data(chunk)  # never b"": a frame is at least one byte
        while True:
            try:
                event = conn.next_event()
            except RemoteProtocolError as exc:
                check_hint(conn, exc)
                refusals.append(exc)
                continue
            if event is NEED_DATA:
                break
            received.append(event)
    assert len(refusals) + len(received) == 1, (refusals, received)
    assert conn.state is State.STATELESS
    if refusals:
        assert refusals[0].request_id == frame["id"]
        return
    [event] = received
    assert getattr(event, "request_id", None) == frame["id"]
    if frame["method"] in ("server/discover", "subscriptions/listen"):
        return
    result = data.draw(mcps.mcp_results(frame["method"], MODERN))
    conn.send_response(frame["id"], result)
    [answer] = [_codec.loads(f.data) for f in conn.frames_to_send()]
    assert answer["id"] == frame["id"] and answer["result"]["resultType"] == "complete"
    if schemas_available():
        assert_frame_valid(MODERN, Role.SERVER, answer, frame["method"])
