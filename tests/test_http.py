"""Streamable HTTP, sans-IO (sansio.http), driven by a real independent peer: h11's client.

Each status code the endpoint chooses is asserted with the spec rule it follows.
"""

from __future__ import annotations

import json
from typing import Any

import h11
import pytest

from sansio import _codec
from sansio.http import (
    Accept,
    CompleteRequest,
    HTTPServerConnection,
    Listen,
    OpenStream,
    Reject,
    StreamableHTTPServer,
    Terminate,
)
from sansio.jsonrpc import MessageKind, classify
from sansio.sse import SSEDecoder, encode_event

INIT = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
    "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t",
                                                                        "version": "1"}}}
BOTH = "application/json, text/event-stream"


def wire(method: str, headers: dict[str, str], body: bytes = b"", target: str = "/mcp") -> bytes:
    client = h11.Connection(h11.CLIENT)
    hdrs = [("host", "127.0.0.1:8000"), *headers.items()]
    if method == "POST":
        hdrs.append(("content-length", str(len(body))))
    out = client.send(h11.Request(method=method, target=target, headers=hdrs)) or b""
    if body:
        out += client.send(h11.Data(data=body)) or b""
    return out + (client.send(h11.EndOfMessage()) or b"")


def parse(data: bytes) -> CompleteRequest:
    conn = HTTPServerConnection()
    conn.receive_data(data)
    request = conn.next_request()
    assert isinstance(request, CompleteRequest)
    return request


class Endpoint:
    def __init__(self, **kwargs: Any) -> None:
        self.ids = iter(f"session-{i}" for i in range(1, 100))
        self.core = StreamableHTTPServer(lambda: next(self.ids), **kwargs)

    def request(self, method: str, headers: dict[str, str] | None = None, body: Any = None,
                target: str = "/mcp") -> Any:
        raw = body if isinstance(body, bytes) or body is None else json.dumps(body).encode()
        hdrs = dict(headers or {})
        if method == "POST":
            hdrs.setdefault("content-type", "application/json")
            hdrs.setdefault("accept", BOTH)
        return self.core.handle(parse(wire(method, hdrs, raw or b"", target)))

    def initialize(self) -> str:
        outcome = self.request("POST", body=INIT)
        assert isinstance(outcome, OpenStream) and outcome.new_session
        assert outcome.session_id is not None
        self.core.route(outcome.session_id, json.dumps(
            {"jsonrpc": "2.0", "id": 1, "result": {"protocolVersion": "2025-11-25",
                                                   "capabilities": {},
                                                   "serverInfo": {"name": "s", "version": "1"}}
             }).encode())
        return outcome.session_id


def status(outcome: Any) -> int:
    return int(outcome.status)


def error_code(outcome: Reject) -> int:
    body = json.loads(outcome.body)
    assert "id" not in body  # "a JSON-RPC error response that has no id"
    return int(body["error"]["code"])


# ---------------------------------------------------------------- the connection layer


@pytest.mark.parametrize("how", ["whole", "bytewise"])
def test_pipelined_requests_whole_and_byte_by_byte(how: str) -> None:
    data = wire("POST", {"content-type": "application/json"}, b'{"a":1}') + \
        wire("GET", {"accept": "text/event-stream"})
    conn = HTTPServerConnection()
    got: list[Any] = []
    chunks = [data] if how == "whole" else [data[i:i + 1] for i in range(len(data))]
    for chunk in chunks:
        conn.receive_data(chunk)
        while (request := conn.next_request()) is not None:
            got.append(request)
            conn.response(202, [])
            assert conn.next_cycle()
    assert [(r.method, r.body) for r in got] == [("POST", b'{"a":1}'), ("GET", b"")]
    assert got[1].header("accept") == "text/event-stream"


def test_body_too_large_is_413() -> None:
    conn = HTTPServerConnection(max_body=10)
    conn.receive_data(wire("POST", {"content-type": "application/json"}, b"x" * 11))
    answer = conn.next_request()
    assert isinstance(answer, bytes) and answer.startswith(b"HTTP/1.1 413 ")


def test_garbage_is_400() -> None:
    conn = HTTPServerConnection()
    conn.receive_data(b"NOT HTTP AT ALL\r\n\r\n")
    answer = conn.next_request()
    assert isinstance(answer, bytes) and answer.startswith(b"HTTP/1.1 400 ")


