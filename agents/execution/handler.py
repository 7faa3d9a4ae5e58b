"""The execution agent's task handler: hands each task to a worker process, records its stages.

The agent's CPU pool forks every worker from a forkserver that preloads the handler's
module, this one, so what it loads at import every worker starts with: the worker entry
point (``agents._runtime``, imported here for the handler's annotation, and with it the
NATS client, 0.2 s per task otherwise) and the engine's compiled kernels (0.3 s per task
otherwise). The kernels are loaded here rather than in ``agents.execution`` so that
other callers of ``execute_template`` do not carry numba's 50 MB whatever they run.
"""

from __future__ import annotations

from agents._runtime import AgentContext
from agents.execution import execute_template
from agents.execution.engine import load_compiled_kernels
from bus.contract import ExecutionResult, ExecutionSummary, ExecutionTask
from telemetry.tracing import record_span

# At import, so never on a running event loop: in the agent's own process before it
# serves, and in the forkserver, whose start the agent's first task waits for (0.3 s
# longer than without). With an empty numba cache the agent's own process compiles the
# kernels (7.6 s, once per cache) before it serves, and the forkserver then finds them
# cached. Compiling in a background thread would not hold up serving, but a fork taken
# while that thread holds numba's compiler lock would hang the worker's first kernel.
load_compiled_kernels()


async def handle(task: ExecutionTask, ctx: AgentContext) -> ExecutionResult:
    summary = await ctx.run_cpu(execute_template, ctx.store, task.graph_name, task.template, ctx.task_id)
    record_stage_spans(summary)
    return ExecutionResult(summary=summary)


def record_stage_spans(summary: ExecutionSummary) -> None:
    """Spans for the stages timed inside the worker process, with their real times."""
    load_end = summary.started_at + summary.load_ms / 1000
    compute_end = load_end + summary.compute_ms / 1000
    size = {"gaai.graph.vertices": summary.vertex_count, "gaai.graph.edges": summary.edge_count}
    record_span("load graph", summary.started_at, load_end, **size, **{"gaai.graph.name": summary.graph_name})
    record_span(
        f"run {summary.algorithm}",
        load_end,
        compute_end,
        **size,
        **{"gaai.algorithm": summary.algorithm, "gaai.engine": summary.engine, "gaai.iterations": summary.iterations},
    )
    record_span(
        "write results",
        compute_end,
        compute_end + summary.write_ms / 1000,
        **{"gaai.result.ref": summary.result_ref, "gaai.result.rows": summary.vertex_count},
    )
