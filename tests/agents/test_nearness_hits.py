"""Closeness, harmonic centrality and HITS: the engine against networkx, sampling, template selection,
and reports whose claims are checked against the stored results."""

from __future__ import annotations

import msgspec
import networkx as nx
import numpy as np
import pytest
import scipy.sparse as sp

from gaai.agents.execution.engine import run_algorithm
from gaai.agents.execution.engine.graph_views import strength_product
from gaai.agents.templates.build import build_templates
from gaai.agents.use_cases.mapping import derive_use_cases
from gaai.agents.vertical.choice import builtin_verticals
from gaai.bus.domain import OutputConstraint, Requirement, RequirementsDoc
from gaai.bus.errors import TaskError
from gaai.store import EmbeddedStore
from gaai.store.sample import ensure_sample_graph
from tests.agents.test_algorithm_catalog import report_of
from tests.agents.test_templates import shop_schema

NEARNESS = {"closeness": nx.closeness_centrality, "harmonic": nx.harmonic_centrality}


def unique_edges(n: int, m: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Edges without repeats (a ``DiGraph`` keeps one weight per pair), self-loops included."""
    rng = np.random.default_rng(seed)
    keys = np.unique(rng.integers(0, n, m) * n + rng.integers(0, n, m))
    return (keys // n).astype(np.int32), (keys % n).astype(np.int32)


def digraph(n: int, src: np.ndarray, dst: np.ndarray, weights: np.ndarray | None = None) -> nx.DiGraph:
    graph = nx.DiGraph()
    graph.add_nodes_from(range(n))
    for i, (s, d) in enumerate(zip(src.tolist(), dst.tolist(), strict=True)):
        graph.add_edge(s, d, weight=1.0 if weights is None else float(weights[i]))
    return graph


def as_array(scores: dict, n: int) -> np.ndarray:
    return np.array([scores[v] for v in range(n)])


# Sparse enough (about 1.7 edges per vertex) that many vertices are reached by only part of the graph.
N = 300
SRC, DST = unique_edges(N, 500, seed=3)
LENGTHS = np.random.default_rng(5).integers(0, 4, SRC.size).astype(np.float64)  # zero-length edges included


class TestNearnessAgainstNetworkx:
    @pytest.mark.parametrize("algorithm", ["closeness", "harmonic"])
    @pytest.mark.parametrize("weighted", [False, True])
    def test_exact_scores_are_networkx_inward_scores(self, algorithm: str, weighted: bool) -> None:
        """Inward distances, Wasserman–Faust scaling on a disconnected digraph, lengths with zeros."""
        lengths = LENGTHS if weighted else None
        output = run_algorithm(algorithm, N, SRC, DST, {}, weights=lengths)
        expected = NEARNESS[algorithm](digraph(N, SRC, DST, lengths), distance="weight" if weighted else None)
        np.testing.assert_allclose(output.values, as_array(expected, N), rtol=1e-12, atol=1e-15)
        assert output.engine == ("numba-dijkstra-exact" if weighted else "numba-bfs-exact")
        assert np.count_nonzero(output.values) > N // 2  # the comparison is not between zeros

    @pytest.mark.parametrize("algorithm", ["closeness", "harmonic"])
    def test_undirected_ties_count_both_ways_and_parallel_edges_their_shortest(self, algorithm: str) -> None:
        # 0 -> 1 twice (lengths 5 and 2), 1 - 2 undirected, 3 -> 2.
        src, dst = np.array([0, 0, 1, 3], dtype=np.int32), np.array([1, 1, 2, 2], dtype=np.int32)
        lengths = np.array([5.0, 2.0, 1.0, 4.0])
        undirected = np.array([False, False, True, False])
        output = run_algorithm(algorithm, 4, src, dst, {}, weights=lengths, undirected=undirected)
        reference = nx.DiGraph()
        reference.add_weighted_edges_from([(0, 1, 2.0), (1, 2, 1.0), (2, 1, 1.0), (3, 2, 4.0)])
        expected = NEARNESS[algorithm](reference, distance="weight")
        np.testing.assert_allclose(output.values, as_array(expected, 4), rtol=1e-12)

    def test_sampled_scores_estimate_the_exact_ones_and_say_so(self) -> None:
        n = 3_000
        src, dst = unique_edges(n, 15_000, seed=11)
        exact = run_algorithm("harmonic", n, src, dst, {}).values
        sampled = run_algorithm("harmonic", n, src, dst, {"exact_limit": 1000, "samples": 600, "seed": 1})
        assert sampled.engine == "numba-bfs-sampled(600)"
        # n / samples times the sums over 600 of 3,000 sources: within a few percent for most vertices.
        reached = exact > 0
        relative = np.abs(sampled.values[reached] - exact[reached]) / exact[reached]
        assert reached.sum() > n * 0.9 and np.median(relative) < 0.05
        top_exact = set(np.argsort(-exact)[:30].tolist())
        top_sampled = set(np.argsort(-sampled.values)[:30].tolist())
        assert len(top_exact & top_sampled) >= 20
        closeness = run_algorithm("closeness", n, src, dst, {"exact_limit": 1000, "samples": 600, "seed": 1})
        exact_closeness = run_algorithm("closeness", n, src, dst, {}).values
        reached = exact_closeness > 0
        error = np.abs(closeness.values[reached] - exact_closeness[reached]) / exact_closeness[reached]
        assert np.median(error) < 0.05

    def test_as_many_samples_as_vertices_is_the_exact_answer(self) -> None:
        sampled = run_algorithm("closeness", N, SRC, DST, {"exact_limit": 10, "samples": N})
        exact = run_algorithm("closeness", N, SRC, DST, {})
        assert sampled.engine == "numba-bfs-exact"
        np.testing.assert_array_equal(sampled.values, exact.values)


class TestHitsAgainstNetworkx:
    @pytest.mark.parametrize("weighted", [False, True])
    def test_hubs_and_authorities_are_networkx_hits(self, weighted: bool) -> None:
        n, m = 300, 3_000
        rng = np.random.default_rng(4)
        src, dst = rng.integers(0, n, m).astype(np.int32), rng.integers(0, n, m).astype(np.int32)
        strengths = rng.random(m) + 0.1
        reference = nx.DiGraph()
        reference.add_nodes_from(range(n))
        for s, d, w in zip(src.tolist(), dst.tolist(), strengths.tolist(), strict=True):
            # Repeated edges: once without weights, their strengths added up with them.
            previous = reference.get_edge_data(s, d, {"weight": 0.0})["weight"] if weighted else 0.0
            reference.add_edge(s, d, weight=previous + w if weighted else 1.0)
        hubs, authorities = nx.hits(reference, max_iter=10_000, tol=1e-12)
        output = run_algorithm("hits", n, src, dst, {}, weights=strengths if weighted else None)
        np.testing.assert_allclose(output.values, as_array(authorities, n), atol=1e-9)
        np.testing.assert_allclose(output.hubs, as_array(hubs, n), atol=1e-9)
        assert output.values.sum() == pytest.approx(1.0) and output.hubs.sum() == pytest.approx(1.0)
        assert output.iterations is not None and output.iterations < 100

    def test_a_star_pointing_inwards_has_one_authority_and_equal_hubs(self) -> None:
        src = np.arange(1, 6, dtype=np.int32)
        output = run_algorithm("hits", 6, src, np.zeros(5, dtype=np.int32), {})
        assert output.values.tolist() == [1.0, 0, 0, 0, 0, 0]
        np.testing.assert_allclose(output.hubs, [0, 0.2, 0.2, 0.2, 0.2, 0.2])

    def test_a_graph_without_edges_scores_zero(self) -> None:
        empty = np.array([], dtype=np.int32)
        output = run_algorithm("hits", 3, empty, empty, {})
        assert output.values.tolist() == [0.0, 0.0, 0.0] and output.hubs.tolist() == [0.0, 0.0, 0.0]

    def test_on_a_graph_split_over_the_cores_each_edge_counts_once_with_self_loops(self) -> None:
        """Past 2**20 distinct edges per core the product runs on several threads; it is the 0/1 matrix's."""
        rng = np.random.default_rng(3)
        n = 50_000
        src, dst = rng.integers(0, n, 3 * 2**20).astype(np.int32), rng.integers(0, n, 3 * 2**20).astype(np.int32)
        src[:1000] = dst[:1000]
        matrix = sp.csr_array((np.ones(src.size), (src, dst)), shape=(n, n))
        matrix.sum_duplicates()
        matrix.data[:] = 1.0
        x = rng.random(n)
        np.testing.assert_allclose(strength_product(n, src, dst, None)(x), matrix @ x, rtol=1e-12)

    def test_hits_that_does_not_converge_says_so(self) -> None:
        with pytest.raises(TaskError, match=r"HITS did not converge within 2 iterations .* raise hits\.max_iterations"):
            run_algorithm("hits", N, SRC, DST, {"max_iterations": 2})


class TestSelection:
    def test_requirements_map_to_closeness_harmonic_and_hits(self) -> None:
        requirements = RequirementsDoc(
            requirements=[
                Requirement(id="R-1", text="Find the customers with the highest closeness centrality."),
                Requirement(id="R-2", text="Score the reachability of customers by the rest of the shop."),
                Requirement(id="R-3", text="Rank customers by harmonic centrality."),
                Requirement(id="R-4", text="Identify the hubs and authorities among customers."),
                Requirement(id="R-5", text="Which customers point to the most authoritative customers?"),
                Requirement(id="R-6", text="Identify hub products that connect many customers."),
            ]
        )
        use_cases = derive_use_cases(requirements, shop_schema(), builtin_verticals()["ecommerce"])
        asked = {case.requirement_ids[0]: case.algorithm for case in use_cases if len(case.requirement_ids) == 1}
        merged = {r: case.algorithm for case in use_cases for r in case.requirement_ids}
        assert merged == {
            "R-1": "closeness",
            "R-2": "closeness",
            "R-3": "harmonic",
            "R-4": "hits",
            "R-5": "hits",
            "R-6": "pagerank",
        }, asked

    def test_a_large_graph_samples_closeness_within_the_visit_budget(self) -> None:
        schema = shop_schema()
        big = msgspec.structs.replace(
            schema,
            vertex_collections=[msgspec.structs.replace(c, count=c.count * 10_000) for c in schema.vertex_collections],
            edge_collections=[msgspec.structs.replace(c, count=c.count * 10_000) for c in schema.edge_collections],
        )
        requirements = RequirementsDoc(
            requirements=[Requirement(id="R-1", text="Find the customers with the highest closeness.")]
        )
        use_cases = derive_use_cases(requirements, big, builtin_verticals()["ecommerce"])
        [template] = build_templates(use_cases, big, 1, requirements).templates
        assert template.algorithm == "closeness"
        assert "so closeness is sampled from" in template.rationale
        assert template.params["samples"] < 512


@pytest.fixture(scope="module", name="shop")
def _shop(tmp_path_factory: pytest.TempPathFactory) -> EmbeddedStore:
    store = EmbeddedStore(tmp_path_factory.mktemp("home"))
    ensure_sample_graph(store, "ecommerce")
    return store


class TestReports:
    @pytest.mark.parametrize("algorithm", ["closeness", "harmonic"])
    def test_the_closest_customer_is_named_first_among_customers(self, shop: EmbeddedStore, algorithm: str) -> None:
        execution, report = report_of(shop, algorithm, ["customers"])
        assert report.claims_rejected == []
        leader = execution.top_by_collection["customers"][0]
        metric = "closeness" if algorithm == "closeness" else "harmonic centrality"
        assert report.title == f"Top 10 customers by {metric}"
        [leading] = [i for i in report.insights if i.title == f"{leader.label} ranks first among customers"]
        assert f"{leader.label} has the highest {metric} among customers" in leading.text
        assert "along edge direction" in leading.text
        # 5,978 vertices > exact_limit: estimated, and the report says so with the sample size.
        assert execution.engine == "numba-bfs-sampled(512)"
        assert "Scores are estimated from the shortest paths of 512 sampled source vertices" in leading.text
        title = "Closeness centrality" if algorithm == "closeness" else "Harmonic centrality"
        assert any(f"{title} was estimated from 512 sampled sources." in r.text for r in report.recommendations)

    def test_hits_reports_authorities_and_the_hubs_pointing_to_them(self, shop: EmbeddedStore) -> None:
        execution, report = report_of(shop, "hits", ["customers", "products"])
        assert report.claims_rejected == []
        assert len(execution.top_hubs) == 10
        hub = execution.top_hubs[0]
        [hubs] = [i for i in report.insights if i.title == f"{hub.label} points most to the authorities"]
        assert hubs.text.startswith(
            f"By hub score among customers and products, the vertices pointing most to the authorities are "
            f"{hub.label} ({hub.value:.4g})"
        )
        authority = execution.top_by_collection["products"][0]
        assert any(i.title == f"{authority.label} ranks first among products" for i in report.insights)

    def test_a_hub_shown_under_another_name_is_withheld(self, shop: EmbeddedStore) -> None:
        def rename(execution):
            first = msgspec.structs.replace(execution.top_hubs[0], label="Somebody Else")
            return msgspec.structs.replace(execution, top_hubs=[first, *execution.top_hubs[1:]])

        execution, report = report_of(shop, "hits", ["customers"], tamper=rename)
        hub = execution.top_hubs[0].id
        assert any(
            f"{hub} is stored as" in r.reason and "not 'Somebody Else'" in r.reason for r in report.claims_rejected
        )
        assert not any("Somebody Else" in i.title + i.text for i in report.insights)

    def test_hubs_are_pseudonymous_under_no_names(self, shop: EmbeddedStore) -> None:
        hide = OutputConstraint(id="OC-1", kind="no_names", text="no customer names", collections=["customers"])
        execution, report = report_of(shop, "hits", ["customers"], constraints=[hide])
        assert report.claims_rejected == []
        text = " ".join([report.title, report.summary, *(i.title + i.text for i in report.insights)])
        for hub in execution.top_hubs[:3]:
            assert hub.label not in text
        assert "customer #" in text
