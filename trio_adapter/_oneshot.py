"""One HTTP/1.1 request on a fresh connection over h11, for the side requests of
authorization (OAuth discovery, registration and tokens; a verifier's JWKS and introspection):
never the MCP endpoint's own traffic, which goes through :mod:`trio_adapter._http_client`."""

from __future__ import annotations

import ssl
from collections.abc import Sequence
from urllib.parse import urlsplit

import h11
import trio


class AnswerTooLarge(Exception):
    """The answer's body passed the caller's bound (the message says which)."""


async def request_once(method: str, url: str, headers: Sequence[tuple[str, str]] = (),
                       body: bytes = b"", *, max_body: int,
                       ssl_context: ssl.SSLContext | None = None
                       ) -> tuple[int, dict[str, str], bytes]:
    """Make one request on a new connection (``connection: close``; redirects are not
    followed) and read the whole answer: ``(status, headers with lower-case names, body)``.
    The caller bounds the time (``trio.fail_after``); the body is bounded by ``max_body``.

    Raises:
        ValueError: ``url`` is not an http(s) URL.
        AnswerTooLarge: the body is longer than ``max_body`` bytes.
        OSError, trio.BrokenResourceError, h11.ProtocolError: no whole HTTP answer.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"not an http(s) URL: {url!r}")
    host = parts.hostname
    port = parts.port or (443 if parts.scheme == "https" else 80)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    hdrs = [("host", parts.netloc.rsplit("@", 1)[-1]), ("user-agent", "trio-mcp"),
            ("connection", "close"), *headers]
    if body or method == "POST":
        hdrs.append(("content-length", str(len(body))))
    conn = h11.Connection(h11.CLIENT)
    out = conn.send(h11.Request(method=method, target=target, headers=hdrs)) or b""
    if body:
        out += conn.send(h11.Data(data=body)) or b""
    out += conn.send(h11.EndOfMessage()) or b""
    stream: trio.abc.Stream = await trio.open_tcp_stream(host, port)
    try:
        if parts.scheme == "https":
            stream = trio.SSLStream(stream, ssl_context or ssl.create_default_context(),
                                    server_hostname=host)
        await stream.send_all(out)
        status, head, answer = 0, {}, bytearray()
        while True:
            event = conn.next_event()
            if event is h11.NEED_DATA:
                conn.receive_data(bytes(await stream.receive_some(65536)))
            elif isinstance(event, h11.Response):
                status = event.status_code
                head = {k.decode().lower(): v.decode("latin-1") for k, v in event.headers}
            elif isinstance(event, h11.Data):
                answer += event.data
                if len(answer) > max_body:
                    raise AnswerTooLarge(f"the answer from {url} is larger than "
                                         f"{max_body} bytes")
            elif isinstance(event, (h11.EndOfMessage, h11.ConnectionClosed)):
                break
    finally:
        await trio.aclose_forcefully(stream)
    return status, head, bytes(answer)
