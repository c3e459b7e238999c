"""The resource-server side of MCP authorization, with no I/O.

An MCP server reachable over HTTP is an OAuth 2.1 *protected resource*: every request to its
endpoint carries ``Authorization: Bearer <token>``; a request without a usable token gets 401
with a ``WWW-Authenticate`` challenge that points at the server's protected-resource metadata
(RFC 9728), which names the authorization servers a client gets tokens from. This module holds
every decision of that side:

- :class:`ResourceServer`: the rules for one MCP endpoint: where its metadata lives and what it
  says, the token of a request (RFC 6750 §2.1: the header only, exactly one), the 401/403
  answers and their challenges (RFC 6750 §3), the audience check (RFC 8707: a token must have
  been issued for this resource), and the scopes a request needs (the endpoint's own plus
  those of each tool it calls).
- :func:`check_claims`: the checks of a JWT access token's claims (RFC 9068, RFC 7519 §4.1:
  ``exp``, ``nbf``, ``iat`` against the caller's ``now``, ``iss``), giving a :class:`Principal`.
- :func:`principal_from_introspection` / :func:`introspection_request`: RFC 7662 token
  introspection, as a request to send and an answer to judge.

Signatures are not checked here (the adapter's JOSE library does it); clocks are not read here
(the caller passes ``now``).

Spec: https://modelcontextprotocol.io/specification/2025-11-25/basic/authorization and
https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any
from urllib.parse import quote, urlencode, urlsplit, urlunsplit

import attrs

from . import _codec

__all__ = [
    "WELL_KNOWN_PREFIX",
    "AuthAnswer",
    "Principal",
    "ResourceServer",
    "TokenRejected",
    "audience_matches",
    "canonical_resource",
    "challenge",
    "check_claims",
    "introspection_request",
    "jwt_header",
    "metadata_path",
    "principal_from_introspection",
    "scopes_of",
    "tools_called",
]

WELL_KNOWN_PREFIX = "/.well-known/oauth-protected-resource"
"""RFC 9728 §3: where a resource's metadata lives (followed by the resource's path, if any)."""

_TOKEN68 = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~+/")
_STATUS = {"invalid_request": 400, "invalid_token": 401, "insufficient_scope": 403}
_JSON = ("content-type", "application/json")
_NO_STORE = ("cache-control", "no-store")


class TokenRejected(Exception):
    """A token is not accepted: ``str()`` is one line saying why (never the token itself).

    Verifiers raise it (or return ``None``); the answer is 401 ``invalid_token``.
    """


@attrs.frozen
class Principal:
    """Who a verified access token speaks for, and what it allows.

    Attributes:
        subject: the ``sub`` claim (the user, or the client for a client-credentials token).
        client_id: the OAuth client the token was issued to (``client_id`` or ``azp``).
        scopes: the scopes granted (``scope``, space-separated, or ``scp``).
        issuer: the ``iss`` claim.
        audience: the ``aud`` claim, as a tuple (empty when absent).
        expires_at: ``exp`` (seconds since the epoch), ``None`` when absent.
        claims: every claim (or introspection field), as received.
    """

    subject: str | None
    client_id: str | None = None
    scopes: frozenset[str] = frozenset()
    issuer: str | None = None
    audience: tuple[str, ...] = ()
    expires_at: float | None = None
    claims: Mapping[str, Any] = attrs.field(factory=dict, eq=False, repr=False)

    @property
    def key(self) -> str | None:
        """The stable identity that sessions and ``requestState`` are bound to: the issuer and
        subject (else the client id); ``None`` when the token names neither."""
        who = self.subject if self.subject is not None else (
            None if self.client_id is None else f"client:{self.client_id}")
        if who is None:
            return None
        return who if self.issuer is None else f"{self.issuer} {who}"


@attrs.frozen
class AuthAnswer:
    """An HTTP answer the resource server decided on: metadata (200), or a refusal (400, 401,
    403, 405) with its ``WWW-Authenticate`` challenge among ``headers``."""

    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes
    error: str | None = None

    def header(self, name: str) -> str | None:
        """The value of header ``name`` (lower case), or ``None``."""
        for key, value in self.headers:
            if key == name:
                return value
        return None


# ---------------------------------------------------------------- helpers


def canonical_resource(url: str) -> str:
    """The canonical form of a resource URI (RFC 8707 §2; MCP "Canonical Server URI"): scheme
    and host in lower case, the default port dropped, no fragment, no trailing ``/`` on a
    path (``https://MCP.example.com:443/mcp/`` -> ``https://mcp.example.com/mcp``).

    Raises:
        ValueError: not an absolute ``http``/``https`` URI, or it has a fragment.
    """
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"resource {url!r} is not an absolute http(s) URI")
    if parts.fragment or url.endswith("#"):
        raise ValueError(f"resource {url!r} has a fragment (RFC 8707 forbids one)")
    host = parts.hostname.lower()
    if ":" in host:
        host = f"[{host}]"
    port = parts.port
    if port is not None and (scheme, port) not in (("http", 80), ("https", 443)):
        host = f"{host}:{port}"
    path = parts.path.rstrip("/")
    return urlunsplit((scheme, host, path, parts.query, ""))


def metadata_path(resource: str) -> str:
    """The path of ``resource``'s metadata document (RFC 9728 §3.1: the well-known prefix,
    then the resource's path): ``https://h/mcp`` -> ``/.well-known/oauth-protected-resource/mcp``.
    """
    path = urlsplit(canonical_resource(resource)).path
    return WELL_KNOWN_PREFIX + path


def audience_matches(audience: Iterable[str], resource: str,
                     accepted: Iterable[str] = ()) -> bool:
    """Whether a token's ``aud`` names ``resource`` (compared canonically) or one of
    ``accepted`` (compared exactly)."""
    want = canonical_resource(resource)
    extra = set(accepted)
    for aud in audience:
        if aud in extra:
            return True
        try:
            if canonical_resource(aud) == want:
                return True
        except ValueError:
            continue
    return False


def _quoted(value: str) -> str:
    # RFC 6750 §3: the values are quoted-strings; scope and error_description are limited to
    # %x20-21 / %x23-5B / %x5D-7E, so '"' and '\\' are dropped rather than escaped.
    return '"' + "".join(c for c in value if " " <= c <= "~" and c not in '"\\') + '"'


def challenge(*, resource_metadata: str | None = None, scope: Iterable[str] = (),
              error: str | None = None, description: str | None = None) -> str:
    """A ``WWW-Authenticate`` value for the Bearer scheme (RFC 6750 §3, RFC 9728 §5.1), its
    parameters in this order: ``resource_metadata``, ``scope``, ``error``,
    ``error_description`` (each only when given)."""
    params: list[str] = []
    if resource_metadata is not None:
        params.append(f"resource_metadata={_quoted(resource_metadata)}")
    scopes = " ".join(sorted(set(scope)))
    if scopes:
        params.append(f"scope={_quoted(scopes)}")
    if error is not None:
        params.append(f"error={_quoted(error)}")
    if description:
        params.append(f"error_description={_quoted(description)}")
    return "Bearer " + ", ".join(params) if params else "Bearer"


def scopes_of(claims: Mapping[str, Any]) -> frozenset[str]:
    """The scopes a token grants: ``scope`` (a space-separated string, RFC 8693 §4.2 / RFC
    9068 §2.2.3), else ``scp`` (a list, or a string). Anything else grants none."""
    raw = claims.get("scope")
    if raw is None:
        raw = claims.get("scp")
    if isinstance(raw, str):
        return frozenset(raw.split())
    if isinstance(raw, list):
        return frozenset(s for s in raw if isinstance(s, str))
    return frozenset()


def _audience_of(claims: Mapping[str, Any]) -> tuple[str, ...]:
    aud = claims.get("aud")
    if isinstance(aud, str):
        return (aud,)
    if isinstance(aud, list):
        return tuple(a for a in aud if isinstance(a, str))
    return ()


def _number(claims: Mapping[str, Any], name: str) -> float | None:
    value = claims.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TokenRejected(f"claim {name!r} is not a number")
    return float(value)


def _str_claim(claims: Mapping[str, Any], *names: str) -> str | None:
    for name in names:
        value = claims.get(name)
        if isinstance(value, str):
            return value
    return None


def _check_times(claims: Mapping[str, Any], *, now: float, leeway: float,
                 require_exp: bool) -> float | None:
    exp = _number(claims, "exp")
    if exp is None:
        if require_exp:
            raise TokenRejected("the token has no expiry (exp)")
    elif now >= exp + leeway:
        raise TokenRejected("the token has expired")
    nbf = _number(claims, "nbf")
    if nbf is not None and now + leeway < nbf:
        raise TokenRejected("the token is not valid yet (nbf)")
    iat = _number(claims, "iat")
    if iat is not None and now + leeway < iat:
        raise TokenRejected("the token was issued in the future (iat)")
    return exp


def check_claims(claims: Mapping[str, Any], *, now: float, issuer: str | None = None,
                 leeway: float = 60.0, require_exp: bool = True) -> Principal:
    """Check a (signature-verified) JWT access token's claims and say whom it speaks for.

    ``exp`` must be present (unless ``require_exp=False``) and after ``now``; ``nbf`` and
    ``iat`` must not be after ``now``; each with ``leeway`` seconds of clock skew. With
    ``issuer``, ``iss`` must equal it exactly. The audience is not checked here (see
    :meth:`ResourceServer.check`).

    Raises:
        TokenRejected: a check failed (the message says which).
    """
    exp = _check_times(claims, now=now, leeway=leeway, require_exp=require_exp)
    iss = claims.get("iss")
    if issuer is not None and iss != issuer:
        raise TokenRejected(f"the token's issuer {iss!r} is not {issuer!r}")
    return Principal(
        subject=_str_claim(claims, "sub"), client_id=_str_claim(claims, "client_id", "azp"),
        scopes=scopes_of(claims), issuer=iss if isinstance(iss, str) else None,
        audience=_audience_of(claims), expires_at=exp, claims=dict(claims))


def jwt_header(token: str, *, codec: _codec.Codec | None = None) -> dict[str, Any]:
    """The JOSE header of a compact JWS (RFC 7515 §7.1: three base64url parts), unverified:
    what says which key and algorithm to check it with.

    Raises:
        TokenRejected: not three parts, or the first is not a base64url JSON object.
    """
    parts = token.split(".")
    if len(parts) != 3:
        raise TokenRejected("the token is not a JWT")
    head = parts[0]
    try:
        header = (codec or _codec.DEFAULT).loads(
            base64.urlsafe_b64decode(head + "=" * (-len(head) % 4)))
    except (ValueError, TypeError):
        raise TokenRejected("the token is not a JWT") from None
    if not isinstance(header, dict):
        raise TokenRejected("the token is not a JWT")
    return header


def introspection_request(token: str, *, client_id: str | None = None,
                          client_secret: str | None = None,
                          bearer: str | None = None) -> tuple[tuple[tuple[str, str], ...], bytes]:
    """The headers and body of an RFC 7662 §2.1 introspection request for ``token``.

    The resource server authenticates with ``client_secret_basic`` (``client_id`` and
    ``client_secret``, RFC 6749 §2.3.1: each form-encoded, then Basic), or with a bearer token
    of its own, or not at all.
    """
    headers: list[tuple[str, str]] = [
        ("content-type", "application/x-www-form-urlencoded"), ("accept", "application/json")]
    if client_id is not None:
        pair = f"{quote(client_id, safe='')}:{quote(client_secret or '', safe='')}"
        headers.append(("authorization",
                        "Basic " + base64.b64encode(pair.encode()).decode("ascii")))
    elif bearer is not None:
        headers.append(("authorization", f"Bearer {bearer}"))
    body = urlencode({"token": token, "token_type_hint": "access_token"}).encode("ascii")
    return tuple(headers), body


def principal_from_introspection(answer: Any, *, now: float, issuer: str | None = None,
                                 leeway: float = 60.0) -> Principal:
    """Judge an RFC 7662 §2.2 introspection answer (the parsed JSON object).

    ``active`` must be ``true``; ``exp``/``nbf``/``iat`` are checked as :func:`check_claims`
    does (``exp`` may be absent), and ``iss``, when ``issuer`` is given and the answer has
    one, must equal it.

    Raises:
        TokenRejected: inactive, malformed, expired, or from another issuer.
    """
    if not isinstance(answer, dict):
        raise TokenRejected("the introspection answer is not a JSON object")
    if answer.get("active") is not True:
        raise TokenRejected("the token is not active")
    exp = _check_times(answer, now=now, leeway=leeway, require_exp=False)
    iss = answer.get("iss")
    if issuer is not None and iss is not None and iss != issuer:
        raise TokenRejected(f"the token's issuer {iss!r} is not {issuer!r}")
    return Principal(
        subject=_str_claim(answer, "sub"), client_id=_str_claim(answer, "client_id"),
        scopes=scopes_of(answer), issuer=iss if isinstance(iss, str) else None,
        audience=_audience_of(answer), expires_at=exp, claims=dict(answer))


def tools_called(body: bytes, *, codec: _codec.Codec | None = None) -> list[str]:
    """The names of the tools a POST body's ``tools/call`` requests call (one message or a
    batch); an unreadable body calls none (the endpoint refuses it on its own)."""
    try:
        message = (codec or _codec.DEFAULT).loads(body)
    except (ValueError, TypeError):
        return []
    messages = message if isinstance(message, list) else [message]
    names: list[str] = []
    for item in messages:
        if isinstance(item, dict) and item.get("method") == "tools/call":
            params = item.get("params")
            name = params.get("name") if isinstance(params, dict) else None
            if isinstance(name, str):
                names.append(name)
    return names


# ---------------------------------------------------------------- the resource server


class ResourceServer:
    """The authorization rules of one MCP endpoint (an OAuth protected resource).

    Args:
        resource: the endpoint's URL (``https://mcp.example.com/mcp``): tokens must name it in
            ``aud``; it is the metadata's ``resource``.
        authorization_servers: the issuer URLs clients get tokens from (RFC 9728 §2; at least
            one).
        scopes_supported: the scopes the metadata lists (default: ``required_scopes`` and
            every tool scope given later).
        required_scopes: scopes every request needs (the 401 challenge names them).
        resource_name, resource_documentation: optional metadata fields.
        accepted_audiences: other ``aud`` values accepted as this resource (exact match).
        require_audience: refuse a token that names no audience (default); ``False`` accepts
            one with none (an introspection answer often has no ``aud``).
        codec: the JSON codec.

    Holds no per-request state: one object serves any number of requests.

    Raises:
        ValueError: ``resource`` or an authorization server is not an absolute http(s) URI,
            or there is no authorization server.
    """

    def __init__(self, resource: str, *, authorization_servers: Sequence[str],
                 scopes_supported: Sequence[str] | None = None,
                 required_scopes: Sequence[str] = (), resource_name: str | None = None,
                 resource_documentation: str | None = None,
                 accepted_audiences: Sequence[str] = (), require_audience: bool = True,
                 codec: _codec.Codec | None = None) -> None:
        self.resource = canonical_resource(resource)
        if not authorization_servers:
            raise ValueError("a protected resource needs at least one authorization server")
        for issuer in authorization_servers:
            canonical_resource(issuer)  # raises ValueError
        self.authorization_servers = tuple(authorization_servers)
        self.required_scopes = frozenset(required_scopes)
        self.accepted_audiences = tuple(accepted_audiences)
        self.require_audience = require_audience
        self._codec = codec or _codec.DEFAULT
        parts = urlsplit(self.resource)
        self.metadata_path = WELL_KNOWN_PREFIX + parts.path
        self.metadata_url = urlunsplit((parts.scheme, parts.netloc, self.metadata_path, "", ""))
        self._paths = frozenset((self.metadata_path, WELL_KNOWN_PREFIX))
        self._scopes_supported = (list(scopes_supported) if scopes_supported is not None
                                  else None)
        self._extra: dict[str, Any] = {}
        if resource_name is not None:
            self._extra["resource_name"] = resource_name
        if resource_documentation is not None:
            self._extra["resource_documentation"] = resource_documentation
        self._known_scopes: set[str] = set(self.required_scopes)

    # ------------------------------------------------------------ metadata

    def add_scopes(self, scopes: Iterable[str]) -> None:
        """Name more scopes in the metadata's ``scopes_supported`` (when it was not given).

        State effect: the next metadata document lists them."""
        self._known_scopes.update(scopes)

    def metadata(self) -> dict[str, Any]:
        """The protected-resource metadata document (RFC 9728 §2)."""
        doc: dict[str, Any] = {"resource": self.resource,
                               "authorization_servers": list(self.authorization_servers)}
        scopes = (self._scopes_supported if self._scopes_supported is not None
                  else sorted(self._known_scopes))
        if scopes:
            doc["scopes_supported"] = scopes
        doc["bearer_methods_supported"] = ["header"]
        doc.update(self._extra)
        return doc

    def is_metadata_path(self, target: str) -> bool:
        """Whether ``target`` (a request target, query allowed) is a metadata path: the
        path-suffixed one of RFC 9728 §3.1 or the bare well-known one."""
        return target.split("?", 1)[0] in self._paths

    def metadata_answer(self, method: str) -> AuthAnswer:
        """The answer to a request for the metadata: 200 with the JSON document for ``GET``
        (``HEAD``: the same head), 405 otherwise. Anyone may read it (CORS ``*``)."""
        cors = ("access-control-allow-origin", "*")
        if method not in ("GET", "HEAD"):
            return AuthAnswer(405, (_JSON, ("allow", "GET, HEAD"), cors), self._codec.dumps(
                {"error": "invalid_request", "error_description": f"{method} not allowed"}))
        body = self._codec.dumps(self.metadata())
        return AuthAnswer(200, (_JSON, cors, ("cache-control", "max-age=3600")),
                          b"" if method == "HEAD" else body)

    # ------------------------------------------------------------ refusals

    def refuse(self, error: str | None, description: str | None = None,
               scope: Iterable[str] | None = None) -> AuthAnswer:
        """A refusal: ``error`` ``None`` (no credentials: 401 with no error code, RFC 6750
        §3.1), ``"invalid_request"`` (400), ``"invalid_token"`` (401) or
        ``"insufficient_scope"`` (403). Its challenge carries ``resource_metadata`` and
        ``scope`` (by default the endpoint's required scopes).

        Raises:
            ValueError: an unknown ``error``.
        """
        status = 401 if error is None else _STATUS.get(error)
        if status is None:
            raise ValueError(f"unknown bearer error {error!r}")
        scopes = self.required_scopes if scope is None else frozenset(scope)
        value = challenge(resource_metadata=self.metadata_url, scope=scopes, error=error,
                          description=description)
        payload: dict[str, Any] = {"error": error or "unauthorized"}
        if description:
            payload["error_description"] = description
        return AuthAnswer(status, (_JSON, _NO_STORE, ("www-authenticate", value)),
                          self._codec.dumps(payload), error)

    def token_of(self, target: str, authorization: str | None) -> str | AuthAnswer:
        """The bearer token of a request (RFC 6750 §2.1), from its target and its
        ``Authorization`` value (repeated headers comma-joined), or the refusal.

        No header, or another scheme: 401 with no error code. A malformed header, more than
        one, or a token in the query string (``access_token``: MCP forbids it): 400
        ``invalid_request``.
        """
        query = target.split("?", 1)[1] if "?" in target else ""
        if any(part.split("=", 1)[0] == "access_token" for part in query.split("&")):
            return self.refuse("invalid_request",
                               "access tokens are accepted in the Authorization header only")
        if authorization is None:
            return self.refuse(None)
        scheme, _, rest = authorization.strip().partition(" ")
        if scheme.lower() != "bearer":
            return self.refuse(None)
        token = rest.strip()
        if not token or "," in token or " " in token:
            return self.refuse("invalid_request", "expected one Bearer token")
        body = token.rstrip("=")
        if not body or any(c not in _TOKEN68 for c in body):
            return self.refuse("invalid_request", "the Bearer token is malformed")
        return token

    def unavailable(self, description: str) -> AuthAnswer:
        """503: the token could not be checked now (its keys or the introspection endpoint
        could not be reached); ``Retry-After`` asks the client to try again shortly."""
        return AuthAnswer(503, (_JSON, _NO_STORE, ("retry-after", "5")), self._codec.dumps(
            {"error": "temporarily_unavailable", "error_description": description}))

    def foreign_session(self) -> AuthAnswer:
        """404 for a request whose ``Mcp-Session-Id`` names a session another principal
        opened (MCP security best practices: a session is bound to its user). It reads as
        an unknown session, so nothing is said about whose it is; the client starts its own.
        """
        return AuthAnswer(404, (_JSON,), self._codec.dumps({"jsonrpc": "2.0", "error": {
            "code": -32001, "message": "session not found (unknown or terminated)"}}))

    # ------------------------------------------------------------ decisions

    def check(self, principal: Principal, *, now: float) -> AuthAnswer | None:
        """Whether a verified token may be used here at all: its audience must name this
        resource (RFC 8707, MCP "Token Audience Binding"), and it must not have expired by
        ``now``. ``None`` when it may; else the 401 ``invalid_token`` refusal."""
        if principal.expires_at is not None and now >= principal.expires_at:
            return self.refuse("invalid_token", "the token has expired")
        if not principal.audience:
            if self.require_audience:
                return self.refuse("invalid_token", "the token names no audience")
            return None
        if not audience_matches(principal.audience, self.resource, self.accepted_audiences):
            return self.refuse("invalid_token", "the token was not issued for this resource")
        return None

    def needed_scopes(self, body: bytes, tool_scopes: Callable[[str], Iterable[str]]
                      ) -> frozenset[str]:
        """The scopes a POST body needs: the endpoint's required ones and, for each
        ``tools/call`` in it, ``tool_scopes(name)``."""
        needed = set(self.required_scopes)
        for name in tools_called(body, codec=self._codec):
            needed.update(tool_scopes(name))
        return frozenset(needed)

    def authorize(self, principal: Principal, needed: Iterable[str]) -> AuthAnswer | None:
        """``None`` when ``principal`` holds every scope in ``needed``; else 403
        ``insufficient_scope`` whose challenge names all of ``needed`` (the client asks for
        them at once: MCP "Runtime Insufficient Scope Errors")."""
        wanted = frozenset(needed)
        missing = wanted - principal.scopes
        if not missing:
            return None
        return self.refuse("insufficient_scope",
                           f"this request needs scope {' '.join(sorted(missing))}",
                           scope=wanted)
