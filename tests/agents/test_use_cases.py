"""The use-case agent's mapping from requirements to graph-analytics use cases."""

from __future__ import annotations

import pytest

from gaai.agents.use_cases.mapping import derive_use_cases, unanswered_questions
from gaai.bus.domain import (
    AlgorithmPattern,
    CollectionInfo,
    EdgeDefinition,
    GraphSchema,
    Objective,
    Requirement,
    RequirementsDoc,
    VerticalProfile,
)


def shop_schema(*, follows: bool = True) -> GraphSchema:
    """An e-commerce graph: customers and products (core), categories (satellite)."""
    edges = [("purchased", "customers", "products", 12_000), ("viewed", "customers", "products", 30_000)]
    if follows:
        edges.append(("follows", "customers", "customers", 8_000))
    edges += [("reviewed", "customers", "products", 4_000), ("belongs_to", "products", "categories", 1_500)]
    return GraphSchema(
        graph_name="shop",
        vertex_collections=[
            CollectionInfo(name="customers", kind="vertex", count=3_000, role="core"),
            CollectionInfo(name="products", kind="vertex", count=1_500, role="core"),
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
        total_vertices=4_530,
        total_edges=sum(count for *_, count in edges),
    )


def retail(patterns: dict[str, AlgorithmPattern] | None = None, **extra) -> VerticalProfile:
    return VerticalProfile(
        name="retail",
        display_name="Retail",
        description="Online retail.",
        source="builtin",
        patterns=patterns or {},
        **extra,
    )


def doc(*requirements: Requirement, objectives: list[Objective] | None = None) -> RequirementsDoc:
    return RequirementsDoc(requirements=list(requirements), objectives=objectives or [])


def req(ident: str, text: str, priority: str = "medium", kind: str = "functional") -> Requirement:
    return Requirement(id=ident, text=text, priority=priority, kind=kind)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Identify the most influential customers.", {"pagerank"}),
        ("Show the top products by popularity.", {"pagerank"}),
        ("Segment customers into cohorts with similar taste.", {"louvain"}),
        ("Group customers into segments in real time for millions of shoppers.", {"louvain", "label_propagation"}),
        ("Find isolated products and orphaned catalogue fragments.", {"wcc"}),
        ("Detect circular purchase loops and reciprocal reviews.", {"scc"}),
        ("Which customers are strongly connected to each other?", {"scc"}),
        ("Find customers who act as brokers or bottlenecks.", {"betweenness"}),
        ("Find products that bridge between communities of shoppers.", {"betweenness"}),
    ],
)
def test_each_signal_maps_to_its_algorithm(text: str, expected: set[str]) -> None:
    use_cases = derive_use_cases(doc(req("REQ-1", text)), shop_schema(), retail())

    assert {use_case.algorithm for use_case in use_cases} == expected
    assert all(use_case.requirement_ids == ["REQ-1"] for use_case in use_cases)


def test_requirements_for_the_same_question_merge_and_take_the_highest_priority() -> None:
    requirements = doc(
        req("REQ-1", "Identify the most influential customers.", "high"),
        req("REQ-2", "Segment customers by taste.", "low"),
        req("REQ-3", "Rank customers by their reach.", "critical"),
    )

    use_cases = derive_use_cases(requirements, shop_schema(), retail())

    pagerank = [use_case for use_case in use_cases if use_case.algorithm == "pagerank"]
    assert len(pagerank) == 1
    assert pagerank[0].requirement_ids == ["REQ-1", "REQ-3"]
    assert pagerank[0].priority == "critical"
    assert "REQ-1" in pagerank[0].reason and "REQ-3" in pagerank[0].reason


def test_same_algorithm_on_different_collections_stays_separate() -> None:
    requirements = doc(
        req("REQ-1", "Identify the most influential customers."), req("REQ-2", "Which products are most popular?")
    )

    use_cases = derive_use_cases(requirements, shop_schema(), retail())

    assert [(use_case.algorithm, use_case.focus_collections) for use_case in use_cases] == [
        ("pagerank", ["customers"]),
        ("pagerank", ["products"]),
    ]
    assert len({use_case.title for use_case in use_cases}) == 2


