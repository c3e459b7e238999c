"""A blocking stdio MCP server built directly on the sans-IO engine: no trio, no asyncio.

It shows the whole embedding contract in a plain loop: read stdin in chunks, feed
``receive_data``, take events from ``next_event`` until ``NEED_DATA``, and write
``data_to_send()`` to stdout after every engine call that can queue frames. The tool ``ask_llm``
shows a server -> client request (``sampling/createMessage``) made while a request is being
served: the handler keeps dispatching events until the client's answer arrives.

Run it under any MCP client that speaks stdio, for example::

    python examples/engine_stdio_server.py [--trace FRAMES.ndjson]

``--trace`` appends a copy of every frame the server writes to a file (the interop tests use it
to check each frame against the MCP schema). ``--dual-era`` also serves the stateless revision
2026-07-28: it answers ``server/discover``, and a client's first request decides the era.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any, BinaryIO

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout

from sansio import (
    HANDSHAKE_VERSIONS,
    NEED_DATA,
    Closed,
    Connection,
    ErrorCode,
    ErrorObject,
    ErrorReceived,
    Event,
    InitializeRequested,
    LocalProtocolError,
    PeerDisconnected,
    RemoteProtocolError,
    RequestId,
    RequestReceived,
    ResponseReceived,
    Role,
)

SERVER_INFO = {"name": "engine-stdio-server", "version": "0.1.0"}
CAPABILITIES: dict[str, Any] = {"tools": {}, "resources": {}, "prompts": {}, "logging": {}}
TEXT = {"type": "string"}
TOOLS = [
    {"name": "echo", "description": "Return the text unchanged.",
     "inputSchema": {"type": "object", "properties": {"text": TEXT}, "required": ["text"]}},
    {"name": "add", "description": "Add two numbers.",
     "inputSchema": {"type": "object", "required": ["a", "b"],
                     "properties": {"a": {"type": "number"}, "b": {"type": "number"}}}},
    {"name": "ask_llm", "description": "Ask the client's model a question (sampling).",
     "inputSchema": {"type": "object", "properties": {"question": TEXT},
                     "required": ["question"]}},
]
GREETING = {"uri": "demo://greeting", "name": "greeting", "mimeType": "text/plain"}
GREET_PROMPT = {"name": "greet", "description": "Greet someone by name.",
                "arguments": [{"name": "name", "description": "who", "required": True}]}


class PeerGone(Exception):
    """The client went away (end of input) while we were waiting for it."""


def text_result(text: str, *, is_error: bool = False) -> dict[str, Any]:
    """A ``tools/call`` result holding one text block."""
    return {"content": [{"type": "text", "text": text}], "isError": is_error}


class StdioServer:
    """One MCP session over a pair of blocking file descriptors."""

    def __init__(self, stdin_fd: int, stdout: BinaryIO, trace: BinaryIO | None = None,
                 dual_era: bool = False) -> None:
        # By default a handshake-era server (a default Connection is dual-era, and a dual-era
        # server must answer server/discover, which only the dual-era mode does).
        self.conn = Connection(Role.SERVER, server_info=SERVER_INFO,
                               server_capabilities=CAPABILITIES) if dual_era else \
            Connection(Role.SERVER, supported_versions=HANDSHAKE_VERSIONS)
        self.stdin_fd, self.stdout, self.trace = stdin_fd, stdout, trace
        self.answers: dict[RequestId, ResponseReceived | ErrorReceived] = {}  # to our requests

    def write(self, data: bytes) -> None:
        """Write frames to stdout (and the trace file) right away."""
        if data:
            self.stdout.write(data)
            self.stdout.flush()
            if self.trace is not None:
                self.trace.write(data)
                self.trace.flush()

    def flush(self) -> None:
        """Write whatever the engine queued."""
        self.write(self.conn.data_to_send())

    def next_event(self) -> Event:
        """The next event, reading stdin (blocking) whenever the engine needs more bytes."""
        while True:
            try:
                event = self.conn.next_event()
            except RemoteProtocolError as exc:
                if exc.response_hint is not None:
                    self.write(exc.response_hint)  # the error response the protocol requires
                if exc.fatal:
                    raise
                if exc.finished_request is not None:  # a malformed answer to our request
                    return ErrorReceived(exc.finished_request, "", ErrorObject(exc.code, str(exc)))
                continue
            if event is not NEED_DATA:
                return event
            self.conn.receive_data(os.read(self.stdin_fd, 65536))  # b"" at end of input

    def serve(self) -> None:
        """Answer requests until the client closes stdin."""
        try:
            while not isinstance(event := self.next_event(), (PeerDisconnected, Closed)):
                self.handle(event)
        except PeerGone:
            pass

    def ask_client(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        """Send a request to the client and serve other events until its answer arrives.

        Answers are kept by request id, so nested waits (a request served while waiting, which
        itself asks the client something) each find their own answer.
        """
        request_id = self.conn.send_request(method, params)
        self.flush()
        while request_id not in self.answers:
            event = self.next_event()
            if isinstance(event, (PeerDisconnected, Closed)):
                raise PeerGone
            self.handle(event)
        answer = self.answers.pop(request_id)
        if isinstance(answer, ErrorReceived):
            raise RuntimeError(answer.error.message)
        return answer.result

    def handle(self, event: Event) -> None:
        """Dispatch one event, then write what the engine queued."""
        conn = self.conn
        if isinstance(event, InitializeRequested):
            conn.send_initialize_result(event.request_id, SERVER_INFO, CAPABILITIES,
                                        instructions="A demo server on the sans-IO engine.")
        elif isinstance(event, RequestReceived) and event.method == "server/discover":
            conn.send_discover_result(event.request_id,
                                      instructions="A demo server on the sans-IO engine.")
        elif isinstance(event, RequestReceived):
            params = event.params or {}
            try:
                result = self.answer(event.method, params)
            except LookupError as exc:
                conn.send_error(event.request_id, ErrorCode.METHOD_NOT_FOUND, str(exc))
            except ValueError as exc:
                code = ErrorCode.RESOURCE_NOT_FOUND if event.method == "resources/read" \
                    else ErrorCode.INVALID_PARAMS
                conn.send_error(event.request_id, code, str(exc), params)
            else:
                conn.send_response(event.request_id, result)
        elif isinstance(event, (ResponseReceived, ErrorReceived)) and event.request_id is not None:
            self.answers[event.request_id] = event
        # Initialized, notifications, RequestCancelled: nothing to do (send_response for a
        # cancelled request is a no-op anyway).
        self.flush()

    def answer(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        """The result of one request; ``LookupError``: no such method, ``ValueError``: bad
        params."""
        if method == "ping":
            return {}
        if method == "tools/list":
            return {"tools": TOOLS}
        if method == "tools/call":
            return self.call_tool(params.get("name"), params.get("arguments") or {})
        if method == "resources/list":
            return {"resources": [GREETING]}
        if method == "resources/read":
            if params.get("uri") != GREETING["uri"]:
                raise ValueError(f"no resource {params.get('uri')!r}")
            return {"contents": [{"uri": GREETING["uri"], "mimeType": "text/plain",
                                  "text": "Hello from the sans-IO engine!"}]}
        if method == "prompts/list":
            return {"prompts": [GREET_PROMPT]}
        if method == "prompts/get":
            name = (params.get("arguments") or {}).get("name")
            if params.get("name") != "greet" or not isinstance(name, str):
                raise ValueError("prompts/get: prompt 'greet' needs the argument 'name'")
            return {"description": "A greeting", "messages": [
                {"role": "user", "content": {"type": "text", "text": f"Please greet {name}."}}]}
        if method == "logging/setLevel":
            level = params["level"]
            self.conn.send_notification("notifications/message", {
                "level": level, "logger": "engine-stdio-server", "data": f"level set to {level}"})
            return {}
        raise LookupError(f"method not found: {method}")

    def call_tool(self, name: Any, args: dict[str, Any]) -> dict[str, Any]:
        """Run a tool; failures are tool results with ``isError`` (as the spec asks)."""
        if name == "echo" and isinstance(args.get("text"), str):
            return text_result(args["text"])
        if name == "add" and all(type(args.get(k)) in (int, float) for k in "ab"):
            return text_result(str(args["a"] + args["b"]))
        if name == "ask_llm" and isinstance(args.get("question"), str):
            try:
                answer = self.ask_client("sampling/createMessage", {"maxTokens": 200, "messages": [
                    {"role": "user", "content": {"type": "text", "text": args["question"]}}]})
            except (LocalProtocolError, RuntimeError) as exc:  # no sampling, or it failed
                return text_result(f"sampling failed: {exc}", is_error=True)
            content = answer.get("content")
            return text_result(content.get("text", "") if isinstance(content, dict) else "")
        if name in {tool["name"] for tool in TOOLS}:
            return text_result(f"invalid arguments for {name}", is_error=True)
        return text_result(f"unknown tool {name!r}", is_error=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--trace", type=Path, help="append a copy of every written frame here")
    parser.add_argument("--dual-era", action="store_true",
                        help="also serve the stateless revision 2026-07-28")
    args = parser.parse_args()
    trace = args.trace.open("ab") if args.trace else None
    try:
        StdioServer(sys.stdin.fileno(), sys.stdout.buffer, trace, args.dual_era).serve()
    except RemoteProtocolError as exc:  # fatal: the stream cannot be trusted any more
        print(f"engine-stdio-server: {exc.message}", file=sys.stderr)
        return 1
    except BrokenPipeError:  # the client went away while we were writing
        return 0
    finally:
        if trace is not None:
            trace.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
