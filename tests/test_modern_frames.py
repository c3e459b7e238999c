"""Outbound frames as objects (both eras), every frame of a modern conversation valid against
the 2026-07-28 schema, and the fuzz invariant (any bytes in: only events or RemoteProtocolError
out, never a hang) for a server and a client engine that went modern."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sansio import (
    NEED_DATA,
    Closed,
    Connection,
    ErrorCode,
    Event,
    Frame,
    FrameKind,
    LocalProtocolError,
    PeerDisconnected,
    RemoteProtocolError,
    Role,
    State,
    _codec,
)
from sansio.testing import ConnectionPair, drain_events
from sansio.testing import strategies as mcps
from sansio.versions import META_CLIENT_CAPABILITIES, META_LOG_LEVEL, META_PROTOCOL_VERSION
from tests.conftest import schemas_available
from tests.helpers import FULL_SERVER_CAPS, frame, operating_pair
from tests.test_properties import assert_frame_valid, assert_valid

V = "2026-07-28"

# ------------------------------------------------------------------ frames say what they are


def test_handshake_era_frames_carry_their_fields() -> None:
    pair = operating_pair()
    c, s = pair.client, pair.server
    rid = c.send_request("tools/call", {"name": "t"}, progress_token="p")
    [req] = c.frames_to_send()
    assert req == Frame(FrameKind.REQUEST, req.data, rid, None, "tools/call", "2025-11-25",
                        params={"name": "t", "_meta": {"progressToken": "p"}})
    assert json.loads(req.data)["params"] == req.params  # the very params it encoded
    s.receive_data(req.data)
    drain_events(s)
    s.send_notification("notifications/progress", {"progressToken": "p", "progress": 1})
    s.send_notification("notifications/message", {"level": "info", "data": 1},
                        related_request_id=rid)
    s.send_error(rid, -32000, "nope")
    progress, log, error = s.frames_to_send()
    assert (progress.kind, progress.related_request_id) == (FrameKind.NOTIFICATION, rid)
    assert progress.params == {"progressToken": "p", "progress": 1}
    assert error.params is None  # responses and errors carry none
    assert (log.kind, log.related_request_id, log.method) == (
        FrameKind.NOTIFICATION, rid, "notifications/message")
    assert (error.kind, error.request_id, error.method, error.answers) == (
        FrameKind.ERROR, rid, "tools/call", (rid,))
    assert req.answers == () and progress.answers == ()


def test_one_queue_one_drain() -> None:
    """data_to_send() is the bytes of the frames frames_to_send() would have returned; either
    empties the queue."""
    one, two = operating_pair(), operating_pair()
    for pair in (one, two):
        pair.client.send_request("ping")
        pair.client.send_notification("notifications/roots/list_changed")
    frames = one.client.frames_to_send()
    assert [f.kind for f in frames] == [FrameKind.REQUEST, FrameKind.NOTIFICATION]
    assert one.client.data_to_send() == b""
    assert two.client.data_to_send() == b"".join(f.data for f in frames)
    assert two.client.frames_to_send() == []


def test_a_batch_answer_names_every_id() -> None:
    pair = operating_pair("2025-03-26")
    s = pair.server
    s.receive_data(frame([{"jsonrpc": "2.0", "id": "a", "method": "ping"},
                          {"jsonrpc": "2.0", "id": "b", "method": "ping"}]))
    drain_events(s)
    s.send_response("a", {})
    assert s.frames_to_send() == []
    s.send_response("b", {})
    [batch] = s.frames_to_send()
    assert batch.kind is FrameKind.BATCH and batch.answers == ("a", "b")
    assert [m["id"] for m in _codec.loads(batch.data)] == ["a", "b"]


def test_the_initialize_result_frame_names_the_negotiated_version() -> None:
    conn = Connection(Role.SERVER)
    conn.receive_message({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
        "protocolVersion": "2099-01-01", "capabilities": {},
        "clientInfo": {"name": "c", "version": "1"}}})
    drain_events(conn)
    conn.send_initialize_result(0, {"name": "s", "version": "1"})
    [f] = conn.frames_to_send()
    assert f.kind is FrameKind.RESPONSE and f.protocol_version == "2025-11-25"
    assert f.method == "initialize" and f.answers == (0,)


# ------------------------------------------------------------------ the 2026-07-28 schema

RESULTS = {"server/discover": "DiscoverResult", "tools/call": "CallToolResult",
           "tools/list": "ListToolsResult", "resources/read": "ReadResourceResult",
           "prompts/get": "GetPromptResult"}


class Recorder:
    """Collects every frame a stateless pair's engines wrote, and every response hint."""

    def __init__(self, pair: ConnectionPair) -> None:
        self.pair = pair
        self.frames: list[tuple[Role, Any, str | None]] = []
        self.methods: dict[Any, str] = {}

    def flush(self, sender: Connection) -> list[Event]:
        receiver = self.pair.peer_of(sender)
        for f in sender.frames_to_send():
            msg = _codec.loads(f.data)
            if f.kind is FrameKind.REQUEST:
                self.methods[f.request_id] = f.method or ""
            self.frames.append((sender.role, msg, f.method))
            receiver.receive_data(f.data)
        events: list[Event] = []
        while True:
            try:
                event = receiver.next_event()
            except RemoteProtocolError as exc:
                if exc.response_hint is not None:
                    self.frames.append((receiver.role, _codec.loads(exc.response_hint), None))
                    sender.receive_data(exc.response_hint)
                    events += drain_events(sender)
                continue
            if event is NEED_DATA:
                return events
            events.append(event)

    def check(self) -> None:
        for role, msg, method in self.frames:
            assert_frame_valid(V, role, msg, None)
            if "result" in msg and msg["result"].get("resultType") == "input_required":
                assert_valid(V, "InputRequiredResult", msg["result"])
            elif "result" in msg and method in RESULTS:
                assert_valid(V, RESULTS[method], msg["result"])


