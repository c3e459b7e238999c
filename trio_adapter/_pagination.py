"""Opaque cursors for the paginated list methods.

A cursor is the base64url text of a tiny JSON object naming the list it belongs to and the
offset of the next page. Clients must treat it as opaque (the spec says so); the server refuses
a cursor that does not decode, names another list or points past the end.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from typing import TypeVar

__all__ = ["decode_cursor", "encode_cursor", "paginate"]

T = TypeVar("T")


def encode_cursor(offset: int, key: str) -> str:
    """Return the cursor for the page of list ``key`` that starts at ``offset``.

    Raises:
        ValueError: ``offset`` is negative.
    """
    if offset < 0:
        raise ValueError("offset must not be negative")
    raw = json.dumps({"k": key, "o": offset}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def decode_cursor(cursor: str, key: str) -> int:
    """Return the offset a cursor of list ``key`` points to.

    Raises:
        ValueError: the cursor is not one this server made for list ``key``.
    """
    if not isinstance(cursor, str) or not cursor or len(cursor) > 256:
        raise ValueError("invalid cursor")
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        obj = json.loads(raw)
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise ValueError("invalid cursor") from None
    if not isinstance(obj, dict) or obj.get("k") != key:
        raise ValueError("cursor belongs to another list")
    offset = obj.get("o")
    if type(offset) is not int or offset < 0:
        raise ValueError("invalid cursor")
    return offset


def paginate(
    items: Sequence[T], cursor: str | None, page_size: int, key: str
) -> tuple[list[T], str | None]:
    """Return one page of ``items`` and the cursor of the next page (``None`` on the last).

    Raises:
        ValueError: ``cursor`` is invalid or points past the end of ``items``.
    """
    start = 0 if cursor is None else decode_cursor(cursor, key)
    if start > len(items) or (start == len(items) and start > 0):
        raise ValueError("cursor points past the end of the list")
    end = start + page_size
    page = list(items[start:end])
    return page, (encode_cursor(end, key) if end < len(items) else None)
