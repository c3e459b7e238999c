"""``subscriptions/listen`` in the engine (MCP 2026-07-28, basic/patterns/subscriptions): the
server accepts a listen (the acknowledgement goes first), routes list-changed and
resource-updated notifications only to the streams that asked, each copy stamped with its
subscription id and related to its listen request, and ends streams; the client demultiplexes.
Every frame is checked against the 2026-07-28 schema when the schemas are available."""

from __future__ import annotations

from typing import Any

import pytest

from sansio import (
    Closed,
    Connection,
    ErrorCode,
    ErrorReceived,
    FrameKind,
    ListenAcknowledged,
    ListenEnded,
    ListenRefused,
    LocalProtocolError,
    NotificationReceived,
    PeerDisconnected,
    RemoteProtocolError,
    RequestCancelled,
    RequestReceived,
    ResponseReceived,
    Role,
    SubscriptionFilter,
    _codec,
)
from sansio.testing import ConnectionPair, drain_events
from sansio.versions import META_SUBSCRIPTION_ID
from tests.conftest import schemas_available
from tests.helpers import FULL_SERVER_CAPS, frame
from tests.test_properties import assert_frame_valid, assert_valid

V = "2026-07-28"
TOOLS = "notifications/tools/list_changed"
PROMPTS = "notifications/prompts/list_changed"
UPDATED = "notifications/resources/updated"
ACK = "notifications/subscriptions/acknowledged"


def check(frames: list[Any], sender: Role = Role.SERVER) -> None:
    if schemas_available():
        for f in frames:
            assert_frame_valid(V, sender, _codec.loads(f.data), None)


class Wire:
    def __init__(self, server_caps: dict[str, Any] | None = FULL_SERVER_CAPS,
                 **kwargs: Any) -> None:
        self.pair = ConnectionPair.stateless(server_capabilities=server_caps, **kwargs)
        self.client, self.server = self.pair.client, self.pair.server

    def move(self, sender: Connection) -> list[Any]:
        frames = sender.frames_to_send()
        receiver = self.pair.peer_of(sender)
        for f in frames:
            msg = _codec.loads(f.data)
            if schemas_available():
                assert_frame_valid(V, sender.role, msg, None)
            receiver.receive_data(f.data)
        self.last = frames
        return drain_events(receiver)

    def listen(self, wanted: dict[str, Any]) -> tuple[int, RequestReceived]:
        rid = self.client.send_listen(wanted)
        [req] = self.move(self.client)
        assert isinstance(req, RequestReceived) and req.method == "subscriptions/listen"
        assert req.request_id == rid
        return rid, req  # type: ignore[return-value]

    def open(self, wanted: dict[str, Any]) -> int:
        rid, req = self.listen(wanted)
        self.server.accept_listen(rid, req.params)
        [ack] = self.move(self.server)
        assert isinstance(ack, ListenAcknowledged) and ack.request_id == rid
        return rid


def test_a_stream_acknowledged_notified_and_ended() -> None:
    w = Wire()
    rid, req = w.listen({"toolsListChanged": True, "resourceSubscriptions": ["file:///a"]})
    stream = w.server.accept_listen(rid, req.params)
    assert stream.subscription_id == rid
    [ack_frame] = w.server.frames_to_send()
    check([ack_frame])
    assert (ack_frame.kind, ack_frame.method, ack_frame.related_request_id) == (
        FrameKind.NOTIFICATION, ACK, rid)
    assert ack_frame.protocol_version == V
    msg = _codec.loads(ack_frame.data)
    assert msg["params"]["_meta"] == {META_SUBSCRIPTION_ID: rid}
    assert msg["params"]["notifications"] == {"toolsListChanged": True,
                                              "resourceSubscriptions": ["file:///a"]}
    w.client.receive_data(ack_frame.data)
    [ack] = drain_events(w.client)
    assert ack == ListenAcknowledged(rid, SubscriptionFilter(
        tools_list_changed=True, resource_subscriptions=("file:///a",)), SubscriptionFilter(
        tools_list_changed=True, resource_subscriptions=("file:///a",)))
    w.server.send_notification(TOOLS)
    w.server.send_notification(UPDATED, {"uri": "file:///a"})
    w.server.send_notification(UPDATED, {"uri": "file:///other"})  # nobody asked: nothing
    w.server.send_notification(PROMPTS)  # not asked: nothing
    events = w.move(w.server)
    assert [f.related_request_id for f in w.last] == [rid, rid]
    assert events == [
        NotificationReceived(TOOLS, {"_meta": {META_SUBSCRIPTION_ID: rid}}, rid),
        NotificationReceived(UPDATED, {"_meta": {META_SUBSCRIPTION_ID: rid},
                                       "uri": "file:///a"}, rid)]
    assert rid in w.client.pending_requests and rid in w.server.serving_requests
    w.server.end_listen(rid, "shutting down")
    result, cancelled = w.server.frames_to_send()
    check([result, cancelled])
    if schemas_available():
        assert_valid(V, "SubscriptionsListenResult", _codec.loads(result.data)["result"])
    assert result.kind is FrameKind.RESPONSE and result.answers == (rid,)
    assert _codec.loads(result.data)["result"]["_meta"][META_SUBSCRIPTION_ID] == rid
    assert (cancelled.method, cancelled.related_request_id) == ("notifications/cancelled", rid)
    assert _codec.loads(cancelled.data)["params"]["requestId"] == rid
    w.client.receive_data(result.data + cancelled.data)
    [done] = drain_events(w.client)  # the cancellation after the answer is dropped
    assert isinstance(done, ResponseReceived) and done.request_id == rid
    assert done.result["resultType"] == "complete"
    assert w.client.pending_requests == frozenset() and w.server.listen_streams == {}
    w.server.send_notification(TOOLS)
    assert w.server.frames_to_send() == []


