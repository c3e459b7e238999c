"""Multi round-trip requests in the engine (MCP 2026-07-28, basic/patterns/mrtr): the server
answers ``input_required`` with ``send_input_required``, the client gets an ``InputRequired``
event that finishes the request and retries with ``send_retry`` (a new request, new id); rounds
repeat. Every frame is checked against the 2026-07-28 schema when the schemas are available."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sansio import (
    Connection,
    ErrorCode,
    ErrorReceived,
    HmacRequestStateCodec,
    InputRequired,
    LocalProtocolError,
    RemoteProtocolError,
    RequestReceived,
    ResponseReceived,
    Role,
    _codec,
)
from sansio.testing import ConnectionPair, drain_events
from sansio.types import ElicitResult
from sansio.versions import META_CLIENT_CAPABILITIES, META_PROTOCOL_VERSION
from tests.conftest import schemas_available
from tests.helpers import FULL_SERVER_CAPS, frame
from tests.test_properties import assert_frame_valid, assert_valid

V = "2026-07-28"
ELICIT = {"method": "elicitation/create", "params": {
    "mode": "form", "message": "Your name?",
    "requestedSchema": {"type": "object", "properties": {"name": {"type": "string"}}}}}
SAMPLE = {"method": "sampling/createMessage", "params": {
    "messages": [{"role": "user", "content": {"type": "text", "text": "hi"}}], "maxTokens": 5}}
ROOTS = {"method": "roots/list", "params": {}}
ACCEPT = {"action": "accept", "content": {"name": "Ada"}}


class Wire:
    """A stateless pair that records (and schema-checks) every frame it moves."""

    def __init__(self, caps: dict[str, Any] | None = None) -> None:
        self.pair = ConnectionPair.stateless(
            server_capabilities=FULL_SERVER_CAPS,
            client_capabilities=caps if caps is not None else {"elicitation": {}})
        self.client, self.server = self.pair.client, self.pair.server
        self.messages: list[tuple[Role, dict[str, Any]]] = []

    def move(self, sender: Connection) -> list[Any]:
        data = sender.data_to_send()
        for line in data.splitlines():
            msg = _codec.loads(line)
            self.messages.append((sender.role, msg))
            if schemas_available():
                assert_frame_valid(V, sender.role, msg, None)
                if msg.get("result", {}).get("resultType") == "input_required":
                    assert_valid(V, "InputRequiredResult", msg["result"])
        receiver = self.pair.peer_of(sender)
        receiver.receive_data(data)
        return drain_events(receiver)


def test_a_whole_round_with_a_sealed_state() -> None:
    w = Wire()
    codec = HmacRequestStateCodec([("k1", b"k" * 32)])
    rid = w.client.send_request("tools/call", {"name": "greet", "arguments": {"x": 1}})
    [req] = w.move(w.client)
    assert isinstance(req, RequestReceived) and not req.is_retry
    assert req.input_responses is None and req.request_state is None
    state = codec.seal({"step": 1}, method=req.method, params=req.params,
                       principal=None, now=0.0, random=lambda n: b"\0" * n)
    w.server.send_input_required(rid, {"name": ELICIT}, state)
    [event] = w.move(w.server)
    assert event == InputRequired(rid, "tools/call", {"name": "greet", "arguments": {"x": 1}},
                                  {"name": ELICIT}, state, event.result)
    assert event.result["resultType"] == "input_required"
    assert w.client.pending_requests == frozenset()  # the event finished the request
    assert w.server.serving_requests == frozenset()
    retry = w.client.send_retry(event, {"name": ACCEPT})
    assert retry != rid
    [again] = w.move(w.client)
    assert isinstance(again, RequestReceived) and again.request_id == retry and again.is_retry
    assert again.input_responses == {"name": ACCEPT}
    assert again.typed_input_responses() == {"name": ElicitResult(action="accept", content={
        "name": "Ada"})}
    assert again.request_state == state  # byte-exact
    assert again.params is not None and again.params["arguments"] == {"x": 1}
    assert again.params["_meta"][META_PROTOCOL_VERSION] == V
    assert codec.open(again.request_state, method=again.method, params=again.params,
                      principal=None, now=1.0) == {"step": 1}
    w.server.send_response(retry, {"content": [{"type": "text", "text": "Hello Ada"}]})
    [done] = w.move(w.server)
    assert isinstance(done, ResponseReceived) and done.request_id == retry
    assert done.result_type == "complete"
    # The wire: request, input_required, retry (new id), result.
    ids = [msg.get("id") for _, msg in w.messages]
    assert ids == [rid, rid, retry, retry]


def test_two_rounds_then_complete() -> None:
    """A retry may be answered input_required again: rounds repeat, each a new request whose
    params are the original's plus this round's fields (never the previous round's)."""
    w = Wire({"elicitation": {}, "roots": {}})
    rid = w.client.send_request("prompts/get", {"name": "p"})
    w.move(w.client)
    w.server.send_input_required(rid, {"a": ELICIT}, "s1")
    [first] = w.move(w.server)
    r2 = w.client.send_retry(first, {"a": ACCEPT})
    [req2] = w.move(w.client)
    assert req2.request_state == "s1" and req2.input_responses == {"a": ACCEPT}
    w.server.send_input_required(r2, {"b": ROOTS}, "s2")
    [second] = w.move(w.server)
    assert isinstance(second, InputRequired) and second.request_id == r2
    assert second.params == {"name": "p"}  # round 1's fields are not carried over
    r3 = w.client.send_retry(second, {"b": {"roots": []}})
    [req3] = w.move(w.client)
    assert req3.input_responses == {"b": {"roots": []}} and req3.request_state == "s2"
    w.server.send_response(r3, {"messages": []})
    [done] = w.move(w.server)
    assert isinstance(done, ResponseReceived) and done.request_id == r3
    assert len({rid, r2, r3}) == 3


def test_resources_read_and_state_only() -> None:
    w = Wire({})
    rid = w.client.send_request("resources/read", {"uri": "demo://a"})
    w.move(w.client)
    w.server.send_input_required(rid, request_state="just-state")
    [event] = w.move(w.server)
    assert event.input_requests == {} and event.request_state == "just-state"
    retry = w.client.send_retry(event)
    [req] = w.move(w.client)
    assert req.request_state == "just-state" and req.input_responses is None
    assert req.is_retry and req.typed_input_responses() is None
    assert req.params["uri"] == "demo://a"
    w.server.send_response(retry, {"contents": []})
    assert isinstance(w.move(w.server)[0], ResponseReceived)


@pytest.mark.parametrize(("caps", "request_", "required"), [
    ({}, SAMPLE, {"sampling": {}}),
    ({}, ELICIT, {"elicitation": {}}),
    ({"elicitation": {"url": {}}}, ELICIT, {"elicitation": {"form": {}}}),
    ({"sampling": {}}, ROOTS, {"roots": {}}),
])
def test_only_what_the_request_declared(caps: dict[str, Any], request_: dict[str, Any],
                                        required: dict[str, Any]) -> None:
    w = Wire(caps)
    rid = w.client.send_request("tools/call", {"name": "t"})
    w.move(w.client)
    with pytest.raises(LocalProtocolError) as info:
        w.server.send_input_required(rid, {"x": request_}, "s")
    assert info.value.code == ErrorCode.MISSING_REQUIRED_CLIENT_CAPABILITY == -32021
    assert info.value.data == {"requiredCapabilities": required}
    assert w.server.data_to_send() == b"" and rid in w.server.serving_requests
    w.server.send_error(rid, info.value.code, info.value.message, info.value.data)
    [err] = w.move(w.server)
    assert isinstance(err, ErrorReceived) and err.error.code == -32021
    assert err.error.data == {"requiredCapabilities": required}


def test_the_request_s_own_capabilities_decide_not_an_earlier_one() -> None:
    w = Wire({})
    # This request declares sampling in its own _meta; the client's default declares nothing.
    rid = w.client.send_request("tools/call", {"name": "t", "_meta": {
        META_CLIENT_CAPABILITIES: {"sampling": {}}}})
    w.move(w.client)
    w.server.send_input_required(rid, {"q": SAMPLE})
    [event] = w.move(w.server)
    assert isinstance(event, InputRequired) and event.input_requests == {"q": SAMPLE}


@pytest.mark.parametrize("method", ["tools/list", "prompts/list", "server/discover"])
def test_only_three_methods_may_ask_for_input(method: str) -> None:
    w = Wire()
    rid = w.client.send_request(method)
    w.move(w.client)
    with pytest.raises(LocalProtocolError, match="only tools/call"):
        w.server.send_input_required(rid, {"a": ELICIT})
    with pytest.raises(LocalProtocolError, match="input_required"):
        w.server.send_response(rid, {"resultType": "input_required", "requestState": "s"})
    assert w.server.data_to_send() == b""


def test_server_refusals() -> None:
    w = Wire()
    with pytest.raises(LocalProtocolError, match="no request"):
        w.server.send_input_required(99, {"a": ELICIT})
    rid = w.client.send_request("tools/call", {"name": "t"})
    w.move(w.client)
    with pytest.raises(LocalProtocolError, match="needs input_requests or a request_state"):
        w.server.send_input_required(rid)
    w.server.send_input_required(rid, {"a": ELICIT})
    with pytest.raises(LocalProtocolError, match="no request"):
        w.server.send_input_required(rid, {"a": ELICIT})  # answered already


def test_handshake_era_has_no_input_required() -> None:
    pair = ConnectionPair()
    pair.handshake(server_capabilities=FULL_SERVER_CAPS)
    rid = pair.client.send_request("tools/call", {"name": "t"})
    pair.deliver(pair.client)
    with pytest.raises(LocalProtocolError, match="stateless-era"):
        pair.server.send_input_required(rid, {"a": ELICIT})
    with pytest.raises(LocalProtocolError, match="stateless-era client"):
        pair.client.send_request("tools/call", {"name": "t"}, request_state="s")


def test_client_refusals() -> None:
    w = Wire()
    with pytest.raises(LocalProtocolError, match="retry of tools/call"):
        w.client.send_request("tools/list", {}, request_state="s")
    rid = w.client.send_request("tools/call", {"name": "t"}, input_responses={"a": ACCEPT},
                                request_state="s0")
    [req] = w.move(w.client)
    assert req.request_id == rid and req.input_responses == {"a": ACCEPT}
    assert req.request_state == "s0"


def test_input_required_for_another_method_finishes_it_with_an_error() -> None:
    w = Wire()
    rid = w.client.send_request("tools/list")
    w.client.data_to_send()
    w.client.receive_data(frame({"jsonrpc": "2.0", "id": rid, "result": {
        "resultType": "input_required", "requestState": "s"}}))
    with pytest.raises(RemoteProtocolError) as info:
        drain_events(w.client)
    assert info.value.finished_request == rid and not info.value.fatal
    assert w.client.pending_requests == frozenset()


def test_a_malformed_input_required_result_is_refused() -> None:
    w = Wire()
    rid = w.client.send_request("tools/call", {"name": "t"})
    w.client.data_to_send()
    w.client.receive_data(frame({"jsonrpc": "2.0", "id": rid, "result": {
        "resultType": "input_required", "requestState": 5}}))
    with pytest.raises(RemoteProtocolError) as info:
        drain_events(w.client)
    assert info.value.finished_request == rid


def test_the_retry_keeps_the_callers_own_meta_and_progress_is_per_round() -> None:
    w = Wire()
    rid = w.client.send_request("tools/call", {"name": "t", "_meta": {"traceparent": "00-x"}},
                                progress_token="p1")
    [req] = w.move(w.client)
    assert req.progress_token == "p1"
    w.server.send_input_required(rid, {"a": ELICIT})
    [event] = w.move(w.server)
    assert event.params == {"name": "t", "_meta": {"traceparent": "00-x"}}
    w.client.send_retry(event, {"a": ACCEPT}, progress_token="p2")
    [again] = w.move(w.client)
    assert again.progress_token == "p2" and again.params["_meta"]["traceparent"] == "00-x"
    assert "requestState" not in again.params


@settings(max_examples=30, deadline=None)
@given(rounds=st.integers(1, 5), method=st.sampled_from(["tools/call", "prompts/get",
                                                         "resources/read"]),
       byte_by_byte=st.booleans())
def test_rounds_repeat_with_new_ids_and_the_original_params(rounds: int, method: str,
                                                            byte_by_byte: bool) -> None:
    pair = ConnectionPair.stateless(client_capabilities={"elicitation": {}},
                                    byte_by_byte=byte_by_byte)
    c, s = pair.client, pair.server
    original = {"uri": "demo://a"} if method == "resources/read" else {"name": "n"}
    rid = c.send_request(method, original)
    seen = [rid]
    for n in range(rounds):
        [req] = pair.deliver(c)
        assert isinstance(req, RequestReceived) and req.request_id == seen[-1]
        assert req.params is not None
        assert {k: v for k, v in req.params.items() if k not in ("_meta", "inputResponses",
                                                               "requestState")} == original
        if n:
            assert req.request_state == f"s{n - 1}"
            assert req.input_responses == {f"k{n - 1}": ACCEPT}
        s.send_input_required(req.request_id, {f"k{n}": ELICIT}, f"s{n}")
        [event] = pair.deliver(s)
        assert isinstance(event, InputRequired) and event.params == original
        assert c.pending_requests == frozenset() and s.serving_requests == frozenset()
        seen.append(c.send_retry(event, {f"k{n}": ACCEPT}))
    [last] = pair.deliver(c)
    s.send_response(last.request_id, {"contents": []} if method == "resources/read" else
                    {"messages": []} if method == "prompts/get" else {"content": []})
    [done] = pair.deliver(s)
    assert isinstance(done, ResponseReceived) and done.request_id == seen[-1]
    assert len(set(seen)) == rounds + 1
