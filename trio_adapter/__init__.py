"""trio-mcp's trio adapter: Client, Server and their sessions over trio transports.

The adapter drives the sans-IO engine in :mod:`sansio` and owns only I/O and concurrency (see
``docs/`` and the design notes). Its public API (``Client``, ``Server``, ``ClientSession``,
``ServerSession``, the transports and the ``trio-mcp`` command line) is being built on top of the
engine; until it lands this package exports nothing.
"""

__all__: list[str] = []
