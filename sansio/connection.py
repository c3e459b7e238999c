"""The sans-IO MCP engine: :class:`Connection`.

h11-style: feed bytes with :meth:`Connection.receive_data` (NDJSON, as on stdio) or whole messages
with :meth:`Connection.receive_message` (one HTTP body, one in-memory message), pull events with
:meth:`Connection.next_event`, and call the ``send_*`` methods to produce frames, which collect in
one outbound queue with one drain, taken as :class:`~sansio.frames.Frame` objects
(:meth:`Connection.frames_to_send`: what each frame is, for transports that route) or as bytes
(:meth:`Connection.data_to_send`). Every frame is one JSON text followed by ``b"\\n"``: an
NDJSON line, and also a valid HTTP body.

A connection is dual-era (:mod:`sansio.state`): the handshake era (``initialize``) or the
stateless era (2026-07-28: every request carries its version and client capabilities in
``_meta``; the per-request rules are in :mod:`sansio._stateless`).

This module is the public facade: every public method, with its contract. The work is done by
private mixins, one job each (see :mod:`sansio._core`): frames in (``_frames``), received
messages (``_inbound``), what is sent (``_outbound``), the handshake (``_handshake``), the
stateless era's per-request judgement (``_stateless``), input_required rounds (``_mrtr``) and
listen streams (``_listen``); requests are tracked by ``_requests.RequestTable``.

The engine never writes on its own and never reads a clock. When the protocol requires an answer
to something the peer sent (an error response to a bad request), the
:class:`~sansio.errors.RemoteProtocolError` carries it in ``response_hint``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from . import _codec, _stateless
from ._core import DEFAULT_MAX_DEPTH, DEFAULT_MAX_FRAME_SIZE, INITIALIZE, INITIALIZED
from ._frames import FramesMixin
from ._outbound import OutboundMixin
from .errors import LocalProtocolError, RemoteProtocolError
from .events import NEED_DATA, Closed, Event, Initialized, NeedData
from .events import InputRequired as InputRequiredEvent
from .frames import Frame
from .jsonrpc import RequestId
from .state import Role, State, Trigger
from .subscriptions import DEFAULT_MAX_STREAMS, LISTEN_METHOD, ListenStream, SubscriptionFilter
from .versions import SUPPORTED_VERSIONS, Era

__all__ = ["DEFAULT_MAX_DEPTH", "DEFAULT_MAX_FRAME_SIZE", "Connection"]


class Connection(FramesMixin, OutboundMixin):
    """One MCP session, from one side, with no I/O.

    A default connection is dual-era (see :mod:`sansio.state`): a server answers an
    ``initialize`` handshake or modern per-request traffic, as the client's first request
    decides; a client either sends ``initialize`` or calls :meth:`start_stateless`.

    Args:
        role: ``Role.CLIENT`` or ``Role.SERVER``.
        supported_versions: the protocol revisions this side accepts, in any order; the latest
            handshake revision among them is what a server offers when the client asks for one it
            does not support, and what :meth:`send_initialize` asks for by default. Leave the
            stateless revisions (2026-07-28) out to speak only the handshake era.
        max_frame_size: the largest frame accepted, in bytes. A longer NDJSON line is a fatal
            :class:`RemoteProtocolError` (the stream cannot be resynchronised safely); a longer
            message given to :meth:`receive_message` is a recoverable one.
        max_depth: the deepest nesting of arrays and objects accepted in a frame.
        validate: check the params of incoming requests and notifications and the results of
            known methods against the MCP types (answering -32602 for invalid params). Turn it
            off only for a peer you trust, to save the structuring cost.
        server_info: (server, stateless era) the ``Implementation`` put in every result's
            ``_meta`` ``io.modelcontextprotocol/serverInfo`` and in the ``server/discover``
            answer; ``None``: results carry none.
        server_capabilities: (server, stateless era) the capabilities this server has: a
            request for a feature missing from them is answered -32601, and
            :meth:`send_discover_result` reports them. ``None``: requests are not checked
            against capabilities in the stateless era (the handshake era uses those of the
            ``initialize`` result, as before). They also decide what a ``subscriptions/listen``
            stream honours (``None``: everything asked).
        max_listen_streams: (stateless era) how many ``subscriptions/listen`` streams may be
            open at once: a server refuses one more in :meth:`accept_listen`, a client in
            :meth:`send_listen`.
        codec: the JSON codec this connection reads and writes frames with (default: the
            process default, :data:`sansio._codec.DEFAULT`), as the HTTP objects take one.
        max_concurrent_requests: the most peer requests served at once (those in
            :attr:`serving_requests`); one more is refused, unserved, with a recoverable
            :class:`RemoteProtocolError` whose hint answers it
            :attr:`~sansio.ErrorCode.SERVER_BUSY` (-32050). ``initialize`` and ``ping`` are
            never refused. ``None`` (the default): no cap.

    Raises:
        ValueError: an argument is out of range or names an unknown revision.
    """

    __slots__ = ()

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
        max_concurrent_requests: int | None = None,
    ) -> None:
        super().__init__(
            role, supported_versions=supported_versions, max_frame_size=max_frame_size,
            max_depth=max_depth, validate=validate, server_info=server_info,
            server_capabilities=server_capabilities, max_listen_streams=max_listen_streams,
            codec=codec, max_concurrent_requests=max_concurrent_requests)

    # ------------------------------------------------------------------ properties

    @property
    def codec(self) -> _codec.Codec:
        """The JSON codec of this connection (``codec=``)."""
        return self._codec

    @property
    def role(self) -> Role:
        """Which side this engine plays."""
        return self._role

    @property
    def state(self) -> State:
        """The lifecycle state (see :mod:`sansio.state`)."""
        return self._lifecycle.state

    @property
    def protocol_version(self) -> str | None:
        """The negotiated revision, or ``None`` until the handshake settled it.

        In the stateless era: a client's is the one :meth:`start_stateless` chose; a server's
        is ``None``, since every request names its own (``RequestReceived.protocol_version``).
        """
        if self._version is None and self._role is Role.CLIENT:
            return self._era_version
        return self._version

    @property
    def era(self) -> Era | None:
        """The era of the current state: ``None`` until the first message decided it (and
        again once the connection is closed)."""
        return self._lifecycle.era

    @property
    def supported_versions(self) -> tuple[str, ...]:
        """The revisions this side accepts, oldest first."""
        return self._supported

    @property
    def peer_info(self) -> dict[str, Any] | None:
        """The peer's ``clientInfo``/``serverInfo``, once known."""
        return self._peer_info

    @property
    def peer_capabilities(self) -> dict[str, Any] | None:
        """The peer's capabilities, once known."""
        return self._peer_caps

    @property
    def our_capabilities(self) -> dict[str, Any]:
        """The capabilities this side advertised (empty until it did)."""
        return self._our_caps

    @property
    def instructions(self) -> str | None:
        """(Client) the server's ``instructions``, once known."""
        return self._instructions

    @property
    def pending_requests(self) -> frozenset[RequestId]:
        """Ids of the requests we sent that are not answered yet."""
        return frozenset(self._requests.pending)

    @property
    def serving_requests(self) -> frozenset[RequestId]:
        """Ids of the peer's requests we have not answered yet (and that were not cancelled)."""
        return frozenset(self._requests.serving)

    @property
    def max_concurrent_requests(self) -> int | None:
        """The cap on peer requests served at once (``None``: no cap)."""
        return self._max_serving

    def method_of(self, request_id: RequestId) -> str | None:
        """The method of a pending request of ours, or ``None`` if ``request_id`` is not one."""
        out = self._requests.pending.get(request_id)
        return out.method if out is not None else None

    # ------------------------------------------------------------------ inbound

    def receive_data(self, data: bytes | bytearray | memoryview) -> None:
        """Feed bytes of an NDJSON stream (stdio). ``b""`` means the peer closed its side.

        Nothing is parsed here; call :meth:`next_event` to get the events.

        Raises:
            RuntimeError: data after end of input (a bug in the caller).
        """
        if self._eof:
            if data:
                raise RuntimeError("received data after end of input")
            return
        if data:
            self._lines.feed(data)
        else:
            self._eof = True

    def receive_message(self, message: bytes | str | dict[str, Any] | list[Any]) -> None:
        """Feed one whole message from a message transport.

        ``message`` is one JSON text (bytes or str), or an already decoded JSON value (a dict, or
        a list for a batch). It is parsed lazily by :meth:`next_event`.

        Raises:
            RuntimeError: a message after end of input (a bug in the caller).
        """
        if self._eof:
            raise RuntimeError("received a message after end of input")
        self._inbox.append(message)

    def connection_lost(self, reason: str | None = None) -> None:
        """Tell the engine the transport failed; like ``receive_data(b"")`` with a reason.

        Frames already buffered are still delivered before :class:`PeerDisconnected`.
        """
        if not self._eof:
            self._eof = True
            self._eof_reason = reason

    def next_event(self) -> Event | NeedData:
        """Return the next event, or :data:`NEED_DATA` when more input is needed.

        State effects: the lifecycle moves as events dictate (see :mod:`sansio.state`); pending
        and served request bookkeeping is updated.

        After :class:`PeerDisconnected` or :class:`Closed` was returned, every further call returns
        an event of the same type with no pending ids.

        Raises:
            RemoteProtocolError: the peer broke the protocol. If ``exc.response_hint`` is set,
                write it. If ``exc.fatal`` is false, only that frame was dropped: keep calling.
                Otherwise the connection is in ``ERROR``.
        """
        events = self._events
        if events:
            return events.popleft()
        if self._terminal is not None:
            return self._terminal
        if self._lifecycle.state is State.ERROR:
            raise RemoteProtocolError("can't receive: the connection is in ERROR", fatal=True)
        while True:
            frame = self._next_frame()
            if frame is None:
                if self._eof:
                    return self._disconnect()
                return NEED_DATA
            self._handle_frame(frame)
            if events:
                return events.popleft()

    # -- incoming requests

    # -- incoming notifications

    # -- incoming responses

    # ------------------------------------------------------------------ outbound

    def frames_to_send(self) -> list[Frame]:
        """Return (and forget) the frames the ``send_*`` calls produced, in order.

        Each :class:`~sansio.frames.Frame` says what it is (kind, request id, the request it
        belongs to, method) next to its bytes, so a message transport routes it without
        decoding it. This and :meth:`data_to_send` are two views of one queue: either call
        empties it.
        """
        queued = self._outbound
        if not queued:
            return []
        self._outbound = []
        return [Frame(*entry) for entry in queued]

    def data_to_send(self) -> bytes:
        """Return (and forget) the bytes of every queued frame, in order: ``b"".join`` of
        what :meth:`frames_to_send` would have returned (for byte streams such as stdio).

        The result is zero or more frames, each one JSON text followed by ``b"\\n"``.
        """
        out = self._outbound
        if not out:
            return b""
        data = out[0][1] if len(out) == 1 else b"".join([entry[1] for entry in out])
        out.clear()
        return data

    def send_request(
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
        """Queue a request and return the id the engine gave it.

        Args:
            method: the method.
            params: a mapping, an MCP type from :mod:`sansio.types` (written for the negotiated
                revision), or ``None``.
            progress_token: ask the peer for progress; it is put in ``params._meta``.
                ``ProgressReceived`` events then name this request.
            log_level: (client, stateless era) ask for log messages at or above this level
                with this request (``_meta`` ``io.modelcontextprotocol/logLevel``); default:
                the one given to :meth:`start_stateless`.
            related_request_id: the peer's request this one is sent on behalf of (a server's
                ``sampling/createMessage`` while serving a ``tools/call``); it is only recorded
                in the frame (``Frame.related_request_id``), for transports that route by it.
            input_responses: (client, stateless era, ``tools/call``, ``prompts/get`` or
                ``resources/read``) a retry's ``params.inputResponses``: the results of the
                server's ``inputRequests``, by their keys. :meth:`send_retry` fills this and
                ``request_state`` from an :class:`~sansio.events.InputRequired` event.
            request_state: a retry's ``params.requestState``, echoed exactly as received.

        In the stateless era a client's request is stamped with the ``_meta`` of
        :meth:`start_stateless` (protocol version, client capabilities, client info, log
        level); keys the caller put in ``params._meta`` win.

        State effects: the request is pending until a response, an error,
        :class:`PeerDisconnected` or :class:`Closed` finishes it, or :meth:`cancel`. ``initialize``
        moves a client from IDLE to INITIALIZING.

        Raises:
            LocalProtocolError: the state forbids this request (for example anything but
                ``initialize`` first, or anything but ``ping`` before the initialize response),
                the peer did not advertise the capability it needs (code -32601), the method
                belongs to the other role or to another revision (in the stateless era: the
                revision this client stamps, which has no ``ping`` or ``logging/setLevel``),
                ``initialize`` params are wrong, the progress token is in use, ``log_level``
                is not a log level or not for a stateless-era client, ``input_responses`` or
                ``request_state`` is given for another method or era, or the params cannot be
                encoded. Nothing is queued then.
        """
        return self._queue_request(
            method, params, progress_token=progress_token, log_level=log_level,
            related_request_id=related_request_id, input_responses=input_responses,
            request_state=request_state)

    def send_listen(
        self,
        notifications: SubscriptionFilter | Mapping[str, Any],
        *,
        log_level: str | None = None,
    ) -> RequestId:
        """(Client, stateless era) Queue a ``subscriptions/listen`` request and return its id,
        which is the subscription id.

        What follows arrives as events: :class:`~sansio.events.ListenAcknowledged` (what the
        server honours), then :class:`~sansio.events.NotificationReceived` with
        ``subscription_id`` set to this id for every notification of the stream, and at the
        end :class:`~sansio.events.ResponseReceived` (or ``ErrorReceived``) for this request,
        or :class:`~sansio.events.ListenEnded` if the server only cancelled it. End it
        yourself with :meth:`cancel` (on HTTP: close the stream instead, and drop the
        queued cancellation). ``send_request("subscriptions/listen", ...)`` does the same.

        Args:
            notifications: the filter (``toolsListChanged``, ``promptsListChanged``,
                ``resourcesListChanged``, ``resourceSubscriptions``): a
                :class:`~sansio.subscriptions.SubscriptionFilter` or its JSON form.
            log_level: as :meth:`send_request`.

        Raises:
            LocalProtocolError: not a stateless-era client, the filter is malformed, or
                ``max_listen_streams`` listens are open. Nothing is queued then.
        """
        if not self._stamp:
            raise LocalProtocolError("subscriptions/listen is for a stateless-era client")
        wanted = notifications.to_json() if isinstance(notifications, SubscriptionFilter) \
            else dict(notifications)
        return self.send_request(LISTEN_METHOD, {"notifications": wanted},
                                 log_level=log_level)

    def send_retry(
        self,
        input_required: InputRequiredEvent,
        input_responses: Mapping[str, Any] | None = None,
        *,
        progress_token: RequestId | None = None,
        log_level: str | None = None,
    ) -> RequestId:
        """(Client, stateless era) Retry the request an :class:`~sansio.events.InputRequired`
        event answered: a new request, with a new id, of the same method and
        ``input_required.params``, plus ``inputResponses`` (when given) and the
        ``requestState`` of the event (when it had one), echoed byte-exact.

        The retry may itself be answered with another ``input_required`` round: retry again
        from that event (its ``params`` are the original ones; this round's fields are
        replaced, never accumulated).

        Args:
            input_required: the event.
            input_responses: the results of ``input_required.input_requests`` by key (mappings
                or MCP types such as ``ElicitResult``); keys the client did not fulfil may be
                left out.
            progress_token, log_level: as :meth:`send_request`.

        Raises:
            LocalProtocolError: as :meth:`send_request`.
        """
        return self.send_request(
            input_required.method, input_required.params, progress_token=progress_token,
            log_level=log_level, input_responses=input_responses,
            request_state=input_required.request_state)

    def start_stateless(
        self,
        protocol_version: str | None = None,
        client_capabilities: Mapping[str, Any] | Any = None,
        client_info: Mapping[str, Any] | Any = None,
        *,
        log_level: str | None = None,
        server_capabilities: Mapping[str, Any] | Any = None,
    ) -> None:
        """Start without a handshake. Nothing is sent.

        (Client) Enter the stateless era (2026-07-28): IDLE -> STATELESS. From now on every
        request is stamped with ``_meta`` ``io.modelcontextprotocol/protocolVersion``,
        ``.../clientCapabilities``, ``.../clientInfo`` (when given) and ``.../logLevel`` (when
        given here or per request); results carry ``resultType`` and errors
        -32022/-32021/-32020 arrive as :class:`ErrorReceived` with their ``data``. Methods the
        revision removed (``ping``, ``logging/setLevel``, ...) are refused locally.

        (Server) Serve handshake-era requests that come without a handshake, as stateless
        Streamable HTTP does (one request per engine; its transport, not the protocol, knows
        the version: the ``MCP-Protocol-Version`` header, 2025-03-26 when absent): IDLE ->
        OPERATING at ``protocol_version``, as if ``initialize`` had settled it with
        ``client_capabilities`` (``{}``: none, so requests to the client are refused) and
        ``server_capabilities`` (what incoming requests are judged by). An
        :class:`Initialized` event is queued (``peer_info`` is ``client_info``, or ``{}``).
        A server enters the stateless era on its own (a request whose ``_meta`` names a
        modern revision), so a stateless revision is refused here.

        Args:
            protocol_version: a client: a stateless revision this connection supports
                (default: the latest). A server: the handshake-era revision to serve at
                (required).
            client_capabilities: a client: the capabilities to declare on every request. A
                server: the client's, when known. Default ``{}``.
            client_info: the client's ``Implementation`` (recommended for a client).
            log_level: (client) the default log level to ask for on every request.
            server_capabilities: (server) this server's capabilities; default: the
                ``server_capabilities`` given to the constructor, else ``{}``.

        Raises:
            LocalProtocolError: not IDLE (``initialize`` was sent or received), the revision is
                not one this role may start at (see above) or not supported here, an argument
                does not fit the role, or an argument cannot be encoded.
        """
        if self._role is Role.SERVER:
            if protocol_version not in self._handshake_versions:
                raise LocalProtocolError(
                    f"a server starts without a handshake only at a handshake-era revision it "
                    f"supports ({', '.join(self._handshake_versions)}), not "
                    f"{protocol_version!r}; it enters the stateless era on a modern request")
            if log_level is not None:
                raise LocalProtocolError("log_level is for a client")
            assert protocol_version is not None
            peer_caps = self._payload(client_capabilities) or {}
            peer_info = self._payload(client_info) or {}
            ours = self._payload(server_capabilities)
            if ours is None:
                ours = dict(self._server_caps or {})
            self._lifecycle.process(Trigger.START_WITHOUT_HANDSHAKE)
            self._version = self._offered_version = protocol_version
            self._peer_caps, self._peer_info, self._our_caps = peer_caps, peer_info, ours
            self._events.append(Initialized(protocol_version=protocol_version,
                                            peer_info=peer_info, peer_capabilities=peer_caps))
            return
        if server_capabilities is not None:
            raise LocalProtocolError("server_capabilities is for a server")
        version = protocol_version or (self._stateless[-1] if self._stateless else None)
        if version not in self._stateless:
            raise LocalProtocolError(
                f"protocol version {version!r} is not a stateless revision this connection "
                f"supports ({', '.join(self._stateless) or 'none'})")
        caps = self._payload(client_capabilities) or {}
        stamp = _stateless.stamp(version, caps, self._payload(client_info), log_level)
        self._lifecycle.process(Trigger.START_STATELESS)
        self._era_version = version
        self._stamp = stamp
        self._our_caps = caps

    def send_initialize(
        self,
        client_info: Mapping[str, Any] | Any,
        capabilities: Mapping[str, Any] | Any = None,
        *,
        protocol_version: str | None = None,
        meta: Mapping[str, Any] | None = None,
    ) -> RequestId:
        """(Client) Queue the ``initialize`` request and return its id.

        Args:
            client_info: ``clientInfo`` (a mapping or :class:`sansio.types.Implementation`).
            capabilities: the client's capabilities (mapping or ``ClientCapabilities``).
            protocol_version: the revision to ask for; default: the latest handshake revision
                this connection supports.
            meta: optional ``_meta``.

        Raises:
            LocalProtocolError: as :meth:`send_request`.
        """
        return self.send_request(INITIALIZE, self._initialize_params(
            client_info, capabilities, protocol_version, meta))

    def send_initialized(self) -> None:
        """(Client) Queue ``notifications/initialized``: INITIALIZED -> OPERATING.

        Raises:
            LocalProtocolError: not a client, or the initialize result has not arrived.
        """
        self.send_notification(INITIALIZED)

    def send_initialize_result(
        self,
        request_id: RequestId,
        server_info: Mapping[str, Any] | Any,
        capabilities: Mapping[str, Any] | Any = None,
        *,
        instructions: str | None = None,
        meta: Mapping[str, Any] | None = None,
    ) -> None:
        """(Server) Answer ``initialize`` with the negotiated version: INITIALIZING -> INITIALIZED.

        Raises:
            LocalProtocolError: as :meth:`send_response`.
        """
        self.send_response(request_id, self._initialize_answer(
            server_info, capabilities, instructions, meta))

    def send_notification(self, method: str, params: Mapping[str, Any] | Any = None, *,
                          related_request_id: RequestId | None = None) -> None:
        """Queue a notification.

        ``notifications/initialized`` (client) completes the handshake. ``notifications/progress``
        for a token that belongs to no request we are serving queues nothing (the request
        already ended). Use :meth:`cancel` rather than sending ``notifications/cancelled``.

        Args:
            method: the method.
            params: a mapping, an MCP type, or ``None``.
            related_request_id: the peer's request (one we are serving) this notification
                belongs to; recorded in ``Frame.related_request_id``. Progress finds its
                request by its token. In the stateless era ``notifications/message`` is
                request-scoped: it needs this, the request must have asked for a log level,
                and a message below that level queues nothing.

        Raises:
            LocalProtocolError: the state forbids it, it belongs to the other role or revision,
                a stateless-era log message has no request that asked for logs, or the params
                cannot be encoded.
        """
        self._queue_notification(method, params, related_request_id=related_request_id)

    def send_response(self, request_id: RequestId, result: Mapping[str, Any] | Any) -> None:
        """Queue the successful response to a request we are serving.

        If the peer cancelled the request, nothing is queued (the spec forbids answering it).
        Answering ``initialize`` (server) needs ``serverInfo``; a missing ``protocolVersion`` is
        filled with the negotiated one, and a missing ``capabilities`` with ``{}``.

        A stateless-era request's result gets ``resultType`` (``"complete"`` unless set), the
        ``_meta`` ``io.modelcontextprotocol/serverInfo`` of ``server_info``, and for a
        cacheable method (``tools/list``, ``resources/read``, ...) ``ttlMs`` 0 and
        ``cacheScope`` ``"private"`` unless set.

        State effects: the request is no longer served; answering ``initialize`` moves a server to
        INITIALIZED and fixes the protocol version and our capabilities.

        Raises:
            LocalProtocolError: ``request_id`` is not a request we are serving (never received,
                or already answered), the initialize result is invalid, the result cannot be
                encoded, or (stateless era) it is ``input_required`` and asks the client for
                what the request did not declare: code -32021, ``data``
                ``{"requiredCapabilities": ...}``; answer with ``send_error(request_id,
                exc.code, exc.message, exc.data)``. Nothing is queued and the request is still
                served then.
        """
        self._queue_response(request_id, result)

    def send_input_required(
        self,
        request_id: RequestId,
        input_requests: Mapping[str, Any] | None = None,
        request_state: str | None = None,
        *,
        meta: Mapping[str, Any] | None = None,
    ) -> None:
        """(Server, stateless era) Answer ``tools/call``, ``prompts/get`` or ``resources/read``
        with an ``InputRequiredResult``: ``resultType`` ``"input_required"``, the
        ``inputRequests`` the client must fulfil, and an opaque ``requestState``.

        The request is answered (no longer served): the client retries with a NEW request
        (new id) carrying ``inputResponses`` and the ``requestState`` byte-exact, which
        arrives as a :class:`RequestReceived` (``input_responses``, ``request_state``). The
        engine keeps nothing between the rounds: put what the retry needs in
        ``request_state`` (seal it with :class:`~sansio.mrtr.HmacRequestStateCodec`: it comes
        back attacker-controlled). A retry may be answered input_required again.

        Args:
            request_id: the request being served.
            input_requests: by key (a key the server chooses; the client answers under the
                same key), each ``{"method": ..., "params": ...}`` for
                ``elicitation/create``, ``sampling/createMessage`` or ``roots/list``.
            request_state: the opaque state to get back on the retry.
            meta: the result's ``_meta``.

        Raises:
            LocalProtocolError: not a stateless-era request being served, another method, no
                input requests and no state, or an input request needs a client capability
                the *request* did not declare (``sampling``, ``elicitation`` and its ``form``
                or ``url`` mode, ``roots``): code -32021 with ``data``
                ``{"requiredCapabilities": ...}``; answer with ``send_error(request_id,
                exc.code, exc.message, exc.data)``. Nothing is queued then and the request is
                still served.
        """
        result = self._input_required_result(request_id, input_requests, request_state, meta)
        if result is not None:
            self.send_response(request_id, result)

    def accept_listen(
        self,
        request_id: RequestId,
        params: Mapping[str, Any] | None,
        *,
        accept_uri: Callable[[str], bool] | None = None,
    ) -> ListenStream | None:
        """(Server, stateless era) Open the stream of a ``subscriptions/listen`` request and
        queue its ``notifications/subscriptions/acknowledged`` (the honoured subset, decided by
        ``server_capabilities``), so the acknowledgement is the stream's first message.

        From now on :meth:`send_notification` of a list-changed or resource-updated
        notification queues one copy per open stream that asked for it, each with ``_meta``
        ``io.modelcontextprotocol/subscriptionId`` and ``Frame.related_request_id`` = the listen
        request (an HTTP server writes it on that request's SSE stream). The request stays
        served: end it with :meth:`end_listen`; a ``notifications/cancelled`` from the client
        (:class:`RequestCancelled`) or the connection's end closes it too.

        Args:
            request_id: the listen request being served.
            params: its params (``RequestReceived.params``).
            accept_uri: an extra per-URI decision for ``resourceSubscriptions`` ("this
                resource exists"); refused URIs are left out of the honoured subset.

        Returns:
            The open stream; ``None`` (nothing queued) when the client already cancelled the
            listen.

        Raises:
            LocalProtocolError: ``request_id`` is not a stateless-era listen being served, or
                its stream is already open.
            ListenRefused: the filter is malformed (``INVALID_PARAMS``) or
                ``max_listen_streams`` streams are open (``INVALID_REQUEST``): nothing is
                queued; answer with ``send_error(request_id, exc.code, str(exc))``.
        """
        return self._open_listen(request_id, params, accept_uri)

    def end_listen(self, request_id: RequestId, reason: str | None = None, *,
                   notify_cancelled: bool = True) -> None:
        """(Server) End a listen stream on the server's initiative (shutdown, ...): queue the
        listen request's result (``resultType`` ``"complete"``, ``_meta`` subscriptionId),
        then, when ``notify_cancelled`` (stdio: cancellation.mdx says the server MUST), a
        ``notifications/cancelled`` for the listen request. On HTTP pass ``False`` and end
        the SSE stream after the result.

        State effects: the stream is closed and the request no longer served. A listen the
        client already cancelled queues nothing.

        Raises:
            LocalProtocolError: ``request_id`` is not an accepted listen being served.
        """
        ending = self._end_listen_stream(request_id, reason)
        if ending is not None:
            end, version = ending
            self.send_response(request_id, end.result)
            if notify_cancelled:
                self._queue_listen_cancelled(request_id, end.cancelled, version)

    @property
    def listen_streams(self) -> Mapping[RequestId, ListenStream]:
        """(Server) The open ``subscriptions/listen`` streams by subscription id (a copy)."""
        return self._listens.streams if self._listens is not None else {}

    def send_discover_result(
        self,
        request_id: RequestId,
        server_info: Mapping[str, Any] | Any = None,
        capabilities: Mapping[str, Any] | Any = None,
        *,
        instructions: str | None = None,
        ttl_ms: int = 0,
        cache_scope: str = "private",
        meta: Mapping[str, Any] | None = None,
    ) -> None:
        """(Server) Answer ``server/discover`` with a ``DiscoverResult``.

        The engine never answers on its own: ``server/discover`` arrives as a
        :class:`RequestReceived` and this call writes the answer. ``supportedVersions`` is
        this connection's supported revisions, newest first (a dual-era server lists the
        handshake ones too).

        Args:
            request_id: the ``server/discover`` request.
            server_info: the server's ``Implementation``; default: ``server_info`` of the
                constructor. Put in ``_meta`` ``io.modelcontextprotocol/serverInfo``.
            capabilities: default: ``server_capabilities`` of the constructor (else ``{}``).
            instructions: optional guidance for the model.
            ttl_ms: how long the client may cache the answer, in milliseconds (0: stale at
                once).
            cache_scope: ``"public"`` or ``"private"``.
            meta: more ``_meta``.

        Raises:
            LocalProtocolError: ``request_id`` is not a ``server/discover`` request being
                served, or an argument is invalid.
        """
        self.send_response(request_id, self._discover_answer(
            request_id, server_info, capabilities, instructions=instructions, ttl_ms=ttl_ms,
            cache_scope=cache_scope, meta=meta))

    def send_error(
        self, request_id: RequestId, code: int, message: str, data: Any = None
    ) -> None:
        """Queue an error response to a request we are serving.

        If the peer cancelled the request, nothing is queued. Refusing ``initialize`` moves a
        server back to IDLE (the client may try again).

        Raises:
            LocalProtocolError: ``request_id`` is not a request we are serving, ``code`` is not
                an integer, or ``data`` cannot be encoded.
        """
        self._queue_error(request_id, code, message, data)

    def cancel(self, request_id: RequestId, reason: str | None = None) -> None:
        """Cancel a request we sent: queue ``notifications/cancelled`` and stop waiting for it.

        A response that arrives for it afterwards is ignored.

        Raises:
            LocalProtocolError: ``request_id`` is not pending, or it is ``initialize`` (which the
                spec forbids cancelling).
        """
        self._queue_cancel(request_id, reason)

    def send_failed(self) -> None:
        """Tell the engine that writing its frames failed (the transport is broken).

        State effects: -> ERROR. Call :meth:`close` afterwards to learn which of our requests
        are left unanswered (the :class:`Closed` event names them).
        """
        if self._lifecycle.state is not State.ERROR and self._terminal is None:
            self._lifecycle.process(Trigger.PROTOCOL_ERROR)

    def close(self) -> None:
        """Close the connection locally.

        Queues a :class:`Closed` event that names every request of ours still pending; they will
        never be answered. Requests we were serving are forgotten. Idempotent: closing a closed
        connection does nothing.

        State effects: -> CLOSED (or stays ERROR).
        """
        if self._terminal is not None:
            return
        self._lifecycle.process(Trigger.CLOSE)
        self._events.append(Closed(pending=self._drop_all()))
        self._terminal = Closed(pending=())

    # -- helpers

