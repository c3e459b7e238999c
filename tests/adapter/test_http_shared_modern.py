"""serve_http: every 2026-07-28 request (but ``subscriptions/listen``) is served by one
long-lived session whose engine knows each request by an id of the core's own; the answer goes
back on the request's own POST stream with the client's id."""

from __future__ import annotations

import json
from typing import Any

import trio
import trio.testing

from tests.adapter.test_http_serving_modern_streams import (
    META,
    Exchange,
    answer_messages,
    modern,
    serving,
    sse_messages,
)
from trio_adapter import Server
from trio_adapter.server import Context

NAME_SCHEMA = {"type": "object", "properties": {"name": {"type": "string"}},
               "required": ["name"]}


class Log(list[str]):
    """What happened, in order; :meth:`until` waits for it to have happened ``n`` times."""

    def __init__(self) -> None:
        super().__init__()
        self._changed = trio.Event()

    def add(self, item: str) -> None:
        self.append(item)
        self._changed.set()
        self._changed = trio.Event()

    async def until(self, n: int) -> None:
        while len(self) < n:
            await self._changed.wait()


def gated_server() -> tuple[Server, dict[str, trio.Event], Log, Log]:
    """A server whose ``wait`` tool returns its text once ``gates[text]`` is set, recording
    which texts started and which were cancelled."""
    server = Server("shared", "1")
    gates: dict[str, trio.Event] = {}
    started = Log()
    cancelled = Log()

    @server.tool()
    async def wait(text: str) -> str:
        started.add(text)
        try:
            await gates.setdefault(text, trio.Event()).wait()
        except trio.Cancelled:
            cancelled.add(text)
            raise
        return text

    @server.tool()
    async def steps(ctx: Context, text: str) -> str:
        await ctx.report_progress(1, 2)
        started.add(text)
        await gates.setdefault(text, trio.Event()).wait()
        await ctx.report_progress(2, 2)
        return text

    @server.tool()
    async def ask(ctx: Context) -> str:
        answer = await ctx.elicit("Name?", NAME_SCHEMA, key="name")
        return f"hello {answer.content['name'] if answer.content else '?'}"

    return server, gates, started, cancelled


def answer_of(headers: dict[str, str], body: bytes) -> dict[str, Any]:
    [answer] = [m for m in answer_messages(headers, body) if "id" in m]
    return answer


async def test_two_clients_use_the_same_id_at_once_and_each_gets_its_own_answer() -> None:
    server, gates, started, _ = gated_server()
    with trio.fail_after(10):
        async with serving(server) as info:
            a = await Exchange.open(info.port, "POST", *modern(
                "tools/call", {"name": "wait", "arguments": {"text": "a"}}, rid=1))
            b = await Exchange.open(info.port, "POST", *modern(
                "tools/call", {"name": "wait", "arguments": {"text": "b"}}, rid=1))
            await started.until(2)
            # One engine never sees the same id twice at once: the second is served alone.
            assert len(server._sessions) == 2
            gates["b"].set()
            status_b, got_b, body_b = await b.whole()
            gates["a"].set()
            status_a, got_a, body_a = await a.whole()
    assert (status_a, status_b) == (200, 200)
    answer_a, answer_b = answer_of(got_a, body_a), answer_of(got_b, body_b)
    assert answer_a["id"] == 1 and answer_b["id"] == 1
    assert answer_a["result"]["content"] == [{"type": "text", "text": "a"}]
    assert answer_b["result"]["content"] == [{"type": "text", "text": "b"}]


async def test_string_and_integer_ids_that_look_alike_stay_apart() -> None:
    server, gates, started, _ = gated_server()
    with trio.fail_after(10):
        async with serving(server) as info:
            a = await Exchange.open(info.port, "POST", *modern(
                "tools/call", {"name": "wait", "arguments": {"text": "a"}}, rid="1"))
            b = await Exchange.open(info.port, "POST", *modern(
                "tools/call", {"name": "wait", "arguments": {"text": "b"}}, rid=1))
            await started.until(2)
            gates["a"].set()
            gates["b"].set()
            (_, got_a, body_a), (_, got_b, body_b) = await a.whole(), await b.whole()
    assert answer_of(got_a, body_a)["id"] == "1" and answer_of(got_b, body_b)["id"] == 1


