"""Degree, k-core decomposition, triangle count and local clustering coefficient.

Degree reads the directed view as a multigraph (networkx ``MultiDiGraph``; ``MultiGraph``
when every edge is undirected): each listed edge counts, a self-loop counts once in and
once out (twice in an undirected degree), weighted degree sums the edges' weights. k-core,
triangles and clustering read the undirected simple graph (no self-loops, each tie once),
as networkx's ``core_number``, ``triangles`` and ``clustering`` do on a ``Graph``; they
ignore weights. The compiled kernels walk the CSR rows ``simple_graph`` builds.
"""

from __future__ import annotations

import numpy as np

from gaai.agents.execution.engine.compiled import kernel, summed_over_slices
from gaai.agents.execution.engine.graph_views import simple_graph
from gaai.agents.execution.engine.output import AlgorithmOutput


def run_degree(
    n: int,
    src: np.ndarray,
    dst: np.ndarray,
    weights: np.ndarray | None,
    direction: str,
    all_undirected: bool,
) -> AlgorithmOutput:
    """Degree over the directed view (undirected ties listed both ways, self-loops once)."""
    out_degree = np.bincount(src, weights=weights, minlength=n).astype(np.float64)
    in_degree = np.bincount(dst, weights=weights, minlength=n).astype(np.float64)
    if direction == "out":
        values = out_degree
    elif direction == "in":
        values = in_degree
    elif all_undirected:
        # Every tie is listed once from each end, a self-loop once: count a self-loop twice, as networkx does.
        loops = src == dst
        values = out_degree + np.bincount(src[loops], weights=None if weights is None else weights[loops], minlength=n)
    else:
        values = out_degree + in_degree
    engine = "numpy-weighted" if weights is not None else "numpy"
    return AlgorithmOutput(values, None, engine)


def run_k_core(n: int, src: np.ndarray, dst: np.ndarray) -> AlgorithmOutput:
    indptr, indices = simple_graph(n, src, dst, both_ways=True)
    return AlgorithmOutput(_core_numbers(indptr, indices).astype(np.float64), None, "numba")


def run_triangles(n: int, src: np.ndarray, dst: np.ndarray) -> AlgorithmOutput:
    indptr, indices = simple_graph(n, src, dst, both_ways=True)
    return AlgorithmOutput(_triangles(indptr, indices).astype(np.float64), None, "numba")


def run_clustering(n: int, src: np.ndarray, dst: np.ndarray) -> AlgorithmOutput:
    indptr, indices = simple_graph(n, src, dst, both_ways=True)
    triangles = _triangles(indptr, indices).astype(np.float64)
    degree = np.diff(indptr).astype(np.float64)
    pairs = degree * (degree - 1) / 2
    values = np.divide(triangles, pairs, out=np.zeros(n), where=pairs > 0)
    return AlgorithmOutput(values, None, "numba")


@kernel
def _core_numbers(indptr, indices):
    """Batagelj and Zaversnik's bucket algorithm: peel vertices by increasing current degree, O(n + m)."""
    n = indptr.size - 1
    degree = np.empty(n, dtype=np.int64)
    max_degree = 0
    for v in range(n):
        degree[v] = indptr[v + 1] - indptr[v]
        max_degree = max(max_degree, degree[v])
    bin_start = np.zeros(max_degree + 2, dtype=np.int64)
    for v in range(n):
        bin_start[degree[v] + 1] += 1
    for d in range(max_degree + 1):
        bin_start[d + 1] += bin_start[d]
    position = np.empty(n, dtype=np.int64)
    order = np.empty(n, dtype=np.int64)
    cursor = bin_start.copy()
    for v in range(n):
        position[v] = cursor[degree[v]]
        order[position[v]] = v
        cursor[degree[v]] += 1
    for i in range(n):
        v = order[i]
        for j in range(indptr[v], indptr[v + 1]):
            u = indices[j]
            if degree[u] > degree[v]:
                # Move u to the front of its bin, then shrink the bin by one: u's degree drops.
                du = degree[u]
                front = bin_start[du]
                w = order[front]
                if w != u:
                    order[front], order[position[u]] = u, w
                    position[w], position[u] = position[u], front
                bin_start[du] += 1
                degree[u] -= 1
    return degree


def _triangles(indptr: np.ndarray, indices: np.ndarray) -> np.ndarray:
    """Triangles per vertex: each tie oriented from the lower (degree, id) end, then each triangle
    found once by merging two sorted out-lists, so hubs are never scanned from; the vertices
    whose out-lists are merged are split over the usable cores."""
    out_ptr, out = _oriented(indptr, indices)
    vertices = np.arange(indptr.size - 1, dtype=np.int64)
    return summed_over_slices(vertices, lambda part: _count_triangles(out_ptr, out, part))


@kernel
def _oriented(indptr, indices):
    """Each tie once, in the row of its lower (degree, id) end; rows keep their sorted order."""
    n = indptr.size - 1
    degree = np.diff(indptr)
    out_ptr = np.zeros(n + 1, dtype=np.int64)
    for v in range(n):
        for j in range(indptr[v], indptr[v + 1]):
            u = indices[j]
            if degree[v] < degree[u] or (degree[v] == degree[u] and v < u):
                out_ptr[v + 1] += 1
    for v in range(n):
        out_ptr[v + 1] += out_ptr[v]
    out = np.empty(out_ptr[n], dtype=indices.dtype)
    fill = out_ptr[:-1].copy()
    for v in range(n):
        for j in range(indptr[v], indptr[v + 1]):
            u = indices[j]
            if degree[v] < degree[u] or (degree[v] == degree[u] and v < u):
                out[fill[v]] = u
                fill[v] += 1
    return out_ptr, out


@kernel
def _count_triangles(out_ptr, out, vertices):
    """Per vertex, the triangles found by merging the out-lists of ``vertices`` with their out-neighbours'."""
    counts = np.zeros(out_ptr.size - 1, dtype=np.int64)
    for v in vertices:
        for j in range(out_ptr[v], out_ptr[v + 1]):
            u = out[j]
            a, a_end = out_ptr[v], out_ptr[v + 1]
            b, b_end = out_ptr[u], out_ptr[u + 1]
            while a < a_end and b < b_end:
                if out[a] < out[b]:
                    a += 1
                elif out[a] > out[b]:
                    b += 1
                else:
                    w = out[a]
                    counts[v] += 1
                    counts[u] += 1
                    counts[w] += 1
                    a += 1
                    b += 1
    return counts
