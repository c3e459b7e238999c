"""The sans-IO engine against software we did not write: the official MCP Python SDK.

Two directions, both over real stdio pipes to a child process:

* the SDK's client (``mcp.Client`` with ``StdioServerParameters``) drives
  ``examples/engine_stdio_server.py``, a blocking server built on ``Connection(Role.SERVER)``;
* a blocking driver built on ``Connection(Role.CLIENT)`` drives ``tests/interop/sdk_server.py``,
  a server written with the SDK's ``MCPServer``, once per handshake revision.

Every frame our engine wrote is checked against the JSON schema of the negotiated revision.
Run with ``python -m pytest -m interop -v tests/test_interop_engine.py`` (docs/interop.md).
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import jsonschema
import pytest

mcp = pytest.importorskip("mcp")

import anyio  # noqa: E402  (the SDK's dependency)
import mcp_types  # noqa: E402
from mcp.client.session import ClientRequestContext  # noqa: E402

from sansio import (  # noqa: E402
    HANDSHAKE_VERSIONS,
    NEED_DATA,
    Connection,
    ErrorCode,
    ErrorReceived,
    Event,
    Initialized,
    LocalProtocolError,
    RequestReceived,
    ResponseReceived,
    Role,
)
from tests.conftest import load_schema, schemas_available  # noqa: E402

pytestmark = [
    pytest.mark.interop,
    # The SDK marks ping and logging deprecated (they are gone from 2026-07-28 on); we test them.
    pytest.mark.filterwarnings("ignore::mcp.shared.exceptions.MCPDeprecationWarning"),
]

ROOT = Path(__file__).resolve().parents[1]
ENGINE_SERVER = ROOT / "examples" / "engine_stdio_server.py"
SDK_SERVER = ROOT / "tests" / "interop" / "sdk_server.py"
TIMEOUT = 20.0  # hard limit per test, in seconds

_validators: dict[str, Any] = {}


def assert_frames_valid(revision: str, frames: list[Any]) -> None:
    """Every frame (a decoded JSON-RPC message or batch) validates against ``revision``
    (when the official schemas are available; see tests/conftest.py)."""
    assert frames
    if not schemas_available():
        return
    if revision not in _validators:
        root = load_schema(revision)
        key = "$defs" if "$defs" in root else "definitions"
        schema = {"$schema": root["$schema"], key: root[key], "$ref": f"#/{key}/JSONRPCMessage"}
        _validators[revision] = jsonschema.validators.validator_for(schema)(schema)
    assert frames
    for frame in frames:
        for message in frame if isinstance(frame, list) else [frame]:
            errors = list(_validators[revision].iter_errors(message))
            assert not errors, f"{revision}: {message} -> {errors[0].message}"


# --------------------------------------------------------------------------------------------
# The official SDK client -> our engine's server (examples/engine_stdio_server.py)


async def answer_sampling(
    context: ClientRequestContext, params: mcp_types.CreateMessageRequestParams
) -> mcp_types.CreateMessageResult:
    """The SDK client's sampling callback: a fake model that shouts the question back."""
    question = params.messages[0].content
    assert isinstance(question, mcp_types.TextContent)
    return mcp_types.CreateMessageResult(
        role="assistant", model="fake-llm", stopReason="endTurn",
        content=mcp_types.TextContent(type="text", text=question.text.upper()))


def engine_server_params(trace: Path) -> mcp.StdioServerParameters:
    return mcp.StdioServerParameters(
        command=sys.executable, args=[str(ENGINE_SERVER), "--trace", str(trace)], cwd=str(ROOT))


