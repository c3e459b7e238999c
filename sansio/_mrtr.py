"""The engine's side of multi round-trip requests (MRTR, 2026-07-28): ``input_required``.

:mod:`sansio.mrtr` has the pieces a server uses to keep ``requestState`` honest; this module is
what :class:`sansio.Connection` does with the rounds: a client receiving an ``input_required``
result (:meth:`MrtrMixin._on_input_required`, an :class:`~sansio.events.InputRequired` event), a
client building a retry's params (:meth:`MrtrMixin._retry_payload`), and a server's checks of
the ``input_required`` result it sends (:meth:`MrtrMixin._input_required_result`). The engine
keeps nothing between rounds.

https://modelcontextprotocol.io/specification/2026-07-28/basic/utilities/mrtr
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from ._core import EngineCore
from ._requests import Outgoing
from .errors import ErrorCode, LocalProtocolError, RemoteProtocolError
from .events import InputRequired as InputRequiredEvent
from .jsonrpc import RequestId
from .mrtr import MRTR_METHODS
from .types import InputRequiredResult, TypeValidationError, structure

__all__ = ["MRTR_FIELDS", "MrtrMixin"]

MRTR_FIELDS: Final = ("inputResponses", "requestState")
"""The params of a retry that belong to its round, not to the original request."""


class MrtrMixin(EngineCore):
    """input_required rounds, for both roles."""

    __slots__ = ()

    def _on_input_required(self, rid: RequestId, out: Outgoing, result: dict[str, Any]) -> None:
        """(Client) An ``input_required`` result: checked, then an InputRequired event."""
        if out.method not in MRTR_METHODS:
            raise RemoteProtocolError(
                f"invalid result for {out.method}: only tools/call, prompts/get and "
                "resources/read may be answered input_required", ErrorCode.INVALID_PARAMS,
                finished_request=rid)
        if self._validate:
            try:
                structure(result, InputRequiredResult)
            except TypeValidationError as exc:
                raise RemoteProtocolError(
                    f"invalid result for {out.method}: {'; '.join(exc.errors)}",
                    ErrorCode.INVALID_PARAMS, {"errors": exc.errors},
                    finished_request=rid) from None
        requests = result.get("inputRequests")
        state = result.get("requestState")
        if (requests is not None and requests.__class__ is not dict) or (
                state is not None and state.__class__ is not str):
            raise RemoteProtocolError(
                f"invalid result for {out.method}: inputRequests must be an object and "
                "requestState a string", ErrorCode.INVALID_PARAMS, finished_request=rid)
        self._events.append(InputRequiredEvent(
            rid, out.method, dict(out.params or {}), requests or {}, state, result))

    def _retry_payload(self, method: str, payload: dict[str, Any] | None,
                       input_responses: Mapping[str, Any] | None,
                       request_state: str | None) -> dict[str, Any]:
        """(Client) A retry's params: the original ones plus this round's fields."""
        if not self._stamp or method not in MRTR_METHODS:
            raise LocalProtocolError(
                "input_responses and request_state are for a stateless-era client's retry of "
                "tools/call, prompts/get or resources/read")
        if request_state is not None and request_state.__class__ is not str:
            raise LocalProtocolError("request_state must be the string the server sent")
        out = dict(payload) if payload else {}
        if input_responses is not None:
            if not isinstance(input_responses, Mapping):
                raise LocalProtocolError("input_responses must be a mapping of results by key")
            out["inputResponses"] = {
                key: self._payload(value) for key, value in input_responses.items()}
        if request_state is not None:
            out["requestState"] = request_state
        return out

    def _input_required_result(
        self,
        request_id: RequestId,
        input_requests: Mapping[str, Any] | None,
        request_state: str | None,
        meta: Mapping[str, Any] | None,
    ) -> dict[str, Any] | None:
        """(Server) The ``InputRequiredResult`` to answer ``request_id`` with, after checking
        that it may be; ``None``: the client cancelled the request (nothing to send).

        Raises:
            LocalProtocolError: see :meth:`sansio.Connection.send_input_required`.
        """
        incoming = self._requests.serving.get(request_id)
        if incoming is None:
            if request_id in self._requests.cancelled_in:
                return None
            raise LocalProtocolError(f"there is no request {request_id!r} to answer")
        if incoming.meta is None:
            raise LocalProtocolError("input_required is a stateless-era (2026-07-28) answer")
        if incoming.method not in MRTR_METHODS:
            raise LocalProtocolError(
                f"request {request_id!r} is {incoming.method!r}: only tools/call, prompts/get "
                "and resources/read may be answered input_required")
        if not input_requests and request_state is None:
            raise LocalProtocolError("input_required needs input_requests or a request_state")
        if request_state is not None and request_state.__class__ is not str:
            raise LocalProtocolError("request_state must be a string")
        result: dict[str, Any] = {"resultType": "input_required"}
        if input_requests:
            result["inputRequests"] = {key: self._payload(value)
                                       for key, value in input_requests.items()}
        if request_state is not None:
            result["requestState"] = request_state
        if meta is not None:
            result["_meta"] = dict(meta)
        return result
