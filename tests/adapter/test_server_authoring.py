"""Writing a server: handler errors and masking, ResourceNotFound, sync handlers in threads,
Image/Audio content, the lifespan, and the ``trio_adapter.testing.connected`` helper.

Everything runs over memory transports (one test over loopback HTTP); the server's frames are
recorded (``Recorder``) where the wire matters.
"""

from __future__ import annotations

import base64
import json
import logging
import subprocess
import sys
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
import trio
import trio.testing
from adapter_support import Recorder, assert_no_leaks

from sansio import HANDSHAKE_VERSIONS, SUPPORTED_VERSIONS, ErrorCode, resource_not_found_code
from sansio import types as t
from tests.test_schema_frames import assert_valid
from trio_adapter import (
    Audio,
    Client,
    Context,
    Image,
    LifespanError,
    MCPError,
    ResourceNotFound,
    Server,
    ToolError,
    memory_transport_pair,
)
from trio_adapter.http import StreamableHTTPTransport, serve_http
from trio_adapter.testing import connected

SECRET = "db password=hunter2 leaked?"

# ---------------------------------------------------------------- errors and masking


def failing_server(**kwargs: Any) -> Server:
    server = Server("failing", "1.0", **kwargs)

    @server.tool()
    async def leaky() -> str:
        raise ValueError(SECRET)

    @server.tool()
    async def refuses() -> str:
        raise ToolError("no such city")

    @server.tool()
    async def missing() -> str:
        raise ResourceNotFound("notes://nowhere")

    @server.resource("notes://broken")
    async def broken() -> str:
        raise ValueError(SECRET)

    @server.resource("notes://refused")
    async def refused() -> str:
        raise ToolError("notes are read-only today")

    @server.resource_template("notes://by-title/{title}")
    async def by_title(title: str) -> str:
        if title == "known":
            return "a note"
        if title == "broken":
            raise KeyError(SECRET)
        raise ResourceNotFound()

    @server.prompt()
    async def bad_prompt() -> str:
        raise RuntimeError(SECRET)

    @server.completion()
    async def complete(ref: Any, argument: Any, context: Any) -> list[str]:
        raise RuntimeError(SECRET)

    return server


def _texts(frames: list[dict[str, Any]]) -> str:
    return json.dumps(frames)


async def test_unexpected_tool_exception_is_logged_and_masked(
        caplog: pytest.LogCaptureFixture) -> None:
    rec = Recorder()
    server = failing_server(trace=rec)
    caplog.set_level(logging.ERROR, logger="trio_mcp.server")
    async with connected(server, mode="legacy") as session:
        result = await session.call_tool("leaky")
    assert result.is_error is True
    assert result.content == [t.TextContent(text="internal error in tool 'leaky'")]
    assert "hunter2" not in _texts(rec.sent)  # never on the wire
    (record,) = [r for r in caplog.records if r.name == "trio_mcp.server"]
    assert record.levelno == logging.ERROR
    assert record.getMessage() == "tool 'leaky' failed (request 2, tools/call)"
    assert record.exc_info is not None and record.exc_info[0] is ValueError
    assert SECRET in caplog.text and "Traceback" in caplog.text  # the traceback is logged


async def test_unmasked_errors_send_the_type_and_text(caplog: pytest.LogCaptureFixture) -> None:
    server = failing_server(mask_error_details=False)
    caplog.set_level(logging.ERROR, logger="trio_mcp.server")
    async with connected(server, mode="legacy") as session:
        result = await session.call_tool("leaky")
        with pytest.raises(MCPError) as info:
            await session.read_resource("notes://broken")
    assert result.is_error is True
    assert result.content == [t.TextContent(
        text=f"internal error in tool 'leaky': ValueError: {SECRET}")]
    assert info.value.code == ErrorCode.INTERNAL_ERROR
    assert info.value.message == \
        f"internal error in resource 'notes://broken': ValueError: {SECRET}"
    assert len([r for r in caplog.records if r.exc_info]) == 2  # logged all the same


