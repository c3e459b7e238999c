"""serve_http(auth=...): an MCP endpoint that is an OAuth protected resource, over loopback.

JWT access tokens signed by a key made for the test (static keys, and a JWKS served by a tiny
in-test HTTP server), an RFC 7662 introspection endpoint in the test, and fixed tokens; the
wire (status, ``WWW-Authenticate``, metadata JSON) read with h11; our client and the official
SDK's client with a bearer header; both eras.
"""

from __future__ import annotations

import base64
import functools
import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import parse_qs

import h11
import pytest
import trio
from adapter_support import read_request

from sansio.sse import SSEDecoder
from trio_adapter import (
    Client,
    ConnectError,
    Context,
    IntrospectionVerifier,
    JWTVerifier,
    MCPError,
    Principal,
    ProtectedResource,
    Server,
    StaticTokenVerifier,
    TokenVerifier,
)
from trio_adapter.http import HTTPServerInfo, StreamableHTTPTransport, serve_http

jwt = pytest.importorskip("jwt")
from cryptography.hazmat.primitives.asymmetric import rsa  # noqa: E402

ISSUER = "https://auth.example.com"
KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
OTHER_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
PUBLIC_JWK = {**jwt.algorithms.RSAAlgorithm.to_jwk(KEY.public_key(), as_dict=True),
              "kid": "k1", "use": "sig", "alg": "RS256"}
MODERN = "2026-07-28"


def make_server() -> Server:
    server = Server("protected", "1", state_keys=["s" * 40])

    @server.tool(structured_output=False)
    async def whoami(ctx: Context) -> str:
        principal = ctx.principal
        assert principal is not None
        return f"{principal.subject} {' '.join(sorted(principal.scopes))}"

    @server.tool(structured_output=False, scopes=["files:write"])
    async def write(path: str) -> str:
        return f"wrote {path}"

    @server.tool(structured_output=False)
    async def confirm(ctx: Context) -> str:
        answer = await ctx.elicit("sure?", {"type": "object", "properties": {
            "ok": {"type": "boolean"}}}, key="q")
        return f"{ctx.principal.subject if ctx.principal else None}: {answer.action}"

    return server


def token(resource: str, *, sub: str = "alice", scope: str = "mcp", key: Any = KEY,
          kid: str = "k1", **claims: Any) -> str:
    now = time.time()
    body: dict[str, Any] = {"iss": ISSUER, "sub": sub, "aud": resource, "scope": scope,
                            "exp": now + 300, "iat": now, "client_id": "app"}
    body.update(claims)
    return str(jwt.encode({k: v for k, v in body.items() if v is not None}, key,
                          algorithm="RS256", headers={"kid": kid}))


@asynccontextmanager
async def protected(verifier: TokenVerifier, **options: Any
                    ) -> AsyncIterator[tuple[HTTPServerInfo, Server]]:
    server = make_server()
    async with trio.open_nursery() as nursery:
        info: HTTPServerInfo = await nursery.start(lambda task_status: serve_http(
            server, "127.0.0.1", 0, task_status=task_status, auth=ProtectedResource(
                verifier, authorization_servers=[ISSUER], **options)))
        yield info, server
        nursery.cancel_scope.cancel()


