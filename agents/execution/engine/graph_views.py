"""Input checks and the graph views the algorithms read: directed, undirected, weighted ties, simple graph.

Every view is built from the edge arrays by counting passes (no per-row sort where none
is needed); ``simple_graph`` is compiled.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import scipy.sparse as sp

from gaai.agents.execution.engine.compiled import kernel, usable_cores
from gaai.bus.errors import TaskError


def checked_edges(num_vertices: int, src: np.ndarray, dst: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
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


def checked_weights(weights: np.ndarray | None, edges: int) -> np.ndarray | None:
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


def checked_undirected(undirected: np.ndarray | None, edges: int) -> np.ndarray | None:
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


def directed_view(
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


def tie_list(
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


def weighted_ties(n: int, low: np.ndarray, high: np.ndarray, weights: np.ndarray) -> sp.csr_array:
    """Each tie of a tie list in the rows of both its ends, with its weight; rows sorted."""
    rows, cols = np.concatenate([low, high]), np.concatenate([high, low])
    ties = sp.coo_array((np.concatenate([weights, weights]), (rows, cols)), shape=(n, n)).tocsr()
    ties.sort_indices()
    return ties


def shortest_edges(
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


def strength_product(
    n: int, rows: np.ndarray, cols: np.ndarray, weights: np.ndarray | None
) -> Callable[[np.ndarray], np.ndarray]:
    """``x ↦ A·x`` for the matrix ``A`` with one entry per distinct ``(row, col)`` pair, self-loops kept: 1
    without weights (each edge once, as a ``DiGraph`` holds it), else the sum of the pair's weights (parallel
    edges add up).

    Without weights, the compiled counting build of ``simple_graph`` and a product that reads no value per
    entry (4 bytes per edge instead of a sparse matrix's 12); with them, a sparse matrix that sums the repeats
    itself. Both avoid ``np.unique`` over 64-bit edge keys, which is far slower on large graphs.
    """
    if weights is None:
        return _pattern_product(*simple_graph(n, rows, cols, both_ways=False, keep_loops=True))
    matrix = sp.csr_array((weights, (rows, cols)), shape=(n, n))
    matrix.sum_duplicates()
    return matrix.__matmul__


_MIN_ENTRIES_PER_THREAD = 1 << 20
"""Below this many entries per thread, starting the threads costs more than they save."""


def _pattern_product(indptr: np.ndarray, indices: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    """``x ↦ A·x`` for the 0/1 matrix of the CSR pattern, the rows split over the usable cores into runs of
    about equal entries. Each row is summed by one thread in row order, so the thread count changes nothing."""
    n = indptr.size - 1
    threads = max(1, min(usable_cores(), indices.size // _MIN_ENTRIES_PER_THREAD))
    cuts = np.searchsorted(indptr, np.linspace(0, indices.size, threads + 1)[1:-1])
    bounds = list(zip(np.concatenate(([0], cuts)).tolist(), np.concatenate((cuts, [n])).tolist(), strict=True))

    def product(x: np.ndarray) -> np.ndarray:
        sums = np.empty(n)
        if threads == 1:
            _row_sums(indptr, indices, x, sums, 0, n)
            return sums
        with ThreadPoolExecutor(threads) as pool:
            list(pool.map(lambda rows: _row_sums(indptr, indices, x, sums, *rows), bounds))
        return sums

    return product


@kernel
def _row_sums(indptr, indices, x, sums, first, last):
    """For rows ``first`` to ``last - 1``, the sum of ``x`` over the row's entries."""
    for v in range(first, last):
        total = 0.0
        for j in range(indptr[v], indptr[v + 1]):
            total += x[indices[j]]
        sums[v] = total


def grouped_by_row(n: int, rows: np.ndarray, cols: np.ndarray, values: np.ndarray) -> sp.csr_array:
    """CSR of the entries ``(rows, cols, values)``, grouped by row with one linear counting pass.

    Rows keep their entries unsorted and duplicated: ``tocsr()`` would otherwise sort
    every row to sum duplicates, which on large graphs costs more than a PageRank's
    iterations, and the graph views either want duplicates counted or remove them themselves.
    """
    entries = sp.coo_array((values, (rows, cols)), shape=(n, n))
    entries.has_canonical_format = True
    return entries.tocsr()


def as_pattern(matrix: sp.csr_array) -> sp.csr_array:
    """The same sparsity pattern with a read-only, zero-stride float64 1.0 as every value.

    ``scipy.sparse.csgraph`` converts a graph's values to float64 before it runs, which
    costs 8 bytes per entry; the traversals read only the pattern, and an array that
    already is float64 is passed through without a copy.
    """
    ones = np.broadcast_to(np.float64(1.0), (matrix.nnz,))
    return sp.csr_array((ones, matrix.indices, matrix.indptr), shape=matrix.shape)


def undirected_both_ways(n: int, src: np.ndarray, dst: np.ndarray) -> sp.csr_array:
    """Each undirected pair in both its rows, once, without self-loops (bool values).

    Self-loops enter as explicit ``False``; the sum of the matrix and its transpose adds
    duplicates up (``or`` for bool) and drops the zero entries it produces.
    """
    directed = grouped_by_row(n, src, dst, src != dst)
    return directed + directed.T


def simple_graph(
    n: int,
    src: np.ndarray,
    dst: np.ndarray,
    both_ways: bool,
    new_ids: np.ndarray | None = None,
    keep_loops: bool = False,
    lower_end_rows: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """CSR ``(indptr, indices)`` of the simple graph: rows sorted, no self-loops, each entry once.

    ``both_ways`` lists each tie in the rows of both its ends (the undirected view);
    otherwise only in its source's row, or with ``lower_end_rows`` in the row of its lower
    end (each undirected tie once). With ``new_ids``, vertex ``v`` becomes vertex
    ``new_ids[v]``. ``keep_loops`` keeps each self-loop once (in its vertex's row, once
    even both ways). ``indptr`` is int64, ``indices`` has the endpoints' dtype.
    """
    indptr = _row_ends(n, src, dst, both_ways, new_ids, keep_loops, lower_end_rows)
    # Allocated here rather than in the compiled code, so that numpy owns the buffer and
    # can shrink it in place (realloc, no copy) once the repeats are dropped: hub pairs
    # repeat a lot in power-law graphs, and so does a tie listed in both directions.
    indices = np.empty(indptr[-1], dtype=src.dtype)
    _fill_unique_rows(src, dst, both_ways, new_ids, keep_loops, lower_end_rows, indptr, indices)
    indices.resize(indptr[-1], refcheck=False)
    return indptr, indices


@kernel
def _row_ends(n, src, dst, both_ways, new_ids, keep_loops, lower_end_rows):
    """``indptr`` of the rows ``_fill_unique_rows`` fills, before repeats are dropped.

    (numba compiles the ``new_ids is None`` branches away.)
    """
    indptr = np.zeros(n + 1, dtype=np.int64)
    for e in range(src.size):
        a, b = src[e], dst[e]
        if a != b or keep_loops:
            if new_ids is not None:
                a, b = new_ids[a], new_ids[b]
            if lower_end_rows and b < a:
                a, b = b, a
            indptr[a + 1] += 1
            if both_ways and a != b:
                indptr[b + 1] += 1
    for v in range(n):
        indptr[v + 1] += indptr[v]
    return indptr


@kernel
def _fill_unique_rows(src, dst, both_ways, new_ids, keep_loops, lower_end_rows, indptr, indices):
    """Fill the rows ``indptr`` sized, then sort each row and drop its repeats.

    Rows are compacted to the left in place and ``indptr`` rewritten to match; the entries
    past ``indptr[-1]`` are left over and belong to no row.
    """
    n = indptr.size - 1
    cursor = indptr[:-1].copy()
    for e in range(src.size):
        a, b = src[e], dst[e]
        if a != b or keep_loops:
            if new_ids is not None:
                a, b = new_ids[a], new_ids[b]
            if lower_end_rows and b < a:
                a, b = b, a
            indices[cursor[a]] = b
            cursor[a] += 1
            if both_ways and a != b:
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


@kernel
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
