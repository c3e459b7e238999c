"""sansio.oauth: the OAuth 2.1 client flow with no I/O, driven step by step."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable, Generator
from typing import Any
from urllib.parse import parse_qs, parse_qsl, urlencode, urlsplit

import pytest

from sansio import oauth
from sansio.oauth import (
    AuthState,
    ClientConfig,
    HTTPAnswer,
    HTTPCall,
    OAuthError,
    SignAssertion,
    Token,
    UserAuthorization,
)

MCP = "https://mcp.example.com/mcp"
AS = "https://auth.example.com"
PRM_URL = "https://mcp.example.com/.well-known/oauth-protected-resource/mcp"
RANDOM = bytes(range(64))


# -- WWW-Authenticate

def test_a_bearer_challenge_gives_its_parameters() -> None:
    header = ('Bearer error="insufficient_scope", scope="mcp:read mcp:write", '
              f'resource_metadata="{PRM_URL}", error_description="needs \\"write\\""')
    c = oauth.bearer_challenge(header)
    assert c is not None and c.scheme == "bearer"
    assert c.error == "insufficient_scope"
    assert c.scopes == ("mcp:read", "mcp:write")
    assert c.resource_metadata == PRM_URL
    assert c.params["error_description"] == 'needs "write"'


def test_several_challenges_and_tokens_unquoted() -> None:
    got = oauth.parse_www_authenticate('Basic realm="x", Bearer realm=mcp, scope=a')
    assert [c.scheme for c in got] == ["basic", "bearer"]
    assert got[1].params == {"realm": "mcp", "scope": "a"}
    assert oauth.bearer_challenge(None) is None
    assert oauth.bearer_challenge("Basic realm=x") is None
    assert oauth.bearer_challenge("Bearer") == oauth.Challenge("bearer", {})


@pytest.mark.parametrize("junk", ["", ",,,", "=", 'Bearer scope="unterminated', "\x00\xff"])
def test_junk_never_raises(junk: str) -> None:
    oauth.parse_www_authenticate(junk)


# -- discovery orders

def test_protected_resource_metadata_order() -> None:
    assert oauth.protected_resource_metadata_urls(MCP, "https://mcp.example.com/custom.json") == [
        "https://mcp.example.com/custom.json", PRM_URL,
        "https://mcp.example.com/.well-known/oauth-protected-resource"]
    assert oauth.protected_resource_metadata_urls("https://mcp.example.com") == [
        "https://mcp.example.com/.well-known/oauth-protected-resource"]


def test_authorization_server_metadata_order() -> None:
    assert oauth.authorization_server_metadata_urls("https://a.example/tenant1") == [
        "https://a.example/.well-known/oauth-authorization-server/tenant1",
        "https://a.example/.well-known/openid-configuration/tenant1",
        "https://a.example/tenant1/.well-known/openid-configuration"]
    assert oauth.authorization_server_metadata_urls("https://a.example") == [
        "https://a.example/.well-known/oauth-authorization-server",
        "https://a.example/.well-known/openid-configuration"]


@pytest.mark.parametrize(("resource", "ok"), [
    (MCP, True), ("https://mcp.example.com", True), ("https://MCP.example.com/mcp/", True),
    ("https://evil.example.com/mcp", False), ("http://mcp.example.com/mcp", False),
    ("https://mcp.example.com/mc", False), ("https://mcp.example.com/mcp/deeper", False),
    ("https://mcp.example.com:8443/mcp", False)])
def test_resource_matches(resource: str, ok: bool) -> None:
    assert oauth.resource_matches(resource, MCP) is ok


# -- PKCE, scopes, client authentication

def test_pkce_s256() -> None:
    verifier = "a" * 43
    digest = hashlib.sha256(verifier.encode()).digest()
    assert oauth.pkce_challenge(verifier) == \
        base64.urlsafe_b64encode(digest).decode().rstrip("=")


def test_scope_selection() -> None:
    assert oauth.select_scopes(("a",), ("b", "c")) == ("a",)
    assert oauth.select_scopes(None, ("b", "c")) == ("b", "c")
    assert oauth.select_scopes(None, None) is None
    assert oauth.select_scopes(("w",), None, previous=("r",)) == ("r", "w")
    assert oauth.select_scopes(("r",), None, authorization_server=("r", "offline_access"),
                               offline_access=True) == ("r", "offline_access")
    assert oauth.select_scopes(("r",), None, authorization_server=("r",),
                               offline_access=True) == ("r",)


@pytest.mark.parametrize(("supported", "secret", "key", "method"), [
    (None, True, False, "client_secret_basic"),
    (["client_secret_post"], True, False, "client_secret_post"),
    (["none"], True, False, "none"),
    (["client_secret_basic"], False, False, "none"),
    (["private_key_jwt"], False, True, "private_key_jwt")])
def test_auth_method_choice(supported: list[str] | None, secret: bool, key: bool,
                            method: str) -> None:
    assert oauth.choose_auth_method(supported, has_secret=secret, has_key=key) == method


# -- the flow, against a scripted server

def _json(status: int, doc: Any) -> HTTPAnswer:
    return HTTPAnswer(status, {"content-type": "application/json"}, json.dumps(doc).encode())


NOT_FOUND = HTTPAnswer(404)


def as_metadata(**extra: Any) -> dict[str, Any]:
    return {"issuer": AS, "authorization_endpoint": f"{AS}/authorize",
            "token_endpoint": f"{AS}/token", "registration_endpoint": f"{AS}/register",
            "code_challenge_methods_supported": ["S256"], **extra}


class Script:
    """Answers the flow's steps like a server would; records what it was asked."""

    def __init__(self, prm: dict[str, Any] | None = None, metadata: dict[str, Any] | None = None,
                 iss: str | None = AS, token: dict[str, Any] | None = None) -> None:
        self.prm = prm if prm is not None else {"resource": MCP, "authorization_servers": [AS]}
        self.metadata = metadata if metadata is not None else as_metadata()
        self.iss = iss
        self.token = token or {"access_token": "at-1", "token_type": "Bearer",
                               "expires_in": 60, "refresh_token": "rt-1"}
        self.calls: list[HTTPCall] = []
        self.authorizations: list[dict[str, str]] = []
        self.forms: list[dict[str, str]] = []

    def __call__(self, step: oauth.Step) -> Any:
        if isinstance(step, UserAuthorization):
            query = dict(parse_qsl(urlsplit(step.url).query))
            self.authorizations.append(query)
            back = {"code": "c-1", "state": query["state"]}
            if self.iss is not None:
                back["iss"] = self.iss
            return f"{step.redirect_uri}?{urlencode(back)}"
        if isinstance(step, SignAssertion):
            return "signed." + json.dumps(dict(step.claims), sort_keys=True)
        self.calls.append(step)
        if step.url == PRM_URL:
            return _json(200, self.prm)
        if step.url == f"{AS}/.well-known/oauth-authorization-server":
            return _json(200, self.metadata)
        if step.url == f"{AS}/register":
            return _json(201, {"client_id": "dyn-1"})
        if step.url == f"{AS}/token":
            self.forms.append(dict(parse_qsl(step.body.decode())))
            return _json(200, self.token)
        return NOT_FOUND


