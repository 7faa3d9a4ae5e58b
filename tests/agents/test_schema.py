"""Schema analysis: collections, attributes, edge definitions, the core/satellite split and edge semantics."""

from __future__ import annotations

from pathlib import Path

import msgspec
import networkx as nx
import numpy as np
import pytest

from gaai.agents.schema.analysis import analyze_schema, reciprocity
from gaai.bus.domain import EdgeDefinition, EdgeSemantics, GraphSchema
from gaai.bus.errors import TaskError
from gaai.store import EmbeddedStore
from gaai.store.sample import ensure_sample_graph
from tests.files import write_jsonl


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> EmbeddedStore:
    store = EmbeddedStore(tmp_path_factory.mktemp("schema") / "home")
    ensure_sample_graph(store)
    return store


@pytest.fixture(scope="module")
def schema(store: EmbeddedStore) -> GraphSchema:
    return analyze_schema(store, "ecommerce")


def test_collections_counts_and_totals(store: EmbeddedStore, schema: GraphSchema) -> None:
    """Every collection is listed by name with its stored count; totals add up."""
    info = store.graph("ecommerce")
    assert [c.name for c in schema.vertex_collections] == ["categories", "customers", "products"]
    assert [c.name for c in schema.edge_collections] == ["belongs_to", "follows", "purchased", "reviewed", "viewed"]
    assert {c.name: c.count for c in schema.vertex_collections} == info.vertex_collections
    assert {c.name: c.count for c in schema.edge_collections} == info.edge_collections
    assert {c.kind for c in schema.edge_collections} == {"edge"} and {c.role for c in schema.edge_collections} == {
        "edge"
    }
    assert (schema.total_vertices, schema.total_edges) == (info.total_vertices, info.total_edges)


def test_categories_are_satellite_customers_and_products_core(schema: GraphSchema) -> None:
    """The small lookup collection only pointed into is a satellite; the busy ones are core."""
    assert schema.core_collections == ["customers", "products"]
    assert schema.satellite_collections == ["categories"]
    assert {c.name: c.role for c in schema.vertex_collections} == {
        "categories": "satellite",
        "customers": "core",
        "products": "core",
    }


def test_edge_definitions_from_all_edges(store: EmbeddedStore, schema: GraphSchema) -> None:
    """Each edge collection connects the collections its edges actually join."""
    counts = store.graph("ecommerce").edge_collections
    assert schema.edge_definitions == [
        EdgeDefinition(collection="belongs_to", from_collections=["products"], to_collections=["categories"],
            count=counts["belongs_to"]),
        EdgeDefinition(collection="follows", from_collections=["customers"], to_collections=["customers"],
            count=counts["follows"]),
        EdgeDefinition(collection="purchased", from_collections=["customers"], to_collections=["products"],
            count=counts["purchased"]),
        EdgeDefinition(collection="reviewed", from_collections=["customers"], to_collections=["products"],
            count=counts["reviewed"]),
        EdgeDefinition(collection="viewed", from_collections=["customers"], to_collections=["products"],
            count=counts["viewed"]),
    ]  # fmt: skip


def test_attributes_from_sampled_documents(schema: GraphSchema) -> None:
    """Attributes have JSON types, presence and short examples; system attributes are left out."""
    customers = next(c for c in schema.vertex_collections if c.name == "customers")
    by_name = {a.name: a for a in customers.attributes}
    assert list(by_name) == ["name", "email", "city", "segment", "joined", "lifetime_value"]
    assert by_name["email"].types == ["string"] and by_name["email"].present_ratio == 1.0
    assert by_name["lifetime_value"].types == ["number"]
    assert len(by_name["segment"].examples) == 3 and all("@" in e for e in by_name["email"].examples)
    purchased = next(c for c in schema.edge_collections if c.name == "purchased")
    assert [a.name for a in purchased.attributes] == ["amount", "ts"]


def test_mixed_and_partial_attributes(tmp_path: Path) -> None:
    """Types seen are all listed; presence counts the sampled documents holding the attribute."""
    store = EmbeddedStore(tmp_path / "home")
    docs = [
        {"_key": "a", "size": 1},
        {"_key": "b", "size": "XL"},
        {"_key": "c", "meta": {"deep": "x" * 80}},
        {"_key": "d"},
    ]
    store.import_graph("g", [write_jsonl(tmp_path / "things.jsonl", docs)])
    things = analyze_schema(store, "g").vertex_collections[0]
    size, meta = things.attributes
    assert (size.name, size.types, size.present_ratio, size.examples) == (
        "size",
        ["integer", "string"],
        0.5,
        ["1", "XL"],
    )
    assert meta.types == ["object"] and meta.present_ratio == 0.25
    assert len(meta.examples[0]) == 40 and meta.examples[0].endswith("…")


