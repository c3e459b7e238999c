"""Content: text, images, audio, resources, tool use and their annotations.

Spec: https://modelcontextprotocol.io/specification/2025-11-25/server/tools#tool-result
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal, TypeAlias

import attrs

from ._base import V2025_06_18, V2025_11_25, MCPType, Meta, Role, extra_last

__all__ = [
    "Annotations",
    "AudioContent",
    "BaseMetadata",
    "BlobResourceContents",
    "ContentBlock",
    "EmbeddedResource",
    "Icon",
    "Icons",
    "ImageContent",
    "ResourceContents",
    "ResourceContentsUnion",
    "ResourceLink",
    "SamplingContent",
    "SamplingMessageContentBlock",
    "TextContent",
    "TextResourceContents",
    "ToolResultContent",
    "ToolUseContent",
]


@attrs.frozen(kw_only=True, field_transformer=extra_last)
class Icon(MCPType):
    """An icon for display in a user interface (2025-11-25).

    Attributes:
        src: a URI (``https:`` or ``data:``) of the image.
        mime_type: the image's MIME type, when the URI does not make it obvious.
        sizes: sizes the image is available in (``"48x48"``, ``"any"``).
        theme: the background the icon is meant for.
    """

    since: ClassVar[str] = "2025-11-25"

    src: str
    mime_type: str | None = None
    sizes: list[str] | None = None
    theme: Literal["light", "dark"] | None = None


@attrs.frozen(kw_only=True, field_transformer=extra_last)
class Icons(MCPType):
    """Mixin of everything that can carry icons (2025-11-25)."""

    since: ClassVar[str] = "2025-11-25"

    icons: list[Icon] | None = None


@attrs.frozen(kw_only=True, field_transformer=extra_last)
class BaseMetadata(MCPType):
    """Mixin of everything with a programmatic name and a display title (2025-06-18)."""

    since: ClassVar[str] = "2025-06-18"

    name: str
    title: str | None = None


@attrs.frozen(kw_only=True, field_transformer=extra_last)
class Annotations(MCPType):
    """Hints to the client about how an object is used or displayed.

    Attributes:
        audience: who the object is meant for.
        priority: importance from 0 (optional) to 1 (required).
        last_modified: ISO 8601 time of the last modification (2025-06-18).
    """

    audience: list[Role] | None = None
    priority: float | None = None
    last_modified: str | None = attrs.field(default=None, metadata=V2025_06_18)


@attrs.frozen(kw_only=True, field_transformer=extra_last)
class TextContent(MCPType):
    """Text given to or produced by a language model."""

    text: str
    annotations: Annotations | None = None
    meta: Meta = attrs.field(default=None, metadata=V2025_06_18)
    type: Literal["text"] = "text"


@attrs.frozen(kw_only=True, field_transformer=extra_last)
class ImageContent(MCPType):
    """A base64-encoded image.

    Attributes:
        data: the image bytes, base64-encoded.
        mime_type: the image's MIME type (``image/png``).
    """

    data: str
    mime_type: str
    annotations: Annotations | None = None
    meta: Meta = attrs.field(default=None, metadata=V2025_06_18)
    type: Literal["image"] = "image"


@attrs.frozen(kw_only=True, field_transformer=extra_last)
class AudioContent(MCPType):
    """Base64-encoded audio (2025-03-26).

    Attributes:
        data: the audio bytes, base64-encoded.
        mime_type: the audio's MIME type (``audio/wav``).
    """

    since: ClassVar[str] = "2025-03-26"

    data: str
    mime_type: str
    annotations: Annotations | None = None
    meta: Meta = attrs.field(default=None, metadata=V2025_06_18)
    type: Literal["audio"] = "audio"


@attrs.frozen(kw_only=True, field_transformer=extra_last)
class ResourceContents(MCPType):
    """What :class:`TextResourceContents` and :class:`BlobResourceContents` have in common."""

    uri: str
    mime_type: str | None = None
    meta: Meta = attrs.field(default=None, metadata=V2025_06_18)


@attrs.frozen(kw_only=True, field_transformer=extra_last)
class TextResourceContents(MCPType):
    """The contents of a resource that can be represented as text."""

    uri: str
    text: str
    mime_type: str | None = None
    meta: Meta = attrs.field(default=None, metadata=V2025_06_18)


@attrs.frozen(kw_only=True, field_transformer=extra_last)
class BlobResourceContents(MCPType):
    """The contents of a binary resource.

    Attributes:
        blob: the bytes, base64-encoded.
    """

    uri: str
    blob: str
    mime_type: str | None = None
    meta: Meta = attrs.field(default=None, metadata=V2025_06_18)


ResourceContentsUnion: TypeAlias = TextResourceContents | BlobResourceContents
"""Resource contents on the wire: text when ``text`` is present, binary when ``blob`` is."""


@attrs.frozen(kw_only=True, field_transformer=extra_last)
class ResourceLink(MCPType):
    """A link to a resource, returned in tool results or prompts (2025-06-18)."""

    since: ClassVar[str] = "2025-06-18"

    uri: str
    name: str
    title: str | None = None
    description: str | None = None
    mime_type: str | None = None
    size: int | None = None
    annotations: Annotations | None = None
    icons: list[Icon] | None = attrs.field(default=None, metadata=V2025_11_25)
    meta: Meta = None
    type: Literal["resource_link"] = "resource_link"


@attrs.frozen(kw_only=True, field_transformer=extra_last)
class EmbeddedResource(MCPType):
    """The contents of a resource, embedded into a prompt or tool result."""

    resource: ResourceContentsUnion
    annotations: Annotations | None = None
    meta: Meta = attrs.field(default=None, metadata=V2025_06_18)
    type: Literal["resource"] = "resource"


ContentBlock: TypeAlias = (
    TextContent | ImageContent | AudioContent | ResourceLink | EmbeddedResource
)
"""Content of prompts and tool results, told apart by ``type``."""


@attrs.frozen(kw_only=True, field_transformer=extra_last)
class ToolUseContent(MCPType):
    """A model's request to call a tool, in sampling (2025-11-25).

    Attributes:
        id: identifies this tool use; the matching :class:`ToolResultContent` names it.
        name: the tool's name.
        input: the tool's arguments (opaque JSON object).
    """

    since: ClassVar[str] = "2025-11-25"

    id: str
    name: str
    input: dict[str, Any]
    meta: Meta = None
    type: Literal["tool_use"] = "tool_use"


@attrs.frozen(kw_only=True, field_transformer=extra_last)
class ToolResultContent(MCPType):
    """The result of a tool use, in sampling (2025-11-25)."""

    since: ClassVar[str] = "2025-11-25"

    tool_use_id: str
    content: list[ContentBlock]
    structured_content: Any = None
    is_error: bool | None = None
    meta: Meta = None
    type: Literal["tool_result"] = "tool_result"


SamplingMessageContentBlock: TypeAlias = (
    TextContent | ImageContent | AudioContent | ToolUseContent | ToolResultContent
)
"""Content of sampling messages, told apart by ``type``."""

SamplingContent: TypeAlias = SamplingMessageContentBlock | list[SamplingMessageContentBlock]
"""One sampling content block, or (2025-11-25) a list of them."""
