"""Limits: frame size and nesting depth (issue 2, item 7)."""

from __future__ import annotations

import pytest

from sansio import (
    DEFAULT_MAX_DEPTH,
    DEFAULT_MAX_FRAME_SIZE,
    NEED_DATA,
    Connection,
    ErrorCode,
    RemoteProtocolError,
    RequestReceived,
    Role,
    State,
)
from tests.helpers import frame, hint_of


def test_safe_defaults() -> None:
    assert 1024 * 1024 <= DEFAULT_MAX_FRAME_SIZE <= 64 * 1024 * 1024
    assert 32 <= DEFAULT_MAX_DEPTH <= 512


@pytest.mark.parametrize("role", [Role.CLIENT, Role.SERVER])
def test_unterminated_line_over_the_limit_is_fatal(role: Role) -> None:
    conn = Connection(role, max_frame_size=1000)
    conn.receive_data(b"x" * 999)
    assert conn.next_event() is NEED_DATA
    conn.receive_data(b"xx")
    with pytest.raises(RemoteProtocolError) as info:
        conn.next_event()
    assert info.value.fatal and conn.state is State.ERROR
    assert "max_frame_size" in str(info.value)


def test_complete_line_over_the_limit_is_fatal() -> None:
    conn = Connection(Role.SERVER, max_frame_size=100)
    conn.receive_data(frame({"jsonrpc": "2.0", "id": 1, "method": "ping",
                             "params": {"pad": "x" * 200}}))
    with pytest.raises(RemoteProtocolError) as info:
        conn.next_event()
    assert info.value.fatal


def test_frame_at_the_limit_is_fine() -> None:
    body = b'{"jsonrpc":"2.0","id":1,"method":"ping","params":{"pad":"%s"}}' % (b"x" * 40)
    conn = Connection(Role.SERVER, max_frame_size=len(body))
    conn.receive_data(body + b"\n")
    assert isinstance(conn.next_event(), RequestReceived)


def test_oversized_message_is_recoverable() -> None:
    conn = Connection(Role.SERVER, max_frame_size=100)
    conn.receive_message(b'{"jsonrpc":"2.0","id":1,"method":"ping","params":{"p":"' + b"x" * 200
                         + b'"}}')
    with pytest.raises(RemoteProtocolError) as info:
        conn.next_event()
    assert not info.value.fatal and hint_of(info.value)["error"]["code"] == -32600
    conn.receive_message(b'{"jsonrpc":"2.0","id":2,"method":"ping"}')
    assert conn.next_event() == RequestReceived(2, "ping")


@pytest.mark.parametrize("depth", [DEFAULT_MAX_DEPTH + 1, 5000, 200_000])
@pytest.mark.parametrize("role", [Role.CLIENT, Role.SERVER])
def test_too_deep_is_refused_not_a_crash(role: Role, depth: int) -> None:
    conn = Connection(role)
    inner = b"[" * depth + b"]" * depth
    conn.receive_data(b'{"jsonrpc":"2.0","id":1,"method":"ping","params":{"a":' + inner
                      + b"}}\n")
    with pytest.raises(RemoteProtocolError) as info:
        conn.next_event()
    assert info.value.code in (ErrorCode.INVALID_REQUEST, ErrorCode.PARSE_ERROR)
    assert not info.value.fatal
    assert conn.next_event() is NEED_DATA


def test_depth_at_the_limit_is_fine() -> None:
    conn = Connection(Role.SERVER, max_depth=10)
    # the message object is depth 1, params 2, then 8 nested arrays
    conn.receive_data(b'{"jsonrpc":"2.0","id":1,"method":"ping","params":{"a":'
                      + b"[" * 8 + b"]" * 8 + b"}}\n")
    assert isinstance(conn.next_event(), RequestReceived)
    conn.receive_data(b'{"jsonrpc":"2.0","id":2,"method":"ping","params":{"a":'
                      + b"[" * 9 + b"]" * 9 + b"}}\n")
    with pytest.raises(RemoteProtocolError):
        conn.next_event()


def test_many_brackets_in_strings_do_not_trip_the_depth_check() -> None:
    conn = Connection(Role.SERVER, max_depth=8)
    conn.receive_data(frame({"jsonrpc": "2.0", "id": 1, "method": "ping",
                             "params": {"s": "[[[[[[[[[[{{{{{{{{{{"}}))
    assert isinstance(conn.next_event(), RequestReceived)


def test_decoded_message_depth_is_checked() -> None:
    conn = Connection(Role.SERVER, max_depth=6)
    nested: object = []
    for _ in range(10):
        nested = [nested]
    conn.receive_message({"jsonrpc": "2.0", "id": 1, "method": "ping", "params": {"a": nested}})
    with pytest.raises(RemoteProtocolError):
        conn.next_event()


@pytest.mark.parametrize("kwargs", [{"max_frame_size": 1}, {"max_depth": 1},
                                    {"supported_versions": ["1999-01-01"]},
                                    {"supported_versions": []}])
def test_bad_constructor_arguments(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        Connection(Role.CLIENT, **kwargs)  # type: ignore[arg-type]
