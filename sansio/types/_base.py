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
  (:data:`V2025_06_18` and friends);
  :func:`sansio.types.unstructure` drops it for peers of older revisions. The class itself
  carries the revision it appeared in as the class variable ``since``.
* Keys the class does not declare are kept in :attr:`MCPType.extra` and written back on
  unstructure (forward compatibility).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, ClassVar, Literal, TypeAlias

import attrs

__all__ = [
    "SINCE",
    "V2025_03_26",
    "V2025_06_18",
    "V2025_11_25",
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
    "wire_name",
]

SINCE: str = "mcp_since"
"""attrs metadata key: the first protocol revision that has the field."""
WIRE: str = "mcp_wire"
"""attrs metadata key: the field's wire name, when :func:`wire_name` cannot derive it."""

V2025_03_26: Mapping[str, str] = MappingProxyType({SINCE: "2025-03-26"})
"""Field metadata: the field appeared in 2025-03-26."""
V2025_06_18: Mapping[str, str] = MappingProxyType({SINCE: "2025-06-18"})
"""Field metadata: the field appeared in 2025-06-18."""
V2025_11_25: Mapping[str, str] = MappingProxyType({SINCE: "2025-11-25"})
"""Field metadata: the field appeared in 2025-11-25."""

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

    extra: dict[str, Any] | None = attrs.field(default=None)
