"""The algorithm engine: one pure function from edge arrays to per-vertex values.

``run_algorithm`` takes vertices numbered ``0..n-1`` and two edge arrays, and returns an
``AlgorithmOutput``: a float64 score per vertex for centralities, or an int64 group id per
vertex for components and communities, with groups renumbered so that 0 is the largest
(ties: the group holding the lowest vertex index comes first). It does no I/O; the only
process state it touches is NetworKit's random seed and, for the duration of a call, the
calling thread's OpenMP thread count. Its output pickles, so the execution agent can run
it in a worker process. Start such workers with the "spawn" or "forkserver" method: a
process forked after NetworKit has run OpenMP work hangs in its first parallel region.

Directedness comes from the algorithm, not from the caller: PageRank, SCC and betweenness
follow edge direction; WCC, label propagation and Louvain read the undirected view.
PageRank counts parallel edges with their multiplicity; betweenness, label propagation and
Louvain use the simple graph (no self-loops, each tie once).

Engine choices, measured on this 2-core machine with 200k vertices / 2M random edges
(medians of noisy runs; "planted" = the same size with 2,000 planted communities).
End to end, arrays in to values out: PageRank 0.4 s (11 iterations), WCC 0.35 s,
SCC 0.25 s, label propagation 3.6–4.4 s (20 rounds), Louvain 5–7 s, betweenness with
16 / 64 pivots 2.6–3.3 s / 10.7 s (so ~40 s with the default 256).

- Graph building. NetworKit ``Graph.addEdges((src, dst))`` 1.4 s and ``GraphFromCoo``
  1.45 s; ``GraphFromCsr`` from a de-duplicated scipy CSR 0.15 s (CSR) + 0.33 s
  (directed) or 0.35 s (undirected upper triangle). ``np.unique`` for de-duplication
  took 1.7–2.2 s. CSR views are built by one counting pass (scipy's COO → CSR without
  the per-row sort of ``sum_duplicates``: 0.2–0.3 s at 10^7 edges), with int32 indices
  and bool values; only the views that must be duplicate-free (SCC, Louvain,
  betweenness) sort their rows. A NetworKit graph is built only for the algorithms that
  need it; ``GraphFromCsr`` copies the indices to int64 and the values to float64 first.
- PageRank: own power iteration, a scipy CSR mat-vec per step (the transposed adjacency
  with values 1, times the rank scaled by damping / out-degree), ~10 ms per iteration;
  it meets the exact linear-system solution to 1e-16. NetworKit's
  would need the 0.35 s graph build, stops on its own norm rather than the catalog's L1
  tolerance, and by default does not hand dangling vertices' rank back.
- WCC / SCC: ``scipy.sparse.csgraph.connected_components``, strong mode for both (WCC on
  the symmetric graph: the weak mode builds a float64 transpose).
- Label propagation: own vectorised semi-synchronous propagation (below). NetworKit PLP
  is faster (0.7 s single-threaded + graph build) but merged two cliques joined by one
  edge in 21–57 of 200 random relabelings (cliques of 4–8 vertices), is not
  reproducible with more than one thread and ignores the seed; ``LPDegreeOrdered`` has
  no iteration bound. Ours merged them in 4 of 200 (4-cliques; 0 of 200 for 6- and
  8-cliques) and follows the seed. It counts neighbour labels per block of vertices, so
  its working set is a few MB plus the symmetric graph (10 bytes per edge).
- Louvain: NetworKit PLM with ``par="none"`` (sequential moves) on one OpenMP thread,
  graph built on one thread too: 5.0 s random / 1.2 s planted, the same partition for
  the same seed. With two threads the partition changed from run to run (parallel
  graph build and coarsening order neighbours by thread timing); the parallel
  "balanced" mode took 4.5 s / 1.4 s and never gave the same answer twice;
  ``turbo=False`` took 40 s. ParallelLeiden (2.3 s) is a different algorithm and is not
  reproducible with two threads either.
- Betweenness: NetworKit ``Betweenness`` (exact Brandes, parallel; ~2 ms per source on
  5k vertices / 50k edges, single thread) up to ``exact_limit`` vertices, else
  ``EstimateBetweenness`` with ``samples`` pivots, in parallel (~0.26 s per pivot on 2M
  edges single-threaded; the same scores for the same seed with one or two threads).
  ``ApproxBetweenness`` took 289 s and is not used.

NetworKit pitfall: ``CommunityDetector.getPartition()`` must be called once; a second call
hands back a moved-from partition and crashes the process.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import networkit as nk
import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

from agents.algorithms import algorithm_spec, resolve_params
from bus.errors import TaskError

__all__ = ["AlgorithmOutput", "run_algorithm"]

# Share of unstable vertices that move in one label-propagation round. Moving all of them
# at once (synchronous) makes labels oscillate on bipartite-like parts; moving a random
# half breaks the symmetry, as asynchronous propagation does, while staying vectorised.
_LP_MOVE_SHARE = 0.5

# Entries (vertex, neighbour) handled at once where a step works per entry: the working
# set stays a few MB however large the graph, instead of several arrays per edge.
_BLOCK_ENTRIES = 1 << 16


@dataclass(frozen=True)
class AlgorithmOutput:
    """What one run computed.

    Attributes:
        values: float64 score per vertex (centralities) or int64 group id per vertex
            (components, communities; 0 is the largest group).
        iterations: rounds the algorithm ran, when it iterates (PageRank, label propagation).
        engine: which implementation produced the values, e.g. ``"scipy"`` or
            ``"networkit-sampled(256)"``.
        modularity: the standard (resolution 1) modularity of a community partition on the
            undirected simple graph; ``None`` for other algorithms or a graph without edges.
    """

    values: np.ndarray
    iterations: int | None
    engine: str
    modularity: float | None = None


def run_algorithm(algorithm: str, num_vertices: int, src: np.ndarray, dst: np.ndarray, params: dict) -> AlgorithmOutput:
    """Run one catalog algorithm on the graph ``(num_vertices, src -> dst)``.

    Args:
        algorithm: a name from ``agents.algorithms.ALGORITHMS``.
        num_vertices: vertex count; vertices are ``0..num_vertices-1``.
        src: integer array of edge sources.
        dst: integer array of edge targets, same length as ``src``.
        params: the algorithm's parameters; missing ones take the catalog defaults.

    Returns:
        The per-vertex values and how they were computed.

    Raises:
        TaskError: ``unknown_algorithm`` or ``bad_params`` (from the catalog),
            ``empty_graph`` for a graph without vertices, ``bad_graph`` for malformed edges.
    """
    spec = algorithm_spec(algorithm)
    resolved = resolve_params(algorithm, params)
    src, dst = _checked_edges(num_vertices, src, dst)
    n = int(num_vertices)
    if spec.name == "pagerank":
        return _pagerank(n, src, dst, float(resolved["damping"]), int(resolved["max_iterations"]), float(resolved["tolerance"]))
    if spec.name in ("wcc", "scc"):
        return _components(n, src, dst, strong=spec.name == "scc")
    if spec.name == "label_propagation":
        return _label_propagation(n, src, dst, int(resolved["max_iterations"]), int(resolved["seed"]))
    if spec.name == "louvain":
        return _louvain(n, src, dst, float(resolved["resolution"]), int(resolved["seed"]))
    if spec.name == "betweenness":
        return _betweenness(
            n, src, dst, int(resolved["exact_limit"]), int(resolved["samples"]), int(resolved["seed"]), bool(resolved["normalized"])
        )
    raise TaskError("unknown_algorithm", f"the engine has no implementation of {algorithm!r}")


# ---------------------------------------------------------------- input and graph views


def _checked_edges(num_vertices: int, src: np.ndarray, dst: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The endpoints as int32 (int64 only past 2**31 vertices); int32 input is not copied."""
    if num_vertices <= 0:
        raise TaskError("empty_graph", "the graph has no vertices in the selected collections; there is nothing to analyse")
    src = np.asarray(src)
    dst = np.asarray(dst)
    if src.ndim != 1 or dst.ndim != 1 or src.shape != dst.shape:
        raise TaskError("bad_graph", f"edge arrays must be one-dimensional and equally long, got shapes {src.shape} and {dst.shape}")
    if src.size and not (np.issubdtype(src.dtype, np.integer) and np.issubdtype(dst.dtype, np.integer)):
        raise TaskError("bad_graph", f"edge endpoints must be integer vertex indices, got {src.dtype} and {dst.dtype}")
    if src.size and (min(src.min(), dst.min()) < 0 or max(src.max(), dst.max()) >= num_vertices):
        raise TaskError("bad_graph", f"edge endpoints must lie in [0, {num_vertices}); the edge list refers to other vertices")
    dtype = np.int32 if num_vertices <= np.iinfo(np.int32).max else np.int64
    return src.astype(dtype, copy=False), dst.astype(dtype, copy=False)


