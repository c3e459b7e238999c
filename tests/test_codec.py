"""The JSON codec behaves the same with orjson and with the standard library."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from sansio import _codec

ROOT = Path(__file__).resolve().parents[1]


def test_backend_follows_environment() -> None:
    expected = "stdlib" if os.environ.get("TRIO_MCP_JSON") == "stdlib" else "orjson"
    assert _codec.BACKEND == expected


@pytest.mark.parametrize("backend", ["orjson", "stdlib"])
def test_forcing_stdlib(backend: str) -> None:
    out = subprocess.run(
        [sys.executable, "-c", "import sansio; print(sansio.JSON_BACKEND)"],
        env={**os.environ, "TRIO_MCP_JSON": backend}, capture_output=True, text=True,
        check=True, cwd=ROOT)
    assert out.stdout.strip() == backend


@pytest.mark.parametrize("bad", [
    b"NaN", b"Infinity", b"-Infinity", b"1e400", b"{", b"\xff\xfe", b'"\xc3"', b"[1,]",
    b"{'a': 1}", b"", b'"\\ud800"', b'{"\\udc00": 1}', b'["x\\uDBFFy"]',
])
def test_refused(bad: bytes) -> None:
    with pytest.raises(_codec.DecodeError):
        _codec.loads(bad)


def test_big_integers_become_floats_on_both_paths() -> None:
    assert _codec.loads(b"18446744073709551615") == 2**64 - 1
    assert _codec.loads(b"-9223372036854775808") == -(2**63)
    big = _codec.loads(b"123456789012345678901234567890")
    assert isinstance(big, float)


def test_compact_utf8_output() -> None:
    assert _codec.dumps({"a": [1, "é"]}) == '{"a":[1,"é"]}'.encode()


def test_unencodable() -> None:
    with pytest.raises(_codec.EncodeError):
        _codec.dumps({"a": object()})


def test_deep_nesting_is_a_decode_error_not_a_crash() -> None:
    with pytest.raises(_codec.DecodeError):
        _codec.loads(b"[" * 100_000 + b"]" * 100_000)


def test_surrogate_pairs_are_fine() -> None:
    assert _codec.loads(b'"\\ud83d\\ude00"') == "\U0001f600"
    assert _codec.loads('"\U0001f600"'.encode()) == "\U0001f600"
