"""Cancellation both ways, progress, ping (issue 2, item 4)."""

from __future__ import annotations

import pytest

from sansio import (
    NEED_DATA,
    Connection,
    LocalProtocolError,
    NotificationReceived,
    ProgressReceived,
    RemoteProtocolError,
    RequestCancelled,
    RequestReceived,
    Role,
    _codec,
)
from tests.helpers import frame, operating_pair


@pytest.mark.parametrize("direction", ["client->server", "server->client"])
def test_cancel_a_request_we_sent(direction: str) -> None:
    pair = operating_pair()
    sender, receiver = ((pair.client, pair.server) if direction == "client->server"
                        else (pair.server, pair.client))
    rid, _ = pair.request(sender, "ping")
    sender.cancel(rid, "user gave up")
    assert rid not in sender.pending_requests
    assert _codec.loads(sender.data_to_send()) == {
        "jsonrpc": "2.0", "method": "notifications/cancelled",
        "params": {"requestId": rid, "reason": "user gave up"}}
    receiver.receive_data(frame({"jsonrpc": "2.0", "method": "notifications/cancelled",
                                 "params": {"requestId": rid, "reason": "user gave up"}}))
    assert receiver.next_event() == RequestCancelled(rid, "user gave up")
    # no response is sent for a cancelled request
    receiver.send_response(rid, {})
    receiver.send_error(rid, -1, "late")
    assert receiver.data_to_send() == b""
    # a late response that crossed the cancel on the wire is ignored silently
    sender.receive_data(frame({"jsonrpc": "2.0", "id": rid, "result": {}}))
    assert sender.next_event() is NEED_DATA


def test_cancel_racing_completion_is_ignored() -> None:
    pair = operating_pair()
    rid, _ = pair.request(pair.client, "ping")
    pair.server.send_response(rid, {})
    pair.server.receive_data(frame({"jsonrpc": "2.0", "method": "notifications/cancelled",
                                    "params": {"requestId": rid}}))
    assert pair.server.next_event() is NEED_DATA
    assert pair.server.data_to_send().count(b"\n") == 1  # only the response


def test_cancel_of_unknown_request_is_ignored() -> None:
    pair = operating_pair()
    pair.server.receive_data(frame({"jsonrpc": "2.0", "method": "notifications/cancelled",
                                    "params": {"requestId": "nope"}}))
    pair.server.receive_data(frame({"jsonrpc": "2.0", "method": "notifications/cancelled",
                                    "params": {}}))
    assert pair.server.next_event() is NEED_DATA


def test_initialize_cannot_be_cancelled() -> None:
    client = Connection(Role.CLIENT)
    rid = client.send_initialize({"name": "c", "version": "1"})
    with pytest.raises(LocalProtocolError):
        client.cancel(rid)
    with pytest.raises(LocalProtocolError):
        client.send_notification("notifications/cancelled", {"requestId": rid})
    server = Connection(Role.SERVER)
    server.receive_data(frame({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "c",
                                                                             "version": "1"}}}))
    server.receive_data(frame({"jsonrpc": "2.0", "method": "notifications/cancelled",
                               "params": {"requestId": 1}}))
    server.next_event()
    assert server.next_event() is NEED_DATA  # ignored
    server.send_initialize_result(1, {"name": "s", "version": "1"})
    assert server.data_to_send()


def test_cancel_unknown_locally() -> None:
    pair = operating_pair()
    with pytest.raises(LocalProtocolError):
        pair.client.cancel(999)


def test_cancelled_notification_routes_to_cancel() -> None:
    pair = operating_pair()
    rid = pair.client.send_request("ping")
    pair.client.send_notification("notifications/cancelled", {"requestId": rid, "reason": "r"})
    assert rid not in pair.client.pending_requests


def test_progress_for_live_requests_only() -> None:
    pair = operating_pair()
    rid, event = pair.request(pair.client, "tools/call", {"name": "slow"}, progress_token="tok")
    assert event.progress_token == "tok"
    assert event.params == {"name": "slow", "_meta": {"progressToken": "tok"}}
    pair.server.send_notification("notifications/progress", {
        "progressToken": "tok", "progress": 1, "total": 4, "message": "a quarter"})
    assert pair.deliver(pair.server) == [ProgressReceived(rid, "tok", 1, 4, "a quarter")]
    pair.server.send_response(rid, {"content": []})
    pair.deliver(pair.server)
    # once the request ended, the server's progress is not even sent...
    pair.server.send_notification("notifications/progress", {"progressToken": "tok",
                                                             "progress": 2})
    assert pair.server.data_to_send() == b""
    # ... and if a peer sends it anyway, it is dropped
    pair.client.receive_data(frame({"jsonrpc": "2.0", "method": "notifications/progress",
                                    "params": {"progressToken": "tok", "progress": 3}}))
    assert pair.client.next_event() is NEED_DATA


def test_progress_token_in_params_meta_is_tracked() -> None:
    pair = operating_pair()
    rid, event = pair.request(pair.client, "tools/call",
                              {"name": "x", "_meta": {"progressToken": 7}})
    assert event.progress_token == 7
    pair.server.send_notification("notifications/progress", {"progressToken": 7,
                                                             "progress": 0.5})
    assert pair.deliver(pair.server) == [ProgressReceived(rid, 7, 0.5)]


def test_progress_token_reuse_is_refused() -> None:
    pair = operating_pair()
    pair.client.send_request("tools/call", {"name": "x"}, progress_token=1)
    with pytest.raises(LocalProtocolError):
        pair.client.send_request("tools/call", {"name": "y"}, progress_token=1)


def test_progress_dropped_when_request_cancelled() -> None:
    pair = operating_pair()
    rid, _ = pair.request(pair.client, "tools/call", {"name": "x"}, progress_token="p")
    pair.client.cancel(rid)
    pair.client.receive_data(frame({"jsonrpc": "2.0", "method": "notifications/progress",
                                    "params": {"progressToken": "p", "progress": 1}}))
    assert pair.client.next_event() is NEED_DATA


def test_invalid_progress_params() -> None:
    pair = operating_pair()
    pair.client.receive_data(frame({"jsonrpc": "2.0", "method": "notifications/progress",
                                    "params": {"progressToken": True, "progress": 1}}))
    with pytest.raises(RemoteProtocolError) as info:
        pair.client.next_event()
    assert info.value.response_hint is None and not info.value.fatal


@pytest.mark.parametrize("direction", ["client->server", "server->client"])
def test_ping_both_ways(direction: str) -> None:
    pair = operating_pair()
    sender = pair.client if direction == "client->server" else pair.server
    rid, event = pair.request(sender, "ping")
    assert event == RequestReceived(rid, "ping")
    pair.respond(pair.peer_of(sender), rid, {})


def test_custom_notifications_pass_through() -> None:
    pair = operating_pair()
    pair.client.send_notification("vendor/thing", {"a": 1})
    assert pair.deliver(pair.client) == [NotificationReceived("vendor/thing", {"a": 1})]
