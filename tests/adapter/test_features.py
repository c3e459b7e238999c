"""The MCP feature set end to end: a trio_adapter Client and Server over memory transports.

Every frame either side writes is checked against the official schema of the negotiated
revision (``checked`` below).
"""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import attrs
import pytest
import trio
import trio.lowlevel
import trio.testing
from adapter_support import Recorder, connected

from sansio import HANDSHAKE_VERSIONS, LocalProtocolError
from sansio import types as t
from tests.test_schema_frames import check_if_available
from trio_adapter import (
    Client,
    ClientSession,
    Context,
    MCPError,
    PeerDisconnected,
    RequestContext,
    Server,
    ServerSession,
    ToolError,
    Transport,
    memory_transport_pair,
)


@attrs.frozen
class Forecast:
    """A weather forecast."""

    city: str
    temperature: float
    conditions: list[str]


@attrs.frozen
class Query:
    city: str
    days: int = 1


def build_server(**kwargs: Any) -> Server:
    server = Server("features", "2.0", instructions="Test server.", **kwargs)

    @server.tool()
    async def echo(text: str) -> str:
        """Echo."""
        return text

    @server.tool()
    def add(a: int, b: int) -> int:
        """A sync tool."""
        return a + b

    @server.tool()
    async def forecast(query: Query) -> Forecast:
        """A tool whose arguments are an attrs class and whose output is structured."""
        return Forecast(city=query.city, temperature=21.5, conditions=["sunny"] * query.days)

    @server.tool()
    async def media() -> list[Any]:
        """Every content type."""
        return [
            t.TextContent(text="text"),
            t.ImageContent(data=base64.b64encode(b"png").decode(), mime_type="image/png"),
            t.AudioContent(data=base64.b64encode(b"wav").decode(), mime_type="audio/wav"),
            t.ResourceLink(uri="file:///a.txt", name="a"),
            t.EmbeddedResource(resource=t.TextResourceContents(uri="file:///b.txt", text="b")),
        ]

    @server.tool()
    async def fails(kind: str) -> str:
        """Fail in several ways."""
        if kind == "tool":
            raise ToolError("the tool says no")
        if kind == "value":
            raise ValueError("bad value")
        raise MCPError(-32000, "a protocol-level failure")

    @server.tool()
    async def progress(steps: int, ctx: Context) -> str:
        for i in range(1, steps + 1):
            await ctx.report_progress(i, steps, f"step {i}")
        return "done"

    @server.tool()
    async def chatty(ctx: Context) -> str:
        for level in ("debug", "info", "warning", "error"):
            await ctx.log(level, {"msg": level}, logger="chatty")  # type: ignore[arg-type]
        return "logged"

    @server.tool()
    async def ask_model(question: str, ctx: Context) -> str:
        result = await ctx.sample(
            [t.SamplingMessage(role="user", content=t.TextContent(text=question))],
            max_tokens=50, system_prompt="be brief")
        assert isinstance(result.content, t.TextContent)
        return f"{result.model}: {result.content.text}"

    @server.tool()
    async def ask_user(ctx: Context) -> str:
        result = await ctx.elicit("Your name?", {"type": "object", "properties": {
            "name": {"type": "string"}}, "required": ["name"]})
        return f"{result.action}: {(result.content or {}).get('name')}"

    @server.tool()
    async def roots(ctx: Context) -> list[str]:
        return [root.uri for root in await ctx.list_roots()]

    @server.resource("mem://text", mime_type="text/plain", description="some text")
    async def text_resource() -> str:
        return "hello"

    @server.resource("mem://blob")
    async def blob_resource() -> bytes:
        return b"\x00\x01\x02"

    @server.resource_template("mem://users/{user}/files/{name}", mime_type="text/plain")
    async def user_file(user: str, name: str) -> str:
        return f"{user}:{name}"

    @server.prompt(arguments={"topic": "what to write about"})
    async def essay(topic: str, tone: str = "neutral") -> str:
        """Write an essay."""
        return f"Write a {tone} essay about {topic}."

    @server.prompt()
    async def chat(name: str) -> list[Any]:
        return [t.PromptMessage(role="assistant", content=t.TextContent(text="Hi!")),
                f"I am {name}"]

    @server.completion()
    async def complete(ref: Any, argument: t.CompletionArgument,
                       context: t.CompletionContext | None) -> list[str]:
        if argument.name == "many":
            return [str(i) for i in range(150)]
        options = ["python", "pascal", "perl", "rust"]
        return [o for o in options if o.startswith(argument.value)]

    return server


