"""Engine peers: our engine against NetworKit, igraph, python-graphblas, scikit-network and rustworkx.

The graphs are bench_graph's (random and power-law, ten edges per vertex), imported into the embedded store
once. Per graph, engine and algorithm a fresh child process loads the edge arrays (not timed), builds the
engine's own graph from them (``build_ms``), runs the algorithm (``compute_ms``), and reports its peak RSS and
an answer checked against ours: PageRank, betweenness, eigenvector, HITS (authorities), closeness and harmonic
centrality by top-10 overlap, components by their count, communities by the modularity of their partition on
the same undirected simple graph, degree, k-core, triangles, clustering and k-hop reach vertex by vertex (the
largest absolute difference).

Every engine gets the same semantics: PageRank on the directed multigraph (damping 0.85, dangling mass spread
evenly), SCC directed, WCC and communities on the undirected view (communities on the simple graph, each tie
once), betweenness from 32 sampled sources where the engine samples (NetworKit's ``EstimateBetweenness``).
Eigenvector and HITS read the directed graph with each edge once (self-loops kept), degree the directed
multigraph (in + out), k-core, triangles and clustering the undirected simple graph, k-hop reach (2 hops) the
directed simple graph. Harmonic centrality follows paths into each vertex; ours is sampled (64 sources) past
5,000 vertices, igraph's is exact, so it runs only up to ``EXACT_PEER_EDGES`` edges and its top-10 overlap is
reported, not judged. No peer computes networkx's closeness (igraph's leaves out the Wasserman-Faust factor) or
each vertex's top-k Jaccard partners (similarity): those rows are ours alone.
Each uses its default threads on this machine. Our engine builds its views inside its compute, so it is
compared by ``compute_ms`` with a peer's ``build_ms + compute_ms``: both go from the same arrays to an answer.

Run as ``python -m gaai.bench.bench_peers ENGINE HOME GRAPH ALGORITHM`` it is one of those children.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import numpy as np

from gaai.bench.bench_graph import (
    ALGORITHMS,
    BETWEENNESS_PARAMS,
    KINDS,
    MAX_EDGES,
    ORIGINAL_ALGORITHMS,
    PARAMS,
    ChildFailed,
    generate,
    import_generated,
    json_child,
    peak_rss_bytes,
)
from gaai.store import EmbeddedStore

OURS = "gaai"
PEERS = {
    "networkit": ("networkit", "networkit"),
    "igraph": ("igraph", "igraph"),
    "graphblas": ("graphblas_algorithms", "python-graphblas"),
    "sknetwork": ("sknetwork", "scikit-network"),
    "rustworkx": ("rustworkx", "rustworkx"),
}
"""Each peer engine: the module it needs and the distribution whose version is reported (a peer that is not
installed is left out, and said so)."""

TOP_K = 10
DAMPING = 0.85
TOLERANCE = 1e-6
"""Our PageRank stops when the L1 change of the ranks is below this; peers get the same or a looser rule."""
SEED = 42
TOP_K_ALGORITHMS = ("pagerank", "betweenness", "eigenvector", "hits", "closeness", "harmonic")
"""Scores compared by their top-10 vertices."""
SAMPLED = ("betweenness", "closeness", "harmonic")
"""Estimates: their top-10 overlap is reported, not judged."""
EXACT_TOLERANCE = {"degree": 0.0, "k_core": 0.0, "triangles": 0.0, "k_hop": 0.0, "clustering": 1e-9}
"""Per-vertex answers every engine computes exactly: the largest absolute difference allowed."""
EXACT_PEER_EDGES = 10**5
"""The largest graph a peer computing harmonic centrality exactly (one search per vertex) is run on."""
OURS_LIMIT_S = 3600.0
PEER_LIMIT_S = 900.0
"""The watchdog: a child still running after this long is stopped and its row says so. A peer that takes 15
minutes where the fastest engine takes seconds has nothing left to tell."""
PEER_SLOWDOWN = 20.0
PEER_FLOOR_S = 120.0
"""A peer is also stopped once it has run ``PEER_SLOWDOWN`` times as long as the fastest engine that already
answered on the same graph and algorithm (never before ``PEER_FLOOR_S``, which covers loading the arrays): it
cannot be the fastest peer any more, and the full run stays within hours."""
MODULARITY_TOLERANCE = {"louvain": 0.05, "leiden": 0.05, "label_propagation": 0.1}
"""How far a peer's modularity may be from ours. Label propagation's outcome hangs on its update order: on
these graphs one engine may end with a single community (modularity 0) where another keeps thousands of
small ones (about 0.07)."""


# ---------------------------------------------------------------- engines (run inside a child)


def _simple_ties(n: int, src: np.ndarray, dst: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The undirected simple graph: each tie once as ``(low, high)``, no self-loops."""
    apart = src != dst
    keys = np.unique(np.minimum(src[apart], dst[apart]).astype(np.int64) * n + np.maximum(src[apart], dst[apart]))
    return keys // n, keys % n


