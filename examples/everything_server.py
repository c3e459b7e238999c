"""Every tool, resource, template, prompt and completion the official conformance suite calls.

    trio-mcp serve examples/everything_server.py --http 127.0.0.1:8000

The names and the expected results are the harness's (``@modelcontextprotocol/conformance``);
see ``scripts/conformance.sh`` and ``docs/conformance.md``.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import trio

from sansio import types as t
from trio_adapter import Context, MCPError, Server, ToolError
from trio_adapter.server import InputRequest

# A 1x1 red pixel PNG, and a minimal (silent, 1-sample) 8-bit mono WAV.
RED_PIXEL_PNG = (
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5"
    "ErkJggg==")
TINY_WAV = base64.b64encode(
    b"RIFF%\x00\x00\x00WAVEfmt \x10\x00\x00\x00\x01\x00\x01\x00@\x1f\x00\x00@\x1f\x00\x00"
    b"\x01\x00\x08\x00data\x01\x00\x00\x00\x80").decode()

JSON_SCHEMA_2020_12 = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "$defs": {"address": {"$anchor": "addressDef", "type": "object", "properties": {
        "street": {"type": "string"}, "city": {"type": "string"}}}},
    "properties": {
        "name": {"type": "string"},
        "address": {"$ref": "#/$defs/address"},
        "contactMethod": {"type": "string", "enum": ["phone", "email"]},
        "phone": {"type": "string"},
        "email": {"type": "string"},
    },
    "allOf": [{"anyOf": [{"required": ["phone"]}, {"required": ["email"]}]}],
    "if": {"properties": {"contactMethod": {"const": "phone"}}, "required": ["contactMethod"]},
    "then": {"required": ["phone"]},
    "else": {"required": ["email"]},
    "additionalProperties": False,
}

server = Server("trio-mcp-everything", "1.0",
                instructions="The trio-mcp server for the MCP conformance suite.")


# ---------------------------------------------------------------- tools


@server.tool(structured_output=False)
async def test_simple_text() -> str:
    """Return simple text."""
    return "This is a simple text response for testing."


@server.tool()
async def test_image_content() -> t.ImageContent:
    """Return an image."""
    return t.ImageContent(data=RED_PIXEL_PNG, mime_type="image/png")


@server.tool()
async def test_audio_content() -> t.AudioContent:
    """Return audio."""
    return t.AudioContent(data=TINY_WAV, mime_type="audio/wav")


@server.tool()
async def test_embedded_resource() -> t.EmbeddedResource:
    """Return an embedded resource."""
    return t.EmbeddedResource(resource=t.TextResourceContents(
        uri="test://embedded-resource", mime_type="text/plain",
        text="This is an embedded resource content."))


@server.tool()
async def test_multiple_content_types() -> list[Any]:
    """Return text, an image and an embedded resource."""
    return [
        t.TextContent(text="Multiple content types test:"),
        t.ImageContent(data=RED_PIXEL_PNG, mime_type="image/png"),
        t.EmbeddedResource(resource=t.TextResourceContents(
            uri="test://mixed-content-resource", mime_type="application/json",
            text=json.dumps({"test": "data", "value": 123}))),
    ]


@server.tool(structured_output=False)
async def test_tool_with_logging(ctx: Context) -> str:
    """Send three log messages while running."""
    await ctx.log("info", "Tool execution started")
    await trio.sleep(0.05)
    await ctx.log("info", "Tool processing data")
    await trio.sleep(0.05)
    await ctx.log("info", "Tool execution completed")
    return "Tool with logging executed successfully"


@server.tool(structured_output=False)
async def test_tool_with_progress(ctx: Context) -> str:
    """Report progress 0, 50, 100 of 100."""
    for done in (0, 50, 100):
        await ctx.report_progress(done, 100)
        if done < 100:
            await trio.sleep(0.05)
    return "Tool with progress executed successfully"


@server.tool(structured_output=False)
async def test_error_handling() -> str:
    """Always fail."""
    raise ToolError("This tool intentionally returns an error for testing")


@server.tool(structured_output=False)
async def test_sampling(prompt: str, ctx: Context) -> str:
    """Ask the client's LLM."""
    if "sampling" not in ctx.client_capabilities:
        raise ToolError("the client does not support sampling")
    result = await ctx.sample(
        [t.SamplingMessage(role="user", content=t.TextContent(text=prompt))], max_tokens=100)
    content = result.content
    text = content.text if isinstance(content, t.TextContent) else json.dumps(
        t.unstructure(content))
    return f"LLM response: {text}"


