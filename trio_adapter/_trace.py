"""The trace printer behind the command line's ``--trace``."""

from __future__ import annotations

import sys
import time
from typing import IO, Any

import attrs

from sansio import Event

from ._session import TraceHook

__all__ = ["format_event", "make_trace_printer"]

_ARROWS = {"send": "->", "recv": "<-"}


def format_event(event: Event) -> str:
    """A one-line description of an engine event: its class and its non-empty fields."""
    fields = []
    for field in attrs.fields(type(event)):  # type: ignore[arg-type]
        value = getattr(event, field.name)
        if value in (None, (), {}):
            continue
        text = repr(value)
        if len(text) > 120:
            text = text[:117] + "..."
        fields.append(f"{field.name}={text}")
    return f"{type(event).__name__}({', '.join(fields)})"


def make_trace_printer(
    file: IO[str] | None = None, *, label: str = "", max_frame: int = 2000
) -> TraceHook:
    """Return a trace hook that prints each frame and event with a relative timestamp.

    Lines look like ``0.0012 -> {"jsonrpc":"2.0",...}`` (a frame we sent), ``<-`` (a frame we
    received), ``event Initialized(...)`` and ``state closing: ...``.

    Args:
        file: where to print (default: ``sys.stderr`` at call time).
        label: a prefix naming the side (``"client "``, ``"server "``).
        max_frame: frames longer than this many characters are shortened.
    """
    start = time.perf_counter()

    def hook(direction: str, item: Any) -> None:
        out = file if file is not None else sys.stderr
        stamp = f"{time.perf_counter() - start:8.4f}"
        if direction in _ARROWS:
            text = item.decode("utf-8", "replace") if isinstance(item, bytes) else str(item)
            if len(text) > max_frame:
                text = text[:max_frame] + f"... ({len(text)} chars)"
            line = f"{stamp} {label}{_ARROWS[direction]} {text}"
        elif direction == "event":
            line = f"{stamp} {label}event {format_event(item)}"
        else:
            line = f"{stamp} {label}{direction} {item}"
        print(line, file=out, flush=True)

    return hook
