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
ways); WCC, label propagation, Louvain and Leiden read the undirected view. Without ``weights``
every edge counts 1: PageRank counts parallel edges with their multiplicity; betweenness,
label propagation, Louvain and Leiden use the simple graph (no self-loops, each tie once). Weights
are strengths for PageRank (a step follows an out-edge with probability proportional to
its weight; parallel edges add up) and for Louvain, Leiden, label propagation and modularity (a
tie weighs its directed edges' weights both ways plus its undirected tie's weight). For
betweenness, closeness and harmonic centrality they are lengths (shortest paths by total
weight, Dijkstra-based; of parallel edges the shortest counts). A zero strength adds nothing; a zero length is a free
hop; components ignore weights. Raw (unnormalized) betweenness counts each pair once when
every edge is undirected.

The algorithms, by family: ``graph_views`` (input checks, directed / undirected / weighted
views, the simple graph), ``pagerank``, ``components`` (WCC, SCC), ``communities`` (label
propagation, Louvain, modularity), ``leiden``, ``betweenness``, ``closeness`` (closeness, harmonic),
``eigenvector``, ``hits``, ``cohesion`` (degree, k-core, triangles, clustering), ``paths``
(k-hop reach, short directed cycles) and ``overlap`` (similarity, co-occurrence; these also
return vertex pairs), each module stating the graph view it reads; ``compiled`` makes their
numba kernels, ``output`` is what they return. Why each engine was
chosen, with its measurements: docs/BENCHMARKS.md, "Engine choices".
"""

from __future__ import annotations

from types import ModuleType

import numpy as np
from numba.core.registry import CPUDispatcher

from gaai.agents.execution.engine import (
    betweenness,
    closeness,
    cohesion,
    communities,
    components,
    graph_views,
    leiden,
    pagerank,
    paths,
)
from gaai.agents.execution.engine.betweenness import run_betweenness
from gaai.agents.execution.engine.closeness import run_nearness
from gaai.agents.execution.engine.cohesion import run_clustering, run_degree, run_k_core, run_triangles
from gaai.agents.execution.engine.communities import run_label_propagation, run_louvain
from gaai.agents.execution.engine.compiled import usable_cores
from gaai.agents.execution.engine.components import run_components
from gaai.agents.execution.engine.eigenvector import run_eigenvector
from gaai.agents.execution.engine.graph_views import (
    checked_edges,
    checked_undirected,
    checked_weights,
    directed_view,
    tie_list,
    undirected_both_ways,
    weighted_ties,
)
from gaai.agents.execution.engine.hits import run_hits
from gaai.agents.execution.engine.leiden import run_leiden
from gaai.agents.execution.engine.output import AlgorithmOutput, VertexPairs
from gaai.agents.execution.engine.overlap import run_co_occurrence, run_similarity
from gaai.agents.execution.engine.pagerank import pagerank_pull, run_pagerank
from gaai.agents.execution.engine.paths import run_cycles, run_k_hop
from gaai.agents.lib.algorithms import ALGORITHMS, algorithm_spec, resolve_params
from gaai.bus.errors import TaskError

__all__ = [
    "AlgorithmOutput",
    "VertexPairs",
    "compiled_kernels",
    "load_compiled_kernels",
    "run_algorithm",
    "usable_cores",
]

KERNEL_MODULES: tuple[ModuleType, ...] = (
    graph_views,
    pagerank,
    components,
    communities,
    leiden,
    betweenness,
    closeness,
    cohesion,
    paths,
)
"""The engine's modules that hold compiled kernels."""


