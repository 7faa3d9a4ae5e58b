"""The embedded graph store: imports, sampling, subgraph loading, results and the registry."""

from __future__ import annotations

import json
import os
import pickle
import sqlite3
import time
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from gaai.store import (
    EmbeddedStore,
    GraphExistsError,
    GraphImportError,
    GraphNotFoundError,
    GraphStore,
    StoreError,
    default_home,
)
from tests.files import write_jsonl


@pytest.fixture
def shop(tmp_path: Path) -> list[Path]:
    """A small hand-made graph: people, items, tags; edges bought (people→items, people→people), tagged."""
    src = tmp_path / "shop"
    src.mkdir()
    return [
        write_jsonl(
            src / "people.jsonl",
            [
                {"_key": "ann", "_id": "people/ann", "_rev": "_x1", "name": "Ann", "age": 31, "vip": True},
                {"_key": "bob", "title": "Dr Bob", "age": 40, "address": {"city": "Porto", "zip": ["4000"]}},
                {"_key": "cy", "email": "cy@example.com", "age": 22, "joined": "2021-01-02"},
            ],
        ),
        write_jsonl(
            src / "items.jsonl",
            [{"_key": "lamp", "name": "Lamp", "price": 10.5}, {"_key": "desk", "name": "Desk", "price": 99.0}],
        ),
        write_jsonl(src / "tags.jsonl", [{"_key": "home"}]),
        write_jsonl(
            src / "bought.jsonl",
            [
                {"_key": "b1", "_from": "people/ann", "_to": "items/lamp", "qty": 1},
                {"_key": "b2", "_from": "people/bob", "_to": "items/desk", "qty": 2},
                {"_key": "b3", "_from": "people/cy", "_to": "items/lamp", "qty": 1},
                {"_key": "b4", "_from": "people/bob", "_to": "people/ann", "qty": 5},
            ],
        ),
        write_jsonl(
            src / "tagged.jsonl",
            [{"_from": "items/lamp", "_to": "tags/home"}, {"_from": "items/desk", "_to": "tags/home"}],
        ),
    ]


