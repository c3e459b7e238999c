"""The client in the 2026-07-28 era: the era probe and its fallback, MRTR rounds, listen, and
the facts a session reports, against a tiny modern-only engine server in this file."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
import trio
import trio.testing

from sansio import (
    NEED_DATA,
    SUPPORTED_VERSIONS,
    Connection,
    InitializeRequested,
    LocalProtocolError,
    PeerDisconnected,
    RemoteProtocolError,
    RequestReceived,
    Role,
)
from sansio.versions import HANDSHAKE_VERSIONS, Era
from trio_adapter import (
    Client,
    CommandTransport,
    ConnectError,
    MCPError,
    RequestContext,
    Server,
    Transport,
    memory_transport_pair,
)
from trio_adapter import client as client_module
from trio_adapter.client import forget_eras

ROOT = Path(__file__).resolve().parents[2]
ASK_SCHEMA = {"type": "object", "properties": {"ok": {"type": "boolean"}}}
TOOLS = [
    {"name": "echo", "inputSchema": {"type": "object", "properties": {"text": {"type": "string"}}}},
    {"name": "ask", "inputSchema": {"type": "object"}},
    {"name": "wait", "inputSchema": {"type": "object"}},
    {"name": "forever", "inputSchema": {"type": "object"}},
    {"name": "bad", "inputSchema": {"type": "object", "properties": {
        "a": {"type": "object", "x-mcp-header": "A"}}}},
]


class ModernServer:
    """A 2026-07-28-only server on the engine: what it saw, for the assertions."""

    def __init__(self) -> None:
        self.conn = Connection(Role.SERVER, server_info={"name": "modern", "version": "9"},
                               server_capabilities={"tools": {"listChanged": True}})
        self.seen: list[RequestReceived] = []

    def handle(self, event: RequestReceived) -> None:
        conn, rid, params = self.conn, event.request_id, event.params or {}
        self.seen.append(event)
        if event.method == "server/discover":
            conn.send_discover_result(rid, instructions="be modern")
        elif event.method == "tools/list":
            conn.send_response(rid, {"tools": TOOLS})
        elif event.method == "subscriptions/listen":
            conn.accept_listen(rid, params)
            conn.send_notification("notifications/tools/list_changed")
        elif event.method == "tools/call":
            name = params.get("name")
            if name == "echo":
                conn.send_response(rid, {"content": [
                    {"type": "text", "text": params["arguments"]["text"]}]})
            elif name == "ask" and not event.is_retry:
                conn.send_input_required(rid, {"q": {"method": "elicitation/create", "params": {
                    "mode": "form", "message": "ok?", "requestedSchema": ASK_SCHEMA}}},
                    'state "1" \u00e9')
            elif name == "ask":
                answer = event.input_responses["q"]
                conn.send_response(rid, {"content": [{"type": "text", "text": json.dumps(
                    [event.request_state, answer["content"]["ok"]])}]})
            elif name == "wait" and not event.is_retry:
                conn.send_input_required(rid, None, "s-only")
            elif name == "wait":
                conn.send_response(rid, {"content": [{"type": "text", "text": "waited"}]})
            elif name == "forever":
                conn.send_input_required(rid, None, f"again-{rid}")
            else:
                conn.send_error(rid, -32602, f"no tool {name}")
        else:
            conn.send_error(rid, -32601, f"no method {event.method}")

    async def flush(self) -> None:
        await self.transport.send(self.conn.data_to_send())

    async def run(self, transport: Any) -> None:
        self.transport = transport
        conn = self.conn
        while True:
            data = await transport.receive()
            conn.receive_data(data)
            while True:
                try:
                    event = conn.next_event()
                except RemoteProtocolError as exc:
                    if exc.response_hint is not None:
                        await transport.send(exc.response_hint)
                    continue
                if event is NEED_DATA or isinstance(event, PeerDisconnected):
                    break
                if isinstance(event, InitializeRequested):  # modern only
                    conn.send_error(event.request_id, -32601, "this server speaks 2026-07-28")
                elif isinstance(event, RequestReceived):
                    self.handle(event)
            out = conn.data_to_send()
            if out:
                await transport.send(out)
            if not data:
                return


@asynccontextmanager
async def modern(client: Client, **connect: Any) -> AsyncIterator[tuple[Any, ModernServer]]:
    server = ModernServer()
    client_end, server_end = memory_transport_pair()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(server.run, server_end)
        async with client.connect(client_end, **connect) as session:
            yield session, server
        nursery.cancel_scope.cancel()


def both(**kwargs: Any) -> Client:
    return Client("c", "1", supported_versions=SUPPORTED_VERSIONS, **kwargs)


async def accept(ctx: RequestContext, params: Any) -> dict[str, Any]:
    return {"action": "accept", "content": {"ok": True}}


# ---------------------------------------------------------------- the era


async def test_auto_speaks_2026_07_28_with_a_modern_only_server() -> None:
    async with modern(both()) as (session, server):
        assert session.era is Era.STATELESS and session.protocol_version == "2026-07-28"
        assert session.server_info.name == "modern" and session.server_info.version == "9"
        assert session.server_capabilities == {"tools": {"listChanged": True}}
        assert session.instructions == "be modern"
        result = await session.call_tool("echo", {"text": "hi"})
        assert result.content[0].text == "hi"
    assert [e.method for e in server.seen] == ["server/discover", "tools/call"]
    assert all(e.protocol_version == "2026-07-28" for e in server.seen)


async def test_a_default_client_still_starts_with_initialize() -> None:
    # No stateless revision configured: no probe, the handshake era exactly as before.
    server = Server("legacy", "1", supported_versions=HANDSHAKE_VERSIONS)
    client_end, server_end = memory_transport_pair()
    async with server.connect(server_end), Client("c", "1").connect(client_end) as session:
        assert session.era is Era.HANDSHAKE and session.protocol_version == "2025-11-25"


async def test_auto_falls_back_to_initialize_with_a_legacy_server() -> None:
    server = Server("legacy", "1", supported_versions=HANDSHAKE_VERSIONS)
    client_end, server_end = memory_transport_pair()
    async with server.connect(server_end), both().connect(client_end) as session:
        assert session.era is Era.HANDSHAKE and session.protocol_version == "2025-11-25"
        assert session.server_info.name == "legacy"
        await session.ping()


async def test_pinned_legacy_and_pinned_version() -> None:
    server = Server("legacy", "1", supported_versions=HANDSHAKE_VERSIONS)
    client_end, server_end = memory_transport_pair()
    async with server.connect(server_end), \
            both().connect(client_end, protocol_version="2025-06-18") as session:
        assert session.era is Era.HANDSHAKE and session.protocol_version == "2025-06-18"
    with pytest.raises(Exception) as info:
        async with modern(both(), mode="legacy"):
            pytest.fail("a modern-only server does not answer initialize")  # pragma: no cover
    assert info.group_contains(ConnectError, match="refused initialize")


async def test_pinned_modern_against_a_legacy_server_is_a_connect_error() -> None:
    server = Server("legacy", "1", supported_versions=HANDSHAKE_VERSIONS)
    client_end, server_end = memory_transport_pair()
    async with server.connect(server_end):
        with pytest.raises(ConnectError, match="does not speak 2026-07-28"):
            async with Client("c", "1", mode="modern").connect(client_end):
                pytest.fail("not reached")  # pragma: no cover


class DropFirst(Transport):
    """The client's side of a path that loses the client's first write (the probe)."""

    def __init__(self, inner: Transport) -> None:
        self.inner, self.dropped = inner, False

    async def send(self, data: bytes) -> None:
        if not self.dropped:
            self.dropped = True
            await trio.lowlevel.checkpoint()
            return
        await self.inner.send(data)

    async def receive(self) -> bytes:
        return await self.inner.receive()

    async def aclose(self) -> None:
        await self.inner.aclose()


async def test_a_silent_probe_times_out_and_falls_back(autojump_clock: Any) -> None:
    server = Server("quiet", "1")
    client_end, server_end = memory_transport_pair()
    async with server.connect(server_end):
        start = trio.current_time()
        async with both(probe_timeout=2.0).connect(DropFirst(client_end)) as session:
            assert session.era is Era.HANDSHAKE
            assert trio.current_time() - start >= 2.0
            await session.ping()


# ---------------------------------------------------------------- multi round-trip requests


async def test_an_input_required_round_is_answered_by_the_elicitation_handler() -> None:
    async with modern(both(elicitation_handler=accept)) as (session, server):
        result = await session.call_tool("ask")
    assert json.loads(result.content[0].text) == ['state "1" \u00e9', True]
    first, retry = [e for e in server.seen if e.method == "tools/call"]
    assert retry.request_id != first.request_id and retry.is_retry
    assert retry.request_state == 'state "1" \u00e9'  # echoed byte-exact
    # call_tool declares the tasks extension on each tools/call (docs/adapter.md, Tasks)
    assert retry.client_capabilities == {
        "elicitation": {}, "extensions": {"io.modelcontextprotocol/tasks": {}}}


async def test_a_state_only_round_is_retried_after_a_backoff(autojump_clock: Any) -> None:
    async with modern(both(input_backoff=0.5)) as (session, server):
        start = trio.current_time()
        result = await session.call_tool("wait")
        assert trio.current_time() - start >= 0.5
    assert result.content[0].text == "waited"
    retry = [e for e in server.seen if e.method == "tools/call"][-1]
    assert retry.request_state == "s-only" and retry.input_responses is None


async def test_rounds_run_out_with_a_clear_error(autojump_clock: Any) -> None:
    async with modern(both(max_input_rounds=3)) as (session, server):
        with pytest.raises(MCPError, match="after 3 rounds"):
            await session.call_tool("forever")
    assert len([e for e in server.seen if e.method == "tools/call"]) == 4


async def test_a_missing_handler_is_a_clear_error() -> None:
    # A compliant server never asks for input the request did not declare (-32021): a
    # server that does anyway gets a clear error, not a hang.
    async with modern(both()) as (session, _):
        with pytest.raises(MCPError, match="asks for sampling/createMessage input"):
            await session._fulfil("tools/call", {"s": {"method": "sampling/createMessage",
                                                       "params": {}}})


async def test_parallel_calls_never_share_inputs_or_state() -> None:
    async with modern(both(elicitation_handler=accept)) as (session, server):
        results: list[Any] = []
        async with trio.open_nursery() as nursery:
            for name in ("ask", "echo", "ask", "wait"):
                async def one(name: str = name) -> None:
                    args = {"text": "plain"} if name == "echo" else None
                    results.append(await session.call_tool(name, args))
                nursery.start_soon(one)
    assert len(results) == 4
    for event in server.seen:
        if event.method == "tools/call" and event.params["name"] == "echo":
            assert event.request_state is None and event.input_responses is None


# ---------------------------------------------------------------- tools/list and listen


async def test_tools_with_invalid_header_annotations_are_dropped(
        caplog: pytest.LogCaptureFixture) -> None:
    async with modern(both()) as (session, _):
        with caplog.at_level("WARNING", logger="trio_mcp.client"):
            names = [tool.name for tool in await session.list_all_tools()]
    assert names == ["echo", "ask", "wait", "forever"]
    assert any("dropping tool 'bad'" in r.getMessage() for r in caplog.records)


async def test_listen_yields_the_notifications_asked_for() -> None:
    async with modern(both()) as (session, server):
        async with session.listen(tools=True, prompts=True) as listener:
            assert listener.honoured is not None and listener.honoured.tools_list_changed
            assert not listener.honoured.prompts_list_changed  # not advertised: declined
            note = await listener.receive()
        assert note.method == "notifications/tools/list_changed"
        await session.call_tool("echo", {"text": "still fine"})
    assert "subscriptions/listen" in [e.method for e in server.seen]


async def test_a_listen_the_server_ends_ends_the_iteration() -> None:
    async with modern(both()) as (session, server):
        async with session.listen(tools=True) as listener:
            first = await listener.receive()
            [rid] = list(server.conn.listen_streams)
            server.conn.end_listen(rid, "done")
            await server.flush()
            rest = [note async for note in listener]
        assert first.method == "notifications/tools/list_changed" and rest == []


async def test_listen_in_the_handshake_era_passes_on_the_server_notifications() -> None:
    server = Server("legacy", "1", supported_versions=HANDSHAKE_VERSIONS)

    @server.tool()
    async def noop() -> str:
        return "ok"

    client_end, server_end = memory_transport_pair()
    async with server.connect(server_end) as server_session, \
            both().connect(client_end) as session:
        async with session.listen(tools=True) as listener:
            await server_session.send_notification("notifications/tools/list_changed")
            note = await listener.receive()
    assert note.method == "notifications/tools/list_changed"


# ---------------------------------------------------------------- stdio: restart and cache

DIES_ON_PROBE = textwrap.dedent("""
    import json, os, sys
    marker = sys.argv[1]
    if not os.path.exists(marker):
        open(marker, "w").close()
        line = sys.stdin.readline()
        assert json.loads(line)["method"] == "server/discover"
        if sys.argv[2] == "hang":  # an old server that goes silent on it, until its end
            sys.stdin.read()
        sys.exit(3)  # an old server that dies on a request it does not know
    sys.argv[1:] = []
    exec(compile(open(sys.argv[0].rsplit("|", 1)[-1]).read(), "srv", "exec"))
