"""trio_adapter.oauth: ``StreamableHTTPTransport(url, auth=OAuth(...))`` against a small
authorization server and protected MCP endpoint written for these tests (h11 on a loopback
socket): the flow runs on a 401, the token goes on every request, a 403 steps up, a step-up
that never works ends in a clear error, tokens stay out of the logs."""

from __future__ import annotations

import base64
import functools
import hashlib
import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import h11
import pytest
import trio
from adapter_support import read_request

from sansio.oauth import AuthState, HTTPCall, Token
from trio_adapter import Client, ConnectError
from trio_adapter.http import StreamableHTTPTransport
from trio_adapter.oauth import FileTokenStore, OAuth, http_request


class AuthorizedMCP:
    """One loopback server that is both the authorization server (``/as``) and the protected
    MCP endpoint (``/mcp``). ``call_scope``: the scope ``tools/call`` needs (403 without)."""

    def __init__(self, *, call_scope: str | None = None, iss: str | None = "correct",
                 grants: tuple[str, ...] = ("authorization_code", "refresh_token")) -> None:
        self.base = ""
        self.call_scope = call_scope
        self.iss = iss
        self.grants = grants
        self.tokens: dict[str, set[str]] = {}
        self.challenges: dict[str, str] = {}
        self.authorizations: list[dict[str, str]] = []
        self.token_forms: list[dict[str, str]] = []
        self.mcp_auth: list[str | None] = []
        self.registrations = 0

    @property
    def issuer(self) -> str:
        return f"{self.base}/as"

    def _prm_url(self) -> str:
        return f"{self.base}/.well-known/oauth-protected-resource/mcp"

    def route(self, method: str, target: str, headers: dict[str, str], body: bytes
              ) -> tuple[int, list[tuple[str, str]], bytes]:
        path, _, query = target.partition("?")
        js = [("content-type", "application/json")]
        if path == "/.well-known/oauth-protected-resource/mcp":
            return 200, js, json.dumps({"resource": f"{self.base}/mcp",
                                        "authorization_servers": [self.issuer],
                                        "scopes_supported": ["mcp:basic"]}).encode()
        if path == "/.well-known/oauth-authorization-server/as":
            return 200, js, json.dumps({
                "issuer": self.issuer, "authorization_endpoint": f"{self.issuer}/authorize",
                "token_endpoint": f"{self.issuer}/token",
                "registration_endpoint": f"{self.issuer}/register",
                "code_challenge_methods_supported": ["S256"],
                "grant_types_supported": list(self.grants),
                "token_endpoint_auth_methods_supported": ["client_secret_basic", "none"],
                "authorization_response_iss_parameter_supported": self.iss == "correct",
            }).encode()
        if path == "/as/register":
            self.registrations += 1
            return 201, js, json.dumps({"client_id": f"client-{self.registrations}",
                                        "client_secret": "reg-secret"}).encode()
        if path == "/as/authorize":
            q = dict(parse_qsl(query))
            self.authorizations.append(q)
            code = f"code-{len(self.authorizations)}"
            self.challenges[code] = q["code_challenge"]
            self.tokens[code] = set(q.get("scope", "").split())
            back = {"code": code, "state": q["state"]}
            if self.iss == "correct":
                back["iss"] = self.issuer
            elif self.iss is not None:
                back["iss"] = self.iss
            return 302, [("location", f"{q['redirect_uri']}?{urlencode(back)}")], b""
        if path == "/as/token":
            form = dict(parse_qsl(body.decode()))
            self.token_forms.append(form)
            if form["grant_type"] == "authorization_code":
                digest = hashlib.sha256(form["code_verifier"].encode()).digest()
                if base64.urlsafe_b64encode(digest).rstrip(b"=").decode() != \
                        self.challenges.get(form["code"]):
                    return 400, js, b'{"error": "invalid_grant"}'
                scopes = self.tokens[form["code"]]
            elif form["grant_type"] == "client_credentials":
                if headers.get("authorization") != "Basic " + base64.b64encode(
                        b"machine:machine-secret").decode():
                    return 401, js, b'{"error": "invalid_client"}'
                scopes = set(form.get("scope", "").split())
            else:
                return 400, js, b'{"error": "unsupported_grant_type"}'
            token = f"secret-token-{len(self.token_forms)}"
            self.tokens[token] = scopes
            return 200, js, json.dumps({"access_token": token, "token_type": "Bearer",
                                        "expires_in": 3600}).encode()
        if path == "/mcp":
            return self.mcp(method, headers, body)
        return 404, [], b""

    def mcp(self, method: str, headers: dict[str, str], body: bytes
            ) -> tuple[int, list[tuple[str, str]], bytes]:
        auth = headers.get("authorization")
        self.mcp_auth.append(auth)
        token = auth[7:] if auth and auth.startswith("Bearer ") else None
        if token is None or token not in self.tokens or not token.startswith("secret-token"):
            return 401, [("www-authenticate", f'Bearer resource_metadata="{self._prm_url()}", '
                          'scope="mcp:basic"')], b""
        if method != "POST":
            return 405, [], b""
        msg = json.loads(body)
        js = [("content-type", "application/json")]
        if "id" not in msg:
            return 202, [], b""
        if msg["method"] == "initialize":
            result: Any = {"protocolVersion": msg["params"]["protocolVersion"],
                           "capabilities": {"tools": {}},
                           "serverInfo": {"name": "authorized", "version": "1"}}
        elif msg["method"] == "tools/call":
            if self.call_scope is not None and self.call_scope not in self.tokens[token]:
                return 403, [("www-authenticate", f'Bearer error="insufficient_scope", '
                              f'scope="{self.call_scope}", '
                              f'resource_metadata="{self._prm_url()}"')], b""
            result = {"content": [{"type": "text", "text": "done"}]}
        else:
            result = {"tools": []}
        return 200, js, json.dumps({"jsonrpc": "2.0", "id": msg["id"],
                                    "result": result}).encode()

    async def handle(self, stream: trio.SocketStream) -> None:
        conn = h11.Connection(h11.SERVER)
        async with stream:
            while True:
                got = await read_request(conn, stream)
                if got is None:
                    return
                head, body = got
                headers = {k.decode().lower(): v.decode() for k, v in head.headers}
                status, out_headers, out = self.route(head.method.decode(),
                                                      head.target.decode(), headers, body)
                data = conn.send(h11.Response(status_code=status, headers=[
                    *out_headers, ("content-length", str(len(out)))]))
                data += conn.send(h11.Data(data=out)) if out else b""
                data += conn.send(h11.EndOfMessage())
                await stream.send_all(data)
                if conn.our_state is not h11.DONE or conn.their_state is not h11.DONE:
                    return
                conn.start_next_cycle()


