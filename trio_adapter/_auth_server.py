"""Authorization for :func:`serve_http`: token verifiers and the gate in front of the MCP
endpoint (every decision is :mod:`sansio.auth_server`'s; this module reads the clock, fetches
keys and asks introspection endpoints, with deadlines and bounded caches).

``serve_http(server, auth=ProtectedResource(verifier, authorization_servers=[...]))`` makes
the endpoint a protected resource: ``/.well-known/oauth-protected-resource`` (and its
path-suffixed form) serves the metadata, a request without a valid token gets 401 with a
``WWW-Authenticate`` challenge, a request for a tool whose scopes the token lacks 403
``insufficient_scope``, and handlers see the verified :class:`~sansio.auth_server.Principal`
as ``ctx.principal``.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import ssl
import time
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable
from urllib.parse import urlsplit

import h11
import trio

from sansio import _codec
from sansio.auth_server import (
    AuthAnswer,
    Principal,
    ResourceServer,
    TokenRejected,
    check_claims,
    introspection_request,
    jwt_header,
    principal_from_introspection,
)

from ._netfail import _check_resolvable, describe_failure
from ._oneshot import AnswerTooLarge, request_once

if TYPE_CHECKING:
    from sansio.http import CompleteRequest

    from ._http_server import _Endpoint
    from .server import Server

__all__ = [
    "IntrospectionVerifier",
    "JWTVerifier",
    "ProtectedResource",
    "StaticTokenVerifier",
    "TokenVerifier",
    "VerifierUnavailable",
]

logger = logging.getLogger("trio_mcp.auth")


class VerifierUnavailable(Exception):
    """A verifier cannot decide now (its keys or its introspection endpoint cannot be
    reached in time, or answered nonsense); the request gets 503. ``str()`` is one line."""


@runtime_checkable
class TokenVerifier(Protocol):
    """What checks a bearer token: :meth:`verify` returns the principal it speaks for, or
    ``None`` (or raises :class:`~sansio.auth_server.TokenRejected`) when it is not valid, or
    raises :class:`VerifierUnavailable` when it cannot tell now. The endpoint itself then
    checks the audience and the scopes (see :class:`ProtectedResource`)."""

    async def verify(self, token: str) -> Principal | None:
        """The principal ``token`` speaks for, or ``None``."""
        ...


# ---------------------------------------------------------------- one HTTP request


async def _fetch(method: str, url: str, *, headers: Sequence[tuple[str, str]] = (),
                 body: bytes = b"", within: float, max_body: int,
                 ssl_context: ssl.SSLContext | None = None) -> tuple[int, bytes]:
    """One HTTP/1.1 request over h11 on a fresh connection, bounded by ``within`` seconds
    in all and ``max_body`` bytes of answer; ``(status, body)``.

    Raises:
        VerifierUnavailable: unreachable, too slow, too large, or not HTTP.
    """
    host = urlsplit(url).hostname
    try:
        with trio.fail_after(within):
            if host:
                _check_resolvable(host)
            status, _, answer = await request_once(method, url, headers, body,
                                                   max_body=max_body, ssl_context=ssl_context)
    except ValueError:
        raise VerifierUnavailable(f"{url}: not an http(s) URL") from None
    except AnswerTooLarge:
        raise VerifierUnavailable(f"{url}: the answer is larger than {max_body} bytes") \
            from None
    except trio.TooSlowError:
        raise VerifierUnavailable(f"{url}: no answer within {within:g} s") from None
    except (OSError, trio.BrokenResourceError) as exc:
        raise VerifierUnavailable(f"{url}: {describe_failure(exc)}") from None
    except h11.ProtocolError as exc:
        raise VerifierUnavailable(f"{url}: not a valid HTTP answer ({exc})") from None
    return status, answer


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).digest()


# ---------------------------------------------------------------- verifiers


class StaticTokenVerifier:
    """Fixed tokens, each standing for a fixed principal (for tests, development and
    machine clients with long-lived keys). The comparison takes the same time whatever the
    token; tokens are held only as their SHA-256 digests.

    Args:
        tokens: token -> the principal it speaks for.
    """

    def __init__(self, tokens: Mapping[str, Principal]) -> None:
        self._tokens = [(_digest(token), principal) for token, principal in tokens.items()]

    async def verify(self, token: str) -> Principal | None:
        """The principal of ``token``, or ``None``."""
        await trio.lowlevel.checkpoint()
        digest = _digest(token)
        found: Principal | None = None
        for known, principal in self._tokens:
            if hmac.compare_digest(known, digest):
                found = principal
        return found


_DEFAULT_ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512",
                       "ES256", "ES384", "ES512", "EdDSA")


def _jwt() -> Any:
    try:
        import jwt
    except ImportError:  # pragma: no cover - the dev extra has it
        raise ImportError("JWTVerifier needs PyJWT: pip install 'trio-mcp[jwt]'") from None
    return jwt


class JWTVerifier:
    """Verifies JWT access tokens (RFC 9068) with the keys of a JWKS URL, or static keys,
    through PyJWT (the ``jwt`` extra: ``pip install 'trio-mcp[jwt]'``).

    The signature is PyJWT's; the claims are :func:`sansio.auth_server.check_claims`'s
    (``exp`` required, ``nbf``, ``iat``, ``iss``); the audience is the endpoint's check.

    Args:
        issuer: the ``iss`` every token must carry (``None``: not checked; not advised).
        jwks_url: where the keys are (``https://as.example/.well-known/jwks.json``); fetched
            on first use, again after ``jwks_ttl`` seconds, and at most once every
            ``jwks_min_interval`` seconds when a token names a key not in the set.
        keys: static keys instead (or as well): JWKs (dicts), a JWKS (``{"keys": [...]}``),
            or PEM public keys (str).
        algorithms: the ``alg`` values accepted (asymmetric ones by default; never
            ``none``).
        leeway: seconds of clock skew allowed on ``exp``/``nbf``/``iat``.
        fetch_timeout: the deadline of one JWKS fetch. max_jwks_bytes, max_keys: bounds on
            the set (beyond them it is refused).
        cache_size: how many verified tokens are remembered (by SHA-256, until their ``exp``
            and at most ``jwks_ttl`` seconds), so that a client's next request costs no
            signature check; 0 for none.
        ssl_context: for an ``https://`` JWKS URL (the system's by default).

    Raises:
        ValueError: neither ``jwks_url`` nor ``keys``, or a key PyJWT cannot read.
        ImportError: PyJWT is not installed.
    """

    def __init__(self, *, issuer: str | None, jwks_url: str | None = None,
                 keys: Sequence[Mapping[str, Any] | str] | Mapping[str, Any] | None = None,
                 algorithms: Sequence[str] = _DEFAULT_ALGORITHMS, leeway: float = 60.0,
                 jwks_ttl: float = 300.0, jwks_min_interval: float = 10.0,
                 fetch_timeout: float = 10.0, max_jwks_bytes: int = 256 * 1024,
                 max_keys: int = 64, cache_size: int = 1024,
                 ssl_context: ssl.SSLContext | None = None) -> None:
        self._jwt = _jwt()
        if cache_size < 0:
            raise ValueError("cache_size must be at least 0")
        self.cache_size = cache_size
        # digest -> (principal, trio.current_time() until which it holds)
        self._verified: OrderedDict[bytes, tuple[Principal, float]] = OrderedDict()
        if jwks_url is None and keys is None:
            raise ValueError("JWTVerifier needs jwks_url or keys")
        if "none" in (a.lower() for a in algorithms):
            raise ValueError("the 'none' algorithm is never accepted")
        self.issuer = issuer
        self.jwks_url = jwks_url
        self.algorithms = tuple(algorithms)
        self.leeway = leeway
        self.jwks_ttl = jwks_ttl
        self.jwks_min_interval = jwks_min_interval
        self.fetch_timeout = fetch_timeout
        self.max_jwks_bytes = max_jwks_bytes
        self.max_keys = max_keys
        self._ssl = ssl_context
        self._static: list[tuple[str | None, Any]] = []
        if keys is not None:
            listed = keys.get("keys", []) if isinstance(keys, Mapping) else keys
            for key in listed:
                self._static.append(self._read_key(key))
        self._fetched: list[tuple[str | None, Any]] = []
        self._fetched_at: float | None = None  # trio.current_time() of the last fetch
        self._lock = trio.Lock()

    def _read_key(self, key: Mapping[str, Any] | str) -> tuple[str | None, Any]:
        if isinstance(key, str):
            return None, key  # PEM: PyJWT prepares it per algorithm
        try:
            jwk = self._jwt.PyJWK.from_dict(dict(key))
        except Exception as exc:  # PyJWT raises several kinds
            raise ValueError(f"cannot read JWK: {exc}") from None
        return jwk.key_id, jwk

    async def _refresh(self, *, forced: bool) -> None:
        assert self.jwks_url is not None
        async with self._lock:
            now = trio.current_time()
            at = self._fetched_at
            if at is not None and (now - at < self.jwks_min_interval
                                   or (not forced and now - at < self.jwks_ttl)):
                return  # another task fetched it meanwhile, or too soon to ask again
            status, body = await _fetch("GET", self.jwks_url, within=self.fetch_timeout,
                                        max_body=self.max_jwks_bytes, ssl_context=self._ssl,
                                        headers=(("accept", "application/json"),))
            if status != 200:
                raise VerifierUnavailable(f"{self.jwks_url}: HTTP {status}")
            try:
                doc = _codec.loads(body)
                listed = doc["keys"]
                if not isinstance(listed, list):
                    raise TypeError
            except (ValueError, TypeError, KeyError):
                raise VerifierUnavailable(f"{self.jwks_url}: not a JWK set") from None
            if len(listed) > self.max_keys:
                raise VerifierUnavailable(
                    f"{self.jwks_url}: {len(listed)} keys (more than {self.max_keys})")
            keys: list[tuple[str | None, Any]] = []
            for item in listed:
                if not isinstance(item, dict) or item.get("use", "sig") != "sig":
                    continue
                try:
                    keys.append(self._read_key(item))
                except ValueError as exc:  # one unreadable key (an unknown kty) is skipped
                    logger.info("trio-mcp: %s: skipped a key: %s", self.jwks_url, exc)
            self._fetched = keys
            self._fetched_at = trio.current_time()

    def _candidates(self, kid: str | None) -> list[Any]:
        keys = [*self._static, *self._fetched]
        if kid is not None:
            named = [key for key_id, key in keys if key_id == kid]
            if named:
                return named
            return [key for key_id, key in keys if key_id is None]
        return [key for _, key in keys]

    async def verify(self, token: str) -> Principal:
        """The principal of a JWT access token.

        Raises:
            TokenRejected: malformed, signed with an algorithm not accepted or by no known
                key, or a claim check failed.
            VerifierUnavailable: the JWKS could not be fetched.
        """
        digest = _digest(token) if self.cache_size else b""
        cached = self._verified.get(digest) if self.cache_size else None
        if cached is not None:
            if trio.current_time() < cached[1]:
                self._verified.move_to_end(digest)
                await trio.lowlevel.checkpoint()
                return cached[0]
            del self._verified[digest]
        principal = await self._verify(token)
        if self.cache_size:
            wall = time.time()
            ttl = self.jwks_ttl if principal.expires_at is None else \
                min(self.jwks_ttl, principal.expires_at - wall)
            nbf = principal.claims.get("nbf")
            if ttl > 0 and not (isinstance(nbf, (int, float)) and nbf > wall):
                self._verified[digest] = (principal, trio.current_time() + ttl)
                while len(self._verified) > self.cache_size:
                    self._verified.popitem(last=False)
        return principal

    async def _verify(self, token: str) -> Principal:
        jwt = self._jwt
        header = jwt_header(token)
        alg = header.get("alg")
        if alg not in self.algorithms:
            raise TokenRejected(f"the token's algorithm {alg!r} is not accepted")
        kid = header.get("kid")
        kid = kid if isinstance(kid, str) else None
        if self.jwks_url is not None:
            at = self._fetched_at
            stale = at is None or trio.current_time() - at >= self.jwks_ttl
            if stale or (kid is not None and not any(k == kid for k, _ in
                                                     [*self._static, *self._fetched])):
                try:
                    await self._refresh(forced=not stale)
                except VerifierUnavailable:
                    if not self._fetched and not self._static:
                        raise
                    logger.warning("trio-mcp: cannot refresh %s; using the keys held",
                                   self.jwks_url)
        else:
            await trio.lowlevel.checkpoint()
        claims: dict[str, Any] | None = None
        for key in self._candidates(kid):
            try:
                claims = jwt.decode(token, key, algorithms=[alg], options={
                    "verify_exp": False, "verify_nbf": False, "verify_iat": False,
                    "verify_aud": False, "verify_iss": False})
                break
            except (jwt.InvalidSignatureError, jwt.InvalidKeyError,
                    jwt.InvalidAlgorithmError):
                continue  # another key (or a key of another type) may fit
            except jwt.PyJWTError as exc:
                raise TokenRejected(f"the token is not valid: {exc}") from None
        if claims is None:
            raise TokenRejected("the token is not signed by a known key")
        return check_claims(claims, now=time.time(), issuer=self.issuer, leeway=self.leeway)


class IntrospectionVerifier:
    """Asks an RFC 7662 introspection endpoint about each token (opaque tokens), over h11,
    with a deadline; answers are cached (by the token's SHA-256) for at most ``cache_ttl``
    seconds and never past the token's ``exp``, at most ``cache_size`` of them.

    Args:
        url: the introspection endpoint.
        client_id, client_secret: this resource server's credentials there
            (``client_secret_basic``), or ``bearer``: a token of its own.
        issuer: when given, an answer naming another ``iss`` is refused.
        leeway, timeout, max_answer_bytes: clock skew, the deadline of one request, the
            bound on its answer.

    Raises:
        ValueError: ``cache_size`` below 0.
    """

    def __init__(self, url: str, *, client_id: str | None = None,
                 client_secret: str | None = None, bearer: str | None = None,
                 issuer: str | None = None, leeway: float = 60.0, timeout: float = 10.0,
                 cache_ttl: float = 60.0, cache_size: int = 1024,
                 max_answer_bytes: int = 64 * 1024,
                 ssl_context: ssl.SSLContext | None = None) -> None:
        if cache_size < 0:
            raise ValueError("cache_size must be at least 0")
        self.url = url
        self._auth = (client_id, client_secret, bearer)
        self.issuer = issuer
        self.leeway = leeway
        self.timeout = timeout
        self.cache_ttl = cache_ttl
        self.cache_size = cache_size
        self.max_answer_bytes = max_answer_bytes
        self._ssl = ssl_context
        # digest -> (principal, trio.current_time() after which it is asked again)
        self._cache: OrderedDict[bytes, tuple[Principal, float]] = OrderedDict()

    async def verify(self, token: str) -> Principal:
        """The principal of ``token`` per the introspection endpoint.

        Raises:
            TokenRejected: inactive, expired, or from another issuer.
            VerifierUnavailable: the endpoint could not be asked, or did not answer 200 with
                a JSON object.
        """
        digest = _digest(token)
        cached = self._cache.get(digest)
        now = trio.current_time()
        if cached is not None:
            if now < cached[1]:
                self._cache.move_to_end(digest)
                await trio.lowlevel.checkpoint()
                return cached[0]
            del self._cache[digest]
        client_id, client_secret, bearer = self._auth
        headers, body = introspection_request(token, client_id=client_id,
                                              client_secret=client_secret, bearer=bearer)
        status, answer = await _fetch("POST", self.url, headers=headers, body=body,
                                      within=self.timeout, max_body=self.max_answer_bytes,
                                      ssl_context=self._ssl)
        if status != 200:
            raise VerifierUnavailable(f"{self.url}: HTTP {status}")
        try:
            parsed = _codec.loads(answer)
        except ValueError:
            raise VerifierUnavailable(f"{self.url}: the answer is not JSON") from None
        wall = time.time()
        principal = principal_from_introspection(parsed, now=wall, issuer=self.issuer,
                                                 leeway=self.leeway)
        if self.cache_size:
            ttl = self.cache_ttl
            if principal.expires_at is not None:
                ttl = min(ttl, principal.expires_at - wall)
            if ttl > 0:
                self._cache[digest] = (principal, trio.current_time() + ttl)
                while len(self._cache) > self.cache_size:
                    self._cache.popitem(last=False)
        return principal


# ---------------------------------------------------------------- the gate


class ProtectedResource:
    """What :func:`serve_http` needs to make its endpoint an OAuth protected resource.

    Args:
        verifier: checks each bearer token (:class:`JWTVerifier`,
            :class:`IntrospectionVerifier`, :class:`StaticTokenVerifier`, or any
            :class:`TokenVerifier`).
        authorization_servers: the issuer URLs the metadata names.
        resource: the endpoint's public URL, which tokens must name in ``aud`` (default: the
            URL :func:`serve_http` listens on, ``info.url``; give it behind a proxy).
        required_scopes: scopes every request needs.
        scopes_supported: the metadata's list (default: the required scopes and every tool
            scope).
        accepted_audiences, require_audience, resource_name, resource_documentation: as
            :class:`~sansio.auth_server.ResourceServer`.
        verify_timeout: the bound on one ``verifier.verify`` call (beyond it: 503).

    Raises:
        ValueError: ``resource`` or an authorization server is not an absolute http(s) URI,
            or there is no authorization server.

    A tool registered with ``scopes=[...]`` (``@server.tool(scopes=["files:write"])``) needs
    those too; a call without them gets 403 ``insufficient_scope``.
    """

    def __init__(self, verifier: TokenVerifier, *, authorization_servers: Sequence[str],
                 resource: str | None = None, required_scopes: Sequence[str] = (),
                 scopes_supported: Sequence[str] | None = None,
                 accepted_audiences: Sequence[str] = (), require_audience: bool = True,
                 resource_name: str | None = None,
                 resource_documentation: str | None = None,
                 verify_timeout: float = 30.0) -> None:
        self.verifier = verifier
        self.resource = resource
        self.verify_timeout = verify_timeout
        self._options: dict[str, Any] = {
            "authorization_servers": tuple(authorization_servers),
            "required_scopes": tuple(required_scopes), "scopes_supported": scopes_supported,
            "accepted_audiences": tuple(accepted_audiences),
            "require_audience": require_audience, "resource_name": resource_name,
            "resource_documentation": resource_documentation}
        # refuse a bad configuration at once (the listening URL stands in until bound)
        ResourceServer(resource or "http://localhost", **self._options)

    def _bind(self, url: str, server: Server) -> _AuthGate:
        """The gate for an endpoint listening at ``url`` (its resource unless given)."""
        if self.resource is None and urlsplit(url).hostname in ("0.0.0.0", "::"):
            logger.warning("trio-mcp: serving a protected resource on a wildcard address "
                           "without ProtectedResource(resource=...): tokens must name %s in "
                           "aud, which no client can reach; give the public URL", url)
        rules = ResourceServer(self.resource or url, **self._options)
        return _AuthGate(rules, self.verifier, server, self.verify_timeout)


class _AuthGate:
    """The check in front of :func:`serve_http`'s endpoint: one call per HTTP request."""

    def __init__(self, rules: ResourceServer, verifier: TokenVerifier, server: Server,
                 verify_timeout: float = 30.0) -> None:
        self.rules = rules
        self.verifier = verifier
        self.server = server
        self.verify_timeout = verify_timeout

    def _tool_scopes(self, name: str) -> Iterable[str]:
        entry = self.server._tools.get(name)  # by name, as _ToolHeaders does
        return entry.scopes if entry is not None else ()

    async def admit(self, request: CompleteRequest, endpoint: _Endpoint
                    ) -> Principal | AuthAnswer | None:
        """What ``request`` gets: an answer of the gate's own (the metadata, a refusal),
        the verified principal (the endpoint serves it), or ``None`` (not the endpoint's
        path: the endpoint answers it, 404).

        State effect: a request of a session opened by the same principal updates the
        session's principal (a refreshed token's scopes)."""
        rules = self.rules
        target = request.target
        if rules.is_metadata_path(target):
            tools = self.server._tools
            rules.add_scopes(scope for name in self.server._scoped_tools
                             for scope in tools[name].scopes)
            await trio.lowlevel.checkpoint()
            return rules.metadata_answer(request.method)
        if target.split("?", 1)[0] != endpoint.core.path:
            return None
        token = rules.token_of(target, request.header("authorization"))
        if isinstance(token, AuthAnswer):
            await trio.lowlevel.checkpoint()
            return token
        principal: Principal | None = None
        try:
            with trio.move_on_after(self.verify_timeout) as waited:
                principal = await self.verifier.verify(token)
            if waited.cancelled_caught:
                raise VerifierUnavailable(
                    f"the verifier did not answer within {self.verify_timeout:g} s")
        except TokenRejected as exc:
            logger.info("trio-mcp: refused a token: %s", exc)
            return rules.refuse("invalid_token", str(exc))
        except VerifierUnavailable as exc:
            logger.warning("trio-mcp: cannot check a token: %s", exc)
            return rules.unavailable("the token cannot be checked now")
        if principal is None:
            return rules.refuse("invalid_token", "the token is not valid")
        refused = rules.check(principal, now=time.time())
        if refused is None:
            # the body is read only when some tool has scopes of its own
            needed = (rules.needed_scopes(request.body, self._tool_scopes)
                      if request.method == "POST" and self.server._scoped_tools
                      else rules.required_scopes)
            refused = rules.authorize(principal, needed)
        if refused is not None:
            return refused
        session = endpoint.sessions.get(request.header("mcp-session-id") or "")
        if session is not None:
            held = session.principal
            if held is not None and held.key != principal.key:
                return rules.foreign_session()
            session.principal = principal
        return principal