def test_reason_quotes_the_requirement_and_the_matched_words() -> None:
    use_cases = derive_use_cases(doc(req("REQ-3", "Identify the most influential customers")), shop_schema(), retail())

    assert use_cases[0].reason.startswith(
        'REQ-3 says "Identify the most influential customers" (matched "influential"); PageRank ranks customers'
    )


def test_a_long_requirement_is_quoted_by_the_sentence_that_matched() -> None:
    text = (
        "The marketing team runs quarterly campaigns across every region and channel and needs consistent reporting. "
        "It must find the customers whose opinions are most influential. "
        "All reports are exported to the data warehouse each night for the finance department."
    )

    reason = derive_use_cases(doc(req("REQ-1", text)), shop_schema(), retail())[0].reason

    assert '"It must find the customers whose opinions are most influential"' in reason
    assert "quarterly" not in reason and "warehouse" not in reason


def test_use_case_speaks_the_vertical_and_names_its_collections() -> None:
    vertical = retail(
        {
            "pagerank": AlgorithmPattern(
                title="Trend-setting shoppers",
                meaning="Shoppers whose purchases others copy",
                recommendation="Seed launches with them",
            )
        }
    )

    use_case = derive_use_cases(doc(req("REQ-1", "Find influential customers.")), shop_schema(), vertical)[0]

    assert use_case.title == "Trend-setting shoppers"
    assert "Shoppers whose purchases others copy." in use_case.description
    assert use_case.focus_collections == ["customers"] and "customers" in use_case.description


def test_collections_are_recognised_in_singular_and_default_to_the_core() -> None:
    requirements = doc(
        req("REQ-1", "Which product category is the most popular?"), req("REQ-2", "Find isolated islands in the graph.")
    )

    by_algorithm = {
        use_case.algorithm: use_case for use_case in derive_use_cases(requirements, shop_schema(), retail())
    }

    assert by_algorithm["pagerank"].focus_collections == ["products", "categories"]
    assert by_algorithm["wcc"].focus_collections == ["customers", "products"]
    assert "No linked requirement names a collection" in by_algorithm["wcc"].description


def test_vertical_terms_tied_to_one_pattern_are_signals() -> None:
    fraud = VerticalProfile(
        name="fraud",
        display_name="Fraud Intelligence",
        description="Fraud detection.",
        source="builtin",
        key_entities=["Customer"],
        keywords=["mule", "fraud", "customer"],
        patterns={
            "betweenness": AlgorithmPattern(
                title="Money mules", meaning="Customers relaying fraud proceeds as mules", recommendation="Freeze"
            ),
            "pagerank": AlgorithmPattern(
                title="Fraud hubs", meaning="Customers at the centre of fraud", recommendation="Review"
            ),
        },
    )

    mules = derive_use_cases(doc(req("REQ-1", "Flag mule customers before payout.", "high")), shop_schema(), fraud)
    # "fraud" sits in two patterns and "customer" is an entity: neither says which question to ask.
    vague = derive_use_cases(doc(req("REQ-1", "Report fraud per customer.")), shop_schema(), fraud)

    assert [use_case.algorithm for use_case in mules] == ["betweenness"]
    assert mules[0].requirement_ids == ["REQ-1"]
    assert 'the Fraud Intelligence vertical ties to its Betweenness centrality pattern "Money mules"' in mules[0].reason
    assert all(use_case.requirement_ids == [] for use_case in vague)


def test_non_functional_requirements_are_not_graph_questions() -> None:
    requirements = doc(
        req("NFR-1", "API keys must rotate and the top response time is 2 s.", "critical", "non_functional")
    )

    use_cases = derive_use_cases(requirements, shop_schema(), retail())

    assert all(use_case.requirement_ids == [] for use_case in use_cases)


