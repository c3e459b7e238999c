"""subscriptions/listen streams (sansio/subscriptions.py), both roles: the frames a server writes
(acknowledgement first, only the requested types, each tagged with its subscription id, the
completion result at the end) and how a client demultiplexes them (MCP 2026-07-28)."""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sansio import ErrorCode
from sansio.subscriptions import (
    ACKNOWLEDGED_METHOD,
    SUBSCRIPTION_ID_META,
    Acknowledged,
    ClientSubscriptions,
    Delivery,
    EndReason,
    ListenRefused,
    ServerSubscriptions,
    StaleNotification,
    SubscriptionEnded,
    SubscriptionFilter,
    SubscriptionNotification,
    SubscriptionViolation,
)
from tests.conftest import SCHEMA_DIR, load_schema

REVISION = "2026-07-28"
EXAMPLES = SCHEMA_DIR / REVISION / "examples"
META = {"io.modelcontextprotocol/protocolVersion": REVISION,
        "io.modelcontextprotocol/clientInfo": {"name": "c", "version": "1"},
        "io.modelcontextprotocol/clientCapabilities": {}}
ALL_CAPS = {"tools": {"listChanged": True}, "prompts": {"listChanged": True},
            "resources": {"listChanged": True, "subscribe": True}}
TOOLS = "notifications/tools/list_changed"
PROMPTS = "notifications/prompts/list_changed"
RESOURCES = "notifications/resources/list_changed"
UPDATED = "notifications/resources/updated"

_validators: dict[str, Any] = {}


def assert_valid(definition: str, value: Any) -> None:
    if definition not in _validators:
        root = load_schema(REVISION)
        schema = {"$schema": root["$schema"], "$defs": root["$defs"],
                  "$ref": f"#/$defs/{definition}"}
        _validators[definition] = jsonschema.validators.validator_for(schema)(schema)
    error = jsonschema.exceptions.best_match(_validators[definition].iter_errors(value))
    assert error is None, f"{definition}: {value!r}: {error.message} at {error.json_path}"


def assert_notification_valid(delivery: Delivery) -> None:
    frame = delivery.to_json()
    assert_valid("JSONRPCNotification", frame)
    assert_valid("ServerNotification", frame)
    assert frame["params"]["_meta"][SUBSCRIPTION_ID_META] == delivery.subscription_id


def example(kind: str, name: str) -> Any:
    path = EXAMPLES / kind / name
    if not path.is_file():
        pytest.skip(f"no example {kind}/{name}")
    return json.loads(path.read_text(encoding="utf-8"))


def listen(server: ServerSubscriptions, request_id: Any, **notifications: Any) -> Any:
    params = {"_meta": META, "notifications": notifications}
    assert_valid("SubscriptionsListenRequest",
                 {"jsonrpc": "2.0", "id": request_id, "method": "subscriptions/listen",
                  "params": params})
    return server.open(request_id, params)


# -- server side: open and acknowledge ---------------------------------------------------------


def test_the_spec_example_is_acknowledged_as_the_spec_shows() -> None:
    request = example("SubscriptionsListenRequest", "listen-for-list-changes.json")
    server = ServerSubscriptions(ALL_CAPS)
    stream = server.open(request["id"], request["params"])
    ack = stream.acknowledgement
    assert ack.to_json() == example("SubscriptionsAcknowledgedNotification",
                                    "listen-acknowledged.json")
    assert_valid("SubscriptionsAcknowledgedNotification", ack.to_json())
    assert_notification_valid(ack)


