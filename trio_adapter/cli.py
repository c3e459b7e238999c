"""The ``trio-mcp`` command line.

Usage::

    trio-mcp demo [--trace]
    trio-mcp serve FILE_OR_MODULE[:attr] [--stdio | --http HOST:PORT] [--trace]
    trio-mcp inspect [--json] [--timeout S] [--trace] -- COMMAND ARGS...
    trio-mcp call TOOL [JSON | KEY=VALUE...] [--save DIR] [--log-level L] [--json] ... -- CMD...
    trio-mcp read URI [--save DIR] [--log-level L] [--json] ... -- COMMAND ARGS...
    trio-mcp prompt NAME [JSON | KEY=VALUE...] [--save DIR] [--json] ... -- COMMAND ARGS...
    trio-mcp complete (--prompt NAME | --resource URI_TEMPLATE) ARGUMENT [VALUE]
        [--context KEY=VALUE]... [--json] ... -- COMMAND ARGS...

The target always comes last: ``-- COMMAND ARGS...`` runs a server over stdio. Errors are one
line on stderr (``trio-mcp: error: ...``) and a non-zero exit status: 1 for a failed tool, a
protocol error or a server that could not be reached, 2 for a usage error. ``--debug`` shows
tracebacks. ``serve`` drains its sessions on SIGINT/SIGTERM and exits 130/143; a closed
stdout ends a command quietly with 141 (as SIGPIPE would); docs/cli.md has the details. The
client commands (call, read, prompt, complete: progress, logs, key=value arguments, --save,
elicitation forms) live in ``trio_adapter._cli_client``; docs/cli-client.md.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import importlib.util
import itertools
import json
import math
import os
import signal
import sys
import types
from collections.abc import Awaitable, Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import trio

import sansio
from sansio import types as t
from sansio.http import DEFAULT_ALLOWED_HOSTS
from sansio.versions import Era

from ._process import CommandTransport, ProcessStartError, StdioTransport
from ._trace import make_trace_printer
from ._workers import WORKER_ID_ENV
from .client import Client, ClientSession
from .errors import ConnectError, LifespanError, MCPError, SessionClosed
from .server import Server, ServerSession, parse_state_keys

if TYPE_CHECKING:
    from ._auth_server import ProtectedResource

if sys.version_info < (3, 11):  # pragma: no cover - exercised on 3.10 only
    from exceptiongroup import BaseExceptionGroup  # type: ignore[import-not-found,unused-ignore]

__all__ = ["CLIError", "load_server", "main", "parse_host_port"]

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
EXIT_SIGPIPE = 128 + 13
"""A closed stdout (``trio-mcp inspect ... | head -1``): quiet, as a tool killed by SIGPIPE."""
DRAIN_TIMEOUT = 5.0
"""Seconds ``serve`` gives its sessions to close after SIGINT/SIGTERM (``--drain-timeout``)."""


class CLIError(Exception):
    """A failure reported as one line; ``status`` is the exit status."""

    def __init__(self, message: str, status: int = EXIT_FAILED) -> None:
        super().__init__(message)
        self.status = status


# ---------------------------------------------------------------- loading a server


def load_server(target: str) -> Server:
    """Load a :class:`Server` from ``path/to/file.py[:attr]`` or ``package.module[:attr]``.

    Without ``:attr``, the module's ``server`` attribute is used, else ``mcp``, else its only
    ``Server`` instance.

    Raises:
        CLIError: the file or module cannot be loaded, or holds no such server.
    """
    spec, _, attr = target.rpartition(":")
    if not spec or not attr.isidentifier():
        spec, attr = target, ""
    path = Path(spec)
    try:
        if spec.endswith(".py") or path.is_file():
            module = _exec_file(spec, path)
        else:
            module = importlib.import_module(spec)
    except CLIError:
        raise
    except Exception as exc:
        raise CLIError(f"cannot load {spec}: {type(exc).__name__}: {exc}", EXIT_USAGE) from exc
    if attr:
        obj = getattr(module, attr, None)
        if not isinstance(obj, Server):
            raise CLIError(f"{spec} has no Server named {attr!r}", EXIT_USAGE)
        return obj
    for name in ("server", "mcp"):
        obj = getattr(module, name, None)
        if isinstance(obj, Server):
            return obj
    found = [v for v in vars(module).values() if isinstance(v, Server)]
    if len(found) == 1:
        return found[0]
    raise CLIError(f"{spec} has {'no' if not found else 'more than one'} Server; "
                   "name it as FILE_OR_MODULE:attr", EXIT_USAGE)


_loaded_files = itertools.count(1)


def _exec_file(spec: str, path: Path) -> types.ModuleType:
    """Run a server file as a module registered in ``sys.modules`` under a name of its own
    (``_trio_mcp_file_<n>_<stem>``, never shadowing an importable module), so that whatever
    looks a class's module up by name (dataclasses, attrs and ``typing.get_type_hints`` with
    ``from __future__ import annotations``) finds it. The file's directory is put first on
    ``sys.path`` for its own imports. On failure both are undone."""
    if not path.is_file():
        raise CLIError(f"no such file: {spec}", EXIT_USAGE)
    stem = "".join(c if c.isalnum() or c == "_" else "_" for c in path.stem)
    name = f"_trio_mcp_file_{next(_loaded_files)}_{stem}"
    module_spec = importlib.util.spec_from_file_location(name, path)
    if module_spec is None or module_spec.loader is None:
        raise CLIError(f"cannot load {spec}", EXIT_USAGE)
    module = importlib.util.module_from_spec(module_spec)
    directory = str(path.resolve().parent)
    sys.path.insert(0, directory)
    sys.modules[name] = module
    try:
        module_spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(name, None)
        with contextlib.suppress(ValueError):
            sys.path.remove(directory)
        raise
    return module


# ---------------------------------------------------------------- argument parsing


SERVE_EPILOG = """\
target:
  FILE_OR_MODULE is a path to a .py file (run as a module of its own) or a module
  to import. Without :attr the Server is the module's `server` attribute, else
  its `mcp` attribute, else its only Server instance (more than one: name it).
  This RUNS THE FILE'S (OR MODULE'S) CODE, with your permissions, as `python FILE`
  would: serve only files you trust.