def test_objectives_map_too_without_raising_priority() -> None:
    requirements = doc(
        req("REQ-1", "Find customers who bridge communities.", "low"),
        objectives=[Objective(id="OBJ-1", text="Understand which customers broker between groups.")],
    )

    use_cases = derive_use_cases(requirements, shop_schema(), retail())

    assert [(use_case.algorithm, use_case.requirement_ids, use_case.priority) for use_case in use_cases] == [
        ("betweenness", ["REQ-1", "OBJ-1"], "low")
    ]


def test_fallback_when_nothing_maps_says_it_is_a_default() -> None:
    requirements = doc(req("REQ-1", "Export monthly sales to the warehouse."), req("REQ-2", "Support single sign-on."))

    use_cases = derive_use_cases(requirements, shop_schema(), retail())

    assert [use_case.algorithm for use_case in use_cases] == ["pagerank", "louvain", "wcc"]
    assert [use_case.id for use_case in use_cases] == ["UC-001", "UC-002", "UC-003"]
    for use_case in use_cases:
        assert use_case.requirement_ids == []
        assert use_case.reason.startswith("No requirement named a graph question: none of REQ-1, REQ-2")
        assert "Retail vertical's default analysis, not a requested one" in use_case.reason
        assert use_case.focus_collections == ["customers", "products"]


def test_fallback_follows_the_verticals_patterns() -> None:
    vertical = retail(
        {"louvain": AlgorithmPattern(title="Shopper tribes", meaning="Shoppers who buy alike", recommendation="Target")}
    )

    use_cases = derive_use_cases(doc(), shop_schema(), vertical)

    assert [(use_case.algorithm, use_case.title) for use_case in use_cases] == [("louvain", "Shopper tribes")]
    assert "the requirements document lists none" in use_cases[0].reason


def test_questions_the_schema_cannot_answer_are_omitted() -> None:
    requirements = doc(
        req("REQ-1", "Detect fraud rings among customers.", "critical"), req("REQ-2", "Find influential customers.")
    )
    only_rings = doc(req("REQ-1", "Detect fraud rings among customers.", "critical"))

    # Without follows no edge leads back to customers, so no cycle can exist.
    use_cases = derive_use_cases(requirements, shop_schema(follows=False), retail())
    fallback = derive_use_cases(only_rings, shop_schema(follows=False), retail())

    assert [use_case.algorithm for use_case in use_cases] == ["pagerank"]
    assert [use_case.algorithm for use_case in fallback] == ["pagerank", "louvain", "wcc"]
    assert "Strongly connected components for REQ-1 cannot run" in fallback[0].reason
    assert "can close a directed cycle" in fallback[0].reason


def test_questions_the_schema_cannot_answer_are_listed_with_who_asked_and_why() -> None:
    requirements = doc(
        req("REQ-1", "Detect fraud rings among customers."),
        req("REQ-2", "Find influential customers."),
        req("REQ-3", "Flag reciprocal reviews."),
    )

    [question] = unanswered_questions(requirements, shop_schema(follows=False), retail())

    assert question.algorithm == "scc" and question.requirement_ids == ["REQ-1", "REQ-3"]
    assert "can close a directed cycle" in question.reason
    assert unanswered_questions(requirements, shop_schema(follows=True), retail()) == []


def test_a_graph_without_edges_gets_no_use_cases() -> None:
    empty = GraphSchema(
        graph_name="shop",
        vertex_collections=[CollectionInfo(name="customers", kind="vertex", count=10)],
        edge_collections=[],
        edge_definitions=[],
        core_collections=["customers"],
        satellite_collections=[],
        total_vertices=10,
        total_edges=0,
    )

    assert derive_use_cases(doc(req("REQ-1", "Find influential customers.")), empty, retail()) == []


