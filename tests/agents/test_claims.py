"""Claims checked against the stored results: scoped ranks, planted false claims, names, constraints, model output.

Graphs are imported into a real embedded store, executed by the execution agent's own
function, and reported by the reporting agent's handler; networkx is the reference for
who ranks where.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
from dataclasses import dataclass, field
from pathlib import Path

import msgspec
import networkx as nx
import pytest

from gaai.agents import reporting
from gaai.agents.execution.run import execute_template
from gaai.agents.lib.context import AgentContext
from gaai.agents.lib.llm import OfflineProvider, RecordingLlm
from gaai.agents.reporting.headline import semantics_sentence
from gaai.agents.reporting.privacy import pseudonym, visible_text
from gaai.agents.reporting.supported import keep_supported
from gaai.agents.vertical.choice import builtin_verticals
from gaai.bus.contract import ReportTask
from gaai.bus.domain import (
    AnalysisTemplate,
    EdgeSemantics,
    ExecutionSummary,
    Insight,
    OutputConstraint,
    Recommendation,
    Report,
    Requirement,
    UseCase,
)
from gaai.store import EmbeddedStore
from tests.agents.contexts import ScriptedProvider

CUSTOMERS = {
    "c1": "Ada Lovelace", "c2": "Grace Hopper", "c3": "Alan Turing", "c4": "Edsger Dijkstra", "c5": "Barbara Liskov",
}  # fmt: skip
PRODUCTS = {"p1": "Red Kettle", "p2": "Blue Lamp", "p3": "Green Chair"}
CATEGORIES = {"k1": "Kitchen"}
PURCHASED = [("c1", "p1"), ("c2", "p1"), ("c3", "p1"), ("c4", "p2"), ("c5", "p2"), ("c2", "p3"), ("c1", "p2")]
FOLLOWS = [("c2", "c1"), ("c3", "c1"), ("c4", "c1"), ("c5", "c3"), ("c1", "c3")]
BELONGS = [("p1", "k1"), ("p2", "k1"), ("p3", "k1")]


def write_graph(folder: Path) -> None:
    def jsonl(name: str, rows: list[dict]) -> None:
        (folder / f"{name}.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows))

    jsonl("customers", [{"_key": k, "name": v} for k, v in CUSTOMERS.items()])
    jsonl("products", [{"_key": k, "name": v} for k, v in PRODUCTS.items()])
    jsonl("categories", [{"_key": k, "name": v} for k, v in CATEGORIES.items()])
    jsonl("purchased", [{"_from": f"customers/{a}", "_to": f"products/{b}"} for a, b in PURCHASED])
    jsonl("follows", [{"_from": f"customers/{a}", "_to": f"customers/{b}"} for a, b in FOLLOWS])
    jsonl("belongs_to", [{"_from": f"products/{a}", "_to": f"categories/{b}"} for a, b in BELONGS])


def reference_pagerank() -> dict[str, float]:
    graph = nx.DiGraph()
    graph.add_nodes_from([f"customers/{k}" for k in CUSTOMERS] + [f"products/{k}" for k in PRODUCTS])
    graph.add_node("categories/k1")
    graph.add_edges_from((f"customers/{a}", f"products/{b}") for a, b in PURCHASED)
    graph.add_edges_from((f"customers/{a}", f"customers/{b}") for a, b in FOLLOWS)
    graph.add_edges_from((f"products/{a}", f"categories/{b}") for a, b in BELONGS)
    return nx.pagerank(graph, alpha=0.85, tol=1e-10)


@pytest.fixture
def store(tmp_path: Path) -> EmbeddedStore:
    data = tmp_path / "data"
    data.mkdir()
    write_graph(data)
    store = EmbeddedStore(tmp_path / "home")
    store.import_graph("shop", [data])
    return store


@dataclass
class ArtifactsAtHand(AgentContext):
    """An agent's context that keeps report files in memory instead of the bus's object store."""

    artifacts: dict[str, bytes] = field(default_factory=dict)

    async def put_artifact(self, name: str, data: bytes) -> str:
        self.artifacts[name] = data
        return f"{self.workflow_id}/{name}"


def context(store: EmbeddedStore, tmp_path: Path) -> ArtifactsAtHand:
    return ArtifactsAtHand(
        workflow_id="wf", task_id="t", attempt=1, store=store, llm=RecordingLlm(OfflineProvider(), []), home=tmp_path
    )


def pagerank_template(focus: list[str] | None = None) -> AnalysisTemplate:
    return AnalysisTemplate(
        id="TPL-1",
        use_case_id="UC-1",
        title="Influential customers and hub products",
        algorithm="pagerank",
        vertex_collections=["categories", "customers", "products"],
        edge_collections=["belongs_to", "follows", "purchased"],
        focus_collections=["customers"] if focus is None else focus,
        params={"tolerance": 1e-10},
    )


def report_task(template: AnalysisTemplate, execution: ExecutionSummary, constraints=(), requirements=()) -> ReportTask:
    use_case = UseCase(
        id="UC-1", title="Influential customers and hub products", description="", algorithm=template.algorithm,
        reason="", requirement_ids=[r.id for r in requirements],
    )  # fmt: skip
    return ReportTask(
        template=template,
        use_case=use_case,
        execution=execution,
        vertical=builtin_verticals()["ecommerce"],
        requirements=list(requirements),
        constraints=list(constraints),
    )


def run_report(store: EmbeddedStore, tmp_path: Path, task: ReportTask) -> tuple[Report, dict[str, bytes]]:
    ctx = context(store, tmp_path)
    result = asyncio.run(reporting.handle(task, ctx))
    return result.report, ctx.artifacts


def every_sentence(report: Report) -> str:
    insights = [f"{i.title} {i.text}" for i in report.insights]
    return " ".join([report.title, report.summary, *insights, *(r.text for r in report.recommendations)])


class TestScopedRanks:
    def test_first_among_customers_matches_networkx_and_says_its_scope(self, store, tmp_path):
        """The top list is limited to customers: the leader is networkx's best customer, first *among customers*."""
        template = pagerank_template()
        execution = execute_template(store, "shop", template, "x-scoped")
        report, _ = run_report(store, tmp_path, report_task(template, execution))
        ranks = reference_pagerank()
        best_customer = max((v for v in ranks if v.startswith("customers/")), key=ranks.get)
        overall = max(ranks, key=ranks.get)
        assert not overall.startswith("customers/")
        leader = CUSTOMERS[best_customer.partition("/")[2]]
        assert execution.top[0].id == best_customer
        assert f"{leader} ranks first among customers" in report.summary
        assert "vertices of categories and products rank higher" in report.summary
        assert report.title == f"Top {len(CUSTOMERS)} customers by PageRank"
        assert "hub products" not in report.title
        assert f"{leader} ranks first among customers" in [i.title for i in report.insights]
        assert report.claims_rejected == []
        assert report.claims_verified >= 20

    def test_unscoped_run_ranks_every_collection_in_its_own_list(self, store, tmp_path):
        """Without a focus every analysed collection gets its list, each led by networkx's best of that collection."""
        template = pagerank_template(focus=[])
        execution = execute_template(store, "shop", template, "x-all")
        report, files = run_report(store, tmp_path, report_task(template, execution))
        ranks = reference_pagerank()
        assert execution.top[0].id == max(ranks, key=ranks.get)
        names = {f"customers/{k}": v for k, v in CUSTOMERS.items()} | {f"products/{k}": v for k, v in PRODUCTS.items()}
        names |= {f"categories/{k}": v for k, v in CATEGORIES.items()}
        for collection in ("categories", "customers", "products"):
            members = sorted((v for v in ranks if v.startswith(f"{collection}/")), key=ranks.get, reverse=True)
            assert [v.id for v in execution.top_by_collection[collection]] == members
            assert f"{names[members[0]]} ranks first among {collection} with" in report.summary
        assert report.title == "Top categories, customers and products by PageRank"
        assert "ranks first among all analysed vertices" not in report.summary
        mix = next(i for i in report.insights if i.title == "Where the top vertices come from")
        assert "5 from customers, 3 from products and 1 from categories" in mix.text
        markdown = files["TPL-1.md"].decode()
        assert [line for line in markdown.splitlines() if line.startswith("## Top ")] == [
            "## Top categories",
            "## Top customers",
            "## Top products",
        ]
        assert report.claims_rejected == []

    def test_customers_and_products_each_get_a_verified_list_and_a_recommendation_from_it(self, store, tmp_path):
        """Focus on customers and products: two lists, each first checked within its collection against networkx; the
        recommendation about customers and products names the leaders of each list, never a category."""
        template = pagerank_template(focus=["customers", "products"])
        execution = execute_template(store, "shop", template, "x-two")
        report, files = run_report(store, tmp_path, report_task(template, execution))
        ranks = reference_pagerank()
        best = {c: max((v for v in ranks if v.startswith(f"{c}/")), key=ranks.get) for c in ("customers", "products")}
        customer, product = CUSTOMERS[best["customers"][10:]], PRODUCTS[best["products"][9:]]
        assert report.title == "Top customers and products by PageRank"
        assert f"{customer} ranks first among customers" in report.summary
        assert f"{product} ranks first among products" in report.summary
        assert [i.title for i in report.insights if "ranks first" in i.title] == [
            f"{customer} ranks first among customers",
            f"{product} ranks first among products",
        ]
        first = report.recommendations[0].text
        assert "Enrol the top-ranked customers" in first
        ordered = {
            c: [v for v in sorted(ranks, key=ranks.get, reverse=True) if v.startswith(f"{c}/")][:3]
            for c in ("customers", "products")
        }
        a, b, c = (CUSTOMERS[v[10:]] for v in ordered["customers"])
        assert f"Start with {a}, {b} and {c} (the first 3 among customers)" in first
        assert "(the first 3 among products)" in first and "Kitchen" not in first
        assert set(execution.top_by_collection) == {"categories", "customers", "products"}
        shown = json.loads(files["TPL-1.json"])["execution"]["top_by_collection"]
        assert set(shown) == {"customers", "products"}
        assert "## Top categories" not in files["TPL-1.md"].decode()
        assert report.claims_rejected == []


