"""Lifecycle and base structures: implementations, capabilities, initialize, generic params.

Spec: https://modelcontextprotocol.io/specification/2025-11-25/basic/lifecycle
"""

from __future__ import annotations

from typing import Any, ClassVar

import attrs

from ._base import (
    UNTIL_2025_11_25,
    V2025_03_26,
    V2025_06_18,
    V2025_11_25,
    V2026_07_28,
    Cursor,
    MCPType,
    Meta,
    ProgressToken,
    RequestId,
    extra_last,
    revisions,
)
from ._content import Icon

_TASKS_ERA = revisions(since="2025-11-25", until="2025-11-25")
RESULT_TYPE = revisions(since="2026-07-28", default="complete")
"""Field metadata of ``resultType`` (2026-07-28; written as ``"complete"`` when not set)."""

__all__ = [
    "CancelledNotificationParams",
    "ClientCapabilities",
    "ClientTaskRequestsCapability",
    "ClientTasksCapability",
    "ElicitationCapability",
    "EmptyResult",
    "Error",
    "Implementation",
    "InitializeRequestParams",
    "InitializeResult",
    "NotificationParams",
    "PaginatedRequestParams",
    "PaginatedResult",
    "ProgressNotificationParams",
    "PromptsCapability",
    "RequestParams",
    "ResourcesCapability",
    "Result",
    "RootsCapability",
    "SamplingCapability",
    "ServerCapabilities",
    "ServerTaskRequestsCapability",
    "ServerTasksCapability",
    "TaskElicitationCapability",
    "TaskSamplingCapability",
    "TaskToolsCapability",
    "ToolsCapability",
]


@attrs.frozen(kw_only=True, field_transformer=extra_last)
class Implementation(MCPType):
    """The name and version of an MCP client or server (``clientInfo`` / ``serverInfo``).

    Attributes:
        name: programmatic name.
        version: the implementation's version.
        title: display name (2025-06-18).
        description: what the implementation does (2025-11-25).
        icons: icons for user interfaces (2025-11-25).
        website_url: the implementation's home page (2025-11-25).
    """

    name: str
    version: str
    title: str | None = attrs.field(default=None, metadata=V2025_06_18)
    description: str | None = attrs.field(default=None, metadata=V2025_11_25)
    icons: list[Icon] | None = attrs.field(default=None, metadata=V2025_11_25)
    website_url: str | None = attrs.field(default=None, metadata=V2025_11_25)


# ---------------------------------------------------------------- client capabilities


@attrs.frozen(kw_only=True, field_transformer=extra_last)
class RootsCapability(MCPType):
    """``capabilities.roots`` of a client: it can list roots.

    Attributes:
        list_changed: the client notifies changes of its roots (until 2025-11-25).
    """

    list_changed: bool | None = attrs.field(default=None, metadata=UNTIL_2025_11_25)


@attrs.frozen(kw_only=True, field_transformer=extra_last)
class SamplingCapability(MCPType):
    """``capabilities.sampling`` of a client: it can sample from a language model.

    Attributes:
        context: present if the client supports ``includeContext`` other than ``"none"``
            (2025-11-25).
        tools: present if the client supports ``tools`` and ``toolChoice`` (2025-11-25).
    """

    context: dict[str, Any] | None = attrs.field(default=None, metadata=V2025_11_25)
    tools: dict[str, Any] | None = attrs.field(default=None, metadata=V2025_11_25)


@attrs.frozen(kw_only=True, field_transformer=extra_last)
class ElicitationCapability(MCPType):
    """``capabilities.elicitation`` of a client (2025-06-18). An empty one means form mode.

    Attributes:
        form: present if form-mode elicitation is supported (2025-11-25).
        url: present if URL-mode elicitation is supported (2025-11-25).
    """

    since: ClassVar[str] = "2025-06-18"

    form: dict[str, Any] | None = attrs.field(default=None, metadata=V2025_11_25)
    url: dict[str, Any] | None = attrs.field(default=None, metadata=V2025_11_25)


@attrs.frozen(kw_only=True, field_transformer=extra_last)
class TaskSamplingCapability(MCPType):
    """``tasks.requests.sampling``: which sampling requests may be task-augmented."""

    since: ClassVar[str] = "2025-11-25"
    until: ClassVar[str | None] = "2025-11-25"

    create_message: dict[str, Any] | None = None


@attrs.frozen(kw_only=True, field_transformer=extra_last)
class TaskElicitationCapability(MCPType):
    """``tasks.requests.elicitation``: which elicitation requests may be task-augmented."""

    since: ClassVar[str] = "2025-11-25"
    until: ClassVar[str | None] = "2025-11-25"

    create: dict[str, Any] | None = None


