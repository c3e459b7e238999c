"""Request tracking for :class:`~sansio.connection.Connection`: the one table of ids.

:class:`RequestTable` holds both directions of one connection's requests:

- ours (*pending*): the id the engine gave each request it sent, its method, its progress token
  (so ``notifications/progress`` finds its request), and the memory of the ones we cancelled
  (so a late answer is dropped quietly rather than refused as unknown);
- the peer's (*serving*): each request being served, its progress token, the batch it came in,
  and the memory of the ones the peer cancelled (so answering one is a no-op);
- incoming batches (:class:`Batch`): which members are still unanswered and the responses
  collected, so they leave together as one array.

The table decides nothing about the protocol (which method may be cancelled, what a lifecycle
state allows): it only keeps the bookkeeping consistent, and says
:class:`UnknownRequest` when an id names nothing. The connection turns that into the error of
the side at fault.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

import attrs

from .jsonrpc import RequestId, is_request_id
from .versions import RequestMeta

__all__ = [
    "CANCEL_MEMORY",
    "Batch",
    "Incoming",
    "Outgoing",
    "RequestTable",
    "UnknownRequest",
    "progress_token_of",
]

CANCEL_MEMORY: Final = 1024
"""How many cancelled request ids are remembered, per direction (to drop late answers quietly)."""


@attrs.define(slots=True)
class Outgoing:
    """A request we sent and still wait for."""

    method: str
    progress_token: RequestId | None
    # (stateless era, a request that may be answered input_required) the caller's params,
    # without the engine's stamp and the previous round's fields: InputRequired carries them.
    params: dict[str, Any] | None = None
    # (tools/call) the request let the server answer with a task: 2025-11-25 ``params.task``,
    # 2026-07-28 the tasks extension in its client capabilities (sansio.task_client).
    task: bool = False


@attrs.define(slots=True, eq=False)
class Batch:
    """An incoming JSON-RPC batch whose responses must go out together as one array."""

    waiting: set[RequestId] = attrs.Factory(set)
    responses: list[dict[str, Any]] = attrs.Factory(list)


@attrs.define(slots=True)
class Incoming:
    """A request of the peer's we are serving."""

    method: str
    progress_token: RequestId | None
    batch: Batch | None
    meta: RequestMeta | None = None  # the request's own _meta (stateless era)


class UnknownRequest(LookupError):
    """An id that names no request in the table (and no remembered cancelled one)."""


def progress_token_of(params: Mapping[str, Any] | None) -> RequestId | None:
    """The ``params._meta.progressToken`` of a request, if it is a valid id, else ``None``."""
    if not params:
        return None
    meta = params.get("_meta")
    if meta.__class__ is not dict:
        return None
    token = meta.get("progressToken")
    return token if is_request_id(token) else None


def _remember(memory: dict[RequestId, None], key: RequestId) -> None:
    memory[key] = None
    if len(memory) > CANCEL_MEMORY:
        del memory[next(iter(memory))]  # the oldest (dicts keep insertion order)