limits (see docs/lifecycle.md, "Limits"):
  --max-concurrent-requests caps one session's handlers in flight (beyond it:
  JSON-RPC error -32050, server busy). HTTP: --max-sessions (503 + Retry-After),
  --unused-session-timeout (a session never used after initialize),
  --idle-session-timeout, --max-connections, --max-connections-per-client (503).

several workers (docs/scale.md):
  --store redis://HOST:PORT/DB shares state with the other workers through Redis;
  --workers N runs N of them on one port (SO_REUSEPORT), restarted when they die.

signals:
  SIGINT (Ctrl-C) or SIGTERM closes the sessions in order (handlers get their
  grace, HTTP responses in flight end), for at most --drain-timeout seconds; a
  second signal stops at once.

exit status:
  0 when the client leaves (end of input on stdio), 130 after SIGINT, 143 after
  SIGTERM, 1 when the server cannot run (cannot listen, ...), 2 for a usage error.
"""


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"want a whole number, 1 or more, not {text!r}")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not 0 < value < math.inf:
        raise argparse.ArgumentTypeError(f"want a number of seconds above 0, not {text!r}")
    return value


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="trio-mcp", description="A Model Context Protocol engine for trio: serve, inspect "
        "and call MCP servers.", epilog="The target comes last: -- COMMAND ARGS... runs a "
        "server over stdio.")
    parser.add_argument("--version", action="version",
                        version=f"trio-mcp {sansio.__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("--trace", action="store_true",
                       help="print each frame and lifecycle event to stderr")
        p.add_argument("--debug", action="store_true", help="show tracebacks")

    demo = sub.add_parser("demo", help="a server and a client in one process, printing the "
                          "lifecycle as it happens")
    common(demo)

    serve = sub.add_parser(
        "serve", help="serve a Server from a file or module",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Serve a trio_adapter.Server over stdio (the default) or Streamable HTTP.",
        epilog=SERVE_EPILOG)
    serve.add_argument("target", metavar="FILE_OR_MODULE[:attr]",
                       help="a Python file (path/to/server.py) or an importable module "
                       "(package.module), and optionally the name of the Server in it")
    how = serve.add_mutually_exclusive_group()
    how.add_argument("--stdio", action="store_true", help="serve on stdin/stdout (default)")
    how.add_argument("--http", metavar="HOST:PORT",
                     help="serve Streamable HTTP on HOST:PORT (endpoint /mcp; port 0 picks a "
                     "free one; the URL is printed on stderr once listening)")
    serve.add_argument("--stateless", action="store_true",
                       help="HTTP without sessions (each request stands alone)")
    serve.add_argument("--json-response", action="store_true",
                       help="HTTP: answer requests with application/json, not SSE")
    serve.add_argument("--drain-timeout", type=float, default=DRAIN_TIMEOUT, metavar="SECONDS",
                       help="after SIGINT/SIGTERM, how long the sessions get to close "
                       f"(default {DRAIN_TIMEOUT:g})")
    serve.add_argument("--max-concurrent-requests", type=_positive_int, default=None,
                       metavar="N", help="requests one session serves at once; one more is "
                       "answered -32050 (server busy) (default: the Server's, 128 unless "
                       "it says otherwise)")
    serve.add_argument("--keepalive-interval", type=_positive_float, default=None,
                       metavar="SECONDS", help="ping the client this often and close the "
                       "session if a ping goes unanswered (default: the Server's, no pings "
                       "unless it says otherwise)")
    serve.add_argument("--max-sessions", type=_positive_int, default=1024, metavar="N",
                       help="HTTP: live sessions; one more initialize gets 503 with "
                       "Retry-After (default 1024)")
    serve.add_argument("--idle-session-timeout", type=_positive_float, default=3600.0,
                       metavar="SECONDS", help="HTTP: end a session idle this long "
                       "(default 3600)")
    serve.add_argument("--unused-session-timeout", type=_positive_float, default=60.0,
                       metavar="SECONDS", help="HTTP: end a session that had no request "
                       "served since initialize after this long idle (default 60)")
    serve.add_argument("--max-connections", type=_positive_int, default=1024, metavar="N",
                       help="HTTP: TCP connections served at once; one more gets 503 "
                       "(default 1024)")
    serve.add_argument("--max-connections-per-client", type=_positive_int, default=256,
                       metavar="N", help="HTTP: likewise, per client IP address "
                       "(default 256)")
    serve.add_argument("--allowed-host", metavar="NAME", action="append", default=[],
                       help="HTTP: accept this Host name (any port) besides loopback's; "
                       "repeatable; '*' accepts any Host (behind a proxy that checks it)")
    serve.add_argument("--state-key-file", metavar="PATH",
                       help="2026-07-28: the keys that seal requestState, one a line (the "
                       "first seals, all open; SECRET or KEY_ID:SECRET, 32 bytes or more); "
                       "every process serving the same clients needs the same file")
    scale = serve.add_argument_group("several workers (HTTP; docs/scale.md)")
    scale.add_argument("--store", metavar="redis://HOST:PORT/DB",
                       help="share sessions, notifications, tasks and the event log with the "
                       "other workers through this Redis (needs trio-mcp[redis])")
    scale.add_argument("--store-prefix", metavar="PREFIX", default=None,
                       help="the prefix of every Redis key and channel (default trio-mcp:); "
                       "deployments sharing one Redis need prefixes of their own")
    scale.add_argument("--workers", type=_positive_int, default=None, metavar="N",
                       help="run N worker processes on the one port (SO_REUSEPORT, Linux), "
                       "restarted when they die; above 1 it needs --store, or --stateless")
    # a supervised worker's options (trio_adapter._workers), and --worker-id for --store
    serve.add_argument("--worker-id", help=argparse.SUPPRESS)
    serve.add_argument("--reuse-port", action="store_true", help=argparse.SUPPRESS)
    serve.add_argument("--ready-fd", type=int, help=argparse.SUPPRESS)
    serve.add_argument("--lifeline-fd", type=int, help=argparse.SUPPRESS)
    auth = serve.add_argument_group(
        "authorization (HTTP: the endpoint becomes an OAuth protected resource, docs/auth.md)")
    auth.add_argument("--auth-issuer", metavar="URL",
                      help="the authorization server (named in the metadata; tokens' iss)")
    auth.add_argument("--auth-jwks", metavar="URL",
                      help="check JWT access tokens with this JWK set (needs trio-mcp[jwt])")
    auth.add_argument("--auth-introspect", metavar="URL",
                      help="check tokens with this RFC 7662 endpoint (credentials: "
                      f"--auth-client-id and ${AUTH_SECRET_ENV})")
    auth.add_argument("--auth-client-id", metavar="ID",
                      help="this server's client id at the introspection endpoint")
    auth.add_argument("--auth-resource", metavar="URL",
                      help="the endpoint's public URL that tokens name in aud (default: "
                      "the URL it listens on)")
    auth.add_argument("--auth-scope", metavar="SCOPE", action="append", default=[],
                      help="a scope every request needs (repeatable)")
    common(serve)

    from ._cli_client import add_auth_options

    def client_options(p: argparse.ArgumentParser) -> None:
        p.add_argument("--json", action="store_true", help="print JSON")
        p.add_argument("--timeout", type=float, default=30.0, metavar="SECONDS",
                       help="give up after this long (default 30)")
        p.add_argument("--url", help="a Streamable HTTP server's MCP endpoint")
        add_auth_options(p)
        p.add_argument("--show-stderr", action="store_true",
                       help="pass the server's stderr through (default: shown on failure)")
        p.add_argument("--protocol", metavar="VERSION",
                       choices=sansio.SUPPORTED_VERSIONS,
                       help="speak exactly this protocol revision (and its era): "
                       + ", ".join(sansio.SUPPORTED_VERSIONS))
        p.add_argument("--era", choices=("auto", "modern", "legacy"), default="auto",
                       help="auto (default): try 2026-07-28 with server/discover, fall back "
                       "to initialize; modern: 2026-07-28 only; legacy: initialize only")
        common(p)

    inspect = sub.add_parser("inspect", help="connect and print what a server offers",
                             usage="trio-mcp inspect [options] -- COMMAND ARGS...")
    client_options(inspect)

    from ._cli_client import add_parsers

    add_parsers(sub, client_options)  # call, read, prompt, complete
    return parser


def _split(argv: Sequence[str]) -> tuple[list[str], list[str]]:
    """Split ``argv`` at the first ``--``: the options, and the server command."""
    args = list(argv)
    if "--" in args:
        i = args.index("--")
        return args[:i], args[i + 1:]
    return args, []


# ---------------------------------------------------------------- commands


def parse_host_port(text: str) -> tuple[str, int]:
    """Parse ``--http``'s ``HOST:PORT`` (``[::1]:PORT`` for IPv6; an empty host is
    127.0.0.1).

    Raises:
        CLIError: (usage) no port, a port that is not a number from 0 to 65535, or a host
            with spaces or brackets out of place.
    """
    host, sep, port_text = text.rpartition(":")
    usage = f"--http wants HOST:PORT with a port from 0 to 65535, not {text!r}"
    if not sep or not (port_text.isascii() and port_text.isdigit()) or len(port_text) > 5:
        raise CLIError(usage, EXIT_USAGE)
    port = int(port_text)
    if port > 65535:
        raise CLIError(usage, EXIT_USAGE)
    if host.startswith("[") or host.endswith("]"):
        if not (host.startswith("[") and host.endswith("]")) or ":" not in host:
            raise CLIError(usage, EXIT_USAGE)
        host = host[1:-1]
    elif ":" in host and host.count(":") < 2:
        raise CLIError(usage, EXIT_USAGE)
    if any(c.isspace() or c in "[]/@" for c in host):
        raise CLIError(usage, EXIT_USAGE)
    return host or "127.0.0.1", port


async def _until_signalled(run: Callable[[trio.Event], Awaitable[None]],
                           drain_timeout: float) -> int:
    """Run ``run(stop)`` and return the exit status.

    The first SIGINT or SIGTERM sets ``stop`` (``run`` then closes its sessions in order) and
    gives it ``drain_timeout`` seconds before it is cancelled (saying so in one line); a
    second signal cancels it at once. The status is ``128 + signal number`` (130, 143) after
    a signal, else 0.
    """
    signum: int | None = None
    with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async with trio.open_nursery() as nursery:
            stop = trio.Event()

            async def watch() -> None:
                nonlocal signum
                async for got in signals:
                    if signum is None:
                        signum = int(got)
                        stop.set()
                        nursery.cancel_scope.deadline = trio.current_time() + drain_timeout
                    else:
                        nursery.cancel_scope.cancel()

            nursery.start_soon(watch)
            await run(stop)
            nursery.cancel_scope.cancel()
    if signum is None:
        return EXIT_OK
    if nursery.cancel_scope.cancelled_caught and trio.current_time() >= \
            nursery.cancel_scope.deadline:
        print(f"trio-mcp: the sessions did not close within {drain_timeout:g} s; stopped",
              file=sys.stderr, flush=True)
    return 128 + signum


AUTH_SECRET_ENV = "TRIO_MCP_AUTH_CLIENT_SECRET"
"""Where ``serve --auth-introspect`` finds its client secret (never on the command line)."""


def auth_from_args(args: argparse.Namespace) -> ProtectedResource | None:
    """The ``serve --auth-*`` options as a :class:`ProtectedResource` (``None`` without).

    Raises:
        CLIError: (usage) an inconsistent combination, or a bad URL.
    """
    from ._auth_server import (
        IntrospectionVerifier,
        JWTVerifier,
        ProtectedResource,
        TokenVerifier,
    )

    given = [args.auth_jwks, args.auth_introspect, args.auth_client_id, args.auth_resource,
             args.auth_issuer, *args.auth_scope]
    if not any(given):
        return None
    if not args.http:
        raise CLIError("--auth-* options apply to --http", EXIT_USAGE)
    if args.auth_issuer is None:
        raise CLIError("--auth-issuer is required with --auth-* options", EXIT_USAGE)
    if (args.auth_jwks is None) == (args.auth_introspect is None):
        raise CLIError("give one of --auth-jwks and --auth-introspect", EXIT_USAGE)
    verifier: TokenVerifier
    try:
        if args.auth_jwks is not None:
            verifier = JWTVerifier(issuer=args.auth_issuer, jwks_url=args.auth_jwks)
        else:
            verifier = IntrospectionVerifier(
                args.auth_introspect, client_id=args.auth_client_id,
                client_secret=os.environ.get(AUTH_SECRET_ENV), issuer=args.auth_issuer)
        return ProtectedResource(verifier, authorization_servers=[args.auth_issuer],
                                 resource=args.auth_resource, required_scopes=args.auth_scope)
    except (ValueError, ImportError) as exc:
        raise CLIError(f"--auth: {exc}", EXIT_USAGE) from None


def _serve(args: argparse.Namespace) -> int:
    if not args.drain_timeout >= 0:
        raise CLIError("--drain-timeout wants a number of seconds, 0 or more", EXIT_USAGE)
    if args.http:
        host, port = parse_host_port(args.http)
    elif args.stateless or args.json_response:
        raise CLIError("--stateless and --json-response apply to --http", EXIT_USAGE)
    auth = auth_from_args(args)
    if (args.workers is not None or args.store is not None) and not args.http:
        raise CLIError("--workers and --store apply to --http", EXIT_USAGE)
    if args.store_prefix is not None and args.store is None:
        raise CLIError("--store-prefix applies to --store", EXIT_USAGE)
    if args.workers is not None:
        if args.workers > 1 and args.store is None and not args.stateless:
            raise CLIError(f"--workers {args.workers} needs --store redis://HOST:PORT/DB (or "
                           "--stateless): handshake-era sessions live in one worker's memory "
                           "and would break when requests reach another", EXIT_USAGE)
        return _supervise(args, host, port)
    backend = None
    if args.worker_id is not None:
        os.environ[WORKER_ID_ENV] = args.worker_id
    if args.store is not None:
        from .redis import RedisBackend, RedisUnavailable
        try:
            backend = RedisBackend(args.store, worker_id=args.worker_id,
                                   **({} if args.store_prefix is None
                                      else {"prefix": args.store_prefix}))
        except RedisUnavailable as exc:
            raise CLIError(f"--store: {exc}", EXIT_USAGE) from None
        os.environ[WORKER_ID_ENV] = backend.worker_id
        _log_to_stderr(backend.worker_id)
    from ._workers import become_worker
    become_worker(args.lifeline_fd)
    server = load_server(args.target)
    if backend is not None:  # the notification bus and the task store, through Redis
        from .redis import share_server_state
        share_server_state(server, backend)
    if args.state_key_file is not None:
        try:
            with open(args.state_key_file, encoding="utf-8") as keys:
                server.use_state_keys(parse_state_keys(keys.read()))
        except (OSError, ValueError) as exc:
            raise CLIError(f"--state-key-file {args.state_key_file}: "
                           f"{exc.strerror if isinstance(exc, OSError) else exc}",
                           EXIT_USAGE) from None
    if args.trace:
        server.trace = make_trace_printer(sys.stderr, label="server ")
    if args.max_concurrent_requests is not None:
        server.max_concurrent_requests = args.max_concurrent_requests
    if args.keepalive_interval is not None:
        server.keepalive_interval = args.keepalive_interval
    if args.http:
        from .http import ListenError, serve_http

        async def run_http(stop: trio.Event) -> None:
            async with contextlib.AsyncExitStack() as stack:
                if backend is not None:
                    await stack.enter_async_context(backend)
                nursery = await stack.enter_async_context(trio.open_nursery())
                if args.lifeline_fd is not None:  # a supervised worker
                    nursery.start_soon(watch_lifeline, args.lifeline_fd)

                async def serve(task_status: trio.TaskStatus[Any]) -> None:
                    await serve_http(
                        server, host, port, stateless=args.stateless,
                        json_response=args.json_response, stop=stop, auth=auth,
                        max_sessions=args.max_sessions,
                        idle_session_timeout=args.idle_session_timeout,
                        unused_session_timeout=args.unused_session_timeout,
                        max_connections=args.max_connections,
                        max_connections_per_client=args.max_connections_per_client,
                        reuse_port=args.reuse_port, shared=backend,
                        allowed_hosts=_allowed_hosts(args.allowed_host),
                        drain_timeout=math.inf,  # bounded here, by _until_signalled
                        task_status=task_status)
                    nursery.cancel_scope.cancel()  # drained: the lifeline watch is done too

                info = await nursery.start(serve)
                if args.ready_fd is not None:
                    report_ready(args.ready_fd, server.info.name, info.url)
                else:
                    print(f"trio-mcp: serving {server.info.name} at {info.url}",
                          file=sys.stderr, flush=True)

        from ._workers import report_ready, watch_lifeline
        from .redis import RedisUnavailable
        return _run_serving(run_http, args.drain_timeout, ListenError, RedisUnavailable)

    async def run_stdio(stop: trio.Event) -> None:
        transport = StdioTransport()
        async with trio.open_nursery() as nursery:

            async def serve(task_status: trio.TaskStatus[ServerSession]) -> None:
                await server.serve(transport, task_status=task_status)
                nursery.cancel_scope.cancel()  # the client left: nothing to wait for

            session = await nursery.start(serve)
            await stop.wait()
            await session.aclose()

    return _run_serving(run_stdio, args.drain_timeout)


def _supervise(args: argparse.Namespace, host: str, port: int) -> int:
    """``serve --workers N``: the supervisor (trio_adapter._workers)."""
    from ._workers import WorkerStartError, run_workers

    argv = [sys.executable, "-m", "trio_adapter", "serve", args.target,
            *_forwarded_options(args)]
    try:
        return run_workers(args.workers, argv, host, port, drain_timeout=args.drain_timeout,
                           key_file=args.state_key_file)
    except OSError as exc:
        from ._http_server import ListenError
        raise CLIError(str(ListenError(host, port, exc))) from None
    except (WorkerStartError, BaseExceptionGroup) as exc:
        failed = next((e for e in _leaves(exc) if isinstance(e, WorkerStartError)), None)
        if failed is None:
            raise
        raise CLIError(str(failed)) from None


def _allowed_hosts(extra: list[str]) -> tuple[str, ...] | None:
    """``--allowed-host``: loopback's names plus those given; ``None`` (any) for ``*``."""
    if "*" in extra:
        return None
    return (*DEFAULT_ALLOWED_HOSTS, *extra)


