"""Correlation: ids, exactly-once answers, unknown and duplicate ids (issue 2, item 3)."""

from __future__ import annotations

import pytest

from sansio import (
    NEED_DATA,
    Closed,
    Connection,
    ErrorCode,
    ErrorReceived,
    LocalProtocolError,
    PeerDisconnected,
    RemoteProtocolError,
    RequestReceived,
    ResponseReceived,
    Role,
    State,
)
from tests.helpers import frame, hint_of, operating_pair


def test_engine_allocates_increasing_unique_ids() -> None:
    pair = operating_pair()
    ids = [pair.client.send_request("ping") for _ in range(5)]
    assert len(set(ids)) == 5 and ids == sorted(ids)
    assert all(isinstance(i, int) for i in ids)
    assert pair.client.pending_requests == frozenset(ids)


def test_out_of_order_answers_are_matched() -> None:
    pair = operating_pair()
    a = pair.client.send_request("tools/list")
    b = pair.client.send_request("prompts/list")
    c = pair.client.send_request("resources/list")
    pair.deliver(pair.client)
    pair.server.send_response(c, {"resources": []})
    pair.server.send_error(a, -32603, "x")
    pair.server.send_response(b, {"prompts": []})
    events = pair.deliver(pair.server)
    assert events == [
        ResponseReceived(c, "resources/list", {"resources": []}),
        ErrorReceived(a, "tools/list", events[1].error),  # type: ignore[union-attr]
        ResponseReceived(b, "prompts/list", {"prompts": []}),
    ]
    assert pair.client.pending_requests == frozenset()
    assert pair.server.serving_requests == frozenset()


def test_response_to_unknown_id_does_not_break_the_connection() -> None:
    pair = operating_pair()
    pair.client.receive_data(frame({"jsonrpc": "2.0", "id": 12345, "result": {}}))
    with pytest.raises(RemoteProtocolError) as info:
        pair.client.next_event()
    assert not info.value.fatal and info.value.response_hint is None
    assert pair.client.state is State.OPERATING
    pair.call(pair.client, "ping", None, {})


def test_second_answer_to_the_same_id_is_unknown() -> None:
    pair = operating_pair()
    rid, _ = pair.request(pair.client, "ping")
    answer = frame({"jsonrpc": "2.0", "id": rid, "result": {}})
    pair.client.receive_data(answer + answer)
    assert isinstance(pair.client.next_event(), ResponseReceived)
    with pytest.raises(RemoteProtocolError):
        pair.client.next_event()


def test_answering_twice_locally_is_refused() -> None:
    pair = operating_pair()
    rid, _ = pair.request(pair.client, "ping")
    pair.server.send_response(rid, {})
    with pytest.raises(LocalProtocolError):
        pair.server.send_response(rid, {})
    with pytest.raises(LocalProtocolError):
        pair.server.send_error(rid, -1, "x")
    with pytest.raises(LocalProtocolError):
        pair.server.send_response("never-received", {})


def test_duplicate_incoming_request_id_is_refused() -> None:
    pair = operating_pair()
    pair.server.receive_data(frame({"jsonrpc": "2.0", "id": "dup", "method": "ping"}) * 2)
    assert pair.server.next_event() == RequestReceived("dup", "ping")
    with pytest.raises(RemoteProtocolError) as info:
        pair.server.next_event()
    assert not info.value.fatal
    assert hint_of(info.value)["error"]["code"] == ErrorCode.INVALID_REQUEST
    # the first request is still served and can be answered once
    pair.server.send_response("dup", {})
    assert pair.server.serving_requests == frozenset()
    # the id can be reused after it was answered
    pair.server.receive_data(frame({"jsonrpc": "2.0", "id": "dup", "method": "ping"}))
    assert pair.server.next_event() == RequestReceived("dup", "ping")


def test_peer_disconnect_names_every_pending_request() -> None:
    pair = operating_pair()
    ids = {pair.client.send_request("ping"), pair.client.send_request("tools/list")}
    pair.deliver(pair.client)
    pair.client.receive_data(b"")
    event = pair.client.next_event()
    assert isinstance(event, PeerDisconnected)
    assert set(event.pending) == ids and event.reason is None
    assert pair.client.state is State.CLOSED
    # later calls repeat the terminal event without naming anything again
    assert pair.client.next_event() == PeerDisconnected(pending=())
    with pytest.raises(LocalProtocolError):
        pair.client.send_request("ping")


def test_frames_before_eof_are_delivered_first() -> None:
    pair = operating_pair()
    rid = pair.client.send_request("ping")
    pair.deliver(pair.client)
    pair.client.receive_data(frame({"jsonrpc": "2.0", "id": rid, "result": {}}))
    pair.client.receive_data(b"")
    assert isinstance(pair.client.next_event(), ResponseReceived)
    assert pair.client.next_event() == PeerDisconnected(pending=())


