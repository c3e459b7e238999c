"""sansio.types and the stateless revision 2026-07-28: the spec's example messages, every class
against the 2026-07-28 schema, since/until filtering per revision, the method tables."""

from __future__ import annotations

import json
import typing
from functools import cache
from pathlib import Path
from typing import Any

import attrs
import jsonschema  # type: ignore[import-untyped]
import pytest

import sansio.types as T
from sansio.types import DEFAULT, SINCE, UNTIL, MCPType, structure, unstructure
from tests.conftest import SCHEMA_DIR, load_schema
from tests.test_types import (
    ALL_REVISIONS,
    EXAMPLES,
    HANDSHAKE,
    TABLES,
    all_mcp_classes,
    pointer_of,
    union_members,
)

MODERN = "2026-07-28"
EXAMPLES_DIR = SCHEMA_DIR / MODERN / "examples"


@cache
def validator(revision: str, pointer: str) -> jsonschema.protocols.Validator:
    root = load_schema(revision)
    doc = {"$schema": root["$schema"], "$defs": root["$defs"], "$ref": f"#/$defs/{pointer}"}
    return jsonschema.validators.validator_for(doc)(doc)


def defs() -> dict[str, Any]:
    return load_schema(MODERN)["$defs"]  # type: ignore[no-any-return]


def modern_classes() -> list[type[MCPType]]:
    """The classes that exist in 2026-07-28."""
    return [c for c in all_mcp_classes() if c.until is None]


# ----------------------------------------------------------------------------- examples
# Instances of the classes of 2026-07-28, with every optional field set; classes of the
# handshake era that live on get their 2026-07-28 fields filled in by `modern`.

CAPS = T.ClientCapabilities(elicitation=T.ElicitationCapability(form={}),
                            extensions={"io.modelcontextprotocol/ui": {}})
IMPL = T.Implementation(name="demo", version="1.0")
REQUEST_META: dict[str, Any] = {
    T.META_PROTOCOL_VERSION: MODERN, T.META_CLIENT_CAPABILITIES: {"elicitation": {}},
    T.META_CLIENT_INFO: {"name": "c", "version": "1"}, T.META_LOG_LEVEL: "info",
    T.META_PROGRESS_TOKEN: 7, "io.example/trace": "abc",
}
FORM = T.ElicitRequestFormParams(
    message="who?", mode="form",
    requested_schema=T.ElicitationSchema(properties={"name": T.StringSchema()},
                                         required=["name"]))
SAMPLE = T.CreateMessageRequestParams(
    messages=[T.SamplingMessage(role="user", content=T.TextContent(text="hi"))], max_tokens=9)
INPUT_REQUESTS: dict[str, Any] = {
    "form": T.ElicitRequest(params=FORM),
    "url": T.ElicitRequest(params=T.ElicitRequestURLParams(message="log in",
                                                           url="https://example.com/")),
    "sample": T.CreateMessageRequest(params=SAMPLE),
    "roots": T.ListRootsRequest(params=T.RequestParams(meta={"k": 1})),
    "roots2": T.ListRootsRequest(),
}
INPUT_RESPONSES: dict[str, Any] = {
    "form": T.ElicitResult(action="accept", content={"name": "ann"}),
    "url": T.ElicitResult(action="decline"),
    "sample": T.CreateMessageResult(role="assistant", content=T.TextContent(text="ok"),
                                    model="m", stop_reason="endTurn"),
    "roots": T.ListRootsResult(roots=[T.Root(uri="file:///r", name="r")]),
}
FILTER = T.SubscriptionFilter(tools_list_changed=True, prompts_list_changed=False,
                              resources_list_changed=True, resource_subscriptions=["file:///a"])

