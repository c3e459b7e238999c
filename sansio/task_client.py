"""Tasks, the client side: what a polling client does next, for both revisions.

A ``tools/call`` may come back as a *task* instead of its result; the client then polls until
the task ends. Two revisions define this, differently:

* **2026-07-28**, the ``io.modelcontextprotocol/tasks`` extension (SEP-2663): the client names the
  extension in the request's ``_meta`` client capabilities; the server alone decides whether the
  call becomes a task and answers a flat ``CreateTaskResult`` (``resultType: "task"``,
  ``ttlMs``, ``pollIntervalMs``). ``tasks/get`` answers the *detailed* task: its ``result`` once
  ``completed``, its JSON-RPC ``error`` once ``failed``, and while ``input_required`` every
  outstanding server-to-client request in ``inputRequests``, which the client answers with
  ``tasks/update`` (``inputResponses`` by the same keys). There is no ``tasks/result``.
  https://github.com/modelcontextprotocol/ext-tasks/blob/main/specification/draft/tasks.md
* **2025-11-25**, experimental tasks: the client asks with ``params.task`` (only when the server
  declares ``tasks.requests.tools.call`` and the tool's ``execution.taskSupport`` allows it); the
  answer is ``{"task": {...}}`` (``ttl``, ``pollInterval``). ``tasks/get`` gives the status only;
  ``tasks/result`` gives what the call would have returned (result or JSON-RPC error) and blocks
  until the task ends; while it is pending the server sends its input requests (elicitation,
  sampling) as ordinary requests, which the client's handlers answer.
  https://modelcontextprotocol.io/specification/2025-11-25/basic/utilities/tasks

This module reads those answers (:func:`parse_task`) and decides (:class:`TaskPoller`): poll
again after a delay (the server's ``pollIntervalMs``, with a bounded backoff while nothing
changes), answer input requests, fetch the result, or finish. It is pure: the caller passes
``now`` (seconds on any monotonic clock) and does the I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final, TypeAlias

import attrs

from .jsonrpc import ErrorObject
from .tasks import EXTENSION_ID, EXTENSION_REQUESTS

__all__ = [
    "TASKS_EXTENSION",
    "TASK_EXTENSION_REQUESTS",
    "TASK_METHODS",
    "TERMINAL",
    "Answer",
    "Cancelled",
    "Completed",
    "Expired",
    "Failed",
    "FetchResult",
    "MalformedTask",
    "Poll",
    "PollPolicy",
    "TaskAction",
    "TaskPoller",
    "TaskSnapshot",
    "created_task",
    "declare_tasks",
    "parse_created",
    "parse_task",
    "task_augmented",
]

TASKS_EXTENSION: Final = EXTENSION_ID
"""The extension's identifier (2026-07-28), a key of ``capabilities.extensions``."""

TASK_METHODS: Final = frozenset({"tools/call"})
"""The requests that may be answered with a task (both revisions)."""

TASK_EXTENSION_REQUESTS: Final = frozenset(EXTENSION_REQUESTS)
"""(2026-07-28) The requests the extension adds, client to server. Outside the core method
tables (``tasks/get`` and ``tasks/cancel`` there are 2025-11-25's): a stateless-era client engine
sends them, and passes their answers on unstructured, for this module to read."""

CLIENT_CAPABILITIES_META: Final = "io.modelcontextprotocol/clientCapabilities"

TERMINAL: Final = frozenset({"completed", "failed", "cancelled"})
"""The statuses a task never leaves."""

_STATUSES: Final = frozenset({"working", "input_required", *TERMINAL})


class MalformedTask(ValueError):
    """A task answer that does not have the shape its revision defines (one line: what)."""


def task_augmented(payload: Mapping[str, Any] | None, stateless: bool) -> bool:
    """Whether a ``tools/call`` request's params let the server answer with a task.

    Args:
        payload: the request's params as sent (stamped, in the stateless era).
        stateless: the request is of the 2026-07-28 era.

    Returns:
        2025-11-25: ``params.task`` is an object; 2026-07-28: the request's ``_meta`` client
        capabilities name :data:`TASKS_EXTENSION` under ``extensions``.
    """
    if not payload:
        return False
    if not stateless:
        return isinstance(payload.get("task"), Mapping)
    meta = payload.get("_meta")
    caps = meta.get(CLIENT_CAPABILITIES_META) if isinstance(meta, Mapping) else None
    ext = caps.get("extensions") if isinstance(caps, Mapping) else None
    return isinstance(ext, Mapping) and isinstance(ext.get(TASKS_EXTENSION), Mapping)