@asynccontextmanager
async def serving(server: AuthorizedMCP) -> AsyncIterator[str]:
    async with trio.open_nursery() as nursery:
        listeners = await nursery.start(
            functools.partial(trio.serve_tcp, server.handle, 0, host="127.0.0.1"))
        server.base = f"http://127.0.0.1:{listeners[0].socket.getsockname()[1]}"
        yield f"{server.base}/mcp"
        nursery.cancel_scope.cancel()


async def approve(url: str, redirect_uri: str) -> str:
    """The user says yes: follow the authorization server's redirect."""
    answer = await http_request(HTTPCall("GET", url))
    assert answer.status == 302
    location = answer.headers["location"]
    assert location.startswith(redirect_uri)
    return location


def client() -> Client:
    return Client("c", "1.0", mode="legacy")


async def test_a_401_runs_the_flow_and_the_token_goes_on_every_request(
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    server = AuthorizedMCP()
    async with serving(server) as url:
        auth = OAuth(on_authorize=approve)
        async with client().connect(StreamableHTTPTransport(url, auth=auth)) as session:
            result = await session.call_tool("anything", {})
            assert not result.is_error
    assert server.mcp_auth[0] is None  # the first try, then the flow
    assert all(a == "Bearer secret-token-1" for a in server.mcp_auth[1:])
    (query,) = server.authorizations
    assert query["resource"] == url and query["scope"] == "mcp:basic"
    assert server.token_forms[0]["resource"] == url
    assert "secret-token" not in caplog.text and "secret-token" not in repr(auth)


async def test_a_403_steps_up_with_the_union_of_scopes() -> None:
    server = AuthorizedMCP(call_scope="mcp:write")
    async with serving(server) as url:
        auth = OAuth(on_authorize=approve)
        async with client().connect(StreamableHTTPTransport(url, auth=auth)) as session:
            result = await session.call_tool("write", {})
            assert not result.is_error
    assert [q.get("scope") for q in server.authorizations] == ["mcp:basic",
                                                              "mcp:basic mcp:write"]
    assert server.registrations == 1


async def test_a_step_up_that_never_works_ends_in_a_clear_error() -> None:
    server = AuthorizedMCP(call_scope="mcp:never")

    async def approve_without_the_scope(url: str, redirect_uri: str) -> str:
        return await approve(url.replace("mcp%3Anever", "other"), redirect_uri)

    async with serving(server) as url:
        auth = OAuth(on_authorize=approve_without_the_scope)
        async with client().connect(StreamableHTTPTransport(url, auth=auth)) as session:
            with pytest.raises(Exception, match="gave up after 3 authorizations") as info:
                await session.call_tool("x", {})
            assert "authorization failed" in str(info.value)
            assert (await session.send_request("tools/list")) == {"tools": []}  # lives on
    # one for the handshake's 401, then three for the call (the first and two step-ups)
    assert len(server.authorizations) == 4


async def test_a_wrong_iss_is_refused_before_the_code_is_used() -> None:
    server = AuthorizedMCP(iss="https://evil.example.com")
    async with serving(server) as url:
        with pytest.raises(ConnectError, match="RFC 9207"):
            async with client().connect(StreamableHTTPTransport(
                    url, auth=OAuth(on_authorize=approve))):
                pass
    assert server.authorizations and not server.token_forms


async def test_client_credentials_need_no_user() -> None:
    server = AuthorizedMCP(grants=("client_credentials",))

    async def never(url: str, redirect_uri: str) -> str:
        raise AssertionError("no user interaction for client credentials")

    async with serving(server) as url:
        auth = OAuth(grant="client_credentials", client_id="machine",
                     client_secret="machine-secret", on_authorize=never)
        async with client().connect(StreamableHTTPTransport(url, auth=auth)) as session:
            assert not (await session.call_tool("x", {})).is_error
    assert server.token_forms[0]["grant_type"] == "client_credentials"
    assert server.registrations == 0


async def test_a_file_store_keeps_the_token_for_the_next_run(tmp_path: Path) -> None:
    server = AuthorizedMCP()
    path = tmp_path / "tokens.json"
    async with serving(server) as url:
        for _ in range(2):
            auth = OAuth(on_authorize=approve, store=FileTokenStore(path))
            async with client().connect(StreamableHTTPTransport(url, auth=auth)) as session:
                await session.call_tool("x", {})
            auth2 = OAuth(on_authorize=approve, store=FileTokenStore(path))
            await auth2.prepare(url)
            assert auth2.headers() == [("authorization", "Bearer secret-token-1")]
    assert len(server.authorizations) == 1  # the second run used the stored token
    assert path.stat().st_mode & 0o777 == 0o600
    assert urlsplit(url).netloc in json.loads(path.read_text()).__iter__().__next__()


def test_the_cli_auth_options(tmp_path: Path) -> None:
    from trio_adapter._cli_client import make_auth
    from trio_adapter.cli import _parser

    def auth(*options: str) -> OAuth | None:
        args = _parser().parse_args(["inspect", "--url", "http://127.0.0.1:1/mcp",
                                     "--token-file", str(tmp_path / "t.json"), *options])
        return make_auth(args)  # type: ignore[no-any-return]

    login = auth("--scope", "a", "--scope", "b", "--redirect-port", "4321")
    assert login is not None and login.config.grant == "authorization_code"
    assert login.config.scopes == ("a", "b")
    assert login.config.redirect_uri == "http://127.0.0.1:4321/callback"
    machine = auth("--auth", "client-credentials", "--client-id", "m",
                   "--client-secret", "hush-42")
    assert machine is not None and machine.config.grant == "client_credentials"
    assert "hush-42" not in repr(machine)
    assert auth("--auth", "none") is None
    with pytest.raises(ValueError, match="needs --client-id"):
        auth("--auth", "client-credentials")


def test_dpop_requests_carry_a_fresh_proof_bound_to_the_token() -> None:
    jwt = pytest.importorskip("jwt")
    from sansio.oauth import dpop_claims

    oauth = OAuth()
    oauth._state = AuthState(token=Token("bound-token", "DPoP"), dpop_alg="ES256",
                             rs_nonce="rs-1")
    first = dict(oauth.headers("POST", "http://127.0.0.1:1/mcp"))
    second = dict(oauth.headers("POST", "http://127.0.0.1:1/mcp"))
    assert first["authorization"] == "DPoP bound-token"
    header = jwt.get_unverified_header(first["dpop"])
    assert header["typ"] == "dpop+jwt" and header["alg"] == "ES256"
    assert "d" not in header["jwk"] and header["jwk"]["crv"] == "P-256"
    key = jwt.PyJWK(header["jwk"], "ES256").key
    claims = jwt.decode(first["dpop"], key, algorithms=["ES256"])
    expected = dpop_claims("POST", "http://127.0.0.1:1/mcp", now=claims["iat"],
                           jti=claims["jti"], nonce="rs-1", access_token="bound-token")
    assert claims == expected
    again = jwt.decode(second["dpop"], key, algorithms=["ES256"])
    assert again["jti"] != claims["jti"]  # a fresh proof per request, the same key
