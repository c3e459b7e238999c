"""Streamable HTTP, 2026-07-28, sans-IO: the requests of every client are served by a few shared
sessions (sansio.http.StreamableHTTPServer.shared_session_ids), none of which ever has two
requests with the same id or progress token at once; what the engine writes goes to the
request's own stream."""

from __future__ import annotations

import json
from typing import Any

from sansio.frames import Frame, FrameKind
from sansio.http import SHARED_SESSIONS, OpenStream, StreamClosed
from sansio.sse import SSEDecoder
from tests.test_http_modern import Endpoint, rpc


def sse(data: bytes) -> Any:
    [event] = [e for e in SSEDecoder().feed(data) if e.data]
    return json.loads(event.data)


def answer(rid: Any, text: str) -> Frame:
    data = json.dumps({"jsonrpc": "2.0", "id": rid, "result": {"content": [
        {"type": "text", "text": text}]}}, separators=(",", ":")).encode() + b"\n"
    return Frame(FrameKind.RESPONSE, data, rid, rid, "tools/call")


def test_requests_of_different_clients_share_one_session_and_keep_their_ids() -> None:
    ep = Endpoint()
    first = ep.post(rpc("tools/list", rid=1))
    second = ep.post(rpc("tools/list", rid="1"))  # another id: 1 and "1" differ
    assert isinstance(first, OpenStream) and isinstance(second, OpenStream)
    assert first.shared and second.shared and first.modern
    assert first.session_id == second.session_id == ep.core.shared_session_id
    assert first.new_session and not second.new_session
    assert json.loads(first.message)["id"] == 1 and json.loads(second.message)["id"] == "1"
    # The shared session is no client's: it is not a live MCP session.
    assert ep.core.session_ids == []
    [event] = ep.core.route(first.session_id, answer("1", "second"))
    assert event.stream_id == second.stream_id and event.final
    assert sse(event.data)["id"] == "1"
    [event] = ep.core.route(first.session_id, answer(1, "first"))
    assert event.stream_id == first.stream_id and event.final


def test_an_id_in_flight_goes_to_the_next_shared_session_and_alone_past_the_last() -> None:
    ep = Endpoint()
    shared = [ep.post(rpc("tools/list", rid=5)) for _ in range(SHARED_SESSIONS)]
    assert all(o.shared and o.modern for o in shared)
    ids = [o.session_id for o in shared]
    assert len(set(ids)) == SHARED_SESSIONS and set(ids) == ep.core.shared_session_ids
    assert ids[0] == ep.core.shared_session_id
    assert [o.new_session for o in shared] == [True] * SHARED_SESSIONS  # each made once
    again = ep.post(rpc("tools/list", rid=5))  # in flight in every one: served alone
    assert not again.shared and again.modern and again.new_session
    assert again.session_id not in ep.core.shared_session_ids
    assert ep.core.session_ids == [again.session_id]  # the shared ones are no client's
    # Once the first is answered, the id is free in the first shared session again.
    assert ep.core.route(ids[0], answer(5, "x"))[0].final
    back = ep.post(rpc("tools/list", rid=5))
    assert back.shared and back.session_id == ids[0] and not back.new_session
    # Another id fits in the first.
    assert ep.post(rpc("tools/list", rid=6)).session_id == ids[0]


def test_a_progress_token_in_flight_sends_the_request_to_the_next_shared_session() -> None:
    ep = Endpoint()
    message = rpc("tools/list", rid=1)
    message["params"]["_meta"]["progressToken"] = "t"
    first = ep.post(message)
    other = rpc("tools/list", rid=2)
    other["params"]["_meta"]["progressToken"] = "t"
    second = ep.post(other)
    assert first.shared and second.shared and first.session_id != second.session_id
    for n in range(SHARED_SESSIONS - 2):
        more = rpc("tools/list", rid=3 + n)
        more["params"]["_meta"]["progressToken"] = "t"
        assert ep.post(more).shared
    last = rpc("tools/list", rid=99)
    last["params"]["_meta"]["progressToken"] = "t"
    assert not ep.post(last).shared  # the token is in flight in every shared session


