"""A real ``redis-server`` (Debian's package) on a loopback port, for the scale-out tests.

The tests that need one take the ``redis_url`` fixture (one server for the whole run, each test
under a key prefix of its own: ``redis_prefix``) or make a :class:`RedisProcess` of their own
(the fault tests stop and restart it). Without ``redis-server`` on ``PATH`` or without
``coredis`` they skip, with :data:`REDIS_SKIP_REASON`; ``.ci/run`` installs both and fails if
any test skipped for that reason.
"""

from __future__ import annotations

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
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
             "--save", "", "--appendonly", "no", "--dir", self._dir],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
        end = time.monotonic() + 10
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                    s.sendall(b"PING\r\n")
                    if s.recv(64).startswith(b"+PONG"):
                        return
            except OSError:
                pass
            if self.proc.poll() is not None or time.monotonic() > end:
                self.stop()
                raise RuntimeError(f"redis-server did not start on port {self.port}")
            time.sleep(0.02)

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
