"""Weakly and strongly connected components, with scipy's ``connected_components``."""

from __future__ import annotations

import numpy as np
from scipy.sparse.csgraph import connected_components

from gaai.agents.execution.engine.graph_views import as_pattern, grouped_by_row, undirected_both_ways
from gaai.agents.execution.engine.output import AlgorithmOutput, renumber_by_size


def run_components(n: int, src: np.ndarray, dst: np.ndarray, strong: bool) -> AlgorithmOutput:
    if strong:
        graph = grouped_by_row(n, src, dst, np.ones(src.size, dtype=bool))
        # scipy 1.17's strong components never return on a row holding an entry twice.
        graph.sum_duplicates()
    else:
        # Weak components are the strong components of the graph with every edge in both
        # directions. scipy's own weak mode builds a float64 transpose (12 bytes per edge).
        graph = undirected_both_ways(n, src, dst)
    _, labels = connected_components(as_pattern(graph), directed=True, connection="strong")
    return AlgorithmOutput(renumber_by_size(labels), None, "scipy")
