"""Multi round-trip requests (MCP 2026-07-28): sealing and opening ``requestState``.

A server that answers ``tools/call``, ``prompts/get`` or ``resources/read`` with an
``InputRequiredResult`` may put its own state in ``requestState``; the client echoes it, unread,
on the retry. The spec (basic/patterns/mrtr, "Server Requirements") says the server MUST treat
the echoed value as attacker-controlled, MUST protect its integrity when it matters (HMAC or
AEAD) and SHOULD bind it to the principal, a short expiry and the originating request (the method
and a digest of its salient params):
https://modelcontextprotocol.io/specification/2026-07-28/basic/patterns/mrtr

This module does that and nothing else; it is pure (no clock, no randomness: the caller passes
``now`` and a ``random`` source):

* :class:`RequestStateCodec` is the interface (a :class:`typing.Protocol`), so a server can plug
  in its own scheme (an AEAD that also hides the payload, for example);
* :class:`HmacRequestStateCodec` is the default: HMAC-SHA256 from the standard library over a
  key ring (the first key seals, every key opens, so keys rotate without breaking states in
  flight);
* every refusal is one exception, :class:`RequestStateError`, whose ``reason`` is for the
  server's log; :meth:`RequestStateError.error_object` is what the client gets (``-32602`` with
  a generic message that says nothing of the reason).

The HMAC codec authenticates but does not encrypt: the payload is readable by whoever holds the
token (base64url is not a cipher). Put nothing secret in it, or plug in an AEAD codec.

Replay: a sealed state opens any number of times until it expires. A server that needs
single use records the token (every seal draws a fresh nonce, so tokens are unique) until its
expiry, and refuses it the second time.
"""

from __future__ import annotations

import base64
import enum
import hashlib
import hmac
import json
import math
import re
import struct
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final, Protocol, TypeAlias

from .errors import ErrorCode
from .jsonrpc import ErrorObject

__all__ = [
    "DEFAULT_MAX_STATE_SIZE",
    "DEFAULT_STATE_TTL",
    "INVALID_REQUEST_STATE_MESSAGE",
    "MIN_KEY_LENGTH",
    "MRTR_METHODS",
    "HmacRequestStateCodec",
    "RejectReason",
    "RequestStateCodec",
    "RequestStateError",
    "StatePayload",
    "canonical_json",
    "params_digest",
    "salient_params",
]

StatePayload: TypeAlias = Any
"""What a server seals: ``bytes``, or a JSON value (``None``, ``bool``, ``int``, finite
``float``, ``str``, ``list`` and ``dict`` with ``str`` keys, nested). Opening gives back an equal
value of the same kind (a ``bytearray`` or ``memoryview`` comes back as ``bytes``)."""

MRTR_METHODS: Final = frozenset({"tools/call", "prompts/get", "resources/read"})
"""The requests a server may answer with an ``InputRequiredResult`` (mrtr, "Supported
Requests")."""

INVALID_REQUEST_STATE_MESSAGE: Final = "Invalid requestState"
"""The message of the error the client gets, whatever the reason."""

MIN_KEY_LENGTH: Final = 32
"""The shortest HMAC key accepted, in bytes (the SHA-256 output size)."""

DEFAULT_STATE_TTL: Final = 300.0
"""The default lifetime of a sealed state, in seconds."""

DEFAULT_MAX_STATE_SIZE: Final = 8192
"""The default bound on a sealed state, in characters of the token."""

_PREFIX: Final = "mrtr1."
_DOMAIN: Final = b"trio-mcp requestState v1\x00"
_NONCE_SIZE: Final = 16
_TAG_SIZE: Final = 16
_MAC_SIZE: Final = 32
_KEY_ID = re.compile(r"[A-Za-z0-9._~-]{1,64}")
_B64URL = re.compile(r"[A-Za-z0-9_-]*")
_KIND_JSON: Final = 0
_KIND_BYTES: Final = 1
_EXPIRY = struct.Struct(">d")
# kid length, kid (>= 1), nonce, expiry, three binding tags, kind, MAC.
_MIN_BLOB: Final = 1 + 1 + _NONCE_SIZE + _EXPIRY.size + 3 * _TAG_SIZE + 1 + _MAC_SIZE
_MIN_MAX_SIZE: Final = 256  # room for the longest key id and a small payload
_IGNORED_PARAMS: Final = frozenset({"_meta", "inputResponses", "requestState"})


