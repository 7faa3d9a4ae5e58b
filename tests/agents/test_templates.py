"""The template agent's choice of collections, parameters and validation."""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest

from gaai.agents.lib.algorithms import ALGORITHMS, resolve_params
from gaai.agents.lib.documents import MARKDOWN, parse_document
from gaai.agents.requirements.parser import extract_requirements
from gaai.agents.schema.analysis import analyze_schema
from gaai.agents.templates.build import BETWEENNESS_MIN_SAMPLES, BETWEENNESS_VISIT_BUDGET, build_templates
from gaai.agents.use_cases.mapping import derive_use_cases, unanswered_questions
from gaai.agents.vertical.choice import builtin_verticals
from gaai.bus.domain import (
    CollectionInfo,
    EdgeDefinition,
    GraphSchema,
    Requirement,
    RequirementsDoc,
    UnansweredQuestion,
    UseCase,
    VerticalProfile,
)
from gaai.store import EmbeddedStore
from gaai.store.sample import ensure_sample_graph

ALL_VERTICES = ["customers", "products", "categories"]
ALL_EDGES = ["purchased", "viewed", "follows", "reviewed", "belongs_to"]
CORE_EDGES = ["purchased", "viewed", "follows", "reviewed"]


def shop_schema(
    customers: int = 3_000, products: int = 1_500, edge_scale: int = 1, *, follows: bool = True
) -> GraphSchema:
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
        edge_collections=[
            CollectionInfo(name=name, kind="edge", count=count, role="edge") for name, _, _, count in edges
        ],
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
        id=ident,
        title=title or f"{algorithm} for {ident}",
        description=f"{algorithm} analysis.",
        algorithm=algorithm,
        reason="asked",
        focus_collections=focus or [],
    )


def only(use_cases: list[UseCase], schema: GraphSchema | None = None):
    result = build_templates(use_cases, schema or shop_schema(), max_templates=10)
    templates, rejected = result.templates, result.rejected
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
    assert (
        "Only follows can close a directed cycle; purchased, viewed, reviewed lead nowhere back" in template.rationale
    )


def test_scc_is_rejected_when_no_cycle_is_possible() -> None:
    result = build_templates([use_case("UC-001", "scc")], shop_schema(follows=False), max_templates=5)
    templates, rejected = result.templates, result.rejected

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
    use_cases = [
        use_case("UC-001", "pagerank", ["suppliers"]),
        use_case("UC-002", "triangle_count"),
        use_case("UC-003", "wcc"),
    ]

    result = build_templates(use_cases, shop_schema(), max_templates=5)
    templates, rejected = result.templates, result.rejected

    assert [template.use_case_id for template in templates] == ["UC-003"]
    assert rejected[0].startswith("UC-001 (pagerank for UC-001): collection(s) suppliers not in graph 'shop'")
    assert rejected[1].startswith("UC-002 (triangle_count for UC-002): unknown algorithm 'triangle_count'")


def test_collections_without_vertices_are_rejected() -> None:
    result = build_templates([use_case("UC-001", "louvain")], shop_schema(customers=0, products=0), max_templates=5)
    templates, rejected = result.templates, result.rejected

    assert templates == []
    assert rejected == ["UC-001 (louvain for UC-001): vertex collection(s) customers, products hold no vertices"]


def test_duplicates_merge_and_do_not_use_up_the_limit() -> None:
    # Both PageRank use cases read the whole graph whatever they focus on.
    use_cases = [
        use_case("UC-001", "pagerank", ["customers"], "Influential customers"),
        use_case("UC-002", "pagerank", ["products"], "Popular products"),
        use_case("UC-003", "wcc"),
    ]

    result = build_templates(use_cases, shop_schema(), max_templates=2)
    templates, rejected = result.templates, result.rejected

    assert rejected == []
    assert [(template.id, template.use_case_id) for template in templates] == [
        ("TPL-001", "UC-001"),
        ("TPL-002", "UC-003"),
    ]
    assert "Also serves UC-002 (Popular products)" in templates[0].rationale


def test_use_cases_over_the_limit_are_rejected_in_order() -> None:
    use_cases = [
        use_case("UC-001", "pagerank"),
        use_case("UC-002", "louvain"),
        use_case("UC-003", "scc"),
        use_case("UC-004", "wcc"),
    ]

    result = build_templates(use_cases, shop_schema(), max_templates=2)
    templates, rejected = result.templates, result.rejected

    assert [template.use_case_id for template in templates] == ["UC-001", "UC-002"]
    assert [line.split(" ")[0] for line in rejected] == ["UC-003", "UC-004"]
    assert all("over max_executions" in line for line in rejected)


