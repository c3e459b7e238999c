"""sansio.types: the MCP classes against the official schemas, the codec rules, the tables.

These tests check the classes of the handshake era against 2025-11-25 (the latest revision with
``initialize``); the classes and fields of the stateless revision 2026-07-28 are checked in
tests/test_types_modern.py.
"""

from __future__ import annotations

import inspect
from functools import cache
from typing import Any

import attrs
import jsonschema  # type: ignore[import-untyped]
import pytest
from hypothesis import given
from hypothesis import strategies as st

import sansio.types as T
from sansio import _codec
from sansio.types import (
    SINCE,
    MCPType,
    MethodSpec,
    TypeValidationError,
    methods_for,
    structure,
    unstructure,
)
from tests.conftest import load_schema

HANDSHAKE = ("2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25")
ALL_REVISIONS = (*HANDSHAKE, "2026-07-28")
LATEST = "2025-11-25"


def schema(revision: str) -> dict[str, Any]:
    return load_schema(revision)


@cache
def defs(revision: str) -> dict[str, Any]:
    root = schema(revision)
    return root.get("$defs") or root["definitions"]  # type: ignore[no-any-return]


@cache
def validator(pointer: str) -> jsonschema.protocols.Validator:
    root = schema(LATEST)
    doc = {"$schema": root["$schema"], "$defs": root["$defs"], "$ref": f"#/$defs/{pointer}"}
    cls = jsonschema.validators.validator_for(doc)
    return cls(doc)


def all_mcp_classes() -> list[type[MCPType]]:
    return sorted(
        (obj for name in T.__all__ if isinstance(obj := getattr(T, name), type)
         and issubclass(obj, MCPType) and obj is not MCPType
         # an extension's classes (tasks) follow its own schema, not the protocol's
         and getattr(obj, "extension", None) is None),
        key=lambda c: c.__name__,
    )


def mcp_classes() -> list[type[MCPType]]:
    """The classes of the handshake era (those of 2026-07-28 alone are in test_types_modern)."""
    return [c for c in all_mcp_classes() if c.since <= LATEST]


# ----------------------------------------------------------------------------- examples
# A representative instance of every class, with every optional field set (minimal instances
# are derived from them in `minimal`).

ICON = T.Icon(src="https://example.com/i.png", mime_type="image/png", sizes=["48x48"],
              theme="dark")
ANN = T.Annotations(audience=["user", "assistant"], priority=0.5,
                    last_modified="2025-01-12T15:00:58Z")
META = {"io.example/trace": "abc", "progressToken": 7}
TEXT = T.TextContent(text="hello", annotations=ANN, meta=META)
IMAGE = T.ImageContent(data="iVBORw0KGgo=", mime_type="image/png", annotations=ANN, meta=META)
AUDIO = T.AudioContent(data="UklGRg==", mime_type="audio/wav", annotations=ANN, meta=META)
TEXT_RES = T.TextResourceContents(uri="file:///a.txt", text="abc", mime_type="text/plain",
                                  meta=META)
BLOB_RES = T.BlobResourceContents(uri="file:///a.bin", blob="AAEC", mime_type="application/x",
                                  meta=META)
LINK = T.ResourceLink(uri="file:///a.txt", name="a", title="A", description="the a",
                      mime_type="text/plain", size=3, annotations=ANN, icons=[ICON], meta=META)
EMBEDDED = T.EmbeddedResource(resource=TEXT_RES, annotations=ANN, meta=META)
TOOL_USE = T.ToolUseContent(id="tu1", name="add", input={"a": 1}, meta=META)
TOOL_RESULT = T.ToolResultContent(tool_use_id="tu1", content=[TEXT, LINK],
                                  structured_content={"sum": 3}, is_error=False, meta=META)
IMPL = T.Implementation(name="demo", version="1.0", title="Demo", description="a demo",
                        icons=[ICON], website_url="https://example.com")
TASK_META = T.TaskMetadata(ttl=60000)
TASK_FIELDS: dict[str, Any] = {
    "task_id": "t1", "status": "working", "created_at": "2025-11-25T10:00:00Z",
    "last_updated_at": "2025-11-25T10:00:01Z", "ttl": None, "status_message": "busy",
    "poll_interval": 500,
}
TASK = T.Task(**TASK_FIELDS)
TOOL = T.Tool(
    name="add", title="Add", description="adds",
    input_schema={"type": "object", "properties": {"a": {"type": "number"}},
                  "required": ["a"]},
    output_schema={"type": "object", "properties": {"sum": {"type": "number"}}},
    annotations=T.ToolAnnotations(title="Add", read_only_hint=True, destructive_hint=False,
                                  idempotent_hint=True, open_world_hint=False),
    execution=T.ToolExecution(task_support="optional"), icons=[ICON], meta=META,
)
OPTION = T.TitledEnumOption(const="r", title="Red")
STRING_SCHEMA = T.StringSchema(title="Name", description="your name", min_length=1,
                               max_length=50, format="email", default="a@b.c")
NUMBER_SCHEMA = T.NumberSchema(type="integer", title="Age", description="years", minimum=0,
                               maximum=150, default=30)
BOOLEAN_SCHEMA = T.BooleanSchema(title="OK", description="agree?", default=True)
UNTITLED_SINGLE = T.UntitledSingleSelectEnumSchema(enum=["r", "g"], title="Colour",
                                                   description="pick", default="r")
TITLED_SINGLE = T.TitledSingleSelectEnumSchema(one_of=[OPTION], title="Colour",
                                               description="pick", default="r")
UNTITLED_MULTI = T.UntitledMultiSelectEnumSchema(
    items=T.UntitledEnumItems(enum=["r", "g"]), title="Colours", description="pick",
    min_items=1, max_items=2, default=["r"])
TITLED_MULTI = T.TitledMultiSelectEnumSchema(
    items=T.TitledEnumItems(any_of=[OPTION]), title="Colours", description="pick",
    min_items=1, max_items=2, default=["r"])
LEGACY = T.LegacyTitledEnumSchema(enum=["r"], enum_names=["Red"], title="Colour",
                                  description="pick", default="r")
ELICIT_SCHEMA = T.ElicitationSchema(
    properties={"name": STRING_SCHEMA, "age": NUMBER_SCHEMA, "ok": BOOLEAN_SCHEMA,
                "c1": UNTITLED_SINGLE, "c2": TITLED_SINGLE, "c3": UNTITLED_MULTI,
                "c4": TITLED_MULTI, "c5": LEGACY},
    required=["name"], schema="https://json-schema.org/draft/2020-12/schema")
URL_PARAMS = T.ElicitRequestURLParams(message="log in", url="https://example.com/login",
                                      elicitation_id="e1", task=TASK_META, meta=META)