MODERN_EXAMPLES: dict[type, list[Any]] = {
    T.CreateMessageRequest: [INPUT_REQUESTS["sample"]],
    T.ElicitRequest: [INPUT_REQUESTS["form"], INPUT_REQUESTS["url"]],
    T.ListRootsRequest: [INPUT_REQUESTS["roots"], INPUT_REQUESTS["roots2"]],
    T.RequestMetaObject: [T.RequestMetaObject(
        protocol_version=MODERN, client_capabilities=CAPS, client_info=IMPL, log_level="debug",
        progress_token="p", extra={"io.example/x": 1})],
    T.ResultMetaObject: [T.ResultMetaObject(server_info=IMPL)],
    T.NotificationMetaObject: [T.NotificationMetaObject(subscription_id=3)],
    T.SubscriptionsListenResultMetaObject: [
        T.SubscriptionsListenResultMetaObject(subscription_id="l1", server_info=IMPL)],
    T.CacheableResult: [T.CacheableResult(result_type="complete", ttl_ms=5, cache_scope="public",
                                          meta={"k": 1})],
    T.DiscoverResult: [T.DiscoverResult(
        supported_versions=[MODERN, "2025-11-25"], capabilities=T.ServerCapabilities(
            tools=T.ToolsCapability(list_changed=True), extensions={"io.example/e": {}}),
        instructions="use me", result_type="complete", ttl_ms=60000, cache_scope="public",
        meta={T.META_SERVER_INFO: {"name": "s", "version": "1"}})],
    T.InputRequiredResult: [
        T.InputRequiredResult(input_requests=INPUT_REQUESTS, request_state="s1", meta={"k": 1}),
        T.InputRequiredResult(request_state="only")],
    T.InputResponseRequestParams: [T.InputResponseRequestParams(
        input_responses=INPUT_RESPONSES, request_state="s1", meta=REQUEST_META)],
    T.SubscriptionFilter: [FILTER],
    T.SubscriptionsListenRequestParams: [
        T.SubscriptionsListenRequestParams(notifications=FILTER, meta=REQUEST_META)],
    T.SubscriptionsListenResult: [T.SubscriptionsListenResult(
        result_type="complete", meta={T.META_SUBSCRIPTION_ID: "l1"})],
    T.SubscriptionsAcknowledgedNotificationParams: [
        T.SubscriptionsAcknowledgedNotificationParams(
            notifications=T.SubscriptionFilter(tools_list_changed=True),
            meta={T.META_SUBSCRIPTION_ID: 1})],
    T.ParseError: [T.ParseError(message="bad JSON", data={"at": 3})],
    T.InvalidRequestError: [T.InvalidRequestError(message="no method")],
    T.MethodNotFoundError: [T.MethodNotFoundError(message="nope")],
    T.InvalidParamsError: [T.InvalidParamsError(message="bad", data={"errors": ["x"]})],
    T.InternalError: [T.InternalError(message="oops")],
    T.MissingRequiredClientCapabilityErrorData: [
        T.MissingRequiredClientCapabilityErrorData(required_capabilities=CAPS)],
    T.UnsupportedProtocolVersionErrorData: [
        T.UnsupportedProtocolVersionErrorData(requested="2099-01-01", supported=[MODERN])],
}

# Values for the fields 2026-07-28 added to older classes.
FILL: dict[str, Any] = {
    "result_type": "complete", "ttl_ms": 30000, "cache_scope": "public",
    "input_responses": INPUT_RESPONSES, "request_state": "s1",
    "extensions": {"io.modelcontextprotocol/tasks": {}},
}
REQUEST_PARAMS = {T.RequestParams, T.PaginatedRequestParams, T.ResourceRequestParams,
                  T.ReadResourceRequestParams, T.GetPromptRequestParams,
                  T.CallToolRequestParams, T.CompleteRequestParams}


def modern(obj: Any) -> Any:
    """``obj`` with the fields 2026-07-28 added set (recursively), and a 2026-07-28 request
    ``_meta`` on request params (which require it there)."""
    if isinstance(obj, list):
        return [modern(x) for x in obj]
    if not isinstance(obj, MCPType):
        return obj
    changes: dict[str, Any] = {}
    for a in attrs.fields(type(obj)):
        value = getattr(obj, a.name)
        if value is None and a.metadata.get(SINCE) == MODERN:
            changes[a.name] = FILL[a.name]
        elif isinstance(value, (MCPType, list)):
            changes[a.name] = modern(value)
    if type(obj) in REQUEST_PARAMS:
        changes["meta"] = REQUEST_META
    return attrs.evolve(obj, **changes)


def examples_of(cls: type) -> list[Any]:
    if cls in MODERN_EXAMPLES:
        return MODERN_EXAMPLES[cls]
    return [modern(obj) for obj in EXAMPLES.get(cls, [])]