def test_template_fields_follow_the_use_case_and_the_catalog() -> None:
    # Co-occurrence needs the collections it compares and counts (tests/agents/test_algorithm_catalog.py).
    use_cases = [use_case("UC-001", algorithm) for algorithm in ALGORITHMS if algorithm != "co_occurrence"]

    result = build_templates(use_cases, shop_schema(), max_templates=len(use_cases))
    templates, rejected = result.templates, result.rejected

    assert rejected == []
    assert [template.id for template in templates] == [f"TPL-{n:03d}" for n in range(1, len(use_cases) + 1)]
    for template, case in zip(templates, use_cases, strict=True):
        spec = ALGORITHMS[case.algorithm]
        assert (template.algorithm, template.title, template.use_case_id) == (case.algorithm, case.title, case.id)
        assert (template.directed, template.result_field) == (spec.directed, spec.result_field)
        # The execution agent validates with the same function; a template must pass it unchanged.
        assert resolve_params(template.algorithm, dict(template.params)) == template.params
    assert build_templates(use_cases, shop_schema(), max_templates=len(use_cases)) == result


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
    result = build_templates(use_cases, shop_schema(), max_templates=5)
    templates, rejected = result.templates, result.rejected

    assert rejected == []
    assert [(template.algorithm, template.vertex_collections, template.edge_collections) for template in templates] == [
        ("scc", ["customers"], ["follows"]),
        ("pagerank", ALL_VERTICES, ALL_EDGES),
        # Nothing joins products to products, so the clusters widen to the core collections.
        ("louvain", ["customers", "products"], CORE_EDGES),
    ]


# ---------------------------------------------------------------- coverage of the requirements

BUNDLED = Path(__file__).resolve().parents[2] / "graph_analytics_ai" / "data" / "requirements_ecommerce.md"


@pytest.fixture(scope="module", name="demo")
def _demo(tmp_path_factory) -> tuple[RequirementsDoc, GraphSchema, list[UseCase], list]:
    """The bundled demo: its document, its graph's schema and the use cases the agents derive from them."""
    store = EmbeddedStore(tmp_path_factory.mktemp("home"))
    ensure_sample_graph(store, "ecommerce")
    schema = analyze_schema(store, "ecommerce")
    requirements = extract_requirements([parse_document(BUNDLED.name, MARKDOWN, BUNDLED.read_bytes())])
    vertical = builtin_verticals()["ecommerce"]
    use_cases = derive_use_cases(requirements, schema, vertical)
    return requirements, schema, use_cases, unanswered_questions(requirements, schema, vertical)


def test_demo_with_five_executions_answers_or_explains_every_requirement(demo) -> None:
    """REQ-2, 5, 7 and 8 get a report; REQ-9 is an output request; the rest are explained, none dropped."""
    requirements, schema, use_cases, unanswered = demo

    result = build_templates(use_cases, schema, 5, requirements, unanswered)

    status = {item.requirement_id: item.status for item in result.coverage}
    assert list(status) == [r.id for r in requirements.requirements] + [o.id for o in requirements.objectives]
    answered = {item.requirement_id: item.template_ids for item in result.coverage if item.status == "answered"}
    assert set(answered) == {f"REQ-{n}" for n in (1, 2, 3, 5, 6, 7, 8)} | {f"OBJ-{n}" for n in (1, 2, 3, 4)}
    by_id = {template.id: template for template in result.templates}
    assert [by_id[t].algorithm for t in answered["REQ-2"]] == ["pagerank"]
    assert [by_id[t].algorithm for t in answered["REQ-5"]] == ["wcc"]
    assert [by_id[t].algorithm for t in answered["REQ-7"]] == ["betweenness"]
    assert [by_id[t].algorithm for t in answered["REQ-8"]] == ["louvain"]
    assert status["REQ-9"] == "output_request"
    assert status["NFR-2"] == "output_request"
    assert (status["NFR-1"], status["NFR-3"]) == ("not_analytic",) * 2
    needed = {item.requirement_id: item.executions_needed for item in result.coverage if item.status == "no_slot"}
    # The user story ("which categories share the most customers") is co-occurrence, the sixth step.
    assert needed == {"REQ-001": 6, "REQ-4": 7}
    assert all(item.reason for item in result.coverage)
    # Six executions run exactly what the sixth step adds, seven the seventh.
    wider = build_templates(use_cases, schema, 6, requirements, unanswered)
    assert [t.algorithm for t in wider.templates] == [t.algorithm for t in result.templates] + ["co_occurrence"]
    [story] = [t for t in wider.templates if t.algorithm == "co_occurrence"]
    assert (story.focus_collections, story.params["members"]) == (["categories"], "customers")
    assert {item.status for item in wider.coverage if item.requirement_id == "REQ-001"} == {"answered"}
    widest = build_templates(use_cases, schema, 7, requirements, unanswered)
    assert [t.algorithm for t in widest.templates][-1] == "label_propagation"
    assert {item.status for item in widest.coverage if item.requirement_id == "REQ-4"} == {"answered"}


