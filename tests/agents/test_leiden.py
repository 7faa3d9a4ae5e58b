"""Leiden communities: every community connected, modularity as good as igraph's Leiden, planted blocks found."""

from __future__ import annotations

import random
import re

import msgspec
import networkx as nx
import numpy as np
import pytest
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

from gaai.agents.execution.engine import communities, graph_views, leiden, run_algorithm
from gaai.agents.reporting.wording import format_ratio
from gaai.agents.templates.build import build_templates
from gaai.agents.use_cases.mapping import _domain_signals as domain_signals
from gaai.agents.use_cases.mapping import derive_use_cases
from gaai.agents.vertical.choice import builtin_verticals
from gaai.bench.bench_graph import generate
from gaai.bus.errors import TaskError
from gaai.eval.metrics import normalized_mutual_information
from tests.agents import test_engine_semantics
from tests.agents.test_engine import (
    groups_of,
    messy,
    planted_blocks,
    random_graph,
    ring_of_cliques,
    same_partition,
    simple_graph,
    two_cliques,
)
from tests.agents.test_engine_semantics import mixed_graph, networkx_louvain_modularity, weighted_modularity
from tests.agents.test_reporting import execute, report_for
from tests.agents.test_use_cases import doc, req, retail, shop_schema


def split_communities(n: int, src: np.ndarray, dst: np.ndarray, labels: np.ndarray) -> int:
    """How many communities fall apart into more than one piece on the ties inside them."""
    keep = (labels[src] == labels[dst]) & (src != dst)
    inside = sp.coo_array((np.ones(int(keep.sum())), (src[keep], dst[keep])), shape=(n, n)).tocsr()
    _, piece = connected_components(inside, directed=False)
    pieces_per_community = np.bincount(np.unique(np.stack([labels, piece]), axis=1)[0])
    return int(np.count_nonzero(pieces_per_community > 1))


def edge_list(graph: nx.Graph) -> tuple[int, np.ndarray, np.ndarray]:
    pairs = np.array(list(graph.edges()), dtype=np.int64).reshape(-1, 2)
    return graph.number_of_nodes(), pairs[:, 0], pairs[:, 1]


class TestConnectivity:
    def test_communities_stay_connected_where_louvain_splits_one(self):
        """A power-law graph (10^5 edges) on which our Louvain (seed 1) returns a community in two pieces:
        Leiden's communities are each one piece, for any seed, and the partition is at least as good."""
        n, src, dst = generate("powerlaw", 100_000, seed=5)
        louvain = run_algorithm("louvain", n, src, dst, {"seed": 1})
        assert split_communities(n, src, dst, louvain.values) >= 1, "the graph no longer shows Louvain's flaw"
        for seed in (1, 2, 3):
            leiden = run_algorithm("leiden", n, src, dst, {"seed": seed})
            assert split_communities(n, src, dst, leiden.values) == 0
            assert leiden.modularity >= louvain.modularity

    @pytest.mark.parametrize(
        "graph",
        [
            nx.barabasi_albert_graph(3000, 2, seed=1),
            nx.connected_watts_strogatz_graph(3000, 4, 0.1, seed=2),
            nx.gnm_random_graph(4000, 5000, seed=3),  # sparse: many small pieces and trees
            nx.powerlaw_cluster_graph(3000, 2, 0.3, seed=4),
        ],
        ids=["barabasi_albert", "watts_strogatz", "sparse_random", "powerlaw_cluster"],
    )
    @pytest.mark.parametrize("resolution", [0.5, 1.0, 3.0])
    def test_every_community_is_connected(self, graph, resolution):
        """On graphs of several shapes and resolutions, no community falls apart, whatever the seed."""
        n, src, dst = edge_list(graph)
        for seed in (0, 1):
            out = run_algorithm("leiden", n, src, dst, {"seed": seed, "resolution": resolution})
            assert split_communities(n, src, dst, out.values) == 0

    def test_weighted_communities_are_connected(self):
        """With weights as strengths (half the ties light), the communities are still one piece each."""
        src, dst = random_graph(3000, 9000, seed=5)
        weights = np.where(np.random.default_rng(5).random(src.size) < 0.5, 0.1, 5.0)
        out = run_algorithm("leiden", 3000, src, dst, {}, weights=weights)
        assert out.engine == "numba-leiden-weighted"
        assert split_communities(3000, src, dst, out.values) == 0

    def test_communities_stay_connected_when_a_refinement_merges_nothing(self, monkeypatch):
        """Should a refinement leave every vertex alone, the level aggregates on the connected pieces of the
        communities instead: the result is still connected, and as good as the ordinary run's."""
        n, src, dst = edge_list(nx.barabasi_albert_graph(2000, 2, seed=6))
        ordinary = run_algorithm("leiden", n, src, dst, {})
        monkeypatch.setattr(leiden, "_refine", lambda *arguments: np.arange(arguments[3].size))
        alone = run_algorithm("leiden", n, src, dst, {})
        assert split_communities(n, src, dst, alone.values) == 0
        assert alone.modularity >= ordinary.modularity - 0.01

    def test_connected_pieces_join_vertices_only_through_their_own_community(self):
        """Pieces of communities: 0-1-2 tied in community 0, 3 tied to 2 but in community 1, 4 alone in 1."""
        src, dst = np.array([0, 1, 2]), np.array([1, 2, 3])
        indptr, indices, _, _ = communities.community_graph(5, src, dst, None, np.arange(5))
        pieces = leiden.connected_pieces(indptr, indices, np.array([0, 0, 0, 1, 1], dtype=indices.dtype))
        assert pieces.tolist() == [0, 0, 0, 3, 4]


