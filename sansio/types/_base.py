"""The common ground of every MCP type: the base class, field helpers, shared aliases.

Conventions every class in :mod:`sansio.types` follows:

* ``@attrs.frozen(kw_only=True, field_transformer=extra_last)``: immutable, slotted,
  keyword-only, compared by value.
* Attributes are snake_case; the wire name is derived from the attribute name by
  :func:`wire_name` (``input_schema`` -> ``inputSchema``, ``meta`` -> ``_meta``), or given
  explicitly with the ``wire`` metadata key (``$schema``).
* Optional wire fields default to ``None`` and are omitted from the wire when ``None``.
  Fields with any other default (the ``type`` tags of content blocks, for instance) are always
  written.
* A field that appeared after its class did carries ``metadata={SINCE: "<revision>"}``
  (:data:`V2025_06_18` and friends); a field a later revision removed carries
  ``metadata={UNTIL: "<last revision that has it>"}`` (:data:`UNTIL_2025_11_25`, or
  :func:`revisions` for both). :func:`sansio.types.unstructure` drops a field for peers of
  revisions outside that range. The class itself carries the revision it appeared in as the
  class variable ``since``, and the last one that has it as ``until`` (``None`` while it exists).
* A field the schema of a newer revision requires, but older revisions do not have, may carry
  ``metadata={DEFAULT: value}``: unstructuring for a revision that has the field writes
  ``value`` when the attribute is ``None`` (``resultType`` is ``"complete"`` unless said).
* Keys the class does not declare are kept in :attr:`MCPType.extra` and written back on
  unstructure (forward compatibility).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, ClassVar, Literal, TypeAlias

import attrs

__all__ = [
    "DEFAULT",
    "SINCE",
    "UNTIL",
    "UNTIL_2025_11_25",
    "V2025_03_26",
    "V2025_06_18",
    "V2025_11_25",
    "V2026_07_28",
    "WIRE",
    "Cursor",
    "LoggingLevel",
    "MCPType",
    "Meta",
    "ProgressToken",
    "RequestId",
    "Role",
    "TaskStatus",
    "extra_last",
    "revisions",
    "wire_name",
]

SINCE: str = "mcp_since"
"""attrs metadata key: the first protocol revision that has the field."""
UNTIL: str = "mcp_until"
"""attrs metadata key: the last protocol revision that has the field (it was removed after)."""
DEFAULT: str = "mcp_default"
"""attrs metadata key: the value written for an absent field to peers whose revision has it."""
WIRE: str = "mcp_wire"
"""attrs metadata key: the field's wire name, when :func:`wire_name` cannot derive it."""

V2025_03_26: Mapping[str, str] = MappingProxyType({SINCE: "2025-03-26"})
"""Field metadata: the field appeared in 2025-03-26."""
V2025_06_18: Mapping[str, str] = MappingProxyType({SINCE: "2025-06-18"})
"""Field metadata: the field appeared in 2025-06-18."""
V2025_11_25: Mapping[str, str] = MappingProxyType({SINCE: "2025-11-25"})
"""Field metadata: the field appeared in 2025-11-25."""
V2026_07_28: Mapping[str, str] = MappingProxyType({SINCE: "2026-07-28"})
"""Field metadata: the field appeared in 2026-07-28 (the stateless revision)."""
UNTIL_2025_11_25: Mapping[str, str] = MappingProxyType({UNTIL: "2025-11-25"})
"""Field metadata: the field was removed in 2026-07-28 (2025-11-25 is the last that has it)."""


def revisions(
    since: str | None = None, until: str | None = None, default: Any = None
) -> Mapping[str, Any]:
    """Field metadata for a field that appeared in ``since`` and/or was last in ``until``.

    ``default`` (when not ``None``) is written for an absent field to peers of the revisions
    that have it (:data:`DEFAULT`).
    """
    out: dict[str, Any] = {}
    if since is not None:
        out[SINCE] = since
    if until is not None:
        out[UNTIL] = until
    if default is not None:
        out[DEFAULT] = default
    return MappingProxyType(out)


RequestId: TypeAlias = int | str
"""A JSON-RPC request id: an integer or a string, never a bool or a float."""
ProgressToken: TypeAlias = int | str
"""A progress token: an integer or a string, never a bool or a float."""
Cursor: TypeAlias = str
"""An opaque pagination cursor."""
Meta: TypeAlias = dict[str, Any] | None
"""The ``_meta`` object: opaque, passed through untouched."""
Role: TypeAlias = Literal["user", "assistant"]
"""The sender or recipient of a message."""
LoggingLevel: TypeAlias = Literal[
    "debug", "info", "notice", "warning", "error", "critical", "alert", "emergency"
]
"""Syslog severities (RFC 5424), lowest first."""
TaskStatus: TypeAlias = Literal["working", "input_required", "completed", "failed", "cancelled"]
"""The status of a task (2025-11-25)."""


def wire_name(attribute: attrs.Attribute[Any]) -> str:
    """The JSON key of an attrs attribute of an MCP type.

    ``meta`` is ``_meta``; other names are converted from snake_case to camelCase unless the
    attribute's metadata names the key explicitly (:data:`WIRE`).
    """
    explicit: str | None = attribute.metadata.get(WIRE)
    if explicit is not None:
        return explicit
    name = attribute.name
    if name == "meta":
        return "_meta"
    head, *rest = name.rstrip("_").split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def extra_last(cls: type, fields: list[attrs.Attribute[Any]]) -> list[attrs.Attribute[Any]]:
    """attrs ``field_transformer``: put ``meta`` and ``extra`` after the declared fields.

    Only the order of ``repr`` and ``attrs.fields`` changes; every field is keyword-only.
    """
    head = [f for f in fields if f.name not in ("meta", "extra")]
    tail = sorted((f for f in fields if f.name in ("meta", "extra")), key=lambda f: f.name)
    return head + tail


@attrs.frozen(kw_only=True)
class MCPType:
    """Base class of every MCP structure in :mod:`sansio.types`.

    Attributes:
        extra: keys a peer sent that this class does not declare (fields of newer protocol
            revisions, extensions). They are written back unchanged by
            :func:`sansio.types.unstructure`; ``None`` when there were none. A declared field
            wins over an ``extra`` key of the same wire name.
    """

    since: ClassVar[str] = "2024-11-05"
    """The first protocol revision that has this structure."""
    until: ClassVar[str | None] = None
    """The last protocol revision that has this structure; ``None`` while it still exists."""

    extra: dict[str, Any] | None = attrs.field(default=None)
