"""Where the eras meet, for both roles: ``initialize`` on a connection already in the stateless
era is -32601 (a method the modern revision removed), and ``server/discover`` on a connection
that negotiated a handshake revision is -32601 too (the negotiated legacy revision has no such
method: versioning.mdx, "An initialize request selects legacy semantics ... as specified by the
negotiated legacy protocol version"). Both refusals are recoverable: the era stays."""

from __future__ import annotations

from typing import Any

import pytest

from sansio import (
    Connection,
    ErrorCode,
    LocalProtocolError,
    RemoteProtocolError,
    RequestReceived,
    Role,
    State,
)
from sansio.state import TRAFFIC
from sansio.testing import ConnectionPair, drain_events
from sansio.versions import META_CLIENT_CAPABILITIES, META_PROTOCOL_VERSION
from tests.helpers import frame, hint_of, operating_pair

MODERN = "2026-07-28"
INIT_PARAMS: dict[str, Any] = {"protocolVersion": "2025-11-25", "capabilities": {},
                               "clientInfo": {"name": "c", "version": "1"}}
MODERN_META: dict[str, Any] = {META_PROTOCOL_VERSION: MODERN, META_CLIENT_CAPABILITIES: {}}


def stateless_pair() -> ConnectionPair:
    """A stateless pair after one round trip (the server entered the era on it)."""
    pair = ConnectionPair.stateless(server_capabilities={"tools": {}})
    pair.call(pair.client, "tools/list", None, {"tools": []})
    assert pair.server.state is State.STATELESS
    return pair


def refused(conn: Connection, obj: dict[str, Any]) -> RemoteProtocolError:
    conn.receive_data(frame(obj))
    with pytest.raises(RemoteProtocolError) as info:
        conn.next_event()
    assert not info.value.fatal
    return info.value


def test_only_a_server_judges_received_requests_by_their_meta() -> None:
    """The era's request rules are TRAFFIC columns, not role tests in the engine."""
    entering = {key for key, traffic in TRAFFIC.items() if traffic.enter_by_meta}
    judging = {key for key, traffic in TRAFFIC.items() if traffic.judge_by_meta}
    assert entering == {(Role.SERVER, State.IDLE)}
    assert judging == {(Role.SERVER, State.STATELESS)}
    assert all(TRAFFIC[key].per_request for key in judging)


@pytest.mark.parametrize("with_meta", [False, True])
def test_initialize_to_a_stateless_server_is_method_not_found(with_meta: bool) -> None:
    server = stateless_pair().server
    params = {**INIT_PARAMS, "_meta": MODERN_META} if with_meta else INIT_PARAMS
    exc = refused(server, {"jsonrpc": "2.0", "id": 70, "method": "initialize",
                           "params": params})
    assert exc.code == ErrorCode.METHOD_NOT_FOUND
    hint = hint_of(exc)
    assert hint["id"] == 70 and hint["error"]["code"] == -32601
    assert server.state is State.STATELESS and server.protocol_version is None


def test_initialize_from_the_server_to_a_stateless_client_is_method_not_found() -> None:
    client = stateless_pair().client
    exc = refused(client, {"jsonrpc": "2.0", "id": 5, "method": "initialize",
                           "params": INIT_PARAMS})
    assert exc.code == ErrorCode.METHOD_NOT_FOUND and hint_of(exc)["id"] == 5
    assert client.state is State.STATELESS
    with pytest.raises(LocalProtocolError):
        client.send_initialize({"name": "c", "version": "1"})
    assert client.data_to_send() == b""


@pytest.mark.parametrize("with_meta", [False, True])
def test_discover_after_initialize_is_method_not_found(with_meta: bool) -> None:
    """A dual-era server that answered initialize serves the negotiated legacy revision, which
    has no server/discover: -32601, even when the request names the modern revision."""
    pair = operating_pair()
    server = pair.server
    assert server.state is State.OPERATING
    params: dict[str, Any] = {"_meta": MODERN_META} if with_meta else {}
    exc = refused(server, {"jsonrpc": "2.0", "id": 90, "method": "server/discover",
                           "params": params})
    assert exc.code == ErrorCode.METHOD_NOT_FOUND
    assert hint_of(exc)["id"] == 90 and hint_of(exc)["error"]["code"] == -32601
    assert server.state is State.OPERATING and server.protocol_version == "2025-11-25"
    # The session goes on under its revision.
    server.receive_data(frame({"jsonrpc": "2.0", "id": 91, "method": "tools/list"}))
    (event,) = drain_events(server)
    assert isinstance(event, RequestReceived) and event.protocol_version is None


def test_a_handshake_client_does_not_send_discover() -> None:
    pair = operating_pair()
    with pytest.raises(LocalProtocolError) as info:
        pair.client.send_request("server/discover")
    assert info.value.code == ErrorCode.METHOD_NOT_FOUND
    assert pair.client.data_to_send() == b""


@pytest.mark.parametrize("era", ["handshake", "stateless"])
def test_discover_sent_to_a_client_is_method_not_found(era: str) -> None:
    pair = operating_pair() if era == "handshake" else stateless_pair()
    exc = refused(pair.client, {"jsonrpc": "2.0", "id": 3, "method": "server/discover"})
    assert exc.code == ErrorCode.METHOD_NOT_FOUND and hint_of(exc)["id"] == 3