class TestPlantedFalseClaims:
    def test_a_leader_not_first_in_the_stored_results_is_withheld(self, store, tmp_path):
        """Swap the first two of the customers' list: the runner-up's claim to rank first is withheld and counted."""
        template = pagerank_template()
        honest = execute_template(store, "shop", template, "x-planted")
        listed = honest.top_by_collection["customers"]
        lists = honest.top_by_collection | {"customers": [listed[1], listed[0], *listed[2:]]}
        planted = msgspec.structs.replace(honest, top_by_collection=lists)
        report, _ = run_report(store, tmp_path, report_task(template, planted))
        impostor = listed[1].label
        assert f"{impostor} ranks first" not in every_sentence(report)
        reasons = [c.reason for c in report.claims_rejected if f"{impostor} ranks first" in c.text]
        assert reasons and any("ranks 2 among customers in the stored results, not 1" in r for r in reasons)
        honest_report, _ = run_report(store, tmp_path, report_task(template, honest))
        assert report.claims_verified < honest_report.claims_verified

    def test_a_wrong_share_is_withheld(self, store, tmp_path):
        """A top-1% share that the stored values do not give is not published."""
        template = pagerank_template()
        execution = execute_template(store, "shop", template, "x-share")
        wrong = msgspec.structs.replace(
            execution, distribution=msgspec.structs.replace(execution.distribution, top_1pct_share=0.9)
        )
        report, _ = run_report(store, tmp_path, report_task(template, wrong))
        assert "90.0%" not in every_sentence(report)
        assert any("90.0%" in c.text and "hold" in c.reason for c in report.claims_rejected)
        # The insight built on that figure goes with it, title and verdict included.
        assert all(i.evidence.get("top_1pct_share") != 0.9 for i in report.insights)