def run(flow: Generator[oauth.Step, Any, Token], answer: Callable[[oauth.Step], Any]) -> Token:
    got: Any = None
    try:
        while True:
            got = answer(flow.send(got))
    except StopIteration as done:
        return done.value  # type: ignore[no-any-return]


def flow(state: AuthState, config: ClientConfig | None = None, *, status: int = 401,
         header: str | None = f'Bearer resource_metadata="{PRM_URL}"'
         ) -> Generator[oauth.Step, Any, Token]:
    return oauth.authorize(state, MCP, config or ClientConfig(),
                           challenge=oauth.bearer_challenge(header), status=status, now=1000.0,
                           random=RANDOM)


def test_the_whole_authorization_code_flow() -> None:
    script = Script()
    state = AuthState()
    token = run(flow(state), script)
    assert token.access_token == "at-1" and token.expires_at == 1060.0
    assert token.issuer == AS and "at-1" not in repr(token) and "at-1" not in repr(state)
    assert [c.url for c in script.calls] == [
        PRM_URL, f"{AS}/.well-known/oauth-authorization-server", f"{AS}/register",
        f"{AS}/token"]
    registration = json.loads(script.calls[2].body)
    assert registration["application_type"] == "native"
    assert "refresh_token" in registration["grant_types"]
    (query,) = script.authorizations
    form = script.forms[0]
    assert query["client_id"] == form["client_id"] == "dyn-1"
    assert query["resource"] == form["resource"] == MCP
    assert query["code_challenge_method"] == "S256"
    assert oauth.pkce_challenge(form["code_verifier"]) == query["code_challenge"]
    assert "scope" not in query  # no challenge scope, no scopes_supported
    assert form["grant_type"] == "authorization_code" and form["code"] == "c-1"
    assert state.registrations[AS].client_id == "dyn-1"