class TestQuality:
    @staticmethod
    def igraph_modularity(n: int, src: np.ndarray, dst: np.ndarray) -> float:
        """The median modularity of igraph's Leiden (modularity objective, its defaults) over three seeds."""
        igraph = pytest.importorskip("igraph")
        graph = igraph.Graph(n=n, edges=list(zip(src.tolist(), dst.tolist(), strict=True)))
        graph.simplify()
        found = []
        for seed in range(3):
            random.seed(seed)
            found.append(graph.modularity(graph.community_leiden(objective_function="modularity").membership))
        return float(np.median(found))

    @pytest.mark.parametrize(
        "make",
        [
            lambda: edge_list(nx.karate_club_graph()),
            lambda: edge_list(nx.planted_partition_graph(12, 50, 0.2, 0.02, seed=7)),
            lambda: (3000, *random_graph(3000, 15_000, seed=8)),
            lambda: edge_list(nx.barabasi_albert_graph(3000, 3, seed=9)),
        ],
        ids=["karate", "planted_partition", "random", "barabasi_albert"],
    )
    def test_modularity_within_a_hundredth_of_igraph_leiden(self, make):
        """Median over three seeds, ours against igraph's community_leiden(objective_function="modularity")."""
        n, src, dst = make()
        ours = np.median([run_algorithm("leiden", n, src, dst, {"seed": s}).modularity for s in range(3)])
        assert ours >= self.igraph_modularity(n, src, dst) - 0.01

    @pytest.mark.parametrize("seed", range(3))
    def test_planted_blocks_are_recovered(self, seed):
        """Twenty blocks of 40, dense inside and sparse across: NMI 1 against the blocks."""
        n, src, dst, block = planted_blocks(20, 40, inside=0.3, across=0.003, seed=seed)
        out = run_algorithm("leiden", n, src, dst, {"seed": seed})
        assert normalized_mutual_information(block.tolist(), out.values.tolist()) == pytest.approx(1.0)

    def test_noisy_blocks_score_high_nmi(self):
        """Blocks with a third of each vertex's ties across: NMI against the blocks at least 0.9, like Louvain."""
        n, src, dst, block = planted_blocks(10, 60, inside=0.2, across=0.012, seed=4)
        leiden = run_algorithm("leiden", n, src, dst, {}).values
        louvain = run_algorithm("louvain", n, src, dst, {}).values
        assert normalized_mutual_information(block.tolist(), leiden.tolist()) >= 0.9
        assert normalized_mutual_information(block.tolist(), leiden.tolist()) >= normalized_mutual_information(
            block.tolist(), louvain.tolist()
        )

    @pytest.mark.parametrize("layout", [0, 1, 2])
    def test_ring_of_cliques_gives_one_community_per_clique(self, layout):
        """Eight 6-cliques in a ring: each clique is a community, and the modularity is networkx's."""
        n, src, dst, truth = ring_of_cliques(8, 6, seed=layout)
        out = run_algorithm("leiden", n, src, dst, {"seed": layout})
        assert sorted(map(sorted, groups_of(out.values))) == sorted(map(sorted, truth))
        graph = simple_graph(n, src, dst, directed=False)
        assert out.modularity == pytest.approx(nx.community.modularity(graph, truth), abs=1e-12)

    def test_two_cliques_joined_by_one_edge(self):
        """Two 6-cliques split at their bridge: 31 ties, 30 inside, Q = 30/31 - 2 * (31/62)^2."""
        n, src, dst, truth = two_cliques(6, seed=0)
        out = run_algorithm("leiden", n, src, dst, {})
        assert sorted(map(sorted, groups_of(out.values))) == sorted(map(sorted, truth))
        assert out.modularity == pytest.approx(30 / 31 - 0.5, abs=1e-12)