class Answer:
    def __init__(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.status, self.headers, self.body = status, headers, body

    def json(self) -> Any:
        if self.headers.get("content-type") == "text/event-stream":
            events = [json.loads(e.data) for e in SSEDecoder().feed(self.body) if e.data]
            return next(e for e in events if "id" in e)
        return json.loads(self.body)


async def http(port: int, method: str, target: str, *, bearer: str | None = None,
               body: Any = None, headers: tuple[tuple[str, str], ...] = ()) -> Answer:
    """One request over a fresh connection; the whole answer."""
    stream = await trio.open_tcp_stream("127.0.0.1", port)
    conn = h11.Connection(h11.CLIENT)
    data = b"" if body is None else json.dumps(body).encode()
    hdrs = [("host", f"127.0.0.1:{port}"), ("accept", "application/json, text/event-stream"),
            *headers]
    if body is not None:
        hdrs += [("content-type", "application/json"), ("content-length", str(len(data)))]
    if bearer is not None:
        hdrs.append(("authorization", f"Bearer {bearer}"))
    await stream.send_all((conn.send(h11.Request(method=method, target=target, headers=hdrs))
                           or b"") + (conn.send(h11.Data(data=data)) if data else b"")
                          + (conn.send(h11.EndOfMessage()) or b""))
    status, got, chunks = 0, {}, []
    while True:
        event = conn.next_event()
        if event is h11.NEED_DATA:
            conn.receive_data(await stream.receive_some(65536))
        elif isinstance(event, h11.Response):
            status = event.status_code
            got = {k.decode(): v.decode() for k, v in event.headers}
        elif isinstance(event, h11.Data):
            chunks.append(bytes(event.data))
        else:
            break
    await stream.aclose()
    return Answer(status, got, b"".join(chunks))


def initialize(rid: int = 1) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": rid, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {},
        "clientInfo": {"name": "raw", "version": "1"}}}


def modern_call(rid: int, name: str, arguments: dict[str, Any] | None = None,
                **params: Any) -> tuple[dict[str, Any], tuple[tuple[str, str], ...]]:
    body = {"jsonrpc": "2.0", "id": rid, "method": "tools/call", "params": {
        "name": name, "arguments": arguments or {}, **params, "_meta": {
            "io.modelcontextprotocol/protocolVersion": MODERN,
            "io.modelcontextprotocol/clientCapabilities": {"elicitation": {"form": {}}}}}}
    return body, (("mcp-protocol-version", MODERN), ("mcp-method", "tools/call"),
                  ("mcp-name", name))


def metadata_url(info: HTTPServerInfo) -> str:
    return f"http://127.0.0.1:{info.port}/.well-known/oauth-protected-resource/mcp"


# ---------------------------------------------------------------- the wire


async def test_metadata_documents() -> None:
    verifier = JWTVerifier(issuer=ISSUER, keys=[PUBLIC_JWK])
    async with protected(verifier, required_scopes=["mcp"]) as (info, _):
        for target in ("/.well-known/oauth-protected-resource/mcp",
                       "/.well-known/oauth-protected-resource"):
            answer = await http(info.port, "GET", target)
            assert answer.status == 200
            assert answer.headers["content-type"] == "application/json"
            assert answer.json() == {
                "resource": info.url, "authorization_servers": [ISSUER],
                "scopes_supported": ["files:write", "mcp"],
                "bearer_methods_supported": ["header"]}
        assert (await http(info.port, "POST", "/.well-known/oauth-protected-resource",
                           body={})).status == 405
        assert (await http(info.port, "GET", "/elsewhere", bearer="x")).status == 404


async def test_401_without_a_token_and_with_a_bad_one() -> None:
    verifier = JWTVerifier(issuer=ISSUER, keys=[PUBLIC_JWK])
    async with protected(verifier, required_scopes=["mcp"]) as (info, _):
        meta = metadata_url(info)
        missing = await http(info.port, "POST", "/mcp", body=initialize())
        assert missing.status == 401
        assert missing.headers["www-authenticate"] == \
            f'Bearer resource_metadata="{meta}", scope="mcp"'
        forged = token(info.url, key=OTHER_KEY)
        bad = await http(info.port, "POST", "/mcp", body=initialize(), bearer=forged)
        assert bad.status == 401
        assert bad.headers["www-authenticate"] == (
            f'Bearer resource_metadata="{meta}", scope="mcp", error="invalid_token", '
            'error_description="the token is not signed by a known key"')
        garbage = await http(info.port, "POST", "/mcp", body=initialize(), bearer="abc")
        assert garbage.status == 401 and 'error="invalid_token"' in \
            garbage.headers["www-authenticate"]
        two = await http(info.port, "POST", "/mcp", body=initialize(),
                         headers=(("authorization", "Bearer a"), ("authorization", "Bearer b")))
        assert two.status == 400 and 'error="invalid_request"' in \
            two.headers["www-authenticate"]
        # GET and DELETE are gated as well
        assert (await http(info.port, "GET", "/mcp")).status == 401
        assert (await http(info.port, "DELETE", "/mcp")).status == 401


