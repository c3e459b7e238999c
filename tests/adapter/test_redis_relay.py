"""serve_http(shared=...): a handshake-era session made on one worker is served whichever
worker its requests reach, relayed to the owner through a real redis-server."""

from __future__ import annotations

import json
from typing import Any

import pytest
import trio
from relay_support import INIT, Proxy, Raw, header, initialize, workers

from sansio import types as t
from tests.redis_support import REDIS_SKIP_REASON, redis_available
from trio_adapter import Client, Context, RequestContext, Server
from trio_adapter.http import StreamableHTTPTransport
from trio_adapter.redis import RedisBackend

pytestmark = pytest.mark.skipif(not redis_available(), reason=REDIS_SKIP_REASON)

V = {"mcp-protocol-version": "2025-11-25"}


def build_server(name: str) -> Server:
    server = Server(f"worker-{name}", "1.0")

    @server.tool()
    async def whoami() -> str:
        return name

    @server.tool()
    async def steps(n: int, ctx: Context) -> str:
        for i in range(1, n + 1):
            await ctx.report_progress(i, n)
        return "stepped"

    @server.tool()
    async def ask(question: str, ctx: Context) -> str:
        reply = await ctx.sample([t.SamplingMessage(role="user",
                                                    content=t.TextContent(text=question))],
                                 max_tokens=10)
        assert isinstance(reply.content, t.TextContent)
        return reply.content.text

    @server.tool()
    async def big(size: int) -> str:
        return "x" * size

    @server.tool()
    async def slow(ctx: Context) -> str:
        await ctx.report_progress(1, 2)
        await trio.sleep_forever()
        return "never"

    return server


def call(name: str, args: dict[str, Any] | None = None, rid: int = 2,
         token: Any = None) -> dict[str, Any]:
    params: dict[str, Any] = {"name": name, "arguments": args or {}}
    if token is not None:
        params["_meta"] = {"progressToken": token}
    return {"jsonrpc": "2.0", "id": rid, "method": "tools/call", "params": params}


def text_of(event: dict[str, Any]) -> str:
    return str(event["data"]["result"]["content"][0]["text"])


async def sampler(ctx: RequestContext, params: t.CreateMessageRequestParams
                  ) -> t.CreateMessageResult:
    question = params.messages[0].content
    assert isinstance(question, t.TextContent)
    return t.CreateMessageResult(role="assistant", model="m",
                                 content=t.TextContent(text=question.text.upper()))


async def test_raw_requests_to_another_worker_reach_the_owner(
        redis_url: str, redis_prefix: str) -> None:
    with trio.fail_after(20):
        async with workers(redis_url, redis_prefix, {"A": build_server("A"),
                                                     "B": build_server("B")}) as w:
            sid = await initialize(w["A"].port)
            assert sid.startswith("A.")
            async with Raw.open(w["B"].port) as raw:  # one keep-alive connection to B
                head = await raw.send("POST", {"mcp-session-id": sid, **V}, call("whoami"))
                assert head.status_code == 200
                assert header(head, "mcp-session-id") == sid
                [answer] = await raw.events(lambda e: "result" in e["data"])
                assert text_of(answer) == "A"  # the owner answered
                await raw.body()
                # progress streams through, then the answer, on the same connection
                head = await raw.send("POST", {"mcp-session-id": sid, **V},
                                      call("steps", {"n": 3}, rid=3, token="p"))
                found = await raw.events(lambda e: "result" in e["data"])
                assert [e["data"]["params"]["progress"] for e in found[:-1]] == [1, 2, 3]
                assert text_of(found[-1]) == "stepped"
                await raw.body()
                # a notification: 202 relayed
                head = await raw.send("POST", {"mcp-session-id": sid, **V},
                                      {"jsonrpc": "2.0", "method": "notifications/cancelled",
                                       "params": {"requestId": 99}})
                assert head.status_code == 202
                await raw.body()
                # DELETE through B ends the session on A
                head = await raw.send("DELETE", {"mcp-session-id": sid, **V})
                assert head.status_code in (200, 204)
                await raw.body()
                head = await raw.send("POST", {"mcp-session-id": sid, **V}, call("whoami"))
                assert head.status_code == 404
                assert json.loads(await raw.body())["error"]["code"] == -32001
            assert w["B"].server.sessions == [] and w["A"].server.sessions == []