_NOT_FORWARDED = {"help", "target", "stdio", "http", "workers", "worker_id", "reuse_port",
                  "ready_fd", "lifeline_fd"}


def _forwarded_options(args: argparse.Namespace) -> list[str]:
    """The ``serve`` options given (those that differ from their defaults), as arguments for
    a worker of ``--workers``: every worker is configured as the supervisor was."""
    serve = next(action for action in _parser()._actions
                 if isinstance(action, argparse._SubParsersAction)).choices["serve"]
    out: list[str] = []
    for action in serve._actions:
        if action.dest in _NOT_FORWARDED or not action.option_strings:
            continue
        option = next(o for o in action.option_strings if o.startswith("--"))
        value = getattr(args, action.dest)
        if action.nargs == 0:  # a flag
            if value and value != action.default:
                out.append(option)
        elif isinstance(value, list):  # repeatable
            for item in value:
                out += [option, str(item)]
        elif value is not None and value != action.default:
            out += [option, str(value)]
    return out


def _log_to_stderr(worker_id: str) -> None:
    """``--store``: the Redis side's warnings (lost, back) as one line each on stderr."""
    import logging

    log = logging.getLogger("trio_mcp")
    if not log.handlers:
        class OneLine(logging.Formatter):
            def format(self, record: logging.LogRecord) -> str:
                text = record.getMessage().removeprefix("trio-mcp: ").splitlines()
                return f"trio-mcp[{worker_id}]: {text[0] if text else ''}"

        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(OneLine())
        log.addHandler(handler)
        log.setLevel(logging.WARNING)


