"""sansio.auth_server: the resource-server rules (RFC 6750, RFC 9728, RFC 8707, RFC 7662)."""

from __future__ import annotations

import base64
import json

import pytest

from sansio.auth_server import (
    Principal,
    ResourceServer,
    TokenRejected,
    audience_matches,
    canonical_resource,
    challenge,
    check_claims,
    introspection_request,
    metadata_path,
    principal_from_introspection,
    scopes_of,
    tools_called,
)

RESOURCE = "https://mcp.example.com/mcp"
AS = "https://auth.example.com"
NOW = 1_800_000_000.0


def rs(**options: object) -> ResourceServer:
    return ResourceServer(RESOURCE, authorization_servers=[AS], **options)  # type: ignore[arg-type]


# ---------------------------------------------------------------- URIs


@pytest.mark.parametrize(("given", "canonical"), [
    ("https://MCP.Example.com/mcp", "https://mcp.example.com/mcp"),
    ("https://mcp.example.com:443/mcp/", "https://mcp.example.com/mcp"),
    ("http://127.0.0.1:8000/mcp", "http://127.0.0.1:8000/mcp"),
    ("http://localhost:80", "http://localhost"),
    ("https://[::1]:9000/a/b", "https://[::1]:9000/a/b"),
])
def test_canonical_resource(given: str, canonical: str) -> None:
    assert canonical_resource(given) == canonical


@pytest.mark.parametrize("bad", ["mcp.example.com", "ftp://x/y", "https://x/mcp#frag", "/mcp"])
def test_canonical_resource_refuses(bad: str) -> None:
    with pytest.raises(ValueError, match="resource"):
        canonical_resource(bad)


def test_metadata_path_is_suffixed_with_the_resource_path() -> None:
    assert metadata_path("https://h/mcp") == "/.well-known/oauth-protected-resource/mcp"
    assert metadata_path("https://h") == "/.well-known/oauth-protected-resource"
    server = rs()
    assert server.metadata_url == \
        "https://mcp.example.com/.well-known/oauth-protected-resource/mcp"
    assert server.is_metadata_path("/.well-known/oauth-protected-resource/mcp")
    assert server.is_metadata_path("/.well-known/oauth-protected-resource")
    assert server.is_metadata_path("/.well-known/oauth-protected-resource?x=1")
    assert not server.is_metadata_path("/.well-known/oauth-protected-resource/other")
    assert not server.is_metadata_path("/mcp")


def test_audience_matches() -> None:
    assert audience_matches(["https://MCP.example.com/mcp/"], RESOURCE)
    assert not audience_matches(["https://mcp.example.com/other"], RESOURCE)
    assert not audience_matches(["https://evil.example.com/mcp"], RESOURCE)
    assert not audience_matches(["not a uri"], RESOURCE)
    assert audience_matches(["api://mcp"], RESOURCE, accepted=["api://mcp"])


# ---------------------------------------------------------------- the challenge


def test_challenge_exact() -> None:
    assert challenge() == "Bearer"
    assert challenge(resource_metadata="https://h/.well-known/oauth-protected-resource/mcp",
                     scope=["b", "a"], error="invalid_token",
                     description='expired "now"\\') == (
        'Bearer resource_metadata="https://h/.well-known/oauth-protected-resource/mcp", '
        'scope="a b", error="invalid_token", error_description="expired now"')


def test_no_token_is_401_without_error_code() -> None:
    answer = rs(required_scopes=["mcp:read"]).token_of("/mcp", None)
    assert not isinstance(answer, str)
    assert answer.status == 401
    assert answer.header("www-authenticate") == (
        'Bearer resource_metadata="https://mcp.example.com/.well-known/'
        'oauth-protected-resource/mcp", scope="mcp:read"')
    assert json.loads(answer.body) == {"error": "unauthorized"}
    assert answer.header("cache-control") == "no-store"


@pytest.mark.parametrize("header", ["Basic dXNlcjpwYXNz", "Token abc", "Bearer"])
def test_other_schemes_or_empty_bearer(header: str) -> None:
    answer = rs().token_of("/mcp", header)
    assert not isinstance(answer, str)
    if header == "Bearer":
        assert answer.status == 400
    else:
        assert answer.status == 401 and answer.error is None


@pytest.mark.parametrize("header", ["bearer abc.def-ghi_~+/==", "Bearer  tok", "BEARER tok"])
def test_token_of_accepts_one_token(header: str) -> None:
    assert rs().token_of("/mcp", header) == header.rsplit(maxsplit=1)[-1]


@pytest.mark.parametrize("header", ["Bearer a, Bearer b", "Bearer a b", "Bearer a=b",
                                    "Bearer ä", "Bearer ="])