def test_the_acknowledgement_carries_only_the_honoured_subset() -> None:
    server = ServerSubscriptions({"tools": {"listChanged": True}, "resources": {}})
    stream = listen(server, 7, toolsListChanged=True, promptsListChanged=True,
                    resourcesListChanged=True, resourceSubscriptions=["file:///a"])
    assert stream.requested == SubscriptionFilter(True, True, True, ("file:///a",))
    assert stream.honoured == SubscriptionFilter(tools_list_changed=True)
    assert stream.acknowledgement.to_json() == {
        "jsonrpc": "2.0", "method": ACKNOWLEDGED_METHOD,
        "params": {"_meta": {SUBSCRIPTION_ID_META: 7},
                   "notifications": {"toolsListChanged": True}}}
    assert_notification_valid(stream.acknowledgement)


@pytest.mark.parametrize(("caps", "honoured"), [
    ({}, {}),
    ({"tools": {}}, {}),
    ({"tools": {"listChanged": True}}, {"toolsListChanged": True}),
    ({"prompts": {"listChanged": True}}, {"promptsListChanged": True}),
    ({"resources": {"listChanged": True}}, {"resourcesListChanged": True}),
    ({"resources": {"subscribe": True}}, {"resourceSubscriptions": ["file:///a", "file:///b"]}),
    (ALL_CAPS, {"toolsListChanged": True, "promptsListChanged": True,
                "resourcesListChanged": True,
                "resourceSubscriptions": ["file:///a", "file:///b"]}),
])
def test_each_type_needs_its_capability(caps: dict[str, Any], honoured: dict[str, Any]) -> None:
    stream = listen(ServerSubscriptions(caps), "l", toolsListChanged=True,
                    promptsListChanged=True, resourcesListChanged=True,
                    resourceSubscriptions=["file:///a", "file:///b", "file:///a"])
    assert stream.acknowledgement.params["notifications"] == honoured
    assert_notification_valid(stream.acknowledgement)


def test_the_server_may_decline_single_uris() -> None:
    server = ServerSubscriptions(ALL_CAPS)
    stream = server.open(1, {"notifications": {"resourceSubscriptions": ["file:///a",
                                                                          "file:///gone"]}},
                         accept_uri=lambda uri: uri != "file:///gone")
    assert stream.honoured.resource_subscriptions == ("file:///a",)


def test_an_empty_filter_opens_a_stream_that_carries_nothing() -> None:
    server = ServerSubscriptions(ALL_CAPS)
    stream = listen(server, 1)
    assert stream.acknowledgement.params["notifications"] == {}
    assert_notification_valid(stream.acknowledgement)
    assert server.route(TOOLS) == []


@pytest.mark.parametrize("params", [
    None, {}, {"notifications": None}, {"notifications": []},
    {"notifications": {"toolsListChanged": "yes"}},
    {"notifications": {"toolsListChanged": 1}},
    {"notifications": {"resourceSubscriptions": "file:///a"}},
    {"notifications": {"resourceSubscriptions": [1]}},
])
def test_a_malformed_filter_is_refused_with_invalid_params(params: Any) -> None:
    server = ServerSubscriptions(ALL_CAPS)
    with pytest.raises(ListenRefused) as info:
        server.open(1, params)
    assert info.value.code is ErrorCode.INVALID_PARAMS
    wire = info.value.error_object().to_json()
    assert wire["code"] == -32602 and "\n" not in wire["message"]
    assert_valid("JSONRPCErrorResponse", {"jsonrpc": "2.0", "id": 1, "error": wire})
    assert len(server) == 0


def test_unknown_filter_fields_are_ignored() -> None:
    stream = ServerSubscriptions(ALL_CAPS).open(
        1, {"notifications": {"toolsListChanged": True, "futureThing": True}})
    assert stream.honoured == SubscriptionFilter(tools_list_changed=True)


def test_too_many_uris_in_one_listen_is_refused() -> None:
    server = ServerSubscriptions(ALL_CAPS, max_resource_uris=2)
    server.open(1, {"notifications": {"resourceSubscriptions": ["a:1", "a:2", "a:1"]}})
    with pytest.raises(ListenRefused, match="3 URIs, more than the 2") as info:
        server.open(2, {"notifications": {"resourceSubscriptions": ["a:1", "a:2", "a:3"]}})
    assert info.value.code is ErrorCode.INVALID_PARAMS


