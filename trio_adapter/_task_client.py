"""Tasks, the client side: :class:`TaskHandle`, I/O around :class:`~sansio.task_client.TaskPoller`.

:meth:`ClientSession.call_tool` uses it to wait for a task-creating server transparently;
:meth:`ClientSession.call_tool_as_task` hands it to the caller. Every decision (when to poll, what
an answer means, which input requests are new) is :mod:`sansio.task_client`'s; this module sends
``tasks/get`` / ``tasks/update`` / ``tasks/cancel`` / ``tasks/result``, sleeps and runs the
client's handlers.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any

import trio

from sansio import task_client as tc
from sansio import types as t

from . import errors

if TYPE_CHECKING:
    from .client import ClientSession

__all__ = [
    "CANCEL_TIMEOUT",
    "TaskCancelled",
    "TaskExpired",
    "TaskFailed",
    "TaskHandle",
    "TaskStatusCallback",
]

CANCEL_TIMEOUT = 5.0
"""Seconds :meth:`ClientSession.call_tool` gives ``tasks/cancel`` when it is cancelled while it
waits on a task (the cancel is sent shielded, bounded by this)."""

TaskStatusCallback = Callable[[tc.TaskSnapshot], Awaitable[None]]
"""``await on_status(snapshot)``: called with the task as created and after every poll that
showed a change (status, status message or ``lastUpdatedAt``)."""


class TaskFailed(errors.MCPError):
    """The task ended with a JSON-RPC error (``code``, ``message``, ``data`` are that error's;
    2025-11-25: the error ``tasks/result`` answered)."""

    def __init__(self, task_id: str, code: int, message: str, data: Any = None) -> None:
        super().__init__(code, message, data, method="tools/call")
        self.task_id = task_id

    def __str__(self) -> str:
        return f"task {self.task_id} failed: {super().__str__()}"


class TaskCancelled(Exception):
    """The task was cancelled (by this client, another one, or the server)."""

    def __init__(self, task_id: str, message: str | None = None) -> None:
        super().__init__(f"task {task_id} was cancelled" + (f": {message}" if message else ""))
        self.task_id = task_id
        self.status_message = message


class TaskExpired(Exception):
    """The task showed no change for longer than its ``ttlMs``: the server may have dropped
    it, so the client stopped polling."""

    def __init__(self, task_id: str, waited: float) -> None:
        super().__init__(f"task {task_id} showed no change for {waited:.1f} s, longer than "
                         "its ttl: giving up")
        self.task_id = task_id


class TaskHandle:
    """A task on the server that a ``tools/call`` became. Made by
    :meth:`ClientSession.call_tool_as_task` (and used inside :meth:`ClientSession.call_tool`).

    Attributes:
        session: the session the task was created on (``tasks/*`` go through it).
        modern: the task is of the 2026-07-28 extension (``tasks/update``, the detailed
            ``tasks/get``), else of 2025-11-25 (``tasks/result``).
    """

    def __init__(self, session: ClientSession, created: tc.TaskSnapshot, *, modern: bool,
                 policy: tc.PollPolicy | None = None) -> None:
        self.session = session
        self.modern = modern
        self._poller = tc.TaskPoller(created, modern=modern, now=trio.current_time(),
                                     policy=policy)
        self._next: tc.TaskAction = self._poller.first()
        self._waiting = False
        self._cancel_sent = False

    def __repr__(self) -> str:
        return f"<TaskHandle {self.task_id} {self.status}>"

    @property
    def task_id(self) -> str:
        """The server's identifier of the task."""
        return self._poller.task_id

    @property
    def snapshot(self) -> tc.TaskSnapshot:
        """The task as last seen (creation, or the last :meth:`get`)."""
        return self._poller.snapshot

    @property
    def status(self) -> str:
        """The status last seen: ``working``, ``input_required``, ``completed``, ``failed`` or
        ``cancelled``."""
        return self._poller.snapshot.status

    def _params(self, **more: Any) -> dict[str, Any]:
        """A ``tasks/*`` request's params: the task, and (2026-07-28) the extension declared in
        the request's client capabilities, which the server requires on each of them."""
        params: dict[str, Any] = {"taskId": self.task_id, **more}
        if self.modern:
            params["_meta"] = {tc.CLIENT_CAPABILITIES_META: tc.declare_tasks(
                self.session.client.capabilities(modern=True))}
        return params

    async def get(self) -> tc.TaskSnapshot:
        """Send one ``tasks/get`` and return the task it describes.

        State effects: :attr:`snapshot` and :attr:`status` follow; :meth:`wait` continues from
        this answer.

        Raises:
            MCPError: the server answered with an error (-32602: unknown or expired task).
            sansio.task_client.MalformedTask: the answer is not a task of this revision (or
                names another task).
            SessionClosed: the session ended first.
        """
        result = await self.session.send_request("tasks/get", self._params())
        snapshot = tc.parse_task(result, modern=self.modern)
        self._next = self._poller.observe(snapshot, trio.current_time())
        return snapshot

    async def update(self, input_responses: Mapping[str, Any]) -> None:
        """(2026-07-28) Send ``tasks/update`` with these answers to the task's input requests,
        by key (each the result the matching request would have had). :meth:`wait` does this
        for you with the client's handlers.

        State effects: the keys are recorded as answered (never answered again by :meth:`wait`).

        Raises:
            LocalProtocolError: a 2025-11-25 task (it has no ``tasks/update``: its input
                requests arrive as ordinary requests, answered by the client's handlers).
            MCPError: the server answered with an error.
        """
        if not self.modern:
            from sansio import LocalProtocolError

            raise LocalProtocolError("2025-11-25 tasks have no tasks/update: the server sends "
                                     "its input requests as requests of their own")
        await self.session.send_request(
            "tasks/update", self._params(inputResponses=dict(input_responses)))
        self._next = self._poller.answered(input_responses)

    async def cancel(self) -> None:
        """Send ``tasks/cancel`` (cooperative: the server may still finish the task).

        A task already seen in a terminal status is not cancelled again (no request).

        Raises:
            MCPError: the server answered with an error (-32602: unknown task; 2025-11-25:
                also a task that ended meanwhile).
        """
        if self._poller.snapshot.terminal:
            await trio.lowlevel.checkpoint()
            return
        result = await self.session.send_request("tasks/cancel", self._params())
        self._cancel_sent = True
        if not self.modern and isinstance(result, Mapping) and "status" in result:
            snapshot = tc.parse_task(result, modern=False)  # 2025-11-25 answers the task
            self._next = self._poller.observe(snapshot, trio.current_time())

    async def wait(self, *, on_status: TaskStatusCallback | None = None) -> t.CallToolResult:
        """Poll until the task ends and return its result, exactly as the plain call would
        have returned it (a tool's ``isError`` result too).

        Polls after the server's ``pollIntervalMs`` (bounded backoff while nothing changes,
        :class:`~sansio.task_client.PollPolicy`). 2026-07-28: the task's input requests are
        answered once each with the client's handlers (elicitation, sampling, roots) and sent
        with ``tasks/update``. 2025-11-25: on ``input_required`` or a terminal status it waits
        on ``tasks/result``, during which the server's own requests reach the same handlers.
        The wait has no deadline of its own: bound it with ``trio.fail_after`` (cancelling it
        leaves the task running; :meth:`cancel` ends it).

        Raises:
            TaskFailed: the task failed (its JSON-RPC error's code, message and data).
            TaskCancelled: the task was cancelled.
            TaskExpired: no change for longer than the task's ``ttlMs``.
            MCPError: a ``tasks/*`` request was answered with an error, or an input request
                could not be answered.
            sansio.task_client.MalformedTask: an answer is not a task of this revision.
            trio.BusyResourceError: another task is already waiting on this handle.
        """
        if self._waiting:
            raise trio.BusyResourceError("another task is already waiting on this TaskHandle")
        self._waiting = True
        try:
            if on_status is not None:
                await on_status(self.snapshot)
            return await self._wait(on_status)
        finally:
            self._waiting = False

    async def _wait(self, on_status: TaskStatusCallback | None) -> t.CallToolResult:
        task_id = self.task_id
        while True:
            action = self._next
            if isinstance(action, tc.Poll):
                await trio.sleep(action.delay)
                before = self.snapshot
                snapshot = await self.get()
                if on_status is not None and (
                        snapshot.status, snapshot.status_message, snapshot.last_updated_at) != (
                        before.status, before.status_message, before.last_updated_at):
                    await on_status(snapshot)
            elif isinstance(action, tc.Answer):
                responses = await self.session._fulfil("tasks/update", action.requests)
                await self.update({key: _wire(r) for key, r in responses.items()})
            elif isinstance(action, tc.Completed):
                return t.structure(dict(action.result), t.CallToolResult)
            elif isinstance(action, tc.Failed):
                err = action.error
                raise TaskFailed(task_id, err.code, err.message, err.data)
            elif isinstance(action, tc.Cancelled):
                raise TaskCancelled(task_id, action.message)
            elif isinstance(action, tc.Expired):
                raise TaskExpired(task_id, action.waited)
            else:  # FetchResult (2025-11-25)
                try:
                    result = await self.session.send_request("tasks/result",
                                                             {"taskId": task_id})
                except errors.MCPError as exc:
                    raise TaskFailed(task_id, exc.code, exc.message, exc.data) from exc
                return t.structure(result, t.CallToolResult)


def _wire(result: Any) -> Any:
    """A handler's answer in wire form (handlers may return MCP types or plain dicts)."""
    if isinstance(result, t.MCPType):
        return t.unstructure(result)
    return result
