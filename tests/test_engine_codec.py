"""The engine's JSON codec is chosen per connection (Connection(codec=)), like the HTTP
objects': every frame it reads and writes goes through that codec."""

from __future__ import annotations

from typing import Any

import pytest

from sansio import Connection, RemoteProtocolError, Role, _codec
from sansio.errors import ErrorCode


class Counting:
    """A codec that is the stdlib one, counting its calls."""

    def __init__(self) -> None:
        self.loads = 0
        self.dumps = 0
        self.codec = _codec.Codec("counting", self._loads, self._dumps)

    def _loads(self, data: bytes | bytearray | memoryview | str) -> Any:
        self.loads += 1
        return _codec.STDLIB.loads(data)

    def _dumps(self, obj: Any) -> bytes:
        self.dumps += 1
        return _codec.STDLIB.dumps(obj)


def test_the_default_is_the_process_default() -> None:
    assert Connection(Role.CLIENT).codec is _codec.DEFAULT
    assert Connection(Role.SERVER, codec=_codec.STDLIB).codec is _codec.STDLIB


def test_every_frame_goes_through_the_connections_codec() -> None:
    ours, theirs = Counting(), Counting()
    client = Connection(Role.CLIENT, codec=ours.codec)
    server = Connection(Role.SERVER, codec=theirs.codec)
    client.send_initialize({"name": "c", "version": "1"}, {})
    assert ours.dumps == 1 and theirs.dumps == 0
    data = client.data_to_send()
    assert data.endswith(b"\n") and b"\n" not in data[:-1]
    server.receive_data(data)
    event = server.next_event()
    assert theirs.loads == 1 and ours.loads == 0
    server.send_initialize_result(event.request_id, {"name": "s", "version": "1"})
    assert theirs.dumps == 1
    client.receive_data(server.data_to_send())
    client.next_event()
    assert ours.loads == 1


def test_an_error_answer_is_written_by_the_connections_codec() -> None:
    counting = Counting()
    server = Connection(Role.SERVER, codec=counting.codec)
    server.receive_data(b"{not json}\n")
    with pytest.raises(RemoteProtocolError) as info:
        server.next_event()
    assert info.value.code == ErrorCode.PARSE_ERROR
    assert counting.dumps == 1 and info.value.response_hint is not None
    assert _codec.STDLIB.loads(info.value.response_hint)["error"]["code"] == -32700


def test_both_codecs_write_the_same_frames() -> None:
    written = set()
    for codec in (_codec.STDLIB, _codec.DEFAULT):
        client = Connection(Role.CLIENT, codec=codec)
        client.send_initialize({"name": "c", "version": "1"}, {"roots": {}})
        written.add(client.data_to_send())
    assert len(written) == 1
