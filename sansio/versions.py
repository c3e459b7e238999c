"""Protocol revisions, their eras, and version negotiation.

MCP revisions are date strings that compare chronologically as strings. Two eras exist:

* the *handshake* era (2024-11-05 .. 2025-11-25): a connection starts with ``initialize`` /
  ``notifications/initialized`` and the negotiated version holds for the whole session;
* the *stateless* era (2026-07-28 and later): no handshake; every request carries its protocol
  version and client capabilities in ``params._meta`` and ``server/discover`` describes a server.

Spec: https://modelcontextprotocol.io/specification/2025-11-25/basic/lifecycle#version-negotiation
"""

from __future__ import annotations

import enum
from collections.abc import Iterable

__all__ = [
    "BATCH_VERSIONS",
    "HANDSHAKE_VERSIONS",
    "LATEST_HANDSHAKE_VERSION",
    "LATEST_VERSION",
    "STATELESS_VERSIONS",
    "SUPPORTED_VERSIONS",
    "Era",
    "era_of",
    "negotiate",
]


class Era(enum.Enum):
    """The two ways a connection can agree on a protocol revision."""

    HANDSHAKE = "handshake"
    STATELESS = "stateless"


HANDSHAKE_VERSIONS: tuple[str, ...] = ("2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25")
"""Revisions that use ``initialize``, oldest first."""
STATELESS_VERSIONS: tuple[str, ...] = ("2026-07-28",)
"""Revisions that carry the version per request, oldest first."""
SUPPORTED_VERSIONS: tuple[str, ...] = HANDSHAKE_VERSIONS + STATELESS_VERSIONS
"""Every revision this engine speaks, oldest first."""
LATEST_HANDSHAKE_VERSION = HANDSHAKE_VERSIONS[-1]
LATEST_VERSION = SUPPORTED_VERSIONS[-1]
BATCH_VERSIONS: frozenset[str] = frozenset({"2025-03-26"})
"""Revisions in which JSON-RPC batches are allowed."""


def era_of(version: str) -> Era:
    """Return the era of a supported revision.

    Raises:
        ValueError: ``version`` is not one of :data:`SUPPORTED_VERSIONS`.
    """
    if version in HANDSHAKE_VERSIONS:
        return Era.HANDSHAKE
    if version in STATELESS_VERSIONS:
        return Era.STATELESS
    raise ValueError(f"unsupported protocol version {version!r}")


def negotiate(requested: str, supported: Iterable[str] = HANDSHAKE_VERSIONS) -> str:
    """Server-side negotiation for ``initialize``.

    Returns ``requested`` when it is in ``supported``; otherwise the latest of ``supported``
    (the spec: "the server MUST respond with another protocol version it supports. This SHOULD
    be the latest version supported by the server").

    Raises:
        ValueError: ``supported`` is empty.
    """
    versions = sorted(supported)
    if not versions:
        raise ValueError("no supported protocol versions")
    if requested in versions:
        return requested
    return versions[-1]