SAMPLING_MESSAGE = T.SamplingMessage(role="assistant", content=[TEXT, TOOL_USE], meta=META)
CLIENT_CAPS = T.ClientCapabilities(
    experimental={"x": {"y": 1}}, roots=T.RootsCapability(list_changed=True),
    sampling=T.SamplingCapability(context={}, tools={}),
    elicitation=T.ElicitationCapability(form={}, url={}),
    tasks=T.ClientTasksCapability(
        list={}, cancel={},
        requests=T.ClientTaskRequestsCapability(
            sampling=T.TaskSamplingCapability(create_message={}),
            elicitation=T.TaskElicitationCapability(create={}))),
)
SERVER_CAPS = T.ServerCapabilities(
    experimental={"x": {}}, logging={}, completions={},
    prompts=T.PromptsCapability(list_changed=True),
    resources=T.ResourcesCapability(subscribe=True, list_changed=False),
    tools=T.ToolsCapability(list_changed=True),
    tasks=T.ServerTasksCapability(
        list={}, cancel={},
        requests=T.ServerTaskRequestsCapability(tools=T.TaskToolsCapability(call={}))),
)
RESOURCE = T.Resource(uri="file:///a", name="a", title="A", description="d",
                      mime_type="text/plain", size=1, annotations=ANN, icons=[ICON], meta=META)
TEMPLATE = T.ResourceTemplate(uri_template="file:///{p}", name="t", title="T", description="d",
                              mime_type="text/plain", annotations=ANN, icons=[ICON], meta=META)
PROMPT_ARG = T.PromptArgument(name="who", title="Who", description="whom", required=True)
PROMPT = T.Prompt(name="greet", title="Greet", description="d", arguments=[PROMPT_ARG],
                  icons=[ICON], meta=META)

