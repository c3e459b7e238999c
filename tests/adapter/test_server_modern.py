"""One Server, both eras: what a 2026-07-28 client sees over ``server.serve(transport)``.

The client here is the sans-IO engine in the stateless era, moving bytes over the in-memory
transport, so every assertion is about the wire: ``server/discover``, the per-request
capabilities and log level, progress, multi round-trip requests (``input_required``, a sealed
``requestState``), ``subscriptions/listen``; and the same handlers in the handshake era.
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
import trio
import trio.testing

from sansio import (
    NEED_DATA,
    Connection,
    ErrorReceived,
    InputRequired,
    ListenAcknowledged,
    NotificationReceived,
    ProgressReceived,
    ResponseReceived,
    Role,
)
from sansio import types as t
from sansio.versions import META_CLIENT_CAPABILITIES, META_PROTOCOL_VERSION
from trio_adapter import Client, Server
from trio_adapter._transport import memory_transport_pair
from trio_adapter.errors import MCPError
from trio_adapter.server import STATE_KEYS_ENV, Context, InputRequest, parse_state_keys
from trio_adapter.testing import connected

V = "2026-07-28"
KEY = "k" * 40
NAME_SCHEMA = {"type": "object", "properties": {"name": {"type": "string"}},
               "required": ["name"]}
ALL_CAPS = {"elicitation": {}, "sampling": {}, "roots": {}}


def make_server(**options: Any) -> Server:
    options.setdefault("state_keys", [KEY])
    server = Server("modern", "2.0", instructions="Be kind.", **options)

    @server.tool(structured_output=False)
    async def greet(ctx: Context) -> str:
        """One handler for both eras: asks the user's name."""
        answer = await ctx.elicit("What is your name?", NAME_SCHEMA, key="user_name")
        name = (answer.content or {}).get("name") if answer.action == "accept" else None
        return f"Hello, {name or 'stranger'}!"

    @server.tool(structured_output=False)
    async def survey(ctx: Context) -> str:
        """Two rounds: the second question depends on nothing but is asked after the first."""
        first = await ctx.elicit("Name?", NAME_SCHEMA, key="step1")
        color, roots = await ctx.ask(
            InputRequest.elicitation("Color?", {"type": "object", "properties": {
                "color": {"type": "string"}}}, key="step2"),
            InputRequest.roots())
        assert first.content is not None and color.content is not None
        return f"{first.content['name']} likes {color.content['color']} in {roots[0].uri}"

    @server.tool(structured_output=False)
    async def needs_sampling(ctx: Context) -> str:
        result = await ctx.sample([{"role": "user", "content": {"type": "text",
                                                                "text": "hi"}}], 10)
        return str(result.model)

    @server.tool(structured_output=False)
    async def chatty(ctx: Context) -> str:
        await ctx.log("debug", "too low")
        await ctx.log("warning", "careful")
        await ctx.server_session.log("error", "from the session")
        await ctx.report_progress(1, 2, "half")
        return "done"

    @server.tool(structured_output=False)
    async def add_tool() -> str:
        server.add_tool(lambda: "new", "fresh", blocking=False)
        return "added"

    @server.tool(structured_output=False)
    async def parallel(ctx: Context) -> str:
        """Asks from two tasks of its own nursery."""
        found: dict[str, Any] = {}

        async def one(key: str) -> None:
            found[key] = await ctx.elicit(key, NAME_SCHEMA, key=key)

        async with trio.open_nursery() as nursery:
            nursery.start_soon(one, "a")
            nursery.start_soon(one, "b")
        return " ".join(found[k].content["name"] for k in sorted(found))

    @server.tool(structured_output=False)
    async def old_style(ctx: Context) -> str:
        """Asks with the session's request method: refused at once in 2026-07-28."""
        await ctx.server_session.elicit("Name?", NAME_SCHEMA)
        return "unreachable"

    @server.tool(structured_output=False)
    async def touch(ctx: Context) -> str:
        await ctx.server_session.send_resource_updated("test://watched")
        return "touched"

    @server.tool()
    async def add(a: int, b: int) -> int:
        return a + b

    @server.resource("test://watched", mime_type="text/plain")
    async def watched() -> str:
        return "watched"

    @server.prompt()
    async def with_context(ctx: Context) -> str:
        answer = await ctx.elicit("Context?", {"type": "object", "properties": {
            "context": {"type": "string"}}}, key="user_context")
        assert answer.content is not None
        return f"Use {answer.content['context']}"

    return server


