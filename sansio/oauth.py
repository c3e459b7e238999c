"""OAuth 2.1 for MCP clients, with no I/O: the authorization flow as a generator of steps.

Theory of operation: :func:`authorize` is a generator. It yields the steps the flow needs
(:class:`HTTPCall`: one HTTP request, answered with an :class:`HTTPAnswer` or ``None`` when
it could not be made; :class:`UserAuthorization`: send the user to a URL and answer with the
redirect URL they came back on; :class:`SignAssertion`: sign these JWT claims;
:class:`DPoPProof`: sign a DPoP proof with the client's DPoP key) and returns
the :class:`Token` it obtained, or raises :class:`OAuthError` with a one-line reason. Every
decision is here: the discovery order (RFC 9728 protected-resource metadata, then RFC 8414 /
OpenID Connect authorization-server metadata, then the 2025-03-26 fallbacks), scope selection
and step-up, client registration (pre-registered, client ID metadata document URL, RFC 7591
dynamic registration), PKCE S256 (RFC 7636), the ``resource`` parameter (RFC 8707), token
endpoint client authentication, ``iss`` validation (RFC 9207), refresh, re-registration
when the authorization server changes, the JWT bearer grants (RFC 7523; RFC 8693 exchange
for an ID-JAG) and DPoP-bound tokens (RFC 9449). The caller passes the clock (``now``) and
the random bytes; nothing here reads either.

Spec: https://modelcontextprotocol.io/specification/2025-11-25/basic/authorization and
https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Generator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, TypeAlias
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

__all__ = [
    "AuthState", "AuthorizationServerMetadata", "Challenge", "ClientConfig", "DPoPProof",
    "HTTPAnswer", "HTTPCall", "OAuthError", "ProtectedResourceMetadata", "Registration",
    "SignAssertion",
    "Step", "Token", "UserAuthorization", "authorization_server_metadata_urls", "authorize",
    "parse_www_authenticate", "pkce_challenge", "protected_resource_metadata_urls",
    "resource_matches", "select_scopes",
]

#: How many authorization flows one request may start in a row (the first one and the
#: step-ups after ``insufficient_scope``) before the client gives up.
MAX_AUTHORIZATIONS = 3
#: The bound on a metadata, registration or token answer's body.
MAX_BODY = 1 << 20
JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
#: The RFC 7523 JWT bearer authorization grant (workload identity, SEP-1933; ID-JAG, SEP-990).
JWT_BEARER_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
ID_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:id_token"
ID_JAG_TYPE = "urn:ietf:params:oauth:token-type:id-jag"
#: The grants :func:`authorize` knows.
GRANTS = ("authorization_code", "client_credentials", "jwt_bearer", "id_jag")


class OAuthError(Exception):
    """The authorization flow failed; ``str()`` is one line saying why."""


# -- WWW-Authenticate (RFC 9110 §11.6.1, RFC 6750 §3, RFC 9728 §5.1)

@dataclass(frozen=True)
class Challenge:
    """One challenge of a ``WWW-Authenticate`` header: its scheme (lower-case) and its
    parameters (names lower-case)."""

    scheme: str
    params: Mapping[str, str] = field(default_factory=dict)

    @property
    def resource_metadata(self) -> str | None:
        return self.params.get("resource_metadata")

    @property
    def scopes(self) -> tuple[str, ...] | None:
        scope = self.params.get("scope")
        return None if scope is None else tuple(scope.split())

    @property
    def error(self) -> str | None:
        return self.params.get("error")


_TOKEN = r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+"
_PARAM = re.compile(rf'\s*({_TOKEN})\s*=\s*("(?:[^"\\]|\\.)*"|[^\s,]*)\s*,?')
_SCHEME = re.compile(rf"\s*,?\s*({_TOKEN})(?=\s|$|,)")


def parse_www_authenticate(value: str | None) -> list[Challenge]:
    """The challenges of a ``WWW-Authenticate`` value, in order; never raises (what cannot
    be parsed ends the list)."""
    out: list[Challenge] = []
    text = value or ""
    pos = 0
    while pos < len(text):
        m = _SCHEME.match(text, pos)
        if m is None:
            break
        scheme, pos = m.group(1).lower(), m.end()
        params: dict[str, str] = {}
        while pos < len(text):
            p = _PARAM.match(text, pos)
            if p is None or (p.group(2) == "" and "=" not in text[p.start():p.end()]):
                break
            # a token followed by '=' could be the next scheme's token68 only when nothing
            # follows: treat every name=value as a parameter.
            raw = p.group(2)
            if raw.startswith('"'):
                raw = re.sub(r"\\(.)", r"\1", raw[1:-1])
            params[p.group(1).lower()] = raw
            pos = p.end()
        out.append(Challenge(scheme, params))
    return out


def bearer_challenge(value: str | None) -> Challenge | None:
    """The ``Bearer`` (else ``DPoP``) challenge of a ``WWW-Authenticate`` value, if any."""
    challenges = parse_www_authenticate(value)
    for scheme in ("bearer", "dpop"):
        for c in challenges:
            if c.scheme == scheme:
                return c
    return None


def describe_refusal(status: int, www_authenticate: str | None) -> str:
    """The one line for a 401 or 403 a client without authorization configured got: what the
    server's challenge says is missing (RFC 6750 section 3: ``error``, ``scope``; RFC 9728:
    ``resource_metadata``) and how to log in, e.g. ``HTTP 403: insufficient_scope: the token
    lacks scope 'files:write'; log in with StreamableHTTPTransport(url, auth=OAuth(...))``."""
    challenge = bearer_challenge(www_authenticate)
    error = challenge.error if challenge is not None else None
    scopes = challenge.scopes if challenge is not None else None
    parts = [f"HTTP {status}: {error or ('unauthorized' if status == 401 else 'forbidden')}"]
    if status == 403 or error == "insufficient_scope":
        if scopes:
            parts.append(f"the token lacks scope {' '.join(map(repr, scopes))}")
    elif challenge is None:
        parts.append("the server requires authorization")
    else:
        parts.append(f"the server requires a {challenge.scheme.capitalize()} token"
                     + (f" with scope {' '.join(map(repr, scopes))}" if scopes else ""))
        if challenge.resource_metadata:
            parts[-1] += f" (its metadata: {challenge.resource_metadata})"
    description = challenge.params.get("error_description") if challenge is not None else None
    if description:
        parts.append(description)
    return ": ".join(parts) + "; log in with StreamableHTTPTransport(url, auth=OAuth(...))"


# -- metadata

def _origin(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "", "", ""))


def protected_resource_metadata_urls(server_url: str, header_url: str | None = None
                                     ) -> list[str]:
    """Where to look for the protected-resource metadata, in order (RFC 9728 §3.1, MCP
    "Protected Resource Metadata Discovery"): the ``resource_metadata`` URL of the challenge,
    then the path-aware well-known URL, then the root one."""
    parts = urlsplit(server_url)
    path = parts.path.rstrip("/")
    urls = [header_url] if header_url else []
    base = _origin(server_url) + "/.well-known/oauth-protected-resource"
    if path:
        urls.append(base + path)
    urls.append(base)
    return list(dict.fromkeys(urls))


def authorization_server_metadata_urls(issuer: str) -> list[str]:
    """Where to look for an authorization server's metadata, in order (MCP "Authorization
    Server Metadata Discovery"): for an issuer with a path, OAuth (RFC 8414 path insertion),
    OpenID Connect with path insertion, OpenID Connect with the path appended; without a
    path, OAuth then OpenID Connect."""
    parts = urlsplit(issuer)
    origin = _origin(issuer)
    path = parts.path.rstrip("/")
    if path:
        return [f"{origin}/.well-known/oauth-authorization-server{path}",
                f"{origin}/.well-known/openid-configuration{path}",
                f"{origin}{path}/.well-known/openid-configuration"]
    return [f"{origin}/.well-known/oauth-authorization-server",
            f"{origin}/.well-known/openid-configuration"]


@dataclass(frozen=True)
class ProtectedResourceMetadata:
    """RFC 9728 metadata: the resource identifier, its authorization servers and scopes."""

    resource: str
    authorization_servers: tuple[str, ...]
    scopes_supported: tuple[str, ...] | None = None


@dataclass(frozen=True)
class AuthorizationServerMetadata:
    """The fields of RFC 8414 metadata the flow uses (``raw``: the whole document)."""

    issuer: str
    authorization_endpoint: str | None
    token_endpoint: str
    registration_endpoint: str | None = None
    scopes_supported: tuple[str, ...] | None = None
    token_endpoint_auth_methods_supported: tuple[str, ...] | None = None
    grant_types_supported: tuple[str, ...] | None = None
    code_challenge_methods_supported: tuple[str, ...] | None = None
    iss_parameter_supported: bool = False
    client_id_metadata_document_supported: bool = False
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)


def resource_matches(resource: str, server_url: str) -> bool:
    """Whether protected-resource metadata naming ``resource`` may speak for ``server_url``:
    the same origin, and ``resource``'s path is the server URL's path or a parent of it
    (RFC 9728 §3.3; MCP "Canonical Server URI")."""
    r, s = urlsplit(resource), urlsplit(server_url)
    if (r.scheme.lower(), (r.hostname or "").lower(), r.port) != \
            (s.scheme.lower(), (s.hostname or "").lower(), s.port) or r.fragment:
        return False
    rp, sp = r.path.rstrip("/"), s.path.rstrip("/")
    return sp == rp or sp.startswith(rp + "/")


def _strings(value: Any) -> tuple[str, ...] | None:
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(value)
    return None


def _json_object(answer: HTTPAnswer, what: str) -> dict[str, Any]:
    try:
        doc = json.loads(answer.body)
    except (ValueError, UnicodeDecodeError):
        raise OAuthError(f"{what} is not JSON") from None
    if not isinstance(doc, dict):
        raise OAuthError(f"{what} is not a JSON object")
    return doc


def parse_protected_resource_metadata(answer: HTTPAnswer, server_url: str
                                      ) -> ProtectedResourceMetadata:
    """Protected-resource metadata from its document.

    Raises:
        OAuthError: not a metadata document, no authorization server, or its ``resource``
            does not match ``server_url`` (:func:`resource_matches`).
    """
    doc = _json_object(answer, "the protected resource metadata")
    resource = doc.get("resource")
    servers = _strings(doc.get("authorization_servers"))
    if not isinstance(resource, str) or not servers:
        raise OAuthError("the protected resource metadata has no resource or no "
                         "authorization_servers")
    if not resource_matches(resource, server_url):
        raise OAuthError(f"the protected resource metadata is for {resource!r}, not "
                         f"{server_url}: refusing to authorize")
    return ProtectedResourceMetadata(resource, servers, _strings(doc.get("scopes_supported")))


def parse_authorization_server_metadata(answer: HTTPAnswer, issuer: str
                                        ) -> AuthorizationServerMetadata:
    """Authorization-server metadata fetched for ``issuer``.

    Raises:
        OAuthError: not a metadata document, no token endpoint, or its ``issuer`` is not
            exactly ``issuer`` (RFC 8414 §3.3).
    """
    doc = _json_object(answer, "the authorization server metadata")
    if doc.get("issuer") != issuer:
        raise OAuthError(f"the authorization server metadata names issuer "
                         f"{doc.get('issuer')!r}, not {issuer!r} (RFC 8414 §3.3)")
    token = doc.get("token_endpoint")
    if not isinstance(token, str):
        raise OAuthError("the authorization server metadata has no token_endpoint")
    auth = doc.get("authorization_endpoint")
    reg = doc.get("registration_endpoint")
    return AuthorizationServerMetadata(
        issuer=issuer, authorization_endpoint=auth if isinstance(auth, str) else None,
        token_endpoint=token, registration_endpoint=reg if isinstance(reg, str) else None,
        scopes_supported=_strings(doc.get("scopes_supported")),
        token_endpoint_auth_methods_supported=_strings(
            doc.get("token_endpoint_auth_methods_supported")),
        grant_types_supported=_strings(doc.get("grant_types_supported")),
        code_challenge_methods_supported=_strings(doc.get("code_challenge_methods_supported")),
        iss_parameter_supported=doc.get("authorization_response_iss_parameter_supported") is True,
        client_id_metadata_document_supported=doc.get(
            "client_id_metadata_document_supported") is True,
        raw=doc)


def legacy_metadata(server_url: str) -> AuthorizationServerMetadata:
    """The 2025-03-26 fallback: ``/authorize``, ``/token`` and ``/register`` at the MCP
    server's origin, which is also the issuer."""
    origin = _origin(server_url)
    return AuthorizationServerMetadata(origin, origin + "/authorize", origin + "/token",
                                       origin + "/register")


