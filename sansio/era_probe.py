"""Which era to speak with a server: the client's decisions around ``server/discover``.

A client that supports both eras may probe a server with ``server/discover`` (2026-07-28)
before it falls back to ``initialize`` (the handshake era). This module decides, with no I/O
and no clock, what an answer to the probe means:

* a result whose ``supportedVersions`` shares a stateless revision with the client: speak that
  revision (:class:`UseModern`, the newest common one);
* ``-32022`` (UnsupportedProtocolVersion) whose ``data.supported`` names a stateless revision
  the client supports: probe again with it, once (:class:`RetryWith`);
* anything else (any other error, whatever its code, a result without a common revision, no
  answer within the adapter's bound, the server closing the connection): fall back to
  ``initialize`` (:class:`FallBack`), when the handshake era is allowed; otherwise the probe
  failed (:class:`ProbeFailed`).

It also reads the facts a session reports from the ``server/discover`` result
(:func:`discover_facts`).

Spec: https://modelcontextprotocol.io/specification/2026-07-28/basic/versioning
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import attrs

from .errors import ErrorCode
from .versions import HANDSHAKE_VERSIONS, META_SERVER_INFO, STATELESS_VERSIONS

__all__ = [
    "FallBack",
    "ProbeFailed",
    "RetryWith",
    "UseModern",
    "decide_error",
    "decide_no_answer",
    "decide_result",
    "discover_facts",
    "newest_common",
    "plan",
]


@attrs.frozen
class UseModern:
    """Speak ``version`` (a stateless revision) with this server."""

    version: str


@attrs.frozen
class RetryWith:
    """Probe again with ``version``: the server said it supports it (``-32022``)."""

    version: str


@attrs.frozen
class FallBack:
    """Send ``initialize`` (the handshake era); ``reason`` is one line for the log."""

    reason: str


@attrs.frozen
class ProbeFailed:
    """The modern era was required and the probe did not end in it; ``reason`` says why."""

    reason: str
    code: int | None = None


Decision = UseModern | RetryWith | FallBack | ProbeFailed


def newest_common(offered: Any, supported: Iterable[str]) -> str | None:
    """The newest stateless revision in both ``offered`` (the server's list, any order; a
    non-list gives ``None``) and ``supported``."""
    if not isinstance(offered, list):
        return None
    ours = {v for v in supported if v in STATELESS_VERSIONS}
    common = sorted(v for v in offered if isinstance(v, str) and v in ours)
    return common[-1] if common else None


def _handshake_allowed(supported: Iterable[str]) -> bool:
    return any(v in HANDSHAKE_VERSIONS for v in supported)


def _fall_back(reason: str, supported: Iterable[str], code: int | None = None) -> Decision:
    if _handshake_allowed(supported):
        return FallBack(reason)
    return ProbeFailed(reason, code)


def plan(supported: Iterable[str], pinned: str | None = None) -> str | None:
    """The stateless revision to probe with first (``pinned`` when it is one), or ``None``
    when the client supports none (go straight to ``initialize``)."""
    versions = tuple(supported)
    if pinned is not None:
        return pinned if pinned in STATELESS_VERSIONS and pinned in versions else None
    modern = [v for v in versions if v in STATELESS_VERSIONS]
    return max(modern) if modern else None


def decide_result(result: Mapping[str, Any], supported: Iterable[str],
                  pinned: str | None = None) -> Decision:
    """What a ``server/discover`` result means for a client supporting ``supported``
    (``pinned``: only that revision will do)."""
    versions = tuple(supported) if pinned is None else (pinned,)
    version = newest_common(result.get("supportedVersions"), versions)
    if version is not None:
        return UseModern(version)
    return _fall_back(f"the server offers {result.get('supportedVersions')!r}, no stateless "
                      f"revision this client supports", supported if pinned is None else ())


def decide_error(code: int, data: Any, supported: Iterable[str], *, retried: bool,
                 pinned: str | None = None) -> Decision:
    """What an error answering ``server/discover`` means. Only ``-32022`` with a
    ``data.supported`` naming a common stateless revision is retried (once: ``retried``
    says it was); every other error falls back, whatever its code."""
    versions = tuple(supported) if pinned is None else (pinned,)
    if code == ErrorCode.UNSUPPORTED_PROTOCOL_VERSION and isinstance(data, Mapping):
        version = newest_common(data.get("supported"), versions)
        if version is not None and not retried:
            return RetryWith(version)
    return _fall_back(f"server/discover was answered with error {code} "
                      f"({ErrorCode.describe(code)})", supported if pinned is None else (),
                      code)


def decide_no_answer(reason: str, supported: Iterable[str], pinned: str | None = None
                     ) -> Decision:
    """No answer to ``server/discover``: it timed out, or the server closed the
    connection (``reason`` says which)."""
    return _fall_back(f"no answer to server/discover: {reason}",
                      supported if pinned is None else ())


@attrs.frozen
class DiscoverFacts:
    """What a session reports from a ``server/discover`` result."""

    server_info: dict[str, Any]
    capabilities: dict[str, Any]
    instructions: str | None


def discover_facts(result: Mapping[str, Any]) -> DiscoverFacts:
    """The server's info (``_meta`` ``io.modelcontextprotocol/serverInfo``, else a top-level
    ``serverInfo``), capabilities and instructions in a ``server/discover`` result."""
    meta = result.get("_meta")
    info = meta.get(META_SERVER_INFO) if isinstance(meta, Mapping) else None
    if not isinstance(info, dict):
        info = result.get("serverInfo")
    caps = result.get("capabilities")
    instructions = result.get("instructions")
    return DiscoverFacts(info if isinstance(info, dict) else {},
                         caps if isinstance(caps, dict) else {},
                         instructions if isinstance(instructions, str) else None)
