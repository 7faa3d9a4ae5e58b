"""The gateway's OpenAPI 3.1 document, generated from the msgspec types it reads and writes.

``python -m gaai.web.openapi`` writes it to ``schemas/http/openapi.json``; ``tests/web/test_openapi.py`` fails
when the committed file drifts from the code. The gateway serves the same bytes at ``/api/openapi.json``.
"""

from __future__ import annotations

import functools
import inspect
import sys
from pathlib import Path

import msgspec

from gaai.bus import contract
from gaai.web import messages

OPENAPI_FILE = Path(__file__).resolve().parent.parent / "schemas" / "http" / "openapi.json"

_TYPES = (
    contract.SubmitRequest,
    contract.SubmitReply,
    contract.WorkflowProgress,
    contract.ErrorReply,
    contract.Event,
    messages.CancelBody,
    messages.SessionBody,
    messages.WorkflowList,
    messages.GraphList,
    messages.Lineage,
    messages.Trace,
)


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(name: str, description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": _ref(name)}}}


def _errors(*statuses: int) -> dict:
    meaning = {
        400: "The request breaks the contract; the message names the field.",
        401: "No or a wrong bearer token (code unauthorized).",
        403: "A state-changing request from another site (code cross_origin).",
        404: "No such workflow, task, report or route (codes unknown_*).",
        409: "The request conflicts with the workflow's state (workflow_exists, not_failed, cancelled).",
        413: "The request or an upload is over the gateway's limit (code too_large).",
        429: "Too many wrong tokens from this address within a minute (code too_many_attempts); "
        "wait the Retry-After seconds.",
        503: "No orchestrator, catalog or NATS (codes no_orchestrator, no_catalog, nats_unavailable, "
        "jetstream_unavailable).",
        504: "The orchestrator did not answer in time (code timeout).",
    }
    return {str(status): _json("ErrorReply", meaning[status]) for status in (*statuses, 401, 429, 503, 504)}


_WORKFLOW_ID = {"name": "workflow_id", "in": "path", "required": True, "schema": {"type": "string"}}
TRACE_EXPORTS = {"html": "text/html; charset=utf-8", "md": "text/markdown; charset=utf-8"}
"""The trace's exports the gateway serves (``/trace.<format>``), with their media types."""
_DOWNLOAD = {"name": "download", "in": "query", "schema": {"type": "string", "enum": ["1"]}}


def _paths() -> dict:
    workflow = [_WORKFLOW_ID]
    return {
        "/api/workflows": {
            "get": {
                "operationId": "list_workflows",
                "summary": "Known workflows, most recently created first",
                "parameters": [
                    {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 500}}
                ],
                "responses": {"200": _json("WorkflowList", "The workflows."), **_errors(400)},
            },
            "post": {
                "operationId": "submit",
                "summary": "Submit a workflow: the bus's submit request as JSON, or a form with document files",
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {"schema": _ref("SubmitRequest")},
                        "multipart/form-data": {
                            "schema": {
                                "type": "object",
                                "description": "The submit request's fields one by one (lists comma-separated), "
                                "or all of them as JSON in 'request'; requirement documents as files in 'documents'.",
                                "properties": {
                                    "request": {"type": "string", "description": "A SubmitRequest as JSON."},
                                    "graph_name": {"type": "string"},
                                    "max_executions": {"type": "integer"},
                                    "enable_parallelism": {"type": "boolean"},
                                    "industry": {"type": "string"},
                                    "documents": {"type": "array", "items": {"type": "string", "format": "binary"}},
                                },
                            }
                        },
                    },
                },
                "responses": {
                    "202": _json("SubmitReply", "Accepted; the state is stored."),
                    **_errors(400, 403, 404, 409, 413),
                },
            },
        },
        "/api/workflows/{workflow_id}": {
            "get": {
                "operationId": "get_workflow",
                "summary": "A workflow's state, as the bus's status reply",
                "parameters": workflow,
                "responses": {"200": _json("WorkflowProgress", "The workflow."), **_errors(404)},
            }
        },
        "/api/workflows/{workflow_id}/cancel": {
            "post": {
                "operationId": "cancel",
                "summary": "Cancel a workflow",
                "parameters": workflow,
                "requestBody": {"required": False, "content": {"application/json": {"schema": _ref("CancelBody")}}},
                "responses": {
                    "200": _json("WorkflowProgress", "The workflow after the cancellation."),
                    **_errors(400, 403, 404),
                },
            }
        },
        "/api/workflows/{workflow_id}/tasks/{task_id}/retry": {
            "post": {
                "operationId": "retry",
                "summary": "Run a failed task again",
                "parameters": [
                    *workflow,
                    {"name": "task_id", "in": "path", "required": True, "schema": {"type": "string"}},
                ],
                "responses": {
                    "200": _json("WorkflowProgress", "The workflow with the task dispatched again."),
                    **_errors(403, 404, 409),
                },
            }
        },
        "/api/workflows/{workflow_id}/events": {
            "get": {
                "operationId": "events",
                "summary": "Live progress as Server-Sent Events",
                "description": "A 'status' event (WorkflowProgress) first, then every stored and new Event as "
                "'task' or 'workflow' events whose id is its sequence in the events stream; 'Last-Event-ID' or "
                "'after' resumes after one. An 'end' event closes a finished workflow's stream.",
                "parameters": [
                    *workflow,
                    {"name": "after", "in": "query", "schema": {"type": "integer", "minimum": 0}},
                    {"name": "Last-Event-ID", "in": "header", "schema": {"type": "string"}},
                ],
                "responses": {
                    "200": {
                        "description": "The event stream; each data line is an Event (or the status for 'status').",
                        "content": {"text/event-stream": {"schema": _ref("Event")}},
                    },
                    **_errors(400, 404),
                },
            }
        },
        "/api/workflows/{workflow_id}/lineage": {
            "get": {
                "operationId": "lineage",
                "summary": "Each requirement down to its reports (requirement → use case → template → execution → "
                "report, from the catalog), and the questions left unanswered with why",
                "description": "503 with code no_catalog (retryable) when no catalog process answers.",
                "parameters": workflow,
                "responses": {"200": _json("Lineage", "The lineage."), **_errors(404)},
            }
        },
        "/api/workflows/{workflow_id}/trace": {
            "get": {
                "operationId": "trace",
                "summary": "The workflow's trace summary and timeline: every task's timing, instance and "
                "language-model use",
                "parameters": workflow,
                "responses": {"200": _json("Trace", "The trace."), **_errors(404)},
            }
        },
        "/api/workflows/{workflow_id}/trace.{format}": {
            "get": {
                "operationId": "trace_export",
                "summary": "The trace as 'gaai trace export' writes it: a self-contained HTML timeline (html) or "
                "Markdown tables per agent and task (md), served sandboxed",
                "parameters": [
                    *workflow,
                    {"name": "format", "in": "path", "required": True, "schema": {"enum": list(TRACE_EXPORTS)}},
                    _DOWNLOAD,
                ],
                "responses": {
                    "200": {
                        "description": "The page or the text.",
                        "content": {"text/html": {}, "text/markdown": {}},
                    },
                    **_errors(404),
                },
            }
        },
        "/api/workflows/{workflow_id}/reports/{template_id}/{format}": {
            "get": {
                "operationId": "report_file",
                "summary": "One file of a report (html, markdown, json…), served sandboxed",
                "parameters": [
                    *workflow,
                    {"name": "template_id", "in": "path", "required": True, "schema": {"type": "string"}},
                    {"name": "format", "in": "path", "required": True, "schema": {"type": "string"}},
                    _DOWNLOAD,
                ],
                "responses": {"200": {"description": "The file."}, **_errors(404)},
            }
        },
        "/api/graphs": {
            "get": {
                "operationId": "graphs",
                "summary": "The graphs in the store with their collections, counts and edge semantics",
                "responses": {"200": _json("GraphList", "The graphs."), **_errors()},
            }
        },
        "/api/session": {
            "post": {
                "operationId": "session",
                "summary": "Trade the bearer token for a same-site cookie (for the dashboard's event streams)",
                "requestBody": {"required": True, "content": {"application/json": {"schema": _ref("SessionBody")}}},
                "responses": {"200": {"description": "The cookie is set."}, **_errors(400)},
            }
        },
        "/api/openapi.json": {
            "get": {
                "operationId": "openapi",
                "summary": "This document",
                "responses": {"200": {"description": "OpenAPI 3.1."}},
            }
        },
    }


