"""The analyst's algorithms (degree, k-core, triangles, clustering, similarity, co-occurrence):
the engine against networkx, template selection, and reports whose pair claims are re-derived from the graph."""

from __future__ import annotations

import itertools

import msgspec
import networkx as nx
import numpy as np
import pytest

from gaai.agents.execution.engine import run_algorithm
from gaai.agents.execution.run import execute_template
from gaai.agents.reporting.build import draft_report, publish
from gaai.agents.reporting.claims import Evidence
from gaai.agents.reporting.handler import _named_ids, _named_pairs, _shown_name, load_stored
from gaai.agents.reporting.privacy import Namer
from gaai.agents.templates.build import build_templates
from gaai.agents.use_cases.mapping import derive_use_cases
from gaai.agents.vertical.choice import builtin_verticals
from gaai.bus.domain import OutputConstraint, Requirement, RequirementsDoc, UseCase
from gaai.bus.errors import TaskError
from gaai.store import EmbeddedStore
from gaai.store.sample import ensure_sample_graph
from tests.agents.test_templates import shop_schema


def random_edges(n: int, m: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.integers(0, n, m).astype(np.int32), rng.integers(0, n, m).astype(np.int32)


def simple_graph(n: int, src: np.ndarray, dst: np.ndarray) -> nx.Graph:
    graph = nx.Graph()
    graph.add_nodes_from(range(n))
    graph.add_edges_from(zip(src.tolist(), dst.tolist(), strict=True))
    graph.remove_edges_from(list(nx.selfloop_edges(graph)))
    return graph


N, M = 200, 1_500
SRC, DST = random_edges(N, M, seed=7)
GRAPH = simple_graph(N, SRC, DST)


class TestEngineAgainstNetworkx:
    def test_k_core_is_networkx_core_number(self) -> None:
        values = run_algorithm("k_core", N, SRC, DST, {}).values
        expected = nx.core_number(GRAPH)
        assert values.tolist() == [expected[v] for v in range(N)]

    def test_triangles_and_clustering(self) -> None:
        triangles = run_algorithm("triangles", N, SRC, DST, {}).values
        clustering = run_algorithm("clustering", N, SRC, DST, {}).values
        assert triangles.tolist() == [nx.triangles(GRAPH)[v] for v in range(N)]
        np.testing.assert_allclose(clustering, [nx.clustering(GRAPH)[v] for v in range(N)], rtol=1e-12)

    def test_cohesion_ignores_direction_duplicates_and_self_loops(self) -> None:
        # A triangle listed once each way plus a self-loop and a repeat: still one triangle.
        src = np.array([0, 1, 2, 1, 0, 2], dtype=np.int32)
        dst = np.array([1, 2, 0, 0, 0, 0], dtype=np.int32)
        assert run_algorithm("triangles", 3, src, dst, {}).values.tolist() == [1, 1, 1]
        assert run_algorithm("k_core", 3, src, dst, {}).values.tolist() == [2, 2, 2]

    @pytest.mark.parametrize("direction", ["in", "out", "all"])
    @pytest.mark.parametrize("weighted", [False, True])
    def test_degree_is_the_multidigraph_degree(self, direction: str, weighted: bool) -> None:
        weights = np.random.default_rng(3).random(M)
        multigraph = nx.MultiDiGraph()
        multigraph.add_nodes_from(range(N))
        multigraph.add_weighted_edges_from(zip(SRC.tolist(), DST.tolist(), weights.tolist(), strict=True))
        degree = {"in": multigraph.in_degree, "out": multigraph.out_degree, "all": multigraph.degree}[direction]
        values = run_algorithm("degree", N, SRC, DST, {"direction": direction, "weighted": weighted}, weights=weights)
        expected = [degree(v, weight="weight" if weighted else None) for v in range(N)]
        np.testing.assert_allclose(values.values, expected, rtol=1e-12)

    def test_degree_of_an_undirected_graph_is_the_multigraph_degree(self) -> None:
        src = np.array([0, 0, 1, 2], dtype=np.int32)
        dst = np.array([1, 1, 2, 2], dtype=np.int32)
        values = run_algorithm("degree", 3, src, dst, {}, undirected=np.ones(4, dtype=bool)).values
        # The pair 0-1 listed twice is one undirected tie; networkx counts a self-loop twice.
        reference = nx.MultiGraph([(0, 1), (1, 2), (2, 2)])
        assert values.tolist() == [reference.degree(v) for v in range(3)]

    @pytest.mark.parametrize("weighted", [False, True])
    def test_eigenvector_is_networkx_eigenvector_centrality(self, weighted: bool) -> None:
        weights = np.random.default_rng(4).random(M)
        digraph = nx.DiGraph()
        digraph.add_nodes_from(range(N))
        for a, b, w in zip(SRC.tolist(), DST.tolist(), weights.tolist(), strict=True):
            # Strengths: parallel edges add up.
            digraph.add_edge(a, b, weight=digraph.get_edge_data(a, b, {"weight": 0.0})["weight"] + w)
        expected = nx.eigenvector_centrality(digraph, max_iter=1000, tol=1e-6, weight="weight" if weighted else None)
        output = run_algorithm("eigenvector", N, SRC, DST, {}, weights=weights if weighted else None)
        np.testing.assert_allclose(output.values, [expected[v] for v in range(N)], atol=1e-12)

    def test_eigenvector_that_does_not_converge_says_so(self) -> None:
        with pytest.raises(
            TaskError, match=r"did not converge within 2 iterations .* raise eigenvector\.max_iterations"
        ):
            run_algorithm("eigenvector", N, SRC, DST, {"max_iterations": 2})

    @pytest.mark.parametrize("hops", [1, 2, 3])
    def test_k_hop_reach_follows_direction(self, hops: int) -> None:
        undirected = np.random.default_rng(5).random(M) < 0.2
        digraph = nx.DiGraph()
        digraph.add_nodes_from(range(N))
        for a, b, both in zip(SRC.tolist(), DST.tolist(), undirected.tolist(), strict=True):
            if a != b:
                digraph.add_edges_from([(a, b), (b, a)] if both else [(a, b)])
        values = run_algorithm("k_hop", N, SRC, DST, {"hops": hops}, undirected=undirected).values
        expected = [len(nx.single_source_shortest_path_length(digraph, v, cutoff=hops)) - 1 for v in range(N)]
        assert values.tolist() == expected

    @pytest.mark.parametrize("max_length", [2, 3, 5])
    def test_cycles_count_networkx_bounded_simple_cycles_per_vertex(self, max_length: int) -> None:
        n, m = 60, 180
        src, dst = random_edges(n, m, seed=9)
        undirected = np.random.default_rng(9).random(m) < 0.1
        digraph = nx.DiGraph()
        digraph.add_nodes_from(range(n))
        for a, b, both in zip(src.tolist(), dst.tolist(), undirected.tolist(), strict=True):
            if a != b:
                digraph.add_edges_from([(a, b), (b, a)] if both else [(a, b)])
        expected = np.zeros(n)
        for cycle in nx.simple_cycles(digraph, length_bound=max_length):
            expected[cycle] += 1
        values = run_algorithm("cycles", n, src, dst, {"max_length": max_length}, undirected=undirected).values
        assert values.tolist() == expected.tolist() and expected.sum() > 0

    def test_similarity_keeps_each_vertex_top_k_by_jaccard(self) -> None:
        top_k = 3
        pairs = run_algorithm("similarity", N, SRC, DST, {"top_k": top_k}).pairs
        assert pairs is not None
        for vertex in range(N):
            mine = pairs.first == vertex
            others = [u for u in range(N) if u != vertex and set(GRAPH[vertex]) & set(GRAPH[u])]
            scored = sorted(
                ((score, u) for _, u, score in nx.jaccard_coefficient(GRAPH, [(vertex, u) for u in others])),
                key=lambda item: (-item[0], -len(set(GRAPH[vertex]) & set(GRAPH[item[1]])), item[1]),
            )
            assert pairs.second[mine].tolist() == [u for _, u in scored[:top_k]]
            np.testing.assert_allclose(pairs.score[mine], [s for s, _ in scored[:top_k]], rtol=1e-12)
            shared = [len(set(GRAPH[vertex]) & set(GRAPH[u])) for _, u in scored[:top_k]]
            assert pairs.shared[mine].tolist() == shared

    def test_co_occurrence_counts_members_reached_within_two_hops(self) -> None:
        # customers 0..29, products 30..59, categories 60..64: purchases and memberships at random.
        rng = np.random.default_rng(11)
        purchases = [(c, 30 + p) for c in range(30) for p in rng.choice(30, 3, replace=False)]
        belongs = [(30 + p, 60 + int(rng.integers(0, 5))) for p in range(30)]
        src = np.array([a for a, _ in purchases + belongs], dtype=np.int32)
        dst = np.array([b for _, b in purchases + belongs], dtype=np.int32)
        members = np.zeros(65, dtype=bool)
        members[:30] = True
        targets = np.zeros(65, dtype=bool)
        targets[60:] = True
        output = run_algorithm("co_occurrence", 65, src, dst, {"top_k": 4}, targets=targets, members=members)
        graph = simple_graph(65, src, dst)
        reached = {t: {c for p in graph[t] for c in graph[p] if c < 30} for t in range(60, 65)}
        assert output.values[60:].tolist() == [len(reached[t]) for t in range(60, 65)]
        assert not output.values[:60].any()
        pairs = output.pairs
        found = {
            (int(a), int(b)): (int(s), float(j))
            for a, b, s, j in zip(pairs.first, pairs.second, pairs.shared, pairs.score, strict=True)
        }
        expected = {
            (a, b): (len(reached[a] & reached[b]), len(reached[a] & reached[b]) / len(reached[a] | reached[b]))
            for a, b in itertools.permutations(range(60, 65), 2)
            if reached[a] & reached[b]
        }
        assert found.keys() == expected.keys()
        for pair, (shared, jaccard) in expected.items():
            assert found[pair][0] == shared and found[pair][1] == pytest.approx(jaccard)

    def test_bad_parameters_say_what_is_wrong(self) -> None:
        with pytest.raises(TaskError, match=r"degree\.direction must be one of in, out, all, got 'both'"):
            run_algorithm("degree", N, SRC, DST, {"direction": "both"})
        with pytest.raises(TaskError, match="co_occurrence needs the target vertices and the member vertices"):
            run_algorithm("co_occurrence", N, SRC, DST, {})

    def test_a_product_over_the_work_budget_stops_with_a_clear_error(self) -> None:
        # A star: the hub is a neighbour shared by all 100 leaves, so comparing them costs 100² entries.
        src, dst = np.zeros(100, dtype=np.int32), np.arange(1, 101, dtype=np.int32)
        with pytest.raises(TaskError, match=r"similarity would examine 10,100 vertex pairs, over similarity\.max_work"):
            run_algorithm("similarity", 101, src, dst, {"max_work": 10_000})
        assert run_algorithm("similarity", 101, src, dst, {"max_work": 10_100}).pairs.first.size == 100 * 10


class TestSelection:
    def test_shared_customers_become_co_occurrence_of_categories_counting_customers(self) -> None:
        requirements = RequirementsDoc(
            requirements=[
                Requirement(
                    id="US-1",
                    text="As a category manager, I want to see which categories share the most "
                    "customers so that I can plan promotions.",
                ),
                Requirement(id="R-2", text="Find similar customers for recommendations."),
                Requirement(id="R-3", text="Find the cohesive core of customers."),
                Requirement(id="R-4", text="Measure the exposure of customers within two hops."),
                Requirement(id="R-5", text="Detect short rings among customers."),
            ]
        )
        schema = shop_schema()
        use_cases = derive_use_cases(requirements, schema, builtin_verticals()["ecommerce"])
        asked = {case.requirement_ids[0]: (case.algorithm, case.focus_collections) for case in use_cases}
        assert asked == {
            "US-1": ("co_occurrence", ["categories", "customers"]),
            "R-2": ("similarity", ["customers"]),
            "R-3": ("k_core", ["customers"]),
            "R-4": ("k_hop", ["customers"]),
            "R-5": ("cycles", ["customers"]),
        }
        templates = {t.algorithm: t for t in build_templates(use_cases, schema, 6, requirements).templates}
        story = templates["co_occurrence"]
        assert (story.focus_collections, story.params["members"]) == (["categories"], "customers")
        assert "members=customers" in story.rationale
        assert templates["similarity"].focus_collections == ["customers"]
        # Cohesion reads the core collections the question names: the customers and the follows among them.
        assert (templates["k_core"].vertex_collections, templates["k_core"].edge_collections) == (
            ["customers"],
            ["follows"],
        )
        # Cycles read only what can close a directed cycle: customers following customers.
        assert templates["cycles"].edge_collections == ["follows"]

    def test_co_occurrence_without_a_counted_collection_is_rejected_with_its_reason(self) -> None:
        case = UseCase(
            id="UC-1",
            title="t",
            description="d",
            algorithm="co_occurrence",
            reason="r",
            focus_collections=["categories"],
        )
        result = build_templates([case], shop_schema(), 5)
        assert result.templates == []
        assert result.rejected == [
            "UC-1 (t): co-occurrence needs two collections, the one compared and the one whose shared members are "
            "counted (e.g. categories sharing customers); the question names categories"
        ]


@pytest.fixture(scope="module", name="shop")
def _shop(tmp_path_factory: pytest.TempPathFactory) -> EmbeddedStore:
    store = EmbeddedStore(tmp_path_factory.mktemp("home"))
    ensure_sample_graph(store, "ecommerce")
    return store


def report_of(store: EmbeddedStore, algorithm: str, focus: list[str], constraints=(), tamper=None):
    """Run one template on the sample graph and verify its report against the store, as the agents do."""
    from gaai.agents.schema.analysis import analyze_schema

    case = UseCase(id="UC-1", title="t", description="d", algorithm=algorithm, reason="r", focus_collections=focus)
    [template] = build_templates([case], analyze_schema(store, "ecommerce"), 1).templates
    execution = execute_template(store, "ecommerce", template, f"exec-{algorithm}")
    if tamper is not None:
        execution = tamper(execution)
    vertical = builtin_verticals()["ecommerce"]
    draft = draft_report(template, case, execution, vertical, [], list(constraints), [])
    namer = Namer.of(constraints, template.vertex_collections)
    stored = load_stored(
        store, execution, _named_ids(draft), sorted(namer.hidden), False, template, _named_pairs(draft)
    )
    evidence = Evidence.from_table(
        execution, stored.table, lambda vertex_id: _shown_name(stored.labels, namer, vertex_id), stored.overlaps
    )
    return execution, publish(draft, evidence)


class TestReports:
    def test_categories_sharing_customers_are_reported_with_verified_pairs(self, shop: EmbeddedStore) -> None:
        execution, report = report_of(shop, "co_occurrence", ["categories", "customers"])
        best = execution.top_pairs[0]
        assert report.title == "The categories sharing the most customers"
        assert report.claims_rejected == []
        [pairs] = [i for i in report.insights if i.title == "The categories sharing the most customers"]
        assert pairs.text.startswith(
            f"{best.first_label} and {best.second_label} share {best.shared:,} customers (Jaccard {best.score:.3f}"
        )
        shared = [p.shared for p in execution.top_pairs]
        assert shared == sorted(shared, reverse=True) and len(shared) == 10

    def test_a_pair_count_the_graph_does_not_support_is_withheld(self, shop: EmbeddedStore) -> None:
        def inflate(execution):
            first = msgspec.structs.replace(execution.top_pairs[0], shared=execution.top_pairs[0].shared + 1)
            return msgspec.structs.replace(execution, top_pairs=[first, *execution.top_pairs[1:]])

        execution, report = report_of(shop, "co_occurrence", ["categories", "customers"], tamper=inflate)
        reasons = [r.reason for r in report.claims_rejected]
        true_count = execution.top_pairs[0].shared - 1
        assert any(f"share {true_count} of" in reason and f"not {true_count + 1}" in reason for reason in reasons)
        assert report.title == "Co-occurrence on ecommerce"

    def test_similar_customers_are_pseudonymous_under_no_names(self, shop: EmbeddedStore) -> None:
        hide = OutputConstraint(id="OC-1", kind="no_names", text="no customer names", collections=["customers"])
        execution, report = report_of(shop, "similarity", ["customers"], constraints=[hide])
        assert report.claims_rejected == []
        text = " ".join([report.title, report.summary, *(i.text for i in report.insights)])
        for pair in execution.top_pairs[:5]:
            assert pair.first_label not in text and pair.second_label not in text
        assert "customer #" in text
