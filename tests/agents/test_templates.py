"""The template agent's choice of collections, parameters and validation."""

from __future__ import annotations

import pytest

from agents.algorithms import ALGORITHMS, resolve_params
from agents.templates import BETWEENNESS_MIN_SAMPLES, BETWEENNESS_VISIT_BUDGET, build_templates
from agents.use_cases import derive_use_cases
from bus.contract import (
    CollectionInfo,
    EdgeDefinition,
    GraphSchema,
    Requirement,
    RequirementsDoc,
    UseCase,
    VerticalProfile,
)

ALL_VERTICES = ["customers", "products", "categories"]
ALL_EDGES = ["purchased", "viewed", "follows", "reviewed", "belongs_to"]
CORE_EDGES = ["purchased", "viewed", "follows", "reviewed"]


def shop_schema(customers: int = 3_000, products: int = 1_500, edge_scale: int = 1, *, follows: bool = True) -> GraphSchema:
    """An e-commerce graph: customers and products (core), categories (satellite)."""
    edges = [("purchased", "customers", "products", 12_000), ("viewed", "customers", "products", 30_000)]
    if follows:
        edges.append(("follows", "customers", "customers", 8_000))
    edges += [("reviewed", "customers", "products", 4_000), ("belongs_to", "products", "categories", 1_500)]
    edges = [(name, source, target, count * edge_scale) for name, source, target, count in edges]
    return GraphSchema(
        graph_name="shop",
        vertex_collections=[
            CollectionInfo(name="customers", kind="vertex", count=customers, role="core"),
            CollectionInfo(name="products", kind="vertex", count=products, role="core"),
            CollectionInfo(name="categories", kind="vertex", count=30, role="satellite"),
        ],
        edge_collections=[CollectionInfo(name=name, kind="edge", count=count, role="edge") for name, _, _, count in edges],
        edge_definitions=[
            EdgeDefinition(collection=name, from_collections=[source], to_collections=[target], count=count)
            for name, source, target, count in edges
        ],
        core_collections=["customers", "products"],
        satellite_collections=["categories"],
        total_vertices=customers + products + 30,
        total_edges=sum(count for *_, count in edges),
    )


def use_case(ident: str, algorithm: str, focus: list[str] | None = None, title: str = "") -> UseCase:
    return UseCase(
        id=ident, title=title or f"{algorithm} for {ident}", description=f"{algorithm} analysis.", algorithm=algorithm, reason="asked", focus_collections=focus or []
    )


def only(use_cases: list[UseCase], schema: GraphSchema | None = None):
    templates, rejected = build_templates(use_cases, schema or shop_schema(), max_templates=10)
    assert rejected == []
    return templates


@pytest.mark.parametrize("algorithm", ["wcc", "louvain", "label_propagation"])
def test_community_and_connectivity_read_core_collections_only(algorithm: str) -> None:
    [template] = only([use_case("UC-001", algorithm)])

    assert template.vertex_collections == ["customers", "products"]
    assert template.edge_collections == CORE_EDGES
    assert "categories" in template.rationale and "belongs_to" in template.rationale


@pytest.mark.parametrize("algorithm", ["pagerank", "betweenness"])
def test_centrality_reads_the_whole_graph(algorithm: str) -> None:
    [template] = only([use_case("UC-001", algorithm, ["customers"])])

    assert template.vertex_collections == ALL_VERTICES
    assert template.edge_collections == ALL_EDGES


def test_scc_reads_only_edges_that_can_close_a_cycle() -> None:
    [template] = only([use_case("UC-001", "scc")])

    assert (template.vertex_collections, template.edge_collections) == (["customers"], ["follows"])
    assert "Only follows can close a directed cycle; purchased, viewed, reviewed lead nowhere back" in template.rationale


def test_scc_is_rejected_when_no_cycle_is_possible() -> None:
    templates, rejected = build_templates([use_case("UC-001", "scc")], shop_schema(follows=False), max_templates=5)

    assert templates == []
    assert rejected == [
        "UC-001 (scc for UC-001): no edge collection among customers, products can close a directed cycle, "
        "so every strongly connected component would be a single vertex"
    ]


def test_named_core_collection_narrows_the_selection() -> None:
    [template] = only([use_case("UC-001", "louvain", ["customers"])])

    assert (template.vertex_collections, template.edge_collections) == (["customers"], ["follows"])
    assert "names customers, so only the edges among them are read" in template.rationale


def test_named_collection_without_edges_among_itself_widens_to_the_core() -> None:
    [template] = only([use_case("UC-001", "wcc", ["products", "categories"])])

    assert template.vertex_collections == ["customers", "products"]
    assert template.edge_collections == CORE_EDGES
    assert "widens to all core collections" in template.rationale
    assert "names categories too, which Weakly connected components leaves out" in template.rationale


def test_unknown_collection_and_unknown_algorithm_are_rejected_not_raised() -> None:
    use_cases = [use_case("UC-001", "pagerank", ["suppliers"]), use_case("UC-002", "triangle_count"), use_case("UC-003", "wcc")]

    templates, rejected = build_templates(use_cases, shop_schema(), max_templates=5)

    assert [template.use_case_id for template in templates] == ["UC-003"]
    assert rejected[0].startswith("UC-001 (pagerank for UC-001): collection(s) suppliers not in graph 'shop'")
    assert rejected[1].startswith("UC-002 (triangle_count for UC-002): unknown algorithm 'triangle_count'")


