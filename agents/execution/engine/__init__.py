"""The algorithm engine: one pure function from edge arrays to per-vertex values.

``run_algorithm`` takes vertices numbered ``0..n-1`` and two edge arrays, and returns an
``AlgorithmOutput``: a float64 score per vertex for centralities, or an int64 group id per
vertex for components and communities, with groups renumbered so that 0 is the largest
(ties: the group holding the lowest vertex index comes first). It does no I/O and keeps
no process state; PageRank and betweenness spread their work over one thread per usable
core, all joined before they return. Its output pickles, so the execution agent can run
it in a worker process (no OpenMP runtime is involved, so a forked worker works too).

Semantics, as networkx computes on a ``DiGraph`` (``Graph`` when every edge is undirected).
An edge runs ``src -> dst`` unless ``undirected`` marks it as a tie both ways; an undirected
pair listed more than once (e.g. exported in both directions) is one tie, weighted by the
largest weight listed. PageRank, SCC and betweenness follow direction (undirected ties both
ways); WCC, label propagation and Louvain read the undirected view. Without ``weights``
every edge counts 1: PageRank counts parallel edges with their multiplicity; betweenness,
label propagation and Louvain use the simple graph (no self-loops, each tie once). Weights
are strengths for PageRank (a step follows an out-edge with probability proportional to
its weight; parallel edges add up) and for Louvain, label propagation and modularity (a
tie weighs its directed edges' weights both ways plus its undirected tie's weight). For
betweenness they are lengths (shortest paths by total weight, Dijkstra-based Brandes; of
parallel edges the shortest counts). A zero strength adds nothing; a zero length is a free
hop; components ignore weights. Raw (unnormalized) betweenness counts each pair once when
every edge is undirected.

Engine choices, measured on this 2-core machine with 200k vertices / 2M random edges
(medians of noisy runs; "planted" = the same size with 2,000 planted communities).
End to end, arrays in to values out: PageRank 0.09 s (11 iterations), WCC 0.35 s,
SCC 0.25 s, label propagation 3.6–4.4 s (20 rounds), Louvain 1.7 s, betweenness with
16 / 64 sources 0.7 s / 2.1 s (so ~8 s with the default 256).

- Graph building. The scipy views are built by one counting pass (scipy's COO → CSR
  without the per-row sort of ``sum_duplicates``: 0.2–0.3 s at 10^7 edges), with int32
  indices and bool values; SCC sorts its rows to drop repeats. Louvain and betweenness
  take the simple graph from ``_simple_graph`` (compiled: count, fill, sort each row,
  drop repeats in place): 0.17 s both ways / 0.06 s directed at 2M edges, 1.1 s / 0.37 s
  at 10^7 (scipy's ``sum_duplicates`` route: 0.53 s directed at 10^7). Sorting the rows
  by insertion up to 32 entries halved that sort.
- Compiled code (PageRank, Louvain, betweenness, ``_simple_graph``): numba, cached on disk
  in ``__pycache__``, or in ``NUMBA_CACHE_DIR`` when set (the container image fills it at
  build time with ``python -m agents.execution.precompile``). First call in a fresh
  process: 4.6–5.5 s with an empty cache, 0.3 s with a warm one (loading numba's compiler
  takes about 70 MB of RSS besides); ``load_compiled_kernels`` pays that once for every
  kernel (7.6 s with an empty cache), so that forked processes start with them loaded.
- PageRank: own power iteration. Below 2^22 edges, a scipy CSR mat-vec per step (at 2M
  edges 0.09 s, as fast as the pull below with its kernels loaded, and free of numba's
  0.3 s load in a fresh process). From there it pulls along in-edges on all usable
  cores: the edges' sources grouped by target by a parallel counting sort (each thread
  counts, then places, its own slice of the edges; 0.15 s at 10^7 edges on two cores),
  then each step sums the scaled ranks of each vertex's sources, reading 4 bytes per
  edge (30 ms per step on two cores at 10^7 edges; scipy's float64 mat-vec 50 ms on
  one). At 10^7 edges, in fresh processes side by side (medians of five, the machine
  shared with other work): 0.61 s random (11 steps) / 0.66 s power-law (12) with the
  kernels already loaded, as in the agent's workers; 0.91 / 0.95 s in a process that
  loads numba first; scipy's iteration 1.07 / 1.05 s, of which 0.3–0.5 s building its
  matrix. Both meet the exact linear-system solution to 1e-16. NetworKit's would need
  the 0.35 s graph build, stops on its own norm rather than the catalog's L1 tolerance,
  and by default does not hand dangling vertices' rank back.
- WCC / SCC: ``scipy.sparse.csgraph.connected_components``, strong mode for both (WCC on
  the symmetric graph: the weak mode builds a float64 transpose).
- Label propagation: own vectorised semi-synchronous propagation (below). NetworKit PLP
  is faster (0.7 s single-threaded + graph build) but merged two cliques joined by one
  edge in 21–57 of 200 random relabelings (cliques of 4–8 vertices), is not
  reproducible with more than one thread and ignores the seed; ``LPDegreeOrdered`` has
  no iteration bound. Ours merged them in 4 of 200 (4-cliques; 0 of 200 for 6- and
  8-cliques) and follows the seed. It counts neighbour labels per block of vertices, so
  its working set is a few MB plus the symmetric graph (10 bytes per edge).
- Louvain: own sequential Louvain (below), compiled. Side by side with NetworKit PLM
  (``par="none"``, ``refine=False``, one thread; the engine before this one), medians of
  five seeds: 1.7 s vs 5.4 s random, modularity 0.1578 vs 0.1581; planted 1.2 s vs 1.5 s,
  0.7352 both. At 10^7 edges (three seeds): random 10 s vs 56 s, 0.1403 vs 0.1406;
  power-law 7.9 s vs 14.6 s, 0.1846 vs 0.1824; planted (10^6 vertices in blocks of 100)
  8.7 s vs 13.1 s, 0.7361 both. PLM gave the same partition whatever the seed; ours
  varies with the seed by up to ±0.002. Local moving stops after a pass gaining less
  than 1e-4 modularity: at 10^7 random edges 1e-5 took 23 s instead of 12.6 s for
  +0.0005, and Blondel et al.'s 1e-6 took 104 s. Peak RSS of the whole execution (load,
  run, write) at 10^7 edges: 53 / 50 bytes per edge (random / power-law), PLM's 182 / 69.
- Betweenness: own Brandes (below), compiled, sources split over the cores. Exact up to
  ``exact_limit`` vertices: 2.1 s vs NetworKit ``Betweenness``'s 5.6 s on 5k vertices /
  50k edges, the same scores to 1e-15. Else sampled sources with NetworKit
  ``EstimateBetweenness``'s linear scaling: 16 / 64 sources 0.7 s / 2.1 s vs its 3.2 s /
  8.9 s; 32 sources at 10^7 edges 11 s vs 37 s random, 8.5 s vs 35 s power-law, peak
  RSS 46 bytes per edge (its 83). On 20k vertices / 200k edges with 256 sources, the
  estimate's Pearson correlation with the exact scores was 0.70 random / 0.996 power-law
  for both; without the linear scaling (plain Brandes sums from the sampled sources,
  scaled by n / samples) 0.45 / 0.988, and 6 instead of 15 of the exact top 100 in the
  estimate's top 100 on the random graph.
"""

