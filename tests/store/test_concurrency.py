"""Several processes on one store home: imports, replaces and reads must not corrupt or mix graphs."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from gaai.store import EmbeddedStore

REPO = Path(__file__).resolve().parents[2]

IMPORT = """
import sys
from pathlib import Path
from gaai.store import EmbeddedStore
store = EmbeddedStore(Path(sys.argv[1]))
for i in range(int(sys.argv[4])):
    source = Path(sys.argv[2] if i % 2 == 0 else sys.argv[3])
    store.import_graph(sys.argv[5], [source / "nodes.jsonl", source / "links.csv"], replace=True)
"""

READ = """
import json, sys
from pathlib import Path
from gaai.store import EmbeddedStore
store = EmbeddedStore(Path(sys.argv[1]))
expected = json.loads(sys.argv[2])
stop = Path(sys.argv[3])
reads, problems = 0, []
while not stop.exists() or reads == 0:
    if not store.has_graph("g"):
        continue
    arrays = store.load_arrays("g", ["nodes"], ["links"])
    if expected.get(str(arrays.num_vertices)) != arrays.num_edges:
        problems.append(f"{arrays.num_vertices} vertices with {arrays.num_edges} edges")
    if arrays.num_edges and int(max(arrays.src.max(), arrays.dst.max())) >= arrays.num_vertices:
        problems.append("edge index outside the vertex range")
    info = store.graph("g")
    if expected.get(str(info.vertex_collections["nodes"])) != info.edge_collections["links"]:
        problems.append(f"registry mixes versions: {info}")
    docs = store.sample_documents("g", "links", 3)
    if len(docs) != 3 or not docs[0]["_from"].startswith("nodes/"):
        problems.append(f"bad sample {docs}")
    reads += 1
print(json.dumps({"reads": reads, "problems": problems}))
"""

ENSURE = """
import sys
from pathlib import Path
from gaai.store import EmbeddedStore
from gaai.store.sample import ensure_sample_graph
print(ensure_sample_graph(EmbeddedStore(Path(sys.argv[1]))).version)
"""


def python(code: str, *args: object) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", code, *map(str, args)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(*processes: subprocess.Popen[str], timeout: float = 60) -> list[str]:
    """Each process's output, once every one has ended (none is left running if one failed)."""
    outcomes = [process.communicate(timeout=timeout) for process in processes]
    for process, (_, err) in zip(processes, outcomes, strict=True):
        assert process.returncode == 0, err
    return [out for out, _ in outcomes]


def make_graph(folder: Path, vertices: int, edges: int, seed: int) -> Path:
    """A vertex file and a CSV edge list with the given sizes."""
    folder.mkdir()
    rng = np.random.default_rng(seed)
    (folder / "nodes.jsonl").write_text("".join(f'{{"_key": "n{i}", "name": "node {i}"}}\n' for i in range(vertices)))
    pairs = rng.integers(0, vertices, (edges, 2))
    (folder / "links.csv").write_text("_from,_to,w\n" + "".join(f"nodes/n{a},nodes/n{b},{a % 7}\n" for a, b in pairs))
    return folder


@pytest.fixture
def versions(tmp_path: Path) -> tuple[Path, Path, dict[str, int]]:
    small = make_graph(tmp_path / "small", 100, 300, seed=1)
    large = make_graph(tmp_path / "large", 2000, 8000, seed=2)
    return small, large, {"100": 300, "2000": 8000}


def test_readers_see_whole_versions_while_another_process_replaces(
    tmp_path: Path, versions: tuple[Path, Path, dict[str, int]]
) -> None:
    """A reader process never sees half a graph or a mix of two versions while a writer replaces it."""
    small, large, expected = versions
    home, stop = tmp_path / "home", tmp_path / "stop"
    EmbeddedStore(home).import_graph("g", [small / "nodes.jsonl", small / "links.csv"])
    reader = python(READ, home, json.dumps(expected), stop)
    writer = python(IMPORT, home, large, small, 16, "g")
    try:
        finish(writer)
    finally:
        stop.touch()
    [output] = finish(reader)
    report = json.loads(output)
    assert report["problems"] == []
    assert report["reads"] > 0
    store = EmbeddedStore(home)
    assert store.graph("g").vertex_collections == {"nodes": 100}
    assert len(list((home / "graphs" / "g").iterdir())) == 1


def test_parallel_imports_of_different_graphs_on_a_new_home(
    tmp_path: Path, versions: tuple[Path, Path, dict[str, int]]
) -> None:
    """Processes creating the registry and importing different graphs at once all succeed."""
    small, large, expected = versions
    home = tmp_path / "home"
    writers = [python(IMPORT, home, small if i % 2 else large, small, 3, f"graph{i}") for i in range(3)]
    finish(*writers)
    store = EmbeddedStore(home)
    assert [g.name for g in store.list_graphs()] == ["graph0", "graph1", "graph2"]
    for i in range(3):
        info = store.graph(f"graph{i}")
        assert info.vertex_collections == {"nodes": 2000 if i % 2 == 0 else 100}
        arrays = store.load_arrays(f"graph{i}", ["nodes"], ["links"])
        assert arrays.num_edges == expected[str(arrays.num_vertices)]


def test_ensure_sample_graph_from_two_processes_imports_once(tmp_path: Path) -> None:
    """Two processes ensuring the sample graph end up with the same single graph."""
    home = tmp_path / "home"
    first, second = python(ENSURE, home), python(ENSURE, home)
    versions = {output.strip() for output in finish(first, second)}
    store = EmbeddedStore(home)
    assert [g.name for g in store.list_graphs()] == ["ecommerce"]
    assert versions == {store.graph("ecommerce").version}
    assert len(list((home / "graphs" / "ecommerce").iterdir())) == 1