def test_a_small_collection_that_points_out_stays_core(tmp_path: Path) -> None:
    """Smallness alone does not make a satellite: a collection that is an edge source is core."""
    store = EmbeddedStore(tmp_path / "home")
    users = write_jsonl(tmp_path / "users.jsonl", [{"_key": f"u{i}"} for i in range(100)])
    admins = write_jsonl(tmp_path / "admins.jsonl", [{"_key": "root"}])
    countries = write_jsonl(tmp_path / "countries.jsonl", [{"_key": "pt"}, {"_key": "jp"}])
    manages = write_jsonl(
        tmp_path / "manages.jsonl", [{"_from": "admins/root", "_to": f"users/u{i}"} for i in range(5)]
    )
    lives = write_jsonl(
        tmp_path / "lives_in.jsonl", [{"_from": f"users/u{i}", "_to": "countries/pt"} for i in range(9)]
    )
    store.import_graph("g", [users, admins, countries, manages, lives])
    schema = analyze_schema(store, "g")
    assert schema.core_collections == ["admins", "users"]
    assert schema.satellite_collections == ["countries"]


def test_hints_win_over_the_heuristic(store: EmbeddedStore) -> None:
    """Hinted collections take the hinted role; the rest keep the heuristic's."""
    schema = analyze_schema(store, "ecommerce", core_hints=["categories"], satellite_hints=["products"])
    assert schema.core_collections == ["categories", "customers"]
    assert schema.satellite_collections == ["products"]


def test_bad_hints_and_unknown_graph(store: EmbeddedStore) -> None:
    """Hints must name vertex collections, once; a missing graph is reported by name."""
    with pytest.raises(TaskError) as caught:
        analyze_schema(store, "ecommerce", core_hints=["clients", "purchased"])
    assert caught.value.code == "unknown_collection"
    assert "clients, purchased" in caught.value.message and "categories, customers, products" in caught.value.message
    with pytest.raises(TaskError) as caught:
        analyze_schema(store, "ecommerce", core_hints=["products"], satellite_hints=["products"])
    assert caught.value.code == "conflicting_hints"
    with pytest.raises(TaskError) as caught:
        analyze_schema(store, "shop")
    assert caught.value.code == "unknown_graph" and "ecommerce" in caught.value.message


def test_output_is_deterministic(store: EmbeddedStore, schema: GraphSchema) -> None:
    """Analysing the same graph twice gives byte-identical JSON."""
    assert msgspec.json.encode(analyze_schema(store, "ecommerce")) == msgspec.json.encode(schema)


# ---------------------------------------------------------------- edge semantics


def test_reciprocity_matches_networkx_over_all_edges() -> None:
    """The share of edges whose reverse exists, self-loops never returned, as networkx counts it."""
    rng = np.random.default_rng(3)
    graph = nx.gnp_random_graph(300, 0.02, seed=3, directed=True)
    graph.add_edges_from((v, u) for u, v in list(graph.edges) if rng.random() < 0.3)
    graph.add_edges_from((v, v) for v in range(0, 300, 25))
    src, dst = (np.array(side, dtype=np.int32) for side in zip(*graph.edges, strict=True))
    assert reciprocity(src, dst, 300) == pytest.approx(nx.overall_reciprocity(graph), abs=1e-12)
    assert 0.2 < reciprocity(src, dst, 300) < 0.6
    assert reciprocity(np.array([], np.int32), np.array([], np.int32), 5) is None


@pytest.fixture
def ties(tmp_path: Path) -> EmbeddedStore:
    """Forty people and three edge collections with known semantics problems.

    ``co_purchase``: one row per tie, one way, with a ``count``; ``knows``: every tie listed both
    ways, declared undirected; ``follows``: truly directed, with a time, a constant, a partial
    field and a ``rating``.
    """
    store = EmbeddedStore(tmp_path / "home")
    people = write_jsonl(tmp_path / "people.jsonl", [{"_key": f"p{i}"} for i in range(40)])
    co_purchase = write_jsonl(
        tmp_path / "co_purchase.jsonl",
        [
            {"_from": f"people/p{i}", "_to": f"people/p{j}", "count": 1 + (i * j) % 7}
            for i in range(40)
            for j in range(i + 1, min(i + 4, 40))
        ],
    )
    pairs = [(i, (i + 1) % 40) for i in range(40)]
    knows = write_jsonl(
        tmp_path / "knows.jsonl",
        [{"_from": f"people/p{a}", "_to": f"people/p{b}"} for i, j in pairs for a, b in ((i, j), (j, i))],
    )
    follows = write_jsonl(
        tmp_path / "follows.jsonl",
        [
            {"_from": f"people/p{i}", "_to": f"people/p{(i * 7 + 3) % 40}", "ts": 1700000000 + i, "one": 1,
             "rating": i % 5, **({"partial": i} if i % 2 else {})}
            for i in range(40)
        ],
    )  # fmt: skip
    undirected = [EdgeSemantics(collection="knows", directed=False)]
    store.import_graph("ties", [people, co_purchase, knows, follows], semantics=undirected)
    return store


