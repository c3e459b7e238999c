"""Hypothesis strategies for JSON-RPC and MCP messages, valid and invalid.

Import this module explicitly (it needs hypothesis)::

    from hypothesis import given
    from sansio.testing import strategies as mcps

    @given(mcps.mcp_requests("2025-11-25", direction="client"))
    def test_my_server_handles_any_request(frame): ...

Four families:

* JSON building blocks: :func:`json_values`, :func:`json_objects`, :func:`request_ids`,
  :func:`method_names`.
* Valid JSON-RPC 2.0 frames as MCP restricts them (object ``params``/``result``, ``int | str``
  ids): :func:`jsonrpc_requests`, :func:`jsonrpc_notifications`, :func:`jsonrpc_responses`,
  :func:`jsonrpc_error_responses`, :func:`jsonrpc_messages`. They are dicts; turn them into NDJSON
  lines with :func:`ndjson` (a strategy) or :func:`encode_frame` (a function).
* Valid MCP messages of one revision, with params (and results) that are valid for the method in
  that revision: :func:`mcp_requests`, :func:`mcp_notifications`, :func:`mcp_params`,
  :func:`mcp_results`, :func:`mcp_calls`, :func:`initialize_params`, :func:`initialize_results`.
  Methods come from the method tables of :mod:`sansio.types`, restricted to the revision by their
  ``since``/``until``.
* Invalid input: :func:`invalid_messages` (decoded JSON values that are not valid messages),
  :func:`invalid_frames` (bytes: bad JSON, bad UTF-8, invalid envelopes, deep nesting, batches),
  :func:`deeply_nested`, :func:`oversized_frames`, :func:`batches`; and :func:`ndjson_chunks`,
  which cuts a byte stream into arbitrary chunks.

The MCP strategies cover every revision of :data:`sansio.versions.SUPPORTED_VERSIONS`, the
stateless 2026-07-28 included: there, requests carry the per-request ``_meta``
(:func:`request_metas`), results carry ``resultType`` (and ``ttlMs``/``cacheScope`` where the
revision requires them), and the MRTR methods may answer with :func:`input_required_results`.
Misbehaving stateless-era traffic: :func:`invalid_modern_requests` (each with the error code a
stateless server answers) and :func:`invalid_modern_results`. They raise :class:`ValueError`
for any other revision.
"""

from __future__ import annotations

import base64
import itertools
import string
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Literal, TypeAlias

from hypothesis import strategies as st
from hypothesis.strategies import SearchStrategy

from .. import _codec
from ..versions import (
    HANDSHAKE_VERSIONS,
    META_CLIENT_CAPABILITIES,
    META_CLIENT_INFO,
    META_LOG_LEVEL,
    META_PROGRESS_TOKEN,
    META_PROTOCOL_VERSION,
    META_SERVER_INFO,
    META_SUBSCRIPTION_ID,
    STATELESS_VERSIONS,
    SUPPORTED_VERSIONS,
)

__all__ = [
    "JSON",
    "Direction",
    "batches",
    "client_capabilities",
    "deeply_nested",
    "encode_frame",
    "implementations",
    "initialize_params",
    "initialize_results",
    "input_required_results",
    "invalid_frames",
    "invalid_messages",
    "invalid_modern_requests",
    "invalid_modern_results",
    "invalid_utf8",
    "json_objects",
    "json_scalars",
    "json_values",
    "jsonrpc_error_responses",
    "jsonrpc_messages",
    "jsonrpc_notifications",
    "jsonrpc_requests",
    "jsonrpc_responses",
    "mcp_calls",
    "mcp_methods",
    "mcp_notifications",
    "mcp_params",
    "mcp_requests",
    "mcp_results",
    "method_names",
    "ndjson",
    "ndjson_chunks",
    "not_json",
    "oversized_frames",
    "request_ids",
    "request_metas",
    "server_capabilities",
]

JSON: TypeAlias = Any
"""A decoded JSON value: ``None``, ``bool``, ``int``, ``float``, ``str``, ``list`` or ``dict``."""

Direction: TypeAlias = Literal["client", "server"]
"""Who sends the message: ``"client"`` (client to server) or ``"server"`` (server to client)."""

_I64_MIN = -(2**63)
_I64_MAX = 2**63 - 1
_ints = st.integers(min_value=_I64_MIN, max_value=_I64_MAX)
_floats = st.floats(allow_nan=False, allow_infinity=False)

# ---------------------------------------------------------------------------- JSON values


def json_scalars() -> SearchStrategy[JSON]:
    """JSON scalars that survive an encode/decode round trip with either codec.

    ``null``, booleans, integers in the signed 64-bit range, finite floats and strings (no lone
    surrogates).
    """
    return st.one_of(
        st.none(),
        st.booleans(),
        st.integers(min_value=_I64_MIN, max_value=_I64_MAX),
        st.floats(allow_nan=False, allow_infinity=False),
        st.text(max_size=16),
    )


def json_values(*, max_depth: int = 4, max_width: int = 4) -> SearchStrategy[JSON]:
    """Any JSON value, nesting arrays and objects at most ``max_depth`` deep.

    Args:
        max_depth: the deepest nesting of containers (1: scalars only).
        max_width: the most members an array or object has.
    """
    if max_depth <= 1:
        return json_scalars()
    inner = json_values(max_depth=max_depth - 1, max_width=max_width)
    return st.one_of(
        json_scalars(),
        st.lists(inner, max_size=max_width),
        st.dictionaries(st.text(max_size=8), inner, max_size=max_width),
    )


def json_objects(*, max_depth: int = 3, max_width: int = 4) -> SearchStrategy[dict[str, JSON]]:
    """JSON objects (dicts with string keys), nesting at most ``max_depth`` deep in total."""
    return st.dictionaries(
        st.text(max_size=8), json_values(max_depth=max_depth - 1, max_width=max_width),
        max_size=max_width)


def request_ids() -> SearchStrategy[int | str]:
    """Valid MCP request ids: integers (signed 64-bit) or strings; never bool, float or null."""
    return st.one_of(st.integers(min_value=_I64_MIN, max_value=_I64_MAX), st.text(max_size=16))


_KNOWN_METHODS = (
    "initialize", "ping", "tools/list", "tools/call", "resources/list", "resources/read",
    "resources/templates/list", "resources/subscribe", "resources/unsubscribe", "prompts/list",
    "prompts/get", "completion/complete", "logging/setLevel", "sampling/createMessage",
    "roots/list", "elicitation/create", "tasks/get", "tasks/result", "tasks/cancel",
    "tasks/list", "notifications/initialized", "notifications/cancelled",
    "notifications/progress", "notifications/message", "notifications/tools/list_changed",
    "notifications/resources/updated", "notifications/roots/list_changed",
)