async def test_tool_error_text_reaches_the_client_and_is_not_logged(
        caplog: pytest.LogCaptureFixture) -> None:
    server = failing_server()
    caplog.set_level(logging.DEBUG, logger="trio_mcp.server")
    async with connected(server, mode="legacy") as session:
        refused = await session.call_tool("refuses")
        missing = await session.call_tool("missing")
    assert refused.is_error is True
    assert refused.content == [t.TextContent(text="no such city")]
    assert missing.is_error is True
    assert missing.content == [t.TextContent(text="resource not found: notes://nowhere")]
    assert not [r for r in caplog.records if r.name == "trio_mcp.server"]


@pytest.mark.parametrize(("call", "subject"), [
    (lambda s: s.read_resource("notes://broken"), "resource 'notes://broken'"),
    (lambda s: s.read_resource("notes://by-title/broken"), "resource 'notes://by-title/broken'"),
    (lambda s: s.get_prompt("bad_prompt"), "prompt 'bad_prompt'"),
    (lambda s: s.complete(t.PromptReference(name="bad_prompt"), "x", ""),
     "completion/complete"),
], ids=["resource", "template", "prompt", "completion"])
async def test_unexpected_exceptions_elsewhere_are_logged_and_masked(
        call: Any, subject: str, caplog: pytest.LogCaptureFixture) -> None:
    rec = Recorder()
    server = failing_server(trace=rec)
    caplog.set_level(logging.ERROR, logger="trio_mcp.server")
    async with connected(server, mode="legacy") as session:
        with pytest.raises(MCPError) as info:
            await call(session)
    assert info.value.code == ErrorCode.INTERNAL_ERROR == -32603
    assert info.value.message == f"internal error in {subject}"
    assert "hunter2" not in _texts(rec.sent)
    (record,) = [r for r in caplog.records if r.name == "trio_mcp.server"]
    assert record.getMessage().startswith(f"{subject} failed (request ")
    assert record.exc_info is not None and "Traceback" in caplog.text


async def test_tool_error_in_a_reader_is_a_clean_internal_error(
        caplog: pytest.LogCaptureFixture) -> None:
    server = failing_server()
    caplog.set_level(logging.DEBUG)
    async with connected(server, mode="legacy") as session:
        with pytest.raises(MCPError) as info:
            await session.read_resource("notes://refused")
    assert info.value.code == -32603
    assert info.value.message == "notes are read-only today"
    assert "Traceback" not in caplog.text


# ---------------------------------------------------------------- ResourceNotFound


def test_resource_not_found_code_per_revision() -> None:
    codes = {v: resource_not_found_code(v) for v in SUPPORTED_VERSIONS}
    # resources.mdx, "Error Handling": -32002 up to 2025-11-25, -32602 from 2026-07-28.
    assert codes == {"2024-11-05": -32002, "2025-03-26": -32002, "2025-06-18": -32002,
                     "2025-11-25": -32002, "2026-07-28": -32602}
    assert resource_not_found_code(None) == ErrorCode.RESOURCE_NOT_FOUND


@pytest.mark.parametrize("revision", HANDSHAKE_VERSIONS)
async def test_resource_not_found_on_the_wire(revision: str) -> None:
    rec = Recorder()
    server = failing_server(trace=rec)
    async with connected(server, protocol_version=revision) as session:
        assert session.protocol_version == revision
        known = await session.read_resource("notes://by-title/known")
        assert known.contents[0].text == "a note"  # type: ignore[union-attr]
        for uri in ("notes://by-title/gone", "notes://unknown"):
            with pytest.raises(MCPError) as info:
                await session.read_resource(uri)
            assert info.value.code == resource_not_found_code(revision) == -32002
            assert info.value.message == f"resource not found: {uri}"
            assert info.value.data == {"uri": uri}
    errors = [f["error"] for f in rec.sent if "error" in f]
    assert errors == [
        {"code": -32002, "message": "resource not found: notes://by-title/gone",
         "data": {"uri": "notes://by-title/gone"}},
        {"code": -32002, "message": "resource not found: notes://unknown",
         "data": {"uri": "notes://unknown"}}]
    for frame in rec.sent:
        assert_valid(revision, frame)


