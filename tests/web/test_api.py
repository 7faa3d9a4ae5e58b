"""The HTTP API against a real stack: every endpoint's answer, and its errors with the bus's codes."""

from __future__ import annotations

import json
import shutil
import subprocess
import urllib.request
import uuid
from pathlib import Path

import aiohttp
import jsonschema
import msgspec
import pytest

from gaai.agents.catalog import Catalog, catalog_path
from gaai.bus.contract import ERROR_CODES, WorkflowProgress
from gaai.bus.trace import summarize, trace_html, trace_markdown
from gaai.store import EmbeddedStore
from gaai.web.openapi import render

from .conftest import DEMO_REQUIREMENTS, Gateway, http, start_gateway

pytestmark = pytest.mark.timeout(180)


def _component(name: str) -> dict:
    """An OpenAPI component as a JSON Schema that resolves its references within the document."""
    document = render()
    return {"$ref": f"#/components/schemas/{name}", "components": document["components"]}


def test_a_submitted_workflow_completes_and_is_listed_first(gateway: Gateway, finished: dict):
    assert finished["status"] == "completed", finished["failures"]
    assert finished["reports"], "a completed demo workflow has reports"
    jsonschema.validate(finished, _component("WorkflowProgress"))
    status, listed = gateway.get("/api/workflows?limit=5")
    assert status == 200
    jsonschema.validate(listed, _component("WorkflowList"))
    first = listed["workflows"][0]
    assert first["workflow_id"] == finished["workflow_id"]
    assert first["completed_tasks"] == sum(1 for t in finished["tasks"] if t["status"] == "completed")
    assert first["total_tasks"] == len(finished["tasks"])
    assert first["reports"] == len(finished["reports"])


def test_report_files_are_served_as_stored_under_a_sandboxing_policy(gateway: Gateway, finished: dict):
    report = finished["reports"][0]
    formats = {artifact["format"] for artifact in report["artifacts"]}
    assert "html" in formats and "json" in formats
    base = f"{gateway.url}/api/workflows/{finished['workflow_id']}/reports/{report['template_id']}"
    with urllib.request.urlopen(f"{base}/html") as response:
        assert response.headers["Content-Type"] == "text/html; charset=utf-8"
        assert response.headers["Content-Security-Policy"].startswith("sandbox;")
        page = response.read().decode()
    assert "<html" in page and "<script" not in page
    status, body = gateway.get(f"/api/workflows/{finished['workflow_id']}/reports/{report['template_id']}/json")
    assert status == 200 and body["report"]["template_id"] == report["template_id"]
    assert body["report"]["title"] == report["title"]
    sizes = {artifact["format"]: artifact["size"] for artifact in report["artifacts"]}
    assert len(page.encode()) == sizes["html"]
    status, error = gateway.get(f"/api/workflows/{finished['workflow_id']}/reports/{report['template_id']}/pdf")
    assert status == 404 and error["error"]["code"] == "unknown_report"
    assert "formats:" in error["error"]["message"]
    status, error = gateway.get(f"/api/workflows/{finished['workflow_id']}/reports/no-such-template/html")
    assert (status, error["error"]["code"]) == (404, "unknown_report")


def test_lineage_leads_each_answered_requirement_through_its_use_cases_to_its_reports(gateway: Gateway, finished: dict):
    status, lineage = gateway.get(f"/api/workflows/{finished['workflow_id']}/lineage")
    assert status == 200
    jsonschema.validate(lineage, _component("Lineage"))
    titles = {report["template_id"]: report["title"] for report in finished["reports"]}
    answered = [r for r in lineage["requirements"] if r["status"] == "answered"]
    assert answered, lineage
    assert [r["requirement_id"] for r in lineage["requirements"]] == [c["requirement_id"] for c in finished["coverage"]]
    for requirement in answered:
        coverage = next(c for c in finished["coverage"] if c["requirement_id"] == requirement["requirement_id"])
        reported = [link for link in requirement["links"] if link["report_title"]]
        assert {link["template_id"] for link in reported} == set(coverage["template_ids"])
        for link in reported:
            assert link["use_case_id"] and link["use_case_title"]
            assert link["execution_status"] == "completed"
            assert link["execution_task_id"] == f"{finished['workflow_id']}.execution.{link['template_id']}"
            assert link["report_title"] == titles[link["template_id"]]
    # The chains are the catalog's: the same requirement → use case → template steps as its SQLite file holds.
    chains = Catalog(catalog_path(gateway.home)).lineage(finished["workflow_id"])
    recorded = sorted(
        (
            chain[0][0].partition(":")[2],
            chain[1][0].partition(":")[2],
            chain[2][0].partition(":")[2] if len(chain) > 2 else "",
        )
        for chain in chains
        if len(chain) > 1
    )
    shown = sorted(
        (r["requirement_id"], link["use_case_id"], link["template_id"])
        for r in lineage["requirements"]
        for link in r["links"]
    )
    assert shown == recorded
    for requirement in lineage["requirements"]:
        if requirement["status"] != "answered":
            assert requirement["reason"], f"{requirement['requirement_id']} left unanswered without a reason"