# -- PKCE, scopes, client authentication

def b64url(data: bytes) -> str:
    """Base64url without padding (RFC 7515 §2)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


_b64url = b64url


def pkce_challenge(verifier: str) -> str:
    """The S256 code challenge of a code verifier (RFC 7636 §4.2)."""
    return _b64url(hashlib.sha256(verifier.encode("ascii")).digest())


def select_scopes(challenge: Sequence[str] | None, resource: Sequence[str] | None, *,
                  previous: Sequence[str] = (), authorization_server: Sequence[str] | None = None,
                  offline_access: bool = False) -> tuple[str, ...] | None:
    """The scopes to ask for (MCP "Scope Selection Strategy"): the challenge's, else the
    resource's ``scopes_supported``, else none (``None``: omit ``scope``); joined with the
    scopes asked for before (step-up keeps them, SEP-2350), plus ``offline_access`` when
    wanted and the authorization server lists it (SEP-2207)."""
    chosen = list(challenge) if challenge is not None else \
        list(resource) if resource is not None else []
    scopes = list(dict.fromkeys([*previous, *chosen]))
    if offline_access and authorization_server and "offline_access" in authorization_server \
            and "offline_access" not in scopes:
        scopes.append("offline_access")
    return tuple(scopes) or None


def choose_auth_method(supported: Sequence[str] | None, *, has_secret: bool,
                       has_key: bool = False) -> str:
    """The token endpoint authentication method: what the client can do that the server
    lists (``client_secret_basic`` when the server lists none, RFC 8414 §2; a client with
    a key uses ``private_key_jwt`` then)."""
    if has_key and (supported is None or "private_key_jwt" in supported):
        return "private_key_jwt"  # a client with a key only has it to authenticate with
    listed = list(supported) if supported is not None else ["client_secret_basic"]
    if has_key and "private_key_jwt" in listed:
        return "private_key_jwt"
    if has_secret:
        for method in ("client_secret_basic", "client_secret_post"):
            if method in listed:
                return method
    if "none" in listed or not has_secret:
        return "none"
    return listed[0]


# -- the steps

@dataclass(frozen=True)
class HTTPCall:
    """Make one HTTP request (redirects not followed) and answer with its
    :class:`HTTPAnswer`, or ``None`` when no answer came."""

    method: str
    url: str
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""


@dataclass(frozen=True)
class HTTPAnswer:
    """An answer to an :class:`HTTPCall` (header names lower-case)."""

    status: int
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""


@dataclass(frozen=True)
class UserAuthorization:
    """Send the user to ``url``; answer with the URL the authorization server redirected
    them to (on ``redirect_uri``)."""

    url: str
    redirect_uri: str


@dataclass(frozen=True)
class DPoPProof:
    """Sign a DPoP proof (RFC 9449 §4.2) with the client's DPoP key: a JWT with header
    ``typ: dpop+jwt``, ``alg`` and the public ``jwk``, and these ``claims``; answer with it."""

    claims: Mapping[str, Any]
    alg: str


@dataclass(frozen=True)
class SignAssertion:
    """Sign ``claims`` as a JWT with the client's key (``alg``); answer with the JWT."""

    claims: Mapping[str, Any]
    alg: str