def test_token_of_refuses_malformed_or_several(header: str) -> None:
    answer = rs().token_of("/mcp", header)
    assert not isinstance(answer, str)
    assert answer.status == 400 and answer.error == "invalid_request"
    assert 'error="invalid_request"' in (answer.header("www-authenticate") or "")


def test_token_in_query_is_refused() -> None:
    answer = rs().token_of("/mcp?access_token=abc", "Bearer abc")
    assert not isinstance(answer, str)
    assert answer.status == 400 and answer.error == "invalid_request"
    assert rs().token_of("/mcp?x_access_token=1", "Bearer abc") == "abc"


def test_refuse_statuses() -> None:
    server = rs()
    assert server.refuse("invalid_token", "bad").status == 401
    assert server.refuse("insufficient_scope", scope=["x"]).status == 403
    with pytest.raises(ValueError, match="unknown bearer error"):
        server.refuse("nope")
    assert server.unavailable("down").status == 503
    foreign = server.foreign_session()
    assert foreign.status == 404 and json.loads(foreign.body)["error"]["code"] == -32001


# ---------------------------------------------------------------- metadata


def test_metadata_document() -> None:
    server = rs(required_scopes=["mcp:read"], resource_name="Demo")
    server.add_scopes(["files:write"])
    answer = server.metadata_answer("GET")
    assert answer.status == 200
    assert answer.header("content-type") == "application/json"
    assert json.loads(answer.body) == {
        "resource": RESOURCE, "authorization_servers": [AS],
        "scopes_supported": ["files:write", "mcp:read"],
        "bearer_methods_supported": ["header"], "resource_name": "Demo"}
    assert server.metadata_answer("HEAD").body == b""
    assert server.metadata_answer("POST").status == 405
    fixed = rs(scopes_supported=["a"])
    fixed.add_scopes(["b"])
    assert fixed.metadata()["scopes_supported"] == ["a"]


def test_resource_server_refuses_bad_configuration() -> None:
    with pytest.raises(ValueError, match="at least one authorization server"):
        ResourceServer(RESOURCE, authorization_servers=[])
    with pytest.raises(ValueError, match="not an absolute"):
        ResourceServer(RESOURCE, authorization_servers=["auth.example.com"])


# ---------------------------------------------------------------- claims


def claims(**extra: object) -> dict[str, object]:
    base: dict[str, object] = {"iss": AS, "sub": "alice", "aud": RESOURCE, "exp": NOW + 60,
                               "iat": NOW - 1, "scope": "mcp:read files:write",
                               "client_id": "app"}
    base.update(extra)
    return {k: v for k, v in base.items() if v is not None}


def test_check_claims_gives_the_principal() -> None:
    principal = check_claims(claims(), now=NOW, issuer=AS)
    assert principal == Principal(subject="alice", client_id="app",
                                  scopes=frozenset({"mcp:read", "files:write"}), issuer=AS,
                                  audience=(RESOURCE,), expires_at=NOW + 60)
    assert principal.key == f"{AS} alice"
    assert Principal(subject=None, client_id="m2m").key == "client:m2m"
    assert Principal(subject=None).key is None


@pytest.mark.parametrize(("extra", "message"), [
    ({"exp": NOW - 61}, "expired"),
    ({"exp": None}, "no expiry"),
    ({"exp": "soon"}, "not a number"),
    ({"exp": True}, "not a number"),
    ({"nbf": NOW + 61}, "not valid yet"),
    ({"iat": NOW + 61}, "in the future"),
    ({"iss": "https://other.example.com"}, "issuer"),
])
def test_check_claims_refuses(extra: dict[str, object], message: str) -> None:
    with pytest.raises(TokenRejected, match=message):
        check_claims(claims(**extra), now=NOW, issuer=AS)


def test_check_claims_leeway_and_options() -> None:
    check_claims(claims(exp=NOW - 30), now=NOW)  # within the default 60 s of skew
    with pytest.raises(TokenRejected):
        check_claims(claims(exp=NOW - 30), now=NOW, leeway=0)
    assert check_claims(claims(exp=None), now=NOW, require_exp=False).expires_at is None


def test_scopes_of() -> None:
    assert scopes_of({"scope": " a  b "}) == {"a", "b"}
    assert scopes_of({"scp": ["a", 1, "c"]}) == {"a", "c"}
    assert scopes_of({"scp": "a b"}) == {"a", "b"}
    assert scopes_of({"scope": 5}) == frozenset()


# ---------------------------------------------------------------- decisions


def test_check_audience_and_expiry() -> None:
    server = rs()
    good = check_claims(claims(), now=NOW)
    assert server.check(good, now=NOW) is None
    other = check_claims(claims(aud=["https://other.example.com/mcp"]), now=NOW)
    refused = server.check(other, now=NOW)
    assert refused is not None and refused.status == 401
    assert refused.header("www-authenticate") == (
        'Bearer resource_metadata="https://mcp.example.com/.well-known/'
        'oauth-protected-resource/mcp", error="invalid_token", '
        'error_description="the token was not issued for this resource"')
    none = check_claims(claims(aud=None), now=NOW)
    assert server.check(none, now=NOW) is not None
    assert rs(require_audience=False).check(none, now=NOW) is None
    expired = server.check(good, now=NOW + 60)
    assert expired is not None and "expired" in expired.body.decode()