""")


async def test_a_stdio_server_that_dies_on_the_probe_is_started_again(tmp_path: Path) -> None:
    forget_eras()
    script = tmp_path / "dies.py"
    script.write_text(DIES_ON_PROBE.replace(
        'sys.argv[0].rsplit("|", 1)[-1]', repr(str(ROOT / "examples/engine_stdio_server.py"))))
    marker = tmp_path / "started-once"
    argv = [sys.executable, str(script), str(marker), "die"]
    async with both().connect(CommandTransport(argv, stderr="capture")) as session:
        assert session.era is Era.HANDSHAKE
        assert (await session.call_tool("echo", {"text": "back"})).content[0].text == "back"
    key = ("stdio", tuple(argv), "")
    assert client_module._ERA_CACHE[key] == "2025-11-25"
    # Cached: the next connection goes straight to initialize (the server would die again
    # on a probe if the marker were gone).
    marker.unlink()
    marker.touch()
    async with both().connect(CommandTransport(argv, stderr="capture")) as session:
        assert session.era is Era.HANDSHAKE
    forget_eras()


async def test_a_stdio_server_silent_on_the_probe_is_started_again(tmp_path: Path) -> None:
    forget_eras()
    script = tmp_path / "hangs.py"
    script.write_text(DIES_ON_PROBE.replace(
        'sys.argv[0].rsplit("|", 1)[-1]', repr(str(ROOT / "examples/engine_stdio_server.py"))))
    argv = [sys.executable, str(script), str(tmp_path / "started-once"), "hang"]
    transport = CommandTransport(argv, stderr="capture", close_timeout=0.2)
    async with both(probe_timeout=1.0).connect(transport) as session:
        assert session.era is Era.HANDSHAKE
        assert session.transport is not transport  # a fresh process got initialize
        assert transport.returncode is not None  # the silent one is gone
        assert (await session.call_tool("echo", {"text": "ok"})).content[0].text == "ok"
    forget_eras()


async def test_a_dual_era_stdio_server_ends_modern_and_is_cached() -> None:
    forget_eras()
    argv = [sys.executable, str(ROOT / "examples/engine_stdio_server.py"), "--dual-era"]
    async with both().connect(CommandTransport(argv, stderr="capture")) as session:
        assert session.era is Era.STATELESS and session.protocol_version == "2026-07-28"
        assert session.server_info.name == "engine-stdio-server"
        with pytest.raises(LocalProtocolError):
            await session.send_request("logging/setLevel", {"level": "info"})  # removed
        await session.set_logging_level("info")  # per request instead
        assert (await session.call_tool("echo", {"text": "x"})).content[0].text == "x"
    assert client_module._ERA_CACHE[("stdio", tuple(argv), "")] == "2026-07-28"
    forget_eras()


# ---------------------------------------------------------------- the CLI

MODERN_ONLY = textwrap.dedent("""
    import sys
    sys.path.insert(0, {root!r})
    from sansio import NEED_DATA, Connection, InitializeRequested, RequestReceived, Role
    conn = Connection(Role.SERVER, server_info={{"name": "modern-only", "version": "3"}},
                      server_capabilities={{"tools": {{}}}})
    out = sys.stdout.buffer
    for line in sys.stdin.buffer:
        conn.receive_data(line)
        while (event := conn.next_event()) is not NEED_DATA:
            if isinstance(event, InitializeRequested):
                sys.exit(7)  # speaks 2026-07-28 only
            if isinstance(event, RequestReceived):
                if event.method == "server/discover":
                    conn.send_discover_result(event.request_id)
                elif event.method == "tools/list":
                    conn.send_response(event.request_id, {{"tools": [{{"name": "echo",
                        "inputSchema": {{"type": "object", "properties": {{
                            "text": {{"type": "string"}}}}}}}}]}})
                else:
                    text = event.params["arguments"]["text"]
                    conn.send_response(event.request_id, {{"content": [
                        {{"type": "text", "text": text}}]}})
        out.write(conn.data_to_send())
        out.flush()
