"""Result summaries: exact figures on small inputs, tie rules, and speed at a million vertices."""

from __future__ import annotations

import time

import numpy as np
import pytest

from gaai.agents.execution.summary import gini, summarize_values, top_indices
from gaai.bus.domain import RankedVertex

COLLECTIONS = ["people", "companies"]


def ids_for(indices: np.ndarray) -> list[str]:
    return [f"v/{i}" for i in indices.tolist()]


def labels_for(indices: np.ndarray) -> list[str]:
    return [f"Vertex {i}" for i in indices.tolist()]


def run(algorithm: str, values, collection_index=None, **kwargs):
    values = np.asarray(values)
    if collection_index is None:
        collection_index = np.zeros(values.size, dtype=np.int64)
    return summarize_values(algorithm, values, labels_for, ids_for, np.asarray(collection_index), COLLECTIONS, **kwargs)


class TestCentrality:
    def test_distribution_figures_are_exact(self):
        """Values 1..10: mean and median 5.5, p90 9.1, p99 9.91, population std sqrt(8.25)."""
        dist = run("pagerank", np.arange(1, 11, dtype=float)).distribution
        assert dist.count == 10
        assert (dist.min, dist.max) == (1.0, 10.0)
        assert dist.mean == pytest.approx(5.5)
        assert dist.median == pytest.approx(5.5)
        assert dist.p90 == pytest.approx(9.1)
        assert dist.p99 == pytest.approx(9.91)
        assert dist.std == pytest.approx(np.sqrt(8.25))

    def test_gini_of_known_distributions(self):
        """Equal values give 0; 1,2,3,4 gives 0.25; one holder of everything among 4 gives 0.75."""
        assert gini(np.full(5, 0.2)) == pytest.approx(0.0, abs=1e-12)
        assert gini(np.array([1.0, 2.0, 3.0, 4.0])) == pytest.approx(0.25)
        assert gini(np.array([0.0, 0.0, 0.0, 10.0])) == pytest.approx(0.75)
        assert gini(np.zeros(3)) == 0.0
        assert run("betweenness", [1.0, 2.0, 3.0, 4.0]).distribution.gini == pytest.approx(0.25)

    def test_top_one_percent_share(self):
        """Of 200 vertices the top 1 % is 2; holding 99 of 297 is a share of exactly 1/3."""
        values = np.ones(200)
        values[[17, 150]] = 49.5
        assert run("pagerank", values).distribution.top_1pct_share == pytest.approx(1 / 3)

    def test_each_collection_gets_its_own_top_list(self):
        """Companies hold the 12 highest scores, so the people's list is what a whole-graph top 10 hides."""
        rng = np.random.default_rng(3)
        values = rng.random(60)
        collection = np.arange(60) % 2
        values[collection == 1] += 10.0
        values[[8, 4]] = 0.999  # two people tied at the top: the lower index ranks first
        by_collection = run("pagerank", values, collection).top_by_collection
        assert set(by_collection) == {"people", "companies"}
        for position, name in enumerate(COLLECTIONS):
            members = np.flatnonzero(collection == position)
            expected = members[np.lexsort((members, -values[members]))][:10]
            listed = by_collection[name]
            assert [v.id for v in listed] == ids_for(expected)
            assert [v.value for v in listed] == values[expected].tolist()
            assert [v.label for v in listed] == labels_for(expected)
        assert [v.id for v in by_collection["people"][:2]] == ["v/4", "v/8"]

    def test_a_collection_without_vertices_gets_no_list(self):
        """Only collections holding vertices are listed; groups get no per-collection lists."""
        assert set(run("betweenness", [0.3, 0.1, 0.2]).top_by_collection) == {"people"}
        assert run("wcc", [0, 0, 1]).top_by_collection == {}

    def test_top_1pct_is_at_least_one_vertex(self):
        """On 10 vertices the top 1 % is the leader alone."""
        assert run("pagerank", [1.0] * 9 + [11.0]).distribution.top_1pct_share == pytest.approx(0.55)

    def test_top_list_carries_ids_labels_and_values_largest_first(self):
        """The top-k are the largest values with their own ids and labels."""
        parts = run("pagerank", [0.1, 0.4, 0.05, 0.3, 0.15], top_k=3)
        assert parts.top == [
            RankedVertex(id="v/1", value=0.4, label="Vertex 1"),
            RankedVertex(id="v/3", value=0.3, label="Vertex 3"),
            RankedVertex(id="v/4", value=0.15, label="Vertex 4"),
        ]
        assert parts.groups is None

    def test_ties_break_by_lower_index(self):
        """Equal values rank by vertex index, including at the cut-off."""
        values = np.array([5.0, 7.0, 7.0, 1.0, 7.0])
        assert top_indices(values, 2).tolist() == [1, 2]
        assert top_indices(values, 4).tolist() == [1, 2, 4, 0]
        assert top_indices(values, 9).tolist() == [1, 2, 4, 0, 3]
        assert top_indices(np.zeros(1000), 3).tolist() == [0, 1, 2]

    def test_by_collection_counts_the_top_k(self):
        """Two of the top three are companies, one is a person; the bottom vertices do not count."""
        values = [9.0, 8.0, 7.0, 1.0, 0.5]
        parts = run("betweenness", values, collection_index=[1, 0, 1, 0, 0], top_k=3)
        assert parts.by_collection == {"companies": 2, "people": 1}


