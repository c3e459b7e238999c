"""``subscriptions/listen`` streams (MCP 2026-07-28): the decisions, without I/O.

https://modelcontextprotocol.io/specification/2026-07-28/basic/patterns/subscriptions

A client opens a long-lived stream with a ``subscriptions/listen`` request whose
``params.notifications`` (a ``SubscriptionFilter``) opts in to notification types:
``toolsListChanged``, ``promptsListChanged``, ``resourcesListChanged`` (booleans) and
``resourceSubscriptions`` (resource URIs, for ``notifications/resources/updated``). The server
answers with ``notifications/subscriptions/acknowledged`` first, carrying the subset it honours,
then sends only the notification types requested. Every message of the stream carries
``_meta["io.modelcontextprotocol/subscriptionId"]``.

**The subscription id is the JSON-RPC id of the listen request** (the spec: "The value is the
JSON-RPC ID of the ``subscriptions/listen`` request"). Nobody mints it, so no randomness is
needed here; ids ``1`` and ``"1"`` are different subscriptions.

A stream ends when the client cancels it (``notifications/cancelled`` on stdio, closing the
SSE stream on HTTP: nothing is sent back), when the server tears it down (the listen request's
response, a result ``{"resultType": "complete", "_meta": {subscriptionId}}``; and on stdio,
cancellation.mdx adds that the server MUST also send ``notifications/cancelled`` referencing the
listen request: send the result first, then the notification), or when the transport closes.

Two pure state objects, one per connection:

* :class:`ServerSubscriptions` -- the server's open streams: :meth:`~ServerSubscriptions.open`
  decides the honoured subset from the server's capabilities and gives the acknowledgement,
  :meth:`~ServerSubscriptions.route` says which streams a notification goes to (each copy
  tagged with its stream's id), :meth:`~ServerSubscriptions.end` and
  :meth:`~ServerSubscriptions.cancel` close one; the number of open streams is bounded.
* :class:`ClientSubscriptions` -- the client's listens: :meth:`~ClientSubscriptions.listen`
  builds the request params, :meth:`~ClientSubscriptions.receive_notification` demultiplexes
  what arrives by subscription id, :meth:`~ClientSubscriptions.receive_response` and
  :meth:`~ClientSubscriptions.cancel` end one.

Neither writes anything: they return the params and frames for the engine to send.
"""

from __future__ import annotations

import enum
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from typing import Any, Final

import attrs

from .errors import ErrorCode
from .jsonrpc import ErrorObject, RequestId, is_request_id
from .versions import META_SUBSCRIPTION_ID

__all__ = [
    "ACKNOWLEDGED_METHOD",
    "CANCELLED_METHOD",
    "DEFAULT_MAX_RESOURCE_URIS",
    "DEFAULT_MAX_STREAMS",
    "LISTEN_METHOD",
    "NOTIFICATION_FILTER_FIELDS",
    "SUBSCRIPTION_ID_META",
    "Acknowledged",
    "ClientSubscription",
    "ClientSubscriptions",
    "Delivery",
    "EndReason",
    "ListenRefused",
    "ListenStream",
    "ServerSubscriptions",
    "StaleNotification",
    "StreamEnd",
    "SubscriptionEnded",
    "SubscriptionFilter",
    "SubscriptionNotification",
    "SubscriptionViolation",
]

LISTEN_METHOD: Final = "subscriptions/listen"
ACKNOWLEDGED_METHOD: Final = "notifications/subscriptions/acknowledged"
CANCELLED_METHOD: Final = "notifications/cancelled"
SUBSCRIPTION_ID_META: Final = META_SUBSCRIPTION_ID
DEFAULT_MAX_STREAMS: Final = 16
"""Open listen streams per connection, by default."""
DEFAULT_MAX_RESOURCE_URIS: Final = 1024
"""``resourceSubscriptions`` entries per listen request, by default."""

