"""The MCP server: a logical :class:`Server` holding the feature set, and its sessions.

>>> server = Server("demo", "1.0")
>>> @server.tool()
... async def add(a: int, b: int) -> int:
...     '''Add two numbers.'''
...     return a + b
>>> [tool.name for tool in server.tools]
['add']
"""

from __future__ import annotations

import abc
import base64
import functools
import hashlib
import inspect
import logging
import os
import secrets
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager, suppress
from typing import Any, TypeVar, get_type_hints

import attrs
import trio

if sys.version_info < (3, 11):  # pragma: no cover - exercised on 3.10 only
    from exceptiongroup import BaseExceptionGroup  # type: ignore[import-not-found,unused-ignore]

from sansio import (
    SUPPORTED_VERSIONS,
    Connection,
    Era,
    ErrorCode,
    HmacRequestStateCodec,
    InitializeRequested,
    ListenRefused,
    LocalProtocolError,
    NotificationReceived,
    RequestId,
    RequestReceived,
    RequestStateError,
    Role,
    _codec,
    resource_not_found_code,
)
from sansio import types as t
from sansio.auth_server import Principal
from sansio.mrtr import MRTR_METHODS, RejectReason
from sansio.tasks import EXTENSION_ID as TASKS_EXTENSION_ID
from sansio.tasks import Dispatch, TaskState, TaskSupport, check_task_request, decide_tool_call
from sansio.versions import RequestMeta

from . import errors
from ._pagination import paginate
from ._schema import (
    ArgumentError,
    ToolDefinitionError,
    input_schema_for,
    is_context_annotation,
    output_is_wrapped,
    output_schema_for,
    output_structurer,
    unstructure,
)
from ._session import BaseSession, ProgressCallback, RequestContext, TraceHook, current_request
from ._transport import Transport
from ._uritemplate import UriTemplate
from ._util import session_scope
from .content import Audio, Image
from .tasks import TaskRun, TaskRunner

__all__ = [
    "DEFAULT_MAX_CONCURRENT_REQUESTS",
    "STATE_KEYS_ENV",
    "Context",
    "InMemoryNotificationBus",
    "InputRequest",
    "Lifespan",
    "NotificationBus",
    "Server",
    "ServerSession",
    "parse_state_keys",
]

F = TypeVar("F", bound=Callable[..., Any])

#: Unexpected handler exceptions are logged here, with their traceback.
logger = logging.getLogger("trio_mcp.server")

#: ``lifespan(server)``: an async context manager whose value handlers reach as
#: :attr:`Context.lifespan_context` (see :meth:`Server.running`).
Lifespan = Callable[["Server"], AbstractAsyncContextManager[Any]]

#: The default number of worker threads per server for blocking sync handlers.
DEFAULT_MAX_THREADS = 16

DEFAULT_MAX_CONCURRENT_REQUESTS = 128
"""How many of one session's requests a :class:`Server` serves at once by default. A handler
is one trio task (a few KiB) plus what its answer holds until it is written; 128 is far above
what an interactive client keeps in flight (a handful of calls), and bounds a flooding or
non-reading client's cost to 128 answers instead of one per request it sent."""

# The largest requestState a server seals or opens (the answers of earlier rounds ride in it).
_STATE_MAX_SIZE = 64 * 1024

LOG_LEVELS: tuple[str, ...] = (
    "debug", "info", "notice", "warning", "error", "critical", "alert", "emergency")
_LEVEL_RANK = {name: i for i, name in enumerate(LOG_LEVELS)}

_CONTENT_TYPES: tuple[type, ...] = (
    t.TextContent, t.ImageContent, t.AudioContent, t.EmbeddedResource, t.ResourceLink)
# Return annotations that mean "content, not structured output".
_CONTENT_ANNOTATIONS: tuple[type, ...] = (*_CONTENT_TYPES, Image, Audio)

#: Completion handler: ``(ref, argument, context) -> list[str] | Completion``.
CompletionHandler = Callable[
    [Any, t.CompletionArgument, "t.CompletionContext | None"],
    Awaitable["Sequence[str] | t.Completion"]]


#: The environment variable :class:`Server` reads its ``requestState`` keys from when it is
#: given none (comma-separated; see :meth:`Server.use_state_keys`).
STATE_KEYS_ENV = "TRIO_MCP_STATE_KEYS"


@attrs.frozen
class InputRequest:
    """One thing a handler asks the client for: an elicitation, a sampling or the roots.

    Build them with :meth:`elicitation`, :meth:`sampling` and :meth:`roots` and pass several
    to :meth:`Context.ask` to ask for them together (2026-07-28: in one ``input_required``
    round).

    Attributes:
        method: ``elicitation/create``, ``sampling/createMessage`` or ``roots/list``.
        params: the request's params.
        key: the ``inputRequests`` key (2026-07-28); ``None``: ``input-N``, N counting the
            handler's unnamed input requests in the order it asks for them.
    """

    method: str
    params: dict[str, Any]
    key: str | None = None

    @classmethod
    def elicitation(cls, message: str, requested_schema: Mapping[str, Any], *,
                    key: str | None = None) -> InputRequest:
        """Ask the user for structured input (form mode); answered by a ``t.ElicitResult``."""
        return cls("elicitation/create",
                   {"message": message, "requestedSchema": dict(requested_schema)}, key)

    @classmethod
    def sampling(cls, messages: Sequence[t.SamplingMessage | Mapping[str, Any]],
                 max_tokens: int, *, key: str | None = None, **options: Any) -> InputRequest:
        """Ask the client to sample an LLM; answered by a ``t.CreateMessageResult``.
        ``options`` are those of :meth:`ServerSession.create_message`."""
        return cls("sampling/createMessage", _sampling_params(messages, max_tokens, **options),
                   key)

    @classmethod
    def roots(cls, *, key: str | None = None) -> InputRequest:
        """Ask the client for its roots; answered by a list of ``t.Root``."""
        return cls("roots/list", {}, key)


class _InputNeeded(BaseException):
    """Raised out of a 2026-07-28 handler that asked for input it does not have yet: the
    request is answered ``input_required``. A BaseException, so that a handler's ``except
    Exception`` does not swallow it."""

    def __init__(self, requests: dict[str, dict[str, Any]]) -> None:
        super().__init__(sorted(requests))
        self.requests = requests


@attrs.define(eq=False)
class Context(RequestContext):
    """What a server handler gets when it asks for one (a parameter annotated ``Context``).

    It reports progress, logs to the client and asks the client for sampling, elicitation and
    roots, all within the request being served. The same handler serves both eras: in the
    handshake era (2024-11-05 ... 2025-11-25) asking sends a request to the client and waits;
    in 2026-07-28 (no server-to-client requests) it answers the handler's request with an
    ``InputRequiredResult`` and the handler runs again, from the start, on the client's retry,
    where the same question gets its answer (docs/adapter.md, "Both eras": the rule a handler
    author must know).

    Attributes:
        request_meta: (2026-07-28) what the request said about itself (version, client
            capabilities, log level); ``None`` in the handshake era.
    """

    request_meta: RequestMeta | None = None
    #: (2026-07-28) the answers this run may use, by key: earlier rounds' and this retry's.
    _answers: dict[str, Any] = attrs.field(factory=dict, init=False)
    #: The answers this run used (what the next round's requestState carries).
    _used: dict[str, Any] = attrs.field(factory=dict, init=False)
    #: Whether the answers came through a requestState: all of them answer what this server
    #: asked, so the next round carries them all (else only the ones used).
    _sealed: bool = attrs.field(default=False, init=False)
    _unnamed: int = attrs.field(default=0, init=False)
    #: (tasks) the task this handler runs as, once it is one.
    _task: TaskRun | None = attrs.field(default=None, init=False)
    #: (tasks, ``defer_task`` tools) makes the call a task: see :meth:`begin_task`.
    _begin: Callable[[], Awaitable[None]] | None = attrs.field(default=None, init=False)

    @property
    def server_session(self) -> ServerSession:
        """The session, typed as a :class:`ServerSession`."""
        assert isinstance(self.session, ServerSession)
        return self.session

    @property
    def principal(self) -> Principal | None:
        """Who the request's verified access token speaks for (``serve_http(auth=...)``:
        subject, client, scopes, claims); ``None`` without authorization."""
        return self.server_session.principal

    @property
    def modern(self) -> bool:
        """Whether this request is a 2026-07-28 (stateless era) one."""
        return self.request_meta is not None

    @property
    def protocol_version(self) -> str | None:
        """The revision this request is served under (the request's own in 2026-07-28)."""
        meta = self.request_meta
        return meta.version if meta is not None else self.session.protocol_version

    @property
    def client_capabilities(self) -> dict[str, Any]:
        """The client capabilities that hold for this request: the ones the request declared
        (2026-07-28), else the session's (from ``initialize``)."""
        meta = self.request_meta
        if meta is not None:
            return meta.client_capabilities
        return self.server_session.client_capabilities

    async def log(self, level: t.LoggingLevel, data: Any, logger: str | None = None) -> None:
        """Send ``notifications/message`` if ``level`` passes the client's threshold.

        In 2026-07-28 the threshold is the request's own ``logLevel``: a request that sent none
        gets no log messages (the call does nothing).

        Raises:
            SessionClosed: the session is closed.
        """
        if self._task is not None and self.request_meta is not None:
            # The tasks extension carries no log messages for a task: dropped.
            await trio.lowlevel.checkpoint()
            return
        if self.request_meta is None:
            await self.server_session.log(level, data, logger)
            return
        if self.request_meta.log_level is None:
            await trio.lowlevel.checkpoint()
            return
        params: dict[str, Any] = {"level": level, "data": data}
        if logger is not None:
            params["logger"] = logger
        await self.server_session._send_for_request("notifications/message", params,
                                                    self.request_id)

    async def sample(self, messages: Sequence[t.SamplingMessage | Mapping[str, Any]],
                     max_tokens: int, *, key: str | None = None,
                     **kwargs: Any) -> t.CreateMessageResult:
        """Ask the client to sample an LLM (see :meth:`ServerSession.create_message`).

        ``key`` names the input request in 2026-07-28 (see :meth:`ask`).

        Raises:
            as :meth:`ask`.
        """
        if self.request_meta is None:
            return await self.server_session.create_message(messages, max_tokens, **kwargs)
        [result] = await self.ask(InputRequest.sampling(messages, max_tokens, key=key,
                                                        **kwargs))
        assert isinstance(result, t.CreateMessageResult)
        return result

    async def elicit(self, message: str, requested_schema: Mapping[str, Any], *,
                     key: str | None = None) -> t.ElicitResult:
        """Ask the user for input through the client (form mode).

        Raises:
            as :meth:`ask`.
        """
        if self.request_meta is None:
            return await self.server_session.elicit(message, requested_schema)
        [result] = await self.ask(InputRequest.elicitation(message, requested_schema, key=key))
        assert isinstance(result, t.ElicitResult)
        return result

    async def list_roots(self, *, key: str | None = None) -> list[t.Root]:
        """Ask the client for its roots.

        Raises:
            as :meth:`ask`.
        """
        if self.request_meta is None:
            return await self.server_session.list_roots()
        [result] = await self.ask(InputRequest.roots(key=key))
        assert isinstance(result, list)
        return result

    async def ask(self, *requests: InputRequest) -> list[Any]:
        """Ask the client for several things at once; return the answers in order
        (``t.ElicitResult``, ``t.CreateMessageResult``, ``list[t.Root]``).

        Handshake era: one request to the client after the other. 2026-07-28: the answers
        the client already gave (this retry's ``inputResponses``, and earlier rounds' carried
        in the sealed ``requestState``) are looked up by key; if any is missing, the handler
        stops here and its request is answered ``input_required`` with every missing request
        of this call. The client retries, and the handler runs again from the start. Only
        ``tools/call``, ``prompts/get`` and ``resources/read`` can be answered that way.

        Raises:
            MCPError: (2026-07-28) an answer is not of the expected type (-32602), or this is
                not one of the three methods (-32600). A request whose client did not declare
                what is asked is answered -32021 (the handler does not see it: read
                :attr:`client_capabilities` first to choose what to ask).
            LocalProtocolError: (handshake era) the client did not advertise the capability.
            MCPError, SessionClosed, RequestTimeout: (handshake era) as for any request.
        """
        if self.request_meta is None:
            session = self.server_session
            answers: list[Any] = []
            for request in requests:
                if request.method == "elicitation/create":  # the session adds the mode
                    answers.append(await session.elicit(request.params["message"],
                                                        request.params["requestedSchema"]))
                    continue
                raw = await session.send_request(request.method, request.params)
                answers.append(_input_answer(request.method, raw, None))
            return answers
        if self._task is not None:
            return await self._task_ask(requests)
        if self.method not in MRTR_METHODS:
            raise errors.MCPError(
                ErrorCode.INVALID_REQUEST,
                f"a {self.method} handler cannot ask the client for input in 2026-07-28 (only "
                "tools/call, prompts/get and resources/read can be answered input_required)")
        await trio.lowlevel.checkpoint()
        found: list[Any] = []
        missing: dict[str, dict[str, Any]] = {}
        for request in requests:
            key = request.key
            if key is None:
                self._unnamed += 1
                key = f"input-{self._unnamed}"
            if key in self._answers:
                raw = self._answers[key]
                found.append(_input_answer(request.method, raw, key))
                self._used[key] = raw
            else:
                missing[key] = {"method": request.method, "params": dict(request.params)}
        if missing:
            raise _InputNeeded(missing)
        return found

    @property
    def lifespan_context(self) -> Any:
        """The value of the server's lifespan (``None`` for a server without one).

        Raises:
            RuntimeError: the server has a lifespan but it is not running (see
                :meth:`Server.running`).
        """
        return self.server_session.server.lifespan_context

    # ------------------------------------------------------------------ tasks

    @property
    def task_id(self) -> str | None:
        """The id of the task this handler runs as (``None``: not a task, or not yet)."""
        return self._task.state.task_id if self._task is not None else None

    async def begin_task(self) -> None:
        """(A tool registered with ``defer_task=True``) make this call a task now: the
        client gets its task handle, and the rest of the handler runs as the task. Input asked
        for before (:meth:`ask`) came by the client's retries (``input_required``); input
        asked for after makes the task ``input_required``. Does nothing when the call cannot
        become a task (the client did not declare tasks: the handler just goes on) or already
        is one.
        """
        begin, self._begin = self._begin, None
        if begin is None:
            await trio.lowlevel.checkpoint()
            return
        await begin()

    async def report_progress(
        self, progress: float, total: float | None = None, message: str | None = None
    ) -> None:
        """As :meth:`RequestContext.report_progress`; in a task the progress becomes the
        task's ``statusMessage`` (what ``tasks/get`` shows) instead.

        Raises:
            SessionClosed: (not a task) the session is closed.
        """
        if self._task is None:
            await super().report_progress(progress, total, message)
            return
        if message is None:
            message = f"{progress:g}/{total:g}" if total is not None else f"{progress:g}"
        await self._task.progress(message)

    async def _task_ask(self, requests: Sequence[InputRequest]) -> list[Any]:
        """:meth:`ask` in a task: the task is ``input_required`` until ``tasks/update``
        brings every answer."""
        assert self._task is not None
        keyed: list[tuple[str, InputRequest]] = []
        for request in requests:
            key = request.key
            if key is None:
                self._unnamed += 1
                key = f"input-{self._unnamed}"
            keyed.append((key, request))
        answers = await self._task.ask(
            {key: {"method": r.method, "params": dict(r.params)} for key, r in keyed})
        return [_input_answer(r.method, answers[key], key) for key, r in keyed]