class TestConstraints:
    def test_no_names_leaves_no_customer_name_in_any_file(self, store, tmp_path):
        """Customers appear as stable pseudonyms in every file, CSV included; product and category names stay."""
        template = pagerank_template(focus=[])
        execution = execute_template(store, "shop", template, "x-private")
        constraints = [
            OutputConstraint(id="NFR-1", kind="no_names", text="no customer names", collections=["customers"]),
            OutputConstraint(id="NFR-2", kind="format", text="export CSV", value="csv"),
        ]
        report, files = run_report(store, tmp_path, report_task(template, execution, constraints))
        assert set(files) == {"TPL-1.md", "TPL-1.json", "TPL-1.html", "TPL-1.csv"}
        for name, data in files.items():
            seen = visible_text(name.rpartition(".")[2], data)
            for label in CUSTOMERS.values():
                assert label not in seen and label.encode() not in data, (name, label)
        markdown = visible_text("md", files["TPL-1.md"])
        assert pseudonym("customers/c1") in markdown and "Kitchen" in markdown and "Red Kettle" in markdown
        assert report.constraints_applied[0] == "NFR-1 no_names: vertices of customers shown as pseudonyms"
        assert "output constraint | NFR-1 no_names" in markdown
        rows = list(csv.DictReader(io.StringIO(files["TPL-1.csv"].decode())))
        assert len(rows) == 9
        by_id = {row["id"]: row for row in rows}
        assert by_id[pseudonym("customers/c1")]["name"] == pseudonym("customers/c1")
        assert by_id["products/p1"]["name"] == "Red Kettle"
        ranks = reference_pagerank()
        assert float(by_id["categories/k1"]["value"]) == pytest.approx(ranks["categories/k1"], rel=1e-4)
        assert report.claims_rejected == []

    def test_max_items_caps_every_list(self, store, tmp_path):
        """At most 2 items: the title, top table and "next come" speak of two vertices only."""
        template = pagerank_template()
        execution = execute_template(store, "shop", template, "x-capped")
        constraints = [OutputConstraint(id="NFR-3", kind="max_items", text="show at most 2", value=2)]
        report, files = run_report(store, tmp_path, report_task(template, execution, constraints))
        assert report.title == "Top 2 customers by PageRank"
        decoded = msgspec.json.decode(files["TPL-1.json"])
        assert len(decoded["execution"]["top"]) == 2
        assert "NFR-3 max_items: lists show at most 2 entries" in report.constraints_applied
        assert report.claims_rejected == []


