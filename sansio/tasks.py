"""Tasks: the state machine and every decision about them, for both revisions.

A task is a request (``tools/call``) the server runs in the background: the client gets a
task handle at once and polls ``tasks/get`` for the outcome. Two wire forms share this module:

* 2026-07-28, the ``io.modelcontextprotocol/tasks`` extension (SEP-2663): the *server* decides
  whether a ``tools/call`` becomes a task, for a request whose client declared the extension
  (in the request's ``_meta`` client capabilities); the answer is a flat ``CreateTaskResult``
  (``resultType: "task"``, ISO 8601 times, integer ``ttlMs`` / ``pollIntervalMs``);
  ``tasks/get`` gives the detailed task, ``tasks/update`` answers its input requests,
  ``tasks/cancel`` asks it to stop; ``tasks/result`` and ``tasks/list`` do not exist (-32601).
* 2025-11-25 (experimental, in the core protocol): the *client* asks for a task with the
  ``task`` param of ``tools/call``; the answer nests the task (``{"task": {...}}``, ``ttl``,
  ``pollInterval``); ``tasks/get``, ``tasks/result``, ``tasks/list``, ``tasks/cancel``.

Nothing here reads a clock or makes randomness: the caller passes ``now`` (seconds since the
epoch) and random bytes in.
"""

from __future__ import annotations

import base64
import datetime
import enum
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, Literal

import attrs

from .errors import ErrorCode, LocalProtocolError
from .types import _tasks as tt
from .types._methods import MethodSpec

__all__ = [
    "EXTENSION_ID",
    "EXTENSION_REQUESTS",
    "MODERN_VERSION",
    "RELATED_TASK_META",
    "TERMINAL",
    "TRANSITIONS",
    "Dispatch",
    "TaskState",
    "TaskStatus",
    "TaskSupport",
    "check_task_request",
    "client_declares_tasks",
    "decide_tool_call",
    "iso8601",
    "missing_extension_error",
    "new_task_id",
    "unknown_task_error",
]

EXTENSION_ID = "io.modelcontextprotocol/tasks"
"""The extension's identifier, under ``capabilities.extensions`` of both sides."""

MODERN_VERSION = "2026-07-28"
"""The first revision whose tasks are the extension's."""

RELATED_TASK_META = "io.modelcontextprotocol/related-task"
"""(2025-11-25) The ``_meta`` key naming the task a message belongs to."""

TaskSupport = Literal["forbidden", "optional", "required"]
"""Whether a tool's ``tools/call`` may (``optional``), must (``required``) or must not
(``forbidden``, the default) run as a task."""


class TaskStatus(str, enum.Enum):
    """Where a task stands."""

    WORKING = "working"
    INPUT_REQUIRED = "input_required"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"


TERMINAL: frozenset[TaskStatus] = frozenset(
    {TaskStatus.COMPLETED, TaskStatus.FAILED, TaskStatus.CANCELLED})
"""The statuses a task never leaves."""

TRANSITIONS: Mapping[TaskStatus, frozenset[TaskStatus]] = MappingProxyType({
    TaskStatus.WORKING: frozenset({TaskStatus.INPUT_REQUIRED, *TERMINAL}),
    TaskStatus.INPUT_REQUIRED: frozenset({TaskStatus.WORKING, *TERMINAL}),
    TaskStatus.COMPLETED: frozenset(),
    TaskStatus.FAILED: frozenset(),
    TaskStatus.CANCELLED: frozenset(),
})
"""The legal status changes (both revisions): ``working`` and ``input_required`` alternate
and may end in any terminal status; a terminal status is final."""


class Dispatch(enum.Enum):
    """How a ``tools/call`` is served (:func:`decide_tool_call`)."""

    SYNC = "sync"
    """Answered with the tool's result (no task)."""
    TASK = "task"
    """Answered with a task handle; the tool runs as the task."""


def client_declares_tasks(client_capabilities: Mapping[str, Any] | None) -> bool:
    """Whether client capabilities declare the ``io.modelcontextprotocol/tasks`` extension."""
    if not isinstance(client_capabilities, Mapping):
        return False
    extensions = client_capabilities.get("extensions")
    return isinstance(extensions, Mapping) and EXTENSION_ID in extensions


