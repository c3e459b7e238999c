"""The ``initialize`` negotiation of the handshake era (2024-11-05 ... 2025-11-25).

https://modelcontextprotocol.io/specification/2025-11-25/basic/lifecycle

:class:`HandshakeMixin` holds the engine's side of it: a server judging the client's
``initialize`` and negotiating the version (:meth:`HandshakeMixin._on_initialize`), a client
judging the server's result (:meth:`HandshakeMixin._on_initialize_result`), and the checks of
what either side sends (the client's params, the server's result). Which messages move the
lifecycle is :data:`sansio.state.MESSAGE_TRIGGERS`; this module only reads and writes the
handshake facts (versions, peer info, capabilities).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ._core import INITIALIZE, EngineCore
from ._requests import Batch, Incoming, progress_token_of
from .errors import ErrorCode, LocalProtocolError
from .events import Initialized, InitializeRequested
from .jsonrpc import RequestId
from .state import Trigger
from .types import TypeValidationError, structure
from .versions import negotiate

__all__ = ["HandshakeMixin"]


class HandshakeMixin(EngineCore):
    """The handshake-era negotiation, for both roles."""

    __slots__ = ()

    def _on_initialize(self, rid: RequestId, params: dict[str, Any] | None,
                       batch: Batch | None) -> None:
        """(Server) The client's ``initialize``: negotiate the version; -> INITIALIZING."""
        if batch is not None or not self._lifecycle.can(Trigger.RECV_INITIALIZE):
            raise self._refuse("initialize may be sent only once, first, and not in a batch",
                               ErrorCode.INVALID_REQUEST, rid, answer=True)
        spec = self._peer_requests[INITIALIZE]
        self._check_params(spec, params, rid, answer=True)
        assert params is not None
        requested = params.get("protocolVersion")
        if requested.__class__ is not str:
            raise self._refuse("initialize: protocolVersion must be a string",
                               ErrorCode.INVALID_PARAMS, rid, answer=True)
        client_info = params.get("clientInfo")
        caps = params.get("capabilities")
        if client_info.__class__ is not dict or caps.__class__ is not dict:
            raise self._refuse("initialize: clientInfo and capabilities must be objects",
                               ErrorCode.INVALID_PARAMS, rid, answer=True)
        offered = negotiate(requested, self._handshake_versions)
        self._lifecycle.process(Trigger.RECV_INITIALIZE)
        self._offered_version = offered
        self._init_id = rid
        self._peer_info = client_info
        self._peer_caps = caps
        token = progress_token_of(params)
        self._requests.add_serving(rid, Incoming(INITIALIZE, token, None))
        self._events.append(InitializeRequested(
            request_id=rid, params=params, requested_version=requested,
            protocol_version=offered, client_info=client_info, capabilities=caps))

    def _on_initialize_result(self, rid: RequestId, result: dict[str, Any]) -> None:
        """(Client) The server's ``initialize`` result: check the version; -> INITIALIZED."""
        spec = self._our_requests[INITIALIZE]
        assert spec.result is not None
        try:
            structure(result, spec.result)
        except TypeValidationError as exc:
            self._fail(f"invalid initialize result: {'; '.join(exc.errors)}",
                       ErrorCode.INVALID_PARAMS, rid)
        version = result["protocolVersion"]
        if version not in self._handshake_versions:
            self._fail(
                f"the server chose protocol version {version!r}, which this client does not "
                f"support (supported: {', '.join(self._handshake_versions)})",
                ErrorCode.UNSUPPORTED_PROTOCOL_VERSION, rid)
        self._lifecycle.process(Trigger.RECV_INITIALIZE_RESULT)
        self._version = version
        self._peer_info = result["serverInfo"]
        self._peer_caps = result["capabilities"]
        instructions = result.get("instructions")
        self._instructions = instructions if instructions.__class__ is str else None
        assert self._peer_info is not None and self._peer_caps is not None
        self._events.append(Initialized(
            protocol_version=version, peer_info=self._peer_info,
            peer_capabilities=self._peer_caps, instructions=self._instructions,
            request_id=rid, result=result))

    def _check_initialize_params(self, payload: dict[str, Any] | None) -> None:
        """(Client) Refuse ``initialize`` params this connection cannot send."""
        if payload is None:
            raise LocalProtocolError("initialize needs params")
        version = payload.get("protocolVersion")
        if version not in self._handshake_versions:
            raise LocalProtocolError(
                f"initialize: protocolVersion {version!r} is not one this connection supports "
                f"({', '.join(self._handshake_versions)})")
        if not isinstance(payload.get("capabilities"), dict) or not isinstance(
                payload.get("clientInfo"), dict):
            raise LocalProtocolError("initialize: capabilities and clientInfo must be objects")

    def _initialize_result(self, payload: dict[str, Any]) -> dict[str, Any]:
        """(Server) Complete and check the ``initialize`` result about to be sent."""
        payload = dict(payload)
        version = payload.setdefault("protocolVersion", self._offered_version)
        if version not in self._handshake_versions:
            raise LocalProtocolError(
                f"initialize result: protocolVersion {version!r} is not supported here")
        payload.setdefault("capabilities", {})
        if not isinstance(payload["capabilities"], dict):
            raise LocalProtocolError("initialize result: capabilities must be an object")
        if not isinstance(payload.get("serverInfo"), dict):
            raise LocalProtocolError("initialize result: serverInfo (an object) is required")
        return payload

    def _initialize_params(self, client_info: Any, capabilities: Any,
                           protocol_version: str | None,
                           meta: Mapping[str, Any] | None) -> dict[str, Any]:
        """(Client) The params of ``initialize`` (see :meth:`sansio.Connection.send_initialize`)."""
        params: dict[str, Any] = {
            "protocolVersion": protocol_version or self._handshake_versions[-1],
            "capabilities": self._payload(capabilities) or {},
            "clientInfo": self._payload(client_info),
        }
        if meta is not None:
            params["_meta"] = dict(meta)
        return params

    def _initialize_answer(self, server_info: Any, capabilities: Any,
                           instructions: str | None,
                           meta: Mapping[str, Any] | None) -> dict[str, Any]:
        """(Server) The result of ``initialize``, with the negotiated version."""
        result: dict[str, Any] = {
            "protocolVersion": self._offered_version,
            "capabilities": self._payload(capabilities) or {},
            "serverInfo": self._payload(server_info),
        }
        if instructions is not None:
            result["instructions"] = instructions
        if meta is not None:
            result["_meta"] = dict(meta)
        return result
