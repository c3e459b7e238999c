"""Every frame the engine emits validates against the schema of the negotiated revision
(issue 2, item 6). A scripted conversation that touches every feature, per revision."""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest

from sansio import HANDSHAKE_VERSIONS, ErrorCode, RemoteProtocolError, _codec
from sansio.testing import ConnectionPair
from tests.conftest import load_schema, schemas_available
from tests.helpers import FULL_CLIENT_CAPS, FULL_SERVER_CAPS, frame

_validators: dict[str, jsonschema.protocols.Validator] = {}


def validator(revision: str) -> jsonschema.protocols.Validator:
    if revision not in _validators:
        root = load_schema(revision)
        key = "$defs" if "$defs" in root else "definitions"
        schema = {"$schema": root["$schema"], key: root[key],
                  "$ref": f"#/{key}/JSONRPCMessage"}
        cls = jsonschema.validators.validator_for(schema)
        _validators[revision] = cls(schema)
    return _validators[revision]


def assert_valid(revision: str, message: Any) -> None:
    messages = message if isinstance(message, list) else [message]
    for msg in messages:
        errors = list(validator(revision).iter_errors(msg))
        assert not errors, f"{revision}: {msg} -> {errors[0].message}"


def check_if_available(revision: str, message: Any) -> None:
    """``assert_valid`` when the official schemas are available, nothing otherwise: for tests
    whose subject is behaviour and that also check the frames they see (tests/conftest.py)."""
    if schemas_available():
        assert_valid(revision, message)


def conversation(revision: str) -> ConnectionPair:
    pair = ConnectionPair()
    pair.handshake(protocol_version=revision, server_capabilities=FULL_SERVER_CAPS,
                   client_capabilities=FULL_CLIENT_CAPS, instructions="hi")
    c, s = pair.client, pair.server
    pair.call(c, "ping", None, {})
    pair.call(s, "ping", None, {})
    pair.call(c, "tools/list", {}, {"tools": [{"name": "echo", "inputSchema": {
        "type": "object", "properties": {"text": {"type": "string"}}}}]})
    rid, _ = pair.request(c, "tools/call", {"name": "echo", "arguments": {"text": "hi"}},
                          progress_token="p1")
    s.send_notification("notifications/progress", {"progressToken": "p1", "progress": 1,
                                                   "total": 2})
    s.send_notification("notifications/message", {"level": "info", "data": {"x": 1}})
    pair.deliver(s)
    pair.respond(s, rid, {"content": [{"type": "text", "text": "hi"}], "isError": False})
    pair.call(c, "resources/list", {"cursor": "abc"}, {"resources": [
        {"uri": "file:///a", "name": "a", "mimeType": "text/plain"}], "nextCursor": "n"})
    pair.call(c, "resources/read", {"uri": "file:///a"}, {"contents": [
        {"uri": "file:///a", "text": "A"}, {"uri": "file:///b", "blob": "QQ=="}]})
    pair.call(c, "resources/templates/list", {}, {"resourceTemplates": [
        {"uriTemplate": "file:///{x}", "name": "t"}]})
    pair.call(c, "resources/subscribe", {"uri": "file:///a"}, {})
    s.send_notification("notifications/resources/updated", {"uri": "file:///a"})
    s.send_notification("notifications/resources/list_changed")
    s.send_notification("notifications/tools/list_changed")
    s.send_notification("notifications/prompts/list_changed")
    pair.deliver(s)
    pair.call(c, "prompts/list", {}, {"prompts": [{"name": "p", "arguments": [
        {"name": "a", "required": True}]}]})
    pair.call(c, "prompts/get", {"name": "p", "arguments": {"a": "1"}}, {"messages": [
        {"role": "user", "content": {"type": "text", "text": "x"}}]})
    pair.call(c, "completion/complete", {"ref": {"type": "ref/prompt", "name": "p"},
                                         "argument": {"name": "a", "value": "v"}},
              {"completion": {"values": ["v1"], "hasMore": False}})
    pair.call(c, "logging/setLevel", {"level": "debug"}, {})
    pair.call(s, "roots/list", {}, {"roots": [{"uri": "file:///r", "name": "r"}]})
    c.send_notification("notifications/roots/list_changed")
    pair.deliver(c)
    pair.call(s, "sampling/createMessage", {
        "messages": [{"role": "user", "content": {"type": "text", "text": "q"}}],
        "maxTokens": 10}, {"role": "assistant", "content": {"type": "text", "text": "a"},
                           "model": "m"})
    if revision >= "2025-06-18":
        pair.call(s, "elicitation/create", {"message": "m", "requestedSchema": {
            "type": "object", "properties": {"n": {"type": "string"}}}},
                  {"action": "accept", "content": {"n": "x"}})
    # errors and cancellation
    rid, _ = pair.request(c, "tools/call", {"name": "slow"})
    c.cancel(rid, "bored")
    pair.deliver(c)
    rid, _ = pair.request(c, "tools/list", {})
    s.send_error(rid, ErrorCode.INTERNAL_ERROR, "boom", {"detail": 1})
    pair.deliver(s)
    return pair


@pytest.mark.parametrize("revision", HANDSHAKE_VERSIONS)
def test_every_emitted_frame_validates(revision: str, schema_dir: object) -> None:
    pair = conversation(revision)
    assert len(pair.wire) > 30
    for _sender, message in pair.wire:
        assert_valid(revision, message)


@pytest.mark.parametrize("revision", ["2025-11-25"])
def test_error_hints_validate(revision: str, schema_dir: object) -> None:
    pair = ConnectionPair()
    pair.handshake(protocol_version=revision, server_capabilities={})
    hints = []
    for bad in (b"not json\n", frame({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}),
                frame({"jsonrpc": "2.0", "id": 2, "method": 5}),
                frame({"jsonrpc": "2.0", "id": 3, "method": "ping", "params": [1]})):
        pair.server.receive_data(bad)
        with pytest.raises(RemoteProtocolError) as info:
            pair.server.next_event()
        assert info.value.response_hint is not None
        hints.append(_codec.loads(info.value.response_hint))
    for hint in hints:
        assert_valid(revision, hint)
