"""Which methods exist, in which direction and revision, with which params and result types.

Derived from the ``ClientRequest``, ``ServerRequest``, ``ClientNotification`` and
``ServerNotification`` unions of each revision's schema (a test checks the tables against the
schemas of 2024-11-05 .. 2026-07-28).

The stateless revision 2026-07-28 is listed at the method level only: its new methods
(``server/discover``, ``subscriptions/listen``, ``notifications/subscriptions/acknowledged``)
use the generic :class:`RequestParams` / :class:`NotificationParams` / :class:`Result`, which
accept any fields and keep them in ``extra``; its new result fields (``resultType``,
``cacheScope``...) are kept in ``extra`` likewise.
"""

from __future__ import annotations

import types
from collections.abc import Mapping
from types import MappingProxyType

import attrs

from ._client import (
    CreateMessageRequestParams,
    CreateMessageResult,
    ElicitationCompleteNotificationParams,
    ElicitRequestParams,
    ElicitResult,
    ListRootsResult,
)
from ._lifecycle import (
    CancelledNotificationParams,
    InitializeRequestParams,
    InitializeResult,
    NotificationParams,
    PaginatedRequestParams,
    ProgressNotificationParams,
    RequestParams,
    Result,
)
from ._server import (
    CallToolRequestParams,
    CallToolResult,
    CompleteRequestParams,
    CompleteResult,
    GetPromptRequestParams,
    GetPromptResult,
    ListPromptsResult,
    ListResourcesResult,
    ListResourceTemplatesResult,
    ListToolsResult,
    LoggingMessageNotificationParams,
    ReadResourceRequestParams,
    ReadResourceResult,
    ResourceUpdatedNotificationParams,
    SetLevelRequestParams,
    SubscribeRequestParams,
    UnsubscribeRequestParams,
)
from ._tasks import (
    CancelTaskRequestParams,
    CancelTaskResult,
    CreateTaskResult,
    GetTaskPayloadRequestParams,
    GetTaskPayloadResult,
    GetTaskRequestParams,
    GetTaskResult,
    ListTasksResult,
    TaskStatusNotificationParams,
)

__all__ = [
    "CLIENT_NOTIFICATIONS",
    "CLIENT_REQUESTS",
    "SERVER_NOTIFICATIONS",
    "SERVER_REQUESTS",
    "MethodSpec",
    "methods_for",
]

_V1 = "2024-11-05"
_V2 = "2025-03-26"
_V3 = "2025-06-18"
_V4 = "2025-11-25"
_V5 = "2026-07-28"


@attrs.frozen(kw_only=True)
class MethodSpec:
    """One JSON-RPC method of MCP, in one direction.

    Attributes:
        method: the method name.
        params: the type to structure ``params`` with (a class, or a union alias such as
            :data:`ElicitRequestParams`); ``None`` when any params are accepted.
        result: the type to structure the result with; ``None`` for notifications.
        since: the first revision that has the method in this direction.
        until: the last revision that has it, ``None`` while it still exists.
        params_required: the message must carry ``params``.
        task_result: the result when the request is task-augmented (``params.task`` set,
            2025-11-25): :class:`CreateTaskResult`; ``None`` when the method cannot be.
    """

    method: str
    params: type | types.UnionType | None
    result: type | None
    since: str = _V1
    until: str | None = None
    params_required: bool = False
    task_result: type | None = None

    def live(self, version: str) -> bool:
        """Whether the method exists in ``version`` (revisions compare as strings)."""
        return self.since <= version and (self.until is None or version <= self.until)


def _table(*specs: MethodSpec) -> Mapping[str, MethodSpec]:
    return MappingProxyType({spec.method: spec for spec in specs})


def _req(
    method: str,
    params: type | types.UnionType | None,
    result: type,
    *,
    since: str = _V1,
    until: str | None = None,
    required: bool = False,
    task: bool = False,
) -> MethodSpec:
    return MethodSpec(
        method=method, params=params, result=result, since=since, until=until,
        params_required=required, task_result=CreateTaskResult if task else None,
    )


def _note(
    method: str,
    params: type,
    *,
    since: str = _V1,
    until: str | None = None,
    required: bool = False,
) -> MethodSpec:
    return MethodSpec(
        method=method, params=params, result=None, since=since, until=until,
        params_required=required,
    )