@server.tool(structured_output=False)
async def test_elicitation(message: str, ctx: Context) -> str:
    """Ask the user for a username and an email."""
    if "elicitation" not in ctx.client_capabilities:
        raise ToolError("the client does not support elicitation")
    result = await ctx.elicit(message, {
        "type": "object",
        "properties": {
            "username": {"type": "string", "description": "User's response"},
            "email": {"type": "string", "description": "User's email address"},
        },
        "required": ["username", "email"],
    })
    return f"User response: <action: {result.action}, content: {json.dumps(result.content)}>"


@server.tool(structured_output=False)
async def test_elicitation_sep1034_defaults(ctx: Context) -> str:
    """Elicit a form whose fields all have defaults (SEP-1034)."""
    result = await ctx.elicit("Please review and update the form fields with defaults", {
        "type": "object",
        "properties": {
            "name": {"type": "string", "description": "User name", "default": "John Doe"},
            "age": {"type": "integer", "description": "User age", "default": 30},
            "score": {"type": "number", "description": "User score", "default": 95.5},
            "status": {"type": "string", "description": "User status",
                       "enum": ["active", "inactive", "pending"], "default": "active"},
            "verified": {"type": "boolean", "description": "Verification status",
                         "default": True},
        },
    })
    return (f"Elicitation completed: action={result.action}, "
            f"content={json.dumps(result.content)}")


@server.tool(structured_output=False)
async def test_elicitation_sep1330_enums(ctx: Context) -> str:
    """Elicit a form with every kind of enum (SEP-1330)."""
    result = await ctx.elicit("Please select options from the enum fields", {
        "type": "object",
        "properties": {
            "untitledSingle": {"type": "string", "description": "Untitled single-select",
                               "enum": ["option1", "option2", "option3"]},
            "titledSingle": {"type": "string", "description": "Titled single-select",
                             "oneOf": [{"const": "value1", "title": "First Option"},
                                       {"const": "value2", "title": "Second Option"},
                                       {"const": "value3", "title": "Third Option"}]},
            "legacyEnum": {"type": "string", "description": "Legacy titled enum",
                           "enum": ["opt1", "opt2", "opt3"],
                           "enumNames": ["Option One", "Option Two", "Option Three"]},
            "untitledMulti": {"type": "array", "description": "Untitled multi-select",
                              "items": {"type": "string",
                                        "enum": ["option1", "option2", "option3"]}},
            "titledMulti": {"type": "array", "description": "Titled multi-select",
                            "items": {"anyOf": [
                                {"const": "value1", "title": "First Choice"},
                                {"const": "value2", "title": "Second Choice"},
                                {"const": "value3", "title": "Third Choice"}]}},
        },
    })
    return (f"Elicitation completed: action={result.action}, "
            f"content={json.dumps(result.content)}")


@server.tool(description="Tool with JSON Schema 2020-12 features",
             input_schema=JSON_SCHEMA_2020_12, structured_output=False)
async def json_schema_2020_12_tool(**arguments: Any) -> str:
    return f"Received: {json.dumps(arguments, sort_keys=True)}"


@server.tool(description="Echo a parameter that 2026-07-28 clients mirror in the "
             "Mcp-Param-Region header", structured_output=False,
             input_schema={"type": "object", "properties": {
                 "region": {"type": "string", "x-mcp-header": "Region"},
                 "query": {"type": "string"}}, "required": ["region"]})
async def test_header_mirroring(region: str, query: str = "") -> str:
    return f"{region}: {query}"