NOTIFICATION_FILTER_FIELDS: Final[Mapping[str, str]] = {
    "notifications/tools/list_changed": "toolsListChanged",
    "notifications/prompts/list_changed": "promptsListChanged",
    "notifications/resources/list_changed": "resourcesListChanged",
    "notifications/resources/updated": "resourceSubscriptions",
    "notifications/tasks": "taskIds",  # the io.modelcontextprotocol/tasks extension
}
"""The notifications a listen stream carries, and the filter field that opts in to each."""

_UPDATED: Final = "notifications/resources/updated"
_TASKS: Final = "notifications/tasks"
TASKS_EXTENSION_ID: Final = "io.modelcontextprotocol/tasks"


def _exact(subscribed: str, uri: str) -> bool:
    return subscribed == uri


@attrs.frozen
class SubscriptionFilter:
    """A ``SubscriptionFilter``: which notification types a listen stream carries.

    Attributes:
        tools_list_changed: ``notifications/tools/list_changed``.
        prompts_list_changed: ``notifications/prompts/list_changed``.
        resources_list_changed: ``notifications/resources/list_changed``.
        resource_subscriptions: the URIs for ``notifications/resources/updated``, in request
            order, without repeats.
        task_ids: (the ``io.modelcontextprotocol/tasks`` extension) the tasks whose
            ``notifications/tasks`` the stream carries, in request order, without repeats.
    """

    tools_list_changed: bool = False
    prompts_list_changed: bool = False
    resources_list_changed: bool = False
    resource_subscriptions: tuple[str, ...] = ()
    task_ids: tuple[str, ...] = ()

    @classmethod
    def from_json(cls, value: object, *,
                  max_resource_uris: int = DEFAULT_MAX_RESOURCE_URIS) -> SubscriptionFilter:
        """Read a filter from its wire form (``params.notifications``).

        Absent fields and ``false`` mean "not subscribed"; unknown fields are ignored (a later
        revision may add types); repeated URIs count once.

        Raises:
            ValueError: ``value`` is not an object, a flag is not a boolean,
                ``resourceSubscriptions`` is not a list of strings, or it holds more than
                ``max_resource_uris`` distinct URIs.
        """
        if not isinstance(value, Mapping):
            raise ValueError("notifications must be an object")
        flags: dict[str, bool] = {}
        for key, attr in (("toolsListChanged", "tools_list_changed"),
                          ("promptsListChanged", "prompts_list_changed"),
                          ("resourcesListChanged", "resources_list_changed")):
            flag = value.get(key, False)
            if flag.__class__ is not bool:
                raise ValueError(f"notifications.{key} must be a boolean")
            flags[attr] = flag
        uris = value.get("resourceSubscriptions", [])
        if uris.__class__ is not list or any(u.__class__ is not str for u in uris):
            raise ValueError("notifications.resourceSubscriptions must be a list of strings")
        unique = tuple(dict.fromkeys(uris))
        if len(unique) > max_resource_uris:
            raise ValueError(f"notifications.resourceSubscriptions holds {len(unique)} URIs, "
                             f"more than the {max_resource_uris} allowed")
        tasks = value.get("taskIds", [])
        if tasks.__class__ is not list or any(i.__class__ is not str for i in tasks):
            raise ValueError("notifications.taskIds must be a list of strings")
        task_ids = tuple(dict.fromkeys(tasks))
        if len(task_ids) > max_resource_uris:
            raise ValueError(f"notifications.taskIds holds {len(task_ids)} ids, more than the "
                             f"{max_resource_uris} allowed")
        return cls(resource_subscriptions=unique, task_ids=task_ids, **flags)

    def to_json(self) -> dict[str, Any]:
        """Return the wire form: only the types subscribed to (``{}`` when none)."""
        out: dict[str, Any] = {}
        if self.tools_list_changed:
            out["toolsListChanged"] = True
        if self.prompts_list_changed:
            out["promptsListChanged"] = True
        if self.resources_list_changed:
            out["resourcesListChanged"] = True
        if self.resource_subscriptions:
            out["resourceSubscriptions"] = list(self.resource_subscriptions)
        if self.task_ids:
            out["taskIds"] = list(self.task_ids)
        return out

    @property
    def is_empty(self) -> bool:
        """Whether no notification type is subscribed to."""
        return not (self.tools_list_changed or self.prompts_list_changed
                    or self.resources_list_changed or self.resource_subscriptions
                    or self.task_ids)

    def honoured_by(self, capabilities: Mapping[str, Any] | None, *,
                    accept_uri: Callable[[str], bool] | None = None) -> SubscriptionFilter:
        """Return the subset a server with ``capabilities`` (its ``ServerCapabilities``) honours.

        ``tools.listChanged``, ``prompts.listChanged`` and ``resources.listChanged`` must be
        true for the list-changed types, ``resources.subscribe`` for resource URIs; a URI is
        also dropped when ``accept_uri`` (if given) returns false for it.
        """
        caps: Mapping[str, Any] = capabilities or {}

        def flag(feature: str, name: str) -> bool:
            node = caps.get(feature)
            return isinstance(node, Mapping) and node.get(name) is True

        uris = self.resource_subscriptions if flag("resources", "subscribe") else ()
        if accept_uri is not None:
            uris = tuple(u for u in uris if accept_uri(u))
        extensions = caps.get("extensions")
        offers_tasks = isinstance(extensions, Mapping) and TASKS_EXTENSION_ID in extensions
        return SubscriptionFilter(
            task_ids=self.task_ids if offers_tasks else (),
            tools_list_changed=self.tools_list_changed and flag("tools", "listChanged"),
            prompts_list_changed=self.prompts_list_changed and flag("prompts", "listChanged"),
            resources_list_changed=(self.resources_list_changed
                                    and flag("resources", "listChanged")),
            resource_subscriptions=uris,
        )

    def intersection(self, other: SubscriptionFilter) -> SubscriptionFilter:
        """Return the types (and URIs, in this filter's order) both filters subscribe to."""
        theirs = set(other.resource_subscriptions)
        return SubscriptionFilter(
            tools_list_changed=self.tools_list_changed and other.tools_list_changed,
            prompts_list_changed=self.prompts_list_changed and other.prompts_list_changed,
            resources_list_changed=self.resources_list_changed and other.resources_list_changed,
            resource_subscriptions=tuple(u for u in self.resource_subscriptions if u in theirs),
            task_ids=tuple(i for i in self.task_ids if i in set(other.task_ids)),
        )

    def difference(self, other: SubscriptionFilter) -> SubscriptionFilter:
        """Return the types (and URIs) this filter subscribes to and ``other`` does not."""
        theirs = set(other.resource_subscriptions)
        return SubscriptionFilter(
            tools_list_changed=self.tools_list_changed and not other.tools_list_changed,
            prompts_list_changed=self.prompts_list_changed and not other.prompts_list_changed,
            resources_list_changed=(self.resources_list_changed
                                    and not other.resources_list_changed),
            resource_subscriptions=tuple(u for u in self.resource_subscriptions
                                         if u not in theirs),
            task_ids=tuple(i for i in self.task_ids if i not in set(other.task_ids)),
        )

    def carries(self, method: str, params: Mapping[str, Any] | None = None, *,
                uri_matches: Callable[[str, str], bool] = _exact) -> bool:
        """Whether a stream with this filter carries the notification ``method``/``params``.

        A ``notifications/resources/updated`` goes where ``uri_matches(subscribed, uri)`` is
        true for one of the URIs (default: equality; the spec allows the updated URI to be a
        sub-resource of the subscribed one, so a server may pass its own rule). A
        notification type that no filter field covers is carried by no stream.
        """
        if method == "notifications/tools/list_changed":
            return self.tools_list_changed
        if method == "notifications/prompts/list_changed":
            return self.prompts_list_changed
        if method == "notifications/resources/list_changed":
            return self.resources_list_changed
        if method == _UPDATED:
            uri = (params or {}).get("uri")
            return uri.__class__ is str and any(uri_matches(s, uri)
                                                for s in self.resource_subscriptions)
        if method == _TASKS:
            return (params or {}).get("taskId") in self.task_ids
        return False