class ModernClient:
    """A 2026-07-28 client: the sans-IO engine over one end of a memory transport."""

    def __init__(self, transport: Any, capabilities: dict[str, Any] | None = None) -> None:
        self.transport = transport
        self.engine = Connection(Role.CLIENT)
        self.engine.start_stateless(client_capabilities=capabilities or {},
                                    client_info={"name": "modern-test", "version": "1"})
        self.events: list[Any] = []

    async def flush(self) -> None:
        data = self.engine.data_to_send()
        if data:
            await self.transport.send(data)

    async def request(self, method: str, params: dict[str, Any] | None = None,
                      **options: Any) -> Any:
        rid = self.engine.send_request(method, params, **options)
        await self.flush()
        return await self.answer(rid)

    async def retry(self, asked: InputRequired, responses: dict[str, Any]) -> Any:
        rid = self.engine.send_retry(asked, responses)
        await self.flush()
        return await self.answer(rid)

    async def next_event(self) -> Any:
        while True:
            event = self.engine.next_event()
            if event is not NEED_DATA:
                return event
            self.engine.receive_data(await self.transport.receive())

    async def answer(self, rid: Any) -> Any:
        while True:
            event = await self.next_event()
            if isinstance(event, (ResponseReceived, ErrorReceived, InputRequired)) and \
                    event.request_id == rid:
                return event
            self.events.append(event)

    async def send_raw(self, message: dict[str, Any]) -> None:
        await self.transport.send(self.engine.codec.dumps(message) + b"\n")


@asynccontextmanager
async def modern(server: Server, capabilities: dict[str, Any] | None = None
                 ) -> AsyncIterator[tuple[ModernClient, Any]]:
    client_end, server_end = memory_transport_pair()
    async with server.connect(server_end) as session:
        yield ModernClient(client_end, capabilities), session
        await client_end.aclose()


def meta(capabilities: dict[str, Any] | None = None) -> dict[str, Any]:
    return {META_PROTOCOL_VERSION: V, META_CLIENT_CAPABILITIES: capabilities or {}}


# ---------------------------------------------------------------- discover and caching


async def test_discover_and_cached_lists() -> None:
    server = make_server(cache_ttl_ms=60_000, cache_scope="public")
    with trio.fail_after(5):
        async with modern(server) as (client, session):
            found = await client.request("server/discover")
            listed = await client.request("tools/list")
            read = await client.request("resources/read", {"uri": "test://watched"})
            missing = await client.request("resources/read", {"uri": "test://nothing"})
            summed = await client.request("tools/call", {"name": "add",
                                                         "arguments": {"a": 1, "b": 2}})
            assert session.engine.era.name == "STATELESS"
    result = found.result
    assert result["resultType"] == "complete"
    assert result["supportedVersions"][0] == V and "2025-11-25" in result["supportedVersions"]
    assert result["capabilities"]["tools"] == {"listChanged": True}
    assert result["instructions"] == "Be kind."
    assert (result["ttlMs"], result["cacheScope"]) == (60_000, "public")
    assert result["_meta"]["io.modelcontextprotocol/serverInfo"] == {"name": "modern",
                                                                      "version": "2.0"}
    assert listed.result["resultType"] == "complete"
    assert (listed.result["ttlMs"], listed.result["cacheScope"]) == (60_000, "public")
    assert "greet" in [tool["name"] for tool in listed.result["tools"]]
    assert read.result["contents"][0]["text"] == "watched"
    assert (read.result["ttlMs"], read.result["cacheScope"]) == (0, "private")
    assert isinstance(missing, ErrorReceived) and missing.error.code == -32602  # this revision's
    assert summed.result["structuredContent"] == {"result": 3}
    assert summed.result["_meta"]["io.modelcontextprotocol/serverInfo"]["name"] == "modern"