@server.tool(structured_output=False)
async def test_reconnection() -> str:
    """A call that takes a moment (the harness may resume its stream)."""
    await trio.sleep(0.1)
    return "Reconnection test completed successfully"


# ---------------------------------------------------------------- 2026-07-28 fixtures
# Multi round-trip requests: in 2026-07-28 each ctx.elicit / ctx.sample / ctx.list_roots /
# ctx.ask answers the call with an InputRequiredResult; the client's retry runs the tool again
# with the answers (the same code asks a handshake-era client with real requests).

NAME_SCHEMA = {"type": "object", "properties": {"name": {"type": "string"}},
               "required": ["name"]}


def _text(result: t.CreateMessageResult) -> str:
    content = result.content
    return content.text if isinstance(content, t.TextContent) else json.dumps(
        t.unstructure(content))


def _accepted(result: t.ElicitResult, field: str) -> Any:
    return (result.content or {}).get(field) if result.action == "accept" else None


@server.tool(structured_output=False)
async def test_input_required_result_elicitation(ctx: Context) -> str:
    """Ask the user's name (one elicitation), then greet them."""
    answer = await ctx.elicit("What is your name?", NAME_SCHEMA, key="user_name")
    return f"Hello, {_accepted(answer, 'name') or 'stranger'}!"


@server.tool(structured_output=False)
async def test_input_required_result_sampling(ctx: Context) -> str:
    """Ask the client's LLM one question."""
    result = await ctx.sample([{"role": "user", "content": {
        "type": "text", "text": "What is the capital of France?"}}], 100,
        key="capital_question")
    return f"LLM response: {_text(result)}"


@server.tool(structured_output=False)
async def test_input_required_result_list_roots(ctx: Context) -> str:
    """Ask the client for its roots."""
    roots = await ctx.list_roots(key="client_roots")
    return "Roots: " + ", ".join(str(root.uri) for root in roots)


@server.tool(structured_output=False)
async def test_input_required_result_request_state(ctx: Context) -> str:
    """One confirmation; the answer arrives with the sealed requestState, checked."""
    answer = await ctx.elicit("Please confirm", {
        "type": "object", "properties": {"ok": {"type": "boolean"}}, "required": ["ok"]},
        key="confirm")
    return f"state-ok: confirmed={_accepted(answer, 'ok')}"


@server.tool(structured_output=False)
async def test_input_required_result_multiple_inputs(ctx: Context) -> str:
    """Three input requests in one round: a name, a greeting from the LLM, the roots."""
    name, greeting, roots = await ctx.ask(
        InputRequest.elicitation("What is your name?", NAME_SCHEMA, key="user_name"),
        InputRequest.sampling([{"role": "user", "content": {
            "type": "text", "text": "Generate a greeting"}}], 50, key="greeting"),
        InputRequest.roots(key="client_roots"))
    return (f"{_text(greeting)} {_accepted(name, 'name')} "
            f"({len(roots)} root{'s' if len(roots) != 1 else ''})")


@server.tool(structured_output=False)
async def test_input_required_result_multi_round(ctx: Context) -> str:
    """Two rounds: the name, then the favourite colour."""
    name = await ctx.elicit("Step 1: What is your name?", NAME_SCHEMA, key="step1")
    color = await ctx.elicit("Step 2: What is your favorite color?", {
        "type": "object", "properties": {"color": {"type": "string"}}, "required": ["color"]},
        key="step2")
    return f"{_accepted(name, 'name')} likes {_accepted(color, 'color')}"


@server.tool(structured_output=False)
async def test_input_required_result_tampered_state(ctx: Context) -> str:
    """A confirmation whose requestState is HMAC-sealed (a tampered one is -32602)."""
    answer = await ctx.elicit("Please confirm", {
        "type": "object", "properties": {"ok": {"type": "boolean"}}, "required": ["ok"]},
        key="confirm")
    return f"confirmed={_accepted(answer, 'ok')}"