def _run_serving(run: Callable[[trio.Event], Awaitable[None]], drain_timeout: float,
                 *expected: type[Exception]) -> int:
    """``trio.run`` the serving function; what stops it from starting (a lifespan that fails,
    an address it cannot listen on) becomes one line."""
    caught: tuple[type[BaseException], ...] = (LifespanError, *expected, BaseExceptionGroup)
    try:
        return trio.run(_until_signalled, run, drain_timeout)
    except caught as exc:
        failed = next((e for e in _leaves(exc) if isinstance(e, (LifespanError, *expected))),
                      None)
        if failed is None:
            raise
        raise CLIError(str(failed)) from failed


async def _with_session(
    args: argparse.Namespace, command: list[str], body: Any,
    setup: Callable[[trio.CancelScope], Mapping[str, Any]] | None = None,
) -> int:
    """Connect to the target, run ``body(session)`` within ``--timeout``; return its status.

    ``setup(deadline_scope)``, when given, returns more keyword arguments for the
    :class:`Client` (its handlers), and may move the deadline (a form being filled in).

    SIGTERM and SIGHUP end it as SIGINT does: the session and its transport close (a
    spawned server is ended, never left running) and the status is ``128 + signal``.
    """
    signum: int | None = None
    status = EXIT_FAILED
    with trio.open_signal_receiver(signal.SIGTERM, signal.SIGHUP) as signals:
        async with trio.open_nursery() as nursery:
            async def watch() -> None:
                nonlocal signum
                async for got in signals:
                    signum = int(got)
                    nursery.cancel_scope.cancel()
                    return

            nursery.start_soon(watch)
            try:
                status = await _session_run(args, command, body, setup)
            finally:
                nursery.cancel_scope.cancel()
    if signum is not None:
        return 128 + signum
    return status


