"""``trio-mcp serve --http ... --auth-*``: the endpoint served by the command line is a
protected resource (metadata, 401 with its challenge), and inconsistent options are usage
errors."""

from __future__ import annotations

import json

import pytest
import trio
from test_auth_server_http import http
from test_cli_serving import Lines, child, serving_url

from trio_adapter.cli import main

pytest.importorskip("jwt")


@pytest.mark.parametrize(("args", "message"), [
    (["--auth-issuer", "https://as.example"], "--auth-* options apply to --http"),
    (["--http", "127.0.0.1:0", "--auth-jwks", "https://as.example/jwks"],
     "--auth-issuer is required"),
    (["--http", "127.0.0.1:0", "--auth-issuer", "https://as.example"],
     "give one of --auth-jwks and --auth-introspect"),
    (["--http", "127.0.0.1:0", "--auth-issuer", "as.example", "--auth-jwks", "https://j"],
     "not an absolute"),
])
def test_usage_errors(args: list[str], message: str, capsys: pytest.CaptureFixture[str]
                      ) -> None:
    assert main(["serve", "trio_adapter.demo", *args]) == 2
    assert message in capsys.readouterr().err


async def test_serve_with_auth_flags() -> None:
    async with child("serve", "trio_adapter.demo", "--http", "127.0.0.1:0",
                     "--auth-issuer", "https://as.example", "--auth-jwks",
                     "http://127.0.0.1:1/jwks", "--auth-scope", "mcp") as proc:
        assert proc.stderr is not None
        url = await serving_url(Lines(proc.stderr))
        port = int(url.rsplit(":", 1)[1].split("/", 1)[0])
        meta = await http(port, "GET", "/.well-known/oauth-protected-resource/mcp")
        assert json.loads(meta.body)["authorization_servers"] == ["https://as.example"]
        assert json.loads(meta.body)["resource"] == url
        refused = await http(port, "POST", "/mcp", body={"jsonrpc": "2.0", "id": 1,
                                                         "method": "ping"})
        assert refused.status == 401
        assert refused.headers["www-authenticate"] == (
            f'Bearer resource_metadata="{url.rsplit("/", 1)[0]}/.well-known/'
            'oauth-protected-resource/mcp", scope="mcp"')
        proc.terminate()
        with trio.fail_after(10):
            await proc.wait()
