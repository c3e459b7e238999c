"""The handshake of every handshake-era revision (issue 2, item 2)."""

from __future__ import annotations

import pytest

from sansio import (
    HANDSHAKE_VERSIONS,
    NEED_DATA,
    Connection,
    ErrorCode,
    ErrorReceived,
    Initialized,
    InitializeRequested,
    LocalProtocolError,
    RemoteProtocolError,
    RequestReceived,
    Role,
    State,
)
from sansio.testing import ConnectionPair
from tests.helpers import frame, hint_of, operating_pair

INFO = {"name": "x", "version": "1"}


def init_frame(rid: int = 1, version: str = "2025-11-25", **extra: object) -> bytes:
    params = {"protocolVersion": version, "capabilities": {}, "clientInfo": INFO, **extra}
    return frame({"jsonrpc": "2.0", "id": rid, "method": "initialize", "params": params})


@pytest.mark.parametrize("version", HANDSHAKE_VERSIONS)
@pytest.mark.parametrize("byte_by_byte", [False, True])
def test_handshake_each_revision(version: str, byte_by_byte: bool) -> None:
    pair = ConnectionPair(byte_by_byte=byte_by_byte)
    assert pair.client.state is State.IDLE and pair.server.state is State.IDLE
    negotiated = pair.handshake(protocol_version=version, instructions="be nice")
    assert negotiated == version
    for conn in (pair.client, pair.server):
        assert conn.state is State.OPERATING
        assert conn.protocol_version == version
    assert pair.client.instructions == "be nice"
    assert pair.server.peer_info == {"name": "test-client", "version": "1.0"}


def test_states_step_by_step() -> None:
    pair = ConnectionPair()
    rid = pair.client.send_initialize(INFO, {"roots": {}})
    assert pair.client.state is State.INITIALIZING
    (event,) = pair.deliver(pair.client)
    assert event == InitializeRequested(
        request_id=rid,
        params={"protocolVersion": "2025-11-25", "capabilities": {"roots": {}}, "clientInfo": INFO},
        requested_version="2025-11-25", protocol_version="2025-11-25", client_info=INFO,
        capabilities={"roots": {}})
    assert pair.server.state is State.INITIALIZING
    pair.server.send_initialize_result(rid, INFO, {"tools": {}})
    assert pair.server.state is State.INITIALIZED
    assert pair.server.protocol_version == "2025-11-25"
    (event,) = pair.deliver(pair.server)
    assert isinstance(event, Initialized) and event.peer_capabilities == {"tools": {}}
    assert pair.client.state is State.INITIALIZED
    pair.client.send_initialized()
    assert pair.client.state is State.OPERATING
    (event,) = pair.deliver(pair.client)
    assert event == Initialized("2025-11-25", INFO, {"roots": {}})
    assert pair.server.state is State.OPERATING


@pytest.mark.parametrize(("requested", "answered"), [
    ("2025-06-18", "2025-06-18"),
    ("2024-11-05", "2024-11-05"),
    ("2099-01-01", "2025-11-25"),
    ("2026-07-28", "2025-11-25"),
    ("garbage", "2025-11-25"),
])
def test_server_echoes_supported_or_answers_latest(requested: str, answered: str) -> None:
    server = Connection(Role.SERVER)
    server.receive_data(init_frame(version=requested))
    event = server.next_event()
    assert isinstance(event, InitializeRequested)
    assert event.requested_version == requested and event.protocol_version == answered
    server.send_initialize_result(1, INFO)
    assert server.protocol_version == answered
    assert b'"protocolVersion":"%s"' % answered.encode() in server.data_to_send()


def test_server_latest_is_its_own_latest() -> None:
    server = Connection(Role.SERVER, supported_versions=["2024-11-05", "2025-03-26"])
    server.receive_data(init_frame(version="2025-11-25"))
    event = server.next_event()
    assert isinstance(event, InitializeRequested) and event.protocol_version == "2025-03-26"


def test_client_refuses_unsupported_answer() -> None:
    client = Connection(Role.CLIENT, supported_versions=["2025-06-18", "2025-11-25"])
    rid = client.send_initialize(INFO)
    client.data_to_send()
    client.receive_data(frame({"jsonrpc": "2.0", "id": rid, "result": {
        "protocolVersion": "2024-11-05", "capabilities": {}, "serverInfo": INFO}}))
    with pytest.raises(RemoteProtocolError) as info:
        client.next_event()
    assert info.value.fatal and info.value.finished_request == rid
    assert info.value.code == ErrorCode.UNSUPPORTED_PROTOCOL_VERSION
    assert "2024-11-05" in str(info.value) and "does not support" in str(info.value)
    assert client.state is State.ERROR
    with pytest.raises(LocalProtocolError):
        client.send_request("ping")