def params(objs: list[Any]) -> list[Any]:
    return [pytest.param(obj, id=f"{type(obj).__name__}-{i}") for i, obj in enumerate(objs)]


def all_examples() -> list[Any]:
    return params([obj for cls in all_mcp_classes() for obj in examples_of(cls)])


def modern_examples() -> list[Any]:
    return params([obj for cls in modern_classes() for obj in examples_of(cls)])


# ----------------------------------------------------------------------------- coverage


def test_every_modern_class_has_an_example() -> None:
    assert [c.__name__ for c in modern_classes() if not examples_of(c)] == []
    assert [c.__name__ for c in all_mcp_classes() if c.since == MODERN
            and c not in MODERN_EXAMPLES] == []


# JSON-RPC envelopes (the engine writes those) and aliases that are not classes.
def _is_envelope(name: str, node: dict[str, Any]) -> bool:
    return name.startswith("JSONRPC") or "jsonrpc" in node.get("properties", {})


ALIASES = {"JSONValue", "JSONObject", "JSONArray", "MetaObject", "ResultType", "InputRequest",
           "InputRequests", "InputResponse", "InputResponses", "ElicitRequestParams",
           "EmptyResult"}


def test_every_2026_structure_has_a_class() -> None:
    missing = []
    for name, node in defs().items():
        is_object = node.get("type") == "object" or "allOf" in node or "$ref" in node
        if not is_object or _is_envelope(name, node) or name in ALIASES:
            continue
        if name in ("ClientResult", "ServerResult", "ClientRequest", "ClientNotification",
                    "ServerNotification", "Request", "Notification"):
            continue  # the unions the method tables stand for
        cls = getattr(T, name, None)
        if not (isinstance(cls, type) and issubclass(cls, MCPType)) or cls.until is not None:
            missing.append(name)
    assert missing == []
    for name in ALIASES - {"JSONValue"}:
        assert name in T.__all__, name
    # the error data shapes of the envelopes
    for error, cls in (("MissingRequiredClientCapabilityError",
                        T.MissingRequiredClientCapabilityErrorData),
                       ("UnsupportedProtocolVersionError", T.UnsupportedProtocolVersionErrorData)):
        code = defs()[error]["properties"]["error"]["allOf"][1]["properties"]["code"]["const"]
        assert cls.code == code
    codes = {n: defs()[n]["properties"]["error"]["allOf"][1]["properties"]["code"]["const"]
             for n in ("HeaderMismatchError", "MissingRequiredClientCapabilityError",
                       "UnsupportedProtocolVersionError")}
    assert codes == {"HeaderMismatchError": T.HEADER_MISMATCH,
                     "MissingRequiredClientCapabilityError": T.MISSING_REQUIRED_CLIENT_CAPABILITY,
                     "UnsupportedProtocolVersionError": T.UNSUPPORTED_PROTOCOL_VERSION}
    for cls in (T.ParseError, T.InvalidRequestError, T.MethodNotFoundError,
                T.InvalidParamsError, T.InternalError):
        assert attrs.fields(cls).code.default == defs()[cls.__name__]["properties"]["code"]["const"]


def test_meta_key_constants_are_the_schemas_keys() -> None:
    keys = {k for n in ("RequestMetaObject", "ResultMetaObject", "NotificationMetaObject",
                        "SubscriptionsListenResultMetaObject")
            for k in defs()[n]["properties"]}
    constants = {T.META_PROTOCOL_VERSION, T.META_CLIENT_CAPABILITIES, T.META_CLIENT_INFO,
                 T.META_LOG_LEVEL, T.META_SERVER_INFO, T.META_SUBSCRIPTION_ID,
                 T.META_PROGRESS_TOKEN}
    assert keys == constants
    assert T.META_PROTOCOL_VERSION == "io.modelcontextprotocol/protocolVersion"
    assert T.META_SUBSCRIPTION_ID == "io.modelcontextprotocol/subscriptionId"
    # the typed views name every key of their definition
    for cls in (T.RequestMetaObject, T.ResultMetaObject, T.NotificationMetaObject,
                T.SubscriptionsListenResultMetaObject):
        wires = {T.wire_name(a) for a in attrs.fields(cls) if a.name != "extra"}
        assert wires == set(defs()[cls.__name__]["properties"]), cls


