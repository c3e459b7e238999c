"""The notification bus and the shared server state on Redis (``trio-mcp[redis]``).

:class:`RedisNotificationBus` carries a server's notifications (list_changed, resource
updates, task status, task control) to every worker sharing one Redis, over one pub/sub
channel (``backend.key("bus")``). :func:`share_server_state` installs it on a
:class:`~trio_adapter.Server` together with the
:class:`~trio_adapter._redis_tasks.RedisTaskStore`.

Delivery: a publish is delivered to this process's subscribers at once (also while Redis is
unreachable) and sent on the channel; every worker's subscriber task delivers what it reads
there, except the messages this bus published itself (each bus has a random origin id), so
every subscriber of every worker gets every message once. Pub/sub is at most once: a worker
cut from Redis misses what is published meanwhile (a listen is not replayed).

Wire form, one JSON object (the project codec): ``{"v": 1, "o": origin, "k": kind,
"p": payload}``; another ``v``, a malformed message or an unknown kind is ignored (debug log).
"""

from __future__ import annotations

import contextlib
import logging
import secrets
import sys
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import trio

from sansio import _codec

from .server import NotificationBus

if sys.version_info < (3, 11):  # pragma: no cover - exercised on 3.10 only
    from exceptiongroup import BaseExceptionGroup  # type: ignore[import-not-found,unused-ignore]

if TYPE_CHECKING:
    from .redis import RedisBackend
    from .server import Server

__all__ = ["BUS_VERSION", "RedisNotificationBus", "share_server_state"]

logger = logging.getLogger("trio_mcp.redis")

BUS_VERSION = 1
"""The ``v`` of the bus's messages (others are ignored)."""


class RedisNotificationBus(NotificationBus):
    """A :class:`~trio_adapter.server.NotificationBus` shared by every worker on one Redis.

    Args:
        backend: this worker's :class:`~trio_adapter.redis.RedisBackend` (entered by the
            caller for as long as the server runs).
        max_pending: how many publishes wait to be sent at most. While Redis is unreachable
            they wait here (the local delivery has happened already); one more is dropped,
            with one warning per outage and the count logged when Redis is back.

    :meth:`run` (started by :meth:`Server.running`) holds one subscriber connection of its
    own (``backend.new_client()``) and sends the queued publishes on the shared client. When
    Redis is lost it logs one warning, reconnects with backoff (at most 2 s apart) and logs
    again when it is back; nothing has to be restarted.
    """

    def __init__(self, backend: RedisBackend, *, max_pending: int = 1000) -> None:
        super().__init__()
        if max_pending < 1:
            raise ValueError("max_pending must be at least 1")
        self.backend = backend
        self.channel = backend.key("bus")
        self.origin = f"{backend.worker_id}.{secrets.token_hex(4)}"
        self.max_pending = max_pending
        self._send, self._receive = trio.open_memory_channel[bytes](max_pending)
        self._running = False
        self._dropped = 0
        #: Whether the subscriber is connected (tests and health checks read it).
        self.subscribed = False
        self._subscribed_changed = trio.Event()

    def publish(self, kind: str, payload: Mapping[str, Any]) -> None:
        """Deliver ``(kind, payload)`` here now and queue it for the other workers (only
        while :meth:`run` runs; a message that does not encode as JSON is only logged).
        Never blocks: a full queue drops the message with a warning."""
        self._deliver_locally(kind, payload)
        if not self._running:
            return
        try:
            data = _codec.dumps({"v": BUS_VERSION, "o": self.origin, "k": kind,
                                 "p": dict(payload)})
        except _codec.EncodeError as exc:
            logger.warning("trio-mcp: a %r bus message does not encode (%s); not shared",
                           kind, exc)
            return
        try:
            self._send.send_nowait(data)
        except trio.WouldBlock:
            if self._dropped == 0:
                logger.warning("trio-mcp: the bus queue is full (%d messages, Redis is slow "
                               "or unreachable): dropping notifications for the other "
                               "workers", self.max_pending)
            self._dropped += 1

    async def wait_subscribed(self, subscribed: bool = True) -> None:
        """Wait until the subscriber is (``True``) or is not connected. No deadline of its
        own."""
        while self.subscribed != subscribed:
            await self._subscribed_changed.wait()

    def _set_subscribed(self, subscribed: bool) -> None:
        if subscribed != self.subscribed:
            self.subscribed = subscribed
            self._subscribed_changed.set()
            self._subscribed_changed = trio.Event()

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
                  ) -> None:
        """Subscribe and send until cancelled; reports ``started`` once subscribed (or once
        the first attempt failed: the server serves meanwhile, the bus keeps trying)."""
        self._running = True
        try:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(self._publisher)
                await self._subscriber(task_status)
        finally:
            self._running = False
            self._set_subscribed(False)

    def _handle(self, data: Any) -> None:
        try:
            message = _codec.loads(data)
        except _codec.DecodeError:
            logger.debug("trio-mcp: a bus message that is not JSON was ignored")
            return
        if not isinstance(message, dict) or message.get("v") != BUS_VERSION \
                or not isinstance(message.get("k"), str) \
                or not isinstance(message.get("p"), dict):
            logger.debug("trio-mcp: a bus message of another form or version was ignored")
            return
        if message.get("o") == self.origin:
            return  # delivered here when it was published
        self._deliver_locally(message["k"], message["p"])

    async def _subscriber(self, task_status: trio.TaskStatus[None]) -> None:
        caught = _redis_errors()
        backoff, started, lost = 0.1, False, False
        while True:
            try:
                async with contextlib.AsyncExitStack() as stack:
                    client = await stack.enter_async_context(self.backend.new_client())
                    pubsub = await stack.enter_async_context(
                        client.pubsub(channels=[self.channel], retry_policy=None,
                                      ignore_subscribe_messages=True))
                    self._set_subscribed(True)
                    if lost:
                        logger.warning("trio-mcp: the bus is subscribed again at %s",
                                       self.backend.url)
                        lost = False
                    backoff = 0.1
                    if not started:
                        started = True
                        task_status.started()
                    async for message in pubsub:
                        if message.get("type") == "message":
                            self._handle(message.get("data"))
                # the subscription ended without an error: subscribe again
            except Exception as exc:
                if not _lost_redis(exc, caught):
                    raise
                self._set_subscribed(False)
                if not lost:
                    logger.warning("trio-mcp: the bus lost Redis at %s (%s); resubscribing",
                                   self.backend.url, _one_line(exc))
                    lost = True
                if not started:
                    started = True
                    task_status.started()
                await trio.sleep(backoff)
                backoff = min(backoff * 2, 2.0)

    async def _publisher(self) -> None:
        caught = _redis_errors()
        async for data in self._receive:
            backoff, failed = 0.1, False
            while True:
                try:
                    with self.backend.deadline():
                        await self.backend.client.publish(self.channel, data)
                except Exception as exc:
                    if not _lost_redis(exc, caught):
                        raise
                    if not failed:
                        logger.debug("trio-mcp: bus publish failed (%s); retrying",
                                     _one_line(exc))
                        failed = True
                    await trio.sleep(backoff)
                    backoff = min(backoff * 2, 2.0)
                    continue
                break
            if self._dropped:
                logger.warning("trio-mcp: %d bus messages were dropped while Redis was "
                               "unreachable", self._dropped)
                self._dropped = 0


