"""A hypothesis state machine over the MCP lifecycle of a client and a server engine.

:class:`MCPLifecycleMachine` drives a client :class:`~sansio.Connection` and a server
:class:`~sansio.Connection` wired back to back: a handshake with a random protocol version
(the server supports a random subset of the revisions; the initialize may be refused and
retried), requests both ways answered in random order (with results from
:func:`sansio.testing.strategies.mcp_results` or errors), pings before the handshake completes,
cancellations that race responses, progress notifications, log and list-changed notifications,
frames delivered in arbitrary chunks, and an ending by ``close()`` or by a peer disconnect
(possibly mid-frame).

Run it with pytest::

    from sansio.testing.machine import MCPLifecycleMachine

    TestLifecycle = MCPLifecycleMachine.TestCase

It checks after every engine call:

* every request a side sends is finished exactly once: by a ``ResponseReceived``, an
  ``ErrorReceived``, ``Initialized`` (for ``initialize``), the ``pending`` of ``PeerDisconnected``
  or ``Closed``, or by the sender's own ``cancel()``; nothing finishes a request twice or a request
  that was never sent;
* no :class:`~sansio.RemoteProtocolError` is raised between the two engines (both are
  well-behaved);
* the lifecycle state of each engine only moves along :data:`sansio.state.TRANSITIONS` (one step
  per engine call at most);
* the negotiated version is what the rules of negotiation say.

Extension points (override them in a subclass to put your own logic in the loop):

* :meth:`MCPLifecycleMachine.make_connection` builds the two engines;
* :meth:`~MCPLifecycleMachine.client_capabilities` and
  :meth:`~MCPLifecycleMachine.server_capabilities` say what each side advertises;
* :meth:`~MCPLifecycleMachine.answer_initialize` produces the server's answer to ``initialize``;
* :meth:`~MCPLifecycleMachine.answer_request` produces a side's answer (a result dict or an
  :class:`~sansio.ErrorObject`) to a request it received: this is where your server or client
  handlers go;
* :meth:`~MCPLifecycleMachine.request_calls` is the strategy of ``(method, params)`` a side sends;
* :meth:`~MCPLifecycleMachine.on_frame` sees every frame that crosses the wire and
  :meth:`~MCPLifecycleMachine.on_event` every event (both do nothing by default: add checks there).

Inside these methods, :meth:`~MCPLifecycleMachine.draw` draws from a strategy.
"""

from __future__ import annotations

from typing import Any, TypeVar

from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)
from hypothesis.strategies import SearchStrategy

from .. import _codec
from ..capabilities import missing_capability
from ..connection import Connection
from ..errors import ErrorCode, RemoteProtocolError
from ..events import (
    NEED_DATA,
    Closed,
    ErrorReceived,
    Event,
    Initialized,
    InitializeRequested,
    NotificationReceived,
    PeerDisconnected,
    ProgressReceived,
    RequestCancelled,
    RequestReceived,
    ResponseReceived,
)
from ..jsonrpc import ErrorObject, RequestId
from ..state import TRAFFIC, TRANSITIONS, Role, State
from ..versions import HANDSHAKE_VERSIONS, Era, negotiate
from . import strategies as mcps

__all__ = ["MCPLifecycleMachine", "MCPStatelessMachine"]

T = TypeVar("T")

_C, _S = Role.CLIENT, Role.SERVER
_LIST_CHANGED = {
    _C: ("notifications/roots/list_changed",),
    _S: ("notifications/tools/list_changed", "notifications/resources/list_changed",
         "notifications/prompts/list_changed", "notifications/resources/updated",
         "notifications/message"),
}