def _grouped(n: int, rows: np.ndarray, cols: np.ndarray, values: np.ndarray) -> sp.csr_array:
    """CSR of the entries ``(rows, cols, values)``, grouped by row with one linear counting pass.

    Rows keep their entries unsorted and duplicated. ``tocsr()`` would otherwise sort
    every row to sum duplicates, which cost more than the rest of a PageRank at 10^7
    edges; a mat-vec adds duplicates up anyway, and the graph views below either want
    them counted or remove them themselves.
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


def _simple_directed(n: int, src: np.ndarray, dst: np.ndarray) -> sp.csr_array:
    """Directed adjacency (bool) without self-loops or parallel edges (they would skew path counts)."""
    matrix = _grouped(n, src, dst, src != dst)
    matrix.sum_duplicates()
    matrix.eliminate_zeros()
    return matrix


def _undirected_upper(n: int, src: np.ndarray, dst: np.ndarray) -> sp.csr_array:
    """Each undirected pair once (row < column), without self-loops: a ↔ b counts as one tie."""
    lo = np.minimum(src, dst)
    hi = np.maximum(src, dst)
    matrix = _grouped(n, lo, hi, lo != hi)
    del lo, hi
    matrix.sum_duplicates()
    matrix.eliminate_zeros()
    return matrix


def _undirected_both_ways(n: int, src: np.ndarray, dst: np.ndarray) -> sp.csr_array:
    """Each undirected pair in both its rows, once, without self-loops (bool values).

    Self-loops enter as explicit ``False``; the sum of the matrix and its transpose adds
    duplicates up (``or`` for bool) and drops the zero entries it produces.
    """
    directed = _grouped(n, src, dst, src != dst)
    return directed + directed.T


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


def _nk_graph(matrix: sp.csr_array, directed: bool) -> nk.Graph:
    # GraphFromCsr copies the arrays in C++; an undirected graph takes each pair once.
    # Built in parallel, the reverse adjacency lists come out in thread-timing order, and
    # PLM's partition depends on neighbour order; one thread builds as fast (0.37 s vs
    # 0.35 s for 2M edges) and always in the same order.
    with _one_thread():
        return nk.graph.GraphFromCsr(matrix, directed=directed)


@contextmanager
def _one_thread() -> Iterator[None]:
    """Run NetworKit on one OpenMP thread (the calling thread's setting), then restore it."""
    before = nk.engineering.getMaxNumberOfThreads()
    nk.engineering.setNumberOfThreads(1)
    try:
        yield
    finally:
        nk.engineering.setNumberOfThreads(before)


def _renumber_by_size(labels: np.ndarray) -> np.ndarray:
    """Group ids 0..k-1 by decreasing size; equal sizes ordered by their lowest vertex."""
    _, first, inverse = np.unique(labels, return_index=True, return_inverse=True)
    sizes = np.bincount(inverse)
    order = np.lexsort((first, -sizes))
    rank = np.empty_like(order)
    rank[order] = np.arange(order.size)
    return rank[inverse].astype(np.int64)


def _modularity(labels: np.ndarray, ties: sp.csr_array, both_ways: bool) -> float | None:
    """Newman modularity (resolution 1) of a partition of the undirected simple graph ``ties``.

    ``ties`` holds each tie once (upper triangle) or, with ``both_ways``, in both its rows.
    ``None`` when the graph has no edges, where modularity is undefined.
    """
    if ties.nnz == 0:
        return None
    n = labels.shape[0]
    row_entries = np.diff(ties.indptr)
    degree = row_entries if both_ways else row_entries + np.bincount(ties.indices, minlength=n)
    intra = 0
    for block in _row_blocks(ties.indptr, np.arange(n), _BLOCK_ENTRIES):
        entries = slice(ties.indptr[block.start], ties.indptr[block.stop])
        intra += np.count_nonzero(np.repeat(labels[block], row_entries[block]) == labels[ties.indices[entries]])
    total_degree = float(ties.nnz) if both_ways else 2.0 * ties.nnz
    group_degree = np.bincount(labels, weights=degree)
    return float(intra / ties.nnz - np.square(group_degree / total_degree).sum())


# ---------------------------------------------------------------- algorithms


def _pagerank(n: int, src: np.ndarray, dst: np.ndarray, damping: float, max_iterations: int, tolerance: float) -> AlgorithmOutput:
    # Adjacency by source: a vertex's out-degree is the length of its row, so no separate
    # count over the edges is needed. One step is the transposed mat-vec of the rank scaled
    # by damping / out-degree (the column-stochastic transition, damped): each vertex adds
    # its share to its out-neighbours, which runs as fast as the gather of a transposed CSR.
    # Values of one avoid a random gather of a weight per edge when the matrix is built.
    pattern = _grouped(n, src, dst, np.ones(src.size, dtype=bool))
    out_degree = np.diff(pattern.indptr)
    transition_t = sp.csr_array((np.ones(pattern.nnz), pattern.indices, pattern.indptr), shape=(n, n)).T
    del pattern
    share = np.zeros(n)
    np.divide(damping, out_degree, out=share, where=out_degree > 0)
    dangling = np.flatnonzero(out_degree == 0)
    del out_degree
    rank = np.full(n, 1.0 / n)
    scaled = np.empty(n)
    teleport = (1.0 - damping) / n
    iterations = 0
    for iterations in range(1, max_iterations + 1):
        # Rank held by vertices without out-edges is spread evenly, so none leaks away.
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
    return AlgorithmOutput(rank, iterations, "scipy")


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


def _label_propagation(n: int, src: np.ndarray, dst: np.ndarray, max_iterations: int, seed: int) -> AlgorithmOutput:
    """Label propagation with Raghavan's stopping rule, vectorised over blocks of vertices.

    A vertex is unstable while its label is not among the most frequent labels of its
    neighbours. Each round, every unstable vertex draws the most frequent neighbour label
    (ties broken at random) and a random half of them adopts it. Only vertices next to a
    change, or left unstable, are looked at again. Stops when all vertices are stable or
    after ``max_iterations`` rounds.
    """
    ties = _undirected_both_ways(n, src, dst)
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
    return AlgorithmOutput(_renumber_by_size(labels), rounds, "numpy-lp", _modularity(labels, ties, both_ways=True))


def _most_frequent_neighbour_labels(
    ties: sp.csr_array, labels: np.ndarray, vertices: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """For each vertex (each with at least one neighbour): a most frequent neighbour label,
    drawn at random among equally frequent ones, and whether its own label is less frequent.
    """
    n = labels.shape[0]
    best = np.empty(vertices.size, dtype=labels.dtype)
    unstable = np.empty(vertices.size, dtype=bool)
    for block in _row_blocks(ties.indptr, vertices, _BLOCK_ENTRIES):
        rows = vertices[block]
        positions, owner = _row_entries(ties.indptr, rows)
        # One sortable key per (vertex, neighbour label): runs of equal keys are counts.
        keys = owner * n + labels[ties.indices[positions]]
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


def _louvain(n: int, src: np.ndarray, dst: np.ndarray, resolution: float, seed: int) -> AlgorithmOutput:
    upper = _undirected_upper(n, src, dst)
    graph = _nk_graph(upper, directed=False)
    with _one_thread():
        nk.engineering.setSeed(seed, False)
        detector = nk.community.PLM(graph, refine=False, gamma=resolution, par="none")
        detector.run()
        partition = detector.getPartition()
    labels = np.asarray(partition.getVector(), dtype=np.int64)
    return AlgorithmOutput(_renumber_by_size(labels), None, "networkit-plm", _modularity(labels, upper, both_ways=False))


def _betweenness(n: int, src: np.ndarray, dst: np.ndarray, exact_limit: int, samples: int, seed: int, normalized: bool) -> AlgorithmOutput:
    if n < 3:
        # No vertex can lie between two others; NetworKit would divide by (n-1)(n-2) = 0.
        return AlgorithmOutput(np.zeros(n), None, "exact")
    graph = _nk_graph(_simple_directed(n, src, dst), directed=True)
    # Sampling as many pivots as there are vertices costs as much as the exact answer.
    if n <= exact_limit or samples >= n:
        algorithm = nk.centrality.Betweenness(graph, normalized=normalized)
        engine = "networkit-exact"
    else:
        nk.engineering.setSeed(seed, False)
        algorithm = nk.centrality.EstimateBetweenness(graph, samples, normalized, True)
        engine = f"networkit-sampled({samples})"
    algorithm.run()
    return AlgorithmOutput(np.asarray(algorithm.scores(), dtype=np.float64), None, engine)