def test_the_number_of_open_streams_is_bounded() -> None:
    server = ServerSubscriptions(ALL_CAPS, max_streams=2)
    listen(server, 1, toolsListChanged=True)
    listen(server, 2, toolsListChanged=True)
    with pytest.raises(ListenRefused, match=r"too many open subscriptions \(at most 2\)") as info:
        listen(server, 3, toolsListChanged=True)
    assert info.value.code is ErrorCode.INVALID_REQUEST
    assert_valid("JSONRPCErrorResponse",
                 {"jsonrpc": "2.0", "id": 3, "error": info.value.error_object().to_json()})
    assert list(server) == [1, 2]
    # Closing one makes room again.
    server.cancel(1)
    listen(server, 3, toolsListChanged=True)
    assert list(server) == [2, 3]


def test_a_second_listen_with_an_open_id_is_refused() -> None:
    server = ServerSubscriptions(ALL_CAPS)
    first = listen(server, "x", toolsListChanged=True)
    with pytest.raises(ListenRefused, match="already open") as info:
        listen(server, "x", promptsListChanged=True)
    assert info.value.code is ErrorCode.INVALID_REQUEST
    assert server.streams["x"] is first


def test_ids_1_and_string_1_are_two_subscriptions() -> None:
    server = ServerSubscriptions(ALL_CAPS)
    listen(server, 1, toolsListChanged=True)
    listen(server, "1", toolsListChanged=True)
    assert [d.subscription_id for d in server.route(TOOLS)] == [1, "1"]


@pytest.mark.parametrize("bad", [True, 1.5, None, [1]])
def test_a_bad_request_id_is_a_caller_error(bad: Any) -> None:
    with pytest.raises(ValueError, match="request id"):
        ServerSubscriptions(ALL_CAPS).open(bad, {"notifications": {}})


# -- server side: routing ----------------------------------------------------------------------


def test_a_notification_goes_only_to_the_streams_that_requested_it() -> None:
    server = ServerSubscriptions(ALL_CAPS)
    listen(server, 1, toolsListChanged=True)
    listen(server, 2, promptsListChanged=True, resourceSubscriptions=["file:///a"])
    listen(server, 3, toolsListChanged=True, resourcesListChanged=True)
    assert [d.subscription_id for d in server.route(TOOLS)] == [1, 3]
    assert [d.subscription_id for d in server.route(PROMPTS)] == [2]
    assert [d.subscription_id for d in server.route(RESOURCES)] == [3]
    assert [d.subscription_id for d in server.route(UPDATED, {"uri": "file:///a"})] == [2]
    assert server.route(UPDATED, {"uri": "file:///b"}) == []
    for method, params in ((TOOLS, None), (PROMPTS, None), (RESOURCES, {}),
                           (UPDATED, {"uri": "file:///a"})):
        for delivery in server.route(method, params):
            assert delivery.method == method
            assert_notification_valid(delivery)


def test_each_copy_carries_its_own_id_and_keeps_the_callers_meta() -> None:
    server = ServerSubscriptions(ALL_CAPS)
    listen(server, "a", toolsListChanged=True)
    listen(server, "b", toolsListChanged=True)
    params = {"_meta": {"example.com/trace": "t1"}}
    first, second = server.route(TOOLS, params)
    assert first.params == {"_meta": {"example.com/trace": "t1", SUBSCRIPTION_ID_META: "a"}}
    assert second.params == {"_meta": {"example.com/trace": "t1", SUBSCRIPTION_ID_META: "b"}}
    assert params == {"_meta": {"example.com/trace": "t1"}}  # the caller's dict is untouched