def test_a_notification_goes_to_the_stream_of_the_request_it_belongs_to() -> None:
    ep = Endpoint()
    a = ep.post(rpc("tools/call", {"name": "x", "arguments": {}}, rid=1))
    b = ep.post(rpc("tools/call", {"name": "x", "arguments": {}}, rid=2))
    note = b'{"jsonrpc":"2.0","method":"notifications/progress","params":{}}\n'
    [event] = ep.core.route(a.session_id, Frame(FrameKind.NOTIFICATION, note,
                                                related_request_id=2,
                                                method="notifications/progress"), 2)
    assert event.stream_id == b.stream_id and not event.final
    # Nothing related: no stream to go to (a 2026-07-28 client listens for changes).
    assert ep.core.route(a.session_id, Frame(FrameKind.NOTIFICATION, note,
                                             method="notifications/progress")) == []


def test_closing_a_stream_cancels_its_request_and_frees_its_id() -> None:
    ep = Endpoint()
    a = ep.post(rpc("tools/call", {"name": "x", "arguments": {}}, rid=7))
    b = ep.post(rpc("tools/call", {"name": "x", "arguments": {}}, rid=8))
    closed = ep.core.detach(a.session_id, a.stream_id)
    assert closed == StreamClosed(a.session_id, a.stream_id, (7,))
    assert ep.core.route(a.session_id, answer(7, "late")) == []  # nothing more for it
    assert ep.core.detach(a.session_id, a.stream_id) is None
    assert ep.post(rpc("tools/list", rid=7)).shared  # the id is free again
    [event] = ep.core.route(b.session_id, answer(8, "b"))
    assert event.stream_id == b.stream_id


def test_an_abandoned_request_leaves_nothing() -> None:
    ep = Endpoint()
    a = ep.post(rpc("tools/list", rid=3))
    ep.core.abandon(a.session_id, a.stream_id)
    shared = ep.core._sessions[ep.core.shared_session_id]
    assert not shared.by_id and not shared.streams and not shared.tokens


def test_an_error_answer_keeps_its_http_status() -> None:
    ep = Endpoint()
    a = ep.post(rpc("tools/call", {"name": "x", "arguments": {}}, rid=4))
    data = b'{"jsonrpc":"2.0","id":4,"error":{"code":-32021,"message":"missing"}}\n'
    [event] = ep.core.route(a.session_id, Frame(FrameKind.ERROR, data, 4, 4, "tools/call"))
    assert event.final and event.status == 400 and json.loads(event.body)["id"] == 4


def test_a_json_response_endpoint_shares_the_session_too() -> None:
    ep = Endpoint(json_response=True)
    a = ep.post(rpc("tools/list", rid=1))
    assert a.shared and a.json
    [event] = ep.core.route(a.session_id, answer(1, "x"))
    assert event.final and json.loads(event.data)["id"] == 1


def test_listen_keeps_a_session_of_its_own() -> None:
    ep = Endpoint()
    listen = ep.post(rpc("subscriptions/listen", {"notifications": {"toolsListChanged": True}}))
    assert isinstance(listen, OpenStream) and listen.keepalive and not listen.shared


def test_without_sharing_each_request_has_a_session_of_its_own() -> None:
    """``share_modern=False`` (an endpoint whose requests each carry an identity, e.g. a
    verified principal): every 2026-07-28 request is served in its own one-request session."""
    ep = Endpoint(share_modern=False)
    first, second = ep.post(rpc("tools/list", rid=1)), ep.post(rpc("tools/list", rid=2))
    assert isinstance(first, OpenStream) and isinstance(second, OpenStream)
    assert not first.shared and not second.shared and first.modern
    assert first.session_id != second.session_id != ep.core.shared_session_id