async def sdk_client_session(trace: Path, mode: str) -> None:
    logs: list[mcp_types.LoggingMessageNotificationParams] = []

    async def on_log(params: mcp_types.LoggingMessageNotificationParams) -> None:
        logs.append(params)

    with anyio.fail_after(TIMEOUT):
        async with mcp.Client(engine_server_params(trace), mode=mode,
                              sampling_callback=answer_sampling, logging_callback=on_log,
                              client_info=mcp.Implementation(name="sdk-client", version="1")
                              ) as client:
            assert client.protocol_version == "2025-11-25"
            assert client.server_info is not None
            assert client.server_info.name == "engine-stdio-server"
            assert client.instructions == "A demo server on the sans-IO engine."
            caps = client.server_capabilities
            assert caps.tools is not None and caps.resources is not None
            assert caps.prompts is not None and caps.logging is not None

            tools = await client.list_tools()
            assert [tool.name for tool in tools.tools] == ["echo", "add", "ask_llm"]
            echoed = await client.call_tool("echo", {"text": "héllo wörld"})
            assert not echoed.is_error and echoed.content[0].text == "héllo wörld"
            added = await client.call_tool("add", {"a": 2, "b": 40.5})
            assert not added.is_error and added.content[0].text == "42.5"
            unknown = await client.call_tool("no_such_tool", {})
            assert unknown.is_error and "unknown tool" in unknown.content[0].text

            # A server -> client request in the middle of a tools/call, answered by the SDK.
            sampled = await client.call_tool("ask_llm", {"question": "why is the sky blue?"})
            assert not sampled.is_error, sampled
            assert sampled.content[0].text == "WHY IS THE SKY BLUE?"

            resources = await client.list_resources()
            assert [str(r.uri) for r in resources.resources] == ["demo://greeting"]
            read = await client.read_resource("demo://greeting")
            assert read.contents[0].text == "Hello from the sans-IO engine!"
            with pytest.raises(mcp.MCPError) as missing:
                await client.read_resource("demo://nothing")
            assert missing.value.error.code == ErrorCode.RESOURCE_NOT_FOUND

            prompts = await client.list_prompts()
            assert [p.name for p in prompts.prompts] == ["greet"]
            assert prompts.prompts[0].arguments[0].required
            prompt = await client.get_prompt("greet", {"name": "Ada"})
            assert prompt.messages[0].content.text == "Please greet Ada."
            with pytest.raises(mcp.MCPError) as bad_prompt:
                await client.get_prompt("greet", {})
            assert bad_prompt.value.error.code == ErrorCode.INVALID_PARAMS

            await client.set_logging_level("warning")
            await client.session.send_ping()
            # completion/complete was not advertised: the engine itself answers -32601.
            with pytest.raises(mcp.MCPError) as no_method:
                await client.session.send_request(
                    mcp_types.CompleteRequest(params=mcp_types.CompleteRequestParams(
                        ref=mcp_types.PromptReference(type="ref/prompt", name="greet"),
                        argument=mcp_types.CompletionArgument(name="name", value="A"))),
                    mcp_types.CompleteResult)
            assert no_method.value.error.code == ErrorCode.METHOD_NOT_FOUND
            await client.session.send_ping()  # still fine after the refusals
        # Leaving the block closed the server's stdin; the server exits 0 at end of input.
    assert [(log.level, log.data) for log in logs] == [("warning", "level set to warning")]


def check_engine_server_trace(trace: Path, first_errors: tuple[int, ...] = ()) -> None:
    frames = [json.loads(line) for line in trace.read_bytes().splitlines()]
    assert_frames_valid("2025-11-25", frames)
    methods = [frame.get("method") for frame in frames if "method" in frame]
    assert methods == ["sampling/createMessage", "notifications/message"]
    # Nothing the SDK sent was refused, apart from what the test provoked.
    errors = [frame["error"]["code"] for frame in frames if "error" in frame]
    assert errors == [*first_errors, ErrorCode.RESOURCE_NOT_FOUND, ErrorCode.INVALID_PARAMS,
                      ErrorCode.METHOD_NOT_FOUND]


def test_sdk_client_drives_engine_server(tmp_path: Path) -> None:
    """The SDK's client, forced to the handshake era (mode="legacy"), against our server."""
    trace = tmp_path / "frames.ndjson"
    anyio.run(sdk_client_session, trace, "legacy", backend="asyncio")
    check_engine_server_trace(trace)