def test_cacheable_results_are_those_of_the_schema() -> None:
    cacheable = {n for n, d in defs().items() if "ttlMs" in d.get("properties", {})}
    assert {c.__name__ for c in T.CACHEABLE_RESULTS} == cacheable - {"CacheableResult"}
    for cls in (*T.CACHEABLE_RESULTS, T.CacheableResult):
        names = {a.name for a in attrs.fields(cls)}
        assert {"ttl_ms", "cache_scope", "result_type"} <= names, cls
    # an interim result of a multi round-trip request is never cacheable
    assert not {"ttl_ms", "cache_scope"} & {a.name for a in attrs.fields(T.InputRequiredResult)}
    assert "ttlMs" not in unstructure(T.InputRequiredResult(request_state="s"), MODERN)


def test_every_cacheable_result_shares_the_cacheable_fields() -> None:
    """The cacheable results of every revision share one base (CacheableFields): the same
    three fields with the same revision rules, written after the result's own fields and
    before _meta; the interim result of a multi round-trip request has none of them."""
    from sansio.types._server import CacheableFields

    base = {a.name: a for a in attrs.fields(CacheableFields) if a.name != "extra"}
    assert set(base) == {"result_type", "ttl_ms", "cache_scope"}
    for cls in (*T.CACHEABLE_RESULTS, T.CacheableResult):
        fields = {a.name: a for a in attrs.fields(cls)}
        wires = {T.wire_name(fields[n]) for n in base}
        assert wires == {"resultType", "ttlMs", "cacheScope"}, cls
        if cls.since < MODERN:  # older than the fields: they are marked 2026-07-28
            assert issubclass(cls, CacheableFields), cls
            for name, a in base.items():
                assert fields[name].metadata == a.metadata, (cls, name)
        names = [a.name for a in attrs.fields(cls) if a.name != "extra"]
        assert names[-4:] == ["result_type", "ttl_ms", "cache_scope", "meta"], cls
    wire = unstructure(T.ListToolsResult(tools=[], next_cursor="c", ttl_ms=5,
                                         cache_scope="public", meta={"k": 1}), MODERN)
    # (an unset resultType is written last, with its default)
    assert list(wire) == ["tools", "nextCursor", "ttlMs", "cacheScope", "_meta", "resultType"]
    legacy = unstructure(T.ListToolsResult(tools=[], ttl_ms=5, cache_scope="public"),
                         "2025-11-25")
    assert legacy == {"tools": []}
    assert not {"ttl_ms", "cache_scope"} & {a.name for a in attrs.fields(T.InputRequiredResult)}
    assert not issubclass(T.InputRequiredResult, CacheableFields)
    out = unstructure(T.InputRequiredResult(
        input_requests={"a": {"method": "roots/list"}}, request_state="s"), MODERN)
    assert "ttlMs" not in out and "cacheScope" not in out


def test_an_input_required_answer_to_a_cacheable_method_carries_no_caching_hints() -> None:
    """resources/read is cacheable and may be answered input_required: the complete answer
    gets ttlMs/cacheScope, the input_required one never does (caching.mdx, mrtr.mdx)."""
    from sansio import InputRequired, RequestReceived, ResponseReceived
    from sansio.testing import ConnectionPair

    pair = ConnectionPair.stateless(
        server_capabilities={"resources": {}}, client_capabilities={"roots": {}})
    rid, _ = pair.request(pair.client, "resources/read", {"uri": "a://b"})
    pair.server.send_input_required(rid, {"r": {"method": "roots/list", "params": {}}}, "s1")
    (event,) = pair.deliver(pair.server)
    assert isinstance(event, InputRequired)
    _, message = pair.wire[-1]
    result = message["result"]
    assert result["resultType"] == "input_required"
    assert "ttlMs" not in result and "cacheScope" not in result
    pair.client.send_retry(event, {"r": {"roots": []}})
    (retry,) = pair.deliver(pair.client)
    assert isinstance(retry, RequestReceived) and retry.request_state == "s1"
    complete = pair.respond(pair.server, retry.request_id, {"contents": []})
    assert isinstance(complete, ResponseReceived)
    assert complete.result["ttlMs"] == 0 and complete.result["cacheScope"] == "private"


