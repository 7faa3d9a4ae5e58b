"""Edge semantics in the embedded store: declared at import, validated, kept, changed, loaded as arrays."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
import pytest

from gaai.bus.domain import EdgeSemantics
from gaai.store import EmbeddedStore, GraphImportError, StoreError
from tests.files import write_jsonl


@pytest.fixture
def club(tmp_path: Path) -> list[Path]:
    """People and teams; `knows` (people–people, a strength), `plays_for` (people → teams and people → people)."""
    src = tmp_path / "club"
    src.mkdir()
    return [
        write_jsonl(src / "people.jsonl", [{"_key": k} for k in ("ann", "bob", "cy", "dee")]),
        write_jsonl(src / "teams.jsonl", [{"_key": "reds"}, {"_key": "blues"}]),
        write_jsonl(
            src / "knows.jsonl",
            [
                {"_from": "people/ann", "_to": "people/bob", "strength": 3, "since": "2020"},
                {"_from": "people/bob", "_to": "people/cy", "strength": 0.5, "since": "2021"},
                {"_from": "people/cy", "_to": "people/dee", "strength": 2, "since": "2019"},
            ],
        ),
        write_jsonl(
            src / "plays_for.jsonl",
            [
                {"_from": "people/ann", "_to": "teams/reds", "games": 10},
                {"_from": "people/bob", "_to": "people/ann", "games": 4},
                {"_from": "people/cy", "_to": "teams/blues", "games": 7},
                {"_from": "people/dee", "_to": "people/cy", "games": 1},
            ],
        ),
    ]


KNOWS = EdgeSemantics(collection="knows", directed=False, weight_field="strength")


def test_semantics_declared_at_import_are_kept_and_listed(store: EmbeddedStore, club: list[Path]) -> None:
    """What an import declares is what the registry gives back, in every listing and to a new store object."""
    info = store.import_graph("club", club, semantics=[KNOWS])
    expected = {"knows": KNOWS, "plays_for": EdgeSemantics(collection="plays_for")}
    assert info.edge_semantics == expected
    assert store.graph("club").edge_semantics == expected
    assert [g.edge_semantics for g in store.list_graphs()] == [expected]
    assert EmbeddedStore(store.home).graph("club").edge_semantics == expected
    assert store.graph("club").semantics("plays_for") == EdgeSemantics(collection="plays_for", directed=True)


def test_edges_are_directed_and_unweighted_unless_declared(store: EmbeddedStore, club: list[Path]) -> None:
    store.import_graph("club", club)
    assert {s.collection: (s.directed, s.weight_field) for s in store.graph("club").edge_semantics.values()} == {
        "knows": (True, None),
        "plays_for": (True, None),
    }
    arrays = store.load_arrays("club", ["people", "teams"], ["knows", "plays_for"])
    assert arrays.weights is None and arrays.undirected is None


@pytest.mark.parametrize(
    ("knows", "message"),
    [
        (
            [{"_from": "people/ann", "_to": "people/bob", "w": 1}, {"_from": "people/bob", "_to": "people/cy"},
             {"_from": "people/cy", "_to": "people/ann"}],
            "Edge collection 'knows': weight field 'w' is missing on 2 of 3 edges "
            "(e.g. the edge people/bob -> people/cy has no value); a weight must be a number >= 0 on every edge.",
        ),
        (
            [{"_from": "people/ann", "_to": "people/bob", "w": 1},
             {"_from": "people/bob", "_to": "people/cy", "w": "heavy"}],
            "Edge collection 'knows': weight field 'w' is not a number on 1 of 2 edges "
            "(e.g. the edge people/bob -> people/cy has '\"heavy\"'); a weight must be a number >= 0 on every edge.",
        ),
        (
            [{"_from": "people/ann", "_to": "people/bob", "w": 2.5},
             {"_from": "people/bob", "_to": "people/cy", "w": -1}],
            "Edge collection 'knows': weight field 'w' is negative or infinite on 1 of 2 edges "
            "(e.g. the edge people/bob -> people/cy has -1.0); a weight must be a number >= 0 on every edge.",
        ),
        (
            [{"_from": "people/ann", "_to": "people/bob", "w": "1"}],
            "Edge collection 'knows': weight field 'w' is not a number on 1 of 1 edge "
            "(e.g. the edge people/ann -> people/bob has '1'); a weight must be a number >= 0 on every edge.",
        ),
        (
            [{"_from": "people/ann", "_to": "people/bob", "strength": 1, "day": 3}],
            "Edge collection 'knows' has no field 'w' to use as weight (its numeric fields: strength, day).",
        ),
    ],
)  # fmt: skip
def test_a_weight_that_is_not_a_number_on_every_edge_fails_the_import(
    store: EmbeddedStore, tmp_path: Path, knows: list[dict], message: str
) -> None:
    """The error names collection, field, how many edges are affected and one of them; nothing is registered."""
    people = write_jsonl(tmp_path / "people.jsonl", [{"_key": k} for k in ("ann", "bob", "cy")])
    edges = write_jsonl(tmp_path / "knows.jsonl", knows)
    with pytest.raises(GraphImportError) as caught:
        store.import_graph("g", [people, edges], semantics=[EdgeSemantics(collection="knows", weight_field="w")])
    assert caught.value.message == message
    assert not store.has_graph("g")
    assert list((store.home / "graphs" / "g").iterdir()) == []


def test_a_csv_weight_column_with_a_stray_value_is_counted(store: EmbeddedStore, tmp_path: Path) -> None:
    edges = tmp_path / "ties.csv"
    edges.write_text("source,target,weight\na,b,2\nb,c,x\nc,a,\nc,d,1.5\n")
    with pytest.raises(GraphImportError) as caught:
        store.import_graph("g", [edges], semantics=[EdgeSemantics(collection="ties", weight_field="weight")])
    assert caught.value.message == (
        "Edge collection 'ties': weight field 'weight' is missing on 1 of 4 edges and not a number on 1 of 4 edges "
        "(e.g. the edge vertices/c -> vertices/a has no value); a weight must be a number >= 0 on every edge."
    )


def test_semantics_must_name_each_edge_collection_once(store: EmbeddedStore, club: list[Path]) -> None:
    cases = [
        ([EdgeSemantics(collection="people", directed=False)], "'people' is a vertex collection of graph 'club'"),
        ([EdgeSemantics(collection="likes")], "'likes' is not a collection of graph 'club'"),
        ([KNOWS, EdgeSemantics(collection="knows")], "Edge collection 'knows' is declared more than once."),
    ]
    for semantics, start in cases:
        with pytest.raises(GraphImportError) as caught:
            store.import_graph("club", club, semantics=semantics)
        assert caught.value.message.startswith(start)
    assert not store.has_graph("club")
    with pytest.raises(GraphImportError) as caught:
        store.import_graph("club", club, semantics=[EdgeSemantics(collection="likes")])
    assert caught.value.message == (
        "'likes' is not a collection of graph 'club'; direction and weight are declared for its edge "
        "collections: knows, plays_for."
    )


def test_set_semantics_changes_only_the_named_collections(store: EmbeddedStore, club: list[Path]) -> None:
    store.import_graph("club", club, semantics=[KNOWS])
    version = store.graph("club").version
    info = store.set_semantics("club", [EdgeSemantics(collection="plays_for", weight_field="games")])
    assert info.edge_semantics == {
        "knows": KNOWS,
        "plays_for": EdgeSemantics(collection="plays_for", directed=True, weight_field="games"),
    }
    assert store.graph("club").edge_semantics == info.edge_semantics and info.version == version
    with pytest.raises(StoreError) as caught:
        store.set_semantics("club", [EdgeSemantics(collection="knows", weight_field="since")])
    assert caught.value.code == "bad_weight"
    assert "weight field 'since' is not a number on 3 of 3 edges" in caught.value.message
    with pytest.raises(StoreError) as unknown:
        store.set_semantics("club", [EdgeSemantics(collection="teams", directed=False)])
    assert unknown.value.code == "unknown_collection"
    assert store.graph("club").edge_semantics == info.edge_semantics


def test_check_semantics_keeps_nothing(store: EmbeddedStore, club: list[Path]) -> None:
    store.import_graph("club", club)
    store.check_semantics("club", [KNOWS])
    assert store.graph("club").semantics("knows") == EdgeSemantics(collection="knows")
    with pytest.raises(StoreError) as caught:
        store.check_semantics("club", [EdgeSemantics(collection="knows", weight_field="strenght")])
    assert caught.value.code == "bad_weight"
    assert caught.value.message == (
        "Edge collection 'knows' has no field 'strenght' to use as weight (its numeric fields: strength)."
    )


def test_load_arrays_gives_weights_and_direction_per_edge(store: EmbeddedStore, club: list[Path]) -> None:
    """Weights follow their edges through the dropping of edges outside the selection; others weigh 1."""
    store.import_graph("club", club, semantics=[KNOWS])
    arrays = store.load_arrays("club", ["people"], ["plays_for", "knows"])
    ids = arrays.vertex_ids(np.arange(arrays.num_vertices))
    edges = [(ids[s], ids[d]) for s, d in zip(arrays.src.tolist(), arrays.dst.tolist(), strict=True)]
    assert edges == [
        ("people/bob", "people/ann"),
        ("people/dee", "people/cy"),
        ("people/ann", "people/bob"),
        ("people/bob", "people/cy"),
        ("people/cy", "people/dee"),
    ]
    assert arrays.weights.dtype == np.float64
    assert arrays.weights.tolist() == [1.0, 1.0, 3.0, 0.5, 2.0]
    assert arrays.undirected.tolist() == [False, False, True, True, True]
    assert arrays.edge_semantics == [EdgeSemantics(collection="plays_for"), KNOWS]


def test_load_arrays_semantics_override_the_registry(store: EmbeddedStore, club: list[Path]) -> None:
    store.import_graph("club", club, semantics=[KNOWS])
    games = EdgeSemantics(collection="plays_for", directed=False, weight_field="games")
    arrays = store.load_arrays(
        "club", ["people", "teams"], ["knows", "plays_for"], [EdgeSemantics(collection="knows"), games]
    )
    assert arrays.weights.tolist() == [1.0, 1.0, 1.0, 10.0, 4.0, 7.0, 1.0]
    assert arrays.undirected.tolist() == [False, False, False, True, True, True, True]
    plain = store.load_arrays("club", ["people"], ["knows"], [EdgeSemantics(collection="knows")])
    assert plain.weights is None and plain.undirected is None
    with pytest.raises(StoreError) as caught:
        store.load_arrays("club", ["people"], ["knows"], [EdgeSemantics(collection="knows", weight_field="since")])
    assert caught.value.code == "bad_weight"


def test_numeric_field_stats_cover_every_document(store: EmbeddedStore, club: list[Path]) -> None:
    store.import_graph("club", club)
    [strength] = store.numeric_field_stats("club", "knows")
    assert (strength.name, strength.present, strength.total, strength.minimum, strength.maximum) == (
        "strength", 3, 3, 0.5, 3.0,
    )  # fmt: skip
    assert store.numeric_field_stats("club", "people") == []
    with pytest.raises(StoreError) as caught:
        store.numeric_field_stats("club", "likes")
    assert caught.value.code == "unknown_collection"


def test_a_plain_csv_edge_list_with_a_weight(store: EmbeddedStore, tmp_path: Path) -> None:
    """`source,target,weight`: an edge collection named after the file, endpoints into `vertices`."""
    karate = tmp_path / "karate.csv"
    karate.write_text("source,target,weight\n1,2,4\n1,3,5\n2,3,6\n")
    info = store.import_graph("karate", [karate], semantics=[EdgeSemantics(collection="karate", directed=False,
                                                                            weight_field="weight")])  # fmt: skip
    assert info.vertex_collections == {"vertices": 3} and info.edge_collections == {"karate": 3}
    arrays = store.load_arrays("karate", ["vertices"], ["karate"])
    assert arrays.weights.tolist() == [4.0, 5.0, 6.0] and arrays.undirected.all()


def test_a_registry_from_before_semantics_keeps_working(store: EmbeddedStore, club: list[Path]) -> None:
    """A registry without the semantics columns opens, reads every edge as directed, and can be declared."""
    store.import_graph("club", club)
    with sqlite3.connect(store.home / "store.sqlite") as conn:
        conn.executescript(
            """
            CREATE TABLE old AS SELECT graph, name, kind, position, count FROM collections;
            DROP TABLE collections;
            ALTER TABLE old RENAME TO collections;
            PRAGMA user_version = 1;
            """
        )
    reopened = EmbeddedStore(store.home)
    assert reopened.graph("club").edge_semantics == {
        "knows": EdgeSemantics(collection="knows"),
        "plays_for": EdgeSemantics(collection="plays_for"),
    }
    assert reopened.load_arrays("club", ["people"], ["knows"]).weights is None
    assert reopened.set_semantics("club", [KNOWS]).semantics("knows") == KNOWS
