"""The event log of handshake-era sessions for ``Last-Event-ID`` resumption, in Redis
(:class:`RedisEventStore`; ``serve_http(shared=backend)`` uses it by default).

:class:`sansio.http.EventStore` is a synchronous interface the core calls while it routes a
frame, so the store cannot wait on Redis there. It keeps a local bounded mirror
(:class:`sansio.http.InMemoryEventStore`) that answers :meth:`~RedisEventStore.after`, and
writes behind to Redis through a bounded queue that :meth:`~RedisEventStore.run` flushes. Before
the adapter hands a ``Last-Event-ID`` GET to the core it awaits :meth:`~RedisEventStore.load`,
which fetches the stream's events from Redis when the mirror no longer has the one named.

What it guarantees, honestly:

* A session is owned by one worker (the others relay its requests there), so that worker is
  the only writer of its log and answers its resumptions; the mirror answers them whenever it
  still holds the event named, with no Redis round trip.
* Redis keeps each session's log bounded by events, by bytes (per session, and for all the
  sessions of this worker together: trimming follows this worker's own accounting of what it
  wrote) and by age (the list expires ``max_age`` after its last append; events older than
  ``max_age`` are trimmed by each flush). With smaller mirror bounds, a resumption reaches
  further back than the mirror alone would.
* Write-behind is best effort: when the queue is full (Redis slow or unreachable), new events
  are not queued (counted in :attr:`dropped`, one warning per outage) and remain only in the
  mirror; while Redis is down the flusher retries with backoff and the mirror keeps answering.
  An event that never reached Redis is resumable only while the mirror holds it.
* The log dies with its session: ``DELETE``, expiry and termination forget it in both places.
  When the owning worker dies, its sessions end (404) and their logs expire in Redis.
"""

from __future__ import annotations

import collections
import logging
import math
from typing import TYPE_CHECKING, Any

import trio

from sansio import _codec
from sansio.http import (
    DEFAULT_EVENT_STORE_BYTES,
    DEFAULT_EVENT_STORE_MAX_AGE,
    DEFAULT_EVENT_STORE_MAX_EVENTS,
    DEFAULT_EVENT_STORE_SESSION_BYTES,
    EventStore,
    InMemoryEventStore,
)

from ._redis_relay import _redis_errors

if TYPE_CHECKING:
    from .redis import RedisBackend

logger = logging.getLogger("trio_mcp.events")


