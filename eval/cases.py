"""The evaluation cases: generated graphs with known answers, their documents and declared semantics.

Each case is built from a fixed seed, so every run scores the same graph. A case holds the graph
as vertex documents and edge rows (written to import files by ``write_files``), the requirement
document the workflow reads, the semantics its edge collections are declared with, and the truth
it is scored against: planted top vertices per algorithm, planted blocks, a planted cycle, and
the collections whose names the document forbids in reports.
"""

from __future__ import annotations

import csv
import json
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np

from gaai.bus.domain import EdgeSemantics
from gaai.eval.karate import FRIENDSHIPS, MEMBERS, faction_of
from gaai.store.sample import generate_ecommerce

__all__ = ["CASES", "Case", "EdgeFile", "GraphData", "build_case", "write_files"]

IMPLICIT_VERTICES = "vertices"
"""The collection the importer creates for bare CSV endpoint keys."""

_FIRST_NAMES = (
    "Alice",
    "Bruno",
    "Chiara",
    "Dmitri",
    "Elena",
    "Farid",
    "Greta",
    "Hugo",
    "Ingrid",
    "Jonas",
    "Katja",
    "Lorenzo",
    "Maren",
    "Nikolai",
    "Olga",
    "Pieter",
    "Quentin",
    "Rosa",
    "Stefan",
    "Tamara",
)
_LAST_NAMES = ("Novak", "Lindqvist", "Moreau", "Brennan", "Okafor", "Haddad")


@dataclass
class EdgeFile:
    """One edge collection: rows of (``_from`` id, ``_to`` id, attributes), written as one file.

    ``format`` is ``jsonl`` (ArangoDB export) or ``csv``; ``bare_keys`` writes a plain
    ``source,target`` CSV with keys only, which the importer puts into ``vertices``.
    """

    collection: str
    rows: list[tuple[str, str, dict[str, object]]]
    format: str = "jsonl"
    bare_keys: bool = False


@dataclass
class GraphData:
    """A graph as documents: vertex collections (documents with ``_key``) and edge files."""

    vertices: dict[str, list[dict[str, object]]]
    edges: list[EdgeFile]

    def vertex_ids(self, collection: str) -> list[str]:
        return [f"{collection}/{doc['_key']}" for doc in self.vertices[collection]]


@dataclass
class Case:
    """A graph with known answers and the requirement document the workflow is given.

    Attributes:
        name: The graph's name and the case's.
        title: One line for tables.
        tests: What the case tests, for docs/EVALUATION.md.
        document: The requirement document (Markdown).
        expected_ids: The must/should requirements and objectives the document states; each
            must end up answered or explained.
        required_algorithms: Algorithms a must requirement asks for within ``max_executions``;
            the case expects a report from each.
        semantics: How each edge collection is declared at import.
        max_executions: The workflow's execution budget.
        graph: The graph itself.
        rank_scope: Per centrality, the vertex collections its top lists are taken from
            (all collections of the run when absent).
        planted_top: Per centrality, the vertex ids planted to rank on top within the scope.
        blocks: Planted group of each scored vertex; community runs are scored by NMI and ARI.
        blocks_are_planted: The blocks were planted by the generator (the NMI goal applies),
            rather than observed (the karate club's factions).
        planted_cycle: The only directed cycle's vertices; SCC runs are scored against it.
        planted_pairs: Per overlap algorithm (similarity, co-occurrence), the pair planted to share most.
        planted_core: The vertices planted in the innermost k-core.
        planted_hubs: The vertices planted to be HITS's top hubs.
        private_collections: Collections whose vertex labels the document forbids in reports.
    """

    name: str
    title: str
    tests: str
    document: str
    expected_ids: tuple[str, ...]
    required_algorithms: tuple[str, ...]
    semantics: tuple[EdgeSemantics, ...]
    max_executions: int
    graph: GraphData
    rank_scope: dict[str, tuple[str, ...]] = field(default_factory=dict)
    planted_top: dict[str, frozenset[str]] = field(default_factory=dict)
    blocks: dict[str, int] = field(default_factory=dict)
    blocks_are_planted: bool = True
    planted_cycle: frozenset[str] = frozenset()
    planted_pairs: dict[str, frozenset[str]] = field(default_factory=dict)
    planted_core: frozenset[str] = frozenset()
    planted_hubs: frozenset[str] = frozenset()
    private_collections: tuple[str, ...] = ()

    def semantics_of(self, collection: str) -> EdgeSemantics:
        declared = {s.collection: s for s in self.semantics}
        return declared.get(collection, EdgeSemantics(collection=collection))