def test_client_refuses_malformed_initialize_result() -> None:
    client = Connection(Role.CLIENT)
    rid = client.send_initialize(INFO)
    client.receive_data(frame({"jsonrpc": "2.0", "id": rid, "result": {"capabilities": {}}}))
    with pytest.raises(RemoteProtocolError) as info:
        client.next_event()
    assert info.value.fatal and client.state is State.ERROR


def test_client_asks_for_an_unsupported_version_locally() -> None:
    client = Connection(Role.CLIENT, supported_versions=["2025-06-18"])
    with pytest.raises(LocalProtocolError):
        client.send_initialize(INFO, protocol_version="2025-11-25")
    assert client.state is State.IDLE


def test_initialize_error_returns_both_sides_to_idle() -> None:
    pair = ConnectionPair()
    rid = pair.client.send_initialize(INFO)
    pair.deliver(pair.client)
    pair.server.send_error(rid, ErrorCode.INVALID_PARAMS, "no thanks")
    assert pair.server.state is State.IDLE
    (event,) = pair.deliver(pair.server)
    assert isinstance(event, ErrorReceived) and event.method == "initialize"
    assert pair.client.state is State.IDLE
    pair.handshake()  # a second try works


# -- what may be sent before the handshake completes, enforced locally ...

def test_client_sends_initialize_first() -> None:
    client = Connection(Role.CLIENT)
    for method in ("ping", "tools/list"):
        with pytest.raises(LocalProtocolError):
            client.send_request(method)
    with pytest.raises(LocalProtocolError):
        client.send_notification("notifications/initialized")
    assert client.data_to_send() == b""


def test_client_sends_only_ping_before_initialize_response() -> None:
    client = Connection(Role.CLIENT)
    client.send_initialize(INFO)
    client.data_to_send()
    client.send_request("ping")
    with pytest.raises(LocalProtocolError, match="before initialization"):
        client.send_request("tools/list", {})
    with pytest.raises(LocalProtocolError):
        client.send_notification("notifications/initialized")
    with pytest.raises(LocalProtocolError):
        client.send_initialize(INFO)


def test_client_must_send_initialized_before_requests() -> None:
    pair = ConnectionPair()
    rid = pair.client.send_initialize(INFO)
    pair.deliver(pair.client)
    pair.server.send_initialize_result(rid, INFO, {"tools": {}})
    pair.deliver(pair.server)
    with pytest.raises(LocalProtocolError):
        pair.client.send_request("tools/list")
    pair.client.send_request("ping")  # still allowed
    pair.client.send_initialized()
    pair.client.send_request("tools/list")


def test_server_sends_nothing_before_initialize() -> None:
    server = Connection(Role.SERVER)
    with pytest.raises(LocalProtocolError):
        server.send_request("ping")
    with pytest.raises(LocalProtocolError):
        server.send_notification("notifications/message", {"level": "info", "data": "x"})


def test_server_sends_only_ping_and_logs_before_initialized() -> None:
    server = Connection(Role.SERVER)
    server.receive_data(init_frame())
    server.next_event()
    server.send_notification("notifications/message", {"level": "info", "data": "starting"})
    server.send_request("ping")
    with pytest.raises(LocalProtocolError):
        server.send_request("roots/list")
    server.send_initialize_result(1, INFO)
    server.send_notification("notifications/message", {"level": "info", "data": "x"})
    with pytest.raises(LocalProtocolError):
        server.send_request("sampling/createMessage", {"messages": [], "maxTokens": 1})
    with pytest.raises(LocalProtocolError):
        server.send_notification("notifications/tools/list_changed")


def test_second_initialize_locally() -> None:
    pair = operating_pair()
    with pytest.raises(LocalProtocolError):
        pair.client.send_initialize(INFO)


def test_server_cannot_send_initialize() -> None:
    with pytest.raises(LocalProtocolError):
        Connection(Role.SERVER).send_initialize(INFO)


# -- ... and from the peer, as a JSON-RPC error response

def test_server_refuses_requests_before_initialize() -> None:
    server = Connection(Role.SERVER)
    server.receive_data(frame({"jsonrpc": "2.0", "id": 7, "method": "tools/list"}))
    with pytest.raises(RemoteProtocolError) as info:
        server.next_event()
    assert hint_of(info.value) == {"jsonrpc": "2.0", "id": 7, "error": {
        "code": -32600, "message": info.value.message}}
    assert "before initialization" in info.value.message
    assert server.state is State.IDLE
    # ping is answered at any time
    server.receive_data(frame({"jsonrpc": "2.0", "id": 8, "method": "ping"}))
    assert server.next_event() == RequestReceived(8, "ping")