def test_discovery_falls_back_from_a_missing_header_url() -> None:
    script = Script()
    run(flow(AuthState(), header='Bearer resource_metadata="https://mcp.example.com/gone"'),
        script)
    assert [c.url for c in script.calls][:2] == ["https://mcp.example.com/gone", PRM_URL]


def test_a_2025_03_26_server_without_metadata_uses_the_default_endpoints() -> None:
    def answer(step: oauth.Step) -> Any:
        if isinstance(step, HTTPCall) and step.url.endswith("/register"):
            return _json(201, {"client_id": "legacy"})
        if isinstance(step, HTTPCall) and step.url.endswith("/token"):
            return _json(200, {"access_token": "t"})
        if isinstance(step, HTTPCall):
            return NOT_FOUND
        query = dict(parse_qsl(urlsplit(step.url).query))  # type: ignore[union-attr]
        assert step.url.startswith("https://mcp.example.com/authorize?")  # type: ignore[union-attr]
        return f"{step.redirect_uri}?code=x&state={query['state']}"  # type: ignore[union-attr]
    assert run(flow(AuthState(), header=None), answer).access_token == "t"


@pytest.mark.parametrize(("script", "reason"), [
    (Script(prm={"resource": "https://evil.example.com/mcp", "authorization_servers": [AS]}),
     "not https://mcp.example.com/mcp"),
    (Script(metadata=as_metadata(issuer="https://attacker.example.com")), "RFC 8414"),
    (Script(iss="https://evil.example.com"), "RFC 9207"),
    (Script(iss=AS + "/"), "RFC 9207"),
    (Script(iss=None, metadata=as_metadata(authorization_response_iss_parameter_supported=True)),
     "has no iss"),
    (Script(metadata=as_metadata(code_challenge_methods_supported=["plain"])), "PKCE"),
    (Script(token={"error": "invalid_grant"}), "token request failed"),
])
def test_refusals(script: Script, reason: str) -> None:
    with pytest.raises(OAuthError, match=reason):
        run(flow(AuthState()), script)
    assert not script.forms or reason == "token request failed"


def test_step_up_asks_for_the_union_and_gives_up_after_the_limit() -> None:
    script = Script()
    state = AuthState()
    run(flow(state, header=f'Bearer scope="read", resource_metadata="{PRM_URL}"'), script)
    denied = f'Bearer error="insufficient_scope", scope="write", resource_metadata="{PRM_URL}"'
    run(flow(state, status=403, header=denied), script)
    assert [a["scope"] for a in script.authorizations] == ["read", "read write"]
    assert len([c for c in script.calls if c.url.endswith("/register")]) == 1  # kept
    run(flow(state, status=403, header=denied), script)
    with pytest.raises(OAuthError, match="gave up after 3 authorizations"):
        run(flow(state, status=403, header=denied), script)
    oauth.succeeded(state)
    run(flow(state, status=403, header=denied), script)


def test_an_expired_token_is_refreshed_without_the_user() -> None:
    script = Script()
    state = AuthState()
    run(flow(state), script)
    script.token = {"access_token": "at-2"}
    token = run(flow(state), script)
    assert token.access_token == "at-2" and token.refresh_token == "rt-1"
    assert len(script.authorizations) == 1
    assert script.forms[-1]["grant_type"] == "refresh_token"
    assert script.forms[-1]["resource"] == MCP