async def test_default_server_is_dual_era_and_handshake_only_refuses_discover() -> None:
    assert V in Server("s", "1").supported_versions
    from sansio import HANDSHAKE_VERSIONS
    server = Server("old", "1", supported_versions=HANDSHAKE_VERSIONS)
    client_end, server_end = memory_transport_pair()
    with trio.fail_after(5):
        async with server.connect(server_end):
            await client_end.send(b'{"jsonrpc":"2.0","id":1,"method":"server/discover",'
                                  b'"params":{"_meta":{"io.modelcontextprotocol/protocolVersion"'
                                  b':"2026-07-28","io.modelcontextprotocol/clientCapabilities"'
                                  b':{}}}}\n')
            reply = await client_end.receive()
            await client_end.aclose()
    assert b'"id":1' in reply and b'"error"' in reply


# ---------------------------------------------------------------- per-request facts


async def test_capability_the_request_did_not_declare_is_32021() -> None:
    with trio.fail_after(5):
        async with modern(make_server()) as (client, _):
            refused = await client.request("tools/call", {"name": "needs_sampling",
                                                          "arguments": {}})
            asked = await client.request(
                "tools/call", {"name": "needs_sampling", "arguments": {},
                               "_meta": meta({"sampling": {}})})
    assert isinstance(refused, ErrorReceived)
    assert refused.error.code == -32021
    assert refused.error.data == {"requiredCapabilities": {"sampling": {}}}
    # The same connection, another request declaring sampling: asked for it.
    assert isinstance(asked, InputRequired)
    [(key, request)] = asked.input_requests.items()
    assert key == "input-1" and request["method"] == "sampling/createMessage"


async def test_log_level_is_per_request_and_progress_goes_to_the_request() -> None:
    with trio.fail_after(5):
        async with modern(make_server()) as (client, _):
            quiet = await client.request("tools/call", {"name": "chatty", "arguments": {}},
                                         progress_token="p1")
            quiet_events, client.events = client.events, []
            loud = await client.request("tools/call", {"name": "chatty", "arguments": {}},
                                        log_level="info")
    assert isinstance(quiet, ResponseReceived) and quiet.result["content"][0]["text"] == "done"
    assert [type(e) for e in quiet_events] == [ProgressReceived]
    assert quiet_events[0].request_id == quiet.request_id and quiet_events[0].message == "half"
    assert isinstance(loud, ResponseReceived)
    logs = [e for e in client.events if isinstance(e, NotificationReceived)]
    # debug is below info; the session's log() finds the request it serves
    assert [e.params["data"] for e in logs] == ["careful", "from the session"]


# ---------------------------------------------------------------- multi round-trip requests


async def test_one_handler_both_eras_elicitation() -> None:
    server = make_server()

    async def on_elicit(ctx: Any, params: Any) -> t.ElicitResult:
        return t.ElicitResult(action="accept", content={"name": "Bob"})

    with trio.fail_after(5):
        # Handshake era: a real elicitation/create request to the client.
        async with connected(server, elicitation_handler=on_elicit) as legacy:
            old = await legacy.call_tool("greet", {})
        # 2026-07-28: input_required, then the retry.
        async with modern(server, {"elicitation": {}}) as (client, _):
            asked = await client.request("tools/call", {"name": "greet", "arguments": {}})
            assert isinstance(asked, InputRequired)
            done = await client.retry(asked, {"user_name": {
                "action": "accept", "content": {"name": "Alice"}}})
    assert old.content[0].text == "Hello, Bob!"
    request = asked.input_requests["user_name"]
    assert request["method"] == "elicitation/create"
    assert request["params"]["requestedSchema"] == NAME_SCHEMA
    assert isinstance(asked.request_state, str)
    assert isinstance(done, ResponseReceived) and done.result_type == "complete"
    assert done.result["content"][0]["text"] == "Hello, Alice!"


