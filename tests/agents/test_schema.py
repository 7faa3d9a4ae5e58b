"""Schema analysis: collections, attributes, edge definitions and the core/satellite split."""

from __future__ import annotations

import json
from pathlib import Path

import msgspec
import pytest

from agents.schema import analyze_schema
from bus.contract import EdgeDefinition, GraphSchema
from bus.errors import TaskError
from store import EmbeddedStore
from store.sample import ensure_sample_graph


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> EmbeddedStore:
    store = EmbeddedStore(tmp_path_factory.mktemp("schema") / "home")
    ensure_sample_graph(store)
    return store


@pytest.fixture(scope="module")
def schema(store: EmbeddedStore) -> GraphSchema:
    return analyze_schema(store, "ecommerce")


def write_jsonl(path: Path, docs: list[dict]) -> Path:
    path.write_text("".join(json.dumps(doc) + "\n" for doc in docs))
    return path


def test_collections_counts_and_totals(store: EmbeddedStore, schema: GraphSchema) -> None:
    """Every collection is listed by name with its stored count; totals add up."""
    info = store.graph("ecommerce")
    assert [c.name for c in schema.vertex_collections] == ["categories", "customers", "products"]
    assert [c.name for c in schema.edge_collections] == ["belongs_to", "follows", "purchased", "reviewed", "viewed"]
    assert {c.name: c.count for c in schema.vertex_collections} == info.vertex_collections
    assert {c.name: c.count for c in schema.edge_collections} == info.edge_collections
    assert {c.kind for c in schema.edge_collections} == {"edge"} and {c.role for c in schema.edge_collections} == {"edge"}
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
        EdgeDefinition(collection="belongs_to", from_collections=["products"], to_collections=["categories"], count=counts["belongs_to"]),
        EdgeDefinition(collection="follows", from_collections=["customers"], to_collections=["customers"], count=counts["follows"]),
        EdgeDefinition(collection="purchased", from_collections=["customers"], to_collections=["products"], count=counts["purchased"]),
        EdgeDefinition(collection="reviewed", from_collections=["customers"], to_collections=["products"], count=counts["reviewed"]),
        EdgeDefinition(collection="viewed", from_collections=["customers"], to_collections=["products"], count=counts["viewed"]),
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
    docs = [{"_key": "a", "size": 1}, {"_key": "b", "size": "XL"}, {"_key": "c", "meta": {"deep": "x" * 80}}, {"_key": "d"}]
    store.import_graph("g", [write_jsonl(tmp_path / "things.jsonl", docs)])
    things = analyze_schema(store, "g").vertex_collections[0]
    size, meta = things.attributes
    assert (size.name, size.types, size.present_ratio, size.examples) == ("size", ["integer", "string"], 0.5, ["1", "XL"])
    assert meta.types == ["object"] and meta.present_ratio == 0.25
    assert len(meta.examples[0]) == 40 and meta.examples[0].endswith("…")


def test_a_small_collection_that_points_out_stays_core(tmp_path: Path) -> None:
    """Smallness alone does not make a satellite: a collection that is an edge source is core."""
    store = EmbeddedStore(tmp_path / "home")
    users = write_jsonl(tmp_path / "users.jsonl", [{"_key": f"u{i}"} for i in range(100)])
    admins = write_jsonl(tmp_path / "admins.jsonl", [{"_key": "root"}])
    countries = write_jsonl(tmp_path / "countries.jsonl", [{"_key": "pt"}, {"_key": "jp"}])
    manages = write_jsonl(tmp_path / "manages.jsonl", [{"_from": "admins/root", "_to": f"users/u{i}"} for i in range(5)])
    lives = write_jsonl(tmp_path / "lives_in.jsonl", [{"_from": f"users/u{i}", "_to": "countries/pt"} for i in range(9)])
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