_ANSWER_TYPES: dict[str, Any] = {"elicitation/create": t.ElicitResult,
                                 "sampling/createMessage": t.CreateMessageResult,
                                 "roots/list": t.ListRootsResult}


def _input_answer(method: str, raw: Any, key: str | None) -> Any:
    """The typed answer to an input request (``key``: a 2026-07-28 inputResponses entry)."""
    cls = _ANSWER_TYPES.get(method)
    if cls is None:
        raise errors.MCPError(ErrorCode.INVALID_PARAMS, f"cannot ask the client for {method}")
    try:
        if not isinstance(raw, Mapping):
            raise TypeError(f"expected an object, got {type(raw).__name__}")
        value = t.structure(dict(raw), cls)
    except Exception as exc:
        if key is None:
            raise
        raise errors.MCPError(ErrorCode.INVALID_PARAMS,
                              f"inputResponses[{key!r}] is not a valid answer to {method}: "
                              f"{' '.join(str(exc).split())[:200]}") from None
    return value.roots if cls is t.ListRootsResult else value


def _sampling_params(
    messages: Sequence[t.SamplingMessage | Mapping[str, Any]],
    max_tokens: int,
    *,
    system_prompt: str | None = None,
    temperature: float | None = None,
    stop_sequences: Sequence[str] | None = None,
    model_preferences: t.ModelPreferences | Mapping[str, Any] | None = None,
    include_context: str | None = None,
    metadata: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The params of ``sampling/createMessage``."""
    params: dict[str, Any] = {
        "messages": [m if isinstance(m, Mapping) else t.unstructure(m) for m in messages],
        "maxTokens": max_tokens,
    }
    for key, value in (("systemPrompt", system_prompt), ("temperature", temperature),
                       ("includeContext", include_context)):
        if value is not None:
            params[key] = value
    if stop_sequences is not None:
        params["stopSequences"] = list(stop_sequences)
    if model_preferences is not None:
        params["modelPreferences"] = (dict(model_preferences)
                                      if isinstance(model_preferences, Mapping)
                                      else t.unstructure(model_preferences))
    if metadata is not None:
        params["metadata"] = dict(metadata)
    return params


def parse_state_keys(text: str) -> list[tuple[str, bytes]]:
    """Parse ``requestState`` keys: entries separated by commas or newlines (``#`` starts a
    comment line), each ``SECRET`` or ``KEY_ID:SECRET``; the secret's UTF-8 bytes are the
    key (at least 32). An entry without an id gets one derived from its secret, so every
    process given the same keys names them alike.

    Raises:
        ValueError: no key, or a secret shorter than 32 bytes.
    """
    keys: list[tuple[str, bytes]] = []
    for line in text.splitlines():
        if line.strip().startswith("#"):
            continue
        for part in line.split(","):
            entry = part.strip()
            if not entry:
                continue
            key_id, sep, secret = entry.partition(":")
            if not sep:
                key_id, secret = "", entry
            raw = secret.encode()
            if len(raw) < 32:
                raise ValueError("a requestState key must be at least 32 bytes long")
            keys.append((key_id or "k" + hashlib.sha256(raw).hexdigest()[:8], raw))
    if not keys:
        raise ValueError("no requestState key given")
    return keys


_PLAIN_OUTPUTS = (str, int, bool)
# The first revision with structuredContent, as the MCP types record it.
_STRUCTURED_SINCE: str = attrs.fields(t.CallToolResult).structured_content.metadata[t.SINCE]


def _principal_key(ctx: Context) -> str | None:
    """The identity a requestState is bound to: the verified principal's (issuer, subject)."""
    principal = ctx.server_session.principal
    return None if principal is None else principal.key


@attrs.define(eq=False)
class _ToolEntry:
    tool: t.Tool
    fn: Callable[..., Any]
    binder: Any
    context_param: str | None
    output_annotation: Any
    #: ``structuredContent`` from a return value (``None``: no output schema).
    output: Callable[[Any], dict[str, Any]] | None = attrs.field(init=False)
    #: The return annotation when it is a plain str/int/bool (the fast path).
    plain_output: type | None = attrs.field(init=False)
    #: Whether ``fn`` is a coroutine function (no awaitable check per call then).
    is_async: bool = attrs.field(init=False)
    #: Whether a primitive return value is wrapped as ``{"result": ...}``.
    wrapped: bool = attrs.field(init=False)
    #: Whether ``fn`` is sync and runs in a worker thread.
    threaded: bool = False
    #: The scopes a call needs (``serve_http(auth=...)``: 403 insufficient_scope without).
    scopes: frozenset[str] = frozenset()
    #: (tasks) whether a call may, must or must not run as a task.
    task_support: TaskSupport = "forbidden"
    #: (tasks) the call becomes a task only when the handler calls ``ctx.begin_task()``.
    defer_task: bool = False

    def __attrs_post_init__(self) -> None:
        ann = self.output_annotation
        self.output = None if ann is None else output_structurer(ann)
        self.plain_output = ann if ann in _PLAIN_OUTPUTS else None
        self.is_async = _is_async(self.fn)
        self.wrapped = ann is not None and output_is_wrapped(ann)


@attrs.define(eq=False)
class _ResourceEntry:
    resource: t.Resource
    fn: Callable[..., Any]
    context_param: str | None
    threaded: bool = False


@attrs.define(eq=False)
class _TemplateEntry:
    template: t.ResourceTemplate
    matcher: UriTemplate
    fn: Callable[..., Any]
    context_param: str | None
    threaded: bool = False


@attrs.define(eq=False)
class _PromptEntry:
    prompt: t.Prompt
    fn: Callable[..., Any]
    context_param: str | None
    params: tuple[str, ...]
    threaded: bool = False


class _RawBinder:
    """Arguments of a tool with an explicit input schema: passed through unchecked."""

    def bind(self, arguments: Mapping[str, Any] | None) -> dict[str, Any]:
        if arguments is not None and not isinstance(arguments, Mapping):
            raise ArgumentError("invalid arguments: $: expected object")
        return dict(arguments or {})


def _context_param(fn: Callable[..., Any]) -> str | None:
    """The name of ``fn``'s parameter annotated with :class:`Context`, if any."""
    try:
        hints = get_type_hints(fn)
    except Exception:
        hints = {}
    for name, hint in hints.items():
        if name != "return" and is_context_annotation(hint, (RequestContext,)):
            return name
    return None


def _is_async(fn: Callable[..., Any]) -> bool:
    """Whether calling ``fn`` gives a coroutine (an ``async def``, or an object whose
    ``__call__`` is one)."""
    call = type(fn).__call__
    return inspect.iscoroutinefunction(fn) or inspect.iscoroutinefunction(call)


def _threaded(fn: Callable[..., Any], blocking: bool) -> bool:
    """Whether ``fn`` runs in a worker thread: a sync function not marked non-blocking."""
    return blocking and not _is_async(fn)


async def _call(fn: Callable[..., Any], kwargs: dict[str, Any]) -> Any:
    result = fn(**kwargs)
    if inspect.isawaitable(result):
        result = await result
    return result


def _content(value: Any) -> list[Any]:
    """Turn a tool's return value into content blocks."""
    if value is None:
        return []
    if isinstance(value, str):
        return [t.TextContent(text=value)]
    if isinstance(value, _CONTENT_TYPES):
        return [value]
    if isinstance(value, (Image, Audio)):
        return [value.to_content()]
    if isinstance(value, (list, tuple)):
        blocks: list[Any] = []
        for item in value:
            blocks.extend(_content(item))
        return blocks
    return [t.TextContent(text=_codec.dumps(unstructure(value)).decode())]


#: ``deliver(kind, payload)``: hands one bus message to this process (see
#: :class:`NotificationBus`).
BusDeliver = Callable[[str, Mapping[str, Any]], None]


class NotificationBus(abc.ABC):
    """Carries a server's notifications (list_changed, resource updates, task status) to
    the sessions that should get them: this process's only (:class:`InMemoryNotificationBus`,
    the default) or every worker's (:class:`~trio_adapter._redis_bus.RedisNotificationBus`).

    A message is a ``kind`` (``"list_changed"``, ``"resource_updated"``, ``"task"``, or a
    kind of another component, e.g. task control) and a JSON-able ``payload``. Every
    subscriber of every process sharing the bus gets every message once, its own included.
    """

    def __init__(self) -> None:
        self._subscribers: list[BusDeliver] = []

    def subscribe(self, deliver: BusDeliver) -> Callable[[], None]:
        """Call ``deliver(kind, payload)`` for every message from now on (in this process);
        returns the function that stops it."""
        self._subscribers.append(deliver)

        def remove() -> None:
            if deliver in self._subscribers:
                self._subscribers.remove(deliver)
        return remove

    def _deliver_locally(self, kind: str, payload: Mapping[str, Any]) -> None:
        for deliver in list(self._subscribers):
            try:
                deliver(kind, payload)
            except Exception:  # one subscriber's bug must not stop the others
                logger.exception("trio-mcp: a bus subscriber failed on a %r message", kind)

    @abc.abstractmethod
    def publish(self, kind: str, payload: Mapping[str, Any]) -> None:
        """Send a message to every subscriber of every process sharing the bus. Never
        blocks (a shared bus queues it, bounded, for its :meth:`run` task to send)."""

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
                  ) -> None:
        """The bus's background work, run while the server runs (:meth:`Server.running`):
        reports ``started`` once ready, returns or runs until cancelled. The default has
        none."""
        task_status.started()
        await trio.lowlevel.checkpoint()


