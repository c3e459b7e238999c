"""Frames in: size and depth limits, decoding, classification, batches.

:class:`FramesMixin` takes one frame (an NDJSON line, a whole message, or an already decoded
value) to messages: the ``max_frame_size`` and ``max_depth`` limits, the codec's decode, the one
classifier :func:`sansio.jsonrpc.classify` (with :func:`~sansio.jsonrpc.decode_message` as the
reference for what is valid), and JSON-RPC batches (allowed in 2025-03-26 only), whose members'
answers are collected into one batch response.
"""

from __future__ import annotations

from typing import Any

from . import _codec
from ._core import Refusal
from ._inbound import InboundMixin
from ._requests import Batch
from .errors import ErrorCode, RemoteProtocolError
from .frames import Frame, FrameKind
from .framing import FrameTooLarge
from .jsonrpc import (
    ErrorResponse,
    FrameError,
    MessageKind,
    Notification,
    Request,
    Response,
    batch_refusal,
    classify,
    decode_message,
    too_deep,
)
from .state import Trigger

__all__ = ["FramesMixin"]

_REQUEST, _NOTIFICATION = MessageKind.REQUEST, MessageKind.NOTIFICATION
_RESPONSE, _ERROR, _INVALID = MessageKind.RESPONSE, MessageKind.ERROR, MessageKind.INVALID


class FramesMixin(InboundMixin):
    """Frame limits, decoding and batches."""

    __slots__ = ()

    def _next_frame(self) -> Any:
        """The next buffered message or NDJSON line, or ``None``."""
        if self._inbox:
            return self._inbox.popleft()
        try:
            return self._lines.next_line()
        except FrameTooLarge as exc:
            # Fatal (the stream cannot be resynchronised), but answered first: JSON-RPC's
            # -32600 with no id (the frame's id was never read), which the adapter writes
            # before it closes.
            refusal = self._refuse(str(exc), ErrorCode.INVALID_REQUEST, None, answer=True)
            refusal.fatal = True
            self._lifecycle.process(Trigger.PROTOCOL_ERROR)
            raise refusal from None

    def _handle_frame(self, frame: Any) -> None:
        """Apply the size and depth limits to one frame, decode it, and dispatch it."""
        if isinstance(frame, (bytes, str, bytearray)):
            if len(frame) > self._max_frame_size:
                raise self._refuse(
                    f"message exceeds max_frame_size ({self._max_frame_size} bytes)",
                    ErrorCode.INVALID_REQUEST, None, answer=True)
            try:
                obj = self._loads(frame)
            except _codec.DecodeError as exc:
                raise self._refuse(f"parse error: {exc}", ErrorCode.PARSE_ERROR, None,
                                   answer=True) from None
            raw = frame.encode("utf-8", "replace") if isinstance(frame, str) else frame
            if raw.count(b"{") + raw.count(b"[") > self._max_depth and too_deep(
                    obj, self._max_depth):
                raise self._refuse(f"frame nests deeper than max_depth ({self._max_depth})",
                                   ErrorCode.INVALID_REQUEST, None, answer=True)
        else:
            obj = frame
            if too_deep(obj, self._max_depth):
                raise self._refuse(f"message nests deeper than max_depth ({self._max_depth})",
                                   ErrorCode.INVALID_REQUEST, None, answer=True)
        if obj.__class__ is list:
            self._handle_batch(obj)
        else:
            self._handle_obj(obj, None)

    def _handle_batch(self, items: list[Any]) -> None:
        # (The stateless era's revision never has batches: it is named in the refusal.)
        """A JSON-RPC batch: refused but in 2025-03-26; each member dispatched alone."""
        why = batch_refusal(self._version or self._era_version)
        if why is not None:
            raise self._refuse(why, ErrorCode.INVALID_REQUEST, None, answer=True)
        if not items:
            raise self._refuse("empty batch", ErrorCode.INVALID_REQUEST, None, answer=True)
        batch = Batch()
        for item in items:
            try:
                self._handle_obj(item, batch)
            except Refusal as exc:
                if exc.response_obj is not None:
                    batch.responses.append(exc.response_obj)
        if not batch.waiting and batch.responses:
            hint = self._dumps_line(batch.responses)
            refusal = RemoteProtocolError("batch had no valid requests",
                                          ErrorCode.INVALID_REQUEST, response_hint=hint)
            refusal.response_frame = Frame(
                FrameKind.BATCH, hint, protocol_version=self._version,
                batch_ids=tuple(r["id"] for r in batch.responses if r.get("id") is not None))
            raise refusal

    def _handle_obj(self, obj: Any, batch: Batch | None) -> None:
        # classify (the one classifier) says what the message is; the well-formed common
        # cases are then dispatched without building a message object. All else, including
        # every malformed message, goes through decode_message, which is the reference for
        # what is valid and gives the error.
        """Dispatch one decoded message by its kind (:func:`~sansio.jsonrpc.classify`)."""
        kind = classify(obj)
        if kind is _RESPONSE:
            result = obj.get("result")
            rid = obj.get("id")
            if (result.__class__ is dict and obj.get("jsonrpc") == "2.0"
                    and (rid.__class__ is int or rid.__class__ is str)):
                self._on_response(rid, result)
                return
        elif kind is not _ERROR and kind is not _INVALID and obj.get("jsonrpc") == "2.0":
            method = obj.get("method")
            params = obj.get("params")
            if method.__class__ is str and (
                    params.__class__ is dict or (params is None and "params" not in obj)):
                if kind is _NOTIFICATION:
                    self._on_notification(method, params)
                    return
                rid = obj.get("id")
                if rid.__class__ is int or rid.__class__ is str:
                    self._on_request(rid, method, params, batch)
                    return
        try:
            msg = decode_message(obj)
        except FrameError as exc:
            if exc.is_request:
                raise self._refuse(str(exc), exc.code, exc.request_id, answer=True) from None
            # A malformed response. If it names a request of ours, that request is finished.
            rid = exc.request_id
            finished = None
            if rid is not None and rid in self._requests.pending:
                self._requests.finish_pending(rid)
                finished = rid
            raise RemoteProtocolError(f"malformed response: {exc}", exc.code,
                                      finished_request=finished) from None
        cls = msg.__class__
        if cls is Request:
            assert isinstance(msg, Request)
            self._on_request(msg.id, msg.method, msg.params, batch)
        elif cls is Notification:
            assert isinstance(msg, Notification)
            self._on_notification(msg.method, msg.params)
        elif cls is Response:
            assert isinstance(msg, Response)
            self._on_response(msg.id, msg.result)
        else:
            assert isinstance(msg, ErrorResponse)
            self._on_error_response(msg)