class TestJsonImport:
    def test_counts_and_collections_in_import_order(self, store: EmbeddedStore, shop: list[Path]) -> None:
        """Each file becomes a collection named after its stem, with its document count."""
        info = store.import_graph("shop", shop)
        assert info.vertex_collections == {"people": 3, "items": 2, "tags": 1}
        assert info.edge_collections == {"bought": 4, "tagged": 2}
        assert (info.total_vertices, info.total_edges) == (6, 6)
        assert store.graph("shop") == info
        assert isinstance(store, GraphStore)

    def test_vertex_attributes_survive_a_round_trip(self, store: EmbeddedStore, shop: list[Path]) -> None:
        """Strings, numbers, booleans and nested values come back as imported; _rev is dropped."""
        store.import_graph("shop", shop)
        docs = store.sample_documents("shop", "people")
        assert docs == [
            {"_key": "ann", "_id": "people/ann", "name": "Ann", "age": 31, "vip": True},
            {
                "_key": "bob",
                "_id": "people/bob",
                "title": "Dr Bob",
                "age": 40,
                "address": {"city": "Porto", "zip": ["4000"]},
            },
            {"_key": "cy", "_id": "people/cy", "email": "cy@example.com", "age": 22, "joined": "2021-01-02"},
        ]
        assert type(docs[0]["age"]) is int

    def test_mixed_type_attributes_come_back_exactly(self, store: EmbeddedStore, tmp_path: Path) -> None:
        """An attribute that is a number in one document and a string in another keeps both."""
        path = write_jsonl(
            tmp_path / "things.jsonl",
            [{"_key": "1", "size": 3}, {"_key": "2", "size": "large"}, {"_key": "3", "size": [1, 2]}, {"_key": "4"}],
        )
        store.import_graph("g", [path])
        sizes = [doc.get("size") for doc in store.sample_documents("g", "things")]
        assert sizes == [3, "large", [1, 2], None]

    def test_edges_come_back_with_endpoints_and_keys(self, store: EmbeddedStore, shop: list[Path]) -> None:
        """Edge documents carry _from/_to; edges imported without a key get their row number."""
        store.import_graph("shop", shop)
        assert store.sample_documents("shop", "bought", limit=1)[0] == {
            "_key": "b1", "_id": "bought/b1", "_from": "people/ann", "_to": "items/lamp", "qty": 1,
        }  # fmt: skip
        assert [d["_key"] for d in store.sample_documents("shop", "tagged")] == ["0", "1"]

    def test_json_array_export_is_accepted(self, store: EmbeddedStore, tmp_path: Path) -> None:
        """A .json file holding one array (arangoexport --type json) imports like JSON lines."""
        path = tmp_path / "cities.json"
        path.write_text(json.dumps([{"_key": "a", "name": "Lyon"}, {"_key": "b", "name": "Porto"}]))
        info = store.import_graph("g", [path])
        assert info.vertex_collections == {"cities": 2}

    def test_a_directory_stands_for_its_files(self, store: EmbeddedStore, shop: list[Path]) -> None:
        """Importing a folder imports its .jsonl/.json/.csv files in name order."""
        info = store.import_graph("shop", [shop[0].parent])
        assert list(info.vertex_collections) == ["items", "people", "tags"]

    def test_dangling_edge_names_file_count_and_example(self, store: EmbeddedStore, shop: list[Path]) -> None:
        """Edges into vertices that were not imported fail the import, saying where."""
        write_jsonl(
            shop[3],
            [
                {"_from": "people/ann", "_to": "items/lamp"},
                {"_from": "people/zed", "_to": "items/lamp"},
                {"_from": "people/ann", "_to": "shops/s1"},
            ],
        )
        with pytest.raises(GraphImportError) as caught:
            store.import_graph("shop", shop)
        message = caught.value.message
        assert caught.value.code == "bad_import"
        assert "bought.jsonl" in message and "2 edge(s)" in message
        assert "line 2" in message and "people/zed" in message and "no such key" in message
        assert not store.has_graph("shop")

    def test_edge_into_a_collection_not_imported_is_an_error_for_json(
        self, store: EmbeddedStore, shop: list[Path]
    ) -> None:
        """JSON edges may not point into a collection no file provides."""
        with pytest.raises(GraphImportError, match="no vertex collection 'tags'"):
            store.import_graph("shop", [p for p in shop if p.stem != "tags"])

    def test_duplicate_key_is_an_error(self, store: EmbeddedStore, tmp_path: Path) -> None:
        """Two documents with one _key in a collection fail the import, naming both lines."""
        path = write_jsonl(tmp_path / "people.jsonl", [{"_key": "a"}, {"_key": "b"}, {"_key": "a"}])
        with pytest.raises(
            GraphImportError, match=r"people.jsonl: 1 duplicate _key\(s\), e.g. 'a' at line 1 and line 3"
        ):
            store.import_graph("g", [path])

    def test_missing_key_names_the_line(self, store: EmbeddedStore, tmp_path: Path) -> None:
        """A vertex document without _key is reported with its line (blank lines counted)."""
        path = tmp_path / "people.jsonl"
        path.write_text('{"_key": "a"}\n\n{"name": "nobody"}\n')
        with pytest.raises(GraphImportError, match=r"people\.jsonl: line 3 has no '_key'"):
            store.import_graph("g", [path])

    def test_invalid_json_names_the_line(self, store: EmbeddedStore, tmp_path: Path) -> None:
        """A line that is not JSON is reported with its number."""
        path = tmp_path / "people.jsonl"
        path.write_text('{"_key": "a"}\n{"_key": "b",\n')
        with pytest.raises(GraphImportError, match=r"people\.jsonl, line 2: not valid JSON"):
            store.import_graph("g", [path])

    def test_bad_collection_and_graph_names(self, store: EmbeddedStore, tmp_path: Path) -> None:
        """File stems and graph names must be valid names."""
        bad_file = write_jsonl(tmp_path / "my people.jsonl", [{"_key": "a"}])
        with pytest.raises(GraphImportError, match="'my people' is not a valid collection name"):
            store.import_graph("g", [bad_file])
        good = write_jsonl(tmp_path / "people.jsonl", [{"_key": "a"}])
        for name in ("../escape", "", "9lives", "x" * 129):
            with pytest.raises(StoreError) as caught:
                store.import_graph(name, [good])
            assert caught.value.code == "bad_name"
        assert not (tmp_path / "escape").exists()

    def test_existing_graph_needs_replace(self, store: EmbeddedStore, shop: list[Path], tmp_path: Path) -> None:
        """Importing over a graph fails unless replace is asked; a replace swaps the data and files."""
        first = store.import_graph("shop", shop)
        with pytest.raises(GraphExistsError) as caught:
            store.import_graph("shop", shop[:1])
        assert caught.value.code == "graph_exists"
        assert store.graph("shop") == first

        second = store.import_graph("shop", shop[:1], replace=True)
        assert second.version != first.version
        assert second.vertex_collections == {"people": 3} and second.edge_collections == {}
        assert not (store.home / "graphs" / "shop" / first.version).exists()
        assert sorted(p.name for p in (store.home / "graphs" / "shop").iterdir()) == [second.version]

    def test_failed_import_leaves_nothing_behind(self, store: EmbeddedStore, shop: list[Path], tmp_path: Path) -> None:
        """A rejected import registers nothing and leaves no files."""
        broken = write_jsonl(tmp_path / "broken.jsonl", [{"_from": "people/ann"}])
        with pytest.raises(GraphImportError, match="'_to' is missing"):
            store.import_graph("shop", [*shop, broken])
        assert store.list_graphs() == []
        assert list((store.home / "graphs" / "shop").iterdir()) == []