""")


def cli(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    server = tmp_path / "modern_only.py"
    server.write_text(MODERN_ONLY.format(root=str(ROOT)))
    return subprocess.run([sys.executable, "-m", "trio_adapter", *args, "--", sys.executable,
                           str(server)], check=False, cwd=ROOT, capture_output=True, text=True,
                          timeout=60)


def test_cli_inspect_and_call_a_modern_only_server(tmp_path: Path) -> None:
    proc = cli(tmp_path, "inspect")
    assert proc.returncode == 0, proc.stderr
    assert "protocol: 2026-07-28 (modern" in proc.stdout and "modern-only 3" in proc.stdout
    proc = cli(tmp_path, "inspect", "--json", "--protocol", "2026-07-28")
    report = json.loads(proc.stdout)
    assert report["era"] == "modern" and report["protocolVersion"] == "2026-07-28"
    proc = cli(tmp_path, "call", "echo", "text=hello")
    assert proc.returncode == 0, proc.stderr
    assert "hello" in proc.stdout
    proc = cli(tmp_path, "inspect", "--era", "legacy")
    assert proc.returncode != 0  # it exits on initialize


async def test_a_default_client_and_a_default_server_end_on_2026_07_28() -> None:
    """Nothing configured on either side: the client probes, the dual-era server answers
    server/discover, and the session speaks the newest revision with no handshake; a tool
    call works the same as in the handshake era."""
    server = Server("s", "1")

    @server.tool()
    async def echo(text: str) -> str:
        return text

    client_end, server_end = memory_transport_pair()
    async with server.connect(server_end), Client("c", "1").connect(client_end) as session:
        assert session.era is Era.STATELESS and session.protocol_version == "2026-07-28"
        assert session.server_info.name == "s"
        result = await session.call_tool("echo", {"text": "hi"})
        assert result.content[0].text == "hi"  # type: ignore[union-attr]
