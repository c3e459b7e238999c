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
from collections.abc import Collection, Iterable, Mapping
from typing import Any

import attrs

__all__ = [
    "BATCH_VERSIONS",
    "HANDSHAKE_VERSIONS",
    "ID_OMITTED_FROM",
    "LATEST_HANDSHAKE_VERSION",
    "LATEST_VERSION",
    "LOG_LEVELS",
    "META_CLIENT_CAPABILITIES",
    "META_CLIENT_INFO",
    "META_LOG_LEVEL",
    "META_PROGRESS_TOKEN",
    "META_PROTOCOL_VERSION",
    "META_RELATED_TASK",
    "META_SERVER_INFO",
    "META_SUBSCRIPTION_ID",
    "STATELESS_VERSIONS",
    "SUPPORTED_VERSIONS",
    "Era",
    "RequestMeta",
    "era_of",
    "modern_version_of",
    "negotiate",
    "null_id",
    "read_request_meta",
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
ID_OMITTED_FROM = "2025-11-25"
"""From this revision on, an error answering no readable id omits ``id`` (its schema forbids
null); before it, the id is ``null`` (JSON-RPC 2.0)."""


def null_id(version: str | None) -> bool:
    """Whether an error answering no readable id writes ``"id": null`` under ``version``
    (``None``: not negotiated yet, JSON-RPC 2.0's rule), rather than omitting ``id``."""
    return version is None or version < ID_OMITTED_FROM


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


# ---------------------------------------------------------------- _meta keys (the one place)

META_PROGRESS_TOKEN: str = "progressToken"
"""Request ``_meta``: the token that asks for ``notifications/progress``."""
META_RELATED_TASK: str = "io.modelcontextprotocol/related-task"
"""``_meta`` of a task's messages: the task they belong to (2025-11-25 only)."""
META_PROTOCOL_VERSION: str = "io.modelcontextprotocol/protocolVersion"
"""Request ``_meta`` (2026-07-28, required): the protocol revision of this request."""
META_CLIENT_CAPABILITIES: str = "io.modelcontextprotocol/clientCapabilities"
"""Request ``_meta`` (2026-07-28, required): the client's capabilities for this request."""
META_CLIENT_INFO: str = "io.modelcontextprotocol/clientInfo"
"""Request ``_meta`` (2026-07-28, should): the client implementation."""
META_LOG_LEVEL: str = "io.modelcontextprotocol/logLevel"
"""Request ``_meta`` (2026-07-28): the lowest level of ``notifications/message`` wanted for
this request; without it the server sends none."""
META_SERVER_INFO: str = "io.modelcontextprotocol/serverInfo"
"""Result ``_meta`` (2026-07-28, should): the server implementation."""
META_SUBSCRIPTION_ID: str = "io.modelcontextprotocol/subscriptionId"
"""Notification (and ``subscriptions/listen`` result) ``_meta`` (2026-07-28): the id of the
``subscriptions/listen`` request whose stream carries it."""

LOG_LEVELS: tuple[str, ...] = (
    "debug", "info", "notice", "warning", "error", "critical", "alert", "emergency")
"""The RFC 5424 severities MCP logging uses, least severe first."""


@attrs.frozen(slots=True)
class RequestMeta:
    """What one stateless-era request says about itself in ``params._meta``.

    Attributes:
        version: ``io.modelcontextprotocol/protocolVersion``.
        client_capabilities: ``io.modelcontextprotocol/clientCapabilities``.
        client_info: ``io.modelcontextprotocol/clientInfo``, when given.
        log_level: ``io.modelcontextprotocol/logLevel``, when given.
    """

    version: str
    client_capabilities: dict[str, Any]
    client_info: dict[str, Any] | None = None
    log_level: str | None = None


def modern_version_of(params: Any) -> str | None:
    """The ``io.modelcontextprotocol/protocolVersion`` a request's params name, if a string.

    Its presence is what marks a request as modern (stateless era), whatever its value.
    """
    if params.__class__ is not dict:
        return None
    meta = params.get("_meta")
    if meta.__class__ is not dict:
        return None
    version = meta.get(META_PROTOCOL_VERSION)
    return version if version.__class__ is str else None


def read_request_meta(
    params: Mapping[str, Any] | None, supported: Collection[str]
) -> RequestMeta | tuple[int, str, Any]:
    """Judge a stateless-era request's ``_meta`` by itself.

    Returns the :class:`RequestMeta`, or ``(code, message, data)`` of the error to answer:
    -32602 for a missing or ill-typed required field (or an ill-typed optional one, or an
    unknown log level), -32022 with ``{"supported": [...], "requested": ...}`` (newest first)
    for a revision not in ``supported``.
    """
    meta = params.get("_meta") if params.__class__ is dict else None
    if meta.__class__ is not dict:
        return (-32602, f"params._meta with {META_PROTOCOL_VERSION} and "
                f"{META_CLIENT_CAPABILITIES} is required", None)
    assert isinstance(meta, dict)
    version = meta.get(META_PROTOCOL_VERSION)
    if version.__class__ is not str:
        return (-32602, f"_meta {META_PROTOCOL_VERSION} (a string) is required", None)
    caps = meta.get(META_CLIENT_CAPABILITIES)
    if caps.__class__ is not dict:
        return (-32602, f"_meta {META_CLIENT_CAPABILITIES} (an object) is required", None)
    info = meta.get(META_CLIENT_INFO)
    if info is not None and (info.__class__ is not dict or info.get("name").__class__ is not str
                             or info.get("version").__class__ is not str):
        return (-32602, f"_meta {META_CLIENT_INFO} must be an object with a name and a "
                "version", None)
    level = meta.get(META_LOG_LEVEL)
    if level is not None and level not in LOG_LEVELS:
        return (-32602, f"_meta {META_LOG_LEVEL} must be one of {', '.join(LOG_LEVELS)}", None)
    if version not in supported or era_of(version) is not Era.STATELESS:
        return (-32022, "Unsupported protocol version",
                {"supported": sorted(supported, reverse=True), "requested": version})
    return RequestMeta(version, caps, info, level)