def missing_extension_error(what: str) -> LocalProtocolError:
    """The -32021 (missing required client capability) error for ``what``, with ``data``
    ``{"requiredCapabilities": {"extensions": {EXTENSION_ID: {}}}}``."""
    return LocalProtocolError(
        f"{what} needs the client capability extensions[{EXTENSION_ID!r}], which the "
        "request did not declare", ErrorCode.MISSING_REQUIRED_CLIENT_CAPABILITY,
        {"requiredCapabilities": {"extensions": {EXTENSION_ID: {}}}})


def unknown_task_error(task_id: Any) -> LocalProtocolError:
    """The -32602 error for a task id the server does not know (or the caller may not see:
    the two are not told apart)."""
    return LocalProtocolError(f"unknown task: {task_id!r}", ErrorCode.INVALID_PARAMS)


def decide_tool_call(support: TaskSupport, *, version: str | None,
                     client_capabilities: Mapping[str, Any] | None,
                     params: Mapping[str, Any] | None) -> Dispatch:
    """Decide whether one ``tools/call`` becomes a task.

    2026-07-28: the server decides; a tool that supports tasks (``optional`` or ``required``)
    runs as one when the request declared the extension; an ``optional`` tool of a request
    that did not runs synchronously. 2025-11-25: the client decides with the ``task`` param;
    a tool that does not support tasks ignores it. Earlier revisions have no tasks.

    Args:
        support: the tool's task support.
        version: the revision the request is served under.
        client_capabilities: the capabilities that hold for the request.
        params: the request's params.

    Raises:
        LocalProtocolError: a ``required`` tool for a request that cannot get a task:
            -32021 with ``data.requiredCapabilities`` (2026-07-28, extension not declared),
            -32601 (2025-11-25 without a ``task`` param, or an earlier revision).
    """
    if version is not None and version >= MODERN_VERSION:
        if support == "forbidden":
            return Dispatch.SYNC
        if client_declares_tasks(client_capabilities):
            return Dispatch.TASK
        if support == "required":
            raise missing_extension_error("this tool runs only as a task: it")
        return Dispatch.SYNC
    asked = isinstance(params, Mapping) and isinstance(params.get("task"), Mapping)
    legacy = version is not None and version >= "2025-11-25"
    if support == "forbidden":
        return Dispatch.SYNC
    if asked and legacy:
        return Dispatch.TASK
    if support == "required":
        raise LocalProtocolError(
            "this tool runs only as a task: call it with the task param (taskSupport: "
            "'required')" if legacy else
            "this tool runs only as a task, which needs protocol version 2025-11-25 or later",
            ErrorCode.METHOD_NOT_FOUND)
    return Dispatch.SYNC


def check_task_request(method: str, version: str | None,
                       client_capabilities: Mapping[str, Any] | None) -> None:
    """Judge a ``tasks/*`` request before its task is looked up.

    Raises:
        LocalProtocolError: 2026-07-28: ``tasks/result`` / ``tasks/list`` (-32601, removed),
            or the request did not declare the extension (-32021). Before 2025-11-25: -32601.
    """
    if version is not None and version >= MODERN_VERSION:
        if method not in EXTENSION_REQUESTS:
            raise LocalProtocolError(f"method not found: {method!r} is not part of the "
                                     f"{EXTENSION_ID} extension", ErrorCode.METHOD_NOT_FOUND)
        if not client_declares_tasks(client_capabilities):
            raise missing_extension_error(method)
        return
    if version is None or version < "2025-11-25" or method == "tasks/update":
        raise LocalProtocolError(f"method not found: {method!r}", ErrorCode.METHOD_NOT_FOUND)


