"""The HTTP/1.1 fast path (sansio/_h1.py) against h11 alone: the same bytes in give the same
requests, the same error answers and the same response bytes out, fed whole, byte by byte and
in pieces; the caches stay bounded; what is not the simple form goes to h11."""

from __future__ import annotations

import h11
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sansio import _h1
from sansio.http import CompleteRequest, HeadCache, HTTPServerConnection

BODY = b'{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo"}}'


def _request(method: bytes = b"POST", target: bytes = b"/mcp", version: bytes = b"1.1",
             fields: list[bytes] | None = None, body: bytes = BODY, eol: bytes = b"\r\n",
             length: bool = True) -> bytes:
    lines = [b"%s %s HTTP/%s" % (method, target, version), b"Host: 127.0.0.1:8000",
             b"Accept: application/json, text/event-stream",
             b"Content-Type: application/json", *(fields or [])]
    if length:
        lines.append(b"Content-Length: %d" % len(body))
    return eol.join(lines) + eol + eol + body


def _run(wire: bytes, pieces: list[int], *, fast: bool, answer: str = "whole") -> list[object]:
    """What one connection makes of ``wire`` fed in ``pieces`` (sizes; the rest at once),
    answering each request (``answer``: a whole body or a stream), then EOF."""
    conn = HTTPServerConnection(max_body=4096, max_header=1024, fast=fast)
    out: list[object] = []
    chunks: list[bytes] = []
    at = 0
    for size in pieces:
        if at >= len(wire):
            break
        chunks.append(wire[at:at + size])
        at += size
    chunks.append(wire[at:])
    chunks = [chunk for chunk in chunks if chunk]
    chunks.append(b"")  # EOF
    for chunk in chunks:
        conn.receive_data(chunk)
        while True:
            try:
                got = conn.next_request()
            except h11.ProtocolError as exc:  # pragma: no cover - next_request answers
                out.append(("raised", type(exc).__name__))
                return out
            if got is None:
                break
            out.append(got)
            if isinstance(got, bytes):
                return out
            try:
                if answer == "whole":
                    out.append(conn.response(200, [("content-type", "text/event-stream")],
                                             b"data: x\n\n"))
                else:
                    out.append(conn.start_stream(200, [("content-type", "text/event-stream")])
                               + conn.stream_data(b"data: x\n\n") + conn.end_stream())
            except h11.LocalProtocolError as exc:
                out.append(("refused", str(exc)))
                return out
            if not conn.next_cycle():
                out.append("close")
                return out
        if conn.closed:
            out.append("closed")
            return out
    return out


def _status_of_errors(out: list[object]) -> list[object]:
    # h11's message for a malformed head depends on how its bytes arrived (alone, it judges
    # a partial line early): the answer's status, not its text, is what must match.
    return [item.split(b"\r\n", 1)[0] if isinstance(item, bytes) and
            item.startswith((b"HTTP/1.1 4", b"HTTP/1.1 5")) else item for item in out]


def _same(wire: bytes, pieces: list[int] | None = None, answer: str = "whole") -> list[object]:
    fast = _run(wire, pieces or [], fast=True, answer=answer)
    slow = _run(wire, pieces or [], fast=False, answer=answer)
    if not pieces:
        assert fast == slow  # fed whole: the very same bytes, error texts included
    assert _status_of_errors(fast) == _status_of_errors(slow)
    return fast


def test_a_keep_alive_connection_field_is_still_the_common_exchange() -> None:
    conn = HTTPServerConnection()
    conn.receive_data(_request(fields=[b"Connection: keep-alive"]))
    assert isinstance(conn.next_request(), CompleteRequest)
    assert conn._h11.their_state is h11.IDLE  # Node.js and browsers send it: still fast


def test_the_common_exchange_takes_the_fast_path_and_matches_h11() -> None:
    wire = _request()
    conn = HTTPServerConnection()
    conn.receive_data(wire)
    got = conn.next_request()
    assert isinstance(got, CompleteRequest) and got.body == BODY and got.method == "POST"
    assert got.header("content-type") == "application/json"
    assert conn._h11.their_state is h11.IDLE  # h11 never saw it
    answer = conn.response(200, [("content-type", "text/event-stream")], b"data: x\n\n")
    assert answer == (b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n"
                      b"content-length: 9\r\n\r\ndata: x\n\n")
    assert conn.next_cycle() and not conn.closed
    assert _same(wire * 3)[:6:2] == [got] * 3