def method_names(*, known: bool | None = None) -> SearchStrategy[str]:
    """Method names.

    Args:
        known: ``True``: only MCP method names; ``False``: only made-up (extension-like) names
            such as ``"x/yz"``; ``None`` (default): either.
    """
    made_up = st.from_regex(r"[a-z][a-zA-Z0-9_]{0,8}(/[a-zA-Z_][a-zA-Z0-9_]{0,8}){0,3}",
                            fullmatch=True).filter(lambda m: m not in _KNOWN_METHODS)
    if known is True:
        return st.sampled_from(_KNOWN_METHODS)
    if known is False:
        return made_up
    return st.one_of(st.sampled_from(_KNOWN_METHODS), made_up)


# ---------------------------------------------------------------------------- JSON-RPC frames


def encode_frame(message: JSON) -> bytes:
    """Encode one message (or batch) as one NDJSON line: compact JSON and ``b"\\n"``."""
    return _codec.dumps(message) + b"\n"


def ndjson(messages: SearchStrategy[JSON]) -> SearchStrategy[bytes]:
    """Map a strategy of messages to their NDJSON lines (see :func:`encode_frame`)."""
    return messages.map(encode_frame)


def _maybe(strategy: SearchStrategy[Any]) -> SearchStrategy[Any]:
    """``strategy`` or the marker ``_ABSENT`` (the key is then left out)."""
    return st.one_of(st.just(_ABSENT), strategy)


_ABSENT: Any = object()


def _obj(**fields: Any) -> dict[str, Any]:
    return {k: v for k, v in fields.items() if v is not _ABSENT}


def _build(**fields: SearchStrategy[Any]) -> SearchStrategy[dict[str, Any]]:
    """A dict strategy; values drawn as ``_ABSENT`` are left out."""
    return st.fixed_dictionaries(fields).map(lambda d: _obj(**d))


def jsonrpc_requests(
    *,
    ids: SearchStrategy[int | str] | None = None,
    methods: SearchStrategy[str] | None = None,
    params: SearchStrategy[dict[str, JSON] | None] | None = None,
) -> SearchStrategy[dict[str, JSON]]:
    """Valid JSON-RPC requests (``params``, when present, is an object).

    Args:
        ids: the ids (default :func:`request_ids`).
        methods: the methods (default :func:`method_names`).
        params: the params; ``None`` drawn means "no params key" (default: absent or any object).
    """
    params = params if params is not None else st.one_of(st.none(), json_objects())
    return st.builds(
        lambda i, m, p: _obj(jsonrpc="2.0", id=i, method=m, params=_ABSENT if p is None else p),
        ids if ids is not None else request_ids(),
        methods if methods is not None else method_names(),
        params,
    )


def jsonrpc_notifications(
    *,
    methods: SearchStrategy[str] | None = None,
    params: SearchStrategy[dict[str, JSON] | None] | None = None,
) -> SearchStrategy[dict[str, JSON]]:
    """Valid JSON-RPC notifications (as :func:`jsonrpc_requests`, without an id)."""
    params = params if params is not None else st.one_of(st.none(), json_objects())
    return st.builds(
        lambda m, p: _obj(jsonrpc="2.0", method=m, params=_ABSENT if p is None else p),
        methods if methods is not None else method_names(),
        params,
    )


def jsonrpc_responses(
    *,
    ids: SearchStrategy[int | str] | None = None,
    results: SearchStrategy[dict[str, JSON]] | None = None,
) -> SearchStrategy[dict[str, JSON]]:
    """Valid successful responses (``result`` is an object)."""
    return st.builds(
        lambda i, r: {"jsonrpc": "2.0", "id": i, "result": r},
        ids if ids is not None else request_ids(),
        results if results is not None else json_objects(),
    )


def jsonrpc_error_responses(
    *,
    ids: SearchStrategy[int | str | None] | None = None,
    codes: SearchStrategy[int] | None = None,
) -> SearchStrategy[dict[str, JSON]]:
    """Valid error responses (integer ``code``, string ``message``, optional ``data``).

    Args:
        ids: the ids; a drawn ``None`` gives ``"id": null`` (the answer to a frame whose id could
            not be read). Default: :func:`request_ids` only.
        codes: the error codes (default: the JSON-RPC ones, MCP's, and any 32-bit integer).
    """
    codes = codes if codes is not None else st.one_of(
        st.sampled_from([-32700, -32600, -32601, -32602, -32603, -32002, -32042]),
        st.integers(min_value=-(2**31), max_value=2**31 - 1))
    error = _build(code=codes, message=st.text(max_size=20), data=_maybe(json_values(max_depth=3)))
    return st.builds(
        lambda i, e: {"jsonrpc": "2.0", "id": i, "error": e},
        ids if ids is not None else request_ids(),
        error,
    )


def jsonrpc_messages() -> SearchStrategy[dict[str, JSON]]:
    """Any valid JSON-RPC message (request, notification, response or error response)."""
    return st.one_of(jsonrpc_requests(), jsonrpc_notifications(), jsonrpc_responses(),
                     jsonrpc_error_responses())


# ---------------------------------------------------------------------------- MCP building blocks

_LOG_LEVELS = ("debug", "info", "notice", "warning", "error", "critical", "alert", "emergency")
_TASK_STATUSES = ("working", "input_required", "completed", "failed", "cancelled")
_names = st.text(string.ascii_letters + string.digits + "_-", min_size=1, max_size=10)
_texts = st.text(max_size=20)
_mime = st.sampled_from(["text/plain", "application/json", "image/png", "audio/wav"])
_b64 = st.binary(max_size=12).map(lambda b: base64.b64encode(b).decode("ascii"))
_uris = st.one_of(
    _names.map(lambda n: f"file:///{n}"),
    st.tuples(_names, _names).map(lambda t: f"https://{t[0]}.example/{t[1]}"),
)
_timestamps = st.sampled_from(["2025-01-01T00:00:00Z", "2025-11-25T12:34:56.789Z"])


def _check_revision(revision: str) -> None:
    if revision not in SUPPORTED_VERSIONS:
        raise ValueError(
            f"MCP strategies cover the revisions {SUPPORTED_VERSIONS}, not {revision!r}")


def _modern(revision: str) -> bool:
    return revision in STATELESS_VERSIONS


def _check_handshake(revision: str, what: str) -> None:
    _check_revision(revision)
    if _modern(revision):
        raise ValueError(f"{what} does not exist in the stateless revision {revision!r}")


def _check_modern(revision: str) -> None:
    if revision not in STATELESS_VERSIONS:
        raise ValueError(
            f"stateless-era strategies cover {STATELESS_VERSIONS}, not {revision!r}")


def _meta() -> SearchStrategy[Any]:
    """An optional ``_meta`` object (never with a ``progressToken``)."""
    return st.one_of(
        st.just(_ABSENT), st.just(_ABSENT),
        st.dictionaries(st.sampled_from(["example.com/trace", "example.com/tag", "x"]),
                        json_values(max_depth=2), max_size=2))


