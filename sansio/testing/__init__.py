"""Tools for testing MCP peers and the engine itself.

* :class:`ConnectionPair` -- a client and a server engine back to back.
* :mod:`sansio.testing.strategies` -- hypothesis strategies for valid and invalid frames of each
  revision (imports hypothesis; install it to use them).
* :mod:`sansio.testing.machine` -- a hypothesis ``RuleBasedStateMachine`` over the lifecycle that
  you can subclass to property-test your own peer.

Only :class:`ConnectionPair` and :func:`drain_events` are imported here, so that ``import
sansio.testing`` does not require hypothesis.
"""

from ._pair import ConnectionPair, drain_events

__all__ = ["ConnectionPair", "drain_events"]