@pytest.mark.parametrize("fast", [True, False])
@pytest.mark.parametrize("body", [b"", b'{"jsonrpc":"2.0","id":1,"result":{}}', b"x" * 100_000])
def test_response_pieces_are_the_response_and_never_copy_the_body(fast: bool,
                                                                   body: bytes) -> None:
    """``response_pieces`` writes what ``response`` writes, on the fast path and through h11,
    with the body itself among the pieces (a large answer is not held twice)."""
    made = []
    for pieces in (False, True):
        conn = HTTPServerConnection(fast=fast)
        conn.receive_data(_request())
        assert isinstance(conn.next_request(), CompleteRequest)
        headers = [("content-type", "application/json")]
        if pieces:
            out = conn.response_pieces(200, headers, body)
            assert all(out) and (not body or any(piece is body for piece in out))
            made.append(b"".join(out))
        else:
            made.append(conn.response(200, headers, body))
        assert conn.next_cycle()
    assert made[0] == made[1]


CASES = {
    "pipelined": _request() * 2 + _request(method=b"GET", body=b"", length=False),
    "no body": _request(method=b"GET", body=b"", length=False),
    "connection close": _request(fields=[b"Connection: close"]),
    "keep-alive field": _request(fields=[b"Connection: keep-alive"]),
    "keep-alive then close": _request(fields=[b"Connection: Keep-Alive", b"Connection: close"]),
    "keep-alive, close": _request(fields=[b"Connection: keep-alive, close"]),
    "HTTP/1.0": _request(version=b"1.0"),
    "HEAD": _request(method=b"HEAD", body=b"", length=False),
    "chunked": b"POST /mcp HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
               b"2\r\n{}\r\n0\r\n\r\n",
    "bare LF": _request(eol=b"\n"),
    "mixed line ends": b"POST /mcp HTTP/1.1\nHost: x\r\nContent-Length: 2\r\n\r\n{}",
    "leading blank line": b"\r\n" + _request(),
    "expect": _request(fields=[b"Expect: 100-continue"]),
    "upgrade": _request(fields=[b"Upgrade: websocket", b"Connection: Upgrade"]),
    "no host": b"POST /mcp HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}",
    "bad field": _request(fields=[b"Bad Name: x"]),
    "space before colon": _request(fields=[b"X-A : x"]),
    "obs-fold": _request(fields=[b"X-A: x", b" folded"]),
    "two lengths": _request(fields=[b"Content-Length: 3"]),
    "bad length": b"POST /mcp HTTP/1.1\r\nHost: x\r\nContent-Length: 2x\r\n\r\n{}",
    "body too large": _request(body=b"x" * 5000),
    "head too large": _request(fields=[b"X-Big: " + b"v" * 2000]),
    "head never ends": b"POST /mcp HTTP/1.1\r\nHost: x\r\nX-A: " + b"v" * 3000,
    "cut head": b"POST /mcp HTTP/1.1\r\nHost: x\r\n",
    "cut body": _request()[:-5],
    "garbage": b"\x00\xff\r\n\r\n",
    "ows and case": b"POST /mcp HTTP/1.1\r\nHOST:   x  \r\ncontent-LENGTH:2\r\n\r\n{}",
    "obs-text value": _request(fields=[b"X-Odd: \xe9"]),
    "then garbage": _request() + b"\x00garbage\r\n\r\n",
}


@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.parametrize("answer", ["whole", "stream"])
def test_every_other_form_gives_what_h11_gives(name: str, answer: str) -> None:
    wire = CASES[name]
    _same(wire, answer=answer)
    _same(wire, [1] * len(wire), answer=answer)  # byte by byte
    _same(wire, [7, 13, 64], answer=answer)


@given(st.sampled_from(sorted(CASES)), st.sampled_from(sorted(CASES)),
       st.lists(st.integers(1, 80), max_size=12), st.sampled_from(["whole", "stream"]))
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_any_two_forms_in_any_pieces_match_h11(first: str, second: str, pieces: list[int],
                                               answer: str) -> None:
    _same(CASES[first] + CASES[second], pieces, answer=answer)


