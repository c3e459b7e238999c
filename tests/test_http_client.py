"""The client side of Streamable HTTP with no I/O (sansio.http_client.StreamableHTTPClient):
heads and bodies are fed in, requests and outcomes come out; no sockets."""

from __future__ import annotations

import json
from typing import Any

import pytest

from sansio.frames import Frame, FrameKind
from sansio.http_client import (
    Accepted,
    AnswerKind,
    HTTPFailure,
    HTTPRequest,
    NotMCP,
    ReadJSON,
    ReadSSE,
    Reinitialized,
    SessionExpired,
    StreamableHTTPClient,
    frame_of,
)
from sansio.sse import encode_event

URL = "http://127.0.0.1:8000/mcp?x=1"
INIT = Frame(FrameKind.REQUEST, b'{"jsonrpc":"2.0","id":0,"method":"initialize","params":{}}\n',
             0, None, "initialize")
INITIALIZED = Frame(FrameKind.NOTIFICATION,
                    b'{"jsonrpc":"2.0","method":"notifications/initialized"}\n', None, None,
                    "notifications/initialized")
INIT_RESULT = {"jsonrpc": "2.0", "id": 0, "result": {"protocolVersion": "2025-06-18",
                                                     "capabilities": {}, "serverInfo": {
                                                         "name": "s", "version": "1"}}}


def request(rid: int, method: str = "tools/list") -> Frame:
    data = json.dumps({"jsonrpc": "2.0", "id": rid, "method": method}).encode() + b"\n"
    return Frame(FrameKind.REQUEST, data, rid, None, method)


def header(req: HTTPRequest, name: str) -> str | None:
    values = [v for k, v in req.headers if k == name]
    assert len(values) <= 1
    return values[0] if values else None


def handshake(client: StreamableHTTPClient, sid: str = "s1") -> None:
    outcome = client.answer(INIT, 200, {"content-type": "application/json",
                                        "mcp-session-id": sid})
    assert outcome == ReadJSON()
    assert client.json_body(json.dumps(INIT_RESULT).encode()) == (
        json.dumps(INIT_RESULT).encode(),)


def test_the_initialize_post_and_the_headers_of_every_request_after_it() -> None:
    client = StreamableHTTPClient(URL, headers={"Authorization": "Bearer t"})
    post = client.request_for(INIT)
    assert (post.method, post.target, post.body) == ("POST", "/mcp?x=1", INIT.data.rstrip())
    assert header(post, "host") == "127.0.0.1:8000"
    assert header(post, "accept") == "application/json, text/event-stream"
    assert header(post, "content-type") == "application/json"
    assert header(post, "authorization") == "Bearer t"
    assert header(post, "mcp-session-id") is None
    assert header(post, "mcp-protocol-version") is None
    handshake(client)
    assert (client.session_id, client.protocol_version) == ("s1", "2025-06-18")
    later = [client.request_for(INITIALIZED), client.request_for(request(1)),
             client.standalone_stream(), client.terminate()]
    for req in later:
        assert req is not None
        assert header(req, "mcp-session-id") == "s1"
        assert header(req, "mcp-protocol-version") == "2025-06-18"
        assert header(req, "authorization") == "Bearer t"
    get, delete = later[2], later[3]
    assert get is not None and delete is not None
    assert (get.method, header(get, "accept")) == ("GET", "text/event-stream")
    assert delete.method == "DELETE"


def test_no_session_no_delete_and_not_an_http_url() -> None:
    assert StreamableHTTPClient(URL).terminate() is None
    with pytest.raises(ValueError, match="not an http"):
        StreamableHTTPClient("ftp://host/mcp")


@pytest.mark.parametrize("frame,status,headers,expected", [
    (INITIALIZED, 202, {}, Accepted(open_standalone=True)),
    (INITIALIZED, 200, {"content-type": "application/json"}, Accepted(open_standalone=True)),
    (Frame(FrameKind.NOTIFICATION, b"{}", None, None, "notifications/cancelled"), 202, {},
     Accepted()),
    (Frame(FrameKind.RESPONSE, b"{}", 5), 202, {}, Accepted()),
    (request(1), 200, {"content-type": "application/json; charset=utf-8"}, ReadJSON()),
    (request(1), 500, {"content-type": "text/plain"},
     HTTPFailure(500, "text/plain", answer_locally=True)),
    (INITIALIZED, 400, {}, HTTPFailure(400, None, answer_locally=False)),
])
def test_what_a_head_means(frame: Frame, status: int, headers: dict[str, str],
                           expected: Any) -> None:
    assert StreamableHTTPClient(URL).answer(frame, status, headers) == expected


