"""What the engine does with each received message, once it is decoded and classified.

:class:`InboundMixin` dispatches requests, notifications, responses and error responses:
the state and direction rules (:data:`sansio.state.TRAFFIC`), the method and capability checks,
the params and result validation, and the request bookkeeping
(:class:`sansio._requests.RequestTable`), then queues the event. The era-specific parts are the
mixins it builds on: the handshake (:mod:`sansio._handshake`), the stateless era's per-request
judgement (:mod:`sansio._stateless`), input_required rounds (:mod:`sansio._mrtr`) and listen
streams (:mod:`sansio._listen`).
"""

from __future__ import annotations

from typing import Any

import attrs

from ._core import CANCELLED, PROGRESS
from ._handshake import HandshakeMixin
from ._listen import ListenMixin
from ._mrtr import MrtrMixin
from ._requests import Batch, Incoming, UnknownRequest, progress_token_of
from ._stateless import StatelessMixin
from .capabilities import PARAMS_DEPENDENT, missing_capability
from .errors import ErrorCode, RemoteProtocolError
from .events import (
    ErrorReceived,
    Initialized,
    NotificationReceived,
    ProgressReceived,
    RequestCancelled,
    RequestReceived,
    ResponseReceived,
)
from .jsonrpc import ErrorResponse, RequestId, is_request_id
from .state import (
    LIFECYCLE_NOTIFICATIONS,
    LIFECYCLE_REQUESTS,
    UNCANCELLABLE,
    State,
    Step,
    Trigger,
)
from .tasks import EXTENSION_REQUESTS
from .types import ExtCreateTaskResult, MethodSpec, TypeValidationError, structure
from .versions import RequestMeta, modern_version_of

TASK_CREATING = frozenset({"tools/call"})
"""Requests a server may answer with a task handle (``resultType: "task"``)."""

__all__ = ["InboundMixin"]

_NEVER_BUSY = frozenset({"initialize", "ping"})
"""Requests the concurrency cap never refuses (the handshake, and the liveness check)."""


