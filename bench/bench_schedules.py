"""Schedules against the critical path, and execution replica scaling, with emulated latencies.

Schedules: the real orchestrator and one emulated agent process per kind, each task
sleeping its ``SEED_SCALED`` delay (the seed's phase timings / 100; per-template
execution and report delays drawn log-normally around the seed's means, so templates are
uneven). Per template count it measures, from submission to the completion event:

- pipelined: the default schedule (a template's report starts when its execution ends);
- sequential: ``enable_parallelism=False`` (one task at a time);
- phased: the seed's barriers (all executions, then all reports). The orchestrator has
  no barrier mode, so this one is **computed, not run**: the measured pipelined run with
  its report phase moved behind a barrier after the last execution, using the same
  run's measured report durations and dispatch gap (see ``_phased_from``);
- the bound: the DAG's critical path from the configured delays with zero overhead.

Replica scaling: 16 templates whose executions sleep a fixed time (I/O-bound), other
steps no-op, on 1, 2, 4 and 8 execution replicas that each take one task at a time
(``GAAI_CONCURRENCY=1``); execution throughput is templates ÷ (last execution end −
first execution dispatch).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from statistics import median

from gaai.bench._stack import DOCUMENT, GRAPH, BenchStack, Completions, submit_when_served, wait_pull_waiting
from gaai.bench.emulated_agents import SEED_SCALED, Profile, template_delays
from gaai.bus.contract import DocumentInput, SubmitRequest, TaskState, WorkflowProgress
from gaai.orchestrator.dag import HEAD_TASKS
from graph_analytics_ai.client import WorkflowClient

# Emulated agents sleep instead of computing, so one process holds every task at once;
# the bound assumes unlimited parallelism and so must the schedule being compared to it.
EMULATED_CONCURRENCY = 256


def critical_path_ms(profile: Profile, count: int) -> float:
    """Longest chain of the workflow DAG in ms, from the configured delays (zero overhead)."""
    finished_at: dict[str, float] = {}
    for agent, depends_on in HEAD_TASKS:
        finished_at[agent] = max((finished_at[d] for d in depends_on), default=0.0) + profile.fixed_ms.get(agent, 0.0)
    return finished_at[HEAD_TASKS[-1][0]] + max(e + r for e, r in template_delays(profile, count))


async def _run(
    client: WorkflowClient, completions: Completions, count: int, parallel: bool
) -> tuple[float, WorkflowProgress]:
    workflow_id = f"wf-bench-{uuid.uuid4().hex[:16]}"
    request = SubmitRequest(
        graph_name=GRAPH,
        documents=[DocumentInput(content=DOCUMENT)],
        max_executions=count,
        enable_parallelism=parallel,
        workflow_id=workflow_id,
    )
    done = completions.expect(workflow_id)
    started = time.perf_counter()
    await submit_when_served(client, request)
    ended, status = await asyncio.wait_for(done, 600)
    if status != "completed":
        raise RuntimeError(f"workflow {workflow_id} {status}")
    return (ended - started) * 1000, await client.status(workflow_id)


def _by_agent(progress: WorkflowProgress, agent: str) -> dict[str, TaskState]:
    return {t.task_id.rsplit(".", 1)[1]: t for t in progress.tasks if t.agent == agent}


def _phased_from(makespan_ms: float, progress: WorkflowProgress) -> float:
    """The phased makespan computed from a measured pipelined run (ms).

    Both schedules dispatch every execution at the same moment, so the executions are
    taken as measured. Phased then waits for the last execution to end, dispatches the
    reports after the run's median measured gap between an execution's end and its
    report's dispatch, and ends with the longest measured report (dispatch to end).
    What follows the last report (the completion event) is kept as
    measured. Publishing all reports at once would add the fan-out skew on top, so the
    computed phased makespan is, if anything, optimistic.
    """
    executions, reports = _by_agent(progress, "execution"), _by_agent(progress, "reporting")
    report_gap = median(reports[key].dispatched_at - e.ended_at for key, e in executions.items())
    barrier = max(e.ended_at for e in executions.values())
    phased_reports_end = barrier + report_gap + max(r.ended_at - r.dispatched_at for r in reports.values())
    pipelined_reports_end = max(r.ended_at for r in reports.values())
    return makespan_ms + (phased_reports_end - pipelined_reports_end) * 1000


async def bench_schedules(quick: bool) -> dict:
    """Makespans of the three schedules per template count, next to the critical-path bound."""
    counts = [5] if quick else [1, 5, 16, 64]
    profile = SEED_SCALED
    rows = []
    with BenchStack("schedules") as stack:
        stack.system(profile, concurrency=EMULATED_CONCURRENCY)
        async with stack.client("gaai-bench-schedules") as (client, completions):
            await _run(client, completions, 1, True)  # warm-up: every process is serving
            for count in counts:
                repeats = 1 if quick else 3
                pipelined, phased = [], []
                for _ in range(repeats):
                    makespan, progress = await _run(client, completions, count, True)
                    pipelined.append(makespan)
                    phased.append(_phased_from(makespan, progress))
                sequential = [
                    (await _run(client, completions, count, False))[0]
                    for _ in range(1 if quick or count > 16 else repeats)
                ]
                bound = critical_path_ms(profile, count)
                delays = template_delays(profile, count)
                row = {
                    "templates": count,
                    "bound_ms": bound,
                    "pipelined_ms": median(pipelined),
                    "phased_ms_computed": median(phased),
                    "sequential_ms": median(sequential),
                    "sum_of_delays_ms": sum(profile.fixed_ms.values()) + sum(e + r for e, r in delays),
                    "execution_ms_min_max": [min(e for e, _ in delays), max(e for e, _ in delays)],
                }
                row["critical_path_ratio"] = row["pipelined_ms"] / bound
                row["overhead_over_bound_ms"] = row["pipelined_ms"] - bound
                row["speedup_vs_sequential"] = row["sequential_ms"] / row["pipelined_ms"]
                # No schedule beats sequential by more than the delays' sum over the critical path.
                row["speedup_possible"] = row["sum_of_delays_ms"] / bound
                row["phased_over_pipelined"] = row["phased_ms_computed"] / row["pipelined_ms"]
                rows.append(row)
    [five] = [r for r in rows if r["templates"] == 5]
    return {
        "profile": {
            "fixed_ms": profile.fixed_ms,
            "execution_mean_ms": profile.execution_mean_ms,
            "report_mean_ms": profile.report_mean_ms,
            "spread": profile.spread,
            "seed": profile.seed,
        },
        "rows": rows,
        "critical_path_ratio": five["critical_path_ratio"],
        "speedup_vs_sequential": five["speedup_vs_sequential"],
        "phased_over_pipelined": five["phased_over_pipelined"],
    }


async def bench_replicas(quick: bool) -> dict:
    """Execution throughput on 1, 2, 4 and 8 single-task execution replicas."""
    templates = 16
    execution_ms = 50.0 if quick else 150.0
    replica_counts = [1, 8] if quick else [1, 2, 4, 8]
    repeats = 1 if quick else 3
    profile = Profile(execution_mean_ms=execution_ms)
    rows = []
    with BenchStack("replicas") as stack:
        stack.system(profile, without=("execution",))
        async with stack.client("gaai-bench-replicas") as (client, completions):
            running = 0
            for replicas in replica_counts:
                while running < replicas:
                    running += 1
                    stack.emulated(["execution"], profile, concurrency=1, name=f"execution-{running}")
                await wait_pull_waiting(client.bus, "execution", replicas)
                await _run(client, completions, templates, True)  # warm-up on this replica set
                throughputs, makespans = [], []
                for _ in range(repeats):
                    makespan, progress = await _run(client, completions, templates, True)
                    executions = _by_agent(progress, "execution").values()
                    span = max(e.ended_at for e in executions) - min(e.dispatched_at for e in executions)
                    throughputs.append(templates / span)
                    makespans.append(makespan)
                    await wait_pull_waiting(client.bus, "execution", replicas)
                rows.append(
                    {"replicas": replicas, "executions_per_s": median(throughputs), "makespan_ms": median(makespans)}
                )
    base = rows[0]["executions_per_s"]
    for row in rows:
        row["gain"] = row["executions_per_s"] / base
        row["efficiency"] = row["gain"] / row["replicas"]
    return {
        "templates": templates,
        "execution_ms": execution_ms,
        "rows": rows,
        "ideal_executions_per_s_per_replica": 1000 / execution_ms,
        "replica_scaling_efficiency": rows[-1]["efficiency"],
    }