def test_an_sse_answer_is_read_as_a_stream() -> None:
    client = StreamableHTTPClient(URL)
    assert isinstance(client.answer(request(1), 200, {"content-type": "text/event-stream"}),
                      ReadSSE)


def test_not_mcp_answers() -> None:
    client = StreamableHTTPClient(URL)
    outcome = client.answer(INIT, 200, {"content-type": "text/html"})
    assert isinstance(outcome, NotMCP) and not outcome.answer_locally
    assert outcome.answer.kind is AnswerKind.NOT_MCP
    assert outcome.message == ("not an MCP endpoint: HTTP 200 with Content-Type text/html "
                               f"from {URL}")
    later = client.answer(request(3), 302, {})
    assert isinstance(later, NotMCP) and later.answer_locally
    error = client.error_for(request(3), 302, message=later.message)
    assert error is not None
    assert json.loads(error) == {"jsonrpc": "2.0", "id": 3, "error": {
        "code": -32603, "message": later.message, "data": {"httpStatus": 302}}}


def test_error_for_keeps_the_servers_code_and_says_it_in_one_line() -> None:
    client = StreamableHTTPClient(URL)
    body = json.dumps({"jsonrpc": "2.0", "id": 7, "error": {
        "code": -32001, "message": "no\nsuch   tool"}}).encode()
    error = client.error_for(request(7), 400, body, "application/json")
    assert error is not None
    assert json.loads(error)["error"] == {"code": -32001, "message": "HTTP 400: no such tool",
                                          "data": {"httpStatus": 400}}
    html = client.error_for(request(8), 502, b"<html>bad</html>", "text/html")
    assert html is not None and json.loads(html)["error"]["message"] == "HTTP 502"
    gone = client.error_for(request(9), 0)
    assert gone is not None and json.loads(gone)["error"]["message"] == "HTTP request failed"
    assert client.error_for(INITIALIZED, 500) is None  # nothing awaits an answer
    assert client.failure_message(401, b"Unauthorized", "text/plain") == \
        f"HTTP 401 from {URL}: Unauthorized"


def test_404_reinitializes_only_when_allowed() -> None:
    strict = StreamableHTTPClient(URL)
    handshake(strict)
    outcome = strict.answer(request(1), 404, {})
    assert outcome == SessionExpired("s1", False, "the server no longer knows session s1 "
                                     "(HTTP 404)")

    client = StreamableHTTPClient(URL, reinitialize=True)
    client.request_for(INIT)
    handshake(client)
    client.request_for(INITIALIZED)
    assert client.answer(request(1), 404, {}) == SessionExpired(
        "s1", True, "the server no longer knows session s1 (HTTP 404)")
    replay = client.begin_reinitialize("s1")
    assert isinstance(replay, HTTPRequest)
    assert replay.body == INIT.data.rstrip() and header(replay, "mcp-session-id") is None
    assert client.begin_reinitialize("s1") is None  # already under way
    done = client.reinitialize_answer("s1", 200, {"mcp-session-id": "s2",
                                                  "content-type": "application/json"},
                                      json.dumps(INIT_RESULT).encode())
    assert isinstance(done, Reinitialized) and done.initialized is not None
    assert done.initialized.body == INITIALIZED.data.rstrip()
    assert header(done.initialized, "mcp-session-id") == "s2"
    assert (client.session_id, client.reinitialized) == ("s2", 1)
    assert header(client.request_for(request(1)), "mcp-session-id") == "s2"
    # The resent message meets a 404 again: no second try.
    assert client.answer(request(1), 404, {}, retried=True) == SessionExpired(
        "s2", False, "the server no longer knows session s2 (HTTP 404)")


def test_a_new_session_that_cannot_start_is_a_failure() -> None:
    client = StreamableHTTPClient(URL, reinitialize=True)
    handshake(client)  # the initialize was not sent through this client: nothing to replay
    assert client.begin_reinitialize("s1") == SessionExpired(
        "s1", False, "the server no longer knows session s1 (HTTP 404)")
    client.request_for(INIT)
    assert isinstance(client.begin_reinitialize("s1"), HTTPRequest)
    assert client.reinitialize_answer("s1", 503, {}, b"") == SessionExpired(
        "s1", False, "session s1 expired (HTTP 404) and a new one could not be started "
        "(HTTP 503)")
    assert client.session_id is None


def _sse_answer(client: StreamableHTTPClient, frame: Frame) -> int:
    outcome = client.answer(frame, 200, {"content-type": "text/event-stream"})
    assert isinstance(outcome, ReadSSE)
    return outcome.stream