async def test_resource_not_found_names_the_requested_uri() -> None:
    server = Server("nf", "1.0")

    @server.resource("x://alias")
    async def alias() -> str:
        raise ResourceNotFound("x://target")  # the reader names another URI

    @server.prompt()
    async def needs_a_file() -> str:
        raise ResourceNotFound()

    async with connected(server, mode="legacy") as session:
        with pytest.raises(MCPError) as info:
            await session.read_resource("x://alias")
        assert (info.value.code, info.value.message, info.value.data) == (
            -32002, "resource not found: x://alias", {"uri": "x://alias"})
        with pytest.raises(MCPError) as info:
            await session.get_prompt("needs_a_file")
        assert (info.value.code, info.value.message, info.value.data) == (
            -32002, "resource not found", None)


# ---------------------------------------------------------------- sync handlers and threads


async def _wait_threading_event(event: threading.Event) -> None:
    """Wait for a threading.Event from trio without blocking the loop (bounded)."""
    assert await trio.to_thread.run_sync(event.wait, 10.0), "the event was never set"


async def test_a_blocking_sync_tool_does_not_stop_other_sessions() -> None:
    started, release = threading.Event(), threading.Event()
    server = Server("threads", "1.0")

    @server.tool()
    def slow() -> str:
        started.set()
        assert release.wait(10.0)
        return "slow done"

    @server.tool()
    async def quick() -> str:
        return "quick done"

    results: list[str] = []
    async with connected(server) as first, connected(server) as second:
        async with trio.open_nursery() as nursery:
            async def call_slow() -> None:
                result = await first.call_tool("slow")
                results.append(result.content[0].text)  # type: ignore[union-attr]

            nursery.start_soon(call_slow)
            await _wait_threading_event(started)
            # The sync tool is blocked in its thread; both sessions still get answers.
            other = await second.call_tool("quick")
            same = await first.call_tool("quick")
            assert [other.content[0].text, same.content[0].text] == [  # type: ignore[union-attr]
                "quick done", "quick done"]
            assert results == []
            release.set()
    assert results == ["slow done"]


async def test_sync_handlers_run_in_threads_unless_not_blocking() -> None:
    main = threading.get_ident()
    seen: dict[str, int] = {}
    server = Server("threads", "1.0")

    @server.tool()
    def threaded() -> str:
        seen["tool"] = threading.get_ident()
        return "ok"

    @server.tool(blocking=False)
    def inline() -> str:
        seen["inline tool"] = threading.get_ident()
        return "ok"

    @server.resource("x://r")
    def resource() -> str:
        seen["resource"] = threading.get_ident()
        return "r"

    @server.resource_template("x://t/{name}", blocking=False)
    def template(name: str) -> str:
        seen["inline template"] = threading.get_ident()
        return name

    @server.prompt()
    def prompt() -> str:
        seen["prompt"] = threading.get_ident()
        return "p"

    async with connected(server, mode="legacy") as session:
        await session.call_tool("threaded")
        await session.call_tool("inline")
        await session.read_resource("x://r")
        await session.read_resource("x://t/a")
        await session.get_prompt("prompt")
    assert {k: v == main for k, v in seen.items()} == {
        "tool": False, "inline tool": True, "resource": False, "inline template": True,
        "prompt": False}


async def test_a_sync_tool_reaches_its_context_from_the_thread() -> None:
    logs: list[Any] = []
    server = Server("threads", "1.0")

    @server.tool()
    def chatty(ctx: Context) -> str:
        trio.from_thread.run(ctx.log, "info", "from a thread")
        return "ok"

    async def on_log(params: t.LoggingMessageNotificationParams) -> None:
        logs.append(params.data)

    async with connected(server, logging_handler=on_log, mode="legacy") as session:
        assert (await session.call_tool("chatty")).content == [t.TextContent(text="ok")]
    assert logs == ["from a thread"]


async def test_a_cancelled_sync_call_abandons_its_thread() -> None:
    started, release, finished = threading.Event(), threading.Event(), threading.Event()
    server = Server("threads", "1.0", max_threads=1)

    @server.tool()
    def stuck() -> str:
        started.set()
        assert release.wait(10.0)
        finished.set()
        return "late"

    @server.tool()
    async def quick() -> str:
        return "quick"

    async with assert_no_leaks():
        async with connected(server, mode="legacy") as session:
            with trio.CancelScope() as scope:
                async with trio.open_nursery() as nursery:
                    nursery.start_soon(session.call_tool, "stuck")
                    await _wait_threading_event(started)
                    scope.cancel()  # the client cancels: notifications/cancelled
            # The server's handler is gone though the thread still runs: the session
            # answers and closes without waiting for it.
            assert (await session.call_tool("quick")).content[0].text == "quick"  # type: ignore[union-attr]
            assert server.thread_limiter.borrowed_tokens == 1  # held until the thread ends
        assert not finished.is_set()
    release.set()
    await _wait_threading_event(finished)
    async with server.thread_limiter:  # the abandoned thread's token comes back when it ends
        assert server.thread_limiter.borrowed_tokens == 1


