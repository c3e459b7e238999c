"""The stateless era's per-request rules (MCP 2026-07-28).

Mostly pure functions, which :class:`sansio.Connection` calls; they hold no state: what a
request says about itself is a :class:`~sansio.versions.RequestMeta` (read and validated by
:func:`sansio.versions.read_request_meta`), and everything else comes in as arguments.

* a server judges each received request by its own ``_meta``
  (:meth:`StatelessMixin._check_stateless_request`, the engine's part of this module);

* a client stamps every request's ``params._meta`` (:func:`stamp`, :func:`stamped`);
* a server completes every result (:func:`complete_result`): ``resultType``, the ``serverInfo``
  ``_meta``, the caching hints of cacheable methods, and for an ``input_required`` result the
  check that it asks only for what the request declared (else -32021);
* ``server/discover``'s answer (:func:`discover_result`);
* log messages are request-scoped and filtered by the request's level (:func:`log_allowed`).

https://modelcontextprotocol.io/specification/2026-07-28/basic
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Final

from ._core import DISCOVER, EngineCore
from .capabilities import PARAMS_DEPENDENT, missing_capability
from .errors import ErrorCode, LocalProtocolError
from .jsonrpc import RequestId
from .mrtr import MRTR_METHODS
from .state import Trigger
from .tasks import EXTENSION_ID as TASKS_EXTENSION_ID
from .tasks import EXTENSION_REQUESTS, check_task_request
from .types import MethodSpec
from .versions import (
    LOG_LEVELS,
    META_CLIENT_CAPABILITIES,
    META_CLIENT_INFO,
    META_LOG_LEVEL,
    META_PROTOCOL_VERSION,
    META_SERVER_INFO,
    RequestMeta,
    read_request_meta,
)

__all__ = ["CACHEABLE", "StatelessMixin", "complete_result", "discover_result", "log_allowed",
           "stamp", "stamped"]

CACHEABLE: Final = frozenset({"server/discover", "tools/list", "prompts/list", "resources/list",
                              "resources/templates/list", "resources/read"})
"""Methods whose complete results must carry ``ttlMs`` and ``cacheScope`` (caching.mdx)."""


def _check_level(level: Any) -> None:
    if level is not None and level not in LOG_LEVELS:
        raise LocalProtocolError(f"log_level must be one of {', '.join(LOG_LEVELS)}")


def stamp(version: str, capabilities: dict[str, Any], info: dict[str, Any] | None,
          log_level: str | None) -> dict[str, Any]:
    """(Client) The ``_meta`` every request carries.

    Raises:
        LocalProtocolError: ``log_level`` is not a log level.
    """
    _check_level(log_level)
    out: dict[str, Any] = {META_PROTOCOL_VERSION: version, META_CLIENT_CAPABILITIES: capabilities}
    if info is not None:
        out[META_CLIENT_INFO] = info
    if log_level is not None:
        out[META_LOG_LEVEL] = log_level
    return out


def stamped(payload: dict[str, Any] | None, meta: dict[str, Any],
            log_level: str | None) -> dict[str, Any]:
    """(Client) ``payload`` with ``meta`` (and ``log_level``) under the keys the caller's own
    ``params._meta`` does not set (the caller's win).

    Raises:
        LocalProtocolError: ``log_level`` is not a log level.
    """
    _check_level(log_level)
    out = dict(payload) if payload else {}
    own = out.get("_meta")
    base = meta if log_level is None else {**meta, META_LOG_LEVEL: log_level}
    out["_meta"] = {**base, **own} if isinstance(own, Mapping) else dict(base)
    return out


def complete_result(meta: RequestMeta, method: str, payload: dict[str, Any],
                    server_info: dict[str, Any] | None) -> dict[str, Any]:
    """(Server) The result to write for a stateless-era request of ``method``.

    Adds ``resultType`` (default ``"complete"``), the ``_meta``
    ``io.modelcontextprotocol/serverInfo`` (when ``server_info`` is given and the result's own
    ``_meta`` lacks it) and, for a complete result of a :data:`CACHEABLE` method, ``ttlMs`` 0 and
    ``cacheScope`` ``"private"`` unless set (stale at once, never shared).

    Raises:
        LocalProtocolError: ``resultType`` is not a string; or the result is
            ``input_required`` and its ``inputRequests`` need client capabilities the request
            did not declare: code -32021 and ``data`` ``{"requiredCapabilities": {...}}``,
            ready for ``send_error(request_id, exc.code, exc.message, exc.data)``.
    """
    result_type = payload.get("resultType", "complete")
    if result_type.__class__ is not str:
        raise LocalProtocolError("a result's resultType must be a string")
    if result_type == "input_required":
        if method not in MRTR_METHODS:
            raise LocalProtocolError(
                f"a {method} request cannot be answered input_required (only tools/call, "
                "prompts/get and resources/read)")
        _check_input_requests(meta, payload.get("inputRequests"))
    out = dict(payload)
    out["resultType"] = result_type
    if result_type == "complete" and method in CACHEABLE:
        out.setdefault("ttlMs", 0)
        out.setdefault("cacheScope", "private")
    if server_info is not None:
        own = out.get("_meta")
        if own is None:
            out["_meta"] = {META_SERVER_INFO: server_info}
        elif isinstance(own, Mapping) and META_SERVER_INFO not in own:
            out["_meta"] = {**own, META_SERVER_INFO: server_info}
    return out


def _check_input_requests(meta: RequestMeta, requests: Any) -> None:
    if requests is None:
        return
    if not isinstance(requests, Mapping):
        raise LocalProtocolError("inputRequests must be an object of requests by key")
    required: dict[str, Any] = {}
    for request in requests.values():
        method = request.get("method") if isinstance(request, Mapping) else None
        if method.__class__ is not str:
            raise LocalProtocolError("every input request needs a method")
        params = request.get("params")
        params = params if isinstance(params, Mapping) else None
        missing = missing_capability(method, params, meta.client_capabilities, meta.version)
        if missing is None and method == "elicitation/create":
            missing = _form_missing(params, meta.client_capabilities)
        if missing is not None:
            node = required
            *parents, leaf = missing.split(".")
            for key in parents:
                node = node.setdefault(key, {})
            node.setdefault(leaf, {})
    if required:
        raise LocalProtocolError(
            "the request did not declare the client capabilities its input requests need: "
            + ", ".join(sorted(required)), ErrorCode.MISSING_REQUIRED_CLIENT_CAPABILITY,
            {"requiredCapabilities": required})


def _form_missing(params: Mapping[str, Any] | None, caps: Mapping[str, Any]) -> str | None:
    """Form-mode elicitation needs ``elicitation.form``, or an empty ``elicitation`` (which
    means form mode only); ``{"url": {}}`` alone declares URL mode only."""
    mode = params.get("mode", "form") if params else "form"
    node = caps.get("elicitation")
    if mode == "form" and isinstance(node, Mapping) and node and "form" not in node:
        return "elicitation.form"
    return None


def discover_result(
    supported: Iterable[str],
    capabilities: dict[str, Any],
    server_info: dict[str, Any] | None,
    *,
    instructions: str | None,
    ttl_ms: int,
    cache_scope: str,
    meta: Mapping[str, Any] | None,
) -> dict[str, Any]:
    """(Server) A ``DiscoverResult``: ``supportedVersions`` newest first.

    Raises:
        LocalProtocolError: ``ttl_ms`` is not an integer >= 0, or ``cache_scope`` is not
            ``"public"`` or ``"private"``.
    """
    if ttl_ms.__class__ is not int or ttl_ms < 0:
        raise LocalProtocolError("ttl_ms must be an integer >= 0")
    if cache_scope not in ("public", "private"):
        raise LocalProtocolError("cache_scope must be 'public' or 'private'")
    result: dict[str, Any] = {
        "resultType": "complete",
        "supportedVersions": sorted(supported, reverse=True),
        # 2025-11-25's `tasks` capability is not one of 2026-07-28 (its tasks are the
        # io.modelcontextprotocol/tasks extension, under `extensions`).
        "capabilities": {k: v for k, v in capabilities.items() if k != "tasks"},
        "ttlMs": ttl_ms,
        "cacheScope": cache_scope,
    }
    if instructions is not None:
        result["instructions"] = instructions
    own = dict(meta) if meta is not None else {}
    if server_info is not None:
        own[META_SERVER_INFO] = server_info
    if own:
        result["_meta"] = own
    return result


def log_allowed(request_id: Any, meta: RequestMeta | None, payload: dict[str, Any] | None
                ) -> bool:
    """(Server) Whether a ``notifications/message`` for a request with ``meta`` goes out:
    ``False`` below the level the request asked for.

    Raises:
        LocalProtocolError: the request did not ask for log messages (``meta`` is ``None`` or
            has no log level), or the message has no valid ``level``.
    """
    if meta is None or meta.log_level is None:
        raise LocalProtocolError(
            f"request {request_id!r} did not ask for log messages "
            f"(_meta {META_LOG_LEVEL}): none may be sent for it")
    level = payload.get("level") if payload else None
    if level not in LOG_LEVELS:
        raise LocalProtocolError(
            f"notifications/message needs a level, one of {', '.join(LOG_LEVELS)}")
    return LOG_LEVELS.index(level) >= LOG_LEVELS.index(meta.log_level)


def _task_extension_spec(method: str, version: str,
                         server_caps: Mapping[str, Any] | None) -> MethodSpec | None:
    """The spec of a tasks-extension request (2026-07-28) when this server offers the
    extension; ``None`` for any other request."""
    spec = EXTENSION_REQUESTS.get(method)
    if spec is None or not spec.live(version) or not isinstance(server_caps, Mapping):
        return None
    extensions = server_caps.get("extensions")
    if not isinstance(extensions, Mapping) or TASKS_EXTENSION_ID not in extensions:
        return None
    return spec


class StatelessMixin(EngineCore):
    """A server's judgement of stateless-era requests."""

    __slots__ = ()

    def _check_stateless_request(
        self, rid: RequestId, method: str, params: dict[str, Any] | None
    ) -> tuple[RequestMeta, MethodSpec | None]:
        """Judge a stateless-era request alone: a method its revision does not have (-32601),
        its ``_meta`` (-32602, -32022), the capability it needs from us (-32601). A valid
        first request of a dual-era server starts the stateless era."""
        judged = read_request_meta(params, self._supported)
        if isinstance(judged, RequestMeta):
            key = (method, judged.version)
            if key in self._stateless_checked:
                return judged, self._stateless_checked[key]
            version = judged.version
        else:
            version = self._era_version or self._stateless[-1]
        spec = self._peer_requests.get(method)
        extension = _task_extension_spec(method, version, self._server_caps)
        if extension is not None:
            spec = extension
        elif spec is None:
            if method in self._our_requests:
                raise self._refuse(f"method not found: a {self._role.peer.value} does not "
                                   f"send {method!r}", ErrorCode.METHOD_NOT_FOUND, rid,
                                   answer=True)
        elif not spec.live(version):
            raise self._refuse(f"method not found: {method!r} is not part of protocol "
                               f"version {version}", ErrorCode.METHOD_NOT_FOUND, rid,
                               answer=True)
        if not isinstance(judged, RequestMeta):
            code, msg, data = judged
            raise self._refuse(msg, ErrorCode(code), rid, answer=True, data=data)
        if self._lifecycle.can(Trigger.START_STATELESS):
            self._lifecycle.process(Trigger.START_STATELESS)
            self._era_version = self._stateless[-1]
        if extension is not None:
            # The tasks extension: its requests need the client to declare it (-32021).
            try:
                check_task_request(method, version, judged.client_capabilities)
            except LocalProtocolError as exc:
                raise self._refuse(exc.message, ErrorCode(exc.code), rid, answer=True,
                                   data=exc.data) from None
        elif self._server_caps is not None:
            missing = missing_capability(method, params, self._server_caps, version)
            if missing is not None:
                raise self._refuse(f"method not found: {method!r} needs the {missing!r} "
                                   "capability, which this server does not have",
                                   ErrorCode.METHOD_NOT_FOUND, rid, answer=True)
        if method not in PARAMS_DEPENDENT and extension is None:
            # Liveness and our capabilities depend on (method, revision) only: judge once.
            self._stateless_checked[(method, version)] = spec
        return judged, spec

    def _discover_answer(self, request_id: RequestId, server_info: Any, capabilities: Any, *,
                         instructions: str | None, ttl_ms: int, cache_scope: str,
                         meta: Mapping[str, Any] | None) -> dict[str, Any]:
        """(Server) The ``DiscoverResult`` for ``request_id`` (see
        :meth:`sansio.Connection.send_discover_result`)."""
        incoming = self._requests.serving.get(request_id)
        if incoming is not None and incoming.method != DISCOVER:
            raise LocalProtocolError(f"request {request_id!r} is {incoming.method!r}, "
                                     "not server/discover")
        caps = self._payload(capabilities) if capabilities is not None else (
            self._server_caps or {})
        info = self._payload(server_info) if server_info is not None else self._server_info
        return discover_result(
            self._supported, caps or {}, info, instructions=instructions, ttl_ms=ttl_ms,
            cache_scope=cache_scope, meta=meta)
