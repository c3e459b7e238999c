"""Server features: resources, prompts, tools, completion and logging.

Spec: https://modelcontextprotocol.io/specification/2025-11-25/server
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, Literal, TypeAlias

import attrs

from ._base import (
    V2025_03_26,
    V2025_06_18,
    V2025_11_25,
    V2026_07_28,
    Cursor,
    LoggingLevel,
    MCPType,
    Meta,
    Role,
    extra_last,
    revisions,
)
from ._content import Annotations, ContentBlock, Icon, ResourceContentsUnion
from ._lifecycle import RESULT_TYPE
from ._tasks import TaskMetadata

if TYPE_CHECKING:
    # _client imports this module; `sansio.types._modern` resolves the name at import.
    from ._client import InputResponses

CacheScope: TypeAlias = Literal["private", "public"]
"""Who may cache a cacheable result (2026-07-28): ``"public"`` anyone, ``"private"`` only
within the same authorization context."""

_CACHE_FIELDS = ("result_type", "ttl_ms", "cache_scope")


def cacheable_last(cls: type, fields: list[attrs.Attribute[Any]]) -> list[attrs.Attribute[Any]]:
    """attrs ``field_transformer`` of the cacheable results: the class's own fields, then the
    :class:`CacheableFields` ones, then ``meta`` and ``extra`` (as :func:`extra_last`), so the
    wire keys keep the schema's order (``resultType``, ``ttlMs``, ``cacheScope`` after the
    result's own)."""
    ordered = extra_last(cls, [f for f in fields if f.name not in _CACHE_FIELDS])
    cache = [f for f in fields if f.name in _CACHE_FIELDS]
    cut = next((i for i, f in enumerate(ordered) if f.name in ("meta", "extra")), len(ordered))
    return ordered[:cut] + cache + ordered[cut:]


@attrs.frozen(kw_only=True, field_transformer=cacheable_last)
class CacheableFields(MCPType):
    """The fields every cacheable result shares (2026-07-28, basic/utilities/caching): the
    common base of :data:`~sansio.types.CACHEABLE_RESULTS` and
    :class:`~sansio.types.CacheableResult`. Not a wire type of its own.

    Attributes:
        result_type: see :attr:`Result.result_type <sansio.types.Result.result_type>`
            (2026-07-28; ``"complete"`` is written when ``None``).
        ttl_ms: how long, in milliseconds, the client may cache this result; ``0`` means
            stale at once (2026-07-28, where it is required: the server sets it).
        cache_scope: who may cache it (2026-07-28, required like :attr:`ttl_ms`).
    """

    result_type: str | None = attrs.field(default=None, metadata=RESULT_TYPE)
    ttl_ms: int | None = attrs.field(default=None, metadata=V2026_07_28)
    cache_scope: CacheScope | None = attrs.field(default=None, metadata=V2026_07_28)

_TASKS_ERA = revisions(since="2025-11-25", until="2025-11-25")

__all__ = [
    "CacheScope",
    "CallToolRequestParams",
    "CallToolResult",
    "CompleteRequestParams",
    "CompleteResult",
    "Completion",
    "CompletionArgument",
    "CompletionContext",
    "CompletionReference",
    "GetPromptRequestParams",
    "GetPromptResult",
    "ListPromptsResult",
    "ListResourceTemplatesResult",
    "ListResourcesResult",
    "ListToolsResult",
    "LoggingMessageNotificationParams",
    "Prompt",
    "PromptArgument",
    "PromptMessage",
    "PromptReference",
    "ReadResourceRequestParams",
    "ReadResourceResult",
    "Resource",
    "ResourceRequestParams",
    "ResourceTemplate",
    "ResourceTemplateReference",
    "ResourceUpdatedNotificationParams",
    "SetLevelRequestParams",
    "SubscribeRequestParams",
    "Tool",
    "ToolAnnotations",
    "ToolExecution",
    "UnsubscribeRequestParams",
]

# ---------------------------------------------------------------- resources


@attrs.frozen(kw_only=True, field_transformer=extra_last)
class Resource(MCPType):
    """A resource the server can read.

    Attributes:
        uri: the resource's URI.
        name: programmatic name.
        title: display name (2025-06-18).
        description: what the resource is.
        mime_type: the resource's MIME type, if known.
        size: size in bytes before any encoding, if known.
        annotations: display hints.
        icons: icons for user interfaces (2025-11-25).
    """

    uri: str
    name: str
    title: str | None = attrs.field(default=None, metadata=V2025_06_18)
    description: str | None = None
    mime_type: str | None = None
    size: int | None = None
    annotations: Annotations | None = None
    icons: list[Icon] | None = attrs.field(default=None, metadata=V2025_11_25)
    meta: Meta = attrs.field(default=None, metadata=V2025_06_18)


