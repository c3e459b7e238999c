"""Server-side limits of issue 14, in the engine and the HTTP core: the cap on requests
served at once (-32050), the answer a frame over the size limit gets, the event store's
bounds, and the cap on live sessions."""

from __future__ import annotations

import json

import pytest

from sansio import Connection, ErrorCode, RemoteProtocolError, RequestReceived, Role, State
from sansio.http import InMemoryEventStore, OpenStream, Reject
from tests.helpers import FULL_CLIENT_CAPS, FULL_SERVER_CAPS, frame, hint_of
from tests.test_http import INIT, Endpoint
from tests.test_http import frame as http_frame


def operating_server(**kwargs: object) -> Connection:
    server = Connection(Role.SERVER, **kwargs)  # type: ignore[arg-type]
    client = Connection(Role.CLIENT)
    client.send_initialize({"name": "c", "version": "1"}, FULL_CLIENT_CAPS)
    server.receive_data(client.data_to_send())
    event = server.next_event()
    server.send_initialize_result(event.request_id,  # type: ignore[union-attr]
                                  {"name": "s", "version": "1"}, FULL_SERVER_CAPS)
    server.receive_data(frame({"jsonrpc": "2.0", "method": "notifications/initialized"}))
    server.next_event()
    assert server.state is State.OPERATING
    return server


def call(rid: int) -> bytes:
    return frame({"jsonrpc": "2.0", "id": rid, "method": "tools/call",
                  "params": {"name": "t", "arguments": {}}})


def test_requests_over_the_cap_are_refused_busy_and_room_comes_back() -> None:
    server = operating_server(max_concurrent_requests=2)
    assert server.max_concurrent_requests == 2
    server.receive_data(call(1) + call(2) + call(3))
    assert isinstance(server.next_event(), RequestReceived)
    assert isinstance(server.next_event(), RequestReceived)
    with pytest.raises(RemoteProtocolError) as info:
        server.next_event()
    assert not info.value.fatal and info.value.code == ErrorCode.SERVER_BUSY == -32050
    hint = hint_of(info.value)
    assert hint["id"] == 3 and hint["error"]["code"] == -32050
    assert hint["error"]["data"] == {"maxConcurrentRequests": 2}
    assert server.serving_requests == {1, 2}
    server.receive_data(frame({"jsonrpc": "2.0", "id": 4, "method": "ping"}))
    assert server.next_event() == RequestReceived(4, "ping")  # never refused
    server.send_response(4, {})
    server.send_response(1, {"content": []})
    server.receive_data(call(5))
    assert isinstance(server.next_event(), RequestReceived)


def test_no_cap_by_default_and_a_bad_cap_is_refused() -> None:
    server = operating_server()
    assert server.max_concurrent_requests is None
    server.receive_data(b"".join(call(i) for i in range(1, 1001)))
    assert all(isinstance(server.next_event(), RequestReceived) for _ in range(1000))
    for bad in (0, -1, 1.5):
        with pytest.raises(ValueError):
            Connection(Role.SERVER, max_concurrent_requests=bad)  # type: ignore[arg-type]


@pytest.mark.parametrize("version", ["2025-06-18", "2025-11-25"])
def test_a_line_over_the_limit_is_fatal_and_answered(version: str) -> None:
    server = Connection(Role.SERVER, max_frame_size=100)
    server.receive_data(b'{"jsonrpc":"2.0","id":1,"method":"ping","params":{"p":"'
                        + b"x" * 200 + b'"}}\n')
    with pytest.raises(RemoteProtocolError) as info:
        server.next_event()
    assert info.value.fatal and server.state is State.ERROR
    hint = hint_of(info.value)
    assert hint["error"]["code"] == -32600 and hint.get("id") is None
    assert "max_frame_size" in hint["error"]["message"]


# ---------------------------------------------------------------- the event store


def test_event_store_bounds_each_session_by_bytes() -> None:
    store = InMemoryEventStore(max_session_bytes=3000, max_bytes=10**9)
    for i in range(1, 11):
        store.append("s", "1", f"1/{i}", b"x" * 1000)
    assert store.size == 3000 and len(store) == 3
    assert store.after("s", "1", "1/1") is None  # dropped: cannot resume after it
    assert store.after("s", "1", "1/8") == [b"x" * 1000] * 2