def implementations(revision: str) -> SearchStrategy[dict[str, JSON]]:
    """``Implementation`` objects (``clientInfo``/``serverInfo``) valid in ``revision``."""
    _check_revision(revision)
    fields: dict[str, SearchStrategy[Any]] = {"name": _names, "version": _names}
    if revision >= "2025-06-18":
        fields["title"] = _maybe(_texts)
    if revision >= "2025-11-25":
        fields["websiteUrl"] = _maybe(_uris)
    return _build(**fields)


def client_capabilities(revision: str, *, full: bool = False) -> SearchStrategy[dict[str, JSON]]:
    """``ClientCapabilities`` valid in ``revision``.

    Args:
        full: advertise every capability the revision knows (``roots``, ``sampling`` and, from
            2025-06-18, ``elicitation`` with form and URL modes from 2025-11-25); otherwise each
            one is drawn present or absent.
    """
    _check_revision(revision)
    caps: dict[str, SearchStrategy[Any]] = {
        "roots": st.builds(lambda b: {"listChanged": b}, st.booleans()),
        "sampling": st.just({}),
        "experimental": st.just({"example": {}}),
    }
    if revision >= "2025-06-18":
        caps["elicitation"] = st.just({})
    if revision >= "2025-11-25":
        caps["elicitation"] = st.just({"form": {}, "url": {}})
        caps["sampling"] = st.just({"tools": {}})
        caps["tasks"] = st.just({"list": {}, "cancel": {}})
    if _modern(revision):  # no tasks, no roots/list_changed
        del caps["tasks"]
        caps["roots"] = st.just({})
    if full:
        return st.fixed_dictionaries(caps)
    return _build(**{k: _maybe(v) for k, v in caps.items()})


def server_capabilities(revision: str, *, full: bool = False) -> SearchStrategy[dict[str, JSON]]:
    """``ServerCapabilities`` valid in ``revision`` (see :func:`client_capabilities`)."""
    _check_revision(revision)
    flag = st.booleans()
    caps: dict[str, SearchStrategy[Any]] = {
        "tools": st.builds(lambda b: {"listChanged": b}, flag),
        "resources": st.builds(lambda a, b: {"listChanged": a, "subscribe": b}, flag,
                               st.just(True) if full else flag),
        "prompts": st.builds(lambda b: {"listChanged": b}, flag),
        "logging": st.just({}),
        "experimental": st.just({"example": {}}),
    }
    if revision >= "2025-03-26":
        caps["completions"] = st.just({})
    if revision == "2025-11-25":
        caps["tasks"] = st.just({"list": {}, "cancel": {}})
    if full:
        return st.fixed_dictionaries(caps)
    return _build(**{k: _maybe(v) for k, v in caps.items()})


def initialize_params(revision: str, *, full_capabilities: bool = False
                      ) -> SearchStrategy[dict[str, JSON]]:
    """``initialize`` params that ask for ``revision`` (a handshake-era one).

    Raises:
        ValueError: ``revision`` is unknown or stateless (it has no ``initialize``).
    """
    _check_handshake(revision, "initialize")
    return _build(protocolVersion=st.just(revision),
                  capabilities=client_capabilities(revision, full=full_capabilities),
                  clientInfo=implementations(revision), _meta=_meta())


def initialize_results(revision: str, *, full_capabilities: bool = False
                       ) -> SearchStrategy[dict[str, JSON]]:
    """``initialize`` results that settle on ``revision`` (a handshake-era one).

    Raises:
        ValueError: ``revision`` is unknown or stateless (it has no ``initialize``).
    """
    _check_handshake(revision, "initialize")
    return _build(protocolVersion=st.just(revision),
                  capabilities=server_capabilities(revision, full=full_capabilities),
                  serverInfo=implementations(revision), instructions=_maybe(_texts))


def _text_content() -> SearchStrategy[dict[str, Any]]:
    return st.builds(lambda t: {"type": "text", "text": t}, _texts)


def _content_blocks(revision: str, *, sampling: bool = False) -> SearchStrategy[dict[str, Any]]:
    """Content blocks valid in ``revision`` (sampling content has no resources)."""
    kinds = [
        _text_content(),
        st.builds(lambda d, m: {"type": "image", "data": d, "mimeType": m}, _b64, _mime),
    ]
    if revision >= "2025-03-26":
        kinds.append(st.builds(lambda d: {"type": "audio", "data": d, "mimeType": "audio/wav"},
                               _b64))
    if not sampling:
        kinds.append(st.builds(lambda r: {"type": "resource", "resource": r}, _resource_contents()))
        if revision >= "2025-06-18":
            kinds.append(st.builds(lambda u, n: {"type": "resource_link", "uri": u, "name": n},
                                   _uris, _names))
    return st.one_of(kinds)


def _resource_contents() -> SearchStrategy[dict[str, Any]]:
    return st.one_of(
        _build(uri=_uris, text=_texts, mimeType=_maybe(_mime)),
        _build(uri=_uris, blob=_b64, mimeType=_maybe(_mime)),
    )


def _paginated() -> SearchStrategy[dict[str, Any] | None]:
    return st.one_of(st.none(), _build(cursor=_maybe(_texts), _meta=_meta()))


def _empty_params() -> SearchStrategy[dict[str, Any] | None]:
    return st.one_of(st.none(), _build(_meta=_meta()))


def _task() -> SearchStrategy[dict[str, Any]]:
    return _build(taskId=_names, status=st.sampled_from(_TASK_STATUSES),
                  createdAt=_timestamps, lastUpdatedAt=_timestamps,
                  ttl=st.one_of(st.none(), st.integers(0, 10**6)),
                  pollInterval=_maybe(st.integers(0, 10**4)), statusMessage=_maybe(_texts))


def _elicit_schema() -> SearchStrategy[dict[str, Any]]:
    primitive = st.one_of(
        st.just({"type": "string"}), st.just({"type": "number"}), st.just({"type": "integer"}),
        st.just({"type": "boolean"}),
        st.lists(_names, min_size=1, max_size=3, unique=True).map(
            lambda e: {"type": "string", "enum": e}),
    )
    return st.dictionaries(_names, primitive, max_size=3).flatmap(
        lambda props: st.builds(
            lambda req: _obj(type="object", properties=props,
                             required=req if req else _ABSENT),
            st.lists(st.sampled_from(sorted(props)), unique=True) if props else st.just([])))