def test_sdk_client_auto_mode_falls_back_to_initialize(tmp_path: Path) -> None:
    """The SDK's default mode probes ``server/discover`` first; our handshake-era engine refuses
    it (-32600 before initialize) and the SDK falls back to ``initialize``."""
    trace = tmp_path / "frames.ndjson"
    anyio.run(sdk_client_session, trace, "auto", backend="asyncio")
    frames = [json.loads(line) for line in trace.read_bytes().splitlines()]
    assert "server/discover" in frames[0]["error"]["message"]
    check_engine_server_trace(trace, first_errors=(ErrorCode.INVALID_REQUEST,))


async def test_sdk_client_under_trio(tmp_path: Path) -> None:
    """The SDK runs on anyio, so the same session also works under trio (pytest-trio)."""
    trace = tmp_path / "frames.ndjson"
    await sdk_client_session(trace, "legacy")
    check_engine_server_trace(trace)


# --------------------------------------------------------------------------------------------
# Our engine as the client -> the official SDK's server (tests/interop/sdk_server.py)


class BlockingClient:
    """A blocking MCP client on ``Connection(Role.CLIENT)`` over a child process's pipes.

    A reader thread moves the child's stdout into a queue, so every wait has a deadline.
    """

    def __init__(self, argv: list[str], stderr: Path, deadline: float) -> None:
        self.conn = Connection(Role.CLIENT)
        self.deadline = deadline
        self.sent: list[Any] = []  # every frame our engine wrote, decoded
        self.notifications: list[Event] = []
        self._stderr = stderr.open("wb")
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=self._stderr, cwd=ROOT)
        self._chunks: queue.Queue[bytes] = queue.Queue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        while chunk := os.read(fd, 65536):
            self._chunks.put(chunk)
        self._chunks.put(b"")

    def remaining(self) -> float:
        left = self.deadline - time.monotonic()
        if left <= 0:
            pytest.fail("timed out waiting for the SDK server")
        return left

    def flush(self) -> None:
        """Write what the engine queued to the child's stdin."""
        frames = [frame.data for frame in self.conn.frames_to_send()]
        self.sent.extend(json.loads(frame) for frame in frames)
        assert self.proc.stdin is not None
        self.proc.stdin.write(b"".join(frames))
        self.proc.stdin.flush()

    def next_event(self) -> Event:
        while (event := self.conn.next_event()) is NEED_DATA:
            try:
                chunk = self._chunks.get(timeout=self.remaining())
            except queue.Empty:
                pytest.fail("timed out waiting for the SDK server")
            self.conn.receive_data(chunk)
        return event

    def wait_for(self, request_id: Any) -> Event:
        """Dispatch events until the answer to ``request_id`` arrives; return it."""
        while True:
            event = self.next_event()
            if isinstance(event, (ResponseReceived, ErrorReceived, Initialized)) and \
                    event.request_id == request_id:
                return event
            if isinstance(event, RequestReceived):  # the server asks something of us
                if event.method == "ping":
                    self.conn.send_response(event.request_id, {})
                else:
                    self.conn.send_error(event.request_id, ErrorCode.METHOD_NOT_FOUND, "no")
                self.flush()
            else:
                assert not isinstance(event, ErrorReceived), event
                self.notifications.append(event)

    def request(self, method: str, params: dict[str, Any] | None = None) -> Event:
        request_id = self.conn.send_request(method, params)
        self.flush()
        return self.wait_for(request_id)

    def result(self, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        event = self.request(method, params)
        assert isinstance(event, ResponseReceived), event
        return event.result

    def kill(self) -> None:
        """Make sure the child is gone (idempotent)."""
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=5)
        self._reader.join(timeout=5)  # the child is gone, so its stdout is at end of file
        for pipe in (self.proc.stdin, self.proc.stdout):
            if pipe is not None:
                with contextlib.suppress(BrokenPipeError):
                    pipe.close()
        self._stderr.close()


