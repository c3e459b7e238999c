"""The ``trio-mcp`` command line: demo, serve, inspect, call, --trace, and its exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from trio_adapter import Server
from trio_adapter.cli import CLIError, load_server, main

ROOT = Path(__file__).resolve().parents[2]
PY = sys.executable
SERVE_DEMO = ["--", PY, "-m", "trio_adapter", "serve", "trio_adapter.demo", "--stdio"]
NOTES = str(ROOT / "examples" / "notes_server.py")
SERVE_EXAMPLE = ["--", PY, "-m", "trio_adapter", "serve", NOTES, "--stdio"]


def cli(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([PY, "-m", "trio_adapter", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=60, check=False,
                          input=None if stdin is None else stdin.decode())


def one_line_error(proc: subprocess.CompletedProcess[str]) -> str:
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("trio-mcp: error: ")
    assert "Traceback" not in proc.stderr
    return lines[0]


def test_demo_prints_the_lifecycle() -> None:
    proc = cli("demo")
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    for needle in ('"method":"initialize"', "event Initialized", "notifications/initialized",
                   "notifications/progress", "structured result: {'total': 6.5, 'terms': 3}",
                   "isError=True", "Hello, trio!", "state closing", "event Closed"):
        assert needle in out
    assert proc.stderr == ""


def test_inspect_pinned_to_the_handshake_era() -> None:
    proc = cli("inspect", "--era", "legacy", *SERVE_DEMO)
    assert proc.returncode == 0, proc.stderr
    assert "protocol: 2025-11-25 (legacy: initialize handshake)" in proc.stdout


def test_inspect_lists_what_the_server_offers() -> None:
    proc = cli("inspect", *SERVE_DEMO)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "server: trio-mcp-demo 1.0" in out
    # both ends speak both eras: the probe lands on the newest revision
    assert "protocol: 2026-07-28 (modern: 2026-07-28, no handshake)" in out
    assert "add(numbers: array)" in out
    assert "demo://readme" in out
    assert "demo://greeting/{name}" in out
    assert "review(code, language?)" in out


def test_inspect_json() -> None:
    proc = cli("inspect", "--json", *SERVE_DEMO)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["serverInfo"]["name"] == "trio-mcp-demo"
    assert [tool["name"] for tool in report["tools"]] == ["add", "echo", "fail"]
    assert report["prompts"][0]["arguments"][0] == {"name": "code", "required": True}


def test_call_prints_the_result() -> None:
    proc = cli("call", "echo", '{"text": "hello there"}', *SERVE_DEMO)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "hello there\n"


def test_call_structured_result_as_json() -> None:
    proc = cli("call", "add", '{"numbers": [1, 2]}', "--json", *SERVE_DEMO)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["structuredContent"] == {"total": 3.0, "terms": 2}


def test_call_tool_error_exits_1_with_one_line() -> None:
    proc = cli("call", "fail", '{"reason": "no luck"}', *SERVE_DEMO)
    assert proc.returncode == 1
    assert one_line_error(proc) == "trio-mcp: error: tool 'fail' failed: no luck"


def test_call_invalid_arguments_exit_1_with_the_reason() -> None:
    proc = cli("call", "echo", '{"text": 5}', *SERVE_DEMO)
    assert proc.returncode == 1
    assert "$.text: expected string, got integer" in one_line_error(proc)


def test_call_unknown_tool_is_a_protocol_error() -> None:
    proc = cli("call", "nosuch", *SERVE_DEMO)
    assert proc.returncode == 1
    assert "-32602" in one_line_error(proc)


@pytest.mark.parametrize("arguments", ['{"text":', "[1, 2]"])
def test_call_bad_json_exits_2(arguments: str) -> None:
    proc = cli("call", "echo", arguments, *SERVE_DEMO)
    assert proc.returncode == 2
    one_line_error(proc)


def test_missing_command_exits_1_with_one_line() -> None:
    proc = cli("call", "echo", '{"text": "x"}', "--", "/nonexistent/server")
    assert proc.returncode == 1
    assert "/nonexistent/server" in one_line_error(proc)


def test_no_target_is_a_usage_error() -> None:
    proc = cli("inspect")
    assert proc.returncode == 2
    assert "after --" in one_line_error(proc)


def test_server_dying_at_startup_shows_its_stderr() -> None:
    proc = cli("inspect", "--", PY, "-c", "import sys; print('cannot start: no config', "
               "file=sys.stderr); sys.exit(3)")
    assert proc.returncode == 1
    assert "cannot start: no config" in one_line_error(proc)


def test_timeout_is_one_line() -> None:
    # A server that never answers: it waits for a signal that never comes.
    proc = cli("inspect", "--timeout", "0.5", "--", PY, "-c", "import signal; signal.pause()")
    assert proc.returncode == 1
    assert "timed out after 0.5 s" in one_line_error(proc)


def test_trace_prints_frames_and_events_to_stderr() -> None:
    proc = cli("call", "echo", '{"text": "traced"}', "--trace", "--era", "legacy", *SERVE_DEMO)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "traced\n"
    assert "client -> " in proc.stderr
    assert "client <- " in proc.stderr
    assert "client event Initialized(" in proc.stderr
    assert '"method":"tools/call"' in proc.stderr


def test_serve_exits_0_on_stdin_eof() -> None:
    proc = cli("serve", "trio_adapter.demo", "--stdio", stdin=b"")
    assert proc.returncode == 0
    assert proc.stdout == ""
    assert proc.stderr == ""


def test_serve_with_trace_keeps_stdout_for_the_protocol() -> None:
    init = ('{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":'
            '"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}\n')
    proc = cli("serve", "trio_adapter.demo", "--stdio", "--trace", stdin=init.encode())
    assert proc.returncode == 0
    assert json.loads(proc.stdout)["result"]["protocolVersion"] == "2025-06-18"
    assert "server <- " in proc.stderr and "server -> " in proc.stderr


def test_serve_an_example_file() -> None:
    proc = cli("call", "add_note", '{"title": "t", "body": "b"}', *SERVE_EXAMPLE)
    assert proc.returncode == 0, proc.stderr


def test_serve_unknown_target_is_a_usage_error() -> None:
    proc = cli("serve", "no_such_module_xyz", "--stdio")
    assert proc.returncode == 2
    assert "no_such_module_xyz" in one_line_error(proc)


def test_serve_http_bad_address_is_a_usage_error() -> None:
    proc = cli("serve", "trio_adapter.demo", "--http", "nowhere")
    assert proc.returncode == 2
    assert "HOST:PORT" in one_line_error(proc)


def test_serve_http_then_inspect_and_call_with_url() -> None:
    server = subprocess.Popen([PY, "-m", "trio_adapter", "serve", "trio_adapter.demo", "--http",
                               "127.0.0.1:0"], cwd=ROOT, stderr=subprocess.PIPE, text=True)
    try:
        assert server.stderr is not None
        line = server.stderr.readline()
        assert line.startswith("trio-mcp: serving trio-mcp-demo at http://127.0.0.1:"), line
        url = line.rsplit(" ", 1)[1].strip()
        proc = cli("call", "echo", '{"text": "over http"}', "--url", url)
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout == "over http\n"
        proc = cli("inspect", "--json", "--url", url)
        assert proc.returncode == 0, proc.stderr
        assert json.loads(proc.stdout)["serverInfo"]["name"] == "trio-mcp-demo"
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_url_that_nobody_serves_is_one_line() -> None:
    proc = cli("inspect", "--url", "http://127.0.0.1:9/mcp", "--timeout", "5")
    assert proc.returncode == 1
    one_line_error(proc)


def test_load_server_forms(tmp_path: Path) -> None:
    assert isinstance(load_server("trio_adapter.demo"), Server)
    assert isinstance(load_server("trio_adapter.demo:server"), Server)
    path = tmp_path / "two.py"
    path.write_text("from trio_adapter import Server\na = Server('a', '1')\nb = Server('b', '1')\n")
    with pytest.raises(CLIError, match="more than one"):
        load_server(str(path))
    assert load_server(f"{path}:b").info.name == "b"
    with pytest.raises(CLIError, match="no Server named"):
        load_server(f"{path}:c")
    broken = tmp_path / "broken.py"
    broken.write_text("raise RuntimeError('oops')\n")
    with pytest.raises(CLIError, match="RuntimeError: oops"):
        load_server(str(broken))


def test_main_in_process_usage_errors(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["call", "echo", "not json", "--", "x"]) == 2
    assert "not valid JSON" in capsys.readouterr().err
    with pytest.raises(SystemExit) as info:
        main(["frobnicate"])
    assert info.value.code == 2