async def test_a_standalone_stream_and_resumption_through_another_worker(
        redis_url: str, redis_prefix: str) -> None:
    with trio.fail_after(20):
        async with workers(redis_url, redis_prefix, {"A": build_server("A"),
                                                     "B": build_server("B")},
                           keepalive_interval=0.2) as w:
            sid = await initialize(w["A"].port)
            async with Raw.open(w["B"].port) as get:
                head = await get.send("GET", {"mcp-session-id": sid, **V})
                assert head.status_code == 200
                assert header(head, "content-type") == "text/event-stream"
                w["A"].server.add_tool(lambda: "new", "late_tool")
                [note] = await get.events(lambda e: True)
                assert note["data"]["method"] == "notifications/tools/list_changed"
                w["A"].server.add_tool(lambda: "newer", "later_tool")
                [second] = await get.events(lambda e: True)
            # The stream dropped (the connection closed); meanwhile another event comes.
            w["A"].server.add_tool(lambda: "newest", "latest_tool")
            async with Raw.open(w["B"].port) as again:
                with trio.fail_after(5):
                    while True:  # until the owner saw the drop (a Redis round trip away)
                        head = await again.send("GET", {"mcp-session-id": sid, **V,
                                                        "last-event-id": note["id"]})
                        if head.status_code != 409:
                            break
                        await again.body()
                        await trio.sleep(0.05)
                assert head.status_code == 200
                replayed = await again.events(lambda e: True)
                assert replayed[0]["id"] == second["id"]


async def test_sampling_answered_by_the_client_through_another_worker(
        redis_url: str, redis_prefix: str) -> None:
    with trio.fail_after(20):
        async with workers(redis_url, redis_prefix, {"A": build_server("A"),
                                                     "B": build_server("B")}) as w:
            sid = await initialize(w["A"].port)
            async with Raw.open(w["B"].port) as raw, Raw.open(w["B"].port) as answer:
                await raw.send("POST", {"mcp-session-id": sid, **V},
                               call("ask", {"question": "why"}))
                [request] = await raw.events(lambda e: e["data"].get("method") ==
                                             "sampling/createMessage")
                head = await answer.send("POST", {"mcp-session-id": sid, **V}, {
                    "jsonrpc": "2.0", "id": request["data"]["id"], "result": {
                        "role": "assistant", "model": "m",
                        "content": {"type": "text", "text": "WHY"}}})
                assert head.status_code == 202
                [done] = await raw.events(lambda e: "result" in e["data"])
                assert text_of(done) == "WHY"


async def test_our_client_runs_a_session_whose_requests_reach_another_worker(
        redis_url: str, redis_prefix: str) -> None:
    with trio.fail_after(30):
        async with workers(redis_url, redis_prefix, {"A": build_server("A"),
                                                     "B": build_server("B")}) as w, \
                trio.open_nursery() as nursery:
            a, b = w["A"].port, w["B"].port
            # the first connection (initialize) reaches A, every later one B
            proxy: Proxy = await nursery.start(Proxy(lambda n: a if n == 0 else b).run)
            url = f"http://127.0.0.1:{proxy.port}/mcp"
            transport = StreamableHTTPTransport(url, max_idle_connections=0)
            listed = trio.Event()

            async def on_note(session: Any, method: str, params: Any) -> None:
                if method == "notifications/tools/list_changed":
                    listed.set()

            progress: list[float] = []

            async def on_progress(done: float, total: float | None, message: str | None
                                  ) -> None:
                progress.append(done)

            client = Client("c", "1", mode="legacy", sampling_handler=sampler,
                            notification_handler=on_note)
            async with client.connect(transport) as session:
                assert transport.session_id is not None
                assert transport.session_id.startswith("A.")
                assert (await session.call_tool("whoami")).content[0].text == "A"  # type: ignore[union-attr]
                result = await session.call_tool("steps", {"n": 3}, on_progress=on_progress)
                assert result.content[0].text == "stepped"  # type: ignore[union-attr]
                answer = await session.call_tool("ask", {"question": "why"})
                assert answer.content[0].text == "WHY"  # type: ignore[union-attr]
                [server_session] = w["A"].server.sessions
                w["A"].server.add_tool(lambda: "new", "late_tool")
                await listed.wait()
            await server_session.wait_closed()  # the DELETE reached A through B
            assert progress == [1, 2, 3]
            assert w["B"].server.sessions == []
            assert proxy.targets.count(b) >= 4 and proxy.targets.count(a) == 1
            nursery.cancel_scope.cancel()


