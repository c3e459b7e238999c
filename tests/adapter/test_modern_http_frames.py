"""The HTTP layers route the engine's frames by their fields (Frame.kind, request ids, the
request a notification belongs to): neither the server core nor the client transport decodes
what its own engine encoded."""

from __future__ import annotations

import types
from typing import Any

import pytest
import trio
from test_http_adapter import build_server, sampler, serving

import sansio.http
import sansio.http_client
from sansio import Connection, Role, _codec
from trio_adapter import Client
from trio_adapter.http import StreamableHTTPTransport


@pytest.mark.parametrize("json_response", [False, True])
async def test_http_layers_never_decode_their_own_engines_frames(
        json_response: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    written: dict[Role, set[bytes]] = {Role.CLIENT: set(), Role.SERVER: set()}
    real_drain = Connection.frames_to_send

    def recording_drain(self: Connection) -> Any:
        frames = real_drain(self)
        written[self.role].update(f.data.rstrip(b"\n") for f in frames)
        return frames

    decoded: dict[str, list[bytes]] = {"server core": [], "client transport": []}

    def recording_codec(where: str) -> Any:
        def loads(data: Any) -> Any:
            if isinstance(data, (bytes, bytearray)):
                decoded[where].append(bytes(data).rstrip(b"\n"))
            return _codec.loads(data)
        # the module as the layer sees it, with every way to decode recorded (the module
        # function and the default Codec object the HTTP core takes its loads from)
        proxy = types.SimpleNamespace(**{k: v for k, v in vars(_codec).items()
                                         if not k.startswith("__")})
        proxy.loads = loads
        proxy.DEFAULT = _codec.Codec(f"recording {where}", loads, _codec.dumps)
        return proxy

    monkeypatch.setattr(Connection, "frames_to_send", recording_drain)
    monkeypatch.setattr(sansio.http, "_codec", recording_codec("server core"))
    monkeypatch.setattr(sansio.http_client, "_codec", recording_codec("client transport"))

    server = build_server()
    progress: list[float] = []

    async def on_progress(done: float, total: float | None, message: str | None) -> None:
        progress.append(done)

    async with serving(server, json_response=json_response) as info:
        transport = StreamableHTTPTransport(info.url)
        client = Client("c", "1", sampling_handler=sampler)
        async with client.connect(transport) as session:
            with trio.fail_after(10):
                result = await session.call_tool("steps", {"n": 2}, on_progress=on_progress)
                answer = await session.call_tool("ask", {"question": "why"})
    assert result.content[0].text == "stepped"  # type: ignore[union-attr]
    assert answer.content[0].text == "WHY"  # type: ignore[union-attr]
    if not json_response:
        assert progress == [1, 2]  # routed to the POST stream of its request, by its fields
    assert written[Role.SERVER] and written[Role.CLIENT]
    assert not written[Role.SERVER] & set(decoded["server core"])
    assert not written[Role.CLIENT] & set(decoded["client transport"])
