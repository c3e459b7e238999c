"""nginx and clusters of ``trio-mcp serve`` workers as real processes, for the scale-out tests.

* :func:`open_nginx` runs Debian's ``nginx`` as a non-daemon master under a temporary prefix
  (``-p``, ``-c``, its pid file and error log there), listening on a loopback port and
  round-robin to the given upstream ports, with the configuration of ``docs/scale.md`` (the one
  fenced ``nginx`` block; :func:`nginx_config_from_docs`). Without ``nginx`` the tests skip with
  :data:`NGINX_SKIP_REASON` (``.ci/run`` installs it).
* :func:`open_cluster` starts N workers (``python -m trio_adapter serve SCRIPT --http
  127.0.0.1:PORT --store URL --worker-id ID``), each on a port of its own, and waits until each
  says it listens; :func:`open_supervisor` runs ``serve --workers N`` (one ``SO_REUSEPORT``
  port). Every wait has a deadline; every process is stopped when the block ends (SIGTERM, then
  SIGKILL), whatever happened.
"""

from __future__ import annotations

import itertools
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
from collections import deque
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

import attrs
import trio

from tests.redis_support import free_port

ROOT = Path(__file__).resolve().parents[1]
SCALE_DOC = ROOT / "docs" / "scale.md"
NGINX_SKIP_REASON = "nginx is not installed: apt-get install nginx (the scale-out tests need it)"
NGINX_BLOCK = re.compile(r"^```nginx[ \t]*\n(.*?)^```[ \t]*$", re.DOTALL | re.MULTILINE)
READY = re.compile(r"trio-mcp: serving .* at (http://\S+)$")
STOP_GRACE = 10.0
"""Seconds a stopped process gets after SIGTERM before SIGKILL."""


def nginx_available() -> bool:
    """Whether ``nginx`` is on ``PATH`` (or in /usr/sbin, where Debian puts it)."""
    return _nginx() is not None


def _nginx() -> str | None:
    return shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/sbin")


def nginx_config_from_docs(port: int, upstream_ports: Sequence[int],
                           owners: Mapping[str, int] | None = None) -> str:
    """docs/scale.md's nginx configuration with ``{{PORT}}`` and ``{{WORKERS}}`` filled in:
    the round-robin one, or with ``owners`` (worker id -> port) the one that routes a
    session to its owner (``{{OWNERS}}``)."""
    blocks = NGINX_BLOCK.findall(SCALE_DOC.read_text(encoding="utf-8"))
    wanted = [b for b in blocks if ("{{OWNERS}}" in b) == (owners is not None)]
    assert len(blocks) == 2 and len(wanted) == 1, \
        "docs/scale.md must hold the round-robin and the owner-routing ```nginx blocks"
    config: str = wanted[0]
    assert "{{PORT}}" in config and "{{WORKERS}}" in config, "the placeholders are gone"
    servers = "\n    ".join(f"server 127.0.0.1:{p};" for p in upstream_ports)
    config = config.replace("{{PORT}}", str(port)).replace("{{WORKERS}}", servers)
    if owners is not None:
        lines = "\n    ".join(f'"~^{re.escape(worker_id)}\\." 127.0.0.1:{p};'
                              for worker_id, p in owners.items())
        config = config.replace("{{OWNERS}}", lines)
    return config


async def wait_listening(port: int, deadline: float, proc: trio.Process | None = None) -> None:
    """Poll (every 50 ms, until ``deadline``) until 127.0.0.1:``port`` accepts a connection.

    Raises:
        RuntimeError: ``proc`` exited first.
        trio.TooSlowError: the deadline passed.
    """
    with trio.fail_at(deadline):
        while True:
            try:
                stream = await trio.open_tcp_stream("127.0.0.1", port)
            except OSError:
                if proc is not None and proc.poll() is not None:
                    raise RuntimeError(f"the process exited ({proc.returncode}) before "
                                       f"listening on {port}") from None
                await trio.sleep(0.05)
                continue
            await stream.aclose()
            return