class InboundMixin(HandshakeMixin, StatelessMixin, MrtrMixin, ListenMixin):
    """Dispatch of received messages."""

    __slots__ = ()

    def _on_request(self, rid: RequestId, method: str, params: dict[str, Any] | None,
                    batch: Batch | None) -> None:
        """A request: judged by the era's rules, then served (RequestReceived)."""
        requests = self._requests
        if rid in requests.serving:
            raise self._refuse(f"duplicate request id {rid!r}: a request with this id is "
                               "still being served", ErrorCode.INVALID_REQUEST, rid, answer=True)
        meta: RequestMeta | None = None
        if method in self._recv_checked:
            spec = self._recv_checked[method]
        elif self._lifecycle.traffic.judge_by_meta or (
                self._lifecycle.traffic.enter_by_meta and self._stateless
                and modern_version_of(params) is not None):
            # Stateless era, or the first message of a dual-era server naming a modern
            # revision: the request is judged by its own _meta.
            meta, spec = self._check_stateless_request(rid, method, params)
        else:
            if (method in LIFECYCLE_REQUESTS
                    and self._triggers.get((method, Step.RECV_REQUEST)) is Trigger.RECV_INITIALIZE):
                self._on_initialize(rid, params, batch)
                return
            spec = self._check_incoming_request(rid, method, params)
        if spec is not None and self._validate:
            self._check_params(spec, params, rid, answer=True)
        cap = self._max_serving
        if cap is not None and len(requests.serving) >= cap and method not in _NEVER_BUSY:
            raise self._refuse(
                f"server busy: this session already serves {cap} requests "
                "(max_concurrent_requests); retry later", ErrorCode.SERVER_BUSY, rid,
                answer=True, data={"maxConcurrentRequests": cap})
        token = progress_token_of(params)
        requests.add_serving(rid, Incoming(method, token, batch, meta))
        self._events.append(RequestReceived(rid, method, params, token, meta))

    def _check_incoming_request(self, rid: RequestId, method: str,
                                params: dict[str, Any] | None) -> MethodSpec | None:
        """Refuse a request the state, direction, revision or our capabilities do not allow.

        Returns the method's spec (``None`` for methods the engine does not know).
        """
        lifecycle = self._lifecycle
        allowed = lifecycle.traffic.receive
        if allowed is not None and method not in allowed:
            if lifecycle.state in (State.CLOSED, State.ERROR):  # pragma: no cover - guarded
                raise self._refuse("connection is closed", ErrorCode.INVALID_REQUEST, rid,
                                   answer=False)
            raise self._refuse(
                f"{method!r} is not allowed before initialization is complete "
                f"(state {lifecycle.state.name})", ErrorCode.INVALID_REQUEST, rid, answer=True)
        spec = self._peer_requests.get(method)
        if spec is None:
            if method in self._our_requests:
                raise self._refuse(f"method not found: a {self._role.peer.value} does not "
                                   f"send {method!r}", ErrorCode.METHOD_NOT_FOUND, rid,
                                   answer=True)
        else:
            if not self._spec_live(spec):
                raise self._refuse(f"method not found: {method!r} is not part of protocol "
                                   f"version {self._version}", ErrorCode.METHOD_NOT_FOUND, rid,
                                   answer=True)
            missing = missing_capability(method, params, self._our_caps, self._version)
            if missing is not None:
                raise self._refuse(f"method not found: {method!r} needs the {missing!r} "
                                   f"capability, which this {self._role.value} did not "
                                   "advertise", ErrorCode.METHOD_NOT_FOUND, rid, answer=True)
        if lifecycle.state is State.OPERATING and method not in PARAMS_DEPENDENT:
            self._recv_checked[method] = spec
        return spec

    def _on_notification(self, method: str, params: dict[str, Any] | None) -> None:
        """A notification: the state, direction and revision rules, then its event."""
        allowed = self._lifecycle.traffic.receive
        if allowed is not None and method not in allowed:
            raise self._refuse(f"notification {method!r} is not allowed in state "
                               f"{self._lifecycle.state.name}", ErrorCode.INVALID_REQUEST, None,
                               answer=False)
        if method == CANCELLED:
            self._on_cancelled(params)
            return
        if method == PROGRESS:
            self._on_progress(params)
            return
        spec = self._peer_notes.get(method)
        if spec is None:
            if method in self._our_notes:
                raise self._refuse(f"a {self._role.peer.value} does not send {method!r}",
                                   ErrorCode.INVALID_REQUEST, None, answer=False)
        elif self._lifecycle.traffic.per_request and not self._spec_live(spec):
            raise self._refuse(f"notification {method!r} is not part of protocol version "
                               f"{self._era_version}", ErrorCode.INVALID_REQUEST, None,
                               answer=False)
        elif self._validate:
            self._check_params(spec, params, None, answer=False)
        if method in LIFECYCLE_NOTIFICATIONS:
            trigger = self._triggers.get((method, Step.RECV_NOTIFICATION))
            if trigger is Trigger.RECV_INITIALIZED and self._lifecycle.can(trigger):
                self._lifecycle.process(trigger)
                assert self._version is not None and self._peer_info is not None
                self._events.append(Initialized(
                    protocol_version=self._version, peer_info=self._peer_info,
                    peer_capabilities=self._peer_caps or {}))
                return
            raise self._refuse("unexpected notifications/initialized", ErrorCode.INVALID_REQUEST,
                               None, answer=False)
        if self._listening is not None and self._on_subscription_note(method, params):
            return
        self._events.append(NotificationReceived(method, params))

    def _on_cancelled(self, params: dict[str, Any] | None) -> None:
        """``notifications/cancelled``: stop serving the request (RequestCancelled)."""
        rid = params.get("requestId") if params else None
        if not is_request_id(rid):
            # 2025-11-25 tasks are cancelled with tasks/cancel, not this; nothing to do.
            return
        assert rid is not None
        if self._listening is not None and self._on_listen_cancelled(params):
            return
        if self._listens is not None:
            self._listens.cancel(rid)
        incoming = self._requests.serving.get(rid)
        if incoming is None or incoming.method in UNCANCELLABLE:
            return  # already answered (a race), unknown, or initialize (which can't be cancelled)
        self._requests.cancel_serving(rid)
        if incoming.batch is not None:
            self._finish_batch_member(incoming.batch, rid, None)
        reason = params.get("reason") if params else None
        self._events.append(RequestCancelled(rid, reason if reason.__class__ is str else None))

    def _on_progress(self, params: dict[str, Any] | None) -> None:
        """``notifications/progress`` for one of our requests (ProgressReceived)."""
        if not params:
            raise self._refuse("notifications/progress requires params",
                               ErrorCode.INVALID_PARAMS, None, answer=False)
        token = params.get("progressToken")
        progress = params.get("progress")
        total = params.get("total")
        message = params.get("message")
        if (not is_request_id(token) or progress.__class__ not in (int, float)
                or (total is not None and total.__class__ not in (int, float))
                or (message is not None and message.__class__ is not str)):
            raise self._refuse("invalid params for notifications/progress",
                               ErrorCode.INVALID_PARAMS, None, answer=False)
        assert token is not None
        rid = self._requests.progress.get(token)
        if rid is None:
            return  # progress for a finished or unknown request: dropped
        self._events.append(ProgressReceived(rid, token, progress, total, message))

    def _on_response(self, rid: RequestId, result: dict[str, Any]) -> None:
        """A result for one of our requests: checked, then ResponseReceived."""
        try:  # (inlined _take_pending: the hot path)
            out = self._requests.take_pending(rid)
        except UnknownRequest:
            raise self._refuse(f"response to unknown request id {rid!r}",
                               ErrorCode.INVALID_REQUEST, None, answer=False) from None
        if out is None:
            return
        if self._listening is not None:
            self._listening.receive_response(rid)
        if out.method in LIFECYCLE_REQUESTS and (
                self._triggers.get((out.method, Step.RECV_RESULT))
                is Trigger.RECV_INITIALIZE_RESULT):
            self._on_initialize_result(rid, result)
            return
        typed: Any = None
        result_type: str | None = None
        if self._lifecycle.traffic.per_request:
            result_type = result.get("resultType", "complete")
            if result_type == "input_required":
                self._on_input_required(rid, out, result)
                return
            if result_type == "task" and out.method in TASK_CREATING and out.task:
                # The tasks extension: the server runs the request as a task (its handle).
                if self._validate:
                    try:
                        typed = structure(result, ExtCreateTaskResult)
                    except TypeValidationError as exc:
                        raise RemoteProtocolError(
                            f"invalid result for {out.method}: {'; '.join(exc.errors)}",
                            ErrorCode.INVALID_PARAMS, {"errors": exc.errors},
                            finished_request=rid) from None
                self._events.append(ResponseReceived(rid, out.method, result, typed,
                                                     result_type))
                return
            if result_type != "complete":
                raise RemoteProtocolError(
                    f"invalid result for {out.method}: unknown resultType {result_type!r}",
                    ErrorCode.INVALID_PARAMS, finished_request=rid)
        if self._validate:
            spec = self._our_requests.get(out.method)
            if result_type is not None and out.method in EXTENSION_REQUESTS:
                spec = EXTENSION_REQUESTS[out.method]  # tasks/get, tasks/cancel (2026-07-28)
            elif out.task and spec is not None and spec.task_result is not None and \
                    "task" in result and "content" not in result:
                spec = attrs.evolve(spec, result=spec.task_result)  # 2025-11-25 task handle
            cls = None if spec is None else spec.result
            if cls is not None:
                try:
                    typed = structure(result, cls)
                except TypeValidationError as exc:
                    raise RemoteProtocolError(
                        f"invalid result for {out.method}: {'; '.join(exc.errors)}",
                        ErrorCode.INVALID_PARAMS, {"errors": exc.errors},
                        finished_request=rid) from None
        self._events.append(ResponseReceived(rid, out.method, result, typed, result_type))

    def _on_error_response(self, resp: ErrorResponse) -> None:
        """An error answer to one of our requests (ErrorReceived)."""
        rid = resp.id
        if rid is None:
            self._events.append(ErrorReceived(None, "", resp.error))
            return
        out = self._take_pending(rid)
        if out is None:
            return
        if self._listening is not None:
            self._listening.receive_response(rid, error=True)
        trigger = self._triggers.get((out.method, Step.RECV_ERROR)) \
            if out.method in LIFECYCLE_REQUESTS else None
        if trigger is not None:
            self._lifecycle.process(trigger)
        self._events.append(ErrorReceived(rid, out.method, resp.error))