class InMemoryNotificationBus(NotificationBus):
    """The default bus: a publish is delivered at once to this process's subscribers."""

    def publish(self, kind: str, payload: Mapping[str, Any]) -> None:
        """Deliver ``(kind, payload)`` to this process's subscribers, now."""
        self._deliver_locally(kind, payload)


class Server:
    """A logical MCP server: identity, the feature set and its handlers; serves many sessions.

    Register features with the decorators (:meth:`tool`, :meth:`resource`,
    :meth:`resource_template`, :meth:`prompt`, :meth:`completion`) or the ``add_*`` methods.
    Changing the feature set while sessions are connected sends them the matching
    ``notifications/*/list_changed``.

    Capabilities: ``tools``, ``resources`` (with ``subscribe``) and ``prompts`` are advertised
    when something of that kind is registered when a session starts, or always when named in
    ``advertise``; ``logging`` always; ``completions`` when a completion handler is set.

    Args:
        name: ``serverInfo.name``.
        version: ``serverInfo.version``.
        title: ``serverInfo.title`` (2025-06-18).
        instructions: ``instructions`` sent at initialize.
        page_size: page size for the list methods; ``None`` returns everything at once.
        advertise: features to advertise even when empty (``"tools"``, ``"resources"``,
            ``"prompts"``), for servers that register features later.
        supported_versions: the revisions this server accepts.
        validate: check incoming params against the MCP types (-32602 when invalid).
        strict: a tool whose annotations cannot be described as JSON Schema makes
            :meth:`add_tool` raise :class:`~trio_adapter.ToolDefinitionError`; by default
            that tool is left out and a warning is logged (logger ``trio_mcp.server``), so
            the other tools are still served.
        request_timeout, keepalive_interval, handler_grace, close_timeout, trace: as for
            :class:`~trio_adapter.Client`.
        roots_changed_handler: awaited with the session when a client's roots change.
        mask_error_details: when true (the default), the client never sees the text of an
            unexpected exception from a handler (only ``internal error in tool 'x'``); false
            sends ``ExceptionType: text``, for development. Either way it is logged with its
            traceback on the ``trio_mcp.server`` logger. :class:`~trio_adapter.ToolError`
            text always reaches the client.
        max_threads: how many blocking sync handlers run at once (worker threads, per
            server; :attr:`thread_limiter`).
        lifespan: ``lifespan(server)`` gives an async context manager entered once while the
            server serves (see :meth:`running`); its value is
            :attr:`Context.lifespan_context`.
        state_keys: (2026-07-28) the keys that seal and open ``requestState`` (see
            :meth:`use_state_keys`); ``None``: the keys of the ``TRIO_MCP_STATE_KEYS``
            environment variable, else a random key of this process (logged once, on first
            use: several processes, or a restart between two rounds, need a shared key).
        state_ttl: (2026-07-28) seconds a sealed ``requestState`` stays valid.
        max_listen_streams: (2026-07-28) how many ``subscriptions/listen`` streams one
            session holds open at once (one more is refused with -32600).
        max_concurrent_requests: how many of one session's requests are served at once
            (default :data:`DEFAULT_MAX_CONCURRENT_REQUESTS`, 128); one more is answered at
            once, unserved, with JSON-RPC error -32050 (``SERVER_BUSY``) while the session
            goes on reading (so a handler waiting for the client's answer is never stuck
            behind it). ``None``: no cap.
        tasks: the :class:`~trio_adapter.tasks.TaskRunner` (its store, TTL and poll
            interval) of the tools registered with ``task_support``; default: an in-memory
            store, one hour TTL, 0.5 s poll interval.
        cache_ttl_ms, cache_scope: (2026-07-28) the caching hints of ``server/discover`` and
            of the list results (``tools/list``, ``prompts/list``, ``resources/list``,
            ``resources/templates/list``): milliseconds a client may cache them, and
            ``"private"`` or ``"public"``. ``resources/read`` keeps the engine's (0,
            private) unless the reader returns a ``ReadResourceResult`` with its own.
        bus: the :class:`NotificationBus` of list_changed, resource updates and task status
            (see :meth:`use_bus`); default: this process's sessions only.

    The default ``supported_versions`` serve both eras: ``initialize`` starts a handshake-era
    session; a request carrying ``io.modelcontextprotocol/protocolVersion`` 2026-07-28 makes
    the session a stateless-era one (``server/discover``, per-request capabilities and log
    level, ``input_required`` answers, ``subscriptions/listen``). Pass
    ``supported_versions=HANDSHAKE_VERSIONS`` for a handshake-only server.
    """

    def __init__(
        self,
        name: str,
        version: str,
        *,
        title: str | None = None,
        instructions: str | None = None,
        page_size: int | None = None,
        advertise: Iterable[str] = (),
        supported_versions: Iterable[str] = SUPPORTED_VERSIONS,
        validate: bool = True,
        strict: bool = False,
        request_timeout: float | None = None,
        keepalive_interval: float | None = None,
        handler_grace: float = 1.0,
        close_timeout: float = 5.0,
        trace: TraceHook | None = None,
        roots_changed_handler: Callable[[ServerSession], Awaitable[None]] | None = None,
        mask_error_details: bool = True,
        max_threads: int = DEFAULT_MAX_THREADS,
        lifespan: Lifespan | None = None,
        state_keys: Iterable[tuple[str, bytes] | bytes | str] | None = None,
        state_ttl: float = 300.0,
        max_listen_streams: int = 16,
        max_concurrent_requests: int | None = DEFAULT_MAX_CONCURRENT_REQUESTS,
        cache_ttl_ms: int = 0,
        cache_scope: str = "private",
        tasks: TaskRunner | None = None,
        bus: NotificationBus | None = None,
    ) -> None:
        if page_size is not None and page_size < 1:
            raise ValueError("page_size must be at least 1")
        if cache_ttl_ms.__class__ is not int or cache_ttl_ms < 0:
            raise ValueError("cache_ttl_ms must be an integer >= 0")
        if cache_scope not in ("public", "private"):
            raise ValueError("cache_scope must be 'public' or 'private'")
        if not state_ttl > 0:
            raise ValueError("state_ttl must be positive")
        self.state_ttl = float(state_ttl)
        self.max_listen_streams = max_listen_streams
        if max_concurrent_requests is not None and (
                max_concurrent_requests.__class__ is not int or max_concurrent_requests < 1):
            raise ValueError("max_concurrent_requests must be a positive integer (or None)")
        self.max_concurrent_requests = max_concurrent_requests
        self.cache_ttl_ms = cache_ttl_ms
        self.cache_scope = cache_scope
        self._state_codec: HmacRequestStateCodec | None = None
        self._ephemeral_key = False
        if state_keys is not None:
            self.use_state_keys(state_keys)
        else:
            env = os.environ.get(STATE_KEYS_ENV)
            if env:
                try:
                    self.use_state_keys(parse_state_keys(env))
                except ValueError as exc:
                    raise ValueError(f"{STATE_KEYS_ENV}: {exc}") from None
        self.info = t.Implementation(name=name, version=version, title=title)
        self.instructions = instructions
        self.page_size = page_size
        self.advertise = frozenset(advertise)
        unknown = self.advertise - {"tools", "resources", "prompts"}
        if unknown:
            raise ValueError(f"unknown features to advertise: {sorted(unknown)}")
        self.supported_versions = tuple(supported_versions)
        self.validate = validate
        self.strict = strict
        self.request_timeout = request_timeout
        self.keepalive_interval = keepalive_interval
        self.handler_grace = handler_grace
        self.close_timeout = close_timeout
        self.trace = trace
        self.roots_changed_handler = roots_changed_handler
        self.mask_error_details = mask_error_details
        #: Bounds the worker threads of blocking sync handlers (replace it to share one
        #: limiter between servers).
        self.thread_limiter = trio.CapacityLimiter(max_threads)
        self.lifespan = lifespan
        self._lifespan_run: _LifespanRun | None = None
        self._tools: dict[str, _ToolEntry] = {}
        self._scoped_tools: set[str] = set()  # tools with scopes (serve_http(auth=...))
        self._resources: dict[str, _ResourceEntry] = {}
        self._templates: dict[str, _TemplateEntry] = {}
        self._prompts: dict[str, _PromptEntry] = {}
        self._completion: CompletionHandler | None = None
        self._sessions: set[ServerSession] = set()
        #: Runs the tools/call requests that become tasks, and holds their state.
        self.task_runner: TaskRunner = tasks if tasks is not None else TaskRunner()
        self.task_runner.add_listener(self._task_changed)
        #: (2025-11-25) the session each task was created on: its notifications/tasks/status.
        self._task_sessions: dict[str, ServerSession] = {}
        #: Carries list_changed, resource updates and task status to the sessions (of this
        #: process by default; of every worker with a shared bus: :meth:`use_bus`).
        self.bus: NotificationBus = InMemoryNotificationBus()
        self._unsubscribe_bus: Callable[[], None] = self.bus.subscribe(self._deliver)
        self._bus_users = 0
        self._bus_done: trio.Event | None = None
        self._bus_scope: trio.CancelScope | None = None
        if bus is not None:
            self.use_bus(bus)

    # ------------------------------------------------------------------ feature set

    @property
    def tools(self) -> list[t.Tool]:
        """The registered tools, in registration order."""
        return [e.tool for e in self._tools.values()]

    @property
    def resources(self) -> list[t.Resource]:
        """The registered resources."""
        return [e.resource for e in self._resources.values()]

    @property
    def resource_templates(self) -> list[t.ResourceTemplate]:
        """The registered resource templates."""
        return [e.template for e in self._templates.values()]

    @property
    def prompts(self) -> list[t.Prompt]:
        """The registered prompts."""
        return [e.prompt for e in self._prompts.values()]

    @property
    def sessions(self) -> list[ServerSession]:
        """The live sessions (connected and not closed)."""
        return [s for s in self._sessions if not s.closed]

    def capabilities(self) -> dict[str, Any]:
        """The ``capabilities`` object sent to a client at initialize."""
        caps: dict[str, Any] = {"logging": {}}
        if self._tools or "tools" in self.advertise:
            caps["tools"] = {"listChanged": True}
        if self._resources or self._templates or "resources" in self.advertise:
            caps["resources"] = {"subscribe": True, "listChanged": True}
        if self._prompts or "prompts" in self.advertise:
            caps["prompts"] = {"listChanged": True}
        if self._completion is not None:
            caps["completions"] = {}
        if any(entry.task_support != "forbidden" for entry in self._tools.values()):
            # Tasks: the extension (2026-07-28) and the experimental capability (2025-11-25;
            # server/discover leaves it out).
            caps["extensions"] = {TASKS_EXTENSION_ID: {}}
            caps["tasks"] = {"list": {}, "cancel": {}, "requests": {"tools": {"call": {}}}}
        return caps

    def use_bus(self, bus: NotificationBus) -> None:
        """Deliver list_changed, resource updates and task status through ``bus`` from now
        on (the in-memory default delivers to this process's sessions only; a
        :class:`~trio_adapter._redis_bus.RedisNotificationBus` to every worker's). Call it
        before the server runs: the bus's background work runs while :meth:`running` does.

        Raises:
            RuntimeError: the server is running (inside :meth:`running`).
        """
        if self._bus_users:
            raise RuntimeError("use_bus() is for a server that is not running yet")
        self._unsubscribe_bus()
        self.bus = bus
        self._unsubscribe_bus = bus.subscribe(self._deliver)

    def _changed(self, method: str) -> None:
        self.bus.publish("list_changed", {"method": method})

    def _task_changed(self, state: TaskState) -> None:
        self.bus.publish("task", {"taskId": state.task_id, "principal": state.principal,
                                  "terminal": state.terminal, "detailed": state.detailed(),
                                  "legacy": state.legacy_task()})

    def _deliver(self, kind: str, payload: Mapping[str, Any]) -> None:
        """Deliver one bus message to this process's sessions (every worker does it for
        every message, its own included)."""
        if kind == "list_changed":
            method = payload.get("method")
            if isinstance(method, str):
                for session in self.sessions:
                    session._queue_notification(method, None)
        elif kind == "resource_updated":
            uri = payload.get("uri")
            if isinstance(uri, str):
                self._deliver_resource_updated(uri)
        elif kind == "task":
            self._deliver_task(payload)
        else:
            logger.debug("trio-mcp: bus message of unknown kind %r ignored", kind)

    def _deliver_resource_updated(self, uri: str) -> None:
        for session in self.sessions:
            # 2026-07-28: the engine sends it on the listen streams that asked for ``uri``.
            if uri in session.subscriptions or session._engine.era is Era.STATELESS:
                session._queue_notification("notifications/resources/updated", {"uri": uri})

    def _deliver_task(self, payload: Mapping[str, Any]) -> None:
        """A task changed: ``notifications/tasks`` (2026-07-28) to the listen streams that
        asked for it, ``notifications/tasks/status`` (2025-11-25) to the session that created
        it, if still there. A task created by a principal goes only to that principal's
        listens (its result is theirs: the same rule as ``tasks/get``)."""
        owner = payload.get("principal")
        detailed, legacy = payload.get("detailed"), payload.get("legacy")
        task_id = payload.get("taskId")
        if not isinstance(detailed, dict) or not isinstance(legacy, dict) \
                or not isinstance(task_id, str):
            logger.debug("trio-mcp: a malformed task notification was ignored")
            return
        for session in self.sessions:
            if session._engine.era is not Era.STATELESS:
                continue
            if owner is not None and (session.principal is None
                                      or session.principal.key != owner):
                continue
            session._queue_notification("notifications/tasks", detailed)
        creator = self._task_sessions.get(task_id)
        if creator is not None:
            if not creator.closed:
                creator._queue_notification("notifications/tasks/status", legacy)
            if payload.get("terminal"):
                del self._task_sessions[task_id]

    def use_state_keys(self, keys: Iterable[tuple[str, bytes] | bytes | str]) -> None:
        """Seal and open 2026-07-28 ``requestState`` with ``keys`` from now on.

        Each key is ``(key_id, secret)`` or a bare secret (``str`` as UTF-8; its id derived
        from it), at least 32 bytes. The first seals, every one opens: to rotate, put the new
        key first and keep the old one for ``state_ttl`` seconds. Every process serving the
        same clients needs the same keys.

        Raises:
            ValueError: no key, a secret under 32 bytes, or a repeated key id.
        """
        ring: list[tuple[str, bytes]] = []
        for key in keys:
            if isinstance(key, tuple):
                key_id, secret = key
                ring.append((key_id, secret))
            else:
                raw = key.encode() if isinstance(key, str) else bytes(key)
                ring.append(("k" + hashlib.sha256(raw).hexdigest()[:8], raw))
        self._state_codec = HmacRequestStateCodec(ring, default_ttl=self.state_ttl,
                                                  max_size=_STATE_MAX_SIZE)
        self._ephemeral_key = False

    def _state(self) -> HmacRequestStateCodec:
        """The requestState codec (a random key of this process when none was given)."""
        if self._state_codec is None:
            self.use_state_keys([("ephemeral", secrets.token_bytes(32))])
            self._ephemeral_key = True
            logger.warning(
                "trio-mcp: server %r seals requestState with a random key of this process; "
                "serving from several processes (or across a restart) needs a shared key: "
                "Server(state_keys=...), %s or trio-mcp serve --state-key-file",
                self.info.name, STATE_KEYS_ENV)
        assert self._state_codec is not None
        return self._state_codec

    def tool(self, name: str | None = None, **options: Any) -> Callable[[F], F]:
        """Register a tool (decorator); ``options`` are those of :meth:`add_tool`.

        Raises:
            ToolDefinitionError: as :meth:`add_tool`.
            TypeError: an unknown option.
        """
        def decorate(fn: F) -> F:
            self.add_tool(fn, name, **options)
            return fn
        return decorate

    def add_tool(
        self,
        fn: Callable[..., Any],
        name: str | None = None,
        *,
        title: str | None = None,
        description: str | None = None,
        annotations: t.ToolAnnotations | None = None,
        icons: Sequence[t.Icon] | None = None,
        meta: Mapping[str, Any] | None = None,
        structured_output: bool | None = None,
        input_schema: Mapping[str, Any] | None = None,
        blocking: bool = True,
        scopes: Sequence[str] = (),
        task_support: TaskSupport = "forbidden",
        defer_task: bool = False,
    ) -> t.Tool | None:
        """Register ``fn`` (sync or async) as a tool and return its description.

        The input schema comes from ``fn``'s annotated parameters (or a single parameter
        annotated with an attrs class, dataclass, ``TypedDict`` or pydantic model); a
        parameter annotated :class:`Context` receives the request context. Arguments are
        validated and structured before ``fn`` runs; invalid ones end the call with a tool
        execution error (``isError: true``) that says why. With a return annotation of such
        a class, a dict or a plain type, the tool declares an ``outputSchema`` and returns
        ``structuredContent`` (``structured_output=False`` turns that off). Replacing a tool
        of the same name is allowed.

        With an explicit ``input_schema`` (any JSON Schema, sent verbatim), the arguments are
        not checked here: ``fn`` is called with them as keyword arguments.

        A sync ``fn`` runs in a worker thread (``trio.to_thread.run_sync``, bounded by
        :attr:`thread_limiter`) so it cannot block other requests; ``blocking=False`` calls it
        in the event loop instead (for quick functions: no thread hop). A cancelled call
        abandons its thread, which runs to completion in the background.

        ``scopes``: the OAuth scopes a call needs when the server is a protected resource
        (``serve_http(auth=...)``): a ``tools/call`` whose token lacks one is answered 403
        ``insufficient_scope`` naming them; without authorization they are not checked.

        ``task_support`` (``"forbidden"``, ``"optional"``, ``"required"``) says whether a call
        runs as a task (docs/adapter.md, "Tasks"): 2026-07-28, the server makes every call of
        an optional or required tool a task when the request declares the
        ``io.modelcontextprotocol/tasks`` extension (else an optional tool answers at once and
        a required one is refused with -32021); 2025-11-25, when the client asks (the
        ``task`` param). ``defer_task=True``: the call becomes a task only when the handler
        calls :meth:`Context.begin_task` (input it asks for before comes by
        ``input_required`` retries).

        A tool that cannot be described (an annotation with no JSON Schema equivalent, a
        variadic parameter, ``structured_output=True`` without a describable return type) is
        not registered: with ``strict=True`` on the server this raises, otherwise it logs a
        one-line warning on logger ``trio_mcp.server`` and returns ``None`` (a tool of that
        name registered before stays).

        Raises:
            ToolDefinitionError: the tool cannot be described and the server is strict
                (``tool 'x': parameter 'y': cannot describe type Foo as JSON Schema``).
        """
        tool_name = name or fn.__name__
        try:
            if input_schema is not None:
                schema: dict[str, Any] = dict(input_schema)
                binder: Any = _RawBinder()
            else:
                schema, binder = input_schema_for(fn, context_types=(RequestContext,))
            output_annotation: Any = None
            output_schema = None
            if structured_output is not False:
                ret = get_type_hints(fn).get("return")
                if ret is not None:
                    output_schema = output_schema_for(ret, content_types=_CONTENT_ANNOTATIONS)
                    if output_schema is not None:
                        output_annotation = ret
                if structured_output and output_schema is None:
                    raise TypeError("structured_output needs a return annotation with a "
                                    "JSON Schema")
        except (TypeError, NameError) as exc:
            error = ToolDefinitionError(f"tool {tool_name!r}: {exc}")
            if self.strict:
                raise error from None
            logger.warning("%s; the tool is not registered", error)
            return None
        tool = t.Tool(
            name=tool_name, title=title, description=description or _doc(fn),
            input_schema=schema, output_schema=output_schema, annotations=annotations,
            icons=list(icons) if icons is not None else None,
            meta=dict(meta) if meta is not None else None,
            execution=None if task_support == "forbidden" else
            t.ToolExecution(task_support=task_support))
        if task_support not in ("forbidden", "optional", "required"):
            raise ValueError(f"task_support must be 'forbidden', 'optional' or 'required', "
                             f"not {task_support!r}")
        self._tools[tool_name] = _ToolEntry(tool, fn, binder, _context_param(fn),
                                            output_annotation, _threaded(fn, blocking),
                                            frozenset(scopes), task_support, defer_task)
        if scopes:
            self._scoped_tools.add(tool_name)
        else:
            self._scoped_tools.discard(tool_name)
        self._changed("notifications/tools/list_changed")
        return tool

    def remove_tool(self, name: str) -> None:
        """Remove a tool; connected sessions get ``notifications/tools/list_changed``.

        Raises:
            KeyError: no such tool.
        """
        del self._tools[name]
        self._scoped_tools.discard(name)
        self._changed("notifications/tools/list_changed")

    def resource(self, uri: str, **options: Any) -> Callable[[F], F]:
        """Register the reader of resource ``uri`` (decorator); ``options`` are those of
        :meth:`add_resource`."""
        def decorate(fn: F) -> F:
            self.add_resource(fn, uri, **options)
            return fn
        return decorate

    def add_resource(
        self,
        fn: Callable[..., Any],
        uri: str,
        *,
        name: str | None = None,
        title: str | None = None,
        description: str | None = None,
        mime_type: str | None = None,
        size: int | None = None,
        annotations: t.Annotations | None = None,
        blocking: bool = True,
    ) -> t.Resource:
        """Register ``fn`` as the reader of resource ``uri``.

        ``fn`` takes no arguments (or a :class:`Context`) and returns ``str`` (text),
        ``bytes`` (a blob), resource contents, a list of them, or a ``ReadResourceResult``.
        It may raise :class:`~trio_adapter.ResourceNotFound`. A sync ``fn`` runs in a worker
        thread unless ``blocking=False`` (as for :meth:`add_tool`).
        """
        resource = t.Resource(uri=uri, name=name or fn.__name__, title=title,
                              description=description or _doc(fn), mime_type=mime_type,
                              size=size, annotations=annotations)
        self._resources[uri] = _ResourceEntry(resource, fn, _context_param(fn),
                                              _threaded(fn, blocking))
        self._changed("notifications/resources/list_changed")
        return resource

    def remove_resource(self, uri: str) -> None:
        """Remove a resource; sessions get ``notifications/resources/list_changed``.

        Raises:
            KeyError: no such resource.
        """
        del self._resources[uri]
        self._changed("notifications/resources/list_changed")

    def resource_template(self, uri_template: str, **options: Any) -> Callable[[F], F]:
        """Register a resource template (decorator); ``options`` are those of
        :meth:`add_resource_template`."""
        def decorate(fn: F) -> F:
            self.add_resource_template(fn, uri_template, **options)
            return fn
        return decorate

    def add_resource_template(
        self,
        fn: Callable[..., Any],
        uri_template: str,
        *,
        name: str | None = None,
        title: str | None = None,
        description: str | None = None,
        mime_type: str | None = None,
        annotations: t.Annotations | None = None,
        blocking: bool = True,
    ) -> t.ResourceTemplate:
        """Register ``fn`` as the reader of every URI matching ``uri_template``.

        The template is RFC 6570 level 1 (``{name}`` only); ``fn`` gets each variable as a
        keyword argument (decoded ``str``), plus a :class:`Context` if it asks for one.
        Static resources are matched before templates; templates in registration order.
        ``fn`` raises :class:`~trio_adapter.ResourceNotFound` for a URI that matches but names
        nothing. A sync ``fn`` runs in a worker thread unless ``blocking=False`` (as for
        :meth:`add_tool`).

        Raises:
            ValueError: the template is not a valid level-1 template, or ``fn`` does not take
                its variables.
        """
        matcher = UriTemplate(uri_template)
        params = inspect.signature(fn).parameters
        ctx = _context_param(fn)
        missing = [v for v in matcher.variables if v not in params]
        if missing and not any(p.kind is p.VAR_KEYWORD for p in params.values()):
            raise ValueError(f"{fn.__name__} does not take template variables {missing}")
        template = t.ResourceTemplate(uri_template=uri_template, name=name or fn.__name__,
                                      title=title, description=description or _doc(fn),
                                      mime_type=mime_type, annotations=annotations)
        self._templates[uri_template] = _TemplateEntry(template, matcher, fn, ctx,
                                                       _threaded(fn, blocking))
        self._changed("notifications/resources/list_changed")
        return template

    def prompt(self, name: str | None = None, **options: Any) -> Callable[[F], F]:
        """Register a prompt (decorator); ``options`` are those of :meth:`add_prompt`."""
        def decorate(fn: F) -> F:
            self.add_prompt(fn, name, **options)
            return fn
        return decorate

    def add_prompt(
        self,
        fn: Callable[..., Any],
        name: str | None = None,
        *,
        title: str | None = None,
        description: str | None = None,
        arguments: Mapping[str, str] | None = None,
        blocking: bool = True,
    ) -> t.Prompt:
        """Register ``fn`` as a prompt; its parameters are the prompt's (string) arguments.

        Parameters without a default are required. ``arguments`` maps argument names to
        descriptions. ``fn`` returns a ``str`` (one user message), a ``PromptMessage``, a
        content block (:class:`~trio_adapter.Image`, ...), a list of those, or a
        ``GetPromptResult``. A sync ``fn`` runs in a worker thread unless ``blocking=False``
        (as for :meth:`add_tool`).
        """
        ctx = _context_param(fn)
        descriptions = dict(arguments or {})
        args: list[t.PromptArgument] = []
        names: list[str] = []
        for pname, param in inspect.signature(fn).parameters.items():
            if pname == ctx or param.kind in (param.VAR_KEYWORD, param.VAR_POSITIONAL):
                continue
            names.append(pname)
            args.append(t.PromptArgument(name=pname, description=descriptions.get(pname),
                                         required=param.default is inspect.Parameter.empty))
        prompt_name = name or fn.__name__
        prompt = t.Prompt(name=prompt_name, title=title, description=description or _doc(fn),
                          arguments=args or None)
        self._prompts[prompt_name] = _PromptEntry(prompt, fn, ctx, tuple(names),
                                                  _threaded(fn, blocking))
        self._changed("notifications/prompts/list_changed")
        return prompt

    def remove_prompt(self, name: str) -> None:
        """Remove a prompt; sessions get ``notifications/prompts/list_changed``.

        Raises:
            KeyError: no such prompt.
        """
        del self._prompts[name]
        self._changed("notifications/prompts/list_changed")

    def completion(self) -> Callable[[F], F]:
        """Register the completion handler (decorator); advertises ``completions``.

        The handler is called as ``fn(ref, argument, context)`` with a ``PromptReference`` or
        ``ResourceTemplateReference``, a ``CompletionArgument`` and a ``CompletionContext`` (or
        ``None``), and returns a list of strings (at most 100 are sent, with ``hasMore``) or a
        ``Completion``.
        """
        def decorate(fn: F) -> F:
            self._completion = fn
            return fn
        return decorate

    def notify_resource_updated(self, uri: str) -> None:
        """Send ``notifications/resources/updated`` to every session subscribed to ``uri``
        (handshake era) and every 2026-07-28 listen that asked for it, through :attr:`bus`:
        on every worker that shares it. Never blocks; raises nothing."""
        self.bus.publish("resource_updated", {"uri": uri})

    #: The older name of :meth:`notify_resource_updated`.
    resource_updated = notify_resource_updated

    def notify_list_changed(self, kind: str) -> None:
        """Send ``notifications/<kind>/list_changed`` (``kind``: ``"tools"``,
        ``"resources"`` or ``"prompts"``) to every session on every worker sharing
        :attr:`bus`. Adding or removing a feature here already does it; call this when the
        lists changed elsewhere (every worker registering the same new tool, say).

        Raises:
            ValueError: another ``kind``.
        """
        if kind not in ("tools", "resources", "prompts"):
            raise ValueError(f"no list_changed for {kind!r}: tools, resources or prompts")
        self._changed(f"notifications/{kind}/list_changed")

    # ------------------------------------------------------------------ lifespan

    @asynccontextmanager
    async def running(self) -> AsyncIterator[Any]:
        """Run the server's lifespan for the duration of the block; yield its value.

        :meth:`serve`, :meth:`connect`, :func:`~trio_adapter.serve_http` (and so
        ``trio-mcp serve``) and :func:`trio_adapter.testing.connected` enter this themselves;
        use it directly around :meth:`connect_in`, or to share one lifespan between several
        serving calls you start yourself. Nested and concurrent blocks share one lifespan: the
        first to enter enters it (the others wait until it has), the last to leave exits it.
        The lifespan's context manager runs in a task of its own (a trio system task), so it
        may open nurseries and cancel scopes. A server without a lifespan yields ``None``.

        Leaving waits (shielded from cancellation) up to ``close_timeout`` seconds for the
        lifespan to exit, then cancels it.

        Raises:
            LifespanError: the lifespan raised on entering (every block waiting for it gets
                this error) or, in the last block to leave, on exiting.
        """
        async with self._bus_running(), self._lifespan_running() as value:
            yield value

    def _needs_running(self) -> bool:
        """Whether serving must enter :meth:`running` (a lifespan, or a bus with background
        work)."""
        return self.lifespan is not None or type(self.bus).run is not NotificationBus.run

    @asynccontextmanager
    async def _bus_running(self) -> AsyncIterator[None]:
        """Run the bus's background work (a system task) while any :meth:`running` block
        is open: the first block starts it (and waits until it is ready, within the bus's
        own deadline), the last one stops it."""
        if self._bus_users == 0:
            done = self._bus_done
            if done is not None:
                await done.wait()  # the previous run is still stopping
            if self._bus_users == 0:
                bus, ready, finished = self.bus, trio.Event(), trio.Event()
                self._bus_done = finished
                scope = self._bus_scope = trio.CancelScope()

                async def hold() -> None:
                    try:
                        with scope:
                            async with trio.open_nursery() as nursery:
                                await nursery.start(bus.run)
                                ready.set()
                    except Exception:  # a bus's bug must not end the whole trio run
                        if scope.cancel_called:  # its client's teardown, on stopping
                            logger.debug("trio-mcp: the notification bus failed on stopping",
                                         exc_info=True)
                        else:
                            logger.exception("trio-mcp: the notification bus failed")
                    finally:
                        ready.set()
                        finished.set()

                trio.lowlevel.spawn_system_task(hold, name=f"bus of {self.info.name}")
                self._bus_users += 1
                try:
                    await ready.wait()
                except BaseException:
                    self._bus_users -= 1
                    if self._bus_users == 0:
                        scope.cancel()
                    raise
            else:
                self._bus_users += 1
        else:
            self._bus_users += 1
        try:
            yield
        finally:
            self._bus_users -= 1
            if self._bus_users == 0 and self._bus_scope is not None:
                self._bus_scope.cancel()
                done = self._bus_done
                if done is not None:
                    with trio.move_on_after(self.close_timeout) as shielded:
                        shielded.shield = True
                        await done.wait()

    @asynccontextmanager
    async def _lifespan_running(self) -> AsyncIterator[Any]:
        if self.lifespan is None:
            await trio.lowlevel.checkpoint()
            yield None
            return
        run = self._lifespan_run
        while run is not None and run.stopping and not run.exited.is_set():
            await run.exited.wait()  # the previous run is still exiting
            run = self._lifespan_run
        if run is None or run.exited.is_set():
            run = self._lifespan_run = _LifespanRun(self, self.lifespan)
            trio.lowlevel.spawn_system_task(run.run, name=f"lifespan of {self.info.name}")
        run.users += 1
        try:
            await run.entered.wait()
            if run.enter_error is not None:
                raise errors.LifespanError(
                    f"the lifespan of server {self.info.name!r} failed to start: "
                    f"{_describe(run.enter_error)}") from run.enter_error
            yield run.value
        finally:
            run.users -= 1
            if run.users == 0:
                await run.stop(self.close_timeout)
                if self._lifespan_run is run:
                    self._lifespan_run = None
                if run.exit_error is not None:
                    raise errors.LifespanError(
                        f"the lifespan of server {self.info.name!r} failed on exit: "
                        f"{_describe(run.exit_error)}") from run.exit_error

    @property
    def lifespan_context(self) -> Any:
        """The value the running lifespan gave (``None`` for a server without a lifespan).

        Raises:
            RuntimeError: the server has a lifespan but it is not running.
        """
        if self.lifespan is None:
            return None
        run = self._lifespan_run
        if run is None or not run.entered.is_set() or run.enter_error is not None \
                or run.exited.is_set():
            raise RuntimeError(f"the lifespan of server {self.info.name!r} is not running "
                               "(serve the server, or enter server.running())")
        return run.value

    # ------------------------------------------------------------------ sessions

    @asynccontextmanager
    async def connect(self, transport: Transport) -> AsyncIterator[ServerSession]:
        """Serve one session over ``transport`` for the duration of the block.

        The session is yielded as soon as it runs (before the client's handshake; use
        :meth:`ServerSession.wait_initialized`). It is closed when the block exits. The
        server's lifespan runs meanwhile (:meth:`running`).

        Raises:
            LifespanError: the lifespan failed.
        """
        async def open_(nursery: trio.Nursery) -> ServerSession:
            return await self.connect_in(nursery, transport)

        if not self._needs_running():
            async with session_scope(open_, ServerSession.aclose) as session:
                yield session
            return
        async with self.running(), session_scope(open_, ServerSession.aclose) as session:
            yield session

    async def connect_in(self, nursery: trio.Nursery, transport: Transport) -> ServerSession:
        """Low-level :meth:`connect`: the session's tasks run in the caller's ``nursery``.

        The caller must ``await session.aclose()``. This does not enter the server's lifespan:
        wrap the sessions in ``async with server.running():`` when it has one.
        """
        session = self._new_session(transport)
        self._sessions.add(session)
        try:
            await nursery.start(session._run)
        except BaseException:
            self._sessions.discard(session)
            raise
        return session

    def _new_session(self, transport: Transport) -> ServerSession:
        engine = Connection(Role.SERVER, supported_versions=self.supported_versions,
                            validate=self.validate, server_info=t.unstructure(self.info),
                            server_capabilities=self.capabilities(),
                            max_listen_streams=self.max_listen_streams,
                            max_concurrent_requests=self.max_concurrent_requests)
        return ServerSession(
            self, engine, transport, handler_grace=self.handler_grace,
            close_timeout=self.close_timeout, request_timeout=self.request_timeout,
            keepalive_interval=self.keepalive_interval, trace=self.trace)

    async def serve(
        self,
        transport: Transport,
        *,
        task_status: trio.TaskStatus[ServerSession] = trio.TASK_STATUS_IGNORED,
    ) -> None:
        """Serve one session over ``transport`` until the client leaves (or the caller is
        cancelled), then close it.

        The session runs in this task (no nursery or task of its own while idle). With
        ``nursery.start(server.serve, transport)``, the session is reported once it runs. The
        server's lifespan runs meanwhile (:meth:`running`), entered before the session starts.

        Raises:
            LifespanError: the lifespan failed (on entering: before the session starts).
            whatever the transport's ``start()`` raises (a process that cannot start, ...).
        """
        if self._needs_running():
            async with self.running():
                await self._serve(transport, task_status)
        else:
            await self._serve(transport, task_status)

    async def _serve(self, transport: Transport, task_status: trio.TaskStatus[ServerSession]
                     ) -> None:
        session = self._new_session(transport)
        self._sessions.add(session)
        try:
            await session._run(task_status=task_status)
        finally:
            self._sessions.discard(session)

    # ------------------------------------------------------------------ handler machinery

    async def _run_handler(self, fn: Callable[..., Any], kwargs: dict[str, Any],
                           threaded: bool) -> Any:
        """Call a handler: in a worker thread when ``threaded``, else here; await what it
        returns when that is awaitable."""
        if not threaded:
            return await _call(fn, kwargs)
        result = await trio.to_thread.run_sync(
            functools.partial(fn, **kwargs), abandon_on_cancel=True,
            limiter=self.thread_limiter)
        if inspect.isawaitable(result):
            result = await result
        return result

    def _unexpected(self, ctx: Context, subject: str, exc: BaseException) -> str:
        """Log an unexpected handler exception (with its traceback); return what the client
        may see of it."""
        logger.error("%s failed (request %r, %s)", subject, ctx.request_id, ctx.method,
                     exc_info=exc)
        if self.mask_error_details and not isinstance(exc, _LIBRARY_ERRORS):
            return f"internal error in {subject}"
        return f"internal error in {subject}: {_describe(exc)}"


