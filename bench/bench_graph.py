"""The graph engine: our execution path on generated graphs, a SpMV lower bound, networkx, memory.

Graphs: a random one (uniform endpoints) and a power-law one (Chung–Lu: endpoints drawn
with weight ``(i+1)^-1/(γ-1)``, γ = 2.5, then vertex ids shuffled so locality is not a
gift), ten edges per vertex, imported into the embedded store from a CSV edge list.

Per graph and algorithm (the quick run: the six original algorithms), ``execute_template``
(load from the store, run the engine, write the per-vertex results, summarise) runs in a
fresh child process — as the execution agent's worker pool does — which reports its stage
timings and its peak RSS
(``VmHWM``). The engine call alone is the ``compute`` stage of that run.

The PageRank lower bound is measured in this process on the same graph: a scipy CSR
matrix of the graph's transition structure, built beforehand (not timed), multiplied by
a vector as many times as our PageRank iterated; best of three.

networkx runs in its own child on the same arrays, one algorithm after another, each
stopped at a time limit (``SIGALRM``; networkx is pure Python, so the alarm lands).

Run as ``python -m gaai.bench.bench_graph execute|networkx ...`` it is one of those children.
"""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import scipy.sparse as sp

from gaai.store import EmbeddedStore

ORIGINAL_ALGORITHMS = ("pagerank", "wcc", "scc", "label_propagation", "louvain", "betweenness")
"""The first six rows; the headline keys (``bytes_per_edge``, the networkx comparison) are theirs alone."""
CATALOG_ALGORITHMS = (
    "leiden",
    *("degree", "eigenvector", "hits", "k_core", "triangles", "clustering"),
    *("closeness", "harmonic", "k_hop", "similarity"),
)
"""The analyst's algorithms, benchmarked with the fixed parameters of ``PARAMS``. Short cycles are left out:
their cost hangs on how many short cycles the hubs of a graph close, so no one bound fits both graph kinds."""
ALGORITHMS = (*ORIGINAL_ALGORITHMS, *CATALOG_ALGORITHMS)
KINDS = ("random", "powerlaw")
EDGES_PER_VERTEX = 10
POWER_LAW_EXPONENT = 2.5
# Exact betweenness is infeasible at these sizes and 256 pivots (the catalog default)
# would take minutes per run at 10^7 edges; cost grows linearly with pivots.
BETWEENNESS_PARAMS = {"samples": 32}
# Closeness and harmonic centrality are sampled past 5,000 vertices, here from 64 sources (one breadth-first
# search each, without betweenness's backward pass): about betweenness's time at 10^7 edges. Two hops is the
# catalog's default reach.
PARAMS: dict[str, dict] = {
    "betweenness": BETWEENNESS_PARAMS,
    "closeness": {"samples": 64},
    "harmonic": {"samples": 64},
    "k_hop": {"hops": 2},
}
MAX_EDGES = {"similarity": 10**5}
"""Similarity compares every vertex with every other sharing a neighbour: past 10^5 edges the power-law graph's
hubs take it over its work budget (an error by design) and the random graph takes minutes."""


def generate(kind: str, edges: int, seed: int = 1) -> tuple[int, np.ndarray, np.ndarray]:
    """``(vertices, src, dst)`` of a generated directed multigraph with ``edges`` edges."""
    n = edges // EDGES_PER_VERTEX
    rng = np.random.default_rng([seed, edges, KINDS.index(kind)])
    if kind == "random":
        return n, rng.integers(0, n, edges), rng.integers(0, n, edges)
    weights = np.arange(1, n + 1, dtype=np.float64) ** (-1 / (POWER_LAW_EXPONENT - 1))
    cumulative = np.cumsum(weights)
    cumulative /= cumulative[-1]
    shuffle = rng.permutation(n)
    src = shuffle[np.minimum(np.searchsorted(cumulative, rng.random(edges)), n - 1)]
    dst = shuffle[np.minimum(np.searchsorted(cumulative, rng.random(edges)), n - 1)]
    return n, src, dst


def import_generated(store: EmbeddedStore, name: str, src: np.ndarray, dst: np.ndarray, scratch: Path) -> float:
    """Import the edges as a CSV edge list (bare keys → collection ``vertices``); seconds taken."""
    path = scratch / "edges.csv"
    pacsv.write_csv(
        pa.table({"source": pa.array(src).cast(pa.string()), "target": pa.array(dst).cast(pa.string())}), path
    )
    started = time.perf_counter()
    store.import_graph(name, [path])
    elapsed = time.perf_counter() - started
    path.unlink()
    return elapsed


class ChildFailed(RuntimeError):
    """A benchmark child process exited with an error; the message ends with its stderr."""