def _sampling_params(revision: str) -> SearchStrategy[dict[str, Any]]:
    message = st.builds(lambda r, c: {"role": r, "content": c},
                        st.sampled_from(["user", "assistant"]),
                        _content_blocks(revision, sampling=True))
    unit = st.floats(0, 1)
    tools: SearchStrategy[Any] = st.just(_ABSENT)
    tool_choice: SearchStrategy[Any] = st.just(_ABSENT)
    if revision >= "2025-11-25":  # sampling with tools needs the client's sampling.tools
        tools = _maybe(st.lists(_tool(revision), min_size=1, max_size=2))
        tool_choice = _maybe(_build(mode=_maybe(st.sampled_from(["auto", "none", "required"]))))
    return _build(
        tools=tools,
        toolChoice=tool_choice,
        messages=st.lists(message, min_size=1, max_size=3),
        maxTokens=st.integers(1, 10**6),
        systemPrompt=_maybe(_texts),
        includeContext=_maybe(st.sampled_from(["none", "thisServer", "allServers"])),
        temperature=_maybe(st.floats(0, 2)),
        stopSequences=_maybe(st.lists(_texts, max_size=2)),
        metadata=_maybe(json_objects(max_depth=2)),
        modelPreferences=_maybe(_build(
            hints=_maybe(st.lists(_build(name=_maybe(_names)), max_size=2)),
            costPriority=_maybe(unit), speedPriority=_maybe(unit),
            intelligencePriority=_maybe(unit))),
        _meta=_meta(),
    )


def _elicit_params(revision: str) -> SearchStrategy[dict[str, Any]]:
    form = _build(message=_texts, requestedSchema=_elicit_schema(), _meta=_meta(),
                  mode=_maybe(st.just("form")) if revision >= "2025-11-25" else st.just(_ABSENT))
    if revision < "2025-11-25":
        return form
    url = _build(mode=st.just("url"), message=_texts, url=_uris, elicitationId=_names,
                 _meta=_meta())
    return st.one_of(form, url)


def _complete_params(revision: str) -> SearchStrategy[dict[str, Any]]:
    ref = st.one_of(
        st.builds(lambda n: {"type": "ref/prompt", "name": n}, _names),
        st.builds(lambda u: {"type": "ref/resource", "uri": u + "/{x}"}, _uris),
    )
    context: SearchStrategy[Any] = st.just(_ABSENT)
    if revision >= "2025-06-18":
        context = _maybe(_build(arguments=_maybe(st.dictionaries(_names, _texts, max_size=2))))
    return _build(ref=ref, argument=st.builds(lambda n, v: {"name": n, "value": v}, _names, _texts),
                  context=context, _meta=_meta())


def _subscription_filter() -> SearchStrategy[dict[str, Any]]:
    flag = _maybe(st.booleans())
    return _build(toolsListChanged=flag, promptsListChanged=flag, resourcesListChanged=flag,
                  resourceSubscriptions=_maybe(st.lists(_uris, max_size=2)))


def _mrtr_params(revision: str, **fields: SearchStrategy[Any]) -> SearchStrategy[dict[str, Any]]:
    """Params of a request that may answer ``input_required``: in 2026-07-28 a retry may echo a
    ``requestState`` (never ``inputResponses``: those answer a specific earlier result)."""
    if _modern(revision):
        fields["requestState"] = _maybe(_names)
    return _build(**fields, _meta=_meta())


_ParamsFactory = Callable[[str], SearchStrategy[Any]]

_REQUEST_PARAMS: dict[str, _ParamsFactory] = {
    "initialize": initialize_params,
    "ping": lambda r: _empty_params(),
    "resources/list": lambda r: _paginated(),
    "resources/templates/list": lambda r: _paginated(),
    "prompts/list": lambda r: _paginated(),
    "tools/list": lambda r: _paginated(),
    "tasks/list": lambda r: _paginated(),
    "resources/read": lambda r: _mrtr_params(r, uri=_uris),
    "resources/subscribe": lambda r: _build(uri=_uris, _meta=_meta()),
    "resources/unsubscribe": lambda r: _build(uri=_uris, _meta=_meta()),
    "prompts/get": lambda r: _mrtr_params(
        r, name=_names, arguments=_maybe(st.dictionaries(_names, _texts, max_size=3))),
    "tools/call": lambda r: _mrtr_params(r, name=_names, arguments=_maybe(json_objects())),
    "tasks/get": lambda r: _build(taskId=_names),
    "tasks/result": lambda r: _build(taskId=_names),
    "tasks/cancel": lambda r: _build(taskId=_names),
    "logging/setLevel": lambda r: _build(level=st.sampled_from(_LOG_LEVELS), _meta=_meta()),
    "completion/complete": _complete_params,
    "sampling/createMessage": _sampling_params,
    "roots/list": lambda r: _empty_params(),
    "elicitation/create": _elicit_params,
    "server/discover": lambda r: _empty_params(),
    "subscriptions/listen": lambda r: _build(notifications=_subscription_filter()),
}


def _progress_params(revision: str) -> SearchStrategy[dict[str, Any]]:
    number = st.one_of(st.integers(0, 10**6), st.floats(0, 1e6))
    return _build(progressToken=request_ids(), progress=number, total=_maybe(number),
                  message=_maybe(_texts) if revision >= "2025-03-26" else st.just(_ABSENT))


_NOTIFICATION_PARAMS: dict[str, _ParamsFactory] = {
    "notifications/initialized": lambda r: _empty_params(),
    "notifications/cancelled": lambda r: _build(requestId=request_ids(), reason=_maybe(_texts)),
    "notifications/progress": _progress_params,
    "notifications/roots/list_changed": lambda r: _empty_params(),
    "notifications/resources/list_changed": lambda r: _empty_params(),
    "notifications/prompts/list_changed": lambda r: _empty_params(),
    "notifications/tools/list_changed": lambda r: _empty_params(),
    "notifications/resources/updated": lambda r: _build(uri=_uris, _meta=_meta()),
    "notifications/message": lambda r: _build(
        level=st.sampled_from(_LOG_LEVELS), data=json_values(max_depth=3),
        logger=_maybe(_names), _meta=_meta()),
    "notifications/tasks/status": lambda r: _task(),
    "notifications/elicitation/complete": lambda r: _build(elicitationId=_names),
    "notifications/subscriptions/acknowledged": lambda r: _build(
        notifications=_subscription_filter(),
        _meta=_maybe(st.builds(lambda i: {META_SUBSCRIPTION_ID: i}, request_ids()))),
}


def _listing(key: str, item: SearchStrategy[dict[str, Any]]) -> SearchStrategy[dict[str, Any]]:
    return _build(**{key: st.lists(item, max_size=3)}, nextCursor=_maybe(_texts), _meta=_meta())


def _tool(revision: str) -> SearchStrategy[dict[str, Any]]:
    schema = st.builds(lambda props: {"type": "object", "properties": props},
                       st.dictionaries(_names, st.just({"type": "string"}), max_size=2))
    fields: dict[str, SearchStrategy[Any]] = {
        "name": _names, "description": _maybe(_texts), "inputSchema": schema}
    if revision >= "2025-03-26":
        fields["annotations"] = _maybe(_build(readOnlyHint=_maybe(st.booleans()),
                                              title=_maybe(_texts)))
    if revision >= "2025-06-18":
        fields["title"] = _maybe(_texts)
        fields["outputSchema"] = _maybe(schema)
    return _build(**fields)