def _tagged(params: Mapping[str, Any] | None, subscription_id: RequestId) -> dict[str, Any]:
    given: Mapping[str, Any] = params or {}
    meta = given.get("_meta")
    out: dict[str, Any] = {"_meta": {**(meta if isinstance(meta, Mapping) else {}),
                                     SUBSCRIPTION_ID_META: subscription_id}}
    out.update((k, v) for k, v in given.items() if k != "_meta")
    return out


@attrs.frozen
class Delivery:
    """One notification to write on one listen stream.

    Attributes:
        subscription_id: the stream (the listen request's id); on HTTP, the SSE stream to
            write it on.
        method: the notification's method.
        params: its params, ``_meta`` carrying the subscription id.
    """

    subscription_id: RequestId
    method: str
    params: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        """Return the JSON-RPC notification frame."""
        return {"jsonrpc": "2.0", "method": self.method, "params": self.params}


@attrs.frozen
class ListenStream:
    """An open listen stream, server side.

    Attributes:
        subscription_id: the listen request's id, which is the subscription id.
        requested: what the client asked for.
        honoured: the subset the server agreed to (what the acknowledgement says).
    """

    subscription_id: RequestId
    requested: SubscriptionFilter
    honoured: SubscriptionFilter

    @property
    def acknowledgement(self) -> Delivery:
        """The ``notifications/subscriptions/acknowledged`` to write first on this stream."""
        return Delivery(self.subscription_id, ACKNOWLEDGED_METHOD,
                        _tagged({"notifications": self.honoured.to_json()},
                                self.subscription_id))


