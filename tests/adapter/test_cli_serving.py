"""``trio-mcp serve`` and the client commands' failures, as a user meets them: file targets,
signals and exit statuses, listen and connect errors, endpoints that are not MCP, a closed
stdout, and the help text. Every failure is one line, never a traceback."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, Literal

import h11
import pytest
import trio
from adapter_support import read_request

from trio_adapter import Client, ConnectError, MCPError

if sys.version_info < (3, 11):  # pragma: no cover - exercised on 3.10 only
    from exceptiongroup import ExceptionGroup  # type: ignore[import-not-found,unused-ignore]
from trio_adapter.cli import CLIError, load_server, main, parse_host_port
from trio_adapter.http import EndpointUnreachable, NotAnMCPEndpoint, StreamableHTTPTransport

ROOT = Path(__file__).resolve().parents[2]
PY = sys.executable
TRIO_MCP = [PY, "-m", "trio_adapter"]

INIT = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
    "protocolVersion": "2025-06-18", "capabilities": {},
    "clientInfo": {"name": "t", "version": "1"}}}
INITIALIZED = {"jsonrpc": "2.0", "method": "notifications/initialized"}

# A server whose tool says on stderr that it started, then works a little: a signal that
# arrives meanwhile must let it finish (its handler grace is longer than the work).
SLOW_SERVER = """\
import sys

import trio

from trio_adapter import Server

server = Server("slow", "1", handler_grace=4.0)


@server.tool()
async def slow(text: str) -> str:
    print("tool started", file=sys.stderr, flush=True)
    await trio.sleep(0.2)
    return "finished " + text
