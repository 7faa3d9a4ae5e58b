"""Edge direction and weights in the engine, against networkx built on the same semantics.

An undirected edge is a tie both ways; weights are strengths for PageRank, Louvain, label
propagation and modularity, lengths for betweenness (see ``agents.execution.engine``).
"""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest

from gaai.agents.execution.engine import run_algorithm
from gaai.bus.errors import TaskError

TIGHT = {"tolerance": 1e-15, "max_iterations": 10_000}


def by_vertex(values: dict, n: int) -> np.ndarray:
    return np.array([values[v] for v in range(n)])


def top(values: np.ndarray, k: int) -> list[int]:
    return np.argsort(-values, kind="stable")[:k].tolist()


def weighted_modularity(graph: nx.Graph, values: np.ndarray) -> float:
    return nx.community.modularity(graph, groups_of(values), weight="weight")


def networkx_louvain_modularity(graph: nx.Graph) -> float:
    """The median, over three seeds, of the modularity of networkx's weighted Louvain partition."""
    partitions = [nx.community.louvain_communities(graph, weight="weight", seed=s) for s in range(3)]
    return float(np.median([nx.community.modularity(graph, groups, weight="weight") for groups in partitions]))


def groups_of(values: np.ndarray) -> list[set[int]]:
    return [set(np.flatnonzero(values == g).tolist()) for g in range(int(values.max()) + 1)]


def same_partition(one: np.ndarray, other: np.ndarray) -> bool:
    pairs = np.unique(np.stack([one, other]), axis=1)
    return pairs.shape[1] == len(np.unique(one)) == len(np.unique(other))


def cooccurrence(seed: int) -> tuple[nx.Graph, np.ndarray, np.ndarray, np.ndarray]:
    """A weighted undirected graph with hubs, exported one row per tie in an arbitrary direction."""
    rng = np.random.default_rng(seed)
    graph = nx.barabasi_albert_graph(300, 3, seed=seed)
    rows = []
    for a, b in graph.edges:
        weight = float(rng.uniform(0.5, 5.0))
        graph[a][b]["weight"] = weight
        rows.append((a, b, weight) if rng.random() < 0.5 else (b, a, weight))
    table = np.array(rows)
    return graph, table[:, 0].astype(np.int64), table[:, 1].astype(np.int64), table[:, 2]


def mixed_graph(seed: int) -> tuple[int, np.ndarray, np.ndarray, np.ndarray, np.ndarray, nx.MultiDiGraph]:
    """Random edges, a third of them undirected, with directed self-loops and pairs that have
    both a directed edge and an undirected tie; with networkx's multigraph of the same ties."""
    rng = np.random.default_rng(seed)
    n = 120
    src, dst = rng.integers(0, n, 400), rng.integers(0, n, 400)
    src, dst = np.append(src, [5, 9, 0, 1]), np.append(dst, [5, 9, 1, 0])
    undirected = rng.random(src.size) < 1 / 3
    undirected[-4:] = [False, False, False, True]
    # An undirected pair listed twice would be one tie: keep each undirected pair once here.
    seen: set[tuple[int, int]] = set()
    for e in np.flatnonzero(undirected):
        pair = (min(src[e], dst[e]), max(src[e], dst[e]))
        undirected[e] = pair not in seen and src[e] != dst[e]
        seen.add(pair)
    weights = rng.uniform(0.1, 3.0, src.size)
    reference = nx.MultiDiGraph()
    reference.add_nodes_from(range(n))
    for a, b, w, both in zip(src.tolist(), dst.tolist(), weights.tolist(), undirected.tolist(), strict=True):
        reference.add_edge(a, b, weight=w)
        if both:
            reference.add_edge(b, a, weight=w)
    return n, src, dst, weights, undirected, reference