def test_several_listens_are_demultiplexed() -> None:
    w = Wire()
    a = w.open({"toolsListChanged": True})
    b = w.open({"toolsListChanged": True, "promptsListChanged": True})
    c = w.open({"resourceSubscriptions": ["file:///x"]})
    assert list(w.server.listen_streams) == [a, b, c]
    w.server.send_notification(TOOLS)
    w.server.send_notification(PROMPTS)
    w.server.send_notification(UPDATED, {"uri": "file:///x"})
    events = w.move(w.server)
    assert [(e.method, e.subscription_id) for e in events] == [
        (TOOLS, a), (TOOLS, b), (PROMPTS, b), (UPDATED, c)]
    assert [f.related_request_id for f in w.last] == [a, b, b, c]
    for e in events:
        assert e.params["_meta"][META_SUBSCRIPTION_ID] == e.subscription_id


def test_related_request_id_sends_on_one_stream_only() -> None:
    w = Wire()
    a = w.open({"toolsListChanged": True})
    b = w.open({"toolsListChanged": True})
    w.server.send_notification(TOOLS, related_request_id=b)
    [event] = w.move(w.server)
    assert event.subscription_id == b and a != b


def test_the_honoured_subset_follows_the_server_capabilities() -> None:
    w = Wire({"tools": {"listChanged": True}})
    rid, req = w.listen({"toolsListChanged": True, "promptsListChanged": True})
    w.server.accept_listen(rid, req.params)
    [ack] = w.move(w.server)
    assert ack.honoured == SubscriptionFilter(tools_list_changed=True)
    assert ack.declined == SubscriptionFilter(prompts_list_changed=True)
    w.server.send_notification(PROMPTS)
    assert w.server.frames_to_send() == []


def test_a_server_without_capabilities_honours_what_is_asked() -> None:
    w = Wire(None)
    rid, req = w.listen({"promptsListChanged": True})
    w.server.accept_listen(rid, req.params)
    [ack] = w.move(w.server)
    assert ack.honoured == SubscriptionFilter(prompts_list_changed=True)


def test_the_client_cancels_a_listen_on_stdio() -> None:
    w = Wire()
    rid = w.open({"toolsListChanged": True})
    w.client.cancel(rid, "bye")
    [cancelled] = w.move(w.client)
    assert cancelled == RequestCancelled(rid, "bye")
    assert w.server.listen_streams == {} and rid not in w.server.serving_requests
    w.server.send_notification(TOOLS)
    assert w.server.frames_to_send() == []


def test_a_late_notification_after_the_client_cancelled_is_dropped() -> None:
    w = Wire()
    rid = w.open({"toolsListChanged": True})
    w.server.send_notification(TOOLS)
    late = w.server.data_to_send()
    w.client.cancel(rid)
    w.client.data_to_send()
    w.client.receive_data(late)
    assert drain_events(w.client) == []


def test_a_server_cancellation_without_an_answer_ends_the_listen() -> None:
    w = Wire()
    rid = w.open({"toolsListChanged": True})
    w.client.receive_data(frame({"jsonrpc": "2.0", "method": "notifications/cancelled",
                                 "params": {"requestId": rid, "reason": "gone"}}))
    assert drain_events(w.client) == [ListenEnded(rid, "gone")]
    assert w.client.pending_requests == frozenset()


def test_end_listen_on_http_sends_only_the_result() -> None:
    w = Wire()
    rid = w.open({"toolsListChanged": True})
    w.server.end_listen(rid, notify_cancelled=False)
    [result] = w.server.frames_to_send()
    check([result])
    assert result.kind is FrameKind.RESPONSE


def test_a_listen_cancelled_before_it_was_accepted() -> None:
    w = Wire()
    rid, req = w.listen({"toolsListChanged": True})
    w.client.cancel(rid)
    [cancelled] = w.move(w.client)
    assert isinstance(cancelled, RequestCancelled)
    assert w.server.accept_listen(rid, req.params) is None  # the race: a no-op
    w.server.end_listen(rid)
    assert w.server.frames_to_send() == [] and w.server.listen_streams == {}


