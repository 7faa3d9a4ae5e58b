"""The generated cases hold what they claim: the right data, planted answers that networkx finds,
and files the importer reads back as the same graph with the declared semantics."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import networkx as nx
import pytest

from gaai.eval.cases import CASES, build_case, write_files
from gaai.eval.karate import FRIENDSHIPS, INSTRUCTOR_FACTION, faction_of
from gaai.eval.metrics import normalized_mutual_information, top_k, top_k_overlap
from gaai.eval.reference import Selection
from gaai.store import EmbeddedStore


def _whole(name: str) -> tuple:
    case = build_case(name)
    selection = Selection.of(case, list(case.graph.vertices), [edge.collection for edge in case.graph.edges])
    return case, selection.simple_graph()


def test_karate_data_equals_networkx():
    reference = nx.karate_club_graph()
    assert len(FRIENDSHIPS) == 78
    assert {frozenset(edge) for edge in FRIENDSHIPS} == {frozenset((u + 1, v + 1)) for u, v in reference.edges()}
    instructor = {v + 1 for v, data in reference.nodes(data=True) if data["club"] == "Mr. Hi"}
    assert set(INSTRUCTOR_FACTION) == instructor
    assert Counter(faction_of(m) for m in range(1, 35)) == {0: 17, 1: 17}


def test_every_case_is_the_same_graph_on_every_build():
    for name in CASES:
        first, second = build_case(name), build_case(name)
        assert first.graph.edges[0].rows == second.graph.edges[0].rows, name


def test_block_model_has_four_blocks_of_fifty_denser_inside():
    case, graph = _whole("block_model")
    assert sorted(Counter(case.blocks.values()).values()) == [50, 50, 50, 50]
    rows = case.graph.edges[0].rows
    assert len({frozenset((s, t)) for s, t, _ in rows}) == len(rows)  # one row per tie
    inside = sum(1 for s, t, _ in rows if case.blocks[s] == case.blocks[t])
    across = len(rows) - inside
    pairs_inside, pairs_across = 4 * 50 * 49 / 2, 6 * 50 * 50
    assert 0.15 < inside / pairs_inside < 0.25
    assert 0.005 < across / pairs_across < 0.015
    found = nx.community.louvain_communities(graph, seed=1)
    group = {v: i for i, members in enumerate(found) for v in members}
    assert normalized_mutual_information([case.blocks[v] for v in graph], [group[v] for v in graph]) >= 0.9


def test_planted_hubs_and_brokers_rank_on_top_in_networkx():
    case, graph = _whole("hubs_bridges")
    assert graph.is_directed()
    pagerank = nx.pagerank(graph)
    betweenness = nx.betweenness_centrality(graph)
    assert set(top_k(pagerank, 5)) == case.planted_top["pagerank"]
    assert set(top_k(betweenness, 4)) == case.planted_top["betweenness"]
    # The brokers are the only links between circles: without them the circles fall apart.
    rest = graph.subgraph(set(graph) - case.planted_top["betweenness"] - case.planted_top["pagerank"])
    assert nx.number_weakly_connected_components(rest) == 4


def test_reach_and_authority_plants_the_leaders_networkx_finds():
    case, graph = _whole("reach_and_authority")
    assert graph.is_directed()
    experts = case.planted_top["hits"]
    assert case.planted_top["closeness"] == case.planted_top["harmonic"] == experts
    assert set(top_k(nx.closeness_centrality(graph), 3)) == experts
    assert set(top_k(nx.harmonic_centrality(graph), 3)) == experts
    hubs, authorities = nx.hits(graph)
    assert set(top_k(authorities, 3)) == experts
    assert set(top_k(hubs, 3)) == case.planted_hubs
    # Not PageRank's question in disguise: the curators, followed by no one, have no closeness at all.
    assert all(nx.closeness_centrality(graph)[curator] == 0.0 for curator in case.planted_hubs)


def test_citations_direction_decides_who_ranks_first():
    case, graph = _whole("citations")
    assert set(top_k(nx.pagerank(graph), 5)) == case.planted_top["pagerank"]
    undirected_top = top_k(nx.pagerank(graph.to_undirected()), 3)
    assert {v.split("/")[1] for v in undirected_top} == {"p295", "p296", "p297"}  # the surveys
    cycles = [c for c in nx.strongly_connected_components(graph) if len(c) > 1]
    assert cycles == [set(case.planted_cycle)]


def test_weighted_case_is_one_row_per_tie_and_its_semantics_matter():
    case, graph = _whole("weighted_cooccurrence")
    assert not graph.is_directed()
    rows = case.graph.edges[0].rows
    assert len({frozenset((s, t)) for s, t, _ in rows}) == len(rows) == graph.number_of_edges()
    assert all(1.0 <= attrs["weight"] <= 20.0 for _, _, attrs in rows)
    reference = nx.pagerank(graph, weight="weight")
    directed = nx.DiGraph((s, t, {"weight": a["weight"]}) for s, t, a in rows)
    assert top_k_overlap(top_k(nx.pagerank(directed, weight="weight"), 10), reference, 10) <= 5
    paths = nx.betweenness_centrality(graph, weight="weight")
    hops = nx.betweenness_centrality(graph)
    assert top_k_overlap(top_k(hops, 10), paths, 10) <= 6


def test_customers_products_is_bipartite_with_planted_best_sellers_and_taste_groups():
    case, graph = _whole("customers_products")
    rows = case.graph.edges[0].rows
    assert all(s.startswith("customers/") and t.startswith("products/") for s, t, _ in rows)
    products = {v: x for v, x in nx.pagerank(graph).items() if v.startswith("products/")}
    assert set(top_k(products, 4)) == case.planted_top["pagerank"]
    assert sorted(Counter(case.blocks.values()).values()) == [40, 40, 40]
    found = nx.community.louvain_communities(graph.to_undirected(), seed=1)
    group = {v: i for i, members in enumerate(found) for v in members}
    customers = list(case.blocks)
    assert normalized_mutual_information([case.blocks[c] for c in customers], [group[c] for c in customers]) >= 0.9
    assert all(doc["name"] for doc in case.graph.vertices["customers"])


@pytest.mark.parametrize("name", list(CASES))
def test_files_import_as_the_same_graph_with_the_declared_semantics(name: str, tmp_path: Path):
    case = build_case(name)
    store = EmbeddedStore(tmp_path / "home")
    info = store.import_graph(name, write_files(case, tmp_path / "files"), semantics=list(case.semantics))
    assert info.vertex_collections == {c: len(docs) for c, docs in case.graph.vertices.items()}
    assert info.edge_collections == {e.collection: len(e.rows) for e in case.graph.edges}
    for declared in case.semantics:
        assert store.graph(name).semantics(declared.collection) == declared
