"""Outbound frames: what the engine wrote, said as fields, next to the bytes.

Every ``send_*`` call of :class:`sansio.Connection` queues one :class:`Frame`. The queue has one
drain, taken one of two ways: :meth:`~sansio.Connection.frames_to_send` returns the frames
(for layers that route them: an HTTP server puts a response on the stream of the POST that
carried its request, a notification on the stream of the request it belongs to), and
:meth:`~sansio.Connection.data_to_send` returns ``b"".join(frame.data ...)`` of the same frames
(for byte streams: stdio). Either call empties the queue. No layer needs to decode what the
engine encoded: the fields say what each frame is.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Any

import attrs

from .jsonrpc import RequestId

__all__ = ["Frame", "FrameKind"]


class FrameKind(enum.Enum):
    """What one outbound frame is."""

    REQUEST = "request"
    NOTIFICATION = "notification"
    RESPONSE = "response"
    """A successful response (``result``)."""
    ERROR = "error"
    """An error response."""
    BATCH = "batch"
    """A JSON array answering an incoming batch (2025-03-26 only): see ``batch_ids``."""


@attrs.define(slots=True)
class Frame:
    """One JSON-RPC message (or batch answer) the engine wrote.

    Compares by value. Treat it as read-only: it is not frozen only because a frozen attrs
    class costs about three times as much to build, and the engine builds one per message.

    Attributes:
        kind: what the frame is.
        data: the bytes to write: one JSON text followed by ``b"\\n"`` (an NDJSON line, and a
            valid HTTP body).
        request_id: for a request, its id; for a response or an error, the id it answers
            (``None`` for an error answering a frame whose id could not be read); ``None`` for
            notifications and batches.
        related_request_id: the request of the peer this frame belongs to: for a response or
            error, the same as ``request_id``; for a notification (progress, a log message, a
            cancellation) or a server-to-client request, the peer's request being served that
            it goes with, when the engine knows it; for a notification of a
            ``subscriptions/listen`` stream (its acknowledgement, a list-changed or
            resource-updated copy, the server's cancellation of it), the listen request: an
            HTTP server writes it on that request's SSE stream; else ``None``.
        method: for a request or notification, its method; for a response or error, the
            method of the request it answers (``None`` when unknown).
        protocol_version: the revision the frame was written for, when the engine knows it
            (the negotiated one in the handshake era, the request's own in the stateless era).
        batch_ids: for a ``BATCH``, the ids of the requests it answers; else ``()``.
        params: for a request or notification, the ``params`` object the engine encoded in
            ``data`` (the very object, not a copy: read it, never change it), so a message
            transport that needs a field of it (an HTTP client's ``Mcp-Name`` and
            ``Mcp-Param-*`` headers, the request a cancellation names) reads it here instead
            of decoding ``data``; ``None`` without params and for responses, errors, batches.
    """

    kind: FrameKind
    data: bytes
    request_id: RequestId | None = None
    related_request_id: RequestId | None = None
    method: str | None = None
    protocol_version: str | None = None
    batch_ids: tuple[RequestId, ...] = ()
    params: Mapping[str, Any] | None = None

    @property
    def answers(self) -> tuple[RequestId, ...]:
        """The ids of the peer's requests this frame answers (none for requests and
        notifications)."""
        if self.kind is FrameKind.BATCH:
            return self.batch_ids
        if (self.kind is FrameKind.RESPONSE or self.kind is FrameKind.ERROR) and \
                self.request_id is not None:
            return (self.request_id,)
        return ()