def test_a_new_authorization_server_means_a_new_registration() -> None:
    script = Script()
    state = AuthState()
    run(flow(state), script)
    other = "https://other.example.com"
    script.prm = {"resource": MCP, "authorization_servers": [other]}

    def answer(step: oauth.Step) -> Any:
        if isinstance(step, HTTPCall) and step.url.startswith(other):
            step = HTTPCall(step.method, step.url.replace(other, AS), step.headers, step.body)
            if step.url.endswith("oauth-authorization-server"):
                return _json(200, as_metadata(issuer=other,
                                              authorization_endpoint=f"{AS}/authorize",
                                              registration_endpoint=f"{other}/register",
                                              token_endpoint=f"{other}/token"))
            got = script(step)
            return _json(201, {"client_id": "dyn-2"}) if step.url.endswith("/register") else got
        return script(step) if not isinstance(step, UserAuthorization) else \
            script(step).replace(f"iss={AS.replace(':', '%3A').replace('/', '%2F')}",
                                 f"iss={other.replace(':', '%3A').replace('/', '%2F')}")
    token = run(flow(state), answer)
    assert token.issuer == other
    assert set(state.registrations) == {AS, other}
    assert script.authorizations[-1]["client_id"] == "dyn-2"
    assert script.forms[-1]["grant_type"] == "authorization_code"  # AS1's refresh token unused


@pytest.mark.parametrize(("methods", "where"), [
    (["client_secret_basic"], "header"), (["client_secret_post"], "body"), (["none"], "none")])
def test_pre_registered_client_authentication(methods: list[str], where: str) -> None:
    script = Script(metadata=as_metadata(token_endpoint_auth_methods_supported=methods))
    run(flow(AuthState(), ClientConfig(client_id="pre", client_secret="s3cret")), script)
    token_call = script.calls[-1]
    basic = dict(token_call.headers).get("authorization")
    form = script.forms[-1]
    assert not any(c.url.endswith("/register") for c in script.calls)
    if where == "header":
        assert basic == "Basic " + base64.b64encode(b"pre:s3cret").decode()
        assert "client_secret" not in form
    elif where == "body":
        assert basic is None and form["client_secret"] == "s3cret"
    else:
        assert basic is None and "client_secret" not in form and form["client_id"] == "pre"


def test_a_client_id_metadata_document_url_is_the_client_id() -> None:
    url = "https://client.example.com/meta.json"
    script = Script(metadata=as_metadata(client_id_metadata_document_supported=True))
    run(flow(AuthState(), ClientConfig(client_metadata_url=url)), script)
    assert script.authorizations[0]["client_id"] == url
    assert not any(c.url.endswith("/register") for c in script.calls)


def test_client_credentials_with_a_signed_assertion() -> None:
    script = Script()
    config = ClientConfig(grant="client_credentials", client_id="machine", signing_alg="ES256")
    run(flow(AuthState(), config), script)
    assert not script.authorizations
    form = script.forms[-1]
    assert form["grant_type"] == "client_credentials"
    assert form["client_assertion_type"] == oauth.JWT_BEARER
    claims = json.loads(form["client_assertion"].removeprefix("signed."))
    assert claims["iss"] == claims["sub"] == "machine" and claims["aud"] == AS
    assert claims["exp"] > claims["iat"] == 1000


def test_state_round_trips_through_json() -> None:
    script = Script()
    state = AuthState()
    run(flow(state), script)
    again = AuthState.from_json(json.loads(json.dumps(state.to_json())))
    assert again.token == state.token and again.registrations == state.registrations
    assert parse_qs("a=1")  # keep the import honest


def test_a_workload_identity_jwt_is_the_grant() -> None:
    script = Script(metadata=as_metadata(token_endpoint_auth_methods_supported=["none"]))
    config = ClientConfig(grant="jwt_bearer", client_id="workload", assertion="wl.jwt.sig")
    run(flow(AuthState(), config), script)
    form = script.forms[-1]
    assert form["grant_type"] == oauth.JWT_BEARER_GRANT and form["assertion"] == "wl.jwt.sig"
    assert form["client_id"] == "workload" and not script.authorizations


def test_enterprise_managed_authorization_exchanges_the_id_token_first() -> None:
    idp = "https://idp.example.com/token"
    script = Script(metadata=as_metadata(token_endpoint_auth_methods_supported=[
        "client_secret_basic"]))

    def answer(step: oauth.Step) -> Any:
        if isinstance(step, HTTPCall) and step.url == idp:
            exchange = dict(parse_qsl(step.body.decode()))
            assert exchange["grant_type"] == oauth.TOKEN_EXCHANGE
            assert exchange["subject_token"] == "id.token" and exchange["audience"] == AS
            assert exchange["resource"] == MCP
            assert exchange["requested_token_type"] == oauth.ID_JAG_TYPE
            return _json(200, {"access_token": "the.id.jag",
                               "issued_token_type": oauth.ID_JAG_TYPE})
        return script(step)

    config = ClientConfig(grant="id_jag", client_id="app", client_secret="s",
                          id_token="id.token", idp_token_endpoint=idp, idp_client_id="idp-app")
    run(flow(AuthState(), config), answer)
    form = script.forms[-1]
    assert form["grant_type"] == oauth.JWT_BEARER_GRANT and form["assertion"] == "the.id.jag"
    assert dict(script.calls[-1].headers)["authorization"].startswith("Basic ")