async def test_multi_round_carries_earlier_answers_and_asks_several_at_once() -> None:
    with trio.fail_after(5):
        async with modern(make_server(), ALL_CAPS) as (client, _):
            first = await client.request("tools/call", {"name": "survey", "arguments": {}})
            assert isinstance(first, InputRequired) and list(first.input_requests) == ["step1"]
            second = await client.retry(first, {"step1": {"action": "accept",
                                                          "content": {"name": "Ann"}}})
            assert isinstance(second, InputRequired)
            assert sorted(second.input_requests) == ["input-1", "step2"]
            assert second.request_state != first.request_state
            assert second.input_requests["input-1"]["method"] == "roots/list"
            done = await client.retry(second, {
                "step2": {"action": "accept", "content": {"color": "blue"}},
                "input-1": {"roots": [{"uri": "file:///r", "name": "r"}]}})
    assert isinstance(done, ResponseReceived)
    assert done.result["content"][0]["text"] == "Ann likes blue in file:///r"


async def test_prompt_asks_too_and_missing_answers_are_asked_again() -> None:
    with trio.fail_after(5):
        async with modern(make_server(), ALL_CAPS) as (client, _):
            asked = await client.request("prompts/get", {"name": "with_context"})
            assert isinstance(asked, InputRequired)
            wrong = await client.retry(asked, {"other": {"action": "accept", "content": {}}})
            done = await client.retry(asked, {"user_context": {
                "action": "accept", "content": {"context": "tests"}}})
    assert isinstance(wrong, InputRequired) and list(wrong.input_requests) == ["user_context"]
    assert isinstance(done, ResponseReceived)
    assert done.result["messages"][0]["content"]["text"] == "Use tests"


async def test_asking_from_the_handlers_own_tasks_works() -> None:
    """A handler asking from tasks of its own nursery: the input requests come out of the
    exception group; the first one to ask stops the others, so it may take a round each."""
    with trio.fail_after(5):
        async with modern(make_server(), ALL_CAPS) as (client, _):
            answer = await client.request("tools/call", {"name": "parallel", "arguments": {}})
            rounds = 0
            while isinstance(answer, InputRequired):
                rounds += 1
                answer = await client.retry(answer, {
                    k: {"action": "accept", "content": {"name": k.upper()}}
                    for k in answer.input_requests})
    assert isinstance(answer, ResponseReceived) and 1 <= rounds <= 2
    assert answer.result["content"][0]["text"] == "A B"