# ---------------------------------------------------------------- Image / Audio


PNG = b"\x89PNG\r\n\x1a\nfake image bytes"
MP3 = b"ID3fake audio bytes"


async def test_image_and_audio_content_on_the_wire(tmp_path: Path) -> None:
    (tmp_path / "chart.png").write_bytes(PNG)
    (tmp_path / "clip.mp3").write_bytes(MP3)
    rec = Recorder()
    server = Server("media", "1.0", trace=rec)

    @server.tool()
    async def chart() -> Image:
        return Image(tmp_path / "chart.png")

    @server.tool()
    async def mixed() -> list[Any]:
        return ["a chart and a clip", Image(data=PNG, mime_type="image/webp"),
                Audio(str(tmp_path / "clip.mp3"))]

    @server.prompt()
    async def show() -> list[Any]:
        return ["look", Image(data=PNG, mime_type="image/png")]

    async with connected(server, mode="legacy") as session:
        tools = {tool.name: tool for tool in (await session.list_tools()).tools}
        assert tools["chart"].output_schema is None  # content, not structured output
        one = await session.call_tool("chart")
        assert one.content == [t.ImageContent(data=base64.b64encode(PNG).decode(),
                                              mime_type="image/png")]
        await session.call_tool("mixed")
        prompt = await session.get_prompt("show")
        assert prompt.messages[1].content == t.ImageContent(
            data=base64.b64encode(PNG).decode(), mime_type="image/png")
    results = [f["result"] for f in rec.sent if "result" in f and "content" in f["result"]]
    assert results[1]["content"] == [
        {"type": "text", "text": "a chart and a clip"},
        {"type": "image", "data": base64.b64encode(PNG).decode(), "mimeType": "image/webp"},
        {"type": "audio", "data": base64.b64encode(MP3).decode(), "mimeType": "audio/mpeg"},
    ]
    assert base64.b64decode(results[0]["content"][0]["data"]) == PNG
    for frame in rec.sent:
        assert_valid(HANDSHAKE_VERSIONS[-1], frame)


def test_media_arguments_are_checked(tmp_path: Path) -> None:
    (tmp_path / "notes.xyz-unknown").write_bytes(b"?")
    (tmp_path / "song.mp3").write_bytes(MP3)
    with pytest.raises(ValueError, match=r"cannot tell the image type of .*notes\.xyz-unknown"):
        Image(tmp_path / "notes.xyz-unknown")
    with pytest.raises(ValueError, match="its type is audio/mpeg"):
        Image(tmp_path / "song.mp3")
    with pytest.raises(ValueError, match="data needs a mime_type"):
        Audio(data=MP3)
    with pytest.raises(ValueError, match="either a path or data"):
        Image(tmp_path / "song.mp3", data=PNG)
    with pytest.raises(ValueError, match="either a path or data"):
        Image()
    with pytest.raises(ValueError, match="not a MIME type"):
        Image(data=PNG, mime_type="png")
    # An explicit type wins over the extension.
    forced = Image(tmp_path / "notes.xyz-unknown", mime_type="image/x-custom")
    assert forced.to_content() == t.ImageContent(data="Pw==", mime_type="image/x-custom")
    with pytest.raises(FileNotFoundError):
        Image(tmp_path / "absent.png")


# ---------------------------------------------------------------- lifespan


class Counted:
    """A lifespan that counts its entries and exits and runs a background task."""

    def __init__(self, fail_on_enter: bool = False, fail_on_exit: bool = False) -> None:
        self.enters = 0
        self.exits = 0
        self.fail_on_enter = fail_on_enter
        self.fail_on_exit = fail_on_exit

    @asynccontextmanager
    async def __call__(self, server: Server) -> AsyncIterator[dict[str, Any]]:
        self.enters += 1
        if self.fail_on_enter:
            raise RuntimeError("database is down")
        # A nursery: entered in one task and exited in another would break it.
        async with trio.open_nursery() as nursery:
            nursery.start_soon(trio.sleep_forever)
            try:
                yield {"db": f"connection {self.enters}", "server": server.info.name}
            finally:
                nursery.cancel_scope.cancel()
                self.exits += 1
        if self.fail_on_exit:
            raise RuntimeError("could not flush")


