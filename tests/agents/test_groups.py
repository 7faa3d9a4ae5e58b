"""Group details on a small graph checked by hand (and against networkx): ties, density, names, make-up, bridges.

Group A = Amira, Bruno, Chen, Dara, Eli (Amira has the most ties inside it, Dara comes first
in the file); group B = Farah, Goran, Hana, Ines (Farah leads); Zoe is alone. The ``knows``
edges hold the groups together, with a duplicate, a reverse pair and a self-loop that must
count once or not at all; the ``links`` edges are the two bridges Amira–Farah and Bruno–Farah.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import networkx as nx
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from gaai.agents.execution.groups import describe_groups, ties_of
from gaai.agents.execution.run import execute_template
from gaai.bus.domain import AnalysisTemplate, Requirement
from gaai.store import EmbeddedStore, GraphArrays
from tests.agents.test_claims import report_task, run_report

PEOPLE = [  # file order: Dara (a4) first, so the lowest index is not the most central member
    ("a4", "Dara", "red"), ("a2", "Bruno", "red"), ("a3", "Chen", "red"), ("a1", "Amira", "red"), ("a5", "Eli", "red"),
    ("b2", "Goran", "blue"), ("b1", "Farah", "blue"), ("b3", "Hana", "blue"), ("b4", "Ines", "blue"),
    ("z", "Zoe", "red"),
]  # fmt: skip
KNOWS = [
    ("a1", "a2"), ("a1", "a2"), ("a2", "a1"), ("a1", "a3"), ("a1", "a4"), ("a2", "a3"), ("a4", "a5"), ("a3", "a3"),
    ("b1", "b2"), ("b2", "b3"), ("b3", "b1"), ("b1", "b4"),
]  # fmt: skip
LINKS = [("a1", "b1"), ("b1", "a2")]
GROUP = {"a": 0, "b": 1, "z": 2}


@pytest.fixture
def store(tmp_path: Path) -> EmbeddedStore:
    data = tmp_path / "data"
    data.mkdir()
    people = [{"_key": k, "name": n, "team": t} for k, n, t in PEOPLE]
    (data / "people.jsonl").write_text("".join(json.dumps(row) + "\n" for row in people))
    for name, pairs in (("knows", KNOWS), ("links", LINKS)):
        rows = [{"_from": f"people/{a}", "_to": f"people/{b}"} for a, b in pairs]
        (data / f"{name}.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows))
    store = EmbeddedStore(tmp_path / "home")
    store.import_graph("teams", [data])
    return store


def described(store: EmbeddedStore):
    arrays = store.load_arrays("teams", ["people"], ["knows", "links"])
    groups = np.array([GROUP[key[0]] for key, _, _ in PEOPLE])
    return describe_groups(arrays, groups, ties_of(arrays.num_vertices, arrays.src, arrays.dst, groups), "community")


def test_ties_merge_duplicates_reverse_edges_and_drop_self_loops(store):
    """5 ties in A, 4 in B, 2 bridges: 11 ties among 10 vertices, a density of 11/45."""
    description = described(store)
    assert description.graph_ties == 11
    assert description.graph_density == pytest.approx(11 / 45)
    a, b = description.details[0], description.details[1]
    assert (a.size, a.internal_ties, a.external_ties) == (5, 5, 2)
    assert (b.size, b.internal_ties, b.external_ties) == (4, 4, 2)
    assert a.share == pytest.approx(0.5)


def test_densities_match_networkx_on_the_induced_subgraphs(store):
    """Each group's density is networkx's density of the undirected subgraph it induces."""
    graph = nx.Graph()
    graph.add_nodes_from(k for k, _, _ in PEOPLE)
    graph.add_edges_from((x, y) for x, y in KNOWS + LINKS if x != y)
    description = described(store)
    for detail, prefix in zip(description.details, "ab", strict=False):
        members = [k for k, _, _ in PEOPLE if k.startswith(prefix)]
        assert detail.density == pytest.approx(nx.density(graph.subgraph(members)))
    assert description.graph_density == pytest.approx(nx.density(graph))


def test_groups_are_named_after_their_most_connected_member(store):
    """Amira (3 ties inside A) names A, though Dara comes first; Farah names B; equal ties list in file order."""
    a, b, _ = described(store).details
    assert (a.name, b.name) == ("Amira", "Farah")
    expected = [("Amira", 3.0), ("Dara", 2.0), ("Bruno", 2.0), ("Chen", 2.0), ("Eli", 1.0)]
    assert [(v.label, v.value) for v in a.central] == expected
    assert a.central[0].id == "people/a1"


def test_bridges_count_ties_and_name_the_vertices_carrying_them(store):
    """A and B share 2 ties: Amira and Bruno carry one each on A's side, Farah both on B's."""
    a, b, zoe = described(store).details
    assert [(x.group_id, x.name, x.ties) for x in a.bridges] == [("community/1", "Farah", 2)]
    assert [(v.label, v.value) for v in a.bridges[0].carriers] == [("Bruno", 1.0), ("Amira", 1.0)]
    assert [(v.label, v.value) for v in b.bridges[0].carriers] == [("Farah", 2.0)]
    assert (zoe.name, zoe.size, zoe.external_ties, zoe.bridges) == ("Zoe", 1, 0, [])


def test_dominant_attribute_values_against_the_whole_collection(store):
    """Every member of A is red (60% of all people are); every member of B is blue (40% of all)."""
    a, b, _zoe = described(store).details
    found = [(x.attribute, x.value, x.count, x.share, x.overall_share) for x in a.attributes]
    assert found == [("team", "red", 5, 1.0, 0.6)]
    assert [(x.attribute, x.value, x.share, x.overall_share) for x in b.attributes] == [("team", "blue", 1.0, 0.4)]
    assert a.by_collection == {"people": 5}


def test_the_report_names_groups_and_states_their_density_and_bridges(store, tmp_path):
    """Components of ``knows``: the report names A after Amira and quotes its density against the graph's."""
    template = AnalysisTemplate(
        id="TPL-G", use_case_id="UC-1", title="Teams", algorithm="wcc", vertex_collections=["people"],
        edge_collections=["knows"],
    )  # fmt: skip
    execution = execute_template(store, "teams", template, "x-teams")
    asking = [Requirement(id="REQ-5", text="List isolated people", priority="high")]
    report, files = run_report(store, tmp_path, report_task(template, execution, requirements=asking))
    assert execution.top[0].label == "Amira"
    title = "What holds the largest weakly connected component together"
    details = next(i for i in report.insights if i.title == title)
    assert details.text.startswith("Amira's weakly connected component (5 vertices, 50.0%) centres on Amira (3 ties).")
    assert "give a density of 0.5, 2.5× the whole graph's 0.2." in details.text
    assert "Over-represented in it: team red (100.0% of its people vs 60.0% of all people)." in details.text
    # Only the largest group is told in prose; the others are in the table it points at.
    assert "Farah" not in details.text and "Dara's" not in details.text
    assert 'The table "Largest groups in detail" describes the 3 largest' in details.text
    markdown = files["TPL-G.md"].decode()
    farah = "| component/1 | Farah | 4 | 40.0% | 0.6667 | Farah (3), Goran (2), Hana (2), Ines (1) | team blue (100.0% "
    assert farah in markdown
    # A lone vertex holds its own value 100%: that says nothing, so Zoe's row shows no value.
    assert "| component/2 | Zoe | 1 | 10.0% | 0 | Zoe (0) | — |" in markdown
    assert "Zoe alone" in next(i.text for i in report.insights if i.title.startswith("Small and isolated"))
    assert report.claims_rejected == []
    assert "| community/" not in files["TPL-G.md"].decode() and "Named after" in files["TPL-G.md"].decode()