def test_a_type_the_server_does_not_honour_is_not_delivered_though_requested() -> None:
    server = ServerSubscriptions({"tools": {"listChanged": True}})
    listen(server, 1, toolsListChanged=True, promptsListChanged=True)
    assert server.route(PROMPTS) == []
    assert len(server.route(TOOLS)) == 1


def test_resource_updates_can_match_sub_resources() -> None:
    server = ServerSubscriptions(ALL_CAPS,
                                 uri_matches=lambda sub, uri: uri.startswith(sub.rstrip("/") + "/")
                                 or uri == sub)
    listen(server, 1, resourceSubscriptions=["file:///project"])
    delivery, = server.route(UPDATED, {"uri": "file:///project/src/main.rs"})
    assert delivery.to_json() == example("ResourceUpdatedNotification",
                                         "file-resource-updated-notification.json") | {
        "params": {"_meta": {SUBSCRIPTION_ID_META: 1}, "uri": "file:///project/src/main.rs"}}
    assert server.route(UPDATED, {"uri": "file:///projectx"}) == []


@pytest.mark.parametrize(("method", "params"), [
    ("notifications/progress", {"progressToken": 1, "progress": 1}),
    ("notifications/message", {"level": "info", "data": "x"}),
    (ACKNOWLEDGED_METHOD, {}),
    (UPDATED, {}),
    (UPDATED, {"uri": 5}),
])
def test_routing_what_no_listen_stream_carries_is_a_caller_error(method: str,
                                                                 params: Any) -> None:
    server = ServerSubscriptions(ALL_CAPS)
    listen(server, 1, toolsListChanged=True)
    with pytest.raises(ValueError, match="listen streams|uri"):
        server.route(method, params)


@given(filters=st.lists(st.fixed_dictionaries({}, optional={
    "toolsListChanged": st.booleans(), "promptsListChanged": st.booleans(),
    "resourcesListChanged": st.booleans(),
    "resourceSubscriptions": st.lists(st.sampled_from(["u:1", "u:2", "u:3"]), max_size=3)}),
    max_size=5),
    caps=st.fixed_dictionaries({}, optional={
        "tools": st.fixed_dictionaries({}, optional={"listChanged": st.booleans()}),
        "prompts": st.fixed_dictionaries({}, optional={"listChanged": st.booleans()}),
        "resources": st.fixed_dictionaries({}, optional={"listChanged": st.booleans(),
                                                         "subscribe": st.booleans()})}))
@settings(max_examples=200, deadline=None)
def test_a_stream_gets_a_notification_iff_it_asked_and_the_server_honours_it(
        filters: list[dict[str, Any]], caps: dict[str, Any]) -> None:
    server = ServerSubscriptions(caps)
    for i, f in enumerate(filters):
        stream = server.open(i, {"notifications": f})
        assert_notification_valid(stream.acknowledgement)
    for method, field, cap in ((TOOLS, "toolsListChanged", ("tools", "listChanged")),
                               (PROMPTS, "promptsListChanged", ("prompts", "listChanged")),
                               (RESOURCES, "resourcesListChanged", ("resources", "listChanged"))):
        offered = caps.get(cap[0], {}).get(cap[1]) is True
        expected = [i for i, f in enumerate(filters) if f.get(field) and offered]
        assert [d.subscription_id for d in server.route(method)] == expected
    subscribable = caps.get("resources", {}).get("subscribe") is True
    for uri in ("u:1", "u:2", "u:3"):
        expected = [i for i, f in enumerate(filters)
                    if subscribable and uri in f.get("resourceSubscriptions", [])]
        assert [d.subscription_id for d in server.route(UPDATED, {"uri": uri})] == expected


# -- server side: the end ----------------------------------------------------------------------


