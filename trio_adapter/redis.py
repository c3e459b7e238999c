"""One worker's link to the Redis that several server processes share (``trio-mcp[redis]``).

A deployment of several workers (``trio-mcp serve --workers N --store redis://...``, or your own
processes) shares what must cross processes through one Redis (docs/scale.md): the
notification bus, the task store, the event log of handshake-era sessions and the relay of a
handshake-era session's requests to the worker that owns it. Each of those is built on one
:class:`RedisBackend`, which owns the connection, this worker's id and its heartbeat.

The Redis client is `coredis <https://coredis.readthedocs.io>`_ (anyio-based, so it runs on
trio); it is an optional dependency: ``pip install 'trio-mcp[redis]'``. Importing this module
without it works; making a :class:`RedisBackend` raises :class:`RedisUnavailable` then.

>>> backend = RedisBackend("redis://127.0.0.1:6379/0", worker_id="w1")  # doctest: +SKIP
>>> async with backend:                                                  # doctest: +SKIP
...     assert await backend.alive("w1")
"""

from __future__ import annotations

import contextlib
import logging
import math
import re
import secrets
import urllib.parse
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from types import TracebackType
from typing import TYPE_CHECKING, Any

import trio

if TYPE_CHECKING:
    import coredis

__all__ = ["DEFAULT_PREFIX", "RedisBackend", "RedisEventStore", "RedisNotificationBus",
           "RedisTaskStore", "RedisUnavailable", "SessionRelay", "parse_store_url",
           "share_server_state"]

logger = logging.getLogger("trio_mcp.redis")

DEFAULT_PREFIX = "trio-mcp:"
"""The prefix of every key and channel a :class:`RedisBackend` uses, by default."""

_WORKER_ID = re.compile(r"[A-Za-z0-9_]{1,32}\Z")


class RedisUnavailable(RuntimeError):
    """Redis cannot be used: ``coredis`` is not installed, the URL is invalid, or the server
    did not answer within the deadline (the message says which, in one line)."""


def parse_store_url(url: str) -> tuple[str, int, int]:
    """``redis://HOST[:PORT][/DB]`` -> ``(host, port, db)`` (port 6379 and db 0 by default).

    Raises:
        RedisUnavailable: not such a URL (another scheme, a bad port or db, credentials or a
            query, which are not supported).
    """
    parts = urllib.parse.urlsplit(url)
    if parts.scheme != "redis":
        raise RedisUnavailable(f"not a redis:// URL: {url!r}")
    if parts.username or parts.password or parts.query or parts.fragment:
        raise RedisUnavailable(f"{url!r}: credentials and query options are not supported")
    try:
        port = parts.port or 6379
    except ValueError as exc:
        raise RedisUnavailable(f"{url!r}: bad port") from exc
    db_text = parts.path.lstrip("/") or "0"
    if not db_text.isdigit():
        raise RedisUnavailable(f"{url!r}: the database must be a number, got {db_text!r}")
    return parts.hostname or "127.0.0.1", port, int(db_text)


