"""Property tests of the engine.

* ``TestLifecycle``: the :class:`~sansio.testing.machine.MCPLifecycleMachine` state machine
  (handshake with a random version, requests both ways answered in random order, cancellations,
  progress, pings, close, disconnect), subclassed so that every frame either engine writes is
  validated against the JSON schema of the revision in use.
* ``TestStatelessLifecycle``: the :class:`~sansio.testing.machine.MCPStatelessMachine` (the
  first message decides the era; modern per-request traffic, refusals, answers, logs, progress,
  cancellations), every frame the server writes validated against 2026-07-28.
* Random call sequences between two engines never lose (or duplicate) a response.
* The transition table, state by trigger, for both roles.
* The strategies of :mod:`sansio.testing.strategies` produce what they promise (valid frames are
  valid for the schema, in every revision 2026-07-28 included; every method of the method
  tables has a strategy; misbehaving modern requests get the code they name).

Schema validation: the whole frame against ``JSONRPCMessage`` and, for requests and
notifications, against the revision's ``ClientRequest``/``ServerRequest``/``ClientNotification``/
``ServerNotification`` union (which checks the params of each method); results against the result
type of the request's method. The one frame no schema can express is an error response with
``"id": null`` (JSON-RPC's answer to a frame whose id could not be read): revisions up to
2025-06-18 require a string or integer id, and 2025-11-25 omits the id instead. Two well-behaved
engines never produce one; ``tests/test_fuzz.py`` checks those hints by hand.
"""

from __future__ import annotations

import itertools
from typing import Any

import attrs
import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sansio import (
    HANDSHAKE_VERSIONS,
    STATELESS_VERSIONS,
    SUPPORTED_VERSIONS,
    ErrorReceived,
    LocalProtocolError,
    RequestReceived,
    ResponseReceived,
    Role,
    State,
)
from sansio.capabilities import missing_capability
from sansio.state import TRAFFIC, TRANSITIONS, LifecycleState, Trigger
from sansio.testing import ConnectionPair
from sansio.testing import strategies as mcps
from sansio.testing.machine import MCPLifecycleMachine, MCPStatelessMachine
from tests.conftest import load_schema, requires_schemas, schemas_available

# ---------------------------------------------------------------------------- schema checks

RESULT_TYPES = {
    "initialize": "InitializeResult",
    "ping": "Result",
    "resources/list": "ListResourcesResult",
    "resources/templates/list": "ListResourceTemplatesResult",
    "resources/read": "ReadResourceResult",
    "resources/subscribe": "Result",
    "resources/unsubscribe": "Result",
    "prompts/list": "ListPromptsResult",
    "prompts/get": "GetPromptResult",
    "tools/list": "ListToolsResult",
    "tools/call": "CallToolResult",
    "logging/setLevel": "Result",
    "completion/complete": "CompleteResult",
    "sampling/createMessage": "CreateMessageResult",
    "roots/list": "ListRootsResult",
    "elicitation/create": "ElicitResult",
    "tasks/get": "GetTaskResult",
    "tasks/result": "GetTaskPayloadResult",
    "tasks/cancel": "CancelTaskResult",
    "tasks/list": "ListTasksResult",
    "server/discover": "DiscoverResult",
    "subscriptions/listen": "SubscriptionsListenResult",
}

_validators: dict[tuple[str, str], Any] = {}


def validator(revision: str, definition: str) -> Any:
    """A validator of ``definition`` in ``revision``'s schema (``definitions`` up to 2025-06-18,
    ``$defs`` after)."""
    key = (revision, definition)
    if key not in _validators:
        root = load_schema(revision)
        defs = "$defs" if "$defs" in root else "definitions"
        schema = {"$schema": root["$schema"], defs: root[defs], "$ref": f"#/{defs}/{definition}"}
        _validators[key] = jsonschema.validators.validator_for(schema)(schema)
    return _validators[key]


def assert_valid(revision: str, definition: str, message: Any) -> None:
    error = jsonschema.exceptions.best_match(validator(revision, definition).iter_errors(message))
    assert error is None, \
        f"{revision} {definition}: {message!r}: {error.message} at {error.json_path}"