class Checked:
    """Records every frame both sides write and validates them against the schema."""

    def __init__(self) -> None:
        self.client = Recorder()
        self.server = Recorder()

    def check(self, revision: str) -> None:
        for frame in [*self.client.sent, *self.server.sent]:
            check_if_available(revision, frame)


@asynccontextmanager
async def checked(server: Server | None = None, revision: str | None = None,
                  **client_kwargs: Any) -> AsyncIterator[tuple[ClientSession, ServerSession,
                                                               Checked]]:
    rec = Checked()
    server = server or build_server()
    server.trace = rec.server
    client_kwargs.setdefault("mode", "legacy")  # these are the handshake era's features
    client = Client("test-client", "1.0", trace=rec.client, protocol_version=revision,
                    **client_kwargs)
    async with connected(server, client) as (cs, ss):
        yield cs, ss, rec
    rec.check(revision or HANDSHAKE_VERSIONS[-1])


# ---------------------------------------------------------------- tools


@pytest.mark.parametrize("revision", HANDSHAKE_VERSIONS)
async def test_tools_on_every_revision(revision: str) -> None:
    async with checked(revision=revision) as (session, _, rec):
        assert session.protocol_version == revision
        tools = {tool.name: tool for tool in await session.list_all_tools()}
        assert tools["echo"].description == "Echo."
        assert tools["echo"].input_schema == {
            "type": "object", "properties": {"text": {"type": "string"}}, "required": ["text"]}
        result = await session.call_tool("add", {"a": 2, "b": 3})
        assert result.content == [t.TextContent(text="5")]
        forecast = await session.call_tool("forecast", {"city": "Oslo", "days": 2})
        if revision >= "2025-06-18":
            assert tools["forecast"].output_schema is not None
            assert forecast.structured_content == {
                "city": "Oslo", "temperature": 21.5, "conditions": ["sunny", "sunny"]}
        else:  # older revisions have no structured output: the fields are not sent
            assert tools["forecast"].output_schema is None
            assert forecast.structured_content is None
            listed = [f for f in rec.server.sent if "tools" in f.get("result", {})]
            assert all("outputSchema" not in tool for tool in listed[0]["result"]["tools"])
        assert "Oslo" in forecast.content[0].text  # type: ignore[union-attr]


async def test_output_schema_validates_the_structured_content() -> None:
    import jsonschema

    async with checked() as (session, _, _rec):
        tool = next(x for x in await session.list_all_tools() if x.name == "forecast")
        result = await session.call_tool("forecast", {"city": "Rome"})
        assert tool.output_schema is not None
        jsonschema.validate(result.structured_content, tool.output_schema)
        assert tool.input_schema["required"] == ["city"]


async def test_all_content_types() -> None:
    async with checked() as (session, _, _rec):
        result = await session.call_tool("media")
        kinds = [type(block).__name__ for block in result.content]
        assert kinds == ["TextContent", "ImageContent", "AudioContent", "ResourceLink",
                         "EmbeddedResource"]
        assert result.is_error is None


@pytest.mark.parametrize(("arguments", "reason"), [
    ({"text": 5}, "invalid arguments: $.text: expected string, got integer"),
    ({}, "invalid arguments: $.text: required argument missing"),
])
async def test_invalid_arguments_are_a_tool_error_with_the_reason(
        arguments: dict[str, Any], reason: str) -> None:
    async with checked() as (session, _, _rec):
        result = await session.call_tool("echo", arguments)
        assert result.is_error is True
        assert result.content == [t.TextContent(text=reason)]