def test_streamed_response_bytes_parse_as_sse() -> None:
    conn = HTTPServerConnection()
    conn.receive_data(wire("GET", {"accept": "text/event-stream"}))
    assert isinstance(conn.next_request(), CompleteRequest)
    out = conn.start_stream(200, [("content-type", "text/event-stream")])
    out += conn.stream_data(b"data: hi\n\n") + conn.end_stream()
    client = h11.Connection(h11.CLIENT)
    client.send(h11.Request(method="GET", target="/", headers=[("host", "x")]))
    client.send(h11.EndOfMessage())
    client.receive_data(out)
    assert isinstance(client.next_event(), h11.Response)
    data = client.next_event()
    assert isinstance(data, h11.Data)
    assert SSEDecoder().feed(bytes(data.data))[0].data == "hi"


# ---------------------------------------------------------------- the endpoint's statuses


def test_wrong_path_404_and_wrong_method_405() -> None:
    ep = Endpoint()
    assert status(ep.request("GET", target="/other")) == 404
    put = ep.request("PUT")
    assert status(put) == 405 and ("allow", "GET, POST, DELETE") in put.headers


@pytest.mark.parametrize(("headers", "expected"), [
    ({"origin": "http://evil.example"}, 403),       # Origin present and invalid: MUST 403
    ({"origin": "http://localhost:3000"}, 200),
    ({"origin": "http://[::1]:3000"}, 200),
    ({"origin": "null"}, 403),
])
def test_origin_validation(headers: dict[str, str], expected: int) -> None:
    ep = Endpoint()
    outcome = ep.request("POST", headers, INIT)
    assert status(outcome) == expected


def test_host_validation_against_dns_rebinding() -> None:
    ep = Endpoint()
    raw = wire("POST", {"content-type": "application/json", "accept": BOTH},
               json.dumps(INIT).encode()).replace(b"127.0.0.1:8000", b"evil.example")
    assert status(ep.core.handle(parse(raw))) == 403
    anyhost = Endpoint(allowed_hosts=None)
    assert isinstance(anyhost.core.handle(parse(raw)), OpenStream)


@pytest.mark.parametrize(("headers", "expected"), [
    ({"content-type": "text/plain"}, 415),
    ({"accept": "application/json"}, 406),          # MUST list both types
    ({"accept": "text/event-stream"}, 406),
    ({"accept": "*/*"}, 200),
])
def test_post_content_negotiation(headers: dict[str, str], expected: int) -> None:
    assert status(Endpoint().request("POST", headers, INIT)) == expected


def test_header_checks_are_judged_once_per_distinct_set_and_bounded() -> None:
    """Origin/Host and Content-Type/Accept judgements are remembered only when they pass:
    the same values again skip the checks, other values are still refused, and the memory
    of them stays within the head cache's bound."""
    ep = Endpoint()
    ep.core.heads.max_heads = 4
    assert isinstance(ep.request("POST", {"origin": "http://localhost:3000"}, INIT), OpenStream)
    assert isinstance(ep.request("POST", {"origin": "http://localhost:3000"}, INIT), OpenStream)
    assert status(ep.request("POST", {"origin": "http://evil.example"}, INIT)) == 403
    assert status(ep.request("POST", {"origin": "http://evil.example"}, INIT)) == 403
    assert status(ep.request("POST", {"accept": "application/json"}, INIT)) == 406
    assert status(ep.request("POST", {"content-type": "text/plain"}, INIT)) == 415
    for i in range(10):
        ep.request("POST", {"accept": f"application/json, text/event-stream;q=0.{i}"}, INIT)
        ep.request("POST", {"origin": f"http://localhost:{3000 + i}"}, INIT)
    assert len(ep.core._media_ok) <= 4 and len(ep.core._origins_ok) <= 4
    assert ("http://evil.example" not in {o for _, o in ep.core._origins_ok})


def test_bad_bodies_are_400_with_a_json_rpc_error() -> None:
    ep = Endpoint()
    bad_json = ep.request("POST", body=b"{not json")
    assert status(bad_json) == 400 and error_code(bad_json) == -32700
    not_rpc = ep.request("POST", body={"hello": 1})
    assert status(not_rpc) == 400 and error_code(not_rpc) == -32600