@server.tool(structured_output=False)
async def test_input_required_result_capabilities(ctx: Context) -> str:
    """Ask only for what this request's client declared."""
    caps = ctx.client_capabilities
    asks = []
    if "sampling" in caps:
        asks.append(InputRequest.sampling([{"role": "user", "content": {
            "type": "text", "text": "Say hello"}}], 20, key="sample"))
    if "elicitation" in caps:
        asks.append(InputRequest.elicitation("What is your name?", NAME_SCHEMA, key="name"))
    if "roots" in caps:
        asks.append(InputRequest.roots(key="roots"))
    answers = await ctx.ask(*asks)
    return f"{len(answers)} answers"


@server.tool(structured_output=False)
async def test_missing_capability(ctx: Context) -> str:
    """Needs sampling whatever the client declared (undeclared: -32021)."""
    result = await ctx.sample([{"role": "user", "content": {"type": "text", "text": "hi"}}],
                              10)
    return _text(result)


@server.tool(structured_output=False)
async def test_streaming_elicitation(ctx: Context) -> str:
    """Report progress, then ask for input: the answer's stream carries no request."""
    await ctx.report_progress(0, 1)
    answer = await ctx.elicit("What is your name?", NAME_SCHEMA, key="user_name")
    return f"Hello, {_accepted(answer, 'name')}!"


@server.tool(structured_output=False)
async def test_logging_tool(ctx: Context) -> str:
    """Log (only a request that asked for a log level gets the messages)."""
    await ctx.log("info", "logging tool running")
    return "logged"


def _dynamic() -> str:
    """Registered for a moment by the test_trigger_* tools."""
    return "dynamic"


@server.tool(structured_output=False)
async def test_trigger_tool_change() -> str:
    """Add a tool and take it away again: listen streams that asked get
    notifications/tools/list_changed (the list ends as it was)."""
    server.add_tool(_dynamic, "test_dynamic_tool", blocking=False)
    server.remove_tool("test_dynamic_tool")
    return "tool list changed"


@server.tool(structured_output=False)
async def test_trigger_prompt_change() -> str:
    """Add a prompt and take it away again: listen streams that asked get
    notifications/prompts/list_changed."""
    server.add_prompt(_dynamic, "test_dynamic_prompt", blocking=False)
    server.remove_prompt("test_dynamic_prompt")
    return "prompt list changed"


# ---------------------------------------------------------------- tasks (the extension)


@server.tool(structured_output=False)
async def greet(name: str) -> str:
    """Greet someone (never a task)."""
    return f"Hello, {name}!"


@server.tool(structured_output=False, task_support="optional")
async def slow_compute(seconds: float = 1.0, label: str = "") -> str:
    """Sleep ``seconds`` seconds, then answer (a task when the client declares tasks)."""
    await trio.sleep(max(0.0, min(float(seconds), 600.0)))
    return f"computed {label or 'result'} after {seconds:g}s"


@server.tool(structured_output=False, task_support="required")
async def failing_job() -> str:
    """Always a task; fails after about a second with a tool execution error."""
    await trio.sleep(1.0)
    raise ToolError("failing_job failed, as it always does")


@server.tool(structured_output=False, task_support="required")
async def protocol_error_job() -> str:
    """Always a task; ends in a JSON-RPC (protocol) error: the task is failed."""
    await trio.sleep(0.1)
    raise MCPError(-32603, "protocol_error_job hit an internal error")


@server.tool(structured_output=False, task_support="required")
async def confirm_delete(ctx: Context, filename: str = "file.txt") -> str:
    """Always a task; asks the user to confirm (the task is input_required meanwhile)."""
    answer = await ctx.elicit(f"Delete {filename}?", CONFIRM_SCHEMA)
    if answer.action == "accept" and (answer.content or {}).get("confirm"):
        return f"deleted {filename}"
    return f"kept {filename}"