@attrs.frozen(kw_only=True, field_transformer=extra_last)
class ResourceTemplate(MCPType):
    """A family of resources, described by an RFC 6570 URI template."""

    uri_template: str
    name: str
    title: str | None = attrs.field(default=None, metadata=V2025_06_18)
    description: str | None = None
    mime_type: str | None = None
    annotations: Annotations | None = None
    icons: list[Icon] | None = attrs.field(default=None, metadata=V2025_11_25)
    meta: Meta = attrs.field(default=None, metadata=V2025_06_18)


@attrs.frozen(kw_only=True, field_transformer=cacheable_last)
class ListResourcesResult(CacheableFields):
    """Result of ``resources/list``: a cacheable result.

    ``result_type``, ``ttl_ms`` and ``cache_scope`` (2026-07-28): see :class:`CacheableFields`.
    """

    resources: list[Resource]
    next_cursor: Cursor | None = None
    meta: Meta = None


@attrs.frozen(kw_only=True, field_transformer=cacheable_last)
class ListResourceTemplatesResult(CacheableFields):
    """Result of ``resources/templates/list``: a cacheable result.

    ``result_type``, ``ttl_ms`` and ``cache_scope`` (2026-07-28): see :class:`CacheableFields`.
    """

    resource_templates: list[ResourceTemplate]
    next_cursor: Cursor | None = None
    meta: Meta = None


@attrs.frozen(kw_only=True, field_transformer=extra_last)
class ResourceRequestParams(MCPType):
    """Params of a request about one resource (the common base of the ``resources/*`` params).

    The schemas name it from 2025-11-25 on; its fields are as old as those requests.
    """

    since: ClassVar[str] = "2025-11-25"

    uri: str
    meta: Meta = None


@attrs.frozen(kw_only=True, field_transformer=extra_last)
class ReadResourceRequestParams(MCPType):
    """Params of ``resources/read``.

    Attributes:
        input_responses: the client's answers to the input requests of an
            :class:`~sansio.types.InputRequiredResult`, by key (2026-07-28).
        request_state: the ``requestState`` of that result, echoed back (2026-07-28).
    """

    uri: str
    input_responses: InputResponses | None = attrs.field(default=None, metadata=V2026_07_28)
    request_state: str | None = attrs.field(default=None, metadata=V2026_07_28)
    meta: Meta = None


@attrs.frozen(kw_only=True, field_transformer=cacheable_last)
class ReadResourceResult(CacheableFields):
    """Result of ``resources/read``: a cacheable result.

    ``result_type``, ``ttl_ms`` and ``cache_scope`` (2026-07-28): see :class:`CacheableFields`.
    """

    contents: list[ResourceContentsUnion]
    meta: Meta = None


@attrs.frozen(kw_only=True, field_transformer=extra_last)
class SubscribeRequestParams(MCPType):
    """Params of ``resources/subscribe`` (until 2025-11-25; see ``subscriptions/listen``)."""

    until: ClassVar[str | None] = "2025-11-25"

    uri: str
    meta: Meta = None


@attrs.frozen(kw_only=True, field_transformer=extra_last)
class UnsubscribeRequestParams(MCPType):
    """Params of ``resources/unsubscribe`` (until 2025-11-25; see ``subscriptions/listen``)."""

    until: ClassVar[str | None] = "2025-11-25"

    uri: str
    meta: Meta = None


@attrs.frozen(kw_only=True, field_transformer=extra_last)
class ResourceUpdatedNotificationParams(MCPType):
    """Params of ``notifications/resources/updated``."""

    uri: str
    meta: Meta = None


# ---------------------------------------------------------------- prompts


@attrs.frozen(kw_only=True, field_transformer=extra_last)
class PromptArgument(MCPType):
    """An argument a prompt accepts."""

    name: str
    title: str | None = attrs.field(default=None, metadata=V2025_06_18)
    description: str | None = None
    required: bool | None = None


@attrs.frozen(kw_only=True, field_transformer=extra_last)
class Prompt(MCPType):
    """A prompt or prompt template the server offers."""

    name: str
    title: str | None = attrs.field(default=None, metadata=V2025_06_18)
    description: str | None = None
    arguments: list[PromptArgument] | None = None
    icons: list[Icon] | None = attrs.field(default=None, metadata=V2025_11_25)
    meta: Meta = attrs.field(default=None, metadata=V2025_06_18)


