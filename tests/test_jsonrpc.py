"""JSON-RPC 2.0 exactly: parsing, serialising, ids, error codes (issue 2, item 1)."""

from __future__ import annotations

from typing import Any

import pytest

from sansio import (
    NEED_DATA,
    Connection,
    ErrorCode,
    ErrorObject,
    ErrorReceived,
    NotificationReceived,
    RemoteProtocolError,
    RequestReceived,
    ResponseReceived,
    Role,
    _codec,
)
from sansio.jsonrpc import (
    ErrorResponse,
    FrameError,
    Notification,
    Request,
    Response,
    decode_message,
)
from tests.helpers import frame, hint_of, operating_pair


@pytest.mark.parametrize(("obj", "expected"), [
    ({"jsonrpc": "2.0", "id": 1, "method": "ping"}, Request(1, "ping")),
    ({"jsonrpc": "2.0", "id": "a", "method": "x", "params": {"k": 1}}, Request("a", "x", {"k": 1})),
    ({"jsonrpc": "2.0", "id": 0, "method": "ping"}, Request(0, "ping")),
    ({"jsonrpc": "2.0", "id": -5, "method": "ping"}, Request(-5, "ping")),
    ({"jsonrpc": "2.0", "method": "n"}, Notification("n")),
    ({"jsonrpc": "2.0", "method": "n", "params": {}}, Notification("n", {})),
    ({"jsonrpc": "2.0", "id": 3, "result": {}}, Response(3, {})),
    ({"jsonrpc": "2.0", "id": 3, "error": {"code": -1, "message": "m", "data": [1]}},
     ErrorResponse(3, ErrorObject(-1, "m", [1]))),
    ({"jsonrpc": "2.0", "id": None, "error": {"code": -32700, "message": "m"}},
     ErrorResponse(None, ErrorObject(-32700, "m"))),
    ({"jsonrpc": "2.0", "error": {"code": -32700, "message": "m"}},
     ErrorResponse(None, ErrorObject(-32700, "m"))),
])
def test_decode_valid(obj: dict[str, Any], expected: object) -> None:
    assert decode_message(obj) == expected


@pytest.mark.parametrize(("obj", "is_request", "rid"), [
    ([], True, None),
    ("x", True, None),
    (None, True, None),
    ({}, True, None),
    ({"jsonrpc": "1.0", "id": 1, "method": "ping"}, True, 1),
    ({"id": 1, "method": "ping"}, True, 1),
    ({"jsonrpc": "2.0", "id": True, "method": "ping"}, True, None),
    ({"jsonrpc": "2.0", "id": 1.0, "method": "ping"}, True, None),
    ({"jsonrpc": "2.0", "id": None, "method": "ping"}, True, None),
    ({"jsonrpc": "2.0", "id": [1], "method": "ping"}, True, None),
    ({"jsonrpc": "2.0", "id": 1, "method": 5}, True, 1),
    ({"jsonrpc": "2.0", "id": 1, "method": "x", "params": [1, 2]}, True, 1),
    ({"jsonrpc": "2.0", "id": 1, "method": "x", "params": None}, True, 1),
    ({"jsonrpc": "2.0", "id": 1, "method": "x", "params": "s"}, True, 1),
    ({"jsonrpc": "2.0", "id": 1, "result": {}, "error": {"code": 1, "message": ""}}, False, 1),
    ({"jsonrpc": "2.0", "id": 1, "result": [1]}, False, 1),
    ({"jsonrpc": "2.0", "id": True, "result": {}}, False, None),
    ({"jsonrpc": "2.0", "result": {}}, False, None),
    ({"jsonrpc": "2.0", "id": 1, "error": {"code": "x", "message": "m"}}, False, 1),
    ({"jsonrpc": "2.0", "id": 1, "error": {"code": True, "message": "m"}}, False, 1),
    ({"jsonrpc": "2.0", "id": 1, "error": {"code": 1}}, False, 1),
    ({"jsonrpc": "2.0", "id": 1, "error": "boom"}, False, 1),
])
def test_decode_invalid(obj: Any, is_request: bool, rid: object) -> None:
    with pytest.raises(FrameError) as info:
        decode_message(obj)
    assert info.value.code == ErrorCode.INVALID_REQUEST
    assert info.value.is_request is is_request
    assert info.value.request_id == rid


@pytest.mark.parametrize("role", [Role.CLIENT, Role.SERVER])
@pytest.mark.parametrize("data", [b"{not json}\n", b'{"a":\xff}\n', b"\xc3\x28\n", b"NaN\n"])
def test_parse_error_answered_with_null_id(role: Role, data: bytes) -> None:
    conn = Connection(role)
    conn.receive_data(data)
    with pytest.raises(RemoteProtocolError) as info:
        conn.next_event()
    assert info.value.code == ErrorCode.PARSE_ERROR and not info.value.fatal
    assert hint_of(info.value) == {
        "jsonrpc": "2.0", "id": None,
        "error": {"code": -32700, "message": info.value.message}}
    assert conn.next_event() is NEED_DATA  # the connection goes on