def test_no_algorithm_runs_twice_on_the_same_collections_and_near_duplicates_merge(demo) -> None:
    """The two Louvain use cases (customers; products, which widens to customers and products) become one template
    serving both requirements; REQ-9's export is mapped to no algorithm."""
    requirements, schema, use_cases, unanswered = demo

    result = build_templates(use_cases, schema, 5, requirements, unanswered)

    keys = [(t.algorithm, tuple(t.vertex_collections), tuple(t.edge_collections)) for t in result.templates]
    assert len(keys) == len(set(keys))
    assert len({t.algorithm for t in result.templates}) == len(result.templates)
    [louvain] = [t for t in result.templates if t.algorithm == "louvain"]
    assert {"REQ-3", "REQ-8"} <= set(louvain.requirement_ids)
    assert len(louvain.use_case_ids) == 2
    assert all("REQ-9" not in t.requirement_ids for t in result.templates)


def ask(ident: str, algorithm: str, requirements: list[str], focus: list[str] | None = None) -> UseCase:
    return msgspec.structs.replace(use_case(ident, algorithm, focus), requirement_ids=requirements)


def test_executions_needed_counts_the_greedy_steps_up_to_the_requirement() -> None:
    """Greedy weighted cover: the Louvain run answering two high requirements goes first, then the critical SCC,
    then PageRank; the betweenness run for a medium requirement is the fourth step."""
    requirements = RequirementsDoc(
        requirements=[
            Requirement(id="REQ-1", text="a", priority="high"),
            Requirement(id="REQ-2", text="b", priority="high"),
            Requirement(id="REQ-3", text="c", priority="critical"),
            Requirement(id="REQ-4", text="d", priority="high"),
            Requirement(id="REQ-5", text="e", priority="medium"),
            Requirement(id="REQ-6", text="f", priority="low"),
        ]
    )
    use_cases = [
        ask("UC-001", "scc", ["REQ-3"]),
        ask("UC-002", "pagerank", ["REQ-4"]),
        ask("UC-003", "louvain", ["REQ-1", "REQ-2"]),
        ask("UC-004", "betweenness", ["REQ-5"]),
        ask("UC-005", "wcc", ["REQ-6"]),
        ask("UC-006", "label_propagation", ["REQ-1"]),  # the question Louvain answers for REQ-1 already
    ]

    result = build_templates(use_cases, shop_schema(), 2, requirements)

    assert [t.algorithm for t in result.templates] == ["louvain", "scc"]
    coverage = {c.requirement_id: (c.status, c.template_ids, c.executions_needed) for c in result.coverage}
    assert coverage == {
        "REQ-1": ("answered", ["TPL-001"], None),
        "REQ-2": ("answered", ["TPL-001"], None),
        "REQ-3": ("answered", ["TPL-002"], None),
        "REQ-4": ("no_slot", [], 3),
        "REQ-5": ("no_slot", [], 4),
        "REQ-6": ("no_slot", [], 5),
    }
    assert [line.split(" ")[0] for line in result.rejected] == ["UC-002", "UC-004", "UC-005", "UC-006"]
    assert "answers nothing the chosen templates do not already answer" in result.rejected[-1]
    # However many slots, label propagation never runs: it adds no requirement and no new question.
    assert [t.algorithm for t in build_templates(use_cases, shop_schema(), 10, requirements).templates] == [
        "louvain",
        "scc",
        "pagerank",
        "betweenness",
        "wcc",
    ]


