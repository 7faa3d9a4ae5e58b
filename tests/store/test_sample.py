"""The bundled e-commerce sample: deterministic, the promised size, and structure worth finding."""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

from gaai.store import EmbeddedStore, GraphArrays
from gaai.store.sample import ensure_sample_graph, generate_ecommerce

VERTEX_COLLECTIONS = ["customers", "products", "categories"]
EDGE_COLLECTIONS = ["purchased", "viewed", "reviewed", "follows", "belongs_to"]


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> EmbeddedStore:
    store = EmbeddedStore(tmp_path_factory.mktemp("sample") / "home")
    ensure_sample_graph(store)
    return store


def adjacency(arrays: GraphArrays) -> sp.csr_matrix:
    ones = np.ones(arrays.num_edges, dtype=np.int8)
    return sp.csr_matrix((ones, (arrays.src, arrays.dst)), shape=(arrays.num_vertices, arrays.num_vertices))


def component_sizes(arrays: GraphArrays, connection: str) -> np.ndarray:
    _, labels = connected_components(adjacency(arrays), directed=connection == "strong", connection=connection)
    return np.sort(np.bincount(labels))[::-1]


def test_same_seed_same_bytes_other_seed_other_graph(tmp_path: Path) -> None:
    """Generation is deterministic per seed, and quick."""
    started = time.perf_counter()
    first = generate_ecommerce(tmp_path / "a")
    assert time.perf_counter() - started < 2.0
    again = generate_ecommerce(tmp_path / "b")
    other = generate_ecommerce(tmp_path / "c", seed=8)
    assert [p.name for p in first] == [
        f"{c}.jsonl" for c in [*VERTEX_COLLECTIONS, "purchased", "viewed", "reviewed", "follows", "belongs_to"]
    ]
    assert all(a.read_bytes() == b.read_bytes() for a, b in zip(first, again, strict=True))
    assert first[0].read_bytes() != other[0].read_bytes()


def test_sizes_and_edge_definitions(sample: EmbeddedStore) -> None:
    """Several thousand vertices, tens of thousands of edges, each edge collection between its own pair."""
    info = sample.graph("ecommerce")
    assert list(info.vertex_collections) == VERTEX_COLLECTIONS
    assert sorted(info.edge_collections) == sorted(EDGE_COLLECTIONS)
    assert 5000 <= info.total_vertices <= 8000
    assert 30_000 <= info.total_edges <= 60_000
    pairs = {e: [(f, t) for f, t, _ in sample.edge_endpoint_counts("ecommerce", e)] for e in EDGE_COLLECTIONS}
    assert pairs == {
        "purchased": [("customers", "products")],
        "viewed": [("customers", "products")],
        "reviewed": [("customers", "products")],
        "follows": [("customers", "customers")],
        "belongs_to": [("products", "categories")],
    }


def test_documents_carry_the_promised_attributes(sample: EmbeddedStore) -> None:
    """Customers, products, categories and purchases have their documented attributes."""
    expected = {
        "customers": {"name", "email", "city", "segment", "joined", "lifetime_value"},
        "products": {"name", "price", "brand", "rating"},
        "categories": {"name"},
        "purchased": {"amount", "ts"},
        "reviewed": {"rating"},
    }
    for collection, attributes in expected.items():
        for doc in sample.sample_documents("ecommerce", collection, limit=20):
            assert attributes <= set(doc), (collection, doc)


def test_follows_has_several_components_and_cycles(sample: EmbeddedStore) -> None:
    """WCC on follows finds the closed circles; SCC finds non-trivial cycles."""
    arrays = sample.load_arrays("ecommerce", ["customers"], ["follows"])
    weak = component_sizes(arrays, "weak")
    assert weak[0] > 0.8 * arrays.num_vertices
    assert {24, 16, 10, 12} <= set(weak[1:].tolist())
    strong = component_sizes(arrays, "strong")
    assert (strong >= 3).sum() >= 5
    everything = sample.load_arrays("ecommerce", VERTEX_COLLECTIONS, EDGE_COLLECTIONS)
    assert len(component_sizes(everything, "weak")) >= 4


def test_popularity_is_heavy_tailed_and_influencers_stand_out(sample: EmbeddedStore) -> None:
    """A few products take a large share of purchases; a few customers collect most follows."""
    bought = sample.load_arrays("ecommerce", ["customers", "products"], ["purchased"])
    per_product = np.sort(np.bincount(bought.dst - bought.offsets[1], minlength=bought.offsets[2] - bought.offsets[1]))[
        ::-1
    ]
    top = per_product[: len(per_product) // 20].sum()
    assert top > 0.4 * per_product.sum()
    follows = sample.load_arrays("ecommerce", ["customers"], ["follows"])
    followers = np.bincount(follows.dst, minlength=follows.num_vertices)
    assert np.sort(followers)[-5:].min() > 20 * max(np.median(followers), 1)


def test_purchases_follow_category_communities(sample: EmbeddedStore) -> None:
    """Most of a customer's purchases fall into one category."""
    arrays = sample.load_arrays("ecommerce", ["customers", "products", "categories"], ["purchased", "belongs_to"])
    products = arrays.offsets[1]
    is_purchase = arrays.src < products
    # A product's first belongs_to edge is its primary category.
    belongs_src, belongs_dst = arrays.src[~is_purchase], arrays.dst[~is_purchase]
    first = np.unique(belongs_src, return_index=True)[1]
    category = np.full(arrays.num_vertices, -1)
    category[belongs_src[first]] = belongs_dst[first]
    buyer, bought = arrays.src[is_purchase], arrays.dst[is_purchase]
    counts = sp.coo_matrix((np.ones(buyer.size), (buyer, category[bought]))).tocsr()
    busy = np.asarray(counts.sum(axis=1)).ravel() >= 5
    share = counts.max(axis=1).toarray().ravel()[busy] / np.asarray(counts.sum(axis=1)).ravel()[busy]
    assert np.median(share) >= 0.6


def test_a_ring_of_accounts_buys_the_same_rare_products(sample: EmbeddedStore) -> None:
    """Some products are bought only by one small group, which follows itself in a cycle."""
    arrays = sample.load_arrays("ecommerce", ["customers", "products"], ["purchased"])
    buyers: dict[int, set[int]] = {}
    for customer, product in zip(arrays.src.tolist(), arrays.dst.tolist(), strict=True):
        buyers.setdefault(product, set()).add(customer)
    groups = Counter(frozenset(b) for b in buyers.values() if 5 <= len(b) <= 20)
    ring, products = groups.most_common(1)[0]
    assert products >= 3
    rare = [p for p, b in buyers.items() if b == ring]
    assert {label.split()[0] for label in arrays.labels(rare)} <= {"Prepaid", "Store"}
    follows = sample.load_arrays("ecommerce", ["customers"], ["follows"])
    _, labels = connected_components(adjacency(follows), directed=True, connection="strong")
    assert len({labels[c] for c in ring}) == 1


def test_ensure_is_idempotent(sample: EmbeddedStore) -> None:
    """Ensuring an existing sample graph returns it without importing again."""
    assert ensure_sample_graph(sample) == sample.graph("ecommerce")