async def test_closing_one_stream_cancels_that_request_only() -> None:
    server, gates, started, cancelled = gated_server()
    with trio.fail_after(10):
        async with serving(server) as info:
            a = await Exchange.open(info.port, "POST", *modern(
                "tools/call", {"name": "wait", "arguments": {"text": "a"}}, rid=7))
            b = await Exchange.open(info.port, "POST", *modern(
                "tools/call", {"name": "wait", "arguments": {"text": "b"}}, rid=7))
            await started.until(2)
            await a.stream.aclose()  # the client gives up on its request
            await cancelled.until(1)
            assert cancelled == ["a"]
            gates["b"].set()
            status, got, body = await b.whole()
            # The mapping is gone with the requests: nothing is kept per client.
            core_session = _shared(info_core(server))
            assert core_session is None or not core_session.by_id
    assert status == 200
    answer = answer_of(got, body)
    assert answer["id"] == 7 and answer["result"]["content"][0]["text"] == "b"


async def test_cancelling_one_of_two_requests_in_the_shared_session() -> None:
    server, gates, started, cancelled = gated_server()
    with trio.fail_after(10):
        async with serving(server) as info:
            a = await Exchange.open(info.port, "POST", *modern(
                "tools/call", {"name": "wait", "arguments": {"text": "a"}}, rid=7))
            b = await Exchange.open(info.port, "POST", *modern(
                "tools/call", {"name": "wait", "arguments": {"text": "b"}}, rid=8))
            await started.until(2)
            assert len(server._sessions) == 1  # both in the shared session
            core_session = _shared(info_core(server))
            assert set(core_session.by_id) == {7, 8}
            await a.stream.aclose()
            await cancelled.until(1)
            assert cancelled == ["a"] and set(core_session.by_id) == {8}
            gates["b"].set()
            status, got, body = await b.whole()
            assert not core_session.by_id and not core_session.streams
    assert status == 200 and answer_of(got, body)["id"] == 8


async def test_two_clients_with_the_same_progress_token_each_get_their_own_progress() -> None:
    server, gates, started, _ = gated_server()
    with trio.fail_after(10):
        async with serving(server) as info:
            exchanges = []
            for rid, text in ((1, "a"), (2, "b")):
                message, headers = modern("tools/call", {"name": "steps",
                                                         "arguments": {"text": text}}, rid)
                message["params"]["_meta"] = {**META, "progressToken": "p"}
                exchanges.append(await Exchange.open(info.port, "POST", message, headers))
            await started.until(2)
            gates["a"].set()
            gates["b"].set()
            answers = [await e.whole() for e in exchanges]
    for rid, text, (_, got, body) in ((1, "a", answers[0]), (2, "b", answers[1])):
        messages = sse_messages(body)  # progress came first: an SSE stream
        progress = [m["params"]["progress"] for m in messages if "method" in m]
        assert progress == [1, 2]
        assert answer_of(got, body)["id"] == rid
        assert answer_of(got, body)["result"]["content"][0]["text"] == text


async def test_an_mrtr_round_through_the_shared_session() -> None:
    server, _, _, _ = gated_server()
    caps_meta = {**META, "io.modelcontextprotocol/clientCapabilities": {"elicitation": {}}}
    with trio.fail_after(10):
        async with serving(server) as info:
            first, headers = modern("tools/call", {"name": "ask", "arguments": {}}, rid=3)
            first["params"]["_meta"] = caps_meta
            # Another client's request with the same id, asked while this one is open.
            other = await Exchange.open(info.port, "POST", first, headers)
            status, got, body = await (await Exchange.open(info.port, "POST", first,
                                                         headers)).whole()
            asked = answer_of(got, body)
            assert status == 200 and asked["id"] == 3
            assert asked["result"]["resultType"] == "input_required"
            state = asked["result"]["requestState"]
            retry = {**first, "id": 3, "params": {
                **first["params"], "requestState": state,
                "inputResponses": {"name": {"action": "accept", "content": {"name": "Ada"}}}}}
            status, got, body = await (await Exchange.open(info.port, "POST", retry,
                                                         headers)).whole()
            _, other_got, other_body = await other.whole()
    done = answer_of(got, body)
    assert status == 200 and done["id"] == 3
    assert done["result"]["content"][0]["text"] == "hello Ada"
    assert answer_of(other_got, other_body)["result"]["resultType"] == "input_required"