def _call_tool_result(revision: str) -> SearchStrategy[dict[str, Any]]:
    return _build(
        content=st.lists(_content_blocks(revision), max_size=3),
        isError=_maybe(st.booleans()),
        structuredContent=_maybe(json_objects()) if revision >= "2025-06-18"
        else st.just(_ABSENT),
        _meta=_meta())


def _elicit_result() -> SearchStrategy[dict[str, Any]]:
    value = st.one_of(_texts, st.integers(-(10**6), 10**6), st.booleans())
    return st.one_of(
        _build(action=st.just("accept"),
               content=_maybe(st.dictionaries(_names, value, max_size=3))),
        st.builds(lambda a: {"action": a}, st.sampled_from(["decline", "cancel"])),
    )


def _empty_result() -> SearchStrategy[dict[str, Any]]:
    return _build(_meta=_meta())


_RESULTS: dict[str, _ParamsFactory] = {
    "initialize": initialize_results,
    "ping": lambda r: _empty_result(),
    "resources/subscribe": lambda r: _empty_result(),
    "resources/unsubscribe": lambda r: _empty_result(),
    "logging/setLevel": lambda r: _empty_result(),
    "resources/list": lambda r: _listing("resources", _build(
        uri=_uris, name=_names, mimeType=_maybe(_mime), description=_maybe(_texts))),
    "resources/templates/list": lambda r: _listing("resourceTemplates", _build(
        uriTemplate=_uris.map(lambda u: u + "/{x}"), name=_names, mimeType=_maybe(_mime))),
    "resources/read": lambda r: _build(contents=st.lists(_resource_contents(), max_size=3)),
    "prompts/list": lambda r: _listing("prompts", _build(
        name=_names, description=_maybe(_texts),
        arguments=_maybe(st.lists(_build(name=_names, required=_maybe(st.booleans())),
                                  max_size=2)))),
    "prompts/get": lambda r: _build(
        description=_maybe(_texts),
        messages=st.lists(st.builds(lambda role, c: {"role": role, "content": c},
                                    st.sampled_from(["user", "assistant"]), _content_blocks(r)),
                          max_size=3)),
    "tools/list": lambda r: _listing("tools", _tool(r)),
    "tools/call": _call_tool_result,
    "completion/complete": lambda r: st.builds(
        lambda values, extra: {"completion": {"values": values, **extra}},
        st.lists(_texts, max_size=5),
        _build(total=_maybe(st.integers(0, 1000)), hasMore=_maybe(st.booleans()))),
    "sampling/createMessage": lambda r: _build(
        role=st.just("assistant"), content=_content_blocks(r, sampling=True), model=_names,
        stopReason=_maybe(st.sampled_from(["endTurn", "stopSequence", "maxTokens"]))),
    "roots/list": lambda r: _build(roots=st.lists(_build(uri=_uris.map(
        lambda u: "file:///" + u.rsplit("/", 1)[-1]), name=_maybe(_names)), max_size=3)),
    "elicitation/create": lambda r: _elicit_result(),
    "tasks/get": lambda r: _task(),
    "tasks/cancel": lambda r: _task(),
    "tasks/result": lambda r: json_objects(),
    "tasks/list": lambda r: _listing("tasks", _task()),
    "server/discover": lambda r: _build(
        supportedVersions=st.lists(st.sampled_from(SUPPORTED_VERSIONS), min_size=1,
                                   unique=True).map(lambda v: sorted(v, reverse=True)),
        capabilities=server_capabilities(r), instructions=_maybe(_texts)),
    "subscriptions/listen": lambda r: st.just({}),
}


# ---------------------------------------------------------------------------- the stateless era

_MRTR_METHODS = frozenset({"tools/call", "prompts/get", "resources/read"})
_TRACE_KEYS = ("traceparent", "tracestate", "baggage")


def request_metas(
    revision: str = STATELESS_VERSIONS[-1],
    *,
    client_capabilities: SearchStrategy[dict[str, JSON]] | None = None,
    progress_tokens: bool = False,
) -> SearchStrategy[dict[str, JSON]]:
    """Valid per-request ``_meta`` objects of a stateless-era request.

    ``io.modelcontextprotocol/protocolVersion`` (``revision``) and
    ``io.modelcontextprotocol/clientCapabilities`` always; ``clientInfo``, ``logLevel`` and
    W3C trace context keys (``traceparent``, ``tracestate``, ``baggage``) sometimes.

    Args:
        client_capabilities: the capabilities to declare (default
            :func:`client_capabilities` of ``revision``).
        progress_tokens: also draw a ``progressToken`` sometimes.

    Raises:
        ValueError: ``revision`` is not a stateless-era revision.
    """
    _check_modern(revision)
    trace = st.text(string.hexdigits.lower()[:16], min_size=32, max_size=32).map(
        lambda t: f"00-{t}-{t[:16]}-01")
    fields: dict[str, SearchStrategy[Any]] = {
        META_PROTOCOL_VERSION: st.just(revision),
        META_CLIENT_CAPABILITIES: client_capabilities if client_capabilities is not None
        else client_capabilities_of(revision),
        META_CLIENT_INFO: _maybe(implementations(revision)),
        META_LOG_LEVEL: _maybe(st.sampled_from(_LOG_LEVELS)),
        _TRACE_KEYS[0]: _maybe(trace),
        _TRACE_KEYS[1]: _maybe(st.just("vendor=value")),
        _TRACE_KEYS[2]: _maybe(st.just("user=alice")),
    }
    if progress_tokens:
        fields[META_PROGRESS_TOKEN] = _maybe(request_ids())
    return _build(**fields)


client_capabilities_of = client_capabilities  # the name request_metas' keyword shadows


def _result_extras(method: str) -> SearchStrategy[dict[str, Any]]:
    """What a stateless-era server adds to a complete result of ``method``."""
    from .._stateless import CACHEABLE

    info = _maybe(implementations(STATELESS_VERSIONS[-1]).map(
        lambda i: {META_SERVER_INFO: i}))
    if method == "subscriptions/listen":
        meta: SearchStrategy[Any] = st.builds(
            lambda i, extra: {META_SUBSCRIPTION_ID: i, **extra}, request_ids(),
            _maybe(implementations(STATELESS_VERSIONS[-1])).map(
                lambda i: {} if i is _ABSENT else {META_SERVER_INFO: i}))
    else:
        meta = info
    cache: dict[str, SearchStrategy[Any]] = {}
    if method in CACHEABLE:
        cache = {"ttlMs": st.integers(0, 10**7),
                 "cacheScope": st.sampled_from(["private", "public"])}
    return _build(resultType=st.just("complete"), _meta=meta, **cache)


