"""Events: what :meth:`sansio.Connection.next_event` returns.

Every event is a frozen, slotted attrs class that compares by value. Events are named for what
happened. Users never subclass them; build modified copies with :func:`attrs.evolve`.

Which request ids an event *finishes* matters to the adapter (a sent request is answered exactly
once): :class:`ResponseReceived`, :class:`ErrorReceived`, :class:`InputRequired`,
:class:`ListenEnded`, :class:`Initialized` (the client's ``initialize``),
:class:`PeerDisconnected` and :class:`Closed` (their ``pending`` ids). Outside the events, a
:class:`~sansio.errors.RemoteProtocolError` whose ``finished_request`` is set finishes that
request (the peer answered it with a malformed response), and
:meth:`~sansio.Connection.cancel` finishes the request it cancels.
"""

from __future__ import annotations

import enum
from typing import Any, Literal, TypeAlias

import attrs

from .jsonrpc import ErrorObject, RequestId
from .subscriptions import SubscriptionFilter
from .versions import RequestMeta

__all__ = [
    "NEED_DATA",
    "Closed",
    "ErrorReceived",
    "Event",
    "InitializeRequested",
    "Initialized",
    "InputRequired",
    "ListenAcknowledged",
    "ListenEnded",
    "NeedData",
    "NotificationReceived",
    "PeerDisconnected",
    "ProgressReceived",
    "RequestCancelled",
    "RequestReceived",
    "ResponseReceived",
]


class NeedData(enum.Enum):
    """Type of the :data:`NEED_DATA` sentinel."""

    NEED_DATA = "NEED_DATA"

    def __repr__(self) -> str:
        return "NEED_DATA"


NEED_DATA: Literal[NeedData.NEED_DATA] = NeedData.NEED_DATA
"""Returned by ``next_event()`` when no complete event is buffered: feed more data."""


class Event:
    """Base class of all events. Never instantiated itself."""

    __slots__ = ()


@attrs.frozen
class InitializeRequested(Event):
    """(Server) The client sent ``initialize``. Answer it with ``send_response(request_id, ...)``
    (or ``send_initialize_result``) or refuse it with ``send_error``.

    Attributes:
        request_id: the id of the ``initialize`` request.
        params: the request's ``params`` as received.
        requested_version: the ``protocolVersion`` the client asked for.
        protocol_version: what this server will answer: ``requested_version`` when supported,
            otherwise the latest handshake revision the connection supports.
        client_info: the client's ``clientInfo`` object.
        capabilities: the client's ``capabilities`` object.
    """

    request_id: RequestId
    params: dict[str, Any]
    requested_version: str
    protocol_version: str
    client_info: dict[str, Any]
    capabilities: dict[str, Any]


@attrs.frozen
class Initialized(Event):
    """The handshake is complete for this side.

    On the client: the ``initialize`` result arrived and was accepted (it finishes request
    ``request_id``); send ``notifications/initialized`` next (``send_initialized()``).
    On the server: ``notifications/initialized`` arrived; normal operation begins.

    Attributes:
        protocol_version: the negotiated revision.
        peer_info: the peer's ``serverInfo`` / ``clientInfo``.
        peer_capabilities: the peer's capabilities.
        instructions: (client) the server's ``instructions``, if any.
        request_id: (client) the id of the ``initialize`` request; ``None`` on the server.
        result: (client) the ``initialize`` result as received; ``None`` on the server.
    """

    protocol_version: str
    peer_info: dict[str, Any]
    peer_capabilities: dict[str, Any]
    instructions: str | None = None
    request_id: RequestId | None = None
    result: dict[str, Any] | None = None