@given(st.binary(max_size=300), st.lists(st.integers(1, 50), max_size=8))
@settings(max_examples=300, deadline=None)
def test_any_bytes_after_a_request_match_h11(tail: bytes, pieces: list[int]) -> None:
    _same(_request() + tail, pieces)


@given(st.lists(st.tuples(st.from_regex(rb"\A[A-Za-z0-9!#$%&'*+.^_`|~-]{1,12}\Z"),
                          st.binary(max_size=20)), max_size=5))
@settings(max_examples=300, deadline=None)
def test_any_fields_match_h11(fields: list[tuple[bytes, bytes]]) -> None:
    _same(_request(fields=[name + b": " + value for name, value in fields]))


def test_written_heads_are_h11s_bytes() -> None:
    heads = HeadCache()
    for status in (200, 202, 400, 404, 500, 503):
        for headers in ((), (("content-type", "application/json"),),
                        (("Content-Type", "text/event-stream"), ("mcp-session-id", "abc"))):
            conn = h11.Connection(h11.SERVER)
            conn.receive_data(b"POST / HTTP/1.1\r\nhost: x\r\ncontent-length: 0\r\n\r\n")
            conn.next_event()
            conn.next_event()
            want = conn.send(h11.Response(status_code=status, headers=[
                *headers, ("content-length", "12")], reason=b"x"))
            got = heads.response_bytes(status, headers, 12)
            assert got is not None
            assert got.split(b"\r\n", 1)[1] == want.split(b"\r\n", 1)[1]  # fields
            assert got.startswith(b"HTTP/1.1 %d " % status)
    for headers in ((("connection", "close"),), (("transfer-encoding", "chunked"),),
                    (("connection", "keep-alive, close"),)):
        assert heads.response_bytes(200, headers, 1) is None  # not simple: h11 writes it
    assert heads.response_bytes(200, (("connection", "keep-alive"),), 1) is not None
    assert heads.response_bytes(204, (), 0) is None
    assert heads.response_bytes(200, (("bad name", "x"),), 0) is None  # h11 refuses it


def test_written_request_heads_are_h11s_bytes() -> None:
    heads = HeadCache()
    hdrs = (("accept", "application/json"), ("host", "127.0.0.1:9"), ("content-length", "17"))
    want = h11.Connection(h11.CLIENT).send(h11.Request(method="POST", target="/mcp",
                                                       headers=list(hdrs)))
    assert heads.request_bytes("POST", "/mcp", hdrs) == want
    assert heads.request_bytes("POST", "/mcp", (*hdrs[:-1], ("content-length", "9"))) == \
        want.replace(b"17", b"9")
    get = (("host", "x"), ("accept", "text/event-stream"))
    assert heads.request_bytes("GET", "/mcp", get) == h11.Connection(h11.CLIENT).send(
        h11.Request(method="GET", target="/mcp", headers=list(get)))
    assert heads.request_bytes("HEAD", "/mcp", get) is None
    assert heads.request_bytes("GET", "/mcp", (("connection", "close"), ("host", "x"))) is None
    assert heads.request_bytes("GET", "/mcp", (("accept", "x"),)) is None  # no Host: h11's


def test_received_response_heads_are_judged_as_h11_does() -> None:
    heads = HeadCache()
    ok = b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nContent-Length: 10\r\n\r\n"
    assert heads.received_response(ok) == (
        200, (("content-type", "text/event-stream"), ("content-length", "10")), 10)
    for head in (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
                 b"HTTP/1.1 200 OK\r\nContent-Type: x\r\n\r\n",  # read until close
                 b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n",
                 b"HTTP/1.1 100 Continue\r\n\r\n",
                 b"HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\n",
                 b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 1\r\n\r\n",
                 b"HTTP/1.1 2000 OK\r\nContent-Length: 1\r\n\r\n",
                 b"junk\r\n\r\n"):
        assert heads.received_response(head) is None


def test_the_caches_are_bounded() -> None:
    heads = HeadCache(max_heads=8)
    for i in range(50):
        heads.received_request(_request(fields=[b"X-N: %d" % i]).split(b"\r\n\r\n")[0] +
                               b"\r\n\r\n")
        heads.received_response(b"HTTP/1.1 200 OK\r\nX-N: %d\r\nContent-Length: 0\r\n\r\n" % i)
        heads.response_bytes(200, (("x-n", str(i)),), 0)
        heads.request_bytes("GET", f"/{i}", (("host", "x"),))
    assert len(heads._fast_requests) <= 8 and len(heads._fast_responses) <= 8
    assert len(heads._written) <= 8
    big = _request(fields=[b"X-Big: " + b"v" * 5000]).split(b"\r\n\r\n")[0] + b"\r\n\r\n"
    heads._fast_requests.clear()
    assert heads.received_request(big) is None and not heads._fast_requests