def declare_tasks(capabilities: Mapping[str, Any]) -> dict[str, Any]:
    """``capabilities`` with the tasks extension added under ``extensions`` (2026-07-28).

    Returns:
        a new dict; ``capabilities`` is not changed.
    """
    out = dict(capabilities)
    ext = out.get("extensions")
    out["extensions"] = {**(ext if isinstance(ext, Mapping) else {}), TASKS_EXTENSION: {}}
    return out


@attrs.frozen(kw_only=True)
class TaskSnapshot:
    """A task as one answer described it (both revisions, one shape).

    Attributes:
        task_id: the server's identifier of the task.
        status: ``working``, ``input_required``, ``completed``, ``failed`` or ``cancelled``.
        status_message: the server's description of the status, if any.
        created_at: ISO 8601 creation time, as received.
        last_updated_at: ISO 8601 time of the last change, as received.
        ttl_ms: milliseconds the server keeps the task; ``None``: unlimited.
        poll_interval_ms: the polling interval the server suggests, if any.
        input_requests: (2026-07-28, ``input_required``) the outstanding server-to-client
            requests by key (each ``{"method", "params"}``); ``None`` otherwise.
        result: (2026-07-28, ``completed``) the final result, as the call would have given it.
        error: (2026-07-28, ``failed``) the JSON-RPC error the call ended with.
    """

    task_id: str
    status: str
    status_message: str | None = None
    created_at: str | None = None
    last_updated_at: str | None = None
    ttl_ms: int | None = None
    poll_interval_ms: int | None = None
    input_requests: Mapping[str, Any] | None = None
    result: Mapping[str, Any] | None = None
    error: ErrorObject | None = None

    @property
    def terminal(self) -> bool:
        """Whether the task has ended (``completed``, ``failed`` or ``cancelled``)."""
        return self.status in TERMINAL


def _int_or_none(obj: Mapping[str, Any], key: str) -> int | None:
    value = obj.get(key)
    if value is None:
        return None
    if value.__class__ is float and value == int(value):
        value = int(value)
    if value.__class__ is not int or value < 0:
        raise MalformedTask(f"task {key} must be a non-negative integer or null, not {value!r}")
    return int(value)


def _str_or_none(obj: Mapping[str, Any], key: str) -> str | None:
    value = obj.get(key)
    if value is not None and value.__class__ is not str:
        raise MalformedTask(f"task {key} must be a string, not {value!r}")
    return value


def parse_task(result: Mapping[str, Any], *, modern: bool) -> TaskSnapshot:
    """Read a task: a ``tasks/get`` answer, a ``tasks/cancel`` answer (2025-11-25) or a task
    status notification's params.

    Args:
        result: the answer as received.
        modern: 2026-07-28 (``ttlMs``, ``pollIntervalMs``, the detailed task's fields) rather
            than 2025-11-25 (``ttl``, ``pollInterval``).

    Raises:
        MalformedTask: a required field is missing or has the wrong type, the status is
            unknown, a ``completed`` task (2026-07-28) has no ``result`` object or a
            ``failed`` one no ``error`` with an integer ``code`` and a string ``message``.
    """
    if not isinstance(result, Mapping):
        raise MalformedTask(f"a task must be an object, not {type(result).__name__}")
    task_id = result.get("taskId")
    if task_id.__class__ is not str or not task_id:
        raise MalformedTask(f"task taskId must be a non-empty string, not {task_id!r}")
    status = result.get("status")
    if status not in _STATUSES:
        raise MalformedTask(f"task {task_id}: unknown status {status!r}")
    ttl_key, poll_key = ("ttlMs", "pollIntervalMs") if modern else ("ttl", "pollInterval")
    snapshot = TaskSnapshot(
        task_id=task_id, status=status,
        status_message=_str_or_none(result, "statusMessage"),
        created_at=_str_or_none(result, "createdAt"),
        last_updated_at=_str_or_none(result, "lastUpdatedAt"),
        ttl_ms=_int_or_none(result, ttl_key), poll_interval_ms=_int_or_none(result, poll_key))
    if not modern:
        return snapshot
    if status == "input_required":
        requests = result.get("inputRequests")
        if requests is not None and not isinstance(requests, Mapping):
            raise MalformedTask(f"task {task_id}: inputRequests must be an object")
        return attrs.evolve(snapshot, input_requests=dict(requests or {}))
    if status == "completed":
        final = result.get("result")
        if not isinstance(final, Mapping):
            raise MalformedTask(f"task {task_id} is completed but has no result object")
        return attrs.evolve(snapshot, result=final)
    if status == "failed":
        error = result.get("error")
        if not isinstance(error, Mapping) or error.get("code").__class__ is not int \
                or error.get("message").__class__ is not str:
            raise MalformedTask(f"task {task_id} failed without an error with an integer "
                                "code and a string message")
        return attrs.evolve(snapshot, error=ErrorObject(error["code"], error["message"],
                                                        error.get("data")))
    return snapshot


