"""A server for the command-line client tests (tests/adapter/test_cli_client.py).

Served by ``trio-mcp serve tests/adapter/scripts/cli_server.py --stdio``: tools that report
progress, log, return images, audio and embedded blobs, and elicit; a text and a blob resource;
a template with completions; a prompt with arguments.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from sansio import types as t
from trio_adapter import Context, Server

server = Server("cli-test", "1.0")

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(16))
WAV = b"RIFF\x00\x00\x00\x00WAVEfmt "
BLOB = b"\x00\x01\x02binary\xff"
USERS = ["alice", "alfred", "bob"]


@server.tool()
async def steps(count: int, ctx: Context) -> str:
    """Report progress count times, logging at debug and info on the way."""
    for i in range(1, count + 1):
        await ctx.log("debug", f"step {i}", "steps")
        await ctx.report_progress(i, count, f"step {i}")
    await ctx.log("info", {"done": count}, "steps")
    await ctx.log("warning", "no logger here")
    return f"{count} steps"


@server.tool()
async def types(a: Any = None, b: Any = None, c: Any = None) -> str:
    """Say the JSON type of each argument given."""
    given = {"a": a, "b": b, "c": c}
    return " ".join(f"{k}={type(v).__name__}" for k, v in given.items() if v is not None)


@server.tool()
async def media() -> list[Any]:
    """Return a text, an image, an audio clip and an embedded blob."""
    return [
        "here is the media",
        t.ImageContent(data=base64.b64encode(PNG).decode(), mime_type="image/png"),
        t.AudioContent(data=base64.b64encode(WAV).decode(), mime_type="audio/wav"),
        t.EmbeddedResource(resource=t.BlobResourceContents(
            uri="cli://files/../../etc/data.bin", blob=base64.b64encode(BLOB).decode(),
            mime_type="application/octet-stream")),
    ]


@server.tool()
async def ask(ctx: Context) -> str:
    """Elicit a small form and return the answer as JSON."""
    result = await ctx.elicit("Who are you?", {
        "type": "object",
        "properties": {
            "name": {"type": "string", "title": "Name"},
            "age": {"type": "integer", "minimum": 0, "default": 30},
            "member": {"type": "boolean", "description": "a member already?"},
            "color": {"type": "string", "enum": ["red", "green", "blue"], "default": "green"},
        },
        "required": ["name"],
    })
    return json.dumps({"action": result.action, "content": result.content}, sort_keys=True)


@server.resource("cli://notes.txt", mime_type="text/plain")
async def notes() -> str:
    """A text resource."""
    return "some notes\n"


@server.resource("cli://files/logo.png", mime_type="image/png")
async def logo() -> bytes:
    """A blob resource."""
    return PNG


@server.resource_template("cli://users/{name}", mime_type="text/plain")
async def user(name: str) -> str:
    """A user's card."""
    return f"user {name}"


@server.prompt()
async def greet(name: str, tone: str = "warm") -> list[t.PromptMessage]:
    """Greet someone."""
    return [
        t.PromptMessage(role="user", content=t.TextContent(text=f"Greet {name}, {tone}ly.")),
        t.PromptMessage(role="assistant", content=t.TextContent(text=f"Hello {name}!")),
    ]


@server.completion()
async def complete(ref: Any, argument: t.CompletionArgument,
                   context: t.CompletionContext | None) -> list[str]:
    """Complete user names (the template and the prompt's name argument) and tones."""
    if argument.name == "many":
        return [f"v{i}" for i in range(150)]
    if argument.name == "tone":
        return [v for v in ("warm", "cold") if v.startswith(argument.value)]
    return [u for u in USERS if u.startswith(argument.value)]
