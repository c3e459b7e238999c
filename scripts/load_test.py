"""The load test of issue 14, bounded in count and time (``.ci/run`` runs it).

Three phases, each under its own deadline, on loopback, in one process:

1. **sessions**: 1,000 concurrent Streamable HTTP sessions, each making calls and closing;
   then none is left (the server's live sessions 0) and the process has as many file
   descriptors open as before.
2. **flood**: 10,000 concurrent calls in one session (over an in-memory transport, the
   stdio shape): each resolves, with a result or with -32050 (server busy) beyond the
   per-session cap, and no more than the cap's handlers ever run at once.
3. **slow clients**: 600 connections that send half a head or trickle a body while a normal
   client makes calls: the normal client is served in milliseconds, and every slow one gets
   408 once ``request_timeout`` passes.

Usage, from the project root: ``python scripts/load_test.py [--sessions N] [--slow N]``.
Exits 1 (one line per failure) when a check fails.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import trio

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from trio_adapter import Client, MCPError, Server, memory_transport_pair
from trio_adapter.http import HTTPServerInfo, StreamableHTTPTransport, serve_http

FAILURES: list[str] = []


def check(ok: bool, what: str) -> None:
    if not ok:
        FAILURES.append(what)
        print(f"load: FAIL: {what}", flush=True)


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def build_server(**kwargs: Any) -> Server:
    server = Server("load", "1", **kwargs)

    @server.tool()
    async def echo(text: str) -> str:
        return text

    return server


@asynccontextmanager
async def serving(server: Server, **kwargs: Any) -> AsyncIterator[HTTPServerInfo]:
    async with trio.open_nursery() as nursery:
        info: HTTPServerInfo = await nursery.start(lambda task_status: serve_http(
            server, "127.0.0.1", 0, task_status=task_status, **kwargs))
        yield info
        nursery.cancel_scope.cancel()


async def sessions_phase(count: int) -> None:
    server = build_server()
    # Every client here comes from 127.0.0.1: the per-address cap is raised to let them in.
    caps = {"max_connections": 8 * count, "max_connections_per_client": 8 * count,
            "max_sessions": 2 * count,
            # and the sessions waiting for the others to open must not expire as unused
            "unused_session_timeout": 600.0}
    before = open_fds()
    started = time.monotonic()
    async with serving(server, **caps) as info:
        done = connected = 0
        all_connected = trio.Event()
        peak_live = 0

        async def one(i: int) -> None:
            nonlocal done, connected, peak_live
            client = Client(f"c{i}", "1", mode="legacy")
            # (2 shared cores: 1,000 handshakes at once may take longer than the default 30 s)
            transport = StreamableHTTPTransport(info.url, connect_timeout=150)
            async with client.connect(transport) as session:
                connected += 1
                if connected == count:
                    peak_live = len(server.sessions)
                    all_connected.set()
                await all_connected.wait()  # every session is open at once
                for _ in range(2):
                    result = await session.call_tool("echo", {"text": str(i)})
                    check(result.content[0].text == str(i),  # type: ignore[union-attr]
                          f"session {i}: wrong answer")
            done += 1

        with trio.fail_after(240):
            async with trio.open_nursery() as nursery:
                for i in range(count):
                    nursery.start_soon(one, i)
        check(peak_live == count, f"{peak_live} of {count} sessions live at once")
        with trio.move_on_after(10):  # (a poll of state with no event to wait on: bounded)
            while server.sessions:  # noqa: ASYNC110
                await trio.sleep(0.05)
        check(done == count, f"{done} of {count} sessions completed")
        check(not server.sessions, f"{len(server.sessions)} sessions still live after close")
    with trio.move_on_after(10):  # (the kernel's descriptors: polled, bounded)
        while open_fds() > before:  # noqa: ASYNC110
            await trio.sleep(0.05)
    check(open_fds() <= before, f"file descriptors: {before} before, {open_fds()} after")
    print(f"load: sessions: {count} concurrent sessions with calls in "
          f"{time.monotonic() - started:.1f} s ({peak_live} live at once); live sessions after: "
          f"{len(server.sessions)}; "
          f"fds {before} -> {open_fds()}", flush=True)


async def flood_phase(count: int) -> None:
    server = build_server()
    running = peak = 0

    @server.tool()
    async def work() -> str:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await trio.sleep(0.2)
        running -= 1
        return "ok"

    client_end, server_end = memory_transport_pair()
    ok = busy = other = 0
    started = time.monotonic()
    async with trio.open_nursery() as nursery:
        await nursery.start(server.serve, server_end)
        async with Client("flood", "1", mode="legacy").connect(client_end) as session:

            async def one() -> None:
                nonlocal ok, busy, other
                try:
                    await session.call_tool("work", {})
                    ok += 1
                except MCPError as exc:
                    if exc.code == -32050:
                        busy += 1
                    else:
                        other += 1

            with trio.fail_after(120):
                async with trio.open_nursery() as calls:
                    for _ in range(count):
                        calls.start_soon(one)
        nursery.cancel_scope.cancel()
    cap = server.max_concurrent_requests
    check(ok + busy == count and other == 0,
          f"flood: {ok} results, {busy} busy, {other} other errors of {count}")
    check(cap is not None and peak <= cap, f"flood: {peak} handlers at once (cap {cap})")
    print(f"load: flood: {count} calls in one session in {time.monotonic() - started:.1f} s: "
          f"{ok} answered, {busy} refused busy (-32050); at most {peak} handlers at once",
          flush=True)


async def slow_phase(count: int, request_timeout: float) -> None:
    server = build_server()
    caps = {"max_connections": 4 * count, "max_connections_per_client": 4 * count}
    async with serving(server, request_timeout=request_timeout, **caps) as info:
        answers: list[bytes] = []

        async def slow(i: int) -> None:
            stream = await trio.open_tcp_stream("127.0.0.1", info.port)
            if i % 2:  # half a head, never finished
                await stream.send_all(b"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\n")
            else:  # a whole head, then a body one byte every 0.5 s
                await stream.send_all(b"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                                      b"content-type: application/json\r\n"
                                      b"content-length: 1000\r\n\r\n")
            data = b""
            with trio.move_on_after(request_timeout + 15):
                async with trio.open_nursery() as nursery:
                    if not i % 2:
                        async def trickle() -> None:
                            try:
                                while True:
                                    await trio.sleep(0.5)
                                    await stream.send_all(b" ")
                            except trio.BrokenResourceError:
                                pass
                        nursery.start_soon(trickle)
                    while b"\r\n\r\n" not in data:
                        chunk = await stream.receive_some(65536)
                        if not chunk:
                            break
                        data += chunk
                    nursery.cancel_scope.cancel()
            answers.append(data.split(b"\r\n", 1)[0])
            await stream.aclose()

        latencies: list[float] = []
        async with trio.open_nursery() as nursery:
            for i in range(count):
                nursery.start_soon(slow, i)
            await trio.sleep(0.5)  # (real sockets: let the slow clients connect)
            async with Client("normal", "1", mode="legacy").connect(
                    StreamableHTTPTransport(info.url)) as session:
                for _ in range(50):
                    t0 = time.monotonic()
                    await session.call_tool("echo", {"text": "hi"})
                    latencies.append(time.monotonic() - t0)
        timed_out = sum(1 for a in answers if a.startswith(b"HTTP/1.1 408"))
        latencies.sort()
        median, p90, worst = (latencies[len(latencies) // 2],
                              latencies[len(latencies) * 9 // 10], latencies[-1])
        check(timed_out == count, f"slow: {timed_out} of {count} slow clients got 408")
        # (2 cores shared with other work: the worst call is reported, the median and the
        # 90th percentile are checked)
        check(median < 0.05 and p90 < 0.25,
              f"slow: the normal client waited {median * 1000:.1f} ms (median), "
              f"{p90 * 1000:.1f} ms (90th percentile)")
        print(f"load: slow clients: {count} slow connections, {timed_out} got 408 after "
              f"{request_timeout:g} s; the normal client's calls took {median * 1000:.1f} ms "
              f"(median), {p90 * 1000:.1f} ms (90th percentile), {worst * 1000:.1f} ms (worst)",
              flush=True)


async def main(args: argparse.Namespace) -> None:
    await sessions_phase(args.sessions)
    await flood_phase(args.flood)
    await slow_phase(args.slow, args.request_timeout)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, default=1000)
    parser.add_argument("--flood", type=int, default=10_000)
    parser.add_argument("--slow", type=int, default=600)
    parser.add_argument("--request-timeout", type=float, default=3.0)
    trio.run(main, parser.parse_args())
    if FAILURES:
        sys.exit(1)
    print("load: all checks passed")