async def _session_run(
    args: argparse.Namespace, command: list[str], body: Any,
    setup: Callable[[trio.CancelScope], Mapping[str, Any]] | None,
) -> int:
    """:func:`_with_session` without the signal handling."""
    if args.url and command:
        raise CLIError("give either --url URL or -- COMMAND ARGS..., not both", EXIT_USAGE)
    if not command and not args.url:
        raise CLIError("no server to talk to: put the command last, after --, or give "
                       "--url URL", EXIT_USAGE)
    trace = make_trace_printer(sys.stderr, label="client ") if args.trace else None
    transport: Any
    if args.url:
        from .http import StreamableHTTPTransport

        try:
            from ._cli_client import make_auth

            transport = StreamableHTTPTransport(args.url, auth=make_auth(args))
        except (ValueError, OSError) as exc:
            raise CLIError(str(exc), EXIT_USAGE) from None
    else:
        transport = CommandTransport(command,
                                     stderr="inherit" if args.show_stderr else "capture")
    try:
        with trio.fail_after(args.timeout) as deadline:
            client = Client("trio-mcp", sansio.__version__, trace=trace,
                            supported_versions=sansio.SUPPORTED_VERSIONS,
                            **(setup(deadline) if setup is not None else {}))
            era: Literal["auto", "modern", "legacy"] = getattr(args, "era", "auto")
            protocol = getattr(args, "protocol", None)
            if protocol is not None and era != "auto" and \
                    (era == "modern") != (protocol in sansio.STATELESS_VERSIONS):
                raise CLIError(f"--protocol {protocol} is not of the {era} era", EXIT_USAGE)
            async with client.connect(transport, mode=era,
                                      protocol_version=protocol) as session:
                status: int = await body(session)
                sys.stdout.flush()  # a closed stdout shows here, while main() can tell
                return status
    except trio.TooSlowError:
        raise CLIError(f"timed out after {args.timeout:g} s" + _stderr_tail(transport)) from None
    except ProcessStartError as exc:
        raise CLIError(str(exc)) from exc
    except BrokenPipeError:
        raise  # our own stdout is closed: main() ends quietly
    except OSError as exc:
        from .http import describe_failure

        raise CLIError(f"cannot reach {args.url or command[0]}: {describe_failure(exc)}") from exc
    except (ConnectError, SessionClosed) as exc:
        raise CLIError(f"{_exited(transport, exc)}{_stderr_tail(transport)}") from exc
    except MCPError as exc:
        raise CLIError(str(exc)) from exc
    except sansio.ProtocolError as exc:
        raise CLIError(f"protocol error: {exc}") from exc


