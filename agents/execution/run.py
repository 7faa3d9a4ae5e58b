"""The execution agent's work: one analysis template run on the graph, its per-vertex results stored.

The work (load the selected collections as arrays, run the algorithm, write the
per-vertex values, summarise) runs in a worker process, so the agent's event loop keeps
sending in-progress acks while a large graph is computed. Results are written under the
task's own id: two runs never overwrite each other, and a redelivered task rewrites its
own file instead of adding a second one. The task handler is in ``agents.execution.handler``.
"""

from __future__ import annotations

import time

import numpy as np

from gaai.agents.execution.engine import run_algorithm
from gaai.agents.execution.groups import describe_result
from gaai.agents.execution.summary import summarize_values, top_pairs
from gaai.agents.lib.algorithms import AlgorithmSpec, algorithm_spec, resolve_params
from gaai.bus.domain import AnalysisTemplate, ExecutionSummary
from gaai.bus.errors import TaskError
from gaai.store import GraphStore


def execute_template(
    store: GraphStore, graph_name: str, template: AnalysisTemplate, execution_id: str
) -> ExecutionSummary:
    """Load → compute → write → summarise; every stage timed."""
    spec = algorithm_spec(template.algorithm)
    params = resolve_params(template.algorithm, dict(template.params))
    started_at = time.time()
    started = time.perf_counter()
    arrays = store.load_arrays(
        graph_name, template.vertex_collections, template.edge_collections, template.edge_semantics
    )
    loaded = time.perf_counter()
    if arrays.num_vertices == 0:
        raise TaskError(
            "empty_graph", f"template {template.id}: the selected collections of {graph_name!r} hold no vertices"
        )
    collection_index = arrays.collection_index(np.arange(arrays.num_vertices))
    focus_positions = [arrays.collections.index(c) for c in template.focus_collections if c in arrays.collections]
    output = run_algorithm(
        template.algorithm,
        arrays.num_vertices,
        arrays.src,
        arrays.dst,
        params,
        weights=arrays.weights,
        undirected=arrays.undirected,
        **_roles(template, spec, params, arrays.collections, collection_index, focus_positions),
    )
    computed = time.perf_counter()
    result_ref = store.write_vertex_results(graph_name, execution_id, arrays, spec.result_field, output.values)
    written = time.perf_counter()
    groups = describe_result(arrays, template.algorithm, output.values)
    focus = np.flatnonzero(np.isin(collection_index, focus_positions)) if focus_positions else None
    hubs = []
    if output.hubs is not None:
        hub_args = (arrays.labels, arrays.vertex_ids, collection_index, arrays.collections)
        hubs = summarize_values(template.algorithm, output.hubs, *hub_args, focus=focus).top
    parts = summarize_values(
        template.algorithm,
        output.values,
        arrays.labels,
        arrays.vertex_ids,
        collection_index,
        arrays.collections,
        modularity=output.modularity,
        focus=focus,
        member_scores=groups.member_ties if groups else None,
    )
    return ExecutionSummary(
        execution_id=execution_id,
        template_id=template.id,
        algorithm=template.algorithm,
        graph_name=graph_name,
        vertex_count=arrays.num_vertices,
        edge_count=arrays.num_edges,
        result_ref=result_ref,
        result_field=spec.result_field,
        params=params,
        engine=output.engine,
        started_at=started_at,
        load_ms=(loaded - started) * 1000,
        compute_ms=(computed - loaded) * 1000,
        write_ms=(written - computed) * 1000,
        iterations=output.iterations,
        top=parts.top,
        distribution=parts.distribution,
        groups=parts.groups,
        by_collection=parts.by_collection,
        focus_distribution=parts.focus_distribution,
        top_by_collection=parts.top_by_collection,
        edge_semantics=arrays.edge_semantics,
        top_hubs=hubs,
        top_pairs=top_pairs(output.pairs, arrays.labels, arrays.vertex_ids, by_shared=spec.name == "co_occurrence"),
        **(groups.summary_fields() if groups else {}),
    )


def _roles(
    template: AnalysisTemplate,
    spec: AlgorithmSpec,
    params: dict,
    collections: list[str],
    collection_index: np.ndarray,
    focus_positions: list[int],
) -> dict[str, np.ndarray]:
    """The vertices an overlap algorithm compares (the focus collections) and, for co-occurrence,
    the members it counts (the ``members`` collection)."""
    if spec.kind != "overlap":
        return {}
    targets = np.isin(collection_index, focus_positions) if focus_positions else None
    if spec.name != "co_occurrence":
        return {"targets": targets}
    members = str(params["members"])
    if members not in collections or targets is None:
        raise TaskError(
            "bad_params",
            f"template {template.id}: co_occurrence needs focus collections and a members collection among the "
            f"loaded ones ({', '.join(collections)}); got focus {template.focus_collections} and members {members!r}",
        )
    return {"targets": targets, "members": collection_index == collections.index(members)}