@attrs.frozen
class RequestReceived(Event):
    """The peer sent a request (other than ``initialize``). Answer it exactly once with
    ``send_response`` or ``send_error``, unless :class:`RequestCancelled` names it first.

    Attributes:
        request_id: the request's id.
        method: the method name.
        params: the ``params`` object as received (``None`` when absent), ``_meta`` included
            (trace context keys such as ``traceparent`` pass through there).
        progress_token: ``params._meta.progressToken`` when the peer asked for progress.
        request_meta: (stateless era) what the request said about itself in ``_meta``
            (:class:`~sansio.versions.RequestMeta`); ``None`` in the handshake era, where the
            session's version and capabilities hold (``Connection.protocol_version``,
            ``Connection.peer_capabilities``). The properties below read it.
    """

    request_id: RequestId
    method: str
    params: dict[str, Any] | None = None
    progress_token: RequestId | None = None
    request_meta: RequestMeta | None = None

    @property
    def protocol_version(self) -> str | None:
        """(Stateless era) the revision this request is written for; else ``None``."""
        meta = self.request_meta
        return meta.version if meta is not None else None

    @property
    def client_capabilities(self) -> dict[str, Any] | None:
        """(Stateless era) the client capabilities this request declared; else ``None``."""
        meta = self.request_meta
        return meta.client_capabilities if meta is not None else None

    @property
    def client_info(self) -> dict[str, Any] | None:
        """(Stateless era) the request's ``clientInfo``, when it sent one."""
        meta = self.request_meta
        return meta.client_info if meta is not None else None

    @property
    def log_level(self) -> str | None:
        """(Stateless era) the lowest log level asked for with this request; ``None``: send no
        ``notifications/message`` for it (the engine refuses)."""
        meta = self.request_meta
        return meta.log_level if meta is not None else None

    @property
    def input_responses(self) -> dict[str, Any] | None:
        """(Stateless era, a retry of ``tools/call``, ``prompts/get`` or ``resources/read``)
        ``params.inputResponses`` as received: the client's results, keyed as the
        ``inputRequests`` of the ``input_required`` answer it retries; ``None`` when absent
        (a first attempt)."""
        value = self.params.get("inputResponses") if self.params else None
        return value if value.__class__ is dict else None

    @property
    def request_state(self) -> str | None:
        """(Stateless era, a retry) ``params.requestState`` exactly as the client echoed it
        (untrusted: open it with a :class:`~sansio.mrtr.RequestStateCodec`); ``None`` when
        absent."""
        value = self.params.get("requestState") if self.params else None
        return value if value.__class__ is str else None

    def typed_input_responses(self) -> dict[str, Any] | None:
        """:attr:`input_responses` structured as MCP types (``ElicitResult``,
        ``CreateMessageResult``, ``ListRootsResult`` by key), or ``None`` when absent.

        Raises:
            sansio.types.TypeValidationError: a response is not one of those results.
        """
        raw = self.input_responses
        if raw is None:
            return None
        from .types import InputResponses, structure  # lazily: the types are heavy

        typed: dict[str, Any] = structure(raw, InputResponses)
        return typed

    @property
    def is_retry(self) -> bool:
        """Whether the request carries ``inputResponses`` or ``requestState`` (it answers an
        earlier ``input_required`` round)."""
        return bool(self.params) and (
            "inputResponses" in self.params or "requestState" in self.params)  # type: ignore[operator]


@attrs.frozen
class NotificationReceived(Event):
    """The peer sent a notification the engine does not turn into a more specific event.

    Attributes:
        method: the method.
        params: the params as received (``_meta`` included).
        subscription_id: (client, stateless era) the ``subscriptions/listen`` request (our
            request id) whose stream carried it (``_meta``
            ``io.modelcontextprotocol/subscriptionId``); ``None`` for any other notification.
    """

    method: str
    params: dict[str, Any] | None = None
    subscription_id: RequestId | None = None


@attrs.frozen
class InputRequired(Event):
    """(Client, stateless era) The server answered ``tools/call``, ``prompts/get`` or
    ``resources/read`` with an ``InputRequiredResult``. This finishes ``request_id``: the
    engine keeps nothing of it. Fulfil ``input_requests`` and retry with
    ``Connection.send_retry(event, input_responses)``: a new request (new id) with
    ``params`` plus ``inputResponses`` and ``requestState``. The retry may be answered with
    another ``input_required`` round, any number of times.

    Attributes:
        request_id: the id of our request (now finished).
        method: its method.
        params: the params we sent, without the ``_meta`` the engine stamped (the caller's own
            ``_meta`` keys are kept), and without the previous round's ``inputResponses`` and
            ``requestState``: what a retry starts from.
        input_requests: the server's requests by key (``{}`` when it sent none): each an
            object with ``method`` (``elicitation/create``, ``sampling/createMessage``,
            ``roots/list``) and ``params``.
        request_state: the opaque ``requestState`` to echo byte-exact, or ``None``.
        result: the whole result as received.
    """

    request_id: RequestId
    method: str
    params: dict[str, Any]
    input_requests: dict[str, Any]
    request_state: str | None
    result: dict[str, Any]