def test_answering_a_listen_directly_closes_its_stream() -> None:
    w = Wire()
    rid = w.open({"toolsListChanged": True})
    w.server.send_error(rid, -32603, "internal")
    [err] = w.move(w.server)
    assert isinstance(err, ErrorReceived) and err.request_id == rid
    assert w.server.listen_streams == {}
    # The client forgot the listen: a late notification for it is dropped.
    w.client.receive_data(frame({"jsonrpc": "2.0", "method": TOOLS, "params": {
        "_meta": {META_SUBSCRIPTION_ID: rid}}}))
    assert drain_events(w.client) == []


def test_streams_are_bounded_on_both_sides() -> None:
    w = Wire(max_listen_streams=1)
    rid = w.open({"toolsListChanged": True})
    with pytest.raises(LocalProtocolError, match="too many open subscriptions"):
        w.client.send_listen({"toolsListChanged": True})
    assert w.client.data_to_send() == b""
    # A client that ignores its bound: the server refuses the second stream.
    other = Connection(Role.CLIENT)
    other.start_stateless(None, {}, {"name": "c", "version": "1"})
    other._requests.next_id = 50  # distinct ids from the first client
    other.send_listen({"toolsListChanged": True})
    w.server.receive_data(other.data_to_send())
    [req] = drain_events(w.server)
    with pytest.raises(ListenRefused) as info:
        w.server.accept_listen(req.request_id, req.params)
    assert info.value.code == ErrorCode.INVALID_REQUEST
    assert w.server.frames_to_send() == [] and list(w.server.listen_streams) == [rid]
    w.server.send_error(req.request_id, info.value.code, str(info.value))
    assert w.server.frames_to_send()[0].kind is FrameKind.ERROR


def test_refusals() -> None:
    w = Wire()
    rid = w.client.send_request("tools/list")
    [req] = w.move(w.client)
    with pytest.raises(LocalProtocolError, match="not a stateless-era subscriptions/listen"):
        w.server.accept_listen(rid, req.params)
    with pytest.raises(LocalProtocolError, match="no request"):
        w.server.end_listen(99)
    lid, lreq = w.listen({"toolsListChanged": True})
    with pytest.raises(LocalProtocolError, match="was not accepted"):
        w.server.end_listen(lid)
    w.server.accept_listen(lid, lreq.params)
    with pytest.raises(LocalProtocolError, match="already open"):
        w.server.accept_listen(lid, lreq.params)
    with pytest.raises(LocalProtocolError, match="uri"):
        w.server.send_notification(UPDATED, {})
    with pytest.raises(LocalProtocolError, match="resourceSubscriptions|notifications"):
        w.client.send_listen({"resourceSubscriptions": "nope"})
    handshake = ConnectionPair()
    handshake.handshake()
    with pytest.raises(LocalProtocolError, match="stateless-era client"):
        handshake.client.send_listen({"toolsListChanged": True})


def test_a_bad_filter_is_refused_by_the_server() -> None:
    w = Wire()
    w.server.receive_data(frame({"jsonrpc": "2.0", "id": 7, "method": "subscriptions/listen",
                                 "params": {"_meta": {
                                     "io.modelcontextprotocol/protocolVersion": V,
                                     "io.modelcontextprotocol/clientCapabilities": {}},
                                     "notifications": {"resourceSubscriptions": [
                                         f"file:///{i}" for i in range(2000)]}}}))
    [req] = drain_events(w.server)
    with pytest.raises(ListenRefused) as info:
        w.server.accept_listen(7, req.params)
    assert info.value.code == ErrorCode.INVALID_PARAMS


def test_a_notification_on_an_unknown_stream_is_a_recoverable_error() -> None:
    w = Wire()
    w.open({"toolsListChanged": True})
    w.client.receive_data(frame({"jsonrpc": "2.0", "method": TOOLS, "params": {
        "_meta": {META_SUBSCRIPTION_ID: 999}}}))
    with pytest.raises(RemoteProtocolError, match="unknown subscription") as info:
        drain_events(w.client)
    assert not info.value.fatal and info.value.response_hint is None
    # A notification the listen did not request is refused too.
    rid = w.open({"toolsListChanged": True})
    w.client.receive_data(frame({"jsonrpc": "2.0", "method": PROMPTS, "params": {
        "_meta": {META_SUBSCRIPTION_ID: rid}}}))
    with pytest.raises(RemoteProtocolError, match="did not request it"):
        drain_events(w.client)


def test_the_end_of_the_connection_ends_every_stream() -> None:
    w = Wire()
    rid = w.open({"toolsListChanged": True})
    w.server.receive_data(b"")
    assert isinstance(drain_events(w.server)[0], PeerDisconnected)
    assert w.server.listen_streams == {}
    w.client.close()
    assert drain_events(w.client)[0] == Closed(pending=(rid,))


def test_the_handshake_era_is_unchanged() -> None:
    pair = ConnectionPair()
    pair.handshake(server_capabilities=FULL_SERVER_CAPS)
    pair.server.send_notification(TOOLS)
    [event] = pair.deliver(pair.server)
    assert event == NotificationReceived(TOOLS, None)