Step: TypeAlias = "HTTPCall | UserAuthorization | SignAssertion | DPoPProof"


@dataclass(frozen=True)
class Token:
    """An access token and what came with it (``expires_at`` on the caller's clock)."""

    access_token: str
    token_type: str = "Bearer"
    refresh_token: str | None = None
    expires_at: float | None = None
    scopes: tuple[str, ...] | None = None
    issuer: str | None = None

    def __repr__(self) -> str:  # never the secrets
        return f"Token(type={self.token_type!r}, scopes={self.scopes!r}, issuer={self.issuer!r})"

    def to_json(self) -> dict[str, Any]:
        return {"access_token": self.access_token, "token_type": self.token_type,
                "refresh_token": self.refresh_token, "expires_at": self.expires_at,
                "scopes": list(self.scopes) if self.scopes is not None else None,
                "issuer": self.issuer}

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> Token:
        scopes = doc.get("scopes")
        return cls(str(doc["access_token"]), str(doc.get("token_type") or "Bearer"),
                   doc.get("refresh_token"), doc.get("expires_at"),
                   tuple(scopes) if isinstance(scopes, list) else None, doc.get("issuer"))


@dataclass(frozen=True)
class Registration:
    """A client's credentials at one authorization server."""

    issuer: str
    client_id: str
    client_secret: str | None = None
    auth_method: str | None = None

    def __repr__(self) -> str:
        return f"Registration(issuer={self.issuer!r}, client_id={self.client_id!r})"


