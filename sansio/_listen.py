"""``subscriptions/listen`` bookkeeping of the engine (2026-07-28), for both roles.

:mod:`sansio.subscriptions` holds the streams themselves (:class:`ServerSubscriptions`,
:class:`ClientSubscriptions`); :class:`ListenMixin` connects them to the connection: a client
registering the listens it sends and sorting the notifications and cancellations that belong
to them, a server opening and ending streams and routing list-changed/updated notifications
to the streams that asked for them.

https://modelcontextprotocol.io/specification/2026-07-28/basic/utilities/subscriptions
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Final

from ._core import CANCELLED, EngineCore, Queued
from ._requests import Incoming
from .errors import ErrorCode, LocalProtocolError
from .events import ListenAcknowledged, ListenEnded, NotificationReceived
from .frames import FrameKind
from .jsonrpc import RequestId
from .subscriptions import (
    ACKNOWLEDGED_METHOD,
    LISTEN_METHOD,
    Acknowledged,
    ClientSubscriptions,
    ListenRefused,
    ListenStream,
    ServerSubscriptions,
    StreamEnd,
    SubscriptionEnded,
    SubscriptionFilter,
    SubscriptionNotification,
    SubscriptionViolation,
)
from .tasks import client_declares_tasks, missing_extension_error

__all__ = ["ListenMixin"]

HONOUR_ALL: Final = {"tools": {"listChanged": True}, "prompts": {"listChanged": True},
                     "resources": {"listChanged": True, "subscribe": True}}
"""What a server without ``server_capabilities`` honours on a listen: everything asked."""


class ListenMixin(EngineCore):
    """Listen streams of both roles."""

    __slots__ = ()

    def _on_listen_cancelled(self, params: dict[str, Any] | None) -> bool:
        """(Client) A ``notifications/cancelled`` of one of our listens: True when it was."""
        assert self._listening is not None
        try:
            outcome = self._listening.receive_notification(CANCELLED, params)
        except SubscriptionViolation:
            return False
        if isinstance(outcome, SubscriptionEnded):
            rid = outcome.subscription_id
            if rid in self._requests.pending:
                self._requests.finish_pending(rid)
            reason = params.get("reason") if params else None
            self._events.append(ListenEnded(rid, reason if reason.__class__ is str else None))
            return True
        return outcome is not None  # a stale one (the answer came first): dropped

    def _on_subscription_note(self, method: str, params: dict[str, Any] | None) -> bool:
        """(Client) A notification of one of our listen streams: True when it was handled."""
        assert self._listening is not None
        try:
            outcome = self._listening.receive_notification(method, params)
        except SubscriptionViolation as exc:
            raise self._refuse(f"dropped {method}: {exc}", ErrorCode.INVALID_REQUEST, None,
                               answer=False) from None
        if outcome is None:
            return False
        if isinstance(outcome, Acknowledged):
            self._events.append(ListenAcknowledged(outcome.subscription_id, outcome.requested,
                                                   outcome.honoured))
        elif isinstance(outcome, SubscriptionNotification):
            self._events.append(NotificationReceived(method, params, outcome.subscription_id))
        # A stale notification (its stream already ended) is dropped, as the spec says.
        return True

    def _register_listen(self, rid: RequestId, payload: dict[str, Any] | None) -> None:
        """(Client) Remember a listen we send, with its filter."""
        try:
            wanted = SubscriptionFilter.from_json((payload or {}).get("notifications"))
        except ValueError as exc:
            raise LocalProtocolError(f"subscriptions/listen: {exc}",
                                     ErrorCode.INVALID_PARAMS) from None
        if self._listening is None:
            self._listening = ClientSubscriptions(max_streams=self._max_listens)
        try:
            self._listening.listen(rid, wanted)
        except ListenRefused as exc:
            raise LocalProtocolError(str(exc), exc.code) from None

    def _route_to_listens(self, method: str, payload: dict[str, Any] | None,
                          only: RequestId | None) -> None:
        """(Server) Queue one copy of a notification per open stream that asked for it."""
        if self._listens is None:
            return
        try:
            deliveries = self._listens.route(method, payload)
        except ValueError as exc:
            raise LocalProtocolError(str(exc)) from None
        frames: list[Queued] = []
        for delivery in deliveries:
            sid = delivery.subscription_id
            if only is not None and sid != only:
                continue
            incoming = self._requests.serving.get(sid)
            version = incoming.meta.version if incoming is not None and \
                incoming.meta is not None else self._era_version
            message = delivery.to_json()
            frames.append((FrameKind.NOTIFICATION, self._encode(message), None, sid,
                           method, version, (), message.get("params")))
        self._outbound.extend(frames)

    def _serving_listen(self, request_id: RequestId) -> Incoming:
        """(Server) The stateless-era listen request ``request_id`` being served."""
        incoming = self._requests.serving.get(request_id)
        if incoming is None:
            raise LocalProtocolError(f"there is no request {request_id!r} being served")
        if incoming.method != LISTEN_METHOD or incoming.meta is None:
            raise LocalProtocolError(f"request {request_id!r} is {incoming.method!r}, not a "
                                     "stateless-era subscriptions/listen")
        return incoming

    def _open_listen(self, request_id: RequestId, params: Mapping[str, Any] | None,
                     accept_uri: Callable[[str], bool] | None) -> ListenStream | None:
        """(Server) Open the stream of a listen being served and queue its acknowledgement;
        ``None`` when the client already cancelled it. Raises as
        :meth:`sansio.Connection.accept_listen`."""
        if self._requests.peer_cancelled(request_id):
            return None
        incoming = self._serving_listen(request_id)
        assert incoming.meta is not None
        if self._listens is None:
            self._listens = ServerSubscriptions(
                self._server_caps if self._server_caps is not None else HONOUR_ALL,
                max_streams=self._max_listens)
        if request_id in self._listens:
            raise LocalProtocolError(f"the stream of {request_id!r} is already open")
        wanted = params.get("notifications") if isinstance(params, Mapping) else None
        if isinstance(wanted, Mapping) and wanted.get("taskIds") and \
                not client_declares_tasks(incoming.meta.client_capabilities):
            missing = missing_extension_error("subscriptions/listen with taskIds")
            raise ListenRefused(missing.message, missing.code, missing.data)
        stream = self._listens.open(request_id, params, accept_uri=accept_uri)
        ack = stream.acknowledgement
        try:
            data = self._encode(ack.to_json())
        except LocalProtocolError:  # pragma: no cover - the filter is JSON by construction
            self._listens.cancel(request_id)
            raise
        self._outbound.append((FrameKind.NOTIFICATION, data, None, request_id,
                               ACKNOWLEDGED_METHOD, incoming.meta.version, (), None))
        return stream

    def _end_listen_stream(self, request_id: RequestId,
                           reason: str | None) -> tuple[StreamEnd, str] | None:
        """(Server) Close an accepted listen's stream: what to write and the request's
        revision; ``None`` when the client already cancelled it. Raises as
        :meth:`sansio.Connection.end_listen`."""
        if self._requests.peer_cancelled(request_id):
            return None
        incoming = self._serving_listen(request_id)
        assert incoming.meta is not None
        if self._listens is None or request_id not in self._listens:
            raise LocalProtocolError(f"the stream of {request_id!r} was not accepted: answer "
                                     "the request with send_response or send_error")
        return self._listens.end(request_id, reason), incoming.meta.version

    def _queue_listen_cancelled(self, request_id: RequestId, params: dict[str, Any],
                                version: str) -> None:
        """(Server) Queue the ``notifications/cancelled`` that ends a listen on stdio."""
        self._outbound.append((
            FrameKind.NOTIFICATION,
            self._encode({"jsonrpc": "2.0", "method": CANCELLED, "params": params}),
            None, request_id, CANCELLED, version, (), params))