class TestUndirectedWeighted:
    """The usual export of an undirected weighted graph: one row per tie, direction arbitrary."""

    @pytest.mark.parametrize("seed", [1, 2])
    def test_pagerank_equals_networkx_on_the_weighted_graph(self, seed):
        graph, src, dst, weights = cooccurrence(seed)
        n = graph.number_of_nodes()
        out = run_algorithm("pagerank", n, src, dst, TIGHT, weights=weights, undirected=np.ones(src.size, bool))
        expected = by_vertex(nx.pagerank(graph, weight="weight", tol=1e-15, max_iter=10_000), n)
        np.testing.assert_allclose(out.values, expected, atol=1e-10)
        assert top(out.values, 10) == top(expected, 10)
        assert out.engine == "scipy-weighted"
        # Read as directed rows, the same export gives other ranks.
        directed = run_algorithm("pagerank", n, src, dst, TIGHT, weights=weights)
        assert np.abs(directed.values - expected).max() > 1e-3

    @pytest.mark.parametrize("seed", [1, 2])
    def test_betweenness_equals_networkx_with_weights_as_lengths(self, seed):
        graph, src, dst, weights = cooccurrence(seed)
        n = graph.number_of_nodes()
        out = run_algorithm("betweenness", n, src, dst, {}, weights=weights, undirected=np.ones(src.size, bool))
        expected = by_vertex(nx.betweenness_centrality(graph, weight="weight"), n)
        np.testing.assert_allclose(out.values, expected, rtol=1e-9, atol=1e-12)
        assert top(out.values, 5) == top(expected, 5)
        assert out.engine == "numba-dijkstra-exact"
        hops = by_vertex(nx.betweenness_centrality(graph), n)
        assert not np.allclose(hops, expected, atol=1e-3)

    def test_raw_betweenness_counts_each_pair_once_as_networkx_on_a_graph(self):
        graph, src, dst, weights = cooccurrence(3)
        n = graph.number_of_nodes()
        raw = {"normalized": False}
        out = run_algorithm("betweenness", n, src, dst, raw, weights=weights, undirected=np.ones(src.size, bool))
        expected = by_vertex(nx.betweenness_centrality(graph, weight="weight", normalized=False), n)
        np.testing.assert_allclose(out.values, expected, rtol=1e-9, atol=1e-9)

    @pytest.mark.parametrize("algorithm", ["pagerank", "betweenness", "louvain", "label_propagation", "scc", "wcc"])
    def test_both_directions_exported_give_the_same_values(self, algorithm):
        """Each tie listed twice (a->b and b->a) is still one tie of that weight."""
        graph, src, dst, weights = cooccurrence(4)
        n = graph.number_of_nodes()
        params = TIGHT if algorithm == "pagerank" else {}
        once = run_algorithm(algorithm, n, src, dst, params, weights=weights, undirected=np.ones(src.size, bool))
        twice = run_algorithm(
            algorithm,
            n,
            np.concatenate([src, dst]),
            np.concatenate([dst, src]),
            params,
            weights=np.concatenate([weights, weights]),
            undirected=np.ones(2 * src.size, bool),
        )
        np.testing.assert_allclose(twice.values, once.values, rtol=1e-12, atol=1e-15)
        if once.modularity is not None:
            assert twice.modularity == pytest.approx(once.modularity, abs=1e-12)

    def test_a_pair_listed_with_two_weights_weighs_the_largest(self):
        graph, src, dst, weights = cooccurrence(5)
        n = graph.number_of_nodes()
        lighter = weights * np.random.default_rng(5).uniform(0.1, 1.0, weights.size)
        out = run_algorithm(
            "pagerank",
            n,
            np.concatenate([dst, src]),
            np.concatenate([src, dst]),
            TIGHT,
            weights=np.concatenate([lighter, weights]),
            undirected=np.ones(2 * src.size, bool),
        )
        expected = by_vertex(nx.pagerank(graph, weight="weight", tol=1e-15, max_iter=10_000), n)
        np.testing.assert_allclose(out.values, expected, atol=1e-10)

    def test_unweighted_undirected_ties_count_once_as_networkx_on_a_graph(self):
        graph, src, dst, _ = cooccurrence(6)
        n = graph.number_of_nodes()
        repeated_src, repeated_dst = np.concatenate([src, dst, src]), np.concatenate([dst, src, dst])
        undirected = np.ones(repeated_src.size, bool)
        pagerank = run_algorithm("pagerank", n, repeated_src, repeated_dst, TIGHT, undirected=undirected)
        expected = by_vertex(nx.pagerank(graph, weight=None, tol=1e-15, max_iter=10_000), n)
        np.testing.assert_allclose(pagerank.values, expected, atol=1e-10)
        assert pagerank.engine == "scipy"
        betweenness = run_algorithm("betweenness", n, repeated_src, repeated_dst, {}, undirected=undirected)
        expected = by_vertex(nx.betweenness_centrality(graph), n)
        np.testing.assert_allclose(betweenness.values, expected, rtol=1e-9, atol=1e-12)
        assert betweenness.engine == "numba-exact"