def write_files(case: Case, folder: Path) -> list[Path]:
    """Write the case's graph as import files (one per collection) into ``folder``; returns them."""
    folder.mkdir(parents=True, exist_ok=True)
    implicit = {IMPLICIT_VERTICES} if any(edge.bare_keys for edge in case.graph.edges) else set()
    paths = []
    for collection, docs in case.graph.vertices.items():
        if collection in implicit:
            continue  # the importer builds it from the bare keys the CSV uses
        path = folder / f"{collection}.jsonl"
        path.write_text("".join(json.dumps(doc) + "\n" for doc in docs))
        paths.append(path)
    for edge in case.graph.edges:
        paths.append(_write_edges(edge, folder))
    return paths


def _write_edges(edge: EdgeFile, folder: Path) -> Path:
    if edge.format == "jsonl":
        path = folder / f"{edge.collection}.jsonl"
        lines = [json.dumps({"_from": source, "_to": target, **attrs}) for source, target, attrs in edge.rows]
        path.write_text("".join(line + "\n" for line in lines))
        return path
    path = folder / f"{edge.collection}.csv"
    attributes = list(edge.rows[0][2]) if edge.rows else []
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["source", "target", *attributes] if edge.bare_keys else ["_from", "_to", *attributes])
        for source, target, attrs in edge.rows:
            if edge.bare_keys:
                source, target = source.split("/", 1)[1], target.split("/", 1)[1]
            writer.writerow([source, target, *(attrs[name] for name in attributes)])
    return path


def _person(index: int) -> str:
    return f"{_FIRST_NAMES[index % len(_FIRST_NAMES)]} {_LAST_NAMES[index // len(_FIRST_NAMES) % len(_LAST_NAMES)]}"


def _sample_others(rng: np.random.Generator, pool: list[str], exclude: str, count: int) -> list[str]:
    choices = [v for v in pool if v != exclude]
    return [choices[i] for i in rng.choice(len(choices), size=min(count, len(choices)), replace=False)]


# ---------------------------------------------------------------- planted hubs and bridges


def hubs_and_bridges() -> Case:
    """Four circles of accounts following each other, five celebrities everyone follows, and
    four broker accounts, each the only link between two neighbouring circles."""
    rng = np.random.default_rng(11)
    circles = [[f"accounts/c{c}m{i}" for i in range(40)] for c in range(4)]
    hubs = [f"accounts/hub{i}" for i in range(5)]
    brokers = [f"accounts/broker{i}" for i in range(4)]
    rows: set[tuple[str, str]] = set()
    for members in circles:
        for member in members:
            rows.update((member, other) for other in _sample_others(rng, members, member, 3))
            rows.update((member, hub) for hub in hubs if rng.random() < 0.3)
    for i, broker in enumerate(brokers):
        for side in (circles[i], circles[(i + 1) % 4]):
            rows.update((member, broker) for member in _sample_others(rng, side, broker, 6))
            rows.update((broker, member) for member in _sample_others(rng, side, broker, 6))
    ids = [v for members in circles for v in members] + hubs + brokers
    accounts = [{"_key": v.split("/")[1], "name": f"@{v.split('/')[1]}"} for v in ids]
    document = """# Community platform: influence and brokerage review

## Objectives

- **OBJ-1:** Understand which accounts hold influence on the platform and which ones connect its circles.

## Requirements

- **REQ-1 (P0):** The system must rank accounts by influence over the follows relationships, so the
  moderation team knows whose posts travel furthest.
- **REQ-2:** The system must identify broker accounts that bridge otherwise separate communities.
- **REQ-3:** The system should find fragmented or isolated groups of accounts.
"""
    return Case(
        name="hubs_bridges",
        title="planted hubs and brokers (directed follows)",
        tests=(
            "PageRank must put the five planted celebrities on top and betweenness the four planted brokers; "
            "both are compared with networkx on the directed graph. Two executions for three requirements: "
            "the third must be explained (no slot), not dropped."
        ),
        document=document,
        expected_ids=("OBJ-1", "REQ-1", "REQ-2", "REQ-3"),
        required_algorithms=("pagerank", "betweenness"),
        semantics=(EdgeSemantics(collection="follows", directed=True),),
        max_executions=2,
        graph=GraphData({"accounts": accounts}, [EdgeFile("follows", [(s, t, {}) for s, t in sorted(rows)])]),
        planted_top={"pagerank": frozenset(hubs), "betweenness": frozenset(brokers)},
    )