def test_collections_without_vertices_are_rejected() -> None:
    templates, rejected = build_templates([use_case("UC-001", "louvain")], shop_schema(customers=0, products=0), max_templates=5)

    assert templates == []
    assert rejected == ["UC-001 (louvain for UC-001): vertex collection(s) customers, products hold no vertices"]


def test_duplicates_merge_and_do_not_use_up_the_limit() -> None:
    # Both PageRank use cases read the whole graph whatever they focus on.
    use_cases = [
        use_case("UC-001", "pagerank", ["customers"], "Influential customers"),
        use_case("UC-002", "pagerank", ["products"], "Popular products"),
        use_case("UC-003", "wcc"),
    ]

    templates, rejected = build_templates(use_cases, shop_schema(), max_templates=2)

    assert rejected == []
    assert [(template.id, template.use_case_id) for template in templates] == [("TPL-001", "UC-001"), ("TPL-002", "UC-003")]
    assert "Also serves UC-002 (Popular products)" in templates[0].rationale


def test_use_cases_over_the_limit_are_rejected_in_order() -> None:
    use_cases = [use_case("UC-001", "pagerank"), use_case("UC-002", "louvain"), use_case("UC-003", "scc"), use_case("UC-004", "wcc")]

    templates, rejected = build_templates(use_cases, shop_schema(), max_templates=2)

    assert [template.use_case_id for template in templates] == ["UC-001", "UC-002"]
    assert [line.split(" ")[0] for line in rejected] == ["UC-003", "UC-004"]
    assert all("over max_executions" in line for line in rejected)


def test_template_fields_follow_the_use_case_and_the_catalog() -> None:
    use_cases = [use_case("UC-001", algorithm) for algorithm in ALGORITHMS]

    templates, rejected = build_templates(use_cases, shop_schema(), max_templates=10)

    assert rejected == []
    assert [template.id for template in templates] == [f"TPL-{n:03d}" for n in range(1, len(ALGORITHMS) + 1)]
    for template, case in zip(templates, use_cases, strict=True):
        spec = ALGORITHMS[case.algorithm]
        assert (template.algorithm, template.title, template.use_case_id) == (case.algorithm, case.title, case.id)
        assert (template.directed, template.result_field) == (spec.directed, spec.result_field)
        # The execution agent validates with the same function; a template must pass it unchanged.
        assert resolve_params(template.algorithm, dict(template.params)) == template.params
    assert build_templates(use_cases, shop_schema(), max_templates=10) == (templates, rejected)


def test_pagerank_keeps_its_defaults() -> None:
    [template] = only([use_case("UC-001", "pagerank")])

    assert template.params == resolve_params("pagerank", {})
    assert "catalog defaults (damping=0.85" in template.rationale


def test_betweenness_on_a_small_graph_is_exact() -> None:
    [template] = only([use_case("UC-001", "betweenness")])

    assert template.params == resolve_params("betweenness", {})
    assert "4,530 vertices ≤ exact_limit 5,000, so betweenness is exact" in template.rationale


def test_betweenness_on_a_large_graph_samples_within_the_budget() -> None:
    schema = shop_schema(customers=600_000, products=200_000, edge_scale=50)  # 2.8M edges

    [template] = only([use_case("UC-001", "betweenness")], schema)

    visits = 800_030 + 2_775_000
    assert template.params["exact_limit"] == BETWEENNESS_VISIT_BUDGET // visits
    assert template.params["samples"] == BETWEENNESS_VISIT_BUDGET // visits
    assert BETWEENNESS_MIN_SAMPLES < template.params["samples"] < 256
    assert "sampled from 139 sources instead of 256" in template.rationale


def test_betweenness_never_samples_fewer_than_the_minimum() -> None:
    schema = shop_schema(customers=20_000_000, products=5_000_000, edge_scale=500)

    [template] = only([use_case("UC-001", "betweenness")], schema)

    assert template.params["samples"] == BETWEENNESS_MIN_SAMPLES


def test_use_cases_from_the_use_case_agent_become_templates() -> None:
    requirements = RequirementsDoc(
        requirements=[
            Requirement(id="REQ-1", text="Identify the most influential customers.", priority="high"),
            Requirement(id="REQ-2", text="Detect review rings among customers.", priority="critical"),
            Requirement(id="REQ-3", text="Segment products into clusters.", priority="medium"),
        ]
    )
    vertical = VerticalProfile(name="retail", display_name="Retail", description="Online retail.", source="builtin")

    use_cases = derive_use_cases(requirements, shop_schema(), vertical)
    templates, rejected = build_templates(use_cases, shop_schema(), max_templates=5)

    assert rejected == []
    assert [(template.algorithm, template.vertex_collections, template.edge_collections) for template in templates] == [
        ("scc", ["customers"], ["follows"]),
        ("pagerank", ALL_VERTICES, ALL_EDGES),
        # Nothing joins products to products, so the clusters widen to the core collections.
        ("louvain", ["customers", "products"], CORE_EDGES),
    ]