@attrs.frozen
class StreamEnd:
    """What the server writes when it ends a stream on its own initiative.

    Attributes:
        subscription_id: the stream that ends.
        result: the ``SubscriptionsListenResult``: answer the listen request with it
            (``send_response(subscription_id, result)``), then, on HTTP, end the SSE stream.
        cancelled: the params of the ``notifications/cancelled`` that cancellation.mdx says a
            server MUST send on stdio when it tears a stream down; send it after the result.
    """

    subscription_id: RequestId
    result: dict[str, Any]
    cancelled: dict[str, Any]


class ListenRefused(Exception):
    """A ``subscriptions/listen`` request cannot be served; answer it with :meth:`error_object`.

    Raised by :meth:`ServerSubscriptions.open` (and by :meth:`ClientSubscriptions.listen` for
    the client's own bound). Nothing changed.

    Attributes:
        code: ``INVALID_PARAMS`` for a bad filter, ``INVALID_REQUEST`` for a stream limit or a
            duplicate id.
    """

    code: ErrorCode
    data: Any

    def __init__(self, message: str, code: ErrorCode, data: Any = None) -> None:
        super().__init__(message)
        self.code = code
        self.data = data

    def error_object(self) -> ErrorObject:
        """Return the JSON-RPC error that answers the listen request."""
        return ErrorObject(self.code, str(self), self.data)


def _check_id(request_id: object) -> None:
    if not is_request_id(request_id):
        raise ValueError(f"a request id must be an int or a str, not {request_id!r}")


