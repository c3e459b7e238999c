"""Server-side tasks: where task state lives (:class:`TaskStore`) and what runs them
(:class:`TaskRunner`).

Every MCP decision (which call becomes a task, the status machine, the wire forms, the error
codes) is sansio's (:mod:`sansio.tasks`); this module keeps the state, mints the ids, runs the
tool handler in a nursery of the server (so a task outlives the session or HTTP connection
that created it) and wakes a handler waiting for input when ``tasks/update`` brings it.
"""

from __future__ import annotations

import abc
import logging
import secrets
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import attrs
import trio

from sansio.errors import ErrorCode
from sansio.tasks import TaskState, TaskStatus, new_task_id

from . import errors

__all__ = ["InMemoryTaskStore", "TaskLimitError", "TaskRelay", "TaskRunner", "TaskStore"]

logger = logging.getLogger("trio_mcp.server")

#: A task's body: runs the request's handler, returns its result (a JSON object).
TaskBody = Callable[["TaskRun"], Awaitable[Mapping[str, Any]]]
#: Called with a task's state whenever it changes (``notifications/tasks``).
TaskListener = Callable[[TaskState], None]


class TaskLimitError(errors.MCPError):
    """The store holds as many live tasks as it may (-32603 to the client)."""


class TaskStore(abc.ABC):
    """Where task state lives. The in-memory default is :class:`InMemoryTaskStore`; a shared
    store (several server processes) implements the same five methods.

    Every method is given ``now`` (seconds since the epoch): a task past its TTL is gone.
    """

    @abc.abstractmethod
    async def create(self, state: TaskState, *, now: float) -> None:
        """Store a new task; it is visible to :meth:`get` when this returns (durable before
        the client hears of it).

        Raises:
            TaskLimitError: the store is full.
        """

    @abc.abstractmethod
    async def get(self, task_id: str, *, principal: str | None, now: float
                  ) -> TaskState | None:
        """The task, or ``None`` when it is unknown, expired, or was created by another
        principal (a task created with a principal is seen only by that principal)."""

    @abc.abstractmethod
    async def save(self, state: TaskState, *, now: float) -> None:
        """Store a task's changed state."""

    @abc.abstractmethod
    async def list(self, *, principal: str | None, now: float) -> list[TaskState]:
        """The live tasks ``principal`` may see, oldest first."""

    @abc.abstractmethod
    async def delete(self, task_id: str) -> None:
        """Forget a task (nothing happens if it is unknown)."""


class InMemoryTaskStore(TaskStore):
    """Task state in this process's memory, at most ``max_tasks`` at once.

    A task is dropped once its TTL has passed (checked on every access). When the store is
    full, ended tasks are dropped oldest first to make room; if every task is still running,
    :meth:`create` raises :class:`TaskLimitError`.
    """

    def __init__(self, max_tasks: int = 1000) -> None:
        if max_tasks < 1:
            raise ValueError("max_tasks must be at least 1")
        self.max_tasks = max_tasks
        self._tasks: dict[str, TaskState] = {}

    def _expire(self, now: float) -> None:
        gone = [tid for tid, state in self._tasks.items()
                if (end := state.expires_at()) is not None and end <= now]
        for tid in gone:
            del self._tasks[tid]

    async def create(self, state: TaskState, *, now: float) -> None:
        await trio.lowlevel.checkpoint()
        self._expire(now)
        if len(self._tasks) >= self.max_tasks:
            ended = [tid for tid, s in self._tasks.items() if s.terminal]
            for tid in ended[:len(self._tasks) - self.max_tasks + 1]:
                del self._tasks[tid]
        if len(self._tasks) >= self.max_tasks:
            raise TaskLimitError(ErrorCode.INTERNAL_ERROR,
                                 f"too many tasks: this server runs at most {self.max_tasks}")
        self._tasks[state.task_id] = state

    async def get(self, task_id: str, *, principal: str | None, now: float
                  ) -> TaskState | None:
        await trio.lowlevel.checkpoint()
        self._expire(now)
        state = self._tasks.get(task_id)
        if state is None or (state.principal is not None and state.principal != principal):
            return None
        return state

    async def save(self, state: TaskState, *, now: float) -> None:
        await trio.lowlevel.checkpoint()
        if state.task_id in self._tasks:
            self._tasks[state.task_id] = state

    async def list(self, *, principal: str | None, now: float) -> list[TaskState]:
        await trio.lowlevel.checkpoint()
        self._expire(now)
        return [s for s in self._tasks.values()
                if s.principal is None or s.principal == principal]

    async def delete(self, task_id: str) -> None:
        await trio.lowlevel.checkpoint()
        self._tasks.pop(task_id, None)