async def test_tool_failures() -> None:
    async with checked() as (session, _, _rec):
        result = await session.call_tool("fails", {"kind": "tool"})
        assert result.is_error and result.content[0].text == "the tool says no"  # type: ignore
        result = await session.call_tool("fails", {"kind": "value"})
        # An unexpected exception is masked (the details are logged on the server).
        assert result.is_error  # type: ignore
        assert result.content[0].text == "internal error in tool 'fails'"  # type: ignore
        with pytest.raises(MCPError) as info:
            await session.call_tool("fails", {"kind": "protocol"})
        assert info.value.code == -32000
        with pytest.raises(MCPError) as info:
            await session.call_tool("no-such-tool")
        assert info.value.code == -32602


async def test_progress_from_a_handler() -> None:
    seen: list[tuple[float, float | None, str | None]] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        seen.append((progress, total, message))

    async with checked() as (session, _, _rec):
        result = await session.call_tool("progress", {"steps": 3}, on_progress=on_progress)
        assert result.content[0].text == "done"  # type: ignore[union-attr]
        # Without a callback no token is sent, and the handler's reports are dropped.
        await session.call_tool("progress", {"steps": 2})
    assert seen == [(1, 3, "step 1"), (2, 3, "step 2"), (3, 3, "step 3")]


# ---------------------------------------------------------------- resources


@pytest.mark.parametrize("revision", HANDSHAKE_VERSIONS)
async def test_resources_and_templates(revision: str) -> None:
    async with checked(revision=revision) as (session, _, _rec):
        resources = await session.list_all_resources()
        assert [(r.uri, r.mime_type) for r in resources] == [("mem://text", "text/plain"),
                                                              ("mem://blob", None)]
        templates = await session.list_all_resource_templates()
        assert templates[0].uri_template == "mem://users/{user}/files/{name}"
        text = await session.read_resource("mem://text")
        assert text.contents == [t.TextResourceContents(uri="mem://text", text="hello",
                                                        mime_type="text/plain")]
        blob = await session.read_resource("mem://blob")
        assert isinstance(blob.contents[0], t.BlobResourceContents)
        assert base64.b64decode(blob.contents[0].blob) == b"\x00\x01\x02"
        templated = await session.read_resource("mem://users/ann%20b/files/notes.txt")
        assert templated.contents[0].text == "ann b:notes.txt"  # type: ignore[union-attr]
        with pytest.raises(MCPError) as info:
            await session.read_resource("mem://users/ann/other")
        assert info.value.code == -32002
        assert info.value.data == {"uri": "mem://users/ann/other"}


async def test_subscriptions_and_updates() -> None:
    server = build_server()
    notes: dict[str, list[Any]] = {"a": [], "b": []}

    def handler(name: str) -> Any:
        async def on_note(session: ClientSession, method: str, params: Any) -> None:
            notes[name].append((method, params))
        return on_note

    first = Client("a", "1", mode="legacy", notification_handler=handler("a"))
    second = Client("b", "1", mode="legacy", notification_handler=handler("b"))
    async with connected(server, first) as (a, _), connected(server, second) as (b, _):
        assert a.server_capabilities["resources"]["subscribe"] is True
        await a.subscribe_resource("mem://text")
        server.resource_updated("mem://text")
        server.resource_updated("mem://blob")  # nobody subscribed
        await a.ping()
        await b.ping()
        await trio.testing.wait_all_tasks_blocked()
        await a.unsubscribe_resource("mem://text")
        server.resource_updated("mem://text")
        await trio.testing.wait_all_tasks_blocked()
    assert notes["a"] == [("notifications/resources/updated", {"uri": "mem://text"})]
    assert notes["b"] == []


# ---------------------------------------------------------------- prompts and completion


async def test_prompts_with_arguments() -> None:
    async with checked() as (session, _, _rec):
        prompts = {p.name: p for p in await session.list_all_prompts()}
        essay = prompts["essay"]
        assert essay.description == "Write an essay."
        assert essay.arguments == [
            t.PromptArgument(name="topic", description="what to write about", required=True),
            t.PromptArgument(name="tone", required=False)]
        got = await session.get_prompt("essay", {"topic": "trio", "tone": "cheerful"})
        assert got.messages == [t.PromptMessage(role="user", content=t.TextContent(
            text="Write a cheerful essay about trio."))]
        chat = await session.get_prompt("chat", {"name": "Ann"})
        assert [m.role for m in chat.messages] == ["assistant", "user"]
        for bad in ({}, {"topic": "x", "nope": "y"}):
            with pytest.raises(MCPError) as info:
                await session.get_prompt("essay", bad)
            assert info.value.code == -32602
        with pytest.raises(MCPError) as info:
            await session.get_prompt("missing")
        assert info.value.code == -32602


