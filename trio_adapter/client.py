"""The MCP client: a logical :class:`Client` and the :class:`ClientSession` it connects.

>>> client = Client("my-client", "1.0")
>>> # async with client.connect(transport) as session:
>>> #     tools = await session.list_all_tools()
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from contextlib import asynccontextmanager, suppress
from typing import Any, TypeVar

import trio

from sansio import HANDSHAKE_VERSIONS, Connection, Initialized, NotificationReceived, Role
from sansio import types as t

from . import errors
from ._session import BaseSession, ProgressCallback, RequestContext, TraceHook, _Slot
from ._transport import Transport
from ._util import session_scope

__all__ = [
    "Client",
    "ClientSession",
    "ElicitationHandler",
    "LoggingHandler",
    "NotificationHandler",
    "SamplingHandler",
]

T = TypeVar("T")

#: ``sampling(ctx, params) -> CreateMessageResult`` (or its JSON dict).
SamplingHandler = Callable[[RequestContext, t.CreateMessageRequestParams],
                           Awaitable["t.CreateMessageResult | Mapping[str, Any]"]]
#: ``elicitation(ctx, params) -> ElicitResult`` (or its JSON dict); params are
#: :class:`sansio.types.ElicitRequestFormParams` or :class:`sansio.types.ElicitRequestURLParams`.
ElicitationHandler = Callable[[RequestContext, Any],
                              Awaitable["t.ElicitResult | Mapping[str, Any]"]]
#: ``logging(params)`` for each ``notifications/message``.
LoggingHandler = Callable[[t.LoggingMessageNotificationParams], Awaitable[None]]
#: ``notification(session, method, params)`` for every notification the session gets.
NotificationHandler = Callable[["ClientSession", str, "dict[str, Any] | None"], Awaitable[None]]


class Client:
    """A logical MCP client: its identity, roots and the handlers for what servers ask of it.

    One ``Client`` connects any number of sessions. Capabilities follow what is configured:
    ``roots`` (with ``listChanged``) when ``roots`` is given, ``sampling`` with a sampling
    handler, ``elicitation`` with an elicitation handler.

    Args:
        name: ``clientInfo.name``.
        version: ``clientInfo.version``.
        title: ``clientInfo.title`` (2025-06-18).
        roots: the roots offered to servers (``roots/list``); change them with
            :meth:`set_roots`.
        sampling_handler: answers ``sampling/createMessage``.
        elicitation_handler: answers ``elicitation/create``.
        elicitation_url: advertise URL-mode elicitation too (2025-11-25).
        logging_handler: receives ``notifications/message``.
        notification_handler: receives every notification (after the specific handlers).
        protocol_version: the revision to ask for; default the latest supported.
        supported_versions: the revisions this client accepts from a server.
        validate: check incoming params and results against the MCP types.
        request_timeout: a default timeout for every request, in seconds
            (:class:`~trio_adapter.RequestTimeout`); ``None`` for none (use ``trio.fail_after``).
        keepalive_interval: ping the server this often, in seconds; close the session when a
            ping is not answered within the same time.
        handler_grace: on close, how long handlers of server requests may run before they are
            cancelled.
        close_timeout: bound on closing the transport.
        trace: a hook that sees every frame and event (see :data:`TraceHook`).
    """

    def __init__(
        self,
        name: str,
        version: str,
        *,
        title: str | None = None,
        roots: Iterable[t.Root | str] | None = None,
        sampling_handler: SamplingHandler | None = None,
        elicitation_handler: ElicitationHandler | None = None,
        elicitation_url: bool = False,
        logging_handler: LoggingHandler | None = None,
        notification_handler: NotificationHandler | None = None,
        protocol_version: str | None = None,
        supported_versions: Iterable[str] = HANDSHAKE_VERSIONS,
        validate: bool = True,
        request_timeout: float | None = None,
        keepalive_interval: float | None = None,
        handler_grace: float = 1.0,
        close_timeout: float = 5.0,
        trace: TraceHook | None = None,
    ) -> None:
        self.info = t.Implementation(name=name, version=version, title=title)
        self._roots: list[t.Root] | None = None if roots is None else _roots(roots)
        self.sampling_handler = sampling_handler
        self.elicitation_handler = elicitation_handler
        self.elicitation_url = elicitation_url
        self.logging_handler = logging_handler
        self.notification_handler = notification_handler
        self.protocol_version = protocol_version
        self.supported_versions = tuple(supported_versions)
        self.validate = validate
        self.request_timeout = request_timeout
        self.keepalive_interval = keepalive_interval
        self.handler_grace = handler_grace
        self.close_timeout = close_timeout
        self.trace = trace
        self._sessions: set[ClientSession] = set()
        if protocol_version is not None and protocol_version not in self.supported_versions:
            raise ValueError(f"protocol_version {protocol_version!r} is not supported")

    @property
    def sessions(self) -> list[ClientSession]:
        """The live (initialized, not yet closed) sessions of this client."""
        return [s for s in self._sessions if not s.closed]

    @property
    def roots(self) -> list[t.Root] | None:
        """The roots offered to servers, or ``None`` when roots are not supported."""
        return None if self._roots is None else list(self._roots)

    def capabilities(self) -> dict[str, Any]:
        """The ``capabilities`` object this client sends in ``initialize``."""
        caps: dict[str, Any] = {}
        if self._roots is not None:
            caps["roots"] = {"listChanged": True}
        if self.sampling_handler is not None:
            caps["sampling"] = {}
        if self.elicitation_handler is not None:
            caps["elicitation"] = {"form": {}, "url": {}} if self.elicitation_url else {}
        return caps

    async def set_roots(self, roots: Iterable[t.Root | str]) -> None:
        """Replace the roots and send ``notifications/roots/list_changed`` to every session.

        Raises:
            ValueError: roots were not enabled when the client was made (``roots=None``).
        """
        if self._roots is None:
            raise ValueError("this client was made without roots (pass roots=[] to enable them)")
        self._roots = _roots(roots)
        for session in self.sessions:
            with suppress(errors.SessionClosed):
                await session.send_notification("notifications/roots/list_changed")

    @asynccontextmanager
    async def connect(self, transport: Transport) -> AsyncIterator[ClientSession]:
        """Connect over ``transport``, run the handshake and yield the initialized session.

        The session (and the transport) is closed when the block exits, whatever the outcome.
        Exceptions from the block propagate as themselves.

        Raises:
            ConnectError: the handshake failed.
        """
        async def open_(nursery: trio.Nursery) -> ClientSession:
            return await self.connect_in(nursery, transport)

        async with session_scope(open_, ClientSession.aclose) as session:
            yield session

    async def connect_in(self, nursery: trio.Nursery, transport: Transport) -> ClientSession:
        """Low-level :meth:`connect`: the session's tasks run in the caller's ``nursery``.

        The caller must ``await session.aclose()`` (the nursery does not end before the session
        does).

        Raises:
            ConnectError: the handshake failed (the session is closed).
        """
        engine = Connection(Role.CLIENT, supported_versions=self.supported_versions,
                            validate=self.validate)
        session = ClientSession(
            self, engine, transport, handler_grace=self.handler_grace,
            close_timeout=self.close_timeout, request_timeout=self.request_timeout,
            keepalive_interval=self.keepalive_interval, trace=self.trace)
        await nursery.start(session._run)
        try:
            await session._handshake()
        except BaseException:
            await session.aclose()
            raise
        self._sessions.add(session)
        return session


class ClientSession(BaseSession):
    """One connection from a :class:`Client` to a server. Made by :meth:`Client.connect`.

    Every request method waits for the answer; cancel the call (``trio.fail_after``, a cancel
    scope) and ``notifications/cancelled`` is sent to the server. Each raises
    :class:`~trio_adapter.MCPError` for an error answer, :class:`~trio_adapter.SessionClosed` /
    :class:`~trio_adapter.PeerDisconnected` when the session ends first, and
    :class:`sansio.LocalProtocolError` when the server did not advertise the feature.
    """

    _role_name = "client"

    def __init__(self, client: Client, engine: Connection, transport: Transport,
                 **kwargs: Any) -> None:
        super().__init__(engine, transport, **kwargs)
        self.client = client
        self._init_result: dict[str, Any] | None = None

    # ------------------------------------------------------------------ handshake

    async def _handshake(self) -> None:
        slot = _Slot("initialize", None)
        async with self._send_lock:
            self._check_open()
            rid = self._engine.send_initialize(
                self.client.info, self.client.capabilities(),
                protocol_version=self.client.protocol_version)
            self._pending[rid] = slot
            try:
                await self._flush()
            except errors.SessionClosed as exc:
                if isinstance(exc.__cause__, errors.TransportError):  # already one clear line
                    raise errors.ConnectError(str(exc.__cause__)) from exc.__cause__
                raise errors.ConnectError(f"initialize could not be sent: {exc}") from exc
        await slot.event.wait()
        error = slot.error
        if error is None:
            return
        if isinstance(error, errors.MCPError):
            raise errors.ConnectError(f"the server refused initialize: {error.message}",
                                      int(error.code)) from error
        if isinstance(error, errors.SessionClosed):
            raise errors.ConnectError(
                f"the server closed the connection before the handshake completed: "
                f"{error.reason}") from error
        code = getattr(error, "code", None)
        raise errors.ConnectError(f"handshake failed: {error}",
                                  None if code is None else int(code)) from error

    async def _on_initialized(self, event: Initialized) -> None:
        self._init_result = event.result
        async with self._send_lock:
            if not self._closing:
                self._engine.send_initialized()
                with suppress(errors.SessionClosed):
                    await self._flush()
        slot = self._pending.pop(event.request_id, None) if event.request_id is not None \
            else None
        self._ready.set()
        if slot is not None:
            slot.set_result(event.result or {})

    # ------------------------------------------------------------------ facts

    @property
    def server_info(self) -> t.Implementation:
        """The server's ``serverInfo``."""
        return t.structure(self._engine.peer_info or {}, t.Implementation)

    @property
    def server_capabilities(self) -> dict[str, Any]:
        """The server's capabilities, as received."""
        return self._engine.peer_capabilities or {}

    @property
    def instructions(self) -> str | None:
        """The server's ``instructions``, if it gave any."""
        return self._engine.instructions

    @property
    def initialize_result(self) -> dict[str, Any]:
        """The ``initialize`` result as received."""
        return self._init_result or {}

    # ------------------------------------------------------------------ requests

    async def _typed(self, method: str, params: Any, cls: type[T],
                     on_progress: ProgressCallback | None = None) -> T:
        slot = await self._request(method, params, on_progress)
        typed = slot.typed
        if typed.__class__ is cls:  # the engine validated it into this very type
            return typed
        return t.structure(slot.result, cls)

    async def _all(self, method: str, key: str, cls: type[Any]) -> list[Any]:
        items: list[Any] = []
        cursor: str | None = None
        seen: set[str] = set()
        while True:
            result = await self.send_request(method, {"cursor": cursor} if cursor else None)
            page = t.structure(result, cls)
            items.extend(getattr(page, key))
            cursor = page.next_cursor
            if not cursor:
                return items
            if cursor in seen:
                raise errors.MCPError(-32603, f"{method}: the server repeated cursor {cursor!r}",
                                      method=method)
            seen.add(cursor)

    async def list_tools(self, cursor: str | None = None) -> t.ListToolsResult:
        """One page of ``tools/list``."""
        return await self._typed("tools/list", _cursor(cursor), t.ListToolsResult)

    async def list_all_tools(self) -> list[t.Tool]:
        """Every tool, following ``nextCursor`` until the last page."""
        return await self._all("tools/list", "tools", t.ListToolsResult)

    async def call_tool(
        self,
        name: str,
        arguments: Mapping[str, Any] | None = None,
        *,
        on_progress: ProgressCallback | None = None,
        meta: Mapping[str, Any] | None = None,
    ) -> t.CallToolResult:
        """Call a tool and return its result.

        A tool that failed is *not* an exception: check ``result.is_error``.

        Args:
            name: the tool.
            arguments: its arguments.
            on_progress: receive the tool's progress notifications.
            meta: ``_meta`` for the request.
        """
        params: dict[str, Any] = {"name": name}
        if arguments is not None:
            params["arguments"] = dict(arguments)
        if meta is not None:
            params["_meta"] = dict(meta)
        return await self._typed("tools/call", params, t.CallToolResult, on_progress)

    async def list_resources(self, cursor: str | None = None) -> t.ListResourcesResult:
        """One page of ``resources/list``."""
        return await self._typed("resources/list", _cursor(cursor), t.ListResourcesResult)

    async def list_all_resources(self) -> list[t.Resource]:
        """Every resource, across pages."""
        return await self._all("resources/list", "resources", t.ListResourcesResult)

    async def list_resource_templates(
        self, cursor: str | None = None
    ) -> t.ListResourceTemplatesResult:
        """One page of ``resources/templates/list``."""
        return await self._typed("resources/templates/list", _cursor(cursor),
                                 t.ListResourceTemplatesResult)

    async def list_all_resource_templates(self) -> list[t.ResourceTemplate]:
        """Every resource template, across pages."""
        return await self._all("resources/templates/list", "resource_templates",
                               t.ListResourceTemplatesResult)

    async def read_resource(self, uri: str) -> t.ReadResourceResult:
        """Read a resource (``resources/read``)."""
        return await self._typed("resources/read", {"uri": uri}, t.ReadResourceResult)

    async def subscribe_resource(self, uri: str) -> None:
        """Subscribe to ``notifications/resources/updated`` for ``uri``."""
        await self.send_request("resources/subscribe", {"uri": uri})

    async def unsubscribe_resource(self, uri: str) -> None:
        """Undo :meth:`subscribe_resource`."""
        await self.send_request("resources/unsubscribe", {"uri": uri})

    async def list_prompts(self, cursor: str | None = None) -> t.ListPromptsResult:
        """One page of ``prompts/list``."""
        return await self._typed("prompts/list", _cursor(cursor), t.ListPromptsResult)

    async def list_all_prompts(self) -> list[t.Prompt]:
        """Every prompt, across pages."""
        return await self._all("prompts/list", "prompts", t.ListPromptsResult)

    async def get_prompt(
        self, name: str, arguments: Mapping[str, str] | None = None
    ) -> t.GetPromptResult:
        """Get a prompt with its arguments filled in (``prompts/get``)."""
        params: dict[str, Any] = {"name": name}
        if arguments is not None:
            params["arguments"] = dict(arguments)
        return await self._typed("prompts/get", params, t.GetPromptResult)

    async def complete(
        self,
        ref: t.PromptReference | t.ResourceTemplateReference | Mapping[str, Any],
        argument_name: str,
        value: str,
        *,
        context_arguments: Mapping[str, str] | None = None,
    ) -> t.Completion:
        """Ask for completions of one argument (``completion/complete``).

        Args:
            ref: the prompt or resource template whose argument is completed.
            argument_name: the argument.
            value: what the user typed so far.
            context_arguments: values of arguments already filled in (2025-06-18).
        """
        params: dict[str, Any] = {
            "ref": ref if isinstance(ref, Mapping) else t.unstructure(ref),
            "argument": {"name": argument_name, "value": value},
        }
        if context_arguments is not None:
            params["context"] = {"arguments": dict(context_arguments)}
        result = await self._typed("completion/complete", params, t.CompleteResult)
        return result.completion

    async def set_logging_level(self, level: t.LoggingLevel) -> None:
        """Ask the server to send log messages at ``level`` and above (``logging/setLevel``)."""
        await self.send_request("logging/setLevel", {"level": level})

    async def send_roots_list_changed(self) -> None:
        """Send ``notifications/roots/list_changed`` (done for you by :meth:`Client.set_roots`)."""
        await self.send_notification("notifications/roots/list_changed")

    # ------------------------------------------------------------------ server requests

    async def _handle_request(self, ctx: RequestContext) -> Any:
        method = ctx.method
        client = self.client
        if method == "roots/list":
            roots = client.roots
            if roots is None:
                raise errors.MCPError(-32601, "roots are not supported by this client")
            return t.ListRootsResult(roots=roots)
        if method == "sampling/createMessage":
            if client.sampling_handler is None:
                raise errors.MCPError(-32601, "sampling is not supported by this client")
            params = t.structure(ctx.params or {}, t.CreateMessageRequestParams)
            return await client.sampling_handler(ctx, params)
        if method == "elicitation/create":
            if client.elicitation_handler is None:
                raise errors.MCPError(-32601, "elicitation is not supported by this client")
            eparams = t.structure(ctx.params or {}, t.ElicitRequestParams)
            return await client.elicitation_handler(ctx, eparams)
        raise errors.MCPError(-32601, f"method not found: {method}")

    async def _on_notification(self, event: NotificationReceived) -> None:
        client = self.client
        if event.method == "notifications/message" and client.logging_handler is not None:
            await client.logging_handler(
                t.structure(event.params or {}, t.LoggingMessageNotificationParams))
        if client.notification_handler is not None:
            await client.notification_handler(self, event.method, event.params)

    async def aclose(self) -> None:
        """Close the session (see :meth:`BaseSession.aclose`)."""
        try:
            await super().aclose()
        finally:
            self.client._sessions.discard(self)


def _cursor(cursor: str | None) -> dict[str, Any] | None:
    return {"cursor": cursor} if cursor is not None else None


def _roots(roots: Iterable[t.Root | str]) -> list[t.Root]:
    return [r if isinstance(r, t.Root) else t.Root(uri=r) for r in roots]
