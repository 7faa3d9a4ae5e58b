"""The engine peers are given the graph our engine reads, and answer what it answers.

Each installed peer runs every algorithm it implements on a generated power-law graph; its answer must agree
with our engine's within the algorithm's tolerance (the same top PageRank vertices, the same component counts,
a partition of about the same modularity), or the benchmark would compare engines doing different work.
"""

from __future__ import annotations

import math

import pytest

from gaai.bench.bench_graph import ALGORITHMS, generate, import_generated
from gaai.bench.bench_peers import (
    IMPLEMENTS,
    OURS,
    PEER_FLOOR_S,
    PEER_LIMIT_S,
    PEERS,
    _child,
    agreement,
    installed_peers,
    peer_limit_s,
    run_child,
    versus_best_peer,
)
from gaai.store import EmbeddedStore

EDGES = 20_000


@pytest.fixture(scope="module")
def graph(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    scratch = tmp_path_factory.mktemp("peers")
    _n, src, dst = generate("powerlaw", EDGES)
    import_generated(EmbeddedStore(scratch / "home"), "powerlaw", src, dst, scratch)
    return str(scratch / "home"), "powerlaw"


@pytest.fixture(scope="module")
def peers() -> list[str]:
    found = installed_peers()
    if not found:
        pytest.skip("no engine peer is installed (pip install -c constraints.txt -e '.[bench]')")
    return found


@pytest.mark.parametrize("algorithm", [a for a in ALGORITHMS if any(a in IMPLEMENTS[peer] for peer in PEERS)])
def test_every_installed_peer_agrees_with_our_engine(graph, peers, algorithm):
    home, name = graph
    ours = run_child(OURS, home, name, algorithm)
    compared = 0
    for peer in peers:
        if algorithm not in IMPLEMENTS[peer]:
            continue
        theirs = run_child(peer, home, name, algorithm)
        assert theirs["compute_ms"] >= 0 and theirs["build_ms"] >= 0 and theirs["peak_rss_bytes"] > 0
        assert theirs["compute_cpu_ms"] >= 0 and theirs["build_cpu_ms"] >= 0
        found = agreement(algorithm, ours, theirs)
        assert found["agrees"] is not False, (peer, algorithm, ours, theirs)
        if algorithm in ("wcc", "scc"):
            assert theirs["groups"] == ours["groups"]
        compared += 1
    assert compared, f"no installed peer implements {algorithm}"


def test_exact_harmonic_centrality_has_igraph_top_10(graph, peers):
    """At 2,000 vertices ours is exact (below exact_limit), so the overlap reported for the full run is 1 here."""
    if "igraph" not in peers:
        pytest.skip("igraph is not installed")
    home, name = graph
    ours, theirs = run_child(OURS, home, name, "harmonic"), run_child("igraph", home, name, "harmonic")
    assert agreement("harmonic", ours, theirs) == {"top_overlap": 1.0, "agrees": None}


def test_the_ratio_is_ours_over_the_fastest_agreeing_peer():
    rows = [
        {"edges": 10, "kind": "random", "algorithm": "wcc", "engine": OURS, "compute_ms": 30.0},
        {"edges": 10, "kind": "random", "algorithm": "wcc", "engine": "a", "build_ms": 5.0, "compute_ms": 5.0},
        {
            "edges": 10,
            "kind": "random",
            "algorithm": "wcc",
            "engine": "b",
            "build_ms": 1.0,
            "compute_ms": 1.0,
            "agrees": False,
        },
        {"edges": 10, "kind": "powerlaw", "algorithm": "wcc", "engine": OURS, "compute_ms": 40.0},
        {"edges": 10, "kind": "powerlaw", "algorithm": "wcc", "engine": "a", "build_ms": 10.0, "compute_ms": 10.0},
        {"edges": 1, "kind": "random", "algorithm": "wcc", "engine": "a", "build_ms": 0.1, "compute_ms": 0.1},
    ]
    found = versus_best_peer(rows, 10)
    assert math.isclose(found["engine_vs_best_peer"]["wcc"], 3.0)
    assert found["best_peer"]["wcc"] == "a (random)"
    assert math.isclose(found["engine_vs_best_peer_worst"], 3.0)


def test_a_child_past_the_watchdog_is_stopped_and_reported(graph):
    home, name = graph
    assert _child([OURS, home, name, "pagerank"], timeout=0.01) == {"error": "stopped by the watchdog after 0 s"}


def test_a_peer_may_run_twenty_times_the_fastest_engine_between_the_floor_and_the_limit():
    assert peer_limit_s(None) == (PEER_LIMIT_S, "")
    assert peer_limit_s(1_000.0) == (PEER_FLOOR_S, " (over 20× the fastest engine's 1.00 s)")
    assert peer_limit_s(10_000.0) == (200.0, " (20× the fastest engine's 10.00 s)")
    assert peer_limit_s(60_000.0) == (PEER_LIMIT_S, "")


def test_disagreement_is_named():
    assert agreement("scc", {"groups": 5}, {"groups": 6}) == {"groups": 6, "agrees": False}
    assert agreement("pagerank", {"top": list(range(10))}, {"top": list(range(5, 15))})["agrees"] is False
    assert agreement("louvain", {"modularity": 0.5}, {"modularity": 0.44})["agrees"] is False
    assert agreement("louvain", {"modularity": 0.5}, {"modularity": 0.47})["agrees"] is True
    assert agreement("label_propagation", {"modularity": 0.07}, {"modularity": 0.0})["agrees"] is True
    assert agreement("k_core", {"values": [1, 2, 2]}, {"values": [1, 2, 3]}) == {
        "max_abs_difference": 1.0,
        "agrees": False,
    }
    assert agreement("clustering", {"values": [0.5, 1.0]}, {"values": [0.5, 1.0 + 1e-12]})["agrees"] is True
