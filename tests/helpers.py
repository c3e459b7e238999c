"""Helpers shared by the engine tests."""

from __future__ import annotations

from typing import Any

from sansio import _codec
from sansio.testing import ConnectionPair

FULL_SERVER_CAPS: dict[str, Any] = {
    "tools": {"listChanged": True},
    "resources": {"subscribe": True, "listChanged": True},
    "prompts": {"listChanged": True},
    "logging": {},
    "completions": {},
}
FULL_CLIENT_CAPS: dict[str, Any] = {
    "roots": {"listChanged": True},
    "sampling": {},
    "elicitation": {"form": {}, "url": {}},
}


def operating_pair(version: str | None = None, *, byte_by_byte: bool = False,
                   server_caps: dict[str, Any] | None = None,
                   client_caps: dict[str, Any] | None = None) -> ConnectionPair:
    """A pair that completed the handshake with every capability advertised."""
    pair = ConnectionPair(byte_by_byte=byte_by_byte)
    pair.handshake(
        protocol_version=version,
        server_capabilities=FULL_SERVER_CAPS if server_caps is None else server_caps,
        client_capabilities=FULL_CLIENT_CAPS if client_caps is None else client_caps,
    )
    return pair


def frame(obj: Any) -> bytes:
    """One NDJSON frame."""
    return _codec.dumps(obj) + b"\n"


def hint_of(exc: Any) -> dict[str, Any]:
    """The decoded response hint of a RemoteProtocolError (asserting it is one line)."""
    assert exc.response_hint is not None
    assert exc.response_hint.endswith(b"\n") and exc.response_hint.count(b"\n") == 1
    return _codec.loads(exc.response_hint)  # type: ignore[no-any-return]