class TestCsvImport:
    def test_bare_keys_make_an_implicit_vertices_collection(self, store: EmbeddedStore, tmp_path: Path) -> None:
        """source,target edges with bare keys create 'vertices' from the distinct keys, in first-seen order.

        Extra columns become typed attributes; dates stay text; an empty numeric cell is absent.
        """
        path = tmp_path / "links.csv"
        path.write_text("source,target,weight,label,when\nb,a,1.5,x,2021-03-04\na,c,2,,2022-01-01\nc,b,,y,\n")
        info = store.import_graph("g", [path])
        assert info.vertex_collections == {"vertices": 3}
        assert info.edge_collections == {"links": 3}
        assert [d["_key"] for d in store.sample_documents("g", "vertices")] == ["b", "a", "c"]
        edges = store.sample_documents("g", "links")
        assert edges[0] == {
            "_key": "0", "_id": "links/0", "_from": "vertices/b", "_to": "vertices/a",
            "weight": 1.5, "label": "x", "when": "2021-03-04",
        }  # fmt: skip
        assert edges[1]["label"] == "" and edges[2]["when"] == ""
        assert "weight" not in edges[2]

    def test_prefixed_endpoints_join_json_vertices(
        self, store: EmbeddedStore, shop: list[Path], tmp_path: Path
    ) -> None:
        """collection/key endpoints point into imported collections; an absent collection is created."""
        path = tmp_path / "likes.csv"
        path.write_text("_from,_to\npeople/ann,items/desk\npeople/cy,brands/acme\npeople/bob,brands/acme\n")
        info = store.import_graph("shop", [*shop, path])
        assert info.vertex_collections == {"people": 3, "items": 2, "tags": 1, "brands": 1}
        assert store.edge_endpoint_counts("shop", "likes") == [("people", "brands", 2), ("people", "items", 1)]

    def test_missing_key_in_an_imported_collection_is_an_error(
        self, store: EmbeddedStore, shop: list[Path], tmp_path: Path
    ) -> None:
        """A CSV endpoint naming an imported collection must name one of its keys."""
        path = tmp_path / "likes.csv"
        path.write_text("from,to\npeople/ann,items/desk\npeople/ann,items/sofa\n")
        with pytest.raises(GraphImportError, match=r"likes.csv: 1 edge\(s\).*line 3: _to 'items/sofa'"):
            store.import_graph("shop", [*shop, path])

    def test_header_without_endpoints_is_explained(self, store: EmbeddedStore, tmp_path: Path) -> None:
        """A CSV without endpoint columns says which headers it accepts and what it found."""
        path = tmp_path / "links.csv"
        path.write_text("a,b\n1,2\n")
        with pytest.raises(GraphImportError, match="'_from,_to', 'source,target' or 'from,to'; found: a, b"):
            store.import_graph("g", [path])