from __future__ import annotations

import contextlib
import functools
import os
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numba
import numpy as np
import scipy.sparse as sp
import structlog
from scipy.sparse.csgraph import connected_components

from agents.algorithms import ALGORITHMS, algorithm_spec, resolve_params
from bus.errors import TaskError

__all__ = ["AlgorithmOutput", "load_compiled_kernels", "run_algorithm"]

log = structlog.get_logger("agents.execution")

# Share of unstable vertices that move in one label-propagation round. Moving all of them
# at once (synchronous) makes labels oscillate on bipartite-like parts; moving a random
# half breaks the symmetry, as asynchronous propagation does, while staying vectorised.
_LP_MOVE_SHARE = 0.5

# Entries (vertex, neighbour) handled at once where a step works per entry: the working
# set stays a few MB however large the graph, instead of several arrays per edge.
_BLOCK_ENTRIES = 1 << 16

# Edges from which PageRank pulls with compiled kernels instead of iterating scipy
# mat-vecs. A fresh process first pays numba's one-time load: at 10^6 edges the pull then
# took 0.24-0.37 s against scipy's 0.045-0.07 s; at 10^7 it wins even so (see the module
# docstring). A worker forked from the agent's forkserver has it loaded already.
_PULL_FROM_EDGES = 1 << 22

# Fewest edges per thread in PageRank's pull: on smaller graphs handing work to another
# thread costs more than it saves.
_MIN_EDGES_PER_THREAD = 1 << 16

# Louvain's local moving stops after a pass that raised modularity by less than this
# (Blondel et al.'s rule; their code stops at 1e-6): later passes move a few vertices each
# but cost as much as the first. 1e-5 took 1.8 times as long at 10^7 random edges for
# +0.0005 modularity (see the module docstring).
_LOUVAIN_MIN_PASS_GAIN = 1e-4


def _compiled(function: Callable) -> Callable:
    """``numba.njit``, cached on disk so a fresh worker process loads machine code instead
    of compiling it, and without the GIL so threads can run it side by side.

    numba refuses ``cache=True`` (``RuntimeError`` at decoration) when neither the
    package's ``__pycache__`` nor the user's cache directory is writable, as in a
    read-only install with a read-only home; every process then compiles for itself.
    """
    try:
        return numba.njit(cache=True, nogil=True)(function)
    except RuntimeError as exc:
        log.warning(
            "numba_cache_unavailable",
            function=function.__name__,
            error=str(exc),
            fix="set NUMBA_CACHE_DIR to a writable directory",
        )
        return numba.njit(nogil=True)(function)


@dataclass(frozen=True)
class AlgorithmOutput:
    """What one run computed.

    Attributes:
        values: float64 score per vertex (centralities) or int64 group id per vertex
            (components, communities; 0 is the largest group).
        iterations: rounds the algorithm ran, when it iterates (PageRank, label propagation).
        engine: which implementation produced the values, e.g. ``"scipy"`` or
            ``"numba-sampled(256)"``.
        modularity: the standard (resolution 1) modularity of a community partition on the
            undirected simple graph, weighted when weights were given; ``None`` for other
            algorithms or a graph without edges (or without weight).
    """

    values: np.ndarray
    iterations: int | None
    engine: str
    modularity: float | None = None


