"""OAuth 2.1 for :class:`~trio_adapter.http.StreamableHTTPTransport`: ``auth=OAuth(...)``.

The flow's decisions are :mod:`sansio.oauth`'s; this module makes its HTTP requests (a
one-shot h11 request per step), sends the user to the authorization URL (a pluggable hook),
signs JWT client assertions (the optional ``jwt`` extra: PyJWT with ``cryptography``), keeps
tokens in a pluggable :class:`TokenStore`, and reads the clock and ``os.urandom``.

    auth = OAuth(client_id="my-client", client_secret="...")
    async with client.connect(StreamableHTTPTransport(url, auth=auth)) as session: ...

Tokens never appear in logs, reprs or ``--trace`` output (the trace shows frames, not
headers).
"""

from __future__ import annotations

import json
import logging
import os
import ssl
import time
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

import h11
import trio

from sansio import oauth as _oauth
from sansio.oauth import (
    AuthState,
    ClientConfig,
    DPoPProof,
    HTTPAnswer,
    HTTPCall,
    OAuthError,
    SignAssertion,
    Token,
    UserAuthorization,
)

from ._oneshot import AnswerTooLarge, request_once

__all__ = ["FileTokenStore", "InMemoryTokenStore", "OAuth", "OAuthError", "TokenStore",
           "http_request", "loopback_authorization"]

logger = logging.getLogger("trio_mcp.oauth")

#: How long :func:`loopback_authorization` waits for the user, in seconds.
LOGIN_TIMEOUT = 300.0

#: Called with the authorization URL and the redirect URI; returns the URL the user was
#: redirected to (with ``code`` and ``state``).
AuthorizationHook = Callable[[str, str], Awaitable[str]]


class TokenStore(Protocol):
    """Where an :class:`OAuth` keeps what it learnt, by MCP server URL (a JSON object)."""

    async def load(self, key: str) -> dict[str, Any] | None: ...
    async def save(self, key: str, value: dict[str, Any]) -> None: ...


class InMemoryTokenStore:
    """Tokens for the life of the process (the default). At most ``limit`` servers."""

    def __init__(self, limit: int = 64) -> None:
        self._data: dict[str, dict[str, Any]] = {}
        self._limit = limit

    async def load(self, key: str) -> dict[str, Any] | None:
        await trio.lowlevel.checkpoint()
        return self._data.get(key)

    async def save(self, key: str, value: dict[str, Any]) -> None:
        await trio.lowlevel.checkpoint()
        if key not in self._data and len(self._data) >= self._limit:
            self._data.pop(next(iter(self._data)))
        self._data[key] = value