def test_sse_resumes_with_last_event_id_and_retry_until_the_response() -> None:
    client = StreamableHTTPClient(URL, max_reconnects=2)
    handshake(client)
    stream = _sse_answer(client, request(4))
    progress = b'{"jsonrpc":"2.0","method":"notifications/progress","params":{}}'
    got = client.sse_data(stream, encode_event(b"", id="a/0", retry=250))
    assert got.messages == () and not got.complete
    got = client.sse_data(stream, encode_event(progress, id="a/1")[:-1])  # half an event
    assert got.messages == ()
    got = client.sse_data(stream, b"\n")
    assert got.messages == (progress,) and not got.complete
    # The connection drops: resume after the server's retry, with the last id seen.
    resume = client.resume(stream)
    assert resume is not None
    assert (resume.method, header(resume, "last-event-id"), resume.delay) == ("GET", "a/1", 0.25)
    assert header(resume, "mcp-session-id") == "s1"
    assert client.resume_answer(stream, 200)
    again = client.resume(stream)  # dropped again before any event: the delay grows
    assert again is not None and again.delay == 0.5
    answer = b'{"jsonrpc":"2.0","id":4,"result":{"tools":[]}}'
    got = client.sse_data(stream, encode_event(answer, id="a/2"))
    assert got.messages == (answer,) and got.complete
    assert client.streams == (stream,)
    assert client.resume(stream) is None  # the answer came: done
    assert client.streams == ()


def test_resumption_gives_up_after_max_reconnects_and_without_an_id() -> None:
    client = StreamableHTTPClient(URL, max_reconnects=2)
    stream = _sse_answer(client, request(1))
    client.sse_data(stream, encode_event(b"", id="b/0"))
    delays = []
    for _ in range(2):
        req = client.resume(stream)
        assert req is not None
        delays.append(req.delay)
    assert delays == [1.0, 2.0]  # no retry given: 1 s, times the attempt
    assert client.resume(stream) is None
    no_id = _sse_answer(client, request(2))
    assert client.resume(no_id) is None
    refused = _sse_answer(client, request(3))
    client.sse_data(refused, encode_event(b"", id="c/0"))
    assert client.resume(refused) is not None
    assert not client.resume_answer(refused, 400)
    assert client.resume(refused) is None


def test_nothing_is_resumed_after_terminate() -> None:
    client = StreamableHTTPClient(URL)
    stream = _sse_answer(client, request(1))
    client.sse_data(stream, encode_event(b"", id="d/0"))
    client.terminate()
    assert client.resume(stream) is None


def test_a_stream_is_complete_by_parsed_message_not_by_bytes() -> None:
    client = StreamableHTTPClient(URL)
    stream = _sse_answer(client, request(1))
    # A server request whose params mention "result" is not a response.
    sneaky = b'{"jsonrpc":"2.0","id":9,"method":"sampling/createMessage","params":{"result":1}}'
    got = client.sse_data(stream, encode_event(sneaky, id="e/1"))
    assert got.messages == (sneaky,) and not got.complete
    batch = b'[{"jsonrpc":"2.0","id":1,"error":{"code":-1,"message":"m"}}]'
    assert client.sse_data(stream, encode_event(batch, id="e/2")).complete


def test_a_broken_sse_answer_fails_its_request() -> None:
    client = StreamableHTTPClient(URL)
    stream = _sse_answer(client, request(6))
    got = client.sse_data(stream, b"data: " + b"x" * (17 * 1024 * 1024))
    assert got.broken and got.failure is not None
    error = json.loads(got.failure)
    assert error["id"] == 6 and "broke a limit" in error["error"]["message"]
    assert client.resume(stream) is None


def test_the_standalone_stream_once_then_open_or_refused() -> None:
    client = StreamableHTTPClient(URL)
    handshake(client)
    assert client.standalone_stream() is not None
    assert client.standalone_stream() is None
    assert client.standalone_answer(405) is None and client.standalone_open is False
    other = StreamableHTTPClient(URL)
    other.standalone_stream()
    opened = other.standalone_answer(200)
    assert isinstance(opened, ReadSSE) and other.standalone_open
    note = b'{"jsonrpc":"2.0","method":"notifications/tools/list_changed"}'
    got = other.sse_data(opened.stream, encode_event(note, id="g/1"))
    assert got.messages == (note,) and not got.complete
    assert other.resume(opened.stream) is not None