@attrs.frozen(kw_only=True, field_transformer=extra_last)
class PromptMessage(MCPType):
    """One message of a prompt."""

    role: Role
    content: ContentBlock


@attrs.frozen(kw_only=True, field_transformer=cacheable_last)
class ListPromptsResult(CacheableFields):
    """Result of ``prompts/list``: a cacheable result.

    ``result_type``, ``ttl_ms`` and ``cache_scope`` (2026-07-28): see :class:`CacheableFields`.
    """

    prompts: list[Prompt]
    next_cursor: Cursor | None = None
    meta: Meta = None


@attrs.frozen(kw_only=True, field_transformer=extra_last)
class GetPromptRequestParams(MCPType):
    """Params of ``prompts/get``.

    Attributes:
        name: the prompt's name.
        arguments: values for the prompt's arguments (strings only).
        input_responses: the client's answers to the input requests of an
            :class:`~sansio.types.InputRequiredResult`, by key (2026-07-28).
        request_state: the ``requestState`` of that result, echoed back (2026-07-28).
    """

    name: str
    arguments: dict[str, str] | None = None
    input_responses: InputResponses | None = attrs.field(default=None, metadata=V2026_07_28)
    request_state: str | None = attrs.field(default=None, metadata=V2026_07_28)
    meta: Meta = None


@attrs.frozen(kw_only=True, field_transformer=extra_last)
class GetPromptResult(MCPType):
    """Result of ``prompts/get``.

    Attributes:
        result_type: see :attr:`Result.result_type <sansio.types.Result.result_type>`
            (2026-07-28).
    """

    messages: list[PromptMessage]
    description: str | None = None
    result_type: str | None = attrs.field(default=None, metadata=RESULT_TYPE)
    meta: Meta = None


# ---------------------------------------------------------------- tools


@attrs.frozen(kw_only=True, field_transformer=extra_last)
class ToolAnnotations(MCPType):
    """Untrusted hints about a tool's behaviour (2025-03-26)."""

    since: ClassVar[str] = "2025-03-26"

    title: str | None = None
    read_only_hint: bool | None = None
    destructive_hint: bool | None = None
    idempotent_hint: bool | None = None
    open_world_hint: bool | None = None


@attrs.frozen(kw_only=True, field_transformer=extra_last)
class ToolExecution(MCPType):
    """How a tool may be executed (2025-11-25 only).

    Attributes:
        task_support: whether ``tools/call`` may, must or must not be task-augmented.
    """

    since: ClassVar[str] = "2025-11-25"
    until: ClassVar[str | None] = "2025-11-25"

    task_support: Literal["forbidden", "optional", "required"] | None = None


@attrs.frozen(kw_only=True, field_transformer=extra_last)
class Tool(MCPType):
    """A tool the server offers.

    Attributes:
        name: programmatic name.
        input_schema: JSON Schema of the arguments (opaque; ``{"type": "object", ...}``).
        title: display name (2025-06-18).
        description: what the tool does, for the model.
        output_schema: JSON Schema of ``structuredContent`` (opaque, 2025-06-18).
        annotations: behaviour hints (2025-03-26).
        execution: execution properties (2025-11-25 only).
        icons: icons for user interfaces (2025-11-25).
    """

    name: str
    input_schema: dict[str, Any]
    title: str | None = attrs.field(default=None, metadata=V2025_06_18)
    description: str | None = None
    output_schema: dict[str, Any] | None = attrs.field(default=None, metadata=V2025_06_18)
    annotations: ToolAnnotations | None = attrs.field(default=None, metadata=V2025_03_26)
    execution: ToolExecution | None = attrs.field(default=None, metadata=_TASKS_ERA)
    icons: list[Icon] | None = attrs.field(default=None, metadata=V2025_11_25)
    meta: Meta = attrs.field(default=None, metadata=V2025_06_18)


@attrs.frozen(kw_only=True, field_transformer=cacheable_last)
class ListToolsResult(CacheableFields):
    """Result of ``tools/list``: a cacheable result.

    ``result_type``, ``ttl_ms`` and ``cache_scope`` (2026-07-28): see :class:`CacheableFields`.
    """

    tools: list[Tool]
    next_cursor: Cursor | None = None
    meta: Meta = None