def test_needed_scopes_and_authorize() -> None:
    server = rs(required_scopes=["mcp:read"])
    scopes = {"write": ["files:write"], "admin": ["admin"]}
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                       "params": {"name": "write", "arguments": {}}}).encode()
    needed = server.needed_scopes(body, lambda name: scopes.get(name, ()))
    assert needed == {"mcp:read", "files:write"}
    batch = json.dumps([
        {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "write"}},
        {"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "admin"}},
        {"jsonrpc": "2.0", "method": "notifications/initialized"}]).encode()
    assert server.needed_scopes(batch, lambda name: scopes.get(name, ())) == \
        {"mcp:read", "files:write", "admin"}
    assert server.needed_scopes(b"{not json", lambda name: ["x"]) == {"mcp:read"}
    reader = Principal(subject="a", scopes=frozenset({"mcp:read"}))
    refused = server.authorize(reader, needed)
    assert refused is not None and refused.status == 403
    assert refused.header("www-authenticate") == (
        'Bearer resource_metadata="https://mcp.example.com/.well-known/'
        'oauth-protected-resource/mcp", scope="files:write mcp:read", '
        'error="insufficient_scope", error_description="this request needs scope files:write"')
    writer = Principal(subject="a", scopes=frozenset({"mcp:read", "files:write"}))
    assert server.authorize(writer, needed) is None


def test_tools_called() -> None:
    assert tools_called(b'{"method":"tools/call","params":{"name":"x"}}') == ["x"]
    assert tools_called(b'{"method":"tools/call","params":{"name":5}}') == []
    assert tools_called(b'{"method":"tools/list"}') == []
    assert tools_called(b"[1, null]") == []
    assert tools_called(b"\xff") == []


# ---------------------------------------------------------------- introspection


def test_introspection_request() -> None:
    headers, body = introspection_request("tok en", client_id="rs:1", client_secret="p@ss")
    assert body == b"token=tok+en&token_type_hint=access_token"
    auth = dict(headers)["authorization"]
    assert base64.b64decode(auth.removeprefix("Basic ")) == b"rs%3A1:p%40ss"
    headers, _ = introspection_request("t", bearer="mine")
    assert dict(headers)["authorization"] == "Bearer mine"
    headers, _ = introspection_request("t")
    assert "authorization" not in dict(headers)


def test_principal_from_introspection() -> None:
    principal = principal_from_introspection(
        {"active": True, "sub": "bob", "scope": "a", "exp": NOW + 10, "aud": RESOURCE,
         "iss": AS, "client_id": "c"}, now=NOW, issuer=AS)
    assert principal.subject == "bob" and principal.scopes == {"a"}
    assert principal.audience == (RESOURCE,)
    for answer, message in [({"active": False}, "not active"), ([], "not a JSON object"),
                            ({"active": "true"}, "not active"),
                            ({"active": True, "exp": NOW - 100}, "expired"),
                            ({"active": True, "iss": "https://x"}, "issuer")]:
        with pytest.raises(TokenRejected, match=message):
            principal_from_introspection(answer, now=NOW, issuer=AS)


# ---------------------------------------------------------------- docs/auth.md


def test_server_section_examples_run(capsys: pytest.CaptureFixture[str]) -> None:
    """docs/auth.md's "Server (resource server)" examples (```python run) run as written."""
    import re
    from pathlib import Path

    text = (Path(__file__).resolve().parents[1] / "docs" / "auth.md").read_text("utf-8")
    section = text.split("## Server (resource server)", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"^```python run[ \t]*\n(.*?)^```[ \t]*$", section,
                        re.DOTALL | re.MULTILINE)
    assert len(blocks) >= 2
    namespace: dict[str, object] = {"__name__": "docs_auth"}
    for code in blocks:
        exec(compile(code, "docs/auth.md", "exec", dont_inherit=True), namespace)
    out = capsys.readouterr().out
    assert "alice: files:read" in out and "403" in out


def test_jwt_header() -> None:
    from sansio.auth_server import jwt_header

    head = base64.urlsafe_b64encode(b'{"alg":"RS256","kid":"k"}').decode().rstrip("=")
    assert jwt_header(f"{head}.e30.sig") == {"alg": "RS256", "kid": "k"}
    for bad in ("abc", "a.b", "!!.e30.x", f"{base64.urlsafe_b64encode(b'[1]').decode()}.a.b",
                "a.b.c.d"):
        with pytest.raises(TokenRejected, match="not a JWT"):
            jwt_header(bad)
