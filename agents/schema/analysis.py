"""Schema analysis agent: what a graph holds, how its collections connect and how its edges are read.

Per edge collection it reports the semantics in force (as declared at import, or overridden for
the workflow), the measured reciprocity and the numeric fields that could be weights, and warns
in plain sentences when the declared semantics look wrong.
"""

from __future__ import annotations

import math
import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from typing import Any

import msgspec
import numpy as np

from gaai.bus.domain import AttributeInfo, CollectionInfo, EdgeDefinition, EdgeSemantics, GraphSchema
from gaai.bus.errors import TaskError
from gaai.store import FieldStats, GraphStore, StoreError

SATELLITE_MAX_SHARE = 0.1
"""A vertex collection can only be a satellite if it has at most this share of the largest one's vertices."""

WEIGHT_PRESENCE = 0.99
"""A numeric edge field is a weight candidate when at least this share of the edges hold it."""
MUTUAL_BELOW = 0.5
"""A directed collection whose name says its ties are mutual is suspect below this reciprocity."""
BOTH_WAYS_FROM = 0.95
"""An undirected collection with at least this reciprocity lists its ties in both directions."""

_SYSTEM_ATTRIBUTES = frozenset({"_key", "_id", "_from", "_to", "_rev"})
# Words in an edge collection's name that say its ties go both ways.
_MUTUAL_WORDS = (
    "similar", "knows", "friend", "married", "spouse", "coauthor", "co_author", "related", "interact",
    "linked", "cooccur", "co_occur", "sibling", "partner", "collaborat",
)  # fmt: skip
# Words in a numeric field's name that say it measures a tie's strength.
_WEIGHT_WORDS = frozenset({
    "weight", "weights", "strength", "count", "counts", "frequency", "freq", "similarity", "affinity",
    "cooccurrence", "cooccurrences", "occurrence", "occurrences", "times", "interactions", "score", "w",
})  # fmt: skip
# Words in a numeric field's name that say it identifies or dates something rather than weighs it.
_NOT_WEIGHT_WORDS = frozenset({"id", "key", "ts", "time", "timestamp", "date", "year", "epoch", "created", "updated"})
_MAX_EXAMPLES = 3
_EXAMPLE_LENGTH = 40
_encode_json = msgspec.json.Encoder().encode


def analyze_schema(
    store: GraphStore,
    graph_name: str,
    core_hints: Sequence[str] = (),
    satellite_hints: Sequence[str] = (),
    sample_size: int = 200,
    edge_semantics: Sequence[EdgeSemantics] = (),
) -> GraphSchema:
    """Describe a graph: its collections, their attributes, how edges connect them, and their roles.

    Attributes come from up to ``sample_size`` documents spread over each collection; edge
    definitions and counts come from all edges. Each vertex collection is *core* (where the
    action is: the entities analyses rank, group and connect) or *satellite* (a lookup table that
    other collections point to). The heuristic: a vertex collection is a satellite when edges only
    point into it — it is never an edge's source — and it has at most ``SATELLITE_MAX_SHARE`` of the
    vertices of the largest vertex collection (categories, countries, tags). Everything else is
    core. Hints override the heuristic for the collections they name.

    Each edge collection is read as declared at import unless ``edge_semantics`` names it. Its
    reciprocity (share of edges whose reverse edge is in the same collection, self-loops never)
    is measured over all edges; its weight candidates are the numeric fields that at least
    ``WEIGHT_PRESENCE`` of its edges hold, not constant, never negative, named unlike an id or date.

    Args:
        store: Where the graph lives.
        graph_name: The graph to describe.
        core_hints: Vertex collections to classify as core whatever the heuristic says.
        satellite_hints: Vertex collections to classify as satellite whatever the heuristic says.
        sample_size: Documents sampled per collection for attribute statistics.
        edge_semantics: How some edge collections are read for this workflow.

    Returns:
        The schema, collections sorted by name, with warnings about semantics that look wrong.

    Raises:
        TaskError: Code ``unknown_collection`` for a hint naming no vertex collection or a
            semantics entry naming no edge collection, ``bad_weight`` for an overriding weight
            field that is not a number >= 0 on every edge,
            ``conflicting_hints`` for a collection hinted both ways, or the store's code
            (e.g. ``unknown_graph``) when the graph cannot be read.
    """
    try:
        info = store.graph(graph_name)
        vertex_names = sorted(info.vertex_collections)
        edge_names = sorted(info.edge_collections)
        _check_hints(graph_name, vertex_names, core_hints, satellite_hints)
        store.check_semantics(graph_name, edge_semantics)
        in_force = {name: info.semantics(name) for name in edge_names}
        in_force.update({entry.collection: entry for entry in edge_semantics})
        numeric = {name: store.numeric_field_stats(graph_name, name) for name in edge_names}
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
                name=definition.collection,
                kind="edge",
                count=definition.count,
                attributes=_attributes(store.sample_documents(graph_name, definition.collection, sample_size)),
                role="edge",
                directed=in_force[definition.collection].directed,
                weight_field=in_force[definition.collection].weight_field,
                reciprocity=_reciprocity(store, graph_name, definition),
                weight_candidates=_weight_candidates(numeric[definition.collection]),
            )
            for definition in definitions
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
        warnings=[
            text
            for edge in edges
            for text in semantics_warnings(edge, {s.name for s in numeric[edge.name] if s.present == s.total})
        ],
    )


