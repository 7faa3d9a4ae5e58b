"""Paths: k-hop reach (exposure) and bounded-length directed cycles (rings).

Both read the directed simple graph (undirected ties both ways, no self-loops, each edge
once, weights ignored), as networkx does on a ``DiGraph``:

* k-hop reach: per vertex, how many other vertices it reaches within ``hops`` edges along
  edge direction (``len(single_source_shortest_path_length(G, v, cutoff=hops)) - 1``). One
  bounded breadth-first search per vertex, spread over the usable cores.
* cycles: per vertex, how many simple directed cycles of 2 to ``max_length`` edges pass
  through it (networkx's ``simple_cycles(G, length_bound)`` without self-loops). Each cycle is
  found once, from its lowest vertex, by a depth-first search over higher vertices only; an
  undirected tie is a cycle of length 2.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np

from gaai.agents.execution.engine.compiled import kernel, usable_cores
from gaai.agents.execution.engine.graph_views import simple_graph
from gaai.agents.execution.engine.output import AlgorithmOutput


def run_k_hop(n: int, src: np.ndarray, dst: np.ndarray, hops: int) -> AlgorithmOutput:
    indptr, indices = simple_graph(n, src, dst, both_ways=False)
    threads = max(1, min(usable_cores(), n))
    reach = _reach_counts(indptr, indices, hops, threads)
    return AlgorithmOutput(reach.astype(np.float64), None, "numba")


def run_cycles(n: int, src: np.ndarray, dst: np.ndarray, max_length: int) -> AlgorithmOutput:
    indptr, indices = simple_graph(n, src, dst, both_ways=False)
    return AlgorithmOutput(_cycles_through(indptr, indices, max_length).astype(np.float64), None, "numba")


@kernel
def _reach_block(indptr, indices, hops, first, step, reach):
    """Bounded BFS from vertices ``first, first + step, …``; a stamp per vertex marks this search's visits."""
    n = indptr.size - 1
    seen = np.full(n, -1, dtype=np.int64)
    frontier = np.empty(n, dtype=np.int64)
    following = np.empty(n, dtype=np.int64)
    for source in range(first, n, step):
        seen[source] = source
        frontier[0] = source
        size = 1
        count = 0
        for _ in range(hops):
            next_size = 0
            for i in range(size):
                v = frontier[i]
                for j in range(indptr[v], indptr[v + 1]):
                    u = indices[j]
                    if seen[u] != source:
                        seen[u] = source
                        following[next_size] = u
                        next_size += 1
            count += next_size
            if next_size == 0:
                break
            frontier, following = following, frontier
            size = next_size
        reach[source] = count


def _reach_counts(indptr: np.ndarray, indices: np.ndarray, hops: int, threads: int) -> np.ndarray:
    """One thread per core, each taking every ``threads``-th source (the kernel runs without the GIL)."""
    reach = np.zeros(indptr.size - 1, dtype=np.int64)
    if threads == 1:
        _reach_block(indptr, indices, hops, 0, 1, reach)
        return reach
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(lambda first: _reach_block(indptr, indices, hops, first, threads, reach), range(threads)))
    return reach


@kernel
def _cycles_through(indptr, indices, max_length):
    """Depth-first search from each vertex ``s`` over vertices above ``s``, up to ``max_length`` edges;
    an edge back to ``s`` closes a cycle, counted for every vertex on the path."""
    n = indptr.size - 1
    counts = np.zeros(n, dtype=np.int64)
    path = np.empty(max_length, dtype=np.int64)
    cursor = np.empty(max_length, dtype=np.int64)
    on_path = np.zeros(n, dtype=np.bool_)
    for s in range(n):
        path[0] = s
        cursor[0] = indptr[s]
        on_path[s] = True
        depth = 1
        while depth > 0:
            v = path[depth - 1]
            if cursor[depth - 1] < indptr[v + 1]:
                u = indices[cursor[depth - 1]]
                cursor[depth - 1] += 1
                if u == s and depth >= 2:
                    for i in range(depth):
                        counts[path[i]] += 1
                elif u > s and not on_path[u] and depth < max_length:
                    path[depth] = u
                    cursor[depth] = indptr[u]
                    on_path[u] = True
                    depth += 1
            else:
                on_path[v] = False
                depth -= 1
    return counts