def test_initialize_mints_a_visible_ascii_session_id() -> None:
    ep = Endpoint()
    outcome = ep.request("POST", body=INIT)
    assert isinstance(outcome, OpenStream)
    assert ("mcp-session-id", "session-1") in outcome.headers
    assert ("content-type", "text/event-stream") in outcome.headers
    decoder = SSEDecoder()
    decoder.feed(outcome.first)  # the priming event: an id and empty data, with retry
    assert decoder.last_event_id == f"{outcome.stream_id}/0" and decoder.retry == 1000


@pytest.mark.parametrize("retry_ms", [1000, 0, 3, None])
def test_the_priming_event_is_encode_events_own(retry_ms: int | None) -> None:
    """The priming event is made without encode_event's checks (every POST of a request has
    one): the same bytes it would make, for each retry setting."""
    ep = Endpoint(retry_ms=retry_ms)
    for _ in range(3):
        outcome = ep.request("POST", body=INIT)
        assert isinstance(outcome, OpenStream)
        assert outcome.first == encode_event("", id=f"{outcome.stream_id}/0", retry=retry_ms)


def test_session_rules() -> None:
    ep = Endpoint()
    sid = ep.initialize()
    note = {"jsonrpc": "2.0", "method": "notifications/initialized"}
    missing = ep.request("POST", body=note)                    # SHOULD 400 without the id
    assert status(missing) == 400
    unknown = ep.request("POST", {"mcp-session-id": "nope"}, note)   # MUST 404
    assert status(unknown) == 404
    accepted = ep.request("POST", {"mcp-session-id": sid}, note)     # MUST 202, no body
    assert isinstance(accepted, Accept) and accepted.status == 202
    again = ep.request("POST", {"mcp-session-id": sid}, INIT)
    assert status(again) == 400
    bad_version = ep.request("POST", {"mcp-session-id": sid, "mcp-protocol-version": "1999"},
                             {"jsonrpc": "2.0", "id": 2, "method": "ping"})
    assert status(bad_version) == 400                          # MUST 400 when unsupported
    ok = ep.request("POST", {"mcp-session-id": sid, "mcp-protocol-version": "2025-11-25"},
                    {"jsonrpc": "2.0", "id": 2, "method": "ping"})
    assert isinstance(ok, OpenStream) and not ok.new_session
    assert ep.core.version_of(sid) == "2025-11-25"


def test_delete_terminates_and_then_404() -> None:
    ep = Endpoint()
    sid = ep.initialize()
    assert isinstance(ep.request("DELETE", {"mcp-session-id": sid}), Terminate)
    after = ep.request("POST", {"mcp-session-id": sid}, {"jsonrpc": "2.0", "id": 3,
                                                         "method": "ping"})
    assert status(after) == 404
    assert status(ep.request("DELETE", {"mcp-session-id": sid})) == 404


def test_get_stream_rules() -> None:
    ep = Endpoint()
    sid = ep.initialize()
    assert status(ep.request("GET", {"accept": "application/json",
                                     "mcp-session-id": sid})) == 406
    assert status(ep.request("GET", {"accept": "text/event-stream"})) == 400
    first = ep.request("GET", {"accept": "text/event-stream", "mcp-session-id": sid})
    assert isinstance(first, Listen)
    second = ep.request("GET", {"accept": "text/event-stream", "mcp-session-id": sid})
    assert status(second) == 409                                # at most one standalone
    ep.core.detach(sid, first.stream_id)
    assert isinstance(ep.request("GET", {"accept": "text/event-stream",
                                         "mcp-session-id": sid}), Listen)


def test_stateless_mode() -> None:
    ep = Endpoint(stateless=True)
    outcome = ep.request("POST", body={"jsonrpc": "2.0", "id": 1, "method": "tools/list"})
    assert isinstance(outcome, OpenStream) and not any(
        k == "mcp-session-id" for k, _ in outcome.headers)
    assert status(ep.request("GET", {"accept": "text/event-stream"})) == 405
    assert status(ep.request("DELETE")) == 405


# ---------------------------------------------------------------- routing and resumption


def frame(obj: dict[str, Any]) -> bytes:
    return json.dumps(obj).encode()


