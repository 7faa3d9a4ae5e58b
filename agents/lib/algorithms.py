"""The algorithm catalog: names, kinds, documented default parameters and validation.

Shared by the templates agent (which picks and parameterises algorithms) and the
execution agent (which runs them), so both agree on what a valid template is.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from gaai.bus.errors import TaskError

Kind = Literal["centrality", "connectivity", "community"]


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
        resolved[key] = value
    return resolved
