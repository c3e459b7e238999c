"""``trio-mcp serve --workers N``: a supervisor process running N worker processes on one port.

The supervisor reserves the port (a ``SO_REUSEPORT`` socket bound but never listening, so the
port stays ours while workers come and go), starts N ``python -m trio_adapter serve ...``
workers that listen on it with ``SO_REUSEPORT`` (the kernel spreads connections over them),
and waits until every one says it listens before printing its own ready line. Each worker
gets the same options (``--store``, ``--state-key-file``, limits...) and a worker id of its own
(``w1``, ``w2``...; a restarted one ``w1r1``, ``w1r2``..., so that the others can tell the dead
one's sessions and tasks from the new one's). Without a key file the supervisor makes one
random ``requestState`` key and gives it to every worker (``TRIO_MCP_STATE_KEYS``), so an MRTR
retry can land on any of them.

A worker that exits is started again after a delay (0.5 s, doubling up to 10 s; back to 0.5 s
once a worker has run for 30 s), in one line on stderr. SIGINT or SIGTERM stops them all: each
gets SIGTERM (it drains for ``--drain-timeout``), whatever is left after that plus
:data:`KILL_GRACE` seconds gets SIGKILL; a second signal sends SIGKILL at once. Workers hold
the read end of a "lifeline" pipe whose write end only the supervisor has: if the supervisor
dies, even by SIGKILL, they see end-of-file and stop as on SIGTERM. Each worker runs in a
process group of its own, so a terminal's Ctrl-C reaches the supervisor alone (which then
stops the workers once, in order).
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import subprocess
import sys
from collections.abc import Sequence
from typing import Any

import trio

from ._listen import reserve_port
from .server import STATE_KEYS_ENV

__all__ = ["KILL_GRACE", "START_TIMEOUT", "WORKER_ID_ENV", "become_worker", "report_ready",
           "run_workers"]

START_TIMEOUT = 60.0
"""Seconds the workers get to listen, at start (then the supervisor gives up, exit 1)."""
KILL_GRACE = 5.0
"""Seconds beyond ``--drain-timeout`` a worker gets after SIGTERM before SIGKILL."""
BACKOFF_FIRST, BACKOFF_MAX, STABLE_AFTER = 0.5, 10.0, 30.0
WORKER_ID_ENV = "TRIO_MCP_WORKER_ID"
"""Set in each worker's environment (``--store``): its worker id, for handlers that log it."""
_READY_MAX = 4096


class WorkerStartError(Exception):
    """A worker exited, or did not listen in time, before all were ready (one line)."""


def _status(code: int | None) -> str:
    if code is None:
        return "still running"
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"status {code}"


def _say(text: str) -> None:
    print(f"trio-mcp: {text}", file=sys.stderr, flush=True)