# ---------------------------------------------------------------- stochastic block model


def block_model() -> Case:
    """Four blocks of 50 members, ties inside a block ten times likelier than across."""
    rng = np.random.default_rng(22)
    sizes, p_in, p_out = (50, 50, 50, 50), 0.2, 0.01
    block = np.repeat(np.arange(len(sizes)), sizes)
    ids = [f"members/m{i}" for i in range(block.size)]
    rows = []
    for i in range(block.size):
        for j in range(i + 1, block.size):
            if rng.random() < (p_in if block[i] == block[j] else p_out):
                # One row per tie, in a random direction: the usual export of an undirected graph.
                rows.append((ids[i], ids[j], {}) if rng.random() < 0.5 else (ids[j], ids[i], {}))
    members = [{"_key": v.split("/")[1], "name": f"Member {v.split('/')[1][1:]}"} for v in ids]
    document = """# Member network segmentation

## Requirements

- **REQ-1:** The system must segment members into communities based on who knows whom, with the size
  of each community.
- **REQ-2:** The system should offer a fast community detection run (label propagation) that can be
  refreshed weekly.
"""
    return Case(
        name="block_model",
        title="stochastic block model, 4 planted blocks (undirected)",
        tests=(
            "Louvain and label propagation must recover four planted blocks of 50 (p_in 0.2, p_out 0.01) "
            "from an undirected graph exported one row per tie: NMI and ARI against the blocks."
        ),
        document=document,
        expected_ids=("REQ-1", "REQ-2"),
        required_algorithms=("louvain",),
        semantics=(EdgeSemantics(collection="knows", directed=False),),
        max_executions=3,
        graph=GraphData({"members": members}, [EdgeFile("knows", rows)]),
        blocks={v: int(b) for v, b in zip(ids, block, strict=True)},
    )


# ---------------------------------------------------------------- Leiden: communities that hang together


def connected_communities() -> Case:
    """Six blocks of 30 members, denser between members close to each other in a block, a few ties across."""
    rng = np.random.default_rng(44)
    blocks, size = 6, 30
    block = np.repeat(np.arange(blocks), size)
    ids = [f"members/m{i}" for i in range(block.size)]
    rows = []
    for i in range(block.size):
        for j in range(i + 1, block.size):
            # Inside a block, members at most ten apart are tied more often: a band, not a uniform block.
            near = block[i] == block[j] and j - i <= 10
            if rng.random() < (0.45 if near else 0.1 if block[i] == block[j] else 0.006):
                rows.append((ids[i], ids[j], {}) if rng.random() < 0.5 else (ids[j], ids[i], {}))
    members = [{"_key": v.split("/")[1], "name": f"Member {v.split('/')[1][1:]}"} for v in ids]
    document = """# Member network: communities that hold together

## Requirements

- **REQ-1:** The system must split members into well-connected communities (Leiden), each community
  held together by ties among its own members, with the size of each community.
"""
    return Case(
        name="connected_communities",
        title="six planted blocks, Leiden (undirected)",
        tests=(
            "Leiden must recover six planted blocks of 30 (each denser between members close in it) from an undirected "
            "graph, every community connected through its own members: NMI against the blocks, communities in "
            "more than one piece, modularity against networkx's Louvain."
        ),
        document=document,
        expected_ids=("REQ-1",),
        required_algorithms=("leiden",),
        semantics=(EdgeSemantics(collection="knows", directed=False),),
        max_executions=1,
        graph=GraphData({"members": members}, [EdgeFile("knows", rows)]),
        blocks={v: int(b) for v, b in zip(ids, block, strict=True)},
    )


# ---------------------------------------------------------------- undirected weighted co-occurrence