EXAMPLES: dict[type, list[Any]] = {
    T.Icon: [ICON],
    T.Icons: [T.Icons(icons=[ICON])],
    T.BaseMetadata: [T.BaseMetadata(name="n", title="N")],
    T.Annotations: [ANN],
    T.TextContent: [TEXT],
    T.ImageContent: [IMAGE],
    T.AudioContent: [AUDIO],
    T.ResourceContents: [T.ResourceContents(uri="file:///a", mime_type="text/plain", meta=META)],
    T.TextResourceContents: [TEXT_RES],
    T.BlobResourceContents: [BLOB_RES],
    T.ResourceLink: [LINK],
    T.EmbeddedResource: [EMBEDDED, T.EmbeddedResource(resource=BLOB_RES)],
    T.ToolUseContent: [TOOL_USE],
    T.ToolResultContent: [TOOL_RESULT],
    T.Implementation: [IMPL],
    T.RootsCapability: [T.RootsCapability(list_changed=True)],
    T.SamplingCapability: [T.SamplingCapability(context={}, tools={"x": 1})],
    T.ElicitationCapability: [T.ElicitationCapability(form={}, url={})],
    T.TaskSamplingCapability: [T.TaskSamplingCapability(create_message={})],
    T.TaskElicitationCapability: [T.TaskElicitationCapability(create={})],
    T.ClientTaskRequestsCapability: [CLIENT_CAPS.tasks.requests],  # type: ignore[union-attr]
    T.ClientTasksCapability: [CLIENT_CAPS.tasks],
    T.ClientCapabilities: [CLIENT_CAPS],
    T.PromptsCapability: [T.PromptsCapability(list_changed=True)],
    T.ResourcesCapability: [T.ResourcesCapability(subscribe=True, list_changed=True)],
    T.ToolsCapability: [T.ToolsCapability(list_changed=False)],
    T.TaskToolsCapability: [T.TaskToolsCapability(call={})],
    T.ServerTaskRequestsCapability: [SERVER_CAPS.tasks.requests],  # type: ignore[union-attr]
    T.ServerTasksCapability: [SERVER_CAPS.tasks],
    T.ServerCapabilities: [SERVER_CAPS],
    T.RequestParams: [T.RequestParams(meta={"progressToken": "p1"})],
    T.NotificationParams: [T.NotificationParams(meta=META)],
    T.PaginatedRequestParams: [T.PaginatedRequestParams(cursor="c1", meta=META)],
    T.Result: [T.Result(meta=META)],
    T.PaginatedResult: [T.PaginatedResult(next_cursor="c2", meta=META)],
    T.Error: [T.Error(code=-32602, message="bad", data={"errors": ["x"]})],
    T.InitializeRequestParams: [T.InitializeRequestParams(
        protocol_version=LATEST, capabilities=CLIENT_CAPS, client_info=IMPL, meta=META)],
    T.InitializeResult: [T.InitializeResult(
        protocol_version=LATEST, capabilities=SERVER_CAPS, server_info=IMPL,
        instructions="use me", meta=META)],
    T.CancelledNotificationParams: [
        T.CancelledNotificationParams(request_id=1, reason="gone", meta=META),
        T.CancelledNotificationParams(request_id="r1")],
    T.ProgressNotificationParams: [T.ProgressNotificationParams(
        progress_token="p", progress=1, total=2.5, message="half", meta=META)],
    T.TaskMetadata: [TASK_META],
    T.RelatedTaskMetadata: [T.RelatedTaskMetadata(task_id="t1")],
    T.Task: [TASK, T.Task(**{**TASK_FIELDS, "ttl": 1000, "status": "completed"})],
    T.TaskAugmentedRequestParams: [T.TaskAugmentedRequestParams(task=TASK_META, meta=META)],
    T.CreateTaskResult: [T.CreateTaskResult(task=TASK, meta=META)],
    T.GetTaskRequestParams: [T.GetTaskRequestParams(task_id="t1", meta=META)],
    T.GetTaskPayloadRequestParams: [T.GetTaskPayloadRequestParams(task_id="t1", meta=META)],
    T.CancelTaskRequestParams: [T.CancelTaskRequestParams(task_id="t1", meta=META)],
    T.GetTaskResult: [T.GetTaskResult(**TASK_FIELDS, meta=META)],
    T.CancelTaskResult: [T.CancelTaskResult(**{**TASK_FIELDS, "status": "cancelled"})],
    T.TaskStatusNotificationParams: [T.TaskStatusNotificationParams(**TASK_FIELDS, meta=META)],
    T.GetTaskPayloadResult: [T.GetTaskPayloadResult(meta=META, extra={"content": []})],
    T.ListTasksResult: [T.ListTasksResult(tasks=[TASK], next_cursor="n", meta=META)],
    T.Resource: [RESOURCE],
    T.ResourceTemplate: [TEMPLATE],
    T.ListResourcesResult: [T.ListResourcesResult(resources=[RESOURCE], next_cursor="n",
                                                  meta=META)],
    T.ListResourceTemplatesResult: [T.ListResourceTemplatesResult(
        resource_templates=[TEMPLATE], next_cursor="n", meta=META)],
    T.ResourceRequestParams: [T.ResourceRequestParams(uri="file:///a", meta=META)],
    T.ReadResourceRequestParams: [T.ReadResourceRequestParams(uri="file:///a", meta=META)],
    T.ReadResourceResult: [T.ReadResourceResult(contents=[TEXT_RES, BLOB_RES], meta=META)],
    T.SubscribeRequestParams: [T.SubscribeRequestParams(uri="file:///a", meta=META)],
    T.UnsubscribeRequestParams: [T.UnsubscribeRequestParams(uri="file:///a", meta=META)],
    T.ResourceUpdatedNotificationParams: [
        T.ResourceUpdatedNotificationParams(uri="file:///a", meta=META)],
    T.PromptArgument: [PROMPT_ARG],
    T.Prompt: [PROMPT],
    T.PromptMessage: [T.PromptMessage(role="user", content=c)
                      for c in (TEXT, IMAGE, AUDIO, LINK, EMBEDDED)],
    T.ListPromptsResult: [T.ListPromptsResult(prompts=[PROMPT], next_cursor="n", meta=META)],
    T.GetPromptRequestParams: [T.GetPromptRequestParams(name="greet", arguments={"who": "you"},
                                                        meta=META)],
    T.GetPromptResult: [T.GetPromptResult(
        messages=[T.PromptMessage(role="user", content=TEXT)], description="d", meta=META)],
    T.ToolAnnotations: [TOOL.annotations],
    T.ToolExecution: [T.ToolExecution(task_support="required")],
    T.Tool: [TOOL],
    T.ListToolsResult: [T.ListToolsResult(tools=[TOOL], next_cursor="n", meta=META)],
    T.CallToolRequestParams: [T.CallToolRequestParams(name="add", arguments={"a": 1},
                                                      task=TASK_META, meta=META)],
    T.CallToolResult: [T.CallToolResult(content=[TEXT, IMAGE, AUDIO, LINK, EMBEDDED],
                                        structured_content={"sum": 3}, is_error=False,
                                        meta=META)],
    T.PromptReference: [T.PromptReference(name="greet", title="Greet")],
    T.ResourceTemplateReference: [T.ResourceTemplateReference(uri="file:///{p}")],
    T.CompletionArgument: [T.CompletionArgument(name="who", value="y")],
    T.CompletionContext: [T.CompletionContext(arguments={"a": "b"})],
    T.CompleteRequestParams: [
        T.CompleteRequestParams(ref=T.PromptReference(name="greet"),
                                argument=T.CompletionArgument(name="who", value="y"),
                                context=T.CompletionContext(arguments={"a": "b"}), meta=META),
        T.CompleteRequestParams(ref=T.ResourceTemplateReference(uri="file:///{p}"),
                                argument=T.CompletionArgument(name="p", value="")),
    ],
    T.Completion: [T.Completion(values=["you"], total=1, has_more=False)],
    T.CompleteResult: [T.CompleteResult(completion=T.Completion(values=[]), meta=META)],
    T.SetLevelRequestParams: [T.SetLevelRequestParams(level="warning", meta=META)],
    T.LoggingMessageNotificationParams: [
        T.LoggingMessageNotificationParams(level="error", data={"x": [1]}, logger="l",
                                           meta=META),
        T.LoggingMessageNotificationParams(level="debug", data=None)],
    T.ModelHint: [T.ModelHint(name="sonnet")],
    T.ModelPreferences: [T.ModelPreferences(hints=[T.ModelHint(name="sonnet")],
                                            cost_priority=0.1, speed_priority=1,
                                            intelligence_priority=0.9)],
    T.ToolChoice: [T.ToolChoice(mode="auto")],
    T.SamplingMessage: [SAMPLING_MESSAGE, T.SamplingMessage(role="user", content=TOOL_RESULT)],
    T.CreateMessageRequestParams: [T.CreateMessageRequestParams(
        messages=[SAMPLING_MESSAGE], max_tokens=100,
        model_preferences=T.ModelPreferences(cost_priority=0.5), system_prompt="be nice",
        include_context="thisServer", temperature=0.7, stop_sequences=["\n"],
        metadata={"k": "v"}, tools=[TOOL], tool_choice=T.ToolChoice(mode="required"),
        task=TASK_META, meta=META)],
    T.CreateMessageResult: [
        T.CreateMessageResult(role="assistant", content=TEXT, model="m", stop_reason="endTurn",
                              meta=META),
        T.CreateMessageResult(role="assistant", content=[TOOL_USE], model="m")],
    T.Root: [T.Root(uri="file:///home", name="home", meta=META)],
    T.ListRootsResult: [T.ListRootsResult(roots=[T.Root(uri="file:///r")], meta=META)],
    T.StringSchema: [STRING_SCHEMA],
    T.NumberSchema: [NUMBER_SCHEMA],
    T.BooleanSchema: [BOOLEAN_SCHEMA],
    T.UntitledSingleSelectEnumSchema: [UNTITLED_SINGLE],
    T.TitledEnumOption: [OPTION],
    T.TitledSingleSelectEnumSchema: [TITLED_SINGLE],
    T.UntitledEnumItems: [T.UntitledEnumItems(enum=["a"])],
    T.TitledEnumItems: [T.TitledEnumItems(any_of=[OPTION])],
    T.UntitledMultiSelectEnumSchema: [UNTITLED_MULTI],
    T.TitledMultiSelectEnumSchema: [TITLED_MULTI],
    T.LegacyTitledEnumSchema: [LEGACY],
    T.ElicitationSchema: [ELICIT_SCHEMA],
    T.ElicitRequestFormParams: [T.ElicitRequestFormParams(
        message="who?", requested_schema=ELICIT_SCHEMA, mode="form", task=TASK_META,
        meta=META)],
    T.ElicitRequestURLParams: [URL_PARAMS],
    T.ElicitResult: [T.ElicitResult(action="accept",
                                    content={"name": "x", "age": 3, "ok": True, "c3": ["r"]},
                                    meta=META),
                     T.ElicitResult(action="decline")],
    T.ElicitationCompleteNotificationParams: [
        T.ElicitationCompleteNotificationParams(elicitation_id="e1", meta=META)],
    T.URLElicitationRequiredErrorData: [T.URLElicitationRequiredErrorData(
        elicitations=[URL_PARAMS])],
}