def run_algorithm(
    algorithm: str,
    num_vertices: int,
    src: np.ndarray,
    dst: np.ndarray,
    params: dict,
    *,
    weights: np.ndarray | None = None,
    undirected: np.ndarray | None = None,
) -> AlgorithmOutput:
    """Run one catalog algorithm on the graph ``(num_vertices, src -> dst)``.

    Args:
        algorithm: a name from ``agents.algorithms.ALGORITHMS``.
        num_vertices: vertex count; vertices are ``0..num_vertices-1``.
        src: integer array of edge sources.
        dst: integer array of edge targets, same length as ``src``.
        params: the algorithm's parameters; missing ones take the catalog defaults.
        weights: one finite weight >= 0 per edge, or None for all 1 (see the module docstring).
        undirected: one bool per edge, True for a tie both ways, or None for all directed.

    Returns:
        The per-vertex values and how they were computed.

    Raises:
        TaskError: ``unknown_algorithm`` or ``bad_params`` (from the catalog),
            ``empty_graph`` for a graph without vertices, ``bad_graph`` for malformed edges,
            weights or direction flags.
    """
    spec = algorithm_spec(algorithm)
    resolved = resolve_params(algorithm, params)
    src, dst = _checked_edges(num_vertices, src, dst)
    weights = _checked_weights(weights, src.size)
    undirected = _checked_undirected(undirected, src.size)
    n = int(num_vertices)
    if spec.name == "pagerank":
        src, dst, weights = _directed_view(n, src, dst, weights, undirected)
        damping, tolerance = float(resolved["damping"]), float(resolved["tolerance"])
        return _pagerank(n, src, dst, weights, damping, int(resolved["max_iterations"]), tolerance)
    if spec.name == "wcc":
        return _components(n, src, dst, strong=False)
    if spec.name == "scc":
        src, dst, _ = _directed_view(n, src, dst, None, undirected)
        return _components(n, src, dst, strong=True)
    if spec.name == "label_propagation":
        if weights is None:
            ties = _undirected_both_ways(n, src, dst)
        else:
            ties = _weighted_ties(n, *_tie_list(n, src, dst, weights, undirected))
        return _label_propagation(ties, int(resolved["max_iterations"]), int(resolved["seed"]))
    if spec.name == "louvain":
        if weights is not None:
            src, dst, weights = _tie_list(n, src, dst, weights, undirected)
        return _louvain(n, src, dst, weights, float(resolved["resolution"]), int(resolved["seed"]))
    if spec.name == "betweenness":
        pairs_once = undirected is not None and bool(undirected.all())
        src, dst, weights = _directed_view(n, src, dst, weights, undirected)
        return _betweenness(
            n,
            src,
            dst,
            weights,
            int(resolved["exact_limit"]),
            int(resolved["samples"]),
            int(resolved["seed"]),
            bool(resolved["normalized"]),
            pairs_once,
        )
    raise TaskError("unknown_algorithm", f"the engine has no implementation of {algorithm!r}")


def load_compiled_kernels() -> None:
    """Run every algorithm once on a tiny graph, so that this process holds each compiled
    kernel for the argument types the engine passes at any size below 2**31 vertices.

    A process calling a kernel for the first time pays about 0.3 s to set numba up and load
    the machine code from the on-disk cache (seconds to compile it when the cache is
    empty); processes forked afterwards inherit what was loaded.
    """
    src = np.array([0, 1, 2, 2], dtype=np.int32)
    dst = np.array([1, 2, 0, 3], dtype=np.int32)
    weights = np.array([1.0, 2.0, 0.5, 1.0])
    undirected = np.array([False, True, False, True])
    for algorithm in ALGORITHMS:
        run_algorithm(algorithm, 4, src, dst, {})
        run_algorithm(algorithm, 4, src, dst, {}, weights=weights, undirected=undirected)
    # PageRank pulls with its kernels only on large graphs.
    _pagerank_pull(4, src, dst, 0.85, 1, 0.0)


# ---------------------------------------------------------------- input and graph views


