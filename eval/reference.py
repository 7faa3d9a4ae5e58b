"""Reference answers from networkx on a case's declared semantics.

A ``Selection`` holds exactly the collections a run read, and builds the networkx graph each
algorithm is defined on, as the engine documents its semantics (``agents/execution/engine/__init__.py``):

* PageRank: a ``DiGraph`` whose edge weights add up parallel edges (each edge counts 1, or
  its declared weight), undirected ties both ways; networkx on a multigraph does the same.
* betweenness: the simple graph, a ``Graph`` when every selected collection is undirected,
  else a ``DiGraph``; a declared weight is a length and of parallel edges the shortest counts.
* degree: a ``MultiDiGraph`` of every edge (undirected ties once each way).
* k-hop reach and short cycles: the directed simple graph without self-loops.
* closeness and harmonic centrality: the simple graph, as betweenness (distances into each vertex).
* HITS: PageRank's ``DiGraph`` (self-loops kept), its summed weights as strengths where a weight is declared,
  else each edge once.
* k-core, triangles, clustering, similarity and co-occurrence: the undirected simple graph
  without self-loops (the tie graph, weights ignored).
* partitions (Louvain, label propagation, modularity, ties inside a group): the undirected
  simple graph without self-loops; a tie weighs its directed edges' weights both ways plus
  its undirected tie's weight (1 each without a weight field).

An undirected pair listed more than once (e.g. exported in both directions) is one tie with
the largest weight listed. networkx is an optional dependency (``pip install -e '.[eval]'``).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

from gaai.bus.errors import GaaiError
from gaai.eval.cases import Case

try:
    import networkx as nx
except ImportError as exc:  # the suite cannot score without its reference
    raise GaaiError(
        "missing_dependency", "gaai eval needs networkx as its reference: pip install -e '.[eval]'"
    ) from exc

__all__ = [
    "Selection",
    "disconnected_communities",
    "reference_betweenness",
    "reference_cohesion",
    "reference_degree",
    "reference_hits",
    "reference_louvain_modularity",
    "reference_nearness",
    "reference_overlap",
    "reference_pagerank",
    "reference_paths",
]


@dataclass(frozen=True)
class Selection:
    """The vertices and edges of some collections of a case, read with its declared semantics.

    Attributes:
        nodes: Vertex ids of the selected vertex collections.
        directed: One (source, target, weight) per edge of a directed collection.
        ties: Each undirected tie as a sorted pair, with its largest listed weight.
        weighted: Whether any selected edge collection declares a weight field.
    """

    nodes: list[str]
    directed: list[tuple[str, str, float]]
    ties: dict[tuple[str, str], float]
    weighted: bool

    @classmethod
    def of(cls, case: Case, vertex_collections: Sequence[str], edge_collections: Sequence[str]) -> Selection:
        nodes = [v for collection in vertex_collections for v in case.graph.vertex_ids(collection)]
        selected = set(vertex_collections)
        directed: list[tuple[str, str, float]] = []
        ties: dict[tuple[str, str], float] = {}
        for edge in case.graph.edges:
            if edge.collection not in edge_collections:
                continue
            semantics = case.semantics_of(edge.collection)
            for source, target, attributes in edge.rows:
                if source.split("/", 1)[0] not in selected or target.split("/", 1)[0] not in selected:
                    continue
                weight = float(attributes[semantics.weight_field]) if semantics.weight_field else 1.0
                if semantics.directed:
                    directed.append((source, target, weight))
                else:
                    pair = (min(source, target), max(source, target))
                    ties[pair] = max(weight, ties.get(pair, weight))
        weighted = any(case.semantics_of(name).weight_field for name in edge_collections)
        return cls(nodes, directed, ties, weighted)

    def _all_undirected(self) -> bool:
        return not self.directed

    def pagerank_graph(self) -> nx.DiGraph:
        """Directed, parallel edges summed into one weight."""
        graph = nx.DiGraph()
        graph.add_nodes_from(self.nodes)
        forward = [(u, v, w) for (u, v), w in self.ties.items()]
        backward = [(v, u, w) for (u, v), w in self.ties.items() if u != v]
        for source, target, weight in self.directed + forward + backward:
            if graph.has_edge(source, target):
                graph[source][target]["weight"] += weight
            else:
                graph.add_edge(source, target, weight=weight)
        return graph

    def simple_graph(self) -> nx.Graph:
        """``Graph`` when every edge is undirected, else ``DiGraph``; parallel edges keep the shortest length."""
        graph = nx.Graph() if self._all_undirected() else nx.DiGraph()
        graph.add_nodes_from(self.nodes)
        both_ways = [(u, v, w) for (u, v), w in self.ties.items()]
        if graph.is_directed():
            both_ways += [(v, u, w) for (u, v), w in self.ties.items()]
        for source, target, weight in self.directed + both_ways:
            if not graph.has_edge(source, target) or weight < graph[source][target]["weight"]:
                graph.add_edge(source, target, weight=weight)
        return graph

    def tie_graph(self) -> nx.Graph:
        """Undirected, no self-loops; a tie's weight sums its directed edges and its undirected tie."""
        graph = nx.Graph()
        graph.add_nodes_from(self.nodes)
        for source, target, weight in self.directed + [(u, v, w) for (u, v), w in self.ties.items()]:
            if source == target:
                continue
            if graph.has_edge(source, target):
                graph[source][target]["weight"] += weight
            else:
                graph.add_edge(source, target, weight=weight)
        return graph