@dataclass(frozen=True)
class ClientConfig:
    """How this client identifies itself and which grant it uses.

    Args:
        grant: ``"authorization_code"`` (a user authorizes), ``"client_credentials"``
            (a machine client), ``"jwt_bearer"`` (RFC 7523: ``assertion``, a workload
            identity JWT, is the grant; SEP-1933) or ``"id_jag"`` (enterprise-managed
            authorization, SEP-990: ``id_token`` is exchanged at the identity provider's
            ``idp_token_endpoint`` for an ID-JAG (RFC 8693), which is the JWT bearer grant).
        client_id, client_secret: pre-registered credentials (used at any authorization
            server, or only at ``issuer`` when given).
        issuer: the authorization server the pre-registered credentials belong to.
        signing_alg: with ``grant="client_credentials"`` and no secret, authenticate with
            ``private_key_jwt`` signed with this algorithm (:class:`SignAssertion`).
        client_metadata_url: a client ID metadata document URL, used as the client_id
            where the server supports it.
        redirect_uri: where the authorization server sends the user back.
        client_name: for dynamic registration.
        scopes: scopes to ask for regardless of the challenge (added to the selection).
        offline_access: ask for ``offline_access`` when the server lists it (a refresh token).
    """

    grant: str = "authorization_code"
    client_id: str | None = None
    client_secret: str | None = None
    issuer: str | None = None
    signing_alg: str | None = None
    client_metadata_url: str | None = None
    redirect_uri: str = "http://127.0.0.1:33418/callback"
    client_name: str = "trio-mcp"
    scopes: tuple[str, ...] = ()
    offline_access: bool = True
    assertion: str | None = None
    id_token: str | None = None
    idp_token_endpoint: str | None = None
    idp_client_id: str | None = None
    idp_client_secret: str | None = None
    dpop_algs: tuple[str, ...] = ()

    def __repr__(self) -> str:
        return (f"ClientConfig(grant={self.grant!r}, client_id={self.client_id!r}, "
                f"issuer={self.issuer!r})")