class ServerSession(BaseSession):
    """One client connected to a :class:`Server`. Made by :meth:`Server.connect`."""

    _role_name = "server"

    def __init__(self, server: Server, engine: Connection, transport: Transport,
                 **kwargs: Any) -> None:
        super().__init__(engine, transport, **kwargs)
        self.server = server
        self.subscriptions: set[str] = set()
        self.log_level: str | None = None
        # list_changed / updated notifications waiting to go out, and whether a task is
        # sending them (one is started on demand: an idle session runs no task for this).
        self._notes: list[tuple[str, dict[str, Any] | None]] = []
        self._notifying = False
        # 2026-07-28: the open subscriptions/listen requests (their handlers wait), and
        # whether a task is writing what the engine queued for them.
        self._listens: set[RequestId] = set()
        self._flushing = False
        #: Whose verified token opened this session (``serve_http(auth=...)``; each request
        #: of the same principal refreshes it), ``None`` without authorization.
        self.principal: Principal | None = None

    # ------------------------------------------------------------------ facts

    @property
    def client_info(self) -> t.Implementation | None:
        """The client's ``clientInfo`` (``None`` before initialize)."""
        info = self._engine.peer_info
        return None if info is None else t.structure(info, t.Implementation)

    @property
    def client_capabilities(self) -> dict[str, Any]:
        """The client's capabilities, as received (empty before initialize)."""
        return self._engine.peer_capabilities or {}

    # ------------------------------------------------------------------ to the client

    async def log(self, level: t.LoggingLevel, data: Any, logger: str | None = None) -> None:
        """Send ``notifications/message`` when ``level`` is at or above the client's level.

        2026-07-28: for the request the calling task serves, at or above that request's
        ``logLevel``; nothing for a request without one, or outside a request.

        Raises:
            SessionClosed: the session is closed.
        """
        threshold = self.log_level
        if threshold is not None and _LEVEL_RANK[level] < _LEVEL_RANK[threshold]:
            await trio.lowlevel.checkpoint()
            return
        params: dict[str, Any] = {"level": level, "data": data}
        if logger is not None:
            params["logger"] = logger
        if self._engine.era is Era.STATELESS:
            # 2026-07-28: log messages belong to a request (the one this task serves) and
            # follow its logLevel; outside a request, or for one without, nothing is sent.
            rid = current_request.get()
            if rid is None:
                await trio.lowlevel.checkpoint()
                return
            await self._send_for_request("notifications/message", params, rid)
            return
        await self.send_notification("notifications/message", params)

    async def create_message(
        self,
        messages: Sequence[t.SamplingMessage | Mapping[str, Any]],
        max_tokens: int,
        *,
        system_prompt: str | None = None,
        temperature: float | None = None,
        stop_sequences: Sequence[str] | None = None,
        model_preferences: t.ModelPreferences | Mapping[str, Any] | None = None,
        include_context: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        on_progress: ProgressCallback | None = None,
    ) -> t.CreateMessageResult:
        """Ask the client to sample an LLM (``sampling/createMessage``).

        Raises:
            LocalProtocolError: the client did not advertise ``sampling``.
            MCPError, SessionClosed: as for any request.
        """
        params = _sampling_params(
            messages, max_tokens, system_prompt=system_prompt, temperature=temperature,
            stop_sequences=stop_sequences, model_preferences=model_preferences,
            include_context=include_context, metadata=metadata)
        result = await self.send_request("sampling/createMessage", params,
                                         on_progress=on_progress)
        return t.structure(result, t.CreateMessageResult)

    async def elicit(self, message: str, requested_schema: Mapping[str, Any]) -> t.ElicitResult:
        """Ask the user for structured input through the client (form mode).

        Raises:
            LocalProtocolError: the client did not advertise ``elicitation``.
        """
        params: dict[str, Any] = {"message": message,
                                  "requestedSchema": dict(requested_schema)}
        if (self.protocol_version or "") >= "2025-11-25":
            params["mode"] = "form"
        result = await self.send_request("elicitation/create", params)
        return t.structure(result, t.ElicitResult)

    async def elicit_url(self, message: str, url: str, elicitation_id: str) -> t.ElicitResult:
        """Ask the user to visit ``url`` (URL-mode elicitation, 2025-11-25).

        Raises:
            LocalProtocolError: the client did not advertise URL elicitation.
        """
        params = {"mode": "url", "message": message, "url": url,
                  "elicitationId": elicitation_id}
        result = await self.send_request("elicitation/create", params)
        return t.structure(result, t.ElicitResult)

    async def list_roots(self) -> list[t.Root]:
        """Ask the client for its roots (``roots/list``).

        Raises:
            LocalProtocolError: the client did not advertise ``roots``.
        """
        result = await self.send_request("roots/list")
        return t.structure(result, t.ListRootsResult).roots

    async def send_resource_updated(self, uri: str) -> None:
        """Send ``notifications/resources/updated`` for ``uri`` to this client."""
        await self.send_notification("notifications/resources/updated", {"uri": uri})

    # ------------------------------------------------------------------ machinery

    def _queue_notification(self, method: str, params: dict[str, Any] | None) -> None:
        if self._closing:
            return
        if self._engine.era is Era.STATELESS:
            # 2026-07-28: only listen streams carry these; the engine copies the notification
            # to each stream that asked for it (and filters by URI for resource updates).
            if not self._listens:
                return
            try:
                self._engine.send_notification(method, params)
            except LocalProtocolError:
                return
            self._flush_soon()
            return
        self._notes.append((method, params))
        if not self._notifying and self._nursery is not None:
            self._notifying = True
            self._nursery.start_soon(self._notifier)

    def _background_tasks(self) -> list[Callable[[], Awaitable[None]]]:
        if self._notes and not self._notifying:  # queued before the session ran
            self._notifying = True
            return [self._notifier]
        return []

    async def _notifier(self) -> None:
        """Send the queued notifications, in order, once the session is initialized; ends
        when the queue is empty (the next queued one starts it again)."""
        try:
            await self._ready.wait()
            notes = self._notes
            while notes and not self._closing:
                method, params = notes.pop(0)
                try:
                    await self.send_notification(method, params)
                except errors.SessionClosed:
                    return
                except Exception:
                    continue
        finally:
            self._notifying = False

    def _flush_soon(self) -> None:
        """Write what the engine queued outside any task (listen notifications), in a task
        started on demand."""
        if not self._flushing and self._nursery is not None:
            self._flushing = True
            self._nursery.start_soon(self._flush_task)

    async def _flush_task(self) -> None:
        try:
            async with self._send_lock:
                self._flushing = False
                if not self._engine_closed():
                    with suppress(errors.SessionClosed):
                        await self._flush()
        finally:
            self._flushing = False

    async def _send_for_request(self, method: str, params: dict[str, Any],
                                rid: RequestId) -> None:
        """Send a notification that belongs to request ``rid`` (2026-07-28 log messages);
        dropped when the request has ended or the engine refuses it (a request that asked
        for no log messages).

        Raises:
            SessionClosed: the session is closed.
        """
        await trio.lowlevel.checkpoint_if_cancelled()
        async with self._send_lock:
            if self._engine_closed():
                self._check_open()
                raise errors.SessionClosed("session closed")
            try:
                self._engine.send_notification(method, params, related_request_id=rid)
            except LocalProtocolError:
                # The request ended meanwhile, or (a log message) asked for no logs.
                return
            await self._flush()
        await trio.lowlevel.cancel_shielded_checkpoint()

    def _make_context(self, event: RequestReceived) -> Context:
        return Context(self, event.request_id, event.method, event.params,
                       event.progress_token, event.request_meta)

    # ------------------------------------------------------------------ 2026-07-28

    async def send_request(self, method: str, params: Mapping[str, Any] | Any = None, *,
                           on_progress: ProgressCallback | None = None) -> dict[str, Any]:
        """As :meth:`BaseSession.send_request`; in a 2026-07-28 session (which has no
        server-to-client requests) it raises at once instead of waiting for a handshake.

        Raises:
            LocalProtocolError: (2026-07-28) always, -32601: ask through the handler's
                :class:`Context` (``ctx.elicit``, ``ctx.sample``, ``ctx.list_roots``).
            as :meth:`BaseSession.send_request` otherwise.
        """
        if self._engine.era is Era.STATELESS:
            await trio.lowlevel.checkpoint()
            raise LocalProtocolError(
                f"{method}: a 2026-07-28 server sends no requests to the client; ask through "
                "the handler's Context (ctx.elicit, ctx.sample, ctx.list_roots), which answers "
                "the request input_required", ErrorCode.METHOD_NOT_FOUND)
        return await super().send_request(method, params, on_progress=on_progress)

    async def send_notification(self, method: str, params: Mapping[str, Any] | Any = None
                                ) -> None:
        """As :meth:`BaseSession.send_notification`; in a 2026-07-28 session a list-changed
        or resource-updated notification goes at once to the listen streams that asked for
        it (none: nothing is sent), with no handshake to wait for.

        Raises:
            SessionClosed: the session is closed.
            LocalProtocolError: the protocol forbids this notification (a log message
                outside a request: use :meth:`Context.log`).
        """
        if self._engine.era is not Era.STATELESS or method in _REQUEST_NOTES:
            await super().send_notification(method, params)
            return
        await trio.lowlevel.checkpoint_if_cancelled()
        async with self._send_lock:
            self._check_open()
            self._engine.send_notification(method, params)
            await self._flush()
        await trio.lowlevel.cancel_shielded_checkpoint()

    async def _respond(self, rid: RequestId, result: Any) -> None:
        if result.__class__ is not _EngineAnswer:
            await super()._respond(rid, result)
            return
        async with self._send_lock:
            if self._engine_closed():
                return
            try:
                result.send(self._engine, rid)
            except LocalProtocolError as exc:
                # -32021: the input requests need what the request did not declare.
                if rid not in self._engine.serving_requests:
                    raise
                self._engine.send_error(rid, int(exc.code), exc.message, exc.data)
            with suppress(errors.SessionClosed):
                await self._flush()

    def _open_state(self, ctx: Context) -> None:
        """Fill ``ctx``'s answers from a retry's ``requestState`` and ``inputResponses``.

        Raises:
            MCPError: -32602, the state is not ours, tampered with, expired or for another
                request (the reason is logged, never sent).
        """
        params = ctx.params or {}
        responses = params.get("inputResponses")
        responses = responses if isinstance(responses, dict) else {}
        token = params.get("requestState")
        if token is None:
            ctx._answers = dict(responses)  # a client answering without a round: take them
            return
        try:
            payload = self.server._state().open(token, method=ctx.method, params=params,
                                                principal=_principal_key(ctx), now=time.time())
            if not isinstance(payload, dict) or not isinstance(payload.get("a"), dict) \
                    or not isinstance(payload.get("k"), list):
                raise RequestStateError(RejectReason.MALFORMED, "unexpected payload")
        except RequestStateError as exc:
            logger.info("refused the requestState of request %r (%s): %s", ctx.request_id,
                        ctx.method, exc)
            error = exc.error_object()
            raise errors.MCPError(error.code, error.message) from None
        answers = dict(payload["a"])
        for key in payload["k"]:
            if isinstance(key, str) and key in responses:
                answers[key] = responses[key]
        ctx._answers = answers
        ctx._sealed = True

    def _input_required(self, ctx: Context, need: _InputNeeded) -> _EngineAnswer:
        """The ``input_required`` answer for what ``ctx``'s handler asked and lacks."""
        # Answers only accumulate from round to round (so a handler whose tasks race to ask
        # still converges); a retry without requestState carries only what was used.
        payload = {"a": ctx._answers if ctx._sealed else ctx._used, "k": sorted(need.requests)}
        try:
            token = self.server._state().seal(
                payload, method=ctx.method, params=ctx.params, principal=_principal_key(ctx),
                now=time.time(), random=secrets.token_bytes)
        except ValueError as exc:
            raise errors.MCPError(ErrorCode.INTERNAL_ERROR,
                                  f"cannot carry the answers so far in requestState: {exc}"
                                  ) from None
        requests = need.requests

        def send(engine: Connection, rid: RequestId) -> None:
            engine.send_input_required(rid, requests, token)
        return _EngineAnswer(send)

    def _discover(self) -> _EngineAnswer:
        server = self.server

        def send(engine: Connection, rid: RequestId) -> None:
            engine.send_discover_result(rid, instructions=server.instructions,
                                        ttl_ms=server.cache_ttl_ms,
                                        cache_scope=server.cache_scope)
        return _EngineAnswer(send)

    async def _listen(self, ctx: Context) -> Any:
        """Serve ``subscriptions/listen``: open the stream (its acknowledgement goes first),
        then wait; the client's cancel or the session's close ends it."""
        rid = ctx.request_id
        async with self._send_lock:
            if self._engine_closed() or self._closing:
                raise errors.SessionClosed("session closed")
            try:
                stream = self._engine.accept_listen(rid, ctx.params)
            except ListenRefused as exc:
                raise errors.MCPError(exc.code, str(exc), exc.data) from None
            if stream is None:  # the client cancelled it already: nothing to answer
                return _EngineAnswer(_answered)
            self._listens.add(rid)
            try:
                await self._flush()
            except BaseException:
                self._listens.discard(rid)
                raise
        try:
            await trio.sleep_forever()
        finally:
            self._listens.discard(rid)

    async def _end_listens(self, reason: str) -> None:
        """End every open listen stream: its result (and on stdio ``notifications/cancelled``)
        goes out, then its handler is cancelled. Bounded by ``close_timeout``."""
        routes = type(self._transport).send_frames is not Transport.send_frames
        with trio.CancelScope(shield=True), trio.move_on_after(self._close_timeout):
            async with self._send_lock:
                if not self._engine_closed():
                    for rid in list(self._listens):
                        if rid in self._engine.listen_streams:
                            with suppress(LocalProtocolError):
                                self._engine.end_listen(rid, reason,
                                                        notify_cancelled=not routes)
                    with suppress(errors.SessionClosed):
                        await self._flush()
        self._cancel_listens()

    def _cancel_listens(self) -> None:
        for rid in list(self._listens):
            scope = self._handlers.get(rid)
            if scope is not None:
                scope.cancel()

    def _close(self, error: errors.SessionClosed, *, grace: bool = True) -> None:
        # Every close route comes here: a close never waits for a listen, whose handler
        # only ends by being cancelled.
        super()._close(error, grace=grace)
        self._cancel_listens()

    def _start_handler(self, event: RequestReceived) -> None:
        if not self._ready.is_set() and self._engine.era is Era.STATELESS:
            # 2026-07-28 has no handshake: the first request settles the era, and from then
            # on the session counts as initialized (wait_initialized returns).
            self._ready.set()
        super()._start_handler(event)

    async def _on_initialize_requested(self, event: InitializeRequested) -> None:
        server = self.server
        async with self._send_lock:
            if self._closing:
                return
            self._engine.send_initialize_result(
                event.request_id, server.info, server.capabilities(),
                instructions=server.instructions)
            with suppress(errors.SessionClosed):
                await self._flush()

    async def _on_notification(self, event: NotificationReceived) -> None:
        if event.method == "notifications/roots/list_changed":
            handler = self.server.roots_changed_handler
            if handler is not None:
                await handler(self)
        else:
            await trio.lowlevel.checkpoint()

    async def aclose(self) -> None:
        """Close the session (see :meth:`BaseSession.aclose`).

        2026-07-28: open ``subscriptions/listen`` streams are ended first (their result goes
        out; the close does not wait for them).
        """
        try:
            if self._listens and not self._closing:
                await self._end_listens("the server is closing the session")
            await super().aclose()
        finally:
            self.server._sessions.discard(self)

    async def _handle_request(self, ctx: RequestContext) -> Any:
        assert isinstance(ctx, Context)
        method = ctx.method
        if ctx.request_meta is not None:
            if method == "server/discover":
                await trio.lowlevel.checkpoint()
                return self._discover()
            if method == "subscriptions/listen":
                return await self._listen(ctx)
            if method in MRTR_METHODS:
                self._open_state(ctx)
        handler = _HANDLERS.get(method)
        if handler is None:
            raise errors.MCPError(ErrorCode.METHOD_NOT_FOUND, f"method not found: {ctx.method}")
        params = ctx.params or {}
        try:
            result = await handler(self, ctx, params)
            if ctx.request_meta is not None and method in _CACHED_LISTS:
                result = self._cache_hints(result)
            return result
        except _InputNeeded as need:
            return self._input_required(ctx, need)
        except BaseExceptionGroup as group:  # asked from tasks of the handler's own nursery
            merged = _merged_needs(group)
            if merged is None:
                raise
            return self._input_required(ctx, merged)
        except (errors.MCPError, errors.SessionClosed):
            raise
        except errors.ToolError as exc:  # the handler chose this text for the client
            raise errors.MCPError(ErrorCode.INTERNAL_ERROR,
                                  str(exc) or f"{_subject(ctx.method, params)} failed") from None
        except errors.ResourceNotFound as exc:
            raise self._not_found(params.get("uri") or exc.uri, ctx.protocol_version) from None
        except Exception as exc:
            message = self.server._unexpected(ctx, _subject(ctx.method, params), exc)
            raise errors.MCPError(ErrorCode.INTERNAL_ERROR, message) from None

    def _cache_hints(self, result: Any) -> Any:
        """A list result with the server's caching hints (2026-07-28)."""
        server = self.server
        if server.cache_ttl_ms == 0 and server.cache_scope == "private":
            return result  # the engine's defaults
        payload = dict(result) if isinstance(result, Mapping) else t.unstructure(result)
        payload.setdefault("ttlMs", server.cache_ttl_ms)
        payload.setdefault("cacheScope", server.cache_scope)
        return payload

    def _not_found(self, uri: Any, version: str | None = None) -> errors.MCPError:
        """The resource-not-found error of the negotiated revision, for ``uri``."""
        code = resource_not_found_code(version or self.protocol_version)
        if not isinstance(uri, str):  # raised outside resources/read, naming no URI
            return errors.MCPError(code, "resource not found")
        return errors.MCPError(code, f"resource not found: {uri}", {"uri": uri})

    # ------------------------------------------------------------------ method handlers

    def _page(self, items: Sequence[Any], params: Mapping[str, Any], key: str
              ) -> tuple[list[Any], str | None]:
        cursor = params.get("cursor")
        if self.server.page_size is None:
            if cursor is not None:
                raise errors.MCPError(ErrorCode.INVALID_PARAMS, f"invalid cursor {cursor!r}")
            return list(items), None
        try:
            return paginate(items, cursor, self.server.page_size, key)
        except ValueError:
            raise errors.MCPError(ErrorCode.INVALID_PARAMS,
                                  f"invalid cursor {cursor!r}") from None

    async def _tools_list(self, ctx: Context, params: Mapping[str, Any]) -> Any:
        page, cursor = self._page(self.server.tools, params, "tools/list")
        return t.ListToolsResult(tools=page, next_cursor=cursor)

    async def _tools_call(self, ctx: Context, params: Mapping[str, Any]) -> Any:
        name = params.get("name")
        entry = self.server._tools.get(name) if isinstance(name, str) else None
        if entry is None:
            raise errors.MCPError(ErrorCode.INVALID_PARAMS, f"unknown tool: {name}")
        dispatch = Dispatch.SYNC
        if entry.task_support != "forbidden":
            try:
                dispatch = decide_tool_call(entry.task_support, version=ctx.protocol_version,
                                            client_capabilities=ctx.client_capabilities,
                                            params=params)
            except LocalProtocolError as exc:
                raise errors.MCPError(exc.code, exc.message, exc.data) from None
        try:
            kwargs = entry.binder.bind(params.get("arguments"))
        except ArgumentError as exc:
            return _tool_error(str(exc))
        if entry.context_param is not None:
            kwargs[entry.context_param] = ctx
        if dispatch is Dispatch.TASK:
            return await self._tool_task(ctx, entry, kwargs, name)
        return await self._invoke_tool(ctx, entry, kwargs, name)

    async def _invoke_tool(self, ctx: Context, entry: _ToolEntry, kwargs: dict[str, Any],
                           name: Any) -> Any:
        """Run a tool's handler; its result (or tool execution error)."""
        try:
            if entry.is_async:
                value = await entry.fn(**kwargs)
            elif entry.threaded:
                value = await self.server._run_handler(entry.fn, kwargs, True)
            else:
                value = await _call(entry.fn, kwargs)
        except (errors.MCPError, errors.SessionClosed):
            raise
        except (errors.ToolError, errors.ResourceNotFound) as exc:
            return _tool_error(str(exc) or f"tool {name!r} failed")
        except Exception as exc:
            return _tool_error(self.server._unexpected(ctx, f"tool {name!r}", exc))
        cls = value.__class__
        if cls is str and entry.output is None:  # the common cases, written directly
            return {"content": [{"type": "text", "text": value}]}
        if cls is entry.plain_output:
            result: dict[str, Any] = {"content": [{"type": "text", "text": value if cls is str
                                                   else _codec.dumps(value).decode()}]}
            version = ctx.protocol_version
            if version is not None and version >= _STRUCTURED_SINCE:
                result["structuredContent"] = {"result": value}
            return result
        if isinstance(value, t.CallToolResult):
            return value
        value = _media_blocks(value)
        if entry.output is not None:
            try:
                structured = entry.output(value)
            except (TypeError, ValueError) as exc:
                return _tool_error(f"{name} returned a value that does not match its output "
                                   f"schema: {exc}")
            wrapped = entry.wrapped and list(structured) == ["result"] and \
                not isinstance(value, Mapping) and not attrs.has(type(value))
            # The text content is for clients that ignore structuredContent: a wrapped
            # primitive reads as itself, an object as its JSON.
            content = _content(value) if wrapped else \
                [t.TextContent(text=_codec.dumps(structured).decode())]
            return t.CallToolResult(content=content, structured_content=structured)
        return t.CallToolResult(content=_content(value))

    # ------------------------------------------------------------------ tasks

    async def _tool_task(self, ctx: Context, entry: _ToolEntry, kwargs: dict[str, Any],
                         name: Any) -> Any:
        """Serve a tools/call as a task: its handle now (once the task is stored), the
        tool's result later in ``tasks/get``. A ``defer_task`` tool runs here until it calls
        ``ctx.begin_task()``; if it ends (or asks for input) first, that is the answer."""
        runner = self.server.task_runner
        principal = _principal_of(ctx)
        modern = ctx.request_meta is not None

        def handle(state: TaskState) -> dict[str, Any]:
            return state.create_result() if modern else state.legacy_create_result()

        if not entry.defer_task:
            async def body(run: TaskRun) -> Mapping[str, Any]:
                ctx._task = run
                return _payload(await self._invoke_tool(ctx, entry, kwargs, name))

            state = runner.new_state("tools/call", principal)
            if not modern:
                self.server._task_sessions[state.task_id] = self
            await runner.start(state, body)
            return handle(state)

        async def deferred(publish: Callable[[TaskState], Awaitable[TaskRun]]) -> Any:
            async def begin() -> None:
                ctx._task = await publish(runner.new_state("tools/call", principal))

            ctx._begin = begin
            value = await self._invoke_tool(ctx, entry, kwargs, name)
            return _payload(value) if ctx._task is not None else value

        kind, value = await runner.begin(deferred)
        if kind == "task":
            return handle(value)
        if kind == "done":
            return value
        raise value

    async def _task_of(self, ctx: Context, params: Mapping[str, Any]) -> TaskState:
        """The task a ``tasks/*`` request names, as its principal may see it.

        Raises:
            MCPError: -32601 (no such method in this revision), -32021 (2026-07-28, the
                request did not declare the extension), -32602 (unknown task id).
        """
        try:
            check_task_request(ctx.method, ctx.protocol_version, ctx.client_capabilities)
        except LocalProtocolError as exc:
            raise errors.MCPError(exc.code, exc.message, exc.data) from None
        runner = self.server.task_runner
        task_id = params.get("taskId")
        state = await runner.get(task_id, _principal_of(ctx))
        if state is None:
            raise errors.MCPError(ErrorCode.INVALID_PARAMS, f"unknown task: {task_id!r}")
        run = runner.running(state.task_id)
        return run.state if run is not None else state

    async def _tasks_get(self, ctx: Context, params: Mapping[str, Any]) -> Any:
        state = await self._task_of(ctx, params)
        return state.get_result() if ctx.request_meta is not None else state.legacy_task()

    async def _tasks_update(self, ctx: Context, params: Mapping[str, Any]) -> Any:
        state = await self._task_of(ctx, params)
        responses = params.get("inputResponses")
        if not isinstance(responses, Mapping):
            raise errors.MCPError(ErrorCode.INVALID_PARAMS,
                                  "tasks/update needs inputResponses, an object")
        await self.server.task_runner.update(state, responses)
        return {"resultType": "complete"}

    async def _tasks_cancel(self, ctx: Context, params: Mapping[str, Any]) -> Any:
        state = await self._task_of(ctx, params)
        await self.server.task_runner.cancel(state)
        if ctx.request_meta is not None:
            return {"resultType": "complete"}
        return state.legacy_task()

    async def _tasks_result(self, ctx: Context, params: Mapping[str, Any]) -> Any:
        """(2025-11-25) Wait for the task to end; its result (or its error)."""
        state = await self._task_of(ctx, params)
        runner = self.server.task_runner
        run = runner.running(state.task_id)
        if run is not None:
            await run.ended.wait()
            state = run.state
        while not state.terminal:
            # Another worker runs it (a shared store): poll the store until it ends (or
            # expires: then it is unknown; the client's request deadline bounds the rest).
            await trio.sleep(state.poll_interval or runner.poll_interval)
            fresh = await runner.get(state.task_id, _principal_of(ctx))
            if fresh is None:
                raise errors.MCPError(ErrorCode.INVALID_PARAMS,
                                      f"unknown task: {state.task_id!r}")
            state = fresh
        try:
            return state.legacy_payload()
        except LocalProtocolError as exc:
            raise errors.MCPError(exc.code, exc.message, exc.data) from None

    async def _tasks_list(self, ctx: Context, params: Mapping[str, Any]) -> Any:
        """(2025-11-25) The tasks the caller may see."""
        try:
            check_task_request(ctx.method, ctx.protocol_version, ctx.client_capabilities)
        except LocalProtocolError as exc:
            raise errors.MCPError(exc.code, exc.message, exc.data) from None
        states = await self.server.task_runner.store.list(
            principal=_principal_of(ctx), now=self.server.task_runner.clock())
        return {"tasks": [s.legacy_task() for s in states]}

    async def _resources_list(self, ctx: Context, params: Mapping[str, Any]) -> Any:
        page, cursor = self._page(self.server.resources, params, "resources/list")
        return t.ListResourcesResult(resources=page, next_cursor=cursor)

    async def _templates_list(self, ctx: Context, params: Mapping[str, Any]) -> Any:
        page, cursor = self._page(self.server.resource_templates, params,
                                  "resources/templates/list")
        return t.ListResourceTemplatesResult(resource_templates=page, next_cursor=cursor)

    async def _resources_read(self, ctx: Context, params: Mapping[str, Any]) -> Any:
        uri = params.get("uri")
        assert isinstance(uri, str)
        server = self.server
        entry = server._resources.get(uri)
        if entry is not None:
            kwargs: dict[str, Any] = {}
            if entry.context_param is not None:
                kwargs[entry.context_param] = ctx
            value = await server._run_handler(entry.fn, kwargs, entry.threaded)
            return _read_result(uri, value, entry.resource.mime_type)
        for tentry in server._templates.values():
            values = tentry.matcher.match(uri)
            if values is None:
                continue
            kwargs = dict(values)
            if tentry.context_param is not None:
                kwargs[tentry.context_param] = ctx
            value = await server._run_handler(tentry.fn, kwargs, tentry.threaded)
            return _read_result(uri, value, tentry.template.mime_type)
        raise self._not_found(uri, ctx.protocol_version)

    async def _subscribe(self, ctx: Context, params: Mapping[str, Any]) -> Any:
        uri = params.get("uri")
        assert isinstance(uri, str)
        self.subscriptions.add(uri)
        return {}

    async def _unsubscribe(self, ctx: Context, params: Mapping[str, Any]) -> Any:
        uri = params.get("uri")
        assert isinstance(uri, str)
        self.subscriptions.discard(uri)
        return {}

    async def _prompts_list(self, ctx: Context, params: Mapping[str, Any]) -> Any:
        page, cursor = self._page(self.server.prompts, params, "prompts/list")
        return t.ListPromptsResult(prompts=page, next_cursor=cursor)

    async def _prompts_get(self, ctx: Context, params: Mapping[str, Any]) -> Any:
        name = params.get("name")
        entry = self.server._prompts.get(name) if isinstance(name, str) else None
        if entry is None:
            raise errors.MCPError(ErrorCode.INVALID_PARAMS, f"unknown prompt: {name}")
        arguments = params.get("arguments") or {}
        missing = [a.name for a in entry.prompt.arguments or () if a.required
                   and a.name not in arguments]
        if missing:
            raise errors.MCPError(ErrorCode.INVALID_PARAMS,
                                  f"prompt {name!r}: missing required arguments: "
                                  f"{', '.join(missing)}")
        unknown = sorted(set(arguments) - set(entry.params))
        if unknown:
            raise errors.MCPError(ErrorCode.INVALID_PARAMS,
                                  f"prompt {name!r}: unknown arguments: {', '.join(unknown)}")
        kwargs = dict(arguments)
        if entry.context_param is not None:
            kwargs[entry.context_param] = ctx
        value = await self.server._run_handler(entry.fn, kwargs, entry.threaded)
        if isinstance(value, t.GetPromptResult):
            return value
        return t.GetPromptResult(messages=_prompt_messages(value),
                                 description=entry.prompt.description)

    async def _complete(self, ctx: Context, params: Mapping[str, Any]) -> Any:
        handler = self.server._completion
        if handler is None:  # pragma: no cover - the engine refuses it (no capability)
            raise errors.MCPError(ErrorCode.METHOD_NOT_FOUND, "completions are not supported")
        request = t.structure(dict(params), t.CompleteRequestParams)
        value = await handler(request.ref, request.argument, request.context)
        if isinstance(value, t.Completion):
            completion = value
        else:
            values = list(value)
            completion = t.Completion(values=values[:100], total=len(values),
                                      has_more=len(values) > 100)
        return t.CompleteResult(completion=completion)

    async def _set_level(self, ctx: Context, params: Mapping[str, Any]) -> Any:
        level = params.get("level")
        if level not in _LEVEL_RANK:
            raise errors.MCPError(ErrorCode.INVALID_PARAMS, f"unknown logging level {level!r}")
        self.log_level = level
        return {}