class TestLoadArrays:
    def test_selected_collections_in_given_order(self, store: EmbeddedStore, shop: list[Path]) -> None:
        """Vertices are the selected collections concatenated in order; edges map to those indices."""
        store.import_graph("shop", shop)
        arrays = store.load_arrays("shop", ["items", "people"], ["bought"])
        assert arrays.collections == ["items", "people"]
        assert arrays.offsets.tolist() == [0, 2, 5]
        assert arrays.num_vertices == 5
        assert arrays.vertex_ids(range(5)) == ["items/lamp", "items/desk", "people/ann", "people/bob", "people/cy"]
        edges = sorted(zip(arrays.vertex_ids(arrays.src), arrays.vertex_ids(arrays.dst), strict=True))
        assert edges == [
            ("people/ann", "items/lamp"),
            ("people/bob", "items/desk"),
            ("people/bob", "people/ann"),
            ("people/cy", "items/lamp"),
        ]
        assert arrays.num_edges == 4
        assert arrays.src.dtype == np.int32
        assert arrays.collection_index([0, 1, 2, 4]).tolist() == [0, 0, 1, 1]

    def test_edges_leaving_the_selection_are_dropped(self, store: EmbeddedStore, shop: list[Path]) -> None:
        """Only edges with both endpoints among the selected vertex collections are kept."""
        store.import_graph("shop", shop)
        arrays = store.load_arrays("shop", ["people"], ["bought", "tagged"])
        assert arrays.num_vertices == 3
        assert list(zip(arrays.vertex_ids(arrays.src), arrays.vertex_ids(arrays.dst), strict=True)) == [
            ("people/bob", "people/ann")
        ]
        assert store.load_arrays("shop", ["items", "tags"], ["bought", "tagged"]).num_edges == 2
        assert store.load_arrays("shop", ["tags"], []).num_edges == 0

    def test_labels_prefer_name_then_title_then_email_then_key(self, store: EmbeddedStore, shop: list[Path]) -> None:
        """A vertex's label is its first present label attribute, else its key."""
        store.import_graph("shop", shop)
        arrays = store.load_arrays("shop", ["people", "tags"], [])
        assert arrays.labels([3, 2, 1, 0]) == ["home", "cy@example.com", "Dr Bob", "Ann"]

    def test_arrays_travel_to_another_process(self, store: EmbeddedStore, shop: list[Path]) -> None:
        """Loaded arrays survive pickling (as for a worker process) and still resolve keys and labels."""
        store.import_graph("shop", shop)
        arrays = pickle.loads(pickle.dumps(store.load_arrays("shop", ["people"], ["bought"])))
        assert arrays.keys([2, 0]) == ["cy", "ann"]
        assert arrays.labels([0]) == ["Ann"]
        assert arrays.src.tolist() == [1] and arrays.dst.tolist() == [0]

    def test_unknown_and_repeated_collections_are_refused(self, store: EmbeddedStore, shop: list[Path]) -> None:
        """Selecting a collection the graph lacks names the graph's collections."""
        store.import_graph("shop", shop)
        with pytest.raises(StoreError) as caught:
            store.load_arrays("shop", ["people", "shops"], [])
        assert caught.value.code == "unknown_collection"
        assert "people, items, tags" in caught.value.message and "bought, tagged" in caught.value.message
        with pytest.raises(StoreError, match="no edge collection 'people'"):
            store.load_arrays("shop", ["people"], ["people"])
        with pytest.raises(StoreError) as caught:
            store.load_arrays("shop", ["people", "people"], [])
        assert caught.value.code == "duplicate_collection"

    def test_unknown_graph_lists_known_graphs(self, store: EmbeddedStore, shop: list[Path]) -> None:
        """Asking for a missing graph names it and the graphs that exist."""
        store.import_graph("shop", shop)
        with pytest.raises(GraphNotFoundError) as caught:
            store.load_arrays("shoop", ["people"], [])
        assert caught.value.code == "unknown_graph"
        assert "'shoop'" in caught.value.message and "shop" in caught.value.message

    def test_out_of_range_index_is_refused(self, store: EmbeddedStore, shop: list[Path]) -> None:
        """Vertex lookups outside the subgraph fail instead of reading another collection."""
        store.import_graph("shop", shop)
        arrays = store.load_arrays("shop", ["items"], [])
        with pytest.raises(StoreError, match="out of range"):
            arrays.vertex_ids([2])


