"""Process transports: a client that spawns its server, and a server on this process's stdio.

POSIX only (process groups and signals).
"""

from __future__ import annotations

import contextlib
import errno
import os
import signal
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from typing import IO, Any, Literal

import trio

from ._fdio import FdReader, fd_send_all, fd_send_nowait
from ._transport import Transport

__all__ = ["CommandTransport", "ProcessStartError", "StdioTransport"]

_CHUNK = 65536

StderrMode = Literal["inherit", "capture", "devnull"]


class ProcessStartError(OSError):
    """The server process could not be started (missing executable, permissions, ...)."""


class CommandTransport(Transport):
    """Spawn a server process and talk to it over its stdin and stdout.

    The child runs in a new session and process group, so that closing the transport can
    signal everything it started. :meth:`start` (called by the session) spawns it;
    :meth:`aclose` ends it:

    1. close the child's stdin (a well-behaved stdio server exits on EOF);
    2. wait up to ``close_timeout`` seconds for it to exit;
    3. send SIGTERM to its process group; wait up to ``terminate_timeout`` seconds;
    4. send SIGKILL to the group; reap the child.

    Even when the child exits by itself, the group is sent SIGKILL at the end, so that
    grandchildren left in it (a shell wrapper's background server) are gone too.

    Args:
        argv: the command and its arguments.
        env: the child's environment (default: this process's).
        cwd: the child's working directory.
        stderr: ``"inherit"`` (pass through to this process's stderr, the default),
            ``"capture"`` (into a temporary file, read with :meth:`stderr_output`; a child
            that writes a lot can never block on a full pipe), ``"devnull"``, or an open file
            (or file descriptor) to write it to.
        close_timeout: seconds to wait for the child after closing its stdin.
        terminate_timeout: seconds to wait after SIGTERM before SIGKILL.
        max_stderr: the most bytes :meth:`stderr_output` returns (the last ones).
    """

    def __init__(
        self,
        argv: Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        cwd: str | os.PathLike[str] | None = None,
        stderr: StderrMode | IO[Any] | int = "inherit",
        close_timeout: float = 2.0,
        terminate_timeout: float = 2.0,
        max_stderr: int = 64 * 1024,
    ) -> None:
        if not argv:
            raise ValueError("argv must name a command")
        self.argv = list(argv)
        self.env = None if env is None else dict(env)
        self.cwd = cwd
        self._stderr_mode = stderr
        self.close_timeout = close_timeout
        self.terminate_timeout = terminate_timeout
        self.max_stderr = max_stderr
        self.process: trio.Process | None = None
        self._stdin: trio.abc.SendStream | None = None
        self._stdout: trio.abc.ReceiveStream | None = None
        self._stderr_file: IO[bytes] | None = None
        self._stderr_tail = b""
        self._closed = False
        self._send_lock = trio.Lock()
        self._in_fd = -1  # the child's stdin, written directly (see _fdio)
        self._reader: FdReader | None = None

    def reopened(self) -> CommandTransport:
        """A new, unstarted transport for the same command and settings (a server that
        exited is started again: ``Client.connect`` does so once when a server dies on its
        ``server/discover`` probe)."""
        return CommandTransport(self.argv, env=self.env, cwd=self.cwd, stderr=self._stderr_mode,
                                close_timeout=self.close_timeout,
                                terminate_timeout=self.terminate_timeout,
                                max_stderr=self.max_stderr)

    @property
    def pid(self) -> int | None:
        """The child's process id (also its process group id), once started."""
        return None if self.process is None else self.process.pid

    @property
    def returncode(self) -> int | None:
        """The child's exit status once it has exited (negative: killed by that signal)."""
        return None if self.process is None else self.process.returncode

    async def start(self, nursery: trio.Nursery | None = None) -> None:
        """Spawn the child. Called once by the session before the handshake.

        Raises:
            ProcessStartError: the command could not be started.
            RuntimeError: already started.
        """
        if self.process is not None:
            raise RuntimeError("the process was already started")
        stderr: Any
        mode = self._stderr_mode
        if mode == "inherit":
            stderr = None
        elif mode == "devnull":
            stderr = subprocess.DEVNULL
        elif mode == "capture":
            self._stderr_file = tempfile.TemporaryFile()  # noqa: SIM115 - closed in aclose
            stderr = self._stderr_file
        else:
            stderr = mode
        try:
            process = await trio.lowlevel.open_process(
                self.argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr,
                env=self.env, cwd=self.cwd, start_new_session=True)
        except OSError as exc:
            self._close_stderr_file()
            raise ProcessStartError(
                exc.errno or errno.ENOENT,
                f"could not start {self.argv[0]!r}: {exc.strerror or exc}") from exc
        self.process = process
        assert process.stdin is not None and process.stdout is not None
        self._stdin = process.stdin
        self._in_fd = _fileno(process.stdin)
        out_fd = _fileno(process.stdout)
        self._reader = None if out_fd < 0 else FdReader(out_fd, _CHUNK)
        self._stdout = process.stdout

    async def send(self, data: bytes) -> None:
        """Write to the child's stdin.

        Raises:
            trio.BrokenResourceError: the child closed its stdin or exited.
            trio.ClosedResourceError: the transport was closed (or never started).
        """
        if self._closed or self._stdin is None:
            raise trio.ClosedResourceError("the transport is closed")
        async with self._send_lock:
            if self._in_fd >= 0:
                await fd_send_all(self._in_fd, data)
            else:  # pragma: no cover - a stream without a descriptor
                await self._stdin.send_all(data)

    def send_nowait(self, data: bytes) -> int:
        """Write what the child's stdin pipe takes now; return how many bytes that was.

        Raises:
            as :meth:`send`.
        """
        if self._closed or self._stdin is None:
            raise trio.ClosedResourceError("the transport is closed")
        if self._in_fd < 0 or self._send_lock.locked():
            return 0
        return fd_send_nowait(self._in_fd, data)

    async def receive(self) -> bytes:
        """Read from the child's stdout; ``b""`` once it closed it (or exited).

        Raises:
            trio.ClosedResourceError: the transport was closed (or never started).
        """
        if self._closed or self._stdout is None:
            raise trio.ClosedResourceError("the transport is closed")
        if self._reader is not None:
            return await self._reader.receive()
        return bytes(await self._stdout.receive_some(_CHUNK))  # pragma: no cover

    def stderr_output(self) -> bytes:
        """What the child wrote to stderr (the last ``max_stderr`` bytes), in capture mode."""
        f = self._stderr_file
        if f is None or f.closed:
            return self._stderr_tail
        try:
            size = f.seek(0, os.SEEK_END)
            f.seek(max(0, size - self.max_stderr))
            return f.read()
        except OSError:  # pragma: no cover - a temporary file does not fail here
            return b""

    def _close_stderr_file(self) -> None:
        if self._stderr_file is not None and not self._stderr_file.closed:
            self._stderr_tail = self.stderr_output()
            self._stderr_file.close()

    def _signal_group(self, sig: int) -> None:
        pid = self.pid
        if pid is None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, sig)

    async def aclose(self) -> None:
        """End the child (stdin EOF, then SIGTERM, then SIGKILL to its group) and reap it.

        Idempotent. Bounded by ``close_timeout + terminate_timeout`` plus the reaping; runs to
        completion even if the caller is cancelled.
        """
        if self._closed:
            await trio.lowlevel.checkpoint()
            return
        self._closed = True
        process = self.process
        with trio.CancelScope(shield=True):
            try:
                if process is None:
                    return
                if self._stdin is not None:
                    with contextlib.suppress(trio.BrokenResourceError,
                                             trio.ClosedResourceError, OSError):
                        await self._stdin.aclose()
                with trio.move_on_after(self.close_timeout):
                    await process.wait()
                if process.returncode is None:
                    self._signal_group(signal.SIGTERM)
                    with trio.move_on_after(self.terminate_timeout):
                        await process.wait()
                # Whatever is left in the group (grandchildren included) goes now.
                self._signal_group(signal.SIGKILL)
                if process.returncode is None:
                    await process.wait()
                if self._stdout is not None:
                    await self._stdout.aclose()
            finally:
                self._close_stderr_file()


