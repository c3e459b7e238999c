"""What the ``send_*`` methods of :class:`sansio.Connection` queue.

:class:`OutboundMixin` holds their bodies: the state, direction, revision and capability
checks of what this side sends, the stateless era's stamping of requests and completion of
results (:mod:`sansio._stateless`), the lifecycle moves (:data:`sansio.state.MESSAGE_TRIGGERS`)
and the request bookkeeping, then appends the frame to the one outbound queue. The public
methods, with their contracts, are :class:`~sansio.connection.Connection`'s.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from . import _codec, _stateless, task_client
from ._core import CANCELLED, LOG, PROGRESS, Queued
from ._handshake import HandshakeMixin
from ._listen import ListenMixin
from ._mrtr import MRTR_FIELDS, MrtrMixin
from ._requests import Outgoing, UnknownRequest, progress_token_of
from .capabilities import PARAMS_DEPENDENT, missing_capability
from .errors import ErrorCode, LocalProtocolError
from .frames import FrameKind
from .jsonrpc import RequestId, error_response_obj, is_request_id
from .mrtr import MRTR_METHODS
from .state import (
    LIFECYCLE_NOTIFICATIONS,
    LIFECYCLE_REQUESTS,
    UNCANCELLABLE,
    Role,
    State,
    Step,
    Trigger,
)
from .subscriptions import LISTEN_METHOD, NOTIFICATION_FILTER_FIELDS
from .tasks import EXTENSION_REQUESTS

TASKS_NOTIFICATION = "notifications/tasks"

__all__ = ["OutboundMixin"]

_CLOSED, _ERROR = State.CLOSED, State.ERROR


class OutboundMixin(HandshakeMixin, MrtrMixin, ListenMixin):
    """The bodies of the ``send_*`` methods."""

    __slots__ = ()

    def _queue_request(
        self,
        method: str,
        params: Mapping[str, Any] | Any = None,
        *,
        progress_token: RequestId | None = None,
        log_level: str | None = None,
        related_request_id: RequestId | None = None,
        input_responses: Mapping[str, Any] | None = None,
        request_state: str | None = None,
    ) -> RequestId:
        """The body of :meth:`sansio.Connection.send_request`."""
        # (The hot path: _check_open, _payload and _encode are called only when their fast
        # case does not hold, so the facade's call costs nothing overall.)
        state = self._lifecycle.state
        if state is _CLOSED or state is _ERROR:
            self._check_open()
        payload: dict[str, Any] | None = params if params is None or params.__class__ is dict \
            else self._payload(params)
        keep: dict[str, Any] | None = None
        if self._stamp and method in MRTR_METHODS:
            keep = {k: v for k, v in payload.items() if k not in MRTR_FIELDS} \
                if payload else {}
        if input_responses is not None or request_state is not None:
            payload = self._retry_payload(method, payload, input_responses, request_state)
        if method in LIFECYCLE_REQUESTS:
            # Who may send it is MESSAGE_TRIGGERS's row, not a role test.
            trigger = self._triggers.get((method, Step.SEND_REQUEST))
            if trigger is None:
                raise LocalProtocolError(f"only a {self._role.peer.value} sends {method}")
            self._check_initialize_params(payload)
            if not self._lifecycle.can(trigger):
                raise LocalProtocolError(
                    "initialize may be sent only once, first, and only by a client")
        else:
            trigger = None
            if method not in self._send_checked:
                self._check_send_method(method, "request")
                missing = None if self._peer_caps is None or (
                    # the tasks extension's requests need no core capability
                    method in EXTENSION_REQUESTS and self._lifecycle.traffic.per_request
                ) else missing_capability(method, payload, self._peer_caps, self._version)
                if missing is not None:
                    raise LocalProtocolError(
                        f"the {self._role.peer.value} did not advertise the {missing!r} "
                        f"capability that {method!r} needs", ErrorCode.METHOD_NOT_FOUND)
                if (self._lifecycle.state is State.OPERATING
                        and method not in PARAMS_DEPENDENT):
                    self._send_checked.add(method)
        if progress_token is not None:
            if not is_request_id(progress_token):
                raise LocalProtocolError("progress_token must be an int or a str")
            payload = dict(payload) if payload else {}
            meta = payload.get("_meta")
            payload["_meta"] = {**meta, "progressToken": progress_token} \
                if isinstance(meta, Mapping) else {"progressToken": progress_token}
        if self._stamp:
            payload = _stateless.stamped(payload, self._stamp, log_level)
        elif log_level is not None:
            raise LocalProtocolError("log_level is for a client in the stateless era")
        token = progress_token_of(payload) if progress_token is None else progress_token
        requests = self._requests
        if token is not None and token in requests.progress:
            raise LocalProtocolError(f"progress token {token!r} is already in use")
        rid = requests.next_id
        obj: dict[str, Any] = {"jsonrpc": "2.0", "id": rid, "method": method}
        if payload is not None:
            obj["params"] = payload
        try:
            data = self._dumps_line(obj)
        except _codec.EncodeError:
            data = self._encode(obj)  # raises the LocalProtocolError
        frame: Queued = (FrameKind.REQUEST, data, rid, related_request_id, method,
                          self._version or self._era_version, (), payload)
        if method == LISTEN_METHOD and self._stamp:
            self._register_listen(rid, payload)
        if trigger is not None:
            self._lifecycle.process(trigger)
            assert payload is not None
            self._init_id = rid
            self._our_caps = payload["capabilities"]
        requests.add_pending(rid, Outgoing(
            method, token, keep,
            method in task_client.TASK_METHODS
            and task_client.task_augmented(payload, bool(self._stamp))))
        self._outbound.append(frame)
        return rid

    def _queue_notification(self, method: str, params: Mapping[str, Any] | Any = None, *,
                          related_request_id: RequestId | None = None) -> None:
        """The body of :meth:`sansio.Connection.send_notification`."""
        self._check_open()
        payload = self._payload(params)
        if method == CANCELLED:
            rid = payload.get("requestId") if payload else None
            if not is_request_id(rid):
                raise LocalProtocolError("notifications/cancelled needs a requestId")
            reason = payload.get("reason") if payload else None
            self._queue_cancel(rid, reason)  # type: ignore[arg-type]
            return
        if method == TASKS_NOTIFICATION and self._lifecycle.traffic.per_request and \
                self._role is Role.SERVER:
            # The tasks extension's notification: only listen streams carry it.
            self._route_to_listens(method, payload, related_request_id)
            return
        self._check_send_method(method, "notification")
        # (Only a server gets here with these: the direction check above refuses a client.)
        if method in NOTIFICATION_FILTER_FIELDS and self._lifecycle.traffic.per_request:
            self._route_to_listens(method, payload, related_request_id)
            return
        related = related_request_id
        if method == PROGRESS:
            token = payload.get("progressToken") if payload else None
            serving_tokens = self._requests.serving_tokens
            if token not in serving_tokens:
                return  # the request ended (or never asked for progress): nothing to say
            related = serving_tokens[token]
        version = self._version or self._era_version
        serving = self._requests.serving
        if related is not None and related in serving:
            meta = serving[related].meta
            if meta is not None:
                version = meta.version
        if method == LOG and self._lifecycle.traffic.per_request:
            incoming = serving.get(related) if related is not None else None
            if incoming is None:
                raise LocalProtocolError(
                    "notifications/message is request-scoped in the stateless era: pass the "
                    "related_request_id of a request being served")
            if not _stateless.log_allowed(related, incoming.meta, payload):
                return  # below the level the request asked for
        obj: dict[str, Any] = {"jsonrpc": "2.0", "method": method}
        if payload is not None:
            obj["params"] = payload
        frame: Queued = (FrameKind.NOTIFICATION, self._encode(obj), None, related, method,
                          version, (), payload)
        if method in LIFECYCLE_NOTIFICATIONS:
            trigger = self._triggers.get((method, Step.SEND_NOTIFICATION))
            if trigger is None:
                raise LocalProtocolError(f"only a {self._role.peer.value} sends {method}")
            self._lifecycle.process(trigger)
        self._outbound.append(frame)

    def _queue_response(self, request_id: RequestId, result: Mapping[str, Any] | Any) -> None:
        """The body of :meth:`sansio.Connection.send_response`."""
        state = self._lifecycle.state
        if state is _CLOSED or state is _ERROR:
            self._check_open()
        payload: dict[str, Any] | None = result if result.__class__ is dict \
            else self._payload(result)
        if payload is None:
            raise LocalProtocolError("a result must be an object (use {} for an empty result)")
        incoming = self._requests.serving.get(request_id)
        trigger = self._triggers.get((incoming.method, Step.SEND_RESULT)) \
            if incoming is not None and incoming.method in LIFECYCLE_REQUESTS else None
        is_init = trigger is Trigger.SEND_INITIALIZE_RESULT
        version = self._version
        if is_init:
            payload = self._initialize_result(payload)
            version = payload["protocolVersion"]
        elif incoming is not None and incoming.meta is not None:
            payload = _stateless.complete_result(incoming.meta, incoming.method, payload,
                                                 self._server_info)
            version = incoming.meta.version
        obj = {"jsonrpc": "2.0", "id": request_id, "result": payload}
        data = b""
        if incoming is None or incoming.batch is None:
            try:
                data = self._dumps_line(obj)
            except _codec.EncodeError:
                data = self._encode(obj)  # raises the LocalProtocolError
        try:  # (inlined _take_serving: the hot path)
            incoming = self._requests.take_serving(request_id)
        except UnknownRequest:
            raise LocalProtocolError(f"there is no request {request_id!r} to answer") from None
        if incoming is None:
            return
        if self._listens is not None:
            self._listens.cancel(request_id)  # answering a listen ends its stream
        if trigger is not None:
            self._lifecycle.process(trigger)
            self._version = payload["protocolVersion"]
            self._our_caps = payload["capabilities"]
        if incoming.batch is not None:
            self._finish_batch_member(incoming.batch, request_id, obj)
        else:
            self._outbound.append((FrameKind.RESPONSE, data, request_id, request_id,
                                   incoming.method, version, (), None))

    def _queue_error(
        self, request_id: RequestId, code: int, message: str, data: Any = None
    ) -> None:
        """The body of :meth:`sansio.Connection.send_error`."""
        self._check_open()
        if code.__class__ is not int and not isinstance(code, ErrorCode):
            raise LocalProtocolError("an error code must be an integer")
        obj = error_response_obj(request_id, code, message, data)
        incoming = self._requests.serving.get(request_id)
        data_ = self._encode(obj) if incoming is None or incoming.batch is None else b""
        incoming = self._take_serving(request_id)
        if incoming is None:
            return
        trigger = self._triggers.get((incoming.method, Step.SEND_ERROR)) \
            if incoming.method in LIFECYCLE_REQUESTS else None
        if trigger is Trigger.SEND_INITIALIZE_ERROR:
            self._lifecycle.process(trigger)
            self._init_id = None
            self._peer_info = self._peer_caps = None
        if incoming.batch is not None:
            self._finish_batch_member(incoming.batch, request_id, obj)
        else:
            self._outbound.append((
                FrameKind.ERROR, data_, request_id, request_id, incoming.method,
                incoming.meta.version if incoming.meta is not None else self._version, (),
                None))

    def _queue_cancel(self, request_id: RequestId, reason: str | None = None) -> None:
        """The body of :meth:`sansio.Connection.cancel`."""
        self._check_open()
        out = self._requests.pending.get(request_id)
        if out is None:
            raise LocalProtocolError(f"there is no pending request {request_id!r} to cancel")
        if out.method in UNCANCELLABLE:
            raise LocalProtocolError(f"{out.method} cannot be cancelled")
        params: dict[str, Any] = {"requestId": request_id}
        if reason is not None:
            params["reason"] = reason
        frame: Queued = (
            FrameKind.NOTIFICATION,
            self._encode({"jsonrpc": "2.0", "method": CANCELLED, "params": params}),
            None, None, CANCELLED, self._version or self._era_version, (), params)
        self._requests.cancel_pending(request_id)
        if self._listening is not None and request_id in self._listening:
            self._listening.cancel(request_id)
        self._outbound.append(frame)
