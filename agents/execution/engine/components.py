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
    """Each vertex's component as the lowest vertex of it (see ``join_sets`` and ``point_to_roots``)."""
    parent = np.arange(n, dtype=np.int64)
    for edge in range(src.size):
        join_sets(parent, np.int64(src[edge]), np.int64(dst[edge]))
    point_to_roots(parent)
    return parent


@kernel
def find_root(parent, vertex):
    """The root of ``vertex`` in the union-find forest ``parent``, halving the path on the way up."""
    while parent[vertex] != vertex:
        parent[vertex] = parent[parent[vertex]]
        vertex = parent[vertex]
    return vertex


@kernel
def join_sets(parent, a, b):
    """Joins the sets of ``a`` and ``b`` in the union-find forest ``parent``: the higher root goes under the lower,
    so a parent is never above its child."""
    a, b = find_root(parent, a), find_root(parent, b)
    if a < b:
        parent[b] = a
    elif b < a:
        parent[a] = b


@kernel
def point_to_roots(parent):
    """Points every vertex of a forest built by ``join_sets`` at its root (the lowest vertex of its set).

    A parent is never above its child, so going up from vertex 0 finds every parent already pointing at its
    root: one step per vertex.
    """
    for vertex in range(parent.size):
        parent[vertex] = parent[parent[vertex]]
