"""The one JSON-RPC classifier (sansio/jsonrpc.py): classify, too_deep and batch_refusal,
which the engine and the HTTP objects share; classify agrees with decode_message."""

from __future__ import annotations

from typing import Any

import pytest

from sansio import RemoteProtocolError, RequestReceived
from sansio.jsonrpc import (
    ErrorResponse,
    FrameError,
    MessageKind,
    Notification,
    Request,
    Response,
    batch_refusal,
    classify,
    decode_message,
    too_deep,
)
from tests.helpers import operating_pair

_OF_CLASS = {Request: MessageKind.REQUEST, Notification: MessageKind.NOTIFICATION,
             Response: MessageKind.RESPONSE, ErrorResponse: MessageKind.ERROR}

CASES: list[tuple[Any, MessageKind]] = [
    ({"jsonrpc": "2.0", "id": 1, "method": "ping"}, MessageKind.REQUEST),
    ({"jsonrpc": "2.0", "id": "a", "method": "ping", "params": {}}, MessageKind.REQUEST),
    ({"jsonrpc": "2.0", "id": True, "method": "ping"}, MessageKind.REQUEST),  # invalid id
    ({"jsonrpc": "2.0", "id": 1.5, "method": "ping"}, MessageKind.REQUEST),
    ({"jsonrpc": "2.0", "id": None, "method": "ping"}, MessageKind.REQUEST),
    ({"jsonrpc": "2.0", "id": 0}, MessageKind.REQUEST),  # neither method nor answer
    ({"jsonrpc": "2.0", "method": "notifications/initialized"}, MessageKind.NOTIFICATION),
    ({"jsonrpc": "2.0", "method": 5}, MessageKind.NOTIFICATION),  # invalid method
    ({"jsonrpc": "2.0", "id": 1, "result": {}}, MessageKind.RESPONSE),
    ({"jsonrpc": "2.0", "id": 1, "method": None, "result": {}}, MessageKind.RESPONSE),
    ({"jsonrpc": "2.0", "id": True, "result": {}}, MessageKind.RESPONSE),  # invalid id
    ({"jsonrpc": "2.0", "id": 1, "error": {"code": 1, "message": "m"}}, MessageKind.ERROR),
    ({"jsonrpc": "2.0", "error": {"code": 1, "message": "m"}}, MessageKind.ERROR),
    ({"jsonrpc": "2.0", "id": 1, "result": {}, "error": {}}, MessageKind.ERROR),
    ([], MessageKind.INVALID),
    ("ping", MessageKind.INVALID),
    (None, MessageKind.INVALID),
]


@pytest.mark.parametrize(("obj", "kind"), CASES)
def test_classify_is_the_dispatch_of_decode_message(obj: Any, kind: MessageKind) -> None:
    assert classify(obj) is kind
    try:
        msg = decode_message(obj)
    except FrameError as exc:
        # an invalid frame is owed an answer exactly when it is request-shaped
        assert exc.is_request == (kind in (MessageKind.REQUEST, MessageKind.NOTIFICATION,
                                           MessageKind.INVALID))
    else:
        assert _OF_CLASS[msg.__class__] is kind


def test_too_deep_counts_the_outermost_container_as_one() -> None:
    nested: Any = {}
    for _ in range(4):
        nested = [nested]
    assert not too_deep(nested, 5) and too_deep(nested, 4)
    assert not too_deep({"a": {"b": [1, "x"]}}, 3) and too_deep({"a": {"b": [[]]}}, 3)
    assert not too_deep("scalar", 1)


def test_batches_are_allowed_only_in_2025_03_26() -> None:
    assert batch_refusal("2025-03-26") is None
    assert batch_refusal("2025-06-18") == \
        "JSON-RPC batches are not allowed in protocol version 2025-06-18"
    assert batch_refusal("2026-07-28") is not None
    assert batch_refusal(None) == "JSON-RPC batches are not allowed before initialization"


@pytest.mark.parametrize("obj", [
    {"jsonrpc": "2.0", "id": 7, "method": "ping"},
    {"jsonrpc": "2.0", "id": "s", "method": "ping", "params": {}},
    {"jsonrpc": "2.0", "method": "notifications/roots/list_changed"},
    {"jsonrpc": "2.0", "method": "notifications/roots/list_changed", "params": {}},
    {"jsonrpc": "2.0", "id": True, "method": "ping"},
    {"jsonrpc": "2.0", "id": 1.5, "method": "ping"},
    {"jsonrpc": "2.0", "id": 0},
    {"jsonrpc": "2.0", "method": "ping", "id": 8, "params": None},
])
def test_the_engine_answers_exactly_the_request_shaped(obj: Any) -> None:
    """The engine's inline fast path and decode_message agree with classify: a request-shaped
    message gets an event or an answer, a notification-shaped one never an answer."""
    pair = operating_pair()
    pair.server.receive_message(obj)
    try:
        event = pair.server.next_event()
    except RemoteProtocolError as exc:
        answered = exc.response_hint is not None
        assert answered == (classify(obj) is MessageKind.REQUEST)
    else:
        assert isinstance(event, RequestReceived) == (classify(obj) is MessageKind.REQUEST)