def assert_frame_valid(revision: str, sender: Role, message: Any,
                       method_of_response: str | None = None) -> None:
    """``message`` (one frame or a batch) is valid in ``revision`` for a frame from ``sender``."""
    assert_valid(revision, "JSONRPCMessage", message)
    for item in message if isinstance(message, list) else [message]:
        side = "Client" if sender is Role.CLIENT else "Server"
        if "method" in item:
            kind = "Request" if "id" in item else "Notification"
            assert_valid(revision, side + kind, item)
        elif "result" in item and method_of_response in RESULT_TYPES:
            definition = RESULT_TYPES[method_of_response]
            if item["result"].get("resultType") == "input_required":
                definition = "InputRequiredResult"
            assert_valid(revision, definition, item["result"])


class SchemaCheckedMachine(MCPLifecycleMachine):
    """The lifecycle machine, validating every frame against the schema of its revision (the
    machine's own invariants still run when the schemas are not available)."""

    def on_frame(self, sender: Role, message: Any) -> None:
        if not schemas_available():
            return
        conn = self.conns[sender]
        revision = conn.protocol_version or self.last_requested_version
        assert revision is not None
        method = None
        if isinstance(message, dict) and "result" in message:
            method = self._sent[sender.peer].get(message["id"])
        assert_frame_valid(revision, sender, message, method)


SchemaCheckedMachine.TestCase.settings = settings(
    max_examples=60, stateful_step_count=35, deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                           HealthCheck.filter_too_much])
TestLifecycle = pytest.mark.slow(SchemaCheckedMachine.TestCase)


def test_machine_catches_a_lost_response() -> None:
    """The machine's invariants have teeth: a client engine that swallows one kind of event
    (ResponseReceived) is caught. Also shows the ``make_connection`` extension point."""
    from hypothesis import Phase
    from hypothesis.stateful import run_state_machine_as_test

    from sansio import NEED_DATA, Connection

    class LossyClient(Connection):
        def next_event(self) -> Any:
            event = super().next_event()
            return NEED_DATA if isinstance(event, ResponseReceived) else event

    class Lossy(MCPLifecycleMachine):
        def make_connection(self, role: Role, versions: tuple[str, ...]) -> Connection:
            cls = LossyClient if role is Role.CLIENT else Connection
            return cls(role, supported_versions=versions)

    with pytest.raises(AssertionError):
        run_state_machine_as_test(Lossy, settings=settings(
            max_examples=300, stateful_step_count=50, phases=[Phase.generate], deadline=None,
            database=None, suppress_health_check=list(HealthCheck)))


# ---------------------------------------------------------------------------- random calls