@attrs.frozen
class ListenAcknowledged(Event):
    """(Client) ``notifications/subscriptions/acknowledged`` for one of our
    ``subscriptions/listen`` requests: notifications of the honoured types may follow.

    Attributes:
        request_id: the listen request (its id is the subscription id).
        requested: what we asked for.
        honoured: what the server agreed to (never more than ``requested``).
    """

    request_id: RequestId
    requested: SubscriptionFilter
    honoured: SubscriptionFilter

    @property
    def declined(self) -> SubscriptionFilter:
        """What we asked for and the server will not send (the spec: handle it gracefully)."""
        return self.requested.difference(self.honoured)


@attrs.frozen
class ListenEnded(Event):
    """(Client) The server sent ``notifications/cancelled`` for one of our
    ``subscriptions/listen`` requests that it had not answered: the stream is over and the
    request is finished (when it answers first, as the spec says, that answer is the
    :class:`ResponseReceived` and the notification is dropped).

    Attributes:
        request_id: the listen request.
        reason: the server's reason, when given.
    """

    request_id: RequestId
    reason: str | None = None


@attrs.frozen
class ResponseReceived(Event):
    """A successful response to a request we sent (this finishes ``request_id``).

    Attributes:
        request_id: the id of our request.
        method: the method of our request.
        result: the ``result`` object as received.
        typed: the result as its MCP type (``CallToolResult`` for ``tools/call``, ...) when
            the engine validated it (``validate=True`` and a method it knows), else ``None``.
            Validating builds it anyway: this saves a caller structuring it twice. Not part
            of equality.
        result_type: (stateless era) the result's ``resultType``: ``"complete"`` (also when
            absent; an ``input_required`` result is an :class:`InputRequired` event instead);
            ``None`` in the handshake era.
    """

    request_id: RequestId
    method: str
    result: dict[str, Any]
    typed: Any = attrs.field(default=None, eq=False, repr=False)
    result_type: str | None = None


@attrs.frozen
class ErrorReceived(Event):
    """An error response to a request we sent (this finishes ``request_id``).

    The stateless era's errors come with their ``error.data``: -32022
    (``{"supported": [...], "requested": ...}``: retry with a supported revision), -32021
    (``{"requiredCapabilities": {...}}``) and -32020 (an HTTP header disagreed with the body).

    ``request_id`` is ``None`` (and ``method`` is ``""``) for an error response the peer could not
    attach to a request (for example its answer to a frame it could not parse): such an event
    finishes nothing.
    """

    request_id: RequestId | None
    method: str
    error: ErrorObject


@attrs.frozen
class RequestCancelled(Event):
    """The peer cancelled a request we are serving. Stop working on it: the engine will not send
    a response for it. ``send_response``/``send_error`` for that id become no-ops (for the last
    1024 cancelled ids; older ones are forgotten and answering them raises
    ``LocalProtocolError``)."""

    request_id: RequestId
    reason: str | None = None


@attrs.frozen
class ProgressReceived(Event):
    """``notifications/progress`` for a request of ours that is still pending.

    Progress for tokens of finished or unknown requests is dropped without an event.
    """

    request_id: RequestId
    progress_token: RequestId
    progress: float
    total: float | None = None
    message: str | None = None


@attrs.frozen
class PeerDisconnected(Event):
    """The peer went away (end of input, or the transport failed).

    Attributes:
        pending: ids of our requests that will now never be answered (finished by this event).
        reason: why, when known (for example "peer closed mid-frame").
    """

    pending: tuple[RequestId, ...] = ()
    reason: str | None = None


@attrs.frozen
class Closed(Event):
    """We closed the connection with ``close()``.

    Attributes:
        pending: ids of our requests that will now never be answered (finished by this event).
    """

    pending: tuple[RequestId, ...] = ()


AnyEvent: TypeAlias = (
    "InitializeRequested | Initialized | RequestReceived | NotificationReceived | "
    "InputRequired | ListenAcknowledged | ListenEnded | "
    "ResponseReceived | ErrorReceived | RequestCancelled | ProgressReceived | "
    "PeerDisconnected | Closed"
)
