"""PageRank: own power iteration, a scipy CSR mat-vec per step on smaller graphs and a compiled
pull along in-edges over all usable cores from ``PULL_FROM_EDGES`` edges on.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import scipy.sparse as sp

from gaai.agents.execution.engine.compiled import kernel, usable_cores
from gaai.agents.execution.engine.graph_views import grouped_by_row
from gaai.agents.execution.engine.output import AlgorithmOutput

# Edges from which PageRank pulls with compiled kernels instead of iterating scipy
# mat-vecs: below it, numba's one-time load in a fresh process costs more than the pull
# saves (docs/BENCHMARKS.md, "Engine choices"). A worker forked from the agent's
# forkserver has the kernels loaded already.
_PULL_FROM_EDGES = 1 << 22


# Fewest edges per thread in PageRank's pull: on smaller graphs handing work to another
# thread costs more than it saves.
_MIN_EDGES_PER_THREAD = 1 << 16


def run_pagerank(
    n: int,
    src: np.ndarray,
    dst: np.ndarray,
    weights: np.ndarray | None,
    damping: float,
    max_iterations: int,
    tolerance: float,
) -> AlgorithmOutput:
    """Power iteration: each step gives each vertex the rank of its in-neighbours scaled by
    damping / their out-degree (parallel edges each counted), plus the teleport share and
    an even share of the rank held by vertices without out-edges, so none leaks away. Stops
    when a step changes the ranks by less than ``tolerance`` (L1) or after ``max_iterations``;
    the ranks are then normalised to sum to 1. With ``weights``, an edge carries its weight's
    share of its source's out-strength, and a vertex whose out-edges all weigh 0 is dangling.
    """
    if weights is None and src.size >= _PULL_FROM_EDGES:
        return pagerank_pull(n, src, dst, damping, max_iterations, tolerance)
    if weights is None:
        # Adjacency by source: a vertex's out-degree is the length of its row, so no separate
        # count over the edges is needed. One step is the transposed mat-vec of the rank scaled
        # by damping / out-degree (the column-stochastic transition, damped): each vertex adds
        # its share to its out-neighbours, which runs as fast as the gather of a transposed CSR.
        # Values of one avoid a random gather of a weight per edge when the matrix is built.
        pattern = grouped_by_row(n, src, dst, np.ones(src.size, dtype=bool))
        out_degree = np.diff(pattern.indptr)
        transition_t = sp.csr_array((np.ones(pattern.nnz), pattern.indices, pattern.indptr), shape=(n, n)).T
        del pattern
    else:
        # Parallel edges stay separate entries: the mat-vec and the row sums add them up.
        strengths = grouped_by_row(n, src, dst, weights)
        out_degree = strengths.sum(axis=1)
        transition_t = strengths.T
        del strengths
    share = np.zeros(n)
    np.divide(damping, out_degree, out=share, where=out_degree > 0)
    dangling = np.flatnonzero(out_degree == 0)
    del out_degree
    rank = np.full(n, 1.0 / n)
    scaled = np.empty(n)
    teleport = (1.0 - damping) / n
    iterations = 0
    for iterations in range(1, max_iterations + 1):  # noqa: B007 - its last value is the count returned
        spread = damping * rank[dangling].sum() / n
        new = transition_t @ np.multiply(rank, share, out=scaled)
        new += spread + teleport
        # The old vector is not needed after this: it holds the difference.
        np.subtract(new, rank, out=rank)
        change = np.abs(rank, out=rank).sum()
        rank = new
        if change < tolerance:
            break
    rank /= rank.sum()
    return AlgorithmOutput(rank, iterations, "scipy" if weights is None else "scipy-weighted")


def pagerank_pull(
    n: int, src: np.ndarray, dst: np.ndarray, damping: float, max_iterations: int, tolerance: float
) -> AlgorithmOutput:
    """``run_pagerank`` pulling rank along in-edges, edges and vertices split over the usable cores.

    Only the sources grouped by target are kept: a step reads 4 bytes per edge (int32 ids)
    where a weighted mat-vec reads 12. Each vertex's sum runs on one thread in edge order,
    so the thread count changes the ranks only through the order in which the threads'
    totals of dangling rank are added.
    """
    threads = max(1, min(usable_cores(), src.size // _MIN_EDGES_PER_THREAD))
    # Each slice of the counting sort counts into two arrays of n entries: no more slices
    # than keep them within 4 bytes per edge, however many cores there are.
    slices = max(1, min(threads, src.size // (2 * n)))
    with ThreadPoolExecutor(threads) if threads > 1 else contextlib.nullcontext() as pool:
        indptr, sources, out_degree = _incoming_edges(n, src, dst, slices, pool)
        share = np.zeros(n)
        np.divide(damping, out_degree, out=share, where=out_degree > 0)
        del out_degree
        # Split where the vertices before hold a thread's share of the work: in-edges, plus
        # one per vertex for its own updates (hubs of a power-law graph would make equal
        # vertex counts unequal work).
        work = indptr[1:] + np.arange(1, n + 1)
        cuts = np.searchsorted(work, np.linspace(0, work[-1], threads + 1)[1:-1])
        firsts, lasts = np.concatenate(([0], cuts)), np.concatenate((cuts, [n]))
        del work
        rank = np.full(n, 1.0 / n)
        scaled = rank * share
        # ``share`` is 0 exactly where a vertex has no out-edges, or everywhere when damping
        # is 0, where the dangling rank is multiplied by 0 anyway.
        dangling_rank = rank[share == 0].sum()
        new, new_scaled = np.empty(n), np.empty(n)
        teleport = (1.0 - damping) / n
        iterations = 0
        for iterations in range(1, max_iterations + 1):  # noqa: B007 - its last value is the count returned
            step = functools.partial(
                _pull_step,
                indptr,
                sources,
                scaled,
                share,
                rank,
                damping * dangling_rank / n + teleport,
                new,
                new_scaled,
            )
            changes, dangling_ranks = zip(*_map(pool, step, firsts, lasts), strict=True)
            dangling_rank = sum(dangling_ranks)
            rank, new = new, rank
            scaled, new_scaled = new_scaled, scaled
            if sum(changes) < tolerance:
                break
    rank /= rank.sum()
    return AlgorithmOutput(rank, iterations, "numba-pull")


def _incoming_edges(
    n: int, src: np.ndarray, dst: np.ndarray, slices: int, pool: ThreadPoolExecutor | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(indptr, sources, out_degree)``: the edges' sources grouped by target, in edge order.

    A counting sort in parallel: the pool's threads count the targets (and sources) of one
    slice of the edges each, and then write each slice's sources at the places the counts
    of the slices before it leave free. The result does not depend on the slice count.
    """
    bounds = np.linspace(0, src.size, slices + 1).astype(np.int64)
    # A slice's counts, and the positions they turn into, fit 4 bytes below 2**31 edges.
    count_type = np.int32 if src.size < np.iinfo(np.int32).max else np.int64
    into = np.zeros((slices, n), dtype=count_type)
    out_of = np.zeros((slices, n), dtype=count_type)
    _map(pool, functools.partial(_count_ends, src, dst), bounds[:-1], bounds[1:], into, out_of)
    out_degree = out_of.sum(axis=0)
    del out_of
    indptr = _slice_cursors(into)
    sources = np.empty(src.size, dtype=src.dtype)
    _map(pool, functools.partial(_scatter_sources, src, dst, sources), bounds[:-1], bounds[1:], into)
    return indptr, sources, out_degree