_Handler = Callable[[ServerSession, Context, Mapping[str, Any]], Awaitable[Any]]

_REQUEST_NOTES = frozenset({"notifications/message", "notifications/progress"})

_CACHED_LISTS = frozenset({"tools/list", "prompts/list", "resources/list",
                           "resources/templates/list"})


@attrs.define(eq=False)
class _EngineAnswer:
    """A handler's answer the engine writes itself (``server/discover``, ``input_required``):
    ``send(engine, request_id)``, called under the send lock."""

    send: Callable[[Connection, RequestId], None]


def _merged_needs(group: BaseExceptionGroup[Any]) -> _InputNeeded | None:
    """One :class:`_InputNeeded` for a group made only of them (``None`` otherwise)."""
    needs, rest = group.split(_InputNeeded)
    if needs is None or rest is not None:
        return None
    requests: dict[str, dict[str, Any]] = {}
    stack: list[BaseException] = [needs]
    while stack:
        exc = stack.pop()
        if isinstance(exc, BaseExceptionGroup):
            stack.extend(exc.exceptions)
        elif isinstance(exc, _InputNeeded):
            requests.update(exc.requests)
    return _InputNeeded(requests)


def _answered(engine: Connection, rid: RequestId) -> None:
    """The :class:`_EngineAnswer` of a request already answered (or cancelled)."""