class ServerSubscriptions:
    """The listen streams open on one server connection. Pure state: it writes nothing.

    Args:
        capabilities: the server's ``ServerCapabilities`` (wire form); they decide the
            honoured subset of every listen.
        max_streams: how many streams may be open at once; one more is refused.
        max_resource_uris: how many URIs one listen may subscribe to; more is refused.
        uri_matches: ``(subscribed_uri, updated_uri) -> bool`` for
            ``notifications/resources/updated`` routing (default: equality).

    Raises:
        ValueError: ``max_streams`` or ``max_resource_uris`` is not a positive integer.
    """

    def __init__(
        self,
        capabilities: Mapping[str, Any] | None,
        *,
        max_streams: int = DEFAULT_MAX_STREAMS,
        max_resource_uris: int = DEFAULT_MAX_RESOURCE_URIS,
        uri_matches: Callable[[str, str], bool] = _exact,
    ) -> None:
        for name, value in (("max_streams", max_streams),
                            ("max_resource_uris", max_resource_uris)):
            if value.__class__ is not int or value < 1:
                raise ValueError(f"{name} must be a positive integer")
        self._capabilities: Mapping[str, Any] = dict(capabilities or {})
        self._max_streams = max_streams
        self._max_uris = max_resource_uris
        self._uri_matches = uri_matches
        self._streams: dict[RequestId, ListenStream] = {}

    @property
    def streams(self) -> Mapping[RequestId, ListenStream]:
        """The open streams by subscription id, in opening order (a copy)."""
        return dict(self._streams)

    def __len__(self) -> int:
        return len(self._streams)

    def __contains__(self, request_id: object) -> bool:
        return request_id in self._streams

    def __iter__(self) -> Iterator[RequestId]:
        return iter(list(self._streams))

    def open(self, request_id: RequestId, params: Mapping[str, Any] | None, *,
             accept_uri: Callable[[str], bool] | None = None) -> ListenStream:
        """Open the stream of a ``subscriptions/listen`` request.

        Write ``stream.acknowledgement`` before any other message of this stream (on HTTP:
        as the first event of the listen request's SSE stream). An empty honoured subset still
        opens a stream (the acknowledgement says ``"notifications": {}``).

        Args:
            request_id: the listen request's id (the subscription id).
            params: the request's params (``notifications`` is read; ``_meta`` is the engine's).
            accept_uri: an extra per-URI decision (e.g. "this resource exists"); URIs it
                refuses are left out of the honoured subset.

        State: the stream is open; :meth:`route` includes it from now on.

        Raises:
            ListenRefused: the filter is malformed or too long (``INVALID_PARAMS``), a stream
                with this id is already open or ``max_streams`` are open (``INVALID_REQUEST``).
                Nothing changed; answer the request with ``exc.error_object()``.
            ValueError: ``request_id`` is not an int or a str (a caller bug).
        """
        _check_id(request_id)
        if request_id in self._streams:
            raise ListenRefused(f"a subscription with id {request_id!r} is already open",
                                ErrorCode.INVALID_REQUEST)
        if len(self._streams) >= self._max_streams:
            raise ListenRefused(f"too many open subscriptions (at most {self._max_streams})",
                                ErrorCode.INVALID_REQUEST)
        if not isinstance(params, Mapping) or "notifications" not in params:
            raise ListenRefused("subscriptions/listen needs params.notifications",
                                ErrorCode.INVALID_PARAMS)
        try:
            requested = SubscriptionFilter.from_json(params["notifications"],
                                                     max_resource_uris=self._max_uris)
        except ValueError as exc:
            raise ListenRefused(str(exc), ErrorCode.INVALID_PARAMS) from None
        stream = ListenStream(request_id, requested,
                              requested.honoured_by(self._capabilities, accept_uri=accept_uri))
        self._streams[request_id] = stream
        return stream

    def route(self, method: str, params: Mapping[str, Any] | None = None) -> list[Delivery]:
        """Return one copy of a server notification per open stream that carries it.

        Each copy's ``_meta`` holds its stream's subscription id (other ``_meta`` keys of
        ``params`` are kept). Streams are in opening order; none may mean nobody listens.

        Raises:
            ValueError: ``method`` is not a notification a listen stream carries (see
                :data:`NOTIFICATION_FILTER_FIELDS`; request-scoped notifications such as
                progress or log messages go on their request's stream instead), or a
                ``notifications/resources/updated`` has no string ``uri``.
        """
        if method not in NOTIFICATION_FILTER_FIELDS:
            raise ValueError(f"{method} is not delivered on subscriptions/listen streams")
        if method == _UPDATED and (params or {}).get("uri").__class__ is not str:
            raise ValueError("notifications/resources/updated needs a string uri")
        return [Delivery(sid, method, _tagged(params, sid))
                for sid, stream in self._streams.items()
                if stream.honoured.carries(method, params, uri_matches=self._uri_matches)]

    def cancel(self, request_id: RequestId) -> ListenStream | None:
        """Close a stream the client cancelled (``notifications/cancelled`` on stdio, the SSE
        stream closed on HTTP). Nothing is to be written for it any more.

        Returns:
            The stream that closed, or ``None`` when no stream has this id (a cancellation of
            another request, or a late one: the spec says to ignore it).

        State: the stream is closed.
        """
        return self._streams.pop(request_id, None)

    def end(self, request_id: RequestId, reason: str | None = None) -> StreamEnd:
        """End a stream on the server's initiative (shutdown, the resource went away...).

        Returns:
            What to write (see :class:`StreamEnd`): the listen request's result, and for
            stdio the ``notifications/cancelled`` params (with ``reason`` if given).

        State: the stream is closed.

        Raises:
            KeyError: no stream has this id.
        """
        if request_id not in self._streams:
            raise KeyError(f"no open subscription with id {request_id!r}")
        del self._streams[request_id]
        result = {"resultType": "complete", "_meta": {SUBSCRIPTION_ID_META: request_id}}
        cancelled: dict[str, Any] = {"_meta": {SUBSCRIPTION_ID_META: request_id},
                                     "requestId": request_id}
        if reason is not None:
            cancelled["reason"] = reason
        return StreamEnd(request_id, result, cancelled)

    def end_all(self, reason: str | None = None) -> list[StreamEnd]:
        """End every open stream (server shutdown), in opening order. See :meth:`end`."""
        return [self.end(sid, reason) for sid in list(self._streams)]

    def connection_lost(self) -> list[ListenStream]:
        """Forget every stream: the transport closed, nothing can be written.

        Returns:
            The streams that were open.
        """
        lost = list(self._streams.values())
        self._streams.clear()
        return lost