@attrs.frozen(kw_only=True, field_transformer=extra_last)
class ClientTaskRequestsCapability(MCPType):
    """``tasks.requests`` of a client: the requests it accepts as tasks."""

    since: ClassVar[str] = "2025-11-25"
    until: ClassVar[str | None] = "2025-11-25"

    sampling: TaskSamplingCapability | None = None
    elicitation: TaskElicitationCapability | None = None


@attrs.frozen(kw_only=True, field_transformer=extra_last)
class ClientTasksCapability(MCPType):
    """``capabilities.tasks`` of a client (2025-11-25 only; an extension from 2026-07-28 on).

    Attributes:
        list: present if the client answers ``tasks/list``.
        cancel: present if the client answers ``tasks/cancel``.
        requests: the requests that can be augmented with a task.
    """

    since: ClassVar[str] = "2025-11-25"
    until: ClassVar[str | None] = "2025-11-25"

    list: dict[str, Any] | None = None
    cancel: dict[str, Any] | None = None
    requests: ClientTaskRequestsCapability | None = None


@attrs.frozen(kw_only=True, field_transformer=extra_last)
class ClientCapabilities(MCPType):
    """What a client supports (``initialize`` params).

    Attributes:
        experimental: non-standard capabilities (opaque).
        roots: present if the client can list roots.
        sampling: present if the client can sample from a model.
        elicitation: present if the client can elicit user input (2025-06-18).
        tasks: present if the client supports task-augmented requests (2025-11-25 only).
        extensions: the MCP extensions the client supports, by identifier, with their
            settings (2026-07-28).
    """

    experimental: dict[str, Any] | None = None
    roots: RootsCapability | None = None
    sampling: SamplingCapability | None = None
    elicitation: ElicitationCapability | None = attrs.field(default=None, metadata=V2025_06_18)
    tasks: ClientTasksCapability | None = attrs.field(default=None, metadata=_TASKS_ERA)
    extensions: dict[str, Any] | None = attrs.field(default=None, metadata=V2026_07_28)


# ---------------------------------------------------------------- server capabilities


@attrs.frozen(kw_only=True, field_transformer=extra_last)
class PromptsCapability(MCPType):
    """``capabilities.prompts`` of a server."""

    list_changed: bool | None = None


@attrs.frozen(kw_only=True, field_transformer=extra_last)
class ResourcesCapability(MCPType):
    """``capabilities.resources`` of a server.

    Attributes:
        subscribe: the server supports ``resources/subscribe``.
        list_changed: the server notifies changes of its resource list.
    """

    subscribe: bool | None = None
    list_changed: bool | None = None


@attrs.frozen(kw_only=True, field_transformer=extra_last)
class ToolsCapability(MCPType):
    """``capabilities.tools`` of a server."""

    list_changed: bool | None = None


@attrs.frozen(kw_only=True, field_transformer=extra_last)
class TaskToolsCapability(MCPType):
    """``tasks.requests.tools``: which tool requests may be task-augmented."""

    since: ClassVar[str] = "2025-11-25"
    until: ClassVar[str | None] = "2025-11-25"

    call: dict[str, Any] | None = None


@attrs.frozen(kw_only=True, field_transformer=extra_last)
class ServerTaskRequestsCapability(MCPType):
    """``tasks.requests`` of a server: the requests it accepts as tasks."""

    since: ClassVar[str] = "2025-11-25"
    until: ClassVar[str | None] = "2025-11-25"

    tools: TaskToolsCapability | None = None


@attrs.frozen(kw_only=True, field_transformer=extra_last)
class ServerTasksCapability(MCPType):
    """``capabilities.tasks`` of a server (2025-11-25 only; an extension from 2026-07-28 on).

    Attributes:
        list: present if the server answers ``tasks/list``.
        cancel: present if the server answers ``tasks/cancel``.
        requests: the requests that can be augmented with a task.
    """

    since: ClassVar[str] = "2025-11-25"
    until: ClassVar[str | None] = "2025-11-25"

    list: dict[str, Any] | None = None
    cancel: dict[str, Any] | None = None
    requests: ServerTaskRequestsCapability | None = None


@attrs.frozen(kw_only=True, field_transformer=extra_last)
class ServerCapabilities(MCPType):
    """What a server supports (``initialize`` result).

    Attributes:
        experimental: non-standard capabilities (opaque).
        logging: present if the server sends log messages.
        completions: present if the server offers argument completion (2025-03-26).
        prompts: present if the server offers prompts.
        resources: present if the server offers resources.
        tools: present if the server offers tools.
        tasks: present if the server supports task-augmented requests (2025-11-25 only).
        extensions: the MCP extensions the server supports, by identifier, with their
            settings (2026-07-28), e.g. ``io.modelcontextprotocol/tasks``.
    """

    experimental: dict[str, Any] | None = None
    logging: dict[str, Any] | None = None
    completions: dict[str, Any] | None = attrs.field(default=None, metadata=V2025_03_26)
    prompts: PromptsCapability | None = None
    resources: ResourcesCapability | None = None
    tools: ToolsCapability | None = None
    tasks: ServerTasksCapability | None = attrs.field(default=None, metadata=_TASKS_ERA)
    extensions: dict[str, Any] | None = attrs.field(default=None, metadata=V2026_07_28)


