"""Two sans-IO engines talking MCP, with every frame and event printed.

A client and a server :class:`sansio.Connection` are wired back to back in memory; this script is
the "transport" that moves bytes between them (what an adapter does over stdio or a socket). It
runs the ``initialize`` handshake, lists the server's tools, calls one (with progress), then closes
the client's side and shows the server noticing.

Run it::

    python examples/handshake_demo.py
    python examples/handshake_demo.py --protocol-version 2025-03-26 --byte-by-byte

Nothing here does I/O except ``print``: the engines only turn calls into bytes and bytes into
events.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path

import attrs

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout

from sansio import (
    HANDSHAKE_VERSIONS,
    JSON_BACKEND,
    NEED_DATA,
    Connection,
    Event,
    Initialized,
    InitializeRequested,
    PeerDisconnected,
    ProgressReceived,
    RequestReceived,
    ResponseReceived,
    Role,
    State,
)

ARROWS = {Role.CLIENT: "client ──▶ server", Role.SERVER: "client ◀── server"}

TOOLS = [
    {
        "name": "echo",
        "description": "Return the text it is given.",
        "inputSchema": {
            "type": "object",
            "properties": {"text": {"type": "string"}},
            "required": ["text"],
        },
    }
]


def show_frame(sender: Role, line: bytes, *, width: int) -> None:
    text = line.decode("utf-8")
    if width and len(text) > width:
        text = text[: width - 1] + "…"
    print(f"  {ARROWS[sender]}  {text}")


def describe(event: Event) -> str:
    """``Name(field=value, ...)``, leaving out ``None`` fields and the payloads (``params``,
    ``result``) that the frame above already shows."""
    fields = [
        f"{field.name}={getattr(event, field.name)!r}"
        for field in attrs.fields(type(event))
        if field.name not in ("params", "result") and getattr(event, field.name) is not None
    ]
    return f"{type(event).__name__}({', '.join(fields)})"


def show_event(receiver: Connection, event: Event) -> None:
    print(f"      {receiver.role.value} event: {describe(event)}")


def show_state(conn: Connection, before: str) -> None:
    after = conn.state.name
    if after != before:
        print(f"      {conn.role.value} state: {before} -> {after}")


def pump(sender: Connection, receiver: Connection, *, byte_by_byte: bool,
         width: int) -> list[Event]:
    """Move what ``sender`` queued to ``receiver`` and return ``receiver``'s events."""
    data = sender.data_to_send()
    if not data:
        return []  # nothing queued (and receive_data(b"") would mean end of input)
    for line in data.splitlines():
        show_frame(sender.role, line, width=width)
    before = receiver.state.name
    if byte_by_byte:
        for i in range(len(data)):
            receiver.receive_data(data[i : i + 1])
    else:
        receiver.receive_data(data)
    events: list[Event] = []
    while (event := receiver.next_event()) is not NEED_DATA:
        assert isinstance(event, Event)
        show_event(receiver, event)
        events.append(event)
        if isinstance(event, PeerDisconnected):
            break
    show_state(receiver, before)
    return events


def serve(server: Connection, event: Event) -> None:
    """The server's application logic: answer what the client asked."""
    if isinstance(event, InitializeRequested):
        server.send_initialize_result(
            event.request_id,
            {"name": "demo-server", "version": "0.1.0"},
            {"tools": {"listChanged": False}},
            instructions="Call echo with some text.",
        )
    elif isinstance(event, RequestReceived) and event.method == "tools/list":
        server.send_response(event.request_id, {"tools": TOOLS})
    elif isinstance(event, RequestReceived) and event.method == "tools/call":
        assert event.params is not None
        text = event.params["arguments"]["text"]
        if event.progress_token is not None:
            server.send_notification("notifications/progress", {
                "progressToken": event.progress_token, "progress": 1, "total": 1,
                "message": "echoing"})
        server.send_response(event.request_id, {
            "content": [{"type": "text", "text": text}], "isError": False})
    elif isinstance(event, RequestReceived):
        server.send_error(event.request_id, -32601, f"unknown method {event.method}")


def run(protocol_version: str | None, *, byte_by_byte: bool, width: int) -> int:
    client = Connection(Role.CLIENT)
    server = Connection(Role.SERVER)
    print(f"trio-mcp sans-IO engines, JSON codec: {JSON_BACKEND}")

    def step(title: str) -> None:
        print(f"\n# {title}")

    def client_call(send: Callable[[], object]) -> list[Event]:
        """Queue something on the client, deliver it, let the server answer, deliver that."""
        before = client.state.name
        send()
        show_state(client, before)
        for event in pump(client, server, byte_by_byte=byte_by_byte, width=width):
            serve(server, event)
        return pump(server, client, byte_by_byte=byte_by_byte, width=width)

    # 1. The handshake: initialize -> result -> notifications/initialized.
    step("handshake: initialize")
    (ready,) = client_call(lambda: client.send_initialize(
        {"name": "demo-client", "version": "0.1.0"}, {}, protocol_version=protocol_version))
    assert isinstance(ready, Initialized)
    print(f"      negotiated protocol version {ready.protocol_version}; server "
          f"{ready.peer_info['name']} {ready.peer_info['version']}; "
          f"instructions {ready.instructions!r}")
    step("handshake: notifications/initialized")
    assert client_call(client.send_initialized) == []
    assert client.state is server.state is State.OPERATING

    # 2. List the tools.
    step("tools/list")
    (listed,) = client_call(lambda: client.send_request("tools/list"))
    assert isinstance(listed, ResponseReceived)
    print(f"      tools: {', '.join(tool['name'] for tool in listed.result['tools'])}")

    # 3. Call one, asking for progress.
    step("tools/call")
    progress, called = client_call(lambda: client.send_request(
        "tools/call", {"name": "echo", "arguments": {"text": "hello world"}},
        progress_token="echo-1"))
    assert isinstance(progress, ProgressReceived) and isinstance(called, ResponseReceived)
    print(f"      result content: {json.dumps(called.result['content'])}")

    # 4. The client closes (the engine writes nothing: a real adapter now closes the
    #    transport); the server sees end of input.
    step("close")
    before = client.state.name
    client.close()
    show_event(client, client.next_event())  # type: ignore[arg-type]
    show_state(client, before)
    before = server.state.name
    server.receive_data(b"")
    show_event(server, server.next_event())  # type: ignore[arg-type]
    show_state(server, before)
    print("\ndone: handshake, tools/list and tools/call completed")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--protocol-version", choices=HANDSHAKE_VERSIONS, default=None,
                        help="the revision the client asks for (default: the latest)")
    parser.add_argument("--byte-by-byte", action="store_true",
                        help="deliver every frame one byte at a time")
    parser.add_argument("--width", type=int, default=160,
                        help="cut frames longer than this many characters (0: never)")
    args = parser.parse_args(argv)
    return run(args.protocol_version, byte_by_byte=args.byte_by_byte, width=args.width)


if __name__ == "__main__":
    sys.exit(main())
