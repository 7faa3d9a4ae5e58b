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
  took 1.7–2.2 s, so the CSR build sums duplicates instead. A NetworKit graph is built
  only for the algorithms that need it.
- PageRank: own power iteration on a scipy CSR of the transposed transition matrix,
  ~10 ms per iteration; it meets the exact linear-system solution to 1e-16. NetworKit's
  would need the 0.35 s graph build, stops on its own norm rather than the catalog's L1
  tolerance, and by default does not hand dangling vertices' rank back.
- WCC / SCC: ``scipy.sparse.csgraph.connected_components`` on the CSR.
- Label propagation: own vectorised semi-synchronous propagation (below). NetworKit PLP
  is faster (0.7 s single-threaded + graph build) but merged two cliques joined by one
  edge in 21–57 of 200 random relabelings (cliques of 4–8 vertices), is not
  reproducible with more than one thread and ignores the seed; ``LPDegreeOrdered`` has
  no iteration bound. Ours merged them in 0–2 of 200 and follows the seed.
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
        _, labels = connected_components(_adjacency(n, src, dst), directed=True, connection="weak" if spec.name == "wcc" else "strong")
        return AlgorithmOutput(_renumber_by_size(labels), None, "scipy")
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
    if num_vertices <= 0:
        raise TaskError("empty_graph", "the graph has no vertices in the selected collections; there is nothing to analyse")
    src = np.asarray(src)
    dst = np.asarray(dst)
    if src.ndim != 1 or dst.ndim != 1 or src.shape != dst.shape:
        raise TaskError("bad_graph", f"edge arrays must be one-dimensional and equally long, got shapes {src.shape} and {dst.shape}")
    if src.size and not (np.issubdtype(src.dtype, np.integer) and np.issubdtype(dst.dtype, np.integer)):
        raise TaskError("bad_graph", f"edge endpoints must be integer vertex indices, got {src.dtype} and {dst.dtype}")
    src = src.astype(np.int64, copy=False)
    dst = dst.astype(np.int64, copy=False)
    if src.size and (min(src.min(), dst.min()) < 0 or max(src.max(), dst.max()) >= num_vertices):
        raise TaskError("bad_graph", f"edge endpoints must lie in [0, {num_vertices}); the edge list refers to other vertices")
    return src, dst


def _adjacency(n: int, src: np.ndarray, dst: np.ndarray) -> sp.csr_array:
    """Directed adjacency with multiplicities: parallel edges add up."""
    matrix = sp.csr_array((np.ones(src.size), (src, dst)), shape=(n, n))
    matrix.sum_duplicates()
    return matrix


def _simple_directed(n: int, src: np.ndarray, dst: np.ndarray) -> sp.csr_array:
    """Directed adjacency without self-loops or parallel edges (they would skew path counts)."""
    keep = src != dst
    matrix = _adjacency(n, src[keep], dst[keep])
    matrix.data[:] = 1.0
    return matrix


def _undirected_upper(n: int, src: np.ndarray, dst: np.ndarray) -> sp.csr_array:
    """Each undirected pair once (row < column), without self-loops: a ↔ b counts as one tie."""
    lo = np.minimum(src, dst)
    hi = np.maximum(src, dst)
    keep = lo != hi
    matrix = _adjacency(n, lo[keep], hi[keep])
    matrix.data[:] = 1.0
    return matrix


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


def _modularity(labels: np.ndarray, upper: sp.csr_array) -> float | None:
    """Newman modularity (resolution 1) of a partition of the undirected simple graph ``upper``.

    ``None`` when the graph has no edges, where modularity is undefined.
    """
    if upper.nnz == 0:
        return None
    n = labels.shape[0]
    lo = np.repeat(np.arange(n, dtype=np.int64), np.diff(upper.indptr))
    hi = upper.indices.astype(np.int64)
    edges = float(upper.nnz)
    groups = int(labels.max()) + 1
    intra = labels[lo] == labels[hi]
    degree = np.bincount(lo, minlength=n) + np.bincount(hi, minlength=n)
    group_degree = np.bincount(labels, weights=degree, minlength=groups)
    return float(intra.sum() / edges - np.square(group_degree / (2.0 * edges)).sum())


# ---------------------------------------------------------------- algorithms


