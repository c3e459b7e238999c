"""Long-running fuzz harness for the sans-IO engine (not collected by pytest).

Feeds arbitrary bytes to a client or server engine in some lifecycle stage and fails on anything
but events, ``NEED_DATA`` or :class:`sansio.RemoteProtocolError` (and on a hang). The first byte
of each input picks the role, the stage, the negotiated revision and how the rest is delivered
(whole, byte by byte, or as one ``receive_message``).

Usage, from the project root::

    python tests/fuzz_engine.py [libFuzzer options]     # with atheris, if it is installed
    python tests/fuzz_engine.py --hypothesis [-n 20000] # a hypothesis loop otherwise

Set ``TRIO_MCP_JSON=stdlib`` to fuzz the standard-library JSON path.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sansio import HANDSHAKE_VERSIONS, Role, State
from tests.test_fuzz import STAGES, drain, engine, feed, streams


def one_input(data: bytes) -> None:
    """Run one fuzz input (the atheris entry point)."""
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


def run_hypothesis(examples: int) -> None:
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    inputs = st.one_of(
        st.binary(max_size=512),
        st.tuples(st.integers(0, 255), st.sampled_from(HANDSHAKE_VERSIONS).flatmap(streams))
        .map(lambda t: bytes([t[0]]) + t[1]),
    )

    @settings(max_examples=examples, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(inputs)
    def fuzz(data: bytes) -> None:
        one_input(data)

    fuzz()
    print(f"{examples} inputs, no failure")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hypothesis", action="store_true", help="use hypothesis, not atheris")
    parser.add_argument("-n", type=int, default=20_000, help="hypothesis examples")
    args, rest = parser.parse_known_args()
    if not args.hypothesis:
        try:
            import atheris  # type: ignore[import-not-found]
        except ImportError:
            print("atheris is not installed: using hypothesis", file=sys.stderr)
        else:
            atheris.Setup([sys.argv[0], *rest], one_input)
            atheris.Fuzz()
            return
    run_hypothesis(args.n)


if __name__ == "__main__":
    main()
