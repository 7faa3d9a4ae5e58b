"""Schema analysis agent: what a graph holds and how its collections connect."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import msgspec

from bus.contract import AttributeInfo, CollectionInfo, EdgeDefinition, GraphSchema, SchemaResult, SchemaTask
from bus.errors import TaskError
from store import GraphStore, StoreError
from telemetry.tracing import span

SATELLITE_MAX_SHARE = 0.1
"""A vertex collection can only be a satellite if it has at most this share of the largest one's vertices."""

_SYSTEM_ATTRIBUTES = frozenset({"_key", "_id", "_from", "_to", "_rev"})
_MAX_EXAMPLES = 3
_EXAMPLE_LENGTH = 40
_encode_json = msgspec.json.Encoder().encode


def analyze_schema(
    store: GraphStore,
    graph_name: str,
    core_hints: Sequence[str] = (),
    satellite_hints: Sequence[str] = (),
    sample_size: int = 200,
) -> GraphSchema:
    """Describe a graph: its collections, their attributes, how edges connect them, and their roles.

    Attributes come from up to ``sample_size`` documents spread over each collection; edge
    definitions and counts come from all edges. Each vertex collection is *core* (where the
    action is: the entities analyses rank, group and connect) or *satellite* (a lookup table that
    other collections point to). The heuristic: a vertex collection is a satellite when edges only
    point into it — it is never an edge's source — and it has at most ``SATELLITE_MAX_SHARE`` of the
    vertices of the largest vertex collection (categories, countries, tags). Everything else is
    core. Hints override the heuristic for the collections they name.

    Args:
        store: Where the graph lives.
        graph_name: The graph to describe.
        core_hints: Vertex collections to classify as core whatever the heuristic says.
        satellite_hints: Vertex collections to classify as satellite whatever the heuristic says.
        sample_size: Documents sampled per collection for attribute statistics.

    Returns:
        The schema, collections sorted by name.

    Raises:
        TaskError: Code ``unknown_collection`` for a hint naming no vertex collection,
            ``conflicting_hints`` for a collection hinted both ways, or the store's code
            (e.g. ``unknown_graph``) when the graph cannot be read.
    """
    try:
        info = store.graph(graph_name)
        vertex_names = sorted(info.vertex_collections)
        edge_names = sorted(info.edge_collections)
        _check_hints(graph_name, vertex_names, core_hints, satellite_hints)
        definitions = [
            _edge_definition(name, store.edge_endpoint_counts(graph_name, name), info.edge_collections[name])
            for name in edge_names
        ]
        roles = _roles(info.vertex_collections, definitions, core_hints, satellite_hints)
        vertices = [
            CollectionInfo(
                name=name,
                kind="vertex",
                count=info.vertex_collections[name],
                attributes=_attributes(store.sample_documents(graph_name, name, sample_size)),
                role=roles[name],
            )
            for name in vertex_names
        ]
        edges = [
            CollectionInfo(
                name=name,
                kind="edge",
                count=info.edge_collections[name],
                attributes=_attributes(store.sample_documents(graph_name, name, sample_size)),
                role="edge",
            )
            for name in edge_names
        ]
    except StoreError as exc:
        raise TaskError(exc.code, exc.message, retryable=exc.code == "graph_changed") from exc
    return GraphSchema(
        graph_name=graph_name,
        vertex_collections=vertices,
        edge_collections=edges,
        edge_definitions=definitions,
        core_collections=[name for name in vertex_names if roles[name] == "core"],
        satellite_collections=[name for name in vertex_names if roles[name] == "satellite"],
        total_vertices=info.total_vertices,
        total_edges=info.total_edges,
    )


def _check_hints(
    graph_name: str, vertex_names: list[str], core_hints: Sequence[str], satellite_hints: Sequence[str]
) -> None:
    unknown = sorted({*core_hints, *satellite_hints} - set(vertex_names))
    if unknown:
        raise TaskError(
            "unknown_collection",
            f"Hinted collection(s) {', '.join(unknown)} are not vertex collections of graph '{graph_name}'; "
            f"its vertex collections are: {', '.join(vertex_names) or 'none'}.",
        )
    both = sorted(set(core_hints) & set(satellite_hints))
    if both:
        raise TaskError("conflicting_hints", f"Collection(s) {', '.join(both)} are hinted both core and satellite.")


def _edge_definition(name: str, pairs: list[tuple[str, str, int]], count: int) -> EdgeDefinition:
    return EdgeDefinition(
        collection=name,
        from_collections=sorted({source for source, _, _ in pairs}),
        to_collections=sorted({target for _, target, _ in pairs}),
        count=count,
    )


def _roles(
    counts: dict[str, int],
    definitions: list[EdgeDefinition],
    core_hints: Sequence[str],
    satellite_hints: Sequence[str],
) -> dict[str, str]:
    sources = {name for d in definitions for name in d.from_collections}
    largest = max(counts.values(), default=0)
    roles = {
        name: "satellite" if name not in sources and count <= SATELLITE_MAX_SHARE * largest else "core"
        for name, count in counts.items()
    }
    roles.update(dict.fromkeys(core_hints, "core"))
    roles.update(dict.fromkeys(satellite_hints, "satellite"))
    return roles


@dataclass
class _AttributeStats:
    types: set[str] = field(default_factory=set)
    present: int = 0
    examples: list[str] = field(default_factory=list)


def _attributes(docs: list[dict[str, Any]]) -> list[AttributeInfo]:
    """Per attribute in first-seen order: JSON types, share of documents having it, a few examples."""
    seen: dict[str, _AttributeStats] = {}
    for doc in docs:
        for name, value in doc.items():
            if name in _SYSTEM_ATTRIBUTES:
                continue
            stats = seen.setdefault(name, _AttributeStats())
            stats.types.add(_json_type(value))
            stats.present += 1
            text = _example(value)
            if len(stats.examples) < _MAX_EXAMPLES and text not in stats.examples:
                stats.examples.append(text)
    return [
        AttributeInfo(
            name=name,
            types=sorted(stats.types),
            present_ratio=round(stats.present / len(docs), 4),
            examples=stats.examples,
        )
        for name, stats in seen.items()
    ]


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return "null"


def _example(value: Any) -> str:
    text = value if isinstance(value, str) else _encode_json(value).decode()
    return text if len(text) <= _EXAMPLE_LENGTH else text[: _EXAMPLE_LENGTH - 1] + "…"


# ---------------------------------------------------------------- the agent


async def handle(task: SchemaTask, ctx) -> SchemaResult:
    with span("analyze schema", **{"gaai.graph.name": task.graph_name, "gaai.sample_size": task.sample_size}) as current:
        schema = await ctx.run_cpu(analyze_schema, ctx.store, task.graph_name, task.core_collections, task.satellite_collections, task.sample_size)
        current.set_attributes({"gaai.graph.vertices": schema.total_vertices, "gaai.graph.edges": schema.total_edges})
    return SchemaResult(schema=schema)


if __name__ == "__main__":
    from agents._runtime import run_agent

    run_agent("schema", handle)