async def test_a_session_whose_owner_is_gone_is_404_and_the_client_reinitializes(
        redis_url: str, redis_prefix: str) -> None:
    with trio.fail_after(20):
        async with workers(redis_url, redis_prefix, {"A": build_server("A"),
                                                     "B": build_server("B")}) as w:
            sid = await initialize(w["A"].port)
            w["A"].kill()
            await w["A"].stopped.wait()
            async with RedisBackend(redis_url, prefix=redis_prefix) as probe:
                while True:  # its heartbeat ends (at the latest its TTL, 1 s, later)
                    if not await probe.alive("A"):
                        break
                    await trio.sleep(0.05)
            async with Raw.open(w["B"].port) as raw:
                head = await raw.send("POST", {"mcp-session-id": sid, **V}, call("whoami"))
                body = json.loads(await raw.body())
                assert head.status_code == 404, body
                assert body["error"] == {"code": -32001, "message":
                                         "session not found (unknown or terminated)"}
                # the connection is still usable: a new session on B
                head = await raw.send("POST", body=INIT)
                assert head.status_code == 200
                assert (header(head, "mcp-session-id") or "").startswith("B.")


async def test_an_owner_that_never_answers_gets_a_bounded_504(
        redis_url: str, redis_prefix: str) -> None:
    with trio.fail_after(20):
        async with workers(redis_url, redis_prefix, {"B": build_server("B")},
                           request_timeout=1.0) as w, \
                RedisBackend(redis_url, worker_id="ghost", prefix=redis_prefix):
            # "ghost" beats but serves no inbox
            async with Raw.open(w["B"].port) as raw:
                start = trio.current_time()
                head = await raw.send("POST", {"mcp-session-id": "ghost.abc", **V},
                                      call("whoami"))
                assert head.status_code == 504
                message = json.loads(await raw.body())["error"]["message"]
                assert message == "no answer from worker ghost within 1 s"
                assert trio.current_time() - start < 5


async def test_client_gone_mid_stream_frees_the_owners_connection(
        redis_url: str, redis_prefix: str) -> None:
    with trio.fail_after(20):
        async with workers(redis_url, redis_prefix, {"A": build_server("A"),
                                                     "B": build_server("B")}) as w:
            sid = await initialize(w["A"].port)
            async with Raw.open(w["B"].port) as raw:
                await raw.send("POST", {"mcp-session-id": sid, **V},
                               call("slow", rid=7, token="s"))
                await raw.events(lambda e: e["data"].get("method") ==
                                 "notifications/progress")
                [server_session] = w["A"].server.sessions
                assert _serving(w["A"]) == 1
            # the client closed: B tells A, whose virtual connection ends
            with trio.fail_after(5):
                await _endpoint_relay(w["B"]).wait_quiet()
                await _endpoint_relay(w["A"]).wait_quiet()
            assert _serving(w["A"]) == 0 and _relaying(w["B"]) == 0
            assert not server_session.closed  # only the stream ended, not the session


def _endpoint_relay(worker: Any) -> Any:
    return worker.info.relay


def _serving(worker: Any) -> int:
    return len(_endpoint_relay(worker).serving)


def _relaying(worker: Any) -> int:
    return int(_endpoint_relay(worker).relaying)


async def test_redis_down_is_503_with_retry_after(redis_prefix: str) -> None:
    from tests.redis_support import RedisProcess
    redis = RedisProcess()
    redis.start()
    try:
        with trio.fail_after(20):
            async with workers(redis.url, redis_prefix, {"B": build_server("B")}) as w:
                redis.stop()
                async with Raw.open(w["B"].port) as raw:
                    head = await raw.send("POST", {"mcp-session-id": "A.abc", **V},
                                          call("whoami"))
                    assert head.status_code == 503
                    assert header(head, "retry-after") == "1"
                    assert "Redis" in json.loads(await raw.body())["error"]["message"]
    finally:
        redis.close()