def api_routes() -> list[tuple[str, str, str]]:
    """(method, path, operationId) of every operation the document describes: the gateway serves exactly these,
    each by its handler of that name."""
    return [
        (method, path, operation["operationId"]) for path, ops in _paths().items() for method, operation in ops.items()
    ]


def _clean(node):
    """Descriptions dedented the same whichever msgspec version wrote them (as ``gaai.bus.schema`` does)."""
    if isinstance(node, dict):
        return {
            k: inspect.cleandoc(v) if k == "description" and isinstance(v, str) else _clean(v) for k, v in node.items()
        }
    if isinstance(node, list):
        return [_clean(item) for item in node]
    return node


def render() -> dict:
    schemas, components = msgspec.json.schema_components(_TYPES, ref_template="#/components/schemas/{name}")
    components["Event"] = schemas[_TYPES.index(contract.Event)]  # a union, so not a component of its own
    return _clean(
        {
            "openapi": "3.1.0",
            "info": {
                "title": "graph-analytics-ai web gateway",
                "version": f"{contract.CONTRACT_VERSION}",
                "description": "The bus's requests over HTTP. Errors are the bus's ErrorReply with an HTTP status. "
                "Off a loopback address every /api/ request but this document and /api/session needs "
                "'Authorization: Bearer <GAAI_WEB_TOKEN>'.",
            },
            "components": {
                "schemas": dict(sorted(components.items())),
                "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            },
            "security": [{}, {"bearer": []}],
            "paths": _paths(),
        }
    )


@functools.cache
def openapi_document() -> bytes:
    return msgspec.json.format(msgspec.json.encode(render()), indent=2) + b"\n"


def main() -> int:
    OPENAPI_FILE.parent.mkdir(parents=True, exist_ok=True)
    OPENAPI_FILE.write_bytes(openapi_document())
    print(f"wrote {OPENAPI_FILE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