async def test_audience_mismatch_expired_and_wrong_issuer_are_refused() -> None:
    verifier = JWTVerifier(issuer=ISSUER, keys=[PUBLIC_JWK])
    async with protected(verifier) as (info, _):
        cases = {
            token("http://127.0.0.1:1/mcp"): "the token was not issued for this resource",
            token(info.url, exp=time.time() - 3600): "the token has expired",
            token(info.url, iss="https://evil.example.com"): "issuer",
            token(info.url, aud=None): "the token names no audience",
        }
        for bearer, reason in cases.items():
            answer = await http(info.port, "POST", "/mcp", body=initialize(), bearer=bearer)
            assert answer.status == 401, reason
            assert reason in answer.headers["www-authenticate"]
        good = await http(info.port, "POST", "/mcp", body=initialize(),
                          bearer=token(info.url))
        assert good.status == 200 and good.json()["result"]["protocolVersion"]


async def test_403_insufficient_scope_for_a_scoped_tool_both_eras() -> None:
    verifier = JWTVerifier(issuer=ISSUER, keys=[PUBLIC_JWK])
    async with protected(verifier, required_scopes=["mcp"]) as (info, _):
        reader, writer = token(info.url), token(info.url, scope="mcp files:write")
        body, headers = modern_call(1, "write", {"path": "/x"})
        refused = await http(info.port, "POST", "/mcp", body=body, headers=headers,
                             bearer=reader)
        assert refused.status == 403
        assert refused.headers["www-authenticate"] == (
            f'Bearer resource_metadata="{metadata_url(info)}", scope="files:write mcp", '
            'error="insufficient_scope", '
            'error_description="this request needs scope files:write"')
        done = await http(info.port, "POST", "/mcp", body=body, headers=headers,
                          bearer=writer)
        assert done.status == 200
        assert done.json()["result"]["content"][0]["text"] == "wrote /x"

        # the handshake era: the same tool, inside a session
        async with Client("c", "1", mode="legacy").connect(StreamableHTTPTransport(
                info.url, headers={"Authorization": f"Bearer {reader}"})) as session:
            who = await session.call_tool("whoami", {})
            assert who.content[0].text == "alice mcp"  # type: ignore[union-attr]
            # (what our client makes of a 403 is the OAuth client's: today an MCPError)
            with pytest.raises(MCPError, match="403"):
                await session.call_tool("write", {"path": "/y"})


async def test_principal_is_visible_to_handlers_in_both_eras() -> None:
    verifier = JWTVerifier(issuer=ISSUER, keys=[PUBLIC_JWK])
    async with protected(verifier) as (info, _):
        bearer = token(info.url, sub="carol", scope="mcp extra")
        for mode in ("legacy", "modern"):
            async with Client("c", "1", mode=mode).connect(StreamableHTTPTransport(
                    info.url, headers={"Authorization": f"Bearer {bearer}"})) as session:
                result = await session.call_tool("whoami", {})
                assert result.content[0].text == "carol extra mcp"  # type: ignore[union-attr]


async def test_both_eras_need_the_token() -> None:
    verifier = JWTVerifier(issuer=ISSUER, keys=[PUBLIC_JWK])
    async with protected(verifier) as (info, _):
        discover = {"jsonrpc": "2.0", "id": 1, "method": "server/discover", "params": {
            "_meta": {"io.modelcontextprotocol/protocolVersion": MODERN,
                      "io.modelcontextprotocol/clientCapabilities": {}}}}
        headers = (("mcp-protocol-version", MODERN), ("mcp-method", "server/discover"))
        assert (await http(info.port, "POST", "/mcp", body=discover,
                           headers=headers)).status == 401
        assert (await http(info.port, "POST", "/mcp", body=initialize())).status == 401
        ok = await http(info.port, "POST", "/mcp", body=discover, headers=headers,
                        bearer=token(info.url))
        assert ok.status == 200, ok.body
        assert MODERN in json.dumps(ok.json())
        for mode in ("legacy", "modern"):
            with pytest.raises(ConnectError):
                async with Client("c", "1", mode=mode).connect(
                        StreamableHTTPTransport(info.url)):
                    pass


