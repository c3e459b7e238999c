"""Image and audio content for tools and prompts, from bytes or a file.

A tool (or prompt) returns :class:`Image` or :class:`Audio` (alone or in a list with text and
other content blocks) and the server sends ``ImageContent`` / ``AudioContent`` blocks: the
bytes base64-encoded, the MIME type from the file's extension or given explicitly.

>>> Image(data=b"\\x89PNG", mime_type="image/png").to_content().data
'iVBORw=='
>>> Audio(data=b"RIFF", mime_type="audio/wav").to_content().mime_type
'audio/wav'
"""

from __future__ import annotations

import base64
import mimetypes
import os
from typing import ClassVar

from sansio import types as t

__all__ = ["Audio", "Image"]


class _Media:
    """Bytes with a MIME type of one major type (``image`` or ``audio``)."""

    _major: ClassVar[str]

    def __init__(
        self,
        path: str | os.PathLike[str] | None = None,
        *,
        data: bytes | bytearray | memoryview | None = None,
        mime_type: str | None = None,
        annotations: t.Annotations | None = None,
    ) -> None:
        kind = type(self).__name__
        if (path is None) == (data is None):
            raise ValueError(f"{kind}: give either a path or data, not both or neither")
        if path is not None:
            if mime_type is None:
                mime_type = _guess(path, self._major, kind)
            with open(path, "rb") as file:
                data = file.read()
        elif mime_type is None:
            raise ValueError(f"{kind}: data needs a mime_type (e.g. {self._major}/...)")
        assert data is not None
        if "/" not in mime_type:
            raise ValueError(f"{kind}: {mime_type!r} is not a MIME type")
        self.data = bytes(data)
        self.mime_type = mime_type
        self.annotations = annotations

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.mime_type}, {len(self.data)} bytes)"

    def __eq__(self, other: object) -> bool:
        return (type(other) is type(self) and isinstance(other, _Media)
                and (self.data, self.mime_type, self.annotations)
                == (other.data, other.mime_type, other.annotations))

    __hash__ = None  # type: ignore[assignment]

    def _base64(self) -> str:
        return base64.b64encode(self.data).decode("ascii")


class Image(_Media):
    """An image a tool or prompt returns; sent as an ``ImageContent`` block.

    ``Image("chart.png")`` reads the file (synchronously, when the object is made) and takes
    the MIME type from its extension; ``Image(data=..., mime_type="image/png")`` wraps bytes.

    Raises:
        ValueError: both or neither of ``path`` and ``data``; ``data`` without a
            ``mime_type``; a path whose extension is not a known ``image/*`` type (give
            ``mime_type`` then).
        OSError: the file cannot be read.
    """

    _major = "image"

    def to_content(self) -> t.ImageContent:
        """The ``ImageContent`` block (base64 data, ``mimeType``)."""
        return t.ImageContent(data=self._base64(), mime_type=self.mime_type,
                              annotations=self.annotations)


class Audio(_Media):
    """Audio a tool or prompt returns; sent as an ``AudioContent`` block (2025-03-26 on).

    As :class:`Image`: ``Audio("clip.wav")`` or ``Audio(data=..., mime_type="audio/wav")``.

    Raises:
        ValueError, OSError: as for :class:`Image` (with ``audio/*`` types).
    """

    _major = "audio"

    def to_content(self) -> t.AudioContent:
        """The ``AudioContent`` block (base64 data, ``mimeType``)."""
        return t.AudioContent(data=self._base64(), mime_type=self.mime_type,
                              annotations=self.annotations)


def _guess(path: str | os.PathLike[str], major: str, kind: str) -> str:
    guessed, _ = mimetypes.guess_type(os.fspath(path), strict=False)
    if guessed is None or not guessed.startswith(major + "/"):
        found = f"its type is {guessed}" if guessed else "its extension is not a known type"
        raise ValueError(f"{kind}: cannot tell the {major} type of {os.fspath(path)!r} "
                         f"({found}); give mime_type=")
    return guessed
