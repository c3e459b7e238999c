"""Task state on Redis, shared by every worker (``trio-mcp[redis]``).

:class:`RedisTaskStore` keeps each task in one hash (``task:<id>``: its state as JSON, its
status, the worker running it) with a Redis expiry matching the task's TTL, and two sorted
sets by expiry time (every live task, the ended ones) that bound the count. Reads and writes
are plain commands and Lua scripts on one Redis (no client cache), so a task is visible to
every worker as soon as :meth:`RedisTaskStore.create` returns, and a read sees the last write.
A stored terminal status is final: a later save of the task is refused (so a cancel written
by one worker is not undone by the worker running the task finishing meanwhile).

:class:`TaskControl` carries ``tasks/update`` and ``tasks/cancel`` of a task that another
worker runs to that worker, over the notification bus (at most once: if the owner is cut from
Redis at that moment the update is lost, and the task stays ``input_required`` for the client
to answer again; a cancel is also written to the store at once, so it holds either way).

One Redis, not a cluster: the scripts touch keys they compute.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Awaitable, Mapping
from typing import TYPE_CHECKING, Any

import trio

from sansio import _codec
from sansio.errors import ErrorCode
from sansio.tasks import TaskState, TaskStatus

from .tasks import TaskLimitError, TaskRelay, TaskRunner, TaskStore

if TYPE_CHECKING:
    from .redis import RedisBackend
    from .server import NotificationBus

__all__ = ["OWNER_GONE", "RedisTaskStore", "TaskControl"]

logger = logging.getLogger("trio_mcp.redis")

OWNER_GONE = "the worker running this task stopped"
"""The message of a task failed because the worker running it is gone."""

_TERMINAL = ("completed", "failed", "cancelled")

_CREATE = """
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', ARGV[6])
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', ARGV[6])
local max = tonumber(ARGV[7])
while redis.call('ZCARD', KEYS[2]) >= max do
  local old = redis.call('ZPOPMIN', KEYS[3])
  if #old == 0 then return 0 end
  redis.call('ZREM', KEYS[2], old[1])
  redis.call('DEL', ARGV[9] .. old[1])
end
redis.call('HSET', KEYS[1], 'state', ARGV[1], 'status', ARGV[2], 'owner', ARGV[3],
           'boot', ARGV[4])
if tonumber(ARGV[8]) > 0 then redis.call('PEXPIRE', KEYS[1], ARGV[8]) end
redis.call('ZADD', KEYS[2], ARGV[5], ARGV[10])
return 1
"""

_SAVE = """
local cur = redis.call('HGET', KEYS[1], 'status')
if not cur then return 0 end
if cur == 'completed' or cur == 'failed' or cur == 'cancelled' then return 0 end
redis.call('HSET', KEYS[1], 'state', ARGV[1], 'status', ARGV[2])
if ARGV[3] == '1' then redis.call('ZADD', KEYS[2], ARGV[4], ARGV[5]) end
return 1
"""

_LIST = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[2])
local ids = redis.call('ZRANGE', KEYS[1], 0, -1)
local out = {}
for _, id in ipairs(ids) do
  local v = redis.call('HMGET', ARGV[1] .. id, 'state', 'owner', 'boot')
  if v[1] then
    table.insert(out, v[1]); table.insert(out, v[2]); table.insert(out, v[3])
  end
end
return out
"""


def _dump(state: TaskState) -> bytes:
    return _codec.dumps({
        "task_id": state.task_id, "method": state.method, "created_at": state.created_at,
        "ttl": state.ttl, "poll_interval": state.poll_interval, "principal": state.principal,
        "status": state.status.value, "updated_at": state.updated_at,
        "status_message": state.status_message, "input_requests": state.input_requests,
        "result": state.result, "error": state.error})


def _load(data: bytes) -> TaskState:
    raw = _codec.loads(data)
    raw["status"] = TaskStatus(raw["status"])
    return TaskState(**raw)