def test_routing_responses_related_messages_and_the_standalone_stream() -> None:
    ep = Endpoint()
    sid = ep.initialize()
    post = ep.request("POST", {"mcp-session-id": sid},
                      {"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": {}})
    assert isinstance(post, OpenStream)
    progress = frame({"jsonrpc": "2.0", "method": "notifications/progress",
                      "params": {"progressToken": 1, "progress": 1}})
    [event] = ep.core.route(sid, progress, related=7)
    assert event.stream_id == post.stream_id and not event.final
    # Unrelated and no standalone stream yet: kept for the GET stream.
    unrelated = frame({"jsonrpc": "2.0", "method": "notifications/tools/list_changed"})
    assert ep.core.route(sid, unrelated) == []
    listen = ep.request("GET", {"accept": "text/event-stream", "mcp-session-id": sid})
    assert isinstance(listen, Listen)
    assert b"list_changed" in listen.replay[1]
    [event] = ep.core.route(sid, unrelated)
    assert event.stream_id == listen.stream_id
    [done] = ep.core.route(sid, frame({"jsonrpc": "2.0", "id": 7, "result": {"content": []}}))
    assert done.stream_id == post.stream_id and done.final
    events = SSEDecoder().feed(done.data)
    assert events[0].id == f"{post.stream_id}/2"                # ids encode the stream


def test_json_response_mode() -> None:
    ep = Endpoint(json_response=True)
    outcome = ep.request("POST", {"accept": "application/json"}, INIT)
    assert isinstance(outcome, OpenStream) and outcome.json and outcome.first == b""
    assert ("content-type", "application/json") in outcome.headers
    [event] = ep.core.route(outcome.session_id, frame({"jsonrpc": "2.0", "id": 1,
                                                       "result": {}}))
    assert event.final and json.loads(event.data) == {"jsonrpc": "2.0", "id": 1, "result": {}}


def test_resumption_replays_only_that_streams_missed_events() -> None:
    ep = Endpoint()
    sid = ep.initialize()
    a = ep.request("POST", {"mcp-session-id": sid},
                   {"jsonrpc": "2.0", "id": 10, "method": "tools/call", "params": {}})
    b = ep.request("POST", {"mcp-session-id": sid},
                   {"jsonrpc": "2.0", "id": 11, "method": "tools/call", "params": {}})
    note = {"jsonrpc": "2.0", "method": "notifications/progress", "params": {
        "progressToken": 1, "progress": 1}}
    [a1] = ep.core.route(sid, frame(note), related=10)
    ep.core.route(sid, frame(note), related=11)
    last = SSEDecoder()
    last.feed(a1.data)
    ep.core.detach(sid, a.stream_id)  # the connection carrying stream a drops
    assert ep.core.route(sid, frame(note), related=10) == []      # stored, not delivered
    ep.core.route(sid, frame({"jsonrpc": "2.0", "id": 10, "result": {"content": []}}))
    resumed = ep.request("GET", {"accept": "text/event-stream", "mcp-session-id": sid,
                                 "last-event-id": last.last_event_id or ""})
    assert isinstance(resumed, Listen) and resumed.stream_id == a.stream_id and resumed.done
    replayed = [e for chunk in resumed.replay for e in SSEDecoder().feed(chunk)]
    assert [e.id for e in replayed] == [f"{a.stream_id}/2", f"{a.stream_id}/3"]
    assert all(e.id and e.id.startswith(f"{a.stream_id}/") for e in replayed)
    assert json.loads(replayed[-1].data)["id"] == 10
    assert b.stream_id != a.stream_id
    unknown = ep.request("GET", {"accept": "text/event-stream", "mcp-session-id": sid,
                                 "last-event-id": "99/1"})
    assert status(unknown) == 400


# ---------------------------------------------------------------- fuzz invariants

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400), st.integers(min_value=1, max_value=50))
def test_any_bytes_give_requests_answers_or_nothing(data: bytes, chunk: int) -> None:
    """Whatever bytes arrive, in any chunking, the connection yields whole requests, a ready
    error answer, or needs more data: it never raises."""
    for payload in (data, wire("POST", {"content-type": "application/json"}, b"{}") + data):
        conn = HTTPServerConnection(max_body=100, max_header=160, max_discard=150)
        answered = False
        for i in range(0, len(payload), chunk):
            conn.receive_data(payload[i:i + chunk])
            while True:
                got = conn.next_request()
                if got is None:
                    break
                assert not answered  # nothing after an error answer
                if isinstance(got, bytes):
                    assert got.startswith(b"HTTP/1.1 4")
                    answered = True
                    break
                assert isinstance(got, CompleteRequest)
                conn.response(202, [])
                if not conn.next_cycle():
                    break
            if conn.closed and not conn.discarding:
                break
        if answered and conn.discarding:  # what is still read after it is bounded
            conn.receive_data(b"x" * 151)
            assert conn.next_request() is None and not conn.discarding