class MCPLifecycleMachine(RuleBasedStateMachine):
    """A client and a server engine under random, well-behaved traffic (see the module doc).

    Attributes:
        conns: the two engines, by role.
        requested_version: what the client's pending ``initialize`` asked for (``None`` before
            and after a refusal).
        last_requested_version: what the client's last ``initialize`` asked for.
        version: the negotiated revision (``None`` until the client got the initialize result).
        wire: every frame that crossed, as ``(sender role, decoded JSON)``.
        events: every event, as ``(receiving role, event)``.
    """

    #: The revisions the server may be configured with (a random non-empty subset is used).
    server_versions: tuple[str, ...] = HANDSHAKE_VERSIONS
    #: The revisions the client supports (and may ask for).
    client_versions: tuple[str, ...] = HANDSHAKE_VERSIONS
    #: One answer in ``error_odds`` (about) is an error (refusing ``initialize`` included).
    error_odds: int = 7

    def __init__(self) -> None:
        super().__init__()
        self.conns: dict[Role, Connection] = {}
        self.requested_version: str | None = None
        self.last_requested_version: str | None = None
        self.version: str | None = None
        self.wire: list[tuple[Role, Any]] = []
        self.events: list[tuple[Role, Event]] = []
        self._data: st.DataObject | None = None
        self._ended: set[Role] = set()
        self._steps = 0
        self._budget = 0
        self._states: dict[Role, State] = {}
        # Requests each side sent: id -> method; still unfinished ones; how often each finished.
        self._sent: dict[Role, dict[RequestId, str]] = {_C: {}, _S: {}}
        self._outstanding: dict[Role, set[RequestId]] = {_C: set(), _S: set()}
        self._finished: dict[Role, dict[RequestId, int]] = {_C: {}, _S: {}}
        self._tokens: dict[Role, dict[RequestId, RequestId]] = {_C: {}, _S: {}}
        # Requests each side received and still has to answer.
        self._to_serve: dict[Role, dict[RequestId, RequestReceived]] = {_C: {}, _S: {}}
        self._init_request: InitializeRequested | None = None
        self._init_id: RequestId | None = None
        self._next_token = 0

    # ------------------------------------------------------------------ extension points

    def make_connection(self, role: Role, versions: tuple[str, ...]) -> Connection:
        """Build the engine for ``role`` supporting ``versions``."""
        return Connection(role, supported_versions=versions)

    def client_capabilities(self, version: str) -> dict[str, Any]:
        """The capabilities the client advertises when asking for ``version``."""
        return self.draw(mcps.client_capabilities(version, full=True))

    def server_capabilities(self, version: str) -> dict[str, Any]:
        """The capabilities the server advertises when it settles on ``version``."""
        return self.draw(mcps.server_capabilities(version, full=True))

    def answer_initialize(self, event: InitializeRequested) -> dict[str, Any] | ErrorObject:
        """The server's answer to ``initialize``: a result (``serverInfo``, ``capabilities``,
        optional ``instructions``; ``protocolVersion`` is filled in) or an error."""
        if self._draw_error():
            return ErrorObject(ErrorCode.INVALID_PARAMS, "not today")
        version = event.protocol_version
        return {
            "serverInfo": self.draw(mcps.implementations(version)),
            "capabilities": self.server_capabilities(version),
        }

    def answer_request(self, role: Role, event: RequestReceived) -> dict[str, Any] | ErrorObject:
        """What side ``role`` answers to ``event``: a result object or an error.

        The default draws a valid result for the method from
        :func:`sansio.testing.strategies.mcp_results` (``{}`` for a method it does not know),
        or, now and then, an error.
        """
        if self._draw_error():
            return ErrorObject(self.draw(st.sampled_from([-32603, -32602, -32002, 1])),
                               self.draw(st.text(max_size=10)),
                               self.draw(st.one_of(st.none(), mcps.json_values(max_depth=2))))
        version = self.version or self.requested_version or HANDSHAKE_VERSIONS[-1]
        try:
            results = mcps.mcp_results(event.method, version)
        except ValueError:
            return {}
        return self.draw(results)

    def request_calls(self, role: Role) -> SearchStrategy[tuple[str, dict[str, Any] | None]]:
        """The ``(method, params)`` that side ``role`` sends once the handshake is done."""
        assert self.version is not None
        return mcps.mcp_calls(self.version, "client" if role is _C else "server")

    def on_frame(self, sender: Role, message: Any) -> None:
        """Called with every frame (decoded) that crosses the wire. Does nothing by default."""

    def on_event(self, receiver: Role, event: Event) -> None:
        """Called with every event an engine produced. Does nothing by default."""

    def _draw_error(self) -> bool:
        return self.draw(st.sampled_from([False] * (self.error_odds - 1) + [True]))

    def draw(self, strategy: SearchStrategy[T]) -> T:
        """Draw a value from ``strategy`` (usable inside the extension points)."""
        assert self._data is not None, "draw() is only usable while a rule runs"
        return self._data.draw(strategy)

    # ------------------------------------------------------------------ helpers

    def _conn(self, role: Role) -> Connection:
        return self.conns[role]

    def _live(self, role: Role) -> bool:
        return bool(self.conns) and not self._ended and \
            self.conns[role].state not in (State.CLOSED, State.ERROR)

    def _may_send(self, role: Role, method: str) -> bool:
        """Whether ``role`` may send ``method`` now, by :data:`sansio.state.TRAFFIC`."""
        if not self._live(role):
            return False
        allowed = TRAFFIC[(role, self.conns[role].state)].send
        return allowed is None or method in allowed

    def _check_state(self, role: Role) -> None:
        before = self._states[role]
        after = self.conns[role].state
        if after is not before:
            moves = TRANSITIONS[(role, before)]
            assert after in moves.values(), \
                f"{role.value}: {before.name} -> {after.name} is not in TRANSITIONS"
        self._states[role] = after

    def _finish(self, role: Role, rid: RequestId, why: str) -> None:
        assert rid in self._sent[role], f"{role.value}: {why} finishes {rid!r}, never sent"
        assert rid in self._outstanding[role], \
            f"{role.value}: {why} finishes {rid!r} a second time"
        self._outstanding[role].discard(rid)
        self._finished[role][rid] = self._finished[role].get(rid, 0) + 1
        token = self._tokens[role].pop(rid, None)
        del token

    def _record_sent(self, role: Role, rid: RequestId, method: str,
                     token: RequestId | None = None) -> None:
        assert rid not in self._sent[role], f"{role.value}: request id {rid!r} reused"
        self._sent[role][rid] = method
        self._outstanding[role].add(rid)
        if token is not None:
            self._tokens[role][rid] = token
        self._check_state(role)

    def _deliver(self, sender: Role, *, partial: bool = False) -> None:
        """Move ``sender``'s queued bytes to its peer in random chunks and process the events.

        With ``partial``, only a random prefix is delivered (for a disconnect mid-frame).
        """
        conn = self._conn(sender)
        data = conn.data_to_send()
        if not data:
            return
        if self._ended:
            return
        if partial:
            data = data[: self.draw(st.integers(0, len(data)))]
        complete = data[: data.rfind(b"\n") + 1]
        for line in complete.splitlines():
            message = _codec.loads(line)
            self.wire.append((sender, message))
            self.on_frame(sender, message)
        receiver = sender.peer
        peer = self._conn(receiver)
        for chunk in self.draw(mcps.ndjson_chunks(data)):
            peer.receive_data(chunk)
            self._drain(receiver)

    def _drain(self, role: Role) -> None:
        conn = self._conn(role)
        while True:
            try:
                event = conn.next_event()
            except RemoteProtocolError as exc:
                raise AssertionError(
                    f"{role.value} raised RemoteProtocolError between well-behaved engines: "
                    f"{exc} (code {exc.code}, hint {exc.response_hint!r})") from exc
            self._check_state(role)
            if event is NEED_DATA:
                return
            assert isinstance(event, Event)
            self._on_event(role, event)
            if isinstance(event, (PeerDisconnected, Closed)):
                return

    def _on_event(self, role: Role, event: Event) -> None:
        self.events.append((role, event))
        peer = role.peer
        if isinstance(event, InitializeRequested):
            assert role is _S and self._init_request is None
            assert event.request_id == self._init_id
            assert event.requested_version == self.requested_version
            assert event.protocol_version == negotiate(
                event.requested_version, self._conn(_S).supported_versions)
            self._init_request = event
        elif isinstance(event, Initialized):
            if role is _C:
                assert event.request_id is not None and event.request_id == self._init_id
                self._finish(_C, event.request_id, "Initialized")
                self.version = event.protocol_version
                assert self.requested_version is not None
                assert self.version == negotiate(self.requested_version,
                                                 self._conn(_S).supported_versions)
            else:
                assert event.protocol_version == self.version
        elif isinstance(event, RequestReceived):
            assert self._sent[peer].get(event.request_id) == event.method, event
            assert event.request_id not in self._to_serve[role]
            self._to_serve[role][event.request_id] = event
        elif isinstance(event, (ResponseReceived, ErrorReceived)):
            assert event.request_id is not None, f"{role.value}: unattached error {event}"
            assert self._sent[role].get(event.request_id) == event.method, event
            self._finish(role, event.request_id, type(event).__name__)
            if event.method == "initialize":
                assert isinstance(event, ErrorReceived)
                self._init_id = None
                self.requested_version = None
        elif isinstance(event, RequestCancelled):
            assert self._to_serve[role].pop(event.request_id, None) is not None, event
        elif isinstance(event, ProgressReceived):
            assert event.request_id in self._outstanding[role], event
            assert self._tokens[role].get(event.request_id) == event.progress_token, event
        elif isinstance(event, (PeerDisconnected, Closed)):
            assert set(event.pending) == self._outstanding[role], \
                f"{role.value}: {event} but outstanding {self._outstanding[role]}"
            for rid in event.pending:
                self._finish(role, rid, type(event).__name__)
            self._to_serve[role].clear()
        else:
            assert isinstance(event, NotificationReceived), event
        self.on_event(role, event)

    def _set_data(self, data: st.DataObject) -> None:
        self._data = data

    # ------------------------------------------------------------------ rules

    def _start(self) -> None:
        server_versions = tuple(sorted(self.draw(
            st.sets(st.sampled_from(self.server_versions), min_size=1))))
        self.conns = {
            _C: self.make_connection(_C, self.client_versions),
            _S: self.make_connection(_S, server_versions),
        }
        self._states = {role: conn.state for role, conn in self.conns.items()}
        self.requested_version = self.last_requested_version = self.version = None
        self._ended = set()
        self._steps = 0
        self._budget = self.draw(st.sampled_from([2, 8, 20, 30, 45, 1000]))
        for table in (self._sent, self._finished, self._tokens, self._to_serve):
            for role in (_C, _S):
                table[role].clear()
        self._init_request = self._init_id = None

    @initialize(data=st.data())
    def setup(self, data: st.DataObject) -> None:
        """Build the engines: the server supports a random subset of :attr:`server_versions`."""
        self._set_data(data)
        self._start()

    @precondition(lambda self: self._live(_C) and self._conn(_C).state is State.IDLE)
    @rule(data=st.data())
    def send_initialize(self, data: st.DataObject) -> None:
        """The client asks for a random revision."""
        self._set_data(data)
        version = data.draw(st.sampled_from(self.client_versions), label="requested version")
        client = self._conn(_C)
        rid = client.send_initialize(self.draw(mcps.implementations(version)),
                                     self.client_capabilities(version), protocol_version=version)
        self.requested_version = self.last_requested_version = version
        self._init_id = rid
        self._record_sent(_C, rid, "initialize")

    @precondition(lambda self: self._live(_S) and self._init_request is not None
                  and self._conn(_S).state is State.INITIALIZING)
    @rule(data=st.data())
    def answer_initialize_request(self, data: st.DataObject) -> None:
        """The server answers (or refuses) ``initialize``."""
        self._set_data(data)
        event = self._init_request
        assert event is not None
        answer = self.answer_initialize(event)
        server = self._conn(_S)
        if isinstance(answer, ErrorObject):
            server.send_error(event.request_id, answer.code, answer.message, answer.data)
        else:
            server.send_response(event.request_id, answer)
        self._init_request = None
        self._check_state(_S)

    @precondition(lambda self: self._live(_C) and self._conn(_C).state is State.IDLE
                  and self._live(_S) and self._conn(_S).state is State.IDLE)
    @rule(data=st.data())
    def handshake(self, data: st.DataObject) -> None:
        """The whole handshake in one step (the other rules interleave traffic with its parts)."""
        self.send_initialize(data)
        self._deliver(_C)
        if self._init_request is not None:
            self.answer_initialize_request(data)
            self._deliver(_S)
            if self._conn(_C).state is State.INITIALIZED:
                self.send_initialized()
                self._deliver(_C)

    @precondition(lambda self: self._live(_C) and self._conn(_C).state is State.INITIALIZED)
    @rule()
    def send_initialized(self) -> None:
        """The client completes its side of the handshake."""
        self._conn(_C).send_initialized()
        self._check_state(_C)

    @precondition(lambda self: self._live(_C) or self._live(_S))
    @rule(data=st.data(), sender=st.sampled_from([_C, _S]))
    def send_request(self, data: st.DataObject, sender: Role) -> None:
        """A side sends a request: ``ping`` during the handshake, anything once operating."""
        self._set_data(data)
        if not self._live(sender):
            return
        conn = self._conn(sender)
        if conn.state is State.OPERATING:
            method, params = self.draw(self.request_calls(sender))
            peer_caps = conn.peer_capabilities
            if missing_capability(method, params, peer_caps, self.version) is not None:
                method, params = "ping", None
        elif self._may_send(sender, "ping"):
            method, params = "ping", None
        else:
            return
        token: RequestId | None = None
        if data.draw(st.booleans(), label="progress"):
            self._next_token += 1
            token = data.draw(st.one_of(st.just(self._next_token), st.just(str(self._next_token))))
        rid = conn.send_request(method, params, progress_token=token)
        self._record_sent(sender, rid, method, token)

    @precondition(lambda self: self._live(_C) or self._live(_S))
    @rule(data=st.data(), sender=st.sampled_from([_C, _S]))
    def send_notification(self, data: st.DataObject, sender: Role) -> None:
        """A side sends a notification (server log messages are allowed early too)."""
        self._set_data(data)
        if not self._live(sender):
            return
        conn = self._conn(sender)
        version = self.version or self.requested_version
        if version is None:
            return
        methods = tuple(m for m in _LIST_CHANGED[sender] if self._may_send(sender, m))
        if not methods:
            return
        frame = data.draw(mcps.mcp_notifications(
            version, "client" if sender is _C else "server", methods=methods))
        conn.send_notification(frame["method"], frame.get("params"))
        self._check_state(sender)

    @precondition(lambda self: any(self._to_serve[r] and self._live(r) for r in (_C, _S)))
    @rule(data=st.data())
    def answer(self, data: st.DataObject) -> None:
        """A side answers some of the requests it serves, picked at random (any order)."""
        self._set_data(data)
        role = data.draw(st.sampled_from([r for r in (_C, _S)
                                          if self._to_serve[r] and self._live(r)]))
        serving = sorted(self._to_serve[role], key=repr)
        chosen = data.draw(st.lists(st.sampled_from(serving), min_size=1, unique=True))
        conn = self._conn(role)
        for rid in chosen:
            event = self._to_serve[role].pop(rid)
            answer = self.answer_request(role, event)
            if isinstance(answer, ErrorObject):
                conn.send_error(rid, answer.code, answer.message, answer.data)
            else:
                conn.send_response(rid, answer)
            self._check_state(role)

    def _may_cancel(self, role: Role) -> bool:
        if not self._may_send(role, "notifications/cancelled"):
            return False
        return any(self._sent[role][i] != "initialize" for i in self._outstanding[role])

    @precondition(lambda self: any(self._may_cancel(r) for r in (_C, _S)))
    @rule(data=st.data())
    def cancel(self, data: st.DataObject) -> None:
        """A side cancels one of its outstanding requests (the answer may already be in flight)."""
        self._set_data(data)
        if not data.draw(st.sampled_from([False, False, True]), label="really cancel"):
            return  # keeps cancellations from crowding out answers
        role = data.draw(st.sampled_from([r for r in (_C, _S) if self._may_cancel(r)]))
        rid = data.draw(st.sampled_from(sorted(
            (i for i in self._outstanding[role] if self._sent[role][i] != "initialize"),
            key=repr)))
        self._conn(role).cancel(rid, data.draw(st.one_of(st.none(), st.text(max_size=8))))
        self._finish(role, rid, "cancel()")
        self._check_state(role)

    def _may_report_progress(self, role: Role) -> bool:
        return self._may_send(role, "notifications/progress") and any(
            e.progress_token is not None for e in self._to_serve[role].values())

    @precondition(lambda self: any(self._may_report_progress(r) for r in (_C, _S)))
    @rule(data=st.data())
    def progress(self, data: st.DataObject) -> None:
        """A side reports progress on a request it serves that asked for it."""
        self._set_data(data)
        role = data.draw(st.sampled_from([r for r in (_C, _S) if self._may_report_progress(r)]))
        event = data.draw(st.sampled_from(sorted(
            (e for e in self._to_serve[role].values() if e.progress_token is not None),
            key=lambda e: repr(e.request_id))))
        params: dict[str, Any] = {"progressToken": event.progress_token,
                                  "progress": data.draw(st.integers(0, 100))}
        if data.draw(st.booleans()):
            params["total"] = 100
        self._conn(role).send_notification("notifications/progress", params)
        self._check_state(role)

    @precondition(lambda self: bool(self.conns) and not self._ended)
    @rule(data=st.data(), sender=st.sampled_from([_C, _S]))
    def deliver(self, data: st.DataObject, sender: Role) -> None:
        """Move what one side queued to the other, in random chunks."""
        self._set_data(data)
        self._deliver(sender)

    def _may_end(self) -> bool:
        return bool(self.conns) and not self._ended and self._steps >= self._budget

    @precondition(lambda self: self._may_end())
    @rule(data=st.data(), closer=st.sampled_from([_C, _S]), flush=st.booleans())
    def close(self, data: st.DataObject, closer: Role, flush: bool) -> None:
        """A side closes (after flushing its frames or not); its peer then sees end of input."""
        self._set_data(data)
        if flush:
            self._deliver(closer)
        conn = self._conn(closer)
        conn.close()
        self._check_state(closer)
        self._drain(closer)
        peer = self._conn(closer.peer)
        peer.receive_data(b"")
        self._drain(closer.peer)
        self._ended = {_C, _S}
        self._new_session()

    @precondition(lambda self: self._may_end())
    @rule(data=st.data(), victim=st.sampled_from([_C, _S]))
    def disconnect(self, data: st.DataObject, victim: Role) -> None:
        """``victim``'s transport fails, possibly in the middle of a frame from its peer."""
        self._set_data(data)
        self._deliver(victim.peer, partial=True)
        conn = self._conn(victim)
        if data.draw(st.booleans()):
            conn.receive_data(b"")
        else:
            conn.connection_lost("transport failed")
        self._drain(victim)
        other = self._conn(victim.peer)
        other.close()
        self._check_state(victim.peer)
        self._drain(victim.peer)
        self._ended = {_C, _S}
        self._new_session()

    def _new_session(self) -> None:
        """After an ending, check the finished session and start a new one with new engines."""
        self._check_all_finished()
        self._start()

    # ------------------------------------------------------------------ invariants

    @invariant()
    def states_follow_the_table(self) -> None:
        """Each engine's state is the one the machine tracked through TRANSITIONS."""
        self._steps += 1
        for role, conn in self.conns.items():
            self._check_state(role)
            assert conn.state is not State.ERROR, f"{role.value} went to ERROR"

    @invariant()
    def pending_matches(self) -> None:
        """The engine's pending requests are exactly the outstanding ones."""
        for role, conn in self.conns.items():
            if role not in self._ended:
                assert conn.pending_requests == frozenset(self._outstanding[role]), (
                    role, conn.pending_requests, self._outstanding[role])

    def teardown(self) -> None:
        """Close whatever is still open and check every request finished exactly once."""
        if not self.conns:
            return
        for role in (_C, _S):
            if role not in self._ended:
                self._conn(role).close()
                self._check_state(role)
                self._drain(role)
        self._check_all_finished()

    def _check_all_finished(self) -> None:
        for role in (_C, _S):
            assert not self._outstanding[role], (role, self._outstanding[role])
            for rid in self._sent[role]:
                assert self._finished[role].get(rid) == 1, (role, rid, self._finished[role])