@dataclass
class AuthState:
    """What the flow learnt and keeps between runs for one MCP server: the token, the
    registrations by issuer, the scopes asked for, how many flows in a row one request
    started. :meth:`to_json`/:meth:`from_json` for a token store."""

    token: Token | None = None
    registrations: dict[str, Registration] = field(default_factory=dict)
    scopes: tuple[str, ...] = ()
    issuer: str | None = None
    attempts: int = 0
    #: RFC 9449: the algorithm of the DPoP key the token is bound to (``None``: Bearer), and
    #: the latest nonces the authorization server and the resource server asked for.
    dpop_alg: str | None = None
    as_nonce: str | None = None
    rs_nonce: str | None = None

    def __repr__(self) -> str:
        return f"AuthState(issuer={self.issuer!r}, scopes={self.scopes!r})"

    def to_json(self) -> dict[str, Any]:
        """What a token store keeps: not a DPoP-bound token (its key lives in memory only)."""
        keep = self.token is not None and self.token.token_type.lower() != "dpop"
        return {"token": self.token.to_json() if keep and self.token else None,
                "registrations": [{"issuer": r.issuer, "client_id": r.client_id,
                                   "client_secret": r.client_secret,
                                   "auth_method": r.auth_method}
                                  for r in self.registrations.values()],
                "scopes": list(self.scopes), "issuer": self.issuer}

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> AuthState:
        regs = {str(r["issuer"]): Registration(str(r["issuer"]), str(r["client_id"]),
                                               r.get("client_secret"), r.get("auth_method"))
                for r in doc.get("registrations") or ()}
        token = doc.get("token")
        return cls(Token.from_json(token) if token else None, regs,
                   tuple(doc.get("scopes") or ()), doc.get("issuer"))


def _form(params: Mapping[str, str | None]) -> bytes:
    return urlencode({k: v for k, v in params.items() if v is not None}).encode()


_FORM = ("content-type", "application/x-www-form-urlencoded")
_JSON_ACCEPT = ("accept", "application/json")


def _ok_json(answer: HTTPAnswer | None, what: str) -> dict[str, Any] | None:
    if answer is None or not 200 <= answer.status < 300:
        return None
    try:
        doc = json.loads(answer.body)
    except (ValueError, UnicodeDecodeError):
        return None
    return doc if isinstance(doc, dict) else None


def _token_error(answer: HTTPAnswer | None) -> str:
    if answer is None:
        return "no answer"
    try:
        doc = json.loads(answer.body)
        error = str(doc.get("error"))
        desc = doc.get("error_description")
        return f"HTTP {answer.status} {error}" + (f": {desc}" if desc else "")
    except Exception:
        return f"HTTP {answer.status}"


def parse_token_answer(answer: HTTPAnswer | None, *, now: float, issuer: str | None,
                       requested: tuple[str, ...] | None) -> Token:
    """The token of a token endpoint answer (RFC 6749 §5.1).

    Raises:
        OAuthError: an error answer (its ``error`` and description), or no access token.
    """
    doc = _ok_json(answer, "token")
    if doc is None or not isinstance(doc.get("access_token"), str):
        raise OAuthError(f"the token request failed: {_token_error(answer)}")
    expires = doc.get("expires_in")
    scope = doc.get("scope")
    refresh = doc.get("refresh_token")
    return Token(doc["access_token"], str(doc.get("token_type") or "Bearer"),
                 refresh if isinstance(refresh, str) else None,
                 now + float(expires) if isinstance(expires, (int, float)) else None,
                 tuple(scope.split()) if isinstance(scope, str) else requested, issuer)


def dpop_claims(method: str, url: str, *, now: float, jti: str, nonce: str | None = None,
                access_token: str | None = None) -> dict[str, Any]:
    """The claims of a DPoP proof for a ``method`` request to ``url`` (RFC 9449 §4.2: ``htu``
    without query and fragment; ``ath``, the hash of the access token it presents, §4.3)."""
    parts = urlsplit(url)
    claims: dict[str, Any] = {"jti": jti, "htm": method,
                              "htu": urlunsplit((parts.scheme, parts.netloc, parts.path, "", "")),
                              "iat": int(now)}
    if nonce is not None:
        claims["nonce"] = nonce
    if access_token is not None:
        claims["ath"] = _b64url(hashlib.sha256(access_token.encode("ascii")).digest())
    return claims


def dpop_nonce_challenge(status: int, headers: Mapping[str, str]) -> str | None:
    """The nonce a server asks DPoP proofs to carry (RFC 9449 §8, §9): a 400
    ``use_dpop_nonce`` token answer or a 401 ``DPoP error="use_dpop_nonce"`` challenge,
    with a ``DPoP-Nonce`` header."""
    nonce = headers.get("dpop-nonce")
    if not nonce:
        return None
    if status == 401:
        challenge = bearer_challenge(headers.get("www-authenticate"))
        return nonce if challenge is not None and challenge.error == "use_dpop_nonce" else None
    return nonce if status == 400 else None


def _dpop_alg(config: ClientConfig, metadata: AuthorizationServerMetadata) -> str | None:
    offered = _strings(metadata.raw.get("dpop_signing_alg_values_supported")) or ()
    return next((alg for alg in config.dpop_algs if alg in offered and alg != "none"), None)


