"""The ``trio-mcp`` client commands: progress and logs, read, prompt, complete, key=value
arguments, ``--save DIR`` and the terminal form that answers elicitation.

Most tests run ``main([...])`` in this process against ``scripts/cli_server.py`` served by
``trio-mcp serve FILE --stdio`` in a child process; a few run the whole CLI as a subprocess.
"""

from __future__ import annotations

import io
import json
import math
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import trio

from sansio import types as t
from trio_adapter import _cli_client
from trio_adapter._cli_client import (
    FormPrompter,
    Saver,
    StatusLine,
    format_log,
    format_progress,
    parse_arguments,
)
from trio_adapter.cli import CLIError, main

ROOT = Path(__file__).resolve().parents[2]
PY = sys.executable
SERVER = str(Path(__file__).resolve().parent / "scripts" / "cli_server.py")
TARGET = ["--timeout", "30", "--", PY, "-m", "trio_adapter", "serve", SERVER, "--stdio"]
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(16))


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    status = main([*args, *TARGET])
    out, err = capsys.readouterr()
    return status, out, err


def cli(*args: str, stdin: Any = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([PY, "-m", "trio_adapter", *args, *TARGET], cwd=ROOT,
                          capture_output=True, text=True, timeout=60, check=False, stdin=stdin)


def one_line_error(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("trio-mcp: error: ")
    return lines[0].removeprefix("trio-mcp: error: ")


def sent_frames(trace: str) -> list[dict[str, Any]]:
    """The frames a ``--trace`` shows the client sending."""
    return [json.loads(line.split("client -> ", 1)[1]) for line in trace.splitlines()
            if "client -> " in line]


@pytest.fixture
def terminal(monkeypatch: pytest.MonkeyPatch) -> Iterator[set[str]]:
    """Which of ``stdin``/``stderr`` the CLI takes for terminals (none unless added)."""
    ttys: set[str] = set()

    def is_terminal(stream: Any) -> bool:
        return any(stream is getattr(sys, name) for name in ttys)

    monkeypatch.setattr(_cli_client, "is_terminal", is_terminal)
    yield ttys


# ---------------------------------------------------------------- key=value arguments


def test_key_value_pairs_parse_as_json_when_they_can() -> None:
    assert parse_arguments(["a=1", "b=true", 'c="7"', "d=plain text", "e={\"x\": [1]}",
                            "f=", "g=a=b", "h=null", "i=1.5"]) == {
        "a": 1, "b": True, "c": "7", "d": "plain text", "e": {"x": [1]}, "f": "", "g": "a=b",
        "h": None, "i": 1.5}


def test_prompt_pairs_are_strings() -> None:
    assert parse_arguments(["n=1", "b=true", 's="q"'], strings=True) == {
        "n": "1", "b": "true", "s": '"q"'}
    assert parse_arguments(['{"n": "1"}'], strings=True) == {"n": "1"}


def test_one_json_object_is_taken_whole() -> None:
    assert parse_arguments(['{"text": "a=b"}']) == {"text": "a=b"}
    assert parse_arguments([]) is None


@pytest.mark.parametrize(("items", "message"), [
    (['{"a": 1}', "b=2"], "either as one JSON object or as key=value pairs, not both"),
    (["a=1", "oops"], "expected key=value, got 'oops'"),
    (["=1"], "expected key=value, got '=1'"),
    (["a=1", "a=2"], "argument 'a' is given twice"),
    (['{"a":'], "the arguments are not valid JSON"),
    (["[1, 2]"], "the arguments must be a JSON object"),
])
def test_bad_arguments_are_usage_errors(items: list[str], message: str) -> None:
    with pytest.raises(CLIError, match=message.replace("[", r"\[")) as info:
        parse_arguments(items)
    assert info.value.status == 2


def test_prompt_json_values_must_be_strings() -> None:
    with pytest.raises(CLIError, match="prompt arguments are strings, but 'n' is a number"):
        parse_arguments(['{"n": 1}'], strings=True)


def test_call_with_key_value_pairs(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run(capsys, "call", "types", "a=1", "b=true", 'c="7"')
    assert (status, out) == (0, "a=int b=bool c=str\n"), err


def test_bad_pair_exits_2_with_one_line_before_starting_the_server(
        capsys: pytest.CaptureFixture[str]) -> None:
    status = main(["call", "types", "a=1", "nonsense", "--", "/nonexistent/server"])
    assert status == 2
    assert one_line_error(capsys.readouterr().err) == "expected key=value, got 'nonsense'"
    status = main(["call", "types", '{"a": 1}', "b=2", "--", "/nonexistent/server"])
    assert status == 2
    assert "not both" in one_line_error(capsys.readouterr().err)


# ---------------------------------------------------------------- progress and logs


def test_progress_is_quiet_when_stderr_is_not_a_terminal(
        capsys: pytest.CaptureFixture[str], terminal: set[str]) -> None:
    status, out, err = run(capsys, "call", "steps", "count=3")
    assert (status, out, err) == (0, "3 steps\n", "")


def test_progress_line_on_a_terminal_is_redrawn_and_cleared(
        capsys: pytest.CaptureFixture[str], terminal: set[str]) -> None:
    terminal.add("stderr")
    status, out, err = run(capsys, "call", "steps", "count=4")
    assert (status, out) == (0, "4 steps\n")
    assert err.startswith("\r[#####---------------]  25% 1/4 step 1\x1b[K")
    assert "\r[##########----------]  50% 2/4 step 2\x1b[K" in err
    assert "\r[####################] 100% 4/4 step 4\x1b[K" in err
    assert err.endswith("\r\x1b[K")  # erased before the result is printed
    assert "\n" not in err


def test_log_level_shows_the_server_log_lines(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run(capsys, "call", "steps", "count=2", "--log-level", "debug")
    assert (status, out) == (0, "2 steps\n")
    assert err.splitlines() == ["[debug] steps: step 1", "[debug] steps: step 2",
                                '[info] steps: {"done":2}', "[warning] no logger here"]


def test_log_level_is_sent_to_the_server(capsys: pytest.CaptureFixture[str]) -> None:
    status, _, err = run(capsys, "call", "steps", "count=2", "--log-level", "info", "--trace",
                         "--era", "legacy")
    assert status == 0
    frames = sent_frames(err)
    assert {"method": "logging/setLevel", "params": {"level": "info"}} in [
        {k: f[k] for k in ("method", "params")} for f in frames if "params" in f]
    logs = [line for line in err.splitlines() if line.startswith("[")]
    assert logs == ['[info] steps: {"done":2}', "[warning] no logger here"]
    call = next(f for f in frames if f.get("method") == "tools/call")
    assert "progressToken" in call["params"]["_meta"]


def test_log_level_rides_on_each_request_in_the_modern_era(
        capsys: pytest.CaptureFixture[str]) -> None:
    status, _, err = run(capsys, "call", "steps", "count=2", "--log-level", "info", "--trace")
    assert status == 0
    frames = sent_frames(err)
    assert not [f for f in frames if f.get("method") == "logging/setLevel"]  # removed there
    call = next(f for f in frames if f.get("method") == "tools/call")
    assert call["params"]["_meta"]["io.modelcontextprotocol/logLevel"] == "info"
    logs = [line for line in err.splitlines() if line.startswith("[")]
    assert logs == ['[info] steps: {"done":2}', "[warning] no logger here"]


def test_without_log_level_no_log_lines(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run(capsys, "call", "steps", "count=2")
    assert (status, out, err) == (0, "2 steps\n", "")


def test_a_log_line_keeps_the_progress_line_below_it() -> None:
    stream = io.StringIO()
    status = StatusLine(stream, terminal=True, width=40)

    async def main_() -> None:
        await status.progress(1, None, "working")
        status.line("[info] hello")
        status.clear()

    trio.run(main_)
    assert stream.getvalue() == ("\r1 working\x1b[K" "\r\x1b[K[info] hello\n1 working\x1b[K"
                                 "\r\x1b[K")


def test_progress_and_log_formats() -> None:
    assert format_progress(3, None, None) == "3"
    assert format_progress(1, 3, "a\nb") == "[######--------------]  33% 1/3 a b"
    long = format_progress(5, 10, "x" * 100, width=40)
    assert len(long) == 40 and long.endswith("…")
    params = t.LoggingMessageNotificationParams(level="error", data="two\nlines", logger="db")
    assert format_log(params) == "[error] db: two\\nlines"
    assert format_log(t.LoggingMessageNotificationParams(level="info", data=[1, None])) == \
        "[info] [1,null]"


# ---------------------------------------------------------------- read, prompt, complete


def test_read_prints_text(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "read", "cli://notes.txt") == (0, "some notes\n", "")
    assert run(capsys, "read", "cli://users/ann") == (0, "user ann\n", "")


def test_read_does_not_dump_a_blob(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "read", "cli://files/logo.png") == (0, "<blob 24 bytes, image/png>\n", "")


def test_read_json(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, "read", "cli://files/logo.png", "--json")
    assert status == 0
    assert json.loads(out)["contents"][0]["mimeType"] == "image/png"


def test_read_unknown_resource_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    status, _, err = run(capsys, "read", "cli://nowhere")
    assert status == 1
    assert "resource not found: cli://nowhere" in one_line_error(err)


def test_prompt_prints_role_and_text(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run(capsys, "prompt", "greet", "name=Ann", "tone=cold")
    assert (status, out) == (0, "user: Greet Ann, coldly.\nassistant: Hello Ann!\n"), err
    status, out, err = run(capsys, "prompt", "greet", '{"name": "Bo"}')
    assert (status, out) == (0, "user: Greet Bo, warmly.\nassistant: Hello Bo!\n"), err


def test_prompt_json_and_missing_argument(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, "prompt", "greet", "name=1", "--json")
    assert status == 0
    assert json.loads(out)["messages"][1]["content"]["text"] == "Hello 1!"
    status, _, err = run(capsys, "prompt", "greet")
    assert status == 1
    assert "missing required arguments: name" in one_line_error(err)


def test_complete_a_template_variable(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "complete", "--resource", "cli://users/{name}", "name", "al") == (
        0, "alice\nalfred\n", "")


def test_complete_a_prompt_argument(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "complete", "--prompt", "greet", "tone", "--context", "name=Ann") == (
        0, "warm\ncold\n", "")
    status, out, _ = run(capsys, "complete", "--prompt", "greet", "name", "b", "--json")
    assert status == 0
    assert json.loads(out) == {"completion": {"values": ["bob"], "total": 1,
                                              "hasMore": False}}


def test_complete_says_when_the_server_has_more(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run(capsys, "complete", "--prompt", "greet", "many")
    assert status == 0
    assert out.splitlines() == [f"v{i}" for i in range(100)]
    assert err == "trio-mcp: 100 of 150 shown; the server has more\n"


def test_complete_needs_a_reference(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["complete", "name", "x", "--", "true"])
    assert info.value.code == 2
    capsys.readouterr()
    assert main(["complete", "--prompt", "p", "a", "--context", "oops", "--", "true"]) == 2
    assert one_line_error(capsys.readouterr().err) == "expected key=value, got 'oops'"


def test_complete_without_the_capability_is_one_line(
        capsys: pytest.CaptureFixture[str]) -> None:
    status = main(["complete", "--prompt", "review", "code", "--timeout", "30", "--", PY, "-m",
                   "trio_adapter", "serve", "trio_adapter.demo", "--stdio"])
    assert status == 1
    assert one_line_error(capsys.readouterr().err) == "the server does not offer completions"


# ---------------------------------------------------------------- --save


def test_call_without_save_describes_binary_contents(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, "call", "media")
    assert status == 0
    assert out.splitlines() == ["here is the media", "[image: image/png, 24 bytes]",
                                "[audio: audio/wav, 16 bytes]", "<blob 10 bytes, "
                                "application/octet-stream>"]


def test_call_save_writes_the_files_and_prints_their_paths(
        capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    out_dir = tmp_path / "new" / "dir"
    status, out, err = run(capsys, "call", "media", "--save", str(out_dir))
    assert status == 0, err
    lines = out.splitlines()
    assert lines == ["here is the media", str(out_dir / "image-1.png"),
                     str(out_dir / "audio-1.wav"), str(out_dir / "data.bin")]
    assert (out_dir / "image-1.png").read_bytes() == PNG
    assert (out_dir / "audio-1.wav").read_bytes().startswith(b"RIFF")
    assert (out_dir / "data.bin").read_bytes() == b"\x00\x01\x02binary\xff"
    # Again: nothing is overwritten, a suffix is added.
    status, out, err = run(capsys, "call", "media", "--save", str(out_dir))
    assert out.splitlines()[1:] == [str(out_dir / "image-1-2.png"),
                                    str(out_dir / "audio-1-2.wav"), str(out_dir / "data-2.bin")]
    assert sorted(p.name for p in out_dir.iterdir()) == [
        "audio-1-2.wav", "audio-1.wav", "data-2.bin", "data.bin", "image-1-2.png",
        "image-1.png"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["new"]  # nothing outside DIR


def test_call_save_with_json_lists_the_paths_on_stderr(
        capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    status, out, err = run(capsys, "call", "media", "--json", "--save", str(tmp_path))
    assert status == 0
    assert json.loads(out)["content"][1]["type"] == "image"
    assert err.splitlines() == [f"trio-mcp: saved {tmp_path / name}"
                                for name in ("image-1.png", "audio-1.wav", "data.bin")]


def test_read_save_names_the_file_after_the_uri(
        capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    status, out, _ = run(capsys, "read", "cli://files/logo.png", "--save", str(tmp_path))
    assert (status, out) == (0, f"{tmp_path / 'logo.png'}\n")
    assert (tmp_path / "logo.png").read_bytes() == PNG


@pytest.mark.parametrize(("uri", "mime", "name"), [
    ("file:///a/b/report.pdf", "application/pdf", "report.pdf"),
    ("x://h/../../../etc/passwd", None, "passwd.bin"),
    ("x://h/..", "image/png", "resource-1.png"),
    ("x://h/", "image/png", "resource-1.png"),
    ("x://h/a%2F..%2Fb c.txt", "text/plain", "a_.._b_c.txt"),
    ("x://h/.hidden", "text/plain", "hidden.txt"),
])
def test_saved_names_stay_inside_the_directory(tmp_path: Path, uri: str, mime: str | None,
                                               name: str) -> None:
    path = Saver(tmp_path).save("resource", b"x", mime, uri)
    assert path == tmp_path / name
    assert path.parent == tmp_path


def test_save_into_a_file_is_one_line(capsys: pytest.CaptureFixture[str],
                                      tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    status, _, err = run(capsys, "call", "media", "--save", str(blocker))
    assert status == 1
    assert one_line_error(err).startswith(f"cannot save to {blocker}: ")


# ---------------------------------------------------------------- elicitation


def answers(*lines: str | None) -> tuple[Any, list[str]]:
    """An ``ask`` that returns ``lines`` in turn (``None`` is Ctrl-D), and what it showed."""
    shown: list[str] = []
    queue = list(lines)

    def ask(prompt: str) -> str | None:
        shown.append(prompt)
        assert queue, f"asked one question too many: {prompt!r}"
        return queue.pop(0)

    return ask, shown


FORM = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "title": "Name", "minLength": 2},
        "age": {"type": "integer", "minimum": 0, "maximum": 150, "default": 30},
        "height": {"type": "number"},
        "member": {"type": "boolean", "description": "a member already?"},
        "color": {"type": "string", "oneOf": [{"const": "r", "title": "Red"},
                                               {"const": "g", "title": "Green"}]},
        "tags": {"type": "array", "items": {"enum": ["a", "b", "c"]}, "maxItems": 2},
    },
    "required": ["name", "member"],
}


def test_form_asks_every_field_with_defaults_and_retries() -> None:
    ask, shown = answers("", "", "x", "Ann", "", "1.5", "maybe", "yes", "green", "c, 1, c")
    said: list[str] = []
    result = FormPrompter(ask, said.append).run("Who?", FORM)
    assert result == {"action": "accept", "content": {
        "name": "Ann", "age": 30, "height": 1.5, "member": True, "color": "g",
        "tags": ["c", "a"]}}
    assert shown == [
        "answer? [Y]es, [n]o (decline), [c]ancel: ",
        "  Name [text, required]: ", "  Name [text, required]: ", "  Name [text, required]: ",
        "  age [integer 0..150] (default 30): ",
        "  height [number]: ",
        "  member - a member already? [y/n, required]: ",
        "  member - a member already? [y/n, required]: ",
        "  color [one of 1) Red (r) 2) Green (g)]: ",
        "  tags [any of 1) a 2) b 3) c; comma-separated]: ",
    ]
    assert said == ["trio-mcp: the server asks: Who?", "  a value is required",
                    "  at least 2 characters", "  answer y or n"]


def test_form_leaves_out_empty_optional_fields() -> None:
    ask, _ = answers("y", "Bo", "", "", "n", "", "")
    result = FormPrompter(ask, lambda _: None).run("Who?", FORM)
    assert result == {"action": "accept", "content": {"name": "Bo", "age": 30,
                                                      "member": False}}


@pytest.mark.parametrize(("lines", "bad"), [
    (["", "Bo", "-1", "20", ""], "at least 0"),
    (["", "Bo", "2.5", "20", ""], "not an integer: '2.5'"),
    (["", "Bo", "20", "inf", "1"], "not a finite number: 'inf'"),
])
def test_form_numbers_are_checked(lines: list[str], bad: str) -> None:
    ask, _ = answers(*lines, "n", "", "")
    said: list[str] = []
    result = FormPrompter(ask, said.append).run("Who?", FORM)
    assert result["action"] == "accept"
    assert f"  {bad}" in said


def test_form_too_many_choices_is_asked_again() -> None:
    ask, _ = answers("", "Bo", "", "", "n", "", "a,b,c", "b")
    said: list[str] = []
    result = FormPrompter(ask, said.append).run("Who?", FORM)
    assert result["content"]["tags"] == ["b"]
    assert "  pick at most 2" in said


@pytest.mark.parametrize(("lines", "action"), [
    (["n"], "decline"), (["c"], "cancel"), ([None], "cancel"), (["", "Ann", None], "cancel"),
    (["what", "no"], "decline"),
])
def test_form_decline_and_cancel(lines: list[str | None], action: str) -> None:
    ask, _ = answers(*lines)
    assert FormPrompter(ask, lambda _: None).run("Who?", FORM) == {"action": action}


def test_form_declines_a_required_field_it_cannot_ask() -> None:
    schema = {"type": "object", "properties": {"x": {"type": "object"}}, "required": ["x"]}
    ask, _ = answers("")
    said: list[str] = []
    assert FormPrompter(ask, said.append).run("?", schema) == {"action": "decline"}
    assert said[-1] == "  cannot ask for 'x' (an unsupported field); declining"
    schema["required"] = []
    ask, _ = answers("")
    assert FormPrompter(ask, said.append).run("?", schema) == {"action": "accept",
                                                               "content": {}}


def test_form_legacy_enum_names_and_defaults() -> None:
    schema = {"type": "object", "properties": {
        "size": {"type": "string", "enum": ["s", "l"], "enumNames": ["Small", "Large"],
                 "default": "l"},
        "ok": {"type": "boolean", "default": False}}}
    ask, shown = answers("", "large", "")
    assert FormPrompter(ask, lambda _: None).run("?", schema) == {
        "action": "accept", "content": {"size": "l", "ok": False}}
    assert shown[1:] == ["  size [one of 1) Small (s) 2) Large (l)] (default l): ",
                         "  ok [y/n] (default n): "]


def test_no_elicitation_capability_when_stdin_is_not_a_terminal(
        capsys: pytest.CaptureFixture[str], terminal: set[str]) -> None:
    status, _, err = run(capsys, "call", "ask", "--trace", "--era", "legacy")
    assert status == 1
    init = next(f for f in sent_frames(err) if f.get("method") == "initialize")
    assert init["params"]["capabilities"] == {}
    assert "did not advertise the 'elicitation' capability" in err.splitlines()[-1]


def test_elicitation_on_a_terminal_asks_the_user(
        capsys: pytest.CaptureFixture[str], terminal: set[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    terminal.add("stdin")
    monkeypatch.setattr(sys, "stdin", io.StringIO("\nBob\n41\ny\nblue\n"))
    status, out, err = run(capsys, "call", "ask")
    assert status == 0, err
    assert json.loads(out) == {"action": "accept", "content": {
        "age": 41, "color": "blue", "member": True, "name": "Bob"}}
    assert err == ("trio-mcp: the server asks: Who are you?\n"
                   "answer? [Y]es, [n]o (decline), [c]ancel: "
                   "  Name [text, required]: "
                   "  age [integer >= 0] (default 30): "
                   "  member - a member already? [y/n]: "
                   "  color [one of 1) red 2) green 3) blue] (default green): ")


def test_elicitation_end_of_input_cancels(
        capsys: pytest.CaptureFixture[str], terminal: set[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    terminal.add("stdin")
    monkeypatch.setattr(sys, "stdin", io.StringIO("y\n"))
    status, out, _ = run(capsys, "call", "ask")
    assert (status, json.loads(out)) == (0, {"action": "cancel", "content": None})


def test_the_form_does_not_count_against_the_timeout() -> None:
    async def main_() -> None:
        with trio.CancelScope(deadline=trio.current_time() + 10) as scope:
            pause = _cli_client._DeadlinePause(scope)
            pause.pause()
            assert scope.deadline == math.inf
            await trio.sleep(100)  # the autojump clock: the user thinking
            pause.resume()
            assert scope.deadline == pytest.approx(trio.current_time() + 10)

    trio.run(main_, clock=trio.testing.MockClock(autojump_threshold=0))


def test_elicitation_through_a_real_pty(tmp_path: Path) -> None:
    """The whole CLI with its stdin on a pseudo-terminal: the form is answered there."""
    pty = pytest.importorskip("pty")
    leader, follower = pty.openpty()
    try:
        os.write(leader, b"\nPat\n\nn\n3\n")
        proc = cli("call", "ask", stdin=follower)
    finally:
        os.close(follower)
        os.close(leader)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == {"action": "accept", "content": {
        "age": 30, "color": "blue", "member": False, "name": "Pat"}}
    assert proc.stderr.startswith("trio-mcp: the server asks: Who are you?\n")


# ---------------------------------------------------------------- subprocess


def test_subprocess_call_with_pairs_logs_and_save(tmp_path: Path) -> None:
    proc = cli("call", "steps", "count=2", "--log-level", "warning")
    assert proc.returncode == 0, proc.stderr
    assert (proc.stdout, proc.stderr) == ("2 steps\n", "[warning] no logger here\n")
    proc = cli("read", "cli://files/logo.png", "--save", str(tmp_path))
    assert (proc.returncode, proc.stdout) == (0, f"{tmp_path / 'logo.png'}\n")


def test_subprocess_bad_pair_is_one_line() -> None:
    proc = cli("prompt", "greet", "name")
    assert proc.returncode == 2
    assert proc.stderr.startswith("trio-mcp: error: ")
    assert len(proc.stderr.splitlines()) == 1