def modern_conversation() -> Recorder:
    pair = ConnectionPair.stateless(
        server_capabilities=FULL_SERVER_CAPS, log_level="info",
        client_capabilities={"roots": {}, "elicitation": {}})
    rec = Recorder(pair)
    c, s = pair.client, pair.server
    c.send_request("server/discover")
    [discover] = rec.flush(c)
    s.send_discover_result(discover.request_id, instructions="hi",  # type: ignore[attr-defined]
                           ttl_ms=1000, cache_scope="public")
    rec.flush(s)
    c.send_request("tools/list", {})
    [tl] = rec.flush(c)
    s.send_response(tl.request_id, {"tools": [{"name": "echo", "inputSchema": {  # type: ignore[attr-defined]
        "type": "object"}}]})
    rec.flush(s)
    rid = c.send_request("tools/call", {"name": "echo", "arguments": {"text": "hi"}},
                         progress_token="p1")
    rec.flush(c)
    s.send_notification("notifications/progress", {"progressToken": "p1", "progress": 1,
                                                   "total": 2})
    s.send_notification("notifications/message", {"level": "warning", "data": {"x": 1}},
                        related_request_id=rid)
    s.send_response(rid, {"content": [{"type": "text", "text": "hi"}], "isError": False})
    rec.flush(s)
    # An input-required round: the client may do elicitation, not sampling.
    rid = c.send_request("tools/call", {"name": "ask"})
    rec.flush(c)
    s.send_response(rid, {"resultType": "input_required", "inputRequests": {"who": {
        "method": "elicitation/create", "params": {"mode": "form", "message": "name?",
                                                   "requestedSchema": {
                                                       "type": "object", "properties": {}}}}},
        "requestState": "opaque"})
    rec.flush(s)
    rid = c.send_request("tools/call", {"name": "llm"})
    rec.flush(c)
    with pytest.raises(LocalProtocolError) as info:
        s.send_response(rid, {"resultType": "input_required", "inputRequests": {"q": {
            "method": "sampling/createMessage", "params": {"messages": [], "maxTokens": 1}}}})
    s.send_error(rid, info.value.code, info.value.message, info.value.data)
    rec.flush(s)
    c.send_request("resources/read", {"uri": "demo://a"})
    [rr] = rec.flush(c)
    s.send_response(rr.request_id, {"contents": [{"uri": "demo://a", "text": "A"}]})  # type: ignore[attr-defined]
    rec.flush(s)
    c.send_request("prompts/get", {"name": "greet"})
    [pg] = rec.flush(c)
    s.send_response(pg.request_id, {"messages": [{"role": "user", "content": {  # type: ignore[attr-defined]
        "type": "text", "text": "hello"}}]})
    rec.flush(s)
    rid = c.send_request("tools/call", {"name": "slow"})
    rec.flush(c)
    c.cancel(rid, "enough")
    rec.flush(c)
    # What the server refuses: an unsupported version, missing _meta, a removed method,
    # a parse error.
    c.send_request("tools/list", {"_meta": {META_PROTOCOL_VERSION: "2030-01-01"}})
    rec.flush(c)
    c.receive_data(b"")
    s.receive_data(frame({"jsonrpc": "2.0", "id": 90, "method": "tools/list"}))
    s.receive_data(frame({"jsonrpc": "2.0", "id": 91, "method": "ping", "params": {"_meta": {
        META_PROTOCOL_VERSION: V, META_CLIENT_CAPABILITIES: {}}}}))
    s.receive_data(b"{nope\n")
    while True:
        try:
            event = s.next_event()
        except RemoteProtocolError as exc:
            assert exc.response_hint is not None
            rec.frames.append((Role.SERVER, _codec.loads(exc.response_hint), None))
            continue
        if event is NEED_DATA:
            break
    return rec