async def test_completion() -> None:
    async with checked() as (session, _, _rec):
        assert "completions" in session.server_capabilities
        ref = t.PromptReference(name="essay")
        completion = await session.complete(ref, "topic", "p")
        assert completion.values == ["python", "pascal", "perl"]
        many = await session.complete({"type": "ref/prompt", "name": "essay"}, "many", "")
        assert len(many.values) == 100
        assert many.has_more is True and many.total == 150


async def test_no_completion_handler_means_no_capability() -> None:
    server = Server("bare", "1")
    async with connected(server) as (session, _):
        assert "completions" not in session.server_capabilities
        assert "tools" not in session.server_capabilities
        with pytest.raises(LocalProtocolError) as info:
            await session.complete(t.PromptReference(name="x"), "a", "")
        assert info.value.code == -32601
        with pytest.raises(LocalProtocolError):
            await session.list_tools()


# ---------------------------------------------------------------- logging


async def test_logging_levels() -> None:
    received: list[t.LoggingMessageNotificationParams] = []

    async def on_log(params: t.LoggingMessageNotificationParams) -> None:
        received.append(params)

    async with checked(logging_handler=on_log) as (session, server_session, _rec):
        await session.call_tool("chatty")
        await session.set_logging_level("warning")
        assert server_session.log_level == "warning"
        await session.call_tool("chatty")
        with pytest.raises(MCPError) as info:
            await session.send_request("logging/setLevel", {"level": "loud"})
        assert info.value.code == -32602
    levels = [p.level for p in received]
    assert levels == ["debug", "info", "warning", "error", "warning", "error"]
    assert received[0].logger == "chatty" and received[0].data == {"msg": "debug"}


# ---------------------------------------------------------------- pagination


async def test_pagination_with_opaque_cursors() -> None:
    server = build_server(page_size=2)
    async with checked(server) as (session, _, _rec):
        first = await session.list_tools()
        assert len(first.tools) == 2 and first.next_cursor
        second = await session.list_tools(first.next_cursor)
        assert second.tools[0].name not in {x.name for x in first.tools}
        everything = await session.list_all_tools()
        assert len(everything) == len(server.tools)
        assert [r.uri for r in await session.list_all_resources()] == ["mem://text",
                                                                        "mem://blob"]
        with pytest.raises(MCPError) as info:
            await session.list_tools("not-a-cursor")
        assert info.value.code == -32602
        with pytest.raises(MCPError) as info:  # a tools cursor is refused by prompts/list
            await session.list_prompts(first.next_cursor)
        assert info.value.code == -32602


# ---------------------------------------------------------------- list_changed


async def test_list_changed_when_the_feature_set_changes() -> None:
    server = build_server()
    seen: list[str] = []

    async def on_note(session: ClientSession, method: str, params: Any) -> None:
        seen.append(method)

    async with checked(server, notification_handler=on_note) as (session, _, _rec):
        async def extra() -> str:
            return "extra"

        server.add_tool(extra)
        await session.ping()
        await trio.testing.wait_all_tasks_blocked()
        assert "extra" in [x.name for x in await session.list_all_tools()]
        server.remove_tool("extra")
        server.add_resource(extra, "mem://extra")
        server.remove_resource("mem://extra")
        server.add_prompt(extra)
        server.remove_prompt("extra")
        await session.ping()
        await trio.testing.wait_all_tasks_blocked()
    assert seen == ["notifications/tools/list_changed"] * 2 + [
        "notifications/resources/list_changed"] * 2 + ["notifications/prompts/list_changed"] * 2


# ---------------------------------------------------------------- client features