async def test_tampered_foreign_and_expired_state_are_32602(
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    other = make_server(state_keys=["o" * 40])
    with trio.fail_after(5):
        async with modern(other, ALL_CAPS) as (client, _):
            foreign = await client.request("tools/call", {"name": "greet", "arguments": {}})
        async with modern(make_server(state_ttl=10), ALL_CAPS) as (client, _):
            asked = await client.request("tools/call", {"name": "greet", "arguments": {}})
            answer = {"user_name": {"action": "accept", "content": {"name": "Eve"}}}
            params = {"name": "greet", "arguments": {}, "inputResponses": answer}
            with caplog.at_level(logging.INFO, logger="trio_mcp.server"):
                tampered = await client.request(
                    "tools/call", {**params, "requestState": asked.request_state + "x"})
                stranger = await client.request(
                    "tools/call", {**params, "requestState": foreign.request_state})
                other_args = await client.request(
                    "tools/call", {**params, "arguments": {"x": 1},
                                   "requestState": asked.request_state})
                import trio_adapter.server as server_module
                real = server_module.time.time
                monkeypatch.setattr(server_module.time, "time", lambda: real() + 11)
                expired = await client.request(
                    "tools/call", {**params, "requestState": asked.request_state})
    for refused in (tampered, stranger, other_args, expired):
        assert isinstance(refused, ErrorReceived)
        assert (refused.error.code, refused.error.message) == (-32602, "Invalid requestState")
    reasons = " ".join(r.getMessage() for r in caplog.records)
    assert "expired" in reasons and "key ring" in reasons and "other params" in reasons


async def test_session_requests_fail_fast_and_session_notifications_reach_listens() -> None:
    with trio.fail_after(5):
        async with modern(make_server(), ALL_CAPS) as (client, _):
            refused = await client.request("tools/call", {"name": "old_style", "arguments": {}})
            listen = client.engine.send_listen({"resourceSubscriptions": ["test://watched"]})
            await client.flush()
            assert isinstance(await client.next_event(), ListenAcknowledged)
            touched = await client.request("tools/call", {"name": "touch", "arguments": {}})
    assert refused.result["isError"] and "ctx.elicit" in refused.result["content"][0]["text"]
    assert isinstance(touched, ResponseReceived)
    [note] = [e for e in client.events if isinstance(e, NotificationReceived)]
    assert note.method == "notifications/resources/updated" and note.subscription_id == listen


async def test_only_three_methods_may_ask() -> None:
    server = make_server()
    from sansio.versions import RequestMeta
    ctx = Context(None, 1, "completion/complete", {},  # type: ignore[arg-type]
                  None, RequestMeta(V, ALL_CAPS))
    with pytest.raises(MCPError) as info:
        await ctx.ask(InputRequest.roots())
    assert info.value.code == -32600 and "tools/call" in info.value.message
    assert server.tools


async def test_invalid_answer_is_32602() -> None:
    with trio.fail_after(5):
        async with modern(make_server(), ALL_CAPS) as (client, _):
            bad = await client.request("tools/call", {
                "name": "greet", "arguments": {}, "inputResponses": {"user_name": 12345}})
    assert isinstance(bad, ErrorReceived) and bad.error.code == -32602
    assert "user_name" in bad.error.message


# ---------------------------------------------------------------- requestState keys


async def test_state_keys_shared_between_servers_and_env(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(STATE_KEYS_ENV, f"new:{'n' * 40}, {KEY}")
    rotated = make_server(state_keys=None)  # the env: a new key first, the old one opens
    with trio.fail_after(5):
        async with modern(make_server(), ALL_CAPS) as (client, _):
            asked = await client.request("tools/call", {"name": "greet", "arguments": {}})
        async with modern(rotated, ALL_CAPS) as (client, _):
            done = await client.retry(asked, {"user_name": {"action": "accept",
                                                            "content": {"name": "Sam"}}})
    assert isinstance(done, ResponseReceived)
    assert done.result["content"][0]["text"] == "Hello, Sam!"
    assert parse_state_keys("# comment\nid1:" + "a" * 32)[0] == ("id1", b"a" * 32)
    with pytest.raises(ValueError, match="32 bytes"):
        parse_state_keys("short")


async def test_ephemeral_key_logs_one_line(monkeypatch: pytest.MonkeyPatch,
                                           caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.delenv(STATE_KEYS_ENV, raising=False)
    server = make_server(state_keys=None)
    with trio.fail_after(5), caplog.at_level(logging.WARNING, logger="trio_mcp.server"):
        async with modern(server, ALL_CAPS) as (client, _):
            await client.request("tools/call", {"name": "greet", "arguments": {}})
            await client.request("tools/call", {"name": "greet", "arguments": {}})
    lines = [r.getMessage() for r in caplog.records if "random key" in r.getMessage()]
    assert len(lines) == 1 and "shared key" in lines[0]


# ---------------------------------------------------------------- subscriptions/listen


async def test_listen_fans_out_by_filter_and_close_does_not_wait() -> None:
    server = make_server(handler_grace=30)
    with trio.fail_after(5):
        async with modern(server) as (client, session):
            tools_id = client.engine.send_listen({"toolsListChanged": True})
            res_id = client.engine.send_listen({"resourceSubscriptions": ["test://watched"]})
            await client.flush()
            acks = [await client.next_event(), await client.next_event()]
            assert all(isinstance(a, ListenAcknowledged) for a in acks)
            added = await client.request("tools/call", {"name": "add_tool", "arguments": {}})
            assert isinstance(added, ResponseReceived)
            server.resource_updated("test://watched")
            server.resource_updated("test://other")
            note = await client.next_event()
            while not (isinstance(note, NotificationReceived)
                       and note.method == "notifications/resources/updated"):
                client.events.append(note)
                note = await client.next_event()
            changed = [e for e in client.events if isinstance(e, NotificationReceived)]
            assert [(e.method, e.subscription_id) for e in changed] == [
                ("notifications/tools/list_changed", tools_id)]
            assert note.subscription_id == res_id and note.params["uri"] == "test://watched"
            start = trio.current_time()
            await session.aclose()
            assert trio.current_time() - start < 1  # the listens did not hold the close
            ends = []
            while True:
                try:
                    ends.append(await client.next_event())
                except Exception:
                    break
                if len([e for e in ends if isinstance(e, ResponseReceived)]) == 2:
                    break
    assert sorted(e.request_id for e in ends if isinstance(e, ResponseReceived)) == \
        sorted([tools_id, res_id])


async def test_listen_limit_and_client_cancel() -> None:
    server = make_server(max_listen_streams=1)
    with trio.fail_after(5):
        async with modern(server) as (client, session):
            first = client.engine.send_listen({"toolsListChanged": True})
            await client.flush()
            assert isinstance(await client.next_event(), ListenAcknowledged)
            second = client.engine.send_listen({"promptsListChanged": True})
            await client.flush()
            refused = await client.answer(second)
            client.engine.cancel(first)
            await client.flush()
            await trio.testing.wait_all_tasks_blocked()
            assert not session._listens
            again = client.engine.send_listen({"promptsListChanged": True})
            await client.flush()
            assert isinstance(await client.next_event(), ListenAcknowledged)
            assert again
    assert isinstance(refused, ErrorReceived) and refused.error.code == -32600


# ---------------------------------------------------------------- legacy stays as it was


async def test_handshake_era_keeps_session_capabilities_and_ask() -> None:
    server = make_server()

    async def on_elicit(ctx: Any, params: Any) -> t.ElicitResult:
        return t.ElicitResult(action="accept", content={"name": "N", "color": "red"})

    client = Client("c", "1", elicitation_handler=on_elicit, roots=[t.Root(uri="file:///x")])
    with trio.fail_after(5):
        async with connected(server, client) as session:
            result = await session.call_tool("survey", {})
    assert result.content[0].text == "N likes red in file:///x"


# ---------------------------------------------------------------- trio-mcp serve --state-key-file


def _serve_once(key_file: Path, message: dict[str, Any]) -> tuple[int, str, str]:
    """Run ``trio-mcp serve`` over stdio for one request: write it, read the answer line (stdin
    stays open until then), close stdin; return the exit code, the answer and stderr."""
    root = Path(__file__).resolve().parents[2]
    proc = subprocess.Popen(
        [sys.executable, "-m", "trio_adapter", "serve", str(root / "examples" /
                                                            "everything_server.py"),
         "--stdio", "--state-key-file", str(key_file)],
        cwd=root, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True)
    assert proc.stdin is not None and proc.stdout is not None
    try:
        proc.stdin.write(json.dumps(message) + "\n")
        proc.stdin.flush()
        line = proc.stdout.readline() if message else ""
    except BrokenPipeError:  # it refused to start
        line = ""
    out, err = proc.communicate(timeout=60)
    return proc.returncode, line + out, err


def test_state_key_file_lets_another_process_open_the_state(tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    keys.write_text("# shared by every process\nprod-1:" + "p" * 40 + "\n")
    call = {"name": "test_input_required_result_elicitation", "arguments": {},
            "_meta": meta({"elicitation": {}})}
    code, out, err = _serve_once(keys, {"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                                        "params": call})
    assert code == 0, err
    asked = json.loads(out)["result"]
    assert asked["resultType"] == "input_required" and "random key" not in err
    _, out, _ = _serve_once(keys, {"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {
        **call, "requestState": asked["requestState"],
        "inputResponses": {"user_name": {"action": "accept", "content": {"name": "Ada"}}}}})
    done = json.loads(out)["result"]
    assert done["content"][0]["text"] == "Hello, Ada!"

    keys.write_text("short\n")
    code, _, err = _serve_once(keys, {})
    assert code == 2
    assert err.strip().startswith("trio-mcp: error: --state-key-file")
    assert "32 bytes" in err and "Traceback" not in err