def run_algorithm(
    algorithm: str,
    num_vertices: int,
    src: np.ndarray,
    dst: np.ndarray,
    params: dict,
    *,
    weights: np.ndarray | None = None,
    undirected: np.ndarray | None = None,
    targets: np.ndarray | None = None,
    members: np.ndarray | None = None,
) -> AlgorithmOutput:
    """Run one catalog algorithm on the graph ``(num_vertices, src -> dst)``.

    Args:
        algorithm: a name from ``agents.lib.algorithms.ALGORITHMS``.
        num_vertices: vertex count; vertices are ``0..num_vertices-1``.
        src: integer array of edge sources.
        dst: integer array of edge targets, same length as ``src``.
        params: the algorithm's parameters; missing ones take the catalog defaults.
        weights: one finite weight >= 0 per edge, or None for all 1 (see the module docstring).
        undirected: one bool per edge, True for a tie both ways, or None for all directed.
        targets: for similarity and co-occurrence, one bool per vertex marking the vertices
            compared (similarity: None compares every vertex).
        members: for co-occurrence, one bool per vertex marking the vertices counted as shared.

    Returns:
        The per-vertex values and how they were computed.

    Raises:
        TaskError: ``unknown_algorithm`` or ``bad_params`` (from the catalog),
            ``empty_graph`` for a graph without vertices, ``bad_graph`` for malformed edges,
            weights or direction flags.
    """
    spec = algorithm_spec(algorithm)
    resolved = resolve_params(algorithm, params)
    src, dst = checked_edges(num_vertices, src, dst)
    weights = checked_weights(weights, src.size)
    undirected = checked_undirected(undirected, src.size)
    n = int(num_vertices)
    if spec.name == "pagerank":
        src, dst, weights = directed_view(n, src, dst, weights, undirected)
        damping, tolerance = float(resolved["damping"]), float(resolved["tolerance"])
        return run_pagerank(n, src, dst, weights, damping, int(resolved["max_iterations"]), tolerance)
    if spec.name == "wcc":
        return run_components(n, src, dst, strong=False)
    if spec.name == "scc":
        src, dst, _ = directed_view(n, src, dst, None, undirected)
        return run_components(n, src, dst, strong=True)
    if spec.name == "label_propagation":
        if weights is None:
            ties = undirected_both_ways(n, src, dst)
        else:
            ties = weighted_ties(n, *tie_list(n, src, dst, weights, undirected))
        return run_label_propagation(ties, int(resolved["max_iterations"]), int(resolved["seed"]))
    if spec.name == "louvain":
        if weights is not None:
            src, dst, weights = tie_list(n, src, dst, weights, undirected)
        return run_louvain(n, src, dst, weights, float(resolved["resolution"]), int(resolved["seed"]))
    if spec.name == "leiden":
        if weights is not None:
            src, dst, weights = tie_list(n, src, dst, weights, undirected)
        resolution, iterations, seed = float(resolved["resolution"]), int(resolved["iterations"]), int(resolved["seed"])
        return run_leiden(n, src, dst, weights, resolution, iterations, seed)
    if spec.name == "betweenness":
        pairs_once = undirected is not None and bool(undirected.all())
        src, dst, weights = directed_view(n, src, dst, weights, undirected)
        return run_betweenness(
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
    if spec.name in ("closeness", "harmonic"):
        src, dst, weights = directed_view(n, src, dst, weights, undirected)
        return run_nearness(
            n,
            src,
            dst,
            weights,
            spec.name == "harmonic",
            int(resolved["exact_limit"]),
            int(resolved["samples"]),
            int(resolved["seed"]),
        )
    if spec.name == "hits":
        src, dst, weights = directed_view(n, src, dst, weights, undirected)
        return run_hits(n, src, dst, weights, int(resolved["max_iterations"]), float(resolved["tolerance"]))
    if spec.name == "degree":
        all_undirected = undirected is not None and bool(undirected.all())
        src, dst, weights = directed_view(n, src, dst, weights if resolved["weighted"] else None, undirected)
        return run_degree(n, src, dst, weights, str(resolved["direction"]), all_undirected)
    if spec.name == "eigenvector":
        src, dst, weights = directed_view(n, src, dst, weights, undirected)
        return run_eigenvector(n, src, dst, weights, int(resolved["max_iterations"]), float(resolved["tolerance"]))
    if spec.name == "k_core":
        return run_k_core(n, src, dst)
    if spec.name == "triangles":
        return run_triangles(n, src, dst)
    if spec.name == "clustering":
        return run_clustering(n, src, dst)
    if spec.name in ("k_hop", "cycles"):
        src, dst, _ = directed_view(n, src, dst, None, undirected)
        if spec.name == "k_hop":
            return run_k_hop(n, src, dst, int(resolved["hops"]))
        return run_cycles(n, src, dst, int(resolved["max_length"]))
    if spec.name == "similarity":
        targets = _vertex_mask(targets, n, "targets")
        return run_similarity(n, src, dst, targets, int(resolved["top_k"]), int(resolved["max_work"]))
    if spec.name == "co_occurrence":
        target_mask = _vertex_mask(targets, n, "targets")
        member_mask = _vertex_mask(members, n, "members")
        if target_mask is None or member_mask is None:
            raise TaskError("bad_params", "co_occurrence needs the target vertices and the member vertices")
        if (target_mask & member_mask).any():
            raise TaskError("bad_params", "co_occurrence: the members must not be target vertices themselves")
        hops, top_k, max_work = int(resolved["hops"]), int(resolved["top_k"]), int(resolved["max_work"])
        return run_co_occurrence(n, src, dst, target_mask, member_mask, hops, top_k, max_work)
    raise TaskError("unknown_algorithm", f"the engine has no implementation of {algorithm!r}")


def _vertex_mask(mask: np.ndarray | None, n: int, name: str) -> np.ndarray | None:
    if mask is None:
        return None
    mask = np.asarray(mask)
    if mask.dtype != np.bool_ or mask.shape != (n,):
        raise TaskError("bad_graph", f"{name} must be one bool per vertex: got {mask.dtype} of shape {mask.shape}")
    return mask


def load_compiled_kernels() -> None:
    """Run every algorithm once on a tiny graph, so that this process holds each compiled
    kernel for the argument types the engine passes at any size below 2**31 vertices.

    A process calling a kernel for the first time sets numba up and loads the machine code
    from the on-disk cache, or compiles it when the cache is empty; processes forked
    afterwards inherit what was loaded.
    """
    src = np.array([0, 1, 2, 2], dtype=np.int32)
    dst = np.array([1, 2, 0, 3], dtype=np.int32)
    weights = np.array([1.0, 2.0, 0.5, 1.0])
    undirected = np.array([False, True, False, True])
    targets = np.array([False, False, True, True])
    members = np.array([True, False, False, False])
    for algorithm in ALGORITHMS:
        roles = {"targets": targets, "members": members} if algorithm == "co_occurrence" else {}
        run_algorithm(algorithm, 4, src, dst, {}, **roles)
        run_algorithm(algorithm, 4, src, dst, {}, weights=weights, undirected=undirected, **roles)
    # PageRank pulls with its kernels only on large graphs.
    pagerank_pull(4, src, dst, 0.85, 1, 0.0)
    # Leiden takes the connected pieces of its communities only when a refinement merges nothing.
    leiden.connected_pieces(np.array([0, 1, 2]), np.array([1, 0], dtype=np.int32), np.zeros(2, dtype=np.int32))


def compiled_kernels() -> dict[str, CPUDispatcher]:
    """Every compiled kernel of the engine, by ``module.function`` as numba names its cache files."""
    return {
        f"{module.__name__.rsplit('.', 1)[-1]}.{name}": kernel
        for module in KERNEL_MODULES
        for name, kernel in vars(module).items()
        if isinstance(kernel, CPUDispatcher) and kernel.py_func.__module__ == module.__name__
    }