class TestMixedAndDirected:
    @pytest.mark.parametrize("seed", [7, 8])
    def test_pagerank_follows_direction_and_ties_both_ways(self, seed):
        """Parallel edges (a directed edge beside an undirected tie) add their weights, as networkx on a multigraph."""
        n, src, dst, weights, undirected, reference = mixed_graph(seed)
        out = run_algorithm("pagerank", n, src, dst, TIGHT, weights=weights, undirected=undirected)
        expected = by_vertex(nx.pagerank(reference, weight="weight", tol=1e-15, max_iter=10_000), n)
        np.testing.assert_allclose(out.values, expected, atol=1e-10)
        assert top(out.values, 10) == top(expected, 10)

    @pytest.mark.parametrize("seed", [7, 8])
    def test_betweenness_takes_the_shortest_of_parallel_edges(self, seed):
        n, src, dst, weights, undirected, reference = mixed_graph(seed)
        out = run_algorithm("betweenness", n, src, dst, {}, weights=weights, undirected=undirected)
        expected = by_vertex(nx.betweenness_centrality(reference, weight="weight"), n)
        np.testing.assert_allclose(out.values, expected, rtol=1e-9, atol=1e-12)

    def test_unweighted_mixed_betweenness_keeps_the_breadth_first_search(self):
        n, src, dst, _, undirected, reference = mixed_graph(9)
        out = run_algorithm("betweenness", n, src, dst, {}, undirected=undirected)
        expected = by_vertex(nx.betweenness_centrality(nx.DiGraph(reference)), n)
        np.testing.assert_allclose(out.values, expected, rtol=1e-9, atol=1e-12)
        assert out.engine == "numba-exact"

    @pytest.mark.parametrize("seed", [10, 11])
    def test_directed_weighted_pagerank_and_betweenness_equal_networkx(self, seed):
        graph = nx.gnm_random_graph(150, 600, seed=seed, directed=True)
        rng = np.random.default_rng(seed)
        for a, b in graph.edges:
            graph[a][b]["weight"] = float(rng.uniform(0.2, 4.0))
        src, dst, weights = (np.array(column) for column in zip(*graph.edges(data="weight"), strict=True))
        pagerank = run_algorithm("pagerank", 150, src, dst, TIGHT, weights=weights)
        expected = by_vertex(nx.pagerank(graph, weight="weight", tol=1e-15, max_iter=10_000), 150)
        np.testing.assert_allclose(pagerank.values, expected, atol=1e-10)
        assert top(pagerank.values, 10) == top(expected, 10)
        betweenness = run_algorithm("betweenness", 150, src, dst, {}, weights=weights)
        expected = by_vertex(nx.betweenness_centrality(graph, weight="weight"), 150)
        np.testing.assert_allclose(betweenness.values, expected, rtol=1e-9, atol=1e-12)
        assert top(betweenness.values, 5) == top(expected, 5)

    def test_unit_weights_give_the_unweighted_pagerank_with_parallel_edges_counted(self):
        rng = np.random.default_rng(12)
        src, dst = rng.integers(0, 80, 300), rng.integers(0, 80, 300)
        src, dst = np.concatenate([src, src[:50]]), np.concatenate([dst, dst[:50]])
        plain = run_algorithm("pagerank", 80, src, dst, TIGHT)
        weighted = run_algorithm("pagerank", 80, src, dst, TIGHT, weights=np.ones(src.size))
        np.testing.assert_allclose(weighted.values, plain.values, atol=1e-13)

    def test_scc_joins_the_ends_of_undirected_ties(self):
        """0->1->2 and 0->2 hold no cycle; read as a tie both ways, 0-2 closes 0->1->2->0. 3->4 stays apart."""
        src, dst = np.array([0, 1, 0, 3]), np.array([1, 2, 2, 4])
        directed = run_algorithm("scc", 5, src, dst, {}, undirected=np.zeros(4, bool))
        assert directed.values.tolist() == [0, 1, 2, 3, 4]
        closed = run_algorithm("scc", 5, src, dst, {}, undirected=np.array([False, False, True, False]))
        assert closed.values.tolist() == [0, 0, 0, 1, 2]

    @pytest.mark.parametrize("seed", [13, 14])
    def test_scc_equals_networkx_on_the_digraph_with_both_directions(self, seed):
        n, src, dst, _, undirected, reference = mixed_graph(seed)
        out = run_algorithm("scc", n, src, dst, {}, undirected=undirected)
        expected = sorted(map(sorted, nx.strongly_connected_components(reference)))
        assert sorted(map(sorted, groups_of(out.values))) == expected
        directed_only = nx.DiGraph()
        directed_only.add_nodes_from(range(n))
        directed_only.add_edges_from(zip(src.tolist(), dst.tolist(), strict=True))
        assert len(expected) < nx.number_strongly_connected_components(directed_only)

    @pytest.mark.parametrize("algorithm", ["louvain", "label_propagation"])
    def test_unweighted_communities_do_not_depend_on_direction_flags(self, algorithm):
        """Without weights, communities read the undirected simple graph whatever the flags say."""
        n, src, dst, _, undirected, _ = mixed_graph(22)
        plain = run_algorithm(algorithm, n, src, dst, {})
        marked = run_algorithm(algorithm, n, src, dst, {}, undirected=undirected)
        np.testing.assert_array_equal(marked.values, plain.values)
        assert marked.modularity == plain.modularity

    def test_wcc_ignores_direction_flags_and_weights(self):
        n, src, dst, weights, undirected, _ = mixed_graph(15)
        plain = run_algorithm("wcc", n, src, dst, {})
        marked = run_algorithm("wcc", n, src, dst, {}, weights=weights, undirected=undirected)
        np.testing.assert_array_equal(marked.values, plain.values)