class TestBehaviour:
    @pytest.mark.parametrize("resolution", [0.7, 1.0, 2.5])
    def test_modularity_is_the_standard_one_of_the_partition(self, resolution):
        """Whatever the resolution, the reported modularity is the resolution-1 modularity of the partition
        on the simple graph (duplicates, direction and self-loops ignored), as the engine's formula gives it."""
        src, dst = messy(*random_graph(500, 2000, seed=21))
        out = run_algorithm("leiden", 500, src, dst, {"resolution": resolution})
        ties = graph_views.undirected_both_ways(500, *graph_views.checked_edges(500, src, dst))
        assert out.modularity == pytest.approx(communities.partition_modularity(out.values, ties), abs=1e-12)

    def test_duplicates_direction_and_self_loops_do_not_matter(self):
        src, dst = random_graph(1500, 5000, seed=13)
        plain = run_algorithm("leiden", 1500, src, dst, {"seed": 3})
        repeated = run_algorithm("leiden", 1500, *messy(src, dst), {"seed": 3})
        np.testing.assert_array_equal(plain.values, repeated.values)

    def test_same_seed_same_partition_other_seeds_other_partitions(self):
        src, dst = random_graph(2000, 6000, seed=9)
        first = run_algorithm("leiden", 2000, src, dst, {"seed": 7})
        again = run_algorithm("leiden", 2000, src, dst, {"seed": 7})
        np.testing.assert_array_equal(first.values, again.values)
        assert first.modularity == again.modularity
        others = [run_algorithm("leiden", 2000, src, dst, {"seed": s}).values for s in (1, 2)]
        assert any(not same_partition(first.values, other) for other in others)

    def test_higher_resolution_gives_more_communities(self):
        src, dst = random_graph(2000, 8000, seed=9)
        counts = [
            int(run_algorithm("leiden", 2000, src, dst, {"resolution": r}).values.max()) + 1 for r in (0.25, 1, 2, 4)
        ]
        assert counts[0] < counts[1] < counts[2] < counts[3]

    def test_iterations_run_are_reported_and_stop_when_nothing_changes(self):
        """One iteration when asked for one; on clear-cut cliques the second changes nothing, so a budget of
        ten stops after two."""
        n, src, dst, _ = ring_of_cliques(8, 6, seed=0)
        assert run_algorithm("leiden", n, src, dst, {"iterations": 1}).iterations == 1
        assert run_algorithm("leiden", n, src, dst, {"iterations": 10}).iterations == 2

    def test_a_second_iteration_improves_a_random_graph(self):
        src, dst = random_graph(5000, 50_000, seed=10)
        once = run_algorithm("leiden", 5000, src, dst, {"iterations": 1, "seed": 1})
        twice = run_algorithm("leiden", 5000, src, dst, {"iterations": 2, "seed": 1})
        assert twice.modularity > once.modularity + 0.01

    def test_no_edges_means_singletons_and_no_modularity(self):
        out = run_algorithm("leiden", 3, np.array([], dtype=np.int64), np.array([], dtype=np.int64), {})
        assert sorted(out.values.tolist()) == [0, 1, 2]
        assert out.modularity is None and out.engine == "numba-leiden"

    def test_weights_find_blocks_only_the_weights_show(self):
        """Uniformly random ties, heavy inside four hidden blocks: the weighted run finds the blocks."""
        n = 400
        src, dst = random_graph(n, 6000, seed=11)
        block = np.arange(n) % 4
        weights = np.where(block[src] == block[dst], 10.0, 0.2)
        weighted = run_algorithm("leiden", n, src, dst, {}, weights=weights)
        assert normalized_mutual_information(block.tolist(), weighted.values.tolist()) == pytest.approx(1.0)
        unweighted = run_algorithm("leiden", n, src, dst, {})
        assert normalized_mutual_information(block.tolist(), unweighted.values.tolist()) < 0.5

    def test_tie_weight_sums_directed_edges_both_ways_and_the_undirected_tie(self):
        """A mixed graph (directed edges, undirected ties, self-loops, weights): the reported modularity is
        networkx's on the graph of summed tie weights, and as good as networkx's weighted Louvain."""
        n, src, dst, weights, undirected, _ = mixed_graph(18)
        graph = test_engine_semantics.TestWeightedCommunities.tie_graph(n, src, dst, weights)
        out = run_algorithm("leiden", n, src, dst, {}, weights=weights, undirected=undirected)
        assert out.modularity == pytest.approx(weighted_modularity(graph, out.values), abs=1e-12)
        assert out.modularity >= networkx_louvain_modularity(graph) - 0.01

    @pytest.mark.parametrize(
        ("params", "message"),
        [
            ({"iterations": 0}, "leiden.iterations=0 is outside [1, 100]"),
            ({"resolution": -1.0}, "leiden.resolution=-1.0 is outside [0.0, 100.0]"),
            ({"refine": True}, "leiden has no parameter(s) refine"),
        ],
    )
    def test_bad_parameters_are_refused(self, params, message):
        with pytest.raises(TaskError, match=re.escape(message)):
            run_algorithm("leiden", 3, np.array([0, 1]), np.array([1, 2]), params)