def _input_requests(revision: str) -> SearchStrategy[dict[str, Any]]:
    def strip(params: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in params.items() if k not in ("_meta", "elicitationId", "metadata")}

    one = st.one_of(
        _sampling_params(revision).map(
            lambda p: {"method": "sampling/createMessage", "params": strip(p)}),
        st.just({"method": "roots/list"}),
        _elicit_params(revision).map(
            lambda p: {"method": "elicitation/create", "params": strip(p)}),
    )
    return st.dictionaries(_names, one, min_size=1, max_size=3)


def input_required_results(revision: str = STATELESS_VERSIONS[-1]
                           ) -> SearchStrategy[dict[str, JSON]]:
    """``InputRequiredResult`` objects (``resultType: "input_required"``), the answer a
    stateless-era server may give to ``tools/call``, ``prompts/get`` and ``resources/read``.

    They hold ``inputRequests`` (sampling, roots and elicitation requests, keyed by a
    server-chosen name), a ``requestState``, or both. Sending one through a server engine
    needs the request to declare the client capabilities its input requests use (sampling
    with tools needs ``sampling.tools``, URL elicitation ``elicitation.url``).

    Raises:
        ValueError: ``revision`` is not a stateless-era revision.
    """
    _check_modern(revision)
    return st.one_of(
        _build(resultType=st.just("input_required"), inputRequests=_input_requests(revision),
               requestState=_maybe(_names)),
        _build(resultType=st.just("input_required"), requestState=_names),
    )


def invalid_modern_requests(revision: str = STATELESS_VERSIONS[-1]
                            ) -> SearchStrategy[tuple[dict[str, JSON], int]]:
    """Misbehaving stateless-era requests, each with the error code a server already in the
    stateless era answers it with: ``(frame, code)``.

    * ``-32602``: ``params`` or ``_meta`` missing or not an object, ``protocolVersion`` or
      ``clientCapabilities`` missing or ill-typed, a ``clientInfo`` without name/version,
      an unknown ``logLevel``;
    * ``-32022``: a ``protocolVersion`` the server does not support (a handshake-era
      revision or a made-up one);
    * ``-32601``: a method the revision removed (``ping``, ``initialize``,
      ``logging/setLevel``, ``resources/subscribe``/``unsubscribe``, ``tasks/*``). (A method
      MCP does not know at all is an extension: the engine hands it over as a request.)

    Raises:
        ValueError: ``revision`` is not a stateless-era revision.
    """
    _check_modern(revision)
    from .. import types

    live = sorted(types.methods_for(types.CLIENT_REQUESTS, revision) & set(_REQUEST_PARAMS))
    removed = sorted(set(types.CLIENT_REQUESTS) - set(live))

    def frame(rid: Any, method: str, params: Any) -> dict[str, Any]:
        return _obj(jsonrpc="2.0", id=rid, method=method, params=params)

    good: SearchStrategy[tuple[str, Any]] = st.sampled_from(live).flatmap(
        lambda m: st.tuples(st.just(m), mcp_params(m, revision)))
    wrong = st.one_of(st.none(), st.booleans(), _ints, st.text(max_size=4),
                      st.lists(_ints, max_size=2))

    def bad_meta(call: tuple[str, dict[str, Any]], key: str, value: Any) -> dict[str, Any]:
        meta = dict(call[1]["_meta"])
        if value is _ABSENT:
            meta.pop(key, None)
        else:
            meta[key] = value
        return {**call[1], "_meta": meta}

    flaws: list[SearchStrategy[tuple[str, Any, int]]] = [
        # no params at all, or params without _meta, or a _meta that is not an object
        good.map(lambda c: (c[0], _ABSENT, -32602)),
        good.map(lambda c: (c[0], {k: v for k, v in c[1].items() if k != "_meta"}, -32602)),
        st.tuples(good, wrong.filter(lambda v: v is not None)).map(
            lambda cw: (cw[0][0], {**cw[0][1], "_meta": cw[1]}, -32602)),
        st.tuples(good, st.one_of(st.just(_ABSENT), wrong.filter(lambda v: v is not None))).map(
            lambda cv: (cv[0][0], bad_meta(cv[0], META_CLIENT_CAPABILITIES, cv[1]), -32602)),
        st.tuples(good, st.one_of(wrong.filter(lambda v: v is not None),
                                  st.just({"name": "x"}))).map(
            lambda cv: (cv[0][0], bad_meta(cv[0], META_CLIENT_INFO, cv[1]), -32602)),
        st.tuples(good, st.one_of(st.sampled_from(["verbose", "INFO", ""]), _ints)).map(
            lambda cv: (cv[0][0], bad_meta(cv[0], META_LOG_LEVEL, cv[1]), -32602)),
        st.tuples(good, st.one_of(st.sampled_from(HANDSHAKE_VERSIONS),
                                  st.sampled_from(["2099-01-01", "", "latest"]))).map(
            lambda cv: (cv[0][0], bad_meta(cv[0], META_PROTOCOL_VERSION, cv[1]), -32022)),
        st.tuples(st.sampled_from(removed) if removed else st.nothing(),
                  request_metas(revision)).map(
            lambda mm: (mm[0], {"_meta": mm[1]}, -32601)),
    ]
    return st.tuples(request_ids(), st.one_of(flaws)).map(
        lambda r: (frame(r[0], r[1][0], r[1][1]), r[1][2]))


def invalid_modern_results(method: str, revision: str = STATELESS_VERSIONS[-1]
                           ) -> SearchStrategy[dict[str, JSON]]:
    """Results of ``method`` a stateless-era client must not accept as complete: an unknown
    or ill-typed ``resultType`` (a client finishes the request with a non-fatal
    :class:`~sansio.RemoteProtocolError`).

    Raises:
        ValueError: no strategy is known for ``method``, or ``revision`` is not stateless.
    """
    _check_modern(revision)
    bad = st.one_of(st.sampled_from(["partial", "Complete", "", "input-required"]),
                    _ints, st.booleans(), st.lists(_ints, max_size=1))
    return st.tuples(mcp_results(method, revision), bad).map(
        lambda rb: {**rb[0], "resultType": rb[1]})


# ---------------------------------------------------------------------------- MCP messages


def _tables(direction: Direction, kind: Literal["request", "notification"]) -> Any:
    from .. import types  # imported late: a missing sansio.types must not break this module

    if kind == "request":
        return types.CLIENT_REQUESTS if direction == "client" else types.SERVER_REQUESTS
    return types.CLIENT_NOTIFICATIONS if direction == "client" else types.SERVER_NOTIFICATIONS


def mcp_methods(
    revision: str,
    direction: Direction = "client",
    kind: Literal["request", "notification"] = "request",
) -> tuple[str, ...]:
    """The methods of ``kind`` that ``direction`` sends in ``revision`` (a plain function).

    Taken from :mod:`sansio.types` (``CLIENT_REQUESTS`` and friends), restricted by each
    method's ``since``/``until``, and to the methods these strategies can build params for.

    Raises:
        ValueError: ``revision`` is not supported, or ``direction`` is unknown.
    """
    _check_revision(revision)
    if direction not in ("client", "server"):
        raise ValueError(f"direction must be 'client' or 'server', not {direction!r}")
    known = _REQUEST_PARAMS if kind == "request" else _NOTIFICATION_PARAMS
    out = []
    for method, spec in _tables(direction, kind).items():
        if spec.since <= revision and (spec.until is None or revision <= spec.until) \
                and method in known:
            out.append(method)
    return tuple(sorted(out))