def _simple_directed(n: int, src: np.ndarray, dst: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The directed graph with each edge once, self-loops kept."""
    keys = np.unique(src.astype(np.int64) * n + dst)
    return keys // n, keys % n


def _ours(algorithm: str) -> Callable[[int, np.ndarray, np.ndarray], Callable[[], np.ndarray]]:
    def build(n: int, src: np.ndarray, dst: np.ndarray) -> Callable[[], np.ndarray]:
        from gaai.agents.execution.engine import load_compiled_kernels, run_algorithm

        # As the execution agent's workers are, before any task: kernels loaded (our time is compute alone).
        load_compiled_kernels()
        return lambda: run_algorithm(algorithm, n, src, dst, PARAMS.get(algorithm, {})).values

    return build


def _networkit(algorithm: str) -> Callable[[int, np.ndarray, np.ndarray], Callable[[], np.ndarray]]:
    import networkit as nk

    def build(n: int, src: np.ndarray, dst: np.ndarray) -> Callable[[], np.ndarray]:
        if algorithm in ("label_propagation", "louvain", "leiden", "wcc", "k_core", "clustering"):
            low, high = _simple_ties(n, src, dst) if algorithm != "wcc" else (src, dst)
            graph = nk.GraphFromCoo((np.ones(low.size), (low, high)), n=n, directed=False, weighted=False)
        else:
            graph = nk.GraphFromCoo((np.ones(src.size), (src, dst)), n=n, directed=True, weighted=False)

        def partition(algo) -> np.ndarray:
            algo.run()
            return np.asarray(algo.getPartition().getVector())

        def scores(algo) -> np.ndarray:
            algo.run()
            return np.asarray(algo.scores())

        runs = {
            "pagerank": lambda: scores(
                nk.centrality.PageRank(
                    graph, damp=DAMPING, tol=TOLERANCE, distributeSinks=nk.centrality.SinkHandling.DistributeSinks
                )
            ),
            "wcc": lambda: partition(nk.components.ConnectedComponents(graph)),
            "scc": lambda: partition(nk.components.StronglyConnectedComponents(graph)),
            "label_propagation": lambda: partition(nk.community.PLP(graph)),
            "louvain": lambda: partition(nk.community.PLM(graph, refine=True)),
            "leiden": lambda: partition(nk.community.ParallelLeiden(graph)),
            "betweenness": lambda: scores(
                nk.centrality.EstimateBetweenness(graph, BETWEENNESS_PARAMS["samples"], False, True)
            ),
            "k_core": lambda: scores(nk.centrality.CoreDecomposition(graph)),
            "clustering": lambda: scores(nk.centrality.LocalClusteringCoefficient(graph, turbo=True)),
        }
        return runs[algorithm]

    return build


def _igraph(algorithm: str) -> Callable[[int, np.ndarray, np.ndarray], Callable[[], np.ndarray]]:
    import igraph as ig

    def build(n: int, src: np.ndarray, dst: np.ndarray) -> Callable[[], np.ndarray]:
        if algorithm in ("label_propagation", "louvain", "leiden", "k_core", "triangles", "clustering"):
            graph = ig.Graph(n=n, edges=np.column_stack(_simple_ties(n, src, dst)), directed=False)
        elif algorithm in ("eigenvector", "hits", "k_hop", "harmonic"):
            graph = ig.Graph(n=n, edges=np.column_stack(_simple_directed(n, src, dst)), directed=True)
        else:
            graph = ig.Graph(n=n, edges=np.column_stack((src, dst)), directed=True)

        def triangles() -> np.ndarray:
            found = np.asarray(graph.list_triangles(), dtype=np.int64)
            return np.bincount(found.ravel(), minlength=n)

        def quietly(scores: Callable[[], list[float]]) -> np.ndarray:
            # igraph warns that scores near zero (vertices nothing central points to) mark a disconnected graph.
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                return np.asarray(scores())

        runs = {
            "pagerank": lambda: np.asarray(graph.pagerank(damping=DAMPING, directed=True)),
            "wcc": lambda: np.asarray(graph.connected_components(mode="weak").membership),
            "scc": lambda: np.asarray(graph.connected_components(mode="strong").membership),
            "label_propagation": lambda: np.asarray(graph.community_label_propagation().membership),
            "louvain": lambda: np.asarray(graph.community_multilevel().membership),
            "leiden": lambda: np.asarray(
                graph.community_leiden(objective_function="modularity", n_iterations=2).membership
            ),
            "degree": lambda: np.asarray(graph.degree(mode="all", loops=True)),
            "eigenvector": lambda: quietly(lambda: graph.eigenvector_centrality(directed=True)),
            "hits": lambda: quietly(graph.authority_score),
            "k_core": lambda: np.asarray(graph.coreness()),
            "triangles": triangles,
            "clustering": lambda: np.asarray(graph.transitivity_local_undirected(mode="zero")),
            "k_hop": lambda: np.asarray(graph.neighborhood_size(order=PARAMS["k_hop"]["hops"], mode="out")) - 1,
            "harmonic": lambda: np.asarray(graph.harmonic_centrality(mode="in", normalized=False)),
        }
        return runs[algorithm]

    return build


def _graphblas(algorithm: str) -> Callable[[int, np.ndarray, np.ndarray], Callable[[], np.ndarray]]:
    import graphblas as gb
    import graphblas_algorithms as ga

    def build(n: int, src: np.ndarray, dst: np.ndarray) -> Callable[[], np.ndarray]:
        # An iso-valued matrix (one scalar for every entry) keeps each repeated entry once: GraphBLAS's own way
        # to the simple graph.
        if algorithm in ("triangles", "clustering"):
            rows, cols = np.concatenate([src, dst]), np.concatenate([dst, src])
            graph = ga.Graph(gb.select.offdiag(gb.Matrix.from_coo(rows, cols, 1.0, nrows=n, ncols=n)).new())
        elif algorithm in ("eigenvector", "hits"):
            graph = ga.DiGraph(gb.Matrix.from_coo(src, dst, 1.0, nrows=n, ncols=n))
        else:
            matrix = gb.Matrix.from_coo(src, dst, np.ones(src.size), nrows=n, ncols=n, dup_op=gb.binary.plus)
            graph = ga.DiGraph(matrix)
        runs = {
            # networkx's rule, which graphblas-algorithms keeps: stop when the L1 change is below n * tol.
            "pagerank": lambda: ga.algorithms.pagerank(graph, alpha=DAMPING, tol=TOLERANCE / n).to_dense(0.0),
            "eigenvector": lambda: ga.algorithms.eigenvector_centrality(graph, max_iter=1000, tol=1e-6).to_dense(0.0),
            # graphblas-algorithms stops when the L1 change of the hubs scaled to a maximum of 1 is below n * tol,
            # a far looser rule than ours on a graph with a dominant hub: with tol=1e-8 it stopped after 20 of our
            # 29 iterations on the power-law graph at 10^6 edges, its authorities 1.5e-6 (L1) from the converged
            # ones; with 1e-10 after 28, within 5e-9, as precise as ours (tolerance 1e-8).
            "hits": lambda: ga.algorithms.hits(graph, max_iter=1000, tol=1e-10)[1].to_dense(0.0),
            "triangles": lambda: ga.algorithms.triangles(graph).to_dense(0),
            "clustering": lambda: ga.algorithms.clustering(graph).to_dense(0.0),
        }
        return runs[algorithm]

    return build


def _sknetwork(algorithm: str) -> Callable[[int, np.ndarray, np.ndarray], Callable[[], np.ndarray]]:
    import scipy.sparse as sp
    from sknetwork.clustering import Louvain, PropagationClustering
    from sknetwork.ranking import PageRank
    from sknetwork.topology import get_connected_components

    def build(n: int, src: np.ndarray, dst: np.ndarray) -> Callable[[], np.ndarray]:
        if algorithm in ("label_propagation", "louvain"):
            low, high = _simple_ties(n, src, dst)
            rows, cols = np.concatenate([low, high]), np.concatenate([high, low])
        else:
            rows, cols = src, dst
        adjacency = sp.csr_matrix((np.ones(rows.size), (rows, cols)), shape=(n, n))
        runs = {
            "pagerank": lambda: PageRank(damping_factor=DAMPING, n_iter=100, tol=TOLERANCE).fit_predict(adjacency),
            "wcc": lambda: get_connected_components(adjacency, connection="weak"),
            "scc": lambda: get_connected_components(adjacency, connection="strong"),
            "label_propagation": lambda: PropagationClustering().fit_predict(adjacency),
            "louvain": lambda: Louvain(random_state=SEED).fit_predict(adjacency),
        }
        return runs[algorithm]

    return build


def _rustworkx(algorithm: str) -> Callable[[int, np.ndarray, np.ndarray], Callable[[], np.ndarray]]:
    import rustworkx as rx

    def build(n: int, src: np.ndarray, dst: np.ndarray) -> Callable[[], np.ndarray]:
        if algorithm == "k_core":
            graph = rx.PyGraph(multigraph=False)
            src, dst = _simple_ties(n, src, dst)
        else:
            graph = rx.PyDiGraph(multigraph=algorithm not in ("eigenvector", "hits"))
            if algorithm in ("eigenvector", "hits"):
                src, dst = _simple_directed(n, src, dst)
        graph.add_nodes_from(range(n))
        graph.add_edges_from_no_data(list(zip(src.tolist(), dst.tolist(), strict=True)))

        def by_vertex(scores) -> np.ndarray:
            values = np.zeros(n)
            values[np.fromiter(scores.keys(), dtype=np.int64)] = np.fromiter(scores.values(), dtype=np.float64)
            return values

        def membership(groups: list[set[int]]) -> np.ndarray:
            labels = np.empty(n, dtype=np.int64)
            for number, members in enumerate(groups):
                labels[list(members)] = number
            return labels

        def pagerank() -> np.ndarray:
            # networkx's rule, which rustworkx keeps: stop when the L1 change is below n * tol.
            ranks = rx.pagerank(graph, alpha=DAMPING, tol=TOLERANCE / n, max_iter=100)
            values = np.zeros(n)
            values[np.fromiter(ranks.keys(), dtype=np.int64)] = np.fromiter(ranks.values(), dtype=np.float64)
            return values

        runs = {
            "pagerank": pagerank,
            "wcc": lambda: membership(rx.weakly_connected_components(graph)),
            "scc": lambda: membership(rx.strongly_connected_components(graph)),
            "eigenvector": lambda: by_vertex(rx.eigenvector_centrality(graph, max_iter=1000, tol=1e-6)),
            "hits": lambda: by_vertex(rx.hits(graph, max_iter=1000, tol=1e-8)[1]),
            "k_core": lambda: by_vertex(rx.core_number(graph)),
        }
        return runs[algorithm]

    return build


ENGINES = {
    OURS: _ours,
    "networkit": _networkit,
    "igraph": _igraph,
    "graphblas": _graphblas,
    "sknetwork": _sknetwork,
    "rustworkx": _rustworkx,
}

IMPLEMENTS: dict[str, frozenset[str]] = {
    OURS: frozenset(ALGORITHMS),
    "networkit": frozenset({*ORIGINAL_ALGORITHMS, "leiden", "k_core", "clustering"}),
    "igraph": frozenset(
        {"pagerank", "wcc", "scc", "label_propagation", "louvain", "leiden", "degree", "eigenvector", "hits"}
        | {"k_core", "triangles", "clustering", "k_hop", "harmonic"}
    ),
    "graphblas": frozenset({"pagerank", "eigenvector", "hits", "triangles", "clustering"}),
    "sknetwork": frozenset({"pagerank", "wcc", "scc", "label_propagation", "louvain"}),
    "rustworkx": frozenset({"pagerank", "wcc", "scc", "eigenvector", "hits", "k_core"}),
}
"""The algorithms each engine is run on: those it implements with the semantics above. scikit-network's Leiden
is left out: it takes minutes where the others take seconds on the power-law graphs (docs/BENCHMARKS.md,
section 8)."""


def _answer(algorithm: str, n: int, src: np.ndarray, dst: np.ndarray, values: np.ndarray) -> dict:
    """What is compared across engines: the top vertices, the number of groups or the partition's modularity."""
    if algorithm in TOP_K_ALGORITHMS:
        top = np.argsort(-values, kind="stable")[:TOP_K]
        return {"top": top.tolist()}
    if algorithm in EXACT_TOLERANCE or algorithm == "similarity":
        # The values themselves, to compare vertex by vertex (similarity: each vertex's best Jaccard score).
        return {"values": np.asarray(values, dtype=np.float64).tolist()}
    labels = np.unique(np.asarray(values), return_inverse=True)[1].astype(np.int64)
    if algorithm in ("wcc", "scc"):
        return {"groups": int(labels.max()) + 1}
    from gaai.agents.execution.engine.communities import partition_modularity
    from gaai.agents.execution.engine.graph_views import undirected_both_ways

    modularity = partition_modularity(labels, undirected_both_ways(n, src, dst))
    return {"groups": int(labels.max()) + 1, "modularity": modularity}


def run_child(engine: str, home: str, graph: str, algorithm: str) -> dict:
    arrays = EmbeddedStore(home).load_arrays(graph, ["vertices"], ["edges"])
    n, src, dst = arrays.num_vertices, arrays.src, arrays.dst
    if engine != OURS:
        # The peers take 64-bit vertex ids; our engine takes the store's arrays as the execution agent does.
        src, dst = src.astype(np.int64), dst.astype(np.int64)
    make = ENGINES[engine](algorithm)
    baseline = peak_rss_bytes()
    started, started_cpu = time.perf_counter(), time.process_time()
    run = make(n, src, dst)
    built, built_cpu = time.perf_counter(), time.process_time()
    values = run()
    computed, computed_cpu = time.perf_counter(), time.process_time()
    return {
        "build_ms": (built - started) * 1000,
        "compute_ms": (computed - built) * 1000,
        # CPU time of all the child's threads: on a machine shared with other work, what the child itself spent.
        "build_cpu_ms": (built_cpu - started_cpu) * 1000,
        "compute_cpu_ms": (computed_cpu - built_cpu) * 1000,
        "baseline_rss_bytes": baseline,
        "peak_rss_bytes": peak_rss_bytes(),
        **_answer(algorithm, n, src, dst, np.asarray(values)),
    }


# ---------------------------------------------------------------- the comparison (run by the suite)


def installed_peers() -> list[str]:
    return [peer for peer, (module, _) in PEERS.items() if importlib.util.find_spec(module) is not None]


def peer_versions() -> dict[str, str | None]:
    found: dict[str, str | None] = {}
    for peer, (_, distribution) in PEERS.items():
        try:
            found[peer] = version(distribution)
        except PackageNotFoundError:
            found[peer] = None
    return found


def peer_limit_s(fastest_ms: float | None) -> tuple[float, str]:
    """How long a peer may run when the fastest agreeing engine so far took ``fastest_ms``, and why."""
    if fastest_ms is None or PEER_SLOWDOWN * fastest_ms / 1000 >= PEER_LIMIT_S:
        return PEER_LIMIT_S, ""
    if PEER_SLOWDOWN * fastest_ms / 1000 <= PEER_FLOOR_S:
        return PEER_FLOOR_S, f" (over {PEER_SLOWDOWN:.0f}× the fastest engine's {fastest_ms / 1000:.2f} s)"
    return PEER_SLOWDOWN * fastest_ms / 1000, f" ({PEER_SLOWDOWN:.0f}× the fastest engine's {fastest_ms / 1000:.2f} s)"


def _child(args: list[str], timeout: float, why: str = "") -> dict:
    """One engine's run, or ``{"error": ...}`` with the last line it wrote or the watchdog's word (and ``why`` it
    stopped there): a peer that fails or overruns is reported, not fatal."""
    try:
        return json_child("gaai.bench.bench_peers", args, timeout)
    except ChildFailed as exc:
        return {"error": str(exc).strip().splitlines()[-1]}
    except subprocess.TimeoutExpired:
        return {"error": f"stopped by the watchdog after {timeout:.0f} s{why}"}


def agreement(algorithm: str, ours: dict, theirs: dict) -> dict:
    """How a peer's answer compares with ours, and whether that is within the algorithm's tolerance.

    PageRank, eigenvector, HITS: top-10 overlap at least 0.9 (ties and the tolerance may swap the last place).
    Components: equal counts. Degree, k-core, triangles, clustering, k-hop reach: every vertex's value within
    ``EXACT_TOLERANCE``. Communities are heuristics, so a partition agrees when its modularity is within
    ``MODULARITY_TOLERANCE`` of ours. Sampled betweenness picks other sources in every engine, and our closeness
    and harmonic centrality are estimates where the peer's are exact, so their overlap is reported only.
    """
    if algorithm in TOP_K_ALGORITHMS:
        overlap = len(set(ours["top"]) & set(theirs["top"])) / max(len(ours["top"]), 1)
        return {"top_overlap": overlap, "agrees": None if algorithm in SAMPLED else overlap >= 0.9}
    if algorithm in EXACT_TOLERANCE:
        difference = float(np.max(np.abs(np.asarray(ours["values"]) - np.asarray(theirs["values"])), initial=0.0))
        return {"max_abs_difference": difference, "agrees": difference <= EXACT_TOLERANCE[algorithm]}
    if algorithm in ("wcc", "scc"):
        return {"groups": theirs["groups"], "agrees": theirs["groups"] == ours["groups"]}
    mine, other = ours["modularity"], theirs["modularity"]
    close = mine is not None and other is not None and abs(mine - other) <= MODULARITY_TOLERANCE[algorithm]
    return {"modularity": other, "agrees": close}


def bench_peers(
    quick: bool, log=print, sizes: list[int] | None = None, algorithms: tuple[str, ...] | None = None
) -> dict:
    """Every installed peer and our engine, per graph and algorithm, and the ratio to the fastest peer.

    The quick run (CI's smoke) runs the six original algorithms; the full run every benchmarked one.
    """
    sizes = sizes or ([10**5] if quick else [10**5, 10**6, 10**7])
    algorithms = algorithms or (ORIGINAL_ALGORITHMS if quick else ALGORITHMS)
    peers = installed_peers()
    missing = sorted(set(PEERS) - set(peers))
    if missing:
        log(f"  peers not installed (pip install '.[bench]'): {', '.join(missing)}")
    rows = []
    with tempfile.TemporaryDirectory(prefix="gaai-bench-peers-") as scratch:
        home = Path(scratch) / "home"
        store = EmbeddedStore(home)
        for edges in sizes:
            for kind in KINDS:
                name = f"{kind}_{edges}"
                _n, src, dst = generate(kind, edges)
                import_generated(store, name, src, dst, Path(scratch))
                del src, dst
                for algorithm in algorithms:
                    if edges > MAX_EDGES.get(algorithm, edges):
                        continue
                    ours = _child([OURS, str(home), name, algorithm], timeout=OURS_LIMIT_S)
                    rows.append(
                        {"graph": name, "kind": kind, "edges": edges, "algorithm": algorithm, "engine": OURS, **ours}
                    )
                    fastest_ms = None if "error" in ours else ours["compute_ms"]
                    for peer in peers:
                        too_large = algorithm == "harmonic" and edges > EXACT_PEER_EDGES
                        if algorithm not in IMPLEMENTS[peer] or too_large:
                            continue
                        found = _child([peer, str(home), name, algorithm], *peer_limit_s(fastest_ms))
                        if "error" not in found and "error" not in ours:
                            found.update(agreement(algorithm, ours, found))
                            if found["agrees"] is not False:
                                fastest_ms = min(fastest_ms, found["build_ms"] + found["compute_ms"])
                        rows.append(
                            {
                                "graph": name,
                                "kind": kind,
                                "edges": edges,
                                "algorithm": algorithm,
                                "engine": peer,
                                **found,
                            }
                        )
                    _log_algorithm(
                        log,
                        name,
                        algorithm,
                        [row for row in rows if row["graph"] == name and row["algorithm"] == algorithm],
                    )
    return {
        "sizes": sizes,
        "peers": peers,
        "versions": peer_versions(),
        "rows": rows,
        **versus_best_peer(rows, max(sizes), algorithms),
    }


def _total_ms(row: dict) -> float:
    return row["compute_ms"] if row["engine"] == OURS else row["build_ms"] + row["compute_ms"]


def _log_algorithm(log, graph: str, algorithm: str, rows: list[dict]) -> None:
    cells = [
        f"{row['engine']} {'error' if 'error' in row else f'{_total_ms(row):.0f} ms'}"
        + ("" if row.get("agrees") is not False else " (disagrees)")
        for row in rows
    ]
    log(f"    {graph} {algorithm}: " + ", ".join(cells))


def versus_best_peer(rows: list[dict], edges: int, algorithms: tuple[str, ...] = ALGORITHMS) -> dict:
    """Per algorithm at ``edges``: our time ÷ the fastest agreeing peer's, worst over the graph kinds."""
    ratios: dict[str, float] = {}
    fastest: dict[str, str] = {}
    for algorithm in algorithms:
        for kind in KINDS:
            here = [r for r in rows if r["edges"] == edges and r["kind"] == kind and r["algorithm"] == algorithm]
            ours = [r for r in here if r["engine"] == OURS and "error" not in r]
            peers = [r for r in here if r["engine"] != OURS and "error" not in r and r.get("agrees") is not False]
            if not ours or not peers:
                continue
            best = min(peers, key=_total_ms)
            ratio = _total_ms(ours[0]) / _total_ms(best)
            if ratio > ratios.get(algorithm, 0.0):
                ratios[algorithm], fastest[algorithm] = ratio, f"{best['engine']} ({kind})"
    return {
        "engine_vs_best_peer": ratios,
        "engine_vs_best_peer_worst": max(ratios.values(), default=None),
        "best_peer": fastest,
    }


if __name__ == "__main__":
    print(json.dumps(run_child(*sys.argv[1:])))
