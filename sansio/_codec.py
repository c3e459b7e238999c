"""The JSON codec: orjson when importable, the standard library otherwise.

Both paths accept and produce the same values so that the engine behaves the same whichever one
is in use (the test suite runs under both):

* input must be UTF-8; anything else is a decode error;
* ``NaN``, ``Infinity`` and numbers that overflow a double are refused;
* integers outside the 64-bit range ``[-2**63, 2**64 - 1]`` decode as floats (orjson's rule);
* output is compact UTF-8 (no spaces, non-ASCII characters written as themselves).

Set the environment variable ``TRIO_MCP_JSON=stdlib`` before the first import of :mod:`sansio` to
force the standard library path: that is the process default, :data:`DEFAULT` (and the module's
:func:`loads` / :func:`dumps` / :func:`dumps_line`). An object that encodes can be given its own
:class:`Codec` instead (``codec=`` on :class:`sansio.http.StreamableHTTPServer` and
:class:`sansio.http.HTTPServerConnection`): :data:`STDLIB`, :data:`ORJSON` (``None`` without
orjson, or under ``TRIO_MCP_JSON=stdlib``), :func:`codec_named`, or one of the caller's own.
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Callable
from typing import Any

__all__ = ["BACKEND", "DEFAULT", "ORJSON", "STDLIB", "Codec", "DecodeError", "EncodeError",
           "codec_named", "dumps", "dumps_line", "loads"]

_I64_MIN = -(2**63)
_U64_MAX = 2**64 - 1


class DecodeError(ValueError):
    """The bytes are not one valid JSON text in UTF-8."""


class EncodeError(TypeError):
    """The value cannot be written as JSON."""


def _parse_int(text: str) -> int | float:
    value = int(text)
    if _I64_MIN <= value <= _U64_MAX:
        return value
    return float(value)


def _parse_float(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        raise DecodeError(f"number {text[:40]!r} overflows a double")
    return value


def _parse_constant(text: str) -> Any:
    raise DecodeError(f"{text} is not valid JSON")


_std_decoder = json.JSONDecoder(
    parse_int=_parse_int, parse_float=_parse_float, parse_constant=_parse_constant
)
_std_encoder = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False)


_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


def _has_lone_surrogate(value: Any) -> bool:
    stack = [value]
    while stack:
        node = stack.pop()
        if node.__class__ is str:
            try:
                node.encode("utf-8")
            except UnicodeEncodeError:
                return True
        elif node.__class__ is dict:
            stack.extend(node)
            stack.extend(node.values())
        elif node.__class__ is list:
            stack.extend(node)
    return False


def _std_loads(data: bytes | bytearray | memoryview | str) -> Any:
    try:
        text = data if isinstance(data, str) else bytes(data).decode("utf-8")
        value = _std_decoder.decode(text)
        # orjson refuses escapes of lone UTF-16 surrogates ("\ud800"); so do we, or such a
        # string could not be written back out. Only texts with a surrogate escape pay for this.
        if _SURROGATE_ESCAPE.search(text) and _has_lone_surrogate(value):
            raise DecodeError("lone surrogate in a string escape")
        return value
    except DecodeError:
        raise
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise DecodeError(str(exc) or type(exc).__name__) from None


def _std_dumps(obj: Any) -> bytes:
    try:
        return _std_encoder.encode(obj).encode("utf-8")
    except (TypeError, ValueError, UnicodeEncodeError, RecursionError) as exc:
        raise EncodeError(str(exc)) from None


def _std_dumps_line(obj: Any) -> bytes:
    return _std_dumps(obj) + b"\n"


class Codec:
    """A JSON codec: what an object that reads and writes JSON uses.

    Args:
        name: what it is called (``"stdlib"``, ``"orjson"``, or the caller's own name).
        loads: bytes (or text) to a value; raises :class:`DecodeError` on invalid input.
        dumps: a value to compact UTF-8 bytes; raises :class:`EncodeError`.
        dumps_line: like ``dumps`` followed by ``b"\\n"`` (by default, made from ``dumps``).

    A codec holds no state: one may serve any number of objects.
    """

    __slots__ = ("dumps", "dumps_line", "loads", "name")

    def __init__(self, name: str, loads: Callable[[bytes | bytearray | memoryview | str], Any],
                 dumps: Callable[[Any], bytes],
                 dumps_line: Callable[[Any], bytes] | None = None) -> None:
        self.name = name
        self.loads = loads
        self.dumps = dumps
        self.dumps_line = dumps_line if dumps_line is not None else (
            lambda obj: dumps(obj) + b"\n")

    def __repr__(self) -> str:
        return f"Codec({self.name!r})"


STDLIB = Codec("stdlib", _std_loads, _std_dumps, _std_dumps_line)
"""The standard library's :mod:`json`, held to orjson's rules (see the module docstring)."""

ORJSON: Codec | None = None
"""orjson; ``None`` when it is not importable, or when ``TRIO_MCP_JSON=stdlib`` keeps it out of
the process (as it always did)."""

_want = os.environ.get("TRIO_MCP_JSON", "").strip().lower()
try:
    if _want == "stdlib":
        raise ImportError
    import orjson as _orjson
except ImportError:
    pass
else:
    _orjson_loads = _orjson.loads
    _orjson_dumps = _orjson.dumps
    _OrjsonDecodeError = _orjson.JSONDecodeError
    _APPEND_NEWLINE = _orjson.OPT_APPEND_NEWLINE

    def _orjson_dumps_line(obj: Any) -> bytes:
        try:
            return _orjson_dumps(obj, option=_APPEND_NEWLINE)
        except TypeError as exc:
            raise EncodeError(str(exc)) from None

    def _orjson_loads_checked(data: bytes | bytearray | memoryview | str) -> Any:
        try:
            return _orjson_loads(data)
        except _OrjsonDecodeError as exc:
            raise DecodeError(str(exc)) from None

    def _orjson_dumps_checked(obj: Any) -> bytes:
        try:
            return _orjson_dumps(obj)
        except TypeError as exc:  # orjson.JSONEncodeError subclasses TypeError
            raise EncodeError(str(exc)) from None

    ORJSON = Codec("orjson", _orjson_loads_checked, _orjson_dumps_checked, _orjson_dumps_line)


def codec_named(name: str) -> Codec:
    """The codec called ``name`` (``"stdlib"`` or ``"orjson"``).

    Raises:
        ValueError: an unknown name, or ``"orjson"`` when orjson is not importable.
    """
    key = name.strip().lower()
    if key == "stdlib":
        return STDLIB
    if key == "orjson" and ORJSON is not None:
        return ORJSON
    if key == "orjson":
        raise ValueError("the orjson JSON codec is not available (orjson is not installed, "
                         "or TRIO_MCP_JSON=stdlib)")
    raise ValueError(f"unknown JSON codec {name!r} (known: stdlib, orjson)")


DEFAULT: Codec = STDLIB if ORJSON is None else ORJSON
"""The process default: orjson when importable, unless ``TRIO_MCP_JSON=stdlib`` was set before
the first import. The module-level functions are its."""
BACKEND = DEFAULT.name
loads: Callable[[bytes | bytearray | memoryview | str], Any] = DEFAULT.loads
dumps: Callable[[Any], bytes] = DEFAULT.dumps
dumps_line: Callable[[Any], bytes] = DEFAULT.dumps_line
"""Like :func:`dumps`, followed by ``b"\\n"`` (one NDJSON frame)."""