# Where each class lives in the 2025-11-25 schema, when not under its own name.
POINTERS: dict[type, str] = {
    T.RootsCapability: "ClientCapabilities/properties/roots",
    T.SamplingCapability: "ClientCapabilities/properties/sampling",
    T.ElicitationCapability: "ClientCapabilities/properties/elicitation",
    T.ClientTasksCapability: "ClientCapabilities/properties/tasks",
    T.ClientTaskRequestsCapability: "ClientCapabilities/properties/tasks/properties/requests",
    T.TaskSamplingCapability:
        "ClientCapabilities/properties/tasks/properties/requests/properties/sampling",
    T.TaskElicitationCapability:
        "ClientCapabilities/properties/tasks/properties/requests/properties/elicitation",
    T.PromptsCapability: "ServerCapabilities/properties/prompts",
    T.ResourcesCapability: "ServerCapabilities/properties/resources",
    T.ToolsCapability: "ServerCapabilities/properties/tools",
    T.ServerTasksCapability: "ServerCapabilities/properties/tasks",
    T.ServerTaskRequestsCapability: "ServerCapabilities/properties/tasks/properties/requests",
    T.TaskToolsCapability:
        "ServerCapabilities/properties/tasks/properties/requests/properties/tools",
    T.CompletionArgument: "CompleteRequestParams/properties/argument",
    T.CompletionContext: "CompleteRequestParams/properties/context",
    T.Completion: "CompleteResult/properties/completion",
    T.ElicitationSchema: "ElicitRequestFormParams/properties/requestedSchema",
    T.TitledEnumOption: "TitledSingleSelectEnumSchema/properties/oneOf/items",
    T.UntitledEnumItems: "UntitledMultiSelectEnumSchema/properties/items",
    T.TitledEnumItems: "TitledMultiSelectEnumSchema/properties/items",
    T.GetTaskRequestParams: "GetTaskRequest/properties/params",
    T.GetTaskPayloadRequestParams: "GetTaskPayloadRequest/properties/params",
    T.CancelTaskRequestParams: "CancelTaskRequest/properties/params",
    T.ElicitationCompleteNotificationParams: "ElicitationCompleteNotification/properties/params",
    T.URLElicitationRequiredErrorData:
        "URLElicitationRequiredError/properties/error/allOf/1/properties/data",
    T.MissingRequiredClientCapabilityErrorData:
        "MissingRequiredClientCapabilityError/properties/error/allOf/1/properties/data",
    T.UnsupportedProtocolVersionErrorData:
        "UnsupportedProtocolVersionError/properties/error/allOf/1/properties/data",
}

ENVELOPES = {"Request", "Notification", "URLElicitationRequiredError"}


def pointer_of(cls: type) -> str:
    return POINTERS.get(cls, cls.__name__)


# Optional in the class because 2026-07-28 removed them, required in the handshake era.
REQUIRED_IN_HANDSHAKE = {(T.ElicitRequestURLParams, "elicitation_id")}


def minimal(obj: Any) -> Any:
    """``obj`` with every optional (``None``-default) field cleared, recursively."""
    if isinstance(obj, list):
        return [minimal(x) for x in obj]
    if not isinstance(obj, MCPType):
        return obj
    changes: dict[str, Any] = {}
    for a in attrs.fields(type(obj)):
        value = getattr(obj, a.name)
        if a.default is None and (type(obj), a.name) not in REQUIRED_IN_HANDSHAKE:
            changes[a.name] = None
        elif isinstance(value, (MCPType, list)):
            changes[a.name] = minimal(value)
    return attrs.evolve(obj, **changes)


def all_examples() -> list[Any]:
    return [
        pytest.param(obj, id=f"{cls.__name__}-{i}")
        for cls in mcp_classes()
        for i, obj in enumerate(EXAMPLES.get(cls, []))
    ]


# ----------------------------------------------------------------------------- coverage


def test_every_class_has_an_example() -> None:
    missing = [c.__name__ for c in mcp_classes() if c not in EXAMPLES]
    assert not missing


def test_every_schema_structure_has_a_class() -> None:
    missing = []
    for name, node in defs(LATEST).items():
        is_object = node.get("type") == "object" or "allOf" in node or "$ref" in node
        if not is_object or name in ENVELOPES or name.startswith("JSONRPC"):
            continue
        if name.endswith(("Request", "Notification")) and "method" in node.get("properties", {}):
            continue  # wire envelopes: the engine writes those
        if not hasattr(T, name):
            missing.append(name)
    assert not missing
    # and every union, enum and scalar alias
    for name in ("ContentBlock", "SamplingMessageContentBlock", "ElicitRequestParams",
                 "EnumSchema", "SingleSelectEnumSchema", "MultiSelectEnumSchema",
                 "PrimitiveSchemaDefinition", "LoggingLevel", "Role", "TaskStatus",
                 "RequestId", "ProgressToken", "Cursor", "EmptyResult"):
        assert name in T.__all__, name
    assert T.EmptyResult is T.Result


def test_public_names_are_documented() -> None:
    for name in T.__all__:
        obj = getattr(T, name)
        if (isinstance(obj, type) and obj.__module__ != "builtins") or inspect.isfunction(obj):
            assert obj.__module__.startswith("sansio.types"), name
            assert obj.__doc__, name
            assert obj is MCPType or obj.__doc__ != MCPType.__doc__, name


# ----------------------------------------------------------------------------- schema + round trip


@pytest.mark.parametrize("obj", all_examples())
def test_full_instance_validates_and_round_trips(obj: Any) -> None:
    data = unstructure(obj)
    validator(pointer_of(type(obj))).validate(data)
    assert structure(data, type(obj)) == obj
    # through JSON text too, with the codec in use
    assert structure(_codec.loads(_codec.dumps(data)), type(obj)) == obj


@pytest.mark.parametrize("obj", all_examples())
def test_minimal_instance_validates_and_round_trips(obj: Any) -> None:
    small = minimal(obj)
    data = unstructure(small)
    validator(pointer_of(type(obj))).validate(data)
    assert structure(data, type(obj)) == small
    assert_no_nulls(data)


def assert_no_nulls(data: Any, path: str = "$") -> None:
    if isinstance(data, dict):
        for key, value in data.items():
            if value is None:
                # Task.ttl is required and nullable; LoggingMessage data is any JSON
                assert key in ("ttl", "data"), f"null written at {path}.{key}"
            assert_no_nulls(value, f"{path}.{key}")
    elif isinstance(data, list):
        for i, item in enumerate(data):
            assert_no_nulls(item, f"{path}[{i}]")


@pytest.mark.parametrize("obj", all_examples())
def test_every_revision_writes_valid_latest_json(obj: Any) -> None:
    # stripping for an older revision only ever removes keys
    full = unstructure(obj)
    for revision in HANDSHAKE:
        data = unstructure(obj, revision)
        validator(pointer_of(type(obj))).validate(data)
        assert set(data) <= set(full)