def test_the_server_ends_a_stream_with_the_completion_result() -> None:
    server = ServerSubscriptions(ALL_CAPS)
    listen(server, "listen-1", toolsListChanged=True)
    end = server.end("listen-1", reason="server shutting down")
    response = {"jsonrpc": "2.0", "id": end.subscription_id, "result": end.result}
    assert response == example("SubscriptionsListenResultResponse", "listen-closed-response.json")
    assert_valid("SubscriptionsListenResultResponse", response)
    assert_valid("SubscriptionsListenResult", end.result)
    cancelled = {"jsonrpc": "2.0", "method": "notifications/cancelled", "params": end.cancelled}
    assert end.cancelled["requestId"] == "listen-1"
    assert end.cancelled["reason"] == "server shutting down"
    assert_valid("CancelledNotification", cancelled)
    assert_valid("ServerNotification", cancelled)
    # Nothing more goes to it.
    assert "listen-1" not in server
    assert server.route(TOOLS) == []
    with pytest.raises(KeyError, match="listen-1"):
        server.end("listen-1")


def test_end_all_ends_every_stream_in_order_and_a_client_cancel_sends_nothing() -> None:
    server = ServerSubscriptions(ALL_CAPS)
    for i in (3, 1, 2):
        listen(server, i, toolsListChanged=True)
    assert server.cancel(1) is not None
    assert server.cancel(1) is None  # late or repeated cancellation: ignored
    assert server.cancel(99) is None
    ends = server.end_all()
    assert [e.subscription_id for e in ends] == [3, 2]
    assert all("reason" not in e.cancelled for e in ends)
    assert len(server) == 0


def test_connection_lost_forgets_every_stream() -> None:
    server = ServerSubscriptions(ALL_CAPS)
    listen(server, 1, toolsListChanged=True)
    assert [s.subscription_id for s in server.connection_lost()] == [1]
    assert server.route(TOOLS) == []


@pytest.mark.parametrize("kw", [{"max_streams": 0}, {"max_resource_uris": 0},
                                {"max_streams": 1.5}])
def test_server_bounds_are_checked(kw: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="positive integer"):
        ServerSubscriptions(ALL_CAPS, **kw)


# -- client side -------------------------------------------------------------------------------


def test_client_listen_params_are_a_valid_request() -> None:
    client = ClientSubscriptions()
    params = client.listen("listen-1", SubscriptionFilter(
        tools_list_changed=True, resource_subscriptions=("file:///project/config.json",)))
    request = {"jsonrpc": "2.0", "id": "listen-1", "method": "subscriptions/listen",
               "params": {"_meta": example("SubscriptionsListenRequest",
                                           "listen-for-list-changes.json")["params"]["_meta"],
                          **params}}
    assert request == example("SubscriptionsListenRequest", "listen-for-list-changes.json")
    assert_valid("SubscriptionsListenRequest", request)
    assert "listen-1" in client and not client.subscriptions["listen-1"].acknowledged


def pair(caps: dict[str, Any] | None = None) -> tuple[ServerSubscriptions, ClientSubscriptions]:
    return ServerSubscriptions(ALL_CAPS if caps is None else caps), ClientSubscriptions()


def open_both(server: ServerSubscriptions, client: ClientSubscriptions, request_id: Any,
              wanted: SubscriptionFilter) -> Acknowledged:
    params = client.listen(request_id, wanted)
    ack = server.open(request_id, params).acknowledgement
    got = client.receive_notification(ack.method, ack.params)
    assert isinstance(got, Acknowledged)
    return got


def test_client_demultiplexes_two_listens_on_one_connection() -> None:
    server, client = pair()
    open_both(server, client, 1, SubscriptionFilter(tools_list_changed=True))
    open_both(server, client, 2, SubscriptionFilter(resource_subscriptions=("file:///a",)))
    seen = []
    for method, params in ((TOOLS, None), (UPDATED, {"uri": "file:///a"}), (TOOLS, None)):
        for d in server.route(method, params):
            got = client.receive_notification(d.method, d.params)
            assert isinstance(got, SubscriptionNotification)
            seen.append((got.subscription_id, got.method))
    assert seen == [(1, TOOLS), (2, UPDATED), (1, TOOLS)]