async def test_sampling_elicitation_and_roots() -> None:
    async def sampling(ctx: RequestContext, params: t.CreateMessageRequestParams
                       ) -> t.CreateMessageResult:
        assert params.system_prompt == "be brief" and params.max_tokens == 50
        question = params.messages[0].content
        assert isinstance(question, t.TextContent)
        return t.CreateMessageResult(role="assistant", model="fake-1",
                                     content=t.TextContent(text=question.text.upper()))

    async def elicitation(ctx: RequestContext, params: Any) -> dict[str, Any]:
        assert params.message == "Your name?"
        return {"action": "accept", "content": {"name": "Ann"}}

    roots_changed = trio.Event()

    async def on_roots_changed(session: ServerSession) -> None:
        roots_changed.set()

    server = build_server(roots_changed_handler=on_roots_changed)
    async with checked(server, sampling_handler=sampling, elicitation_handler=elicitation,
                       roots=["file:///home/ann"]) as (session, server_session, _rec):
        caps = server_session.client_capabilities
        assert set(caps) == {"sampling", "elicitation", "roots"}
        answer = await session.call_tool("ask_model", {"question": "hi?"})
        assert answer.content[0].text == "fake-1: HI?"  # type: ignore[union-attr]
        answer = await session.call_tool("ask_user")
        assert answer.content[0].text == "accept: Ann"  # type: ignore[union-attr]
        answer = await session.call_tool("roots")
        assert answer.structured_content == {"result": ["file:///home/ann"]}
        await session.client.set_roots([t.Root(uri="file:///tmp", name="tmp")])
        await roots_changed.wait()
        assert [r.uri for r in await server_session.list_roots()] == ["file:///tmp"]


async def test_server_asking_for_what_the_client_lacks_fails_locally() -> None:
    async with checked() as (session, server_session, _rec):
        with pytest.raises(LocalProtocolError) as info:
            await server_session.list_roots()
        assert info.value.code == -32601
        result = await session.call_tool("ask_model", {"question": "x"})
        assert result.is_error  # the handler's LocalProtocolError became a tool error


async def test_server_request_before_initialized_waits_for_it() -> None:
    server = build_server()
    client_end, server_end = memory_transport_pair()
    async with server.connect(server_end) as server_session:
        roots: list[t.Root] = []
        answered = trio.Event()

        async def ask_early() -> None:
            roots.extend(await server_session.list_roots())
            answered.set()

        async with trio.open_nursery() as nursery:
            nursery.start_soon(ask_early)
            await trio.testing.wait_all_tasks_blocked()
            assert not server_session.initialized
            async with Client("c", "1", mode="legacy", roots=["file:///r"]).connect(client_end):
                await server_session.wait_initialized()
                with trio.fail_after(1):
                    while not roots:
                        await trio.lowlevel.checkpoint()
        assert [r.uri for r in roots] == ["file:///r"]


# ---------------------------------------------------------------- ping and keepalive


async def test_ping_both_ways() -> None:
    async with checked() as (session, server_session, rec):
        await session.ping()
        await server_session.ping()
    assert rec.client.sent_methods().count("ping") == 1
    assert rec.server.sent_methods().count("ping") == 1


class Deafening(Transport):
    """Wraps a transport; once ``deaf`` is set, nothing more is received (a hung peer)."""

    def __init__(self, inner: Transport) -> None:
        self.inner = inner
        self.deaf = False

    async def send(self, data: bytes) -> None:
        await self.inner.send(data)

    async def receive(self) -> bytes:
        while True:
            data = await self.inner.receive()
            if not self.deaf or not data:
                return data

    async def aclose(self) -> None:
        await self.inner.aclose()


async def test_keepalive_pings_and_closes_a_silent_peer(
        autojump_clock: trio.testing.MockClock) -> None:
    server = build_server()
    rec = Recorder()
    client_end, server_end = memory_transport_pair()
    deaf = Deafening(client_end)
    async with server.connect(server_end):
        client = Client("c", "1", mode="legacy", keepalive_interval=2.0, trace=rec)
        async with client.connect(deaf) as session:
            await trio.sleep(7)
            assert rec.sent_methods().count("ping") == 3
            assert session.initialized
            deaf.deaf = True
            t0 = trio.current_time()
            await session.wait_closed()
            assert 2 <= trio.current_time() - t0 <= 4 + 1e-6
            assert "keepalive" in (session.close_reason or "")
            with pytest.raises(PeerDisconnected):
                await session.ping()