def mcp_params(method: str, revision: str) -> SearchStrategy[dict[str, JSON] | None]:
    """Params valid for ``method`` in ``revision`` (``None``: the params key is left out).

    ``_meta`` never carries a ``progressToken`` (pass ``progress_token=`` to ``send_request``
    for that), and requests are never task-augmented (no ``task`` member), so that
    :func:`mcp_results` fits their answers. ``sampling/createMessage`` may carry ``tools``
    (2025-11-25), which needs the client's ``sampling.tools`` capability; ``elicitation/create``
    may use URL mode (2025-11-25), which needs ``elicitation.url``.

    In 2026-07-28 every request's params are present and carry a valid per-request ``_meta``
    (:func:`request_metas`, without a ``progressToken``), which replaces any other ``_meta``.

    Raises:
        ValueError: no strategy is known for ``method``, or ``revision`` is not supported.
    """
    _check_revision(revision)
    factory = _REQUEST_PARAMS.get(method) or _NOTIFICATION_PARAMS.get(method)
    if factory is None:
        raise ValueError(f"no params strategy for {method!r}")
    if _modern(revision) and method in _REQUEST_PARAMS:
        return st.tuples(factory(revision), request_metas(revision)).map(
            lambda pm: {**(pm[0] or {}), "_meta": pm[1]})
    return factory(revision)


def mcp_results(method: str, revision: str, *, input_required: bool = False
                ) -> SearchStrategy[dict[str, JSON]]:
    """Results valid for requests of ``method`` in ``revision``.

    In 2026-07-28 they are complete results as a server writes them: ``resultType:
    "complete"``, ``ttlMs`` and ``cacheScope`` for the cacheable methods (``server/discover``,
    the listings, ``resources/read``), and sometimes ``_meta``
    ``io.modelcontextprotocol/serverInfo``.

    Args:
        input_required: for a method that may ask for input in ``revision`` (``tools/call``,
            ``prompts/get``, ``resources/read`` in 2026-07-28), also draw
            :func:`input_required_results`.

    Raises:
        ValueError: no strategy is known for ``method``, or ``revision`` is not supported.
    """
    _check_revision(revision)
    factory = _RESULTS.get(method)
    if factory is None:
        raise ValueError(f"no result strategy for {method!r}")
    if not _modern(revision):
        return factory(revision)
    complete = st.tuples(factory(revision), _result_extras(method)).map(
        lambda re: {**{k: v for k, v in re[0].items() if k != "_meta"}, **re[1]})
    if input_required and method in _MRTR_METHODS:
        return st.one_of(complete, input_required_results(revision))
    return complete


def mcp_calls(
    revision: str,
    direction: Direction = "client",
    *,
    methods: Iterable[str] | None = None,
    include_initialize: bool = False,
) -> SearchStrategy[tuple[str, dict[str, JSON] | None]]:
    """``(method, params)`` pairs, ready for :meth:`sansio.Connection.send_request`.

    Args:
        revision: the negotiated revision.
        direction: who sends the requests.
        methods: restrict to these methods (default: every request method of ``direction``
            that exists in ``revision``).
        include_initialize: also draw ``initialize`` (left out by default: it is sent once).
    """
    allowed = mcp_methods(revision, direction, "request")
    chosen = [m for m in (methods if methods is not None else allowed) if m in allowed]
    if not include_initialize:
        chosen = [m for m in chosen if m != "initialize"]
    if not chosen:
        raise ValueError(f"no request methods left for {direction} in {revision}")
    return st.sampled_from(chosen).flatmap(
        lambda m: st.tuples(st.just(m), mcp_params(m, revision)))


def mcp_requests(
    revision: str,
    direction: Direction = "client",
    *,
    methods: Iterable[str] | None = None,
    ids: SearchStrategy[int | str] | None = None,
    include_initialize: bool = False,
) -> SearchStrategy[dict[str, JSON]]:
    """Valid MCP request frames (dicts) that ``direction`` may send in ``revision``.

    See :func:`mcp_calls` for the arguments; ``ids`` defaults to :func:`request_ids`. In
    2026-07-28, their ``_meta`` is :func:`request_metas` (a ``progressToken`` sometimes).
    """
    if _modern(revision):
        return st.builds(
            lambda call, i, meta: _obj(jsonrpc="2.0", id=i, method=call[0],
                                       params={**(call[1] or {}), "_meta": meta}),
            mcp_calls(revision, direction, methods=methods,
                      include_initialize=include_initialize),
            ids if ids is not None else request_ids(),
            request_metas(revision, progress_tokens=True))
    return st.builds(
        lambda call, i: _obj(jsonrpc="2.0", id=i, method=call[0],
                             params=_ABSENT if call[1] is None else call[1]),
        mcp_calls(revision, direction, methods=methods, include_initialize=include_initialize),
        ids if ids is not None else request_ids(),
    )


def mcp_notifications(
    revision: str,
    direction: Direction = "client",
    *,
    methods: Iterable[str] | None = None,
) -> SearchStrategy[dict[str, JSON]]:
    """Valid MCP notification frames (dicts) that ``direction`` may send in ``revision``.

    Args:
        methods: restrict to these methods (default: every notification of ``direction`` in
            ``revision``, ``notifications/initialized`` included).
    """
    allowed = mcp_methods(revision, direction, "notification")
    chosen = [m for m in (methods if methods is not None else allowed) if m in allowed]
    if not chosen:
        raise ValueError(f"no notification methods left for {direction} in {revision}")
    return st.sampled_from(chosen).flatmap(
        lambda m: mcp_params(m, revision).map(
            lambda p: _obj(jsonrpc="2.0", method=m, params=_ABSENT if p is None else p)))


# ---------------------------------------------------------------------------- invalid input


def deeply_nested(depth: int, *, leaf: JSON = 0) -> JSON:
    """A value nesting ``depth`` arrays/objects (a plain function, no recursion)."""
    value: JSON = leaf
    for i in range(depth):
        value = [value] if i % 2 else {"a": value}
    return value