class TestSelection:
    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("Find well-connected communities of customers.", {"leiden"}),
            ("Run community detection (Leiden) on customers.", {"leiden"}),
            ("Split customers into connected segments.", {"leiden"}),
            # Louvain stays the default for communities (docs/BENCHMARKS.md, section 8).
            ("Segment customers into cohorts with similar taste.", {"louvain"}),
            ("Run Louvain and Leiden on customers.", {"louvain", "leiden"}),
            ("Find connected components of customers.", {"wcc"}),
        ],
    )
    def test_requirement_words_pick_leiden(self, text, expected):
        use_cases = derive_use_cases(doc(req("REQ-1", text)), shop_schema(), retail())
        assert {use_case.algorithm for use_case in use_cases} == expected

    @pytest.mark.parametrize("vertical", sorted(builtin_verticals()))
    def test_leiden_wording_takes_no_vertical_term_from_louvain(self, vertical):
        """A vertical term points at an algorithm only when one pattern uses it: the Leiden patterns reuse none
        of the terms that point at Louvain, so a vertical's own words still ask for the default."""
        profile = builtin_verticals()[vertical]
        without = msgspec.structs.replace(
            profile, patterns={name: p for name, p in profile.patterns.items() if name != "leiden"}
        )
        signals = {(s.term, s.algorithm) for s in domain_signals(profile, shop_schema())}
        assert signals == {(s.term, s.algorithm) for s in domain_signals(without, shop_schema())}

    def test_a_leiden_use_case_becomes_a_community_template(self):
        [use_case] = derive_use_cases(
            doc(req("REQ-1", "Find well-connected communities of customers.")), shop_schema(), retail()
        )
        assert use_case.title == "Connected communities of customers"
        assert "every community is connected" in use_case.reason
        [template] = build_templates([use_case], shop_schema(), max_templates=5).templates
        assert template.algorithm == "leiden"
        assert template.params == {"resolution": 1.0, "iterations": 2, "seed": 42}


class TestReport:
    def test_the_report_describes_connected_communities_with_verified_claims(self):
        """The community sections of Louvain, with Leiden named, and no claim rejected."""
        run = execute("leiden")
        report = report_for(run, vertical=builtin_verticals()["generic"])
        assert run.execution.engine == "numba-leiden"
        assert report.claims_rejected == []
        structure = next(i for i in report.insights if "modularity" in i.evidence)
        assert format_ratio(run.execution.groups.modularity) in structure.text
        assert "Leiden communities are groups of entities" in structure.text
        limit = next(i for i in report.insights if i.title == "Resolution limit")
        assert "Leiden may merge" in limit.text
        assert "every community is connected" in limit.text