class TestModelOutput:
    def verified(self) -> Report:
        return Report(
            report_id="r", template_id="t", execution_id="x", title="Top 3 customers by PageRank", algorithm="pagerank",
            summary="Ada Lovelace ranks first among customers with 0.1234.",
            insights=[
                Insight(
                    title="Ada Lovelace ranks first among customers", text="Ada Lovelace leads with 0.1234.",
                    confidence=0.8, evidence={"top1_value": 0.1234},
                )
            ],
            claims_verified=4,
        )  # fmt: skip

    def test_a_model_may_reword_but_not_invent(self):
        """Reworded sentences with the verified figures stay; an invented number or name is dropped and counted."""
        model = msgspec.structs.replace(
            self.verified(),
            summary=(
                "Among customers, Ada Lovelace leads with 0.1234. She drives 45% of sales. "
                "Grace Hopper is close behind."
            ),
            recommendations=[Recommendation(text="Invite Ada Lovelace to the ambassador programme.", priority="high")],
        )
        kept = keep_supported(model, self.verified(), {"Ada Lovelace", "Grace Hopper"})
        assert kept.summary == "Among customers, Ada Lovelace leads with 0.1234."
        assert kept.recommendations[0].text == "Invite Ada Lovelace to the ambassador programme."
        reasons = {c.text: c.reason for c in kept.claims_rejected}
        assert reasons == {
            "She drives 45% of sales.": "states 45%, which no verified claim supports",
            "Grace Hopper is close behind.": "states Grace Hopper, which no verified claim supports",
        }
        # Title, summary sentence, insight title and text, recommendation: five statements of figures or names.
        assert kept.claims_verified == 5

    def test_the_handler_drops_what_a_model_invents_and_names_no_hidden_vertex(self, store, tmp_path):
        """A model that adds a figure and a customer's real name: both sentences go, the files name no customer."""
        template = pagerank_template()
        execution = execute_template(store, "shop", template, "x-model")
        constraints = [OutputConstraint(id="NFR-1", kind="no_names", text="no names", collections=["customers"])]
        task = report_task(template, execution, constraints)
        offline, _ = run_report(store, tmp_path, task)
        leader = CUSTOMERS[execution.top[0].id.partition("/")[2]]
        model_text = msgspec.json.encode(
            msgspec.structs.replace(
                offline,
                summary=f"{offline.summary} Revenue grew 37% last quarter. {leader} is the one to call.",
            )
        ).decode()
        ctx = context(store, tmp_path)
        ctx.llm = RecordingLlm(ScriptedProvider(model_text), [])
        report = asyncio.run(reporting.handle(task, ctx)).report
        assert report.summary == offline.summary
        withheld = {c.text for c in report.claims_rejected}
        assert withheld == {"Revenue grew 37% last quarter.", "[name withheld] is the one to call."}
        assert all(leader not in visible_text(name.rpartition(".")[2], data) for name, data in ctx.artifacts.items())
        assert "Verified report" in ctx.llm.provider.requests[0].prompt
        assert leader not in ctx.llm.provider.requests[0].prompt

    def test_the_offline_report_passes_unchanged(self):
        """The rule-based report is the verified one: nothing to drop."""
        assert keep_supported(self.verified(), self.verified(), {"Ada Lovelace"}) == self.verified()