# ----------------------------------------------------------------------------- strict primitives


@pytest.mark.parametrize(
    ("data", "cls", "message"),
    [
        ({"name": 123, "inputSchema": {}}, T.Tool,
         "invalid value for type, expected str @ $.name"),
        ({"name": None, "inputSchema": {}}, T.Tool,
         "invalid value for type, expected str @ $.name"),
        ({"readOnlyHint": "false"}, T.ToolAnnotations,
         "invalid value for type, expected bool | null @ $.readOnlyHint"),
        ({"readOnlyHint": 0}, T.ToolAnnotations,
         "invalid value for type, expected bool | null @ $.readOnlyHint"),
        ({"uri": "u", "name": "n", "size": True}, T.Resource,
         "invalid value for type, expected int | null @ $.size"),
        ({"uri": "u", "name": "n", "size": 1.5}, T.Resource,
         "invalid value for type, expected int | null @ $.size"),
        ({"uri": "u", "name": "n", "size": "1"}, T.Resource,
         "invalid value for type, expected int | null @ $.size"),
        ({"progressToken": 1, "progress": True}, T.ProgressNotificationParams,
         "invalid value for type, expected float @ $.progress"),
        ({"progressToken": 1, "progress": "1"}, T.ProgressNotificationParams,
         "invalid value for type, expected float @ $.progress"),
        ({"progressToken": True, "progress": 1}, T.ProgressNotificationParams,
         "invalid value for type, expected int | str @ $.progressToken"),
        ({"progressToken": 1.0, "progress": 1}, T.ProgressNotificationParams,
         "invalid value for type, expected int | str @ $.progressToken"),
        ({"requestId": True}, T.CancelledNotificationParams,
         "invalid value for type, expected int | str | null @ $.requestId"),
        ({"requestId": [1]}, T.CancelledNotificationParams,
         "invalid value for type, expected int | str | null @ $.requestId"),
        ({"level": "loud", "data": 1}, T.LoggingMessageNotificationParams,
         "invalid value for type, expected one of 'debug', 'info', 'notice', 'warning', "
         "'error', 'critical', 'alert', 'emergency' @ $.level"),
        ({"level": 1, "data": 1}, T.SetLevelRequestParams,
         "invalid value for type, expected one of 'debug', 'info', 'notice', 'warning', "
         "'error', 'critical', 'alert', 'emergency' @ $.level"),
        ({"values": "abc"}, T.Completion, "invalid value for type, expected array @ $.values"),
        ({"values": [1]}, T.Completion, "invalid value for type, expected str @ $.values[0]"),
        ({"name": "x", "arguments": {"a": 1}}, T.GetPromptRequestParams,
         "invalid value for type, expected str @ $.arguments['a']"),
        ({"name": "x", "arguments": [1]}, T.CallToolRequestParams,
         "invalid value for type, expected object @ $.arguments"),
        ({"name": "x", "_meta": "m"}, T.CallToolRequestParams,
         "invalid value for type, expected object @ $._meta"),
        ({"code": 1.0, "message": "m"}, T.Error, "invalid value for type, expected int @ $.code"),
        ({"taskId": "t", "status": "working", "createdAt": "c", "lastUpdatedAt": "l",
          "ttl": "1"}, T.Task, "invalid value for type, expected int | null @ $.ttl"),
        ({"taskId": "t", "status": "working", "createdAt": "c", "lastUpdatedAt": "l"},
         T.Task, "required field missing @ $.ttl"),
    ],
)
def test_strict_primitives(data: Any, cls: type, message: str) -> None:
    with pytest.raises(TypeValidationError) as info:
        structure(data, cls)
    assert info.value.errors == [message]
    assert type(info.value) is TypeValidationError  # never a cattrs ExceptionGroup


def test_an_int_is_a_float_and_stays_an_int() -> None:
    params = structure({"progressToken": 0, "progress": 3, "total": 4.5},
                       T.ProgressNotificationParams)
    assert params.progress == 3 and type(params.progress) is int
    assert unstructure(params) == {"progressToken": 0, "progress": 3, "total": 4.5}


@pytest.mark.parametrize("bad", [True, False, 1.0, None, [], {}, b"x"])
def test_request_id_and_progress_token_refuse_non_ids(bad: Any) -> None:
    for alias in (T.RequestId, T.ProgressToken):
        with pytest.raises(TypeValidationError):
            structure(bad, alias)
    assert structure(0, T.RequestId) == 0 and structure("", T.ProgressToken) == ""


@given(st.one_of(st.integers(), st.floats(allow_nan=False), st.booleans(), st.none(),
                 st.lists(st.text(), max_size=2), st.dictionaries(st.text(), st.integers(),
                                                                  max_size=2)))
def test_no_coercion_to_str(value: Any) -> None:
    with pytest.raises(TypeValidationError) as info:
        structure({"uri": value}, T.Root)
    assert info.value.errors == ["invalid value for type, expected str @ $.uri"]


@given(st.text())
def test_any_str_is_accepted(value: str) -> None:
    assert structure({"uri": value}, T.Root) == T.Root(uri=value)


def test_null_for_an_optional_field_reads_as_absent() -> None:
    tool = structure({"name": "t", "inputSchema": {"type": "object"}, "title": None,
                      "annotations": None, "icons": None, "_meta": None}, T.Tool)
    assert tool == T.Tool(name="t", input_schema={"type": "object"})
    assert unstructure(tool) == {"name": "t", "inputSchema": {"type": "object"}}


def test_task_ttl_null_is_written() -> None:
    assert unstructure(TASK)["ttl"] is None
    assert structure(unstructure(TASK), T.Task).ttl is None


# ----------------------------------------------------------------------------- unknown keys


def test_unknown_keys_are_kept_at_every_level() -> None:
    data = {
        "tools": [{"name": "t", "inputSchema": {"type": "object"}, "x-future": [1, 2],
                   "annotations": {"readOnlyHint": True, "newHint": "yes"}}],
        "nextCursor": "c", "x-later": "complete", "_meta": {"k": {"deep": 1}},
    }
    result = structure(data, T.ListToolsResult)
    assert result.extra == {"x-later": "complete"}
    assert result.meta == {"k": {"deep": 1}}
    assert result.tools[0].extra == {"x-future": [1, 2]}
    assert result.tools[0].annotations is not None
    assert result.tools[0].annotations.extra == {"newHint": "yes"}
    assert unstructure(result) == data


def test_declared_fields_win_over_extra() -> None:
    root = T.Root(uri="file:///a", extra={"uri": "file:///b", "other": 1})
    assert unstructure(root) == {"uri": "file:///a", "other": 1}