class RedisTaskStore(TaskStore):
    """A :class:`~trio_adapter.tasks.TaskStore` on Redis, shared by every worker.

    Args:
        backend: this worker's :class:`~trio_adapter.redis.RedisBackend` (entered while the
            store is used).
        max_tasks: how many live tasks the deployment keeps at once: when full, ended tasks
            are dropped (soonest to expire first) to make room; if every one is still
            running, :meth:`create` raises :class:`~trio_adapter.tasks.TaskLimitError`.

    Each task records the worker that created it (which runs it). A task that has not
    ended and whose worker's heartbeat is gone (or, for this worker's id, was created by an
    earlier process of it) is stored and returned as ``failed`` with :data:`OWNER_GONE`.

    Every method raises ``trio.TooSlowError`` when Redis does not answer within the
    backend's ``command_timeout``, and ``coredis.exceptions.RedisError`` or ``OSError`` when
    it refuses or the connection fails.
    """

    def __init__(self, backend: RedisBackend, *, max_tasks: int = 1000) -> None:
        if max_tasks < 1:
            raise ValueError("max_tasks must be at least 1")
        self.backend = backend
        self.max_tasks = max_tasks
        #: This process's mark on the tasks it creates (tells its own tasks from those of an
        #: earlier process with the same worker id).
        self.boot = secrets.token_hex(6)
        self._prefix = backend.key("task", "")
        self._index = backend.key("tasks", "live")
        self._ended = backend.key("tasks", "ended")

    @staticmethod
    def _score(state: TaskState) -> str:
        end = state.expires_at()
        return "+inf" if end is None else str(int(end * 1000))

    async def create(self, state: TaskState, *, now: float) -> None:
        """Store a new task owned by this worker; visible to every worker on return.

        Raises:
            TaskLimitError: ``max_tasks`` tasks are live and none has ended.
        """
        end = state.expires_at()
        px = 0 if end is None else max(1, int((end - now) * 1000))
        with self.backend.deadline():
            made = await self.backend.client.eval(_CREATE, keys=[
                self._prefix + state.task_id, self._index, self._ended], args=[
                _dump(state), state.status.value, self.backend.worker_id, self.boot,
                self._score(state), str(int(now * 1000)), str(self.max_tasks), str(px),
                self._prefix, state.task_id])
        if not made:
            raise TaskLimitError(ErrorCode.INTERNAL_ERROR,
                                 f"too many tasks: this server runs at most {self.max_tasks}")

    async def _owner_gone(self, owner: bytes | None, boot: bytes | None,
                          cache: dict[bytes, bool] | None = None) -> bool:
        if owner is None:
            return False
        if owner.decode() == self.backend.worker_id:
            return boot is not None and boot.decode() != self.boot
        if cache is not None and owner in cache:
            return cache[owner]
        gone = not await self.backend.alive(owner.decode())
        if cache is not None:
            cache[owner] = gone
        return gone

    async def _settle_gone(self, state: TaskState, now: float) -> TaskState:
        """Fail a task whose worker is gone (unless another write ended it first)."""
        state.fail(ErrorCode.INTERNAL_ERROR, OWNER_GONE, now=now)
        logger.warning("trio-mcp: task %s failed: %s", state.task_id, OWNER_GONE)
        if not await self._write(state):
            fresh = await self._read(state.task_id)
            if fresh is not None:
                return fresh[0]
        return state

    async def _read(self, task_id: str) -> tuple[TaskState, bytes | None, bytes | None] | None:
        with self.backend.deadline():
            data, owner, boot = await self.backend.client.hmget(
                self._prefix + task_id, ["state", "owner", "boot"])
        if data is None:
            return None
        return _load(data), owner, boot

    async def owner(self, task_id: str) -> str | None:
        """The id of the worker that runs (or ran) the task (``None``: unknown task)."""
        with self.backend.deadline():
            (owner,) = await self.backend.client.hmget(self._prefix + task_id, ["owner"])
        return None if owner is None else owner.decode()

    async def get(self, task_id: str, *, principal: str | None, now: float
                  ) -> TaskState | None:
        """The task as last stored (``None``: unknown, expired, another principal's); a
        task whose worker is gone comes back failed (and is stored so)."""
        found = await self._read(task_id)
        if found is None:
            return None
        state, owner, boot = found
        if state.principal is not None and state.principal != principal:
            return None
        if (end := state.expires_at()) is not None and end <= now:
            return None
        if not state.terminal and await self._owner_gone(owner, boot):
            state = await self._settle_gone(state, now)
        return state

    async def _write(self, state: TaskState) -> bool:
        with self.backend.deadline():
            done = await self.backend.client.eval(_SAVE, keys=[
                self._prefix + state.task_id, self._ended], args=[
                _dump(state), state.status.value, "1" if state.terminal else "0",
                self._score(state), state.task_id])
        return bool(done)

    async def save(self, state: TaskState, *, now: float) -> None:
        """Store a task's changed state; nothing happens if the task is unknown (expired)
        or its stored status is terminal already (a terminal status is final)."""
        await self._write(state)

    async def list(self, *, principal: str | None, now: float) -> list[TaskState]:
        """The live tasks ``principal`` may see, oldest first (those whose worker is gone
        as failed)."""
        with self.backend.deadline():
            flat = await self.backend.client.eval(_LIST, keys=[self._index], args=[
                self._prefix, str(int(now * 1000))])
        out: list[TaskState] = []
        cache: dict[bytes, bool] = {}
        items: list[Any] = list(flat) if isinstance(flat, list) else []
        for i in range(0, len(items), 3):
            state = _load(items[i])
            if state.principal is not None and state.principal != principal:
                continue
            if not state.terminal and await self._owner_gone(items[i + 1], items[i + 2],
                                                             cache):
                state = await self._settle_gone(state, now)
            out.append(state)
        out.sort(key=lambda s: s.created_at)
        return out

    async def delete(self, task_id: str) -> None:
        """Forget a task (nothing happens if it is unknown)."""
        with self.backend.deadline():
            await self.backend.client.delete([self._prefix + task_id])
            await self.backend.client.zrem(self._index, [task_id])
            await self.backend.client.zrem(self._ended, [task_id])