class TestZeroWeights:
    def test_a_zero_strength_edge_adds_nothing_to_pagerank(self):
        """Edges of weight 0 give the ranks of the graph without them; a vertex left without
        a weighted out-edge is dangling, as in networkx."""
        rng = np.random.default_rng(16)
        src, dst = rng.integers(0, 50, 200), rng.integers(0, 50, 200)
        weights = rng.uniform(0.5, 2.0, 200)
        weights[::4] = 0.0
        weights[src == 3] = 0.0
        out = run_algorithm("pagerank", 50, src, dst, TIGHT, weights=weights)
        kept = weights > 0
        without = run_algorithm("pagerank", 50, src[kept], dst[kept], TIGHT, weights=weights[kept])
        np.testing.assert_allclose(out.values, without.values, atol=1e-14)
        graph = nx.MultiDiGraph()
        graph.add_nodes_from(range(50))
        graph.add_weighted_edges_from(zip(src.tolist(), dst.tolist(), weights.tolist(), strict=True))
        expected = by_vertex(nx.pagerank(graph, tol=1e-15, max_iter=10_000), 50)
        np.testing.assert_allclose(out.values, expected, atol=1e-10)

    def test_a_zero_length_tie_is_a_free_hop(self):
        """Ties 0-1 (1), 1-2 (0), 2-3 (1), 1-4 (1): every pair's shortest path is unique, so by
        hand vertex 1 lies between {0,2}, {0,3}, {0,4}, {2,4}, {3,4} and vertex 2 between
        {0,3}, {1,3}, {3,4}."""
        src, dst = np.array([0, 1, 2, 1]), np.array([1, 2, 3, 4])
        weights = np.array([1.0, 0.0, 1.0, 1.0])
        undirected = np.ones(4, bool)
        out = run_algorithm("betweenness", 5, src, dst, {"normalized": False}, weights=weights, undirected=undirected)
        np.testing.assert_allclose(out.values, [0, 5, 3, 0, 0], atol=1e-12)

    def test_communities_ignore_zero_weight_ties(self):
        """Two triangles joined by a weight-0 tie are two communities; the modularity leaves the tie out."""
        src, dst = np.array([0, 1, 2, 3, 4, 5, 2]), np.array([1, 2, 0, 4, 5, 3, 3])
        weights = np.array([1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.0])
        for algorithm in ("louvain", "label_propagation"):
            out = run_algorithm(algorithm, 6, src, dst, {}, weights=weights)
            assert sorted(map(sorted, groups_of(out.values))) == [[0, 1, 2], [3, 4, 5]]
            assert out.modularity == pytest.approx(0.5, abs=1e-12)