FAST = settings(max_examples=40, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@pytest.mark.slow
@FAST
@given(data=st.data(), version=st.sampled_from(HANDSHAKE_VERSIONS),
       byte_by_byte=st.booleans())
def test_random_calls_never_lose_a_response(data: st.DataObject, version: str,
                                            byte_by_byte: bool) -> None:
    """Requests sent both ways and answered in a random order (results or errors) are each
    answered exactly once, with what the peer sent, and nothing stays pending."""
    pair = ConnectionPair(byte_by_byte=byte_by_byte)
    pair.handshake(protocol_version=version,
                   client_capabilities=data.draw(mcps.client_capabilities(version, full=True)),
                   server_capabilities=data.draw(mcps.server_capabilities(version, full=True)))
    sent: dict[Role, dict[Any, str]] = {Role.CLIENT: {}, Role.SERVER: {}}
    for sender_role in data.draw(st.lists(st.sampled_from(list(Role)), max_size=12)):
        conn = pair.client if sender_role is Role.CLIENT else pair.server
        direction: Any = sender_role.value
        method, params = data.draw(mcps.mcp_calls(version, direction))
        if missing_capability(method, params, conn.peer_capabilities, version) is not None:
            continue
        sent[sender_role][conn.send_request(method, params)] = method
    to_serve: list[tuple[Role, RequestReceived]] = []
    for sender_role in Role:
        sender = pair.client if sender_role is Role.CLIENT else pair.server
        for event in pair.deliver(sender):
            assert isinstance(event, RequestReceived)
            to_serve.append((sender_role.peer, event))
    assert sorted(map(repr, (e.request_id for _, e in to_serve))) == sorted(
        map(repr, itertools.chain(sent[Role.CLIENT], sent[Role.SERVER])))
    expected: dict[tuple[Role, Any], Any] = {}
    for server_role, event in data.draw(st.permutations(to_serve)):
        server = pair.client if server_role is Role.CLIENT else pair.server
        if data.draw(st.integers(0, 5)) == 0:
            server.send_error(event.request_id, -32603, "nope")
            expected[(server_role.peer, event.request_id)] = None
        else:
            result = data.draw(mcps.mcp_results(event.method, version))
            server.send_response(event.request_id, result)
            expected[(server_role.peer, event.request_id)] = result
    got: dict[tuple[Role, Any], Any] = {}
    for server_role in Role:
        server = pair.client if server_role is Role.CLIENT else pair.server
        for event in pair.deliver(server):
            assert isinstance(event, (ResponseReceived, ErrorReceived)), event
            key = (server_role.peer, event.request_id)
            assert key not in got, f"answered twice: {key}"
            assert event.method == sent[key[0]][event.request_id]
            got[key] = event.result if isinstance(event, ResponseReceived) else None
    assert got == expected
    assert not pair.client.pending_requests and not pair.server.pending_requests
    assert not pair.client.serving_requests and not pair.server.serving_requests
    for sender_role, message in pair.wire:
        answered = None
        if "result" in message:
            answered = sent[sender_role.peer].get(message["id"], "initialize")
        assert_frame_valid(version, sender_role, message, answered)


# ---------------------------------------------------------------------------- the state table


def path_to(role: Role, target: State) -> list[Trigger]:
    """The shortest trigger sequence from IDLE to ``target`` (breadth-first over TRANSITIONS)."""
    paths: dict[State, list[Trigger]] = {State.IDLE: []}
    todo = [State.IDLE]
    while todo:
        state = todo.pop(0)
        for trigger, new in TRANSITIONS[(role, state)].items():
            if new not in paths:
                paths[new] = [*paths[state], trigger]
                todo.append(new)
    return paths[target]


@pytest.mark.parametrize("trigger", list(Trigger), ids=lambda t: t.name)
@pytest.mark.parametrize("state", list(State), ids=lambda s: s.name)
@pytest.mark.parametrize("role", list(Role), ids=lambda r: r.name)
def test_state_table(role: Role, state: State, trigger: Trigger) -> None:
    """Every (role, state) x trigger gives the table's State, or LocalProtocolError with the
    state unchanged; the traffic rules follow the state."""
    lifecycle = LifecycleState(role)
    for step in path_to(role, state):
        lifecycle.process(step)
    assert lifecycle.state is state
    moves = TRANSITIONS[(role, state)]
    if trigger in moves:
        assert lifecycle.can(trigger)
        new = lifecycle.process(trigger)
        assert isinstance(new, State)
        assert new is moves[trigger] and lifecycle.state is new
    else:
        assert not lifecycle.can(trigger)
        with pytest.raises(LocalProtocolError):
            lifecycle.process(trigger)
        assert lifecycle.state is state
    assert lifecycle.traffic is TRAFFIC[(role, lifecycle.state)]


def test_state_tables_are_complete() -> None:
    """Both tables cover every (role, state); every state is reachable from IDLE; CLOSED and ERROR
    are terminal; a fatal error leads to ERROR from every live state."""
    keys = {(role, state) for role in Role for state in State}
    assert set(TRANSITIONS) == keys
    assert set(TRAFFIC) == keys
    for role in Role:
        seen, todo = {State.IDLE}, [State.IDLE]
        while todo:
            for new in TRANSITIONS[(role, todo.pop())].values():
                if new not in seen:
                    seen.add(new)
                    todo.append(new)
        assert seen == set(State), (role, set(State) - seen)
        for terminal in (State.CLOSED, State.ERROR):
            assert set(TRANSITIONS[(role, terminal)].values()) <= {terminal}
        for state in (State.IDLE, State.INITIALIZING, State.INITIALIZED, State.OPERATING):
            assert TRANSITIONS[(role, state)][Trigger.PROTOCOL_ERROR] is State.ERROR
            assert TRANSITIONS[(role, state)][Trigger.CLOSE] is State.CLOSED


# ---------------------------------------------------------------------------- the strategies


@pytest.mark.parametrize("revision", SUPPORTED_VERSIONS)
def test_every_table_method_has_a_strategy(revision: str) -> None:
    """Every request and notification of the method tables that exists in ``revision`` (and is
    in its schema) can be generated, so the strategies keep up with sansio.types."""
    from sansio import types

    root = load_schema(revision)
    defs = root["$defs" if "$defs" in root else "definitions"]

    def schema_methods(union: str) -> set[str]:
        # 2026-07-28 has no ServerRequest, and its ClientNotification is one definition
        if union not in defs:
            return set()
        if "anyOf" not in defs[union]:
            return {defs[union]["properties"]["method"]["const"]}
        return {defs[ref["$ref"].rsplit("/", 1)[1]]["properties"]["method"]["const"]
                for ref in defs[union]["anyOf"]}

    for table, direction, kind, union in (
        (types.CLIENT_REQUESTS, "client", "request", "ClientRequest"),
        (types.SERVER_REQUESTS, "server", "request", "ServerRequest"),
        (types.CLIENT_NOTIFICATIONS, "client", "notification", "ClientNotification"),
        (types.SERVER_NOTIFICATIONS, "server", "notification", "ServerNotification"),
    ):
        live = {m for m, spec in table.items()
                if spec.since <= revision and (spec.until is None or revision <= spec.until)}
        assert live == schema_methods(union), (union, live ^ schema_methods(union))
        assert set(mcps.mcp_methods(revision, direction, kind)) == live  # type: ignore[arg-type]


STRATEGY_SETTINGS = settings(max_examples=60, deadline=None,
                             suppress_health_check=[HealthCheck.too_slow])


@requires_schemas
@STRATEGY_SETTINGS
@given(data=st.data(), revision=st.sampled_from(SUPPORTED_VERSIONS),
       sender=st.sampled_from(list(Role)))
def test_mcp_strategies_are_schema_valid(data: st.DataObject, revision: str,
                                         sender: Role) -> None:
    """mcp_requests, mcp_notifications, mcp_results and batches produce schema-valid frames, in
    every revision (2026-07-28: with per-request _meta, resultType, cache fields and
    input_required results). The stateless era has no server-to-client requests: there the
    server side draws only notifications and the requests are the client's."""
    direction: Any = sender.value
    modern = revision in STATELESS_VERSIONS
    request = data.draw(mcps.mcp_requests(revision, "client" if modern else direction,
                                          include_initialize=not modern))
    assert_frame_valid(revision, Role.CLIENT if modern else sender, request)
    assert_frame_valid(revision, sender, data.draw(mcps.mcp_notifications(revision, direction)))
    if modern:
        sender = Role.CLIENT
    result = data.draw(mcps.mcp_results(request["method"], revision, input_required=modern))
    response = {"jsonrpc": "2.0", "id": request["id"], "result": result}
    assert_frame_valid(revision, sender.peer, response, request["method"])
    if revision == "2025-03-26":
        assert_valid(revision, "JSONRPCMessage", data.draw(mcps.batches(revision, direction)))


def test_no_request_strategy_for_stateless_server_requests() -> None:
    """2026-07-28 has no server-to-client requests (input is asked for in results) and no
    initialize: the strategies say so with a ValueError instead of drawing something invalid."""
    assert mcps.mcp_methods("2026-07-28", "server", "request") == ()
    for bad in (lambda: mcps.mcp_calls("2026-07-28", "server"),
                lambda: mcps.initialize_params("2026-07-28"),
                lambda: mcps.request_metas("2025-11-25"),
                lambda: mcps.mcp_results("ping", "1999-01-01")):
        with pytest.raises(ValueError):
            bad()


@requires_schemas
@STRATEGY_SETTINGS
@given(meta=mcps.request_metas(progress_tokens=True),
       result=mcps.input_required_results(),
       data=st.data())
def test_modern_building_blocks_are_schema_valid(meta: dict[str, Any], result: dict[str, Any],
                                                 data: st.DataObject) -> None:
    """request_metas, input_required_results and the misbehaving modern results: the first
    two validate against RequestMetaObject / InputRequiredResult; a bad resultType still is a
    JSON object result (the schema leaves resultType a string: the engine judges it)."""
    revision = STATELESS_VERSIONS[-1]
    assert_valid(revision, "RequestMetaObject", meta)
    assert_valid(revision, "InputRequiredResult", result)
    assert "inputRequests" in result or "requestState" in result
    bad = data.draw(mcps.invalid_modern_results("tools/list"))
    assert bad["resultType"] not in ("complete", "input_required")


@STRATEGY_SETTINGS
@given(case=mcps.invalid_modern_requests())
def test_invalid_modern_requests_get_their_code(case: tuple[dict[str, Any], int]) -> None:
    """Each misbehaving modern request is refused, with its id and the code the strategy names,
    by a server already in the stateless era (and the server stays in it)."""
    from sansio import RemoteProtocolError

    frame, code = case
    pair = ConnectionPair.stateless(server_capabilities={"tools": {}, "prompts": {},
                                                         "resources": {}, "completions": {}})
    pair.client.send_request("tools/list")
    [request] = pair.deliver(pair.client)
    pair.server.send_response(request.request_id, {"tools": []})
    pair.deliver(pair.server)
    pair.server.receive_message(frame)
    with pytest.raises(RemoteProtocolError) as info:
        pair.server.next_event()
    assert info.value.code == code and info.value.request_id == frame["id"]
    assert not info.value.fatal and pair.server.state is State.STATELESS
    if code == -32022:
        assert info.value.data["requested"] == frame["params"]["_meta"][
            "io.modelcontextprotocol/protocolVersion"]


@requires_schemas
@STRATEGY_SETTINGS
@given(message=mcps.jsonrpc_messages(), revision=st.sampled_from(HANDSHAKE_VERSIONS))
def test_jsonrpc_strategies_are_valid(message: dict[str, Any], revision: str) -> None:
    """The JSON-RPC envelope strategies give valid envelopes that decode to themselves."""
    from sansio import _codec
    from sansio.jsonrpc import decode_message

    assert_valid(revision, "JSONRPCMessage", message)
    decode_message(message)
    assert _codec.loads(mcps.encode_frame(message)) == message


@STRATEGY_SETTINGS
@given(message=mcps.invalid_messages())
def test_invalid_messages_are_invalid(message: Any) -> None:
    """invalid_messages never produces something the JSON-RPC layer accepts (deep nesting aside,
    which the engine refuses)."""
    from sansio.jsonrpc import FrameError, decode_message

    try:
        decode_message(message)
    except FrameError:
        return
    assert message["method"] == "ping" and "x" in message["params"]  # only too deep


@STRATEGY_SETTINGS
@given(data=st.data(), frames=st.lists(mcps.ndjson(mcps.jsonrpc_messages()), max_size=4))
def test_ndjson_chunks_rejoin(data: st.DataObject, frames: list[bytes]) -> None:
    chunks = data.draw(mcps.ndjson_chunks(frames))
    assert b"".join(chunks) == b"".join(frames)
    assert all(chunks)


# ---------------------------------------------------------------------------- regressions


def test_cancel_racing_initialize_refusal() -> None:
    """The client pings and cancels the ping while initialize is pending; the server refuses
    initialize before it reads them. The server sees the ping and its cancellation (found by
    the lifecycle machine: the IDLE server used to refuse the cancel)."""
    pair = ConnectionPair()
    client, server = pair.client, pair.server
    init_id = client.send_initialize({"name": "c", "version": "1"}, {})
    pair.deliver(client)
    ping_id = client.send_request("ping")
    client.cancel(ping_id)
    server.send_error(init_id, -32602, "not now")
    events = pair.deliver(client)
    assert [type(e).__name__ for e in events] == ["RequestReceived", "RequestCancelled"]


# ---------------------------------------------------------------------------- the stateless era


class SchemaCheckedStatelessMachine(MCPStatelessMachine):
    """The stateless machine, validating every frame the server writes (and every hint)
    against the 2026-07-28 schema (its own invariants still run without the schemas)."""

    def on_frame(self, message: Any) -> None:
        if not schemas_available():
            return
        method = None
        if "result" in message:
            method = self._sent[self._key(message["id"])]["method"]
        assert_frame_valid(self.version, Role.SERVER, message, method)


SchemaCheckedStatelessMachine.TestCase.settings = settings(
    max_examples=40, stateful_step_count=30, deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                           HealthCheck.filter_too_much])
TestStatelessLifecycle = pytest.mark.slow(SchemaCheckedStatelessMachine.TestCase)


def test_stateless_machine_catches_a_missing_result_type() -> None:
    """The stateless machine's invariants have teeth: a server engine that drops resultType
    from what it writes is caught."""
    from hypothesis import Phase
    from hypothesis.stateful import run_state_machine_as_test

    from sansio import Connection, _codec
    from sansio.frames import Frame

    class Careless(Connection):
        def frames_to_send(self) -> list[Frame]:
            out = []
            for frame in super().frames_to_send():
                message = _codec.loads(frame.data)
                if isinstance(message.get("result"), dict):
                    message["result"].pop("resultType", None)
                out.append(attrs.evolve(frame, data=_codec.dumps(message) + b"\n"))
            return out

    class Lossy(MCPStatelessMachine):
        def make_server(self, capabilities: dict[str, Any]) -> Connection:
            return Careless(Role.SERVER, server_info=self.server_info,
                            server_capabilities=capabilities)

    with pytest.raises(AssertionError):
        run_state_machine_as_test(Lossy, settings=settings(
            max_examples=200, stateful_step_count=30, phases=[Phase.generate], deadline=None,
            database=None, suppress_health_check=list(HealthCheck)))