def test_client_acknowledged_says_what_was_declined() -> None:
    server, client = pair({"tools": {"listChanged": True}})
    ack = open_both(server, client, 1, SubscriptionFilter(
        tools_list_changed=True, prompts_list_changed=True, resource_subscriptions=("u:1",)))
    assert ack.honoured == SubscriptionFilter(tools_list_changed=True)
    assert ack.declined == SubscriptionFilter(prompts_list_changed=True,
                                              resource_subscriptions=("u:1",))
    assert client.subscriptions[1].honoured == ack.honoured


def test_client_ignores_extra_types_in_an_acknowledgement() -> None:
    client = ClientSubscriptions()
    client.listen(1, SubscriptionFilter(tools_list_changed=True))
    got = client.receive_notification(ACKNOWLEDGED_METHOD, {
        "_meta": {SUBSCRIPTION_ID_META: 1},
        "notifications": {"toolsListChanged": True, "promptsListChanged": True}})
    assert isinstance(got, Acknowledged)
    assert got.honoured == SubscriptionFilter(tools_list_changed=True)


def test_a_notification_without_a_subscription_id_is_not_a_subscriptions() -> None:
    client = ClientSubscriptions()
    client.listen(1, SubscriptionFilter(tools_list_changed=True))
    assert client.receive_notification("notifications/progress",
                                       {"progressToken": 1, "progress": 1}) is None
    assert client.receive_notification(TOOLS, None) is None
    assert client.receive_notification("notifications/cancelled", {"requestId": 5}) is None


@pytest.mark.parametrize(("method", "params", "match"), [
    (TOOLS, {"_meta": {SUBSCRIPTION_ID_META: 9}}, "unknown subscription 9"),
    (TOOLS, {"_meta": {SUBSCRIPTION_ID_META: "1"}}, "unknown subscription '1'"),
    (TOOLS, {"_meta": {SUBSCRIPTION_ID_META: True}}, "not an int or a str"),
    (TOOLS, {"_meta": {SUBSCRIPTION_ID_META: None}}, "not an int or a str"),
    (TOOLS, {"_meta": {SUBSCRIPTION_ID_META: 1}}, "before its acknowledgement"),
    (ACKNOWLEDGED_METHOD, {"_meta": {SUBSCRIPTION_ID_META: 1}, "notifications": 3},
     "must be an object"),
])
def test_client_refuses_what_breaks_the_rules(method: str, params: Any, match: str) -> None:
    client = ClientSubscriptions()
    client.listen(1, SubscriptionFilter(tools_list_changed=True))
    with pytest.raises(SubscriptionViolation, match=match):
        client.receive_notification(method, params)
    assert not client.subscriptions[1].acknowledged  # nothing changed


def test_client_refuses_a_second_acknowledgement_and_an_unrequested_type() -> None:
    server, client = pair()
    open_both(server, client, 1, SubscriptionFilter(tools_list_changed=True))
    ack = {"_meta": {SUBSCRIPTION_ID_META: 1}, "notifications": {}}
    with pytest.raises(SubscriptionViolation, match="acknowledged twice") as info:
        client.receive_notification(ACKNOWLEDGED_METHOD, ack)
    assert info.value.subscription_id == 1
    for method in (PROMPTS, UPDATED, "notifications/unheard/of"):
        with pytest.raises(SubscriptionViolation, match="did not request it"):
            client.receive_notification(method, {"_meta": {SUBSCRIPTION_ID_META: 1},
                                                 "uri": "u:1"})
    # The subscription is still fine.
    got = client.receive_notification(TOOLS, {"_meta": {SUBSCRIPTION_ID_META: 1}})
    assert got == SubscriptionNotification(1, TOOLS, {"_meta": {SUBSCRIPTION_ID_META: 1}})