# ------------------------------------------------------ JSON-RPC-ish bodies, every revision

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(2**70), max_value=2**96)
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner,
                                                                max_size=3),
    max_leaves=5)
any_ids = st.one_of(json_values, st.integers(), st.text(max_size=8), st.sampled_from(
    [0, 1, -1, True, False, 1.0, 1.5, 2**63 - 1, 2**64 - 1, 2**64, 2**96, "1", "", None, [], {}]))


@st.composite
def messages(draw: st.DrawFn) -> dict[str, Any]:
    kind = draw(st.sampled_from(["request", "notification", "result", "error", "odd"]))
    message: dict[str, Any] = {"jsonrpc": "2.0"}
    if kind in ("request", "result", "error") or draw(st.booleans()):
        message["id"] = draw(any_ids)
    if kind in ("request", "notification"):
        message["method"] = draw(st.sampled_from(["ping", "tools/list", "x", "initialize"]))
        if draw(st.booleans()):
            message["params"] = draw(st.sampled_from([{}, {"a": 1}, [], None, 3]))
    elif kind == "result":
        message["result"] = draw(st.sampled_from([{}, {"a": [1]}, None, 1]))
    elif kind == "error":
        message["error"] = {"code": -32603, "message": "e"}
    return message


bodies_rpc = st.one_of(messages(), st.lists(messages(), min_size=0, max_size=4))


header_names = st.sampled_from(["host", "origin", "accept", "content-type", "mcp-session-id",
                                "mcp-protocol-version", "last-event-id", "x-other"])
header_values = st.one_of(st.sampled_from(["127.0.0.1", "localhost:1", "evil", "null",
                                           "application/json", "text/event-stream", BOTH,
                                           "*/*", "session-1", "2025-11-25", "2025-06-18",
                                           "2025-03-26", "2024-11-05", "1/0", "2/5", ""]),
                          st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126),
                                  max_size=20))
bodies = st.one_of(st.binary(max_size=50), st.sampled_from([
    json.dumps(INIT).encode(), b'{"jsonrpc":"2.0","method":"notifications/initialized"}',
    b'{"jsonrpc":"2.0","id":2,"method":"ping"}', b"[]", b'[{"jsonrpc":"2.0","id":3,'
    b'"method":"ping"},{"jsonrpc":"2.0","method":"x"}]', b'{"jsonrpc":"2.0","id":9,"result":{}}',
    b"null", b'"x"']), st.builds(lambda b: json.dumps(b).encode(), bodies_rpc),
    st.sampled_from([json.dumps(dict(INIT, params=dict(INIT["params"], protocolVersion=v))
                                ).encode()
                     for v in ("2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25")]))


@settings(max_examples=400, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["GET", "POST", "DELETE", "PUT"]),
                          st.sampled_from(["/mcp", "/other", "/mcp?x=1"]),
                          st.lists(st.tuples(header_names, header_values), max_size=6),
                          bodies), min_size=1, max_size=8),
       st.booleans(), st.booleans())
def test_any_requests_get_a_documented_outcome(requests: list[Any], stateless: bool,
                                               json_response: bool) -> None:
    """Whatever requests arrive, in any order, handle() returns an outcome (never raises), and
    every error status is one the endpoint documents."""
    ep = Endpoint(stateless=stateless, json_response=json_response)
    for method, target, headers, body in requests:
        request = CompleteRequest(method, target, tuple(headers), body)
        outcome = ep.core.handle(request)
        assert isinstance(outcome, (Reject, Accept, OpenStream, Listen, Terminate))
        if isinstance(outcome, Reject):
            assert outcome.status in {400, 403, 404, 405, 406, 409, 415}
            assert json.loads(outcome.body)["error"]["code"] in {-32700, -32600, -32001}
        if isinstance(outcome, (OpenStream, Accept)):
            sid = outcome.session_id
            if sid:  # whatever the session writes is routed without raising
                ep.core.route(sid, b'{"jsonrpc":"2.0","method":"notifications/message",'
                                   b'"params":{"level":"info","data":1}}', related=1)
                ep.core.route(sid, b'{"jsonrpc":"2.0","id":2,"result":{}}')


