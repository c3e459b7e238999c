#!/usr/bin/env bash
# Install the official TypeScript "everything" MCP server (npm @modelcontextprotocol/server-everything,
# pinned) for the tasks interop tests (tests/adapter/test_tasks_interop.py), and print the path of
# its binary. Run it with `stdio` as its argument.
#
#   scripts/everything-server.sh                 # into the ignored folder .cache/everything
#   EVERYTHING_DIR=DIR scripts/everything-server.sh
#   MCP_EVERYTHING_SERVER=$(scripts/everything-server.sh) .venv/bin/python -m pytest -m interop \
#       tests/adapter/test_tasks_interop.py
set -euo pipefail
cd "$(dirname "$0")/.."
VERSION=2026.8.31
DIR=${EVERYTHING_DIR:-.cache/everything}
BIN=$DIR/node_modules/.bin/mcp-server-everything
if [ ! -x "$BIN" ]; then
    mkdir -p "$DIR"
    npm install --prefix "$DIR" --no-audit --no-fund --silent \
        "@modelcontextprotocol/server-everything@$VERSION" >&2
fi
echo "$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")"