def json_child(module: str, args: list[str], timeout: float) -> dict:
    """Run ``python -m MODULE ARGS`` and return the JSON object on the last line it prints."""
    completed = subprocess.run(
        [sys.executable, "-m", module, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )
    if completed.returncode != 0:
        raise ChildFailed(f"bench child {args[:3]} failed ({completed.returncode}): {completed.stderr[-2000:]}")
    return json.loads(completed.stdout.strip().splitlines()[-1])


def _child(args: list[str], timeout: float) -> dict:
    return json_child("gaai.bench.bench_graph", args, timeout)


def spmv_bound_s(num_vertices: int, src: np.ndarray, dst: np.ndarray, iterations: int) -> float:
    """Seconds for ``iterations`` CSR mat-vecs on the graph's transposed adjacency; best of three."""
    matrix = sp.csr_array((np.ones(src.size), (dst, src)), shape=(num_vertices, num_vertices))
    matrix.sum_duplicates()
    vector = np.full(num_vertices, 1.0 / num_vertices)
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        for _ in range(iterations):
            vector = matrix @ vector
        best = min(best, time.perf_counter() - started)
        vector /= vector.sum()
    return best


def bench_graph(quick: bool, log=print) -> dict:
    """The engine table, the networkx comparison and the headline ratios at the largest size."""
    sizes = [10**5] if quick else [10**5, 10**6, 10**7]
    networkx_sizes = [10**5] if quick else [10**5, 10**6]
    if importlib.util.find_spec("networkx") is None:
        log("  networkx is not installed (pip install '.[bench]'): no comparison")
        networkx_sizes = []
    networkx_limit_s = 20.0 if quick else 120.0
    rows, networkx_rows, bounds, imports = [], [], [], []
    with tempfile.TemporaryDirectory(prefix="gaai-bench-graph-") as scratch:
        home = Path(scratch) / "home"
        store = EmbeddedStore(home)
        for edges in sizes:
            for kind in KINDS:
                name = f"{kind}_{edges}"
                _n, src, dst = generate(kind, edges)
                imported_s = import_generated(store, name, src, dst, Path(scratch))
                del src, dst
                arrays = store.load_arrays(name, ["vertices"], ["edges"])
                imports.append(
                    {"graph": name, "vertices": arrays.num_vertices, "edges": arrays.num_edges, "import_s": imported_s}
                )
                log(
                    f"  graph {name}: {arrays.num_vertices} vertices, {arrays.num_edges} edges, "
                    f"imported in {imported_s:.1f} s"
                )
                for algorithm in ORIGINAL_ALGORITHMS if quick else ALGORITHMS:
                    if edges > MAX_EDGES.get(algorithm, edges):
                        continue
                    params = PARAMS.get(algorithm, {})
                    result = _child(["execute", str(home), name, algorithm, json.dumps(params)], timeout=3600)
                    result.update(
                        graph=name, kind=kind, edges=arrays.num_edges, vertices=arrays.num_vertices, algorithm=algorithm
                    )
                    result["bytes_per_edge"] = result["peak_rss_bytes"] / arrays.num_edges
                    rows.append(result)
                    log(f"    {algorithm}: compute {result['compute_ms']:.0f} ms, total {result['total_ms']:.0f} ms")
                    if algorithm == "pagerank":
                        bound = spmv_bound_s(arrays.num_vertices, arrays.src, arrays.dst, result["iterations"])
                        bounds.append(
                            {
                                "graph": name,
                                "kind": kind,
                                "edges": arrays.num_edges,
                                "iterations": result["iterations"],
                                "spmv_ms": bound * 1000,
                                "spmv_edges_per_s": arrays.num_edges * result["iterations"] / bound,
                                "ours_compute_edges_per_s": arrays.num_edges
                                * result["iterations"]
                                / (result["compute_ms"] / 1000),
                                "pagerank_vs_spmv": bound * 1000 / result["compute_ms"],
                            }
                        )
                if edges in networkx_sizes:
                    budget = networkx_limit_s * (len(ORIGINAL_ALGORITHMS) + 2) + 60
                    found = _child(["networkx", str(home), name, str(networkx_limit_s)], timeout=budget)
                    found.update(graph=name, kind=kind, edges=arrays.num_edges)
                    networkx_rows.append(found)
                    log(f"    networkx: {json.dumps(found['seconds'])}")
                del arrays
    largest = max(sizes)
    at_largest = [r for r in rows if r["edges"] == largest and r["algorithm"] in ORIGINAL_ALGORITHMS]
    pagerank_largest = [r for r in at_largest if r["algorithm"] == "pagerank"]
    speedups = []
    for found in networkx_rows:
        if found["seconds"].get("pagerank") is not None:
            [ours] = [r for r in rows if r["graph"] == found["graph"] and r["algorithm"] == "pagerank"]
            speedups.append(
                {
                    "graph": found["graph"],
                    "edges": found["edges"],
                    "speedup": found["seconds"]["pagerank"] * 1000 / ours["compute_ms"],
                }
            )
    networkx_largest = max((s["edges"] for s in speedups), default=None)
    return {
        "sizes": sizes,
        "imports": imports,
        "rows": rows,
        "spmv": bounds,
        "networkx": networkx_rows,
        "networkx_limit_s": networkx_limit_s,
        "betweenness_params": BETWEENNESS_PARAMS,
        "params": PARAMS,
        "pagerank_speedup_vs_networkx": speedups,
        # Worst case over the two graph kinds (and, for memory, over the algorithms).
        "pagerank_vs_spmv": min(b["pagerank_vs_spmv"] for b in bounds if b["edges"] == largest),
        "load_write_over_compute": max((r["load_ms"] + r["write_ms"]) / r["compute_ms"] for r in pagerank_largest),
        "vs_networkx": min(s["speedup"] for s in speedups if s["edges"] == networkx_largest) if speedups else None,
        "bytes_per_edge": max(r["bytes_per_edge"] for r in at_largest),
        "bytes_per_edge_pagerank": max(r["bytes_per_edge"] for r in pagerank_largest),
    }


# ---------------------------------------------------------------- children


def peak_rss_bytes() -> int:
    """Peak RSS of this process's own address space (Linux ``VmHWM``).

    Not ``ru_maxrss``: across fork + exec Linux carries the parent's peak into the child's,
    so a child of a benchmark holding a big graph would report the parent's memory.
    """
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def _execute_child(home: str, graph: str, algorithm: str, params_json: str) -> dict:
    import gaai.agents.execution.handler  # noqa: F401  (loads the compiled kernels at import)
    from gaai.agents.execution.run import execute_template
    from gaai.bus.domain import AnalysisTemplate

    # Started as the execution agent's workers start: forked from a forkserver that has
    # imported the handler's module, so the kernels' load is neither timed nor left out of
    # the memory peak.
    baseline = peak_rss_bytes()
    template = AnalysisTemplate(
        id="bench",
        use_case_id="bench",
        title=algorithm,
        algorithm=algorithm,
        vertex_collections=["vertices"],
        edge_collections=["edges"],
        params=json.loads(params_json),
    )
    started = time.perf_counter()
    summary = execute_template(EmbeddedStore(home), graph, template, f"bench-{algorithm}-{os.getpid()}")
    total_ms = (time.perf_counter() - started) * 1000
    return {
        "load_ms": summary.load_ms,
        "compute_ms": summary.compute_ms,
        "write_ms": summary.write_ms,
        "summary_ms": total_ms - summary.load_ms - summary.compute_ms - summary.write_ms,
        "total_ms": total_ms,
        "iterations": summary.iterations,
        "engine": summary.engine,
        "baseline_rss_bytes": baseline,
        "peak_rss_bytes": peak_rss_bytes(),
    }


class _Overrun(Exception):
    pass


def _networkx_child(home: str, graph: str, limit_s: str) -> dict:
    import networkx as nx

    arrays = EmbeddedStore(home).load_arrays(graph, ["vertices"], ["edges"])
    n = arrays.num_vertices
    edges = list(zip(arrays.src.tolist(), arrays.dst.tolist(), strict=True))
    started = time.perf_counter()
    directed = nx.DiGraph()
    directed.add_nodes_from(range(n))
    directed.add_edges_from(edges)
    built_directed = time.perf_counter() - started
    started = time.perf_counter()
    undirected = nx.Graph(directed)
    undirected.remove_edges_from(nx.selfloop_edges(undirected))
    built_undirected = time.perf_counter() - started
    runs = {
        # Our tolerance bounds the L1 change; networkx compares its L1 change with n * tol.
        "pagerank": lambda: nx.pagerank(directed, alpha=0.85, max_iter=100, tol=1e-6 / n),
        "wcc": lambda: list(nx.weakly_connected_components(directed)),
        "scc": lambda: list(nx.strongly_connected_components(directed)),
        "label_propagation": lambda: list(nx.community.label_propagation_communities(undirected)),
        "louvain": lambda: nx.community.louvain_communities(undirected, seed=42),
        "betweenness": lambda: nx.betweenness_centrality(directed, k=min(BETWEENNESS_PARAMS["samples"], n), seed=42),
    }

    def overrun(signum, frame):
        raise _Overrun

    signal.signal(signal.SIGALRM, overrun)
    seconds: dict[str, float | None] = {}
    for algorithm, run in runs.items():
        signal.setitimer(signal.ITIMER_REAL, float(limit_s))
        started = time.perf_counter()
        try:
            run()
            seconds[algorithm] = time.perf_counter() - started
        except _Overrun:
            seconds[algorithm] = None
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
    return {
        "build_directed_s": built_directed,
        "build_undirected_s": built_undirected,
        "seconds": seconds,
        "version": nx.__version__,
    }


if __name__ == "__main__":
    mode, *rest = sys.argv[1:]
    outcome = _execute_child(*rest) if mode == "execute" else _networkx_child(*rest)
    print(json.dumps(outcome))