class TaskRelay(abc.ABC):
    """Carries ``tasks/update`` / ``tasks/cancel`` to the process that runs a task, when
    that is another one (a shared store: several workers). :attr:`TaskRunner.relay`."""

    @abc.abstractmethod
    async def update(self, state: TaskState, responses: Mapping[str, Any]) -> bool:
        """Forward the answers to the task's process if it is another one; return whether
        it was forwarded (``False``: this process handles it)."""

    @abc.abstractmethod
    async def cancel(self, state: TaskState) -> bool:
        """Forward a cancel to the task's process if it is another one; return whether it
        was forwarded (``False``: this process handles it)."""


@attrs.define(eq=False)
class TaskRun:
    """A running task, as its handler's :class:`~trio_adapter.Context` sees it: the state,
    the answers ``tasks/update`` brought, and the waits for them."""

    runner: TaskRunner
    state: TaskState
    cancel_scope: trio.CancelScope = attrs.field(factory=trio.CancelScope)
    #: Answers by input-request key, kept for the rest of the task.
    answers: dict[str, Any] = attrs.field(factory=dict)
    #: Set when the task has ended (its final state is stored).
    ended: trio.Event = attrs.field(factory=trio.Event)
    _waiting: dict[str, trio.Event] = attrs.field(factory=dict)

    async def ask(self, requests: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
        """Make the task ``input_required`` with ``requests`` (those not answered yet) and
        wait until every one has its answer; return the answers by key.

        Raises:
            trio.Cancelled: the task was cancelled or expired meanwhile.
        """
        missing = {k: v for k, v in requests.items() if k not in self.answers}
        if missing:
            events = {key: self._waiting.setdefault(key, trio.Event()) for key in missing}
            self.state.ask(missing, self.runner.clock())
            await self.runner._changed(self.state)
            for event in events.values():
                await event.wait()
        else:
            await trio.lowlevel.checkpoint()
        return {key: self.answers[key] for key in requests}

    async def progress(self, message: str) -> None:
        """Show ``message`` as the task's ``statusMessage`` (handler progress)."""
        if self.state.terminal:
            await trio.lowlevel.checkpoint()
            return
        self.state.note(message, self.runner.clock())
        await self.runner._changed(self.state)

    def _answer(self, responses: Mapping[str, Any]) -> None:
        taken = self.state.answer(responses, self.runner.clock())
        for key, value in taken.items():
            self.answers[key] = value
            event = self._waiting.pop(key, None)
            if event is not None:
                event.set()


class TaskRunner:
    """Runs tasks in a nursery of its own (a trio system task, started on first use), so a
    task lives on after the session that created it; holds the :class:`TaskStore`.

    Args:
        store: where task state lives (default: an :class:`InMemoryTaskStore`).
        ttl: seconds a task is kept after creation (its ``ttlMs``); a running task is
            cancelled when it passes (``None``: unlimited).
        poll_interval: the ``pollIntervalMs`` suggested to clients, in seconds.
        clock: the wall clock (seconds since the epoch) for timestamps and TTLs.
        random: ``random(n)`` gives n random bytes (task ids).
    """

    def __init__(self, store: TaskStore | None = None, *, ttl: float | None = 3600.0,
                 poll_interval: float = 0.5, clock: Callable[[], float] = time.time,
                 random: Callable[[int], bytes] = secrets.token_bytes) -> None:
        if ttl is not None and not ttl > 0:
            raise ValueError("ttl must be positive (or None)")
        if not poll_interval > 0:
            raise ValueError("poll_interval must be positive")
        self.store: TaskStore = store if store is not None else InMemoryTaskStore()
        self.ttl = ttl
        self.poll_interval = poll_interval
        self.clock = clock
        self.random = random
        self._runs: dict[str, TaskRun] = {}
        self._nursery: trio.Nursery | None = None
        self._token: trio.lowlevel.TrioToken | None = None
        self._listeners: list[TaskListener] = []
        #: Forwards tasks/update and tasks/cancel of tasks another process runs (shared
        #: stores; ``None``: every task is this process's).
        self.relay: TaskRelay | None = None

    # ------------------------------------------------------------------ state

    def add_listener(self, listener: TaskListener) -> Callable[[], None]:
        """Call ``listener(state)`` on every change of any task; returns the remover."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners \
            else None

    async def _changed(self, state: TaskState) -> None:
        await self.store.save(state, now=self.clock())
        for listener in list(self._listeners):
            try:
                listener(state)
            except Exception:  # a listener's bug must not stop the task
                logger.exception("task listener failed")

    async def get(self, task_id: Any, principal: str | None) -> TaskState | None:
        """The task ``principal`` may see, or ``None``."""
        if not isinstance(task_id, str):
            await trio.lowlevel.checkpoint()
            return None
        return await self.store.get(task_id, principal=principal, now=self.clock())

    def running(self, task_id: str) -> TaskRun | None:
        """The live run of a task of this process (``None``: ended or elsewhere)."""
        return self._runs.get(task_id)

    async def update(self, state: TaskState, responses: Mapping[str, Any]) -> None:
        """Deliver ``tasks/update`` answers to a task (keys not outstanding are ignored)."""
        run = self._runs.get(state.task_id)
        if run is None and self.relay is not None and await self.relay.update(state,
                                                                              responses):
            return  # the process running it applies them (and says so)
        if run is None:
            state.answer(responses, self.clock())
        else:
            run._answer(responses)
            state = run.state
        await self._changed(state)

    async def cancel(self, state: TaskState) -> None:
        """Cancel a task (cooperatively: its handler is cancelled); an ended task is left
        as it is."""
        run = self._runs.get(state.task_id)
        if run is None and self.relay is not None and await self.relay.cancel(state):
            # The process running it cancels it (and notifies); stored now, so that every
            # process answers "cancelled" at once (a terminal status is final).
            if state.cancel(self.clock()):
                await self.store.save(state, now=self.clock())
            return
        if run is not None:
            state = run.state
        if state.cancel(self.clock()):
            if run is not None:
                run.cancel_scope.cancel()
            await self._changed(state)
        else:
            await trio.lowlevel.checkpoint()

    # ------------------------------------------------------------------ running

    async def _nursery_ready(self) -> trio.Nursery:
        token = trio.lowlevel.current_trio_token()
        if self._nursery is not None and self._token is token:
            await trio.lowlevel.checkpoint()
            return self._nursery
        ready: list[trio.Nursery] = []
        event = trio.Event()

        async def hold() -> None:
            async with trio.open_nursery() as nursery:
                ready.append(nursery)
                event.set()
                await trio.sleep_forever()

        # A system task: it outlives every session (and the task that served this request);
        # trio cancels it when the run ends.
        trio.lowlevel.spawn_system_task(hold, name="trio-mcp tasks")
        await event.wait()
        self._nursery, self._token = ready[0], token
        return ready[0]

    def new_state(self, method: str, principal: str | None) -> TaskState:
        """A fresh ``working`` task (not stored yet) with an unguessable id."""
        return TaskState(new_task_id(self.random(18)), method, self.clock(), self.ttl,
                         self.poll_interval, principal)

    async def start(self, state: TaskState, body: TaskBody) -> TaskRun:
        """Store ``state`` (durably: :meth:`get` finds it when this returns), then run
        ``body`` as the task in the runner's nursery. The body's result completes the task;
        an :class:`~trio_adapter.MCPError` fails it; cancellation (``tasks/cancel``, TTL)
        leaves it cancelled.

        Raises:
            TaskLimitError: the store is full.
        """
        await self.store.create(state, now=self.clock())
        run = TaskRun(self, state)
        self._runs[state.task_id] = run
        nursery = await self._nursery_ready()
        nursery.start_soon(self._run, run, body, name=f"task {state.task_id}")
        return run

    async def begin(self, body: Callable[[Callable[[TaskState], Awaitable[TaskRun]]],
                                         Awaitable[Any]]) -> Any:
        """Run ``body`` in the runner's nursery now; it may become a task later by awaiting
        ``publish(state)`` (which stores the state, as :meth:`start` does, and returns the
        run). Returns what the caller is to answer: ``("task", state)`` once published, or
        ``("done", value)`` / ``("error", exception)`` if the body ended first.

        The body is cancelled when the caller is cancelled before publishing.
        """
        send, receive = trio.open_memory_channel[tuple[str, Any]](1)
        holder: dict[str, TaskRun] = {}

        async def publish(state: TaskState) -> TaskRun:
            await self.store.create(state, now=self.clock())
            run = TaskRun(self, state, scope)
            end = state.expires_at()
            if end is not None:
                scope.deadline = trio.current_time() + max(0.0, end - self.clock())
            self._runs[state.task_id] = run
            holder["run"] = run
            send.send_nowait(("task", state))
            return run

        scope = trio.CancelScope()

        async def wrapper() -> None:
            outcome: tuple[str, Any]
            with scope:
                try:
                    value = await body(publish)
                    outcome = ("done", value)
                except BaseException as exc:  # handed to the caller, or to the task
                    if isinstance(exc, trio.Cancelled) and "run" not in holder:
                        raise
                    outcome = ("error", exc)
            run = holder.get("run")
            if run is None:
                send.send_nowait(outcome)
                return
            await self._settle(run, outcome)

        nursery = await self._nursery_ready()
        nursery.start_soon(wrapper, name="task (not yet published)")
        try:
            return await receive.receive()
        except BaseException:
            if "run" not in holder:
                scope.cancel()
            raise

    async def _run(self, run: TaskRun, body: TaskBody) -> None:
        outcome: tuple[str, Any] = ("cancelled", None)
        with run.cancel_scope:
            end = run.state.expires_at()
            if end is not None:
                run.cancel_scope.deadline = trio.current_time() + max(0.0, end - self.clock())
            try:
                outcome = ("done", await body(run))
            except Exception as exc:
                outcome = ("error", exc)
        await self._settle(run, outcome)

    async def _settle(self, run: TaskRun, outcome: tuple[str, Any]) -> None:
        """End a task by its body's outcome (shielded: the state must be written)."""
        with trio.CancelScope(shield=True):
            try:
                await self._end(run, outcome)
            except Exception as exc:  # a shared store failing: the other tasks go on
                logger.error("task %s ended but its end could not be stored: %s",
                             run.state.task_id, exc)
            finally:
                run.ended.set()

    async def _end(self, run: TaskRun, outcome: tuple[str, Any]) -> None:
        state = run.state
        now = self.clock()
        self._runs.pop(state.task_id, None)
        kind, value = outcome
        if state.terminal:  # cancelled meanwhile: that stands
            await self.store.save(state, now=now)
            return
        if kind == "done":
            state.complete(dict(value), now)
        elif kind == "cancelled" or isinstance(value, trio.Cancelled):
            expired = (end := state.expires_at()) is not None and end <= now
            state.cancel(now, "the task's ttl passed" if expired else "cancelled")
        elif isinstance(value, errors.MCPError):
            state.fail(int(value.code), value.message, value.data, now=now)
        else:
            logger.error("task %s failed", state.task_id, exc_info=value)
            state.fail(ErrorCode.INTERNAL_ERROR, "internal error in the task", now=now)
        await self._changed(state)

    @property
    def live(self) -> list[TaskStatus]:
        """The statuses of the tasks running in this process."""
        return [run.state.status for run in self._runs.values()]
