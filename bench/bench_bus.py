"""Bus and orchestration overhead: one hop, one no-op workflow, concurrent workflows per second.

- Hop: this process plays the orchestrator's side of one task. It publishes a
  ``TaskEnvelope`` to ``gaai.task.execution`` (a JetStream publish that waits for the
  store's ack, as the orchestrator does), an emulated no-op agent in another process
  takes it through ``bus.worker.serve`` and publishes its result, and this process pulls
  the result from ``GAAI_RESULTS`` with a durable pull consumer. One task at a time.
- Workflow: the real orchestrator and catalog processes and one emulated no-op agent
  process per task agent kind; a client submits a workflow with one inline document and five templates and
  waits for its completion event (a core subscription on ``gaai.event.<id>``, made
  before submitting). One workflow at a time.
- Throughput: the same stack under load. Sustained: ``in_flight`` workflows kept running
  (each completion submits the next), completions per second counted after the first
  ``in_flight`` completions (ramp-up) and before the last ``in_flight`` (drain). Burst:
  ``in_flight`` workflows submitted at once, divided by the time until the last completes
  (ramp-up and drain included, so it reads lower).
"""

from __future__ import annotations

import asyncio
import time
import uuid

from gaai.bench._stack import (
    DOCUMENT,
    GRAPH,
    BenchStack,
    Completions,
    submit_when_served,
    wait_pull_waiting,
)
from gaai.bench.emulated_agents import NO_OP
from gaai.bench.measures import percentile, sustained_rate
from gaai.bus import subjects
from gaai.bus.codec import encode, result_decoder
from gaai.bus.connection import Bus
from gaai.bus.contract import DocumentInput, ExecutionTask, SubmitRequest, TaskEnvelope
from gaai.bus.domain import AnalysisTemplate
from gaai.bus.feed import Feed
from graph_analytics_ai.client import WorkflowClient

TEMPLATES = 5


async def bench_hop(quick: bool) -> dict:
    """p50/p99 of publish task → no-op agent in another process → result pulled back."""
    samples, warmup = (300, 30) if quick else (3000, 100)
    with BenchStack("hop") as stack:
        stack.emulated(["execution"], NO_OP)
        settings = stack.settings()
        bus = await Bus.connect(settings, name="gaai-bench-hop")
        try:
            await wait_pull_waiting(bus, "execution", 1)
            await bus.ensure_orchestrator_consumer(settings)
            arrived: asyncio.Queue = asyncio.Queue()
            results = Feed(bus, subjects.RESULTS_STREAM, subjects.ORCHESTRATOR_CONSUMER, 1, arrived.put)
            await results.start()
            template = AnalysisTemplate(
                id="T001",
                use_case_id="UC-1",
                title="hop",
                algorithm="pagerank",
                vertex_collections=["vertices"],
                edge_collections=["edges"],
            )
            workflow_id = f"hop-{uuid.uuid4().hex[:12]}"
            total, to_agent, in_agent, back = [], [], [], []
            for i in range(warmup + samples):
                envelope = TaskEnvelope(
                    workflow_id=workflow_id,
                    task_id=f"{workflow_id}.execution.{i}",
                    task=ExecutionTask(graph_name=GRAPH, template=template),
                )
                headers = {
                    subjects.HEADER_MSG_ID: f"task:{envelope.task_id}:1",
                    subjects.HEADER_TRACEPARENT: f"00-{uuid.uuid4().hex}-{uuid.uuid4().hex[:16]}-01",
                    subjects.HEADER_WORKFLOW_ID: workflow_id,
                    subjects.HEADER_TASK_ID: envelope.task_id,
                }
                sent_wall, sent = time.time(), time.perf_counter()
                await bus.publish(subjects.task_subject("execution"), encode(envelope), headers)
                message = await asyncio.wait_for(arrived.get(), 10)
                received, received_wall = time.perf_counter(), time.time()
                reply = result_decoder.decode(message.data)
                await message.ack()
                if reply.task_id != envelope.task_id or reply.result is None:
                    raise RuntimeError(f"unexpected reply {reply.task_id} {reply.error}")
                if i >= warmup:
                    total.append((received - sent) * 1000)
                    # Same host, same clock: the agent's own timestamps split the hop.
                    to_agent.append((reply.started_at - sent_wall) * 1000)
                    in_agent.append((reply.ended_at - reply.started_at) * 1000)
                    back.append((received_wall - reply.ended_at) * 1000)
            await results.close()
        finally:
            await bus.close()
    return {
        "samples": samples,
        "hop_p50_ms": percentile(total, 50),
        "hop_p99_ms": percentile(total, 99),
        "hop_mean_ms": sum(total) / len(total),
        "to_agent_p50_ms": percentile(to_agent, 50),
        "in_agent_p50_ms": percentile(in_agent, 50),
        "back_p50_ms": percentile(back, 50),
    }


def _request(workflow_id: str) -> SubmitRequest:
    return SubmitRequest(
        graph_name=GRAPH, documents=[DocumentInput(content=DOCUMENT)], max_executions=TEMPLATES, workflow_id=workflow_id
    )


async def _one(client: WorkflowClient, completions: Completions, timeout: float = 60.0) -> tuple[float, str]:
    """Submit one workflow; returns (milliseconds from submission to completion event, id)."""
    workflow_id = f"wf-bench-{uuid.uuid4().hex[:16]}"
    done = completions.expect(workflow_id)
    started = time.perf_counter()
    await submit_when_served(client, _request(workflow_id))
    ended, status = await asyncio.wait_for(done, timeout)
    if status != "completed":
        raise RuntimeError(f"workflow {workflow_id} {status}")
    return (ended - started) * 1000, workflow_id


async def bench_workflows(quick: bool) -> dict:
    """Workflow overhead (one at a time) and throughput (many at once) with no-op agents."""
    sequential_runs = 10 if quick else 50
    concurrent, rounds = (20, 1) if quick else (100, 3)
    sustained_total = 4 * concurrent if quick else 8 * concurrent
    with BenchStack("workflow") as stack:
        stack.system(NO_OP)
        async with stack.client("gaai-bench-client") as (client, completions):
            # Warm-up: completes only once the orchestrator and every agent are serving.
            for _ in range(3):
                await _one(client, completions)
            latencies, internal = [], []
            for _ in range(sequential_runs):
                elapsed, workflow_id = await _one(client, completions)
                latencies.append(elapsed)
                progress = await client.status(workflow_id)
                internal.append((progress.updated_at - progress.created_at) * 1000)
            tasks = len(progress.tasks)
            per_second = []
            for _ in range(rounds):
                started = time.perf_counter()
                await asyncio.gather(*(_one(client, completions, timeout=300.0) for _ in range(concurrent)))
                per_second.append(concurrent / (time.perf_counter() - started))
            sustained = [
                (await sustained_rate(lambda: _one(client, completions, timeout=300.0), concurrent, sustained_total))[0]
                for _ in range(rounds)
            ]
    return {
        "templates": TEMPLATES,
        "tasks_per_workflow": tasks,
        "runs": sequential_runs,
        "workflow_overhead_ms": percentile(latencies, 50),
        "workflow_p90_ms": percentile(latencies, 90),
        "orchestrator_internal_p50_ms": percentile(internal, 50),
        "concurrent_workflows": concurrent,
        "sustained_workflows": sustained_total,
        "sustained_rounds_per_s": sustained,
        "workflows_per_s": percentile(sustained, 50),
        "burst_rounds": rounds,
        "burst_workflows_per_s": percentile(per_second, 50),
    }