def iso8601(now: float) -> str:
    """``now`` (seconds since the epoch) as an ISO 8601 UTC time, milliseconds, ``Z``."""
    moment = datetime.datetime.fromtimestamp(now, datetime.timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def new_task_id(random: bytes) -> str:
    """A task id from at least 16 random bytes (URL-safe base64, no padding).

    Raises:
        ValueError: fewer than 16 bytes (an id must be unguessable).
    """
    if len(random) < 16:
        raise ValueError("a task id needs at least 16 random bytes")
    return base64.urlsafe_b64encode(random).rstrip(b"=").decode("ascii")


def _ms(value: float | None) -> int | None:
    return None if value is None else round(value * 1000)


@attrs.define(eq=False)
class TaskState:
    """One task's state, and its wire forms. Mutated only through its methods, which keep
    the status changes legal (:data:`TRANSITIONS`).

    Attributes:
        task_id: the id.
        method: the request the task runs (``tools/call``).
        created_at: creation time (seconds since the epoch).
        ttl: seconds the task is kept after creation (``None``: unlimited).
        poll_interval: suggested seconds between polls.
        principal: who created it (``None``: no authenticated principal); every ``tasks/*``
            request is checked against it.
        status: the current status.
        updated_at: time of the last change.
        status_message: human-readable text about the status (progress, failure reason).
        input_requests: (``input_required``) the outstanding input requests by key.
        result: (``completed``) the request's result.
        error: (``failed``) the JSON-RPC error object.
    """

    task_id: str
    method: str
    created_at: float
    ttl: float | None
    poll_interval: float | None
    principal: str | None = None
    status: TaskStatus = TaskStatus.WORKING
    updated_at: float = attrs.field(default=attrs.Factory(lambda s: s.created_at,
                                                          takes_self=True))
    status_message: str | None = None
    input_requests: dict[str, dict[str, Any]] = attrs.field(factory=dict)
    result: dict[str, Any] | None = None
    error: dict[str, Any] | None = None

    @property
    def terminal(self) -> bool:
        """Whether the task has ended."""
        return self.status in TERMINAL

    def expires_at(self) -> float | None:
        """When the task may be discarded (``None``: never)."""
        return None if self.ttl is None else self.created_at + self.ttl

    def _move(self, new: TaskStatus, now: float) -> None:
        if new is not self.status and new not in TRANSITIONS[self.status]:
            raise ValueError(f"task {self.task_id}: illegal status change "
                             f"{self.status.value} -> {new.value}")
        self.status = new
        self.updated_at = now

    def ask(self, requests: Mapping[str, Mapping[str, Any]], now: float) -> None:
        """Add outstanding input requests; the task becomes ``input_required``.

        Raises:
            ValueError: the task has ended.
        """
        self._move(TaskStatus.INPUT_REQUIRED, now)
        self.input_requests.update({key: dict(value) for key, value in requests.items()})

    def answer(self, responses: Mapping[str, Any], now: float) -> dict[str, Any]:
        """Take the answers to outstanding input requests (other keys are ignored); the task
        is ``working`` again once none is outstanding. Returns the answers taken, by key.
        A task that is not ``input_required`` takes none."""
        if self.status is not TaskStatus.INPUT_REQUIRED:
            return {}
        taken = {key: value for key, value in responses.items() if key in self.input_requests}
        for key in taken:
            del self.input_requests[key]
        if taken:
            self.updated_at = now
        if not self.input_requests:
            self._move(TaskStatus.WORKING, now)
        return taken

    def note(self, message: str | None, now: float) -> None:
        """Set the status message (progress of a running task)."""
        self.status_message = message
        self.updated_at = now

    def complete(self, result: Mapping[str, Any], now: float) -> None:
        """End the task with the request's result (a tool's ``isError`` result too).

        Raises:
            ValueError: the task has ended already.
        """
        self._move(TaskStatus.COMPLETED, now)
        self.input_requests.clear()
        self.result = dict(result)

    def fail(self, code: int, message: str, data: Any = None, *, now: float) -> None:
        """End the task with a JSON-RPC error.

        Raises:
            ValueError: the task has ended already.
        """
        self._move(TaskStatus.FAILED, now)
        self.input_requests.clear()
        self.error = {"code": int(code), "message": message}
        if data is not None:
            self.error["data"] = data
        self.status_message = message

    def cancel(self, now: float, message: str = "cancelled by the client") -> bool:
        """End the task as ``cancelled``; a task that has ended is left as it is (cancel is
        idempotent). Returns whether the status changed."""
        if self.terminal:
            return False
        self._move(TaskStatus.CANCELLED, now)
        self.input_requests.clear()
        self.status_message = message
        return True

    # -------------------------------------------------------------- 2026-07-28 wire forms

    def _base(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "taskId": self.task_id, "status": self.status.value,
            "createdAt": iso8601(self.created_at), "lastUpdatedAt": iso8601(self.updated_at),
            "ttlMs": _ms(self.ttl)}
        poll = _ms(self.poll_interval)
        if poll is not None:
            out["pollIntervalMs"] = max(1, poll)
        if self.status_message is not None:
            out["statusMessage"] = self.status_message
        return out

    def create_result(self) -> dict[str, Any]:
        """The flat ``CreateTaskResult`` (``resultType: "task"``)."""
        out = self._base()
        out["resultType"] = "task"
        return out

    def detailed(self) -> dict[str, Any]:
        """The detailed task (``tasks/get`` result without ``resultType``, and the params of
        ``notifications/tasks``): ``inputRequests``, ``result`` or ``error`` by status."""
        out = self._base()
        if self.status is TaskStatus.INPUT_REQUIRED:
            out["inputRequests"] = dict(self.input_requests)
        elif self.status is TaskStatus.COMPLETED and self.result is not None:
            out["result"] = self.result
        elif self.status is TaskStatus.FAILED and self.error is not None:
            out["error"] = self.error
        return out

    def get_result(self) -> dict[str, Any]:
        """The ``tasks/get`` result (``resultType: "complete"``)."""
        out = self.detailed()
        out["resultType"] = "complete"
        return out

    # -------------------------------------------------------------- 2025-11-25 wire forms

    def legacy_task(self) -> dict[str, Any]:
        """The 2025-11-25 ``Task`` (``ttl``, ``pollInterval``; ``input_required`` tasks say so
        and the client reads ``tasks/result``)."""
        out: dict[str, Any] = {
            "taskId": self.task_id, "status": self.status.value,
            "createdAt": iso8601(self.created_at), "lastUpdatedAt": iso8601(self.updated_at),
            "ttl": _ms(self.ttl)}
        poll = _ms(self.poll_interval)
        if poll is not None:
            out["pollInterval"] = max(1, poll)
        if self.status_message is not None:
            out["statusMessage"] = self.status_message
        return out

    def legacy_create_result(self) -> dict[str, Any]:
        """The 2025-11-25 ``CreateTaskResult``: ``{"task": {...}}``."""
        return {"task": self.legacy_task()}

    def legacy_payload(self) -> dict[str, Any]:
        """The 2025-11-25 ``tasks/result`` result of a completed task: the request's result
        with the related-task ``_meta``.

        Raises:
            LocalProtocolError: the task failed (its JSON-RPC error, to answer with), or
                has not completed.
        """
        if self.status is TaskStatus.FAILED and self.error is not None:
            raise LocalProtocolError(self.error["message"], ErrorCode(self.error["code"]),
                                     self.error.get("data"))
        if self.status is not TaskStatus.COMPLETED or self.result is None:
            raise LocalProtocolError(f"task {self.task_id} has no result ({self.status.value})",
                                     ErrorCode.INVALID_PARAMS)
        out = dict(self.result)
        meta = dict(out.get("_meta") or {})
        meta[RELATED_TASK_META] = {"taskId": self.task_id}
        out["_meta"] = meta
        return out


def _ext(method: str, params: type, result: type) -> MethodSpec:
    return MethodSpec(method=method, params=params, result=result, since=MODERN_VERSION,
                      until=None, params_required=True)


EXTENSION_REQUESTS: Mapping[str, MethodSpec] = MappingProxyType({
    "tasks/get": _ext("tasks/get", tt.ExtTaskRequestParams, tt.ExtGetTaskResult),
    "tasks/update": _ext("tasks/update", tt.UpdateTaskRequestParams, tt.ExtTaskAck),
    "tasks/cancel": _ext("tasks/cancel", tt.ExtTaskRequestParams, tt.ExtTaskAck),
})
"""The requests of the ``io.modelcontextprotocol/tasks`` extension (2026-07-28), served by a
server that advertises it: ``tasks/get``, ``tasks/update``, ``tasks/cancel``."""

NAME_SOURCE: Mapping[str, str] = MappingProxyType(
    dict.fromkeys(EXTENSION_REQUESTS, "taskId"))
"""(Streamable HTTP) the param an extension request's ``Mcp-Name`` header mirrors."""