class FileTokenStore:
    """Tokens in one JSON file (mode 0600), by server URL: what the CLI uses."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)

    def _read(self) -> dict[str, Any]:
        try:
            doc = json.loads(self.path.read_text())
        except (OSError, ValueError):
            return {}
        return doc if isinstance(doc, dict) else {}

    async def load(self, key: str) -> dict[str, Any] | None:
        doc = await trio.to_thread.run_sync(self._read)
        value = doc.get(key)
        return value if isinstance(value, dict) else None

    async def save(self, key: str, value: dict[str, Any]) -> None:
        def write() -> None:
            doc = self._read()
            doc[key] = value
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_suffix(".tmp")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as f:
                json.dump(doc, f)
            os.replace(tmp, self.path)
        await trio.to_thread.run_sync(write)


async def http_request(call: HTTPCall, *, ssl_context: ssl.SSLContext | None = None,
                       max_body: int = _oauth.MAX_BODY) -> HTTPAnswer:
    """Make one HTTP/1.1 request on a new connection (redirects not followed); the caller
    bounds it (``trio.fail_after``).

    Raises:
        OSError, trio.BrokenResourceError, h11.ProtocolError: no (whole) answer;
        OAuthError: not an http(s) URL, or the body is longer than ``max_body``.
    """
    try:
        status, head, body = await request_once(call.method, call.url, call.headers, call.body,
                                                max_body=max_body, ssl_context=ssl_context)
    except ValueError as exc:
        raise OAuthError(str(exc)) from None
    except AnswerTooLarge as exc:
        raise OAuthError(str(exc)) from None
    return HTTPAnswer(status, head, body)


def _sign(claims: Mapping[str, Any], alg: str, key: str) -> str:
    try:
        import jwt  # the optional "jwt" extra: PyJWT with cryptography
    except ImportError:  # pragma: no cover - depends on the environment
        raise OAuthError("private_key_jwt needs PyJWT with cryptography "
                         "(pip install 'trio-mcp[jwt]')") from None
    return str(jwt.encode(dict(claims), key, algorithm=alg))


def _can_sign() -> bool:
    """Whether the optional JOSE libraries are there (PyJWT with ``cryptography``)."""
    try:
        import jwt  # noqa: F401
        from cryptography.hazmat.primitives.asymmetric import ec  # noqa: F401
    except ImportError:  # pragma: no cover - depends on the environment
        return False
    return True


def _new_dpop_key() -> tuple[Any, dict[str, str]]:
    """A new P-256 key for DPoP proofs, and its public JWK (RFC 7518 §6.2.1)."""
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1())
    numbers = key.public_key().public_numbers()
    jwk = {"kty": "EC", "crv": "P-256",
           "x": _oauth.b64url(numbers.x.to_bytes(32, "big")),
           "y": _oauth.b64url(numbers.y.to_bytes(32, "big"))}
    return key, jwk


async def loopback_authorization(url: str, redirect_uri: str, *,
                                 open_browser: bool = True) -> str:
    """The CLI's authorization hook: open ``url`` in a browser (and print it) and wait on
    ``redirect_uri``'s loopback port for the redirect (at most :data:`LOGIN_TIMEOUT` s)."""
    import sys
    import webbrowser
    parts = urlsplit(redirect_uri)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    listeners = await trio.open_tcp_listeners(port, host=host)
    print(f"trio-mcp: open this URL to authorize: {url}", file=sys.stderr)
    if open_browser:
        await trio.to_thread.run_sync(webbrowser.open, url)
    try:
        with trio.fail_after(LOGIN_TIMEOUT):
            while True:
                stream = await listeners[0].accept()
                conn = h11.Connection(h11.SERVER)
                target = b""
                try:
                    while True:
                        event = conn.next_event()
                        if event is h11.NEED_DATA:
                            conn.receive_data(bytes(await stream.receive_some(65536)))
                        elif isinstance(event, h11.Request):
                            target = event.target
                        elif isinstance(event, (h11.EndOfMessage, h11.ConnectionClosed)):
                            break
                    body = b"Authorization complete: you may close this window.\n"
                    await stream.send_all(
                        (conn.send(h11.Response(status_code=200, headers=[
                            ("content-type", "text/plain"),
                            ("content-length", str(len(body)))])) or b"")
                        + (conn.send(h11.Data(data=body)) or b"")
                        + (conn.send(h11.EndOfMessage()) or b""))
                finally:
                    await trio.aclose_forcefully(stream)
                path = target.decode("latin-1")
                if path.split("?", 1)[0] == (parts.path or "/"):
                    return f"{parts.scheme}://{parts.netloc}{path}"
    finally:
        for listener in listeners:
            await listener.aclose()


