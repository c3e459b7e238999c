"""Tasks: durable, pollable request executions.

2025-11-25 has them in the core protocol (``capabilities.tasks``, a ``task`` param, a nested
``CreateTaskResult.task``): the classes without an ``Ext`` prefix, ``until = "2025-11-25"``.

2026-07-28 moved tasks out of the core protocol into the ``io.modelcontextprotocol/tasks``
extension (SEP-2663): a flat ``CreateTaskResult`` with ``resultType: "task"``, ``ttlMs`` and
``pollIntervalMs``, ``tasks/get`` answering the detailed task (its result, error or input
requests inlined), ``tasks/update``, and no ``tasks/result`` or ``tasks/list``: the ``Ext*``
classes and :class:`UpdateTaskRequestParams`, ``since = "2026-07-28"``.

Spec: https://modelcontextprotocol.io/specification/2025-11-25/basic/utilities/tasks and
https://github.com/modelcontextprotocol/ext-tasks (``specification/draft/tasks.md``).
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

import attrs

from ._base import Cursor, MCPType, Meta, TaskStatus, extra_last

__all__ = [
    "CancelTaskRequestParams",
    "CancelTaskResult",
    "CreateTaskResult",
    "ExtCreateTaskResult",
    "ExtGetTaskResult",
    "ExtTask",
    "ExtTaskAck",
    "ExtTaskRequestParams",
    "ExtTaskStatusNotificationParams",
    "GetTaskPayloadRequestParams",
    "GetTaskPayloadResult",
    "GetTaskRequestParams",
    "GetTaskResult",
    "ListTasksResult",
    "RelatedTaskMetadata",
    "Task",
    "TaskAugmentedRequestParams",
    "TaskMetadata",
    "TaskStatusNotificationParams",
    "UpdateTaskRequestParams",
]


@attrs.frozen(kw_only=True, field_transformer=extra_last)
class TaskMetadata(MCPType):
    """``params.task``: asks the receiver to run the request as a task.

    Attributes:
        ttl: how long to keep the task's results, in milliseconds.
    """

    since: ClassVar[str] = "2025-11-25"
    until: ClassVar[str | None] = "2025-11-25"

    ttl: int | None = None


@attrs.frozen(kw_only=True, field_transformer=extra_last)
class RelatedTaskMetadata(MCPType):
    """``_meta["io.modelcontextprotocol/related-task"]``: the task a message belongs to."""

    since: ClassVar[str] = "2025-11-25"
    until: ClassVar[str | None] = "2025-11-25"

    task_id: str


@attrs.frozen(kw_only=True, field_transformer=extra_last)
class Task(MCPType):
    """The state of a task.

    Attributes:
        task_id: the task's identifier.
        status: where the task stands.
        created_at: ISO 8601 creation time.
        last_updated_at: ISO 8601 time of the last change.
        ttl: milliseconds the task is kept after creation; ``None`` (written as ``null``)
            means unlimited.
        status_message: a human-readable description of the status.
        poll_interval: suggested milliseconds between polls.
    """

    since: ClassVar[str] = "2025-11-25"
    until: ClassVar[str | None] = "2025-11-25"

    task_id: str
    status: TaskStatus
    created_at: str
    last_updated_at: str
    ttl: int | None
    status_message: str | None = None
    poll_interval: int | None = None


@attrs.frozen(kw_only=True, field_transformer=extra_last)
class TaskAugmentedRequestParams(MCPType):
    """Params of a request that may be run as a task."""

    since: ClassVar[str] = "2025-11-25"
    until: ClassVar[str | None] = "2025-11-25"

    task: TaskMetadata | None = None
    meta: Meta = None


@attrs.frozen(kw_only=True, field_transformer=extra_last)
class CreateTaskResult(MCPType):
    """The answer to a task-augmented request: the task that was created."""

    since: ClassVar[str] = "2025-11-25"
    until: ClassVar[str | None] = "2025-11-25"

    task: Task
    meta: Meta = None


@attrs.frozen(kw_only=True, field_transformer=extra_last)
class GetTaskRequestParams(MCPType):
    """Params of ``tasks/get``."""

    since: ClassVar[str] = "2025-11-25"
    until: ClassVar[str | None] = "2025-11-25"

    task_id: str
    meta: Meta = None


@attrs.frozen(kw_only=True, field_transformer=extra_last)
class GetTaskPayloadRequestParams(MCPType):
    """Params of ``tasks/result``."""

    since: ClassVar[str] = "2025-11-25"
    until: ClassVar[str | None] = "2025-11-25"

    task_id: str
    meta: Meta = None


@attrs.frozen(kw_only=True, field_transformer=extra_last)
class CancelTaskRequestParams(MCPType):
    """Params of ``tasks/cancel``."""

    since: ClassVar[str] = "2025-11-25"
    until: ClassVar[str | None] = "2025-11-25"

    task_id: str
    meta: Meta = None


@attrs.frozen(kw_only=True, field_transformer=extra_last)
class GetTaskResult(Task):
    """Result of ``tasks/get``: a :class:`Task` plus ``_meta``."""

    meta: Meta = None


@attrs.frozen(kw_only=True, field_transformer=extra_last)
class CancelTaskResult(Task):
    """Result of ``tasks/cancel``: a :class:`Task` plus ``_meta``."""

    meta: Meta = None


@attrs.frozen(kw_only=True, field_transformer=extra_last)
class TaskStatusNotificationParams(Task):
    """Params of ``notifications/tasks/status``: a :class:`Task` plus ``_meta``."""

    meta: Meta = None


@attrs.frozen(kw_only=True, field_transformer=extra_last)
class GetTaskPayloadResult(MCPType):
    """Result of ``tasks/result``: the underlying request's result.

    Its keys depend on the request the task ran, so everything but ``_meta`` is kept in
    :attr:`extra`; structure it again with the request's result class.
    """

    since: ClassVar[str] = "2025-11-25"
    until: ClassVar[str | None] = "2025-11-25"

    meta: Meta = None


@attrs.frozen(kw_only=True, field_transformer=extra_last)
class ListTasksResult(MCPType):
    """Result of ``tasks/list``."""

    since: ClassVar[str] = "2025-11-25"
    until: ClassVar[str | None] = "2025-11-25"

    tasks: list[Task]
    next_cursor: Cursor | None = None
    meta: Meta = None


# ---------------------------------------------------------------------- 2026-07-28 extension


@attrs.frozen(kw_only=True, field_transformer=extra_last)
class ExtTask(MCPType):
    """A task of the ``io.modelcontextprotocol/tasks`` extension (2026-07-28).

    Attributes:
        task_id: the task's identifier (server-minted, unguessable).
        status: where the task stands.
        created_at: ISO 8601 creation time.
        last_updated_at: ISO 8601 time of the last change.
        ttl_ms: integer milliseconds the task is kept after creation; ``None`` (``null``):
            unlimited.
        status_message: a human-readable description of the status.
        poll_interval_ms: suggested integer milliseconds between polls.
    """

    since: ClassVar[str] = "2026-07-28"
    #: Defined by this extension's schema, not by the protocol's.
    extension: ClassVar[str | None] = "io.modelcontextprotocol/tasks"

    task_id: str
    status: TaskStatus
    created_at: str
    last_updated_at: str
    ttl_ms: int | None
    status_message: str | None = None
    poll_interval_ms: int | None = None


@attrs.frozen(kw_only=True, field_transformer=extra_last)
class ExtCreateTaskResult(ExtTask):
    """The answer to a ``tools/call`` the server runs as a task: ``Result & Task``, flat,
    ``resultType: "task"`` (no nested ``task``, no ``result``/``error``/``inputRequests``)."""

    result_type: Literal["task"] = "task"
    meta: Meta = None


@attrs.frozen(kw_only=True, field_transformer=extra_last)
class ExtGetTaskResult(ExtTask):
    """The answer to ``tasks/get``: the detailed task, ``resultType: "complete"``.

    Attributes:
        input_requests: (``input_required``) every outstanding input request, by key.
        result: (``completed``) exactly the result the request would have given.
        error: (``failed``) the JSON-RPC error object.
    """

    input_requests: dict[str, Any] | None = None
    result: dict[str, Any] | None = None
    error: dict[str, Any] | None = None
    result_type: Literal["complete"] = "complete"
    meta: Meta = None


@attrs.frozen(kw_only=True, field_transformer=extra_last)
class ExtTaskStatusNotificationParams(ExtTask):
    """Params of ``notifications/tasks``: the detailed task, as ``tasks/get`` gives it."""

    input_requests: dict[str, Any] | None = None
    result: dict[str, Any] | None = None
    error: dict[str, Any] | None = None
    meta: Meta = None


@attrs.frozen(kw_only=True, field_transformer=extra_last)
class ExtTaskRequestParams(MCPType):
    """Params of ``tasks/get`` and ``tasks/cancel`` (2026-07-28)."""

    since: ClassVar[str] = "2026-07-28"
    #: Defined by this extension's schema, not by the protocol's.
    extension: ClassVar[str | None] = "io.modelcontextprotocol/tasks"

    task_id: str
    meta: Meta = None


@attrs.frozen(kw_only=True, field_transformer=extra_last)
class UpdateTaskRequestParams(MCPType):
    """Params of ``tasks/update``: answers to some or all of a task's input requests.

    Attributes:
        task_id: the task.
        input_responses: answers by input-request key (a key that is not outstanding is
            ignored).
    """

    since: ClassVar[str] = "2026-07-28"
    #: Defined by this extension's schema, not by the protocol's.
    extension: ClassVar[str | None] = "io.modelcontextprotocol/tasks"

    task_id: str
    input_responses: dict[str, Any]
    meta: Meta = None


@attrs.frozen(kw_only=True, field_transformer=extra_last)
class ExtTaskAck(MCPType):
    """The answer to ``tasks/update`` and ``tasks/cancel``: an empty acknowledgement."""

    since: ClassVar[str] = "2026-07-28"
    #: Defined by this extension's schema, not by the protocol's.
    extension: ClassVar[str | None] = "io.modelcontextprotocol/tasks"

    result_type: Literal["complete"] = "complete"
    meta: Meta = None
