"""The stateless revision 2026-07-28: discovery, multi round-trip requests, subscriptions,
caching, the per-request ``_meta`` keys and the new error shapes.

The classes of the older revisions serve 2026-07-28 too, with the fields it added
(``resultType``, ``ttlMs``, ``cacheScope``, ``inputResponses``, ``requestState``,
``extensions``) marked ``since="2026-07-28"`` and the fields it removed marked
``until="2025-11-25"``; this module holds what exists only from 2026-07-28 on.

Spec: https://modelcontextprotocol.io/specification/2026-07-28/schema
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal, TypeAlias

import attrs

from ..versions import (  # the _meta keys: defined in one place, re-exported here
    META_CLIENT_CAPABILITIES,
    META_CLIENT_INFO,
    META_LOG_LEVEL,
    META_PROGRESS_TOKEN,
    META_PROTOCOL_VERSION,
    META_RELATED_TASK,
    META_SERVER_INFO,
    META_SUBSCRIPTION_ID,
)
from . import _server
from ._base import WIRE, LoggingLevel, MCPType, Meta, ProgressToken, RequestId, extra_last
from ._base import revisions as _revisions
from ._client import InputRequests, InputResponses
from ._lifecycle import ClientCapabilities, Error, Implementation, ServerCapabilities
from ._server import (
    CacheScope,
    CallToolRequestParams,
    GetPromptRequestParams,
    ListPromptsResult,
    ListResourcesResult,
    ListResourceTemplatesResult,
    ListToolsResult,
    ReadResourceRequestParams,
    ReadResourceResult,
)

__all__ = [
    "CACHEABLE_RESULTS",
    "HEADER_MISMATCH",
    "META_CLIENT_CAPABILITIES",
    "META_CLIENT_INFO",
    "META_LOG_LEVEL",
    "META_PROGRESS_TOKEN",
    "META_PROTOCOL_VERSION",
    "META_RELATED_TASK",
    "META_SERVER_INFO",
    "META_SUBSCRIPTION_ID",
    "MISSING_REQUIRED_CLIENT_CAPABILITY",
    "RESULT_COMPLETE",
    "RESULT_INPUT_REQUIRED",
    "UNSUPPORTED_PROTOCOL_VERSION",
    "CacheableResult",
    "DiscoverResult",
    "InputRequiredResult",
    "InputResponseRequestParams",
    "InternalError",
    "InvalidParamsError",
    "InvalidRequestError",
    "JSONArray",
    "JSONObject",
    "JSONValue",
    "MetaObject",
    "MethodNotFoundError",
    "MissingRequiredClientCapabilityErrorData",
    "NotificationMetaObject",
    "ParseError",
    "RequestMetaObject",
    "ResultMetaObject",
    "ResultType",
    "SubscriptionFilter",
    "SubscriptionsAcknowledgedNotificationParams",
    "SubscriptionsListenRequestParams",
    "SubscriptionsListenResult",
    "SubscriptionsListenResultMetaObject",
    "UnsupportedProtocolVersionErrorData",
]


# ---------------------------------------------------------------- aliases and constants

ResultType: TypeAlias = str
"""``resultType`` (2026-07-28): :data:`RESULT_COMPLETE` or :data:`RESULT_INPUT_REQUIRED`."""
RESULT_COMPLETE: ResultType = "complete"
"""``resultType`` of a final result (and the meaning of an absent one)."""
RESULT_INPUT_REQUIRED: ResultType = "input_required"
"""``resultType`` of an :class:`InputRequiredResult`."""
JSONValue: TypeAlias = Any
"""Any JSON value."""
JSONObject: TypeAlias = dict[str, Any]
"""A JSON object."""
JSONArray: TypeAlias = list[Any]
"""A JSON array."""
MetaObject: TypeAlias = dict[str, Any]
"""A ``_meta`` object (keys ``prefix/name``; ``io.modelcontextprotocol/`` is reserved)."""

HEADER_MISMATCH: int = -32020
"""Error code (2026-07-28): HTTP headers and body disagree, or required headers are missing."""
MISSING_REQUIRED_CLIENT_CAPABILITY: int = -32021
"""Error code (2026-07-28): the request needs a client capability the client did not declare
(``data``: :class:`MissingRequiredClientCapabilityErrorData`)."""
UNSUPPORTED_PROTOCOL_VERSION: int = -32022
"""Error code (2026-07-28): the request's protocol version is not supported
(``data``: :class:`UnsupportedProtocolVersionErrorData`)."""

_COMPLETE = _revisions(default=RESULT_COMPLETE)


def _key(name: str) -> dict[str, str]:
    return {WIRE: name}


# ---------------------------------------------------------------- typed views of _meta


@attrs.frozen(kw_only=True, field_transformer=extra_last)
class RequestMetaObject(MCPType):
    """The ``_meta`` of a 2026-07-28 request, typed: ``structure(params.meta, RequestMetaObject)``.

    Keys other than these stay in :attr:`extra`.

    Attributes:
        protocol_version: :data:`META_PROTOCOL_VERSION`.
        client_capabilities: :data:`META_CLIENT_CAPABILITIES`.
        client_info: :data:`META_CLIENT_INFO`.
        log_level: :data:`META_LOG_LEVEL`.
        progress_token: :data:`META_PROGRESS_TOKEN`.
    """

    since: ClassVar[str] = "2026-07-28"

    protocol_version: str = attrs.field(metadata=_key(META_PROTOCOL_VERSION))
    client_capabilities: ClientCapabilities = attrs.field(
        metadata=_key(META_CLIENT_CAPABILITIES))
    client_info: Implementation | None = attrs.field(default=None, metadata=_key(META_CLIENT_INFO))
    log_level: LoggingLevel | None = attrs.field(default=None, metadata=_key(META_LOG_LEVEL))
    progress_token: ProgressToken | None = attrs.field(
        default=None, metadata=_key(META_PROGRESS_TOKEN))


@attrs.frozen(kw_only=True, field_transformer=extra_last)
class ResultMetaObject(MCPType):
    """The ``_meta`` of a 2026-07-28 result, typed.

    Attributes:
        server_info: :data:`META_SERVER_INFO`.
    """

    since: ClassVar[str] = "2026-07-28"

    server_info: Implementation | None = attrs.field(default=None, metadata=_key(META_SERVER_INFO))


@attrs.frozen(kw_only=True, field_transformer=extra_last)
class NotificationMetaObject(MCPType):
    """The ``_meta`` of a 2026-07-28 notification, typed.

    Attributes:
        subscription_id: :data:`META_SUBSCRIPTION_ID`, on every notification delivered on a
            ``subscriptions/listen`` stream.
    """

    since: ClassVar[str] = "2026-07-28"

    subscription_id: RequestId | None = attrs.field(
        default=None, metadata=_key(META_SUBSCRIPTION_ID))


@attrs.frozen(kw_only=True, field_transformer=extra_last)
class SubscriptionsListenResultMetaObject(MCPType):
    """The ``_meta`` of a ``subscriptions/listen`` result, typed.

    Attributes:
        subscription_id: :data:`META_SUBSCRIPTION_ID`: the id of the listen request.
        server_info: :data:`META_SERVER_INFO`.
    """

    since: ClassVar[str] = "2026-07-28"

    subscription_id: RequestId = attrs.field(metadata=_key(META_SUBSCRIPTION_ID))
    server_info: Implementation | None = attrs.field(default=None, metadata=_key(META_SERVER_INFO))


# ---------------------------------------------------------------- caching and discovery


@attrs.frozen(kw_only=True, field_transformer=extra_last)
class CacheableResult(MCPType):
    """The fields every cacheable result has (2026-07-28); see :data:`CACHEABLE_RESULTS`.

    Attributes:
        result_type: ``"complete"`` (written so when ``None``).
        ttl_ms: how long, in milliseconds, the client may cache the result; ``0`` means
            stale at once. Required by the schema: the server sets it.
        cache_scope: ``"public"`` (any cache) or ``"private"`` (only within one authorization
            context). Required by the schema, like :attr:`ttl_ms`.
    """

    since: ClassVar[str] = "2026-07-28"

    result_type: ResultType | None = attrs.field(default=None, metadata=_COMPLETE)
    ttl_ms: int | None = None
    cache_scope: CacheScope | None = None
    meta: Meta = None


@attrs.frozen(kw_only=True, field_transformer=extra_last)
class DiscoverResult(MCPType):
    """Result of ``server/discover`` (2026-07-28): what the server supports. Cacheable.

    Attributes:
        supported_versions: the protocol revisions the server supports.
        capabilities: what the server supports.
        instructions: how to use the server, for the model's system prompt.
        result_type: ``"complete"`` (written so when ``None``).
        ttl_ms: see :class:`CacheableResult`.
        cache_scope: see :class:`CacheableResult`.
        meta: ``_meta``; its :data:`META_SERVER_INFO` names the server.
    """

    since: ClassVar[str] = "2026-07-28"

    supported_versions: list[str]
    capabilities: ServerCapabilities
    instructions: str | None = None
    result_type: ResultType | None = attrs.field(default=None, metadata=_COMPLETE)
    ttl_ms: int | None = None
    cache_scope: CacheScope | None = None
    meta: Meta = None


CACHEABLE_RESULTS: frozenset[type[MCPType]] = frozenset({
    DiscoverResult, ListPromptsResult, ListResourcesResult, ListResourceTemplatesResult,
    ListToolsResult, ReadResourceResult,
})
"""The result classes that carry ``ttlMs`` and ``cacheScope`` (2026-07-28)."""


# ---------------------------------------------------------------- multi round-trip requests


@attrs.frozen(kw_only=True, field_transformer=extra_last)
class InputRequiredResult(MCPType):
    """An interim answer (2026-07-28): the server needs input before it can finish a request.

    The client fulfils :attr:`input_requests` and retries the original request with the
    results in ``inputResponses`` and :attr:`request_state` echoed back. At least one of the
    two is present. Never cacheable: it has no ``ttlMs``.

    Attributes:
        input_requests: server-chosen keys to the requests to fulfil
            (:data:`~sansio.types.InputRequest`).
        request_state: opaque state to send back on the retry.
        result_type: always ``"input_required"``.
    """

    since: ClassVar[str] = "2026-07-28"

    input_requests: InputRequests | None = None
    request_state: str | None = None
    result_type: Literal["input_required"] = "input_required"
    meta: Meta = None


@attrs.frozen(kw_only=True, field_transformer=extra_last)
class InputResponseRequestParams(MCPType):
    """The params fields of a retried request (2026-07-28): the base of ``tools/call``,
    ``prompts/get`` and ``resources/read`` params.

    Attributes:
        input_responses: the keys of ``inputRequests`` to the client's results.
        request_state: the ``requestState`` of the :class:`InputRequiredResult`.
    """

    since: ClassVar[str] = "2026-07-28"

    input_responses: InputResponses | None = None
    request_state: str | None = None
    meta: Meta = None


# ---------------------------------------------------------------- subscriptions


@attrs.frozen(kw_only=True, field_transformer=extra_last)
class SubscriptionFilter(MCPType):
    """Which notifications a ``subscriptions/listen`` stream carries (2026-07-28).

    Attributes:
        tools_list_changed: ``notifications/tools/list_changed``.
        prompts_list_changed: ``notifications/prompts/list_changed``.
        resources_list_changed: ``notifications/resources/list_changed``.
        resource_subscriptions: URIs whose ``notifications/resources/updated`` are wanted.
    """

    since: ClassVar[str] = "2026-07-28"

    tools_list_changed: bool | None = None
    prompts_list_changed: bool | None = None
    resources_list_changed: bool | None = None
    resource_subscriptions: list[str] | None = None


@attrs.frozen(kw_only=True, field_transformer=extra_last)
class SubscriptionsListenRequestParams(MCPType):
    """Params of ``subscriptions/listen`` (2026-07-28).

    Attributes:
        notifications: the notifications the client opts in to.
    """

    since: ClassVar[str] = "2026-07-28"

    notifications: SubscriptionFilter
    meta: Meta = None


@attrs.frozen(kw_only=True, field_transformer=extra_last)
class SubscriptionsListenResult(MCPType):
    """Result of ``subscriptions/listen`` (2026-07-28): the stream ended.

    Attributes:
        result_type: ``"complete"`` (written so when ``None``).
        meta: ``_meta``; it must hold :data:`META_SUBSCRIPTION_ID`
            (:class:`SubscriptionsListenResultMetaObject`).
    """

    since: ClassVar[str] = "2026-07-28"

    result_type: ResultType | None = attrs.field(default=None, metadata=_COMPLETE)
    meta: Meta = None


@attrs.frozen(kw_only=True, field_transformer=extra_last)
class SubscriptionsAcknowledgedNotificationParams(MCPType):
    """Params of ``notifications/subscriptions/acknowledged`` (2026-07-28).

    Attributes:
        notifications: the subset of the requested filter the server will honour.
    """

    since: ClassVar[str] = "2026-07-28"

    notifications: SubscriptionFilter
    meta: Meta = None


# ---------------------------------------------------------------- errors


@attrs.frozen(kw_only=True, field_transformer=extra_last)
class ParseError(Error):
    """The JSON-RPC error ``-32700``: the message was not JSON."""

    since: ClassVar[str] = "2026-07-28"

    code: Literal[-32700] = -32700


@attrs.frozen(kw_only=True, field_transformer=extra_last)
class InvalidRequestError(Error):
    """The JSON-RPC error ``-32600``: not a valid request object."""

    since: ClassVar[str] = "2026-07-28"

    code: Literal[-32600] = -32600


@attrs.frozen(kw_only=True, field_transformer=extra_last)
class MethodNotFoundError(Error):
    """The JSON-RPC error ``-32601``: an unknown method, or one of an unadvertised capability."""

    since: ClassVar[str] = "2026-07-28"

    code: Literal[-32601] = -32601


@attrs.frozen(kw_only=True, field_transformer=extra_last)
class InvalidParamsError(Error):
    """The JSON-RPC error ``-32602``: invalid params (and, from 2026-07-28, unknown resources)."""

    since: ClassVar[str] = "2026-07-28"

    code: Literal[-32602] = -32602


@attrs.frozen(kw_only=True, field_transformer=extra_last)
class InternalError(Error):
    """The JSON-RPC error ``-32603``: the receiver failed."""

    since: ClassVar[str] = "2026-07-28"

    code: Literal[-32603] = -32603


@attrs.frozen(kw_only=True, field_transformer=extra_last)
class MissingRequiredClientCapabilityErrorData(MCPType):
    """``data`` of the :data:`MISSING_REQUIRED_CLIENT_CAPABILITY` (-32021) error.

    Attributes:
        required_capabilities: the client capabilities the request needs.
    """

    since: ClassVar[str] = "2026-07-28"
    code: ClassVar[int] = MISSING_REQUIRED_CLIENT_CAPABILITY

    required_capabilities: ClientCapabilities


@attrs.frozen(kw_only=True, field_transformer=extra_last)
class UnsupportedProtocolVersionErrorData(MCPType):
    """``data`` of the :data:`UNSUPPORTED_PROTOCOL_VERSION` (-32022) error.

    Attributes:
        requested: the protocol version the client asked for.
        supported: the versions the server supports, to retry with.
    """

    since: ClassVar[str] = "2026-07-28"
    code: ClassVar[int] = UNSUPPORTED_PROTOCOL_VERSION

    requested: str
    supported: list[str]


# The params classes of _server refer to InputResponses, which _client defines after
# importing _server: give _server the name now that both modules exist, so that their
# annotations resolve (attrs.resolve_types, typing.get_type_hints).
setattr(_server, "InputResponses", InputResponses)  # noqa: B010
for _cls in (CallToolRequestParams, GetPromptRequestParams, ReadResourceRequestParams):
    attrs.resolve_types(_cls)