async def test_a_session_is_bound_to_its_principal() -> None:
    verifier = JWTVerifier(issuer=ISSUER, keys=[PUBLIC_JWK])
    async with protected(verifier) as (info, _):
        alice, bob = token(info.url), token(info.url, sub="bob")
        opened = await http(info.port, "POST", "/mcp", body=initialize(), bearer=alice)
        sid = opened.headers["mcp-session-id"]
        session = (("mcp-session-id", sid), ("mcp-protocol-version", "2025-11-25"))
        note = {"jsonrpc": "2.0", "method": "notifications/initialized"}
        assert (await http(info.port, "POST", "/mcp", body=note, headers=session,
                           bearer=alice)).status == 202
        call = {"jsonrpc": "2.0", "id": 2, "method": "tools/call",
                "params": {"name": "whoami", "arguments": {}}}
        stolen = await http(info.port, "POST", "/mcp", body=call, headers=session,
                            bearer=bob)
        assert stolen.status == 404
        mine = await http(info.port, "POST", "/mcp", body=call, headers=session, bearer=alice)
        assert mine.json()["result"]["content"][0]["text"] == "alice mcp"


async def test_request_state_is_bound_to_the_principal() -> None:
    verifier = JWTVerifier(issuer=ISSUER, keys=[PUBLIC_JWK])
    async with protected(verifier) as (info, _):
        alice, bob = token(info.url), token(info.url, sub="bob")
        body, headers = modern_call(1, "confirm")
        asked = (await http(info.port, "POST", "/mcp", body=body, headers=headers,
                            bearer=alice)).json()["result"]
        assert asked["resultType"] == "input_required"
        state = asked["requestState"]
        responses = {"q": {"action": "accept", "content": {"ok": True}}}
        retry, headers = modern_call(2, "confirm", inputResponses=responses,
                                     requestState=state)
        foreign = (await http(info.port, "POST", "/mcp", body=retry, headers=headers,
                              bearer=bob)).json()
        assert foreign["error"]["code"] == -32602
        own = (await http(info.port, "POST", "/mcp", body=retry, headers=headers,
                          bearer=alice)).json()
        assert own["result"]["content"][0]["text"] == "alice: accept"


# ---------------------------------------------------------------- verifiers over HTTP


class AuthServer:
    """A tiny authorization server for the tests: a JWKS and an introspection endpoint."""

    def __init__(self) -> None:
        self.jwks: dict[str, Any] = {"keys": [PUBLIC_JWK]}
        self.active: dict[str, dict[str, Any]] = {}
        self.hits: dict[str, int] = {"/jwks": 0, "/introspect": 0}
        self.credentials: list[str] = []
        self.delay = 0.0

    async def handle(self, stream: trio.SocketStream) -> None:
        conn = h11.Connection(h11.SERVER)
        got = await read_request(conn, stream)
        if got is None:
            return
        head, body = got
        path = head.target.decode()
        self.hits[path] = self.hits.get(path, 0) + 1
        await trio.sleep(self.delay)
        if path == "/jwks":
            answer: Any = self.jwks
        elif path == "/introspect":
            self.credentials.append(dict(head.headers).get(b"authorization", b"").decode())
            tok = parse_qs(body.decode())["token"][0]
            answer = self.active.get(tok, {"active": False})
        else:
            answer = {}
        data = json.dumps(answer).encode()
        await stream.send_all(
            (conn.send(h11.Response(status_code=200 if answer else 404, headers=[
                ("content-type", "application/json"), ("content-length", str(len(data)))]))
             or b"") + (conn.send(h11.Data(data=data)) or b"")
            + (conn.send(h11.EndOfMessage()) or b""))
        await stream.aclose()