class StdioTransport(Transport):
    """A server's transport on this process's standard input and output.

    Reads come from ``stdin`` and writes go to ``stdout`` (file descriptors 0 and 1 by
    default), through duplicates of those descriptors, so closing the transport does not close
    the process's own. trio makes the duplicates non-blocking, which affects the shared file
    description; :meth:`aclose` restores blocking mode. Standard output is the protocol
    channel: log to stderr.

    A peer that goes away shows as end of input (``receive`` returns ``b""``), and a write to
    a closed stdout raises :class:`trio.BrokenResourceError` (Python ignores SIGPIPE, so the
    process is not killed by it): the session then ends without a traceback.

    Args:
        stdin: the descriptor (or file object) to read.
        stdout: the descriptor (or file object) to write.
    """

    def __init__(self, stdin: int | IO[Any] = 0, stdout: int | IO[Any] = 1) -> None:
        in_fd = stdin if isinstance(stdin, int) else stdin.fileno()
        out_fd = stdout if isinstance(stdout, int) else stdout.fileno()
        if stdout is sys.stdout or out_fd == 1:
            with contextlib.suppress(OSError, ValueError):
                sys.stdout.flush()
        self._fds = (in_fd, out_fd)
        self._in = trio.lowlevel.FdStream(os.dup(in_fd))
        self._out = trio.lowlevel.FdStream(os.dup(out_fd))
        self._reader = FdReader(self._in.fileno(), _CHUNK)
        self._out_fd = self._out.fileno()
        self._closed = False

    async def send(self, data: bytes) -> None:
        """Write to stdout.

        Raises:
            trio.BrokenResourceError: stdout's reader is gone.
            trio.ClosedResourceError: the transport was closed.
        """
        if self._closed:
            raise trio.ClosedResourceError("the transport is closed")
        await fd_send_all(self._out_fd, data)

    def send_nowait(self, data: bytes) -> int:
        """Write what stdout takes now; return how many bytes that was.

        Raises:
            as :meth:`send`.
        """
        if self._closed:
            raise trio.ClosedResourceError("the transport is closed")
        return fd_send_nowait(self._out_fd, data)

    async def receive(self) -> bytes:
        """Read from stdin; ``b""`` at end of input."""
        if self._closed:
            raise trio.ClosedResourceError("the transport is closed")
        return await self._reader.receive()

    async def aclose(self) -> None:
        """Close the duplicated descriptors and restore blocking mode. Idempotent."""
        if self._closed:
            await trio.lowlevel.checkpoint()
            return
        self._closed = True
        try:
            await self._out.aclose()
            await self._in.aclose()
        finally:
            for fd in self._fds:
                with contextlib.suppress(OSError):
                    os.set_blocking(fd, True)


def _fileno(stream: object) -> int:
    """The descriptor under a trio stream of a child process, or -1 when it has none."""
    fileno = getattr(stream, "fileno", None)
    if fileno is None:  # pragma: no cover - trio's process pipes are FdStreams on POSIX
        return -1
    try:
        return int(fileno())
    except (OSError, ValueError, TypeError):  # pragma: no cover
        return -1
