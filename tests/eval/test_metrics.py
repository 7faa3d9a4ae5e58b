"""The suite's scores on cases small enough to work out by hand, and modularity against networkx."""

from __future__ import annotations

import math

import networkx as nx
import numpy as np
import pytest

from gaai.eval.metrics import (
    adjusted_rand_index,
    jaccard,
    modularity,
    normalized_mutual_information,
    purity,
    top_k,
    top_k_overlap,
)

TRUTH = [0, 0, 0, 1, 1, 1]
SPLIT = [0, 0, 1, 1, 2, 2]  # the first group split 2+1, the second 1+2


def test_nmi_of_identical_and_relabelled_partitions_is_one():
    assert normalized_mutual_information(TRUTH, TRUTH) == pytest.approx(1.0)
    assert normalized_mutual_information(TRUTH, ["b", "b", "b", "a", "a", "a"]) == pytest.approx(1.0)


def test_nmi_of_independent_partitions_is_zero():
    assert normalized_mutual_information([0, 0, 1, 1], [0, 1, 0, 1]) == pytest.approx(0.0, abs=1e-12)
    # One group against a real split shares no information.
    assert normalized_mutual_information([0, 0, 1, 1], [7, 7, 7, 7]) == 0.0


def test_nmi_by_hand():
    # MI = 2 * (1/3) ln 2; H(truth) = ln 2, H(split) = ln 3; arithmetic-mean normalisation.
    expected = (2 / 3 * math.log(2)) / ((math.log(2) + math.log(3)) / 2)
    assert normalized_mutual_information(TRUTH, SPLIT) == pytest.approx(expected)
    assert normalized_mutual_information(SPLIT, TRUTH) == pytest.approx(expected)


def test_ari_by_hand():
    assert adjusted_rand_index(TRUTH, TRUTH) == pytest.approx(1.0)
    assert adjusted_rand_index(TRUTH, [5, 5, 5, 9, 9, 9]) == pytest.approx(1.0)
    # Pairs together in both: 2; expected 6 * 3 / 15 = 1.2; maximum (6 + 3) / 2 = 4.5.
    assert adjusted_rand_index(TRUTH, SPLIT) == pytest.approx((2 - 1.2) / (4.5 - 1.2))
    # Worse than chance: no pair together in both, expected 2/3, maximum 2.
    assert adjusted_rand_index([0, 0, 1, 1], [0, 1, 0, 1]) == pytest.approx(-0.5)


def test_partitions_must_label_the_same_items():
    with pytest.raises(ValueError, match="different lengths"):
        normalized_mutual_information([0, 1], [0, 1, 1])


def test_purity_counts_members_of_their_groups_majority():
    assert purity(TRUTH, [0, 0, 1, 2, 2, 2]) == pytest.approx(1.0)  # each found group lies inside a true one
    assert purity(TRUTH, SPLIT) == pytest.approx(5 / 6)  # the middle group mixes one of each
    assert purity([0, 0, 1, 1], [0, 0, 0, 0]) == pytest.approx(0.5)


def test_top_k_orders_by_value_then_key():
    values = {"a": 1.0, "b": 3.0, "c": 3.0, "d": 2.0}
    assert top_k(values, 3) == ["b", "c", "d"]


def test_top_k_overlap_counts_shared_vertices_and_forgives_ties_at_the_boundary():
    reference = {"a": 5.0, "b": 4.0, "c": 3.0, "d": 1.0, "e": 1.0}
    assert top_k_overlap(["a", "b", "c"], reference, 3) == 3
    assert top_k_overlap(["a", "d", "c"], reference, 3) == 2
    assert top_k_overlap(["c", "b", "a"], reference, 3) == 3  # order inside the top does not matter
    # d and e tie for 4th place: either completes a top 4.
    assert top_k_overlap(["a", "b", "c", "e"], reference, 4) == 4
    assert top_k_overlap(["a", "b", "c", "d"], reference, 4) == 4
    assert top_k_overlap(["x", "b"], reference, 2) == 1


def test_jaccard():
    assert jaccard({1, 2, 3}, {2, 3, 4}) == pytest.approx(0.5)
    assert jaccard(set(), set()) == 1.0


def test_modularity_equals_networkx_on_a_weighted_graph():
    graph = nx.karate_club_graph()  # carries Zachary's interaction counts as weights
    partition = nx.community.louvain_communities(graph, weight="weight", seed=1)
    groups = {v: i for i, members in enumerate(partition) for v in members}
    edges = [(u, v, float(d["weight"])) for u, v, d in graph.edges(data=True)]
    for resolution in (0.5, 1.0, 2.0):
        expected = nx.community.modularity(graph, partition, weight="weight", resolution=resolution)
        assert modularity(edges, groups, resolution) == pytest.approx(expected)
    one_group = {v: 0 for v in graph}
    assert modularity(edges, one_group) == pytest.approx(0.0, abs=1e-12)


def test_modularity_of_a_random_split_is_near_zero():
    rng = np.random.default_rng(3)
    graph = nx.gnp_random_graph(300, 0.05, seed=3)
    groups = {v: int(rng.integers(4)) for v in graph}
    assert abs(modularity(((u, v, 1.0) for u, v in graph.edges()), groups)) < 0.05
