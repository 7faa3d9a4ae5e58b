"""A real Jaeger v2 receives a workflow's trace over OTLP/gRPC and serves it back complete.

Needs the Jaeger binary built by ``tools/jaeger/build.sh`` (Go required): ``.ci/run``
builds it where Go is available and passes its path in ``GAAI_JAEGER_BIN``.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from gaai.bus.contract import AGENT_NAMES, SubmitRequest
from gaai.bus.settings import Settings
from gaai.store import EmbeddedStore
from gaai.store.sample import ensure_sample_graph
from graph_analytics_ai.client import connected_client
from graph_analytics_ai.stack import LocalStack

JAEGER = os.environ.get("GAAI_JAEGER_BIN", "")
CONFIG = Path(__file__).parents[2] / "tools" / "jaeger" / "jaeger-test.yaml"

pytestmark = pytest.mark.skipif(
    not (JAEGER and Path(JAEGER).is_file()),
    reason="no Jaeger binary (GAAI_JAEGER_BIN); build it with tools/jaeger/build.sh",
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get_json(url: str):
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.loads(response.read())


@pytest.fixture
def jaeger(tmp_path, monkeypatch):
    ports = {name: free_port() for name in ("QUERY", "QUERY_GRPC", "OTLP_GRPC", "OTLP_HTTP")}
    env = dict(os.environ, **{f"GAAI_JAEGER_{name}_PORT": str(port) for name, port in ports.items()})
    with open(tmp_path / "jaeger.log", "wb") as log:
        process = subprocess.Popen([JAEGER, "--config", str(CONFIG)], env=env, stdout=log, stderr=log)
    query = f"http://127.0.0.1:{ports['QUERY']}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                get_json(f"{query}/api/services")
                break
            except (urllib.error.URLError, ConnectionError):
                assert process.poll() is None, (tmp_path / "jaeger.log").read_text()
                assert time.monotonic() < deadline, "Jaeger did not come up"
                time.sleep(0.2)
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", f"http://127.0.0.1:{ports['OTLP_GRPC']}")
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")
        monkeypatch.setenv("OTEL_BSP_SCHEDULE_DELAY", "100")
        yield query
    finally:
        process.terminate()
        try:
            process.wait(5)
        except subprocess.TimeoutExpired:
            process.kill()  # Jaeger drains slowly on SIGTERM; its data is in memory anyway
            process.wait()


async def test_demo_run_is_one_complete_trace_in_jaeger(home, jaeger):
    """Jaeger's query API returns the workflow's trace with spans of every service and the fan-out."""
    ensure_sample_graph(EmbeddedStore(home), "ecommerce")
    text = Path(__file__).parents[2].joinpath("graph_analytics_ai/data/requirements_ecommerce.md").read_text()
    with LocalStack(home=home) as stack:
        async with connected_client(Settings(nats_url=stack.nats_url), name="test") as client:
            workflow_id = await client.submit(
                SubmitRequest(graph_name="ecommerce", documents=[{"content": text}], max_executions=5)
            )
            progress = await client.wait(workflow_id, timeout=120)
    assert progress.status == "completed"
    deadline = time.monotonic() + 20
    while True:
        try:
            [trace] = get_json(f"{jaeger}/api/traces/{progress.trace_id}")["data"]
            services = {p["serviceName"] for p in trace["processes"].values()}
            if services >= {"gaai-orchestrator", *(f"gaai-{a}" for a in AGENT_NAMES)} and any(
                s["operationName"].startswith("workflow ") for s in trace["spans"]
            ):
                break
        except urllib.error.HTTPError:
            pass
        assert time.monotonic() < deadline, "the complete trace did not reach Jaeger"
        await asyncio.sleep(0.3)
    spans = trace["spans"]
    by_id = {s["spanID"]: s for s in spans}
    sends = [s for s in spans if s["operationName"] == "send gaai.task.execution"]
    assert len(sends) == 5
    [phase] = {s["references"][0]["spanID"] for s in sends}
    assert by_id[phase]["operationName"] == "phase Phase 4: executions"
    processes = [s for s in spans if s["operationName"] == "process gaai.task.execution"]
    assert sorted(s["references"][0]["spanID"] for s in processes) == sorted(s["spanID"] for s in sends)
    assert {trace["processes"][s["processID"]]["serviceName"] for s in processes} == {"gaai-execution"}
