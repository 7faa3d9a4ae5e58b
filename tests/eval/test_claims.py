"""The suite's independent claim check against results stored in a real embedded store."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from gaai.agents.reporting.privacy import pseudonym
from gaai.eval.claims import ResultView, Subgraph, check_report
from gaai.eval.metrics import modularity
from gaai.eval.scoring import labels_of
from gaai.store import EmbeddedStore

CUSTOMERS = [("c1", "Sofia Brown"), ("c2", "Liam Chen"), ("c3", "Ava Patel")]
PRODUCTS = [("p1", "Trail Tent"), ("p2", "Camp Stove")]
PURCHASES = [("c1", "p1"), ("c2", "p1"), ("c1", "c2"), ("c3", "p2")]
# Stored order: customers c1 c2 c3, then products p1 p2. The products lead overall.
RANKS = [0.20, 0.15, 0.10, 0.30, 0.25]
COMMUNITIES = [0, 0, 1, 0, 1]


def _id(key: str) -> str:
    return f"{'customers' if key.startswith('c') else 'products'}/{key}"


@pytest.fixture
def stored(tmp_path: Path) -> tuple[EmbeddedStore, dict[str, str]]:
    files = tmp_path / "files"
    files.mkdir()
    (files / "customers.jsonl").write_text("".join(json.dumps({"_key": k, "name": n}) + "\n" for k, n in CUSTOMERS))
    (files / "products.jsonl").write_text("".join(json.dumps({"_key": k, "title": n}) + "\n" for k, n in PRODUCTS))
    edges = [{"_from": _id(a), "_to": _id(b)} for a, b in PURCHASES]
    (files / "bought.jsonl").write_text("".join(json.dumps(e) + "\n" for e in edges))
    store = EmbeddedStore(tmp_path / "home")
    store.import_graph("shop", [files])
    arrays = store.load_arrays("shop", ["customers", "products"], ["bought"])
    refs = {
        "rank": store.write_vertex_results("shop", "run-rank", arrays, "rank", np.array(RANKS)),
        "community": store.write_vertex_results("shop", "run-groups", arrays, "community", np.array(COMMUNITIES)),
    }
    return store, refs


def _view(store: EmbeddedStore, ref: str, field: str) -> ResultView:
    return ResultView.of(store.read_vertex_results(ref), field, labels_of(store, "shop"))


def _ranking_report(summary: str, top: list[tuple[str, float, str]], focus: list[str]) -> dict:
    values = np.array(RANKS)
    return {
        "report": {"title": "Influential customers", "summary": summary, "insights": [], "recommendations": []},
        "execution": {
            "top": [{"id": i, "value": v, "label": label} for i, v, label in top],
            "distribution": {
                "count": 5,
                "max": 0.30,
                "mean": float(values.mean()),
                "top_1pct_share": 0.30 / float(values.sum()),
            },
            "by_collection": {"customers": len(top)} if top else {},
            "groups": None,
        },
        "template": {"focus_collections": focus},
    }


CUSTOMER_TOP = [
    ("customers/c1", 0.20, "Sofia Brown"),
    ("customers/c2", 0.15, "Liam Chen"),
    ("customers/c3", 0.10, "Ava Patel"),
]


def test_a_true_scoped_report_passes_every_check(stored):
    store, refs = stored
    body = _ranking_report(
        "Sofia Brown ranks first among customers with 0.2. Next come Liam Chen (0.15) and Ava Patel (0.1).",
        CUSTOMER_TOP,
        ["customers"],
    )
    check = check_report(body, _view(store, refs["rank"], "rank"), None)
    assert check.false == []
    assert check.unresolved == []
    # 3 values, 3 labels, 3 in scope, order, by collection, 4 distribution figures, 1 sentence, 2 pairs
    # (every customer is listed, so no left-out vertex is compared).
    assert check.checked == 18


def test_each_collection_list_is_checked_within_its_collection(stored):
    """Per-collection lists: true ones pass; a customer in the products' list, or a list that leaves out a
    higher-ranked product, is false."""
    store, refs = stored
    view = _view(store, refs["rank"], "rank")
    body = _ranking_report("Trail Tent ranks first among products with 0.3.", CUSTOMER_TOP, ["customers"])
    products = [{"id": "products/p1", "value": 0.30, "label": "Trail Tent"}, {"id": "products/p2", "value": 0.25}]
    customers = [{"id": i, "value": v, "label": label} for i, v, label in CUSTOMER_TOP]
    body["execution"]["top_by_collection"] = {"customers": customers, "products": products}
    assert check_report(body, view, None).false == []

    body["execution"]["top_by_collection"] = {"products": [products[1], customers[0] | {"label": ""}]}
    false = check_report(body, view, None).false
    assert any("top #2 customers/c1 is among products — it is in customers" in f for f in false)
    assert any("the top 2 are the highest among products" in f and "products/p1" in f for f in false)


def test_first_without_its_scope_is_false_when_another_collection_ranks_higher(stored):
    store, refs = stored
    body = _ranking_report("Sofia Brown ranks first with 0.2.", CUSTOMER_TOP, ["customers"])
    check = check_report(body, _view(store, refs["rank"], "rank"), None)
    assert check.false == ["Sofia Brown ranks first — the highest overall is 0.3"]


def test_wrong_values_labels_and_a_missing_leader_are_false(stored):
    store, refs = stored
    top = [("customers/c2", 0.15, "Liam Chen"), ("customers/c3", 0.12, "Sofia Brown")]
    summary = "Liam Chen has the highest PageRank among customers. Ava Patel (0.2) trails."
    body = _ranking_report(summary, top, ["customers"])
    check = check_report(body, _view(store, refs["rank"], "rank"), None)
    assert sorted(check.false) == sorted(
        [
            "top #2 customers/c3 = 0.12 — stored 0.1",
            "top #2 customers/c3 is labelled 'Sofia Brown' — its label is 'Ava Patel'",
            "the top 2 are the highest among customers — customers/c1 (0.2) is left out but ranks above 0.12",
            "Liam Chen has the highest PageRank among customers — the highest among customers is 0.2",
            "Ava Patel (0.2) — stored 0.1",
        ]
    )


def test_a_subject_that_names_nothing_is_unresolved_not_false(stored):
    store, refs = stored
    body = _ranking_report("The favourite ranks first among shoppers.", [], [])
    check = check_report(body, _view(store, refs["rank"], "rank"), None)
    assert check.false == []
    assert check.unresolved == ["The favourite ranks first among shoppers"]


def _groups_report(top: list[tuple[str, float, str]], count: int, largest: int, stated_modularity: float) -> dict:
    return {
        "report": {"title": "Segments", "summary": "", "insights": [], "recommendations": []},
        "execution": {
            "top": [{"id": i, "value": v, "label": label} for i, v, label in top],
            "groups": {"count": count, "largest": largest, "singletons": 0, "modularity": stated_modularity},
            "by_collection": {"customers": 2, "products": 1},
        },
        "template": {"focus_collections": []},
    }


def _modularity_of(groups: dict[str, int]) -> float:
    return modularity(((_id(a), _id(b), 1.0) for a, b in PURCHASES), groups)


def _ties() -> dict[str, set[str]]:
    ties: dict[str, set[str]] = {}
    for a, b in PURCHASES:
        ties.setdefault(_id(a), set()).add(_id(b))
        ties.setdefault(_id(b), set()).add(_id(a))
    return ties


SUBGRAPH = Subgraph(_ties(), _modularity_of)


def test_group_claims_are_checked_against_the_stored_partition(stored):
    store, refs = stored
    view = _view(store, refs["community"], "community")
    actual = _modularity_of(dict(zip(view.ids, COMMUNITIES, strict=True)))
    good = _groups_report([("community/0", 3, "Sofia Brown"), ("community/1", 2, "Camp Stove")], 2, 3, actual)
    assert check_report(good, view, SUBGRAPH).false == []

    bad = _groups_report([("community/0", 3, "Ava Patel"), ("community/1", 1, "Camp Stove")], 3, 3, actual + 0.1)
    assert sorted(check_report(bad, view, SUBGRAPH).false) == sorted(
        [
            "group #1 community/0 is named after 'Ava Patel' — no member of it has that name",
            "group #2 community/1 has 1 members — stored 2",
            "3 groups — stored 2",
            f"modularity {actual + 0.1:.4f} — recomputed on the declared semantics: {actual:.4f}",
        ]
    )


def test_all_analysed_vertices_is_the_whole_run_and_names_match_in_any_case(stored):
    store, refs = stored
    body = _ranking_report("sofia brown ranks first among all analysed vertices.", CUSTOMER_TOP, ["customers"])
    check = check_report(body, _view(store, refs["rank"], "rank"), None)
    assert check.false == ["sofia brown ranks first among all analysed vertices — the highest overall is 0.3"]


def test_a_group_named_after_a_member_is_checked_for_its_size(stored):
    store, refs = stored
    view = _view(store, refs["community"], "community")
    actual = _modularity_of(dict(zip(view.ids, COMMUNITIES, strict=True)))
    body = _groups_report([("community/0", 3, "Sofia Brown"), ("community/1", 2, "Camp Stove")], 2, 3, actual)
    body["report"]["summary"] = (
        "Sofia Brown's community (3 vertices, 60%) leads. Ava Patel's community (3 vertices) trails."
    )
    check = check_report(body, view, SUBGRAPH)
    assert check.false == ["Ava Patel's group has 3 vertices — stored 2"]


def test_ties_inside_a_group_are_counted_on_the_graph(stored):
    store, refs = stored
    view = _view(store, refs["community"], "community")
    actual = _modularity_of(dict(zip(view.ids, COMMUNITIES, strict=True)))
    body = _groups_report([("community/0", 3, "Sofia Brown"), ("community/1", 2, "Camp Stove")], 2, 3, actual)
    # Community 0 is Sofia Brown, Liam Chen and Trail Tent: each is tied to the other two.
    body["report"]["insights"] = [
        {"title": "Members", "text": "Its most connected members are Sofia Brown (2 ties) and Trail Tent (3 ties)."},
        {"title": "Centre", "text": "Its most connected member is Liam Chen, with 2 ties inside it."},
    ]
    check = check_report(body, view, SUBGRAPH)
    assert check.false == ["Trail Tent has 3 ties inside its group — counted 2"]


def test_pseudonymised_vertices_are_checked_as_the_vertices_they_stand_for(stored):
    store, refs = stored
    c1, c2 = pseudonym("customers/c1"), pseudonym("customers/c2")
    assert c1.startswith("customer #")
    body = _ranking_report(
        f"{c1} ranks first among customers. Next comes {c2} (0.3).",
        [(c1, 0.20, c1), (c2, 0.15, c2), ("customers/c3", 0.10, "Ava Patel")],
        ["customers"],
    )
    check = check_report(body, _view(store, refs["rank"], "rank"), None)
    assert check.false == [f"{c2} (0.3) — stored 0.15"]


def test_hub_scores_are_checked_against_the_listed_hubs_not_the_stored_authorities(stored):
    store, refs = stored
    body = _ranking_report("", CUSTOMER_TOP, ["customers"])
    body["execution"]["top_hubs"] = [
        {"id": "customers/c3", "value": 0.6, "label": "Ava Patel"},
        {"id": "customers/c1", "value": 0.4, "label": "Sofia Brown"},
    ]
    true = "By hub score among customers, the vertices pointing most to the authorities are Ava Patel (0.6) and "
    body["report"]["summary"] = true + "Sofia Brown (0.4)."
    assert check_report(body, _view(store, refs["rank"], "rank"), None).false == []
    # Liam Chen is no listed hub, and Sofia Brown's 0.2 is her stored (authority) value, not her hub score.
    body["report"]["summary"] = true + "Sofia Brown (0.2) and Liam Chen (0.15)."
    false = check_report(body, _view(store, refs["rank"], "rank"), None).false
    assert false == [
        "Sofia Brown (0.2) — recorded hub score 0.4",
        "Liam Chen (0.15) — recorded hub score none (not a listed hub)",
    ]