_HANDLERS: dict[str, _Handler] = {
    "tools/list": ServerSession._tools_list,
    "tools/call": ServerSession._tools_call,
    "resources/list": ServerSession._resources_list,
    "resources/templates/list": ServerSession._templates_list,
    "resources/read": ServerSession._resources_read,
    "resources/subscribe": ServerSession._subscribe,
    "resources/unsubscribe": ServerSession._unsubscribe,
    "prompts/list": ServerSession._prompts_list,
    "prompts/get": ServerSession._prompts_get,
    "completion/complete": ServerSession._complete,
    "logging/setLevel": ServerSession._set_level,
    "tasks/get": ServerSession._tasks_get,
    "tasks/update": ServerSession._tasks_update,
    "tasks/cancel": ServerSession._tasks_cancel,
    "tasks/result": ServerSession._tasks_result,
    "tasks/list": ServerSession._tasks_list,
}


def _principal_of(ctx: Context) -> str | None:
    """Who a request comes from, for the task checks: the verified principal's key (issuer
    and subject, as requestState is bound to), ``None`` when nobody authenticated."""
    principal: Principal | None = getattr(ctx, "principal", None)
    return None if principal is None else principal.key


def _payload(value: Any) -> dict[str, Any]:
    """A handler's result as the JSON object a task keeps."""
    if isinstance(value, Mapping):
        return dict(value)
    data = t.unstructure(value)
    assert isinstance(data, dict)
    return data