# -- client side ---------------------------------------------------------------------------------


class EndReason(enum.Enum):
    """How a subscription ended, client side."""

    COMPLETED = "completed"
    """The server answered the listen request with a result (a graceful end)."""
    ERROR = "error"
    """The server answered the listen request with an error."""
    SERVER_CANCELLED = "server cancelled"
    """The server sent ``notifications/cancelled`` for the listen request."""
    CANCELLED = "cancelled"
    """We cancelled it."""
    CONNECTION_LOST = "connection lost"
    """The transport closed without an answer (the spec: a trigger to reconnect)."""


@attrs.frozen
class ClientSubscription:
    """One of the client's listens.

    Attributes:
        subscription_id: the listen request's id.
        requested: what we asked for.
        honoured: what the server acknowledged (``None`` until the acknowledgement arrives).
    """

    subscription_id: RequestId
    requested: SubscriptionFilter
    honoured: SubscriptionFilter | None = None

    @property
    def acknowledged(self) -> bool:
        """Whether the acknowledgement has arrived."""
        return self.honoured is not None


@attrs.frozen
class Acknowledged:
    """The server acknowledged a listen: notifications may follow.

    Attributes:
        subscription_id: the listen request's id.
        requested: what we asked for.
        honoured: what the server agreed to (never more than ``requested``: anything extra in
            the acknowledgement is ignored).
    """

    subscription_id: RequestId
    requested: SubscriptionFilter
    honoured: SubscriptionFilter

    @property
    def declined(self) -> SubscriptionFilter:
        """What we asked for and the server does not honour (the spec: handle gracefully)."""
        return self.requested.difference(self.honoured)


@attrs.frozen
class SubscriptionNotification:
    """A notification delivered on one of our listen streams.

    Attributes:
        subscription_id: the stream it belongs to.
        method: the notification's method.
        params: its params, as received (``_meta`` included).
    """

    subscription_id: RequestId
    method: str
    params: Mapping[str, Any]


@attrs.frozen
class SubscriptionEnded:
    """One of our subscriptions ended.

    Attributes:
        subscription_id: the listen request's id.
        reason: how it ended.
    """

    subscription_id: RequestId
    reason: EndReason


