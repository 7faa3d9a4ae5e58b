"""Graph semantics through the command line: declared at import, listed, re-declared, overridden per run."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import msgspec
import networkx as nx
import pytest

from gaai.bus.connection import Bus
from gaai.bus.contract import DocumentInput, SubmitRequest
from gaai.bus.domain import EdgeSemantics
from gaai.bus.errors import RequestError
from gaai.bus.settings import Settings
from gaai.orchestrator.runner import Orchestrator
from gaai.store import EmbeddedStore
from graph_analytics_ai.client import WorkflowClient

GAAI = [sys.executable, "-m", "graph_analytics_ai.cli"]

# Products bought together: one row per tie (the usual export), how often in `count`.
CO_PURCHASE = [
    ("lamp", "desk", 9), ("lamp", "chair", 2), ("desk", "chair", 7), ("chair", "rug", 1), ("rug", "vase", 4),
    ("vase", "lamp", 1), ("desk", "shelf", 5), ("shelf", "book", 6), ("book", "lamp", 2), ("rug", "book", 3),
]  # fmt: skip


def gaai(*args: str, env: dict, cwd: Path, timeout: float = 240) -> subprocess.CompletedProcess:
    return subprocess.run([*GAAI, *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout)


@pytest.fixture
def cli_env(home: Path) -> dict:
    env = dict(os.environ, GAAI_HOME=str(home))
    env.pop("NATS_URL", None)
    return env


@pytest.fixture
def edge_list(tmp_path: Path) -> Path:
    path = tmp_path / "co_purchase.csv"
    path.write_text("source,target,count\n" + "".join(f"{a},{b},{n}\n" for a, b, n in CO_PURCHASE))
    return path


def edge_lines(output: str) -> list[str]:
    return [" ".join(line.split()) for line in output.splitlines() if line.strip().startswith("edge ")]


def warning_lines(output: str) -> list[str]:
    return [line.strip() for line in output.splitlines() if line.strip().startswith("warning: ")]


def test_import_declares_semantics_and_graphs_shows_them(cli_env, tmp_path, edge_list):
    """--undirected/--weight reach the registry; `gaai graphs` says how each edge collection is read."""
    follows = tmp_path / "follows.csv"
    follows.write_text("source,target\nlamp,desk\ndesk,lamp\n")
    imported = gaai(
        "import", "shop", str(edge_list), str(follows), "--undirected", "co_purchase", "--weight", "co_purchase=count",
        env=cli_env, cwd=tmp_path,
    )  # fmt: skip
    assert imported.returncode == 0, imported.stderr
    expected = ["edge co_purchase 10 undirected, weight: count", "edge follows 2 directed"]
    assert edge_lines(imported.stdout) == expected
    assert warning_lines(imported.stdout) == []
    listed = gaai("graphs", env=cli_env, cwd=tmp_path)
    assert listed.returncode == 0 and edge_lines(listed.stdout) == expected
    assert EmbeddedStore(cli_env["GAAI_HOME"]).graph("shop").semantics("co_purchase") == EdgeSemantics(
        collection="co_purchase", directed=False, weight_field="count"
    )

    redeclared = gaai("import", "shop", "--undirected", "follows", env=cli_env, cwd=tmp_path)
    assert redeclared.returncode == 0, redeclared.stderr
    assert warning_lines(redeclared.stdout) == [
        "warning: Edge collection 'co_purchase' is read as directed, but its name suggests ties that go both ways "
        "and 0% of its edges have a reverse edge: if its ties are mutual, declare it with `--undirected co_purchase`.",
        "warning: Edge collection 'co_purchase' has a numeric field 'count' on every edge that looks like a weight, "
        "but no weight is declared, so every edge counts 1: if it measures how strong a tie is, declare it with "
        "`--weight co_purchase=count`.",
        "warning: Edge collection 'follows' is read as undirected and lists its ties in both directions (100% of its "
        "edges have a reverse edge): each pair counts as one tie.",
    ]
    assert edge_lines(gaai("graphs", env=cli_env, cwd=tmp_path).stdout) == [
        "edge co_purchase 10 directed",
        "edge follows 2 undirected",
    ]

    again = gaai("import", "shop", str(edge_list), env=cli_env, cwd=tmp_path)
    assert again.returncode == 2
    assert again.stderr.splitlines() == [
        "gaai: Graph 'shop' already exists; pass --replace to overwrite it (or give only --undirected/--weight "
        "to re-declare how its edges are read). [graph_exists]"
    ]


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--weight", "co_purchase"], "gaai: --weight takes EDGE_COLLECTION=FIELD, got 'co_purchase' [bad_argument]"),
        (["--weight", "co_purchase="], "gaai: --weight takes EDGE_COLLECTION=FIELD, got 'co_purchase=' [bad_argument]"),
        (
            ["--undirected", "co purchase"],
            "gaai: --undirected takes an edge collection name, got 'co purchase' [bad_argument]",
        ),
        (
            ["--weight", "co_purchase=weight"],
            "gaai: Edge collection 'co_purchase' has no field 'weight' to use as weight (its numeric fields: count). "
            "[bad_import]",
        ),
        (
            ["--undirected", "vertices"],
            "gaai: 'vertices' is a vertex collection of graph 'shop'; direction and weight are declared for its edge "
            "collections: co_purchase. [bad_import]",
        ),
    ],
)  # fmt: skip
def test_bad_semantics_flags_are_one_line_errors(cli_env, tmp_path, edge_list, flags, message):
    result = gaai("import", "shop", str(edge_list), *flags, env=cli_env, cwd=tmp_path)
    assert (result.returncode, result.stderr.splitlines(), result.stdout) == (2, [message], "")
    assert not EmbeddedStore(cli_env["GAAI_HOME"]).has_graph("shop")


def test_a_bad_weight_column_names_the_edges(cli_env, tmp_path):
    edges = tmp_path / "ties.csv"
    edges.write_text("source,target,weight\na,b,1\nb,c,heavy\nc,a,2\n")
    result = gaai("import", "g", str(edges), "--weight", "ties=weight", env=cli_env, cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "gaai: Edge collection 'ties': weight field 'weight' is not a number on 1 of 3 edges (e.g. the edge "
        "vertices/b -> vertices/c has 'heavy'); a weight must be a number >= 0 on every edge. [bad_import]"
    ]


def test_run_refuses_semantics_for_a_collection_the_graph_lacks(cli_env, tmp_path, edge_list):
    assert gaai("import", "shop", str(edge_list), env=cli_env, cwd=tmp_path).returncode == 0
    result = gaai(
        "run", "--graph", "shop", "--text", "Find key products.", "--undirected", "bought", env=cli_env, cwd=tmp_path
    )
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "gaai: 'bought' is not a collection of graph 'shop'; direction and weight are declared for its edge "
        "collections: co_purchase. [unknown_collection]"
    ]
    assert not (Path(cli_env["GAAI_HOME"]) / "logs").exists(), "nothing was started"


async def test_submit_refuses_semantics_for_a_vertex_collection(fresh_nats, tmp_path, edge_list):
    """Over the bus: an edge_semantics entry naming no edge collection is an error reply, not a workflow."""
    store = EmbeddedStore(tmp_path / "home")
    store.import_graph("shop", [edge_list])
    settings = Settings(nats_url=fresh_nats.url, home=tmp_path / "home")
    bus = await Bus.connect(settings, name="test-orchestrator")
    stop = asyncio.Event()
    running = asyncio.create_task(Orchestrator(bus, settings, store).run(stop))
    client = WorkflowClient(bus)
    await client.wait_until_served()
    request = SubmitRequest(
        graph_name="shop",
        documents=[DocumentInput(content="Find key products.")],
        edge_semantics=[EdgeSemantics(collection="vertices", directed=False)],
    )
    with pytest.raises(RequestError) as caught:
        await client.submit(request)
    assert caught.value.code == "unknown_collection"
    assert caught.value.message.startswith("edge_semantics: 'vertices' is a vertex collection of graph 'shop'")
    unweighable = [EdgeSemantics(collection="co_purchase", weight_field="n")]
    with pytest.raises(RequestError) as caught:
        await client.submit(msgspec.structs.replace(request, edge_semantics=unweighable))
    assert caught.value.code == "bad_weight"
    assert caught.value.message == (
        "edge_semantics: Edge collection 'co_purchase' has no field 'n' to use as weight (its numeric fields: count)."
    )
    stop.set()
    await asyncio.wait_for(running, 10)
    await bus.close()


def test_run_override_reaches_schema_templates_and_engine(cli_env, tmp_path, edge_list):
    """`gaai run --undirected/--weight` on a graph imported without them: the template and the execution read
    the collection as undirected and weighted, and PageRank's order is networkx's on the weighted `Graph`."""
    assert gaai("import", "shop", str(edge_list), env=cli_env, cwd=tmp_path).returncode == 0
    result = gaai(
        "run", "--graph", "shop", "--text", "We must find the most influential products by PageRank.",
        "--undirected", "co_purchase", "--weight", "co_purchase=count", "--max-executions", "1",
        "--output", str(tmp_path / "out"), env=cli_env, cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    [folder] = list((tmp_path / "out").iterdir())
    [report] = [json.loads(p.read_text()) for p in folder.glob("TPL-*.json")]
    declared = [{"collection": "co_purchase", "directed": False, "weight_field": "count"}]
    assert report["template"]["edge_semantics"] == declared
    assert report["execution"]["edge_semantics"] == declared
    assert report["execution"]["algorithm"] == "pagerank"
    graph = nx.Graph()
    graph.add_weighted_edges_from(CO_PURCHASE, weight="count")
    reference = nx.pagerank(graph, weight="count")
    top = [vertex["id"].split("/", 1)[1] for vertex in report["execution"]["top"]]
    assert top == sorted(reference, key=lambda key: -reference[key])[: len(top)]
    assert [vertex["value"] for vertex in report["execution"]["top"]] == pytest.approx(
        [reference[k] for k in top], abs=1e-4
    )
    assert EmbeddedStore(cli_env["GAAI_HOME"]).graph("shop").semantics("co_purchase") == EdgeSemantics(
        collection="co_purchase"
    ), "the override is for that run only"


def test_the_python_api_takes_semantics_as_dicts_or_structs(home):
    """`edge_semantics=` accepts EdgeSemantics and dicts of its fields; anything else is named and refused."""
    from graph_analytics_ai.ai.agents import AgenticWorkflowRunner

    runner = AgenticWorkflowRunner(
        graph_name="shop",
        edge_semantics=[{"collection": "co_purchase", "directed": False, "weight_field": "count"},
                        EdgeSemantics(collection="follows")],
    )  # fmt: skip
    assert runner.edge_semantics == [
        EdgeSemantics(collection="co_purchase", directed=False, weight_field="count"),
        EdgeSemantics(collection="follows"),
    ]
    with pytest.raises(RequestError) as caught:
        AgenticWorkflowRunner(edge_semantics=[{"collection": "co_purchase", "weight": "count"}])
    assert caught.value.message == (
        "edge_semantics[0]: expected an EdgeSemantics or a dict of collection, directed, weight_field, got ['weight']"
    )
    with pytest.raises(RequestError) as caught:
        AgenticWorkflowRunner(edge_semantics=[{"collection": "co purchase"}])
    assert caught.value.code == "bad_request" and caught.value.message.startswith("edge_semantics[0]: ")
    assert "collection" in caught.value.message