@asynccontextmanager
async def auth_server() -> AsyncIterator[tuple[AuthServer, str]]:
    fake = AuthServer()
    async with trio.open_nursery() as nursery:
        listeners = await nursery.start(functools.partial(trio.serve_tcp, fake.handle, 0,
                                                          host="127.0.0.1"))
        port = listeners[0].socket.getsockname()[1]
        yield fake, f"http://127.0.0.1:{port}"
        nursery.cancel_scope.cancel()


async def test_jwks_url_is_fetched_once_and_cached() -> None:
    async with auth_server() as (fake, base):
        verifier = JWTVerifier(issuer=ISSUER, jwks_url=f"{base}/jwks")
        async with protected(verifier) as (info, _):
            for _ in range(3):
                answer = await http(info.port, "POST", "/mcp", body=initialize(),
                                    bearer=token(info.url))
                assert answer.status == 200
            assert fake.hits["/jwks"] == 1
            # a token naming an unknown key: one more fetch (rate-limited), then refused
            stranger = token(info.url, key=OTHER_KEY, kid="k2")
            refused = await http(info.port, "POST", "/mcp", body=initialize(),
                                 bearer=stranger)
            assert refused.status == 401
            assert fake.hits["/jwks"] == 1  # within jwks_min_interval of the first fetch


async def test_jwks_rotation_and_unreachable_jwks() -> None:
    async with auth_server() as (fake, base):
        verifier = JWTVerifier(issuer=ISSUER, jwks_url=f"{base}/jwks", jwks_min_interval=0)
        async with protected(verifier) as (info, _):
            assert (await http(info.port, "POST", "/mcp", body=initialize(),
                               bearer=token(info.url))).status == 200
            rotated = {**jwt.algorithms.RSAAlgorithm.to_jwk(OTHER_KEY.public_key(),
                                                            as_dict=True), "kid": "k2"}
            fake.jwks = {"keys": [PUBLIC_JWK, rotated]}
            fresh = token(info.url, key=OTHER_KEY, kid="k2")
            assert (await http(info.port, "POST", "/mcp", body=initialize(),
                               bearer=fresh)).status == 200
            assert fake.hits["/jwks"] == 2
    down = JWTVerifier(issuer=ISSUER, jwks_url="http://127.0.0.1:1/jwks", fetch_timeout=2)
    async with protected(down) as (info, _):
        answer = await http(info.port, "POST", "/mcp", body=initialize(),
                            bearer=token(info.url))
        assert answer.status == 503 and answer.headers["retry-after"] == "5"


async def test_jwks_fetch_has_a_deadline(autojump_clock: trio.testing.MockClock) -> None:
    async with auth_server() as (fake, base):
        fake.delay = 60
        verifier = JWTVerifier(issuer=ISSUER, jwks_url=f"{base}/jwks", fetch_timeout=5)
        from trio_adapter import VerifierUnavailable
        start = trio.current_time()
        with pytest.raises(VerifierUnavailable, match="no answer within 5 s"):
            await verifier.verify(token("http://x/mcp"))
        assert trio.current_time() - start == pytest.approx(5)


async def test_introspection_verifier_is_cached_and_bounded() -> None:
    async with auth_server() as (fake, base):
        verifier = IntrospectionVerifier(f"{base}/introspect", client_id="rs",
                                         client_secret="secret", issuer=ISSUER, cache_size=1)
        async with protected(verifier) as (info, _):
            fake.active["opaque-a"] = {"active": True, "sub": "dave", "scope": "mcp",
                                       "aud": info.url, "iss": ISSUER,
                                       "exp": time.time() + 300}
            fake.active["opaque-b"] = {**fake.active["opaque-a"], "sub": "erin"}
            for _ in range(2):
                answer = await http(info.port, "POST", "/mcp", body=initialize(),
                                    bearer="opaque-a")
                assert answer.status == 200
            assert fake.hits["/introspect"] == 1
            assert fake.credentials[0] == "Basic " + base64.b64encode(b"rs:secret").decode()
            assert (await http(info.port, "POST", "/mcp", body=initialize(),
                               bearer="opaque-b")).status == 200
            assert (await http(info.port, "POST", "/mcp", body=initialize(),
                               bearer="opaque-a")).status == 200
            assert fake.hits["/introspect"] == 3  # the cache holds one answer
            refused = await http(info.port, "POST", "/mcp", body=initialize(),
                                 bearer="revoked")
            assert refused.status == 401
            assert 'error_description="the token is not active"' in \
                refused.headers["www-authenticate"]
            async with Client("c", "1", mode="modern").connect(StreamableHTTPTransport(
                    info.url, headers={"Authorization": "Bearer opaque-a"})) as session:
                who = await session.call_tool("whoami", {})
                assert who.content[0].text == "dave mcp"  # type: ignore[union-attr]