def test_edge_semantics_reciprocity_and_weight_candidates(ties: EmbeddedStore) -> None:
    """Each edge collection carries the semantics in force, its reciprocity and its weight-like fields."""
    schema = analyze_schema(ties, "ties")
    by_name = {c.name: c for c in schema.edge_collections}
    assert {name: (c.directed, c.weight_field) for name, c in by_name.items()} == {
        "co_purchase": (True, None),
        "follows": (True, None),
        "knows": (False, None),
    }
    assert by_name["co_purchase"].reciprocity == 0.0 and by_name["knows"].reciprocity == 1.0
    follows = nx.DiGraph((i, (i * 7 + 3) % 40) for i in range(40))
    assert by_name["follows"].reciprocity == round(nx.overall_reciprocity(follows), 4)
    assert by_name["co_purchase"].weight_candidates == ["count"]
    assert by_name["follows"].weight_candidates == ["rating"]  # not the time, the constant or the partial field
    assert by_name["knows"].weight_candidates == []


def test_warnings_when_the_declared_semantics_look_wrong(ties: EmbeddedStore) -> None:
    schema = analyze_schema(ties, "ties")
    assert schema.warnings == [
        "Edge collection 'co_purchase' is read as directed, but its name suggests ties that go both ways and 0% of "
        "its edges have a reverse edge: if its ties are mutual, declare it with `--undirected co_purchase`.",
        "Edge collection 'co_purchase' has a numeric field 'count' on every edge that looks like a weight, but no "
        "weight is declared, so every edge counts 1: if it measures how strong a tie is, declare it with "
        "`--weight co_purchase=count`.",
        "Edge collection 'knows' is read as undirected and lists its ties in both directions (100% of its edges "
        "have a reverse edge): each pair counts as one tie.",
    ]


def test_a_workflow_override_replaces_the_registry_semantics(ties: EmbeddedStore) -> None:
    """Semantics given for the workflow are the ones analysed; the warnings they answer go away."""
    override = [EdgeSemantics(collection="co_purchase", directed=False, weight_field="count")]
    schema = analyze_schema(ties, "ties", edge_semantics=override)
    co_purchase = next(c for c in schema.edge_collections if c.name == "co_purchase")
    assert (co_purchase.directed, co_purchase.weight_field) == (False, "count")
    assert [w for w in schema.warnings if "co_purchase" in w] == []
    assert ties.graph("ties").semantics("co_purchase") == EdgeSemantics(collection="co_purchase")


def test_bad_overrides_fail_the_analysis(ties: EmbeddedStore) -> None:
    with pytest.raises(TaskError) as caught:
        analyze_schema(ties, "ties", edge_semantics=[EdgeSemantics(collection="people", directed=False)])
    assert caught.value.code == "unknown_collection" and "'people' is a vertex collection" in caught.value.message
    with pytest.raises(TaskError) as caught:
        analyze_schema(ties, "ties", edge_semantics=[EdgeSemantics(collection="follows", weight_field="partial")])
    assert caught.value.code == "bad_weight"
    assert "weight field 'partial' is missing on 20 of 40 edges" in caught.value.message


def test_the_demo_graph_is_read_as_directed_without_warnings(store: EmbeddedStore, schema: GraphSchema) -> None:
    """Purchases, views, follows, reviews and categories are one-way ties; nothing there looks mis-declared."""
    assert schema.warnings == []
    assert all(c.directed and c.weight_field is None for c in schema.edge_collections)
    arrays = store.load_arrays("ecommerce", ["customers"], ["follows"])
    follows = nx.DiGraph(zip(arrays.src.tolist(), arrays.dst.tolist(), strict=True))
    by_name = {c.name: c for c in schema.edge_collections}
    assert by_name["follows"].reciprocity == round(nx.overall_reciprocity(follows), 4) > 0
    assert by_name["purchased"].weight_candidates == ["amount"] and by_name["reviewed"].weight_candidates == ["rating"]