def _pagerank(n: int, src: np.ndarray, dst: np.ndarray, damping: float, max_iterations: int, tolerance: float) -> AlgorithmOutput:
    out_degree = np.bincount(src, minlength=n).astype(np.float64)
    # Column-stochastic transition, stored transposed so one step is a CSR mat-vec.
    transition_t = sp.csr_array((1.0 / out_degree[src], (dst, src)), shape=(n, n))
    transition_t.sum_duplicates()
    dangling = out_degree == 0
    rank = np.full(n, 1.0 / n)
    teleport = (1.0 - damping) / n
    iterations = 0
    for iterations in range(1, max_iterations + 1):
        # Rank held by vertices without out-edges is spread evenly, so none leaks away.
        spread = damping * rank[dangling].sum() / n
        new = transition_t @ rank
        new *= damping
        new += spread + teleport
        change = np.abs(new - rank).sum()
        rank = new
        if change < tolerance:
            break
    rank /= rank.sum()
    return AlgorithmOutput(rank, iterations, "scipy")


def _label_propagation(n: int, src: np.ndarray, dst: np.ndarray, max_iterations: int, seed: int) -> AlgorithmOutput:
    """Label propagation with Raghavan's stopping rule, vectorised over all vertices.

    A vertex is unstable while its label is not among the most frequent labels of its
    neighbours. Each round, every unstable vertex draws the most frequent neighbour label
    (ties broken at random) and a random half of them adopts it. Only vertices next to a
    change, or left unstable, are looked at again. Stops when all vertices are stable or
    after ``max_iterations`` rounds.
    """
    upper = _undirected_upper(n, src, dst)
    both = (upper + upper.T).tocsr()
    rows = np.repeat(np.arange(n, dtype=np.int64), np.diff(both.indptr))
    cols = both.indices.astype(np.int64)
    labels = np.arange(n, dtype=np.int64)
    rng = np.random.default_rng(seed)
    pending = np.diff(both.indptr) > 0
    rounds = 0
    while rounds < max_iterations:
        edges = np.flatnonzero(pending[rows])
        if edges.size == 0:
            break
        rounds += 1
        # One sortable key per (vertex, neighbour label): runs of equal keys are counts.
        keys = rows[edges] * n + labels[cols[edges]]
        keys.sort()
        run_start = np.flatnonzero(np.concatenate(([True], keys[1:] != keys[:-1])))
        counts = np.diff(np.append(run_start, keys.size)).astype(np.float64)
        pair_vertex = keys[run_start] // n
        pair_label = keys[run_start] - pair_vertex * n
        vertex_start = np.flatnonzero(np.concatenate(([True], pair_vertex[1:] != pair_vertex[:-1])))
        vertex_pairs = np.diff(np.append(vertex_start, pair_vertex.size))
        active = pair_vertex[vertex_start]
        slot = np.repeat(np.arange(active.size), vertex_pairs)
        best_count = np.maximum.reduceat(counts, vertex_start)
        own_count = np.zeros(active.size)
        mine = pair_label == labels[active][slot]
        own_count[slot[mine]] = counts[mine]
        unstable = own_count < best_count
        if not unstable.any():
            break
        # Jitter below 1 keeps integer counts ordered and breaks ties at random.
        jittered = counts + rng.random(counts.size) * 0.5
        winner = np.flatnonzero(jittered == np.repeat(np.maximum.reduceat(jittered, vertex_start), vertex_pairs))
        best_label = np.empty(active.size, dtype=np.int64)
        best_label[slot[winner]] = pair_label[winner]
        moves = unstable & (rng.random(active.size) < _LP_MOVE_SHARE)
        labels[active[moves]] = best_label[moves]
        changed = np.zeros(n)
        changed[active[moves]] = 1.0
        pending = (both @ changed) > 0
        pending[active[unstable & ~moves]] = True
    return AlgorithmOutput(_renumber_by_size(labels), rounds, "numpy-lp", _modularity(labels, upper))


def _louvain(n: int, src: np.ndarray, dst: np.ndarray, resolution: float, seed: int) -> AlgorithmOutput:
    upper = _undirected_upper(n, src, dst)
    graph = _nk_graph(upper, directed=False)
    with _one_thread():
        nk.engineering.setSeed(seed, False)
        detector = nk.community.PLM(graph, refine=False, gamma=resolution, par="none")
        detector.run()
        partition = detector.getPartition()
    labels = np.asarray(partition.getVector(), dtype=np.int64)
    return AlgorithmOutput(_renumber_by_size(labels), None, "networkit-plm", _modularity(labels, upper))


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