def test_every_result_of_2026_has_a_result_type() -> None:
    for ref in defs()["ServerResult"]["anyOf"]:
        cls = getattr(T, ref["$ref"].split("/")[-1])
        assert "result_type" in {a.name for a in attrs.fields(cls)}, cls


# ----------------------------------------------------------------------------- spec examples


def example_files() -> list[Any]:
    if not EXAMPLES_DIR.is_dir():
        return [pytest.param(None, id="no-examples")]
    return [pytest.param(p, id=f"{p.parent.name}/{p.stem}")
            for p in sorted(EXAMPLES_DIR.glob("*/*.json"))]


def test_there_are_129_examples() -> None:
    load_schema(MODERN)
    assert len(example_files()) == 129


def request_method(type_name: str) -> str:
    """The method of the request whose response is ``<type_name>`` (e.g. CallToolResultResponse)."""
    request = type_name[: -len("ResultResponse")] + "Request"
    return defs()[request]["properties"]["method"]["const"]  # type: ignore[no-any-return]


def round_trip(data: Any, cls: Any) -> Any:
    obj = structure(data, cls)
    assert unstructure(obj, MODERN) == data
    return obj


def check_meta(meta: Any, cls: type) -> None:
    if meta is not None:
        round_trip(meta, cls)


@pytest.mark.parametrize("path", example_files())
def test_spec_example_structures_and_round_trips(path: Path | None) -> None:
    load_schema(MODERN)
    assert path is not None
    data = json.loads(path.read_text(encoding="utf-8"))
    name = path.parent.name
    validator(MODERN, name).validate(data)
    if "jsonrpc" not in data:  # a structure: its class, or its alias
        obj = round_trip(data, getattr(T, name))
        if isinstance(obj, MCPType):
            assert type(obj).__name__ == name
            assert type(obj).until is None
        return
    # a JSON-RPC envelope: its payload structures into the class the method tables name
    if "method" in data:
        method = data["method"]
        if "id" in data:
            spec = T.CLIENT_REQUESTS[method]
            meta_cls: type = T.RequestMetaObject
        else:
            table = T.SERVER_NOTIFICATIONS if name != "CancelledNotification" else \
                T.CLIENT_NOTIFICATIONS
            spec = table[method]
            meta_cls = T.NotificationMetaObject
        assert spec.live(MODERN)
        assert spec.params is not None
        if "params" in data:
            typed = round_trip(data["params"], spec.params)
            check_meta(typed.meta, meta_cls)
        else:
            assert not spec.params_required_in(MODERN)
    elif "result" in data:
        spec = T.CLIENT_REQUESTS[request_method(name)]
        result_type = spec.result_for(MODERN)
        typed = round_trip(data["result"], result_type)
        assert isinstance(typed, (spec.result, T.InputRequiredResult))  # type: ignore[arg-type]
        check_meta(typed.meta, T.SubscriptionsListenResultMetaObject
                   if spec.method == "subscriptions/listen" else T.ResultMetaObject)
    else:
        error = round_trip(data["error"], T.Error)
        data_cls = {
            T.MISSING_REQUIRED_CLIENT_CAPABILITY: T.MissingRequiredClientCapabilityErrorData,
            T.UNSUPPORTED_PROTOCOL_VERSION: T.UnsupportedProtocolVersionErrorData,
        }.get(error.code)
        if data_cls is not None:
            round_trip(error.data, data_cls)
        else:
            assert error.code == T.HEADER_MISMATCH


# ----------------------------------------------------------------------------- every class


@pytest.mark.parametrize("obj", modern_examples())
def test_every_modern_class_validates_against_2026_and_round_trips(obj: Any) -> None:
    data = unstructure(obj, MODERN)
    validator(MODERN, pointer_of(type(obj))).validate(data)
    assert unstructure(structure(data, type(obj)), MODERN) == data


@pytest.mark.parametrize("obj", params([obj for cls in all_mcp_classes() if cls.since != MODERN
                                        and cls.until is None for obj in examples_of(cls)]))
def test_modern_fields_are_not_written_to_handshake_peers(obj: Any) -> None:
    # the same instance, with its 2026-07-28 fields set, is valid 2025-11-25 without them
    data = unstructure(obj, "2025-11-25")
    validator("2025-11-25", pointer_of(type(obj))).validate(data)