def test_a_duplicate_in_flight_id_is_answered_on_its_own_stream() -> None:
    ep = Endpoint()
    sid = ep.initialize()
    call = {"jsonrpc": "2.0", "id": 5, "method": "tools/call", "params": {"name": "slow"}}
    first = ep.request("POST", {"mcp-session-id": sid}, call)
    second = ep.request("POST", {"mcp-session-id": sid}, call)
    assert isinstance(first, OpenStream) and isinstance(second, OpenStream)
    # The engine refuses the duplicate at once: that error goes to the second POST...
    [refusal] = ep.core.route(sid, frame({"jsonrpc": "2.0", "id": 5, "error": {
        "code": -32600, "message": "duplicate request id 5"}}))
    assert refusal.stream_id == second.stream_id and refusal.final
    # ...and the real answer, later, to the first.
    [answer] = ep.core.route(sid, frame({"jsonrpc": "2.0", "id": 5, "result": {"content": []}}))
    assert answer.stream_id == first.stream_id and answer.final


def test_head_events_are_made_once_and_bounded() -> None:
    """Repeated heads reuse one validated h11 event (same bytes on the wire); the cache is
    the server's, shared by its connections, and never grows past its bound."""
    core = StreamableHTTPServer(lambda: "s")
    heads = core.heads
    headers = (("content-type", "text/event-stream"), ("mcp-session-id", "abc"))
    first = heads.response(200, headers)
    assert heads.response(200, headers) is first
    assert heads.response(404, headers) is not first
    one, two = core.connection(), core.connection()
    for conn in (one, two):
        conn.receive_data(b"GET /mcp HTTP/1.1\r\nHost: x\r\n\r\n")
        assert conn.next_request() is not None
    assert one.start_stream(200, headers) == two.start_stream(200, headers)
    assert one.heads.response(200, headers) is first
    request = heads.request("POST", "/mcp", (("host", "x"), ("content-length", "2")))
    assert heads.request("POST", "/mcp", (("host", "x"), ("content-length", "2"))) is request
    for i in range(heads.max_heads * 2):
        heads.response(200, (("x-n", str(i)),))
        heads.request("GET", f"/{i}", (("host", "x"),))
    assert len(heads) <= 2 * heads.max_heads


def test_received_fields_are_decoded_once_and_bounded() -> None:
    """A request's fields reach the core as lowercased text with its Content-Length; a
    repeated set of fields is decoded once, and the cache never grows past its bound."""
    core = StreamableHTTPServer(lambda: "s")
    conn = core.connection()
    wire = b"POST /mcp HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nX-Odd: \xe9\r\n\r\n{}"
    conn.receive_data(wire)
    got = conn.next_request()
    assert isinstance(got, CompleteRequest)
    assert got.headers == (("host", "x"), ("content-length", "2"), ("x-odd", "\xe9"))
    assert got.body == b"{}"
    conn.response(202, [])
    assert conn.next_cycle()
    conn.receive_data(wire)  # the same head again: judged and decoded once
    again = conn.next_request()
    assert isinstance(again, CompleteRequest) and again.headers is got.headers
    raw = [(b"Host", b"x"), (b"Content-Length", b"2"), (b"X-Odd", b"\xe9")]
    assert core.heads.received(raw)[0] == got.headers
    assert core.heads.received(raw)[0] is core.heads.received(raw)[0]
    assert core.heads.received(raw)[1] == 2
    assert core.heads.received([(b"Host", b"x")])[1] is None
    for i in range(core.heads.max_heads * 2):
        core.heads.received([(b"X-N", str(i).encode())])
    assert len(core.heads._received) <= core.heads.max_heads
    core.heads._received.clear()
    big = [(b"X-Big", b"v" * 5000)]
    assert core.heads.received(big)[0] == (("x-big", "v" * 5000),)
    assert not core.heads._received  # a large head is decoded, not kept


def test_open_stream_says_whether_it_carries_initialize() -> None:
    # The adapter's stateless sessions need a synthetic handshake unless the POST is the
    # initialize itself: the core says which, from the parsed message (not from its bytes).
    ep = Endpoint(stateless=True)
    init = ep.request("POST", body=INIT)
    assert isinstance(init, OpenStream) and init.initialize
    call = ep.request("POST", {"mcp-protocol-version": "2025-11-25"}, body={
        "jsonrpc": "2.0", "id": 2, "method": "tools/call",
        "params": {"name": "initialize", "arguments": {"text": '"initialize"'}}})
    assert isinstance(call, OpenStream) and not call.initialize