def test_opaque_payloads_pass_through_untouched() -> None:
    arguments = {"nested": {"list": [1, {"x": None}]}, "n": 1.5}
    meta = {"progressToken": 3}
    params = structure({"name": "t", "arguments": arguments, "_meta": meta},
                       T.CallToolRequestParams)
    assert params.arguments is arguments and params.meta is meta
    out = unstructure(params)
    assert out["arguments"] is arguments and out["_meta"] is meta
    result = structure({"content": [], "structuredContent": arguments}, T.CallToolResult)
    assert result.structured_content is arguments
    log = structure({"level": "info", "data": arguments}, T.LoggingMessageNotificationParams)
    assert log.data is arguments and unstructure(log)["data"] is arguments


def test_mappings_other_than_dict_are_accepted() -> None:
    from types import MappingProxyType

    assert structure(MappingProxyType({"uri": "u"}), T.Root) == T.Root(uri="u")


# ----------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("data", "cls"),
    [
        (None, T.Tool), ("x", T.Tool), ([], T.Tool), (1, T.CallToolResult),
        ({"content": "x"}, T.CallToolResult), ({"content": [None]}, T.CallToolResult),
        ({"content": [[]]}, T.CallToolResult), ({"content": [{"type": ["text"]}]},
                                                T.CallToolResult),
        ({"content": [{"type": {}}]}, T.CallToolResult),
        ({"messages": [{"role": "x", "content": 5}], "maxTokens": "1"},
         T.CreateMessageRequestParams),
        ({"ref": {"type": None}, "argument": []}, T.CompleteRequestParams),
        ({"message": "m", "requestedSchema": {"properties": {"a": 1}}}, T.ElicitRequestParams),
        ({"contents": [{"uri": "u"}]}, T.ReadResourceResult),
        ({"action": "accept", "content": {"a": [1]}}, T.ElicitResult),
        ({"action": "accept", "content": {"a": None}}, T.ElicitResult),
    ],
)
def test_bad_data_gives_type_validation_error_only(data: Any, cls: Any) -> None:
    with pytest.raises(TypeValidationError) as info:
        structure(data, cls)
    assert info.value.errors
    assert all(" @ $" in e for e in info.value.errors)
    assert isinstance(info.value, ValueError)


def test_nested_error_has_json_path() -> None:
    data = {"role": "assistant", "model": "m", "content": [
        {"type": "text", "text": "ok"},
        {"type": "tool_result", "toolUseId": "u", "content": [{"type": "image", "data": 1}]},
    ]}
    with pytest.raises(TypeValidationError) as info:
        structure(data, T.CreateMessageResult)
    assert sorted(info.value.errors) == [
        "invalid value for type, expected str @ $.content[1].content[0].data",
        "required field missing @ $.content[1].content[0].mimeType",
    ]
    assert "CreateMessageResult" in str(info.value)


def test_several_errors_are_all_reported() -> None:
    with pytest.raises(TypeValidationError) as info:
        structure({"name": 1, "inputSchema": "s", "icons": [{"src": 2}]}, T.Tool)
    assert sorted(info.value.errors) == [
        "invalid value for type, expected object @ $.inputSchema",
        "invalid value for type, expected str @ $.icons[0].src",
        "invalid value for type, expected str @ $.name",
    ]


def test_unknown_content_type() -> None:
    with pytest.raises(TypeValidationError) as info:
        structure({"content": [{"type": "video", "url": "x"}]}, T.CallToolResult)
    assert info.value.errors == [
        "unknown content type 'video', expected one of 'text', 'image', 'audio', "
        "'resource_link', 'resource' @ $.content[0]"
    ]
    with pytest.raises(TypeValidationError) as info:
        structure({"role": "user", "content": {"text": "no type"}}, T.PromptMessage)
    assert info.value.errors[0].startswith("missing content 'type'")
    # tool_use is sampling content, not prompt content
    with pytest.raises(TypeValidationError):
        structure(unstructure(TOOL_USE), T.ContentBlock)
    assert structure(unstructure(TOOL_USE), T.SamplingMessageContentBlock) == TOOL_USE


def test_structure_refuses_unknown_target_types() -> None:
    class NotMCP:
        pass

    with pytest.raises(TypeError):
        structure({}, NotMCP)


# ----------------------------------------------------------------------------- unions


def test_content_block_dispatch() -> None:
    for block in (TEXT, IMAGE, AUDIO, LINK, EMBEDDED):
        assert structure(unstructure(block), T.ContentBlock) == block
    for sampled in (TEXT, IMAGE, AUDIO, TOOL_USE, TOOL_RESULT):
        assert structure(unstructure(sampled), T.SamplingMessageContentBlock) == sampled


def test_resource_contents_dispatch_on_text_or_blob() -> None:
    assert structure({"uri": "u", "text": ""}, T.ResourceContentsUnion) == \
        T.TextResourceContents(uri="u", text="")
    assert structure({"uri": "u", "blob": ""}, T.ResourceContentsUnion) == \
        T.BlobResourceContents(uri="u", blob="")
    with pytest.raises(TypeValidationError) as info:
        structure({"type": "resource", "resource": {"uri": "u"}}, T.EmbeddedResource)
    assert "'text' or a 'blob'" in info.value.errors[0]


def test_sampling_content_single_or_list() -> None:
    one = structure({"role": "user", "content": {"type": "text", "text": "a"}},
                    T.SamplingMessage)
    assert one.content == T.TextContent(text="a")
    many = structure({"role": "user", "content": [{"type": "text", "text": "a"}]},
                     T.SamplingMessage)
    assert many.content == [T.TextContent(text="a")]


def test_elicit_params_dispatch_on_mode() -> None:
    form = {"message": "m", "requestedSchema": {"type": "object", "properties": {}}}
    assert isinstance(structure(form, T.ElicitRequestParams), T.ElicitRequestFormParams)
    assert structure({**form, "mode": "form"}, T.ElicitRequestParams).mode == "form"
    url = {"mode": "url", "message": "m", "url": "https://x", "elicitationId": "e"}
    assert structure(url, T.ElicitRequestParams) == T.ElicitRequestURLParams(
        message="m", url="https://x", elicitation_id="e")
    with pytest.raises(TypeValidationError) as info:
        structure({**form, "mode": "voice"}, T.ElicitRequestParams)
    assert info.value.errors[0].startswith("unknown elicitation mode 'voice'")


def test_completion_reference_dispatch() -> None:
    assert structure({"type": "ref/resource", "uri": "x"}, T.CompletionReference) == \
        T.ResourceTemplateReference(uri="x")
    with pytest.raises(TypeValidationError):
        structure({"type": "ref/tool", "name": "x"}, T.CompletionReference)