def _map(pool: ThreadPoolExecutor | None, function: Callable, *arguments) -> list:
    """``function`` over zipped ``arguments``, on the pool's threads when there is one."""
    return list(pool.map(function, *arguments) if pool is not None else map(function, *arguments))


@kernel
def _count_ends(src, dst, begin, end, into, out_of):
    """Count, for each vertex, the edges ``begin..end-1`` into it and out of it."""
    for e in range(begin, end):
        into[dst[e]] += 1
        out_of[src[e]] += 1


@kernel
def _slice_cursors(into):
    """Turn each slice's count of edges into a vertex into where the slice writes its first
    such edge (in place); returns the ``indptr`` of the grouped edges."""
    slices, n = into.shape
    indptr = np.empty(n + 1, dtype=np.int64)
    position = 0
    for v in range(n):
        indptr[v] = position
        for t in range(slices):
            count = into[t, v]
            into[t, v] = position
            position += count
    indptr[n] = position
    return indptr


@kernel
def _scatter_sources(src, dst, sources, begin, end, cursor):
    """Write the sources of edges ``begin..end-1`` at their targets' cursors, advancing them."""
    for e in range(begin, end):
        v = dst[e]
        sources[cursor[v]] = src[e]
        cursor[v] += 1


@kernel
def _pull_step(indptr, sources, scaled, share, rank, base, new, new_scaled, first, last):
    """One step for vertices ``first..last-1``: ``(L1 change, new rank of the dangling ones)``.

    ``scaled`` is the rank times damping / out-degree; ``base`` is what every vertex gets
    besides its in-edges. Writes the vertices' new rank and new scaled rank.
    """
    change = 0.0
    dangling_rank = 0.0
    for v in range(first, last):
        pulled = 0.0
        for j in range(indptr[v], indptr[v + 1]):
            pulled += scaled[sources[j]]
        value = pulled + base
        new[v] = value
        new_scaled[v] = value * share[v]
        change += abs(value - rank[v])
        if share[v] == 0.0:
            dangling_rank += value
    return change, dangling_rank