def _doc(fn: Callable[..., Any]) -> str | None:
    doc = inspect.getdoc(fn)
    return doc.strip() if doc else None


def _tool_error(message: str) -> t.CallToolResult:
    return t.CallToolResult(content=[t.TextContent(text=message)], is_error=True)


def _read_result(uri: str, value: Any, mime_type: str | None) -> Any:
    if isinstance(value, t.ReadResourceResult):
        return value
    items = value if isinstance(value, (list, tuple)) else [value]
    contents: list[Any] = []
    for item in items:
        if isinstance(item, (t.TextResourceContents, t.BlobResourceContents)):
            contents.append(item)
        elif isinstance(item, str):
            contents.append(t.TextResourceContents(uri=uri, text=item, mime_type=mime_type))
        elif isinstance(item, (bytes, bytearray, memoryview)):
            contents.append(t.BlobResourceContents(
                uri=uri, blob=base64.b64encode(bytes(item)).decode("ascii"),
                mime_type=mime_type or "application/octet-stream"))
        else:
            raise TypeError(f"a resource reader returned {type(item).__name__}; expected str, "
                            "bytes, resource contents or ReadResourceResult")
    return t.ReadResourceResult(contents=contents)


def _prompt_messages(value: Any) -> list[t.PromptMessage]:
    items = value if isinstance(value, (list, tuple)) else [value]
    messages: list[t.PromptMessage] = []
    for item in items:
        if isinstance(item, t.PromptMessage):
            messages.append(item)
        elif isinstance(item, str):
            messages.append(t.PromptMessage(role="user", content=t.TextContent(text=item)))
        elif isinstance(item, _CONTENT_TYPES):
            messages.append(t.PromptMessage(role="user", content=item))  # type: ignore[arg-type]
        elif isinstance(item, (Image, Audio)):
            messages.append(t.PromptMessage(role="user", content=item.to_content()))
        else:
            raise TypeError(f"a prompt returned {type(item).__name__}; expected str, "
                            "PromptMessage, a content block or GetPromptResult")
    return messages