def test_event_store_bounds_every_session_together_oldest_first() -> None:
    store = InMemoryEventStore(max_session_bytes=10**9, max_bytes=5000)
    for i in range(1, 11):
        store.append(f"s{i}", "1", "1/1", b"x" * 1000)
    assert store.size == 5000 and len(store) == 5
    assert store.after("s1", "1", "1/0") == [] and store.after("s10", "1", "1/0") == [b"x" * 1000]


def test_event_store_bounds_by_age_with_the_callers_clock() -> None:
    store = InMemoryEventStore(max_age=10.0)
    store.append("s", "1", "1/1", b"old")
    store.expire(100.0)  # stamps what came before it
    store.expire(105.0)
    store.append("s", "1", "1/2", b"new")  # stamped 105: the latest now seen
    assert store.after("s", "1", "1/0") == [b"old", b"new"]
    store.expire(110.5)
    assert store.after("s", "1", "1/0") == [b"new"] and store.size == 3
    store.expire(116.0)
    assert store.after("s", "1", "1/0") == [] and store.size == 0 and len(store) == 0


def test_event_store_forgets_a_delivered_stream_only() -> None:
    store = InMemoryEventStore()
    store.append("s", "1", "1/1", b"a")
    store.append("s", "2", "2/1", b"b")
    store.forget_stream("s", "1")
    assert store.after("s", "1", "1/1") is None and store.after("s", "2", "2/1") == []
    assert store.size == 1
    store.forget("s")
    assert store.size == 0 and len(store) == 0


def test_event_store_order_stays_bounded_when_streams_are_forgotten() -> None:
    store = InMemoryEventStore()
    store.append("keep", "1", "1/1", b"k")  # an old event that stays at the front
    for i in range(10_000):
        store.append("s", str(i), f"{i}/1", b"x")
        store.forget_stream("s", str(i))
    assert len(store._order) < 200 and len(store) == 1


def test_read_answers_leave_the_store() -> None:
    """300 answers of 1 MiB delivered whole: nothing stays in the store (was: 300 MiB)."""
    ep = Endpoint()
    sid = ep.initialize()
    big = "x" * (1 << 20)
    for rid in range(10, 310):
        opened = ep.request("POST", {"mcp-session-id": sid}, {
            "jsonrpc": "2.0", "id": rid, "method": "tools/call", "params": {}})
        assert isinstance(opened, OpenStream)
        [answer] = ep.core.route(sid, http_frame(
            {"jsonrpc": "2.0", "id": rid, "result": {"content": [], "pad": big}}))
        assert answer.final
        ep.core.delivered(sid, opened.stream_id)
    store = ep.core.events
    assert isinstance(store, InMemoryEventStore)
    assert store.size < 1 << 20


def test_live_sessions_are_capped_with_503_and_retry_after() -> None:
    ep = Endpoint(max_sessions=3, retry_after=7)
    sids = [ep.initialize() for _ in range(3)]
    refused = ep.request("POST", body=INIT)
    assert isinstance(refused, Reject) and refused.status == 503
    assert ("retry-after", "7") in refused.headers
    assert json.loads(refused.body)["error"]["code"] == -32000
    ep.core.terminate(sids[0])
    assert isinstance(ep.request("POST", body=INIT), OpenStream)


def test_the_fuzz_harness_imports_and_runs_every_target_without_atheris() -> None:
    """tests/fuzz_engine.py (run by hand, or by atheris for longer) stays importable in the
    suite, and each of its targets (engine, sansio.http, the SSE decoder, the HTTP/1.1 fast
    path against h11) runs."""
    from tests import fuzz_engine

    targets = fuzz_engine.load_targets()
    assert sorted(targets) == sorted(fuzz_engine.TARGETS) == ["engine", "h1", "http", "sse"]
    init = json.dumps(INIT).encode()
    for data in (b"", b"\x00", b"\x01garbage\n", b"\x00" + init, b"\x20" + b"GET / HTTP/1.1\r\n",
                 b"\x05data: x\n\n" * 3, b"\x00" + init + b"\r\n\r\n" + init):
        for target in targets.values():
            target(data)
