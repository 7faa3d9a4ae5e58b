"""One distributed trace per workflow, exported over OTLP/HTTP from every process."""

from __future__ import annotations

import asyncio
import time

import pytest

from gaai.bus.contract import AGENT_NAMES, SubmitRequest
from gaai.bus.settings import Settings
from gaai.bus.trace import summarize
from gaai.store import EmbeddedStore
from gaai.store.sample import ensure_sample_graph
from gaai.telemetry.testing import OtlpReceiver
from graph_analytics_ai.client import connected_client
from graph_analytics_ai.stack import LocalStack

PRODUCER, CONSUMER = 4, 5  # OTLP SpanKind values


@pytest.fixture
def receiver(monkeypatch):
    with OtlpReceiver() as running:
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", running.endpoint)
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")
        monkeypatch.setenv("OTEL_BSP_SCHEDULE_DELAY", "100")
        yield running


async def test_workflow_is_one_trace_across_every_process(home, receiver):
    """Spans from the orchestrator and every agent share the workflow's trace id and link up."""
    ensure_sample_graph(EmbeddedStore(home), "ecommerce")
    text = "We must find the most influential customers. We should detect communities of customers."
    with LocalStack(home=home) as stack:
        async with connected_client(Settings(nats_url=stack.nats_url), name="test") as client:
            workflow_id = await client.submit(
                SubmitRequest(graph_name="ecommerce", documents=[{"content": text}], max_executions=2)
            )
            progress = await client.wait(workflow_id, timeout=120)
    assert progress.status == "completed"
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not any(s.name.startswith("workflow ") for s in receiver.spans):
        await asyncio.sleep(0.1)
    spans = [s for s in receiver.spans if s.trace_id == progress.trace_id]
    assert {s.trace_id for s in receiver.spans if s.name.startswith(("send gaai.task", "process gaai.task"))} == {
        progress.trace_id
    }
    services = {s.service for s in spans}
    assert services == {"gaai-orchestrator", *(f"gaai-{a}" for a in AGENT_NAMES)}

    by_id = {s.span_id: s for s in spans}
    [root] = [s for s in spans if s.parent_span_id == ""]
    assert root.name == "workflow ecommerce" and root.service == "gaai-orchestrator"
    assert root.attributes["gaai.workflow.id"] == workflow_id
    phases = [s for s in spans if s.name.startswith("phase ")]
    assert {p.parent_span_id for p in phases} == {root.span_id}
    assert len([p for p in phases if "executions" in p.name]) == 1

    consumers = [s for s in spans if s.kind == CONSUMER and s.name.startswith("process gaai.task.")]
    assert len(consumers) == len([t for t in progress.tasks if t.status == "completed"])
    for consumer in consumers:
        producer = by_id[consumer.parent_span_id]
        assert producer.kind == PRODUCER and producer.service == "gaai-orchestrator"
        assert producer.name == consumer.name.replace("process", "send")
        assert by_id[producer.parent_span_id].name.startswith("phase ")
        assert consumer.attributes["messaging.system"] == "nats"
        assert consumer.attributes["messaging.destination.name"] == consumer.name.split(" ")[1]
        assert consumer.attributes["messaging.consumer.group.name"].startswith("agent-")
        assert consumer.attributes["messaging.message.body.size"] > 0
    executions = [s for s in spans if s.name == "send gaai.task.execution"]
    assert len(executions) == 2 and len({s.parent_span_id for s in executions}) == 1, "fan-out under one phase span"

    llm_spans = [s for s in spans if s.name.startswith("chat ")]
    assert len(llm_spans) == summarize(progress).llm_calls
    assert (
        sum(s.attributes["gen_ai.usage.input_tokens"] + s.attributes["gen_ai.usage.output_tokens"] for s in llm_spans)
        == summarize(progress).total_tokens
    )
    for name in ("load graph", "run pagerank", "write results", "parse document", "analyze schema"):
        assert any(s.name == name for s in spans), name
    run = next(s for s in spans if s.name == "run pagerank")
    assert run.attributes["gaai.graph.edges"] > 0 and by_id[run.parent_span_id].name == "process gaai.task.execution"