def test_every_modern_frame_is_valid_2026_07_28() -> None:
    """A modern conversation's frames and error codes; each frame is validated against the
    2026-07-28 schema when the schemas are available (tests/conftest.py)."""
    rec = modern_conversation()
    codes = [m["error"]["code"] for _, m, _ in rec.frames if "error" in m]
    assert codes == [-32021, -32022, -32602, -32601, -32700]
    assert len(rec.frames) > 20
    if schemas_available():
        rec.check()


# ------------------------------------------------------------------ fuzz: a modern server

MAX_STEPS = 10_000
FUZZ = settings(max_examples=80, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                       HealthCheck.filter_too_much])


def modern_server() -> Connection:
    conn = Connection(Role.SERVER, server_info={"name": "s", "version": "1"},
                      server_capabilities=FULL_SERVER_CAPS)
    conn.receive_data(frame({"jsonrpc": "2.0", "id": "first", "method": "tools/list",
                             "params": {"_meta": {META_PROTOCOL_VERSION: V,
                                                  META_CLIENT_CAPABILITIES: {},
                                                  META_LOG_LEVEL: "debug"}}}))
    drain_events(conn)
    assert conn.state is State.STATELESS
    return conn


def check_hint(exc: RemoteProtocolError) -> None:
    if exc.response_hint is None:
        return
    assert exc.response_hint.endswith(b"\n") and exc.response_hint.count(b"\n") == 1
    msg = _codec.loads(exc.response_hint)
    assert isinstance(msg, dict) and msg.get("id", 0) is not None  # never a null id here
    if schemas_available():
        assert_valid(V, "JSONRPCMessage", msg)


def settle(conn: Connection) -> list[Event]:
    events: list[Event] = []
    for _ in range(MAX_STEPS):
        try:
            event = conn.next_event()
        except RemoteProtocolError as exc:
            check_hint(exc)
            if exc.fatal:
                assert conn.state is State.ERROR
                return events
            continue
        if event is NEED_DATA:
            return events
        assert isinstance(event, Event)
        events.append(event)
        if isinstance(event, (PeerDisconnected, Closed)):
            return events
    raise AssertionError("next_event did not settle (a hang)")


def modern_requests() -> st.SearchStrategy[bytes]:
    """Requests with modern _meta (valid, missing, ill-typed, other versions) for any method."""
    metas = st.one_of(
        st.fixed_dictionaries({META_PROTOCOL_VERSION: st.sampled_from(
            [V, "2025-11-25", "1900-01-01"]), META_CLIENT_CAPABILITIES: st.just({})},
            optional={META_LOG_LEVEL: st.sampled_from(["debug", "nope", 3])}),
        st.dictionaries(st.sampled_from([META_PROTOCOL_VERSION, META_CLIENT_CAPABILITIES,
                                         "progressToken", "traceparent"]),
                        mcps.json_values(), max_size=4),
        mcps.json_values())
    methods = st.sampled_from(["tools/call", "tools/list", "server/discover", "ping",
                               "initialize", "logging/setLevel", "resources/subscribe",
                               "subscriptions/listen", "x/y"])
    ids = mcps.request_ids()
    return st.builds(lambda rid, m, meta, extra: frame({
        "jsonrpc": "2.0", "id": rid, "method": m, "params": {**extra, "_meta": meta}}),
        ids, methods, metas, st.dictionaries(st.text(max_size=4), mcps.json_values(),
                                             max_size=2))


@pytest.mark.slow
@FUZZ
@given(pieces=st.lists(st.one_of(st.binary(max_size=48), mcps.invalid_frames(),
                                 modern_requests(), mcps.ndjson(mcps.jsonrpc_messages())),
                       max_size=6),
       how=st.sampled_from(["whole", "bytes"]))
