"""StreamableHTTPTransport holds at most INBOX_SIZE received messages for the session's reader:
a stream reader waits when the inbox is full (backpressure), and a local error answer that
finds it full fails the transport with a clear error instead of growing it."""

from __future__ import annotations

import pytest
import trio
import trio.testing

from trio_adapter._http_client import INBOX_SIZE
from trio_adapter.http import StreamableHTTPTransport


async def test_a_full_inbox_makes_the_stream_reader_wait_and_loses_nothing() -> None:
    transport = StreamableHTTPTransport("http://127.0.0.1:9/mcp")
    messages = [b'{"jsonrpc":"2.0","method":"notifications/message","params":{"n":%d}}' % i
                for i in range(INBOX_SIZE + 44)]
    delivered = trio.Event()

    async def reader() -> None:
        await transport._deliver(messages)
        delivered.set()

    async with trio.open_nursery() as nursery:
        nursery.start_soon(reader)
        await trio.testing.wait_all_tasks_blocked()
        assert not delivered.is_set()  # waiting: the inbox holds exactly its bound
        assert transport._in_send.statistics().current_buffer_used == INBOX_SIZE
        got = [await transport.receive() for _ in messages]
    assert delivered.is_set()
    assert got == [m + b"\n" for m in messages]


async def test_a_local_error_that_finds_the_inbox_full_fails_the_transport() -> None:
    transport = StreamableHTTPTransport("http://127.0.0.1:9/mcp")
    for _ in range(INBOX_SIZE):
        transport._in_send.send_nowait(b"{}\n")
    transport._deliver_error(b'{"jsonrpc":"2.0","id":1,"error":{"code":-32000,"message":"x"}}')
    for _ in range(INBOX_SIZE):
        assert await transport.receive() == b"{}\n"
    with pytest.raises(trio.BrokenResourceError, match=f"more than {INBOX_SIZE} messages"):
        await transport.receive()