def lifespan_server(lifespan: Counted) -> Server:
    server = Server("life", "1.0", lifespan=lifespan)

    @server.tool()
    async def db(ctx: Context) -> str:
        return str(ctx.lifespan_context["db"])

    return server


async def test_one_lifespan_for_concurrent_sessions() -> None:
    lifespan = Counted()
    server = lifespan_server(lifespan)
    with pytest.raises(RuntimeError, match="lifespan of server 'life' is not running"):
        _ = server.lifespan_context
    async with assert_no_leaks():
        async with trio.open_nursery() as nursery:
            client_a, server_a = memory_transport_pair()
            client_b, server_b = memory_transport_pair()
            await nursery.start(server.serve, server_a)
            await nursery.start(server.serve, server_b)
            assert lifespan.enters == 1
            async with Client("b", "1", mode="legacy").connect(client_b) as b:
                async with Client("a", "1", mode="legacy").connect(client_a) as a:
                    for session in (a, b):
                        result = await session.call_tool("db")
                        assert result.content == [t.TextContent(text="connection 1")]
                # The first session (the one that entered the lifespan) ended: still running.
                await trio.testing.wait_all_tasks_blocked()
                assert lifespan.exits == 0
                assert (await b.call_tool("db")).content[0].text == "connection 1"  # type: ignore[union-attr]
    assert (lifespan.enters, lifespan.exits) == (1, 1)
    # A later serving call starts a fresh one.
    async with connected(server, mode="legacy") as session:
        assert (await session.call_tool("db")).content[0].text == "connection 2"  # type: ignore[union-attr]
    assert (lifespan.enters, lifespan.exits) == (2, 2)


async def test_running_is_explicit_nested_and_shared() -> None:
    lifespan = Counted()
    server = lifespan_server(lifespan)
    async with server.running() as value:
        assert value == {"db": "connection 1", "server": "life"}
        assert server.lifespan_context is value
        async with server.running() as again, connected(server) as session:
            assert again is value
            assert (await session.call_tool("db")).content[0].text == "connection 1"  # type: ignore[union-attr]
        assert lifespan.exits == 0
    assert (lifespan.enters, lifespan.exits) == (1, 1)
    async with Server("plain", "1").running() as nothing:
        assert nothing is None


async def test_a_lifespan_failing_on_enter_fails_serve() -> None:
    lifespan = Counted(fail_on_enter=True)
    server = lifespan_server(lifespan)
    _, server_end = memory_transport_pair()
    with pytest.raises(LifespanError) as info:
        await server.serve(server_end)
    assert str(info.value) == ("the lifespan of server 'life' failed to start: "
                               "RuntimeError: database is down")
    assert isinstance(info.value.__cause__, RuntimeError)
    assert server.sessions == []
    with pytest.raises(LifespanError, match="failed to start"):
        async with connected(server):
            pass  # pragma: no cover


async def test_a_lifespan_failing_on_exit_fails_the_last_to_leave() -> None:
    server = lifespan_server(Counted(fail_on_exit=True))
    with pytest.raises(LifespanError) as info:
        async with server.running():
            pass
    assert str(info.value) == ("the lifespan of server 'life' failed on exit: "
                               "RuntimeError: could not flush")


async def test_a_lifespan_still_entering_is_cancelled_when_everyone_leaves() -> None:
    entering, exited = trio.Event(), trio.Event()

    @asynccontextmanager
    async def slow(server: Server) -> AsyncIterator[None]:
        entering.set()
        try:
            await trio.sleep_forever()  # e.g. a database that does not answer
            yield  # pragma: no cover
        finally:
            exited.set()

    # A close_timeout beyond the test guard: waiting for it instead of cancelling would fail.
    server = Server("slow", "1.0", lifespan=slow, close_timeout=60)
    async with assert_no_leaks():
        with trio.CancelScope() as scope:
            async with trio.open_nursery() as nursery:
                async def enter() -> None:
                    async with server.running():
                        raise AssertionError("never entered")  # pragma: no cover

                nursery.start_soon(enter)
                nursery.start_soon(enter)
                await entering.wait()
                scope.cancel()  # both users give up while it is entering
        assert exited.is_set()
    with pytest.raises(RuntimeError, match="not running"):
        _ = server.lifespan_context


