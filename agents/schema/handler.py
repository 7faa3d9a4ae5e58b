"""The schema agent's task handler: analyses the graph in a worker, off the event loop."""

from __future__ import annotations

from gaai.agents.lib.context import AgentContext
from gaai.agents.schema.analysis import analyze_schema
from gaai.bus.contract import SchemaResult, SchemaTask
from gaai.telemetry.tracing import span


async def handle(task: SchemaTask, ctx: AgentContext) -> SchemaResult:
    with span(
        "analyze schema", **{"gaai.graph.name": task.graph_name, "gaai.sample_size": task.sample_size}
    ) as current:
        schema = await ctx.run_cpu(
            analyze_schema,
            ctx.store,
            task.graph_name,
            task.core_collections,
            task.satellite_collections,
            task.sample_size,
            task.edge_semantics,
        )
        current.set_attributes({"gaai.graph.vertices": schema.total_vertices, "gaai.graph.edges": schema.total_edges})
    return SchemaResult(schema=schema)
