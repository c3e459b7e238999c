"""Capability checks both ways (issue 2, item 5)."""

from __future__ import annotations

from typing import Any

import pytest

from sansio import ErrorCode, LocalProtocolError, RemoteProtocolError, RequestReceived
from tests.helpers import frame, hint_of, operating_pair

SERVER_FEATURES = [
    ("tools/list", {}, "tools"),
    ("tools/call", {"name": "x"}, "tools"),
    ("resources/list", {}, "resources"),
    ("resources/templates/list", {}, "resources"),
    ("resources/read", {"uri": "file:///x"}, "resources"),
    ("resources/subscribe", {"uri": "file:///x"}, "resources.subscribe"),
    ("prompts/list", {}, "prompts"),
    ("prompts/get", {"name": "p"}, "prompts"),
    ("completion/complete", {"ref": {"type": "ref/prompt", "name": "p"},
                             "argument": {"name": "a", "value": "v"}}, "completions"),
    ("logging/setLevel", {"level": "info"}, "logging"),
]
CLIENT_FEATURES = [
    ("roots/list", {}, "roots"),
    ("sampling/createMessage", {"messages": [], "maxTokens": 5}, "sampling"),
    ("elicitation/create", {"message": "m", "requestedSchema": {"type": "object",
                                                                "properties": {}}},
     "elicitation"),
]


@pytest.mark.parametrize(("method", "params", "cap"), SERVER_FEATURES)
def test_client_refuses_locally_what_the_server_did_not_advertise(
        method: str, params: dict[str, Any], cap: str) -> None:
    pair = operating_pair(server_caps={})
    with pytest.raises(LocalProtocolError) as info:
        pair.client.send_request(method, params)
    assert info.value.code == ErrorCode.METHOD_NOT_FOUND and cap in str(info.value)
    assert pair.client.data_to_send() == b""
    assert pair.client.pending_requests == frozenset()


@pytest.mark.parametrize(("method", "params", "cap"), SERVER_FEATURES)
def test_server_answers_32601_for_what_it_did_not_advertise(
        method: str, params: dict[str, Any], cap: str) -> None:
    pair = operating_pair(server_caps={})
    pair.server.receive_data(frame({"jsonrpc": "2.0", "id": 5, "method": method,
                                    "params": params}))
    with pytest.raises(RemoteProtocolError) as info:
        pair.server.next_event()
    assert hint_of(info.value)["error"]["code"] == -32601 and hint_of(info.value)["id"] == 5
    assert cap in info.value.message and not info.value.fatal


@pytest.mark.parametrize(("method", "params", "cap"), SERVER_FEATURES)
def test_advertised_server_features_go_through(method: str, params: dict[str, Any],
                                               cap: str) -> None:
    pair = operating_pair()
    rid, event = pair.request(pair.client, method, params)
    assert event == RequestReceived(rid, method, params)


@pytest.mark.parametrize(("method", "params", "cap"), CLIENT_FEATURES)
def test_server_refuses_locally_what_the_client_did_not_advertise(
        method: str, params: dict[str, Any], cap: str) -> None:
    pair = operating_pair(client_caps={})
    with pytest.raises(LocalProtocolError) as info:
        pair.server.send_request(method, params)
    assert info.value.code == ErrorCode.METHOD_NOT_FOUND and cap in str(info.value)


@pytest.mark.parametrize(("method", "params", "cap"), CLIENT_FEATURES)
def test_client_answers_32601_for_what_it_did_not_advertise(
        method: str, params: dict[str, Any], cap: str) -> None:
    pair = operating_pair(client_caps={})
    pair.client.receive_data(frame({"jsonrpc": "2.0", "id": "s", "method": method,
                                    "params": params}))
    with pytest.raises(RemoteProtocolError) as info:
        pair.client.next_event()
    assert hint_of(info.value)["error"]["code"] == -32601


@pytest.mark.parametrize(("method", "params", "cap"), CLIENT_FEATURES)
def test_advertised_client_features_go_through(method: str, params: dict[str, Any],
                                               cap: str) -> None:
    pair = operating_pair()
    pair.request(pair.server, method, params)