def _media_blocks(value: Any) -> Any:
    """``value`` with :class:`Image` / :class:`Audio` (alone or in a list) as content blocks."""
    if isinstance(value, (Image, Audio)):
        return value.to_content()
    if isinstance(value, (list, tuple)) and any(isinstance(v, (Image, Audio)) for v in value):
        return [v.to_content() if isinstance(v, (Image, Audio)) else v for v in value]
    return value


# Errors trio-mcp itself raised in a handler, for a request the handler made of the client
# (a capability the client did not declare, a timeout, the client leaving): their text is the
# library's, never the handler's data, so it is not masked.
_LIBRARY_ERRORS = (LocalProtocolError, errors.RequestTimeout, errors.PeerDisconnected)


def _describe(exc: BaseException) -> str:
    """``ExceptionType: text`` (the type alone when the text is empty), on one line."""
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _subject(method: str, params: Mapping[str, Any]) -> str:
    """What a request is about, for logs and error messages: ``resource 'uri'``, ..."""
    if method == "resources/read":
        return f"resource {params.get('uri')!r}"
    if method == "prompts/get":
        return f"prompt {params.get('name')!r}"
    if method == "tools/call":
        return f"tool {params.get('name')!r}"
    return method


@attrs.define(eq=False)
class _LifespanRun:
    """One run of a server's lifespan, in a system task of its own (so that its context
    manager is entered and exited in one task, whichever serving call came first or last)."""

    server: Server
    factory: Lifespan
    users: int = 0
    value: Any = None
    enter_error: BaseException | None = None
    exit_error: BaseException | None = None
    stopping: bool = False
    entered: trio.Event = attrs.field(factory=trio.Event, init=False)
    exited: trio.Event = attrs.field(factory=trio.Event, init=False)
    _stop: trio.Event = attrs.field(factory=trio.Event, init=False)
    _scope: trio.CancelScope = attrs.field(factory=trio.CancelScope, init=False)

    async def run(self) -> None:
        try:
            with self._scope:
                cm = self.factory(self.server)
                try:
                    self.value = await cm.__aenter__()
                except Exception as exc:
                    self.enter_error = exc
                    return
                self.entered.set()
                try:
                    await self._stop.wait()
                except BaseException as exc:
                    if not await cm.__aexit__(type(exc), exc, exc.__traceback__):
                        raise
                else:
                    await cm.__aexit__(None, None, None)
        except Exception as exc:  # relayed to the last user; never out of a system task
            self.exit_error = exc
        finally:
            self.entered.set()
            self.exited.set()

    async def stop(self, grace: float) -> None:
        """Ask the lifespan to exit and wait for it (shielded): ``grace`` seconds, then
        cancel it and wait for that. One still entering is cancelled at once."""
        self.stopping = True
        self._stop.set()
        if not self.entered.is_set():  # every user left while it was still entering
            self._scope.cancel()
        with trio.CancelScope(shield=True):
            with trio.move_on_after(grace):
                await self.exited.wait()
            if not self.exited.is_set():
                self._scope.cancel()
                await self.exited.wait()