def known(a: attrs.Attribute[Any], revision: str) -> bool:
    since, until = a.metadata.get(SINCE), a.metadata.get(UNTIL)
    return (since is None or since <= revision) and (until is None or revision <= until)


@pytest.mark.parametrize("revision", ALL_REVISIONS)
@pytest.mark.parametrize("obj", all_examples())
def test_unstructure_writes_what_the_revision_knows(obj: Any, revision: str) -> None:
    data = unstructure(obj, revision)
    for a in attrs.fields(type(obj)):
        if a.name == "extra":
            continue
        wire = T.wire_name(a)
        if not known(a, revision):
            assert wire not in data, f"{wire} written for {revision}"
        elif getattr(obj, a.name) is not None:
            assert wire in data, f"{wire} not written for {revision}"
        elif a.metadata.get(DEFAULT) is not None:
            assert data[wire] == a.metadata[DEFAULT]
        elif a.default is None:
            assert wire not in data
    # no version: every set field, no defaults
    full = unstructure(obj)
    assert {T.wire_name(a) for a in attrs.fields(type(obj))
            if a.name != "extra" and getattr(obj, a.name) is not None} <= set(full)


def test_since_until_filtering_examples() -> None:
    tool = T.Tool(name="t", input_schema={"type": "object"}, title="T",
                  execution=T.ToolExecution(task_support="optional"))
    assert "execution" in unstructure(tool, "2025-11-25")
    assert "execution" not in unstructure(tool, MODERN)
    assert unstructure(tool, "2024-11-05") == {"name": "t", "inputSchema": {"type": "object"}}
    page = T.ListToolsResult(tools=[], ttl_ms=5, cache_scope="public", result_type="complete")
    assert unstructure(page, "2025-11-25") == {"tools": []}
    assert unstructure(page, MODERN) == {"tools": [], "ttlMs": 5, "cacheScope": "public",
                                         "resultType": "complete"}
    # resultType (required in 2026) is "complete" for 2026 peers unless set
    assert unstructure(T.ListToolsResult(tools=[]), MODERN) == {
        "tools": [], "resultType": "complete"}
    assert unstructure(T.Result(), MODERN) == {"resultType": "complete"}
    assert unstructure(T.Result(), "2025-11-25") == {} == unstructure(T.Result())
    caps = T.ClientCapabilities(roots=T.RootsCapability(list_changed=True),
                                tasks=T.ClientTasksCapability(list={}), extensions={"a/b": {}})
    assert unstructure(caps, "2025-11-25") == {"roots": {"listChanged": True},
                                               "tasks": {"list": {}}}
    assert unstructure(caps, MODERN) == {"roots": {}, "extensions": {"a/b": {}}}
    url = T.ElicitRequestURLParams(message="m", url="https://x/", elicitation_id="e",
                                   meta={"k": 1})
    assert unstructure(url, MODERN) == {"message": "m", "url": "https://x/", "mode": "url"}
    assert unstructure(url, "2025-11-25")["elicitationId"] == "e"
    # keys kept in `extra` are written back to every revision
    assert unstructure(attrs.evolve(tool, extra={"x": 1}), MODERN)["x"] == 1


def test_classes_are_frozen_slotted_keyword_only_and_documented() -> None:
    for cls in all_mcp_classes():
        if cls.since != MODERN:
            continue
        assert "__slots__" in cls.__dict__, cls
        assert all(a.kw_only for a in attrs.fields(cls)), cls
        assert cls.__doc__ and cls.__doc__ != MCPType.__doc__, cls
        with pytest.raises(attrs.exceptions.FrozenInstanceError):
            MODERN_EXAMPLES[cls][0].extra = {}


# ----------------------------------------------------------------------------- unions


def test_input_requests_dispatch_on_method() -> None:
    data = unstructure(INPUT_REQUESTS, MODERN)
    assert structure(data, T.InputRequests) == INPUT_REQUESTS
    with pytest.raises(T.TypeValidationError) as info:
        structure({"a": {"method": "ping"}}, T.InputRequests)
    assert info.value.errors == [
        "unknown input request method 'ping', expected one of 'sampling/createMessage', "
        "'elicitation/create', 'roots/list' @ $['a']"]