class RequestTable:
    """Both directions' requests of one connection (see the module docstring).

    The dicts are read directly by the connection on its hot paths (``pending``, ``progress``,
    ``serving``, ``serving_tokens``, ``cancelled_in``, ``cancelled_out``); every change goes
    through a method, which keeps them consistent (a token is registered exactly while its
    request is).
    """

    __slots__ = ("cancelled_in", "cancelled_out", "next_id", "pending", "progress", "serving",
                 "serving_tokens")

    def __init__(self, first_id: int = 1) -> None:
        self.next_id = first_id
        """The id the next request we send gets."""
        self.pending: dict[RequestId, Outgoing] = {}
        self.progress: dict[RequestId, RequestId] = {}  # our progress token -> our request
        self.cancelled_out: dict[RequestId, None] = {}
        self.serving: dict[RequestId, Incoming] = {}
        self.serving_tokens: dict[RequestId, RequestId] = {}  # peer's token -> its request
        self.cancelled_in: dict[RequestId, None] = {}

    # -- ours

    def add_pending(self, rid: int, out: Outgoing) -> None:
        """Record a request we sent under ``rid`` (the current :attr:`next_id`, which advances).

        The caller checked that ``out.progress_token`` is not in use (:attr:`progress`).
        """
        self.next_id = rid + 1
        self.pending[rid] = out
        if out.progress_token is not None:
            self.progress[out.progress_token] = rid

    def finish_pending(self, rid: RequestId) -> Outgoing:
        """Forget the pending request ``rid`` (answered); ``KeyError`` if it is not pending."""
        out = self.pending.pop(rid)
        if out.progress_token is not None:
            self.progress.pop(out.progress_token, None)
        return out

    def take_pending(self, rid: RequestId) -> Outgoing | None:
        """An answer to ``rid`` arrived: forget it and return it.

        Returns ``None`` for a late answer to a request we cancelled (the memory of it is used
        up). Raises :class:`UnknownRequest` when ``rid`` names neither.
        """
        if rid in self.pending:
            return self.finish_pending(rid)
        if rid in self.cancelled_out:
            del self.cancelled_out[rid]
            return None
        raise UnknownRequest(rid)

    def cancel_pending(self, rid: RequestId) -> Outgoing:
        """We cancel ``rid``: forget it, remembering it so its late answer is dropped.

        Raises :class:`UnknownRequest` when it is not pending.
        """
        if rid not in self.pending:
            raise UnknownRequest(rid)
        out = self.finish_pending(rid)
        _remember(self.cancelled_out, rid)
        return out

    # -- the peer's

    def add_serving(self, rid: RequestId, incoming: Incoming) -> None:
        """Record a request of the peer's we now serve (and, in a batch, wait for)."""
        self.serving[rid] = incoming
        if incoming.progress_token is not None:
            self.serving_tokens[incoming.progress_token] = rid
        if incoming.batch is not None:
            incoming.batch.waiting.add(rid)

    def take_serving(self, rid: RequestId) -> Incoming | None:
        """We answer ``rid``: forget it and return it.

        Returns ``None`` when the peer cancelled it (answering is then a no-op). Raises
        :class:`UnknownRequest` when it names neither.
        """
        incoming = self.serving.pop(rid, None)
        if incoming is None:
            if rid in self.cancelled_in:
                return None
            raise UnknownRequest(rid)
        if incoming.progress_token is not None:
            self.serving_tokens.pop(incoming.progress_token, None)
        return incoming

    def cancel_serving(self, rid: RequestId) -> Incoming:
        """The peer cancelled ``rid``: forget it, remembering it so answering it is a no-op.

        A batch member is counted as done (its batch may now be complete: see
        :meth:`finish_batch_member`, which the caller calls). Raises ``KeyError`` when it is
        not served.
        """
        incoming = self.serving.pop(rid)
        if incoming.progress_token is not None:
            self.serving_tokens.pop(incoming.progress_token, None)
        _remember(self.cancelled_in, rid)
        return incoming

    def peer_cancelled(self, rid: RequestId) -> bool:
        """Whether the peer cancelled ``rid`` and it is no longer served."""
        return rid in self.cancelled_in and rid not in self.serving

    @staticmethod
    def finish_batch_member(batch: Batch, rid: RequestId,
                            response: dict[str, Any] | None) -> list[dict[str, Any]] | None:
        """One member of ``batch`` is done (``response``: its answer, ``None``: cancelled).

        Returns the batch's responses when this was the last member waiting and there is
        something to send (the batch then starts afresh), else ``None``.
        """
        batch.waiting.discard(rid)
        if response is not None:
            batch.responses.append(response)
        if not batch.waiting and batch.responses:
            responses = batch.responses
            batch.responses = []
            return responses
        return None

    # -- both

    def drop_all(self) -> tuple[RequestId, ...]:
        """The connection ended: forget every request; return the ids of ours left pending."""
        pending = tuple(self.pending)
        self.pending.clear()
        self.progress.clear()
        self.serving.clear()
        self.serving_tokens.clear()
        return pending