def test_order_is_priority_then_requirement_order_and_the_cap_keeps_the_first() -> None:
    requirements = doc(
        req("REQ-1", "Find isolated products.", "low"),
        req("REQ-2", "Segment customers into cohorts.", "high"),
        req("REQ-3", "Find customers who act as brokers.", "critical"),
        req("REQ-4", "Detect reciprocal review loops between customers.", "high"),
        req("REQ-5", "Identify influential customers.", "medium"),
    )

    full = derive_use_cases(requirements, shop_schema(), retail())
    capped = derive_use_cases(requirements, shop_schema(), retail(), max_use_cases=2)

    assert [(use_case.id, use_case.algorithm) for use_case in full] == [
        ("UC-001", "betweenness"),
        ("UC-002", "louvain"),
        ("UC-003", "scc"),
        ("UC-004", "pagerank"),
        ("UC-005", "wcc"),
    ]
    assert capped == full[:2]
    assert derive_use_cases(requirements, shop_schema(), retail()) == full


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # A weak word gives way to another algorithm's strong one in the same requirement.
        ("Find fragmented or isolated customer groups not connected to the main network.", {"wcc"}),
        ("Detect groups of accounts that follow each other in closed loops.", {"scc"}),
        ("Find the top communities of customers.", {"louvain"}),
        ("Rank customers by their eigenvector centrality.", {"eigenvector"}),
        ("Rank the products by how many triangles they close.", {"triangles"}),
        # Alone, a weak word still asks its question.
        ("Group customers by what they buy.", {"louvain"}),
        ("Rank our customers.", {"pagerank"}),
        # An algorithm named asks its question with itself only; other questions stay.
        ("Offer a fast community detection run (label propagation) refreshed weekly.", {"label_propagation"}),
        ("Rank customers with PageRank and show their communities.", {"pagerank", "louvain"}),
        # An export of other analyses' results asks for no analysis; one that names a question still does.
        ("The system could export every ranking and segment as CSV for the campaign tools.", set()),
        ("Export the most influential customers as CSV.", {"pagerank"}),
    ],
)
def test_a_requirement_asks_only_the_questions_it_means(text: str, expected: set[str]) -> None:
    requirements = doc(req("REQ-1", text), req("REQ-2", "Find brokers among customers."))
    use_cases = derive_use_cases(requirements, shop_schema(), retail())

    assert {u.algorithm for u in use_cases if "REQ-1" in u.requirement_ids} == expected


@pytest.mark.parametrize(
    ("text", "focus"),
    [
        # What a relative clause names is context: the requirement asks about its subject.
        ("Identify hub products that connect many customers and categories.", ["products"]),
        ("Rank the customers who buy the most popular products.", ["customers"]),
        ("Find the key customers and products, which drive most sales in each category.", ["customers", "products"]),
        # Nothing named before the clause: every collection named counts.
        ("Flag suspicious clusters of accounts that buy the same products.", ["products"]),
        ("Find influential customers and their products.", ["customers", "products"]),
    ],
)
def test_a_use_case_is_about_the_collections_its_requirement_asks_about(text, focus) -> None:
    [use_case] = derive_use_cases(doc(req("REQ-1", text)), shop_schema(), retail())
    assert use_case.focus_collections == focus


def test_two_use_cases_of_one_algorithm_are_told_apart_by_their_collections_in_words() -> None:
    """The pattern's title, then "among" and the collections: no bracketed suffix."""
    pattern = AlgorithmPattern(title="Influential customers and hub products", meaning="m", recommendation="r")
    vertical = retail({"pagerank": pattern})
    requirements = doc(req("REQ-1", "Rank customers by influence."), req("REQ-2", "Identify hub products."))
    titles = [u.title for u in derive_use_cases(requirements, shop_schema(), vertical)]
    assert titles == [
        "Influential customers and hub products among customers",
        "Influential customers and hub products among products",
    ]
    assert not any("(" in title for title in titles)