# ====================================================================== the stateless era

_ERA_CODES = frozenset({-32602, -32601, -32022, -32021, -32020})


class MCPStatelessMachine(RuleBasedStateMachine):
    """A dual-era server engine under random per-request traffic of the stateless era
    (2026-07-28), the machine playing the client frame by frame.

    The first message decides the era, as a rule: ``initialize`` starts the handshake era
    (the machine then only checks that the server negotiates and stops sending modern
    traffic); a modern request naming an unsupported revision is refused ``-32022`` and
    leaves the server ``IDLE``; a supported one moves it to ``STATELESS``. After that the
    machine sends ``server/discover``, every client request of the revision with random
    per-request ``_meta`` (:func:`sansio.testing.strategies.mcp_requests`, ``logLevel`` and
    ``progressToken`` included), misbehaving requests
    (:func:`~sansio.testing.strategies.invalid_modern_requests`), removed notifications and
    cancellations, in random chunks; the server answers in random order (results,
    ``input_required`` results, errors, ``send_discover_result``), logs for requests and
    reports progress.

    Run it with pytest::

        from sansio.testing.machine import MCPStatelessMachine

        TestStateless = MCPStatelessMachine.TestCase

    It checks:

    * every request is answered exactly once, with its id: by the engine's ``response_hint``
      (a refusal) or by one response/error frame the server wrote; cancelled ones at most
      once; at the end nothing is left unanswered;
    * refusals carry the documented codes (``-32602``, ``-32601``, ``-32022`` with ``data``
      ``{"supported", "requested"}``), exactly the one a misbehaving request calls for;
    * every result carries ``resultType``, cacheable ones ``ttlMs`` and ``cacheScope``, and the
      ``_meta`` ``io.modelcontextprotocol/serverInfo`` of the configured ``server_info``;
    * ``notifications/message`` is written only for a request that sent a ``logLevel``, at or
      above it; progress only for a request that sent a ``progressToken``;
    * ``RequestReceived.request_meta`` is what the request's ``_meta`` said;
    * the server's state moves only along :data:`sansio.state.TRANSITIONS`, and never to
      ``ERROR``.

    Extension points: :meth:`make_server`, :meth:`server_capabilities`,
    :meth:`answer_request` (your handlers), :meth:`request_frames` (what the client sends),
    :meth:`on_frame` (every frame the server wrote) and :meth:`on_event`; :meth:`draw` draws
    inside them.
    """

    #: The stateless revision the requests name.
    version: str = "2026-07-28"
    #: One answer in ``error_odds`` (about) is an error.
    error_odds: int = 6
    #: The methods the client sends (``None``: every client request of :attr:`version` the
    #: strategies know).
    methods: tuple[str, ...] | None = None
    server_info: dict[str, Any] = {"name": "machine-server", "version": "1.0"}

    def __init__(self) -> None:
        super().__init__()
        self.server: Connection | None = None
        self.era: str | None = None
        self.wire: list[Any] = []
        self.events: list[Event] = []
        self._data: st.DataObject | None = None
        self._state = State.IDLE
        self._caps: dict[str, Any] = {}
        self._sent: dict[Any, dict[str, Any]] = {}   # id key -> request frame
        self._answers: dict[Any, int] = {}           # id key -> how often answered
        self._cancelled: set[Any] = set()
        self._to_serve: dict[Any, RequestReceived] = {}
        self._next_id = 0
        self._own_info: Any = None

    # ------------------------------------------------------------------ extension points

    def make_server(self, capabilities: dict[str, Any]) -> Connection:
        """Build the server engine (dual-era by default)."""
        return Connection(Role.SERVER, server_info=self.server_info,
                          server_capabilities=capabilities)

    def server_capabilities(self) -> dict[str, Any]:
        """The capabilities the server is built with (drawn: some may be missing, and the
        requests needing them are then refused ``-32601``; half the time, all of them)."""
        return self.draw(st.one_of(mcps.server_capabilities(self.version, full=True),
                                   mcps.server_capabilities(self.version)))

    def request_frames(self) -> SearchStrategy[dict[str, Any]]:
        """The well-behaved requests the client sends (ids are replaced by the machine's)."""
        methods = self.methods if self.methods is not None else tuple(
            m for m in mcps.mcp_methods(self.version, "client", "request")
            if m != "subscriptions/listen")  # a stream: not a one-answer request
        return mcps.mcp_requests(self.version, "client", methods=methods)

    def answer_request(self, event: RequestReceived) -> dict[str, Any] | ErrorObject | None:
        """The server's answer: a result, an error, or ``None`` for ``server/discover``
        (answered with :meth:`Connection.send_discover_result`)."""
        if self.draw(st.integers(0, self.error_odds - 1)) == 0:
            return ErrorObject(self.draw(st.sampled_from([-32603, -32602, -32002, 7])),
                               self.draw(st.text(max_size=8)))
        if event.method == "server/discover":
            return None
        return self.draw(mcps.mcp_results(event.method, self.version, input_required=True))

    def on_frame(self, message: Any) -> None:
        """Called with every frame (decoded) the server wrote. Does nothing by default."""

    def on_event(self, event: Event) -> None:
        """Called with every event the server produced. Does nothing by default."""

    def draw(self, strategy: SearchStrategy[T]) -> T:
        """Draw a value from ``strategy`` (usable inside the extension points)."""
        assert self._data is not None, "draw() is only usable while a rule runs"
        return self._data.draw(strategy)

    # ------------------------------------------------------------------ helpers

    @staticmethod
    def _key(rid: Any) -> Any:
        return (type(rid).__name__, rid)

    def _conn(self) -> Connection:
        assert self.server is not None
        return self.server

    def _new_id(self) -> RequestId:
        self._next_id += 1
        choices: list[RequestId] = [self._next_id, f"r{self._next_id}"]
        return self.draw(st.sampled_from(choices))

    def _check_state(self) -> None:
        after = self._conn().state
        if after is not self._state:
            assert after in TRANSITIONS[(Role.SERVER, self._state)].values(), \
                f"server: {self._state.name} -> {after.name} is not in TRANSITIONS"
        assert after is not State.ERROR
        self._state = after

    def _answered(self, rid: Any, how: str) -> None:
        key = self._key(rid)
        assert key in self._sent, f"{how} answers {rid!r}, which was never sent"
        self._answers[key] = self._answers.get(key, 0) + 1
        assert self._answers[key] == 1, f"{rid!r} answered twice ({how})"
        self._to_serve.pop(key, None)

    def _send(self, frame: dict[str, Any], *, expect: int | None = None) -> list[Event]:
        """Feed one frame in random chunks; return the events. A refusal must have code
        ``expect`` (when given), the frame's id, and a hint answering it."""
        if "id" in frame:
            self._sent[self._key(frame["id"])] = frame
        data = mcps.encode_frame(frame)
        conn = self._conn()
        events: list[Event] = []
        refused: list[RemoteProtocolError] = []
        for chunk in self.draw(mcps.ndjson_chunks(data)):
            conn.receive_data(chunk)
            while True:
                try:
                    event = conn.next_event()
                except RemoteProtocolError as exc:
                    assert not exc.fatal, f"fatal between a well-formed client and server: {exc}"
                    refused.append(exc)
                    self._check_state()
                    continue
                self._check_state()
                if event is NEED_DATA:
                    break
                assert isinstance(event, Event)
                events.append(event)
                self.events.append(event)
                self.on_event(event)
        for refusal in refused:
            self._check_refusal(frame, refusal, expect)
        if expect is not None and "id" in frame:
            assert refused, f"{frame!r} should be refused with {expect}, got {events!r}"
        return events

    def _check_refusal(self, frame: dict[str, Any], exc: RemoteProtocolError,
                       expect: int | None) -> None:
        if "id" not in frame:  # a removed notification: dropped, nothing to answer
            assert exc.response_hint is None
            return
        assert exc.request_id == frame["id"], (exc, frame)
        assert int(exc.code) in _ERA_CODES, f"undocumented code {exc.code}: {exc}"
        if expect is not None:
            assert int(exc.code) == expect, f"{frame!r}: {exc.code} instead of {expect}"
        assert exc.response_hint is not None
        hint = _codec.loads(exc.response_hint)
        assert hint["id"] == frame["id"] and hint["error"]["code"] == int(exc.code)
        if int(exc.code) == -32022:
            data = hint["error"]["data"]
            assert data["requested"] == frame["params"]["_meta"][
                "io.modelcontextprotocol/protocolVersion"]
            assert data["supported"] == sorted(self._conn().supported_versions, reverse=True)
        self.wire.append(hint)
        self._answered(frame["id"], "the response hint")

    def _collect(self) -> None:
        """Read what the server wrote and check every frame."""
        for frame in self._conn().frames_to_send():
            message = _codec.loads(frame.data)
            self.wire.append(message)
            self.on_frame(message)
            if "method" in message:
                self._check_notification(message, frame.related_request_id)
                continue
            rid = message["id"]
            self._answered(rid, "a response")
            if "result" in message:
                self._check_result(self._sent[self._key(rid)]["method"], message["result"])
            else:
                assert isinstance(message["error"]["code"], int)

    def _check_result(self, method: str, result: dict[str, Any]) -> None:
        from .._stateless import CACHEABLE

        assert result.get("resultType") in ("complete", "input_required"), result
        if result["resultType"] == "complete" and method in CACHEABLE:
            assert "ttlMs" in result and "cacheScope" in result, result
        info = result.get("_meta", {}).get("io.modelcontextprotocol/serverInfo")
        # the configured server_info, unless the handler's result named its own
        assert info in (self.server_info, self._own_info), result

    def _check_notification(self, message: dict[str, Any], related: Any) -> None:
        assert related is not None, f"{message['method']} without a request it belongs to"
        request = self._sent[self._key(related)]
        meta = request["params"]["_meta"]
        if message["method"] == "notifications/message":
            level = meta.get("io.modelcontextprotocol/logLevel")
            assert level is not None, "notifications/message for a request without a logLevel"
            order = mcps._LOG_LEVELS
            assert order.index(message["params"]["level"]) >= order.index(level)
        elif message["method"] == "notifications/progress":
            assert message["params"]["progressToken"] == meta.get("progressToken")

    # ------------------------------------------------------------------ rules

    @initialize(data=st.data())
    def setup(self, data: st.DataObject) -> None:
        """Build the dual-era server with drawn capabilities."""
        self._data = data
        self._caps = self.server_capabilities()
        self.server = self.make_server(self._caps)
        self._state = self.server.state

    def _request(self) -> dict[str, Any]:
        frame = self.draw(self.request_frames())
        return {**frame, "id": self._new_id()}

    def _expected_refusal(self, frame: dict[str, Any]) -> int | None:
        if missing_capability(frame["method"], frame.get("params"), self._caps,
                              self.version) is not None:
            return -32601
        return None

    def _accept(self, frame: dict[str, Any], events: list[Event]) -> None:
        if self._expected_refusal(frame) is not None:
            assert not events, events
            return
        [event] = events
        assert isinstance(event, RequestReceived) and event.request_id == frame["id"]
        meta = frame["params"]["_meta"]
        assert event.request_meta is not None
        assert event.request_meta.version == meta["io.modelcontextprotocol/protocolVersion"]
        assert event.request_meta.client_capabilities == \
            meta["io.modelcontextprotocol/clientCapabilities"]
        assert event.request_meta.log_level == meta.get("io.modelcontextprotocol/logLevel")
        assert event.progress_token == meta.get("progressToken")
        self._to_serve[self._key(event.request_id)] = event

    @precondition(lambda self: self.era is None)
    @rule(data=st.data(),
          first=st.sampled_from(["modern", "modern", "modern", "unsupported", "initialize"]))
    def first_message(self, data: st.DataObject, first: str) -> None:
        """The first message decides the era."""
        self._data = data
        if first == "initialize":
            params = self.draw(mcps.initialize_params(HANDSHAKE_VERSIONS[-1]))
            events = self._send({"jsonrpc": "2.0", "id": self._new_id(),
                                 "method": "initialize", "params": params})
            [event] = events
            assert isinstance(event, InitializeRequested)
            assert event.protocol_version == params["protocolVersion"]
            assert self._conn().state is State.INITIALIZING
            self._answered(event.request_id, "initialize")  # the handshake path ends here
            self.era = "handshake"
        elif first == "unsupported":
            frame = self._request()
            old = self.draw(st.sampled_from([*HANDSHAKE_VERSIONS, "2099-01-01"]))
            frame["params"]["_meta"]["io.modelcontextprotocol/protocolVersion"] = old
            assert self._send(frame, expect=-32022) == []
            assert self._conn().state is State.IDLE
        else:
            frame = self._request()
            events = self._send(frame, expect=self._expected_refusal(frame))
            assert self._conn().state is State.STATELESS
            self._accept(frame, events)
            self.era = "stateless"

    @precondition(lambda self: self.era == "handshake")
    @rule()
    def handshake_era_holds(self) -> None:
        """After initialize, the server is in the handshake era (nothing modern is sent)."""
        conn = self._conn()
        assert conn.state is State.INITIALIZING and conn.era is Era.HANDSHAKE

    @precondition(lambda self: self.era == "stateless")
    @rule(data=st.data())
    def send_request(self, data: st.DataObject) -> None:
        """A well-behaved request with random per-request _meta."""
        self._data = data
        frame = self._request()
        self._accept(frame, self._send(frame, expect=self._expected_refusal(frame)))

    @precondition(lambda self: self.era == "stateless")
    @rule(data=st.data())
    def send_discover(self, data: st.DataObject) -> None:
        """server/discover, which the server answers with send_discover_result."""
        self._data = data
        meta = self.draw(mcps.request_metas(self.version))
        frame = {"jsonrpc": "2.0", "id": self._new_id(), "method": "server/discover",
                 "params": {"_meta": meta}}
        self._accept(frame, self._send(frame))

    @precondition(lambda self: self.era == "stateless")
    @rule(data=st.data())
    def send_misbehaving(self, data: st.DataObject) -> None:
        """A request with a missing or bad _meta, an unsupported version or a removed method:
        refused with exactly its code, the server staying STATELESS."""
        self._data = data
        frame, code = self.draw(mcps.invalid_modern_requests(self.version))
        frame = {**frame, "id": self._new_id()}
        assert self._send(frame, expect=code) == []
        assert self._conn().state is State.STATELESS

    @precondition(lambda self: self.era == "stateless")
    @rule(data=st.data(), method=st.sampled_from(["notifications/initialized",
                                                  "notifications/roots/list_changed"]))
    def send_removed_notification(self, data: st.DataObject, method: str) -> None:
        """A notification the revision removed: dropped (a non-fatal refusal, no answer)."""
        self._data = data
        assert self._send({"jsonrpc": "2.0", "method": method}) == []

    @precondition(lambda self: bool(self._to_serve))
    @rule(data=st.data())
    def cancel(self, data: st.DataObject) -> None:
        """The client cancels a request being served: the server sees RequestCancelled and
        writes no answer to it."""
        self._data = data
        key = self.draw(st.sampled_from(sorted(self._to_serve, key=repr)))
        rid = self._to_serve[key].request_id
        events = self._send({"jsonrpc": "2.0", "method": "notifications/cancelled",
                             "params": {"requestId": rid, "reason": "changed my mind"}})
        assert [type(e) for e in events] == [RequestCancelled], events
        self._cancelled.add(key)
        del self._to_serve[key]
        self._conn().send_response(rid, {})  # an answer to a cancelled request is dropped
        assert self._conn().data_to_send() == b""

    @precondition(lambda self: bool(self._to_serve))
    @rule(data=st.data(), level=st.sampled_from(mcps._LOG_LEVELS))
    def log(self, data: st.DataObject, level: str) -> None:
        """A log message for a request: refused without the request's logLevel, dropped
        below it, written at or above it."""
        from ..errors import LocalProtocolError

        self._data = data
        event = self._to_serve[self.draw(st.sampled_from(sorted(self._to_serve, key=repr)))]
        try:
            self._conn().send_notification("notifications/message",
                                           {"level": level, "data": "working"},
                                           related_request_id=event.request_id)
        except LocalProtocolError:
            assert event.request_meta is not None and event.request_meta.log_level is None
        self._collect()

    @precondition(lambda self: any(e.progress_token is not None
                                   for e in self._to_serve.values()))
    @rule(data=st.data())
    def progress(self, data: st.DataObject) -> None:
        """Progress for a request that asked for it."""
        self._data = data
        event = self.draw(st.sampled_from(
            [e for e in self._to_serve.values() if e.progress_token is not None]))
        self._conn().send_notification(
            "notifications/progress", {"progressToken": event.progress_token, "progress": 1},
            related_request_id=event.request_id)
        self._collect()

    @precondition(lambda self: bool(self._to_serve))
    @rule(data=st.data())
    def answer(self, data: st.DataObject) -> None:
        """Answer one request being served, in random order."""
        self._data = data
        key = self.draw(st.sampled_from(sorted(self._to_serve, key=repr)))
        self._answer(self._to_serve[key])

    def _answer(self, event: RequestReceived) -> None:
        from ..errors import LocalProtocolError

        conn = self._conn()
        self._to_serve.pop(self._key(event.request_id), None)  # whatever the engine writes
        answer = self.answer_request(event)
        if answer is None:
            conn.send_discover_result(event.request_id)
        elif isinstance(answer, ErrorObject):
            conn.send_error(event.request_id, int(answer.code), answer.message, answer.data)
        else:
            self._own_info = (answer.get("_meta") or {}).get(
                "io.modelcontextprotocol/serverInfo")
            try:
                conn.send_response(event.request_id, answer)
            except LocalProtocolError as exc:
                # input requests needing a capability the request did not declare
                assert int(exc.code) == -32021 and answer.get("resultType") == "input_required"
                assert "requiredCapabilities" in exc.data
                conn.send_error(event.request_id, int(exc.code), exc.message, exc.data)
        self._collect()

    @invariant()
    def never_answered_twice(self) -> None:
        assert all(n == 1 for n in self._answers.values())

    def teardown(self) -> None:
        """Answer what is left; then every request not cancelled was answered exactly once."""
        if self.server is not None and self.era == "stateless" and self._data is not None:
            for event in list(self._to_serve.values()):
                self._answer(event)
            self._collect()
            for key in self._sent:  # (a second answer already failed in _answered)
                if key not in self._cancelled:
                    assert self._answers.get(key, 0) >= 1, f"{key[1]!r} was never answered"
        super().teardown()