def test_trace_has_every_task_with_its_timing(gateway: Gateway, finished: dict):
    status, trace = gateway.get(f"/api/workflows/{finished['workflow_id']}/trace")
    assert status == 200
    jsonschema.validate(trace, _component("Trace"))
    assert [t["task_id"] for t in trace["tasks"]] == [t["task_id"] for t in finished["tasks"]]
    timed = [
        (row, task)
        for row, task in zip(trace["tasks"], finished["tasks"], strict=True)
        if task["started_at"] and task["ended_at"]
    ]
    assert timed
    for row, task in timed:
        assert row["duration_ms"] == pytest.approx(1000 * (task["ended_at"] - task["started_at"]), abs=0.01)
        assert row["start_ms"] == pytest.approx(1000 * (task["started_at"] - finished["created_at"]), abs=0.01)
        assert row["instance"] == task["instance"]
    progress = msgspec.convert(finished, WorkflowProgress)
    assert trace["summary"] == msgspec.to_builtins(summarize(progress))
    assert trace["summary"]["steps_completed"] == sum(1 for t in finished["tasks"] if t["status"] == "completed")


def test_without_a_catalog_the_lineage_says_so_and_may_be_retried(tmp_path: Path):
    """An orchestrator and the gateway, no agent: the workflow is known, its lineage is not, and the answer says why."""
    alone = start_gateway(tmp_path, agents=())
    try:
        status, reply = alone.post("/api/workflows", {"graph_name": "ecommerce", "documents": [{"content": "x y z"}]})
        assert status == 202, reply
        status, error = alone.get(f"/api/workflows/{reply['workflow_id']}/lineage")
    finally:
        alone.stack.stop()
    assert status == 503
    assert error["error"] == {
        "code": "no_catalog",
        "message": "no catalog is serving gaai.catalog.lineage; start one with 'gaai up' or 'gaai agent catalog'",
        "retryable": True,
    }


@pytest.mark.parametrize(("suffix", "media_type"), [("html", "text/html"), ("md", "text/markdown")])
def test_trace_exports_are_the_clis_files_served_sandboxed(gateway: Gateway, finished: dict, suffix, media_type):
    url = f"{gateway.url}/api/workflows/{finished['workflow_id']}/trace.{suffix}"
    progress = msgspec.convert(finished, WorkflowProgress)
    with urllib.request.urlopen(url) as response:
        body, headers = response.read().decode(), response.headers
    assert body == (trace_html(progress) if suffix == "html" else trace_markdown(progress))
    assert headers["Content-Type"].startswith(media_type)
    assert headers["Content-Security-Policy"].startswith("sandbox;")
    assert headers["Content-Disposition"] == f'inline; filename="trace-{finished["workflow_id"]}.{suffix}"'
    with urllib.request.urlopen(url + "?download=1") as response:
        assert response.headers["Content-Disposition"].startswith("attachment;")


def test_graphs_list_the_store_with_counts_and_semantics(gateway: Gateway):
    status, body = gateway.get("/api/graphs")
    assert status == 200
    jsonschema.validate(body, _component("GraphList"))
    info = EmbeddedStore(gateway.home).graph("ecommerce")
    (graph,) = [g for g in body["graphs"] if g["name"] == "ecommerce"]
    assert graph["vertex_collections"] == info.vertex_collections
    assert graph["edge_collections"] == info.edge_collections
    assert [s["collection"] for s in graph["edge_semantics"]] == list(info.edge_collections)