def test_a_failed_workload_grant_is_not_retried_another_way() -> None:
    script = Script(token={"error": "invalid_grant", "error_description": "expired"})
    config = ClientConfig(grant="jwt_bearer", client_id="workload", assertion="old")
    with pytest.raises(OAuthError, match="invalid_grant: expired"):
        run(flow(AuthState(), config), script)
    assert len(script.forms) == 1


def test_dpop_proof_claims() -> None:
    claims = oauth.dpop_claims("POST", "https://mcp.example.com/mcp?x=1#f", now=12.7,
                               jti="j", nonce="n", access_token="tok")
    digest = base64.urlsafe_b64encode(hashlib.sha256(b"tok").digest()).rstrip(b"=").decode()
    assert claims == {"jti": "j", "htm": "POST", "htu": "https://mcp.example.com/mcp",
                      "iat": 12, "nonce": "n", "ath": digest}
    assert oauth.dpop_nonce_challenge(400, {"dpop-nonce": "a"}) == "a"
    assert oauth.dpop_nonce_challenge(401, {
        "dpop-nonce": "b", "www-authenticate": 'DPoP error="use_dpop_nonce"'}) == "b"
    assert oauth.dpop_nonce_challenge(401, {"dpop-nonce": "b",
                                            "www-authenticate": "Bearer"}) is None
    assert oauth.dpop_nonce_challenge(400, {}) is None
    assert oauth.authorization_header(Token("t", "DPoP")) == ("authorization", "DPoP t")


def test_a_dpop_token_request_carries_a_proof_and_honours_the_nonce() -> None:
    script = Script(metadata=as_metadata(dpop_signing_alg_values_supported=["ES256"]),
                    token={"access_token": "bound", "token_type": "DPoP"})
    proofs: list[dict[str, Any]] = []
    calls = 0

    def answer(step: oauth.Step) -> Any:
        nonlocal calls
        if isinstance(step, oauth.DPoPProof):
            proofs.append(dict(step.claims))
            return f"proof-{len(proofs)}"
        if isinstance(step, HTTPCall) and step.url.endswith("/token"):
            calls += 1
            assert dict(step.headers)["dpop"] == f"proof-{len(proofs)}"
            if calls == 1:
                return HTTPAnswer(400, {"dpop-nonce": "n-1"}, b'{"error": "use_dpop_nonce"}')
        return script(step)

    state = AuthState()
    token = run(flow(state, ClientConfig(dpop_algs=("ES256",))), answer)
    assert token.token_type == "DPoP" and state.dpop_alg == "ES256"
    assert [p.get("nonce") for p in proofs] == [None, "n-1"]
    assert proofs[0]["htu"] == f"{AS}/token" and proofs[0]["jti"] != proofs[1]["jti"]
    # a client that cannot sign, or a server that offers no DPoP: Bearer, no proof
    script = Script(metadata=as_metadata(dpop_signing_alg_values_supported=["ES256"]))
    run(flow(AuthState()), script)
    assert "dpop" not in dict(script.calls[-1].headers)


def test_a_refusal_without_authorization_says_what_is_missing() -> None:
    from sansio.oauth import describe_refusal

    line = describe_refusal(401, 'Bearer resource_metadata="https://r/.well-known/x", '
                                 'scope="files:read"')
    assert line == ("HTTP 401: unauthorized: the server requires a Bearer token with scope "
                    "'files:read' (its metadata: https://r/.well-known/x); log in with "
                    "StreamableHTTPTransport(url, auth=OAuth(...))")
    line = describe_refusal(403, 'Bearer error="insufficient_scope", scope="admin audit"')
    assert line.startswith("HTTP 403: insufficient_scope: the token lacks scope 'admin' 'audit'")
    assert "\n" not in describe_refusal(401, "garbage ,,, =")