class TestWeightedCommunities:
    @staticmethod
    def planted(seed: int, probability: float) -> tuple[int, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Every pair tied with the same probability, so only the weights show the 8 blocks of 40:
        ties inside a block weigh 10-20 times more than ties across."""
        rng = np.random.default_rng(seed)
        n = 320
        block = np.arange(n) // 40
        a, b = np.triu_indices(n, 1)
        tied = rng.random(a.size) < probability
        a, b = a[tied], b[tied]
        weights = np.where(block[a] == block[b], rng.uniform(5.0, 10.0, a.size), rng.uniform(0.0, 0.5, a.size))
        return n, a, b, weights, block

    @staticmethod
    def tie_graph(n: int, src: np.ndarray, dst: np.ndarray, weights: np.ndarray) -> nx.Graph:
        """The undirected graph whose tie weights sum the edges listed between each pair."""
        graph = nx.Graph()
        graph.add_nodes_from(range(n))
        for a, b, w in zip(src.tolist(), dst.tolist(), weights.tolist(), strict=True):
            if a != b:
                graph.add_edge(a, b, weight=graph.get_edge_data(a, b, {"weight": 0.0})["weight"] + w)
        return graph

    def test_louvain_finds_blocks_that_only_the_weights_show(self):
        n, src, dst, weights, block = self.planted(17, 0.2)
        graph = self.tie_graph(n, src, dst, weights)
        runs = [run_algorithm("louvain", n, src, dst, {"seed": s}, weights=weights) for s in range(3)]
        for out in runs:
            assert same_partition(out.values, block)
            assert out.modularity == pytest.approx(weighted_modularity(graph, out.values), abs=1e-12)
            assert out.engine == "numba-louvain-weighted"
        assert abs(np.median([out.modularity for out in runs]) - networkx_louvain_modularity(graph)) <= 0.01
        unweighted = run_algorithm("louvain", n, src, dst, {"seed": 0})
        assert not same_partition(unweighted.values, block)

    def test_tie_weight_sums_directed_edges_both_ways_and_the_undirected_tie(self):
        """Random mixed graph: the reported modularity is networkx's on the graph of summed tie weights."""
        n, src, dst, weights, undirected, _ = mixed_graph(18)
        graph = self.tie_graph(n, src, dst, weights)
        for algorithm in ("louvain", "label_propagation"):
            out = run_algorithm(algorithm, n, src, dst, {}, weights=weights, undirected=undirected)
            assert out.modularity == pytest.approx(weighted_modularity(graph, out.values), abs=1e-12)
        louvain = run_algorithm("louvain", n, src, dst, {}, weights=weights, undirected=undirected)
        assert louvain.modularity >= networkx_louvain_modularity(graph) - 0.01

    def test_label_propagation_recovers_blocks_that_only_the_weights_show(self):
        n, src, dst, weights, block = self.planted(19, 0.3)
        out = run_algorithm("label_propagation", n, src, dst, {}, weights=weights)
        assert same_partition(out.values, block)
        assert out.engine == "numba-lp-weighted"
        assert not same_partition(run_algorithm("label_propagation", n, src, dst, {}).values, block)

    @pytest.mark.parametrize("seed", range(5))
    def test_a_heavy_tie_decides_a_vertex_label(self, seed):
        """Vertex 0 has three light ties (1 each) into the 4-clique A = 1..4 and one heavy tie
        (10) to the 4-clique B = 5..8: weighted, it joins B (10 > 3); unweighted, A (3 > 1)."""
        clique_a = [(a, b) for a in range(1, 5) for b in range(a + 1, 5)]
        clique_b = [(a, b) for a in range(5, 9) for b in range(a + 1, 9)]
        pairs = clique_a + clique_b + [(0, 1), (0, 2), (0, 3), (0, 5)]
        src, dst = np.array(pairs).T
        weights = np.array([5.0] * 12 + [1.0, 1.0, 1.0, 10.0])
        weighted = run_algorithm("label_propagation", 9, src, dst, {"seed": seed}, weights=weights)
        assert sorted(map(sorted, groups_of(weighted.values))) == [[0, 5, 6, 7, 8], [1, 2, 3, 4]]
        unweighted = run_algorithm("label_propagation", 9, src, dst, {"seed": seed})
        assert sorted(map(sorted, groups_of(unweighted.values))) == [[0, 1, 2, 3, 4], [5, 6, 7, 8]]


class TestSampledWeightedBetweenness:
    def test_estimate_averages_to_the_exact_weighted_score(self):
        """Undirected weighted ties: over 100 seeds the distance-scaled estimates average to the
        exact scores (within 4.5 standard errors), each correlated with them."""
        graph, src, dst, weights = cooccurrence(20)
        n = graph.number_of_nodes()
        undirected = np.ones(src.size, bool)
        exact = run_algorithm("betweenness", n, src, dst, {}, weights=weights, undirected=undirected).values
        params = {"exact_limit": 10, "samples": 60}
        estimates = []
        for seed in range(100):
            seeded = {**params, "seed": seed}
            out = run_algorithm("betweenness", n, src, dst, seeded, weights=weights, undirected=undirected)
            estimates.append(out.values)
        assert out.engine == "numba-dijkstra-sampled(60)"
        estimates = np.array(estimates)
        standard_error = estimates.std(axis=0, ddof=1) / np.sqrt(len(estimates))
        assert (np.abs(estimates.mean(axis=0) - exact) <= 4.5 * standard_error + 1e-12).all()
        assert min(np.corrcoef(estimate, exact)[0, 1] for estimate in estimates[:20]) > 0.8

    def test_one_sampled_source_weights_each_pair_by_its_length_share(self):
        """Directed path 0->1->2->3 with lengths 1, 2, 3, sampled from source 0: vertex v gets
        d(0,v) / d(0,t) of each pair (0, t) beyond it, times 2n / samples, normalized by (n-1)(n-2)."""
        src, dst, weights = np.array([0, 1, 2]), np.array([1, 2, 3]), np.array([1.0, 2.0, 3.0])
        from_zero = np.array([0.0, 1 / 3 + 1 / 6, 3 / 6, 0.0]) * (2 * 4 / 1) / 6
        for seed in range(40):
            one_source = {"exact_limit": 2, "samples": 1, "seed": seed}
            out = run_algorithm("betweenness", 4, src, dst, one_source, weights=weights)
            if out.values[1] > 0:
                np.testing.assert_allclose(out.values, from_zero, atol=1e-12)
                return
        pytest.fail("no seed drew source 0")


class TestInput:
    @pytest.mark.parametrize(
        ("weights", "count", "example"),
        [
            ([1.0, -2.0, 1.0, 0.5], 1, "edge 1: -2.0"),
            ([1.0, np.nan, np.inf, 0.5], 2, "edge 1: nan"),
            ([1.0, 1.0, 1.0, -np.inf], 1, "edge 3: -inf"),
        ],
    )
    def test_bad_weights_are_refused_with_how_many_and_an_example(self, weights, count, example):
        for algorithm in ("pagerank", "louvain", "betweenness"):
            with pytest.raises(TaskError) as caught:
                run_algorithm(algorithm, 4, np.arange(4), np.array([1, 2, 3, 0]), {}, weights=np.array(weights))
            assert caught.value.code == "bad_graph"
            assert f"{count} of 4 edges" in caught.value.message
            assert example in caught.value.message

    @pytest.mark.parametrize(
        ("keyword", "value"),
        [
            ("weights", np.ones(3)),
            ("weights", np.array(["a", "b", "c", "d"])),
            ("undirected", np.ones(3, bool)),
            ("undirected", np.ones(4)),
        ],
    )
    def test_arrays_of_the_wrong_length_or_type_are_refused(self, keyword, value):
        with pytest.raises(TaskError) as caught:
            run_algorithm("pagerank", 4, np.array([0, 1, 2, 3]), np.array([1, 2, 3, 0]), {}, **{keyword: value})
        assert caught.value.code == "bad_graph"
        assert keyword.rstrip("s") in caught.value.message

    @pytest.mark.parametrize("algorithm", ["pagerank", "scc", "label_propagation", "louvain", "betweenness"])
    def test_int32_and_int64_endpoints_give_the_same_weighted_values(self, algorithm):
        n, src, dst, weights, undirected, _ = mixed_graph(21)
        semantics = {"weights": weights, "undirected": undirected}
        wide = run_algorithm(algorithm, n, src.astype(np.int64), dst.astype(np.int64), {}, **semantics)
        narrow = run_algorithm(algorithm, n, src.astype(np.int32), dst.astype(np.int32), {}, **semantics)
        np.testing.assert_array_equal(wide.values, narrow.values)