class RejectReason(enum.Enum):
    """Why a ``requestState`` did not open (for the server's log, never for the client)."""

    NOT_A_STRING = "not a string"
    TOO_LARGE = "larger than the configured maximum"
    UNKNOWN_VERSION = "not of a known format version"
    MALFORMED = "not a well-formed state"
    UNKNOWN_KEY = "sealed with a key not in the key ring"
    TAMPERED = "failed verification (tampered, or sealed with another secret)"
    EXPIRED = "expired"
    WRONG_METHOD = "sealed for another method"
    WRONG_PARAMS = "sealed for other params"
    WRONG_PRINCIPAL = "sealed for another principal"


class RequestStateError(Exception):
    """A ``requestState`` was refused. Raised by ``open`` only.

    ``str(exc)`` (one line) and ``reason`` say why, for the server's log. Answer the request
    with :meth:`error_object`, which does not reveal the reason to the client.

    Attributes:
        reason: why the state was refused.
        detail: an optional short addition for the log (such as the unknown key id).
    """

    reason: RejectReason
    detail: str | None

    def __init__(self, reason: RejectReason, detail: str | None = None) -> None:
        text = f"requestState refused: {reason.value}"
        if detail:
            text += f" ({detail})"
        super().__init__(text)
        self.reason = reason
        self.detail = detail

    @staticmethod
    def error_object() -> ErrorObject:
        """Return the JSON-RPC error to answer the request with.

        It is ``-32602`` (Invalid params) with :data:`INVALID_REQUEST_STATE_MESSAGE`, the same
        for every reason, so a client learns nothing about the state or the keys. Send it with
        ``Connection.send_error(request_id, err.code, err.message)``.
        """
        return ErrorObject(ErrorCode.INVALID_PARAMS, INVALID_REQUEST_STATE_MESSAGE)


class RequestStateCodec(Protocol):
    """The interface of a ``requestState`` codec; implement it to plug in another scheme.

    An implementation must bind the sealed state to ``method``, the salient ``params`` (see
    :func:`salient_params`) and ``principal``, and to an expiry of ``now + ttl``; ``open``
    must refuse anything else with :class:`RequestStateError` only.
    """

    def seal(
        self,
        payload: StatePayload,
        *,
        method: str,
        params: Mapping[str, Any] | None,
        principal: str | None,
        now: float,
        random: Callable[[int], bytes],
        ttl: float | None = None,
    ) -> str:
        """Return the ``requestState`` string that carries ``payload``.

        Args:
            payload: the server's state (see :data:`StatePayload`).
            method: the method of the request being answered (``"tools/call"``...).
            params: that request's params, as received (only the salient ones count).
            principal: the authenticated principal (an opaque id such as an auth subject), or
                ``None`` when there is none.
            now: the current time in seconds (any epoch, the same one ``open`` gets).
            random: returns that many random bytes (``secrets.token_bytes`` or ``os.urandom``).
            ttl: the lifetime in seconds; ``None`` takes the codec's default.

        Raises:
            ValueError: the payload or params are not JSON values, ``now``/``ttl`` are not
                finite (``ttl`` must be positive), or the sealed state exceeds the size bound.
        """
        ...

    def open(
        self,
        token: str,
        *,
        method: str,
        params: Mapping[str, Any] | None,
        principal: str | None,
        now: float,
    ) -> StatePayload:
        """Verify ``token`` for this request and return the payload it carries.

        Raises:
            RequestStateError: the token is refused (see :class:`RejectReason`).
            ValueError: ``now`` is not finite (a caller bug, not the client's).
        """
        ...


