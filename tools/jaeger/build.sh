#!/usr/bin/env bash
# Build Jaeger v2 from the Go module proxy (pinned in go.mod/go.sum next to this file) into
# ${GAAI_TOOLS_DIR:-~/.cache/gaai}; prints the binary's path. A no-op when already built.
# The first build takes several minutes; Go's caches make later ones fast.
set -euo pipefail
cd "$(dirname "$0")"
out="${GAAI_TOOLS_DIR:-$HOME/.cache/gaai}/jaeger-v1.76.0"
if [ ! -x "$out" ]; then
  mkdir -p "$(dirname "$out")"
  go build -o "$out.tmp" github.com/jaegertracing/jaeger/cmd/jaeger
  mv "$out.tmp" "$out"
fi
echo "$out"