async def test_static_tokens() -> None:
    principal = Principal(subject="svc", scopes=frozenset({"files:write"}),
                          audience=("http://placeholder",))
    verifier = StaticTokenVerifier({"s3cret": principal})
    assert isinstance(verifier, TokenVerifier)
    assert await verifier.verify("s3cret") is principal
    assert await verifier.verify("nope") is None
    async with protected(verifier, require_audience=False,
                         accepted_audiences=["http://placeholder"]) as (info, _):
        body, headers = modern_call(1, "write", {"path": "p"})
        answer = await http(info.port, "POST", "/mcp", body=body, headers=headers,
                            bearer="s3cret")
        assert answer.json()["result"]["content"][0]["text"] == "wrote p"
        assert (await http(info.port, "POST", "/mcp", body=body, headers=headers,
                           bearer="nope")).status == 401


def test_configuration_errors() -> None:
    with pytest.raises(ValueError, match="jwks_url or keys"):
        JWTVerifier(issuer=ISSUER)
    with pytest.raises(ValueError, match="'none'"):
        JWTVerifier(issuer=ISSUER, keys=[PUBLIC_JWK], algorithms=["none"])
    with pytest.raises(ValueError, match="not an absolute"):
        ProtectedResource(StaticTokenVerifier({}), authorization_servers=[ISSUER],
                          resource="mcp")


async def test_algorithm_not_accepted() -> None:
    secret_jwk = {"kty": "oct", "k": base64.urlsafe_b64encode(b"k" * 32).decode().rstrip("="),
                  "kid": "h"}
    verifier = JWTVerifier(issuer=ISSUER, keys=[secret_jwk, PUBLIC_JWK])
    hs = jwt.encode({"iss": ISSUER, "sub": "x", "exp": time.time() + 60}, b"k" * 32,
                    algorithm="HS256", headers={"kid": "h"})
    from sansio.auth_server import TokenRejected
    with pytest.raises(TokenRejected, match="algorithm 'HS256' is not accepted"):
        await verifier.verify(hs)


# ---------------------------------------------------------------- the official SDK's client


@pytest.mark.interop
async def test_sdk_client_with_a_bearer_header() -> None:
    mcp = pytest.importorskip("mcp")
    from mcp.client.streamable_http import streamable_http_client
    from mcp.shared._httpx_utils import create_mcp_http_client

    verifier = JWTVerifier(issuer=ISSUER, keys=[PUBLIC_JWK])
    async with protected(verifier) as (info, _):
        bearer = token(info.url, sub="sdk-user")
        http_client = create_mcp_http_client(headers={"Authorization": f"Bearer {bearer}"})
        async with http_client, mcp.Client(
                streamable_http_client(info.url, http_client=http_client),
                mode="legacy") as client:
            result = await client.call_tool("whoami", {})
            assert result.content[0].text == "sdk-user mcp"
        anonymous = create_mcp_http_client()
        with pytest.raises(Exception):  # noqa: B017 - the SDK's own error for a 401
            async with anonymous, mcp.Client(
                    streamable_http_client(info.url, http_client=anonymous),
                    mode="legacy"):
                pass