class TestSemanticsSentence:
    def execution(self, semantics: list[EdgeSemantics]) -> ExecutionSummary:
        return ExecutionSummary(
            execution_id="x", template_id="t", algorithm="pagerank", graph_name="g", vertex_count=3, edge_count=2,
            result_ref="r", result_field="rank", edge_semantics=semantics,
        )  # fmt: skip

    def test_mixed_direction_and_weights_per_algorithm(self):
        """Direction per collection, and what a weight means to the algorithm that read it."""
        semantics = [
            EdgeSemantics(collection="purchased", directed=True),
            EdgeSemantics(collection="follows", directed=True),
            EdgeSemantics(collection="co_bought", directed=False),
        ]
        edges = ["purchased", "follows", "co_bought"]
        assert semantics_sentence("pagerank", edges, self.execution(semantics)) == (
            "PageRank followed edge direction on purchased and follows; co_bought was read as undirected; "
            "weights: none."
        )
        weighted = [*semantics[:2], EdgeSemantics(collection="co_bought", directed=False, weight_field="count")]
        assert semantics_sentence("betweenness", edges, self.execution(weighted)).endswith(
            "weights: count on co_bought, read as lengths."
        )
        assert semantics_sentence("louvain", edges, self.execution(weighted)) == (
            "Louvain communities ignored edge direction on purchased, follows and co_bought; "
            "weights: count on co_bought, read as strengths."
        )
        assert "do not apply" in semantics_sentence("wcc", edges, self.execution(weighted))

    def test_an_older_execution_says_directed_and_unweighted(self):
        assert semantics_sentence("pagerank", ["e"], self.execution([])) == (
            "Edges were read as directed and unweighted; PageRank followed edge direction."
        )


def test_isolated_groups_are_listed_when_a_requirement_asks(store, tmp_path):
    """A linked requirement about isolated groups gets the smallest components listed by name; others do not."""
    template = AnalysisTemplate(
        id="TPL-2", use_case_id="UC-1", title="Islands", algorithm="wcc",
        vertex_collections=["customers", "products"], edge_collections=["follows"],
    )  # fmt: skip
    execution = execute_template(store, "shop", template, "x-islands")
    asking = [Requirement(id="REQ-5", text="Find isolated groups of customers", priority="high")]
    report, files = run_report(store, tmp_path, report_task(template, execution, requirements=asking))
    small = next(i for i in report.insights if i.title == "Small and isolated weakly connected components")
    assert "3 weakly connected components have a single member" in small.text
    assert "Red Kettle alone" in small.text and "Smallest groups" in files["TPL-2.md"].decode()
    other = [Requirement(id="REQ-1", text="Rank the customers", priority="high")]
    plain, plain_files = run_report(store, tmp_path, report_task(template, execution, requirements=other))
    assert all(not i.title.startswith("Small and isolated") for i in plain.insights)
    assert "Smallest groups" not in plain_files["TPL-2.md"].decode()


def test_schema_warnings_on_the_analysed_edges_are_shown_under_how_the_graph_was_read(store, tmp_path):
    """A warning the orchestrator passes with the task is in the report and under its semantics in every format."""
    template = pagerank_template()
    execution = execute_template(store, "shop", template, "x-warned")
    warning = "Edge collection 'follows' is read as directed, but its name suggests ties that go both ways."
    task = msgspec.structs.replace(report_task(template, execution), schema_warnings=[warning])
    report, files = run_report(store, tmp_path, task)
    assert report.warnings == [warning]
    markdown = files["TPL-1.md"].decode()
    section = markdown.split("## How the graph was read", 1)[1].split("\n## ", 1)[0]
    assert report.semantics.replace("_", "\\_") in section
    assert "- Warning: Edge collection 'follows' is read as directed" in section
    assert "<li>Warning: Edge collection &#x27;follows&#x27; is read as directed" in files["TPL-1.html"].decode()
    unwarned, _ = run_report(store, tmp_path, report_task(template, execution))
    assert unwarned.warnings == []
