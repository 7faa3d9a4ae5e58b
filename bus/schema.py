"""``python -m gaai.bus.schema``: write the JSON Schemas of the public messages into ``schemas/``.

Clients in other languages code against these files; ``tests/bus/test_contract.py``
fails when they drift from ``bus/contract.py``.
"""

from __future__ import annotations

import inspect
import sys
from pathlib import Path

import msgspec

from gaai.bus import contract

PUBLIC_MESSAGES = {
    "submit_request": contract.SubmitRequest,
    "custom_vertical": contract.CustomVertical,
    "submit_reply": contract.SubmitReply,
    "status_request": contract.StatusRequest,
    "status_reply": contract.WorkflowProgress,
    "cancel_request": contract.CancelRequest,
    "retry_request": contract.RetryRequest,
    "lineage_request": contract.LineageRequest,
    "lineage_reply": contract.LineageReply,
    "dead_letter": contract.DeadLetter,
    "error_reply": contract.ErrorReply,
    "event": contract.Event,
    "task_envelope": contract.TaskEnvelope,
    "result_envelope": contract.ResultEnvelope,
}

SCHEMA_DIR = Path(__file__).resolve().parent.parent / "schemas"


def _clean_descriptions(node):
    """Descriptions with docstring indentation removed, as ``inspect.cleandoc`` does.

    msgspec versions differ in whether they dedent docstrings; cleaning them here keeps the
    published schemas identical whichever version generated them.
    """
    if isinstance(node, dict):
        return {
            key: inspect.cleandoc(value)
            if key == "description" and isinstance(value, str)
            else _clean_descriptions(value)
            for key, value in node.items()
        }
    if isinstance(node, list):
        return [_clean_descriptions(item) for item in node]
    return node


def render() -> dict[str, bytes]:
    """File name → JSON Schema document (2020-12), one per public message."""
    files = {}
    for name, message in PUBLIC_MESSAGES.items():
        schema = _clean_descriptions(msgspec.json.schema(message))
        schema = {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "$id": f"gaai/v{contract.CONTRACT_VERSION}/{name}.json",
            "title": name,
            **schema,
        }
        files[f"{name}.json"] = msgspec.json.format(msgspec.json.encode(schema), indent=2) + b"\n"
    return files


def main() -> int:
    SCHEMA_DIR.mkdir(exist_ok=True)
    for name, body in render().items():
        (SCHEMA_DIR / name).write_bytes(body)
    print(f"wrote {len(PUBLIC_MESSAGES)} schemas into {SCHEMA_DIR}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