def created_task(result: Mapping[str, Any], *, modern: bool,
                 augmented: bool) -> TaskSnapshot | None:
    """Whether a ``tools/call`` answer is a task rather than the result, and which.

    Args:
        result: the answer as received.
        modern: a 2026-07-28 answer (a task has ``resultType: "task"``).
        augmented: (2025-11-25) the request carried ``params.task`` (only then is a
            ``{"task": ...}`` answer a task).

    Returns:
        the created task, or ``None`` for an ordinary result.

    Raises:
        MalformedTask: it is a task, but not a well-formed one.
    """
    if modern:
        return parse_created(result, modern=True) if result.get("resultType") == "task" \
            else None
    if augmented and isinstance(result.get("task"), Mapping):
        return parse_created(result, modern=False)
    return None


def parse_created(result: Mapping[str, Any], *, modern: bool) -> TaskSnapshot:
    """Read a ``CreateTaskResult``: flat with ``resultType: "task"`` (2026-07-28) or
    ``{"task": {...}}`` (2025-11-25).

    Raises:
        MalformedTask: as :func:`parse_task`, or the 2025-11-25 ``task`` is not an object.
    """
    if modern:
        return parse_task(result, modern=True)
    task = result.get("task") if isinstance(result, Mapping) else None
    if not isinstance(task, Mapping):
        raise MalformedTask("a CreateTaskResult must carry a task object")
    return parse_task(task, modern=False)


# ---------------------------------------------------------------- actions


@attrs.frozen
class Poll:
    """Wait ``delay`` seconds, then send ``tasks/get`` and pass its answer to
    :meth:`TaskPoller.observe`."""

    delay: float


@attrs.frozen
class Answer:
    """(2026-07-28) Answer these input requests (by key) with the client's handlers, send
    their results in one ``tasks/update``, then call :meth:`TaskPoller.answered`."""

    requests: Mapping[str, Any]


@attrs.frozen
class FetchResult:
    """(2025-11-25) Send ``tasks/result`` and wait for it: its answer is what the call would
    have returned (a result or a JSON-RPC error). While it is pending the server may send its
    input requests as ordinary requests; answer them as usual."""


@attrs.frozen
class Completed:
    """(2026-07-28) The task ended with this result (as the call would have returned it;
    a tool's ``isError: true`` result too)."""

    result: Mapping[str, Any]


@attrs.frozen
class Failed:
    """(2026-07-28) The task ended with this JSON-RPC error."""

    error: ErrorObject


@attrs.frozen
class Cancelled:
    """The task was cancelled; ``message`` is the server's status message, if any."""

    message: str | None


@attrs.frozen
class Expired:
    """The task showed no change for longer than its ``ttlMs``: the server may have dropped
    it. Stop polling (the client may still cancel it)."""

    waited: float


TaskAction: TypeAlias = Poll | Answer | FetchResult | Completed | Failed | Cancelled | Expired
"""What :class:`TaskPoller` tells the caller to do next."""


@attrs.frozen(kw_only=True)
class PollPolicy:
    """How often to poll.

    The delay is the server's latest ``pollIntervalMs`` (``initial`` until it gives one),
    multiplied by ``factor`` for every consecutive poll that showed no change (status, status
    message, ``lastUpdatedAt``), reset by a change, and kept within ``[minimum, maximum]``.

    Attributes:
        initial: seconds between polls when the server suggests no interval.
        minimum: the shortest delay, whatever the server says.
        maximum: the longest delay, whatever the server says.
        factor: the backoff multiplier (1 for none).
        max_input_keys: at most this many input requests answered over a task's life
            (each key is answered once); more is an error.
    """

    initial: float = 0.5
    minimum: float = 0.05
    maximum: float = 30.0
    factor: float = 1.5
    max_input_keys: int = 1000

    def __attrs_post_init__(self) -> None:
        if not 0 < self.minimum <= self.maximum:
            raise ValueError("PollPolicy needs 0 < minimum <= maximum")
        if self.initial <= 0 or self.factor < 1 or self.max_input_keys < 1:
            raise ValueError("PollPolicy needs initial > 0, factor >= 1, max_input_keys >= 1")


