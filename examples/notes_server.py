"""A small notes server: tools, resources, a template and a prompt.

Serve it on stdio::

    trio-mcp serve examples/notes_server.py --stdio

Talk to it::

    trio-mcp inspect -- trio-mcp serve examples/notes_server.py --stdio
    trio-mcp call add_note '{"title": "trio", "body": "structured concurrency"}' \\
        -- trio-mcp serve examples/notes_server.py --stdio
"""

from __future__ import annotations

import attrs
import trio

from trio_adapter import Context, ResourceNotFound, Server, StdioTransport, ToolError


@attrs.frozen
class Note:
    """One note."""

    title: str
    body: str
    tags: list[str] = attrs.Factory(list)


server = Server("notes", "1.0", instructions="Keeps notes in memory for this session.")
NOTES: dict[str, Note] = {}


@server.tool()
async def add_note(title: str, body: str, tags: list[str] | None = None) -> Note:
    """Add (or replace) a note and return it."""
    note = Note(title=title, body=body, tags=tags or [])
    NOTES[title] = note
    server.resource_updated(f"notes://{title}")
    return note


@server.tool()
async def find_notes(word: str, ctx: Context) -> list[str]:
    """Titles of the notes that contain ``word``."""
    found = []
    for i, note in enumerate(NOTES.values(), 1):
        await ctx.report_progress(i, len(NOTES))
        if word in note.body or word in note.title:
            found.append(note.title)
    await ctx.log("info", f"{len(found)} notes match {word!r}")
    return found


@server.tool()
async def delete_note(title: str) -> str:
    """Delete a note."""
    if title not in NOTES:
        raise ToolError(f"there is no note called {title!r}")
    del NOTES[title]
    return f"deleted {title!r}"


@server.resource("notes://index", mime_type="text/plain")
async def index() -> str:
    """The titles of all notes, one per line."""
    return "\n".join(sorted(NOTES))


@server.resource_template("notes://{title}", mime_type="text/plain")
async def read_note(title: str) -> str:
    """One note's body."""
    if title not in NOTES:
        raise ResourceNotFound()  # answered with the revision's not-found error
    return NOTES[title].body


@server.prompt()
async def summarize(title: str, style: str = "one paragraph") -> str:
    """Ask the model to summarize a note."""
    note = NOTES.get(title)
    body = note.body if note else "(no such note)"
    return f"Summarize this note in {style}:\n\n{body}"


if __name__ == "__main__":
    trio.run(server.serve, StdioTransport())