async def test_pem_keys_and_tokens_without_kid() -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    from sansio.auth_server import TokenRejected

    def pem(key: Any) -> str:
        return key.public_key().public_bytes(
            serialization.Encoding.PEM,
            serialization.PublicFormat.SubjectPublicKeyInfo).decode()

    ec_key = ec.generate_private_key(ec.SECP256R1())
    verifier = JWTVerifier(issuer=ISSUER, keys=[pem(ec_key), pem(KEY)])
    claims = {"iss": ISSUER, "sub": "p", "exp": time.time() + 60, "aud": "http://x/mcp"}
    for key, alg in ((KEY, "RS256"), (ec_key, "ES256")):
        principal = await verifier.verify(jwt.encode(claims, key, algorithm=alg))
        assert principal.subject == "p" and principal.audience == ("http://x/mcp",)
    with pytest.raises(TokenRejected, match="not signed by a known key"):
        await verifier.verify(jwt.encode(claims, OTHER_KEY, algorithm="RS256"))


async def test_a_tool_replaced_without_scopes_needs_none() -> None:
    verifier = JWTVerifier(issuer=ISSUER, keys=[PUBLIC_JWK])
    async with protected(verifier) as (info, server):
        body, headers = modern_call(1, "write", {"path": "/x"})
        assert (await http(info.port, "POST", "/mcp", body=body, headers=headers,
                           bearer=token(info.url))).status == 403
        server.add_tool(lambda path: f"open {path}", "write", structured_output=False)
        answer = await http(info.port, "POST", "/mcp", body=body, headers=headers,
                            bearer=token(info.url))
        assert answer.json()["result"]["content"][0]["text"] == "open /x"
        server.remove_tool("write")
        assert not server._scoped_tools


async def test_verified_tokens_are_remembered_bounded() -> None:
    verifier = JWTVerifier(issuer=ISSUER, keys=[PUBLIC_JWK], cache_size=2)
    tokens = [token("http://x/mcp", sub=f"u{i}") for i in range(3)]
    first = await verifier.verify(tokens[0])
    assert await verifier.verify(tokens[0]) is first  # remembered: no second check
    for tok in tokens[1:]:
        await verifier.verify(tok)
    assert len(verifier._verified) == 2  # the oldest went
    assert await verifier.verify(tokens[0]) == first  # checked again, same principal
    not_yet = token("http://x/mcp", nbf=time.time() + 30)  # within the leeway: accepted
    await verifier.verify(not_yet)
    assert _digest_of(not_yet) not in verifier._verified  # but not remembered before nbf


def _digest_of(tok: str) -> bytes:
    import hashlib
    return hashlib.sha256(tok.encode()).digest()


class Stuck:
    async def verify(self, token: str) -> Principal | None:
        await trio.sleep_forever()
        return None  # pragma: no cover


async def test_a_verifier_that_hangs_is_bounded() -> None:
    async with protected(Stuck(), verify_timeout=0.5) as (info, _):
        start = trio.current_time()
        answer = await http(info.port, "POST", "/mcp", body=initialize(), bearer="t")
        assert answer.status == 503
        assert trio.current_time() - start < 5


async def test_modern_requests_of_two_principals_each_see_their_own() -> None:
    """2026-07-28 requests of different principals are never served in one shared session:
    each handler sees its own request's principal."""
    verifier = JWTVerifier(issuer=ISSUER, keys=[PUBLIC_JWK])
    async with protected(verifier) as (info, _):
        for sub in ("alice", "bob", "alice"):
            body, headers = modern_call(1, "whoami")
            answer = (await http(info.port, "POST", "/mcp", body=body, headers=headers,
                                 bearer=token(info.url, sub=sub))).json()
            assert answer["result"]["content"][0]["text"].split()[0] == sub


async def test_a_client_without_authorization_is_told_what_is_missing() -> None:
    """Our client with no ``auth=``: a 401 at connect and a 403 for a scoped tool are one line
    each, naming what the challenge asks for (not a bare HTTP status)."""
    from trio_adapter import Client, ConnectError
    from trio_adapter.http import StreamableHTTPTransport

    verifier = JWTVerifier(issuer=ISSUER, keys=[PUBLIC_JWK])
    async with protected(verifier) as (info, _):
        with pytest.raises(ConnectError, match=r"HTTP 401: .*requires a Bearer token.*"
                                               r"oauth-protected-resource.*auth=OAuth"):
            async with Client("c", "1", mode="legacy").connect(StreamableHTTPTransport(info.url)):
                pass  # pragma: no cover