def _token_call(state: AuthState, config: ClientConfig, metadata: AuthorizationServerMetadata,
                headers: list[tuple[str, str]], params: dict[str, str | None], *, now: float,
                jti: str) -> Generator[Step, Any, HTTPAnswer | None]:
    """POST a token request, with a DPoP proof when both sides do DPoP (sent once more with
    the server's nonce after a ``use_dpop_nonce`` answer)."""
    alg = _dpop_alg(config, metadata)
    state.dpop_alg = alg
    for attempt in range(2):
        extra: list[tuple[str, str]] = []
        if alg is not None:
            proof = yield DPoPProof(dpop_claims("POST", metadata.token_endpoint, now=now,
                                                jti=f"{jti}-{attempt}",
                                                nonce=state.as_nonce), alg)
            extra.append(("dpop", str(proof)))
        answer = yield HTTPCall("POST", metadata.token_endpoint,
                                (_FORM, _JSON_ACCEPT, *headers, *extra), _form(params))
        nonce = dpop_nonce_challenge(answer.status, answer.headers) \
            if alg is not None and answer is not None else None
        if nonce is None or attempt:
            return answer  # type: ignore[no-any-return]
        state.as_nonce = nonce
    return None  # pragma: no cover


def _client_auth(reg: Registration, metadata: AuthorizationServerMetadata,
                 params: dict[str, str | None], *, config: ClientConfig, now: float,
                 jti: str) -> Generator[Step, Any, list[tuple[str, str]]]:
    """Add client authentication to a token request's ``params``; its extra headers."""
    method = reg.auth_method or choose_auth_method(
        metadata.token_endpoint_auth_methods_supported, has_secret=bool(reg.client_secret),
        has_key=config.signing_alg is not None)
    headers: list[tuple[str, str]] = []
    if method == "client_secret_basic" and reg.client_secret is not None:
        pair = f"{quote(reg.client_id, safe='')}:{quote(reg.client_secret, safe='')}"
        headers.append(("authorization", "Basic " + base64.b64encode(pair.encode()).decode()))
    elif method == "client_secret_post" and reg.client_secret is not None:
        params["client_id"] = reg.client_id
        params["client_secret"] = reg.client_secret
    elif method == "private_key_jwt" and config.signing_alg is not None:
        claims = {"iss": reg.client_id, "sub": reg.client_id, "aud": metadata.issuer,
                  "iat": int(now), "exp": int(now) + 300, "jti": jti}
        assertion = yield SignAssertion(claims, config.signing_alg)
        params["client_id"] = reg.client_id
        params["client_assertion_type"] = JWT_BEARER
        params["client_assertion"] = str(assertion)
    else:
        params["client_id"] = reg.client_id
    return headers


def _register(metadata: AuthorizationServerMetadata, config: ClientConfig,
              state: AuthState) -> Generator[Step, Any, Registration]:
    """The client's registration at ``metadata.issuer``: kept, pre-registered, its client ID
    metadata document URL, or RFC 7591 dynamic registration (in that order)."""
    issuer = metadata.issuer
    kept = state.registrations.get(issuer)
    if kept is not None:
        return kept
    if config.client_id is not None and config.issuer in (None, issuer):
        reg = Registration(issuer, config.client_id, config.client_secret)
    elif config.client_metadata_url and metadata.client_id_metadata_document_supported:
        reg = Registration(issuer, config.client_metadata_url, None, "none")
    elif metadata.registration_endpoint is not None:
        method = choose_auth_method(metadata.token_endpoint_auth_methods_supported,
                                    has_secret=True)
        grants = ["authorization_code", "refresh_token"] if config.grant == \
            "authorization_code" else [config.grant]
        body = {"client_name": config.client_name, "redirect_uris": [config.redirect_uri],
                "grant_types": grants, "response_types": ["code"],
                "token_endpoint_auth_method": method, "application_type": "native"}
        answer = yield HTTPCall("POST", metadata.registration_endpoint,
                                (("content-type", "application/json"), _JSON_ACCEPT),
                                json.dumps(body).encode())
        doc = _ok_json(answer, "registration")
        if doc is None or not isinstance(doc.get("client_id"), str):
            raise OAuthError(f"dynamic client registration at {metadata.registration_endpoint}"
                             f" failed: {_token_error(answer)}")
        secret = doc.get("client_secret")
        got = doc.get("token_endpoint_auth_method")
        reg = Registration(issuer, doc["client_id"], secret if isinstance(secret, str) else None,
                           got if isinstance(got, str) else None)
    else:
        raise OAuthError(f"no client registration for {issuer}: it offers no dynamic "
                         "registration and no client_id was configured")
    state.registrations[issuer] = reg
    return reg


