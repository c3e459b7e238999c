"""Client features: sampling, roots and elicitation.

Spec: https://modelcontextprotocol.io/specification/2025-11-25/client
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal, TypeAlias

import attrs

from ._base import (
    SINCE,
    UNTIL_2025_11_25,
    V2025_06_18,
    V2025_11_25,
    WIRE,
    MCPType,
    Meta,
    Role,
    extra_last,
    revisions,
)
from ._content import SamplingContent
from ._lifecycle import RequestParams
from ._server import Tool
from ._tasks import TaskMetadata

__all__ = [
    "BooleanSchema",
    "CreateMessageRequest",
    "CreateMessageRequestParams",
    "CreateMessageResult",
    "ElicitRequest",
    "ElicitRequestFormParams",
    "ElicitRequestParams",
    "ElicitRequestURLParams",
    "ElicitResult",
    "ElicitValue",
    "ElicitationCompleteNotificationParams",
    "ElicitationSchema",
    "EnumSchema",
    "InputRequest",
    "InputRequests",
    "InputResponse",
    "InputResponses",
    "LegacyTitledEnumSchema",
    "ListRootsRequest",
    "ListRootsResult",
    "ModelHint",
    "ModelPreferences",
    "MultiSelectEnumSchema",
    "NumberSchema",
    "PrimitiveSchemaDefinition",
    "Root",
    "SamplingMessage",
    "SingleSelectEnumSchema",
    "StringSchema",
    "TitledEnumItems",
    "TitledEnumOption",
    "TitledMultiSelectEnumSchema",
    "TitledSingleSelectEnumSchema",
    "ToolChoice",
    "URLElicitationRequiredErrorData",
    "UntitledEnumItems",
    "UntitledMultiSelectEnumSchema",
    "UntitledSingleSelectEnumSchema",
]

_TASKS_ERA = revisions(since="2025-11-25", until="2025-11-25")

# ---------------------------------------------------------------- sampling


@attrs.frozen(kw_only=True, field_transformer=extra_last)
class ModelHint(MCPType):
    """A hint for model selection.

    Attributes:
        name: a (partial) model name, such as ``"claude-3-5-sonnet"`` or ``"sonnet"``.
    """

    name: str | None = None


@attrs.frozen(kw_only=True, field_transformer=extra_last)
class ModelPreferences(MCPType):
    """What the server would like in a model; priorities range from 0 to 1."""

    hints: list[ModelHint] | None = None
    cost_priority: float | None = None
    speed_priority: float | None = None
    intelligence_priority: float | None = None


@attrs.frozen(kw_only=True, field_transformer=extra_last)
class ToolChoice(MCPType):
    """How the model may use tools in sampling (2025-11-25)."""

    since: ClassVar[str] = "2025-11-25"

    mode: Literal["auto", "required", "none"] | None = None


@attrs.frozen(kw_only=True, field_transformer=extra_last)
class SamplingMessage(MCPType):
    """A message of a sampling conversation.

    ``content`` is one block, or (2025-11-25) a list of blocks; peers of older revisions
    understand only the single block (this is a change of type, not stripped by version).
    """

    role: Role
    content: SamplingContent
    meta: Meta = attrs.field(default=None, metadata=V2025_11_25)


@attrs.frozen(kw_only=True, field_transformer=extra_last)
class CreateMessageRequestParams(MCPType):
    """Params of ``sampling/createMessage``.

    Attributes:
        messages: the conversation.
        max_tokens: the most tokens to sample.
        model_preferences: what the server would like in a model.
        system_prompt: a system prompt the client may use.
        include_context: ask for context from MCP servers (soft-deprecated values).
        temperature: sampling temperature.
        stop_sequences: where to stop.
        metadata: provider-specific parameters (opaque).
        tools: tools the model may use (2025-11-25).
        tool_choice: how the model may use them (2025-11-25).
        task: run as a task (2025-11-25 only).
        meta: ``_meta`` (until 2025-11-25: from 2026-07-28 on these params travel inside an
            :class:`InputRequiredResult <sansio.types.InputRequiredResult>` and have none).
    """

    messages: list[SamplingMessage]
    max_tokens: int
    model_preferences: ModelPreferences | None = None
    system_prompt: str | None = None
    include_context: Literal["none", "thisServer", "allServers"] | None = None
    temperature: float | None = None
    stop_sequences: list[str] | None = None
    metadata: dict[str, Any] | None = None
    tools: list[Tool] | None = attrs.field(default=None, metadata=V2025_11_25)
    tool_choice: ToolChoice | None = attrs.field(default=None, metadata=V2025_11_25)
    task: TaskMetadata | None = attrs.field(default=None, metadata=_TASKS_ERA)
    meta: Meta = attrs.field(default=None, metadata=UNTIL_2025_11_25)


@attrs.frozen(kw_only=True, field_transformer=extra_last)
class CreateMessageResult(MCPType):
    """Result of ``sampling/createMessage``.

    Attributes:
        role: the sampled message's role.
        content: the sampled content (a list only from 2025-11-25 on).
        model: the model that produced it.
        stop_reason: why sampling stopped (``endTurn``, ``stopSequence``, ``maxTokens``,
            ``toolUse`` or anything else).
    """

    role: Role
    content: SamplingContent
    model: str
    stop_reason: str | None = None
    meta: Meta = None


# ---------------------------------------------------------------- roots


@attrs.frozen(kw_only=True, field_transformer=extra_last)
class Root(MCPType):
    """A root directory or file the server may work with.

    Attributes:
        uri: a ``file://`` URI.
        name: display name.
    """

    uri: str
    name: str | None = None
    meta: Meta = attrs.field(default=None, metadata=V2025_06_18)


@attrs.frozen(kw_only=True, field_transformer=extra_last)
class ListRootsResult(MCPType):
    """Result of ``roots/list`` (an input response from 2026-07-28 on, without ``_meta``)."""

    roots: list[Root]
    meta: Meta = attrs.field(default=None, metadata=UNTIL_2025_11_25)


# ---------------------------------------------------------------- elicitation schemas


@attrs.frozen(kw_only=True, field_transformer=extra_last)
class StringSchema(MCPType):
    """A string field of an elicitation form (2025-06-18)."""

    since: ClassVar[str] = "2025-06-18"

    title: str | None = None
    description: str | None = None
    min_length: int | None = None
    max_length: int | None = None
    format: Literal["email", "uri", "date", "date-time"] | None = None
    default: str | None = attrs.field(default=None, metadata=V2025_11_25)
    type: Literal["string"] = "string"


@attrs.frozen(kw_only=True, field_transformer=extra_last)
class NumberSchema(MCPType):
    """A number field of an elicitation form (2025-06-18)."""

    since: ClassVar[str] = "2025-06-18"

    type: Literal["number", "integer"] = "number"
    title: str | None = None
    description: str | None = None
    minimum: float | None = None
    maximum: float | None = None
    default: float | None = attrs.field(default=None, metadata=V2025_11_25)


@attrs.frozen(kw_only=True, field_transformer=extra_last)
class BooleanSchema(MCPType):
    """A boolean field of an elicitation form (2025-06-18)."""

    since: ClassVar[str] = "2025-06-18"

    title: str | None = None
    description: str | None = None
    default: bool | None = None
    type: Literal["boolean"] = "boolean"


@attrs.frozen(kw_only=True, field_transformer=extra_last)
class UntitledSingleSelectEnumSchema(MCPType):
    """Pick one of ``enum`` (2025-11-25)."""

    since: ClassVar[str] = "2025-11-25"

    enum: list[str]
    title: str | None = None
    description: str | None = None
    default: str | None = None
    type: Literal["string"] = "string"


@attrs.frozen(kw_only=True, field_transformer=extra_last)
class TitledEnumOption(MCPType):
    """One option of a titled enum: the value (``const``) and its display title."""

    since: ClassVar[str] = "2025-11-25"

    const: str
    title: str


@attrs.frozen(kw_only=True, field_transformer=extra_last)
class TitledSingleSelectEnumSchema(MCPType):
    """Pick one of ``one_of`` (wire ``oneOf``), each with a title (2025-11-25)."""

    since: ClassVar[str] = "2025-11-25"

    one_of: list[TitledEnumOption]
    title: str | None = None
    description: str | None = None
    default: str | None = None
    type: Literal["string"] = "string"


@attrs.frozen(kw_only=True, field_transformer=extra_last)
class UntitledEnumItems(MCPType):
    """``items`` of an :class:`UntitledMultiSelectEnumSchema`."""

    since: ClassVar[str] = "2025-11-25"

    enum: list[str]
    type: Literal["string"] = "string"


@attrs.frozen(kw_only=True, field_transformer=extra_last)
class TitledEnumItems(MCPType):
    """``items`` of a :class:`TitledMultiSelectEnumSchema` (wire ``anyOf``)."""

    since: ClassVar[str] = "2025-11-25"

    any_of: list[TitledEnumOption]


@attrs.frozen(kw_only=True, field_transformer=extra_last)
class UntitledMultiSelectEnumSchema(MCPType):
    """Pick any of ``items.enum`` (2025-11-25)."""

    since: ClassVar[str] = "2025-11-25"

    items: UntitledEnumItems
    title: str | None = None
    description: str | None = None
    min_items: int | None = None
    max_items: int | None = None
    default: list[str] | None = None
    type: Literal["array"] = "array"


@attrs.frozen(kw_only=True, field_transformer=extra_last)
class TitledMultiSelectEnumSchema(MCPType):
    """Pick any of ``items.any_of``, each with a title (2025-11-25)."""

    since: ClassVar[str] = "2025-11-25"

    items: TitledEnumItems
    title: str | None = None
    description: str | None = None
    min_items: int | None = None
    max_items: int | None = None
    default: list[str] | None = None
    type: Literal["array"] = "array"


@attrs.frozen(kw_only=True, field_transformer=extra_last)
class LegacyTitledEnumSchema(MCPType):
    """The 2025-06-18 enum: ``enum`` values with parallel ``enumNames`` display names.

    Deprecated in 2025-11-25 in favour of :class:`TitledSingleSelectEnumSchema`.
    """

    since: ClassVar[str] = "2025-06-18"

    enum: list[str]
    enum_names: list[str] | None = None
    title: str | None = None
    description: str | None = None
    default: str | None = attrs.field(default=None, metadata=V2025_11_25)
    type: Literal["string"] = "string"


SingleSelectEnumSchema: TypeAlias = UntitledSingleSelectEnumSchema | TitledSingleSelectEnumSchema
"""A single-choice enum field."""
MultiSelectEnumSchema: TypeAlias = UntitledMultiSelectEnumSchema | TitledMultiSelectEnumSchema
"""A multiple-choice enum field."""
EnumSchema: TypeAlias = (
    UntitledSingleSelectEnumSchema
    | TitledSingleSelectEnumSchema
    | UntitledMultiSelectEnumSchema
    | TitledMultiSelectEnumSchema
    | LegacyTitledEnumSchema
)
"""Any enum field."""
PrimitiveSchemaDefinition: TypeAlias = (
    StringSchema
    | NumberSchema
    | BooleanSchema
    | UntitledSingleSelectEnumSchema
    | TitledSingleSelectEnumSchema
    | UntitledMultiSelectEnumSchema
    | TitledMultiSelectEnumSchema
    | LegacyTitledEnumSchema
    | dict[str, Any]
)
"""A field of an elicitation form.