async def stop_process(proc: trio.Process, grace: float = STOP_GRACE) -> None:
    """SIGTERM ``proc``, SIGKILL it after ``grace`` seconds; wait for it (shielded)."""
    with trio.CancelScope(shield=True):
        if proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
            with trio.move_on_after(grace):
                await proc.wait()
            if proc.returncode is None:
                proc.kill()
                await proc.wait()


@attrs.define
class Nginx:
    port: int
    prefix: Path
    proc: trio.Process

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/mcp"

    def upstream_ports(self) -> list[int]:
        """The upstream port of each request nginx has finished, in order (its access log;
        a request that tried several upstreams counts the one that answered)."""
        path = self.prefix / "access.log"
        ports = []
        for line in (path.read_text(errors="replace") if path.exists() else "").splitlines():
            addresses = line.rsplit(" ", 1)[0]  # "$upstream_addr $status"
            last = addresses.split(",")[-1].strip()
            if ":" in last and last.rsplit(":", 1)[1].isdigit():
                ports.append(int(last.rsplit(":", 1)[1]))
        return ports

    def error_log(self) -> str:
        path = self.prefix / "error.log"
        return path.read_text(errors="replace") if path.exists() else ""


def nginx_argv(binary: str, prefix: Path, site: str) -> list[str]:
    """Write an nginx configuration under ``prefix`` (one worker process, pid, logs and
    temporary files there; access log lines ``$upstream_addr $status``) that includes
    ``site`` (an ``http {}``-level configuration); the command that runs it in the
    foreground."""
    (prefix / "mcp.conf").write_text(site)
    temps = "\n".join(f"    {name}_temp_path {prefix / name};"
                      for name in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    user = "user root;\n" if os.geteuid() == 0 else ""
    (prefix / "nginx.conf").write_text(
        f"{user}worker_processes 1;\npid {prefix / 'nginx.pid'};\n"
        f"error_log {prefix / 'error.log'} warn;\n"
        "events { worker_connections 1024; }\n"
        "http {\n    log_format upstreams '$upstream_addr $status';\n"
        f"    access_log {prefix / 'access.log'} upstreams;\n" + temps
        + f"\n    include {prefix / 'mcp.conf'};\n}}\n")
    return [binary, "-p", str(prefix), "-c", str(prefix / "nginx.conf"),
            "-e", str(prefix / "error.log"), "-g", "daemon off; master_process on;"]


@asynccontextmanager
async def open_nginx(upstream_ports: Sequence[int], port: int | None = None, *,
                     owners: Mapping[str, int] | None = None) -> AsyncIterator[Nginx]:
    """nginx on 127.0.0.1:``port`` (a free one by default), round-robin to
    ``upstream_ports``, with docs/scale.md's configuration; stopped when the block ends."""
    binary = _nginx()
    if binary is None:
        import pytest
        pytest.skip(NGINX_SKIP_REASON)
    port = port or free_port()
    prefix = Path(tempfile.mkdtemp(prefix="trio-mcp-nginx-"))
    proc = await trio.lowlevel.open_process(
        nginx_argv(binary, prefix, nginx_config_from_docs(port, upstream_ports, owners)),
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        try:
            await wait_listening(port, trio.current_time() + 15, proc)
        except (RuntimeError, trio.TooSlowError):
            log = (prefix / "error.log").read_text(errors="replace") \
                if (prefix / "error.log").exists() else ""
            raise RuntimeError(f"nginx did not start: {log[-2000:]}") from None
        yield Nginx(port, prefix, proc)
    finally:
        await stop_process(proc)  # SIGTERM: nginx's fast shutdown
        shutil.rmtree(prefix, ignore_errors=True)


# ---------------------------------------------------------------- workers


@attrs.define
class Worker:
    """One worker process: its id, port, process and the last lines of its stderr."""

    worker_id: str
    port: int
    proc: trio.Process
    log: deque[str] = attrs.field(factory=lambda: deque(maxlen=500))
    exited: trio.Event = attrs.field(factory=trio.Event)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/mcp"

    def kill(self) -> None:
        """SIGKILL it (a crash); :meth:`Cluster` stops nothing twice."""
        if self.proc.returncode is None:
            self.proc.kill()


async def _pump(stream: trio.abc.ReceiveStream | None, log: deque[str],
                ready: trio.Event | None = None, found: list[str] | None = None) -> None:
    """Read ``stream`` line by line into ``log`` (bounded) until it ends; set ``ready`` at the
    first ready line (its URL appended to ``found``)."""
    if stream is None:
        return
    pending = b""
    async with stream:
        while True:
            try:
                chunk = await stream.receive_some(65536)
            except (trio.BrokenResourceError, trio.ClosedResourceError):
                break
            if not chunk:
                break
            pending += chunk
            *lines, pending = pending.split(b"\n")
            for raw in lines:
                line = raw.decode(errors="replace")
                log.append(line)
                hit = READY.match(line.strip())
                if hit and ready is not None and not ready.is_set():
                    if found is not None:
                        found.append(hit.group(1))
                    ready.set()
            pending = pending[-65536:]  # a line longer than this is cut, not buffered


def worker_env(state_keys: str | None = None) -> dict[str, str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    if state_keys is not None:
        env["TRIO_MCP_STATE_KEYS"] = state_keys
    return env


@attrs.define
class Cluster:
    """N workers, each on its own port, sharing one Redis under a prefix of their own."""

    workers: list[Worker]
    nursery: trio.Nursery
    script: Path
    redis_url: str
    prefix: str
    env: dict[str, str]
    extra: tuple[str, ...]

    @property
    def ports(self) -> list[int]:
        return [w.port for w in self.workers]

    def by_id(self, worker_id: str) -> Worker:
        return next(w for w in self.workers if w.worker_id == worker_id)

    async def start_worker(self, worker_id: str, port: int | None = None,
                           start_within: float = 30.0) -> Worker:
        """Start one more worker (or one again, on a port it had) and wait until it listens."""
        port = port or free_port()
        argv = [sys.executable, "-m", "trio_adapter", "serve", str(self.script), "--http",
                f"127.0.0.1:{port}", "--store", self.redis_url, "--store-prefix", self.prefix,
                "--worker-id", worker_id, "--max-connections-per-client", "1024",
                "--drain-timeout", "2", *self.extra]
        proc = await trio.lowlevel.open_process(
            argv, env=self.env, cwd=str(ROOT), stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        worker = Worker(worker_id, port, proc)
        self.workers.append(worker)
        ready = trio.Event()

        async def watch() -> None:
            await _pump(proc.stderr, worker.log, ready)
            await proc.wait()
            worker.exited.set()
            ready.set()

        self.nursery.start_soon(watch)
        with trio.fail_after(start_within):
            await ready.wait()
        if proc.returncode is not None:
            raise RuntimeError(f"worker {worker_id} exited ({proc.returncode}): "
                               + " | ".join(list(worker.log)[-5:]))
        return worker

    async def stop_worker(self, worker: Worker) -> None:
        await stop_process(worker.proc)


@asynccontextmanager
async def open_cluster(script: Path, count: int, redis_url: str, *,
                       state_keys: str | None = None, extra: Sequence[str] = ()
                       ) -> AsyncIterator[Cluster]:
    """``count`` workers serving ``script`` on ports of their own with ``--store
    redis_url`` (ids ``<tag>w1``..., a key prefix of their own), all listening when the block
    starts; all stopped when it ends. ``state_keys``: their ``TRIO_MCP_STATE_KEYS`` (one
    random key for all by default)."""
    tag = secrets.token_hex(3)
    keys = state_keys or ("scale-" + secrets.token_hex(24))
    async with trio.open_nursery() as nursery:
        cluster = Cluster([], nursery, script, redis_url, f"t{tag}:", worker_env(keys),
                          tuple(extra))
        try:
            async with trio.open_nursery() as starting:
                for k in range(count):
                    starting.start_soon(cluster.start_worker, f"x{tag}w{k + 1}")
            cluster.workers.sort(key=lambda w: w.worker_id)
            yield cluster
        finally:
            with trio.CancelScope(shield=True):
                async with trio.open_nursery() as stopping:
                    for worker in cluster.workers:
                        stopping.start_soon(stop_process, worker.proc)
            nursery.cancel_scope.cancel()


@attrs.define
class Supervisor:
    """``trio-mcp serve --workers N``: the supervisor process and what it printed."""

    proc: trio.Process
    log: deque[str]
    url: str
    ready: trio.Event

    def worker_pids(self) -> list[int]:
        """The supervisor's live children (from /proc: Linux)."""
        return children(self.proc.pid)


def children(pid: int) -> list[int]:
    """The live child processes of ``pid`` (Linux ``/proc``)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid and fields[0] != "Z":
            found.append(int(entry.name))
    return sorted(found)


def alive(pid: int) -> bool:
    """Whether ``pid`` is a live (not zombie) process."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return False
    return fields[0] != "Z"


@asynccontextmanager
async def open_supervisor(script: Path, args: Sequence[str], *, start_within: float = 60.0,
                          env: dict[str, str] | None = None) -> AsyncIterator[Supervisor]:
    """``python -m trio_adapter serve SCRIPT *args`` (give it ``--workers N``), waiting for its
    ready line; SIGTERM (then SIGKILL) when the block ends, and every worker it left is killed
    (and counted: the test sees a leak as a failure)."""
    argv = [sys.executable, "-m", "trio_adapter", "serve", str(script), *args]
    proc = await trio.lowlevel.open_process(
        argv, env=env or worker_env(), cwd=str(ROOT), stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    log: deque[str] = deque(maxlen=500)
    ready = trio.Event()
    found: list[str] = []
    seen: set[int] = set()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(_pump, proc.stderr, log, ready, found)
        try:
            with trio.fail_after(start_within):
                while not ready.is_set():
                    if proc.returncode is not None or proc.poll() is not None:
                        raise RuntimeError(f"serve --workers exited ({proc.returncode}): "
                                           + " | ".join(log))
                    seen.update(children(proc.pid))
                    with trio.move_on_after(0.1):
                        await ready.wait()
            supervisor = Supervisor(proc, log, found[0], ready)
            yield supervisor
        finally:
            seen.update(children(proc.pid))
            await stop_process(proc, grace=STOP_GRACE + 5)
            for pid in seen:  # a leaked worker: killed here, and the test's asserts fail
                if alive(pid):
                    os.kill(pid, signal.SIGKILL)
            nursery.cancel_scope.cancel()


def worker_id_of(pid: int) -> str | None:
    """The ``--worker-id`` on ``pid``'s command line (Linux ``/proc``)."""
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return None
    for option, value in itertools.pairwise(argv):
        if option == b"--worker-id":
            return value.decode()
    return None


class CutProxy:
    """A TCP forwarder on 127.0.0.1 to ``target_port`` whose connections :meth:`cut` drops at
    once (a network failure between a client and nginx). Each direction copies at most 64 KiB
    at a time; :meth:`serve` runs until cancelled."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = 0
        self.cuts = 0
        self._scopes: set[trio.CancelScope] = set()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/mcp"

    def cut(self) -> None:
        """Drop every connection open now (new ones are served)."""
        self.cuts += 1
        for scope in list(self._scopes):
            scope.cancel()

    async def serve(self, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
                    ) -> None:
        listeners = await trio.open_tcp_listeners(0, host="127.0.0.1")
        self.port = listeners[0].socket.getsockname()[1]
        task_status.started()
        await trio.serve_listeners(self._handle, listeners)

    async def _handle(self, client: trio.SocketStream) -> None:
        with trio.CancelScope() as scope:
            self._scopes.add(scope)
            try:
                upstream = await trio.open_tcp_stream("127.0.0.1", self.target_port)
                async with client, upstream, trio.open_nursery() as nursery:
                    nursery.start_soon(self._copy, client, upstream, nursery)
                    nursery.start_soon(self._copy, upstream, client, nursery)
            except (OSError, trio.BrokenResourceError, trio.ClosedResourceError):
                pass
            finally:
                self._scopes.discard(scope)
        await trio.aclose_forcefully(client)

    @staticmethod
    async def _copy(source: trio.SocketStream, sink: trio.SocketStream,
                    nursery: trio.Nursery) -> None:
        try:
            while chunk := await source.receive_some(65536):
                await sink.send_all(chunk)
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            pass
        nursery.cancel_scope.cancel()