def test_head_end_finds_what_h11_finds() -> None:
    assert _h1.head_end(b"GET / HTTP/1.1\r\nhost: x\r\n\r\nrest") == 27
    assert _h1.head_end(b"GET / HTTP/1.1\r\nhost: x\r\n") == -1
    assert _h1.head_end(b"GET / HTTP/1.1\nhost: x\n\n") == -2
    assert _h1.head_end(b"GET / HTTP/1.1\nhost: x\n\r\n") == -2
    assert _h1.head_end(b"\n\r\n") == -2


def test_a_streamed_answer_hands_the_request_to_h11_and_the_next_one_is_fast_again() -> None:
    conn = HTTPServerConnection()
    conn.receive_data(_request() * 2)
    first = conn.next_request()
    assert isinstance(first, CompleteRequest)
    head = conn.start_stream(200, [("content-type", "text/event-stream")])
    assert b"transfer-encoding: chunked" in head.lower()
    conn.stream_data(b"data: x\n\n")
    conn.end_stream()
    assert conn.next_cycle()
    assert conn._synced  # the second request was already in h11's buffer
    second = conn.next_request()
    assert second == first
    conn.response(202, [])
    assert conn.next_cycle() and not conn._synced  # h11 holds nothing: fast again
    conn.receive_data(_request())
    assert conn.next_request() == first and conn._h11.their_state is h11.IDLE


# ---------------------------------------------------------------- the client side

_HDRS = (("host", "127.0.0.1:9"), ("accept", "application/json, text/event-stream"),
         ("content-type", "application/json"), ("content-length", str(len(BODY))))
_SSE = b"event: message\ndata: {}\n\n"
RESPONSES = {
    "simple": b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncontent-length: %d"
              b"\r\n\r\n%s" % (len(_SSE), _SSE),
    "json": b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}",
    "accepted": b"HTTP/1.1 202 Accepted\r\ncontent-length: 0\r\n\r\n",
    "chunked": b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n"
               b"5\r\nhello\r\n0\r\n\r\n",
    "until close": b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n\r\ndata: x\n\n",
    "close": b"HTTP/1.1 200 OK\r\nconnection: close\r\ncontent-length: 2\r\n\r\n{}",
    "keep-alive": b"HTTP/1.1 200 OK\r\nConnection: keep-alive\r\ncontent-length: 2\r\n\r\n{}",
    "keep-alive, close": b"HTTP/1.1 200 OK\r\nConnection: keep-alive, close\r\n"
                         b"content-length: 2\r\n\r\n{}",
    "continue first": b"HTTP/1.1 100 Continue\r\n\r\n"
                      b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}",
    "no content": b"HTTP/1.1 204 No Content\r\n\r\n",
    "HTTP/1.0": b"HTTP/1.0 200 OK\r\ncontent-length: 2\r\n\r\n{}",
    "bare LF": b"HTTP/1.1 200 OK\ncontent-length: 2\n\n{}",
    "bad status": b"HTTP/1.1 20 OK\r\ncontent-length: 2\r\n\r\n{}",
    "garbage": b"\x00\x01\x02\r\n\r\n",
    "cut head": b"HTTP/1.1 200 OK\r\ncontent-le",
    "cut body": b"HTTP/1.1 200 OK\r\ncontent-length: 20\r\n\r\n{}",
    "extra after body": b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}HTTP/1.1 200 OK\r\n",
    "two lengths": b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\ncontent-length: 3\r\n\r\n{}",
}


