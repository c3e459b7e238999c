"""The SSE codec (sansio.sse): fed whole, byte by byte and with trailing data."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sansio.sse import SSEDecoder, SSEError, SSEEvent, encode_comment, encode_event


def feed_all(data: bytes, how: str) -> tuple[list[SSEEvent], SSEDecoder]:
    decoder = SSEDecoder()
    events: list[SSEEvent] = []
    if how == "whole":
        events += decoder.feed(data)
    else:
        for i in range(len(data)):
            events += decoder.feed(data[i:i + 1])
    return events, decoder


STREAM = (b": a comment\n"
          b"id: 1/0\nretry: 500\ndata:\n\n"
          b"event: message\nid: 1/1\ndata: {\"a\":1}\n\n"
          b"data: line one\r\ndata: line two\r\n\r\n"
          b"data:no space\rid: 1/3\r\r")


@pytest.mark.parametrize("how", ["whole", "bytewise"])
def test_decoding_a_stream(how: str) -> None:
    events, decoder = feed_all(STREAM, how)
    assert events == [
        SSEEvent("", "message", "1/0", 500),  # an empty data line still dispatches
        SSEEvent('{"a":1}', "message", "1/1", None),
        SSEEvent("line one\nline two", "message", "1/1", None),
        SSEEvent("no space", "message", "1/3", None),
    ]
    assert decoder.last_event_id == "1/3"
    assert decoder.retry == 500


def test_trailing_partial_event_waits() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"data: complete\n\ndata: partial") == [SSEEvent("complete")]
    assert decoder.feed(b"\n\n") == [SSEEvent("partial")]


def test_priming_event_has_empty_data_and_sets_id_and_retry() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(encode_event("", id="7/0", retry=1500)) == [
        SSEEvent("", "message", "7/0", 1500)]
    assert decoder.last_event_id == "7/0" and decoder.retry == 1500
    assert decoder.feed(b"id: 8\n\n") == []  # no data line at all: nothing dispatched
    assert decoder.last_event_id == "8"


def test_bom_comments_and_unknown_fields_are_ignored() -> None:
    decoder = SSEDecoder()
    data = b"\xef\xbb\xbfdata: x\nfoo: bar\n: note\nretry: soon\n\n"
    assert decoder.feed(data) == [SSEEvent("x")]
    assert decoder.retry is None


def test_limits() -> None:
    with pytest.raises(SSEError):
        SSEDecoder(max_line=10).feed(b"data: " + b"x" * 20)
    with pytest.raises(SSEError):
        SSEDecoder(max_event=10).feed(b"data: 123456\ndata: 123456\n")


def test_encoding() -> None:
    assert encode_event('{"a":1}', id="1/1") == b'id: 1/1\ndata: {"a":1}\n\n'
    assert encode_event("a\nb", event="e") == b"event: e\ndata: a\ndata: b\n\n"
    assert encode_event("", id="x/0", retry=10) == b"id: x/0\nretry: 10\ndata:\n\n"
    assert encode_comment("ka") == b": ka\n\n"
    for bad in ({"id": "a\nb"}, {"event": "a\rb"}, {"retry": -1}, {"id": "a\0"}):
        with pytest.raises(ValueError):
            encode_event("x", **bad)  # type: ignore[arg-type]


texts = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40)


@given(st.lists(st.tuples(texts, st.text(alphabet="abc/0123456789", min_size=1, max_size=8)),
                max_size=6), st.integers(min_value=1, max_value=7))
def test_round_trip_in_any_chunking(events: list[tuple[str, str]], chunk: int) -> None:
    wire = b"".join(encode_event(data, id=eid) for data, eid in events)
    decoder = SSEDecoder()
    got: list[SSEEvent] = []
    for i in range(0, len(wire), chunk):
        got += decoder.feed(wire[i:i + chunk])
    expected = [(d.replace("\r\n", "\n").replace("\r", "\n"), e) for d, e in events]
    assert [(g.data, g.id) for g in got] == expected


@given(st.binary(max_size=200))
def test_any_bytes_give_events_or_sse_error(data: bytes) -> None:
    decoder = SSEDecoder(max_line=64, max_event=64)
    try:
        for event in decoder.feed(data):
            assert isinstance(event, SSEEvent)
    except SSEError:
        pass
