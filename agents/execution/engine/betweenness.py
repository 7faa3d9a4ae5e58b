"""Betweenness: Brandes (compiled; Dijkstra-based with lengths), sources split over the cores;
exact up to ``exact_limit`` vertices, else from sampled sources with linear scaling.
"""

from __future__ import annotations

import numpy as np

from gaai.agents.execution.engine.compiled import kernel, summed_over_slices
from gaai.agents.execution.engine.graph_views import shortest_edges, simple_graph
from gaai.agents.execution.engine.output import AlgorithmOutput


def run_betweenness(
    n: int,
    src: np.ndarray,
    dst: np.ndarray,
    lengths: np.ndarray | None,
    exact_limit: int,
    samples: int,
    seed: int,
    normalized: bool,
    pairs_once: bool,
) -> AlgorithmOutput:
    """Brandes' betweenness on the directed graph, by hops or, with ``lengths``, by total
    length; ``pairs_once`` halves the raw scores, as networkx does on an undirected graph."""
    if n < 3:
        # No vertex can lie between two others, and (n-1)(n-2) = 0 would divide the scores.
        return AlgorithmOutput(np.zeros(n), None, "exact")
    method = "numba" if lengths is None else "numba-dijkstra"
    indptr, indices, lengths = shortest_path_graph(n, src, dst, lengths)
    sources, sampled = shortest_path_sources(n, exact_limit, samples, seed, indices.dtype)
    scores = _dependency_sums(indptr, indices, lengths, sources, by_distance=sampled)
    if sampled:
        # Each vertex is a source with probability samples / n, and where ties go both ways
        # the distance weights of the pairs (s, t) and (t, s) add up to one, hence the 2:
        # NetworKit's EstimateBetweenness extrapolation, also on directed graphs, where it
        # favours vertices near the targets. (NetworKit draws samples + 1 sources for it.)
        scores *= 2 * n / samples
        engine = f"{method}-sampled({samples})"
    else:
        engine = f"{method}-exact"
    if normalized:
        scores /= (n - 1) * (n - 2)
    elif pairs_once:
        scores /= 2
    return AlgorithmOutput(scores, None, engine)


