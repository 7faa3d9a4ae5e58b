#!/usr/bin/env bash
# Build Jaeger v2 from the Go module proxy (pinned in go.mod/go.sum next to this file) into
# ${GAAI_TOOLS_DIR:-~/.cache/gaai}; prints the binary's path. A no-op when already built.
# The first build takes several minutes; Go's caches make later ones fast (a relink only).
# -s -w leave out the symbol table and DWARF debug information (a third of the binary); the
# binary's name says so, so a cached build without them is not reused. With --path it only
# prints the path the binary has or would have.
set -euo pipefail
cd "$(dirname "$0")"
out="${GAAI_TOOLS_DIR:-$HOME/.cache/gaai}/jaeger-v1.76.0-stripped"
if [ "${1:-}" = --path ]; then
  echo "$out"
  exit 0
fi
if [ ! -x "$out" ]; then
  mkdir -p "$(dirname "$out")"
  go build -ldflags="-s -w" -o "$out.tmp" github.com/jaegertracing/jaeger/cmd/jaeger
  mv "$out.tmp" "$out"
  # Earlier builds (other versions or flags) are of no further use.
  find "$(dirname "$out")" -maxdepth 1 -name 'jaeger-v*' ! -name "$(basename "$out")" -delete
fi
echo "$out"