def test_a_second_question_of_an_answered_requirement_runs_once_every_requirement_is_answered() -> None:
    """A requirement asking two questions gets its second algorithm, but only after the unanswered ones."""
    requirements = RequirementsDoc(
        requirements=[
            Requirement(id="REQ-1", text="a", priority="high"),
            Requirement(id="REQ-2", text="b", priority="low"),
        ]
    )
    use_cases = [
        ask("UC-001", "pagerank", ["REQ-1"]),
        ask("UC-002", "louvain", ["REQ-1"]),
        ask("UC-003", "wcc", ["REQ-2"]),
    ]

    result = build_templates(use_cases, shop_schema(), 3, requirements)

    assert [t.algorithm for t in result.templates] == ["pagerank", "wcc", "louvain"]
    short = build_templates(use_cases, shop_schema(), 2, requirements)
    [req1] = [item for item in short.coverage if item.requirement_id == "REQ-1"]
    assert req1.status == "answered"
    assert "its communities question (Louvain communities) got no slot: 3 executions would run it" in req1.reason


def test_requirements_the_graph_cannot_answer_are_no_data_with_the_reason() -> None:
    """An SCC the schema cannot support (no edge closes a cycle) and an unknown collection are no_data."""
    requirements = RequirementsDoc(
        requirements=[Requirement(id="REQ-1", text="Detect loops."), Requirement(id="REQ-2", text="Rank stores.")]
    )
    question = UnansweredQuestion(
        algorithm="scc", requirement_ids=["REQ-1"], reason="no edge collection can close a cycle"
    )
    use_cases = [ask("UC-001", "pagerank", ["REQ-2"], ["stores"])]

    result = build_templates(use_cases, shop_schema(follows=False), 5, requirements, [question])

    assert [(item.status, item.reason) for item in result.coverage] == [
        ("no_data", "the graph cannot answer it: Strongly connected components: no edge collection can close a cycle"),
        (
            "no_data",
            "the graph cannot answer it: PageRank: collection(s) stores not in graph 'shop', which has vertex "
            "collections: customers, products, categories",
        ),
    ]


def test_the_demo_pagerank_focus_is_what_its_requirements_ask_about(demo) -> None:
    """REQ-1 asks about customers, REQ-2 about hub products ("that connect many customers and categories" is
    context), OBJ-1 about both: the merged PageRank template reads every collection but ranks customers and
    products, and its title says so in words."""
    requirements, schema, use_cases, unanswered = demo

    result = build_templates(use_cases, schema, 5, requirements, unanswered)

    [pagerank] = [t for t in result.templates if t.algorithm == "pagerank"]
    assert {"REQ-1", "REQ-2", "OBJ-1"} <= set(pagerank.requirement_ids)
    assert pagerank.vertex_collections == ["categories", "customers", "products"]
    assert pagerank.focus_collections == ["customers", "products"]
    assert pagerank.title == "Influential customers and hub products among customers and products"


def test_a_merged_template_widens_the_among_of_its_title_to_its_focus() -> None:
    """Two PageRank use cases, on customers and on products, merge: the title names both; a title the use-case
    agent did not narrow is kept as it is."""
    narrowed = [
        use_case("UC-1", "pagerank", ["customers"], title="Key shoppers among customers"),
        use_case("UC-2", "pagerank", ["products"], title="Key shoppers among products"),
    ]
    [template] = build_templates(narrowed, shop_schema(), 5).templates
    assert template.title == "Key shoppers among customers and products"
    assert template.focus_collections == ["customers", "products"]
    plain = [use_case("UC-1", "pagerank", ["customers"], title="Key shoppers"), narrowed[1]]
    [template] = build_templates(plain, shop_schema(), 5).templates
    assert template.title == "Key shoppers"


def test_an_output_request_the_reports_cannot_honour_says_so() -> None:
    """A CSV export is honoured by the reports; a report language other than English is listed as not honoured."""
    document = (
        "# Reporting\n\n- **REQ-1:** The system must export every ranking as CSV.\n"
        "- **REQ-2:** Reports must be written in German.\n"
    )
    requirements = extract_requirements([parse_document("brief.md", MARKDOWN, document.encode())])
    kinds = {c.source: (c.kind, c.value) for c in requirements.output_constraints}
    assert kinds == {"REQ-1": ("format", "csv"), "REQ-2": ("language", "German")}

    result = build_templates([], shop_schema(), 5, requirements)

    reasons = {item.requirement_id: (item.status, item.reason) for item in result.coverage}
    assert reasons["REQ-1"][0] == reasons["REQ-2"][0] == "output_request"
    assert reasons["REQ-1"][1].startswith("an output request, honoured by the reports as a CSV file of the results")
    assert reasons["REQ-2"][1].startswith("an output request, not honoured: it asks for reports in German")