@pytest.mark.parametrize("definition", [
    STRING_SCHEMA, NUMBER_SCHEMA, BOOLEAN_SCHEMA, UNTITLED_SINGLE, TITLED_SINGLE,
    UNTITLED_MULTI, TITLED_MULTI, LEGACY, T.NumberSchema(), T.StringSchema(),
])
def test_primitive_schema_dispatch(definition: Any) -> None:
    assert structure(unstructure(definition), T.PrimitiveSchemaDefinition) == definition


def test_primitive_schema_unknown_variants_stay_raw() -> None:
    for raw in ({"type": "object", "properties": {}}, {"type": "array", "items": {}},
                {"title": "no type"}):
        assert structure(raw, T.PrimitiveSchemaDefinition) is raw
        assert unstructure(structure({"type": "object", "properties": {"f": raw}},
                                     T.ElicitationSchema))["properties"]["f"] == raw
    # a known variant with bad fields is refused, not kept raw
    with pytest.raises(TypeValidationError) as info:
        structure({"type": "string", "enum": "ab"}, T.PrimitiveSchemaDefinition)
    assert info.value.errors == ["invalid value for type, expected array @ $.enum"]
    # the narrower unions do not fall back
    with pytest.raises(TypeValidationError):
        structure(unstructure(STRING_SCHEMA), T.EnumSchema)
    assert structure(unstructure(TITLED_MULTI), T.MultiSelectEnumSchema) == TITLED_MULTI
    assert structure(unstructure(LEGACY), T.EnumSchema) == LEGACY
    # a legacy enum without enumNames is an untitled single select on the wire
    assert structure({"type": "string", "enum": ["a"]}, T.SingleSelectEnumSchema) == \
        T.UntitledSingleSelectEnumSchema(enum=["a"])


def test_elicit_values() -> None:
    content = {"s": "x", "i": 1, "f": 1.5, "b": False, "l": ["a"]}
    assert structure({"action": "accept", "content": content}, T.ElicitResult).content == content


# ----------------------------------------------------------------------------- versions


def test_tool_for_2024_11_05_has_no_newer_fields() -> None:
    data = unstructure(TOOL, "2024-11-05")
    assert data == {"name": "add", "description": "adds", "inputSchema": TOOL.input_schema}
    data = unstructure(TOOL, "2025-03-26")
    assert set(data) == {"name", "description", "inputSchema", "annotations"}
    data = unstructure(TOOL, "2025-06-18")
    assert "title" in data and "outputSchema" in data and "_meta" in data
    assert "icons" not in data and "execution" not in data
    assert unstructure(TOOL, "2025-11-25") == unstructure(TOOL) == unstructure(TOOL, None)


def test_stripping_reaches_nested_objects_and_keeps_extra() -> None:
    result = T.InitializeResult(protocol_version="2025-03-26", capabilities=SERVER_CAPS,
                                server_info=attrs.evolve(IMPL, extra={"vendor": "x"}))
    data = unstructure(result, "2025-03-26")
    assert data["serverInfo"] == {"name": "demo", "version": "1.0", "vendor": "x"}
    assert "tasks" not in data["capabilities"] and "completions" in data["capabilities"]
    assert "completions" not in unstructure(result, "2024-11-05")["capabilities"]
    caps = unstructure(CLIENT_CAPS, "2025-06-18")
    assert caps["elicitation"] == {} and caps["sampling"] == {} and "tasks" not in caps
    assert "elicitation" not in unstructure(CLIENT_CAPS, "2025-03-26")
    blocks = unstructure(T.CallToolResult(content=[TEXT], structured_content={}), "2025-03-26")
    assert blocks == {"content": [{"type": "text", "text": "hello",
                                   "annotations": {"audience": ["user", "assistant"],
                                                   "priority": 0.5}}]}


def test_field_since_until_metadata_matches_the_schemas() -> None:
    # every revision, 2026-07-28 included: a class's `since`/`until` are the first and last
    # revisions that have it, a field's SINCE/UNTIL those of the field when they differ
    problems = []
    for cls in all_mcp_classes():
        if cls.__name__ in ("Icons", "BaseMetadata"):
            continue
        history = class_history(cls)
        assert history, f"{cls.__name__} not found in any schema"
        first, last = min(history), max(history)
        if cls.since != first:
            problems.append(f"{cls.__name__}.since is {cls.since}, schemas say {first}")
        if cls.until != (None if last == ALL_REVISIONS[-1] else last):
            problems.append(f"{cls.__name__}.until is {cls.until}, schemas say {last}")
        for a in attrs.fields(cls):
            if a.name == "extra":
                continue
            wire = T.wire_name(a)
            seen = [rev for rev, props in history.items() if wire in props]
            if (wire == "_meta" and cls.__name__.endswith(("Params", "Result"))
                    and first in HANDSHAKE):
                # base Request/Result `_meta` is older than the schemas say
                seen = [r for r in history if r <= max(seen, default=first)]
            assert seen, f"{cls.__name__}.{wire} is in no schema"
            since = min(seen) if min(seen) > first else None
            until = max(seen) if max(seen) < last else None
            if a.metadata.get(SINCE) != since:
                problems.append(f"{cls.__name__}.{a.name}: since {a.metadata.get(SINCE)}, "
                                f"schemas say {since}")
            if a.metadata.get(T.UNTIL) != until:
                problems.append(f"{cls.__name__}.{a.name}: until {a.metadata.get(T.UNTIL)}, "
                                f"schemas say {until}")
            if sorted(set(seen)) != [r for r in history if r >= min(seen) and r <= max(seen)]:
                problems.append(f"{cls.__name__}.{a.name}: not in contiguous revisions {seen}")
    assert not problems


# Where a class was, in revisions that had it under another name or inline.
HISTORY_POINTERS: dict[str, list[str]] = {
    "Annotations": ["TextContent/annotations"],
    "Error": ["JSONRPCError/error"],
    "ResourceTemplateReference": ["ResourceReference"],
    "ElicitRequestFormParams": ["ElicitRequest/params"],
    "ElicitationSchema": ["ElicitRequest/params/requestedSchema"],
    "LegacyTitledEnumSchema": ["EnumSchema"],
    "CompletionArgument": ["CompleteRequest/params/argument"],
    "CompletionContext": ["CompleteRequest/params/context"],
    "Completion": ["CompleteResult/completion"],
    "EmptyResult": ["Result"],
}
# Classes named like the handshake era's JSON-RPC request envelopes, which are new structures
# (input requests, without `id`) in 2026-07-28.
MODERN_ONLY = {"CreateMessageRequest", "ElicitRequest", "ListRootsRequest"}