def _multipart(fields: dict[str, str], files: list[tuple[str, bytes]]) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in fields.items()
    ]
    parts += [
        f'--{boundary}\r\nContent-Disposition: form-data; name="documents"; filename="{name}"\r\n'
        f"Content-Type: text/markdown\r\n\r\n".encode()
        + data
        + b"\r\n"
        for name, data in files
    ]
    return b"".join(parts) + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def test_a_form_with_a_document_file_runs_on_that_document(gateway: Gateway):
    body, content_type = _multipart(
        {"graph_name": "ecommerce", "max_executions": "1", "enable_parallelism": "false"},
        [("../../etc/req uirements.md", DEMO_REQUIREMENTS.encode())],
    )
    status, reply = http("POST", gateway.url + "/api/workflows", body, {"Content-Type": content_type})
    assert status == 202, reply
    progress = gateway.wait_final(reply["workflow_id"])
    assert progress["status"] == "completed", progress["failures"]
    assert progress["enable_parallelism"] is False
    texts = " ".join(c["text"] for c in progress["coverage"])
    assert "influential customers" in texts


async def _sse(url: str, headers: dict | None = None) -> list[tuple[str | None, str, str]]:
    """(id, event, data) of every event of a stream, read to its end."""
    events, current = [], {}
    async with aiohttp.ClientSession() as session, session.get(url, headers=headers or {}) as response:
        assert response.status == 200
        assert response.headers["Content-Type"] == "text/event-stream"
        async for raw in response.content:
            line = raw.decode().rstrip("\n")
            if not line:
                if current:
                    events.append((current.get("id"), current["event"], current["data"]))
                current = {}
            elif not line.startswith(":"):
                key, _, value = line.partition(": ")
                current[key] = value
    return events