def test_input_responses_dispatch_on_keys() -> None:
    data = unstructure(INPUT_RESPONSES, MODERN)
    assert structure(data, T.InputResponses) == INPUT_RESPONSES
    with pytest.raises(T.TypeValidationError) as info:
        structure({"a": {"x": 1}}, T.InputResponses)
    assert "expected an 'action', 'roots' or 'model' key" in info.value.errors[0]


def test_alternative_results_by_result_type() -> None:
    spec = T.CLIENT_REQUESTS["tools/call"]
    assert spec.result_for("2025-11-25") is T.CallToolResult
    union = spec.result_for(MODERN)
    interim = structure({"resultType": "input_required", "requestState": "s"}, union)
    assert interim == T.InputRequiredResult(request_state="s")
    final = structure({"resultType": "complete", "content": []}, union)
    assert final == T.CallToolResult(content=[], result_type="complete")
    # a result without resultType (an older server) is complete
    assert structure({"content": []}, union) == T.CallToolResult(content=[])
    with pytest.raises(T.TypeValidationError):
        structure({"resultType": "complete"}, union)  # no content
    assert T.CLIENT_REQUESTS["tools/list"].result_for(MODERN) is T.ListToolsResult
    assert T.SERVER_NOTIFICATIONS["notifications/progress"].result_for(MODERN) is None


def test_error_classes_check_their_code() -> None:
    assert structure({"code": -32700, "message": "m"}, T.ParseError) == T.ParseError(message="m")
    with pytest.raises(T.TypeValidationError):
        structure({"code": -32600, "message": "m"}, T.ParseError)
    assert unstructure(T.InternalError(message="x"), MODERN) == {"code": -32603, "message": "x"}


def test_request_meta_object_requires_version_and_capabilities() -> None:
    meta = structure(REQUEST_META, T.RequestMetaObject)
    assert meta.protocol_version == MODERN and meta.log_level == "info"
    assert meta.client_capabilities == T.ClientCapabilities(elicitation=T.ElicitationCapability())
    assert meta.extra == {"io.example/trace": "abc"}
    with pytest.raises(T.TypeValidationError):
        structure({T.META_PROTOCOL_VERSION: MODERN}, T.RequestMetaObject)


# ----------------------------------------------------------------------------- method tables


@pytest.mark.parametrize("union", TABLES)
def test_table_types_match_the_2026_schema(union: str) -> None:
    table, kind = TABLES[union]
    members = union_members(MODERN, union)
    if union == "ServerRequest":
        assert members == {} and T.methods_for(table, MODERN) == frozenset()
        return
    assert members
    for method, envelope in members.items():
        spec = table[method]
        assert spec.live(MODERN)
        params = envelope["properties"]["params"]
        assert spec.params is getattr(T, params["$ref"].split("/")[-1]), method
        assert spec.params_required_in(MODERN) == ("params" in envelope["required"]), method
        if kind == "notification":
            assert spec.result is None
            continue
        name = next(n for n, d in defs().items() if d is envelope)
        result = defs()[name[: -len("Request")] + "ResultResponse"]["properties"]["result"]
        expected = {r["$ref"].split("/")[-1] for r in result.get("anyOf", [result])}
        alternatives = spec.result_for(MODERN)
        got = set(getattr(alternatives, "__args__", (alternatives,)))
        assert {c.__name__ for c in got} == expected, method
        assert (spec.input_required_since == MODERN) == ("InputRequiredResult" in expected)


def test_handshake_params_required_is_unchanged() -> None:
    for union, (table, _) in TABLES.items():
        for revision in HANDSHAKE:
            for method, envelope in union_members(revision, union).items():
                assert table[method].params_required_in(revision) == (
                    "params" in envelope.get("required", [])), (revision, method)


def test_annotations_resolve_with_get_type_hints() -> None:
    # _server's params refer to InputResponses, defined in _client (which imports _server)
    for cls in all_mcp_classes():
        typing.get_type_hints(cls)
    hints = typing.get_type_hints(T.CallToolRequestParams)
    assert hints["input_responses"] == T.InputResponses | None


def test_input_required_result_refuses_another_result_type() -> None:
    with pytest.raises(T.TypeValidationError) as info:
        structure({"resultType": "complete", "requestState": "s"}, T.InputRequiredResult)
    assert info.value.errors == [
        "invalid value for type, expected one of 'input_required' @ $.resultType"]
