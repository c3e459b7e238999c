"""The same Server work over Streamable HTTP (serve_http serves each 2026-07-28 request in a
session of its own): a listen stream gets the feature set's changes, and stopping the server
ends the stream with the listen's result instead of waiting for it."""

from __future__ import annotations

import json
from typing import Any

import h11
import trio

from sansio.sse import SSEDecoder
from trio_adapter import Server
from trio_adapter.http import HTTPServerInfo, serve_http

V = "2026-07-28"
META = {"io.modelcontextprotocol/protocolVersion": V,
        "io.modelcontextprotocol/clientCapabilities": {}}


class Stream:
    """One POST over a fresh connection; its SSE events read as they arrive."""

    def __init__(self, stream: trio.SocketStream) -> None:
        self.stream = stream
        self.h11 = h11.Connection(h11.CLIENT)
        self.sse = SSEDecoder()
        self.messages: list[Any] = []
        self.status: int | None = None
        self.json = False
        self.body = bytearray()
        self.ended = False

    @classmethod
    async def post(cls, port: int, rid: Any, method: str, params: dict[str, Any]) -> Stream:
        self = cls(await trio.open_tcp_stream("127.0.0.1", port))
        data = json.dumps({"jsonrpc": "2.0", "id": rid, "method": method,
                           "params": {**params, "_meta": META}}).encode()
        headers = [("host", f"127.0.0.1:{port}"), ("content-type", "application/json"),
                   ("accept", "application/json, text/event-stream"),
                   ("content-length", str(len(data))), ("mcp-protocol-version", V),
                   ("mcp-method", method)]
        if method == "tools/call":
            headers.append(("mcp-name", params["name"]))
        await self.stream.send_all(
            (self.h11.send(h11.Request(method="POST", target="/mcp", headers=headers)) or b"")
            + (self.h11.send(h11.Data(data=data)) or b"")
            + (self.h11.send(h11.EndOfMessage()) or b""))
        return self

    async def next_message(self) -> Any:
        while not self.messages:
            if self.ended:
                return None
            event = self.h11.next_event()
            if event is h11.NEED_DATA:
                self.h11.receive_data(await self.stream.receive_some(65536))
            elif isinstance(event, h11.Response):
                self.status = event.status_code
                self.json = dict(event.headers).get(b"content-type") == b"application/json"
            elif isinstance(event, h11.Data):
                if self.json:  # one JSON body: the answer, whole at once
                    self.body += event.data
                elif self.status == 200:
                    self.messages.extend(json.loads(e.data) for e in
                                         self.sse.feed(bytes(event.data)) if e.data)
            elif isinstance(event, (h11.EndOfMessage, h11.ConnectionClosed)):
                if self.json and self.body:
                    self.messages.append(json.loads(self.body))
                self.ended = True
        return self.messages.pop(0)


async def test_listen_over_http_gets_changes_and_ends_when_the_server_stops() -> None:
    server = Server("modern-http", "1", handler_grace=30)

    @server.tool(structured_output=False)
    async def change() -> str:
        server.add_tool(lambda: "x", "extra", blocking=False)
        return "changed"

    stop = trio.Event()
    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:
            info: HTTPServerInfo = await nursery.start(lambda task_status: serve_http(
                server, "127.0.0.1", 0, stop=stop, task_status=task_status))
            listen = await Stream.post(info.port, 7, "subscriptions/listen",
                                       {"notifications": {"toolsListChanged": True}})
            ack = await listen.next_message()
            assert ack["method"] == "notifications/subscriptions/acknowledged"
            call = await Stream.post(info.port, 8, "tools/call", {"name": "change",
                                                                  "arguments": {}})
            answer = await call.next_message()
            while "id" not in answer:
                answer = await call.next_message()
            assert answer["result"]["content"][0]["text"] == "changed"
            note = await listen.next_message()
            assert note["method"] == "notifications/tools/list_changed"
            assert note["params"]["_meta"]["io.modelcontextprotocol/subscriptionId"] == 7
            start = trio.current_time()
            stop.set()
            end = await listen.next_message()
    assert trio.current_time() - start < 5  # not the 30 s of handler_grace
    assert end["id"] == 7 and end["result"]["resultType"] == "complete"