@pytest.fixture
def sdk_server(tmp_path: Path) -> Any:
    client = BlockingClient([sys.executable, str(SDK_SERVER)], tmp_path / "stderr.txt",
                            time.monotonic() + TIMEOUT)
    try:
        yield client
    finally:
        client.kill()
        assert client.proc.returncode is not None  # no leaked process
        assert not client._reader.is_alive()


@pytest.mark.parametrize("version", HANDSHAKE_VERSIONS)
def test_engine_client_drives_sdk_server(sdk_server: BlockingClient, version: str,) -> None:
    client, conn = sdk_server, sdk_server.conn
    ready = client.request("initialize", {
        "protocolVersion": version, "capabilities": {},
        "clientInfo": {"name": "trio-mcp-engine", "version": "0.1"}})
    assert isinstance(ready, Initialized)
    assert ready.protocol_version == conn.protocol_version == version  # the SDK echoes it
    assert ready.peer_info["name"] == "sdk-interop-server"
    assert {"tools", "resources", "prompts"} <= set(ready.peer_capabilities)
    conn.send_initialized()
    client.flush()

    tools = client.result("tools/list")
    assert {"echo", "add", "wait_forever"} <= {tool["name"] for tool in tools["tools"]}
    echoed = client.result("tools/call", {"name": "echo", "arguments": {"text": "héllo"}})
    assert echoed["content"] == [{"type": "text", "text": "héllo"}] and not echoed["isError"]
    added = client.result("tools/call", {"name": "add", "arguments": {"a": 2, "b": 40}})
    assert added["content"][0]["text"] == "42" and not added["isError"]
    unknown = client.result("tools/call", {"name": "no_such_tool", "arguments": {}})
    assert unknown["isError"] is True

    resources = client.result("resources/list")
    assert [r["uri"] for r in resources["resources"]] == ["demo://greeting"]
    read = client.result("resources/read", {"uri": "demo://greeting"})
    assert read["contents"][0]["text"] == "Hello from the official SDK!"
    prompts = client.result("prompts/list")
    assert [p["name"] for p in prompts["prompts"]] == ["greet"]
    prompt = client.result("prompts/get", {"name": "greet", "arguments": {"name": "Ada"}})
    assert prompt["messages"][0]["content"]["text"] == "Please greet Ada."
    # Refusals come back as error responses (the SDK's codes: -32602 for an unknown resource,
    # 0 for a missing prompt argument; the engine passes them through as they are).
    missing = client.request("resources/read", {"uri": "demo://missing"})
    assert isinstance(missing, ErrorReceived) and missing.error.data == {"uri": "demo://missing"}
    assert isinstance(client.request("prompts/get", {"name": "greet", "arguments": {}}),
                      ErrorReceived)
    assert client.result("ping") == {}

    error = client.request("no/such/method", {})
    assert isinstance(error, ErrorReceived)
    assert error.error.code == ErrorCode.METHOD_NOT_FOUND

    # Cancel a request the server is working on: nothing breaks, no answer ever surfaces.
    slow = conn.send_request("tools/call", {"name": "wait_forever", "arguments": {}})
    client.flush()
    conn.cancel(slow, "the test gave up")
    client.flush()
    assert slow not in conn.pending_requests
    assert client.result("ping") == {}
    again = client.result("tools/call", {"name": "echo", "arguments": {"text": "after"}})
    assert again["content"][0]["text"] == "after"
    assert not conn.pending_requests

    # Clean shutdown (the spec's stdio sequence): close the child's stdin; it exits by itself.
    conn.close()
    assert client.proc.stdin is not None
    client.proc.stdin.close()
    assert client.proc.wait(timeout=client.remaining()) == 0
    assert client.notifications == []  # the server sent nothing unsolicited

    assert_frames_valid(version, client.sent)
    assert [f.get("method") for f in client.sent][:2] == ["initialize", "notifications/initialized"]