def canonical_json(value: Any) -> bytes:
    """Return ``value`` as canonical JSON: sorted keys, no spaces, UTF-8.

    Raises:
        ValueError: ``value`` is not a JSON value (``NaN``, a non-``str`` key, a set...).
    """
    try:
        text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                          allow_nan=False)
    except (TypeError, ValueError, RecursionError) as exc:
        raise ValueError(f"not a JSON value: {exc}") from None
    return text.encode("utf-8", "surrogatepass")


def salient_params(method: str, params: Mapping[str, Any] | None) -> Any:
    """Return the part of a request's params that a ``requestState`` is bound to.

    * ``tools/call`` and ``prompts/get``: ``{"name": ..., "arguments": ...}`` (absent or null
      ``arguments`` count as ``{}``);
    * ``resources/read``: ``{"uri": ...}``;
    * any other method: every param but ``_meta``, ``inputResponses`` and ``requestState``.

    ``_meta`` (which carries per-request protocol fields), ``inputResponses`` and
    ``requestState`` itself change between the first request and its retry, so they never count.
    """
    p: Mapping[str, Any] = params if params is not None else {}
    if method in ("tools/call", "prompts/get"):
        arguments = p.get("arguments")
        return {"name": p.get("name"), "arguments": {} if arguments is None else arguments}
    if method == "resources/read":
        return {"uri": p.get("uri")}
    return {k: v for k, v in p.items() if k not in _IGNORED_PARAMS}


def params_digest(method: str, params: Mapping[str, Any] | None) -> bytes:
    """Return SHA-256 of the canonical JSON of :func:`salient_params` (32 bytes).

    Raises:
        ValueError: the salient params are not JSON values.
    """
    return hashlib.sha256(canonical_json(salient_params(method, params))).digest()


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes | None:
    if not _B64URL.fullmatch(text) or len(text) % 4 == 1:
        return None
    data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    # Refuse non-canonical spellings (unused low bits set in the last character), so that no
    # two tokens decode to the same bytes.
    return data if _b64encode(data) == text else None


def _check_json(value: Any) -> None:
    """Refuse what JSON would not give back equal (tuples, non-str keys, NaN, subclasses)."""
    stack = [value]
    while stack:
        node = stack.pop()
        cls = node.__class__
        if node is None or cls in (bool, int, str):
            continue
        if cls is float:
            if not math.isfinite(node):
                raise ValueError("the payload holds a non-finite float")
        elif cls is list:
            stack.extend(node)
        elif cls is dict:
            for key in node:
                if key.__class__ is not str:
                    raise ValueError("the payload holds a dict key that is not a str")
            stack.extend(node.values())
        else:
            raise ValueError(f"the payload holds a {cls.__name__}, which is not a JSON value")


def _check_time(name: str, value: float) -> None:
    if value.__class__ not in (int, float) or not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number of seconds")


