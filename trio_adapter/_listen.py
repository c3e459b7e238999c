"""Opening the listening sockets of :func:`~trio_adapter.http.serve_http`, optionally with
``SO_REUSEPORT`` so that several worker processes share one port (docs/scale.md).

With ``SO_REUSEPORT`` (Linux 3.9+) every process that binds the same address and port with the
option set, under the same user, gets a listening socket of its own, and the kernel spreads new
connections over them. A socket bound with the option but never listening holds the port
without taking connections: ``trio-mcp serve --workers N`` keeps one such socket in the
supervisor (:func:`reserve_port`), so a worker restarted later binds the same port again.
"""

from __future__ import annotations

import errno
import socket
import sys

import trio

__all__ = ["open_listeners", "reserve_port", "reuse_port_supported"]


def reuse_port_supported() -> bool:
    """Whether this platform has ``SO_REUSEPORT`` with the load-spreading meaning we need
    (Linux; the BSDs' and macOS's option of the same name lets only the last socket accept)."""
    return sys.platform.startswith("linux") and hasattr(socket, "SO_REUSEPORT")


def _unsupported() -> OSError:
    return OSError(errno.ENOPROTOOPT, "SO_REUSEPORT (several processes on one port) needs "
                   "Linux; run one worker per port behind the load balancer instead")


async def open_listeners(port: int, host: str | None, *, reuse_port: bool = False
                         ) -> list[trio.SocketListener]:
    """Listen on every address ``host`` resolves to, at ``port``.

    Without ``reuse_port`` this is :func:`trio.open_tcp_listeners`. With it, each socket gets
    ``SO_REUSEADDR`` and ``SO_REUSEPORT`` before it binds (IPv6 ones are IPv6-only, as trio's).

    Raises:
        OSError: the platform has no usable ``SO_REUSEPORT`` (``ENOPROTOOPT``, saying so), or
            resolving, binding or listening failed (every socket opened so far is closed).
    """
    if not reuse_port:
        return await trio.open_tcp_listeners(port, host=host)
    if not reuse_port_supported():
        raise _unsupported()
    infos = await trio.socket.getaddrinfo(host, port, type=socket.SOCK_STREAM,
                                          flags=socket.AI_PASSIVE)
    listeners: list[trio.SocketListener] = []
    try:
        for family, kind, proto, _, address in infos:
            sock = trio.socket.socket(family, kind, proto)
            try:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
                if family == socket.AF_INET6:
                    sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
                await sock.bind(address)
                sock.listen(socket.SOMAXCONN)
            except BaseException:
                sock.close()
                raise
            listeners.append(trio.SocketListener(sock))
    except BaseException:
        for listener in listeners:
            listener.socket.close()
        raise
    return listeners


def reserve_port(host: str, port: int) -> socket.socket:
    """Bind (never listen) a ``SO_REUSEPORT`` socket at ``host:port`` and return it: it holds
    the port (``port=0``: a free one, read it from ``getsockname()``) for workers that listen
    on it with ``reuse_port``, and takes no connection itself. Close it when they are done.

    Raises:
        OSError: no usable ``SO_REUSEPORT`` (see :func:`open_listeners`), an unknown host, or
            the port is taken by a socket without the option.
    """
    if not reuse_port_supported():
        raise _unsupported()
    family, kind, proto, _, address = socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        sock.bind(address)
    except BaseException:
        sock.close()
        raise
    return sock