def reference_pagerank(selection: Selection, damping: float) -> dict[str, float]:
    return nx.pagerank(selection.pagerank_graph(), alpha=damping, weight="weight", tol=1e-12, max_iter=10_000)


def reference_betweenness(selection: Selection, normalized: bool) -> dict[str, float]:
    """Brandes' betweenness; a declared weight is a length along shortest paths."""
    weight = "weight" if selection.weighted else None
    return nx.betweenness_centrality(selection.simple_graph(), normalized=normalized, weight=weight)


def disconnected_communities(selection: Selection, groups: dict[str, int]) -> int:
    """How many communities fall apart on the tie graph restricted to their own members."""
    graph = selection.tie_graph()
    members: dict[int, list[str]] = {}
    for vertex, group in groups.items():
        members.setdefault(group, []).append(vertex)
    return sum(not nx.is_connected(graph.subgraph(group)) for group in members.values())


def reference_louvain_modularity(selection: Selection, resolution: float, seed: int) -> float:
    """The modularity of networkx's Louvain communities of the tie graph."""
    graph = selection.tie_graph()
    weight = "weight" if selection.weighted else None
    communities = nx.community.louvain_communities(graph, weight=weight, resolution=resolution, seed=seed)
    return nx.community.modularity(graph, communities, weight=weight, resolution=resolution)


def reference_nearness(selection: Selection, algorithm: str) -> dict[str, float]:
    """networkx's closeness (Wasserman-Faust) or harmonic centrality, by inward distance; a weight is a length."""
    compute = {"closeness": nx.closeness_centrality, "harmonic": nx.harmonic_centrality}[algorithm]
    scores = compute(selection.simple_graph(), distance="weight" if selection.weighted else None)
    return {v: float(x) for v, x in scores.items()}


def reference_hits(selection: Selection) -> tuple[dict[str, float], dict[str, float]]:
    """networkx's ``(hubs, authorities)``, each summing to 1."""
    graph = selection.pagerank_graph()
    if not selection.weighted:
        nx.set_edge_attributes(graph, 1.0, "weight")
    hubs, authorities = nx.hits(graph, max_iter=100_000, tol=1e-12)
    return hubs, authorities


def reference_degree(selection: Selection, direction: str, weighted: bool) -> dict[str, float]:
    """Each listed edge counts (or its weight); a self-loop counts once in and once out."""
    graph = nx.MultiDiGraph()
    graph.add_nodes_from(selection.nodes)
    ties = [(u, v, w) for (u, v), w in selection.ties.items()]
    graph.add_weighted_edges_from(selection.directed + ties + [(v, u, w) for u, v, w in ties if u != v])
    degree = {"in": graph.in_degree, "out": graph.out_degree, "all": graph.degree}[direction]
    return {v: float(d) for v, d in degree(weight="weight" if weighted else None)}


def reference_paths(selection: Selection, algorithm: str, bound: int) -> dict[str, float]:
    """k-hop reach (vertices within ``bound`` hops) or simple cycles of 2 to ``bound`` edges through each
    vertex, on the directed simple graph without self-loops (undirected ties both ways)."""
    graph = nx.DiGraph(selection.simple_graph())
    graph.remove_edges_from(list(nx.selfloop_edges(graph)))
    if algorithm == "k_hop":
        return {v: float(len(nx.single_source_shortest_path_length(graph, v, cutoff=bound)) - 1) for v in graph}
    counts = dict.fromkeys(graph, 0.0)
    for cycle in nx.simple_cycles(graph, length_bound=bound):
        for vertex in cycle:
            counts[vertex] += 1
    return counts


def reference_cohesion(selection: Selection, algorithm: str) -> dict[str, float]:
    """networkx's core number, triangle count or local clustering on the tie graph."""
    graph = nx.Graph(selection.tie_graph())
    compute = {"k_core": nx.core_number, "triangles": nx.triangles, "clustering": nx.clustering}[algorithm]
    return {v: float(x) for v, x in compute(graph).items()}


def reference_overlap(
    selection: Selection, compared: Sequence[str], members: str | None, hops: int
) -> dict[frozenset[str], tuple[int, float]]:
    """Every pair of ``compared``-collection vertices sharing something: (shared, Jaccard).

    Similarity (``members`` None) shares neighbours in the tie graph; co-occurrence shares the
    ``members`` vertices tied directly, or (``hops`` 2) through a vertex of neither kind.
    """
    graph = selection.tie_graph()

    def kind(vertex: str) -> str:
        return vertex.split("/", 1)[0]

    def reached(vertex: str) -> set[str]:
        if members is None:
            return set(graph.neighbors(vertex))
        found = {u for u in graph.neighbors(vertex) if kind(u) == members}
        if hops == 2:
            for between in graph.neighbors(vertex):
                if kind(between) != members and kind(between) not in compared:
                    found |= {u for u in graph.neighbors(between) if kind(u) == members}
        return found

    sets = {v: reached(v) for v in selection.nodes if kind(v) in compared}
    answer = {}
    for a, b in itertools.combinations(sorted(sets), 2):
        shared = len(sets[a] & sets[b])
        if shared:
            answer[frozenset((a, b))] = (shared, shared / len(sets[a] | sets[b]))
    return answer