def _client_run(response: bytes, pieces: list[int], *, fast: bool, rounds: int = 2,
                method: str = "POST") -> list[object]:
    """Two exchanges on one connection, each answered with ``response`` in ``pieces``:
    what the connection gives, in comparable form (data joined, errors by type)."""
    conn = _h1.ClientConnection(HeadCache(), fast=fast)
    out: list[object] = []
    headers = _HDRS if method == "POST" else _HDRS[:3]
    for _ in range(rounds):
        try:
            out.append(conn.send_request(method, "/mcp", headers,
                                         BODY if method == "POST" else b""))
        except h11.LocalProtocolError as exc:
            out.append(("refused", type(exc).__name__))
            return out
        chunks, at = [], 0
        for size in pieces:
            chunks.append(response[at:at + size])
            at += size
        chunks = [c for c in [*chunks, response[at:]] if c]
        data = b""
        try:
            while True:
                event = conn.next_event()
                if event is h11.NEED_DATA:
                    if not chunks:
                        conn.receive_data(b"")
                        chunks = [b""]
                        continue
                    if chunks == [b""]:
                        out.append("need data after EOF")
                        return out
                    conn.receive_data(chunks.pop(0))
                elif isinstance(event, _h1.ResponseStart):
                    out.append(("head", event.status_code, event.fields))
                elif isinstance(event, h11.InformationalResponse):
                    out.append(("informational", event.status_code))
                elif isinstance(event, h11.Data):
                    data += event.data
                elif isinstance(event, h11.EndOfMessage):
                    out.append(("body", data))
                    break
                else:
                    out.append(type(event).__name__)
                    return out
        except h11.ProtocolError as exc:
            out.append(("error", type(exc).__name__))
            return out
        out.append(("reusable", conn.reusable))
        if not conn.reusable:
            return out
        conn.start_next_cycle()
    return out


@pytest.mark.parametrize("name", sorted(RESPONSES))
@pytest.mark.parametrize("method", ["POST", "GET"])
def test_the_client_side_gives_what_h11_gives(name: str, method: str) -> None:
    response = RESPONSES[name]
    for pieces in ([], [1] * len(response), [5, 40]):
        fast = _client_run(response, pieces, fast=True, method=method)
        assert fast == _client_run(response, pieces, fast=False, method=method)


@given(st.sampled_from(sorted(RESPONSES)), st.binary(max_size=80),
       st.lists(st.integers(1, 60), max_size=10))
@settings(max_examples=300, deadline=None)
def test_any_response_bytes_give_what_h11_gives(name: str, tail: bytes, pieces: list[int]
                                                ) -> None:
    response = RESPONSES[name] + tail
    assert _client_run(response, pieces, fast=True) == _client_run(response, pieces, fast=False)


def test_the_common_client_exchange_never_reaches_h11() -> None:
    conn = _h1.ClientConnection(HeadCache())
    for _ in range(3):
        wire = conn.send_request("POST", "/mcp", _HDRS, BODY)
        assert wire.endswith(b"\r\n\r\n" + BODY)
        conn.receive_data(RESPONSES["simple"])
        head = conn.next_event()
        assert isinstance(head, _h1.ResponseStart) and head.status_code == 200
        assert conn.next_event().data == _SSE
        assert isinstance(conn.next_event(), h11.EndOfMessage)
        assert conn.reusable
        conn.start_next_cycle()
        assert conn.h11.our_state is h11.IDLE and conn.h11.their_state is h11.IDLE
    with pytest.raises(h11.LocalProtocolError):
        conn.send_request("POST", "/mcp", _HDRS, BODY)
        conn.start_next_cycle()  # the answer is not read


def test_body_received_says_when_only_the_end_of_the_message_is_left() -> None:
    conn = _h1.ClientConnection(HeadCache())
    conn.send_request("POST", "/mcp", _HDRS, BODY)
    wire = RESPONSES["simple"]
    head_end = wire.index(b"\r\n\r\n") + 4
    conn.receive_data(wire[:head_end + 3])  # the head and 3 bytes of the body
    assert isinstance(conn.next_event(), _h1.ResponseStart)
    assert not conn.body_received
    assert conn.next_event().data == wire[head_end:head_end + 3]
    assert not conn.body_received  # more is to come
    assert conn.next_event() is h11.NEED_DATA
    conn.receive_data(wire[head_end + 3:])
    assert conn.next_event().data == wire[head_end + 3:]
    assert conn.body_received  # nothing is consumed by asking
    assert isinstance(conn.next_event(), h11.EndOfMessage)
    slow = _h1.ClientConnection(HeadCache(), fast=False)  # h11 alone: not known, so False
    slow.send_request("POST", "/mcp", _HDRS, BODY)
    slow.receive_data(wire)
    while not isinstance(slow.next_event(), h11.EndOfMessage):
        assert not slow.body_received
