"""Short one-line reasons for network failures, shared by the HTTP server and client."""

from __future__ import annotations

import errno
import socket
import ssl
import sys

import trio

if sys.version_info < (3, 11):  # pragma: no cover - exercised on 3.10 only
    from exceptiongroup import BaseExceptionGroup  # type: ignore[import-not-found,unused-ignore]

_ERRNO_TEXT = {
    errno.ECONNREFUSED: "connection refused",
    errno.ECONNRESET: "connection reset by the server",
    errno.ECONNABORTED: "connection aborted",
    errno.ETIMEDOUT: "timed out",
    errno.EHOSTUNREACH: "host unreachable",
    errno.ENETUNREACH: "network unreachable",
    errno.EADDRINUSE: "address already in use",
    errno.EADDRNOTAVAIL: "address not available on this machine",
    errno.EACCES: "permission denied",
    errno.EPIPE: "the connection was closed",
}


def describe_failure(exc: BaseException) -> str:
    """A short lower-case reason for a network failure (``connection refused``,
    ``unknown host``, ``TLS certificate verification failed: ...``), without reprs.

    Follows ``__cause__`` (trio's "all attempts to connect ... failed" and its group of
    per-address errors, a :class:`trio.BrokenResourceError` made from an :class:`ssl.SSLError`).
    """
    if isinstance(exc, trio.TooSlowError):
        return "timed out"
    if isinstance(exc, socket.gaierror):
        if exc.errno in _UNKNOWN_HOST:
            return "unknown host"
        return f"cannot resolve the host name ({_lower(exc.strerror or str(exc))})"
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"TLS certificate verification failed: {exc.verify_message or exc.reason}"
    if isinstance(exc, ssl.SSLError):
        reason = exc.reason or exc.strerror or str(exc)
        if isinstance(exc.reason, str) and exc.reason.isupper():  # WRONG_VERSION_NUMBER
            reason = exc.reason.lower().replace("_", " ")
        return f"TLS handshake failed: {_lower(str(reason))}"
    if isinstance(exc, OSError) and exc.errno in _ERRNO_TEXT:
        return _ERRNO_TEXT[exc.errno]
    cause = exc.__cause__
    if isinstance(cause, BaseExceptionGroup) and cause.exceptions:
        reasons = list(dict.fromkeys(describe_failure(e) for e in cause.exceptions))
        return "; ".join(reasons[:3])
    if cause is not None:
        return describe_failure(cause)
    if isinstance(exc, OSError) and exc.strerror:
        return _lower(exc.strerror)
    return " ".join(str(exc).split()) or type(exc).__name__


_UNKNOWN_HOST = {getattr(socket, name) for name in ("EAI_NONAME", "EAI_NODATA")
                 if hasattr(socket, name)}


def _lower(text: str) -> str:
    return text[:1].lower() + text[1:]


def _check_resolvable(host: str) -> None:
    """RFC 6761 section 6.4: names under ``.invalid`` never resolve; say so at once rather than
    ask a resolver.

    Raises:
        socket.gaierror: (``EAI_NONAME``) ``host`` is such a name.
    """
    name = host.rstrip(".").lower()
    if name == "invalid" or name.endswith(".invalid"):
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")