def test_the_version_is_taken_from_an_sse_initialize_answer() -> None:
    client = StreamableHTTPClient(URL)
    stream = _sse_answer(client, INIT)
    got = client.sse_data(stream, encode_event(json.dumps(INIT_RESULT).encode(), id="h/1"))
    assert got.complete and client.protocol_version == "2025-06-18"
    assert header(client.request_for(request(1)), "mcp-protocol-version") == "2025-06-18"


def test_frame_of_bytes() -> None:
    assert frame_of(request(1).data).kind is FrameKind.REQUEST
    assert frame_of(INITIALIZED.data).method == "notifications/initialized"
    assert frame_of(b'{"jsonrpc":"2.0","id":2,"error":{}}').kind is FrameKind.ERROR
    assert frame_of(b'{"jsonrpc":"2.0","id":2,"result":{}}').kind is FrameKind.RESPONSE
    assert frame_of(b"[1]").kind is FrameKind.BATCH


def test_which_answers_are_read_in_order() -> None:
    client = StreamableHTTPClient(URL)
    assert client.request_for(INIT).in_order
    assert client.request_for(INITIALIZED).in_order
    assert client.request_for(Frame(FrameKind.RESPONSE, b'{"jsonrpc":"2.0","id":1,'
                                    b'"result":{}}', 1)).in_order
    assert not client.request_for(request(1)).in_order  # read in the background


def test_the_version_comes_from_the_initialize_answer_only() -> None:
    client = StreamableHTTPClient(URL)
    client.request_for(INIT)
    other = {"jsonrpc": "2.0", "id": 5, "result": {"protocolVersion": "1999-01-01"}}
    assert client.json_body(json.dumps(other).encode())  # delivered, but not the handshake's
    assert client.protocol_version is None
    wrong_type = {"jsonrpc": "2.0", "id": "0", "result": {"protocolVersion": "1999-01-01"}}
    client.json_body(json.dumps(wrong_type).encode())
    assert client.protocol_version is None
    client.json_body(json.dumps(INIT_RESULT).encode())
    assert client.protocol_version == "2025-06-18"
    client.json_body(json.dumps(other).encode())
    assert client.protocol_version == "2025-06-18"


# ---------------------------------------------------------------- issue 14: reconnects


def test_graceful_idle_closes_do_not_restart_the_attempt_count() -> None:
    """A server that primes each stream and then ends it (an idle close) is resumed at most
    ``max_reconnects`` times: a priming event (no message) does not restart the count."""
    client = StreamableHTTPClient(URL, max_reconnects=3)
    handshake(client)
    standalone = client.standalone_answer(200)
    assert standalone is not None
    stream = standalone.stream
    resumes = 0
    for n in range(10):
        client.sse_data(stream, encode_event(b"", id=f"g/{n}", retry=100))
        resume = client.resume(stream)
        if resume is None:
            break
        resumes += 1
        assert client.resume_answer(stream, 200)
    assert resumes == 3
    assert client.take_lost(stream) and not client.take_lost(stream)  # reported once
    assert client.retry_ms == 100


def test_a_message_restarts_the_attempt_count() -> None:
    client = StreamableHTTPClient(URL, max_reconnects=1)
    handshake(client)
    stream = _sse_answer(client, request(5))
    note = b'{"jsonrpc":"2.0","method":"notifications/progress","params":{}}'
    for n in range(5):
        client.sse_data(stream, encode_event(note, id=f"m/{n}"))
        resume = client.resume(stream)
        assert resume is not None and resume.delay == 1.0
        assert client.resume_answer(stream, 200)


def test_the_standalone_stream_is_opened_again_without_event_ids() -> None:
    client = StreamableHTTPClient(URL, max_reconnects=2)
    handshake(client)
    standalone = client.standalone_answer(200)
    assert standalone is not None
    again = client.resume(standalone.stream)
    assert again is not None and again.method == "GET"
    assert header(again, "last-event-id") is None and header(again, "mcp-session-id") == "s1"


def test_an_answer_stream_lost_without_an_id_is_reported_lost() -> None:
    client = StreamableHTTPClient(URL)
    handshake(client)
    lost = _sse_answer(client, request(6))
    assert client.resume(lost) is None and client.take_lost(lost)
    done = _sse_answer(client, request(7))
    client.sse_data(done, encode_event(b'{"jsonrpc":"2.0","id":7,"result":{}}'))
    assert client.resume(done) is None and not client.take_lost(done)  # complete: not lost
    refused = _sse_answer(client, request(8))
    client.sse_data(refused, encode_event(b"", id="r/0"))
    assert client.resume(refused) is not None
    assert not client.resume_answer(refused, 400) and client.take_lost(refused)