def _exited(transport: Any, exc: Exception) -> str:
    """Say ``the server exited with status 3 before the handshake completed`` rather than
    that it closed the connection, when a command did exit by itself before the handshake."""
    code = transport.returncode if isinstance(transport, CommandTransport) else None
    if isinstance(exc, ConnectError) and exc.code is None and code is not None and code >= 0:
        return f"the server exited with status {code} before the handshake completed"
    return str(exc)


def _stderr_tail(transport: Any, lines: int = 5) -> str:
    if not isinstance(transport, CommandTransport):
        return ""
    text = transport.stderr_output().decode("utf-8", "replace").strip()
    if not text:
        return ""
    tail = text.splitlines()[-lines:]
    return " (server stderr: " + " | ".join(line.strip() for line in tail) + ")"


def _dump(obj: Any) -> str:
    return json.dumps(obj, indent=2, ensure_ascii=False)


def _schema_summary(schema: dict[str, Any]) -> str:
    props = schema.get("properties") or {}
    required = set(schema.get("required") or ())
    parts = []
    for name, prop in props.items():
        kind = prop.get("type", "any") if isinstance(prop, dict) else "any"
        parts.append(f"{name}: {kind}" + ("" if name in required else "?"))
    return ", ".join(parts)


async def _inspect(session: ClientSession, as_json: bool) -> int:
    caps = session.server_capabilities
    report: dict[str, Any] = {
        "serverInfo": t.unstructure(session.server_info),
        "protocolVersion": session.protocol_version,
        "era": "modern" if session.era is Era.STATELESS else "legacy",
        "capabilities": caps,
    }
    if session.instructions:
        report["instructions"] = session.instructions
    if "tools" in caps:
        report["tools"] = t.unstructure(await session.list_all_tools())
    if "resources" in caps:
        report["resources"] = t.unstructure(await session.list_all_resources())
        report["resourceTemplates"] = t.unstructure(await session.list_all_resource_templates())
    if "prompts" in caps:
        report["prompts"] = t.unstructure(await session.list_all_prompts())
    if as_json:
        print(_dump(report))
        return EXIT_OK
    info = session.server_info
    print(f"server: {info.name} {info.version}" + (f" ({info.title})" if info.title else ""))
    modern = session.era is Era.STATELESS
    era = "modern: 2026-07-28, no handshake" if modern else "legacy: initialize handshake"
    print(f"protocol: {session.protocol_version} ({era})")
    if session.instructions:
        print(f"instructions: {session.instructions}")
    print(f"capabilities: {', '.join(sorted(caps)) or '(none)'}")
    for tool in report.get("tools", ()):
        if tool is report["tools"][0]:
            print(f"tools ({len(report['tools'])}):")
        print(f"  {tool['name']}({_schema_summary(tool.get('inputSchema', {}))})"
              + (f"  {_first_line(tool.get('description'))}" if tool.get("description") else ""))
    for key, label in (("resources", "resources"), ("resourceTemplates", "resource templates")):
        items = report.get(key) or []
        if items:
            print(f"{label} ({len(items)}):")
        for item in items:
            uri = item.get("uri") or item.get("uriTemplate")
            mime = f" [{item['mimeType']}]" if item.get("mimeType") else ""
            print(f"  {uri}  {item.get('name', '')}{mime}")
    prompts = report.get("prompts") or []
    if prompts:
        print(f"prompts ({len(prompts)}):")
    for prompt in prompts:
        args = ", ".join(a["name"] + ("" if a.get("required") else "?")
                         for a in prompt.get("arguments") or ())
        print(f"  {prompt['name']}({args})"
              + (f"  {_first_line(prompt.get('description'))}" if prompt.get("description")
                 else ""))
    return EXIT_OK