def test_group_details_stay_fast_on_a_large_graph(tmp_path):
    """10^6 vertices and 5·10^6 edges in 1,000 groups: the details take a few seconds at most."""
    rng = np.random.default_rng(1)
    n, m = 1_000_000, 5_000_000
    src = rng.integers(0, n, m).astype(np.int32)
    dst = rng.integers(0, n, m).astype(np.int32)
    names = tmp_path / "v.parquet"
    pq.write_table(pa.table({"_key": pa.array([str(i) for i in range(n)])}), names)
    arrays = GraphArrays(
        num_vertices=n, src=src, dst=dst, collections=["v"], offsets=np.array([0, n]), vertex_files=[names]
    )
    groups = rng.integers(0, 1000, n)
    started = time.perf_counter()
    description = describe_groups(arrays, groups, ties_of(n, src, dst, groups), "community")
    assert time.perf_counter() - started < 8
    assert len(description.details) == 5 and len(description.small) == 10
    assert sum(d.size for d in description.details) <= n


def test_an_attribute_with_many_values_counts_as_categorical_up_to_one_value_per_five_vertices(tmp_path):
    """600 products: ``brand`` has 60 values (10 products each) and dominates the tight group of 30; ``code`` has 130
    values (more than one per 5 products), so it is no category even where one code covers the whole group."""
    n = 600
    group = np.arange(n) < 30
    brand = np.array([f"brand{i // 10:02d}" for i in range(n)], dtype=object)
    # The group: all 10 products of brand07 and one product from each of 20 other brands.
    members = np.concatenate((np.arange(70, 80), np.arange(100, 300, 10)))
    order = np.concatenate((members, np.setdiff1d(np.arange(n), members)))
    brand = brand[order]
    code = np.where(group, "X", np.array([f"c{i % 129}" for i in range(n)], dtype=object))
    path = tmp_path / "products.parquet"
    pq.write_table(pa.table({"_key": [str(i) for i in range(n)], "brand": brand.tolist(), "code": code.tolist()}), path)
    chain = np.arange(29)
    src = np.concatenate((chain, np.arange(30, n - 1)))
    dst = np.concatenate((chain + 1, np.arange(31, n)))
    arrays = GraphArrays(
        num_vertices=n, src=src, dst=dst, collections=["products"], offsets=np.array([0, n]), vertex_files=[path]
    )
    groups = np.where(group, 0, 1)
    [rest, tight] = describe_groups(arrays, groups, ties_of(n, src, dst, groups), "community").details[:2]
    assert tight.size == 30
    found = [(a.attribute, a.value, a.count, a.share, a.overall_share) for a in tight.attributes]
    assert found == [("brand", "brand07", 10, pytest.approx(10 / 30), pytest.approx(10 / 600))]
    assert len(set(brand)) == 60 and len(set(code)) == 130
    assert rest.attributes == []