@pytest.mark.interop
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
async def test_the_sdk_client_in_legacy_mode_across_two_workers(
        redis_url: str, redis_prefix: str) -> None:
    mcp = pytest.importorskip("mcp")
    import mcp_types

    async def answer(context: Any, params: Any) -> Any:
        question = params.messages[0].content
        return mcp_types.CreateMessageResult(
            role="assistant", model="m",
            content=mcp_types.TextContent(type="text", text=question.text.upper()))

    with trio.fail_after(30):
        async with workers(redis_url, redis_prefix, {"A": build_server("A"),
                                                     "B": build_server("B")}) as w, \
                trio.open_nursery() as nursery:
            a, b = w["A"].port, w["B"].port
            proxy: Proxy = await nursery.start(Proxy(lambda n: a if n == 0 else b).run)
            url = f"http://127.0.0.1:{proxy.port}/mcp"
            async with mcp.Client(url, mode="legacy", sampling_callback=answer) as client:
                assert (await client.call_tool("whoami", {})).content[0].text == "A"
                seen: list[float] = []

                async def on_progress(done: float, total: float | None, msg: str | None
                                      ) -> None:
                    seen.append(done)

                stepped = await client.call_tool("steps", {"n": 2},
                                                 progress_callback=on_progress)
                assert stepped.content[0].text == "stepped"
                asked = await client.call_tool("ask", {"question": "why"})
                assert asked.content[0].text == "WHY"
            assert seen == [1, 2]
            assert b in proxy.targets and w["B"].info.relay is not None
            assert w["B"].info.relay.relayed >= 3  # the calls went through B to A
            assert w["B"].server.sessions == []
            nursery.cancel_scope.cancel()


async def test_an_owner_gone_while_waiting_for_it_is_404(
        redis_url: str, redis_prefix: str) -> None:
    with trio.fail_after(20):
        async with workers(redis_url, redis_prefix, {"B": build_server("B")},
                           request_timeout=10.0) as w, trio.open_nursery() as nursery:
            entered = trio.Event()

            async def ghost() -> None:  # beats, takes the relayed request, leaves unanswered
                async with RedisBackend(redis_url, worker_id="ghost", prefix=redis_prefix,
                                        heartbeat_interval=0.2, heartbeat_ttl=1.0) as g:
                    entered.set()
                    assert await g.client.blpop([g.key("relay", "ghost")], timeout=5)

            nursery.start_soon(ghost)
            await entered.wait()
            async with Raw.open(w["B"].port) as raw:
                start = trio.current_time()
                head = await raw.send("POST", {"mcp-session-id": "ghost.abc", **V},
                                      call("whoami"))
                body = json.loads(await raw.body())
                assert head.status_code == 404, body
                assert body["error"]["code"] == -32001
                assert trio.current_time() - start < 9  # found out before the deadline


async def test_a_relaying_worker_gone_ends_the_owners_stream(
        redis_url: str, redis_prefix: str) -> None:
    with trio.fail_after(20):
        async with workers(redis_url, redis_prefix, {"A": build_server("A"),
                                                     "B": build_server("B")},
                           keepalive_interval=0.1) as w:
            sid = await initialize(w["A"].port)
            relay_a = _endpoint_relay(w["A"])
            async with Raw.open(w["B"].port) as get:
                head = await get.send("GET", {"mcp-session-id": sid, **V})
                assert head.status_code == 200
                assert relay_a.serving
                w["B"].kill()
                await w["B"].stopped.wait()
            with trio.fail_after(5):
                await relay_a.wait_quiet()
            # the session's standalone stream is free again: a GET straight to A gets it
            async with Raw.open(w["A"].port) as again:
                head = await again.send("GET", {"mcp-session-id": sid, **V})
                assert head.status_code == 200


async def test_a_large_answer_and_json_responses_cross_whole(
        redis_url: str, redis_prefix: str) -> None:
    with trio.fail_after(20):
        async with workers(redis_url, redis_prefix, {"A": build_server("A"),
                                                     "B": build_server("B")}) as w:
            sid = await initialize(w["A"].port)
            async with Raw.open(w["B"].port) as raw:
                await raw.send("POST", {"mcp-session-id": sid, **V}, call("big", {"size": 300_000}))
                [answer] = await raw.events(lambda e: "result" in e["data"])
                assert text_of(answer) == "x" * 300_000  # many chunks, reassembled
                await raw.body()
        async with workers(redis_url, redis_prefix + "j", {"A": build_server("A"),
                                                           "B": build_server("B")},
                           json_response=True) as w:
            sid = await initialize(w["A"].port)
            async with Raw.open(w["B"].port) as raw:
                head = await raw.send("POST", {"mcp-session-id": sid, **V}, call("whoami"))
                assert head.status_code == 200
                assert header(head, "content-type") == "application/json"
                assert json.loads(await raw.body())["result"]["content"][0]["text"] == "A"


