"""Which capability a request needs from the side that serves it.

A request for a feature the peer did not advertise is refused locally before it is written; an
incoming request for a feature we did not advertise is answered with -32601 (method not found).

https://modelcontextprotocol.io/specification/2025-11-25/basic/lifecycle#capability-negotiation
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["PARAMS_DEPENDENT", "REQUIRED_CAPABILITY", "missing_capability"]

# method -> capability path in the *serving* side's capabilities. Requests not listed (ping,
# initialize, unknown extension methods) need none.
REQUIRED_CAPABILITY: Mapping[str, tuple[str, ...]] = {
    # served by the server
    "tools/list": ("tools",),
    "tools/call": ("tools",),
    "resources/list": ("resources",),
    "resources/templates/list": ("resources",),
    "resources/read": ("resources",),
    "resources/subscribe": ("resources", "subscribe"),
    "resources/unsubscribe": ("resources", "subscribe"),
    "prompts/list": ("prompts",),
    "prompts/get": ("prompts",),
    "completion/complete": ("completions",),
    "logging/setLevel": ("logging",),
    # served by the client
    "sampling/createMessage": ("sampling",),
    "roots/list": ("roots",),
    "elicitation/create": ("elicitation",),
    # served by either side (2025-11-25 tasks)
    "tasks/list": ("tasks", "list"),
    "tasks/cancel": ("tasks", "cancel"),
    "tasks/get": ("tasks",),
    "tasks/result": ("tasks",),
}

PARAMS_DEPENDENT: frozenset[str] = frozenset({"elicitation/create", "sampling/createMessage"})
"""Methods whose capability needs depend on their params (see :func:`missing_capability`)."""


def _has(caps: Mapping[str, Any], path: tuple[str, ...]) -> bool:
    node: Any = caps
    for key in path:
        if not isinstance(node, Mapping) or key not in node:
            return False
        node = node[key]
    # A leaf flag such as resources.subscribe must be true; an object means "present".
    return node is not False and node is not None


def missing_capability(
    method: str,
    params: Mapping[str, Any] | None,
    capabilities: Mapping[str, Any] | None,
    version: str | None,
) -> str | None:
    """Return the dotted capability that serving ``method`` needs and ``capabilities`` lacks.

    Returns ``None`` when nothing is missing (or the method needs no capability).

    Args:
        method: the request's method.
        params: the request's params (some needs depend on them: elicitation in URL mode needs
            ``elicitation.url``; sampling with ``tools`` needs ``sampling.tools``).
        capabilities: the serving side's advertised capabilities.
        version: the negotiated revision, or ``None`` before negotiation.
    """
    path = REQUIRED_CAPABILITY.get(method)
    if path is None:
        return None
    if method == "completion/complete" and version is not None and version < "2025-03-26":
        # 2024-11-05 had completion/complete but no `completions` capability.
        return None
    caps = capabilities or {}
    if not _has(caps, path):
        return ".".join(path)
    if params:
        # An elicitation capability without `url` (e.g. `{}`) means form mode only.
        if (method == "elicitation/create" and params.get("mode") == "url"
                and not _has(caps, ("elicitation", "url"))):
            return "elicitation.url"
        if (method == "sampling/createMessage" and params.get("tools")
                and not _has(caps, ("sampling", "tools"))):
            return "sampling.tools"
    return None