class TestSampling:
    def test_samples_spread_over_the_collection(self, store: EmbeddedStore, tmp_path: Path) -> None:
        """A sample smaller than the collection spans it from the first to the last document."""
        path = write_jsonl(tmp_path / "nums.jsonl", [{"_key": f"k{i}", "i": i} for i in range(1000)])
        store.import_graph("g", [path])
        sample = store.sample_documents("g", "nums", limit=5)
        assert [d["i"] for d in sample] == [0, 250, 500, 749, 999]
        assert len(store.sample_documents("g", "nums")) == 200
        assert store.sample_documents("g", "nums", limit=0) == []

    def test_endpoint_counts_cover_all_edges(self, store: EmbeddedStore, shop: list[Path]) -> None:
        """Counts per (from, to) collection pair, most edges first; vertex collections are refused."""
        store.import_graph("shop", shop)
        assert store.edge_endpoint_counts("shop", "bought") == [("people", "items", 3), ("people", "people", 1)]
        with pytest.raises(StoreError, match="no edge collection 'people'"):
            store.edge_endpoint_counts("shop", "people")


class TestResults:
    def test_results_round_trip(self, store: EmbeddedStore, shop: list[Path]) -> None:
        """Per-vertex values are stored with ids, collections and keys, and read back by reference."""
        store.import_graph("shop", shop)
        arrays = store.load_arrays("shop", ["items", "people"], ["bought"])
        ref = store.write_vertex_results("shop", "exec-1", arrays, "rank", np.arange(5) / 10)
        assert ref == "results/shop/exec-1.parquet"
        table = store.read_vertex_results(ref)
        assert table.column_names == ["_id", "collection", "_key", "rank"]
        rows = table.to_pylist()
        assert rows[0] == {"_id": "items/lamp", "collection": "items", "_key": "lamp", "rank": 0.0}
        assert rows[4] == {"_id": "people/cy", "collection": "people", "_key": "cy", "rank": 0.4}
        assert pq.read_table(store.home / ref).num_rows == 5

    def test_same_id_rewrites_other_ids_are_kept(self, store: EmbeddedStore, shop: list[Path]) -> None:
        """Writing an execution id again replaces its file; other executions are untouched."""
        store.import_graph("shop", shop)
        arrays = store.load_arrays("shop", ["people"], [])
        first = store.write_vertex_results("shop", "a", arrays, "score", np.array([1, 2, 3]))
        store.write_vertex_results("shop", "a", arrays, "score", np.array([7, 8, 9]))
        other = store.write_vertex_results("shop", "b", arrays, "score", np.array([4, 5, 6]))
        assert store.read_vertex_results(first).column("score").to_pylist() == [7, 8, 9]
        assert store.read_vertex_results(other).column("score").to_pylist() == [4, 5, 6]
        assert sorted(p.name for p in (store.home / "results" / "shop").iterdir()) == ["a.parquet", "b.parquet"]

    def test_a_killed_writers_temp_file_goes_when_its_execution_is_written(
        self, store: EmbeddedStore, shop: list[Path]
    ) -> None:
        """A writer SIGKILLed mid-write leaves ``.<id>.<token>.tmp``; the next write of that id removes it."""
        store.import_graph("shop", shop)
        arrays = store.load_arrays("shop", ["people"], [])
        results = store.home / "results" / "shop"
        results.mkdir(parents=True)
        (results / ".a.0123456789ab.tmp").write_bytes(b"half a parquet file")
        (results / ".b.0123456789ab.tmp").write_bytes(b"another execution, still being written")
        store.write_vertex_results("shop", "a", arrays, "score", np.array([1, 2, 3]))
        assert sorted(p.name for p in results.iterdir()) == [".b.0123456789ab.tmp", "a.parquet"]

    def test_bad_references_and_values_are_refused(self, store: EmbeddedStore, shop: list[Path]) -> None:
        """References outside the results folder, bad ids and wrongly sized values fail."""
        store.import_graph("shop", shop)
        arrays = store.load_arrays("shop", ["people"], [])
        for ref in ("../store.sqlite", "results/../store.sqlite", "/etc/passwd", "graphs/shop/x.parquet", ""):
            with pytest.raises(StoreError) as caught:
                store.read_vertex_results(ref)
            assert caught.value.code == "bad_result_ref"
        with pytest.raises(StoreError) as caught:
            store.read_vertex_results("results/shop/nothing.parquet")
        assert caught.value.code == "unknown_result"
        with pytest.raises(StoreError, match="Invalid execution id"):
            store.write_vertex_results("shop", "../x", arrays, "score", np.zeros(3))
        with pytest.raises(StoreError, match="Expected 3 values"):
            store.write_vertex_results("shop", "x", arrays, "score", np.zeros(4))
        with pytest.raises(StoreError, match="Invalid result field"):
            store.write_vertex_results("shop", "x", arrays, "_key", np.zeros(3))