def _discover(server_url: str, challenge: Challenge | None
              ) -> Generator[Step, Any, tuple[ProtectedResourceMetadata | None,
                                               AuthorizationServerMetadata]]:
    """Protected-resource metadata (``None`` for a 2025-03-26 server that has none) and the
    metadata of its (first) authorization server."""
    prm: ProtectedResourceMetadata | None = None
    header = challenge.resource_metadata if challenge is not None else None
    for url in protected_resource_metadata_urls(server_url, header):
        answer = yield HTTPCall("GET", url, (_JSON_ACCEPT,))
        if answer is not None and answer.status == 200:
            prm = parse_protected_resource_metadata(answer, server_url)
            break
    issuer = prm.authorization_servers[0] if prm is not None else _origin(server_url)
    for url in authorization_server_metadata_urls(issuer):
        answer = yield HTTPCall("GET", url, (_JSON_ACCEPT,))
        if answer is not None and answer.status == 200:
            return prm, parse_authorization_server_metadata(answer, issuer)
    if prm is None:
        return None, legacy_metadata(server_url)
    raise OAuthError(f"no authorization server metadata for {issuer}")


def _check_redirect(redirect: str, expected_state: str,
                    metadata: AuthorizationServerMetadata) -> str:
    """The code of the authorization response at ``redirect``.

    Raises:
        OAuthError: an error response, the wrong ``state``, or an ``iss`` that is not exactly
            the issuer (or missing where the server said it sends one; RFC 9207 §2.4).
    """
    params = dict(parse_qsl(urlsplit(str(redirect)).query))
    if params.get("state") != expected_state:
        raise OAuthError("the authorization response's state does not match the request's")
    iss = params.get("iss")
    if iss is not None and iss != metadata.issuer:
        raise OAuthError(f"the authorization response comes from issuer {iss!r}, not "
                         f"{metadata.issuer!r} (RFC 9207)")
    if iss is None and metadata.iss_parameter_supported:
        raise OAuthError("the authorization response has no iss although the server "
                         "advertises it (RFC 9207)")
    if "error" in params:
        raise OAuthError(f"authorization refused: {params['error']}"
                         + (f": {params['error_description']}"
                            if "error_description" in params else ""))
    code = params.get("code")
    if not code:
        raise OAuthError("the authorization response has no code")
    return code


def authorize(state: AuthState, server_url: str, config: ClientConfig, *,
              challenge: Challenge | None, status: int, now: float, random: bytes
              ) -> Generator[Step, Any, Token]:
    """Obtain a token for ``server_url`` after it answered ``status`` (401 or 403) with
    ``challenge``: the whole flow, as steps (see the module docstring).

    State effect: ``state`` gets the token, the registration at the authorization server
    (a new one when the resource names another server than before: credentials are never
    carried across), the scopes asked for, and one more attempt (reset by
    :func:`succeeded`).

    Args:
        random: at least 64 random bytes (PKCE verifier, ``state``, JWT ``jti``).

    Raises:
        OAuthError: the flow cannot complete, with the reason; also when this request
            already started :data:`MAX_AUTHORIZATIONS` flows (a step-up that never works).
    """
    if len(random) < 64:
        raise ValueError("authorize needs at least 64 random bytes")
    if state.attempts >= MAX_AUTHORIZATIONS:
        raise OAuthError(f"gave up after {state.attempts} authorizations for {server_url}"
                         + (f": the server still answers {challenge.error}"
                            if challenge is not None and challenge.error else ""))
    state.attempts += 1
    prm, metadata = yield from _discover(server_url, challenge)
    if state.issuer is not None and state.issuer != metadata.issuer:
        state.token = None  # a new authorization server: nothing of the old one is reused
    state.issuer = metadata.issuer
    resource = prm.resource if prm is not None else server_url
    step_up = status == 403 and challenge is not None and challenge.error == "insufficient_scope"
    old = state.token
    # refresh first, when the token merely expired or was refused (not for a step-up)
    if old is not None and old.refresh_token and not step_up and old.issuer == metadata.issuer:
        reg = state.registrations.get(metadata.issuer)
        if reg is not None:
            params: dict[str, str | None] = {"grant_type": "refresh_token",
                                             "refresh_token": old.refresh_token,
                                             "resource": resource}
            headers = yield from _client_auth(reg, metadata, params, config=config, now=now,
                                              jti=_b64url(random[48:64]))
            answer = yield from _token_call(state, config, metadata, headers, params, now=now,
                                            jti=_b64url(random[32:48]))
            try:
                token = parse_token_answer(answer, now=now, issuer=metadata.issuer,
                                           requested=old.scopes)
            except OAuthError:
                pass
            else:
                if token.refresh_token is None:
                    token = replace(token, refresh_token=old.refresh_token)
                state.token = token
                return token
    reg = yield from _register(metadata, config, state)
    scopes = select_scopes(
        challenge.scopes if challenge is not None else None,
        prm.scopes_supported if prm is not None else None,
        previous=(*config.scopes, *(state.scopes if step_up else ())),
        authorization_server=metadata.scopes_supported,
        offline_access=config.offline_access and config.grant == "authorization_code")
    state.scopes = scopes or ()
    scope = " ".join(scopes) if scopes else None
    if config.grant in ("jwt_bearer", "id_jag"):
        assertion = config.assertion
        if config.grant == "id_jag":
            assertion = yield from _id_jag(config, metadata, resource, scope, now)
        if not assertion:
            raise OAuthError("the jwt_bearer grant needs an assertion")
        params = {"grant_type": JWT_BEARER_GRANT, "assertion": assertion, "scope": scope,
                  "resource": resource}
        headers = yield from _client_auth(reg, metadata, params, config=config, now=now,
                                          jti=_b64url(random[48:64]))
        answer = yield from _token_call(state, config, metadata, headers, params, now=now,
                                            jti=_b64url(random[32:48]))
        token = parse_token_answer(answer, now=now, issuer=metadata.issuer, requested=scopes)
        state.token = token
        return token
    if config.grant == "client_credentials":
        params = {"grant_type": "client_credentials", "scope": scope, "resource": resource}
        headers = yield from _client_auth(reg, metadata, params, config=config, now=now,
                                          jti=_b64url(random[48:64]))
        answer = yield from _token_call(state, config, metadata, headers, params, now=now,
                                            jti=_b64url(random[32:48]))
        token = parse_token_answer(answer, now=now, issuer=metadata.issuer, requested=scopes)
        state.token = token
        return token
    if metadata.authorization_endpoint is None:
        raise OAuthError(f"{metadata.issuer} has no authorization_endpoint")
    methods = metadata.code_challenge_methods_supported
    if methods is not None and "S256" not in methods:
        raise OAuthError(f"{metadata.issuer} does not support PKCE S256: refusing to "
                         "authorize")
    verifier = _b64url(random[:32])
    expected_state = _b64url(random[32:48])
    query = {"response_type": "code", "client_id": reg.client_id,
             "redirect_uri": config.redirect_uri, "code_challenge": pkce_challenge(verifier),
             "code_challenge_method": "S256", "state": expected_state, "scope": scope,
             "resource": resource}
    endpoint = metadata.authorization_endpoint
    sep = "&" if urlsplit(endpoint).query else "?"
    url = endpoint + sep + urlencode({k: v for k, v in query.items() if v is not None})
    redirect = yield UserAuthorization(url, config.redirect_uri)
    code = _check_redirect(str(redirect), expected_state, metadata)
    params = {"grant_type": "authorization_code", "code": code,
              "redirect_uri": config.redirect_uri, "code_verifier": verifier,
              "resource": resource}
    headers = yield from _client_auth(reg, metadata, params, config=config, now=now,
                                      jti=_b64url(random[48:64]))
    answer = yield from _token_call(state, config, metadata, headers, params, now=now,
                                            jti=_b64url(random[32:48]))
    token = parse_token_answer(answer, now=now, issuer=metadata.issuer, requested=scopes)
    state.token = token
    return token