# ---------------------------------------------------------------- generic params and results


@attrs.frozen(kw_only=True, field_transformer=extra_last)
class RequestParams(MCPType):
    """Params of a request that has no params of its own (``ping``, ``roots/list``).

    Attributes:
        meta: ``_meta``; its ``progressToken`` asks for progress notifications.
    """

    meta: Meta = None


@attrs.frozen(kw_only=True, field_transformer=extra_last)
class NotificationParams(MCPType):
    """Params of a notification that has no params of its own."""

    meta: Meta = None


@attrs.frozen(kw_only=True, field_transformer=extra_last)
class PaginatedRequestParams(MCPType):
    """Params of a ``*/list`` request.

    Attributes:
        cursor: where to continue, from a previous result's ``next_cursor``.
    """

    cursor: Cursor | None = None
    meta: Meta = None


@attrs.frozen(kw_only=True, field_transformer=extra_last)
class Result(MCPType):
    """A result with nothing but ``_meta`` (and whatever :attr:`extra` keeps).

    Attributes:
        result_type: ``"complete"`` or ``"input_required"`` (2026-07-28, where every result
            has it; written as ``"complete"`` to such peers when ``None``). Absent from a peer
            of an older revision, which means ``"complete"``.
    """

    result_type: str | None = attrs.field(default=None, metadata=RESULT_TYPE)
    meta: Meta = None


EmptyResult = Result
"""The result of ``ping``, ``resources/subscribe`` and friends: :class:`Result`."""


@attrs.frozen(kw_only=True, field_transformer=extra_last)
class PaginatedResult(MCPType):
    """A page of a list.

    Attributes:
        next_cursor: pass it as ``cursor`` to get the next page; absent on the last page.
        result_type: see :attr:`Result.result_type` (2026-07-28).
    """

    next_cursor: Cursor | None = None
    result_type: str | None = attrs.field(default=None, metadata=RESULT_TYPE)
    meta: Meta = None


@attrs.frozen(kw_only=True, field_transformer=extra_last)
class Error(MCPType):
    """A JSON-RPC error object (``code``, ``message``, optional ``data``).

    ``data`` is opaque; a ``null`` ``data`` cannot be told from an absent one and is omitted.
    """

    code: int
    message: str
    data: Any = None


@attrs.frozen(kw_only=True, field_transformer=extra_last)
class InitializeRequestParams(MCPType):
    """Params of ``initialize`` (until 2025-11-25: 2026-07-28 has no handshake).

    Attributes:
        protocol_version: the latest revision the client supports.
        capabilities: what the client supports.
        client_info: the client implementation.
    """

    until: ClassVar[str | None] = "2025-11-25"

    protocol_version: str
    capabilities: ClientCapabilities
    client_info: Implementation
    meta: Meta = None


@attrs.frozen(kw_only=True, field_transformer=extra_last)
class InitializeResult(MCPType):
    """Result of ``initialize`` (until 2025-11-25).

    Attributes:
        protocol_version: the revision the server chose.
        capabilities: what the server supports.
        server_info: the server implementation.
        instructions: how to use the server, for the model's system prompt.
    """

    until: ClassVar[str | None] = "2025-11-25"

    protocol_version: str
    capabilities: ServerCapabilities
    server_info: Implementation
    instructions: str | None = None
    meta: Meta = None


@attrs.frozen(kw_only=True, field_transformer=extra_last)
class CancelledNotificationParams(MCPType):
    """Params of ``notifications/cancelled``.

    Attributes:
        request_id: the request to cancel (optional in 2025-11-25, where task
            cancellation uses ``tasks/cancel`` instead; required again in 2026-07-28).
        reason: why, for logs.
    """

    request_id: RequestId | None = None
    reason: str | None = None
    meta: Meta = None


@attrs.frozen(kw_only=True, field_transformer=extra_last)
class ProgressNotificationParams(MCPType):
    """Params of ``notifications/progress``.

    Attributes:
        progress_token: the token from the request's ``_meta.progressToken``.
        progress: progress so far; increases with every notification.
        total: the total, if known.
        message: what is happening (2025-03-26).
    """

    progress_token: ProgressToken
    progress: float
    total: float | None = None
    message: str | None = attrs.field(default=None, metadata=V2025_03_26)
    meta: Meta = None
