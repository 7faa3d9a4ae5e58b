#!/usr/bin/env bash
# Rewrites constraints.txt: the exact versions a fresh install resolves today for the project
# and all its extras. The README's commands and .ci/run install with
# `-c constraints.txt`, so every machine gets these versions until this is run again.
# After running it, run the test suite, then commit constraints.txt.
set -euo pipefail
cd "$(dirname "$0")/.."
venv="$(mktemp -d)/venv"
python3 -m venv "$venv"
"$venv/bin/pip" install -q -e '.[test,bench,eval]'
{
  echo "# Pinned by tools/lock.sh on $(date -u +%Y-%m-%d) with $("$venv/bin/python" --version); install with -c constraints.txt."
  "$venv/bin/pip" freeze --exclude-editable | grep -v '^#'
} > constraints.txt
rm -rf "$(dirname "$venv")"
echo "wrote constraints.txt ($(grep -vc '^#' constraints.txt) pins)"