class TaskControl(TaskRelay):
    """Routes ``tasks/update`` / ``tasks/cancel`` of a task another worker runs to that
    worker, as ``task_control`` messages on the bus; applies those addressed to this one.

    Args:
        runner: this worker's task runner (its store is a :class:`RedisTaskStore`).
        bus: the bus shared by the workers.
        worker_id: this worker's id.
    """

    KIND = "task_control"

    def __init__(self, runner: TaskRunner, bus: NotificationBus, worker_id: str) -> None:
        self.runner = runner
        self.bus = bus
        self.worker_id = worker_id
        bus.subscribe(self._deliver)

    async def _remote_owner(self, state: TaskState) -> str | None:
        store = self.runner.store
        if state.terminal or not isinstance(store, RedisTaskStore):
            await trio.lowlevel.checkpoint()
            return None
        owner = await store.owner(state.task_id)
        return owner if owner is not None and owner != self.worker_id else None

    async def update(self, state: TaskState, responses: Mapping[str, Any]) -> bool:
        """Send the answers to the task's worker if that is another one (then ``True``)."""
        owner = await self._remote_owner(state)
        if owner is None:
            return False
        self.bus.publish(self.KIND, {"to": owner, "op": "update", "taskId": state.task_id,
                                     "responses": dict(responses)})
        return True

    async def cancel(self, state: TaskState) -> bool:
        """Ask the task's worker to cancel it if that is another one (then ``True``)."""
        owner = await self._remote_owner(state)
        if owner is None:
            return False
        self.bus.publish(self.KIND, {"to": owner, "op": "cancel", "taskId": state.task_id})
        return True

    def _deliver(self, kind: str, payload: Mapping[str, Any]) -> None:
        if kind != self.KIND or payload.get("to") != self.worker_id:
            return
        task_id, op = payload.get("taskId"), payload.get("op")
        run = self.runner.running(task_id) if isinstance(task_id, str) else None
        nursery = self.runner._nursery
        if run is None or nursery is None:
            logger.debug("trio-mcp: task control for a task not running here: %r", task_id)
            return
        responses = payload.get("responses")
        if op == "update" and isinstance(responses, Mapping):
            nursery.start_soon(self._apply, self.runner.update(run.state, responses))
        elif op == "cancel":
            nursery.start_soon(self._apply, self.runner.cancel(run.state))
        else:
            logger.debug("trio-mcp: task control %r ignored", op)

    @staticmethod
    async def _apply(work: Awaitable[None]) -> None:
        try:
            await work
        except Exception:  # Redis failing meanwhile: the task goes on, the caller may retry
            logger.exception("trio-mcp: applying task control failed")
