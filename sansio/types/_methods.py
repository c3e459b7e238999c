"""Which methods exist, in which direction and revision, with which params and result types.

Derived from the ``ClientRequest``, ``ServerRequest``, ``ClientNotification`` and
``ServerNotification`` unions of each revision's schema (a test checks the tables against the
schemas of 2024-11-05 .. 2026-07-28).

The stateless revision 2026-07-28 removed the handshake (``initialize``,
``notifications/initialized``), ``ping``, ``logging/setLevel``, ``resources/subscribe`` and
``unsubscribe``, tasks, and every server-to-client request (those are embedded in an
:class:`InputRequiredResult` instead): their specs say ``until="2025-11-25"``. Its new methods
(``server/discover``, ``subscriptions/listen``, ``notifications/subscriptions/acknowledged``)
say ``since="2026-07-28"``.

Alternative results: a request answers with :attr:`MethodSpec.result`, except that

* from :attr:`MethodSpec.input_required_since` on (``tools/call``, ``prompts/get`` and
  ``resources/read`` in 2026-07-28) it may answer with an :class:`InputRequiredResult`
  instead, told apart by ``resultType``; :meth:`MethodSpec.result_for` gives the union to
  structure with, e.g. ``CallToolResult | InputRequiredResult``;
* a task-augmented request (2025-11-25) answers with :attr:`MethodSpec.task_result`.
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
from ._modern import (
    DiscoverResult,
    InputRequiredResult,
    SubscriptionsAcknowledgedNotificationParams,
    SubscriptionsListenRequestParams,
    SubscriptionsListenResult,
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
        params_required: the message must carry ``params`` in every revision.
        task_result: the result when the request is task-augmented (``params.task`` set,
            2025-11-25): :class:`CreateTaskResult`; ``None`` when the method cannot be.
        params_required_since: the first revision from which ``params`` is required even
            when :attr:`params_required` is false (2026-07-28 for every request: its
            ``_meta`` carries the protocol version); ``None`` if never.
        input_required_since: the first revision in which the request may be answered with
            an :class:`InputRequiredResult` (multi round-trip requests); ``None`` if never.
    """

    method: str
    params: type | types.UnionType | None
    result: type | None
    since: str = _V1
    until: str | None = None
    params_required: bool = False
    task_result: type | None = None
    params_required_since: str | None = None
    input_required_since: str | None = None

    def live(self, version: str) -> bool:
        """Whether the method exists in ``version`` (revisions compare as strings)."""
        return self.since <= version and (self.until is None or version <= self.until)

    def params_required_in(self, version: str) -> bool:
        """Whether a message of this method must carry ``params`` in ``version``."""
        return self.params_required or (
            self.params_required_since is not None and self.params_required_since <= version)

    def result_for(self, version: str) -> type | types.UnionType | None:
        """The type to structure a (non-task) result with in ``version``.

        :attr:`result`, or ``result | InputRequiredResult`` where the method may ask for
        input (a union :func:`sansio.types.structure` tells apart by ``resultType``);
        ``None`` for notifications.
        """
        if self.result is None:
            return None
        if self.input_required_since is not None and self.input_required_since <= version:
            return self.result | InputRequiredResult
        return self.result


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
    mrtr: bool = False,
) -> MethodSpec:
    # Every request of 2026-07-28 carries params: its `_meta` says the protocol version.
    live_in_modern = until is None or until >= _V5
    return MethodSpec(
        method=method, params=params, result=result, since=since, until=until,
        params_required=required, task_result=CreateTaskResult if task else None,
        params_required_since=_V5 if live_in_modern and not required else None,
        input_required_since=_V5 if mrtr else None,
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
    _req("resources/read", ReadResourceRequestParams, ReadResourceResult, required=True,
         mrtr=True),
    _req("resources/subscribe", SubscribeRequestParams, Result, until=_V4, required=True),
    _req("resources/unsubscribe", UnsubscribeRequestParams, Result, until=_V4, required=True),
    _req("prompts/list", PaginatedRequestParams, ListPromptsResult),
    _req("prompts/get", GetPromptRequestParams, GetPromptResult, required=True, mrtr=True),
    _req("tools/list", PaginatedRequestParams, ListToolsResult),
    _req("tools/call", CallToolRequestParams, CallToolResult, required=True, task=True,
         mrtr=True),
    *_TASK_REQUESTS,
    _req("logging/setLevel", SetLevelRequestParams, Result, until=_V4, required=True),
    _req("completion/complete", CompleteRequestParams, CompleteResult, required=True),
    _req("server/discover", RequestParams, DiscoverResult, since=_V5, required=True),
    _req("subscriptions/listen", SubscriptionsListenRequestParams, SubscriptionsListenResult,
         since=_V5, required=True),
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
    _note("notifications/subscriptions/acknowledged",
          SubscriptionsAcknowledgedNotificationParams, since=_V5, required=True),
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