def test_eof_mid_frame_is_reported() -> None:
    pair = operating_pair()
    rid = pair.client.send_request("ping")
    pair.client.receive_data(b'{"jsonrpc":"2.0","id":')
    pair.client.receive_data(b"")
    event = pair.client.next_event()
    assert isinstance(event, PeerDisconnected) and event.pending == (rid,)
    assert event.reason is not None and "mid-frame" in event.reason


def test_connection_lost_with_reason() -> None:
    conn = Connection(Role.CLIENT)
    rid = conn.send_initialize({"name": "c", "version": "1"})
    conn.connection_lost("broken pipe")
    assert conn.next_event() == PeerDisconnected(pending=(rid,), reason="broken pipe")


def test_local_close_names_pending_requests() -> None:
    pair = operating_pair()
    rid = pair.client.send_request("ping")
    pair.client.close()
    assert pair.client.next_event() == Closed(pending=(rid,))
    assert pair.client.next_event() == Closed(pending=())
    pair.client.close()  # idempotent
    assert pair.client.state is State.CLOSED
    with pytest.raises(LocalProtocolError):
        pair.client.send_request("ping")


def test_close_after_fatal_error_still_names_pending() -> None:
    client = Connection(Role.CLIENT, max_frame_size=64)
    rid = client.send_initialize({"name": "c", "version": "1"})
    client.receive_data(b"x" * 100)
    with pytest.raises(RemoteProtocolError) as info:
        client.next_event()
    assert info.value.fatal and client.state is State.ERROR
    with pytest.raises(RemoteProtocolError):
        client.next_event()
    client.close()
    assert client.next_event() == Closed(pending=(rid,))
    assert client.state is State.ERROR


def test_data_after_eof_is_a_caller_bug() -> None:
    conn = Connection(Role.SERVER)
    conn.receive_data(b"")
    conn.receive_data(b"")  # repeated EOF is fine
    with pytest.raises(RuntimeError):
        conn.receive_data(b"x")
    with pytest.raises(RuntimeError):
        conn.receive_message(b"{}")


def test_need_data_on_partial_frame() -> None:
    pair = operating_pair()
    pair.server.receive_data(b'{"jsonrpc":"2.0","id":1,"meth')
    assert pair.server.next_event() is NEED_DATA
    pair.server.receive_data(b'od":"ping"}\n')
    assert pair.server.next_event() == RequestReceived(1, "ping")


def test_receive_message_whole_values() -> None:
    pair = operating_pair()
    pair.server.receive_message({"jsonrpc": "2.0", "id": 1, "method": "ping"})
    pair.server.receive_message(b'{"jsonrpc":"2.0","id":2,"method":"ping"}')
    pair.server.receive_message('{"jsonrpc":"2.0","id":3,"method":"ping"}')
    assert [pair.server.next_event() for _ in range(3)] == [
        RequestReceived(1, "ping"), RequestReceived(2, "ping"), RequestReceived(3, "ping")]
    assert pair.server.next_event() is NEED_DATA


def test_frames_to_send_one_per_message() -> None:
    pair = operating_pair()
    pair.client.send_request("ping")
    pair.client.send_request("ping")
    frames = pair.client.frames_to_send()
    assert len(frames) == 2 and all(
        f.data.endswith(b"\n") and f.data.count(b"\n") == 1 for f in frames)
    assert pair.client.data_to_send() == b""


def test_malformed_result_finishes_the_request_with_an_error() -> None:
    pair = operating_pair()
    rid, _ = pair.request(pair.client, "tools/list")
    pair.client.receive_data(frame({"jsonrpc": "2.0", "id": rid, "result": {"tools": 5}}))
    with pytest.raises(RemoteProtocolError) as info:
        pair.client.next_event()
    assert info.value.finished_request == rid and info.value.request_id is None
    assert not info.value.fatal
    assert rid not in pair.client.pending_requests


@pytest.mark.parametrize("bad", [
    {"result": 5},
    {"error": {"code": "x", "message": "m"}},
    {"error": "boom"},
    {"result": {}, "error": {"code": 1, "message": "m"}},
])
def test_malformed_response_envelope_finishes_the_request(bad: dict[str, object]) -> None:
    pair = operating_pair()
    rid, _ = pair.request(pair.client, "ping")
    pair.client.receive_data(frame({"jsonrpc": "2.0", "id": rid, **bad}))
    with pytest.raises(RemoteProtocolError) as info:
        pair.client.next_event()
    assert info.value.finished_request == rid and info.value.response_hint is None
    assert rid not in pair.client.pending_requests
    assert pair.client.state is State.OPERATING


def test_send_failed_moves_to_error() -> None:
    pair = operating_pair()
    rid = pair.client.send_request("ping")
    pair.client.send_failed()
    assert pair.client.state is State.ERROR
    with pytest.raises(LocalProtocolError):
        pair.client.send_request("ping")
    pair.client.close()
    assert pair.client.next_event() == Closed(pending=(rid,))