def shortest_path_graph(
    n: int, src: np.ndarray, dst: np.ndarray, lengths: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """``(indptr, indices, lengths)`` of the CSR the shortest-path kernels walk: the simple directed graph
    without ``lengths`` (lengths then None), else ``shortest_edges``' graph with one length per entry."""
    if lengths is None:
        return *simple_graph(n, src, dst, both_ways=False), None
    return shortest_edges(n, src, dst, lengths)


def shortest_path_sources(
    n: int, exact_limit: int, samples: int, seed: int, dtype: np.dtype
) -> tuple[np.ndarray, bool]:
    """``(sources, sampled)``: every vertex up to ``exact_limit`` vertices, else ``samples`` vertices drawn from
    ``seed`` without replacement. Sampling as many sources as there are vertices costs as much as the exact
    answer, so that gives every vertex too."""
    if n <= exact_limit or samples >= n:
        return np.arange(n, dtype=dtype), False
    return np.random.default_rng(seed).choice(n, samples, replace=False).astype(dtype), True


def _dependency_sums(
    indptr: np.ndarray, indices: np.ndarray, lengths: np.ndarray | None, sources: np.ndarray, by_distance: bool
) -> np.ndarray:
    """Sum over ``sources`` of each vertex's Brandes dependency (see ``_brandes``; by total
    length with ``_brandes_by_length`` where ``lengths`` are given), on all usable cores
    (``summed_over_slices``: the same scores on every run).
    """

    def dependencies(chunk: np.ndarray) -> np.ndarray:
        if lengths is None:
            return _brandes(indptr, indices, chunk, by_distance)
        return _brandes_by_length(indptr, indices, lengths, chunk, by_distance)

    return summed_over_slices(sources, dependencies)


@kernel
def _brandes(indptr, indices, sources, by_distance):
    """Brandes' dependencies, summed over ``sources``, on the unweighted directed graph.

    A vertex ``v`` gets, from each source ``s`` and target ``t``, the share of shortest
    ``s``-``t`` paths through it; ``by_distance`` weights that share by ``d(s, v) / d(s, t)``
    (Geisberger, Sanders and Schultes' linear scaling, as NetworKit's EstimateBetweenness
    does): a vertex next to a sampled source then no longer collects that source's whole
    tree, which makes estimates from few sources much closer to the exact ranking.

    A breadth-first search from each source counts shortest paths; the dependency of a
    vertex is then gathered from its successors on the next level, in reverse visiting
    order, so no predecessor lists are stored. Only the visited vertices are reset between
    sources.
    """
    n = indptr.size - 1
    scores = np.zeros(n)
    distance = np.full(n, -1, dtype=np.int32)
    paths = np.zeros(n)
    dependency = np.zeros(n)
    visited = np.empty(n, dtype=indices.dtype)
    for s in sources:
        tail = breadth_first(indptr, indices, s, distance, visited, paths)
        for t in range(tail - 1, 0, -1):
            v = visited[t]
            share = 0.0
            for j in range(indptr[v], indptr[v + 1]):
                u = indices[j]
                if distance[u] == distance[v] + 1:
                    share += (1.0 + dependency[u]) / paths[u]
            dependency[v] = paths[v] * share
            if by_distance:
                # Every successor is one step further from the source than v.
                dependency[v] *= distance[v] / (distance[v] + 1.0)
            scores[v] += dependency[v]
        for t in range(tail):
            v = visited[t]
            distance[v] = -1
            paths[v] = 0.0
            dependency[v] = 0.0
    return scores


@kernel
def _brandes_by_length(indptr, indices, lengths, sources, by_distance):
    """``_brandes`` with shortest paths by total length (Dijkstra), entry ``j`` of the CSR
    being ``lengths[j]`` long, as networkx's weighted betweenness.

    A vertex's predecessors are the vertices settled before it whose distance plus the edge
    length equals its own (compared exactly, as networkx does, so ties count the same). On
    zero-length edges that keeps the paths simple: a zero-length cycle adds no path (where
    networkx's counts differ: it can count a path once more through such a cycle).
    With ``by_distance``, the share of a pair (s, t) is weighted by ``d(s, v) / d(s, t)``:
    the recurrence carries ``D(v) = sum_t share_st(v) / d(s, t)``, whose successor terms no
    longer share one distance; a pair with ``d(s, t) = 0`` (zero-length edges only)
    adds nothing, as every vertex on its paths is at distance 0.
    """
    n = indptr.size - 1
    scores = np.zeros(n)
    distance = np.full(n, np.inf)
    paths = np.zeros(n)
    dependency = np.zeros(n)
    settled_at = np.full(n, -1, dtype=np.int64)
    visited = np.empty(n, dtype=indices.dtype)
    heap_keys = np.empty(indices.size + 1)
    heap_items = np.empty(indices.size + 1, dtype=indices.dtype)
    for s in sources:
        distance[s] = 0.0
        paths[s] = 1.0
        size = _heap_push(heap_keys, heap_items, 0, 0.0, s)
        settled = 0
        while size > 0:
            d, v, size = _heap_pop(heap_keys, heap_items, size)
            if settled_at[v] >= 0:
                continue
            settled_at[v] = settled
            visited[settled] = v
            settled += 1
            for j in range(indptr[v], indptr[v + 1]):
                u = indices[j]
                if settled_at[u] >= 0:
                    continue
                reach = d + lengths[j]
                if reach < distance[u]:
                    distance[u] = reach
                    paths[u] = paths[v]
                    size = _heap_push(heap_keys, heap_items, size, reach, u)
                elif reach == distance[u]:
                    paths[u] += paths[v]
        for t in range(settled - 1, 0, -1):
            v = visited[t]
            share = 0.0
            for j in range(indptr[v], indptr[v + 1]):
                u = indices[j]
                if settled_at[u] > settled_at[v] and distance[u] == distance[v] + lengths[j]:
                    if not by_distance:
                        share += (1.0 + dependency[u]) / paths[u]
                    elif distance[u] > 0.0:
                        share += (1.0 / distance[u] + dependency[u]) / paths[u]
                    else:
                        share += dependency[u] / paths[u]
            dependency[v] = paths[v] * share
            scores[v] += distance[v] * dependency[v] if by_distance else dependency[v]
        for t in range(settled):
            v = visited[t]
            distance[v] = np.inf
            paths[v] = 0.0
            dependency[v] = 0.0
            settled_at[v] = -1
    return scores


@kernel
def breadth_first(indptr, indices, source, distance, visited, paths):
    """Breadth-first search from ``source``; returns how many vertices it reached.

    Fills ``distance`` (-1 for every vertex on entry) with hop counts and ``visited`` with the vertices reached,
    in visiting order; unless ``paths`` is None (numba then compiles the counting away), adds to ``paths`` (0 for
    every vertex on entry) the number of shortest paths from ``source`` to each vertex.
    """
    distance[source] = 0
    if paths is not None:
        paths[source] = 1.0
    visited[0] = source
    head, tail = 0, 1
    while head < tail:
        v = visited[head]
        head += 1
        for j in range(indptr[v], indptr[v + 1]):
            u = indices[j]
            if distance[u] < 0:
                distance[u] = distance[v] + 1
                visited[tail] = u
                tail += 1
            if paths is not None and distance[u] == distance[v] + 1:
                paths[u] += paths[v]
    return tail


@kernel
def _heap_push(keys, items, size, key, item):
    """Add ``(key, item)`` to the binary min-heap held in ``keys[:size]``, ``items[:size]``; returns the new size."""
    at = size
    while at > 0:
        parent = (at - 1) // 2
        if keys[parent] <= key:
            break
        keys[at] = keys[parent]
        items[at] = items[parent]
        at = parent
    keys[at] = key
    items[at] = item
    return size + 1


@kernel
def _heap_pop(keys, items, size):
    """Remove the smallest key from the heap: ``(key, item, new size)``."""
    key, item = keys[0], items[0]
    size -= 1
    last_key, last_item = keys[size], items[size]
    at = 0
    while True:
        child = 2 * at + 1
        if child >= size:
            break
        if child + 1 < size and keys[child + 1] < keys[child]:
            child += 1
        if keys[child] >= last_key:
            break
        keys[at] = keys[child]
        items[at] = items[child]
        at = child
    keys[at] = last_key
    items[at] = last_item
    return key, item, size
