"""Weakly connected components by union-find over the edge list; strongly connected ones with scipy."""

from __future__ import annotations

import numpy as np
from scipy.sparse.csgraph import connected_components

from gaai.agents.execution.engine.compiled import kernel
from gaai.agents.execution.engine.graph_views import as_pattern, grouped_by_row
from gaai.agents.execution.engine.output import AlgorithmOutput, renumber_by_size


def run_components(n: int, src: np.ndarray, dst: np.ndarray, strong: bool) -> AlgorithmOutput:
    if not strong:
        # One pass over the edges with one int64 per vertex: no adjacency is built, so weak components
        # cost neither the sort nor the 12+ bytes per edge of a symmetric matrix.
        return AlgorithmOutput(renumber_by_size(_union_find_roots(n, src, dst)), None, "numba")
    graph = grouped_by_row(n, src, dst, np.ones(src.size, dtype=bool))
    # scipy 1.17's strong components never return on a row holding an entry twice.
    graph.sum_duplicates()
    _, labels = connected_components(as_pattern(graph), directed=True, connection="strong")
    return AlgorithmOutput(renumber_by_size(labels), None, "scipy")


@kernel
def _union_find_roots(n, src, dst):
    """Each vertex's component as the lowest vertex of it: union by lower root, finds with path halving.

    A parent is never above its child, so the last loop, going up from vertex 0, finds every parent already
    pointing at its root and needs one step per vertex.
    """
    parent = np.arange(n, dtype=np.int64)
    for edge in range(src.size):
        a, b = np.int64(src[edge]), np.int64(dst[edge])
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        while parent[b] != b:
            parent[b] = parent[parent[b]]
            b = parent[b]
        if a < b:
            parent[b] = a
        elif b < a:
            parent[a] = b
    for vertex in range(n):
        parent[vertex] = parent[parent[vertex]]
    return parent