@attrs.frozen(kw_only=True, field_transformer=extra_last)
class CallToolRequestParams(MCPType):
    """Params of ``tools/call``.

    Attributes:
        name: the tool's name.
        arguments: the tool's arguments (opaque JSON object).
        task: run the call as a task (2025-11-25 only).
        input_responses: the client's answers to the input requests of an
            :class:`~sansio.types.InputRequiredResult`, by key (2026-07-28).
        request_state: the ``requestState`` of that result, echoed back (2026-07-28).
    """

    name: str
    arguments: dict[str, Any] | None = None
    task: TaskMetadata | None = attrs.field(default=None, metadata=_TASKS_ERA)
    input_responses: InputResponses | None = attrs.field(default=None, metadata=V2026_07_28)
    request_state: str | None = attrs.field(default=None, metadata=V2026_07_28)
    meta: Meta = None


@attrs.frozen(kw_only=True, field_transformer=extra_last)
class CallToolResult(MCPType):
    """Result of ``tools/call``.

    Attributes:
        content: unstructured result.
        structured_content: structured result matching the tool's output schema (opaque,
            2025-06-18). An object up to 2025-11-25; any JSON value from 2026-07-28 on
            (``None`` is absent: a JSON ``null`` cannot be told from it).
        is_error: the tool failed; ``content`` says why.
        result_type: see :attr:`Result.result_type <sansio.types.Result.result_type>`
            (2026-07-28).
    """

    content: list[ContentBlock]
    structured_content: Any = attrs.field(default=None, metadata=V2025_06_18)
    is_error: bool | None = None
    result_type: str | None = attrs.field(default=None, metadata=RESULT_TYPE)
    meta: Meta = None


# ---------------------------------------------------------------- completion


@attrs.frozen(kw_only=True, field_transformer=extra_last)
class PromptReference(MCPType):
    """Completion reference to a prompt."""

    name: str
    title: str | None = attrs.field(default=None, metadata=V2025_06_18)
    type: Literal["ref/prompt"] = "ref/prompt"


@attrs.frozen(kw_only=True, field_transformer=extra_last)
class ResourceTemplateReference(MCPType):
    """Completion reference to a resource template (``ResourceReference`` before 2025-06-18)."""

    uri: str
    type: Literal["ref/resource"] = "ref/resource"


CompletionReference: TypeAlias = PromptReference | ResourceTemplateReference
"""What ``completion/complete`` completes for, told apart by ``type``."""


@attrs.frozen(kw_only=True, field_transformer=extra_last)
class CompletionArgument(MCPType):
    """``completion/complete`` ``argument``: the argument being completed."""

    name: str
    value: str


@attrs.frozen(kw_only=True, field_transformer=extra_last)
class CompletionContext(MCPType):
    """``completion/complete`` ``context`` (2025-06-18).

    Attributes:
        arguments: values of arguments already resolved.
    """

    since: ClassVar[str] = "2025-06-18"

    arguments: dict[str, str] | None = None


@attrs.frozen(kw_only=True, field_transformer=extra_last)
class CompleteRequestParams(MCPType):
    """Params of ``completion/complete``."""

    ref: CompletionReference
    argument: CompletionArgument
    context: CompletionContext | None = attrs.field(default=None, metadata=V2025_06_18)
    meta: Meta = None


@attrs.frozen(kw_only=True, field_transformer=extra_last)
class Completion(MCPType):
    """``completion/complete`` result ``completion``.

    Attributes:
        values: at most 100 completion values.
        total: how many there are in all.
        has_more: there are more than ``values``.
    """

    values: list[str]
    total: int | None = None
    has_more: bool | None = None


@attrs.frozen(kw_only=True, field_transformer=extra_last)
class CompleteResult(MCPType):
    """Result of ``completion/complete``.

    Attributes:
        result_type: see :attr:`Result.result_type <sansio.types.Result.result_type>`
            (2026-07-28).
    """

    completion: Completion
    result_type: str | None = attrs.field(default=None, metadata=RESULT_TYPE)
    meta: Meta = None


# ---------------------------------------------------------------- logging


@attrs.frozen(kw_only=True, field_transformer=extra_last)
class SetLevelRequestParams(MCPType):
    """Params of ``logging/setLevel`` (until 2025-11-25; 2026-07-28 has a per-request
    ``io.modelcontextprotocol/logLevel`` in ``_meta`` instead)."""

    until: ClassVar[str | None] = "2025-11-25"

    level: LoggingLevel
    meta: Meta = None


@attrs.frozen(kw_only=True, field_transformer=extra_last)
class LoggingMessageNotificationParams(MCPType):
    """Params of ``notifications/message``.

    Attributes:
        level: the message's severity.
        data: anything JSON (opaque; may be ``None`` for ``null``).
        logger: the logger's name.
    """

    level: LoggingLevel
    data: Any
    logger: str | None = None
    meta: Meta = None
