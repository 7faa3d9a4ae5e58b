"""The execution agent's task handler: hands each task to a worker process, records its stages.

The agent's CPU pool forks every worker from a forkserver that preloads this module, so
every worker starts with what it imports instead of importing it again per task: the
worker entry point (``agents.lib.cpu_pool``, through the context the handler's annotation
names, and with it the NATS client) and the engine's compiled kernels. The kernels are
loaded here rather than in ``agents.execution.run`` so that other callers of
``execute_template`` do not load numba.
"""

from __future__ import annotations

from gaai.agents.execution.engine import load_compiled_kernels
from gaai.agents.execution.run import execute_template
from gaai.agents.lib.context import AgentContext
from gaai.bus.contract import ExecutionResult, ExecutionTask
from gaai.bus.domain import ExecutionSummary
from gaai.telemetry.tracing import record_span

# At import, so never on a running event loop: in the agent's own process before it
# serves, and in the forkserver. With an empty numba cache the agent's own process compiles
# the kernels before it serves, and the forkserver then finds them cached. Compiling in a
# background thread would not hold up serving, but a fork taken while that thread holds
# numba's compiler lock would hang the worker's first kernel.
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