def _first_line(text: str | None) -> str:
    return (text or "").strip().splitlines()[0] if text and text.strip() else ""


def _block_text(block: Any) -> str:
    if isinstance(block, t.TextContent):
        return block.text
    if isinstance(block, (t.ImageContent, t.AudioContent)):
        kind = "image" if isinstance(block, t.ImageContent) else "audio"
        return f"[{kind}: {block.mime_type}, {len(block.data) * 3 // 4} bytes]"
    if isinstance(block, t.ResourceLink):
        return f"[resource link: {block.uri}]"
    if isinstance(block, t.EmbeddedResource):
        res = block.resource
        if isinstance(res, t.TextResourceContents):
            return res.text
        return f"[resource {res.uri}: {len(getattr(res, 'blob', '')) * 3 // 4} bytes]"
    return _dump(t.unstructure(block))


def _demo(trace: bool) -> int:
    from ._transport import memory_transport_pair
    from .demo import build_demo_server

    say = print

    async def run() -> None:
        server = build_demo_server()
        printer = make_trace_printer(sys.stdout, label="")

        def client_trace(direction: str, item: Any) -> None:
            printer(direction, item)  # type: ignore[arg-type]

        if trace:
            server.trace = make_trace_printer(sys.stderr, label="server ")
        say("trio-mcp demo: a Server and a Client in one process, over an in-memory "
            "transport.")
        say("Each line is what the client sees: frames it sends (->) and receives (<-), "
            "and lifecycle events.\n")
        client_end, server_end = memory_transport_pair()

        async def progress(done: float, total: float | None, message: str | None) -> None:
            say(f"         progress: {done:g}/{total:g} {message or ''}")

        async with trio.open_nursery() as nursery:
            nursery.start_soon(server.serve, server_end)
            say("== connect (the handshake era): initialize, then notifications/initialized")
            async with Client("demo-client", "1.0", trace=client_trace, mode="legacy").connect(
                    client_end) as session:
                say(f"   connected to {session.server_info.name}, protocol "
                    f"{session.protocol_version}\n")
                say("== tools/list")
                tools = await session.list_all_tools()
                say(f"   tools: {', '.join(tool.name for tool in tools)}\n")
                say("== tools/call add, asking for progress")
                result = await session.call_tool("add", {"numbers": [1, 2, 3.5]},
                                                 on_progress=progress)
                say(f"   structured result: {result.structured_content}\n")
                say("== tools/call fail: a tool execution error is a result, not a "
                    "protocol error")
                result = await session.call_tool("fail")
                say(f"   isError={result.is_error}: {_block_text(result.content[0])}\n")
                say("== resources/read on a template")
                read = await session.read_resource("demo://greeting/trio")
                say(f"   contents: {_block_text(t.EmbeddedResource(resource=read.contents[0]))}"
                    "\n")
                say("== close: the client closes; the server sees EOF and ends its session")
            nursery.cancel_scope.deadline = trio.current_time() + 5
        say("\n   done: every task has ended")

    trio.run(run)
    return EXIT_OK


