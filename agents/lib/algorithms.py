"""The algorithm catalog: names, kinds, documented default parameters and validation.

Shared by the templates agent (which picks and parameterises algorithms) and the
execution agent (which runs them), so both agree on what a valid template is.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from gaai.bus.errors import TaskError

Kind = Literal["centrality", "cohesion", "overlap", "connectivity", "community"]
"""Centrality and cohesion give each vertex a score; overlap gives each vertex a score and lists
vertex pairs (what they share); connectivity and community give each vertex a group id."""


@dataclass(frozen=True)
class ParamSpec:
    """One parameter: its default, its bounds and what it means."""

    default: float | int | str | bool
    doc: str
    minimum: float | None = None
    maximum: float | None = None


@dataclass(frozen=True)
class AlgorithmSpec:
    name: str
    title: str
    kind: Kind
    directed: bool
    result_field: str
    summary: str
    params: dict[str, ParamSpec] = field(default_factory=dict)

    @property
    def scores(self) -> bool:
        """Whether each vertex gets a score (ranked, distributed) rather than a group id."""
        return self.kind in ("centrality", "cohesion", "overlap")


ALGORITHMS: dict[str, AlgorithmSpec] = {
    spec.name: spec
    for spec in (
        AlgorithmSpec(
            "pagerank",
            "PageRank",
            "centrality",
            True,
            "rank",
            "Importance of a vertex from the importance of the vertices that point to it.",
            {
                "damping": ParamSpec(0.85, "Probability of following an edge rather than jumping.", 0.0, 1.0),
                "max_iterations": ParamSpec(100, "Upper bound on power iterations (supersteps).", 1, 10_000),
                "tolerance": ParamSpec(1e-6, "Stop when the L1 change of the rank vector falls below this.", 0.0, 1.0),
            },
        ),
        AlgorithmSpec(
            "wcc",
            "Weakly connected components",
            "connectivity",
            False,
            "component",
            "Groups of vertices joined by any path, ignoring edge direction.",
        ),
        AlgorithmSpec(
            "scc",
            "Strongly connected components",
            "connectivity",
            True,
            "component",
            "Groups of vertices that can all reach each other following edge direction (cycles).",
        ),
        AlgorithmSpec(
            "label_propagation",
            "Label propagation",
            "community",
            False,
            "community",
            "Communities found by vertices adopting the most frequent label among their neighbours.",
            {
                "max_iterations": ParamSpec(100, "Upper bound on propagation rounds.", 1, 10_000),
                "seed": ParamSpec(42, "Random seed, so runs are reproducible.", 0, 2**31 - 1),
            },
        ),
        AlgorithmSpec(
            "louvain",
            "Louvain communities",
            "community",
            False,
            "community",
            "Communities that maximise modularity, found by greedy multi-level moves.",
            {
                "resolution": ParamSpec(1.0, "Higher values give more, smaller communities.", 0.0, 100.0),
                "seed": ParamSpec(42, "Random seed, so runs are reproducible.", 0, 2**31 - 1),
            },
        ),
        AlgorithmSpec(
            "leiden",
            "Leiden communities",
            "community",
            False,
            "community",
            "Communities that maximise modularity, each one connected: Louvain's greedy multi-level moves with a "
            "refinement that splits a community only held together through other communities.",
            {
                "resolution": ParamSpec(1.0, "Higher values give more, smaller communities.", 0.0, 100.0),
                "iterations": ParamSpec(
                    2,
                    "Full passes, each starting from the last one's communities; stops early when one changes nothing.",
                    1,
                    100,
                ),
                "seed": ParamSpec(42, "Random seed, so runs are reproducible.", 0, 2**31 - 1),
            },
        ),
        AlgorithmSpec(
            "betweenness",
            "Betweenness centrality",
            "centrality",
            True,
            "betweenness",
            "How often a vertex lies on shortest paths between others: brokers and bottlenecks.",
            {
                "exact_limit": ParamSpec(
                    5000,
                    "Graphs with at most this many vertices get exact betweenness; larger ones are sampled.",
                    0,
                    10**9,
                ),
                "samples": ParamSpec(
                    256, "Source vertices sampled when the graph is larger than exact_limit.", 1, 100_000
                ),
                "seed": ParamSpec(42, "Random seed for sampling.", 0, 2**31 - 1),
                "normalized": ParamSpec(True, "Scale scores to [0, 1]."),
            },
        ),
        *(
            AlgorithmSpec(
                name,
                title,
                "centrality",
                True,
                name,
                summary,
                {
                    "exact_limit": ParamSpec(
                        5000,
                        "Graphs with at most this many vertices get exact scores; larger ones are estimated from "
                        "sampled sources.",
                        0,
                        10**9,
                    ),
                    "samples": ParamSpec(
                        512, "Source vertices sampled when the graph is larger than exact_limit.", 1, 100_000
                    ),
                    "seed": ParamSpec(42, "Random seed for sampling.", 0, 2**31 - 1),
                },
            )
            for name, title, summary in (
                (
                    "closeness",
                    "Closeness centrality",
                    "How near a vertex is to the vertices that reach it: how many reach it over their average "
                    "shortest-path distance (Wasserman-Faust), so vertices quickly reached by most others come first.",
                ),
                (
                    "harmonic",
                    "Harmonic centrality",
                    "The sum of the inverse shortest-path distances from every other vertex to a vertex: closeness "
                    "that stays meaningful on disconnected graphs.",
                ),
            )
        ),
        AlgorithmSpec(
            "hits",
            "HITS hubs and authorities",
            "centrality",
            True,
            "authority",
            "Authorities are pointed to by good hubs and hubs point to good authorities (Kleinberg's HITS); "
            "vertices are ranked by authority, with the hub scores beside.",
            {
                "max_iterations": ParamSpec(1000, "Upper bound on power iterations.", 1, 100_000),
                "tolerance": ParamSpec(
                    1e-8,
                    "Stop when the L1 change of the hub and authority vectors (each summing to 1) falls below this.",
                    0.0,
                    1.0,
                ),
            },
        ),
        AlgorithmSpec(
            "degree",
            "Degree",
            "centrality",
            True,
            "degree",
            "How many edges a vertex has: in (received), out (sent) or all, or their total weight.",
            {
                "direction": ParamSpec("all", "Which edges count: in, out or all."),
                "weighted": ParamSpec(False, "Sum the edges' weights instead of counting them."),
            },
        ),
        AlgorithmSpec(
            "eigenvector",
            "Eigenvector centrality",
            "centrality",
            True,
            "eigenvector",
            "Importance from being pointed to by important vertices, without PageRank's random jumps.",
            {
                "max_iterations": ParamSpec(1000, "Upper bound on power iterations.", 1, 100_000),
                "tolerance": ParamSpec(
                    1e-6, "Stop when the L1 change falls below this times the vertex count.", 0.0, 1.0
                ),
            },
        ),
        AlgorithmSpec(
            "k_core",
            "k-core decomposition",
            "cohesion",
            False,
            "core_number",
            "The largest k such that a vertex lies in a subgraph where every vertex has at least k neighbours: "
            "cohesive cores.",
        ),
        AlgorithmSpec(
            "triangles",
            "Triangle count",
            "cohesion",
            False,
            "triangles",
            "How many triangles (three vertices all tied to each other) a vertex belongs to.",
        ),
        AlgorithmSpec(
            "clustering",
            "Local clustering coefficient",
            "cohesion",
            False,
            "clustering",
            "The share of a vertex's pairs of neighbours that are tied to each other: closed, tight-knit circles.",
        ),
        AlgorithmSpec(
            "k_hop",
            "k-hop reach",
            "centrality",
            True,
            "reach",
            "How many vertices a vertex reaches within k hops along edge direction: its exposure.",
            {"hops": ParamSpec(2, "Edges followed at most.", 1, 6)},
        ),
        AlgorithmSpec(
            "cycles",
            "Short directed cycles",
            "cohesion",
            True,
            "cycles",
            "How many directed cycles of at most max_length edges pass through a vertex: rings of money or "
            "referrals that flow back to where they started.",
            {"max_length": ParamSpec(4, "Longest cycle counted, in edges.", 2, 8)},
        ),
        AlgorithmSpec(
            "similarity",
            "Node similarity",
            "overlap",
            False,
            "best_similarity",
            "Pairs of vertices with the most neighbours in common (Jaccard: shared over combined neighbours).",
            {
                "top_k": ParamSpec(10, "Most similar vertices kept per vertex.", 1, 1000),
                "max_work": ParamSpec(
                    300_000_000,
                    "Upper bound on the vertex pairs examined (a neighbour shared by d compared vertices adds d²); "
                    "above it the run stops with a bad_params error instead of exhausting memory.",
                    1,
                    10**12,
                ),
            },
        ),
        AlgorithmSpec(
            "co_occurrence",
            "Co-occurrence",
            "overlap",
            False,
            "members_reached",
            "Pairs of vertices (e.g. categories) sharing the most members (e.g. customers), through at most two hops.",
            {
                "members": ParamSpec("", "The vertex collection whose shared vertices are counted."),
                "hops": ParamSpec(2, "A member counts for a vertex it reaches within this many hops.", 1, 2),
                "top_k": ParamSpec(10, "Partners kept per vertex, by members shared.", 1, 1000),
                "max_work": ParamSpec(
                    300_000_000,
                    "Upper bound on the vertex pairs examined (a member reaching d compared vertices adds d²); "
                    "above it the run stops with a bad_params error instead of exhausting memory.",
                    1,
                    10**12,
                ),
            },
        ),
    )
}


def algorithm_spec(name: str) -> AlgorithmSpec:
    """The spec of ``name``, or a non-retryable ``unknown_algorithm`` error listing the known ones."""
    try:
        return ALGORITHMS[name]
    except KeyError:
        known = ", ".join(sorted(ALGORITHMS))
        raise TaskError("unknown_algorithm", f"unknown algorithm {name!r}; known algorithms: {known}") from None


def resolve_params(name: str, given: dict[str, object]) -> dict[str, float | int | str | bool]:
    """Defaults merged with ``given``, checked against each parameter's type and bounds."""
    spec = algorithm_spec(name)
    unknown = sorted(set(given) - set(spec.params))
    if unknown:
        raise TaskError(
            "bad_params",
            f"{name} has no parameter(s) {', '.join(unknown)}; it takes: {', '.join(spec.params) or 'none'}",
        )
    resolved: dict[str, float | int | str | bool] = {}
    for key, param in spec.params.items():
        value = given.get(key, param.default)
        expected = type(param.default)
        if expected is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if type(value) is not expected:
            raise TaskError("bad_params", f"{name}.{key} must be {expected.__name__}, got {value!r}")
        if (param.minimum is not None and value < param.minimum) or (
            param.maximum is not None and value > param.maximum
        ):
            raise TaskError("bad_params", f"{name}.{key}={value!r} is outside [{param.minimum}, {param.maximum}]")
        if name == "degree" and key == "direction" and value not in ("in", "out", "all"):
            raise TaskError("bad_params", f"degree.direction must be one of in, out, all, got {value!r}")
        resolved[key] = value
    return resolved
