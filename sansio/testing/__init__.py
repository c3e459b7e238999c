"""Tools for testing MCP peers and the engine itself.

* :class:`ConnectionPair` -- a client and a server engine back to back
  (:meth:`ConnectionPair.stateless` for the stateless era).
* :mod:`sansio.testing.strategies` -- hypothesis strategies for valid and invalid frames of each
  revision, 2026-07-28 included (imports hypothesis; install it to use them).
* :mod:`sansio.testing.machine` -- hypothesis ``RuleBasedStateMachine`` classes you can subclass
  to property-test your own peer: ``MCPLifecycleMachine`` over the handshake lifecycle,
  ``MCPStatelessMachine`` over a dual-era server's stateless-era traffic.

Only :class:`ConnectionPair` and :func:`drain_events` are imported here, so that ``import
sansio.testing`` does not require hypothesis.
"""

from ._pair import ConnectionPair, drain_events

__all__ = ["ConnectionPair", "drain_events"]