def invalid_messages(*, max_depth: int = 64) -> SearchStrategy[JSON]:
    """Decoded JSON values that are not valid JSON-RPC messages as MCP restricts them.

    Wrong ``jsonrpc``, bool/float/null/structured ids, non-object params, non-object messages,
    responses with both ``result`` and ``error`` (or neither), bad error objects, non-object
    results, non-string methods, and values nested deeper than ``max_depth``.
    """
    bad_ids: SearchStrategy[Any] = st.one_of(
        st.booleans(), _floats,
        st.none(), st.lists(_ints, max_size=2), st.just({}))
    non_objects = st.one_of(json_scalars(), st.lists(json_scalars(), max_size=3))
    method = method_names()
    return st.one_of(
        non_objects,
        st.just({}),
        st.builds(lambda v, m: {"jsonrpc": v, "id": 1, "method": m},
                  st.one_of(st.sampled_from(["1.0", "2", "2.0 ", ""]), st.none(),
                            _ints, _floats), method),
        st.builds(lambda m: {"id": 1, "method": m}, method),
        st.builds(lambda i, m: {"jsonrpc": "2.0", "id": i, "method": m}, bad_ids, method),
        st.builds(lambda i, m, p: {"jsonrpc": "2.0", "id": i, "method": m, "params": p},
                  request_ids(), method, non_objects),
        st.builds(lambda m, p: {"jsonrpc": "2.0", "method": m, "params": p}, method, non_objects),
        st.builds(lambda i, m: {"jsonrpc": "2.0", "id": i, "method": m},
                  request_ids(), json_scalars().filter(lambda v: not isinstance(v, str))),
        st.builds(lambda i, r, e: {"jsonrpc": "2.0", "id": i, "result": r, "error": e},
                  request_ids(), json_objects(max_depth=2),
                  st.just({"code": -32603, "message": "x"})),
        st.builds(lambda i, r: {"jsonrpc": "2.0", "id": i, "result": r}, bad_ids, json_objects()),
        st.builds(lambda i, r: {"jsonrpc": "2.0", "id": i, "result": r}, request_ids(),
                  non_objects),
        st.builds(lambda i, e: {"jsonrpc": "2.0", "id": i, "error": e},
                  st.one_of(request_ids(), bad_ids), json_values(max_depth=2)),
        st.builds(lambda i, c, m: {"jsonrpc": "2.0", "id": i, "error": {"code": c, "message": m}},
                  request_ids(), st.one_of(_floats, st.text(max_size=3), st.none()),
                  st.one_of(_ints, st.none())),
        st.builds(lambda i, v: {"jsonrpc": v, "id": i, "result": {}}, request_ids(),
                  st.sampled_from(["1.0", None, 2])),
        st.integers(max_depth + 1, max_depth + 40).map(
            lambda d: {"jsonrpc": "2.0", "id": 1, "method": "ping",
                       "params": {"x": deeply_nested(d)}}),
        st.builds(deeply_nested, st.integers(max_depth + 1, max_depth + 40)),
    )


def batches(revision: str = "2025-03-26", direction: Direction = "client"
            ) -> SearchStrategy[list[dict[str, JSON]]]:
    """JSON-RPC batches (arrays of requests and notifications) of MCP messages.

    They are valid only in 2025-03-26 (:data:`sansio.versions.BATCH_VERSIONS`); in any other
    revision a batch is an invalid request.
    """
    items = st.one_of(mcp_requests(revision, direction),
                      mcp_notifications(revision, direction).filter(
                          lambda n: n["method"] != "notifications/initialized"))
    return st.lists(items, min_size=1, max_size=4)


def not_json() -> SearchStrategy[bytes]:
    """Byte strings (without newlines) that are not one valid JSON text."""
    samples = [
        b"{", b"}", b"[", b"nul", b"tru", b"{'a': 1}", b"[1,]", b'{"a":1,}', b"NaN",
        b"Infinity", b"-Infinity", b"1e999", b"-1e999", b"{}x", b"{} {}", b'"\\x"',
        b'"\\u12"', b'{"jsonrpc":"2.0",', b"\x00", b'"\\ud800"', b'{"id":"\\udfff"}',
        b'{"jsonrpc":"2.0","id":"\\ud800","method":5}',
        b'{"jsonrpc":"2.0","id":"\\udc00","method":"ping","params":[]}',
        b"\xef\xbb\xbf{}",
    ]
    return st.one_of(
        st.sampled_from(samples),
        st.binary(max_size=40).map(lambda b: b.replace(b"\n", b"")),
        st.text(max_size=20).map(lambda t: ("{" + t).replace("\n", "").encode("utf-8")),
    )


def invalid_utf8() -> SearchStrategy[bytes]:
    """NDJSON-shaped byte strings (without newlines) that are not valid UTF-8."""
    bad = st.sampled_from([b"\xff", b"\xc0\xaf", b"\xed\xa0\x80", b"\xf8\x88\x80\x80\x80",
                           b"\xe2\x82", b"\x80", b"\xf4\x90\x80\x80"])
    return st.builds(
        lambda prefix, b: b'{"jsonrpc":"2.0","id":1,"method":"' + prefix + b + b'"}',
        st.sampled_from([b"", b"ping", b"tools/"]), bad)


def oversized_frames(max_frame_size: int) -> SearchStrategy[bytes]:
    """Valid-looking request lines longer than ``max_frame_size`` bytes."""
    def make(extra: int) -> bytes:
        pad = "x" * (max_frame_size + extra)
        return encode_frame({"jsonrpc": "2.0", "id": 1, "method": "ping",
                             "params": {"_meta": {"pad": pad}}})
    return st.integers(1, 64).map(make)


def invalid_frames(*, max_depth: int = 64, include_batches: bool = True
                   ) -> SearchStrategy[bytes]:
    """NDJSON lines an engine must refuse (in every revision but 2025-03-26 for batches).

    Not JSON, not UTF-8, not a valid JSON-RPC message (:func:`invalid_messages`), nested too
    deep for ``max_depth``, and (``include_batches``) JSON-RPC batches.
    """
    kinds = [
        not_json().map(lambda b: b + b"\n"),
        invalid_utf8().map(lambda b: b + b"\n"),
        ndjson(invalid_messages(max_depth=max_depth)),
        st.integers(max_depth + 1, max_depth + 200).map(
            lambda d: b"[" * d + b"]" * d + b"\n"),
    ]
    if include_batches:
        kinds.append(ndjson(batches()))
    return st.one_of(kinds)


def ndjson_chunks(frames: bytes | Sequence[bytes], *, max_chunks: int = 16
                  ) -> SearchStrategy[list[bytes]]:
    """Cut a byte stream (or the concatenation of ``frames``) into arbitrary non-empty chunks.

    Joining the chunks gives the stream back; cuts fall anywhere, including inside a UTF-8
    sequence or right after a newline.
    """
    data = frames if isinstance(frames, (bytes, bytearray)) else b"".join(frames)
    data = bytes(data)
    if len(data) <= 1:
        return st.just([data] if data else [])

    def cut(points: set[int]) -> list[bytes]:
        edges = [0, *sorted(points), len(data)]
        return [data[a:b] for a, b in itertools.pairwise(edges)]

    return st.sets(st.integers(1, len(data) - 1), max_size=max_chunks).map(cut)