def _redis_errors() -> tuple[type[Exception], ...]:
    """What a lost or refusing Redis raises (coredis's errors, OSError, a deadline, the
    closed streams of a connection coredis tore down)."""
    import anyio
    import coredis.exceptions

    return (coredis.exceptions.RedisError, OSError, trio.TooSlowError,
            anyio.ClosedResourceError, anyio.BrokenResourceError)


def _lost_redis(exc: BaseException, kinds: tuple[type[Exception], ...]) -> bool:
    """Whether ``exc`` (or every exception of the group ``exc`` is: coredis's task groups
    wrap what they saw) says Redis was lost or refused."""
    if isinstance(exc, BaseExceptionGroup):
        return all(_lost_redis(inner, kinds) for inner in exc.exceptions)
    return isinstance(exc, kinds)


def _first(exc: BaseException) -> BaseException:
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    return exc


def _one_line(exc: BaseException) -> str:
    exc = _first(exc)
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def share_server_state(server: Server, backend: RedisBackend, *,
                       task_ttl: float | None = 3600.0, max_tasks: int = 1000,
                       max_pending: int = 1000) -> RedisNotificationBus:
    """Make ``server`` share its notifications and its tasks with every worker on
    ``backend``'s Redis: installs a :class:`RedisNotificationBus` (:meth:`Server.use_bus`)
    and a :class:`~trio_adapter._redis_tasks.RedisTaskStore` in the server's task runner
    (``task_ttl``: the tasks' TTL, ``max_tasks``: how many live tasks the deployment keeps),
    and routes ``tasks/update`` / ``tasks/cancel`` of a task another worker runs to that
    worker. Call it before the server runs; the backend must be entered while it runs.

    Returns the bus.

    Raises:
        ValueError: a bad ``max_tasks``, ``max_pending`` or ``task_ttl``.
    """
    from ._redis_tasks import RedisTaskStore, TaskControl

    if task_ttl is not None and not task_ttl > 0:
        raise ValueError("task_ttl must be positive (or None)")
    bus = RedisNotificationBus(backend, max_pending=max_pending)
    server.use_bus(bus)
    runner = server.task_runner
    runner.store = RedisTaskStore(backend, max_tasks=max_tasks)
    runner.ttl = task_ttl
    runner.relay = TaskControl(runner, bus, backend.worker_id)
    return bus
