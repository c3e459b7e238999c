"""Tasks (2025-11-25 only): durable, pollable request executions.

2026-07-28 moved tasks out of the core protocol into the ``io.modelcontextprotocol/tasks``
extension: every class here has ``until = "2025-11-25"``.

Spec: https://modelcontextprotocol.io/specification/2025-11-25/basic/utilities/tasks
"""

from __future__ import annotations

from typing import ClassVar

import attrs

from ._base import Cursor, MCPType, Meta, TaskStatus, extra_last

__all__ = [
    "CancelTaskRequestParams",
    "CancelTaskResult",
    "CreateTaskResult",
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