class RedisBackend:
    """This worker's connection to the shared Redis, its id and its heartbeat.

    Args:
        url: ``redis://HOST[:PORT][/DB]``.
        worker_id: this process's id among the workers (letters, digits and ``_``, at most 32);
            a random one by default. Handshake-era session ids minted here start with it, so
            any worker can tell which one owns a session.
        prefix: the prefix of every key and channel (several deployments can share a Redis).
        heartbeat_interval: seconds between heartbeats.
        heartbeat_ttl: how long a heartbeat is believed: a worker whose heartbeat is older is
            dead to the others (its sessions answer 404, its running tasks end as failed).
        connect_timeout: the deadline of connecting (and of each reconnect attempt).
        command_timeout: the deadline of one command (:meth:`deadline` gives it to callers).

    Use it as an async context manager: entering connects (or raises
    :class:`RedisUnavailable` after ``connect_timeout``) and starts the heartbeat in a task of
    its own; leaving stops it and removes the heartbeat, so the others see this worker gone at
    once. While Redis is unreachable the heartbeat task logs one warning, retries with backoff
    (at most 2 s apart) and logs again when it is back; :attr:`healthy` says which it is.

    Raises:
        RedisUnavailable: ``coredis`` is missing, the URL or ``worker_id`` is invalid.
        ValueError: a timeout or interval is not positive and finite, or ``heartbeat_ttl`` is
            not above ``heartbeat_interval``.
    """

    def __init__(self, url: str, *, worker_id: str | None = None,
                 prefix: str = DEFAULT_PREFIX, heartbeat_interval: float = 1.0,
                 heartbeat_ttl: float = 5.0, connect_timeout: float = 5.0,
                 command_timeout: float = 5.0) -> None:
        try:
            import coredis
        except ImportError as exc:
            raise RedisUnavailable(
                "Redis support needs coredis: pip install 'trio-mcp[redis]'") from exc
        for name, value in (("heartbeat_interval", heartbeat_interval),
                            ("heartbeat_ttl", heartbeat_ttl),
                            ("connect_timeout", connect_timeout),
                            ("command_timeout", command_timeout)):
            if not (value > 0 and math.isfinite(value)):
                raise ValueError(f"{name} must be positive and finite, got {value!r}")
        if heartbeat_ttl <= heartbeat_interval:
            raise ValueError("heartbeat_ttl must be longer than heartbeat_interval")
        if worker_id is None:
            worker_id = secrets.token_hex(6)
        if not _WORKER_ID.match(worker_id):
            raise RedisUnavailable(
                f"bad worker id {worker_id!r}: letters, digits and _, at most 32")
        self.url = url
        self.host, self.port, self.db = parse_store_url(url)
        self.worker_id = worker_id
        self.prefix = prefix
        self.heartbeat_interval = heartbeat_interval
        self.heartbeat_ttl = heartbeat_ttl
        self.connect_timeout = connect_timeout
        self.command_timeout = command_timeout
        self.healthy = False
        self._health_changed = trio.Event()
        self._coredis = coredis
        self._client: coredis.Redis[bytes] | None = None
        self._stack: contextlib.AsyncExitStack | None = None
        self._cancel: trio.CancelScope | None = None

    # ------------------------------------------------------------------ connections

    def connection_kwargs(self) -> dict[str, Any]:
        """The keyword arguments of a ``coredis.Redis`` for this backend (bytes answers,
        deadlines on connect and on each command): for a component that needs a connection
        of its own (a pub/sub subscriber, a blocking pop)."""
        return {"host": self.host, "port": self.port, "db": self.db,
                "decode_responses": False, "connect_timeout": self.connect_timeout,
                "stream_timeout": self.command_timeout}

    def new_client(self) -> coredis.Redis[bytes]:
        """A new ``coredis.Redis`` for this backend's server (enter it with ``async with``).
        Components with a blocking command (``BLPOP``) use their own, so that the shared
        :attr:`client` never waits behind it."""
        return self._coredis.Redis(**self.connection_kwargs())

    @property
    def client(self) -> coredis.Redis[bytes]:
        """The shared client (only inside ``async with backend``).

        Raises:
            RuntimeError: the backend is not entered.
        """
        if self._client is None:
            raise RuntimeError("RedisBackend is used outside 'async with backend'")
        return self._client

    def key(self, *parts: str) -> str:
        """The Redis key (or channel) named by ``parts`` under this backend's prefix."""
        return self.prefix + ":".join(parts)

    def deadline(self) -> contextlib.AbstractContextManager[trio.CancelScope]:
        """A ``trio.fail_after`` scope of :attr:`command_timeout`, for one command."""
        return trio.fail_after(self.command_timeout)

    def _set_healthy(self, healthy: bool) -> None:
        if healthy != self.healthy:
            self.healthy = healthy
            self._health_changed.set()
            self._health_changed = trio.Event()

    async def wait_healthy(self, healthy: bool = True) -> None:
        """Wait until :attr:`healthy` is ``healthy`` (Redis answers the heartbeat again, or
        the heartbeat failed); returns at once if it already is. Has no deadline of its own."""
        while self.healthy != healthy:
            await self._health_changed.wait()

    # ------------------------------------------------------------------ workers

    def _heartbeat_key(self, worker_id: str) -> str:
        return self.key("worker", worker_id)

    async def alive(self, worker_id: str) -> bool:
        """Whether ``worker_id``'s heartbeat is current (``True`` for this worker itself).

        Raises:
            trio.TooSlowError: Redis did not answer within :attr:`command_timeout`.
            coredis.exceptions.RedisError: Redis refused or the connection failed.
        """
        if worker_id == self.worker_id:
            return True
        with self.deadline():
            found = await self.client.exists([self._heartbeat_key(worker_id)])
        return bool(found)

    async def _beat(self) -> None:
        ttl_ms = int(self.heartbeat_ttl * 1000)
        with self.deadline():
            await self.client.set(self._heartbeat_key(self.worker_id), b"1", px=ttl_ms)

    async def _heartbeat(self, task_status: trio.TaskStatus[None]) -> None:
        backoff = 0.1
        started = False
        while True:
            try:
                await self._beat()
            except (trio.TooSlowError, OSError, self._coredis.exceptions.RedisError) as exc:
                if self.healthy or not started:
                    logger.warning("trio-mcp: lost Redis at %s (%s); retrying",
                                   self.url, _one_line(exc))
                self._set_healthy(False)
                if not started:
                    started = True
                    task_status.started()
                await trio.sleep(backoff)
                backoff = min(backoff * 2, 2.0)
                continue
            if not self.healthy and started:
                logger.warning("trio-mcp: Redis at %s is back", self.url)
            self._set_healthy(True)
            backoff = 0.1
            if not started:
                started = True
                task_status.started()
            await trio.sleep(self.heartbeat_interval)

    async def __aenter__(self) -> RedisBackend:
        stack = contextlib.AsyncExitStack()
        await stack.__aenter__()
        try:
            client = await stack.enter_async_context(self.new_client())
            try:
                with trio.fail_after(self.connect_timeout):
                    await client.ping()
            except (trio.TooSlowError, OSError, self._coredis.exceptions.RedisError) as exc:
                raise RedisUnavailable(
                    f"Redis at {self.url} did not answer: {_one_line(exc)}") from exc
            self._client = client
            stack.push_async_callback(self._leave)
            nursery = await stack.enter_async_context(trio.open_nursery())
            self._cancel = nursery.cancel_scope
            self._set_healthy(True)
            await nursery.start(self._heartbeat)
        except BaseException as exc:
            self._client = None
            try:
                await stack.__aexit__(type(exc), exc, exc.__traceback__)
            except BaseException as group:  # coredis's task group wraps what it saw
                found = _find(group, RedisUnavailable)
                if found is not None:
                    raise found from None
                raise
            raise
        self._stack = stack
        return self

    async def _leave(self) -> None:
        client = self._client
        self._client = None
        self._set_healthy(False)
        if client is None:
            return
        # A connection of its own, opened under the shield: when the block is left by
        # cancellation, the shared client's background tasks are cancelled with it and its
        # commands would never get through.
        with trio.move_on_after(1) as scope:
            scope.shield = True
            # Redis unreachable (coredis wraps that in an exception group): the heartbeat
            # expires by itself
            with contextlib.suppress(Exception):
                async with self.new_client() as last:
                    await last.delete([self._heartbeat_key(self.worker_id)])

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        assert self._cancel is not None and self._stack is not None
        self._cancel.cancel()
        stack, self._stack = self._stack, None
        await stack.__aexit__(exc_type, exc, tb)


@asynccontextmanager
async def open_backend(url: str, **kwargs: Any) -> AsyncIterator[RedisBackend]:
    """``async with open_backend(url) as backend``: the same as entering
    ``RedisBackend(url, **kwargs)``."""
    async with RedisBackend(url, **kwargs) as backend:
        yield backend


def _find(exc: BaseException, kind: type[RedisUnavailable]) -> RedisUnavailable | None:
    if isinstance(exc, kind):
        return exc
    for inner in getattr(exc, "exceptions", ()):
        found = _find(inner, kind)
        if found is not None:
            return found
    return None


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


# Components built on a RedisBackend (importable without coredis: they import it only when
# a backend is made).
from ._redis_bus import RedisNotificationBus, share_server_state  # noqa: E402
from ._redis_events import RedisEventStore  # noqa: E402
from ._redis_relay import SessionRelay  # noqa: E402
from ._redis_tasks import RedisTaskStore  # noqa: E402