async def test_serve_http_runs_one_lifespan_for_every_request() -> None:
    lifespan = Counted()
    server = lifespan_server(lifespan)
    async with trio.open_nursery() as nursery:
        info = await nursery.start(lambda task_status: serve_http(
            server, "127.0.0.1", 0, stateless=True, task_status=task_status))
        assert lifespan.enters == 1
        for _ in range(2):  # stateless: every request is a session of its own
            async with Client("c", "1", mode="legacy").connect(
                    StreamableHTTPTransport(info.url)) as session:
                result = await session.call_tool("db")
                assert result.content == [t.TextContent(text="connection 1")]
        assert (lifespan.enters, lifespan.exits) == (1, 0)
        nursery.cancel_scope.cancel()
    assert (lifespan.enters, lifespan.exits) == (1, 1)


LIFESPAN_SERVER = """
import sys
from contextlib import asynccontextmanager
from trio_adapter import Context, Server

@asynccontextmanager
async def lifespan(server):
    print("lifespan: enter", file=sys.stderr, flush=True)
    if FAIL:
        raise RuntimeError("database is down")
    yield {"db": "the database"}
    print("lifespan: exit", file=sys.stderr, flush=True)

server = Server("cli-life", "1.0", lifespan=lifespan)

@server.tool()
async def db(ctx: Context) -> str:
    return ctx.lifespan_context["db"]
"""


@pytest.mark.parametrize("fail", [False, True])
def test_trio_mcp_serve_runs_the_lifespan(tmp_path: Path, fail: bool) -> None:
    script = tmp_path / "life_server.py"
    script.write_text(f"FAIL = {fail}\n" + LIFESPAN_SERVER)
    serve = [sys.executable, "-m", "trio_adapter", "serve", str(script), "--stdio"]
    if not fail:
        proc = subprocess.run([sys.executable, "-m", "trio_adapter", "call", "db", "--", *serve],
                              capture_output=True, text=True, timeout=60, check=False)
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.strip() == "the database"
        return
    for transport in (["--stdio"], ["--http", "127.0.0.1:0"]):
        proc = subprocess.run([*serve[:-1], *transport], capture_output=True, text=True,
                              timeout=60, check=False, input="")
        assert proc.returncode == 1
        assert proc.stderr.splitlines() == [
            "lifespan: enter",
            "trio-mcp: error: the lifespan of server 'cli-life' failed to start: "
            "RuntimeError: database is down"]


# ---------------------------------------------------------------- testing.connected


async def test_connected_gives_an_initialized_session_and_leaves_nothing() -> None:
    lifespan = Counted()
    server = lifespan_server(lifespan)
    async with assert_no_leaks():
        async with connected(server, protocol_version="2025-03-26") as session:
            assert session.protocol_version == "2025-03-26"
            assert session.server_info is not None and session.server_info.name == "life"
            assert (await session.call_tool("db")).content[0].text == "connection 1"  # type: ignore[union-attr]
            assert len(server.sessions) == 1
        assert server.sessions == []
        assert (lifespan.enters, lifespan.exits) == (1, 1)
    client = Client("mine", "2.0", mode="legacy")
    async with connected(server, client) as session:
        assert session.client is client
    with pytest.raises(TypeError, match="either a client or client options"):
        async with connected(server, client, protocol_version="2025-03-26"):
            pass  # pragma: no cover


async def test_connected_propagates_the_test_failure() -> None:
    server = lifespan_server(Counted())
    async with assert_no_leaks():
        with pytest.raises(KeyError, match="from the test"):
            async with connected(server):
                raise KeyError("from the test")


@pytest.mark.parametrize("module", ["trio_adapter.content", "trio_adapter.testing"])
def test_module_docstring_examples_run(module: str) -> None:
    import doctest
    import importlib

    result = doctest.testmod(importlib.import_module(module), verbose=False)
    assert result.attempted > 0 and result.failed == 0