def test_subscribe_needs_the_subscribe_flag() -> None:
    pair = operating_pair(server_caps={"resources": {"subscribe": False}})
    with pytest.raises(LocalProtocolError, match="resources.subscribe"):
        pair.client.send_request("resources/subscribe", {"uri": "a:b"})
    pair.client.send_request("resources/read", {"uri": "a:b"})


def test_url_elicitation_needs_the_url_capability() -> None:
    pair = operating_pair(client_caps={"elicitation": {}})
    params = {"mode": "url", "message": "m", "url": "https://example.com/x",
              "elicitationId": "e1"}
    with pytest.raises(LocalProtocolError, match="elicitation.url"):
        pair.server.send_request("elicitation/create", params)
    pair.server.send_request("elicitation/create", {
        "message": "m", "requestedSchema": {"type": "object", "properties": {}}})


def test_sampling_with_tools_needs_sampling_tools() -> None:
    pair = operating_pair(client_caps={"sampling": {}})
    params = {"messages": [], "maxTokens": 5,
              "tools": [{"name": "t", "inputSchema": {"type": "object"}}]}
    with pytest.raises(LocalProtocolError, match="sampling.tools"):
        pair.server.send_request("sampling/createMessage", params)


def test_completion_in_2024_11_05_needs_no_capability() -> None:
    pair = operating_pair("2024-11-05", server_caps={"prompts": {}})
    pair.request(pair.client, "completion/complete", {
        "ref": {"type": "ref/prompt", "name": "p"}, "argument": {"name": "a", "value": ""}})


def test_wrong_direction_methods() -> None:
    pair = operating_pair()
    with pytest.raises(LocalProtocolError):
        pair.client.send_request("sampling/createMessage", {"messages": [], "maxTokens": 1})
    with pytest.raises(LocalProtocolError):
        pair.server.send_request("tools/list")
    pair.client.receive_data(frame({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}))
    with pytest.raises(RemoteProtocolError) as info:
        pair.client.next_event()
    assert hint_of(info.value)["error"]["code"] == -32601


def test_method_from_a_later_revision_is_not_found() -> None:
    pair = operating_pair("2025-03-26")
    with pytest.raises(LocalProtocolError, match="not part of protocol version"):
        pair.server.send_request("elicitation/create", {
            "message": "m", "requestedSchema": {"type": "object", "properties": {}}})
    pair.client.receive_data(frame({"jsonrpc": "2.0", "id": 3, "method": "elicitation/create",
                                    "params": {"message": "m", "requestedSchema": {
                                        "type": "object", "properties": {}}}}))
    with pytest.raises(RemoteProtocolError) as info:
        pair.client.next_event()
    assert hint_of(info.value)["error"]["code"] == -32601


def test_unknown_methods_pass_through_for_the_adapter() -> None:
    pair = operating_pair()
    rid, event = pair.request(pair.client, "vendor/custom", {"x": 1})
    assert event.method == "vendor/custom"
    pair.server.send_error(rid, ErrorCode.METHOD_NOT_FOUND, "Method not found")
    pair.deliver(pair.server)


def test_invalid_params_of_known_methods() -> None:
    pair = operating_pair()
    pair.server.receive_data(frame({"jsonrpc": "2.0", "id": 4, "method": "tools/call",
                                    "params": {"name": 5}}))
    with pytest.raises(RemoteProtocolError) as info:
        pair.server.next_event()
    hint = hint_of(info.value)
    assert hint["error"]["code"] == -32602 and hint["id"] == 4
    assert any("name" in e for e in hint["error"]["data"]["errors"])
    pair.server.receive_data(frame({"jsonrpc": "2.0", "id": 5, "method": "tools/call"}))
    with pytest.raises(RemoteProtocolError) as info:
        pair.server.next_event()
    assert hint_of(info.value)["error"]["code"] == -32602


def test_validation_can_be_turned_off() -> None:
    from sansio.testing import ConnectionPair
    pair = ConnectionPair(validate=False)
    pair.handshake(server_capabilities={"tools": {}})
    pair.server.receive_data(frame({"jsonrpc": "2.0", "id": 4, "method": "tools/call",
                                    "params": {"name": 5}}))
    assert pair.server.next_event() == RequestReceived(4, "tools/call", {"name": 5})