Told apart by ``type`` and then by the keys present: ``"boolean"``; ``"number"`` or
``"integer"``; ``"string"`` with ``oneOf`` (titled single select), with ``enum`` and
``enumNames`` (legacy), with ``enum`` (untitled single select), or without any of them (plain
string); ``"array"`` whose ``items`` has ``anyOf`` (titled multi select) or ``enum`` (untitled
multi select). A definition that fits none of these (an unknown ``type``, an array of unknown
items) is kept as the raw ``dict`` for forward compatibility; a definition of a known variant
with invalid fields is refused.
"""


@attrs.frozen(kw_only=True, field_transformer=extra_last)
class ElicitationSchema(MCPType):
    """``requestedSchema`` of a form elicitation: a flat object of primitive fields.

    Attributes:
        properties: the form's fields by name.
        required: the names of required fields.
        schema: the JSON Schema dialect (wire ``$schema``, 2025-11-25).
    """

    since: ClassVar[str] = "2025-06-18"

    properties: dict[str, PrimitiveSchemaDefinition]
    required: list[str] | None = None
    schema: str | None = attrs.field(default=None, metadata={SINCE: "2025-11-25", WIRE: "$schema"})
    type: Literal["object"] = "object"


# ---------------------------------------------------------------- elicitation


@attrs.frozen(kw_only=True, field_transformer=extra_last)
class ElicitRequestFormParams(MCPType):
    """Params of ``elicitation/create`` in form mode (the only mode before 2025-11-25).

    Attributes:
        message: what to ask the user.
        requested_schema: the form.
        mode: ``"form"`` or absent (2025-11-25).
        task: run as a task (2025-11-25 only).
        meta: ``_meta`` (until 2025-11-25).
    """

    since: ClassVar[str] = "2025-06-18"

    message: str
    requested_schema: ElicitationSchema
    mode: Literal["form"] | None = attrs.field(default=None, metadata=V2025_11_25)
    task: TaskMetadata | None = attrs.field(default=None, metadata=_TASKS_ERA)
    meta: Meta = attrs.field(default=None, metadata=UNTIL_2025_11_25)


@attrs.frozen(kw_only=True, field_transformer=extra_last)
class ElicitRequestURLParams(MCPType):
    """Params of ``elicitation/create`` in URL mode (2025-11-25).

    Attributes:
        message: why the user should open the URL.
        url: what to open.
        elicitation_id: identifies the elicitation in ``notifications/elicitation/complete``
            (required in 2025-11-25, removed in 2026-07-28, where ``requestState`` correlates).
        task: run as a task (2025-11-25 only).
        meta: ``_meta`` (until 2025-11-25).
    """

    since: ClassVar[str] = "2025-11-25"

    message: str
    url: str
    elicitation_id: str | None = attrs.field(default=None, metadata=UNTIL_2025_11_25)
    task: TaskMetadata | None = attrs.field(default=None, metadata=UNTIL_2025_11_25)
    meta: Meta = attrs.field(default=None, metadata=UNTIL_2025_11_25)
    mode: Literal["url"] = "url"


ElicitRequestParams: TypeAlias = ElicitRequestFormParams | ElicitRequestURLParams
"""Params of ``elicitation/create``, told apart by ``mode`` (absent means form)."""

ElicitValue: TypeAlias = str | int | float | bool | list[str]
"""A value of an accepted elicitation form (a list for multi-select fields)."""


@attrs.frozen(kw_only=True, field_transformer=extra_last)
class ElicitResult(MCPType):
    """Result of ``elicitation/create`` (2025-06-18).

    Attributes:
        action: what the user did.
        content: the submitted values, for ``"accept"`` in form mode.
        meta: ``_meta`` (until 2025-11-25: an input response of 2026-07-28 has none).
    """

    since: ClassVar[str] = "2025-06-18"

    action: Literal["accept", "decline", "cancel"]
    content: dict[str, ElicitValue] | None = None
    meta: Meta = attrs.field(default=None, metadata=UNTIL_2025_11_25)


@attrs.frozen(kw_only=True, field_transformer=extra_last)
class ElicitationCompleteNotificationParams(MCPType):
    """Params of ``notifications/elicitation/complete`` (2025-11-25 only)."""

    since: ClassVar[str] = "2025-11-25"
    until: ClassVar[str | None] = "2025-11-25"

    elicitation_id: str
    meta: Meta = None


@attrs.frozen(kw_only=True, field_transformer=extra_last)
class URLElicitationRequiredErrorData(MCPType):
    """``data`` of the -32042 (URL elicitation required) error (2025-11-25 only)."""

    since: ClassVar[str] = "2025-11-25"
    until: ClassVar[str | None] = "2025-11-25"

    elicitations: list[ElicitRequestURLParams]


# ---------------------------------------------------------------- input requests (2026-07-28)
# In the stateless revision a server no longer sends requests of its own: it answers with an
# InputRequiredResult whose `inputRequests` carry these (no `id`, no `jsonrpc`), and the client
# retries its request with the results in `inputResponses`.


@attrs.frozen(kw_only=True, field_transformer=extra_last)
class CreateMessageRequest(MCPType):
    """An input request for sampling (2026-07-28): ``{"method": "sampling/createMessage", ...}``.

    Attributes:
        params: what to sample.
        method: always ``"sampling/createMessage"``.
    """

    since: ClassVar[str] = "2026-07-28"

    params: CreateMessageRequestParams
    method: Literal["sampling/createMessage"] = "sampling/createMessage"


@attrs.frozen(kw_only=True, field_transformer=extra_last)
class ElicitRequest(MCPType):
    """An input request for elicitation (2026-07-28): ``{"method": "elicitation/create", ...}``.

    Attributes:
        params: what to ask (form or URL mode).
        method: always ``"elicitation/create"``.
    """

    since: ClassVar[str] = "2026-07-28"

    params: ElicitRequestParams
    method: Literal["elicitation/create"] = "elicitation/create"


@attrs.frozen(kw_only=True, field_transformer=extra_last)
class ListRootsRequest(MCPType):
    """An input request for the client's roots (2026-07-28): ``{"method": "roots/list"}``.

    Attributes:
        params: optional, with nothing but ``_meta``.
        method: always ``"roots/list"``.
    """

    since: ClassVar[str] = "2026-07-28"

    params: RequestParams | None = None
    method: Literal["roots/list"] = "roots/list"


InputRequest: TypeAlias = CreateMessageRequest | ElicitRequest | ListRootsRequest
"""One request of an ``inputRequests`` map, told apart by ``method`` (2026-07-28)."""
InputRequests: TypeAlias = dict[str, InputRequest]
"""``inputRequests``: server-chosen keys to the requests the client must fulfil (2026-07-28)."""
InputResponse: TypeAlias = CreateMessageResult | ListRootsResult | ElicitResult
"""The client's result for one input request (told apart by their keys: ``action``, ``roots``,
``model``)."""
InputResponses: TypeAlias = dict[str, InputResponse]
"""``inputResponses``: the keys of ``inputRequests`` to the client's results (2026-07-28)."""
