"""The reference graphs follow the engine's documented semantics: parallel edges, ties listed
twice, weights as strengths or lengths."""

from __future__ import annotations

import networkx as nx
import pytest

from gaai.bus.domain import EdgeSemantics
from gaai.eval.cases import Case, EdgeFile, GraphData
from gaai.eval.reference import Selection


def _case() -> Case:
    graph = GraphData(
        {"v": [{"_key": "a"}, {"_key": "b"}, {"_key": "c"}, {"_key": "d"}]},
        [
            # Two parallel edges a -> b and one back.
            EdgeFile("pays", [("v/a", "v/b", {"w": 1.0}), ("v/a", "v/b", {"w": 2.0}), ("v/b", "v/a", {"w": 3.0})]),
            # One tie exported in both directions, with different weights; d stays alone.
            EdgeFile("knows", [("v/b", "v/c", {"w": 4.0}), ("v/c", "v/b", {"w": 5.0})]),
        ],
    )
    return Case(
        name="tiny",
        title="",
        tests="",
        document="",
        expected_ids=(),
        required_algorithms=(),
        semantics=(
            EdgeSemantics(collection="pays", directed=True, weight_field="w"),
            EdgeSemantics(collection="knows", directed=False, weight_field="w"),
        ),
        max_executions=1,
        graph=graph,
    )


def _weights(graph: nx.Graph) -> dict[tuple[str, str], float]:
    return {(u, v): d["weight"] for u, v, d in graph.edges(data=True)}


def test_pagerank_graph_adds_up_parallel_edges_and_reads_a_tie_both_ways():
    selection = Selection.of(_case(), ["v"], ["pays", "knows"])
    graph = selection.pagerank_graph()
    assert _weights(graph) == {("v/a", "v/b"): 3.0, ("v/b", "v/a"): 3.0, ("v/b", "v/c"): 5.0, ("v/c", "v/b"): 5.0}
    multi = nx.MultiDiGraph()
    multi.add_nodes_from(selection.nodes)
    multi.add_weighted_edges_from(selection.directed)
    multi.add_weighted_edges_from([("v/b", "v/c", 5.0), ("v/c", "v/b", 5.0)])
    expected = nx.pagerank(multi, weight="weight")
    assert nx.pagerank(graph, weight="weight") == pytest.approx(expected)


def test_simple_graph_keeps_the_shortest_parallel_edge():
    graph = Selection.of(_case(), ["v"], ["pays", "knows"]).simple_graph()
    assert graph.is_directed()
    assert _weights(graph) == {("v/a", "v/b"): 1.0, ("v/b", "v/a"): 3.0, ("v/b", "v/c"): 5.0, ("v/c", "v/b"): 5.0}
    undirected_only = Selection.of(_case(), ["v"], ["knows"]).simple_graph()
    assert not undirected_only.is_directed()
    assert _weights(undirected_only) == {("v/b", "v/c"): 5.0}


def test_tie_graph_sums_a_ties_edges_both_ways():
    graph = Selection.of(_case(), ["v"], ["pays", "knows"]).tie_graph()
    assert {frozenset(pair): w for pair, w in _weights(graph).items()} == {
        frozenset(("v/a", "v/b")): 6.0,
        frozenset(("v/b", "v/c")): 5.0,
    }
    assert sorted(graph.nodes) == ["v/a", "v/b", "v/c", "v/d"]