@attrs.frozen
class StaleNotification:
    """A message for a subscription that already ended (it crossed the end on the wire). The
    spec says to ignore it.

    Attributes:
        subscription_id: the ended subscription.
        method: the late notification's method.
    """

    subscription_id: RequestId
    method: str


class SubscriptionViolation(Exception):
    """The server broke the subscription rules with one notification; drop that notification.

    Raised by :meth:`ClientSubscriptions.receive_notification`: an unknown or malformed
    subscription id, a second acknowledgement, a notification before the acknowledgement, or a
    notification type the listen did not request. Nothing changed.

    Attributes:
        subscription_id: the id the notification carried (``None`` when it was malformed).
    """

    subscription_id: RequestId | None

    def __init__(self, message: str, subscription_id: RequestId | None = None) -> None:
        super().__init__(message)
        self.subscription_id = subscription_id


class ClientSubscriptions:
    """The client's listens on one connection: demultiplexes what the server sends.

    Args:
        max_streams: how many listens may be open at once.
        remember_ended: how many ended subscription ids are remembered, so a late message
            for one is :class:`StaleNotification` rather than a violation (oldest forgotten
            first).

    Raises:
        ValueError: a bound is not a positive integer.
    """

    def __init__(self, *, max_streams: int = DEFAULT_MAX_STREAMS,
                 remember_ended: int = 64) -> None:
        for name, value in (("max_streams", max_streams), ("remember_ended", remember_ended)):
            if value.__class__ is not int or value < 1:
                raise ValueError(f"{name} must be a positive integer")
        self._max_streams = max_streams
        self._subs: dict[RequestId, ClientSubscription] = {}
        self._ended: deque[RequestId] = deque(maxlen=remember_ended)

    @property
    def subscriptions(self) -> Mapping[RequestId, ClientSubscription]:
        """The open listens by subscription id, in opening order (a read-only copy)."""
        return dict(self._subs)

    def __len__(self) -> int:
        return len(self._subs)

    def __contains__(self, request_id: object) -> bool:
        return request_id in self._subs

    def listen(self, request_id: RequestId, notifications: SubscriptionFilter) -> dict[str, Any]:
        """Register a listen about to be sent with id ``request_id``; return its params.

        The params are ``{"notifications": ...}``; the engine adds the request ``_meta``.

        State: the listen is open, waiting for its acknowledgement.

        Raises:
            ListenRefused: ``max_streams`` listens are open, or one already has this id.
            ValueError: ``request_id`` is not an int or a str.
        """
        _check_id(request_id)
        if request_id in self._subs:
            raise ListenRefused(f"a subscription with id {request_id!r} is already open",
                                ErrorCode.INVALID_REQUEST)
        if len(self._subs) >= self._max_streams:
            raise ListenRefused(f"too many open subscriptions (at most {self._max_streams})",
                                ErrorCode.INVALID_REQUEST)
        self._subs[request_id] = ClientSubscription(request_id, notifications)
        return {"notifications": notifications.to_json()}

    def _end(self, request_id: RequestId, reason: EndReason) -> SubscriptionEnded:
        del self._subs[request_id]
        self._ended.append(request_id)
        return SubscriptionEnded(request_id, reason)

    def receive_notification(
        self, method: str, params: Mapping[str, Any] | None
    ) -> Acknowledged | SubscriptionNotification | SubscriptionEnded | StaleNotification | None:
        """Say what an incoming server notification means for our subscriptions.

        Returns:
            ``None`` when it is not a subscription's (no subscription id in ``_meta``, and not
            a ``notifications/cancelled`` of a listen): handle it as any notification.
            :class:`Acknowledged` for the first acknowledgement of a listen,
            :class:`SubscriptionNotification` for a notification on an acknowledged stream,
            :class:`SubscriptionEnded` for a ``notifications/cancelled`` of a listen, and
            :class:`StaleNotification` for anything about a subscription that already ended.
            A ``notifications/resources/updated`` is accepted for any URI on a stream that
            subscribed to some (the spec lets it name a sub-resource of one).

        State: an acknowledgement records the honoured subset; a cancellation ends the
        subscription.

        Raises:
            SubscriptionViolation: see that class; nothing changed.
        """
        p: Mapping[str, Any] = params if isinstance(params, Mapping) else {}
        raw_meta = p.get("_meta")
        meta: Mapping[str, Any] = raw_meta if isinstance(raw_meta, Mapping) else {}
        has_id = SUBSCRIPTION_ID_META in meta
        if method == CANCELLED_METHOD:
            target = p.get("requestId")
            if isinstance(target, int | str) and not isinstance(target, bool):
                if target in self._subs:
                    return self._end(target, EndReason.SERVER_CANCELLED)
                if target in self._ended:
                    return StaleNotification(target, method)
            if not has_id:
                return None
        if not has_id:
            return None
        sid = meta[SUBSCRIPTION_ID_META]
        if not is_request_id(sid):
            raise SubscriptionViolation(f"{method}: the subscription id {sid!r} is not an int "
                                        "or a str")
        sub = self._subs.get(sid)
        if sub is None:
            if sid in self._ended:
                return StaleNotification(sid, method)
            raise SubscriptionViolation(f"{method} for unknown subscription {sid!r}", sid)
        if method == ACKNOWLEDGED_METHOD:
            if sub.acknowledged:
                raise SubscriptionViolation(f"subscription {sid!r} was acknowledged twice", sid)
            try:
                offered = SubscriptionFilter.from_json(p.get("notifications"),
                                                       max_resource_uris=2**31)
            except ValueError as exc:
                raise SubscriptionViolation(f"acknowledgement of {sid!r}: {exc}", sid) from None
            honoured = sub.requested.intersection(offered)
            self._subs[sid] = attrs.evolve(sub, honoured=honoured)
            return Acknowledged(sid, sub.requested, honoured)
        if not sub.acknowledged:
            raise SubscriptionViolation(
                f"{method} on subscription {sid!r} before its acknowledgement", sid)
        field = NOTIFICATION_FILTER_FIELDS.get(method)
        requested = sub.requested.to_json()
        if field is None or field not in requested:
            raise SubscriptionViolation(
                f"{method} on subscription {sid!r}, which did not request it", sid)
        return SubscriptionNotification(sid, method, p)

    def receive_response(self, request_id: RequestId, *, error: bool = False
                         ) -> SubscriptionEnded | None:
        """Say whether a response (``error``: an error response) ends one of our listens.

        Returns:
            :class:`SubscriptionEnded` (``COMPLETED``, or ``ERROR``) when ``request_id`` is an
            open listen, else ``None`` (the response of another request).

        State: the subscription is ended.
        """
        if request_id not in self._subs:
            return None
        return self._end(request_id, EndReason.ERROR if error else EndReason.COMPLETED)

    def cancel(self, request_id: RequestId, reason: str | None = None) -> dict[str, Any]:
        """End one of our listens; return the ``notifications/cancelled`` params.

        On stdio send them; on HTTP close the listen's SSE stream instead (send nothing).
        A message for it that arrives afterwards is a :class:`StaleNotification`.

        State: the subscription is ended.

        Raises:
            KeyError: no open listen has this id.
        """
        if request_id not in self._subs:
            raise KeyError(f"no open subscription with id {request_id!r}")
        self._end(request_id, EndReason.CANCELLED)
        out: dict[str, Any] = {"requestId": request_id}
        if reason is not None:
            out["reason"] = reason
        return out

    def connection_lost(self) -> list[SubscriptionEnded]:
        """End every listen: the transport closed without their answers (re-listen to
        resume: the server keeps nothing across connections).

        Returns:
            One :class:`SubscriptionEnded` (``CONNECTION_LOST``) per listen, in opening order.
        """
        return [self._end(sid, EndReason.CONNECTION_LOST) for sid in list(self._subs)]