def _id_jag(config: ClientConfig, metadata: AuthorizationServerMetadata, resource: str,
            scope: str | None, now: float) -> Generator[Step, Any, str]:
    """Exchange the identity provider's ID token for an ID-JAG for ``metadata.issuer``
    (RFC 8693 token exchange; SEP-990)."""
    if not config.id_token or not config.idp_token_endpoint:
        raise OAuthError("enterprise-managed authorization needs an id_token and the "
                         "identity provider's token endpoint")
    params: dict[str, str | None] = {
        "grant_type": TOKEN_EXCHANGE, "requested_token_type": ID_JAG_TYPE,
        "subject_token": config.id_token, "subject_token_type": ID_TOKEN_TYPE,
        "audience": metadata.issuer, "resource": resource, "scope": scope}
    headers: list[tuple[str, str]] = []
    if config.idp_client_id is not None:
        idp = Registration(config.idp_token_endpoint, config.idp_client_id,
                           config.idp_client_secret,
                           "client_secret_basic" if config.idp_client_secret else "none")
        headers = yield from _client_auth(idp, metadata, params, config=config, now=now,
                                          jti="")
    answer = yield HTTPCall("POST", config.idp_token_endpoint,
                            (_FORM, _JSON_ACCEPT, *headers), _form(params))
    doc = _ok_json(answer, "token exchange")
    if doc is None or not isinstance(doc.get("access_token"), str):
        raise OAuthError(f"the token exchange at {config.idp_token_endpoint} failed: "
                         f"{_token_error(answer)}")
    if doc.get("issued_token_type") not in (None, ID_JAG_TYPE):
        raise OAuthError(f"the identity provider issued a {doc.get('issued_token_type')}, "
                         "not an ID-JAG")
    return str(doc["access_token"])


def succeeded(state: AuthState) -> None:
    """A request went through with the token: the next refusal starts the count anew."""
    state.attempts = 0


def authorization_header(token: Token) -> tuple[str, str]:
    """The ``Authorization`` field presenting ``token`` (RFC 6750 §2.1; a DPoP-bound token
    with the ``DPoP`` scheme, RFC 9449 §7.1)."""
    scheme = "DPoP" if token.token_type.lower() == "dpop" else "Bearer"
    return ("authorization", f"{scheme} {token.access_token}")