class _Supervisor:
    def __init__(self, count: int, argv: Sequence[str], env: dict[str, str],
                 drain_timeout: float, lifeline: int) -> None:
        self.count = count
        self.argv = list(argv)
        self.env = env
        self.drain_timeout = drain_timeout
        self.lifeline = lifeline  # the read end, passed to every worker
        self.procs: dict[int, trio.Process] = {}
        self.stopping = trio.Event()
        self.stop_requested = trio.Event()
        self.signum: int | None = None
        self.start_scope = trio.CancelScope()

    async def run(self) -> int:
        self.start_scope.deadline = trio.current_time() + START_TIMEOUT
        with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(self._watch, signals)
                try:
                    infos: list[dict[str, Any]] = []
                    with self.start_scope:
                        async with trio.open_nursery() as starting:
                            for index in range(self.count):
                                starting.start_soon(self._start, nursery, index, infos)
                    if self.signum is None:
                        if len(infos) < self.count:
                            raise WorkerStartError(
                                f"the workers did not all listen within {START_TIMEOUT:g} s")
                        self._ready(infos)
                        await self.stop_requested.wait()
                finally:
                    with trio.CancelScope(shield=True):
                        await self._stop_all()
                    nursery.cancel_scope.cancel()
        return 0 if self.signum is None else 128 + self.signum

    def _ready(self, infos: list[dict[str, Any]]) -> None:
        pids = ", ".join(str(self.procs[i].pid) for i in sorted(self.procs))
        _say(f"{self.count} worker{'s' if self.count > 1 else ''} listening (pids {pids})")
        first = infos[0]
        _say(f"serving {first.get('name', '?')} at {first.get('url', '?')}")

    async def _watch(self, signals: Any) -> None:
        async for got in signals:
            if self.signum is None:
                self.signum = int(got)
                self.start_scope.cancel()
                self.stop_requested.set()
            else:  # a second signal: no more waiting
                for proc in self.procs.values():
                    if proc.returncode is None:
                        proc.kill()

    async def _start(self, nursery: trio.Nursery, index: int,
                     infos: list[dict[str, Any]]) -> None:
        infos.append(await nursery.start(self._keep_running, index))

    async def _spawn(self, index: int, worker_id: str
                     ) -> tuple[trio.Process, dict[str, Any] | None]:
        """Start worker ``index`` (in :attr:`procs` at once, for :meth:`_stop_all`); return it
        and what it said once listening (``None``: it exited first)."""
        ready_read, ready_write = os.pipe()
        try:
            argv = [*self.argv, "--worker-id", worker_id, "--ready-fd", str(ready_write),
                    "--lifeline-fd", str(self.lifeline)]
            proc = await trio.lowlevel.open_process(
                argv, env=self.env, pass_fds=(ready_write, self.lifeline),
                stdin=subprocess.DEVNULL)
        except BaseException:
            os.close(ready_read)
            raise
        finally:
            os.close(ready_write)
        self.procs[index] = proc
        if self.stopping.is_set():  # started while everything stops: :meth:`_stop_all` reaps it
            proc.send_signal(signal.SIGTERM)
        said = bytearray()
        async with trio.lowlevel.FdStream(ready_read) as ready:
            while len(said) < _READY_MAX:
                chunk = await ready.receive_some(_READY_MAX - len(said))
                if not chunk:
                    break
                said += chunk
        try:
            info = json.loads(bytes(said)) if said else None
        except ValueError:
            info = None
        return proc, info if isinstance(info, dict) else None

    async def _keep_running(self, index: int,
                            task_status: trio.TaskStatus[dict[str, Any]]) -> None:
        generation, delay, started = 0, BACKOFF_FIRST, False
        while not self.stopping.is_set():
            worker_id = f"w{index + 1}" + (f"r{generation}" if generation else "")
            began = trio.current_time()
            proc, info = await self._spawn(index, worker_id)
            if info is not None:
                if not started:
                    started = True
                    task_status.started(info)
                else:
                    _say(f"worker {worker_id} (pid {proc.pid}) is listening")
            code = await proc.wait()
            if self.stopping.is_set():
                return
            if not started:
                raise WorkerStartError(f"worker {worker_id} exited ({_status(code)}) before "
                                       "it listened; its error is above")
            if trio.current_time() - began >= STABLE_AFTER:
                delay = BACKOFF_FIRST
            _say(f"worker {worker_id} (pid {proc.pid}) exited ({_status(code)}); "
                 f"starting it again in {delay:g} s")
            await trio.sleep(delay)  # the restart backoff
            delay = min(delay * 2, BACKOFF_MAX)
            generation += 1

    async def _stop_all(self) -> None:
        """SIGTERM every worker, SIGKILL what is left after the drain; wait for all."""
        self.stopping.set()
        live = [p for p in self.procs.values() if p.returncode is None]
        for proc in live:
            proc.send_signal(signal.SIGTERM)
        with trio.move_on_after(self.drain_timeout + KILL_GRACE):
            for proc in live:
                await proc.wait()
        for proc in live:
            if proc.returncode is None:
                _say(f"worker pid {proc.pid} did not stop; killing it")
                proc.kill()
        with trio.move_on_after(KILL_GRACE):  # SIGKILL cannot be refused: this is quick
            for proc in live:
                await proc.wait()
            # one started meanwhile (its spawn was under way): no drain for it
            for proc in list(self.procs.values()):
                if proc.returncode is None:
                    proc.kill()
                    await proc.wait()


def run_workers(count: int, worker_argv: Sequence[str], host: str, port: int, *,
                drain_timeout: float, key_file: str | None) -> int:
    """Run ``count`` workers (``worker_argv`` plus ``--http HOST:PORT``, with ``--reuse-port``,
    ``--worker-id``, ``--ready-fd`` and ``--lifeline-fd`` added) until SIGINT/SIGTERM; return
    the exit status (130/143 after a signal).

    Raises:
        OSError: the port cannot be reserved (taken, no ``SO_REUSEPORT``...).
        WorkerStartError: a worker exited, or they did not all listen, before all were ready.
    """
    reserved = reserve_port(host, port)
    try:
        port = int(reserved.getsockname()[1])
        shown = f"[{host}]" if ":" in host else host
        argv = [*worker_argv, "--http", f"{shown}:{port}", "--reuse-port"]
        env = dict(os.environ)
        if key_file is None and not env.get(STATE_KEYS_ENV):
            env[STATE_KEYS_ENV] = secrets.token_urlsafe(48)  # one key for all of them
        lifeline_read, lifeline_write = os.pipe()
        try:
            supervisor = _Supervisor(count, argv, env, drain_timeout, lifeline_read)
            return trio.run(supervisor.run)
        finally:
            os.close(lifeline_read)
            os.close(lifeline_write)
    finally:
        reserved.close()


# ---------------------------------------------------------------- the worker's side


def become_worker(lifeline_fd: int | None) -> None:
    """In a supervised worker, before ``trio.run``: leave the supervisor's process group (a
    terminal's Ctrl-C is the supervisor's to handle)."""
    if lifeline_fd is not None:
        with contextlib.suppress(OSError):  # already a group leader: nothing to leave
            os.setpgid(0, 0)


async def watch_lifeline(lifeline_fd: int) -> None:
    """Return when the supervisor is gone (end-of-file on the lifeline), then SIGTERM
    ourselves: the worker drains as if the supervisor had asked."""
    async with trio.lowlevel.FdStream(os.dup(lifeline_fd)) as lifeline:
        while await lifeline.receive_some(64):
            pass
    os.kill(os.getpid(), signal.SIGTERM)


def report_ready(ready_fd: int, name: str, url: str) -> None:
    """Tell the supervisor this worker listens (one JSON object on ``ready_fd``, closed)."""
    data = json.dumps({"name": name, "url": url, "pid": os.getpid()}).encode()
    try:
        os.write(ready_fd, data[:_READY_MAX])
    finally:
        os.close(ready_fd)