"""


def cli(*args: str, stdin: bytes | None = None, **kwargs: Any
        ) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*TRIO_MCP, *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=60, check=False,
                          input=None if stdin is None else stdin.decode(), **kwargs)


def one_line_error(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("trio-mcp: error: "), stderr
    return lines[0].removeprefix("trio-mcp: error: ")


def frame(obj: Any) -> bytes:
    return json.dumps(obj).encode() + b"\n"


class Lines:
    """Lines from a trio receive stream (a child's pipe), with a bound on a line."""

    def __init__(self, stream: trio.abc.ReceiveStream) -> None:
        self.stream = stream
        self.buffer = b""

    async def line(self) -> bytes:
        while b"\n" not in self.buffer:
            data = await self.stream.receive_some(65536)
            if not data:
                rest, self.buffer = self.buffer, b""
                return rest
            self.buffer += data
            assert len(self.buffer) < 1 << 20
        line, _, self.buffer = self.buffer.partition(b"\n")
        return line + b"\n"

    async def rest(self) -> bytes:
        out = self.buffer
        while data := await self.stream.receive_some(65536):
            out += data
        self.buffer = b""
        return out


@asynccontextmanager
async def child(*args: str) -> AsyncIterator[trio.Process]:
    """A ``trio-mcp`` child with piped stdin/stdout/stderr, killed if still running at the
    end (never left behind)."""
    proc = await trio.lowlevel.open_process(
        [*TRIO_MCP, *args], cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE)
    try:
        yield proc
    finally:
        if proc.returncode is None:
            proc.kill()
        with trio.CancelScope(shield=True):
            await proc.wait()
            for pipe in (proc.stdin, proc.stdout, proc.stderr):
                if pipe is not None:
                    await pipe.aclose()


# ---------------------------------------------------------------- 1. file targets


DATACLASS_SERVER = """\
from __future__ import annotations

import dataclasses
import typing
from typing import Literal

import attrs

from trio_adapter import Server


@dataclasses.dataclass
class Point:
    x: int
    y: int = 0


@attrs.define
class Mode:
    kind: Literal["fast", "slow"] = "fast"


HINTS = {**typing.get_type_hints(Point), **typing.get_type_hints(Mode)}
server = Server("dataclasses", "1")


@server.tool()
async def manhattan(x: int, y: int) -> int:
    point = Point(x, y)
    return abs(point.x) + abs(point.y) + (0 if Mode().kind == "fast" else 1)
"""


def test_file_with_future_annotations_dataclass_and_attrs_loads(tmp_path: Path) -> None:
    path = tmp_path / "myserver.py"
    path.write_text(DATACLASS_SERVER)
    server = load_server(str(path))
    assert server.info.name == "dataclasses"
    module = next(m for name, m in sys.modules.items()
                  if name.startswith("_trio_mcp_file_") and name.endswith("_myserver"))
    assert module.HINTS == {"x": int, "y": int, "kind": Literal["fast", "slow"]}
    proc = cli("call", "manhattan", '{"x": 3, "y": -4}', "--", *TRIO_MCP, "serve", str(path))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "7\n"


def test_a_file_that_fails_leaves_no_module_behind(tmp_path: Path) -> None:
    path = tmp_path / "breaks.py"
    path.write_text("from __future__ import annotations\nraise RuntimeError('oops')\n")
    before = set(sys.modules)
    with pytest.raises(CLIError, match="cannot load .*breaks.py: RuntimeError: oops"):
        load_server(str(path))
    assert set(sys.modules) == before
    assert str(tmp_path) not in sys.path


def test_a_file_never_shadows_an_importable_module(tmp_path: Path) -> None:
    path = tmp_path / "json.py"  # the stdlib module's name
    path.write_text("from trio_adapter import Server\nserver = Server('shadow', '1')\n")
    import json as stdlib_json

    assert load_server(str(path)).info.name == "shadow"
    assert sys.modules["json"] is stdlib_json


# ---------------------------------------------------------------- 2. signals


@pytest.mark.parametrize(("signum", "status"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
async def test_signal_on_stdio_closes_quietly(signum: int, status: int) -> None:
    async with child("serve", "trio_adapter.demo", "--stdio") as proc:
        assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
        out = Lines(proc.stdout)
        await proc.stdin.send_all(frame(INIT))
        assert json.loads(await out.line())["id"] == 1  # it serves: now interrupt it
        proc.send_signal(signum)
        assert await proc.wait() == status
        assert await out.rest() == b""
        assert await Lines(proc.stderr).rest() == b""


async def test_sigint_on_stdio_lets_the_call_in_flight_finish(tmp_path: Path) -> None:
    path = tmp_path / "slow.py"
    path.write_text(SLOW_SERVER)
    async with child("serve", str(path)) as proc:
        assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
        out, err = Lines(proc.stdout), Lines(proc.stderr)
        await proc.stdin.send_all(frame(INIT) + frame(INITIALIZED) + frame(
            {"jsonrpc": "2.0", "id": 2, "method": "tools/call",
             "params": {"name": "slow", "arguments": {"text": "anyway"}}}))
        assert json.loads(await out.line())["id"] == 1
        assert await err.line() == b"tool started\n"
        proc.send_signal(signal.SIGINT)
        reply = json.loads(await out.line())
        assert reply["id"] == 2
        assert reply["result"]["content"][0]["text"] == "finished anyway"
        assert await proc.wait() == 130
        assert await err.rest() == b""


async def serving_url(err: Lines) -> str:
    line = (await err.line()).decode()
    assert line.startswith("trio-mcp: serving "), line
    return line.rsplit(" ", 1)[1].strip()


@pytest.mark.parametrize(("signum", "status"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
async def test_signal_on_http_finishes_the_response_in_flight(
        tmp_path: Path, signum: int, status: int) -> None:
    path = tmp_path / "slow.py"
    path.write_text(SLOW_SERVER)
    async with child("serve", str(path), "--http", "127.0.0.1:0") as proc:
        assert proc.stderr is not None
        err = Lines(proc.stderr)
        url = await serving_url(err)
        results: list[str] = []
        async with Client("t", "1").connect(StreamableHTTPTransport(url)) as session:
            async with trio.open_nursery() as nursery:

                async def call() -> None:
                    result = await session.call_tool("slow", {"text": "over http"})
                    results.append(result.content[0].text)  # type: ignore[union-attr]

                nursery.start_soon(call)
                assert await err.line() == b"tool started\n"
                proc.send_signal(signum)
        assert results == ["finished over http"]
        assert await proc.wait() == status
        assert await err.rest() == b""
        # It no longer listens.
        with pytest.raises(ConnectError, match="connection refused"):
            async with Client("t", "1").connect(StreamableHTTPTransport(url)):
                pass  # pragma: no cover


async def test_sigint_on_http_with_an_idle_session_and_no_request() -> None:
    async with child("serve", "trio_adapter.demo", "--http", "127.0.0.1:0") as proc:
        assert proc.stderr is not None
        err = Lines(proc.stderr)
        url = await serving_url(err)
        async with Client("t", "1").connect(StreamableHTTPTransport(url)) as session:
            await session.list_tools()  # a session, its standalone GET stream, a kept connection
            proc.send_signal(signal.SIGINT)
            assert await proc.wait() == 130
        assert await err.rest() == b""


STUCK_SERVER = """\
import sys

import trio

from trio_adapter import Server

server = Server("stuck", "1", handler_grace=60.0)


@server.tool()
async def stuck() -> str:
    print("tool started", file=sys.stderr, flush=True)
    await trio.sleep_forever()
    return "never"
"""


@pytest.mark.parametrize("transport", ["stdio", "http"])
async def test_the_drain_is_bounded(tmp_path: Path, transport: str) -> None:
    path = tmp_path / "stuck.py"
    path.write_text(STUCK_SERVER)
    how = ["--http", "127.0.0.1:0"] if transport == "http" else ["--stdio"]
    async with child("serve", str(path), *how, "--drain-timeout", "0.5") as proc:
        assert proc.stdin is not None and proc.stderr is not None
        err = Lines(proc.stderr)
        async with trio.open_nursery() as nursery:
            if transport == "http":
                url = await serving_url(err)
                session = await Client("t", "1").connect_in(nursery, StreamableHTTPTransport(url))
                nursery.start_soon(session.call_tool, "stuck")
            else:
                await proc.stdin.send_all(frame(INIT) + frame(INITIALIZED) + frame(
                    {"jsonrpc": "2.0", "id": 2, "method": "tools/call",
                     "params": {"name": "stuck", "arguments": {}}}))
            assert await err.line() == b"tool started\n"
            proc.send_signal(signal.SIGTERM)
            with trio.fail_after(10):  # far less than the handler's 60 s of grace
                assert await proc.wait() == 143
            assert await err.rest() == \
                b"trio-mcp: the sessions did not close within 0.5 s; stopped\n"
            nursery.cancel_scope.cancel()


async def test_a_second_signal_stops_at_once(tmp_path: Path) -> None:
    path = tmp_path / "stuck.py"
    path.write_text(STUCK_SERVER)
    async with child("serve", str(path), "--drain-timeout", "60") as proc:
        assert proc.stdin is not None and proc.stderr is not None
        await proc.stdin.send_all(frame(INIT) + frame(INITIALIZED) + frame(
            {"jsonrpc": "2.0", "id": 2, "method": "tools/call",
             "params": {"name": "stuck", "arguments": {}}}))
        err = Lines(proc.stderr)
        assert await err.line() == b"tool started\n"
        # Two different signals: the same one twice may be read as one.
        proc.send_signal(signal.SIGINT)
        proc.send_signal(signal.SIGTERM)
        with trio.fail_after(10):  # not the 60 s of the drain
            assert await proc.wait() in (130, 143)
        assert await err.rest() == b""


def test_a_negative_drain_timeout_is_a_usage_error() -> None:
    proc = cli("serve", "trio_adapter.demo", "--drain-timeout", "-1")
    assert proc.returncode == 2
    assert "--drain-timeout" in one_line_error(proc.stderr)


# ---------------------------------------------------------------- 3, 4. listening


def test_port_in_use_is_one_line() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        proc = cli("serve", "trio_adapter.demo", "--http", f"127.0.0.1:{port}")
    assert proc.returncode == 1
    assert one_line_error(proc.stderr) == f"cannot listen on 127.0.0.1:{port}: address already " \
        "in use"


def test_unknown_host_is_one_line() -> None:
    # RFC 6761: .invalid never resolves; trio-mcp says so without asking a resolver.
    proc = cli("serve", "trio_adapter.demo", "--http", "nosuchhost.invalid:80")
    assert proc.returncode == 1
    assert one_line_error(proc.stderr) == "cannot listen on nosuchhost.invalid:80: unknown host"


@pytest.mark.parametrize("address", ["127.0.0.1:99999", "127.0.0.1:65536", "localhost",
                                     "127.0.0.1:", "127.0.0.1:http", "127.0.0.1:-1",
                                     "[::1:80", "a b:80", "host:1:2", "127.0.0.1:\u0661"])
def test_bad_http_address_is_a_usage_error(address: str) -> None:
    proc = cli("serve", "trio_adapter.demo", "--http", address)
    assert proc.returncode == 2
    assert one_line_error(proc.stderr) == \
        f"--http wants HOST:PORT with a port from 0 to 65535, not {address!r}"


def test_parse_host_port_forms() -> None:
    assert parse_host_port("127.0.0.1:0") == ("127.0.0.1", 0)
    assert parse_host_port(":8000") == ("127.0.0.1", 8000)
    assert parse_host_port("localhost:65535") == ("localhost", 65535)
    assert parse_host_port("[::1]:8080") == ("::1", 8080)
    assert parse_host_port("::1:8080") == ("::1", 8080)


# ---------------------------------------------------------------- 5. connecting


async def test_connection_refused_is_one_clean_line() -> None:
    with socket.socket() as bound:  # bound, not listening: connecting is refused
        bound.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{bound.getsockname()[1]}/mcp"
        with pytest.raises(ConnectError) as failed:
            async with Client("t", "1").connect(StreamableHTTPTransport(url)):
                pass  # pragma: no cover
    assert str(failed.value) == f"cannot connect to {url}: connection refused"
    cause = failed.value.__cause__
    assert isinstance(cause, EndpointUnreachable) and cause.reason == "connection refused"
    assert isinstance(cause.__cause__, OSError)
    proc = cli("inspect", "--url", url, "--timeout", "10")
    assert proc.returncode == 1
    assert one_line_error(proc.stderr) == f"cannot connect to {url}: connection refused"


async def test_unknown_host_when_connecting() -> None:
    url = "http://nosuchhost.invalid/mcp"
    with pytest.raises(ConnectError, match=f"^cannot connect to {url}: unknown host$") as failed:
        async with Client("t", "1").connect(StreamableHTTPTransport(url)):
            pass  # pragma: no cover
    assert isinstance(failed.value.__cause__.__cause__, socket.gaierror)  # type: ignore[union-attr]


@asynccontextmanager
async def scripted(answer: Callable[[h11.Request, bytes], Awaitable[list[Any]] | list[Any]]
                   | None) -> AsyncIterator[str]:
    """A loopback HTTP server answering every request with ``answer(request, body)``'s h11
    events; with ``None`` it reads requests and never answers."""
    listeners = await trio.open_tcp_listeners(0, host="127.0.0.1")
    port = listeners[0].socket.getsockname()[1]

    async def handle(stream: trio.SocketStream) -> None:
        try:
            await answer_on(stream)
        except trio.BrokenResourceError:  # the client hung up before reading it all: its right
            pass

    async def answer_on(stream: trio.SocketStream) -> None:
        conn = h11.Connection(h11.SERVER)
        while True:
            try:
                got = await read_request(conn, stream)
            except h11.RemoteProtocolError:  # not HTTP (a TLS handshake): answer as h11 would
                await stream.send_all(conn.send(h11.Response(
                    status_code=400, headers=[("content-length", "0")])) or b"")
                return
            if got is None:
                return
            if answer is None:
                await trio.sleep_forever()
            events = answer(*got)
            if not isinstance(events, list):
                events = await events
            for event in events:
                await stream.send_all(conn.send(event) or b"")
            if conn.our_state is not h11.DONE or conn.their_state is not h11.DONE:
                return
            conn.start_next_cycle()

    async with trio.open_nursery() as nursery:
        nursery.start_soon(trio.serve_listeners, handle, listeners)
        yield f"http://127.0.0.1:{port}/mcp"
        nursery.cancel_scope.cancel()


def page(status: int, ctype: str, body: bytes) -> list[Any]:
    return [h11.Response(status_code=status, headers=[("content-type", ctype),
                                                      ("content-length", str(len(body)))]),
            h11.Data(data=body), h11.EndOfMessage()]


HTML = b"<!DOCTYPE html>\n<html>\n<head><title>501 Not Implemented</title></head>\n<body>\n" \
       b"<h1>Not Implemented</h1>\n<p>POST is not supported here.</p>\n</body>\n</html>\n" * 2


async def test_no_answer_within_the_timeout() -> None:
    async with scripted(None) as url:
        with pytest.raises(ConnectError) as failed:
            async with Client("t", "1").connect(StreamableHTTPTransport(
                    url, connect_timeout=0.3)):
                pass  # pragma: no cover
    assert str(failed.value) == f"no answer from {url} within 0.3 s"


async def test_tls_to_a_plain_http_server_is_one_line() -> None:
    async with scripted(lambda request, body: page(400, "text/plain", b"plain")) as http_url:
        url = http_url.replace("http://", "https://")
        with pytest.raises(ConnectError) as failed:
            async with Client("t", "1").connect(StreamableHTTPTransport(url)):
                pass  # pragma: no cover
    message = str(failed.value)
    prefix = f"cannot connect to {url}: TLS handshake failed: "
    assert message.startswith(prefix), message
    # OpenSSL's reason, as words: "wrong version number" (its wording varies by version)
    assert message[len(prefix):].replace(" ", "").isalpha(), message
    assert message[len(prefix):].islower(), message


def test_a_stdio_command_that_exits_is_one_line() -> None:
    proc = cli("inspect", "--", PY, "-c", "import sys; sys.exit(3)")
    assert proc.returncode == 1
    assert one_line_error(proc.stderr) == \
        "the server exited with status 3 before the handshake completed"


# ---------------------------------------------------------------- 6. not an MCP endpoint


async def test_a_200_html_page_is_not_an_mcp_endpoint_at_once() -> None:
    async with scripted(lambda request, body: page(200, "text/html; charset=utf-8", HTML)
                        ) as url:
        with trio.fail_after(5):  # not the 30 s of a read timeout
            with pytest.raises(ConnectError) as failed:
                async with Client("t", "1").connect(StreamableHTTPTransport(url)):
                    pass  # pragma: no cover
    assert str(failed.value) == \
        f"not an MCP endpoint: HTTP 200 with Content-Type text/html from {url}"
    cause = failed.value.__cause__
    assert isinstance(cause, NotAnMCPEndpoint)
    assert (cause.status, cause.media_type) == (200, "text/html")


@pytest.mark.parametrize("status", [404, 501])
async def test_an_html_error_page_is_one_line_without_its_body(status: int) -> None:
    async with scripted(lambda request, body: page(status, "text/html", HTML)) as url:
        proc = await trio.run_process([*TRIO_MCP, "inspect", "--url", url, "--timeout", "10"],
                                      cwd=ROOT, capture_stdout=True, capture_stderr=True,
                                      check=False)
    assert proc.returncode == 1
    assert one_line_error(proc.stderr.decode()) == \
        f"not an MCP endpoint: HTTP {status} with Content-Type text/html from {url}"


async def test_a_json_error_answer_is_summarised_in_one_line() -> None:
    body = json.dumps({"jsonrpc": "2.0", "id": None, "error": {
        "code": -32001, "message": "Unauthorized:\n  the token\texpired"}}).encode()
    async with scripted(lambda request, b: page(401, "application/json", body)) as url:
        with pytest.raises(ConnectError) as failed:
            async with Client("t", "1").connect(StreamableHTTPTransport(url)):
                pass  # pragma: no cover
    assert str(failed.value) == \
        "the server refused initialize: HTTP 401: Unauthorized: the token expired"


async def test_a_long_text_error_answer_is_bounded() -> None:
    body = b"Service unavailable\n" + b"x" * 10000
    async with scripted(lambda request, b: page(503, "text/plain", body)) as url:
        with pytest.raises(ConnectError) as failed:
            async with Client("t", "1").connect(StreamableHTTPTransport(url)):
                pass  # pragma: no cover
    message = str(failed.value)
    assert message.startswith("the server refused initialize: HTTP 503: Service unavailable x")
    assert message.endswith("...") and len(message) < 300 and "\n" not in message


async def test_a_request_whose_answer_never_comes_fails_in_one_line() -> None:
    # A server that completes the handshake, then hangs up on tools/call without a byte.
    def answer(request: h11.Request, body: bytes) -> list[Any]:
        if request.method != b"POST":
            return page(405, "application/json", b"")
        msg = json.loads(body)
        if msg.get("method") == "initialize":
            return page(200, "application/json", json.dumps({
                "jsonrpc": "2.0", "id": msg["id"], "result": {
                    "protocolVersion": "2025-06-18", "capabilities": {"tools": {}},
                    "serverInfo": {"name": "hangs-up", "version": "1"}}}).encode())
        if "id" not in msg:
            return [h11.Response(status_code=202, headers=[("content-length", "0")]),
                    h11.EndOfMessage()]
        return []  # no answer: the connection is closed

    async with scripted(answer) as url:
        async with Client("t", "1").connect(StreamableHTTPTransport(url)) as session:
            with pytest.raises(MCPError) as failed:
                await session.call_tool("anything")
    assert failed.value.message == \
        f"POST to {url} failed: the server closed the connection without answering"


# ---------------------------------------------------------------- 7. a closed stdout


def run_with_closed_stdout(*args: str) -> subprocess.CompletedProcess[bytes]:
    read_end, write_end = os.pipe()
    os.close(read_end)  # as `| head -1` once it has its line: every write is EPIPE
    try:
        return subprocess.run([*TRIO_MCP, *args], cwd=ROOT, stdout=write_end,
                              stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, timeout=60,
                              check=False)
    finally:
        os.close(write_end)


def test_closed_stdout_over_stdio_is_quiet() -> None:
    proc = run_with_closed_stdout("inspect", "--", *TRIO_MCP, "serve", "trio_adapter.demo")
    assert (proc.returncode, proc.stderr) == (141, b"")


async def test_closed_stdout_over_http_is_quiet() -> None:
    async with child("serve", "trio_adapter.demo", "--http", "127.0.0.1:0") as server:
        assert server.stderr is not None
        url = await serving_url(Lines(server.stderr))
        proc = await trio.to_thread.run_sync(run_with_closed_stdout, "inspect", "--url", url)
        assert (proc.returncode, proc.stderr) == (141, b"")
        proc = await trio.to_thread.run_sync(run_with_closed_stdout, "call", "echo",
                                             '{"text": "x"}', "--url", url)
        assert (proc.returncode, proc.stderr) == (141, b"")


# ---------------------------------------------------------------- 8. help


def test_serve_help_explains_the_target() -> None:
    proc = cli("serve", "--help")
    assert proc.returncode == 0
    out = " ".join(proc.stdout.split())
    assert "FILE_OR_MODULE[:attr]" in out
    assert "Without :attr the Server is the module's `server` attribute, else its `mcp` " \
        "attribute, else its only Server instance" in out
    assert "130 after SIGINT, 143 after SIGTERM" in out


def test_every_positional_argument_has_help(capsys: pytest.CaptureFixture[str]) -> None:
    from trio_adapter.cli import _parser

    parser = _parser()
    subparsers = next(a for a in parser._actions if a.dest == "command")
    assert isinstance(subparsers.choices, dict) and subparsers.choices
    for name, sub in subparsers.choices.items():
        for action in sub._actions:
            if not action.option_strings:
                assert action.help, f"{name} {action.dest} has no help"
    with pytest.raises(SystemExit):
        main(["call", "--help"])
    assert "the name of the tool to call" in capsys.readouterr().out


def test_describe_failure_reasons() -> None:
    import errno
    import ssl

    from trio_adapter.http import ListenError, describe_failure

    # trio's own "all attempts to connect ... failed", from a group of per-address errors.
    attempts = OSError("all attempts to connect to localhost:1 failed")
    attempts.__cause__ = ExceptionGroup("attempts", [
        ConnectionRefusedError(errno.ECONNREFUSED, "Connection refused"),
        OSError(errno.EADDRNOTAVAIL, "Cannot assign requested address")])
    assert describe_failure(attempts) == \
        "connection refused; address not available on this machine"
    assert describe_failure(socket.gaierror(socket.EAI_NONAME, "Name or service not known")) \
        == "unknown host"
    assert describe_failure(socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name "
                                            "resolution")) == \
        "cannot resolve the host name (temporary failure in name resolution)"
    broken = trio.BrokenResourceError()
    broken.__cause__ = ssl.SSLError(1, "[SSL: WRONG_VERSION_NUMBER] wrong version number")
    broken.__cause__.reason = "WRONG_VERSION_NUMBER"
    assert describe_failure(broken) == "TLS handshake failed: wrong version number"
    assert describe_failure(trio.TooSlowError()) == "timed out"
    assert describe_failure(OSError(errno.ENOSPC, "No space left on device")) == \
        "no space left on device"
    used = ListenError("::1", 8765, OSError(errno.EADDRINUSE, "Address already in use"))
    assert str(used) == "cannot listen on [::1]:8765: address already in use"
    assert used.errno == errno.EADDRINUSE


async def _status_for_host(url: str, host: str) -> int:
    import h11
    port = int(url.split(":")[2].split("/", maxsplit=1)[0])
    stream = await trio.open_tcp_stream("127.0.0.1", port)
    async with stream:
        conn = h11.Connection(h11.CLIENT)
        body = frame({"jsonrpc": "2.0", "id": 1, "method": "ping"})
        await stream.send_all(conn.send(h11.Request(
            method="POST", target="/mcp",
            headers=[("Host", host), ("Content-Type", "application/json"),
                     ("Accept", "application/json, text/event-stream"),
                     ("Content-Length", str(len(body)))])) + conn.send(h11.Data(data=body))
            + conn.send(h11.EndOfMessage()))
        while True:
            event = conn.next_event()
            if event is h11.NEED_DATA:
                conn.receive_data(await stream.receive_some())
                continue
            assert isinstance(event, h11.Response)
            return int(event.status_code)


async def test_allowed_host_admits_a_public_name_and_still_refuses_others() -> None:
    with trio.fail_after(20):
        async with child("serve", "trio_adapter.demo", "--http", "127.0.0.1:0",
                         "--allowed-host", "mcp.example.com") as proc:
            assert proc.stderr is not None
            url = await serving_url(Lines(proc.stderr))
            # a ping outside a session: refused for want of a session (400), not for its Host
            assert await _status_for_host(url, "mcp.example.com:443") != 403
            assert await _status_for_host(url, "localhost") != 403
            assert await _status_for_host(url, "evil.example") == 403
            proc.send_signal(signal.SIGTERM)
            await proc.wait()
