"""The sans-IO HTTP client's deadlines: how long each answer's head may take (decided here,
on the caller's clock), and a stream given up failing the request it carried."""

from __future__ import annotations

import json

from sansio.frames import Frame, FrameKind
from sansio.http_client import (
    DEFAULT_ANSWER_TIMEOUT,
    DEFAULT_HEAD_TIMEOUT,
    ReadSSE,
    StreamableHTTPClient,
)

URL = "http://127.0.0.1:9/mcp"


def _frame(kind: FrameKind, method: str | None, rid: object = None) -> Frame:
    msg: dict[str, object] = {"jsonrpc": "2.0"}
    if method is not None:
        msg["method"] = method
    if rid is not None:
        msg["id"] = rid
    if kind is FrameKind.RESPONSE:
        msg["result"] = {}
    return Frame(kind, json.dumps(msg).encode(), rid, None, method)


def test_what_is_answered_at_once_gets_head_timeout_and_requests_answer_timeout() -> None:
    client = StreamableHTTPClient(URL)
    init = client.request_for(_frame(FrameKind.REQUEST, "initialize", 0))
    note = client.request_for(_frame(FrameKind.NOTIFICATION, "notifications/initialized"))
    reply = client.request_for(_frame(FrameKind.RESPONSE, None, 7))
    call = client.request_for(_frame(FrameKind.REQUEST, "tools/call", 1))
    assert init.head_timeout == note.head_timeout == reply.head_timeout == DEFAULT_HEAD_TIMEOUT
    assert call.head_timeout == DEFAULT_ANSWER_TIMEOUT
    assert client.standalone_stream().head_timeout == DEFAULT_HEAD_TIMEOUT  # type: ignore[union-attr]
    assert init.head_deadline(100.0) == 100.0 + DEFAULT_HEAD_TIMEOUT


def test_the_era_probe_and_ping_are_answered_at_once() -> None:
    client = StreamableHTTPClient(URL, head_timeout=3.0)
    for method in ("server/discover", "ping"):
        frame = _frame(FrameKind.REQUEST, method, 1)
        frame = Frame(frame.kind, frame.data, frame.request_id, None, method,
                      protocol_version="2026-07-28")
        request = client.request_for(frame)
        assert not request.in_order  # read in the background all the same
        assert request.head_timeout == 3.0


def test_head_timeouts_are_configurable_and_none_is_unbounded() -> None:
    client = StreamableHTTPClient(URL, head_timeout=2.0, answer_timeout=None)
    note = client.request_for(_frame(FrameKind.NOTIFICATION, "notifications/initialized"))
    call = client.request_for(_frame(FrameKind.REQUEST, "tools/call", 1))
    assert note.head_deadline(5.0) == 7.0
    assert call.head_deadline(5.0) == float("inf")


def _opened(client: StreamableHTTPClient, rid: int = 3) -> int:
    outcome = client.answer(_frame(FrameKind.REQUEST, "tools/call", rid), 200,
                            {"content-type": "text/event-stream"})
    assert isinstance(outcome, ReadSSE)
    return outcome.stream


def _error_message(error: bytes | None) -> str:
    assert error is not None
    answer = json.loads(error)
    assert answer["id"] == 3
    assert answer["error"]["code"] == -32603
    return str(answer["error"]["message"])


def test_a_stream_given_up_without_an_event_id_fails_its_request_once() -> None:
    client = StreamableHTTPClient(URL)
    stream = _opened(client)
    assert client.resume(stream) is None
    assert "gave no event id" in _error_message(client.lost(stream))
    assert client.lost(stream) is None  # once


def test_a_refused_resume_and_spent_attempts_fail_the_request() -> None:
    client = StreamableHTTPClient(URL, max_reconnects=1)
    refused = _opened(client)
    client.sse_data(refused, b"id: a\ndata: {\"jsonrpc\":\"2.0\",\"method\":\"x\"}\n\n")
    assert client.resume(refused) is not None
    assert not client.resume_answer(refused, 400)
    assert "refused (HTTP 400)" in _error_message(client.lost(refused))
    spent = _opened(client)
    client.sse_data(spent, b"id: a\ndata: {\"jsonrpc\":\"2.0\",\"method\":\"x\"}\n\n")
    assert client.resume(spent) is not None
    assert client.resume(spent) is None
    assert "1 attempts to resume it failed" in _error_message(client.lost(spent))
    gone = _opened(client)
    client.resume_failed(gone, "connection refused")
    assert "connection refused" in _error_message(client.lost(gone))


def test_a_complete_stream_or_a_closing_connection_leaves_nothing_to_fail() -> None:
    client = StreamableHTTPClient(URL)
    done = _opened(client)
    client.sse_data(done, b'data: {"jsonrpc":"2.0","id":3,"result":{}}\n\n')
    assert client.resume(done) is None
    assert client.lost(done) is None
    closing = _opened(client)
    client.terminate()
    assert client.resume(closing) is None
    assert client.lost(closing) is None