async def test_events_replay_to_the_end_and_resume_after_the_last_event_id(gateway: Gateway, finished: dict):
    url = f"{gateway.url}/api/workflows/{finished['workflow_id']}/events"
    events = await _sse(url)
    assert events[0][1] == "status" and json.loads(events[0][2])["status"] == "completed"
    assert events[-1][1] == "end"
    numbered = [(int(i), name, json.loads(data)) for i, name, data in events if i is not None]
    assert [i for i, _, _ in numbered] == sorted({i for i, _, _ in numbered})
    assert {name for _, name, _ in numbered} <= {"task", "workflow"}
    assert numbered[-1][1] == "workflow" and numbered[-1][2]["status"] == "completed"
    done = {
        e["task_id"] for _, name, d in numbered if name == "workflow" for e in d["tasks"] if e["status"] == "completed"
    }
    assert done == {t["task_id"] for t in finished["tasks"] if t["status"] == "completed"}
    middle = numbered[len(numbered) // 2][0]
    resumed = await _sse(url, {"Last-Event-ID": str(middle)})
    assert [int(i) for i, _, _ in resumed if i is not None] == [i for i, _, _ in numbered if i > middle]


def test_retry_and_cancel_answer_with_the_orchestrators_codes(gateway: Gateway, finished: dict):
    workflow_id = finished["workflow_id"]
    completed = next(t["task_id"] for t in finished["tasks"] if t["status"] == "completed")
    status, error = gateway.post(f"/api/workflows/{workflow_id}/tasks/{completed}/retry", {})
    assert (status, error["error"]["code"]) == (409, "not_failed")
    status, error = gateway.post(f"/api/workflows/{workflow_id}/tasks/{workflow_id}.nothing/retry", {})
    assert (status, error["error"]["code"]) == (404, "unknown_task")
    status, after = gateway.post(f"/api/workflows/{workflow_id}/cancel", {"reason": "too late"})
    assert status == 200 and after["status"] == "completed"  # a finished workflow stays as it ended


def test_cancel_stops_a_running_workflow(gateway: Gateway):
    status, reply = gateway.post(
        "/api/workflows", {"graph_name": "ecommerce", "documents": [{"content": DEMO_REQUIREMENTS}]}
    )
    assert status == 202
    status, after = gateway.post(f"/api/workflows/{reply['workflow_id']}/cancel", {"reason": "from the test"})
    assert status == 200, after
    assert gateway.wait_final(reply["workflow_id"])["status"] in ("cancelled", "completed")


@pytest.mark.parametrize(
    ("method", "path", "body", "headers", "status", "code"),
    [
        ("GET", "/api/workflows/wf-none", None, {}, 404, "unknown_workflow"),
        ("GET", "/api/workflows/bad%20id", None, {}, 404, "unknown_workflow"),
        ("GET", "/api/workflows/wf-none/lineage", None, {}, 404, "unknown_workflow"),
        ("GET", "/api/workflows/wf-none/trace.html", None, {}, 404, "unknown_workflow"),
        ("GET", "/api/workflows/wf-none/trace.pdf", None, {}, 404, "unknown_route"),
        ("GET", "/api/workflows/wf-none/events", None, {}, 404, "unknown_workflow"),
        ("GET", "/api/workflows?limit=0", None, {}, 400, "bad_request"),
        ("GET", "/api/nothing", None, {}, 404, "unknown_route"),
        ("DELETE", "/api/workflows", None, {}, 405, "unknown_route"),
        ("POST", "/api/workflows", b"{not json", {"Content-Type": "application/json"}, 400, "bad_request"),
        (
            "POST",
            "/api/workflows",
            b'{"graph_name": "nope"}',
            {"Content-Type": "application/json"},
            404,
            "unknown_graph",
        ),
        (
            "POST",
            "/api/workflows",
            b'{"graph_name": "ecommerce", "max_executions": 0}',
            {"Content-Type": "application/json"},
            400,
            "bad_request",
        ),
        (
            "POST",
            "/api/workflows",
            b"graph_name=ecommerce",
            {"Content-Type": "application/x-www-form-urlencoded"},
            400,
            "bad_request",
        ),
        (
            "POST",
            "/api/workflows",
            b'{"graph_name": "ecommerce"}',
            {"Content-Type": "application/json", "Origin": "http://evil.example"},
            403,
            "cross_origin",
        ),
        (
            "POST",
            "/api/workflows/wf-none/cancel",
            b'{"reason": 5}',
            {"Content-Type": "application/json"},
            400,
            "bad_request",
        ),
        (
            "POST",
            "/api/workflows",
            b'{"graph_name": "ecommerce", "workflow_id": "a/b"}',
            {"Content-Type": "application/json"},
            400,
            "bad_request",
        ),
    ],
)
def test_errors_are_the_bus_codes_with_http_statuses(gateway: Gateway, method, path, body, headers, status, code):
    answered, error = http(method, gateway.url + path, body, headers)
    assert (answered, error["error"]["code"]) == (status, code), error
    assert error["error"]["message"]


def test_an_upload_over_the_limit_is_refused_before_it_is_read(gateway: Gateway):
    body, content_type = _multipart({"graph_name": "ecommerce"}, [("big.md", b"x" * (17 * 1024 * 1024))])
    status, error = http("POST", gateway.url + "/api/workflows", body, {"Content-Type": content_type})
    assert (status, error["error"]["code"]) == (413, "too_large")
    assert "16 MiB" in error["error"]["message"]


def test_the_dashboard_is_served_under_a_strict_content_security_policy(gateway: Gateway):
    with urllib.request.urlopen(gateway.url + "/") as response:
        policy = response.headers["Content-Security-Policy"]
        page = response.read().decode()
    assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert "<script" in page and "http://" not in page and "https://" not in page  # nothing from elsewhere


def _form(fields: dict[str, str], file_field: str = "documents") -> tuple[bytes, dict]:
    body, content_type = _multipart(fields, [])
    if file_field != "documents":
        body, content_type = _multipart(fields, [("a.md", b"text")])
        body = body.replace(b'name="documents"', f'name="{file_field}"'.encode())
    return body, {"Content-Type": content_type}


JSON = {"Content-Type": "application/json"}
HOSTILE = [
    ("POST", "/api/workflows", b"[" * 100_000, JSON),
    ("POST", "/api/workflows", b'{"graph_name": "' + b"a" * 10_000 + b'"}', JSON),
    ("POST", "/api/workflows", b'{"graph_name": "ecommerce\\n"}', JSON),
    ("POST", "/api/workflows", b'{"graph_name": "eco\\u0000merce"}', JSON),
    ("POST", "/api/workflows", b'{"graph_name": "\xff\xfe"}', JSON),
    ("POST", "/api/workflows", b"null", JSON),
    ("POST", "/api/workflows", b'{"graph_name": "ecommerce", "documents": [{"path": "../../etc/passwd"}]}', JSON),
    ("POST", "/api/workflows", b'{"graph_name": "ecommerce", "documents": [{"object_name": "x/../y"}]}', JSON),
    ("POST", "/api/workflows", b'{"graph_name": "ecommerce", "documents": [{"content": ""}]}', JSON),
    ("POST", "/api/workflows", b'{"graph_name": "ecommerce", "custom_vertical": {"metadata": 5}}', JSON),
    ("POST", "/api/workflows", *_form({"graph_name": "ecommerce", "max_executions": "lots"})),
    ("POST", "/api/workflows", *_form({"graph_name": "ecommerce", "enable_parallelism": "maybe"})),
    ("POST", "/api/workflows", *_form({"graph_name": "ecommerce", "request": "{broken"})),
    ("POST", "/api/workflows", *_form({"graph_name": "ecommerce", "request": "[1, 2]"})),
    ("POST", "/api/workflows", *_form({"graph_name": "ecommerce"}, file_field="graph_name")),
    ("POST", "/api/workflows", b"--x\r\nbroken", {"Content-Type": "multipart/form-data; boundary=x"}),
    ("GET", "/api/workflows/wf-none/events?after=-1", None, {}),
    ("GET", "/api/workflows/%00/trace", None, {}),
    ("GET", "/api/workflows/" + "w" * 5000, None, {}),
    ("GET", "/api/workflows/wf-none/reports/..%2F..%2Fetc/html", None, {}),
    ("POST", "/api/workflows/wf-none/tasks/" + "t" * 300 + "/retry", b"", {}),
    ("POST", "/api/session", b'{"token": "guess"}', JSON),
    ("POST", "/api/session", '{"token": "ĝüéß"}'.encode(), JSON),
]


@pytest.mark.parametrize(("method", "path", "body", "headers"), HOSTILE, ids=range(len(HOSTILE)))
def test_hostile_input_gets_a_one_line_error_and_the_gateway_keeps_serving(
    gateway: Gateway, method, path, body, headers
):
    status, error = http(method, gateway.url + path, body, headers)
    assert 400 <= status < 500, (status, error)
    assert error["error"]["code"] in ERROR_CODES
    message = error["error"]["message"]
    assert message and "\n" not in message and "Traceback" not in message
    assert gateway.get("/api/workflows?limit=1")[0] == 200


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_the_javascript_client_example_follows_a_workflow_to_its_reports(gateway: Gateway):
    example = Path(__file__).parents[2] / "examples" / "web_client.mjs"
    run = subprocess.run(["node", str(example), gateway.url], capture_output=True, text=True, timeout=90)
    assert run.returncode == 0, run.stderr + run.stdout
    lines = run.stdout.splitlines()
    workflow_id = lines[0].split()[1]
    progress = gateway.get(f"/api/workflows/{workflow_id}")[1]
    assert f"workflow {workflow_id} completed" in lines
    assert any(
        line.endswith(f"workflow completed: {len(progress['tasks'])}/{len(progress['tasks'])} tasks done")
        for line in lines
    )
    reports = [line for line in lines if line.startswith("report ")]
    assert [line.split(":")[0] for line in reports] == [f"report {r['template_id']}" for r in progress["reports"]]
    assert all(f"{r['title']} | # " in line for r, line in zip(progress["reports"], reports, strict=True))
    lineage = [line for line in lines if line.startswith("lineage ")]
    assert len(lineage) == len(progress["coverage"])
    chains = gateway.get(f"/api/workflows/{workflow_id}/lineage")[1]["requirements"]
    for requirement, line in zip(chains, lineage, strict=True):
        assert line.startswith(f"lineage {requirement['requirement_id']} ({requirement['status']}): ")
        assert all(f"{link['use_case_id']} -> {link['template_id']}" in line for link in requirement["links"])
    summary = gateway.get(f"/api/workflows/{workflow_id}/trace")[1]["summary"]
    steps, calls, errors = summary["steps_completed"], summary["llm_calls"], summary["errors"]
    assert f"trace {steps} steps, {calls} LLM calls, {errors} errors" in lines