class TestGroups:
    def test_group_statistics_are_exact(self):
        """Groups of sizes 3, 2, 1, 1 out of 7 vertices, each named after its highest-scoring member."""
        scores = np.array([1, 1, 1, 0, 0, 0, 0])
        parts = run("wcc", [0, 0, 0, 1, 1, 2, 3], collection_index=[0, 1, 1, 0, 0, 1, 0], member_scores=scores)
        groups = parts.groups
        assert (groups.count, groups.largest, groups.singletons) == (4, 3, 2)
        assert groups.largest_share == pytest.approx(3 / 7)
        assert groups.top_sizes == [3, 2, 1, 1]
        assert groups.modularity is None
        assert parts.distribution is None
        assert parts.top[:2] == [
            RankedVertex(id="component/0", value=3.0, label="Vertex 0"),
            RankedVertex(id="component/1", value=2.0, label="Vertex 3"),
        ]
        assert parts.by_collection == {"people": 1, "companies": 2}

    def test_communities_pass_modularity_through(self):
        """Community summaries name communities by their most central member and keep the modularity they are given."""
        parts = run("louvain", [1, 1, 0, 0, 0], modularity=0.42, member_scores=np.array([0, 0, 1, 2, 1]))
        assert parts.groups.modularity == 0.42
        assert parts.top[0] == RankedVertex(id="community/0", value=3.0, label="Vertex 3")
        assert parts.top[1].label == "Vertex 0"

    def test_without_member_scores_groups_are_unnamed(self):
        """No centrality inside the groups, no name: never the lowest-indexed member by default."""
        parts = run("louvain", [1, 1, 0, 0, 0])
        assert [v.label for v in parts.top] == ["", ""]

    def test_group_ids_need_not_be_ordered_by_size(self):
        """With arbitrary ids the largest group still comes first, named by its own id."""
        parts = run("scc", [5, 5, 2, 2, 2, 9], top_k=2, member_scores=np.zeros(6))
        assert [(v.id, v.value, v.label) for v in parts.top] == [
            ("component/2", 3.0, "Vertex 2"),
            ("component/5", 2.0, "Vertex 0"),
        ]
        assert parts.groups.count == 3
        assert parts.groups.top_sizes == [3, 2, 1]

    def test_top_sizes_stop_at_ten(self):
        """Only the ten largest sizes are listed, though all groups are counted."""
        values = np.repeat(np.arange(15), np.arange(15, 0, -1))
        groups = run("label_propagation", values).groups
        assert groups.count == 15
        assert groups.top_sizes == list(range(15, 5, -1))


def test_empty_values_give_an_empty_summary():
    """No vertices: nothing to list and no statistics."""
    parts = run("pagerank", np.array([]))
    assert (parts.top, parts.distribution, parts.groups, parts.by_collection) == ([], None, None, {})


@pytest.mark.parametrize(("algorithm", "make"), [("pagerank", "scores"), ("louvain", "groups")])
def test_a_million_vertices_summarise_in_well_under_a_second(algorithm, make):
    """Vectorised summaries stay fast at 10^6 vertices and look up only the listed vertices."""
    rng = np.random.default_rng(0)
    n = 1_000_000
    values = rng.pareto(2.0, n) if make == "scores" else np.sort(rng.integers(0, 5000, n))
    looked_up: list[int] = []

    def counting_labels(indices: np.ndarray) -> list[str]:
        looked_up.append(indices.size)
        return labels_for(indices)

    started = time.perf_counter()
    scores = rng.random(n) if make == "groups" else None
    parts = summarize_values(
        algorithm, values, counting_labels, ids_for, rng.integers(0, 2, n), COLLECTIONS, member_scores=scores
    )
    assert time.perf_counter() - started < 1.5
    assert len(parts.top) == 10
    # A centrality also lists each of the two collections' own top 10.
    assert sum(looked_up) == (30 if make == "scores" else 10)
