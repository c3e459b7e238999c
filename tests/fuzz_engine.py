"""Long-running fuzz harnesses for the sans-IO layer (not collected by pytest).

Three targets, each one function of bytes that fails on anything but the documented outcomes
(and on a hang):

* ``engine``: arbitrary bytes to a client or server :class:`sansio.Connection` in some
  lifecycle stage; only events, ``NEED_DATA`` or :class:`sansio.RemoteProtocolError` may come
  out. The first byte picks the role, the stage, the negotiated revision and how the rest is
  delivered (whole, byte by byte, or as one ``receive_message``).
* ``http``: arbitrary bytes to :class:`sansio.http.HTTPServerConnection` (in chunks the first
  byte sizes), every whole request to :meth:`sansio.http.StreamableHTTPServer.handle`, and an
  answer routed for every stream it opens; only the documented outcomes may come out.
* ``sse``: arbitrary bytes, in chunks, to :class:`sansio.sse.SSEDecoder`; only events may
  come out, each line and event within the decoder's bounds.
* ``h1``: the HTTP/1.1 fast path (:mod:`sansio._h1`) against h11 alone, differentially:
  arbitrary bytes (after a well-formed request or response, or alone) to a server
  :class:`sansio.http.HTTPServerConnection` or a client :class:`sansio._h1.ClientConnection`,
  both with and without the fast path, in the same chunks; both must give the same requests,
  answers, events and errors (h11's error texts aside), and only documented ones.

With atheris, the ``sansio`` package is imported under ``atheris.instrument_imports`` (its
code is instrumented for coverage feedback; nothing else is), so the fuzzer is guided by the
branches it reaches. Usage, from the project root::

    python tests/fuzz_engine.py [--target engine|http|sse] [libFuzzer options]
    python tests/fuzz_engine.py --target http -max_total_time=3600 -jobs=2 corpus/http
    python tests/fuzz_engine.py --hypothesis [--target T] [-n 20000]  # without atheris

Set ``TRIO_MCP_JSON=stdlib`` to fuzz the standard-library JSON path.
``tests/test_limits_server.py`` imports this module and runs each target on a few inputs, so
it stays importable without atheris. See docs/testing.md.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

TARGETS = ("engine", "http", "sse", "h1")


def load_targets(instrument: Any = None) -> dict[str, Callable[[bytes], None]]:
    """Import the code under test (under ``instrument``, a context manager such as
    ``atheris.instrument_imports(include=["sansio"])``) and return the targets by name."""
    with instrument if instrument is not None else contextlib.nullcontext():
        from sansio import HANDSHAKE_VERSIONS, Role, State, _codec
        from sansio.http import (
            Accept,
            CompleteRequest,
            HTTPServerConnection,
            Listen,
            OpenStream,
            Reject,
            StreamableHTTPServer,
            Terminate,
        )
        from sansio.sse import SSEDecoder, SSEError, SSEEvent
        from sansio.versions import SUPPORTED_VERSIONS
        from tests.test_fuzz import STAGES, drain, engine, feed
        from tests.test_h1_fast import RESPONSES, _client_run, _request, _same

    def one_engine_input(data: bytes) -> None:
        if not data:
            return
        selector, payload = data[0], data[1:]
        role = Role.CLIENT if selector & 1 else Role.SERVER
        stage = STAGES[(selector >> 1) % len(STAGES)]
        version = HANDSHAKE_VERSIONS[(selector >> 3) % len(HANDSHAKE_VERSIONS)]
        mode = (selector >> 5) % 3
        conn = engine(role, stage, version)
        if mode == 0:
            feed(conn, [payload])
        elif mode == 1:
            feed(conn, [payload[i : i + 1] for i in range(len(payload))])
        else:
            conn.receive_message(payload)
            drain(conn)
            conn.connection_lost(None)
            drain(conn)
        assert conn.state in (State.CLOSED, State.ERROR), conn.state

    ids = iter(range(1, 1 << 62))
    outcomes = (Reject, Accept, OpenStream, Listen, Terminate)

    def one_http_input(data: bytes) -> None:
        if not data:
            return
        selector, payload = data[0], data[1:]
        chunk = 1 + selector % 32
        if not selector & 32:  # the rest is the body of a well-formed POST (or two)
            body, _, second = payload.partition(b"\r\n\r\n")
            payload = b"".join(
                b"POST /mcp HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\n"
                b"accept: application/json, text/event-stream\r\nmcp-session-id: s1\r\n"
                b"content-length: " + str(len(part)).encode() + b"\r\n\r\n" + part
                for part in ((body, second) if second else (body,)))
        core = StreamableHTTPServer(lambda: f"s{next(ids)}", supported_versions=SUPPORTED_VERSIONS,
                                    stateless=bool(selector & 64),
                                    json_response=bool(selector & 128), max_sessions=4)
        conn = HTTPServerConnection(max_body=4096, max_header=1024)
        for i in range(0, len(payload), chunk):
            conn.receive_data(payload[i:i + chunk])
            while True:
                got = conn.next_request()
                if got is None:
                    break
                if isinstance(got, bytes):
                    assert got.startswith(b"HTTP/1.1 4"), got[:40]
                    return
                assert isinstance(got, CompleteRequest)
                outcome = core.handle(got)
                assert isinstance(outcome, outcomes), outcome
                if isinstance(outcome, Reject):
                    assert 400 <= outcome.status < 600
                    if outcome.body:
                        _codec.loads(outcome.body)
                elif isinstance(outcome, OpenStream):
                    body = _codec.loads(outcome.message)
                    items = body if isinstance(body, list) else [body]
                    for item in items:
                        if isinstance(item, dict) and "method" in item and "id" in item:
                            core.route(outcome.session_id, _codec.dumps(
                                {"jsonrpc": "2.0", "id": item["id"], "result": {}}))
                    core.delivered(outcome.session_id or "", outcome.stream_id)
                conn.response(202, [])
                if not conn.next_cycle():
                    return

    def one_sse_input(data: bytes) -> None:
        if not data:
            return
        chunk = 1 + data[0] % 32
        decoder = SSEDecoder(max_line=256, max_event=1024)
        payload = data[1:]
        for i in range(0, len(payload), chunk):
            try:
                events = decoder.feed(payload[i:i + chunk])
            except SSEError:
                return  # a line or an event over the bounds: the documented refusal
            for event in events:
                assert isinstance(event, SSEEvent)
                assert len(event.data) <= 1024

    def one_h1_input(data: bytes) -> None:
        if not data:
            return
        selector, payload = data[0], data[1:]
        pieces = [1 + (b % 48) for b in payload[:8]] if selector & 2 else []
        if selector & 1:  # the client side
            names = sorted(RESPONSES)
            response = (RESPONSES[names[selector // 4 % len(names)]] if selector & 4 else b"") \
                + payload[8:]
            got = _client_run(response, pieces, fast=True)
            assert got == _client_run(response, pieces, fast=False), got
        else:  # the server side (_same asserts the two agree)
            _same((_request() if selector & 4 else b"") + payload[8:], pieces,
                  answer="stream" if selector & 8 else "whole")

    return {"engine": one_engine_input, "http": one_http_input, "sse": one_sse_input,
            "h1": one_h1_input}


def run_hypothesis(target: Callable[[bytes], None], examples: int) -> None:
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    @settings(max_examples=examples, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(st.binary(max_size=1024))
    def fuzz(data: bytes) -> None:
        target(data)

    fuzz()
    print(f"{examples} inputs, no failure")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hypothesis", action="store_true", help="use hypothesis, not atheris")
    parser.add_argument("--target", choices=TARGETS, default="engine")
    parser.add_argument("-n", type=int, default=20_000, help="hypothesis examples")
    args, rest = parser.parse_known_args()
    if not args.hypothesis:
        try:
            import atheris  # type: ignore[import-not-found]
        except ImportError:
            print("atheris is not installed: using hypothesis", file=sys.stderr)
        else:
            targets = load_targets(atheris.instrument_imports(include=["sansio"]))
            atheris.Setup([sys.argv[0], *rest], targets[args.target])
            atheris.Fuzz()
            return
    run_hypothesis(load_targets()[args.target], args.n)


if __name__ == "__main__":
    main()