class HmacRequestStateCodec:
    """The default codec: HMAC-SHA256 over a key ring (standard library only).

    Format (version 1): ``"mrtr1."`` followed by base64url (no padding) of: key id length and
    key id, a 16-byte nonce from ``random``, the expiry (``now + ttl``, a big-endian double),
    three 16-byte binding tags (HMAC of the method, of :func:`params_digest`, of the
    principal), the payload kind and payload, and the 32-byte HMAC of all that. The binding
    values themselves are not in the token; the tags let ``open`` say which one differs.

    Args:
        keys: the key ring, ``(key_id, secret)`` pairs; the first one seals, all of them open.
            Key ids are 1 to 64 characters of ``[A-Za-z0-9._~-]``, distinct; secrets are at
            least :data:`MIN_KEY_LENGTH` bytes. To rotate: put the new key first and keep the
            old one after it for one TTL, then drop it.
        default_ttl: the lifetime used when ``seal`` gets no ``ttl``, in seconds.
        max_size: the largest token, in characters, that ``seal`` produces and ``open``
            decodes; a longer token is refused before any decoding.

    Raises:
        ValueError: an empty key ring, a bad or repeated key id, a short secret, a
            non-positive ``default_ttl`` or a ``max_size`` under 256.
    """

    def __init__(
        self,
        keys: Sequence[tuple[str, bytes]],
        *,
        default_ttl: float = DEFAULT_STATE_TTL,
        max_size: int = DEFAULT_MAX_STATE_SIZE,
    ) -> None:
        ring: dict[str, bytes] = {}
        for key_id, secret in keys:
            if key_id.__class__ is not str or not _KEY_ID.fullmatch(key_id):
                raise ValueError(
                    f"key id {key_id!r} must be 1 to 64 characters of A-Z a-z 0-9 . _ ~ -")
            if key_id in ring:
                raise ValueError(f"key id {key_id!r} appears twice in the key ring")
            if not isinstance(secret, bytes) or len(secret) < MIN_KEY_LENGTH:
                raise ValueError(
                    f"the secret of key {key_id!r} must be at least {MIN_KEY_LENGTH} bytes")
            ring[key_id] = bytes(secret)
        if not ring:
            raise ValueError("the key ring needs at least one key")
        _check_time("default_ttl", default_ttl)
        if default_ttl <= 0:
            raise ValueError("default_ttl must be positive")
        if max_size.__class__ is not int or max_size < _MIN_MAX_SIZE:
            raise ValueError(f"max_size must be an integer of at least {_MIN_MAX_SIZE}")
        self._keys = ring
        self._sealing_id = next(iter(ring))
        self._default_ttl = float(default_ttl)
        self._max_size = max_size

    @property
    def key_ids(self) -> tuple[str, ...]:
        """The key ids, the sealing one first."""
        return tuple(self._keys)

    @property
    def max_size(self) -> int:
        """The largest token accepted, in characters."""
        return self._max_size

    @property
    def default_ttl(self) -> float:
        """The lifetime ``seal`` uses when it gets no ``ttl``, in seconds."""
        return self._default_ttl

    # The tags' HMAC input starts with _DOMAIN and a label ("method"...), the MAC's with _DOMAIN
    # and the key id length (1..64, below any label's first byte): they never collide.
    @staticmethod
    def _tags(secret: bytes, method: str, digest: bytes, principal: str | None) -> bytes:
        def tag(label: bytes, value: bytes) -> bytes:
            return hmac.new(secret, _DOMAIN + label + b"\x00" + value,
                            hashlib.sha256).digest()[:_TAG_SIZE]

        who = b"\x00" if principal is None else b"\x01" + principal.encode("utf-8",
                                                                           "surrogatepass")
        return (tag(b"method", method.encode("utf-8", "surrogatepass"))
                + tag(b"params", digest) + tag(b"principal", who))

    def seal(
        self,
        payload: StatePayload,
        *,
        method: str,
        params: Mapping[str, Any] | None,
        principal: str | None,
        now: float,
        random: Callable[[int], bytes],
        ttl: float | None = None,
    ) -> str:
        """Return the ``requestState`` string that carries ``payload``, sealed with the first key.

        See :meth:`RequestStateCodec.seal` for the arguments. No state is kept: the codec can
        open the token on any server that shares the key ring.

        Raises:
            ValueError: the payload or the salient params are not JSON values, ``now`` or
                ``ttl`` is not finite (``ttl`` must be positive), ``random`` did not return
                16 bytes, or the token would exceed ``max_size`` (the message gives both sizes).
        """
        _check_time("now", now)
        lifetime = self._default_ttl if ttl is None else ttl
        _check_time("ttl", lifetime)
        if lifetime <= 0:
            raise ValueError("ttl must be positive")
        if isinstance(payload, bytes | bytearray | memoryview):
            kind, body = _KIND_BYTES, bytes(payload)
        else:
            _check_json(payload)
            kind, body = _KIND_JSON, canonical_json(payload)
        digest = params_digest(method, params)
        nonce = random(_NONCE_SIZE)
        if not isinstance(nonce, bytes) or len(nonce) != _NONCE_SIZE:
            raise ValueError(f"random({_NONCE_SIZE}) must return {_NONCE_SIZE} bytes")
        kid = self._sealing_id.encode("ascii")
        secret = self._keys[self._sealing_id]
        blob = b"".join((bytes([len(kid)]), kid, nonce, _EXPIRY.pack(now + lifetime),
                         self._tags(secret, method, digest, principal), bytes([kind]), body))
        blob += hmac.new(secret, _DOMAIN + blob, hashlib.sha256).digest()
        token = _PREFIX + _b64encode(blob)
        if len(token) > self._max_size:
            raise ValueError(f"the sealed requestState would be {len(token)} characters, over "
                             f"the maximum of {self._max_size}")
        return token

    def open(
        self,
        token: str,
        *,
        method: str,
        params: Mapping[str, Any] | None,
        principal: str | None,
        now: float,
    ) -> StatePayload:
        """Verify ``token`` for this request and return the payload sealed in it.

        The checks, in order: it is a string no longer than ``max_size`` (else nothing is
        decoded), of format version 1, well-formed base64url, sealed with a key in the ring,
        with a valid MAC (compared in constant time), not expired (valid while
        ``now < sealed now + ttl``), and bound to this method, these salient params and this
        principal. Nothing is stored; opening does not consume the token.

        Raises:
            RequestStateError: the first check that failed, as ``reason``.
            ValueError: ``now`` is not finite.
        """
        _check_time("now", now)
        if token.__class__ is not str:
            raise RequestStateError(RejectReason.NOT_A_STRING)
        if len(token) > self._max_size:
            raise RequestStateError(RejectReason.TOO_LARGE,
                                    f"{len(token)} characters, maximum {self._max_size}")
        if not token.startswith(_PREFIX):
            raise RequestStateError(RejectReason.UNKNOWN_VERSION)
        blob = _b64decode(token[len(_PREFIX):])
        if blob is None or len(blob) < _MIN_BLOB or not 1 <= blob[0] <= 64:
            raise RequestStateError(RejectReason.MALFORMED)
        end_kid = 1 + blob[0]
        try:
            kid = blob[1:end_kid].decode("ascii")
        except UnicodeDecodeError:
            raise RequestStateError(RejectReason.MALFORMED) from None
        secret = self._keys.get(kid)
        if secret is None:
            raise RequestStateError(RejectReason.UNKNOWN_KEY, f"key id {kid!r}"
                                    if _KEY_ID.fullmatch(kid) else None)
        signed, mac = blob[:-_MAC_SIZE], blob[-_MAC_SIZE:]
        if len(signed) < end_kid + _NONCE_SIZE + _EXPIRY.size + 3 * _TAG_SIZE + 1:
            raise RequestStateError(RejectReason.MALFORMED)
        expected = hmac.new(secret, _DOMAIN + signed, hashlib.sha256).digest()
        if not hmac.compare_digest(mac, expected):
            raise RequestStateError(RejectReason.TAMPERED)
        at = end_kid + _NONCE_SIZE
        (expires_at,) = _EXPIRY.unpack_from(signed, at)
        at += _EXPIRY.size
        if not now < expires_at:
            raise RequestStateError(RejectReason.EXPIRED)
        try:
            digest = params_digest(method, params)
        except ValueError:
            raise RequestStateError(RejectReason.WRONG_PARAMS) from None
        tags = self._tags(secret, method, digest, principal)
        for index, reason in enumerate((RejectReason.WRONG_METHOD, RejectReason.WRONG_PARAMS,
                                        RejectReason.WRONG_PRINCIPAL)):
            span = slice(index * _TAG_SIZE, (index + 1) * _TAG_SIZE)
            if not hmac.compare_digest(signed[at:at + 3 * _TAG_SIZE][span], tags[span]):
                raise RequestStateError(reason)
        at += 3 * _TAG_SIZE
        kind, body = signed[at], signed[at + 1:]
        if kind == _KIND_BYTES:
            return body
        if kind == _KIND_JSON:
            try:
                return json.loads(body.decode("utf-8", "surrogatepass"))
            except (ValueError, RecursionError):
                pass
        raise RequestStateError(RejectReason.MALFORMED)