def test_engine_client_refuses_what_the_sdk_server_lacks(sdk_server: BlockingClient) -> None:
    """The SDK server advertises no logging or completions: the engine refuses locally."""
    client, conn = sdk_server, sdk_server.conn
    init_id = conn.send_initialize({"name": "trio-mcp-engine", "version": "0.1"})
    client.flush()
    assert isinstance(client.wait_for(init_id), Initialized)
    conn.send_initialized()
    client.flush()
    for method, params in [("logging/setLevel", {"level": "info"}), ("completion/complete", {
            "ref": {"type": "ref/prompt", "name": "greet"},
            "argument": {"name": "name", "value": "A"}})]:
        with pytest.raises(LocalProtocolError, match="did not advertise"):
            conn.send_request(method, params)
    assert client.result("ping") == {}
    assert_frames_valid(conn.protocol_version or "", client.sent)


def test_engine_server_edge_cases_over_real_pipes(tmp_path: Path) -> None:
    """The example server by itself: a parse error, a request served while it waits for a
    sampling answer, a malformed and a refused sampling answer, nested waits answered out of
    order, and end of input mid-wait (exit status 0)."""
    def line(obj: dict[str, Any]) -> bytes:
        return json.dumps({"jsonrpc": "2.0", **obj}).encode() + b"\n"

    def sampled(request_id: int, text: str) -> bytes:
        return line({"id": request_id, "result": {
            "role": "assistant", "model": "m", "content": {"type": "text", "text": text}}})

    ask = {"method": "tools/call", "params": {"name": "ask_llm", "arguments": {"question": "q"}}}
    stdin = b"".join([
        line({"id": "i", "method": "initialize", "params": {
            "protocolVersion": "2025-06-18", "capabilities": {"sampling": {}},
            "clientInfo": {"name": "raw", "version": "1"}}}),
        line({"method": "notifications/initialized"}),
        b"this is not json\n",
        line({"id": 10, **ask}),
        line({"id": 11, "method": "ping"}),  # served while ask_llm waits for sampling
        line({"id": 1, "result": {"role": "assistant"}}),  # malformed sampling result
        line({"id": 12, **ask}),
        line({"id": 2, "error": {"code": -1, "message": "user declined"}}),
        line({"id": 20, **ask}),
        line({"id": 21, **ask}),  # nested: served while 20 waits; asks the client too
        sampled(3, "outer"),  # the outer answer arrives first and must wait for the inner one
        sampled(4, "inner"),
        line({"id": 13, **ask}),  # then end of input while waiting for the answer
    ])
    trace = tmp_path / "frames.ndjson"
    done = subprocess.run([sys.executable, str(ENGINE_SERVER), "--trace", str(trace)],
                          input=stdin, capture_output=True, timeout=TIMEOUT, cwd=ROOT, check=False)
    assert done.returncode == 0, done.stderr
    frames = [json.loads(line) for line in done.stdout.splitlines()]
    assert trace.read_bytes() == done.stdout
    # The parse error's answer carries "id": null, as JSON-RPC 2.0 requires; the MCP schemas up
    # to 2025-06-18 cannot express an error without a request id (2025-11-25 omits the id), so
    # that one frame is checked by hand (docs/engine.md section 6).
    assert frames[1] == {"jsonrpc": "2.0", "id": None, "error": {
        "code": ErrorCode.PARSE_ERROR, "message": frames[1]["error"]["message"]}}
    assert_frames_valid("2025-06-18", frames[:1] + frames[2:])
    summary = [(f.get("id"), f.get("method") or ("error" in f and f["error"]["code"])
                or f["result"].get("isError")) for f in frames]
    assert summary == [
        ("i", None), (None, -32700), (1, "sampling/createMessage"), (11, None), (10, True),
        (2, "sampling/createMessage"), (12, True), (3, "sampling/createMessage"),
        (4, "sampling/createMessage"), (21, False), (20, False), (5, "sampling/createMessage")]
    assert "invalid result" in frames[4]["result"]["content"][0]["text"]
    assert "user declined" in frames[6]["result"]["content"][0]["text"]
    assert frames[9]["result"]["content"][0]["text"] == "inner"
    assert frames[10]["result"]["content"][0]["text"] == "outer"