@pytest.mark.parametrize("role", [Role.CLIENT, Role.SERVER])
@pytest.mark.parametrize("obj", [
    {"jsonrpc": "2.0", "id": True, "method": "ping"},
    {"jsonrpc": "2.0", "id": 1.5, "method": "ping"},
    {"jsonrpc": "2.0", "id": None, "method": "ping"},
    [1, 2],
    7,
])
def test_invalid_request_answered(role: Role, obj: Any) -> None:
    conn = Connection(role)
    conn.receive_data(frame(obj))
    with pytest.raises(RemoteProtocolError) as info:
        conn.next_event()
    assert info.value.code == ErrorCode.INVALID_REQUEST and not info.value.fatal
    assert hint_of(info.value)["error"]["code"] == -32600
    assert hint_of(info.value)["id"] is None


def test_invalid_request_with_readable_id_is_answered_to_that_id() -> None:
    pair = operating_pair()
    pair.server.receive_data(frame({"jsonrpc": "2.0", "id": 9, "method": "tools/list",
                                    "params": [1]}))
    with pytest.raises(RemoteProtocolError) as info:
        pair.server.next_event()
    assert hint_of(info.value)["id"] == 9


def test_unknown_id_omitted_from_2025_11_25_on() -> None:
    pair = operating_pair("2025-11-25")
    pair.server.receive_data(b"garbage\n")
    with pytest.raises(RemoteProtocolError) as info:
        pair.server.next_event()
    assert "id" not in hint_of(info.value)
    older = operating_pair("2025-06-18")
    older.server.receive_data(b"garbage\n")
    with pytest.raises(RemoteProtocolError) as info:
        older.server.next_event()
    assert hint_of(info.value)["id"] is None


def test_bad_response_or_notification_gets_no_answer() -> None:
    pair = operating_pair()
    for obj in ({"jsonrpc": "2.0", "id": 1, "result": 5},
                {"jsonrpc": "2.0", "method": 5},
                {"jsonrpc": "2.0", "id": 1, "error": {"code": "x"}}):
        pair.client.receive_data(frame(obj))
        with pytest.raises(RemoteProtocolError) as info:
            pair.client.next_event()
        if "method" in obj:
            continue
        assert info.value.response_hint is None


def test_serialisation_is_exact() -> None:
    pair = operating_pair()
    rid = pair.client.send_request("tools/call", {"name": "echo", "arguments": {"x": "é"}})
    assert pair.client.data_to_send() == (
        b'{"jsonrpc":"2.0","id":%d,"method":"tools/call",'
        b'"params":{"name":"echo","arguments":{"x":"\xc3\xa9"}}}\n' % rid)
    pair.client.send_notification("notifications/roots/list_changed")
    assert pair.client.data_to_send() == (
        b'{"jsonrpc":"2.0","method":"notifications/roots/list_changed"}\n')


def test_response_and_error_serialisation() -> None:
    pair = operating_pair()
    rid, _ = pair.request(pair.client, "tools/list")
    pair.server.send_response(rid, {"tools": []})
    assert pair.server.data_to_send() == b'{"jsonrpc":"2.0","id":%d,"result":{"tools":[]}}\n' % rid
    rid, _ = pair.request(pair.client, "tools/list")
    pair.server.send_error(rid, ErrorCode.INTERNAL_ERROR, "boom", {"why": 1})
    assert pair.server.data_to_send() == (
        b'{"jsonrpc":"2.0","id":%d,"error":{"code":-32603,"message":"boom",'
        b'"data":{"why":1}}}\n' % rid)


def test_string_and_integer_ids_from_the_peer() -> None:
    pair = operating_pair()
    for rid in ("abc", 0, 2**40, "", -1):
        pair.server.receive_data(frame({"jsonrpc": "2.0", "id": rid, "method": "ping"}))
        (event,) = [pair.server.next_event()]
        assert event == RequestReceived(rid, "ping", None)
        pair.server.send_response(rid, {})
        assert _codec.loads(pair.server.data_to_send())["id"] == rid


def test_events_round_trip_values() -> None:
    pair = operating_pair()
    res = pair.call(pair.client, "tools/list", {}, {"tools": [], "nextCursor": "c"})
    assert res == ResponseReceived(res.request_id, "tools/list", {"tools": [], "nextCursor": "c"})
    rid, _ = pair.request(pair.client, "tools/list")
    pair.server.send_error(rid, -32000, "custom", None)
    (event,) = pair.deliver(pair.server)
    assert event == ErrorReceived(rid, "tools/list", ErrorObject(-32000, "custom"))
    pair.server.send_notification("notifications/tools/list_changed")
    assert pair.deliver(pair.server) == [NotificationReceived("notifications/tools/list_changed")]


def test_error_response_without_id_is_reported() -> None:
    pair = operating_pair()
    pair.client.receive_data(frame({"jsonrpc": "2.0", "id": None,
                                    "error": {"code": -32700, "message": "Parse error"}}))
    assert pair.client.next_event() == ErrorReceived(None, "", ErrorObject(-32700, "Parse error"))


def test_blank_lines_and_crlf_are_tolerated() -> None:
    pair = operating_pair()
    pair.server.receive_data(b'\n  \r\n{"jsonrpc":"2.0","id":5,"method":"ping"}\r\n')
    assert pair.server.next_event() == RequestReceived(5, "ping")
