"""Closeness and harmonic centrality: how near a vertex is to the others, by shortest paths leading to it.

As networkx's ``closeness_centrality`` (Wasserman–Faust form, ``wf_improved=True``) and
``harmonic_centrality`` on a ``DiGraph``: distances run from the other vertices to the vertex
scored (inward; both ways on undirected ties), by hops or, with lengths, by total length (of
parallel edges the shortest counts, self-loops ignored). A vertex reached by ``r`` others at a
total distance ``D`` gets closeness ``(r / D) · (r / (n - 1))`` (0 when ``D`` is 0) and harmonic
centrality ``Σ 1/d`` over those others at a distance above 0.

Exact up to ``exact_limit`` vertices: one breadth-first search (Dijkstra with lengths) from
every vertex, accumulating into the vertices it reaches. Above it, from ``samples`` sources
drawn uniformly: each other vertex is a source with probability ``samples / n``, so ``n /
samples`` times a vertex's sums over the sampled sources estimates its sums over all others
(unbiased for ``r``, ``D`` and the harmonic sum; closeness is their ratio).
"""

from __future__ import annotations

import numpy as np

from gaai.agents.execution.engine.betweenness import (
    _heap_pop,
    _heap_push,
    breadth_first,
    shortest_path_graph,
    shortest_path_sources,
)
from gaai.agents.execution.engine.compiled import kernel, summed_over_slices
from gaai.agents.execution.engine.output import AlgorithmOutput


def run_nearness(
    n: int,
    src: np.ndarray,
    dst: np.ndarray,
    lengths: np.ndarray | None,
    harmonic: bool,
    exact_limit: int,
    samples: int,
    seed: int,
) -> AlgorithmOutput:
    """Closeness (``harmonic=False``) or harmonic centrality of every vertex of the directed graph."""
    method = "numba-bfs" if lengths is None else "numba-dijkstra"
    indptr, indices, lengths = shortest_path_graph(n, src, dst, lengths)
    sources, sampled = shortest_path_sources(n, exact_limit, samples, seed, indices.dtype)
    engine, scale = (f"{method}-sampled({samples})", n / samples) if sampled else (f"{method}-exact", 1.0)
    reached, total, inverse = _sums_over_sources(indptr, indices, lengths, sources)
    if harmonic:
        return AlgorithmOutput(inverse * scale, None, engine)
    scores = np.zeros(n)
    if n > 1:
        # (r / D) · (r / (n - 1)) with r and D both scaled: one factor of the scale remains.
        positive = total > 0
        scores[positive] = reached[positive] ** 2 * scale / (total[positive] * (n - 1))
    return AlgorithmOutput(scores, None, engine)


def _sums_over_sources(
    indptr: np.ndarray, indices: np.ndarray, lengths: np.ndarray | None, sources: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per vertex, over the ``sources`` other than itself that reach it: how many, their total
    distance and the sum of their inverse distances, on all usable cores (``summed_over_slices``: a run
    repeats its scores exactly)."""

    def sums(chunk: np.ndarray) -> np.ndarray:
        out = np.zeros((3, indptr.size - 1))
        if lengths is None:
            _bfs_sums(indptr, indices, chunk, out)
        else:
            _dijkstra_sums(indptr, indices, lengths, chunk, out)
        return out

    total = summed_over_slices(sources, sums)
    return total[0], total[1], total[2]


@kernel
def _bfs_sums(indptr, indices, sources, out):
    """Breadth-first search from each source; ``out`` rows: reached count, distance sum, inverse distance sum."""
    n = indptr.size - 1
    distance = np.full(n, -1, dtype=np.int64)
    visited = np.empty(n, dtype=indices.dtype)
    for s in sources:
        tail = breadth_first(indptr, indices, s, distance, visited, None)
        for t in range(1, tail):
            v = visited[t]
            out[0, v] += 1.0
            out[1, v] += distance[v]
            out[2, v] += 1.0 / distance[v]
        for t in range(tail):
            distance[visited[t]] = -1


@kernel
def _dijkstra_sums(indptr, indices, lengths, sources, out):
    """``_bfs_sums`` by total length (Dijkstra on the heap kernels of betweenness); a vertex at
    distance 0 from the source (zero-length edges) counts as reached but adds no inverse distance."""
    n = indptr.size - 1
    distance = np.full(n, np.inf)
    settled = np.zeros(n, dtype=np.bool_)
    visited = np.empty(n, dtype=indices.dtype)
    heap_keys = np.empty(indices.size + 1)
    heap_items = np.empty(indices.size + 1, dtype=indices.dtype)
    for s in sources:
        distance[s] = 0.0
        size = _heap_push(heap_keys, heap_items, 0, 0.0, s)
        count = 0
        while size > 0:
            d, v, size = _heap_pop(heap_keys, heap_items, size)
            if settled[v]:
                continue
            settled[v] = True
            visited[count] = v
            count += 1
            for j in range(indptr[v], indptr[v + 1]):
                u = indices[j]
                reach = d + lengths[j]
                if not settled[u] and reach < distance[u]:
                    distance[u] = reach
                    size = _heap_push(heap_keys, heap_items, size, reach, u)
        for t in range(count):
            v = visited[t]
            if v != s:
                out[0, v] += 1.0
                out[1, v] += distance[v]
                if distance[v] > 0.0:
                    out[2, v] += 1.0 / distance[v]
            distance[v] = np.inf
            settled[v] = False