_TASK_REQUESTS = (
    _req("tasks/get", GetTaskRequestParams, GetTaskResult, since=_V4, until=_V4, required=True),
    _req("tasks/result", GetTaskPayloadRequestParams, GetTaskPayloadResult, since=_V4,
         until=_V4, required=True),
    _req("tasks/cancel", CancelTaskRequestParams, CancelTaskResult, since=_V4, until=_V4,
         required=True),
    _req("tasks/list", PaginatedRequestParams, ListTasksResult, since=_V4, until=_V4),
)

CLIENT_REQUESTS: Mapping[str, MethodSpec] = _table(
    _req("initialize", InitializeRequestParams, InitializeResult, until=_V4, required=True),
    _req("ping", RequestParams, Result, until=_V4),
    _req("resources/list", PaginatedRequestParams, ListResourcesResult),
    _req("resources/templates/list", PaginatedRequestParams, ListResourceTemplatesResult),
    _req("resources/read", ReadResourceRequestParams, ReadResourceResult, required=True),
    _req("resources/subscribe", SubscribeRequestParams, Result, until=_V4, required=True),
    _req("resources/unsubscribe", UnsubscribeRequestParams, Result, until=_V4, required=True),
    _req("prompts/list", PaginatedRequestParams, ListPromptsResult),
    _req("prompts/get", GetPromptRequestParams, GetPromptResult, required=True),
    _req("tools/list", PaginatedRequestParams, ListToolsResult),
    _req("tools/call", CallToolRequestParams, CallToolResult, required=True, task=True),
    *_TASK_REQUESTS,
    _req("logging/setLevel", SetLevelRequestParams, Result, until=_V4, required=True),
    _req("completion/complete", CompleteRequestParams, CompleteResult, required=True),
    _req("server/discover", RequestParams, Result, since=_V5, required=True),
    _req("subscriptions/listen", RequestParams, Result, since=_V5, required=True),
)
"""Requests a client sends (and a server serves), by method."""

SERVER_REQUESTS: Mapping[str, MethodSpec] = _table(
    _req("ping", RequestParams, Result, until=_V4),
    *_TASK_REQUESTS,
    _req("sampling/createMessage", CreateMessageRequestParams, CreateMessageResult, until=_V4,
         required=True, task=True),
    _req("roots/list", RequestParams, ListRootsResult, until=_V4),
    _req("elicitation/create", ElicitRequestParams, ElicitResult, since=_V3, until=_V4,
         required=True, task=True),
)
"""Requests a server sends (and a client serves), by method."""

CLIENT_NOTIFICATIONS: Mapping[str, MethodSpec] = _table(
    _note("notifications/cancelled", CancelledNotificationParams, required=True),
    _note("notifications/initialized", NotificationParams, until=_V4),
    _note("notifications/progress", ProgressNotificationParams, until=_V4, required=True),
    _note("notifications/tasks/status", TaskStatusNotificationParams, since=_V4, until=_V4,
          required=True),
    _note("notifications/roots/list_changed", NotificationParams, until=_V4),
)
"""Notifications a client sends, by method."""

SERVER_NOTIFICATIONS: Mapping[str, MethodSpec] = _table(
    _note("notifications/cancelled", CancelledNotificationParams, required=True),
    _note("notifications/progress", ProgressNotificationParams, required=True),
    _note("notifications/resources/list_changed", NotificationParams),
    _note("notifications/resources/updated", ResourceUpdatedNotificationParams, required=True),
    _note("notifications/prompts/list_changed", NotificationParams),
    _note("notifications/tools/list_changed", NotificationParams),
    _note("notifications/tasks/status", TaskStatusNotificationParams, since=_V4, until=_V4,
          required=True),
    _note("notifications/message", LoggingMessageNotificationParams, required=True),
    _note("notifications/elicitation/complete", ElicitationCompleteNotificationParams,
          since=_V4, until=_V4, required=True),
    _note("notifications/subscriptions/acknowledged", NotificationParams, since=_V5,
          required=True),
)
"""Notifications a server sends, by method."""


def methods_for(table: Mapping[str, MethodSpec], version: str) -> frozenset[str]:
    """The methods of ``table`` that exist in protocol revision ``version``.

    Args:
        table: one of :data:`CLIENT_REQUESTS`, :data:`SERVER_REQUESTS`,
            :data:`CLIENT_NOTIFICATIONS`, :data:`SERVER_NOTIFICATIONS`.
        version: a revision such as ``"2025-06-18"`` (revisions compare as strings).

    Returns:
        the method names.

    Raises:
        TypeError: ``version`` is not a string.
    """
    if version.__class__ is not str:
        raise TypeError(f"version must be a str, not {type(version).__name__}")
    return frozenset(method for method, spec in table.items() if spec.live(version))