class RedisEventStore(EventStore):
    """SSE events for resumption: a local bounded mirror, written behind to Redis.

    Args:
        backend: the worker's :class:`~trio_adapter.redis.RedisBackend`.
        max_events, max_session_bytes, max_bytes, max_age: the bounds of the log in Redis
            (per session, per session, every session of this worker together, seconds).
        mirror_events, mirror_session_bytes, mirror_bytes: the local mirror's bounds (by
            default a quarter of the Redis ones; its age bound is ``max_age``).
        max_queue: events waiting to be written at most (and ``max_queue_bytes`` bytes): an
            event that does not fit is kept in the mirror only (:attr:`dropped`).

    Call :meth:`run` in a task (``serve_http`` does) for the writes to happen, and await
    :meth:`load` before the core answers a ``Last-Event-ID`` GET (``serve_http`` does).
    What it guarantees (in short; :mod:`trio_adapter._redis_events` says more): the mirror
    answers every resumption it can without Redis; Redis holds the log within the bounds
    above, written behind at least once, best effort (a full queue keeps an event in the
    mirror only, counted in :attr:`dropped`); the log ends with its session.

    Raises:
        ValueError: a bound is not positive.
    """

    def __init__(self, backend: RedisBackend, *,
                 max_events: int = DEFAULT_EVENT_STORE_MAX_EVENTS,
                 max_session_bytes: int = DEFAULT_EVENT_STORE_SESSION_BYTES,
                 max_bytes: int = DEFAULT_EVENT_STORE_BYTES,
                 max_age: float = DEFAULT_EVENT_STORE_MAX_AGE,
                 mirror_events: int | None = None, mirror_session_bytes: int | None = None,
                 mirror_bytes: int | None = None, max_queue: int = 4096,
                 max_queue_bytes: int = 16 * 1024 * 1024) -> None:
        if min(max_events, max_session_bytes, max_bytes, max_queue, max_queue_bytes) < 1 or \
                not (max_age > 0 and math.isfinite(max_age)):
            raise ValueError("the event store's bounds must be positive")
        self.backend = backend
        self.max_events = max_events
        self.max_session_bytes = max_session_bytes
        self.max_bytes = max_bytes
        self.max_age = max_age
        self.mirror = InMemoryEventStore(
            mirror_events or max(1, max_events // 4),
            max_session_bytes=mirror_session_bytes or max(1, max_session_bytes // 4),
            max_bytes=mirror_bytes or max(1, max_bytes // 4), max_age=max_age)
        self.max_queue = max_queue
        self.max_queue_bytes = max_queue_bytes
        self.dropped = 0
        """Events never written to Redis (the queue was full)."""
        # ("a", session, stream, event_id, data, stamp) or ("f", session)
        self._queue: collections.deque[tuple[Any, ...]] = collections.deque()
        self._queue_bytes = 0
        self._wake = trio.lowlevel.ParkingLot()
        self._flushed = trio.lowlevel.ParkingLot()
        self._now: float | None = None
        # What this worker wrote to Redis: session -> deque of (size, stamp), oldest first.
        self._written: dict[str, collections.deque[tuple[int, float]]] = {}
        self._written_bytes: dict[str, int] = {}
        self._total = 0
        self._order: collections.deque[str] = collections.deque()  # sessions by first write
        self._loaded: collections.OrderedDict[tuple[str, str, str], list[bytes]] = \
            collections.OrderedDict()
        self._warned = False

    def _key(self, session_id: str) -> str:
        return self.backend.key("events", session_id)

    # ------------------------------------------------------------ EventStore (sync)

    def append(self, session_id: str, stream_id: str, event_id: str, data: bytes) -> None:
        self.mirror.append(session_id, stream_id, event_id, data)
        if len(self._queue) >= self.max_queue or \
                self._queue_bytes + len(data) > self.max_queue_bytes:
            self.dropped += 1
            if not self._warned:
                self._warned = True
                logger.warning("trio-mcp: event log: the write queue to Redis is full; "
                               "events are kept in this worker's memory only")
            return
        self._queue.append(("a", session_id, stream_id, event_id, data))
        self._queue_bytes += len(data)
        self._wake.unpark()

    def after(self, session_id: str, stream_id: str, event_id: str) -> list[bytes] | None:
        found = self.mirror.after(session_id, stream_id, event_id)
        if found is not None:
            return found
        return self._loaded.pop((session_id, stream_id, event_id), None)

    def forget(self, session_id: str) -> None:
        self.mirror.forget(session_id)
        self._queue.append(("f", session_id))
        self._wake.unpark()

    def forget_stream(self, session_id: str, stream_id: str) -> None:
        # Redis keeps them until trimmed or expired: the core refuses a resume of a delivered
        # stream itself (it forgets the stream).
        self.mirror.forget_stream(session_id, stream_id)

    def expire(self, now: float) -> None:
        self._now = now
        self.mirror.expire(now)

    # ------------------------------------------------------------ async side

    async def load(self, session_id: str, last_event_id: str) -> None:
        """Before the core answers a ``Last-Event-ID`` GET: when the mirror lacks the event,
        fetch the stream's events after it from Redis, for the next :meth:`after` to answer.
        Redis unreachable or slow (``command_timeout``): nothing is loaded (the core answers
        400, as for an event too old)."""
        stream_id, _, _ = last_event_id.partition("/")
        if self.mirror.after(session_id, stream_id, last_event_id) is not None:
            await trio.lowlevel.checkpoint()
            return
        backend = self.backend
        try:
            with backend.deadline():
                items = await backend.client.lrange(self._key(session_id), 0, -1)
        except _redis_errors(backend) as exc:
            logger.warning("trio-mcp: event log: cannot read from Redis (%s)", exc)
            return
        found = False
        out: list[bytes] = []
        for item in items:
            entry = _decode(bytes(item))
            if entry is None:
                continue
            sid, eid, data = entry
            if found and sid == stream_id:
                out.append(data)
            elif eid == last_event_id:
                found = True
        if not found:
            return
        self._loaded[(session_id, stream_id, last_event_id)] = out
        while len(self._loaded) > 16:
            self._loaded.popitem(last=False)

    async def wait_flushed(self) -> None:
        """Wait until everything queued so far was written to Redis (no deadline of its own:
        the caller bounds it; while Redis is down it waits)."""
        while self._queue:
            await self._flushed.park()
        await trio.lowlevel.checkpoint()

    async def run(self, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
                  ) -> None:
        """Write the queued events to Redis, until cancelled. Redis unreachable: the batch is
        retried with backoff (at most 2 s apart), one warning per outage."""
        task_status.started()
        backoff = 0.1
        lost = False
        backend = self.backend
        errors = _redis_errors(backend)
        while True:
            while not self._queue:
                await self._wake.park()
            batch = list(self._queue)
            try:
                await self._flush(batch)
            except errors as exc:
                if not lost:
                    logger.warning("trio-mcp: event log: cannot write to Redis (%s); "
                                   "retrying", exc)
                    lost = True
                await trio.sleep(backoff)
                backoff = min(backoff * 2, 2.0)
                continue
            for _ in batch:
                item = self._queue.popleft()
                if item[0] == "a":
                    self._queue_bytes -= len(item[4])
            self._flushed.unpark_all()
            if lost:
                logger.warning("trio-mcp: event log: writing to Redis again")
            lost = False
            self._warned = False
            backoff = 0.1

    async def _flush(self, batch: list[tuple[Any, ...]]) -> None:
        client = self.backend.client
        ttl = int(self.max_age * 1000)
        now = trio.current_time()
        # one RPUSH per session in the batch, in order; a forget deletes the list
        pending: dict[str, list[bytes]] = {}
        sizes: dict[str, list[int]] = {}

        async def push() -> None:
            for sid, items in pending.items():
                with self.backend.deadline():
                    async with client.pipeline(transaction=False) as pipe:
                        pipe.rpush(self._key(sid), items)
                        pipe.pexpire(self._key(sid), ttl)
                for size in sizes[sid]:
                    self._account(sid, size, now)
            pending.clear()
            sizes.clear()

        for item in batch:
            if item[0] == "a":
                _, sid, stream_id, event_id, data = item
                pending.setdefault(sid, []).append(_encode(stream_id, event_id, data))
                sizes.setdefault(sid, []).append(len(data))
            else:
                await push()
                with self.backend.deadline():
                    await client.delete([self._key(item[1])])
                self._drop_account(item[1])
        await push()
        await self._trim(now)

    def _account(self, sid: str, size: int, now: float) -> None:
        if sid not in self._written:
            self._written[sid] = collections.deque()
            self._written_bytes[sid] = 0
            self._order.append(sid)
        self._written[sid].append((size, now))
        self._written_bytes[sid] += size
        self._total += size

    def _drop_account(self, sid: str) -> None:
        self._total -= self._written_bytes.pop(sid, 0)
        self._written.pop(sid, None)
        if sid in self._order:
            self._order.remove(sid)

    async def _trim(self, now: float) -> None:
        """Keep each session's list within max_events, max_session_bytes and max_age, and all
        of them within max_bytes (the sessions written first lose their oldest events)."""
        client = self.backend.client
        trims: dict[str, int] = {}
        for sid, entries in self._written.items():
            drop = 0
            size = self._written_bytes[sid]
            while len(entries) - drop > 1 and (
                    len(entries) - drop > self.max_events or size > self.max_session_bytes
                    or entries[drop][1] < now - self.max_age):
                size -= entries[drop][0]
                drop += 1
            if drop:
                trims[sid] = drop
        for sid, drop in trims.items():
            self._pop(sid, drop)
        order = list(self._order)
        index = 0
        while self._total > self.max_bytes and index < len(order):
            sid = order[index]
            if not self._written.get(sid):
                index += 1
                continue
            self._pop(sid, 1)
            trims[sid] = trims.get(sid, 0) + 1
            if not self._written.get(sid):
                index += 1
        for sid, drop in trims.items():
            with self.backend.deadline():
                if sid in self._written:
                    await client.ltrim(self._key(sid), drop, -1)
                else:
                    await client.delete([self._key(sid)])

    def _pop(self, sid: str, count: int) -> None:
        entries = self._written[sid]
        for _ in range(count):
            size, _ = entries.popleft()
            self._written_bytes[sid] -= size
            self._total -= size
        if not entries:
            self._drop_account(sid)


def _encode(stream_id: str, event_id: str, data: bytes) -> bytes:
    return _codec.dumps([stream_id, event_id]) + b"\n" + data


def _decode(item: bytes) -> tuple[str, str, bytes] | None:
    head, nl, data = item.partition(b"\n")
    if not nl:
        return None
    try:
        ids = _codec.loads(head)
    except _codec.DecodeError:
        return None
    if not (isinstance(ids, list) and len(ids) == 2 and all(isinstance(i, str) for i in ids)):
        return None
    return ids[0], ids[1], data
