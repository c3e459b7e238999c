"""Helpers for testing a server you wrote: a connected client in one line.

>>> import trio
>>> from trio_adapter import Server
>>> from trio_adapter.testing import connected
>>> server = Server("demo", "1.0")
>>> @server.tool()
... async def add(a: int, b: int) -> int:
...     return a + b
>>> async def main() -> int:
...     async with connected(server) as session:
...         result = await session.call_tool("add", {"a": 1, "b": 2})
...     return result.structured_content["result"]
>>> trio.run(main)
3
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from ._transport import memory_transport_pair
from .client import Client, ClientSession
from .server import Server

__all__ = ["connected"]


@asynccontextmanager
async def connected(
    server: Server, client: Client | None = None, **client_options: Any
) -> AsyncIterator[ClientSession]:
    """Connect a client to ``server`` in memory; yield the initialized :class:`ClientSession`.

    The server's lifespan is entered first (:meth:`Server.running`); the server side runs in
    a nursery of its own (:meth:`Server.connect`). On exit the client session is closed, then
    the server session (each bounded by its ``close_timeout``), then the lifespan exits: no
    task is left behind. An exception from the block propagates as itself.

    Args:
        server: the server under test.
        client: the client to connect (default: ``Client("trio-mcp-test", "1.0",
            **client_options)``).
        client_options: keyword arguments of :class:`Client` (``protocol_version=``,
            ``sampling_handler=``, ``roots=``, ...), when no ``client`` is given.

    Raises:
        TypeError: both ``client`` and ``client_options``.
        ConnectError: the handshake failed.
        LifespanError: the server's lifespan failed.
    """
    if client is None:
        client = Client("trio-mcp-test", "1.0", **client_options)
    elif client_options:
        raise TypeError("give either a client or client options, not both")
    client_end, server_end = memory_transport_pair()
    # Server.connect runs the server session in a nursery of its own and re-raises the body's
    # exception as itself (not in an exception group), so a failing test reads as it failed.
    async with server.running(), server.connect(server_end), \
            client.connect(client_end) as session:
        yield session