def test_any_bytes_to_a_modern_server(pieces: list[bytes], how: str) -> None:
    conn = modern_server()
    data = b"".join(pieces)
    chunks = [data] if how == "whole" else [data[i:i + 1] for i in range(len(data))]
    for chunk in chunks:
        if conn.state is State.ERROR:
            break
        conn.receive_data(chunk)
        settle(conn)
    conn.receive_data(b"")
    events = settle(conn)
    if conn.state is not State.ERROR:
        assert isinstance(events[-1], PeerDisconnected) and conn.state is State.CLOSED


@pytest.mark.slow
@FUZZ
@given(message=st.one_of(mcps.json_values(), modern_requests().map(_codec.loads)))
def test_any_message_to_a_modern_server(message: Any) -> None:
    conn = modern_server()
    conn.receive_message(message)
    settle(conn)
    assert conn.state in (State.STATELESS, State.ERROR)


def modern_client() -> Connection:
    conn = Connection(Role.CLIENT)
    conn.start_stateless(client_capabilities={"roots": {}})
    for _ in range(3):  # requests in flight, so responses and progress have somewhere to go
        conn.send_request("tools/call", {"name": "t"}, progress_token=f"p{_}")
    conn.data_to_send()
    return conn


def server_answers() -> st.SearchStrategy[bytes]:
    results = st.one_of(
        st.fixed_dictionaries({"content": st.just([])}, optional={
            "resultType": st.sampled_from(["complete", "input_required", "other", 5])}),
        mcps.json_values())
    return st.one_of(
        st.builds(lambda rid, r: frame({"jsonrpc": "2.0", "id": rid, "result": r}),
                  st.sampled_from([1, 2, 3, 4]), results),
        st.builds(lambda rid, code: frame({"jsonrpc": "2.0", "id": rid, "error": {
            "code": code, "message": "x", "data": {"supported": [V]}}}),
            st.sampled_from([1, 2, 3]), st.sampled_from([-32022, -32021, -32020, 1])),
        st.builds(lambda tok, p: frame({"jsonrpc": "2.0", "method": "notifications/progress",
                                        "params": {"progressToken": tok, "progress": p}}),
                  st.sampled_from(["p0", "p1", "zz"]), mcps.json_values()),
        mcps.ndjson(mcps.jsonrpc_messages()))


@pytest.mark.slow
@FUZZ
@given(pieces=st.lists(st.one_of(st.binary(max_size=48), mcps.invalid_frames(),
                                 server_answers()), max_size=6),
       how=st.sampled_from(["whole", "bytes"]))
def test_any_bytes_to_a_modern_client(pieces: list[bytes], how: str) -> None:
    conn = modern_client()
    data = b"".join(pieces)
    chunks = [data] if how == "whole" else [data[i:i + 1] for i in range(len(data))]
    for chunk in chunks:
        if conn.state is State.ERROR:
            break
        conn.receive_data(chunk)
        settle(conn)
    conn.receive_data(b"")
    events = settle(conn)
    if conn.state is not State.ERROR:
        assert isinstance(events[-1], PeerDisconnected) and conn.state is State.CLOSED


def test_an_error_code_is_never_a_bare_int_in_the_hint() -> None:
    conn = modern_server()
    conn.receive_data(frame({"jsonrpc": "2.0", "id": 1, "method": "tools/list",
                             "params": {"_meta": {META_PROTOCOL_VERSION: "1"}}}))
    with pytest.raises(RemoteProtocolError) as info:
        conn.next_event()
    assert info.value.code is ErrorCode.INVALID_PARAMS


def test_a_response_hint_comes_as_a_frame_too() -> None:
    """The answer a RemoteProtocolError owes is also a Frame, so a routing transport sends it
    where its request came from without decoding it."""
    conn = modern_server()
    conn.receive_data(frame({"jsonrpc": "2.0", "id": "x", "method": "ping", "params": {
        "_meta": {META_PROTOCOL_VERSION: V, META_CLIENT_CAPABILITIES: {}}}}))
    with pytest.raises(RemoteProtocolError) as info:
        conn.next_event()
    f = info.value.response_frame
    assert f is not None and f.data == info.value.response_hint
    assert (f.kind, f.request_id, f.answers, f.protocol_version) == (
        FrameKind.ERROR, "x", ("x",), V)
    pair = operating_pair("2025-03-26")
    pair.server.receive_data(frame([{"jsonrpc": "2.0", "id": 1, "method": "roots/list"},
                                    {"jsonrpc": "2.0", "id": 2, "method": "roots/list"}]))
    with pytest.raises(RemoteProtocolError) as info:
        pair.server.next_event()
    batch = info.value.response_frame
    assert batch is not None and batch.kind is FrameKind.BATCH and batch.answers == (1, 2)