def weighted_cooccurrence() -> Case:
    """Four topics of 30 terms grown by preferential attachment, a few ties across topics, each
    tie weighted by a co-occurrence count and exported once in a random direction."""
    rng = np.random.default_rng(33)
    topics, per_topic = 4, 30
    ids = [f"terms/t{i}" for i in range(topics * per_topic)]
    pairs: set[tuple[int, int]] = set()
    for topic in range(topics):
        base = topic * per_topic
        members = [base, base + 1]
        pairs.add((base, base + 1))
        degree = {base: 1, base + 1: 1}
        for new in range(base + 2, base + per_topic):
            weights = np.array([degree[m] for m in members], dtype=float)
            targets = rng.choice(members, size=2, replace=False, p=weights / weights.sum())
            for target in targets.tolist():
                pairs.add((min(new, target), max(new, target)))
                degree[target] += 1
            degree[new] = 2
            members.append(new)
    while len(pairs) < (per_topic * 2 - 3) * topics + 16:
        a, b = rng.choice(len(ids), size=2, replace=False).tolist()
        if a // per_topic != b // per_topic:
            pairs.add((min(a, b), max(a, b)))
    rows = []
    for a, b in sorted(pairs):
        weight = round(float(rng.uniform(1.0, 20.0)), 3)
        source, target = (a, b) if rng.random() < 0.5 else (b, a)
        rows.append((ids[source], ids[target], {"weight": weight}))
    terms = [{"_key": v.split("/")[1], "name": f"term {v.split('/')[1][1:]}"} for v in ids]
    document = """# Topic map of support tickets

The terms graph links two terms whenever they appear in the same ticket; the weight of a link is the
number of tickets where they co-occur.

## Requirements

- **REQ-1:** The system must rank terms by importance, weighting each link by its co-occurrence count.
- **REQ-2:** The system must identify bridge terms that connect otherwise separate topics.
- **REQ-3:** The system must cluster terms into topic communities.
"""
    return Case(
        name="weighted_cooccurrence",
        title="weighted co-occurrence, one row per tie (undirected)",
        tests=(
            "An undirected graph with a weight field, exported one row per tie: top-10 PageRank and "
            "betweenness against networkx on Graph with weights (weight as strength for PageRank, as "
            "length for shortest paths), and the modularity of the communities against networkx's Louvain."
        ),
        document=document,
        expected_ids=("REQ-1", "REQ-2", "REQ-3"),
        required_algorithms=("pagerank", "betweenness", "louvain"),
        semantics=(EdgeSemantics(collection="cooccurs", directed=False, weight_field="weight"),),
        max_executions=3,
        graph=GraphData({"terms": terms}, [EdgeFile("cooccurs", rows, format="csv")]),
    )


# ---------------------------------------------------------------- directed citations


def citations() -> Case:
    """Papers cite earlier papers; five seminal papers are each cited by 40 % of all later ones,
    three late surveys cite 150 papers each, and five papers cite each other in a ring."""
    rng = np.random.default_rng(44)
    count = 300
    ids = [f"papers/p{i}" for i in range(count)]
    seminal = [ids[i] for i in (0, 1, 2, 3, 4)]
    surveys = {295, 296, 297}
    ring = [ids[i] for i in range(150, 155)]
    rows: set[tuple[str, str]] = set()
    for i in range(5, count):
        cited = 150 if i in surveys else 3
        rows.update((ids[i], target) for target in _sample_others(rng, ids[5:i], ids[i], cited))
        if i not in surveys:
            rows.update((ids[i], paper) for paper in seminal if rng.random() < 0.4)
    rows.update((ring[k], ring[(k + 1) % len(ring)]) for k in range(len(ring)))
    papers = [{"_key": v.split("/")[1], "title": f"Paper {v.split('/')[1][1:]}"} for v in ids]
    document = """# Citation analysis for the editorial board

## Requirements

- **REQ-1 (P0):** The system must rank papers by influence through the citations they receive.
- **REQ-2:** The system must detect circular citation rings, where papers cite each other in closed
  loops to inflate their counts.
"""
    return Case(
        name="citations",
        title="citations, direction matters",
        tests=(
            "PageRank on the directed citations must put the five seminal papers on top; read undirected, "
            "three surveys citing 150 papers each would rank first instead. SCC must find exactly the "
            "planted ring of five papers."
        ),
        document=document,
        expected_ids=("REQ-1", "REQ-2"),
        required_algorithms=("pagerank", "scc"),
        semantics=(EdgeSemantics(collection="cites", directed=True),),
        max_executions=2,
        graph=GraphData({"papers": papers}, [EdgeFile("cites", [(s, t, {}) for s, t in sorted(rows)])]),
        planted_top={"pagerank": frozenset(seminal)},
        planted_cycle=frozenset(ring),
    )


