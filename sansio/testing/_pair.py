"""`ConnectionPair`: a client and a server engine wired back to back."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from .. import _codec
from ..connection import Connection
from ..errors import RemoteProtocolError
from ..events import (
    NEED_DATA,
    Closed,
    Event,
    Initialized,
    InitializeRequested,
    PeerDisconnected,
    RequestReceived,
    ResponseReceived,
)
from ..jsonrpc import RequestId
from ..state import Role
from ..subscriptions import DEFAULT_MAX_STREAMS
from ..versions import HANDSHAKE_VERSIONS, SUPPORTED_VERSIONS, Era

__all__ = ["ConnectionPair", "drain_events"]


def drain_events(conn: Connection) -> list[Event]:
    """Return every event ``conn`` can produce now, stopping at ``NEED_DATA`` or a terminal event.

    Raises:
        RemoteProtocolError: as :meth:`Connection.next_event`, for the first bad frame.
    """
    events: list[Event] = []
    while True:
        event = conn.next_event()
        if event is NEED_DATA:
            return events
        assert isinstance(event, Event)
        events.append(event)
        if isinstance(event, (PeerDisconnected, Closed)):
            return events


class ConnectionPair:
    """Two engines, a client and a server, connected back to back in memory.

    Every frame one side queues can be delivered to the other with :meth:`deliver`, whole or one
    byte at a time; every delivered frame is recorded in :attr:`wire` (as ``(sender role,
    decoded JSON)``), so tests can check what crossed the wire. The helpers (:meth:`handshake`,
    :meth:`request`, :meth:`respond`) assert that what one side sent is what the other side
    received.

    Args:
        client_versions: revisions the client supports.
        server_versions: revisions the server supports.
        byte_by_byte: feed every delivery one byte at a time (exercises partial frames).
        validate: passed to both engines.
        server_info: passed to the server engine (stamped on its stateless-era results).
        server_capabilities: passed to the server engine (its stateless-era capabilities).
        max_listen_streams: passed to both engines.

    For the stateless era (2026-07-28) build the pair with :meth:`stateless`: there is no
    handshake; the client stamps every request's ``_meta`` and the server judges each alone.
    """

    def __init__(
        self,
        *,
        client_versions: Iterable[str] = HANDSHAKE_VERSIONS,
        server_versions: Iterable[str] = HANDSHAKE_VERSIONS,
        byte_by_byte: bool = False,
        validate: bool = True,
        server_info: Mapping[str, Any] | None = None,
        server_capabilities: Mapping[str, Any] | None = None,
        max_listen_streams: int = DEFAULT_MAX_STREAMS,
    ) -> None:
        self.client = Connection(Role.CLIENT, supported_versions=client_versions,
                                 validate=validate, max_listen_streams=max_listen_streams)
        self.server = Connection(Role.SERVER, supported_versions=server_versions,
                                 validate=validate, server_info=server_info,
                                 server_capabilities=server_capabilities,
                                 max_listen_streams=max_listen_streams)
        self.byte_by_byte = byte_by_byte
        self.wire: list[tuple[Role, Any]] = []

    @classmethod
    def stateless(
        cls,
        *,
        client_capabilities: Mapping[str, Any] | None = None,
        client_info: Mapping[str, Any] | None = None,
        server_info: Mapping[str, Any] | None = None,
        server_capabilities: Mapping[str, Any] | None = None,
        protocol_version: str | None = None,
        log_level: str | None = None,
        byte_by_byte: bool = False,
        validate: bool = True,
        max_listen_streams: int = DEFAULT_MAX_STREAMS,
    ) -> ConnectionPair:
        """A pair in the stateless era: two dual-era engines, the client already started with
        :meth:`Connection.start_stateless` (the server enters the era with the first request
        it receives).

        Args:
            client_capabilities: declared on every request (default ``{}``).
            client_info: default ``{"name": "test-client", "version": "1.0"}``.
            server_info: default ``{"name": "test-server", "version": "1.0"}``.
            server_capabilities: the server's; default ``None`` (not checked).
            protocol_version: default the latest stateless revision.
            log_level: the client's default log level.
            byte_by_byte: as the constructor.
            validate: as the constructor.
            max_listen_streams: both engines' bound on ``subscriptions/listen`` streams.
        """
        pair = cls(client_versions=SUPPORTED_VERSIONS, server_versions=SUPPORTED_VERSIONS,
                   byte_by_byte=byte_by_byte, validate=validate,
                   max_listen_streams=max_listen_streams,
                   server_info=server_info or {"name": "test-server", "version": "1.0"},
                   server_capabilities=server_capabilities)
        pair.client.start_stateless(
            protocol_version, dict(client_capabilities or {}),
            dict(client_info or {"name": "test-client", "version": "1.0"}),
            log_level=log_level)
        return pair

    def peer_of(self, conn: Connection) -> Connection:
        """The other engine."""
        return self.server if conn is self.client else self.client

    def deliver(self, sender: Connection) -> list[Event]:
        """Move everything ``sender`` queued to its peer and return the peer's events.

        Raises:
            RemoteProtocolError: the peer refused a frame (the test decides if that was expected).
        """
        data = sender.data_to_send()
        for line in data.splitlines():
            self.wire.append((sender.role, _codec.loads(line)))
        receiver = self.peer_of(sender)
        if self.byte_by_byte:
            for i in range(len(data)):
                receiver.receive_data(data[i : i + 1])
        elif data:
            receiver.receive_data(data)
        return drain_events(receiver)

    def handshake(
        self,
        *,
        client_info: Mapping[str, Any] | None = None,
        server_info: Mapping[str, Any] | None = None,
        client_capabilities: Mapping[str, Any] | None = None,
        server_capabilities: Mapping[str, Any] | None = None,
        protocol_version: str | None = None,
        instructions: str | None = None,
    ) -> str:
        """Run initialize / result / initialized and return the negotiated version.

        Asserts each side saw the events it should, with the values the other sent.
        """
        client_info = dict(client_info or {"name": "test-client", "version": "1.0"})
        server_info = dict(server_info or {"name": "test-server", "version": "1.0"})
        rid = self.client.send_initialize(client_info, dict(client_capabilities or {}),
                                          protocol_version=protocol_version)
        (requested,) = self.deliver(self.client)
        assert isinstance(requested, InitializeRequested), requested
        assert requested.request_id == rid
        assert requested.client_info == client_info
        self.server.send_initialize_result(rid, server_info, dict(server_capabilities or {}),
                                           instructions=instructions)
        (done,) = self.deliver(self.server)
        assert isinstance(done, Initialized), done
        assert done.request_id == rid and done.peer_info == server_info
        assert done.instructions == instructions
        self.client.send_initialized()
        (server_done,) = self.deliver(self.client)
        assert isinstance(server_done, Initialized), server_done
        assert server_done.protocol_version == done.protocol_version
        return done.protocol_version

    def request(
        self,
        sender: Connection,
        method: str,
        params: Mapping[str, Any] | None = None,
        **kwargs: Any,
    ) -> tuple[RequestId, RequestReceived]:
        """Send a request from ``sender``, deliver it, and return its id and the peer's event.

        Asserts the peer received exactly one :class:`RequestReceived` with the same id, method
        and params.
        """
        rid = sender.send_request(method, params, **kwargs)
        events = self.deliver(sender)
        assert len(events) == 1, events
        (event,) = events
        assert isinstance(event, RequestReceived), event
        assert event.request_id == rid and event.method == method, event
        if params is not None and "progress_token" not in kwargs:
            if sender.era is Era.STATELESS:  # the engine stamped _meta on it
                assert event.params is not None and {
                    k: v for k, v in event.params.items() if k != "_meta"} == {
                    k: v for k, v in params.items() if k != "_meta"}, (event.params, params)
            else:
                assert event.params == dict(params), (event.params, params)
        return rid, event

    def respond(self, responder: Connection, request_id: RequestId,
                result: Mapping[str, Any]) -> ResponseReceived:
        """Answer ``request_id`` from ``responder``, deliver it, and return the peer's event.

        Asserts the peer received the same result for the same id.
        """
        responder.send_response(request_id, result)
        events = self.deliver(responder)
        assert len(events) == 1, events
        (event,) = events
        assert isinstance(event, ResponseReceived), event
        assert event.request_id == request_id, event
        if responder.era is Era.STATELESS:  # resultType and the serverInfo _meta were added
            assert all(event.result.get(k) == v for k, v in result.items() if k != "_meta"), (
                event.result, result)
        else:
            assert event.result == dict(result), event
        return event

    def call(self, sender: Connection, method: str, params: Mapping[str, Any] | None,
             result: Mapping[str, Any]) -> ResponseReceived:
        """A whole round trip: request from ``sender``, answered by its peer with ``result``."""
        rid, _ = self.request(sender, method, params)
        return self.respond(self.peer_of(sender), rid, result)

    def expect_refusal(self, sender: Connection) -> RemoteProtocolError:
        """Deliver ``sender``'s frames and return the :class:`RemoteProtocolError` the peer raised.

        Raises:
            AssertionError: the peer raised nothing.
        """
        try:
            events = self.deliver(sender)
        except RemoteProtocolError as exc:
            return exc
        raise AssertionError(f"the peer accepted the frames: {events}")