class OAuth:
    """OAuth 2.1 authorization for a Streamable HTTP transport (``auth=``).

    The transport asks it for headers on every request (:meth:`headers`), and hands it each
    401/403 (:meth:`challenge`), which runs the flow of :func:`sansio.oauth.authorize` and
    says whether to send the request again.

    Args:
        client_id, client_secret: pre-registered credentials (else a client ID metadata
            document URL or dynamic registration).
        issuer: the authorization server the pre-registered credentials are for.
        client_metadata_url: a client ID metadata document URL (CIMD).
        grant: ``"authorization_code"``, ``"client_credentials"``, ``"jwt_bearer"`` (with
            ``assertion``: a workload identity JWT) or ``"id_jag"`` (enterprise-managed:
            ``id_token`` exchanged at ``idp_token_endpoint`` as ``idp_client_id``).
        private_key: PEM private key for ``private_key_jwt`` (client credentials), signed with
            ``signing_alg``.
        scopes: scopes always asked for.
        redirect_uri: the loopback redirect URI.
        on_authorize: the user-interaction hook (default: :func:`loopback_authorization`).
        store: the token store (default: in memory).
        timeout: bound on each HTTP request of the flow.
        ssl_context: for ``https://`` authorization servers.
        dpop: where the authorization server offers it, bind the token to a key of this
            client (RFC 9449 DPoP, ES256; needs PyJWT with ``cryptography``): each request
            then carries a fresh proof, and the servers' nonces are honoured.
    """

    def __init__(self, *, client_id: str | None = None, client_secret: str | None = None,
                 issuer: str | None = None, client_metadata_url: str | None = None,
                 grant: str = "authorization_code", private_key: str | None = None,
                 signing_alg: str = "ES256", scopes: tuple[str, ...] = (),
                 redirect_uri: str = "http://127.0.0.1:33418/callback",
                 client_name: str = "trio-mcp", offline_access: bool = True,
                 on_authorize: AuthorizationHook | None = None,
                 store: TokenStore | None = None, timeout: float = 30.0,
                 ssl_context: ssl.SSLContext | None = None, assertion: str | None = None,
                 id_token: str | None = None, idp_token_endpoint: str | None = None,
                 idp_client_id: str | None = None,
                 idp_client_secret: str | None = None, dpop: bool = True) -> None:
        if grant not in _oauth.GRANTS:
            raise ValueError(f"unknown grant {grant!r} (one of {', '.join(_oauth.GRANTS)})")
        self.config = ClientConfig(
            grant=grant, client_id=client_id, client_secret=client_secret, issuer=issuer,
            signing_alg=signing_alg if private_key else None,
            client_metadata_url=client_metadata_url, redirect_uri=redirect_uri,
            client_name=client_name, scopes=tuple(scopes), offline_access=offline_access,
            assertion=assertion, id_token=id_token, idp_token_endpoint=idp_token_endpoint,
            idp_client_id=idp_client_id, idp_client_secret=idp_client_secret,
            dpop_algs=("ES256",) if dpop and _can_sign() else ())
        self._key = private_key
        self._on_authorize = on_authorize or loopback_authorization
        self._store: TokenStore = store if store is not None else InMemoryTokenStore()
        self._timeout = timeout
        self._ssl = ssl_context
        self._state: AuthState | None = None
        self._lock = trio.Lock()
        self._generation = 0  # bumped by each token obtained
        self._dpop_key: tuple[Any, dict[str, str]] | None = None

    def __repr__(self) -> str:
        return f"OAuth({self.config!r})"

    @property
    def token(self) -> Token | None:
        """The current token (``None`` before the first flow)."""
        return self._state.token if self._state is not None else None

    async def prepare(self, server_url: str) -> None:
        """Load what the store kept for ``server_url`` (before the first request)."""
        if self._state is None:
            doc = await self._store.load(server_url)
            self._state = AuthState.from_json(doc) if doc else AuthState()

    def headers(self, method: str = "POST", url: str = "") -> list[tuple[str, str]]:
        """The header fields to add to a ``method`` request to ``url`` now: the token's
        ``Authorization``, and for a DPoP-bound token a fresh ``DPoP`` proof."""
        token = self.token
        if token is None:
            return []
        out = [_oauth.authorization_header(token)]
        state = self._state
        if token.token_type.lower() == "dpop" and state is not None and state.dpop_alg:
            claims = _oauth.dpop_claims(method, url, now=time.time(),
                                        jti=_oauth.b64url(os.urandom(16)),
                                        nonce=state.rs_nonce, access_token=token.access_token)
            out.append(("dpop", self._dpop_sign(claims, state.dpop_alg)))
        return out

    def _dpop_sign(self, claims: Mapping[str, Any], alg: str) -> str:
        if self._dpop_key is None:
            self._dpop_key = _new_dpop_key()
        key, jwk = self._dpop_key
        import jwt
        return str(jwt.encode(dict(claims), key, algorithm=alg,
                              headers={"typ": "dpop+jwt", "jwk": jwk}))

    def succeeded(self) -> None:
        """A request went through with our token."""
        if self._state is not None:
            _oauth.succeeded(self._state)

    @property
    def generation(self) -> int:
        return self._generation

    async def challenge(self, server_url: str, status: int, headers: Mapping[str, str],
                        generation: int) -> None:
        """The server refused a request sent at token ``generation`` with ``status`` and
        ``headers`` (lower-case names): obtain a new token (unless another task did since),
        or take the DPoP nonce it asks for, so the request can be sent again.

        Raises:
            OAuthError: the flow failed (one line: why).
        """
        www_authenticate = headers.get("www-authenticate")
        async with self._lock:
            await self.prepare(server_url)
            assert self._state is not None
            if generation != self._generation:
                return  # another request already got a new token
            nonce = _oauth.dpop_nonce_challenge(status, headers)
            token = self._state.token
            if nonce is not None and token is not None and token.token_type.lower() == "dpop" \
                    and nonce != self._state.rs_nonce:
                self._state.rs_nonce = nonce  # RFC 9449 §9: the same token, a new proof
                self._generation += 1
                return
            gen = _oauth.authorize(self._state, server_url, self.config,
                                   challenge=_oauth.bearer_challenge(www_authenticate),
                                   status=status, now=time.time(), random=os.urandom(64))
            answer: Any = None
            try:
                while True:
                    step = gen.send(answer)
                    answer = await self._perform(step)
            except StopIteration:
                pass
            self._generation += 1
            logger.info("authorized for %s (issuer %s)", server_url, self._state.issuer)
            await self._store.save(server_url, self._state.to_json())

    async def _perform(self, step: _oauth.Step) -> Any:
        if isinstance(step, HTTPCall):
            try:
                with trio.fail_after(self._timeout):
                    return await http_request(step, ssl_context=self._ssl)
            except (OSError, trio.TooSlowError, h11.ProtocolError,
                    trio.BrokenResourceError) as exc:
                logger.info("%s %s failed: %s", step.method, step.url, exc)
                return None
        if isinstance(step, UserAuthorization):
            return await self._on_authorize(step.url, step.redirect_uri)
        if isinstance(step, DPoPProof):
            return self._dpop_sign(step.claims, step.alg)
        if isinstance(step, SignAssertion):
            if self._key is None:
                raise OAuthError("private_key_jwt needs a private key")
            return _sign(step.claims, step.alg, self._key)
        raise AssertionError(step)  # pragma: no cover