def _checked_edges(num_vertices: int, src: np.ndarray, dst: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The endpoints as int32 (int64 only past 2**31 vertices); int32 input is not copied."""
    if num_vertices <= 0:
        raise TaskError(
            "empty_graph", "the graph has no vertices in the selected collections; there is nothing to analyse"
        )
    src = np.asarray(src)
    dst = np.asarray(dst)
    if src.ndim != 1 or dst.ndim != 1 or src.shape != dst.shape:
        raise TaskError(
            "bad_graph", f"edge arrays must be one-dimensional and equally long, got shapes {src.shape} and {dst.shape}"
        )
    if src.size and not (np.issubdtype(src.dtype, np.integer) and np.issubdtype(dst.dtype, np.integer)):
        raise TaskError("bad_graph", f"edge endpoints must be integer vertex indices, got {src.dtype} and {dst.dtype}")
    if src.size and (min(src.min(), dst.min()) < 0 or max(src.max(), dst.max()) >= num_vertices):
        raise TaskError(
            "bad_graph", f"edge endpoints must lie in [0, {num_vertices}); the edge list refers to other vertices"
        )
    dtype = np.int32 if num_vertices <= np.iinfo(np.int32).max else np.int64
    return src.astype(dtype, copy=False), dst.astype(dtype, copy=False)


def _checked_weights(weights: np.ndarray | None, edges: int) -> np.ndarray | None:
    """The weights as float64, one per edge, each finite and >= 0."""
    if weights is None:
        return None
    try:
        weights = np.asarray(weights, dtype=np.float64)
    except (TypeError, ValueError):
        raise TaskError("bad_graph", "edge weights must be numbers") from None
    if weights.shape != (edges,):
        raise TaskError("bad_graph", f"edge weights must be one per edge: got shape {weights.shape} for {edges} edges")
    bad = np.flatnonzero(~(np.isfinite(weights) & (weights >= 0)))
    if bad.size:
        example = int(bad[0])
        raise TaskError(
            "bad_graph",
            f"edge weights must be finite numbers >= 0; {bad.size} of {edges} edges have another "
            f"(e.g. edge {example}: {weights[example]})",
        )
    return weights


def _checked_undirected(undirected: np.ndarray | None, edges: int) -> np.ndarray | None:
    """The direction flags as a bool array, or None when no edge is undirected."""
    if undirected is None:
        return None
    undirected = np.asarray(undirected)
    if undirected.dtype != np.bool_ or undirected.shape != (edges,):
        raise TaskError(
            "bad_graph",
            f"undirected must be one bool per edge: got {undirected.dtype} of shape {undirected.shape} "
            f"for {edges} edges",
        )
    return undirected if undirected.any() else None


def _undirected_ties(
    n: int, src: np.ndarray, dst: np.ndarray, weights: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Each undirected pair once as ``(low end, high end, largest weight listed)``, self-loops included."""
    low = np.minimum(src, dst).astype(np.int64)
    keys = low * n + np.maximum(src, dst)
    if weights is None:
        # Sort and drop repeats: ``np.unique`` is far slower on large int64 arrays.
        keys.sort()
        keys = keys[np.diff(keys, prepend=-1) != 0]
    else:
        order = np.lexsort((-weights, keys))
        keys = keys[order]
        first = np.flatnonzero(np.diff(keys, prepend=-1))
        keys, weights = keys[first], weights[order][first]
    return (keys // n).astype(src.dtype), (keys % n).astype(src.dtype), weights


def _directed_view(
    n: int, src: np.ndarray, dst: np.ndarray, weights: np.ndarray | None, undirected: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """All edges as directed ones: the directed edges as given, each undirected tie once in each
    direction (a self-loop once). The input itself when no edge is undirected."""
    if undirected is None:
        return src, dst, weights
    directed = ~undirected
    undirected_weights = None if weights is None else weights[undirected]
    low, high, tie_weights = _undirected_ties(n, src[undirected], dst[undirected], undirected_weights)
    back = low != high
    view_src = np.concatenate([src[directed], low, high[back]])
    view_dst = np.concatenate([dst[directed], high, low[back]])
    if weights is None:
        return view_src, view_dst, None
    return view_src, view_dst, np.concatenate([weights[directed], tie_weights, tie_weights[back]])


def _tie_list(
    n: int, src: np.ndarray, dst: np.ndarray, weights: np.ndarray, undirected: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The weighted undirected view, each tie once as ``(low end, high end, weight)``: a pair's
    weight is the sum of its directed edges' weights (both ways) and of its undirected tie's.
    Self-loops and ties of weight 0 are left out: they add nothing to a community's links."""
    if undirected is not None:
        directed = ~undirected
        low, high, tie_weights = _undirected_ties(n, src[undirected], dst[undirected], weights[undirected])
        src, dst = np.concatenate([src[directed], low]), np.concatenate([dst[directed], high])
        weights = np.concatenate([weights[directed], tie_weights])
    apart = src != dst
    src, dst, weights = src[apart], dst[apart], weights[apart]
    keys, position = np.unique(np.minimum(src, dst).astype(np.int64) * n + np.maximum(src, dst), return_inverse=True)
    summed = np.bincount(position, weights=weights, minlength=keys.size)
    keys, summed = keys[summed > 0], summed[summed > 0]
    return (keys // n).astype(src.dtype), (keys % n).astype(src.dtype), summed


def _weighted_ties(n: int, low: np.ndarray, high: np.ndarray, weights: np.ndarray) -> sp.csr_array:
    """Each tie of a tie list in the rows of both its ends, with its weight; rows sorted."""
    rows, cols = np.concatenate([low, high]), np.concatenate([high, low])
    ties = sp.coo_array((np.concatenate([weights, weights]), (rows, cols)), shape=(n, n)).tocsr()
    ties.sort_indices()
    return ties


def _shortest_edges(
    n: int, src: np.ndarray, dst: np.ndarray, lengths: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """CSR ``(indptr, indices, lengths)`` without self-loops, each ordered pair once with the
    shortest of its edges' lengths; rows sorted, ``indptr`` int64, ``indices`` of the endpoints' dtype."""
    apart = src != dst
    src, dst, lengths = src[apart], dst[apart], lengths[apart]
    keys = src.astype(np.int64) * n + dst
    order = np.lexsort((lengths, keys))
    keys = keys[order]
    first = np.flatnonzero(np.diff(keys, prepend=-1))
    keys = keys[first]
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(keys // n, minlength=n), out=indptr[1:])
    return indptr, (keys % n).astype(src.dtype), lengths[order][first]


def _grouped(n: int, rows: np.ndarray, cols: np.ndarray, values: np.ndarray) -> sp.csr_array:
    """CSR of the entries ``(rows, cols, values)``, grouped by row with one linear counting pass.

    Rows keep their entries unsorted and duplicated. ``tocsr()`` would otherwise sort
    every row to sum duplicates, which cost more than the rest of a PageRank at 10^7
    edges when PageRank was built on it; the graph views below either want duplicates
    counted or remove them themselves.
    """
    entries = sp.coo_array((values, (rows, cols)), shape=(n, n))
    entries.has_canonical_format = True
    return entries.tocsr()


def _structure(matrix: sp.csr_array) -> sp.csr_array:
    """The same sparsity pattern with a read-only, zero-stride float64 1.0 as every value.

    ``scipy.sparse.csgraph`` converts a graph's values to float64 before it runs, which
    costs 8 bytes per entry; the traversals read only the pattern, and an array that
    already is float64 is passed through without a copy.
    """
    ones = np.broadcast_to(np.float64(1.0), (matrix.nnz,))
    return sp.csr_array((ones, matrix.indices, matrix.indptr), shape=matrix.shape)


def _undirected_both_ways(n: int, src: np.ndarray, dst: np.ndarray) -> sp.csr_array:
    """Each undirected pair in both its rows, once, without self-loops (bool values).

    Self-loops enter as explicit ``False``; the sum of the matrix and its transpose adds
    duplicates up (``or`` for bool) and drops the zero entries it produces.
    """
    directed = _grouped(n, src, dst, src != dst)
    return directed + directed.T


def _simple_graph(
    n: int, src: np.ndarray, dst: np.ndarray, both_ways: bool, new_ids: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """CSR ``(indptr, indices)`` of the simple graph: rows sorted, no self-loops, each entry once.

    ``both_ways`` lists each tie in the rows of both its ends (the undirected view);
    otherwise only in its source's row. With ``new_ids``, vertex ``v`` becomes vertex
    ``new_ids[v]``. ``indptr`` is int64, ``indices`` has the endpoints' dtype.
    """
    indptr = _row_ends(n, src, dst, both_ways, new_ids)
    # Allocated here rather than in the compiled code, so that numpy owns the buffer and
    # can shrink it in place (realloc, no copy) once the repeats are dropped: hub pairs
    # repeat a lot in power-law graphs, and so does a tie listed in both directions.
    indices = np.empty(indptr[-1], dtype=src.dtype)
    _fill_unique_rows(src, dst, both_ways, new_ids, indptr, indices)
    indices.resize(indptr[-1], refcheck=False)
    return indptr, indices


@_compiled
def _row_ends(n, src, dst, both_ways, new_ids):
    """``indptr`` of the rows ``_fill_unique_rows`` fills, before repeats are dropped.

    (numba compiles the ``new_ids is None`` branches away.)
    """
    indptr = np.zeros(n + 1, dtype=np.int64)
    for e in range(src.size):
        a, b = src[e], dst[e]
        if a != b:
            if new_ids is not None:
                a, b = new_ids[a], new_ids[b]
            indptr[a + 1] += 1
            if both_ways:
                indptr[b + 1] += 1
    for v in range(n):
        indptr[v + 1] += indptr[v]
    return indptr


@_compiled
def _fill_unique_rows(src, dst, both_ways, new_ids, indptr, indices):
    """Fill the rows ``indptr`` sized, then sort each row and drop its repeats.

    Rows are compacted to the left in place and ``indptr`` rewritten to match; the entries
    past ``indptr[-1]`` are left over and belong to no row.
    """
    n = indptr.size - 1
    cursor = indptr[:-1].copy()
    for e in range(src.size):
        a, b = src[e], dst[e]
        if a != b:
            if new_ids is not None:
                a, b = new_ids[a], new_ids[b]
            indices[cursor[a]] = b
            cursor[a] += 1
            if both_ways:
                indices[cursor[b]] = a
                cursor[b] += 1
    kept = 0
    row_start = 0
    for v in range(n):
        row_end = indptr[v + 1]
        _sort_row(indices, row_start, row_end)
        indptr[v] = kept
        previous = -1
        for j in range(row_start, row_end):
            neighbour = indices[j]
            if neighbour != previous:
                indices[kept] = neighbour
                kept += 1
                previous = neighbour
        row_start = row_end
    indptr[n] = kept


@_compiled
def _sort_row(indices, start, end):
    """Sort ``indices[start:end]`` in place: up to 32 entries by insertion, which takes half
    the time of numpy's sort there (most rows are that short at ten edges per vertex)."""
    if end - start > 32:
        indices[start:end].sort()
        return
    for i in range(start + 1, end):
        value = indices[i]
        j = i - 1
        while j >= start and indices[j] > value:
            indices[j + 1] = indices[j]
            j -= 1
        indices[j + 1] = value


def _row_blocks(indptr: np.ndarray, rows: np.ndarray, entries: int) -> Iterator[slice]:
    """Consecutive slices of ``rows`` whose rows hold about ``entries`` entries each (at least one row)."""
    ends = np.cumsum(indptr[rows + 1] - indptr[rows])
    cuts = np.searchsorted(ends, np.arange(entries, int(ends[-1]) if ends.size else 0, entries), side="right")
    bounds = np.unique(np.concatenate(([0], cuts, [rows.size])))
    for begin, end in zip(bounds[:-1], bounds[1:], strict=True):
        yield slice(int(begin), int(end))


def _row_entries(indptr: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For the given rows: the position of each of their entries, and which row (0..len-1) it belongs to."""
    starts = indptr[rows]
    lengths = indptr[rows + 1] - starts
    owner = np.repeat(np.arange(rows.size), lengths)
    return np.arange(owner.size) + np.repeat(starts - (np.cumsum(lengths) - lengths), lengths), owner


def _renumber_by_size(labels: np.ndarray) -> np.ndarray:
    """Group ids 0..k-1 by decreasing size; equal sizes ordered by their lowest vertex."""
    _, first, inverse = np.unique(labels, return_index=True, return_inverse=True)
    sizes = np.bincount(inverse)
    order = np.lexsort((first, -sizes))
    rank = np.empty_like(order)
    rank[order] = np.arange(order.size)
    return rank[inverse].astype(np.int64)


def _modularity(labels: np.ndarray, ties: sp.csr_array) -> float | None:
    """Newman modularity (resolution 1) of a partition of the undirected simple graph ``ties``.

    ``ties`` holds each tie in both its rows: bool values count each tie 1, float values are
    the ties' weights. ``None`` when the graph has no edges, where modularity is undefined.
    """
    weighted = ties.dtype != np.bool_
    total = float(ties.data.sum()) if weighted else ties.nnz
    if total == 0:
        return None
    n = labels.shape[0]
    row_lengths = np.diff(ties.indptr)
    intra = 0
    for block in _row_blocks(ties.indptr, np.arange(n), _BLOCK_ENTRIES):
        entries = slice(ties.indptr[block.start], ties.indptr[block.stop])
        inside = np.repeat(labels[block], row_lengths[block]) == labels[ties.indices[entries]]
        intra += ties.data[entries][inside].sum() if weighted else np.count_nonzero(inside)
    group_degree = np.bincount(labels, weights=ties.sum(axis=1) if weighted else row_lengths)
    return float(intra / total - np.square(group_degree / total).sum())


# ---------------------------------------------------------------- algorithms


def _pagerank(
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
        return _pagerank_pull(n, src, dst, damping, max_iterations, tolerance)
    if weights is None:
        # Adjacency by source: a vertex's out-degree is the length of its row, so no separate
        # count over the edges is needed. One step is the transposed mat-vec of the rank scaled
        # by damping / out-degree (the column-stochastic transition, damped): each vertex adds
        # its share to its out-neighbours, which runs as fast as the gather of a transposed CSR.
        # Values of one avoid a random gather of a weight per edge when the matrix is built.
        pattern = _grouped(n, src, dst, np.ones(src.size, dtype=bool))
        out_degree = np.diff(pattern.indptr)
        transition_t = sp.csr_array((np.ones(pattern.nnz), pattern.indices, pattern.indptr), shape=(n, n)).T
        del pattern
    else:
        # Parallel edges stay separate entries: the mat-vec and the row sums add them up.
        strengths = _grouped(n, src, dst, weights)
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
    for iterations in range(1, max_iterations + 1):
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


def _pagerank_pull(
    n: int, src: np.ndarray, dst: np.ndarray, damping: float, max_iterations: int, tolerance: float
) -> AlgorithmOutput:
    """``_pagerank`` pulling rank along in-edges, edges and vertices split over the usable cores.

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
        for iterations in range(1, max_iterations + 1):
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


@_compiled
def _count_ends(src, dst, begin, end, into, out_of):
    """Count, for each vertex, the edges ``begin..end-1`` into it and out of it."""
    for e in range(begin, end):
        into[dst[e]] += 1
        out_of[src[e]] += 1


@_compiled
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


@_compiled
def _scatter_sources(src, dst, sources, begin, end, cursor):
    """Write the sources of edges ``begin..end-1`` at their targets' cursors, advancing them."""
    for e in range(begin, end):
        v = dst[e]
        sources[cursor[v]] = src[e]
        cursor[v] += 1


@_compiled
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


def _components(n: int, src: np.ndarray, dst: np.ndarray, strong: bool) -> AlgorithmOutput:
    if strong:
        graph = _grouped(n, src, dst, np.ones(src.size, dtype=bool))
        # scipy 1.17's strong components never return on a row holding an entry twice.
        graph.sum_duplicates()
    else:
        # Weak components are the strong components of the graph with every edge in both
        # directions. scipy's own weak mode builds a float64 transpose (12 bytes per edge).
        graph = _undirected_both_ways(n, src, dst)
    _, labels = connected_components(_structure(graph), directed=True, connection="strong")
    return AlgorithmOutput(_renumber_by_size(labels), None, "scipy")


def _label_propagation(ties: sp.csr_array, max_iterations: int, seed: int) -> AlgorithmOutput:
    """Label propagation with Raghavan's stopping rule, vectorised over blocks of vertices.

    A vertex is unstable while its label is not among the most frequent labels of its
    neighbours (a neighbour counting with its tie's weight when ``ties`` holds weights
    rather than bools). Each round, every unstable vertex draws the most frequent neighbour
    label (ties broken at random) and a random half of them adopts it. Only vertices next
    to a change, or left unstable, are looked at again. Stops when all vertices are stable
    or after ``max_iterations`` rounds.
    """
    n = ties.shape[0]
    labels = np.arange(n, dtype=ties.indices.dtype)
    rng = np.random.default_rng(seed)
    pending = np.diff(ties.indptr) > 0
    rounds = 0
    while rounds < max_iterations:
        active = np.flatnonzero(pending)
        if active.size == 0:
            break
        rounds += 1
        best, unstable = _most_frequent_neighbour_labels(ties, labels, active, rng)
        if not unstable.any():
            break
        moves = unstable & (rng.random(active.size) < _LP_MOVE_SHARE)
        moved = active[moves]
        labels[moved] = best[moves]
        pending = np.zeros(n, dtype=bool)
        for block in _row_blocks(ties.indptr, moved, _BLOCK_ENTRIES):
            positions, _ = _row_entries(ties.indptr, moved[block])
            pending[ties.indices[positions]] = True
        pending[active[unstable & ~moves]] = True
    engine = "numpy-lp" if ties.dtype == np.bool_ else "numpy-lp-weighted"
    return AlgorithmOutput(_renumber_by_size(labels), rounds, engine, _modularity(labels, ties))


def _most_frequent_neighbour_labels(
    ties: sp.csr_array, labels: np.ndarray, vertices: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """For each vertex (each with at least one neighbour): a most frequent neighbour label,
    drawn at random among equally frequent ones, and whether its own label is less frequent.
    A neighbour counts 1 where ``ties`` holds bools, its tie's weight where it holds weights.
    """
    n = labels.shape[0]
    weighted = ties.dtype != np.bool_
    best = np.empty(vertices.size, dtype=labels.dtype)
    unstable = np.empty(vertices.size, dtype=bool)
    for block in _row_blocks(ties.indptr, vertices, _BLOCK_ENTRIES):
        rows = vertices[block]
        positions, owner = _row_entries(ties.indptr, rows)
        # One sortable key per (vertex, neighbour label): runs of equal keys are counts.
        keys = owner * n + labels[ties.indices[positions]]
        if weighted:
            order = np.argsort(keys, kind="stable")
            keys = keys[order]
            pair_start = np.flatnonzero(np.diff(keys, prepend=-1))
            counts = np.add.reduceat(ties.data[positions][order], pair_start)
        else:
            keys.sort()
            pair_start = np.flatnonzero(np.diff(keys, prepend=-1))
            counts = np.diff(pair_start, append=keys.size)
        # Sorting keeps the entries' owners in place: ``owner`` is already ascending.
        pair_owner = owner[pair_start]
        pair_label = keys[pair_start] - pair_owner * n
        vertex_start = np.flatnonzero(np.diff(pair_owner, prepend=-1))
        top = np.maximum.reduceat(counts, vertex_start)
        candidates = np.flatnonzero(counts == top[pair_owner])
        candidate_start = np.flatnonzero(np.diff(pair_owner[candidates], prepend=-1))
        choice = candidate_start + rng.integers(np.diff(candidate_start, append=candidates.size))
        best[block] = pair_label[candidates[choice]]
        own_count = np.zeros(rows.size, dtype=counts.dtype)
        mine = pair_label == labels[rows][pair_owner]
        own_count[pair_owner[mine]] = counts[mine]
        unstable[block] = own_count < top
    return best, unstable


def _louvain(
    n: int, src: np.ndarray, dst: np.ndarray, weights: np.ndarray | None, resolution: float, seed: int
) -> AlgorithmOutput:
    labels, modularity = _louvain_communities(n, src, dst, weights, resolution, np.random.default_rng(seed))
    engine = "numba-louvain" if weights is None else "numba-louvain-weighted"
    return AlgorithmOutput(_renumber_by_size(labels), None, engine, modularity)


def _louvain_communities(
    n: int, src: np.ndarray, dst: np.ndarray, weights: np.ndarray | None, resolution: float, rng: np.random.Generator
) -> tuple[np.ndarray, float | None]:
    """Louvain (Blondel et al. 2008) on the undirected simple graph, or with ``weights`` on the
    tie list ``src``-``dst`` (each tie once, weights > 0, from ``_tie_list``).

    Returns the community of each vertex and the partition's modularity at resolution 1
    (``None`` without edges). Each level moves vertices one at a time to the neighbouring
    community that raises modularity (at ``resolution``) the most, then merges every
    community into one vertex of the next level's graph. Stops at the first level where
    no vertex moves. Vertices, and then communities, are numbered in orders drawn from
    ``rng`` and visited in the order of their numbers, so each pass walks the rows front
    to back (2.6 times faster per pass than visiting in a random order at 10^7 edges).

    A coarse graph is a multigraph: a tie of weight w between two communities is w entries,
    not one entry and a weight. On a random graph the first levels merge about two vertices
    per community and hardly any ties coincide, so a weight array (4 bytes per entry) would
    cost more than the repeats it saves. Every weight is thus a count: the sums are exact,
    and a vertex's choice does not depend on the order of its row. The entries left at the
    last level are the level-0 entries between communities, which gives the modularity
    without keeping the level-0 graph. With weights, each entry carries its tie's weight
    instead, through every level.
    """
    new_ids = rng.permutation(n).astype(src.dtype)
    if weights is None:
        indptr, indices = _simple_graph(n, src, dst, both_ways=True, new_ids=new_ids)
        total = float(indptr[-1])
        strength = np.diff(indptr).astype(np.float64)
    else:
        ties = _weighted_ties(n, new_ids[src], new_ids[dst], weights)
        indptr, indices, weights = ties.indptr.astype(np.int64), ties.indices.astype(src.dtype), ties.data
        total = float(weights.sum())
        strength = ties.sum(axis=1)
        del ties
    labels = np.arange(n, dtype=indices.dtype)
    while total:
        community, moved = _move_vertices(indptr, indices, weights, strength, total, resolution, _LOUVAIN_MIN_PASS_GAIN)
        if not moved:
            break
        _, community = np.unique(community, return_inverse=True)
        groups = int(community.max()) + 1
        community = rng.permutation(groups).astype(indices.dtype)[community]
        labels = community[labels]
        # Rebinding frees the finer graph once the coarser one is built.
        indptr, indices, strength, coarse_weights = _aggregate(indptr, indices, weights, strength, community, groups)
        if weights is not None:
            weights = coarse_weights
    # ``labels`` is indexed by new id, and vertex v is new_ids[v].
    labels = labels[new_ids]
    if not total:
        return labels, None
    intra = total - (float(indptr[-1]) if weights is None else float(weights.sum()))
    return labels, float(intra / total - np.square(strength / total).sum())


@_compiled
def _move_vertices(indptr, indices, weights, strength, total, resolution, min_pass_gain):
    """Louvain's local moving on one level, from singletons: ``(community of each vertex, moved)``.

    A vertex ``v`` of strength ``k`` taken out of its community gains, by joining community
    ``c``, modularity ``2 / total * (link(v, c) - resolution * strength(c) * k / total)``,
    where ``link(v, c)`` counts ``v``'s entries into ``c`` (adds up their ``weights``
    unless that is None; numba compiles the other branch away). It joins the community with the
    largest gain if that beats going back to its own, the lowest community id among equal
    gains. Passes over the vertices, in id order, repeat until one moves no vertex or
    gains less than ``min_pass_gain``. Every move raises the (bounded) modularity, so with
    a symmetric graph the passes end.
    """
    n = strength.size
    community = np.arange(n).astype(indices.dtype)
    community_strength = strength.copy()
    link = np.zeros(n)
    candidates = np.empty(n, dtype=indices.dtype)
    per_strength = resolution / total
    moved = False
    while True:
        moves = 0
        pass_gain = 0.0
        for v in range(n):
            own = community[v]
            k = strength[v]
            count = 0
            for j in range(indptr[v], indptr[v + 1]):
                c = community[indices[j]]
                # Only a community not met yet in this row has no link.
                if link[c] == 0.0:
                    candidates[count] = c
                    count += 1
                if weights is None:
                    link[c] += 1.0
                else:
                    link[c] += weights[j]
            community_strength[own] -= k
            stay = link[own] - per_strength * community_strength[own] * k
            best, best_gain = own, stay
            for t in range(count):
                c = candidates[t]
                gain = link[c] - per_strength * community_strength[c] * k
                if gain > best_gain or (gain == best_gain and best != own and c < best):
                    best, best_gain = c, gain
                link[c] = 0.0
            community_strength[best] += k
            if best != own:
                community[v] = best
                moves += 1
                pass_gain += best_gain - stay
        moved = moved or moves > 0
        if moves == 0 or 2.0 * pass_gain / total < min_pass_gain:
            return community, moved


@_compiled
def _aggregate(indptr, indices, weights, strength, community, groups):
    """The next level's multigraph: ``(indptr, indices, strength, weights)`` with one vertex per community.

    ``community`` holds ``0..groups-1``. Row ``g`` lists, for every entry of every member of
    community ``g``, the community at its other end, unless that is ``g`` itself: a tie
    inside a community only ever counts through the community's strength (the sum of its
    members'). Each entry keeps its weight; without ``weights`` the returned weights are
    empty. Rows are sized in a first pass and filled in a second, so the arrays are
    allocated at their final size.
    """
    n = community.size
    first = np.zeros(groups + 1, dtype=np.int64)
    for v in range(n):
        first[community[v] + 1] += 1
    for g in range(groups):
        first[g + 1] += first[g]
    members = np.empty(n, dtype=indices.dtype)
    cursor = first[:-1].copy()
    coarse_strength = np.zeros(groups)
    for v in range(n):
        g = community[v]
        members[cursor[g]] = v
        cursor[g] += 1
        coarse_strength[g] += strength[v]
    coarse_indptr = np.zeros(groups + 1, dtype=np.int64)
    for g in range(groups):
        for t in range(first[g], first[g + 1]):
            v = members[t]
            for j in range(indptr[v], indptr[v + 1]):
                if community[indices[j]] != g:
                    coarse_indptr[g + 1] += 1
    for g in range(groups):
        coarse_indptr[g + 1] += coarse_indptr[g]
    coarse_indices = np.empty(coarse_indptr[groups], dtype=indices.dtype)
    coarse_weights = np.empty(0 if weights is None else coarse_indptr[groups])
    for g in range(groups):
        fill = coarse_indptr[g]
        for t in range(first[g], first[g + 1]):
            v = members[t]
            for j in range(indptr[v], indptr[v + 1]):
                h = community[indices[j]]
                if h != g:
                    coarse_indices[fill] = h
                    if weights is not None:
                        coarse_weights[fill] = weights[j]
                    fill += 1
    return coarse_indptr, coarse_indices, coarse_strength, coarse_weights


def _betweenness(
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
    if lengths is None:
        indptr, indices = _simple_graph(n, src, dst, both_ways=False)
        method = "numba"
    else:
        indptr, indices, lengths = _shortest_edges(n, src, dst, lengths)
        method = "numba-dijkstra"
    # Sampling as many sources as there are vertices costs as much as the exact answer.
    if n <= exact_limit or samples >= n:
        scores = _dependency_sums(indptr, indices, lengths, np.arange(n, dtype=indices.dtype), by_distance=False)
        engine = f"{method}-exact"
    else:
        sources = np.random.default_rng(seed).choice(n, samples, replace=False).astype(indices.dtype)
        scores = _dependency_sums(indptr, indices, lengths, sources, by_distance=True)
        # Each vertex is a source with probability samples / n, and where ties go both ways
        # the distance weights of the pairs (s, t) and (t, s) add up to one, hence the 2:
        # NetworKit's EstimateBetweenness extrapolation, also on directed graphs, where it
        # favours vertices near the targets. (NetworKit draws samples + 1 sources for it.)
        scores *= 2 * n / samples
        engine = f"{method}-sampled({samples})"
    if normalized:
        scores /= (n - 1) * (n - 2)
    elif pairs_once:
        scores /= 2
    return AlgorithmOutput(scores, None, engine)


def _dependency_sums(
    indptr: np.ndarray, indices: np.ndarray, lengths: np.ndarray | None, sources: np.ndarray, by_distance: bool
) -> np.ndarray:
    """Sum over ``sources`` of each vertex's Brandes dependency (see ``_brandes``; by total
    length with ``_brandes_by_length`` where ``lengths`` are given), on all usable cores.

    The sources are cut into one fixed slice per core, each summed by its own thread, and
    the slices' sums added in slice order: the same scores on every run (with as many
    cores; another core count rounds differently in the last bits).
    """

    def dependencies(chunk: np.ndarray) -> np.ndarray:
        if lengths is None:
            return _brandes(indptr, indices, chunk, by_distance)
        return _brandes_by_length(indptr, indices, lengths, chunk, by_distance)

    slices = np.array_split(sources, max(1, min(usable_cores(), sources.size)))
    if len(slices) == 1:
        return dependencies(sources)
    with ThreadPoolExecutor(len(slices)) as pool:
        sums = list(pool.map(dependencies, slices))
    total = sums[0]
    for part in sums[1:]:
        total += part
    return total


def usable_cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


@_compiled
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
        distance[s] = 0
        paths[s] = 1.0
        visited[0] = s
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
                if distance[u] == distance[v] + 1:
                    paths[u] += paths[v]
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


@_compiled
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


@_compiled
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


@_compiled
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