def class_history(cls: type) -> dict[str, set[str]]:
    """revision -> the wire keys the class has in it."""
    name = cls.__name__
    candidates = [pointer_of(cls).replace("/properties", "").replace("/allOf/1", "")]
    if name.endswith("Params") and cls not in POINTERS:
        candidates.append(name[: -len("Params")] + "/params")
    candidates += HISTORY_POINTERS.get(name, [])
    out: dict[str, set[str]] = {}
    for revision in ALL_REVISIONS:
        if name in MODERN_ONLY and revision in HANDSHAKE:
            continue
        for candidate in candidates:
            props = follow(revision, candidate)
            if props is not None:
                out[revision] = props
                break
    return out


def follow(revision: str, pointer: str) -> set[str] | None:
    head, *steps = pointer.split("/")
    node = defs(revision).get(head)
    for step in steps:
        if node is None:
            return None
        props = properties(revision, node)
        node = props[step] if step in props else node.get(step)
    return None if node is None else set(properties(revision, node))


def properties(revision: str, node: Any) -> dict[str, Any]:
    if isinstance(node, list):
        return {}
    if "$ref" in node:
        return properties(revision, defs(revision)[node["$ref"].split("/")[-1]])
    out: dict[str, Any] = {}
    for sub in (*node.get("allOf", ()), *node.get("anyOf", ())):
        out.update(properties(revision, sub))
    out.update(node.get("properties", {}))
    return out


def test_unstructure_rejects_a_non_str_version() -> None:
    with pytest.raises(TypeError):
        unstructure(TOOL, 2024)  # type: ignore[arg-type]


# ----------------------------------------------------------------------------- method tables

TABLES: dict[str, tuple[Any, str]] = {
    "ClientRequest": (T.CLIENT_REQUESTS, "request"),
    "ServerRequest": (T.SERVER_REQUESTS, "request"),
    "ClientNotification": (T.CLIENT_NOTIFICATIONS, "notification"),
    "ServerNotification": (T.SERVER_NOTIFICATIONS, "notification"),
}


def union_members(revision: str, union: str) -> dict[str, dict[str, Any]]:
    """method -> its envelope definition, from one of the four unions of ``revision``."""
    node = defs(revision).get(union)
    if node is None:
        return {}
    refs = node.get("anyOf") or node.get("oneOf")
    members = [defs(revision)[r["$ref"].split("/")[-1]] for r in refs] if refs else [node]
    return {m["properties"]["method"]["const"]: m for m in members if m.get("properties")}


@pytest.mark.parametrize("revision", ALL_REVISIONS)
@pytest.mark.parametrize("union", TABLES)
def test_tables_match_the_schema_unions(revision: str, union: str) -> None:
    table, _ = TABLES[union]
    expected = union_members(revision, union)
    assert methods_for(table, revision) == frozenset(expected)
    for method, envelope in expected.items():
        spec = table[method]
        assert spec.method == method
        assert spec.live(revision)
        if revision in HANDSHAKE:
            assert spec.params_required == ("params" in envelope.get("required", [])), method


@pytest.mark.parametrize("union", TABLES)
def test_table_types_match_the_latest_schema(union: str) -> None:
    table, kind = TABLES[union]
    for method, envelope in union_members(LATEST, union).items():
        spec: MethodSpec = table[method]
        name = next(n for n, d in defs(LATEST).items() if d is envelope)
        params = envelope["properties"].get("params", {})
        expected = params["$ref"].split("/")[-1] if "$ref" in params else f"{name}Params"
        assert spec.params is getattr(T, expected), method
        if kind == "notification":
            assert spec.result is None
        else:
            result = name[: -len("Request")] + "Result"
            assert spec.result is getattr(T, result if result in defs(LATEST) else "Result")
            # the result classes are those of ServerResult / ClientResult
            assert spec.result.__name__ in {
                r["$ref"].split("/")[-1]
                for r in defs(LATEST)["ServerResult" if union == "ClientRequest"
                                      else "ClientResult"]["anyOf"]}
            can_be_task = "task" in properties(LATEST, params) and method != "tasks/list"
            assert (spec.task_result is T.CreateTaskResult) == can_be_task, method


def test_table_since_until_are_first_and_last_revisions() -> None:
    for union, (table, _) in TABLES.items():
        for method, spec in table.items():
            present = [r for r in ALL_REVISIONS if method in union_members(r, union)]
            assert present, method
            assert spec.since == present[0], method
            last = present[-1]
            assert spec.until == (None if last == ALL_REVISIONS[-1] else last), method
            # contiguous
            assert present == [r for r in ALL_REVISIONS if spec.live(r)], method


def test_methods_for() -> None:
    assert "elicitation/create" not in methods_for(T.SERVER_REQUESTS, "2025-03-26")
    assert "elicitation/create" in methods_for(T.SERVER_REQUESTS, "2025-06-18")
    assert methods_for(T.SERVER_REQUESTS, "2026-07-28") == frozenset()
    assert "server/discover" in methods_for(T.CLIENT_REQUESTS, "2026-07-28")
    assert "initialize" not in methods_for(T.CLIENT_REQUESTS, "2026-07-28")
    with pytest.raises(TypeError):
        methods_for(T.CLIENT_REQUESTS, None)  # type: ignore[arg-type]


def test_table_params_structure() -> None:
    spec = T.CLIENT_REQUESTS["tools/call"]
    assert spec.params is not None
    params = structure({"name": "t", "arguments": {}}, spec.params)
    assert params == T.CallToolRequestParams(name="t", arguments={})


# ----------------------------------------------------------------------------- misc


def test_converter_follows_the_codec_backend() -> None:
    from sansio.types import _convert

    expected = "OrjsonConverter" if _codec.BACKEND == "orjson" else "JsonConverter"
    assert type(_convert._CONVERTER).__name__ == expected


def test_classes_are_frozen_slotted_and_keyword_only() -> None:
    for cls in mcp_classes():
        assert "__slots__" in cls.__dict__, cls
        assert all(a.kw_only for a in attrs.fields(cls)), cls
        obj = EXAMPLES[cls][0]
        with pytest.raises(attrs.exceptions.FrozenInstanceError):
            obj.extra = {}
    assert [a.name for a in attrs.fields(T.TextContent)][-2:] == ["extra", "meta"]


def test_wire_names() -> None:
    names = {a.name: T.wire_name(a) for a in attrs.fields(T.Tool)}
    assert names["input_schema"] == "inputSchema" and names["meta"] == "_meta"
    assert T.wire_name(attrs.fields(T.ElicitationSchema).schema) == "$schema"
    assert T.wire_name(attrs.fields(T.Implementation).website_url) == "websiteUrl"
