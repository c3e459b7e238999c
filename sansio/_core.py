"""The state every part of :class:`sansio.Connection` shares, and the helpers they all use.

:class:`EngineCore` owns the connection's fields (one ``__slots__`` for the whole engine) and
the small operations every job of the engine needs: building a recoverable refusal with the
error response it owes (:meth:`EngineCore._refuse`), failing fatally, encoding a frame, turning
params into a JSON object, checking what may be sent now. The jobs themselves are mixins over it,
one module each:

* :mod:`sansio._frames`: frame limits, decoding, batches;
* :mod:`sansio._inbound`: dispatch of received requests, notifications and responses;
* :mod:`sansio._handshake`: the ``initialize`` negotiation (handshake era);
* :mod:`sansio._stateless`: judging a stateless-era request by its own ``_meta``;
* :mod:`sansio._mrtr`: input_required rounds (received results, retries, sending);
* :mod:`sansio._listen`: ``subscriptions/listen`` bookkeeping of both roles;
* :mod:`sansio._outbound`: queueing what the ``send_*`` methods produce.

:class:`sansio.connection.Connection` is the public facade over all of them. Requests of both
directions are tracked by :class:`sansio._requests.RequestTable`; the lifecycle by
:class:`sansio.state.LifecycleState`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Final, NoReturn, TypeAlias

import attrs

from . import _codec
from ._fifo import Fifo
from ._requests import Batch, Incoming, Outgoing, RequestTable, UnknownRequest
from .errors import ErrorCode, LocalProtocolError, RemoteProtocolError
from .events import Event, PeerDisconnected
from .frames import Frame, FrameKind
from .framing import LineBuffer
from .jsonrpc import RequestId, error_response_obj
from .state import LifecycleState, Role, State, Trigger, message_triggers
from .subscriptions import DEFAULT_MAX_STREAMS, ClientSubscriptions, ServerSubscriptions
from .task_client import TASK_EXTENSION_REQUESTS
from .types import (
    CLIENT_NOTIFICATIONS,
    CLIENT_REQUESTS,
    SERVER_NOTIFICATIONS,
    SERVER_REQUESTS,
    MethodSpec,
    TypeValidationError,
    structure,
    unstructure,
)
from .versions import HANDSHAKE_VERSIONS, STATELESS_VERSIONS, SUPPORTED_VERSIONS, null_id

__all__ = ["DEFAULT_MAX_DEPTH", "DEFAULT_MAX_FRAME_SIZE", "EngineCore", "Queued", "Refusal"]

DEFAULT_MAX_FRAME_SIZE: Final = 16 * 1024 * 1024
"""Largest accepted frame, in bytes (16 MiB)."""
DEFAULT_MAX_DEPTH: Final = 64
"""Deepest accepted nesting of JSON arrays and objects in one frame."""

INITIALIZE: Final = "initialize"
INITIALIZED: Final = "notifications/initialized"
CANCELLED: Final = "notifications/cancelled"
PROGRESS: Final = "notifications/progress"
LOG: Final = "notifications/message"
DISCOVER: Final = "server/discover"

Queued: TypeAlias = tuple[FrameKind, bytes, "RequestId | None", "RequestId | None",
                          "str | None", "str | None", "tuple[RequestId, ...]",
                          "Mapping[str, Any] | None"]
"""A queued outbound frame: the fields of :class:`~sansio.frames.Frame`, in order."""


_METHODS: Final[Mapping[Role, tuple[Mapping[str, MethodSpec], Mapping[str, MethodSpec]]]] = {
    Role.CLIENT: (CLIENT_REQUESTS, CLIENT_NOTIFICATIONS),
    Role.SERVER: (SERVER_REQUESTS, SERVER_NOTIFICATIONS),
}
"""What each role sends: its request methods and its notification methods."""


class Refusal(RemoteProtocolError):
    """A recoverable remote error that also remembers the error-response object it owes."""

    response_obj: dict[str, Any] | None = None


class EngineCore:
    """The fields of one connection and the helpers every part of the engine uses."""

    __slots__ = (
        "_codec",
        "_dumps_line",
        "_eof",
        "_eof_reason",
        "_era_version",
        "_events",
        "_handshake_versions",
        "_inbox",
        "_init_id",
        "_instructions",
        "_lifecycle",
        "_lines",
        "_listening",
        "_listens",
        "_loads",
        "_max_depth",
        "_max_frame_size",
        "_max_listens",
        "_offered_version",
        "_our_caps",
        "_our_notes",
        "_our_requests",
        "_outbound",
        "_peer_caps",
        "_peer_info",
        "_peer_notes",
        "_peer_requests",
        "_recv_checked",
        "_requests",
        "_role",
        "_send_checked",
        "_server_caps",
        "_server_info",
        "_stamp",
        "_stateless",
        "_stateless_checked",
        "_supported",
        "_terminal",
        "_triggers",
        "_validate",
        "_version",
    )

    def __init__(
        self,
        role: Role,
        *,
        supported_versions: Iterable[str] = SUPPORTED_VERSIONS,
        max_frame_size: int = DEFAULT_MAX_FRAME_SIZE,
        max_depth: int = DEFAULT_MAX_DEPTH,
        validate: bool = True,
        server_info: Mapping[str, Any] | None = None,
        server_capabilities: Mapping[str, Any] | None = None,
        max_listen_streams: int = DEFAULT_MAX_STREAMS,
        codec: _codec.Codec | None = None,
    ) -> None:
        """Check the arguments and set up every field (the arguments and the ``ValueError``
        raised are :class:`sansio.Connection`'s)."""
        versions = tuple(sorted(set(supported_versions)))
        unknown = [v for v in versions if v not in SUPPORTED_VERSIONS]
        if unknown:
            raise ValueError(f"unsupported protocol versions: {', '.join(unknown)}")
        handshake = tuple(v for v in versions if v in HANDSHAKE_VERSIONS)
        if not handshake:
            raise ValueError("supported_versions must include a handshake-era revision")
        if max_frame_size < 64:
            raise ValueError("max_frame_size must be at least 64 bytes")
        if max_depth < 4:
            raise ValueError("max_depth must be at least 4")
        if role is Role.CLIENT and (server_info is not None or server_capabilities is not None):
            raise ValueError("server_info and server_capabilities are for a server")
        if max_listen_streams.__class__ is not int or max_listen_streams < 1:
            raise ValueError("max_listen_streams must be a positive integer")
        self._max_listens = max_listen_streams
        self._codec = codec if codec is not None else _codec.DEFAULT
        self._loads = self._codec.loads
        self._dumps_line = self._codec.dumps_line
        # subscriptions/listen streams: a server's open ones, a client's listens (made on first
        # use).
        self._listens: ServerSubscriptions | None = None
        self._listening: ClientSubscriptions | None = None
        self._role = role
        self._lifecycle = LifecycleState(role)
        self._triggers = message_triggers(role)
        self._supported = versions
        self._handshake_versions = handshake
        self._stateless = tuple(v for v in versions if v in STATELESS_VERSIONS)
        self._server_info = dict(server_info) if server_info is not None else None
        self._server_caps = dict(server_capabilities) if server_capabilities is not None \
            else None
        # Stateless era: the revision this side speaks (a client's own; a server's latest,
        # for what it sends outside any request) and the _meta a client stamps on requests.
        self._era_version: str | None = None
        self._stamp: dict[str, Any] = {}
        self._max_frame_size = max_frame_size
        self._max_depth = max_depth
        self._validate = validate

        self._our_requests, self._our_notes = _METHODS[role]
        self._peer_requests, self._peer_notes = _METHODS[role.peer]

        # Inbound.
        self._lines = LineBuffer(max_frame_size)
        self._inbox: Fifo[Any] = Fifo()
        self._events: Fifo[Event] = Fifo()
        self._eof = False
        self._eof_reason: str | None = None
        self._terminal: Event | None = None
        # Outbound.
        # Queued frames as plain tuples (Frame's fields, in order): a Frame is built only for
        # frames_to_send(), so data_to_send() users do not pay for the objects.
        self._outbound: list[Queued] = []
        # Both directions' requests: ids, progress tokens, cancel memories, batches.
        self._requests = RequestTable()
        # Methods that passed the state, direction, revision and capability checks while
        # OPERATING (nothing those checks read can change after the handshake).
        self._send_checked: set[str] = set()
        self._recv_checked: dict[str, MethodSpec | None] = {}
        self._stateless_checked: dict[tuple[str, str], MethodSpec | None] = {}
        # Handshake facts.
        self._version: str | None = None
        self._offered_version: str | None = None
        self._init_id: RequestId | None = None
        self._our_caps: dict[str, Any] = {}
        self._peer_caps: dict[str, Any] | None = None
        self._peer_info: dict[str, Any] | None = None
        self._instructions: str | None = None

    def _disconnect(self) -> Event:
        """The peer went away: PeerDisconnected naming our unanswered requests; -> CLOSED."""
        reason = self._eof_reason
        if reason is None and self._lines.leftover().strip():
            reason = f"peer closed mid-frame ({len(self._lines)} bytes of an unterminated frame)"
        self._lines.clear()
        event = PeerDisconnected(pending=self._drop_all(), reason=reason)
        self._lifecycle.process(Trigger.PEER_DISCONNECT)
        self._terminal = PeerDisconnected(pending=(), reason=reason)
        return event

    def _fail(self, msg: str, code: ErrorCode = ErrorCode.INVALID_REQUEST,
              finished_request: RequestId | None = None) -> NoReturn:
        """A fatal remote error: -> ERROR, and raise it."""
        self._lifecycle.process(Trigger.PROTOCOL_ERROR)
        raise RemoteProtocolError(msg, code, fatal=True, finished_request=finished_request)

    def _null_id(self) -> bool:
        """Whether an error answer to a message without a usable id writes ``"id": null``."""
        return null_id(self._version or self._era_version)

    def _refuse(
        self,
        msg: str,
        code: ErrorCode,
        request_id: RequestId | None,
        *,
        answer: bool,
        data: Any = None,
    ) -> Refusal:
        """Build the recoverable error for a dropped frame (and its owed error response)."""
        exc = Refusal(msg, code, data, request_id=request_id)
        if answer:
            obj = error_response_obj(request_id, code, msg, data, null_id=self._null_id())
            exc.response_obj = obj
            exc.response_hint = self._dumps_line(obj)
            exc.response_frame = Frame(FrameKind.ERROR, exc.response_hint, request_id,
                                       request_id, None, self._version or self._era_version)
        return exc

    def _spec_live(self, spec: MethodSpec) -> bool:
        # Before negotiation every known method is possible (the traffic rules gate them).
        """Whether a method exists in the negotiated revision (every one does before)."""
        version = self._version or self._era_version
        return version is None or spec.live(version)

    def _check_params(self, spec: MethodSpec, params: dict[str, Any] | None,
                      request_id: RequestId | None, answer: bool) -> None:
        """Refuse params that do not structure as ``spec.params`` (-32602)."""
        if spec.params is None:
            return
        if params is None:
            if spec.params_required:
                raise self._refuse(f"{spec.method} requires params", ErrorCode.INVALID_PARAMS,
                                   request_id, answer=answer)
            return
        try:
            structure(params, spec.params)
        except TypeValidationError as exc:
            raise self._refuse(
                f"invalid params for {spec.method}: {'; '.join(exc.errors)}",
                ErrorCode.INVALID_PARAMS, request_id, answer=answer,
                data={"errors": exc.errors}) from None

    def _take_pending(self, rid: RequestId) -> Outgoing | None:
        # None: a late answer to a request we cancelled, ignored.
        """Finish one of our requests by id; ``None``: one we cancelled (a late answer)."""
        try:
            return self._requests.take_pending(rid)
        except UnknownRequest:
            raise self._refuse(f"response to unknown request id {rid!r}",
                               ErrorCode.INVALID_REQUEST, None, answer=False) from None

    def _check_open(self) -> None:
        """Refuse to send on a CLOSED or ERROR connection."""
        state = self._lifecycle.state
        if state is State.CLOSED or state is State.ERROR:
            raise LocalProtocolError(f"can't send: the connection is {state.name}")

    def _encode(self, obj: Any) -> bytes:
        """One frame (JSON text and ``b"\\n"``) in this connection's codec."""
        try:
            return self._dumps_line(obj)
        except _codec.EncodeError as exc:
            raise LocalProtocolError(f"can't encode message as JSON: {exc}",
                                     ErrorCode.INTERNAL_ERROR) from None

    def _payload(self, value: Any) -> dict[str, Any] | None:
        """Params or a result as a JSON object: a mapping, or an MCP type written for the revision.
        """
        if value is None or value.__class__ is dict:
            return value
        if isinstance(value, Mapping):
            return dict(value)
        if attrs.has(value.__class__):
            # Written for the negotiated revision (for the server's initialize result: the one
            # it is about to answer with); before negotiation, every field is kept.
            out = unstructure(value, self._version or self._offered_version
                              or self._era_version)
            if out.__class__ is not dict:  # pragma: no cover - every MCP type is an object
                raise LocalProtocolError("params and results must be JSON objects")
            return out
        raise LocalProtocolError(
            f"params and results must be a mapping or an MCP type, not {type(value).__name__}")

    def _check_send_method(self, method: str, kind: str) -> None:
        """Refuse a method the state, direction or revision does not let this side send."""
        allowed = self._lifecycle.traffic.send
        if allowed is not None and method not in allowed:
            state = self._lifecycle.state
            if state is State.IDLE or state is State.INITIALIZING or state is State.INITIALIZED:
                raise LocalProtocolError(
                    f"can't send {kind} {method!r} before initialization is complete "
                    f"(state {state.name})")
            raise LocalProtocolError(f"can't send {method!r} in state {state.name}")
        table = self._our_requests if kind == "request" else self._our_notes
        other = self._peer_requests if kind == "request" else self._peer_notes
        spec = table.get(method)
        if spec is None:
            if method in other:
                raise LocalProtocolError(
                    f"a {self._role.value} does not send {method!r}", ErrorCode.METHOD_NOT_FOUND)
        elif not self._spec_live(spec) and not (
                self._stamp and method in TASK_EXTENSION_REQUESTS):  # (a 2026-07-28 client)
            raise LocalProtocolError(
                f"{method!r} is not part of protocol version {self._version}",
                ErrorCode.METHOD_NOT_FOUND)

    def _take_serving(self, request_id: RequestId) -> Incoming | None:
        # None: cancelled by the peer, answering is a no-op.
        """Finish one of the peer's requests by id; ``None``: the peer cancelled it."""
        try:
            incoming = self._requests.take_serving(request_id)
        except UnknownRequest:
            raise LocalProtocolError(f"there is no request {request_id!r} to answer") from None
        if incoming is None:
            return None
        if self._listens is not None:
            self._listens.cancel(request_id)  # answering a listen ends its stream
        return incoming

    def _drop_all(self) -> tuple[RequestId, ...]:
        """Forget every request and listen stream; return our unanswered request ids."""
        if self._listens is not None:
            self._listens.connection_lost()
        if self._listening is not None:
            self._listening.connection_lost()
        return self._requests.drop_all()

    def _finish_batch_member(self, batch: Batch, rid: RequestId,
                             response: dict[str, Any] | None) -> None:
        """Record a batch member's answer; queue the batch response once all are in."""
        responses = RequestTable.finish_batch_member(batch, rid, response)
        if responses is not None:
            ids = tuple(r["id"] for r in responses if r.get("id") is not None)
            self._outbound.append((FrameKind.BATCH, self._encode(responses), None, None,
                                   None, self._version, ids, None))