async def test_capabilities_stay_per_request_in_the_shared_session() -> None:
    server, _, _, _ = gated_server()
    with trio.fail_after(10):
        async with serving(server) as info:
            with_caps, headers = modern("tools/call", {"name": "ask", "arguments": {}}, rid=1)
            with_caps["params"]["_meta"] = {
                **META, "io.modelcontextprotocol/clientCapabilities": {"elicitation": {}}}
            without, _ = modern("tools/call", {"name": "ask", "arguments": {}}, rid=1)
            status_1, got_1, body_1 = await (await Exchange.open(info.port, "POST", with_caps,
                                                             headers)).whole()
            status_2, _, body_2 = await (await Exchange.open(info.port, "POST", without,
                                                             headers)).whole()
            status_3, got_3, body_3 = await (await Exchange.open(info.port, "POST", with_caps,
                                                             headers)).whole()
    assert status_1 == status_3 == 200
    assert answer_of(got_1, body_1)["result"]["resultType"] == "input_required"
    assert answer_of(got_3, body_3)["result"]["resultType"] == "input_required"
    # The request that did not declare elicitation: -32021, with its own HTTP status.
    assert status_2 == 400
    refused = json.loads(body_2)
    assert refused["id"] == 1 and refused["error"]["code"] == -32021


async def test_an_error_answer_keeps_its_status_and_the_clients_id() -> None:
    server, _, _, _ = gated_server()
    with trio.fail_after(10):
        async with serving(server) as info:
            message, headers = modern("tools/call", {"name": "wait", "arguments": {}},
                                      rid="x-9")
            status, got, body = await (await Exchange.open(info.port, "POST", message,
                                                         headers)).whole()
    # An invalid argument is the handler's error result, not a transport error.
    if status == 200:
        assert answer_of(got, body)["id"] == "x-9"
    else:
        assert json.loads(body)["id"] == "x-9"


async def test_clients_reusing_the_same_ids_at_once_each_get_their_own_answers() -> None:
    """Eight clients, each numbering its requests 0, 1, 2...: an id comes back in the shared
    session as soon as it is answered, while the handler that answered it is still ending."""
    server = Server("shared", "1")

    @server.tool()
    async def echo(text: str) -> str:
        return text

    answers: dict[int, list[Any]] = {}

    async def client(n: int, port: int) -> None:
        for rid in range(15):
            status, got, body = await (await Exchange.open(port, "POST", *modern(
                "tools/call", {"name": "echo", "arguments": {"text": f"{n}/{rid}"}},
                rid=rid))).whole()
            assert status == 200
            answer = answer_of(got, body)
            answers.setdefault(n, []).append((answer["id"],
                                              answer["result"]["content"][0]["text"]))

    with trio.fail_after(30):
        async with serving(server) as info:
            async with trio.open_nursery() as nursery:
                for n in range(8):
                    nursery.start_soon(client, n, info.port)
    assert answers == {n: [(rid, f"{n}/{rid}") for rid in range(15)] for n in range(8)}


async def test_many_requests_leave_nothing_behind() -> None:
    server, gates, _, _ = gated_server()
    gates["z"] = trio.Event()
    gates["z"].set()
    with trio.fail_after(20):
        async with serving(server) as info:
            for rid in range(20):
                status, got, body = await (await Exchange.open(info.port, "POST", *modern(
                    "tools/call", {"name": "wait", "arguments": {"text": "z"}},
                    rid=rid % 3))).whole()
                assert status == 200 and answer_of(got, body)["id"] == rid % 3
            core_session = _shared(info_core(server))
            assert core_session is not None
            assert not core_session.by_id and not core_session.streams
            assert len(server._sessions) == 1


# ---------------------------------------------------------------- helpers


def info_core(server: Server) -> Any:
    """The StreamableHTTPServer of the (one) endpoint serving ``server``, found through its
    session's transport."""
    session = next(iter(server._sessions))
    return session._transport.endpoint.core  # type: ignore[attr-defined]


def _shared(core: Any) -> Any:
    return core._sessions.get(core.shared_session_id)