class TaskPoller:
    """Decides, answer by answer, what a client waiting on one task does next.

    Feed it each task answer with :meth:`observe`; it returns a :data:`TaskAction`.

    Args:
        created: the task the request became (:func:`parse_created`).
        modern: the task is of the 2026-07-28 extension (else 2025-11-25).
        now: the current time in seconds (any monotonic clock; used for the ``ttlMs``
            backstop only).
        policy: the polling intervals and bounds.

    State effects: remembers the last snapshot, when it last changed, the consecutive
    unchanged polls (backoff) and the input-request keys already answered (each key is
    answered once: the server repeats outstanding requests on every poll).
    """

    def __init__(self, created: TaskSnapshot, *, modern: bool, now: float,
                 policy: PollPolicy | None = None) -> None:
        self.modern = modern
        self.policy = policy or PollPolicy()
        self.snapshot = created
        self._changed_at = now
        self._unchanged = 0
        self._answered: set[str] = set()
        self._pending: frozenset[str] = frozenset()
        self._interval_ms = created.poll_interval_ms

    @property
    def task_id(self) -> str:
        """The task's identifier."""
        return self.snapshot.task_id

    def first(self) -> TaskAction:
        """The action for the ``CreateTaskResult`` itself (nothing to fetch yet in
        2026-07-28: a task created already ``completed`` is polled at once for its result)."""
        snap = self.snapshot
        if snap.status == "cancelled":
            return Cancelled(snap.status_message)
        if not self.modern and snap.status != "working":
            return FetchResult()
        if snap.status == "working":
            return Poll(self._delay())
        return Poll(0.0)

    def observe(self, snapshot: TaskSnapshot, now: float) -> TaskAction:
        """Take a ``tasks/get`` answer (or a status notification) and say what to do next.

        Raises:
            MalformedTask: the answer names another task, or a terminal task came back to
                life, or the server asked for more than ``policy.max_input_keys`` inputs.
        """
        old = self.snapshot
        if snapshot.task_id != old.task_id:
            raise MalformedTask(f"asked for task {old.task_id}, got {snapshot.task_id}")
        if old.terminal and snapshot.status != old.status:
            raise MalformedTask(f"task {old.task_id} left terminal status {old.status!r} "
                                f"for {snapshot.status!r}")
        if (snapshot.status, snapshot.status_message, snapshot.last_updated_at) != (
                old.status, old.status_message, old.last_updated_at):
            self._changed_at = now
            self._unchanged = 0
        else:
            self._unchanged += 1
        self.snapshot = snapshot
        if snapshot.poll_interval_ms is not None:  # an answer without one keeps the last
            self._interval_ms = snapshot.poll_interval_ms
        status = snapshot.status
        if status == "cancelled":
            return Cancelled(snapshot.status_message)
        if not self.modern:
            return Poll(self._delay()) if status == "working" else FetchResult()
        if status == "completed":
            assert snapshot.result is not None
            return Completed(snapshot.result)
        if status == "failed":
            assert snapshot.error is not None
            return Failed(snapshot.error)
        if status == "input_required":
            fresh = {k: v for k, v in (snapshot.input_requests or {}).items()
                     if k not in self._answered}
            if fresh:
                if len(self._answered) + len(fresh) > self.policy.max_input_keys:
                    raise MalformedTask(
                        f"task {snapshot.task_id} asked for more than "
                        f"{self.policy.max_input_keys} inputs")
                self._pending = frozenset(fresh)
                return Answer(fresh)
        ttl = snapshot.ttl_ms
        waited = now - self._changed_at
        if ttl is not None and waited > ttl / 1000:
            return Expired(waited)
        return Poll(self._delay())

    def answered(self, keys: Mapping[str, Any] | None = None) -> Poll:
        """Record that the input requests of the last :class:`Answer` (or ``keys``) went out
        in a ``tasks/update``; they are never answered again. Returns the next poll (soon:
        the answers change the task)."""
        self._answered.update(self._pending if keys is None else keys)
        self._pending = frozenset()
        self._unchanged = 0
        return Poll(self._delay())

    def _delay(self) -> float:
        policy = self.policy
        interval = self._interval_ms
        base = policy.initial if interval is None else interval / 1000
        delay = base * policy.factor ** min(self._unchanged, 64)
        return min(policy.maximum, max(policy.minimum, delay))
