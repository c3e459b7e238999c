"""The ``trio-mcp`` command line.

Usage::

    trio-mcp demo [--trace]
    trio-mcp serve FILE_OR_MODULE[:attr] --stdio [--trace]
    trio-mcp inspect [--json] [--timeout S] [--trace] -- COMMAND ARGS...
    trio-mcp call TOOL [JSON | KEY=VALUE...] [--save DIR] [--log-level L] [--json] ... -- CMD...
    trio-mcp read URI [--save DIR] [--log-level L] [--json] ... -- COMMAND ARGS...
    trio-mcp prompt NAME [JSON | KEY=VALUE...] [--save DIR] [--json] ... -- COMMAND ARGS...
    trio-mcp complete (--prompt NAME | --resource URI_TEMPLATE) ARGUMENT [VALUE]
        [--context KEY=VALUE]... [--json] ... -- COMMAND ARGS...

The target always comes last: ``-- COMMAND ARGS...`` runs a server over stdio. Errors are one
line on stderr (``trio-mcp: error: ...``) and a non-zero exit status: 1 for a failed tool, a
protocol error or a server that could not be reached, 2 for a usage error. ``--debug`` shows
tracebacks. The client commands (call, read, prompt, complete: progress, logs, key=value
arguments, --save, elicitation forms) live in ``trio_adapter._cli_client``; docs/cli-client.md.
"""

from __future__ import annotations

import argparse
import functools
import importlib
import importlib.util
import json
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import trio

import sansio
from sansio import types as t

from ._process import CommandTransport, ProcessStartError, StdioTransport
from ._trace import make_trace_printer
from .client import Client, ClientSession
from .errors import ConnectError, MCPError, SessionClosed
from .server import Server

__all__ = ["CLIError", "load_server", "main"]

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


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
            if not path.is_file():
                raise CLIError(f"no such file: {spec}", EXIT_USAGE)
            module_spec = importlib.util.spec_from_file_location(path.stem, path)
            if module_spec is None or module_spec.loader is None:
                raise CLIError(f"cannot load {spec}", EXIT_USAGE)
            module = importlib.util.module_from_spec(module_spec)
            sys.path.insert(0, str(path.resolve().parent))
            module_spec.loader.exec_module(module)
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


# ---------------------------------------------------------------- argument parsing


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

    serve = sub.add_parser("serve", help="serve a Server from a file or module")
    serve.add_argument("target", metavar="FILE_OR_MODULE[:attr]")
    how = serve.add_mutually_exclusive_group()
    how.add_argument("--stdio", action="store_true", help="serve on stdin/stdout (default)")
    how.add_argument("--http", metavar="HOST:PORT",
                     help="serve Streamable HTTP on HOST:PORT (endpoint /mcp)")
    serve.add_argument("--stateless", action="store_true",
                       help="HTTP without sessions (each request stands alone)")
    serve.add_argument("--json-response", action="store_true",
                       help="HTTP: answer requests with application/json, not SSE")
    common(serve)

    def client_options(p: argparse.ArgumentParser) -> None:
        p.add_argument("--json", action="store_true", help="print JSON")
        p.add_argument("--timeout", type=float, default=30.0, metavar="SECONDS",
                       help="give up after this long (default 30)")
        p.add_argument("--url", help="a Streamable HTTP server's MCP endpoint")
        p.add_argument("--show-stderr", action="store_true",
                       help="pass the server's stderr through (default: shown on failure)")
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


def _serve(args: argparse.Namespace) -> int:
    server = load_server(args.target)
    if args.trace:
        server.trace = make_trace_printer(sys.stderr, label="server ")
    if args.http:
        from .http import serve_http

        host, sep, port_text = args.http.rpartition(":")
        if not sep or not port_text.isdigit():
            raise CLIError(f"--http wants HOST:PORT, not {args.http!r}", EXIT_USAGE)
        host = host.strip("[]") or "127.0.0.1"

        async def run_http() -> None:
            async with trio.open_nursery() as nursery:
                info = await nursery.start(functools.partial(
                    serve_http, server, host, int(port_text), stateless=args.stateless,
                    json_response=args.json_response))
                print(f"trio-mcp: serving {server.info.name} at {info.url}", file=sys.stderr,
                      flush=True)

        try:
            trio.run(run_http)
        except OSError as exc:
            raise CLIError(f"cannot listen on {args.http}: {exc.strerror or exc}") from exc
        return EXIT_OK
    if args.stateless or args.json_response:
        raise CLIError("--stateless and --json-response apply to --http", EXIT_USAGE)
    trio.run(server.serve, StdioTransport())
    return EXIT_OK


async def _with_session(
    args: argparse.Namespace, command: list[str], body: Any,
    setup: Callable[[trio.CancelScope], Mapping[str, Any]] | None = None,
) -> int:
    """Connect to the target, run ``body(session)`` within ``--timeout``; return its status.

    ``setup(deadline_scope)``, when given, returns more keyword arguments for the
    :class:`Client` (its handlers), and may move the deadline (a form being filled in).
    """
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
            transport = StreamableHTTPTransport(args.url)
        except ValueError as exc:
            raise CLIError(str(exc), EXIT_USAGE) from None
    else:
        transport = CommandTransport(command,
                                     stderr="inherit" if args.show_stderr else "capture")
    try:
        with trio.fail_after(args.timeout) as deadline:
            client = Client("trio-mcp", sansio.__version__, trace=trace,
                            **(setup(deadline) if setup is not None else {}))
            async with client.connect(transport) as session:
                status: int = await body(session)
                return status
    except trio.TooSlowError:
        raise CLIError(f"timed out after {args.timeout:g} s" + _stderr_tail(transport)) from None
    except ProcessStartError as exc:
        raise CLIError(str(exc)) from exc
    except OSError as exc:
        raise CLIError(f"cannot reach {args.url}: {exc.strerror or exc}") from exc
    except (ConnectError, SessionClosed) as exc:
        raise CLIError(f"{exc}{_stderr_tail(transport)}") from exc
    except MCPError as exc:
        raise CLIError(str(exc)) from exc
    except sansio.ProtocolError as exc:
        raise CLIError(f"protocol error: {exc}") from exc


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
    print(f"protocol: {session.protocol_version}")
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
            say("== connect: initialize, then notifications/initialized")
            async with Client("demo-client", "1.0", trace=client_trace).connect(
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
    except CLIError as exc:
        if debug:
            raise
        print(f"trio-mcp: error: {exc}", file=sys.stderr)
        return exc.status
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        if debug:
            raise
        print(f"trio-mcp: error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return EXIT_FAILED


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