def test_client_sees_the_graceful_end_and_late_messages_are_stale() -> None:
    server, client = pair()
    open_both(server, client, "l", SubscriptionFilter(tools_list_changed=True))
    late = server.route(TOOLS)[0]
    end = server.end("l", reason="bye")
    assert client.receive_response(end.subscription_id) == SubscriptionEnded("l",
                                                                             EndReason.COMPLETED)
    assert client.receive_notification("notifications/cancelled", end.cancelled) == \
        StaleNotification("l", "notifications/cancelled")
    assert client.receive_notification(late.method, late.params) == StaleNotification("l", TOOLS)
    assert "l" not in client
    assert client.receive_response("l") is None  # a second answer is not ours any more


def test_client_sees_a_server_cancellation_and_an_error_answer() -> None:
    server, client = pair()
    open_both(server, client, 1, SubscriptionFilter(tools_list_changed=True))
    open_both(server, client, 2, SubscriptionFilter(tools_list_changed=True))
    end = server.end(1)
    assert client.receive_notification("notifications/cancelled", end.cancelled) == \
        SubscriptionEnded(1, EndReason.SERVER_CANCELLED)
    assert client.receive_response(2, error=True) == SubscriptionEnded(2, EndReason.ERROR)
    assert client.receive_response(3) is None  # some other request's response


def test_client_cancel_gives_the_cancelled_params_and_ends_the_listen() -> None:
    server, client = pair()
    open_both(server, client, 4, SubscriptionFilter(tools_list_changed=True))
    params = client.cancel(4, reason="user closed the panel")
    frame = {"jsonrpc": "2.0", "method": "notifications/cancelled", "params": params}
    assert_valid("ClientNotification", frame)
    assert params == {"requestId": 4, "reason": "user closed the panel"}
    assert server.cancel(params["requestId"]) is not None
    assert 4 not in client
    with pytest.raises(KeyError):
        client.cancel(4)


def test_client_connection_lost_ends_every_listen() -> None:
    _, client = pair()
    client.listen(1, SubscriptionFilter(tools_list_changed=True))
    client.listen("b", SubscriptionFilter(prompts_list_changed=True))
    assert client.connection_lost() == [SubscriptionEnded(1, EndReason.CONNECTION_LOST),
                                        SubscriptionEnded("b", EndReason.CONNECTION_LOST)]
    assert len(client) == 0


def test_client_bounds_open_listens_and_forgets_old_ended_ids() -> None:
    client = ClientSubscriptions(max_streams=1, remember_ended=2)
    client.listen(1, SubscriptionFilter())
    with pytest.raises(ListenRefused, match="at most 1"):
        client.listen(2, SubscriptionFilter())
    with pytest.raises(ListenRefused, match="already open"):
        client.listen(1, SubscriptionFilter())
    for i in (1, 2, 3):
        if i != 1:
            client.listen(i, SubscriptionFilter())
        client.cancel(i)
    tagged = {"_meta": {SUBSCRIPTION_ID_META: 1}}
    with pytest.raises(SubscriptionViolation, match="unknown subscription 1"):
        client.receive_notification(TOOLS, tagged)  # forgotten: only the last two are kept
    assert client.receive_notification(TOOLS, {"_meta": {SUBSCRIPTION_ID_META: 3}}) == \
        StaleNotification(3, TOOLS)
    with pytest.raises(ValueError, match="positive integer"):
        ClientSubscriptions(remember_ended=0)


def test_filter_round_trips_its_wire_form() -> None:
    f = SubscriptionFilter.from_json({"resourceSubscriptions": ["b", "a", "b"],
                                      "promptsListChanged": False})
    assert f == SubscriptionFilter(resource_subscriptions=("b", "a"))
    assert f.to_json() == {"resourceSubscriptions": ["b", "a"]}
    assert SubscriptionFilter().is_empty and not f.is_empty
    assert_valid("SubscriptionFilter", f.to_json())
