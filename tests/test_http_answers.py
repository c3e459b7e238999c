"""Streamable HTTP, client side, sans-IO: what the answer to a POST means
(sansio.http.classify_post_answer) and how an error body is said in one line
(sansio.http.summarize_error_body)."""

from __future__ import annotations

import json

import pytest

from sansio.http import (
    AnswerKind,
    PostAnswer,
    answer_messages,
    classify_post_answer,
    is_response,
    media_type,
    summarize_error_body,
)

K = AnswerKind


@pytest.mark.parametrize(("status", "ctype", "is_request", "has_session", "kind"), [
    # The spec's answers to a request: JSON or an SSE stream.
    (200, "application/json", True, False, K.JSON),
    (200, "application/json; charset=utf-8", True, True, K.JSON),
    (200, "Text/Event-Stream", True, True, K.SSE),
    # Notifications and responses: 202 Accepted (any 2xx is taken as such).
    (202, None, False, True, K.ACCEPTED),
    (202, "text/html", True, True, K.ACCEPTED),
    (200, "text/html", False, True, K.ACCEPTED),
    # A 404 for our session: it is gone; without one, an HTTP error.
    (404, "application/json", True, True, K.SESSION_GONE),
    (404, "application/json", True, False, K.HTTP_ERROR),
    # Errors that may explain themselves in JSON or text, or say nothing.
    (400, "application/json", True, True, K.HTTP_ERROR),
    (401, None, True, False, K.HTTP_ERROR),
    (503, "text/plain", False, False, K.HTTP_ERROR),
    # Not an MCP endpoint: web pages, a request answered in another type, redirects.
    (200, "text/html; charset=utf-8", True, False, K.NOT_MCP),
    (200, None, True, False, K.NOT_MCP),
    (200, "text/plain", True, False, K.NOT_MCP),
    (501, "text/html", True, False, K.NOT_MCP),
    (404, "text/html", True, True, K.NOT_MCP),
    (307, None, True, False, K.NOT_MCP),
])
def test_classify_post_answer(status: int, ctype: str | None, is_request: bool,
                              has_session: bool, kind: AnswerKind) -> None:
    answer = classify_post_answer(status, ctype, is_request=is_request,
                                  has_session=has_session)
    assert answer.kind is kind
    assert answer.status == status
    assert answer.media_type == media_type(ctype)


def test_describe_is_one_line() -> None:
    assert PostAnswer(K.NOT_MCP, 200, "text/html").describe() == \
        "HTTP 200 with Content-Type text/html"
    assert PostAnswer(K.NOT_MCP, 200, "").describe() == "HTTP 200 without a Content-Type"


def test_media_type() -> None:
    assert media_type(None) == ""
    assert media_type("Application/JSON ; charset=utf-8") == "application/json"


@pytest.mark.parametrize(("ctype", "body", "summary"), [
    ("application/json", json.dumps({"jsonrpc": "2.0", "id": None, "error": {
        "code": -32600, "message": "Bad Request:\n no session"}}).encode(),
     "Bad Request: no session"),
    ("application/problem+json", b'{"title": "Forbidden", "status": 403}', "Forbidden"),
    ("application/json", b'{"detail": "Not authenticated"}', "Not authenticated"),
    ("application/json", b'{"error": "invalid_token"}', "invalid_token"),
    ("application/json", b"[1, 2]", ""),
    ("application/json", b"{not json", ""),
    ("text/plain; charset=utf-8", b"  upstream\r\n\ttimed out \x1b[0m ", "upstream timed out [0m"),
    ("text/html", b"<html><body>Oops</body></html>", ""),
    ("application/octet-stream", b"\x00\x01", ""),
    (None, b"what", ""),
])
def test_summarize_error_body(ctype: str | None, body: bytes, summary: str) -> None:
    assert summarize_error_body(ctype, body) == summary


def test_summary_is_bounded() -> None:
    text = summarize_error_body("text/plain", b"word " * 1000, limit=50)
    assert len(text) == 50 and text.endswith("...")
    assert summarize_error_body("text/plain", "é".encode() * 10 + b"\xff") == "é" * 10 + "\ufffd"


def test_is_response() -> None:
    assert is_response({"jsonrpc": "2.0", "id": 1, "result": {}})
    assert is_response({"jsonrpc": "2.0", "id": 1, "error": {"code": 1, "message": "m"}})
    assert is_response([{"jsonrpc": "2.0", "method": "n"}, {"jsonrpc": "2.0", "id": 2,
                                                            "result": {}}])
    # A request or notification whose params mention "result" is not one.
    assert not is_response({"jsonrpc": "2.0", "id": 3, "method": "m", "params": {
        "result": '"result"'}})
    assert not is_response({"jsonrpc": "2.0", "method": "notifications/message",
                            "params": {"data": '"error"'}})
    assert not is_response("result")


def test_answer_messages_json_and_sse() -> None:
    msg = {"jsonrpc": "2.0", "id": 1, "result": {"ok": True}}
    assert answer_messages("application/json", json.dumps(msg).encode()) == [msg]
    sse = b"id: a\ndata:\n\n" + b"event: message\ndata: " + json.dumps(msg).encode() + \
        b"\n\ndata: {broken\n\n"
    assert answer_messages("text/event-stream; charset=utf-8", sse) == [msg]
    assert answer_messages("application/json", b"<html>") == []