def engine_answers(version: str | None, obj: Any) -> list[bytes]:
    """What the engine writes for a POSTed body it gets: a response per request (an invalid id
    answered with a null id), batched as it came; a batch where the revision has none is one
    error."""
    def answer(m: dict[str, Any]) -> dict[str, Any] | None:
        if classify(m) is not MessageKind.REQUEST:
            return None
        rid = m["id"]
        if rid.__class__ is int or rid.__class__ is str:
            return {"jsonrpc": "2.0", "id": rid, "result": {}}
        return {"jsonrpc": "2.0", "id": None, "error": {"code": -32600, "message": "bad id"}}

    if isinstance(obj, list):
        if version != "2025-03-26":
            return [frame({"jsonrpc": "2.0", "id": None, "error": {"code": -32600,
                                                                    "message": "no batches"}})]
        out = [a for a in map(answer, obj) if a is not None]
        return [json.dumps(out).encode()] if out else []
    one = answer(obj)
    return [frame(one)] if one is not None else []


@settings(max_examples=500, deadline=None)
@given(st.sampled_from([None, "2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25"]),
       st.lists(bodies_rpc, min_size=1, max_size=6), st.booleans())
def test_any_json_rpc_posts_get_exactly_one_final_answer(version: str | None, bodies: list[Any],
                                                         json_response: bool) -> None:
    """Any JSON-RPC-ish body (ids of every JSON type, batches) POSTed on a session of any
    revision (None: stateless) gets one documented outcome: a 400 that answers it, a 202, or a
    stream that the engine's answers end exactly once; the session keeps working."""
    stateless = version is None
    ep = Endpoint(stateless=stateless, json_response=json_response)
    headers: dict[str, str] = {}
    if not stateless:
        assert version is not None
        init = dict(INIT, params=dict(INIT["params"], protocolVersion=version))
        opened = ep.request("POST", body=init)
        assert isinstance(opened, OpenStream)
        ep.core.route(opened.session_id, frame({"jsonrpc": "2.0", "id": 1, "result": {
            "protocolVersion": version, "capabilities": {},
            "serverInfo": {"name": "s", "version": "1"}}}))
        headers = {"mcp-session-id": opened.session_id, "mcp-protocol-version": version}
    negotiated = version or "2025-03-26"
    for sent in bodies:
        outcome = ep.request("POST", headers, sent)
        # as the core reads it: an integer outside 64 bits is a float (the codec's rule)
        body = _codec.loads(json.dumps(sent))
        items = body if isinstance(body, list) else [body]
        requests = [m for m in items if classify(m) is MessageKind.REQUEST]
        has_request = bool(requests)
        bad_id = any(not (m["id"].__class__ is int or m["id"].__class__ is str)
                     for m in requests)
        is_init = any(m.get("method") == "initialize" for m in requests)
        no_batch = isinstance(body, list) and negotiated != "2025-03-26" and not is_init
        if bad_id or (no_batch and items):
            # The engine could not answer it by id: the POST carries the -32600.
            assert isinstance(outcome, Reject) and outcome.status == 400
            answer = json.loads(outcome.body)
            assert answer["error"]["code"] == -32600
            assert ("id" in answer) == (negotiated < "2025-11-25") and not answer.get("id")
            continue
        if isinstance(outcome, Reject):  # initialize rules, an empty batch: HTTP-level
            assert outcome.status == 400 and (is_init or not items)
            answer = json.loads(outcome.body)
            assert answer["error"]["code"] == -32600 and "id" not in answer
            continue
        if isinstance(outcome, Accept):
            assert not has_request
            continue
        assert isinstance(outcome, OpenStream) and has_request
        key = None if stateless else outcome.session_id
        finals = []
        for data in engine_answers(negotiated, body):
            for event in ep.core.route(key or outcome.session_id, data):
                assert event.stream_id == outcome.stream_id
                finals += [event] if event.final else []
        assert len(finals) == 1
    if not stateless:  # the session still works
        ping = ep.request("POST", headers, {"jsonrpc": "2.0", "id": "last", "method": "ping"})
        assert isinstance(ping, OpenStream)
        [event] = ep.core.route(ping.session_id, frame({"jsonrpc": "2.0", "id": "last",
                                                        "result": {}}))
        assert event.final and event.stream_id == ping.stream_id