@server.tool(structured_output=False, task_support="required")
async def multi_input(ctx: Context) -> str:
    """Always a task; asks two questions at once (two input requests pending together)."""
    answers: list[t.ElicitResult] = []

    async def ask(question: str) -> None:
        answers.append(await ctx.elicit(question, NAME_CONFIRM_SCHEMA))

    async with trio.open_nursery() as nursery:
        nursery.start_soon(ask, "First answer?")
        nursery.start_soon(ask, "Second answer?")
    names = [str((a.content or {}).get("name", "")) for a in answers]
    return "got " + ", ".join(names)


@server.tool(structured_output=False, task_support="optional", defer_task=True)
async def test_tool_with_task(ctx: Context) -> str:
    """Ask the user's name first (input_required rounds), then run on as a task."""
    answer = await ctx.elicit("What is your name?", NAME_SCHEMA, key="user_name")
    await ctx.begin_task()
    await trio.sleep(0.1)
    return f"Hello, {_accepted(answer, 'name') or 'stranger'}, from a task!"


CONFIRM_SCHEMA = {"type": "object", "properties": {"confirm": {"type": "boolean"}},
                  "required": ["confirm"]}
NAME_CONFIRM_SCHEMA = {"type": "object", "properties": {
    "name": {"type": "string"}, "confirm": {"type": "boolean"}}}


# ---------------------------------------------------------------- resources


@server.resource("test://static-text", name="static-text", mime_type="text/plain",
                 description="A static text resource")
async def static_text() -> str:
    return "This is the content of the static text resource."


@server.resource("test://static-binary", name="static-binary", mime_type="image/png",
                 description="A static binary resource (a PNG image)")
async def static_binary() -> bytes:
    return base64.b64decode(RED_PIXEL_PNG)


@server.resource("test://watched-resource", name="watched-resource", mime_type="text/plain",
                 description="A resource clients can subscribe to")
async def watched() -> str:
    return "Watched resource content"


@server.resource_template("test://template/{id}/data", name="template-data",
                          mime_type="application/json",
                          description="Data for an id, from a template")
async def template_data(id: str) -> str:
    return json.dumps({"id": id, "templateTest": True, "data": f"Data for ID: {id}"},
                      separators=(",", ":"))


# ---------------------------------------------------------------- prompts


@server.prompt()
async def test_simple_prompt() -> str:
    """A prompt without arguments."""
    return "This is a simple prompt for testing."


@server.prompt(arguments={"arg1": "First test argument", "arg2": "Second test argument"})
async def test_prompt_with_arguments(arg1: str, arg2: str) -> str:
    """A prompt with two required arguments."""
    return f"Prompt with arguments: arg1='{arg1}', arg2='{arg2}'"


@server.prompt(arguments={"resourceUri": "URI of the resource to embed"})
async def test_prompt_with_embedded_resource(resourceUri: str) -> list[Any]:
    """A prompt that embeds a resource."""
    return [
        t.PromptMessage(role="user", content=t.EmbeddedResource(resource=t.TextResourceContents(
            uri=resourceUri, mime_type="text/plain",
            text="Embedded resource content for testing."))),
        "Please process the embedded resource above.",
    ]


@server.prompt()
async def test_prompt_with_image() -> list[Any]:
    """A prompt with an image."""
    return [
        t.PromptMessage(role="user", content=t.ImageContent(data=RED_PIXEL_PNG,
                                                             mime_type="image/png")),
        "Please analyze the image above.",
    ]


# ---------------------------------------------------------------- completion

@server.prompt()
async def test_input_required_result_prompt(ctx: Context) -> str:
    """A prompt that asks the user for its context first."""
    answer = await ctx.elicit("What context should the prompt use?", {
        "type": "object", "properties": {"context": {"type": "string"}},
        "required": ["context"]}, key="user_context")
    return f"Use this context: {_accepted(answer, 'context')}"


_CITIES = ["paris", "park", "party", "pasta", "berlin", "tokyo"]


@server.completion()
async def complete(ref: Any, argument: t.CompletionArgument,
                   context: t.CompletionContext | None) -> list[str]:
    return [c for c in _CITIES if c.startswith(argument.value.lower())]
