"""A real ``redis-server`` (Debian's package) on a loopback port, for the scale-out tests.

The tests that need one take the ``redis_url`` fixture (one server for the whole run, each test
under a key prefix of its own: ``redis_prefix``) or make a :class:`RedisProcess` of their own
(the fault tests stop and restart it). Without ``redis-server`` on ``PATH`` or without
``coredis`` they skip, with :data:`REDIS_SKIP_REASON`; ``.ci/run`` installs both and fails if
any test skipped for that reason.
"""

from __future__ import annotations

import os
import selectors
import shutil
import socket
import subprocess
import tempfile
import time

REDIS_SKIP_REASON = ("redis-server or coredis is not installed: apt-get install redis-server; "
                     "pip install -e '.[dev]' (the scale-out tests need both)")


def redis_available() -> bool:
    """Whether the scale-out tests can run here (``redis-server`` and ``coredis``)."""
    try:
        import coredis  # noqa: F401
    except ImportError:
        return False
    return shutil.which("redis-server") is not None


def free_port() -> int:
    """A TCP port free on 127.0.0.1 now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class RedisProcess:
    """One ``redis-server`` on 127.0.0.1, nothing saved to disk; :meth:`start` waits (at most
    10 s) until it answers, :meth:`stop` ends it (SIGTERM, then SIGKILL after 5 s).
    :meth:`restart` keeps the port, so clients reconnect to the same URL."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self._dir = tempfile.mkdtemp(prefix="trio-mcp-redis-")

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        """Start it and return once it says it accepts connections (its log line on stdout,
        read with a 10 s deadline; the pipe is closed then: redis-server ignores SIGPIPE).

        Raises:
            RuntimeError: it exited or did not get ready in time (its output is given).
        """
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
             "--save", "", "--appendonly", "no", "--dir", self._dir],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        assert self.proc.stdout is not None
        output = b""
        with selectors.DefaultSelector() as selector:
            selector.register(self.proc.stdout, selectors.EVENT_READ)
            end = time.monotonic() + 10
            while b"Ready to accept connections" not in output:
                left = end - time.monotonic()
                if left <= 0 or not selector.select(left):
                    break
                chunk = os.read(self.proc.stdout.fileno(), 65536)
                if not chunk:  # it exited
                    break
                output += chunk
        self.proc.stdout.close()
        if b"Ready to accept connections" not in output:
            self.stop()
            raise RuntimeError(f"redis-server did not start on port {self.port}: "
                               f"{output.decode(errors='replace')[-500:]}")

    def stop(self) -> None:
        if self.proc is None:
            return
        proc, self.proc = self.proc, None
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)

    def restart(self) -> None:
        self.stop()
        self.start()

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self._dir, ignore_errors=True)
