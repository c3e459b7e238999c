"""JSON-RPC batches: accepted only when the negotiated revision is 2025-03-26 (issue 2, item 1)."""

from __future__ import annotations

import pytest

from sansio import (
    NotificationReceived,
    RemoteProtocolError,
    RequestCancelled,
    RequestReceived,
    _codec,
)
from tests.helpers import frame, hint_of, operating_pair


def ping(rid: object) -> dict[str, object]:
    return {"jsonrpc": "2.0", "id": rid, "method": "ping"}


@pytest.mark.parametrize("version", ["2024-11-05", "2025-06-18", "2025-11-25"])
def test_batches_refused_outside_2025_03_26(version: str) -> None:
    pair = operating_pair(version)
    pair.server.receive_data(frame([ping(1), ping(2)]))
    with pytest.raises(RemoteProtocolError) as info:
        pair.server.next_event()
    assert hint_of(info.value)["error"]["code"] == -32600 and not info.value.fatal


def test_batch_before_initialization_is_refused() -> None:
    from sansio import Connection, Role
    server = Connection(Role.SERVER)
    server.receive_data(frame([{"jsonrpc": "2.0", "id": 1, "method": "initialize",
                                "params": {}}]))
    with pytest.raises(RemoteProtocolError):
        server.next_event()


def test_batch_answered_as_one_array() -> None:
    pair = operating_pair("2025-03-26")
    pair.server.receive_data(frame([ping(1), {"jsonrpc": "2.0", "method": "vendor/n"},
                                    ping("b")]))
    events = [pair.server.next_event() for _ in range(3)]
    assert events == [RequestReceived(1, "ping"), NotificationReceived("vendor/n"),
                      RequestReceived("b", "ping")]
    pair.server.send_response("b", {})
    assert pair.server.data_to_send() == b""  # held until the whole batch is answered
    pair.server.send_error(1, -32000, "nope")
    out = pair.server.data_to_send()
    assert out.count(b"\n") == 1
    assert _codec.loads(out) == [
        {"jsonrpc": "2.0", "id": "b", "result": {}},
        {"jsonrpc": "2.0", "id": 1, "error": {"code": -32000, "message": "nope"}},
    ]


def test_batch_with_invalid_members() -> None:
    pair = operating_pair("2025-03-26")
    pair.server.receive_data(frame([ping(1), {"jsonrpc": "2.0", "id": 2, "method": 3}, 5]))
    assert pair.server.next_event() == RequestReceived(1, "ping")
    pair.server.send_response(1, {})
    answers = _codec.loads(pair.server.data_to_send())
    assert [a.get("id") for a in answers] == [2, None, 1]
    assert [a.get("error", {}).get("code") for a in answers] == [-32600, -32600, None]


def test_batch_of_only_invalid_members_is_answered_by_the_hint() -> None:
    pair = operating_pair("2025-03-26")
    pair.server.receive_data(frame([1, 2]))
    with pytest.raises(RemoteProtocolError) as info:
        pair.server.next_event()
    assert info.value.response_hint is not None
    answers = _codec.loads(info.value.response_hint)
    assert len(answers) == 2 and all(a["error"]["code"] == -32600 for a in answers)


def test_empty_batch_is_invalid() -> None:
    pair = operating_pair("2025-03-26")
    pair.server.receive_data(b"[]\n")
    with pytest.raises(RemoteProtocolError) as info:
        pair.server.next_event()
    assert hint_of(info.value)["error"]["code"] == -32600


def test_batch_of_notifications_needs_no_answer() -> None:
    pair = operating_pair("2025-03-26")
    pair.server.receive_data(frame([{"jsonrpc": "2.0", "method": "vendor/a"},
                                    {"jsonrpc": "2.0", "method": "vendor/b"}]))
    assert [pair.server.next_event() for _ in range(2)] == [
        NotificationReceived("vendor/a"), NotificationReceived("vendor/b")]
    assert pair.server.data_to_send() == b""


def test_cancelled_batch_member_is_left_out() -> None:
    pair = operating_pair("2025-03-26")
    pair.server.receive_data(frame([ping(1), ping(2)]))
    pair.server.next_event()
    pair.server.next_event()
    pair.server.receive_data(frame({"jsonrpc": "2.0", "method": "notifications/cancelled",
                                    "params": {"requestId": 2}}))
    assert pair.server.next_event() == RequestCancelled(2)
    pair.server.send_response(2, {})  # no-op
    pair.server.send_response(1, {})
    assert _codec.loads(pair.server.data_to_send()) == [{"jsonrpc": "2.0", "id": 1,
                                                        "result": {}}]


def test_batched_responses_from_the_peer() -> None:
    pair = operating_pair("2025-03-26")
    a = pair.client.send_request("ping")
    b = pair.client.send_request("ping")
    pair.deliver(pair.client)
    pair.client.receive_data(frame([{"jsonrpc": "2.0", "id": b, "result": {}},
                                    {"jsonrpc": "2.0", "id": a, "result": {}}]))
    assert [pair.client.next_event().request_id for _ in range(2)] == [b, a]  # type: ignore[union-attr]
