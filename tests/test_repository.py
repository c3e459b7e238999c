"""The repository keeps its promises to a newcomer: the README's test command is what CI runs
(also in a fresh clone with nothing beside it), schema tests skip with one reason that names the
setting, and CI refuses to run without the official schemas."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from tests.conftest import SCHEMA_ENV, SCHEMA_SKIP_REASON

ROOT = Path(__file__).resolve().parents[1]


def readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    return re.findall(r"^```sh\n(python3 -m venv .+)\n```$", text, re.MULTILINE)


def test_ci_runs_the_readme_test_command_here_and_in_a_fresh_clone() -> None:
    main_job, tests = readme_commands()
    assert main_job.endswith("trio-mcp demo")
    assert tests.endswith("-m pytest -q")
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    # verbatim, first; then again in a clone of its own, with MCP_SCHEMA_DIR unset
    assert ci.count(tests) == 2
    assert ci.index(tests) < ci.index("git clone")
    assert 'env -u MCP_SCHEMA_DIR bash -c \\\n    "' + tests + '"' in ci


def test_schema_tests_skip_with_one_reason_naming_the_setting(tmp_path: Path) -> None:
    env = {**os.environ, SCHEMA_ENV: str(tmp_path / "nowhere")}
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-rs", "-p", "no:cacheprovider",
         "tests/test_errors.py", "tests/test_schema_frames.py"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "MCP schema validation: off" in done.stdout
    skips = [line for line in done.stdout.splitlines() if line.startswith("SKIPPED")]
    assert skips
    assert all(line.endswith(SCHEMA_SKIP_REASON) for line in skips), skips
    assert SCHEMA_ENV in SCHEMA_SKIP_REASON
    assert re.search(r"\d+ passed, \d+ skipped", done.stdout)


def test_ci_refuses_to_run_without_the_schemas(tmp_path: Path) -> None:
    env = {**os.environ, SCHEMA_ENV: str(tmp_path)}
    done = subprocess.run(["bash", str(ROOT / ".ci" / "run")], env=env, capture_output=True,
                          text=True, timeout=60, check=False)
    assert done.returncode == 1
    assert done.stdout == ""
    assert done.stderr.startswith("ci: error: the official MCP schemas are missing")
    assert done.stderr.count("\n") == 1


def _expected_failures() -> dict[str, list[str]]:
    """scripts/conformance-expected-failures.yml, read as the harness reads it: top-level
    ``server:`` / ``client:`` keys, each a list of ``- <scenario>`` entries."""
    lists: dict[str, list[str]] = {}
    key = None
    path = ROOT / "scripts" / "conformance-expected-failures.yml"
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if re.fullmatch(r"[a-z]+:", line):
            key = line[:-1]
            lists[key] = []
            continue
        entry = re.fullmatch(r"  - (\S+)", line)
        assert entry is not None and key is not None, f"unexpected line: {line!r}"
        lists[key].append(entry.group(1))
    return lists


def test_expected_conformance_failures_are_none() -> None:
    # Nothing is excused: every server scenario (tasks-* included) and every client scenario
    # (auth/* included) passes.
    lists = _expected_failures()
    assert set(lists) <= {"server", "client"}
    assert not lists.get("server"), lists["server"]
    assert not lists.get("client"), lists["client"]
    # whole scenarios only: a '<scenario>:<check>' entry would excuse part of another one
    assert not any(":" in name for names in lists.values() for name in names)
    assert all(len(names) == len(set(names)) for names in lists.values())


def test_ci_fails_when_the_conformance_script_fails() -> None:
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "set -euo pipefail" in ci.splitlines()[:8]
    # the whole script (no subset), its status not swallowed
    calls = [line for line in ci.splitlines() if "scripts/conformance.sh" in line
             and not line.lstrip().startswith("#")]
    assert calls == ["bash scripts/conformance.sh"], calls
    script = (ROOT / "scripts" / "conformance.sh").read_text(encoding="utf-8")
    assert "scripts/conformance-expected-failures.yml" in script
    assert script.count('--expected-failures "$BASELINE"') == 2  # server runs and client runs
    assert "unshare -n" in script  # client scenarios run on loopback only


_FAKE_HARNESS = r'''
import json, pathlib, sys
args = sys.argv[1:]
if args[0] == "list":
    print("Server scenarios (test against a server):\n  - good [2026-07-28]\n")
    print("Client scenarios (test against a client):\n  - tools_call [2026-07-28]\n")
    sys.exit(0)
assert args[0] == "server" and "--expected-failures" in args, args
name, out = args[args.index("--scenario") + 1], pathlib.Path(args[args.index("-o") + 1])
RED, YELLOW, RESET = "\x1b[31m", "\x1b[33m", "\x1b[0m"
if name == "crash":
    print("Server test error: boom")
    sys.exit(1)
failed = name in ("bad", "tasks-x")
(out / f"server-{name}-2026-01-01T00-00-00-000Z").mkdir(parents=True)
checks = [{"id": f"{name}-check", "status": "FAILURE" if failed else "SUCCESS",
           "errorMessage": "it broke" if failed else None}]
(out / f"server-{name}-2026-01-01T00-00-00-000Z" / "checks.json").write_text(json.dumps(checks))
print(f"\nTest Results:\nPassed: {0 if failed else 1}/1, {int(failed)} failed, 0 warnings")
if name == "bad":
    print(f"\n{RED}Unexpected failures (not in baseline):{RESET}\n  \u2717 bad\n")
    sys.exit(1)
if name == "tasks-x":
    print(f"\n{YELLOW}Expected failures (in baseline):{RESET}\n  ~ tasks-x\n")
if name == "tasks-stale":
    print(f"\n{RED}Stale baseline entries (now passing - remove from baseline):{RESET}\n"
          "  \u2713 tasks-stale\n\nBaseline is stale: update your expected-failures file.")
    sys.exit(1)
print("\nBaseline check passed: all failures are expected.")
'''


def _conformance(tmp_path: Path, *selectors: str) -> subprocess.CompletedProcess[str]:
    fake = tmp_path / "fake_harness.py"
    fake.write_text(_FAKE_HARNESS, encoding="utf-8")
    env = {**os.environ, "PYTHON": sys.executable,
           "CONFORMANCE_HARNESS": f"{sys.executable} {fake}"}
    return subprocess.run(["bash", str(ROOT / "scripts" / "conformance.sh"), *selectors],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
                          check=False)


def test_conformance_script_fails_on_unexpected_failures_only(tmp_path: Path) -> None:
    # The harness reports a stale baseline entry with exit status 1: the script notes it and
    # passes; an unexpected failure or a run that crashed fails it, and is named.
    done = _conformance(tmp_path, "server:good", "server:tasks-x", "server:tasks-stale")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "conformance: ok (only expected failures)" in done.stdout
    assert "stale; not a failure" in done.stdout
    assert "server --scenario tasks-stale: tasks-stale" in done.stdout
    assert re.search(r"server --scenario tasks-x +0 +1 +0  ok, 1 expected", done.stdout)

    done = _conformance(tmp_path, "server:good", "server:bad", "server:crash")
    assert done.returncode == 1, done.stdout + done.stderr
    failed = done.stdout.split("conformance: FAILED: 2 unexpected failure(s):\n", 1)[1]
    assert failed.splitlines() == ["  server --scenario bad: bad",
                                   "  server --scenario crash: the run itself (harness exit 1)"]
    assert "FAILURE bad-check: it broke" in done.stdout  # the failing check is shown


def test_conformance_script_refuses_unknown_selectors(tmp_path: Path) -> None:
    done = _conformance(tmp_path, "nonsense")
    assert done.returncode == 2
    assert done.stderr.startswith("conformance: error: unknown selector 'nonsense'")
