"""The client commands of ``trio-mcp``: ``call``, ``read``, ``prompt`` and ``complete``.

What they share lives here: ``key=value`` arguments, the progress line and the server's log
lines on stderr, ``--save DIR`` for binary contents, and the terminal form that answers a
server's elicitation. ``trio_adapter.cli`` registers the subcommands (:func:`add_parsers`) and
dispatches to :func:`run`. The full description is docs/cli-client.md.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import json
import math
import mimetypes
import re
import shutil
import signal
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import IO, Any
from urllib.parse import unquote, urlsplit

import trio

from sansio import types as t
from sansio.task_client import TaskSnapshot

from ._session import RequestContext
from .cli import EXIT_FAILED, EXIT_OK, EXIT_USAGE, CLIError, _block_text, _dump, _with_session
from .client import ClientSession, ElicitationHandler, LoggingHandler

__all__ = [
    "COMMANDS",
    "LOG_LEVELS",
    "FormPrompter",
    "Saver",
    "StatusLine",
    "add_parsers",
    "is_terminal",
    "parse_arguments",
    "parse_pairs",
    "run",
]

#: The subcommands this module runs.
COMMANDS = frozenset({"call", "read", "prompt", "complete"})
#: The MCP logging levels, lowest first.
LOG_LEVELS: tuple[t.LoggingLevel, ...] = (
    "debug", "info", "notice", "warning", "error", "critical", "alert", "emergency")
_LEVEL_RANK = {name: i for i, name in enumerate(LOG_LEVELS)}


def is_terminal(stream: Any) -> bool:
    """Whether ``stream`` is an interactive terminal (``False`` for anything without a tty)."""
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):
        return False


# ---------------------------------------------------------------- the subcommands' parsers


def add_parsers(sub: Any, client_options: Callable[[argparse.ArgumentParser], None]) -> None:
    """Register ``call``, ``read``, ``prompt`` and ``complete`` on the ``sub`` subparsers.

    ``client_options`` adds the options every client command takes (``--json``, ``--timeout``,
    ``--url``, ``--trace``...).
    """
    def extra(p: argparse.ArgumentParser, save: bool = True) -> None:
        p.add_argument("--log-level", choices=LOG_LEVELS, metavar="LEVEL",
                       help="show the server's log messages at LEVEL and above (one of "
                       f"{', '.join(LOG_LEVELS)}); sends logging/setLevel")
        if save:
            p.add_argument("--save", metavar="DIR",
                           help="write images, audio and blobs to files in DIR")
        client_options(p)

    call = sub.add_parser(
        "call", help="call one tool and print its result",
        usage="trio-mcp call TOOL [JSON | KEY=VALUE...] [options] -- COMMAND ARGS...")
    call.add_argument("tool", metavar="TOOL", help="the name of the tool to call")
    call.add_argument("arguments", nargs="*", metavar="JSON | KEY=VALUE",
                      help="the arguments: one JSON object, or key=value pairs (a value is "
                      "JSON when it parses as JSON, else a string)")
    extra(call)

    read = sub.add_parser("read", help="read a resource and print its contents",
                          usage="trio-mcp read URI [options] -- COMMAND ARGS...")
    read.add_argument("uri", metavar="URI", help="the URI of the resource to read")
    extra(read)

    prompt = sub.add_parser(
        "prompt", help="get a prompt and print its messages",
        usage="trio-mcp prompt NAME [JSON | KEY=VALUE...] [options] -- COMMAND ARGS...")
    prompt.add_argument("name", metavar="NAME", help="the name of the prompt to get")
    prompt.add_argument("arguments", nargs="*", metavar="JSON | KEY=VALUE",
                        help="the arguments (strings): one JSON object, or key=value pairs")
    extra(prompt)

    complete = sub.add_parser(
        "complete", help="complete an argument of a prompt or a resource template",
        usage="trio-mcp complete (--prompt NAME | --resource URI_TEMPLATE) ARGUMENT [VALUE] "
        "[--context KEY=VALUE...] [options] -- COMMAND ARGS...")
    ref = complete.add_mutually_exclusive_group(required=True)
    ref.add_argument("--prompt", metavar="NAME", help="complete an argument of this prompt")
    ref.add_argument("--resource", metavar="URI_TEMPLATE",
                     help="complete a variable of this resource template")
    complete.add_argument("argument", metavar="ARGUMENT", help="the argument to complete")
    complete.add_argument("value", nargs="?", default="", metavar="VALUE",
                          help="what is typed so far (default: empty)")
    complete.add_argument("--context", action="append", default=[], metavar="KEY=VALUE",
                          help="an argument already filled in (repeatable)")
    extra(complete, save=False)


# ---------------------------------------------------------------- arguments


def add_auth_options(p: argparse.ArgumentParser) -> None:
    """The OAuth options of the client commands (used with ``--url``)."""
    p.add_argument("--auth", choices=("login", "client-credentials", "none"), default="login",
                   help="with --url: login (default): when the server asks, log in with "
                   "OAuth in a browser (a loopback redirect); client-credentials: a machine "
                   "client (--client-id and --client-secret or --private-key); none: never")
    p.add_argument("--client-id", metavar="ID", help="a pre-registered OAuth client id "
                   "(default: the server's dynamic registration)")
    p.add_argument("--client-secret", metavar="SECRET",
                   help="its secret (default: $TRIO_MCP_CLIENT_SECRET)")
    p.add_argument("--private-key", metavar="PEM_FILE",
                   help="client credentials: authenticate with a JWT signed by this key "
                   "(private_key_jwt; needs the jwt extra)")
    p.add_argument("--scope", action="append", default=[], metavar="SCOPE",
                   help="an OAuth scope to ask for (repeatable)")
    p.add_argument("--redirect-port", type=int, default=33418, metavar="PORT",
                   help="the loopback port the login redirect comes back to (default 33418)")
    p.add_argument("--token-file", metavar="PATH",
                   help="where tokens are kept between runs (default "
                   "~/.cache/trio-mcp/tokens.json)")


def make_auth(args: argparse.Namespace) -> Any:
    """The :class:`~trio_adapter.oauth.OAuth` the options ask for (``None``: no OAuth)."""
    import os

    from .oauth import FileTokenStore, OAuth

    mode = getattr(args, "auth", "none")
    if mode == "none":
        return None
    path = args.token_file or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"),
        "trio-mcp", "tokens.json")
    secret = args.client_secret or os.environ.get("TRIO_MCP_CLIENT_SECRET")
    key = Path(args.private_key).read_text() if args.private_key else None
    if mode == "client-credentials" and not args.client_id:
        raise ValueError("--auth client-credentials needs --client-id")
    return OAuth(grant="client_credentials" if mode == "client-credentials"
                 else "authorization_code", client_id=args.client_id, client_secret=secret,
                 private_key=key, scopes=tuple(args.scope),
                 redirect_uri=f"http://127.0.0.1:{args.redirect_port}/callback",
                 store=FileTokenStore(path))


def parse_arguments(items: Sequence[str], *, strings: bool = False) -> dict[str, Any] | None:
    """Parse the command line's tool or prompt arguments.

    Either one JSON object (an item that starts with ``{`` or holds no ``=``), or any number
    of ``key=value`` pairs. A pair's value is JSON when it parses as JSON (``1``, ``true``,
    ``"quoted"``, ``[..]``, ``{..}``), else the plain string; with ``strings`` (prompts) every
    value is the string as given, and a JSON object's values must be strings.

    Returns:
        the arguments, or ``None`` when ``items`` is empty.

    Raises:
        CLIError: (status 2) invalid JSON, a JSON value that is not an object, a JSON object
            mixed with pairs, a malformed pair, a key given twice, a non-string prompt value.
    """
    if not items:
        return None
    whole = [item for item in items if item.lstrip().startswith("{") or "=" not in item]
    if whole and len(items) > 1:
        if whole[0].lstrip().startswith("{"):
            raise CLIError("give the arguments either as one JSON object or as key=value "
                           "pairs, not both", EXIT_USAGE)
        raise CLIError(f"expected key=value, got {whole[0]!r}", EXIT_USAGE)
    if whole:
        try:
            value = json.loads(whole[0])
        except json.JSONDecodeError as exc:
            raise CLIError(f"the arguments are not valid JSON: {exc}", EXIT_USAGE) from None
        if not isinstance(value, dict):
            raise CLIError("the arguments must be a JSON object", EXIT_USAGE)
        if strings:
            for key, item in value.items():
                if not isinstance(item, str):
                    raise CLIError(f"prompt arguments are strings, but {key!r} is "
                                   f"{_json_type(item)}", EXIT_USAGE)
        return value
    return parse_pairs(items, strings=strings)


def parse_pairs(items: Sequence[str], *, strings: bool = False) -> dict[str, Any]:
    """Parse ``key=value`` pairs (the values as in :func:`parse_arguments`).

    Raises:
        CLIError: (status 2) an item without ``=`` or with an empty key, a key given twice.
    """
    arguments: dict[str, Any] = {}
    for item in items:
        key, sep, text = item.partition("=")
        if not key or not sep:
            raise CLIError(f"expected key=value, got {item!r}", EXIT_USAGE)
        if key in arguments:
            raise CLIError(f"argument {key!r} is given twice", EXIT_USAGE)
        arguments[key] = text if strings else _json_or_text(text)
    return arguments


def _json_or_text(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    return "an array" if isinstance(value, list) else "an object"


# ---------------------------------------------------------------- progress and log lines


class StatusLine:
    """The progress line and the server's log lines, on ``stream`` (stderr).

    On a terminal, progress is one line redrawn in place (``\\r``) and erased by :meth:`clear`;
    elsewhere progress is not shown. Log lines are always written, each on its own line (on a
    terminal the progress line is erased first and redrawn after).

    Args:
        stream: where to write.
        terminal: whether ``stream`` is a terminal (progress is shown only then).
        width: the terminal's width in columns (default: asked of the terminal).
    """

    def __init__(self, stream: IO[str], terminal: bool, width: int | None = None) -> None:
        self.stream = stream
        self.terminal = terminal
        self._width = width
        self._shown = ""

    def width(self) -> int:
        """The columns available (at least 20)."""
        if self._width is not None:
            return max(20, self._width)
        return max(20, shutil.get_terminal_size((80, 24)).columns)

    async def progress(self, done: float, total: float | None, message: str | None) -> None:
        """Show one ``notifications/progress`` (a :data:`~trio_adapter.ProgressCallback`)."""
        if not self.terminal:
            return
        self._shown = format_progress(done, total, message, self.width() - 1)
        self.stream.write("\r" + self._shown + "\x1b[K")
        self.stream.flush()

    def line(self, text: str) -> None:
        """Write ``text`` as a line of its own, keeping the progress line below it."""
        if self._shown:
            self.stream.write("\r\x1b[K")
        self.stream.write(text + "\n")
        if self._shown:
            self.stream.write(self._shown + "\x1b[K")
        self.stream.flush()

    async def task(self, snapshot: TaskSnapshot) -> None:
        """Show a task's status (a :data:`~trio_adapter.TaskStatusCallback`): on a terminal
        as the progress line, elsewhere as a line of its own for each change."""
        text = format_task(snapshot)
        if not self.terminal:
            self.line(f"trio-mcp: {text}")
            return
        self._shown = text if len(text) < self.width() else text[:self.width() - 2] + "…"
        self.stream.write("\r" + self._shown + "\x1b[K")
        self.stream.flush()

    def clear(self) -> None:
        """Erase the progress line, if one is shown (before other output or at the end)."""
        if self._shown:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
            self._shown = ""


def format_task(snapshot: TaskSnapshot) -> str:
    """One task status line: ``task <id>: working: Gathering sources...``."""
    text = f"task {snapshot.task_id}: {snapshot.status}"
    if snapshot.status_message:
        text += ": " + " ".join(snapshot.status_message.split())
    return text


def format_progress(done: float, total: float | None, message: str | None,
                    width: int = 79) -> str:
    """One progress line: ``[#####-----]  50% 5/10 message`` (no bar without a total)."""
    text = message or ""
    if total is not None and total > 0 and math.isfinite(total):
        fraction = min(max(done / total, 0.0), 1.0)
        bar = 20
        filled = int(fraction * bar)
        line = (f"[{'#' * filled}{'-' * (bar - filled)}] {fraction:4.0%} {done:g}/{total:g}"
                + (f" {text}" if text else ""))
    else:
        line = f"{done:g}" + (f" {text}" if text else "")
    line = " ".join(line.splitlines())
    return line if len(line) <= width else line[:max(0, width - 1)] + "…"


def format_log(params: t.LoggingMessageNotificationParams) -> str:
    """One log line: ``[level] logger: data`` (data as text, or compact JSON)."""
    data = params.data
    text = data if isinstance(data, str) else json.dumps(data, ensure_ascii=False,
                                                         separators=(",", ":"))
    text = "\\n".join(text.splitlines())
    return f"[{params.level}] " + (f"{params.logger}: " if params.logger else "") + text


def make_log_handler(status: StatusLine, level: t.LoggingLevel) -> LoggingHandler:
    """A logging handler printing each message at ``level`` or above as one line."""
    threshold = _LEVEL_RANK[level]

    async def on_log(params: t.LoggingMessageNotificationParams) -> None:
        if _LEVEL_RANK.get(params.level, len(LOG_LEVELS)) >= threshold:
            status.line(format_log(params))

    return on_log


# ---------------------------------------------------------------- elicitation


class _Cancelled(Exception):
    """The user ended the form (Ctrl-D)."""


_SKIP = object()
_YES = ("y", "yes", "true", "t", "1", "on")
_NO = ("n", "no", "false", "f", "0", "off")


class FormPrompter:
    """Ask a form elicitation's fields, one line each.

    ``ask(prompt)`` shows ``prompt`` and returns the line typed (without its newline), or
    ``None`` at end of input (Ctrl-D); ``say(text)`` shows a line. The first question is
    whether to answer at all: empty or ``y`` answers, ``n`` declines, ``c`` or Ctrl-D cancels.
    Then each field: its title, description, kind and default are shown; empty input takes the
    default (or leaves an optional field out); required fields and invalid values are asked
    again; Ctrl-D cancels. Enums take the value, its number or its title; multi-select enums a
    comma-separated list.
    """

    def __init__(self, ask: Callable[[str], str | None], say: Callable[[str], None]) -> None:
        self.ask = ask
        self.say = say

    def run(self, message: str, schema: Mapping[str, Any]) -> dict[str, Any]:
        """Ask the form; return the ``ElicitResult`` as JSON (``action``, ``content``)."""
        self.say(f"trio-mcp: the server asks: {message}")
        properties = schema.get("properties") or {}
        required = set(schema.get("required") or ())
        try:
            while True:
                answer = self._ask("answer? [Y]es, [n]o (decline), [c]ancel: ").lower()
                if answer in ("", "y", "yes"):
                    break
                if answer in ("n", "no", "decline"):
                    return {"action": "decline"}
                if answer in ("c", "cancel"):
                    return {"action": "cancel"}
                self.say("  answer y, n or c")
            content: dict[str, Any] = {}
            for name, prop in properties.items():
                spec = prop if isinstance(prop, Mapping) else {}
                if _kind(spec) is None:
                    if name in required:
                        self.say(f"  cannot ask for {name!r} (an unsupported field); declining")
                        return {"action": "decline"}
                    continue
                value = self._field(name, spec, name in required)
                if value is not _SKIP:
                    content[name] = value
        except _Cancelled:
            self.say("")
            return {"action": "cancel"}
        return {"action": "accept", "content": content}

    def _ask(self, prompt: str) -> str:
        line = self.ask(prompt)
        if line is None:
            raise _Cancelled
        return line.strip()

    def _field(self, name: str, spec: Mapping[str, Any], required: bool) -> Any:
        kind = _kind(spec)
        options = _options(spec)
        label = spec.get("title") or name
        description = spec.get("description")
        hint = _hint(kind, spec, options) + (", required" if required else "")
        prompt = f"  {label}" + (f" - {description}" if description else "") + f" [{hint}]"
        has_default = "default" in spec
        if has_default:
            prompt += f" (default {_show(spec['default'], options)})"
        prompt += ": "
        while True:
            text = self._ask(prompt)
            if not text:
                if has_default:
                    return spec["default"]
                if not required:
                    return _SKIP
                self.say("  a value is required")
                continue
            try:
                return _parse_field(kind, spec, options, text)
            except ValueError as exc:
                self.say(f"  {exc}")


def _kind(spec: Mapping[str, Any]) -> str | None:
    kind = spec.get("type")
    if kind in ("boolean", "number", "integer"):
        return str(kind)
    if kind == "string":
        return "choice" if "oneOf" in spec or "enum" in spec else "string"
    if kind == "array":
        items = spec.get("items")
        if isinstance(items, Mapping) and ("anyOf" in items or "enum" in items):
            return "choices"
    return None


def _options(spec: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The (value, title) pairs of an enum field."""
    source: Any = spec
    if spec.get("type") == "array":
        source = spec.get("items") or {}
    if "oneOf" in source or "anyOf" in source:
        return [(str(o.get("const")), str(o.get("title", o.get("const"))))
                for o in source.get("oneOf") or source.get("anyOf") or () if isinstance(o, dict)]
    values = [str(v) for v in source.get("enum") or ()]
    names = source.get("enumNames") or values
    return [(v, str(names[i]) if i < len(names) else v) for i, v in enumerate(values)]


def _hint(kind: str | None, spec: Mapping[str, Any], options: list[tuple[str, str]]) -> str:
    if kind == "boolean":
        return "y/n"
    if kind in ("choice", "choices"):
        listed = " ".join(f"{i}) {title if title == value else f'{title} ({value})'}"
                          for i, (value, title) in enumerate(options, 1))
        return ("one of " if kind == "choice" else "any of ") + listed + (
            "; comma-separated" if kind == "choices" else "")
    hint = "text" if kind == "string" else str(kind)
    low, high = spec.get("minimum"), spec.get("maximum")
    if low is not None and high is not None:
        hint += f" {low:g}..{high:g}"
    elif low is not None:
        hint += f" >= {low:g}"
    elif high is not None:
        hint += f" <= {high:g}"
    return hint


def _show(value: Any, options: list[tuple[str, str]]) -> str:
    if isinstance(value, bool):
        return "y" if value else "n"
    if isinstance(value, list):
        return ",".join(str(v) for v in value)
    return str(value)


def _pick(text: str, options: list[tuple[str, str]]) -> str:
    for value, _ in options:
        if text == value:
            return value
    if text.isdigit() and 1 <= int(text) <= len(options):
        return options[int(text) - 1][0]
    for value, title in options:
        if text.lower() in (value.lower(), title.lower()):
            return value
    raise ValueError(f"not one of the choices: {text!r}")


def _parse_field(kind: str | None, spec: Mapping[str, Any], options: list[tuple[str, str]],
                 text: str) -> Any:
    if kind == "boolean":
        if text.lower() in _YES:
            return True
        if text.lower() in _NO:
            return False
        raise ValueError("answer y or n")
    if kind == "choice":
        return _pick(text, options)
    if kind == "choices":
        picked: list[str] = []
        for part in text.split(","):
            if part.strip():
                value = _pick(part.strip(), options)
                if value not in picked:
                    picked.append(value)
        low, high = spec.get("minItems"), spec.get("maxItems")
        if low is not None and len(picked) < low:
            raise ValueError(f"pick at least {low}")
        if high is not None and len(picked) > high:
            raise ValueError(f"pick at most {high}")
        return picked
    if kind in ("number", "integer"):
        number: float
        try:
            number = int(text) if kind == "integer" else float(text)
        except ValueError:
            raise ValueError(f"not {'an integer' if kind == 'integer' else 'a number'}: "
                             f"{text!r}") from None
        if not math.isfinite(number):
            raise ValueError(f"not a finite number: {text!r}")
        low, high = spec.get("minimum"), spec.get("maximum")
        if low is not None and number < low:
            raise ValueError(f"at least {low:g}")
        if high is not None and number > high:
            raise ValueError(f"at most {high:g}")
        return number
    low, high = spec.get("minLength"), spec.get("maxLength")
    if low is not None and len(text) < low:
        raise ValueError(f"at least {low} characters")
    if high is not None and len(text) > high:
        raise ValueError(f"at most {high} characters")
    return text


def _stdin_ask(prompt: str) -> str | None:
    """Show ``prompt`` on stderr and read one line of stdin; ``None`` at end of input."""
    sys.stderr.write(prompt)
    sys.stderr.flush()
    line = sys.stdin.readline()
    if not line:
        return None
    return line.rstrip("\r\n")


def _stderr_say(text: str) -> None:
    sys.stderr.write(text + "\n")
    sys.stderr.flush()


class _DeadlinePause:
    """Stops the clock of ``--timeout`` while the user fills in forms."""

    def __init__(self, scope: trio.CancelScope) -> None:
        self.scope = scope
        self._left = 0.0

    def pause(self) -> None:
        self._left = self.scope.deadline - trio.current_time()
        self.scope.deadline = math.inf

    def resume(self) -> None:
        self.scope.deadline = trio.current_time() + self._left


def make_elicitation_handler(status: StatusLine, scope: trio.CancelScope | None,
                             prompter: FormPrompter | None = None) -> ElicitationHandler:
    """An elicitation handler asking the user on the terminal (one form at a time).

    The time spent on a form does not count against ``scope``'s deadline. URL-mode requests
    (never advertised) are declined.
    """
    form = prompter or FormPrompter(_stdin_ask, _stderr_say)
    lock = trio.Lock()
    pause = None if scope is None else _DeadlinePause(scope)

    async def on_elicit(ctx: RequestContext, params: Any) -> dict[str, Any]:
        if not isinstance(params, t.ElicitRequestFormParams):
            return {"action": "decline"}
        schema = t.unstructure(params.requested_schema)
        async with lock:
            status.clear()
            if pause is not None:
                pause.pause()
            try:
                return await trio.to_thread.run_sync(form.run, params.message, schema,
                                                     abandon_on_cancel=True)
            finally:
                if pause is not None:
                    pause.resume()

    return on_elicit


# ---------------------------------------------------------------- --save


def _b64_size(data: str) -> int:
    return len(data.rstrip("=")) * 3 // 4


def _decode(data: str) -> bytes:
    try:
        return base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raise CLIError("the server sent invalid base64 data") from None


# Common types first: what ``mimetypes`` knows depends on the system's mime.types.
_EXTENSIONS = {
    "image/png": ".png", "image/jpeg": ".jpg", "image/gif": ".gif", "image/webp": ".webp",
    "image/svg+xml": ".svg", "audio/wav": ".wav", "audio/x-wav": ".wav", "audio/wave": ".wav",
    "audio/mpeg": ".mp3", "audio/mp3": ".mp3", "audio/ogg": ".ogg", "audio/webm": ".weba",
    "audio/flac": ".flac", "text/plain": ".txt", "application/json": ".json",
    "application/pdf": ".pdf", "application/octet-stream": ".bin",
}


def extension(mime: str | None) -> str:
    """A file extension for ``mime`` (``.png``), ``.bin`` when unknown."""
    if mime:
        base = mime.split(";")[0].strip().lower()
        ext = _EXTENSIONS.get(base) or mimetypes.guess_extension(base, strict=False)
        if ext:
            return ext
    return ".bin"


_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def safe_name(text: str) -> str:
    """``text`` as a plain file name: no separators, no leading dot, at most 100 characters."""
    name = _UNSAFE.sub("_", text).lstrip(".")[:100]
    return "" if name in ("", "_") else name


class Saver:
    """Writes binary contents (``--save DIR``) to new files in ``directory``.

    Images and audio are ``image-N.ext`` / ``audio-N.ext``; a resource takes its URI's last path
    segment (made a safe file name; ``resource-N.ext`` when there is none); the extension comes
    from the MIME type. Files are created exclusively: an existing name gets ``-2``, ``-3``...
    The directory is created when the first file is written.
    """

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.saved: list[Path] = []
        self._counts: dict[str, int] = {}

    def save(self, kind: str, data: bytes, mime: str | None, uri: str | None = None) -> Path:
        """Write ``data``; return the new file's path.

        Raises:
            CLIError: the directory or the file cannot be written.
        """
        self._counts[kind] = count = self._counts.get(kind, 0) + 1
        name = ""
        if uri:
            name = safe_name(unquote(urlsplit(uri).path.rstrip("/").rpartition("/")[2]))
        if not name:
            name = f"{kind}-{count}{extension(mime)}"
        elif "." not in name.strip("."):
            name += extension(mime)
        stem, dot, ext = name.rpartition(".")
        if not dot or not stem:
            stem, ext = name, ""
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            for n in range(1, 10_000):
                candidate = (stem if n == 1 else f"{stem}-{n}") + (f".{ext}" if ext else "")
                path = self.directory / candidate
                try:
                    with open(path, "xb") as f:
                        f.write(data)
                except FileExistsError:
                    continue
                self.saved.append(path)
                return path
        except OSError as exc:
            raise CLIError(f"cannot save to {self.directory}: {exc.strerror or exc}") from None
        raise CLIError(f"cannot save {name} to {self.directory}: too many files of that name")


def _render(block: Any, saver: Saver | None) -> str:
    """A content block as text; with a saver, binary contents are saved and shown as paths."""
    if isinstance(block, (t.ImageContent, t.AudioContent)):
        kind = "image" if isinstance(block, t.ImageContent) else "audio"
        if saver is not None:
            return str(saver.save(kind, _decode(block.data), block.mime_type))
        return f"[{kind}: {block.mime_type}, {_b64_size(block.data)} bytes]"
    if isinstance(block, t.EmbeddedResource):
        res = block.resource
        if isinstance(res, t.BlobResourceContents):
            return _render_blob(res, saver)
    return _block_text(block)


def _render_blob(res: t.BlobResourceContents, saver: Saver | None) -> str:
    if saver is not None:
        return str(saver.save("resource", _decode(res.blob), res.mime_type, res.uri))
    return f"<blob {_b64_size(res.blob)} bytes, {res.mime_type or 'application/octet-stream'}>"


def _save_all(blocks: Sequence[Any], saver: Saver | None) -> None:
    """``--json`` with ``--save``: save each binary content, list the paths on stderr."""
    if saver is None:
        return
    for item in blocks:
        block = item.resource if isinstance(item, t.EmbeddedResource) else item
        if isinstance(block, (t.ImageContent, t.AudioContent)):
            kind = "image" if isinstance(block, t.ImageContent) else "audio"
            path = saver.save(kind, _decode(block.data), block.mime_type)
        elif isinstance(block, t.BlobResourceContents):
            path = saver.save("resource", _decode(block.blob), block.mime_type, block.uri)
        else:
            continue
        print(f"trio-mcp: saved {path}", file=sys.stderr)


def _write(text: str) -> None:
    sys.stdout.write(text if text.endswith("\n") else text + "\n")


# ---------------------------------------------------------------- the commands


async def _call(session: ClientSession, args: argparse.Namespace, status: StatusLine,
                arguments: dict[str, Any] | None, saver: Saver | None) -> int:
    result = await _interruptible_call(session, args.tool, arguments, status)
    status.clear()
    if args.json:
        print(_dump(t.unstructure(result, session.protocol_version)))
        _save_all(result.content, saver)
        return EXIT_FAILED if result.is_error else EXIT_OK
    if result.is_error:
        texts = [_block_text(b) for b in result.content]
        raise CLIError(f"tool {args.tool!r} failed: " + " ".join(" ".join(texts).split()))
    for block in result.content:
        _write(_render(block, saver))
    if result.structured_content is not None and not result.content:
        print(_dump(result.structured_content))  # the text blocks already say it
    return EXIT_OK


async def _interruptible_call(session: ClientSession, tool: str,
                              arguments: dict[str, Any] | None,
                              status: StatusLine) -> t.CallToolResult:
    """``call_tool`` with the task's status on stderr; the first Ctrl-C cancels the call (a
    task gets ``tasks/cancel``, bounded by ``CANCEL_TIMEOUT``; a plain call
    ``notifications/cancelled``) and exits with status 130, a second stops at once."""
    interrupted = False
    with trio.open_signal_receiver(signal.SIGINT) as signals:
        async with trio.open_nursery() as nursery:
            call = trio.CancelScope()

            async def watch() -> None:
                nonlocal interrupted
                async for _ in signals:
                    if interrupted:
                        raise KeyboardInterrupt
                    interrupted = True
                    status.line("trio-mcp: interrupted: cancelling the call "
                                "(Ctrl-C again to stop at once)")
                    call.cancel()

            nursery.start_soon(watch)
            with call:
                result = await session.call_tool(tool, arguments, on_progress=status.progress,
                                                 on_task_status=status.task)
            nursery.cancel_scope.cancel()
    if interrupted:
        raise CLIError(f"tool {tool!r}: interrupted", 128 + signal.SIGINT)
    return result


async def _read(session: ClientSession, args: argparse.Namespace, saver: Saver | None) -> int:
    _require(session, "resources", "resources")
    result = await session.read_resource(args.uri)
    if args.json:
        print(_dump(t.unstructure(result, session.protocol_version)))
        _save_all(result.contents, saver)
        return EXIT_OK
    for item in result.contents:
        if isinstance(item, t.TextResourceContents):
            _write(item.text)
        elif isinstance(item, t.BlobResourceContents):
            _write(_render_blob(item, saver))
    return EXIT_OK


async def _prompt(session: ClientSession, args: argparse.Namespace,
                  arguments: dict[str, Any] | None, saver: Saver | None) -> int:
    _require(session, "prompts", "prompts")
    result = await session.get_prompt(args.name, arguments)
    if args.json:
        print(_dump(t.unstructure(result, session.protocol_version)))
        _save_all([m.content for m in result.messages], saver)
        return EXIT_OK
    for message in result.messages:
        _write(f"{message.role}: {_render(message.content, saver)}")
    return EXIT_OK


async def _complete(session: ClientSession, args: argparse.Namespace,
                    context: dict[str, Any] | None) -> int:
    _require(session, "completions", "completions")
    ref: dict[str, Any] = ({"type": "ref/prompt", "name": args.prompt} if args.prompt is not None
                           else {"type": "ref/resource", "uri": args.resource})
    completion = await session.complete(ref, args.argument, args.value,
                                        context_arguments=context)
    if args.json:
        print(_dump({"completion": t.unstructure(completion, session.protocol_version)}))
        return EXIT_OK
    for value in completion.values:
        print(value)
    if completion.has_more or (completion.total or 0) > len(completion.values):
        more = f" of {completion.total}" if completion.total else ""
        print(f"trio-mcp: {len(completion.values)}{more} shown; the server has more",
              file=sys.stderr)
    return EXIT_OK


def _require(session: ClientSession, capability: str, what: str) -> None:
    if capability not in session.server_capabilities:
        raise CLIError(f"the server does not offer {what}")


def run(args: argparse.Namespace, command: list[str]) -> int:
    """Run ``call``, ``read``, ``prompt`` or ``complete``; return the exit status.

    Usage errors in the arguments are found before the server is started.

    Raises:
        CLIError: a usage error (status 2), a failed tool or an unreachable server (status 1).
    """
    arguments: dict[str, Any] | None = None
    if args.command in ("call", "prompt"):
        arguments = parse_arguments(args.arguments, strings=args.command == "prompt")
    elif args.command == "complete":
        arguments = parse_pairs(args.context, strings=True) if args.context else None
    save = getattr(args, "save", None)
    saver = Saver(Path(save)) if save else None
    status = StatusLine(sys.stderr, is_terminal(sys.stderr))

    def setup(scope: trio.CancelScope) -> dict[str, Any]:
        options: dict[str, Any] = {}
        if is_terminal(sys.stdin):
            options["elicitation_handler"] = make_elicitation_handler(status, scope)
        if args.log_level:
            options["logging_handler"] = make_log_handler(status, args.log_level)
        return options

    async def body(session: ClientSession) -> int:
        try:
            if args.log_level and "logging" in session.server_capabilities:
                await session.set_logging_level(args.log_level)
            if args.command == "call":
                return await _call(session, args, status, arguments, saver)
            if args.command == "read":
                return await _read(session, args, saver)
            if args.command == "prompt":
                return await _prompt(session, args, arguments, saver)
            return await _complete(session, args, arguments)
        finally:
            status.clear()

    status_code: int = trio.run(_with_session, args, command, body, setup)
    return status_code