def test_only_handshake_era_requests_naming_another_worker_are_relayed() -> None:
    from sansio.http import CompleteRequest
    from sansio.versions import STATELESS_VERSIONS
    from trio_adapter.redis import SessionRelay

    class FakeBackend:
        worker_id = "me"
        class _coredis:
            class exceptions:
                RedisError = OSError

    relay = SessionRelay(FakeBackend())  # type: ignore[arg-type]
    assert relay.new_session_id().startswith("me.")

    def req(**headers: str) -> CompleteRequest:
        return CompleteRequest("POST", "/mcp", tuple(
            (k.replace("_", "-"), v) for k, v in headers.items()), b"")

    assert relay.owner_to_relay(req(mcp_session_id="other.abc")) == "other"
    assert relay.owner_to_relay(req(mcp_session_id="me.abc")) is None
    assert relay.owner_to_relay(req(mcp_session_id="abc")) is None  # not minted by a worker
    assert relay.owner_to_relay(req()) is None
    modern = sorted(STATELESS_VERSIONS)[0]
    assert relay.owner_to_relay(req(mcp_session_id="other.abc",
                                    mcp_protocol_version=modern)) is None


async def test_a_graceful_stop_ends_relayed_streams_at_once(
        redis_url: str, redis_prefix: str) -> None:
    stop = trio.Event()
    with trio.fail_after(20):
        async with workers(redis_url, redis_prefix, {"A": build_server("A")}) as w, \
                workers(redis_url, redis_prefix, {"B": build_server("B")}, stop=stop,
                        drain_timeout=10.0) as wb:
            sid = await initialize(w["A"].port)
            async with Raw.open(wb["B"].port) as get:
                head = await get.send("GET", {"mcp-session-id": sid, **V})
                assert head.status_code == 200
                start = trio.current_time()
                stop.set()
                await wb["B"].stopped.wait()
                assert trio.current_time() - start < 5  # not the drain's 10 s
            with trio.fail_after(5):
                await _endpoint_relay(w["A"]).wait_quiet()


def with_resource(server: Server) -> Server:
    @server.resource("test://doc")
    def doc() -> str:
        return "the document"

    return server


async def test_a_resource_update_on_a_third_worker_reaches_a_legacy_session_across_workers(
        redis_url: str, redis_prefix: str) -> None:
    """A handshake-era session owned by A, every request after initialize arriving at B
    (relayed), its subscription's update published on C: the notification reaches the
    client (through the bus to A, then A's GET stream, relayed through B)."""
    with trio.fail_after(30):
        async with workers(redis_url, redis_prefix,
                           {n: with_resource(build_server(n)) for n in "ABC"},
                           share_state=True) as w, trio.open_nursery() as nursery:
            a, b = w["A"].port, w["B"].port
            proxy: Proxy = await nursery.start(Proxy(lambda n: a if n == 0 else b).run)
            updated = trio.Event()

            async def on_note(session: Any, method: str, params: Any) -> None:
                if method == "notifications/resources/updated" and \
                        params.get("uri") == "test://doc":
                    updated.set()

            client = Client("c", "1", mode="legacy", notification_handler=on_note)
            transport = StreamableHTTPTransport(f"http://127.0.0.1:{proxy.port}/mcp",
                                                max_idle_connections=0)
            async with client.connect(transport) as session:
                assert transport.session_id is not None
                assert transport.session_id.startswith("A.")
                await session.subscribe_resource("test://doc")
                for name in "AC":  # the owner's subscriber and the publisher's both run
                    await w[name].server.bus.wait_subscribed()  # type: ignore[attr-defined]
                w["C"].server.notify_resource_updated("test://doc")
                await updated.wait()
            assert proxy.targets.count(a) == 1  # everything after initialize went to B
            nursery.cancel_scope.cancel()
