"""NDJSON framing: whole, byte by byte, with trailing data."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sansio.framing import FrameTooLarge, LineBuffer, encode_line


def lines_of(buffer: LineBuffer) -> list[bytes]:
    out = []
    while (line := buffer.next_line()) is not None:
        out.append(line)
    return out


STREAM = b'{"a":1}\n\n{"b":2}\r\n   \n{"c":3}\npartial'


def test_whole() -> None:
    buf = LineBuffer(1000)
    buf.feed(STREAM)
    assert lines_of(buf) == [b'{"a":1}', b'{"b":2}\r', b'{"c":3}']
    assert buf.leftover() == b"partial"


def test_byte_by_byte() -> None:
    buf = LineBuffer(1000)
    got = []
    for i in range(len(STREAM)):
        buf.feed(STREAM[i : i + 1])
        got += lines_of(buf)
    assert got == [b'{"a":1}', b'{"b":2}\r', b'{"c":3}']
    assert buf.leftover() == b"partial"
    buf.feed(b"\n")
    assert lines_of(buf) == [b"partial"]


@given(st.lists(st.binary().map(lambda b: b.replace(b"\n", b"")).filter(lambda b: b.strip()),
                max_size=20),
       st.data())
def test_any_chunking_gives_the_same_lines(lines: list[bytes], data: st.DataObject) -> None:
    stream = b"".join(line + b"\n" for line in lines) + b"trailing"
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=10)))
    buf = LineBuffer(10_000)
    got: list[bytes] = []
    prev = 0
    for cut in [*cuts, len(stream)]:
        buf.feed(stream[prev:cut])
        prev = cut
        got += lines_of(buf)
    assert got == lines
    assert buf.leftover() == b"trailing"


def test_limit_without_newline() -> None:
    buf = LineBuffer(10)
    buf.feed(b"x" * 10)
    assert buf.next_line() is None
    buf.feed(b"x")
    with pytest.raises(FrameTooLarge):
        buf.next_line()


def test_limit_with_newline() -> None:
    buf = LineBuffer(10)
    buf.feed(b"x" * 10 + b"\n" + b"y" * 11 + b"\n")
    assert buf.next_line() == b"x" * 10
    with pytest.raises(FrameTooLarge):
        buf.next_line()


def test_encode_line() -> None:
    assert encode_line(b"{}") == b"{}\n"
    with pytest.raises(ValueError):
        encode_line(b"{\n}")


def test_clear() -> None:
    buf = LineBuffer(10)
    buf.feed(b"abc")
    buf.clear()
    assert len(buf) == 0 and buf.next_line() is None
