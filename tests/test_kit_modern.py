"""The testing kit in the stateless era (2026-07-28): what a user of ``sansio.testing`` relies
on when property-testing a modern peer.

* ``mcp_calls``/``mcp_results`` of 2026-07-28 drive a ``ConnectionPair.stateless`` round trip:
  every call arrives with its ``_meta`` judged, every answer (complete or input_required)
  arrives with its ``resultType``;
* ``request_metas`` and ``invalid_modern_results`` do what they say against real engines;
* ``MCPStatelessMachine`` is subclassable like ``MCPLifecycleMachine``: a handler plugged into
  ``answer_request`` runs under the machine's invariants, and a broken handler is caught.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import run_state_machine_as_test

from sansio import (
    InputRequired,
    RemoteProtocolError,
    RequestReceived,
    ResponseReceived,
    State,
)
from sansio.jsonrpc import ErrorObject
from sansio.testing import ConnectionPair
from sansio.testing import strategies as mcps
from sansio.testing.machine import MCPStatelessMachine
from tests.conftest import schemas_available
from tests.helpers import FULL_SERVER_CAPS
from tests.test_properties import assert_frame_valid

V = "2026-07-28"
KIT = settings(max_examples=40, deadline=None,
               suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
FULL_MODERN_CLIENT_CAPS = {"roots": {}, "sampling": {"tools": {}},
                           "elicitation": {"form": {}, "url": {}}}


@KIT
@given(data=st.data(), byte_by_byte=st.booleans())
def test_modern_calls_round_trip_through_a_stateless_pair(data: st.DataObject,
                                                          byte_by_byte: bool) -> None:
    """Calls drawn from mcp_calls(2026-07-28) reach the server with their params and a judged
    _meta; answers drawn from mcp_results(..., input_required=True) reach the client with
    their resultType, and every frame on the wire is valid 2026-07-28."""
    pair = ConnectionPair.stateless(server_capabilities=FULL_SERVER_CAPS,
                                    client_capabilities=FULL_MODERN_CLIENT_CAPS,
                                    byte_by_byte=byte_by_byte)
    methods = [m for m in mcps.mcp_methods(V) if m != "subscriptions/listen"]
    for method, drawn in data.draw(st.lists(mcps.mcp_calls(V, methods=methods),
                                            min_size=1, max_size=4)):
        # the drawn _meta would win over the client's: leave it to the engine to stamp
        params = {k: v for k, v in (drawn or {}).items() if k != "_meta"}
        rid, event = pair.request(pair.client, method, params)
        assert event.request_meta is not None and event.request_meta.version == V
        if method == "server/discover":
            pair.server.send_discover_result(rid)
            [answer] = pair.deliver(pair.server)
            assert isinstance(answer, ResponseReceived)
            assert answer.result["supportedVersions"][0] == V
            continue
        result = data.draw(mcps.mcp_results(method, V, input_required=True))
        if result["resultType"] == "input_required":  # an MRTR round: its own call and event
            pair.server.send_input_required(rid, result.get("inputRequests"),
                                            result.get("requestState"))
            [asked] = pair.deliver(pair.server)
            assert isinstance(asked, InputRequired)
            assert (asked.request_id, asked.method) == (rid, method)
            assert asked.input_requests == (result.get("inputRequests") or {})
            assert asked.request_state == result.get("requestState")
            continue
        answer = pair.respond(pair.server, rid, result)
        assert answer.result_type == result["resultType"]
    assert not pair.client.pending_requests and not pair.server.serving_requests
    if schemas_available():
        sent: dict[Any, str] = {}
        for sender, message in pair.wire:
            if "method" in message:
                sent[message["id"]] = message["method"]
            assert_frame_valid(V, sender, message, sent.get(message.get("id")))


@KIT
@given(meta=mcps.request_metas(client_capabilities=st.just({"roots": {}}),
                               progress_tokens=True))
def test_request_metas_are_what_the_server_reads(meta: dict[str, Any]) -> None:
    """A request carrying a drawn _meta is read back field by field (RequestReceived), with
    the capabilities passed in."""
    pair = ConnectionPair.stateless(server_capabilities={"tools": {}})
    pair.server.receive_message({"jsonrpc": "2.0", "id": 1, "method": "tools/list",
                                 "params": {"_meta": meta}})
    [event] = [pair.server.next_event()]
    assert isinstance(event, RequestReceived) and pair.server.state is State.STATELESS
    assert event.request_meta is not None
    assert event.request_meta.client_capabilities == {"roots": {}}
    assert event.request_meta.client_info == meta.get("io.modelcontextprotocol/clientInfo")
    assert event.request_meta.log_level == meta.get("io.modelcontextprotocol/logLevel")
    assert event.progress_token == meta.get("progressToken")


@KIT
@given(result=mcps.invalid_modern_results("tools/list"))
def test_a_stateless_client_refuses_a_bad_result_type(result: dict[str, Any]) -> None:
    """invalid_modern_results gives results a stateless client finishes with a non-fatal
    RemoteProtocolError (never a ResponseReceived), staying STATELESS."""
    pair = ConnectionPair.stateless(server_capabilities={"tools": {}})
    rid, _ = pair.request(pair.client, "tools/list")
    pair.client.receive_message({"jsonrpc": "2.0", "id": rid, "result": result})
    with pytest.raises(RemoteProtocolError) as info:
        pair.client.next_event()
    assert not info.value.fatal and pair.client.state is State.STATELESS
    assert rid not in pair.client.pending_requests


MACHINE_RUN = settings(max_examples=30, stateful_step_count=20, deadline=None,
                       database=None, phases=[Phase.generate],
                       suppress_health_check=list(HealthCheck))


class EchoServer(MCPStatelessMachine):
    """A user's subclass: a tools-only server whose handler echoes the tool's arguments."""

    methods = ("tools/list", "tools/call")
    handled: list[str] = []  # shared across runs on purpose: the test reads it

    def server_capabilities(self) -> dict[str, Any]:
        return {"tools": {}}

    def answer_request(self, event: RequestReceived) -> dict[str, Any] | ErrorObject | None:
        self.handled.append(event.method)
        if event.method == "tools/list":
            return {"tools": [{"name": "echo", "inputSchema": {"type": "object"}}]}
        if event.method == "tools/call":
            args = (event.params or {}).get("arguments") or {}
            return {"content": [{"type": "text", "text": repr(sorted(args))}]}
        return super().answer_request(event)


def test_a_subclassed_stateless_machine_runs_the_handler() -> None:
    """The handler plugged into answer_request runs under the machine's invariants (answered
    once, resultType, cache fields added by the engine for tools/list)."""
    EchoServer.handled.clear()
    run_state_machine_as_test(EchoServer, settings=MACHINE_RUN)
    assert {"tools/list", "tools/call"} <= set(EchoServer.handled)


def test_a_stateless_machine_catches_an_engine_answering_twice() -> None:
    """An engine that writes some response twice is caught (make_server is the hook that
    puts your own engine or embedding in the loop)."""
    from sansio import Connection, Role
    from sansio.frames import Frame

    class Stutter(Connection):
        def frames_to_send(self) -> list[Frame]:
            out: list[Frame] = []
            for frame in super().frames_to_send():
                out += [frame, frame] if frame.request_id is not None else [frame]
            return out

    class Twice(MCPStatelessMachine):
        def make_server(self, capabilities: dict[str, Any]) -> Connection:
            return Stutter(Role.SERVER, server_info=self.server_info,
                           server_capabilities=capabilities)

    with pytest.raises(AssertionError, match="answered twice"):
        run_state_machine_as_test(Twice, settings=MACHINE_RUN)


def test_a_stateless_machine_catches_an_engine_losing_an_answer() -> None:
    """An engine that loses the error responses it queued is caught at the end: some request
    was never answered."""
    from sansio import Connection, Role
    from sansio.frames import Frame, FrameKind

    class Lossy(Connection):
        def frames_to_send(self) -> list[Frame]:
            return [f for f in super().frames_to_send() if f.kind is not FrameKind.ERROR]

    class Losing(MCPStatelessMachine):
        error_odds = 2

        def make_server(self, capabilities: dict[str, Any]) -> Connection:
            return Lossy(Role.SERVER, server_info=self.server_info,
                         server_capabilities=capabilities)

    with pytest.raises(AssertionError, match="never answered"):
        run_state_machine_as_test(Losing, settings=MACHINE_RUN)


def test_errors_from_the_machine_handler_reach_the_wire() -> None:
    """error_odds=1: every answer is an error, and each is one error response with its id."""

    class Grumpy(MCPStatelessMachine):
        error_odds = 1

        def on_frame(self, message: Any) -> None:
            assert "result" not in message, message

    run_state_machine_as_test(Grumpy, settings=MACHINE_RUN)