# ---------------------------------------------------------------- bipartite customers and products


def customers_products() -> Case:
    """120 customers in three taste groups buy mostly from their group's 12 products; four
    best-sellers are bought across all groups. The document forbids customer names in reports."""
    rng = np.random.default_rng(55)
    groups, per_group, per_category = 3, 40, 12
    customers = [f"customers/c{i}" for i in range(groups * per_group)]
    categories = [[f"products/g{g}p{i}" for i in range(per_category)] for g in range(groups)]
    best_sellers = [f"products/best{i}" for i in range(4)]
    rows: set[tuple[str, str]] = set()
    for index, customer in enumerate(customers):
        group = index // per_group
        rows.update((customer, p) for p in _sample_others(rng, categories[group], customer, 6))
        rows.update((customer, p) for p in best_sellers if rng.random() < 0.6)
        if rng.random() < 0.2:
            other = categories[(group + 1 + int(rng.integers(groups - 1))) % groups]
            rows.add((customer, other[int(rng.integers(per_category))]))
    customer_docs = [{"_key": v.split("/")[1], "name": _person(i)} for i, v in enumerate(customers)]
    product_ids = [p for category in categories for p in category] + best_sellers
    product_docs = [{"_key": p.split("/")[1], "title": f"Product {p.split('/')[1]}"} for p in product_ids]
    document = """# Customer insight programme

## Requirements

- **REQ-1:** The system must rank products by how influential they are across customer purchases.
- **REQ-2:** The system must segment customers into communities based on shared purchases.

## Non-functional requirements

- **NFR-1:** Reports must not contain customer names or other personal data; customers are referred
  to by pseudonymous keys only.
"""
    return Case(
        name="customers_products",
        title="bipartite customers-products, no customer names",
        tests=(
            "A bipartite purchase graph: PageRank's top products must be the four planted best-sellers, "
            "communities must recover the three taste groups of customers, and no report may name a customer."
        ),
        document=document,
        expected_ids=("REQ-1", "REQ-2"),
        required_algorithms=("pagerank", "louvain"),
        semantics=(EdgeSemantics(collection="purchased", directed=True),),
        max_executions=3,
        graph=GraphData(
            {"customers": customer_docs, "products": product_docs},
            [EdgeFile("purchased", [(s, t, {}) for s, t in sorted(rows)])],
        ),
        rank_scope={"pagerank": ("products",), "betweenness": ("products",)},
        planted_top={"pagerank": frozenset(best_sellers)},
        blocks={c: i // per_group for i, c in enumerate(customers)},
        private_collections=("customers",),
    )


def shared_customers() -> Case:
    """150 customers, 60 products in six categories. Planted: the "outdoor" and "camping"
    categories share the most customers (a third of the customers buy from both), two customers
    buy exactly the same products (the most similar pair), and eight customers all follow
    each other (the innermost k-core) among otherwise sparse follows."""
    rng = np.random.default_rng(16)
    names = ("outdoor", "camping", "kitchen", "garden", "books", "toys")
    categories = [f"categories/{name}" for name in names]
    products = [[f"products/{name}{i}" for i in range(10)] for name in names]
    customers = [f"customers/c{i}" for i in range(150)]
    purchases: set[tuple[str, str]] = set()
    for index, customer in enumerate(customers[:-2]):
        chosen = [0, 1] if index < 50 else [2 + int(rng.integers(4))]
        for category in chosen:
            purchases.update((customer, p) for p in rng.choice(products[category], 3, replace=False).tolist())
    twins = customers[-2:]
    basket = rng.choice([p for group in products[2:] for p in group], 5, replace=False).tolist()
    purchases.update((twin, p) for twin in twins for p in basket)
    core = customers[60:68]
    follows = {(a, b) for a in core for b in core if a != b}
    # The twins follow no one and no one follows them, so their neighbours are exactly their basket.
    for customer in customers[:-2]:
        follows.add((customer, customers[int(rng.integers(len(customers) - 2))]))
    follows = {(a, b) for a, b in follows if a != b}
    belongs = [(p, categories[g]) for g, group in enumerate(products) for p in group]
    document = """# Merchandising and CRM analyses

## Requirements

- **REQ-1:** The system must show which categories share the most customers, to plan cross-category promotions.
- **REQ-2:** The system must find similar customers for look-alike recommendations.
- **REQ-3:** The system must find the cohesive core of customers.
- **REQ-4:** The system must count the triangles among customers.
- **REQ-5:** The system must list the most connected products.
- **REQ-6:** The system must measure the exposure of customers within two hops.
- **REQ-7:** The system must detect short rings among customers.
"""
    return Case(
        name="shared_customers",
        title="categories sharing customers, look-alikes, a cohesive core",
        tests=(
            "The analyst's catalog on a planted retail graph: co-occurrence must find the two categories "
            "planted to share the most customers with the counts networkx gives, similarity the two customers "
            "planted with identical baskets, k-core the eight customers who all follow each other; triangle "
            "counts, degrees, two-hop reach and short-cycle counts must equal networkx's."
        ),
        document=document,
        expected_ids=("REQ-1", "REQ-2", "REQ-3", "REQ-4", "REQ-5", "REQ-6", "REQ-7"),
        required_algorithms=("co_occurrence", "similarity", "k_core", "triangles", "degree", "k_hop", "cycles"),
        semantics=(),
        max_executions=7,
        graph=GraphData(
            {
                "customers": [{"_key": c.split("/")[1], "name": _person(i)} for i, c in enumerate(customers)],
                "products": [{"_key": p.split("/")[1]} for group in products for p in group],
                "categories": [{"_key": c.split("/")[1], "name": c.split("/")[1].title()} for c in categories],
            },
            [
                EdgeFile("purchased", [(a, b, {}) for a, b in sorted(purchases)]),
                EdgeFile("follows", [(a, b, {}) for a, b in sorted(follows)]),
                EdgeFile("belongs_to", [(a, b, {}) for a, b in belongs]),
            ],
        ),
        planted_pairs={
            "co_occurrence": frozenset(categories[:2]),
            "similarity": frozenset(twins),
        },
        planted_core=frozenset(core),
    )


# ---------------------------------------------------------------- reach and authority


def reach_and_authority() -> Case:
    """Four circles of 30 accounts following 3 others each; half the members follow one of three experts,
    three curators follow every expert (and one member per circle), and each expert follows one member per
    circle back. Planted: the experts are the accounts the rest reach in the fewest steps and the authorities;
    the curators, pointing to all of them, are the hubs."""
    rng = np.random.default_rng(21)
    circles = [[f"accounts/c{c}m{i}" for i in range(30)] for c in range(4)]
    experts = [f"accounts/expert{i}" for i in range(3)]
    curators = [f"accounts/curator{i}" for i in range(3)]
    rows: set[tuple[str, str]] = set()
    for members in circles:
        for member in members:
            rows.update((member, other) for other in _sample_others(rng, members, member, 3))
            if rng.random() < 0.5:
                rows.add((member, experts[int(rng.integers(3))]))
    for curator in curators:
        rows.update((curator, expert) for expert in experts)
        rows.update((curator, members[int(rng.integers(30))]) for members in circles)
    for expert in experts:
        rows.update((expert, members[int(rng.integers(30))]) for members in circles)
    ids = [v for members in circles for v in members] + experts + curators
    accounts = [{"_key": v.split("/")[1], "name": f"@{v.split('/')[1]}"} for v in ids]
    document = """# Knowledge network: who is central to whom

## Requirements

- **REQ-1:** The system must find the accounts with the highest closeness centrality: those the other
  accounts get to in the fewest steps along the follows.
- **REQ-2:** The system must score every account by harmonic centrality, which stays meaningful when parts
  of the network cannot get to each other.
- **REQ-3:** The system must identify the hubs and authorities among the accounts: who points to the most
  authoritative accounts.
"""
    return Case(
        name="reach_and_authority",
        title="planted experts and curators (directed follows)",
        tests=(
            "Closeness, harmonic centrality and HITS end to end: every stored value against networkx's "
            "closeness_centrality, harmonic_centrality and hits on the directed graph; the three planted experts "
            "must be the top 3 by each, and the three planted curators the top hubs."
        ),
        document=document,
        expected_ids=("REQ-1", "REQ-2", "REQ-3"),
        required_algorithms=("closeness", "harmonic", "hits"),
        semantics=(EdgeSemantics(collection="follows", directed=True),),
        max_executions=3,
        graph=GraphData({"accounts": accounts}, [EdgeFile("follows", [(s, t, {}) for s, t in sorted(rows)])]),
        planted_top={"closeness": frozenset(experts), "harmonic": frozenset(experts), "hits": frozenset(experts)},
        planted_hubs=frozenset(curators),
    )


# ---------------------------------------------------------------- Zachary's karate club


def karate_club() -> Case:
    """The 78 friendships of Zachary's karate club as a plain ``source,target`` CSV."""
    ids = [f"{IMPLICIT_VERTICES}/{m}" for m in MEMBERS]
    rows = [(f"{IMPLICIT_VERTICES}/{a}", f"{IMPLICIT_VERTICES}/{b}", {}) for a, b in FRIENDSHIPS]
    document = """# Karate club conflict study

## Requirements

- **REQ-1:** The system must split the club members into communities, showing the factions that
  formed during the conflict.
- **REQ-2:** The system must rank members by influence over their friendships.
- **REQ-3:** The system should identify broker members that bridge the factions.
"""
    return Case(
        name="karate",
        title="Zachary's karate club (undirected CSV)",
        tests=(
            "The classic two-way split (Zachary 1977) from a plain source,target CSV declared undirected: "
            "NMI, ARI and purity of the communities against the two factions, top-10 PageRank and "
            "betweenness against networkx on Graph."
        ),
        document=document,
        expected_ids=("REQ-1", "REQ-2", "REQ-3"),
        required_algorithms=("louvain", "pagerank"),
        semantics=(EdgeSemantics(collection="friendships", directed=False),),
        max_executions=3,
        graph=GraphData(
            {IMPLICIT_VERTICES: [{"_key": str(m)} for m in MEMBERS]},
            [EdgeFile("friendships", rows, format="csv", bare_keys=True)],
        ),
        blocks={v: faction_of(m) for v, m in zip(ids, MEMBERS, strict=True)},
        blocks_are_planted=False,
    )


# ---------------------------------------------------------------- the bundled demo


def ecommerce_demo() -> Case:
    """The graph and requirements document ``gaai demo`` runs, with the demo's five executions."""
    with tempfile.TemporaryDirectory(prefix="gaai-eval-demo-") as folder:
        vertices: dict[str, list[dict[str, object]]] = {}
        edges = []
        for path in generate_ecommerce(Path(folder)):
            docs = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
            if docs and "_from" in docs[0]:
                rows = [(d.pop("_from"), d.pop("_to"), d) for d in docs]
                edges.append(EdgeFile(path.stem, rows))
            else:
                vertices[path.stem] = docs
    document = (resources.files("graph_analytics_ai") / "data" / "requirements_ecommerce.md").read_text()
    return Case(
        name="ecommerce_demo",
        title="the bundled demo (gaai demo)",
        tests=(
            "The demo as the README runs it: its own document's objectives and must/should requirements "
            "answered or explained within five executions, no false claim, and its privacy requirement "
            "(no customer names or e-mail addresses) obeyed."
        ),
        document=document,
        expected_ids=(
            "OBJ-1",
            "OBJ-2",
            "OBJ-3",
            "OBJ-4",
            "REQ-1",
            "REQ-2",
            "REQ-3",
            "REQ-4",
            "REQ-5",
            "REQ-6",
            "REQ-7",
            "REQ-8",
            "NFR-1",
            "NFR-2",
            "NFR-3",
        ),
        required_algorithms=(),
        semantics=(),
        max_executions=5,
        graph=GraphData(vertices, edges),
        private_collections=("customers",),
    )


CASES: dict[str, Callable[[], Case]] = {
    "hubs_bridges": hubs_and_bridges,
    "block_model": block_model,
    "connected_communities": connected_communities,
    "weighted_cooccurrence": weighted_cooccurrence,
    "citations": citations,
    "customers_products": customers_products,
    "karate": karate_club,
    "shared_customers": shared_customers,
    "reach_and_authority": reach_and_authority,
    "ecommerce_demo": ecommerce_demo,
}


def build_case(name: str) -> Case:
    """The case of that name, freshly generated (same seed, same graph)."""
    return CASES[name]()