def edge_semantics_of(schema: GraphSchema, edge_collections: Sequence[str]) -> list[EdgeSemantics]:
    """The semantics in force for the given edge collections of an analysed graph, in the given order."""
    by_name = {info.name: info for info in schema.edge_collections}
    return [
        EdgeSemantics(collection=name, directed=by_name[name].directed, weight_field=by_name[name].weight_field)
        for name in edge_collections
        if name in by_name
    ]


def reciprocity(src: np.ndarray, dst: np.ndarray, num_vertices: int) -> float | None:
    """Share of edges ``u -> v`` (``u != v``) for which an edge ``v -> u`` exists; None without edges.

    Over all edges at once: each edge becomes one integer code, and the reverse codes, sorted
    too so the lookup walks memory in order, are searched in the sorted codes. A self-loop is its
    own reverse and never counts as returned.
    """
    if len(src) == 0:
        return None
    source, target = src.astype(np.int64), dst.astype(np.int64)
    codes = np.sort(source * num_vertices + target)
    loops = source == target
    reverse = np.sort(target[~loops] * num_vertices + source[~loops])
    at = np.minimum(np.searchsorted(codes, reverse), len(codes) - 1)
    return float(np.count_nonzero(codes[at] == reverse)) / len(src)


def semantics_warnings(edge: CollectionInfo, on_every_edge: Collection[str] = ()) -> list[str]:
    """Plain sentences saying where the semantics in force for an edge collection look wrong.

    Args:
        edge: The analysed edge collection (semantics, reciprocity, weight candidates).
        on_every_edge: Its numeric fields that every edge holds (a weight must be on every edge).
    """
    warnings = []
    share = edge.reciprocity
    if edge.directed and share is not None and share < MUTUAL_BELOW and _sounds_mutual(edge.name):
        warnings.append(
            f"Edge collection '{edge.name}' is read as directed, but its name suggests ties that go both ways "
            f"and {_percent(share)} of its edges have a reverse edge: if its ties are mutual, declare it with "
            f"`--undirected {edge.name}`."
        )
    if not edge.directed and share is not None and share >= BOTH_WAYS_FROM:
        warnings.append(
            f"Edge collection '{edge.name}' is read as undirected and lists its ties in both directions "
            f"({_percent(share)} of its edges have a reverse edge): each pair counts as one tie."
        )
    if edge.weight_field is None:
        for name in edge.weight_candidates:
            if name in on_every_edge and _words(name) & _WEIGHT_WORDS:
                warnings.append(
                    f"Edge collection '{edge.name}' has a numeric field '{name}' on every edge that looks like a "
                    f"weight, but no weight is declared, so every edge counts 1: if it measures how strong a tie "
                    f"is, declare it with `--weight {edge.name}={name}`."
                )
    return warnings


def _reciprocity(store: GraphStore, graph_name: str, definition: EdgeDefinition) -> float | None:
    ends = sorted({*definition.from_collections, *definition.to_collections})
    if not ends:
        return None
    arrays = store.load_arrays(graph_name, ends, [definition.collection])
    share = reciprocity(arrays.src, arrays.dst, arrays.num_vertices)
    return None if share is None else round(share, 4)


def _weight_candidates(stats: list[FieldStats]) -> list[str]:
    return [
        s.name
        for s in stats
        if s.total
        and s.present >= WEIGHT_PRESENCE * s.total
        and math.isfinite(s.minimum)
        and math.isfinite(s.maximum)
        and 0 <= s.minimum < s.maximum
        and not _words(s.name) & _NOT_WEIGHT_WORDS
    ]


def _sounds_mutual(name: str) -> bool:
    lowered = name.lower().replace("-", "_")
    return lowered.startswith("co_") or "_co_" in lowered or any(word in lowered for word in _MUTUAL_WORDS)


def _words(name: str) -> set[str]:
    """The lower-case words of a field name: split at non-letters and at camelCase humps."""
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", name)
    return {word for word in re.split(r"[^A-Za-z]+", spaced.lower()) if word}


def _percent(share: float) -> str:
    if 0 < share < 0.01:
        return "under 1%"
    if 0.99 < share < 1:
        return "over 99%"
    return f"{share:.0%}"


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
