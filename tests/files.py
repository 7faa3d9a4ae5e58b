"""Writing import files for tests: one JSON document per line, as ``gaai import`` reads them."""

from __future__ import annotations

import json
from pathlib import Path


def write_jsonl(path: Path, docs: list[dict]) -> Path:
    path.write_text("".join(json.dumps(doc) + "\n" for doc in docs))
    return path
