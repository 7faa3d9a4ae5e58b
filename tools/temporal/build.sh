#!/usr/bin/env bash
# Build the Temporal CLI (its `temporal server start-dev` is the dev server the orchestration-peer
# benchmark runs) from the Go module proxy, pinned in go.mod/go.sum next to this file, into
# ${GAAI_TOOLS_DIR:-~/.cache/gaai}/temporal/; prints the binary's path. A no-op when already built.
# v1.5.1 is the newest release that builds from the proxy: later ones need a nested module
# (github.com/temporalio/cli/cliext) that the proxy does not serve.
set -euo pipefail
cd "$(dirname "$0")"
out="${GAAI_TOOLS_DIR:-$HOME/.cache/gaai}/temporal/temporal-v1.5.1"
if [ ! -x "$out" ]; then
  mkdir -p "$(dirname "$out")"
  go build -o "$out.tmp" github.com/temporalio/cli/cmd/temporal
  mv "$out.tmp" "$out"
fi
echo "$out"
