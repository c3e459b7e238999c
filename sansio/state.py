"""The MCP lifecycle as one transition table.

Theory of operation
-------------------
A :class:`sansio.Connection` is one MCP session seen from one side (``Role.CLIENT`` or
``Role.SERVER``). Its lifecycle state is a single :class:`State`; every change of it goes through
:meth:`LifecycleState.process` with a :class:`Trigger` and is looked up in :data:`TRANSITIONS`,
keyed ``(role, state) -> {trigger: new_state}``. A missing key is a
:class:`~sansio.errors.LocalProtocolError` (the caller or the engine asked for a move the
protocol does not have). No other module assigns the state.

Handshake era (https://modelcontextprotocol.io/specification/2025-11-25/basic/lifecycle)::

    client: IDLE --send initialize--> INITIALIZING --recv result--> INITIALIZED
            --send notifications/initialized--> OPERATING
            (an error answer to initialize goes back to IDLE)
    server: IDLE --recv initialize--> INITIALIZING --send result--> INITIALIZED
            --recv notifications/initialized--> OPERATING
            (an error answer to initialize goes back to IDLE)

From any live state, ``close()`` leads to CLOSED and the peer going away to CLOSED; a fatal
protocol error leads to ERROR. CLOSED and ERROR are terminal.

Which messages may travel in which state is a second table, :data:`TRAFFIC`: for every
``(role, state)`` the request/notification methods this side may *send* and may *receive*
(``None`` means "any"). Responses are not listed: they are checked by id, not by state. The
rules follow the spec's lifecycle section: the client sends only ``ping`` (and cancellations
of its pings) until the server answered ``initialize``; the server sends only ``ping``, log
notifications, and the progress and cancellation notifications that go with those, until it
received ``notifications/initialized``.

Stateless era (https://modelcontextprotocol.io/specification/2026-07-28/basic/versioning)::

    client: IDLE --start_stateless()--> STATELESS
    server: IDLE --recv a request whose _meta names a modern revision--> STATELESS

A server serving one handshake-era request without a handshake (stateless Streamable HTTP, as
the 2025-03-26 .. 2025-11-25 transports allow) starts in the handshake era's last state::

    server: IDLE --start_stateless(a handshake-era version)--> OPERATING

The era is a dimension of the tables, not a flag: :data:`ERAS` says which era each state
belongs to (``None`` while undecided or over), and the ``per_request`` column of
:data:`TRAFFIC` says that in STATELESS every request is judged alone, by the version, client
capabilities and log level of its own ``params._meta`` (nothing is inferred from earlier
requests). A dual-era server's first message decides: ``initialize`` enters the handshake era,
a modern request the stateless one (the ``enter_by_meta`` and ``judge_by_meta`` columns of
:data:`TRAFFIC` say where a received request is judged by its own ``_meta``).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping

from .errors import LocalProtocolError
from .versions import Era

__all__ = [
    "ERAS", "LIFECYCLE_NOTIFICATIONS", "LIFECYCLE_REQUESTS", "MESSAGE_TRIGGERS", "TRAFFIC",
    "TRANSITIONS", "UNCANCELLABLE", "LifecycleState", "Role", "State", "Step", "Traffic",
    "Trigger", "message_triggers",
]


class Role(enum.Enum):
    """Which side of the session this engine plays."""

    CLIENT = "client"
    SERVER = "server"

    @property
    def peer(self) -> Role:
        """The other role."""
        return Role.SERVER if self is Role.CLIENT else Role.CLIENT


class State(enum.Enum):
    """Lifecycle states (see the module's theory of operation)."""

    IDLE = "IDLE"
    INITIALIZING = "INITIALIZING"
    INITIALIZED = "INITIALIZED"
    OPERATING = "OPERATING"
    STATELESS = "STATELESS"
    """Serving in the stateless era (2026-07-28): no session, every request judged alone."""
    CLOSED = "CLOSED"
    ERROR = "ERROR"


class Trigger(enum.Enum):
    """What can move the lifecycle."""

    SEND_INITIALIZE = "send initialize"
    RECV_INITIALIZE = "recv initialize"
    SEND_INITIALIZE_RESULT = "send initialize result"
    RECV_INITIALIZE_RESULT = "recv initialize result"
    SEND_INITIALIZE_ERROR = "send initialize error"
    RECV_INITIALIZE_ERROR = "recv initialize error"
    SEND_INITIALIZED = "send notifications/initialized"
    RECV_INITIALIZED = "recv notifications/initialized"
    START_STATELESS = "start stateless"
    START_WITHOUT_HANDSHAKE = "start without handshake"
    """(Server) Serve one handshake-era request with no handshake (stateless Streamable HTTP:
    ``Connection.start_stateless`` with a handshake-era version)."""
    CLOSE = "close"
    PEER_DISCONNECT = "peer disconnect"
    PROTOCOL_ERROR = "protocol error"


_C, _S = Role.CLIENT, Role.SERVER
_ENDINGS: Mapping[Trigger, State] = {
    Trigger.CLOSE: State.CLOSED,
    Trigger.PEER_DISCONNECT: State.CLOSED,
    Trigger.PROTOCOL_ERROR: State.ERROR,
}

TRANSITIONS: Mapping[tuple[Role, State], Mapping[Trigger, State]] = {
    (_C, State.IDLE): {
        Trigger.SEND_INITIALIZE: State.INITIALIZING,
        Trigger.START_STATELESS: State.STATELESS,
        **_ENDINGS,
    },
    (_C, State.INITIALIZING): {
        Trigger.RECV_INITIALIZE_RESULT: State.INITIALIZED,
        Trigger.RECV_INITIALIZE_ERROR: State.IDLE,
        **_ENDINGS,
    },
    (_C, State.INITIALIZED): {Trigger.SEND_INITIALIZED: State.OPERATING, **_ENDINGS},
    (_C, State.OPERATING): {**_ENDINGS},
    (_C, State.STATELESS): {**_ENDINGS},
    (_S, State.IDLE): {
        Trigger.RECV_INITIALIZE: State.INITIALIZING,
        Trigger.START_STATELESS: State.STATELESS,
        Trigger.START_WITHOUT_HANDSHAKE: State.OPERATING,
        **_ENDINGS,
    },
    (_S, State.INITIALIZING): {
        Trigger.SEND_INITIALIZE_RESULT: State.INITIALIZED,
        Trigger.SEND_INITIALIZE_ERROR: State.IDLE,
        **_ENDINGS,
    },
    (_S, State.INITIALIZED): {Trigger.RECV_INITIALIZED: State.OPERATING, **_ENDINGS},
    (_S, State.OPERATING): {**_ENDINGS},
    (_S, State.STATELESS): {**_ENDINGS},
    # Terminal states: closing again is harmless; nothing else moves them.
    (_C, State.CLOSED): {Trigger.CLOSE: State.CLOSED, Trigger.PEER_DISCONNECT: State.CLOSED},
    (_S, State.CLOSED): {Trigger.CLOSE: State.CLOSED, Trigger.PEER_DISCONNECT: State.CLOSED},
    (_C, State.ERROR): {Trigger.CLOSE: State.ERROR, Trigger.PEER_DISCONNECT: State.ERROR},
    (_S, State.ERROR): {Trigger.CLOSE: State.ERROR, Trigger.PEER_DISCONNECT: State.ERROR},
}


ERAS: Mapping[State, Era | None] = {
    State.IDLE: None,
    State.INITIALIZING: Era.HANDSHAKE,
    State.INITIALIZED: Era.HANDSHAKE,
    State.OPERATING: Era.HANDSHAKE,
    State.STATELESS: Era.STATELESS,
    State.CLOSED: None,
    State.ERROR: None,
}
"""The era each state belongs to (``None``: not decided yet, or over)."""


class Traffic:
    """What one side may send and receive in one state. ``None`` means any method.

    ``per_request`` is true where every request carries its own protocol version and client
    capabilities in ``params._meta`` (the stateless era): the engine stamps them on what it
    sends and judges what it receives by them, method liveness included.

    ``judge_by_meta`` is true where a received request is judged alone, by its own ``_meta``
    (a stateless server; a stateless client's requests come from the server and carry none).
    ``enter_by_meta`` is true where a received request whose ``_meta`` names a modern revision
    starts the stateless era (a dual-era server's first message) and is judged by it.
    """

    __slots__ = ("enter_by_meta", "judge_by_meta", "per_request", "receive", "send")

    def __init__(self, send: frozenset[str] | None, receive: frozenset[str] | None,
                 per_request: bool = False, *, judge_by_meta: bool = False,
                 enter_by_meta: bool = False) -> None:
        self.send = send
        self.receive = receive
        self.per_request = per_request
        self.judge_by_meta = judge_by_meta
        self.enter_by_meta = enter_by_meta

    def __repr__(self) -> str:
        return (f"Traffic(send={self.send!r}, receive={self.receive!r}, "
                f"per_request={self.per_request!r}, judge_by_meta={self.judge_by_meta!r}, "
                f"enter_by_meta={self.enter_by_meta!r})")


_PING = "ping"
_CANCEL = "notifications/cancelled"
_LOG = "notifications/message"
_PROGRESS = "notifications/progress"
_INIT = "initialize"
_INITIALIZED = "notifications/initialized"
_NOTHING: frozenset[str] = frozenset()

# What a server may send before it has received notifications/initialized (and what a client
# must therefore accept while its handshake is under way).
_SERVER_EARLY = frozenset({_PING, _LOG, _CANCEL, _PROGRESS})

TRAFFIC: Mapping[tuple[Role, State], Traffic] = {
    # A client is IDLE before initialize and again after the server refused it; late pings and
    # cancellations from that attempt may still arrive then.
    (_C, State.IDLE): Traffic(send=frozenset({_INIT}), receive=frozenset({_PING, _CANCEL})),
    (_C, State.INITIALIZING): Traffic(send=frozenset({_PING, _CANCEL}), receive=_SERVER_EARLY),
    (_C, State.INITIALIZED): Traffic(
        send=frozenset({_INITIALIZED, _PING, _CANCEL}), receive=_SERVER_EARLY
    ),
    (_C, State.OPERATING): Traffic(send=None, receive=None),
    # Which methods exist is then a question of the request's revision (the method table).
    (_C, State.STATELESS): Traffic(send=None, receive=None, per_request=True),
    # Likewise a server that refused initialize is IDLE again, and may still get the client's
    # cancellation of a ping it sent meanwhile.
    # A dual-era server's first request decides the era: initialize, or a modern _meta.
    (_S, State.IDLE): Traffic(send=_NOTHING, receive=frozenset({_INIT, _PING, _CANCEL}),
                              enter_by_meta=True),
    (_S, State.INITIALIZING): Traffic(send=_SERVER_EARLY, receive=frozenset({_PING, _CANCEL})),
    (_S, State.INITIALIZED): Traffic(
        send=_SERVER_EARLY, receive=frozenset({_INITIALIZED, _PING, _CANCEL, _PROGRESS})
    ),
    (_S, State.OPERATING): Traffic(send=None, receive=None),
    (_S, State.STATELESS): Traffic(send=None, receive=None, per_request=True,
                                   judge_by_meta=True),
    (_C, State.CLOSED): Traffic(send=_NOTHING, receive=_NOTHING),
    (_S, State.CLOSED): Traffic(send=_NOTHING, receive=_NOTHING),
    (_C, State.ERROR): Traffic(send=_NOTHING, receive=_NOTHING),
    (_S, State.ERROR): Traffic(send=_NOTHING, receive=_NOTHING),
}


class Step(enum.Enum):
    """What happens to a message, as :data:`MESSAGE_TRIGGERS` keys it."""

    SEND_REQUEST = "send request"
    RECV_REQUEST = "recv request"
    SEND_RESULT = "send result"
    RECV_RESULT = "recv result"
    SEND_ERROR = "send error"
    RECV_ERROR = "recv error"
    SEND_NOTIFICATION = "send notification"
    RECV_NOTIFICATION = "recv notification"


MESSAGE_TRIGGERS: Mapping[tuple[Role, str, Step], Trigger] = {
    (_C, _INIT, Step.SEND_REQUEST): Trigger.SEND_INITIALIZE,
    (_C, _INIT, Step.RECV_RESULT): Trigger.RECV_INITIALIZE_RESULT,
    (_C, _INIT, Step.RECV_ERROR): Trigger.RECV_INITIALIZE_ERROR,
    (_C, _INITIALIZED, Step.SEND_NOTIFICATION): Trigger.SEND_INITIALIZED,
    (_S, _INIT, Step.RECV_REQUEST): Trigger.RECV_INITIALIZE,
    (_S, _INIT, Step.SEND_RESULT): Trigger.SEND_INITIALIZE_RESULT,
    (_S, _INIT, Step.SEND_ERROR): Trigger.SEND_INITIALIZE_ERROR,
    (_S, _INITIALIZED, Step.RECV_NOTIFICATION): Trigger.RECV_INITIALIZED,
}
"""Which messages move the lifecycle: ``(role, method, step) -> trigger``. A message of a
method named here with no row for this role and step is refused (a server never sends
``initialize``; a client never receives ``notifications/initialized``)."""

_NOTIFICATION_STEPS = frozenset({Step.SEND_NOTIFICATION, Step.RECV_NOTIFICATION})
LIFECYCLE_REQUESTS: frozenset[str] = frozenset(
    method for _, method, step in MESSAGE_TRIGGERS if step not in _NOTIFICATION_STEPS)
"""The request methods with rows in :data:`MESSAGE_TRIGGERS` (``initialize``)."""
LIFECYCLE_NOTIFICATIONS: frozenset[str] = frozenset(
    method for _, method, step in MESSAGE_TRIGGERS if step in _NOTIFICATION_STEPS)
"""The notification methods with rows in :data:`MESSAGE_TRIGGERS`."""
UNCANCELLABLE: frozenset[str] = frozenset({_INIT})
"""Requests that may not be cancelled (basic/utilities/cancellation: ``initialize``): the
engine refuses to cancel one and ignores the peer's cancellation of one."""


def message_triggers(role: Role) -> Mapping[tuple[str, Step], Trigger]:
    """:data:`MESSAGE_TRIGGERS`'s rows for ``role``, keyed ``(method, step)``."""
    return {(method, step): trigger for (r, method, step), trigger in MESSAGE_TRIGGERS.items()
            if r is role}


class LifecycleState:
    """The one owner of a connection's lifecycle state."""

    __slots__ = ("_moves", "era", "role", "state", "traffic")

    role: Role
    state: State
    traffic: Traffic
    """What may be sent and received now (kept in step with ``state``)."""
    era: Era | None
    """The era of ``state`` (:data:`ERAS`)."""

    def __init__(self, role: Role) -> None:
        self.role = role
        self._enter(State.IDLE)

    def _enter(self, state: State) -> None:
        self.state = state
        self.traffic = TRAFFIC[(self.role, state)]
        self.era = ERAS[state]
        self._moves = TRANSITIONS[(self.role, state)]

    def process(self, trigger: Trigger) -> State:
        """Apply ``trigger`` and return the new state.

        Raises:
            LocalProtocolError: ``trigger`` is not allowed in the current state. The state is
                unchanged.
        """
        try:
            new = self._moves[trigger]
        except KeyError:
            raise LocalProtocolError(
                f"can't {trigger.value} in state {self.state.name} as {self.role.value}"
            ) from None
        self._enter(new)
        return new

    def can(self, trigger: Trigger) -> bool:
        """Return whether ``trigger`` is allowed now (without applying it)."""
        return trigger in self._moves