def test_server_refuses_requests_before_initialized_notification() -> None:
    server = Connection(Role.SERVER)
    server.receive_data(init_frame())
    server.next_event()
    server.send_initialize_result(1, INFO, {"tools": {}})
    server.receive_data(frame({"jsonrpc": "2.0", "id": 2, "method": "tools/list"}))
    with pytest.raises(RemoteProtocolError) as info:
        server.next_event()
    assert hint_of(info.value)["id"] == 2
    server.receive_data(frame({"jsonrpc": "2.0", "method": "notifications/initialized"}))
    assert isinstance(server.next_event(), Initialized)


def test_second_initialize_from_peer_is_refused() -> None:
    pair = operating_pair()
    pair.server.receive_data(init_frame(rid=99))
    with pytest.raises(RemoteProtocolError) as info:
        pair.server.next_event()
    assert hint_of(info.value)["id"] == 99 and not info.value.fatal
    assert pair.server.state is State.OPERATING


def test_initialize_sent_twice_while_initializing_is_refused() -> None:
    server = Connection(Role.SERVER)
    server.receive_data(init_frame(rid=1) + init_frame(rid=2))
    assert isinstance(server.next_event(), InitializeRequested)
    with pytest.raises(RemoteProtocolError) as info:
        server.next_event()
    assert hint_of(info.value)["id"] == 2


def test_invalid_initialize_params() -> None:
    server = Connection(Role.SERVER)
    server.receive_data(frame({"jsonrpc": "2.0", "id": 1, "method": "initialize",
                               "params": {"protocolVersion": 5}}))
    with pytest.raises(RemoteProtocolError) as info:
        server.next_event()
    assert info.value.code == ErrorCode.INVALID_PARAMS
    assert hint_of(info.value)["error"]["code"] == -32602
    assert server.state is State.IDLE


def test_client_refuses_server_requests_before_initialize() -> None:
    client = Connection(Role.CLIENT)
    client.receive_data(frame({"jsonrpc": "2.0", "id": 1, "method": "roots/list"}))
    with pytest.raises(RemoteProtocolError) as info:
        client.next_event()
    assert hint_of(info.value)["id"] == 1


def test_client_accepts_logs_and_ping_during_handshake() -> None:
    client = Connection(Role.CLIENT)
    client.send_initialize(INFO, {})
    client.receive_data(frame({"jsonrpc": "2.0", "method": "notifications/message",
                               "params": {"level": "info", "data": "hello"}}))
    client.receive_data(frame({"jsonrpc": "2.0", "id": "s1", "method": "ping"}))
    assert client.next_event().method == "notifications/message"  # type: ignore[union-attr]
    assert client.next_event() == RequestReceived("s1", "ping")
    client.send_response("s1", {})
    client.receive_data(frame({"jsonrpc": "2.0", "id": "s2", "method": "roots/list"}))
    with pytest.raises(RemoteProtocolError):
        client.next_event()


def test_unexpected_initialized_notification() -> None:
    pair = operating_pair()
    pair.server.receive_data(frame({"jsonrpc": "2.0", "method": "notifications/initialized"}))
    with pytest.raises(RemoteProtocolError) as info:
        pair.server.next_event()
    assert info.value.response_hint is None and not info.value.fatal
    assert pair.server.next_event() is NEED_DATA


def test_initialize_result_fills_version_and_capabilities() -> None:
    server = Connection(Role.SERVER)
    server.receive_data(init_frame(version="2025-03-26"))
    server.next_event()
    server.send_response(1, {"serverInfo": INFO})
    out = server.data_to_send()
    assert b'"protocolVersion":"2025-03-26"' in out and b'"capabilities":{}' in out


def test_initialize_result_needs_server_info() -> None:
    server = Connection(Role.SERVER)
    server.receive_data(init_frame())
    server.next_event()
    with pytest.raises(LocalProtocolError):
        server.send_response(1, {"capabilities": {}})
    assert server.state is State.INITIALIZING
    with pytest.raises(LocalProtocolError):
        server.send_response(1, {"serverInfo": INFO, "protocolVersion": "1999-01-01"})


def test_typed_initialize_result_is_written_for_the_offered_version() -> None:
    from sansio.types import Implementation, ServerCapabilities, ToolsCapability

    server = Connection(Role.SERVER)
    server.receive_data(init_frame(version="2024-11-05"))
    server.next_event()
    info = Implementation(name="s", version="1", title="Server title")
    server.send_initialize_result(1, info, ServerCapabilities(tools=ToolsCapability()))
    out = server.data_to_send()
    assert b'"serverInfo":{"name":"s","version":"1"}' in out  # title is 2025-06-18+
    assert b'"tools":{}' in out