# ---------------------------------------------------------------- entry point


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    raw = list(sys.argv[1:] if argv is None else argv)
    options, command = _split(raw)
    parser = _parser()
    args = parser.parse_args(options)
    debug = getattr(args, "debug", False)
    try:
        if args.command == "demo":
            return _demo(args.trace)
        if args.command == "serve":
            if command:
                raise CLIError("serve takes no command after --", EXIT_USAGE)
            return _serve(args)
        if args.command == "inspect":
            async def inspect_body(session: ClientSession) -> int:
                return await _inspect(session, args.json)

            return trio.run(_with_session, args, command, inspect_body)
        from . import _cli_client

        return _cli_client.run(args, command)  # call, read, prompt, complete
    except (Exception, KeyboardInterrupt) as exc:
        return _report(exc, debug)
    except BaseExceptionGroup as exc:  # tasks' failures, gathered by a nursery
        return _report(exc, debug)


def _leaves(exc: BaseException) -> list[BaseException]:
    if isinstance(exc, BaseExceptionGroup):
        return [leaf for sub in exc.exceptions for leaf in _leaves(sub)]
    return [exc]


def _report(exc: BaseException, debug: bool) -> int:
    """Turn what ended the command into one line on stderr (or none) and an exit status."""
    leaves = _leaves(exc)
    if any(isinstance(leaf, BrokenPipeError) for leaf in leaves):
        # Our stdout was closed (``| head -1``): not an error of the server's; end quietly,
        # and keep the interpreter's last flush from complaining.
        with contextlib.suppress(OSError, ValueError):
            fd = sys.stdout.fileno()
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, fd)
            os.close(devnull)
        return EXIT_SIGPIPE
    if all(isinstance(leaf, KeyboardInterrupt) for leaf in leaves):
        return 128 + signal.SIGINT
    if debug:
        raise exc
    failure = next((leaf for leaf in leaves if isinstance(leaf, CLIError)), None)
    if failure is not None:
        print(f"trio-mcp: error: {failure}", file=sys.stderr)
        return failure.status
    other = next(leaf for leaf in leaves if not isinstance(leaf, KeyboardInterrupt))
    if not isinstance(other, Exception):
        raise exc
    print(f"trio-mcp: error: {type(other).__name__}: {other}", file=sys.stderr)
    return EXIT_FAILED


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