class TestRegistry:
    def test_list_has_and_delete(self, store: EmbeddedStore, shop: list[Path]) -> None:
        """Graphs are listed by name; deleting removes the entry and the files."""
        store.import_graph("zeta", shop[:1])
        beta = store.import_graph("beta", shop)
        assert [g.name for g in store.list_graphs()] == ["beta", "zeta"]
        assert store.has_graph("beta") and not store.has_graph("gamma") and not store.has_graph("../x")
        store.delete_graph("beta")
        assert [g.name for g in store.list_graphs()] == ["zeta"]
        assert not (store.home / "graphs" / "beta" / beta.version).exists()
        with pytest.raises(GraphNotFoundError, match="Known graphs: zeta"):
            store.delete_graph("beta")

    def test_files_open_with_standard_tools(self, store: EmbeddedStore, shop: list[Path]) -> None:
        """The registry is plain SQLite in WAL mode and each collection a Parquet file."""
        info = store.import_graph("shop", shop)
        with sqlite3.connect(store.home / "store.sqlite") as conn:
            assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
            rows = conn.execute("SELECT name, kind, count FROM collections WHERE graph='shop' ORDER BY name").fetchall()
        conn.close()
        assert rows == [
            ("bought", "edge", 4),
            ("items", "vertex", 2),
            ("people", "vertex", 3),
            ("tagged", "edge", 2),
            ("tags", "vertex", 1),
        ]
        edges = pq.read_table(store.home / "graphs" / "shop" / info.version / "bought.parquet")
        assert edges.column("_from").to_pylist() == ["people/ann", "people/bob", "people/cy", "people/bob"]

    def test_stale_leftovers_are_swept(self, store: EmbeddedStore, shop: list[Path]) -> None:
        """Directories an interrupted import left behind long ago are removed by the next import."""
        leftover = store.home / "graphs" / "shop" / ".crashed-import"
        leftover.mkdir(parents=True)
        (leftover / "people.parquet").write_bytes(b"partial")
        old = time.time() - 2 * 3600
        os.utime(leftover, (old, old))
        fresh = store.home / "graphs" / "shop" / ".running-import"
        fresh.mkdir()
        store.import_graph("shop", shop)
        assert not leftover.exists() and fresh.exists()

    def test_default_home_follows_the_environment(self, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
        """GAAI_HOME wins, then XDG_DATA_HOME/gaai, then ~/.local/share/gaai."""
        monkeypatch.setenv("GAAI_HOME", str(tmp_path / "g"))
        monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
        assert default_home() == tmp_path / "g"
        monkeypatch.delenv("GAAI_HOME")
        assert default_home() == tmp_path / "xdg" / "gaai"
        monkeypatch.delenv("XDG_DATA_HOME")
        monkeypatch.setenv("HOME", str(tmp_path / "h"))
        assert default_home() == tmp_path / "h" / ".local" / "share" / "gaai"
        assert EmbeddedStore().home == default_home()


def test_a_store_sent_to_a_worker_process_reads_the_same_graphs(tmp_path):
    # The execution agent hands its store to a worker process by pickling it.
    edges = tmp_path / "edges.csv"
    edges.write_text("source,target\na,b\nb,c\n")
    store = EmbeddedStore(tmp_path / "home")
    store.import_graph("g", [edges])
    assert store.has_graph("g")  # the reading connection is open now
    copy = pickle.loads(pickle.dumps(store))
    assert copy.has_graph("g") and not copy.has_graph("h")
    store.import_graph("h", [edges])
    assert copy.has_graph("h"), "a change made elsewhere is seen by the next read"
