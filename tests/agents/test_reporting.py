"""Reports: figures quoted from the execution, per-algorithm insights, priorities, and safe rendering."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from html.parser import HTMLParser

import msgspec
import numpy as np
import pyarrow as pa
import pytest

from gaai.agents.execution.engine import run_algorithm
from gaai.agents.execution.groups import ties_of
from gaai.agents.execution.summary import summarize_values
from gaai.agents.lib.algorithms import resolve_params
from gaai.agents.reporting.build import build_report, draft_report
from gaai.agents.reporting.claims import Evidence
from gaai.agents.reporting.render import render_html, render_json, render_markdown
from gaai.agents.reporting.wording import format_count, format_ratio, format_share, format_times, format_value
from gaai.bus.domain import (
    AlgorithmPattern,
    AnalysisTemplate,
    Distribution,
    ExecutionSummary,
    GroupStats,
    RankedVertex,
    Report,
    Requirement,
    UseCase,
    VerticalProfile,
)

ALGORITHMS = ["pagerank", "betweenness", "wcc", "scc", "label_propagation", "louvain"]
COLLECTIONS = ["people", "companies"]
SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(1)>'


def vertical(meaning_suffix: str = "") -> VerticalProfile:
    patterns = {
        name: AlgorithmPattern(
            title=f"{name.title()} pattern",
            meaning=f"Meaning of {name} for this business: every hub matters.{meaning_suffix}",
            recommendation=f"Act on the {name} findings.",
        )
        for name in ALGORITHMS
    }
    return VerticalProfile(
        name="testing",
        display_name="Testing",
        description="A vertical for tests.",
        source="custom",
        terminology={"hub": "A vertex that many others depend on.", "ledger": "Unused here."},
        patterns=patterns,
    )


def template(algorithm: str, title: str = "Who matters", **params) -> AnalysisTemplate:
    return AnalysisTemplate(
        id=f"t-{algorithm}",
        use_case_id="uc-1",
        title=title,
        algorithm=algorithm,
        vertex_collections=COLLECTIONS,
        edge_collections=["knows"],
        params=params,
        rationale="Because the requirements ask for it.",
    )


USE_CASE = UseCase(
    id="uc-1",
    title="Find key accounts",
    description="",
    algorithm="pagerank",
    reason="",
    requirement_ids=["R1", "R2"],
    priority="low",
)
REQUIREMENTS = [
    Requirement(id="R1", text="Know the key accounts", priority="high"),
    Requirement(id="R2", text="Report monthly", priority="medium"),
    Requirement(id="R3", text="Unrelated but urgent", priority="critical"),
]


def graph() -> tuple[int, np.ndarray, np.ndarray]:
    """Two 6-cliques joined by one edge, a 3-cycle, a directed chain into a hub and 4 isolated vertices."""
    pairs = list(itertools.combinations(range(6), 2)) + list(itertools.combinations(range(6, 12), 2)) + [(5, 6)]
    pairs += [(12, 13), (13, 14), (14, 12)]
    pairs += [(v, 20) for v in range(15, 20)] + [(20, 0)]
    array = np.array(pairs)
    return 25, array[:, 0], array[:, 1]


LABELS = np.array([f"Person {i}" for i in range(25)], dtype=object)


@dataclass(frozen=True)
class Run:
    """An execution's summary and the per-vertex results its claims are checked against."""

    execution: ExecutionSummary
    evidence: Evidence


def vertex_id(i: int) -> str:
    return f"{COLLECTIONS[i % 2]}/{i}"


def execute(algorithm: str, n: int | None = None, src=None, dst=None, labels=None, params=None) -> Run:
    """Engine, then summary: the same path the execution agent takes."""
    if n is None:
        n, src, dst = graph()
    labels = LABELS[:n] if labels is None else np.asarray(labels, dtype=object)
    params = resolve_params(algorithm, params or {})
    output = run_algorithm(algorithm, n, src, dst, params)
    grouped = algorithm not in ("pagerank", "betweenness")
    parts = summarize_values(
        algorithm,
        output.values,
        lambda idx: [str(labels[i]) for i in idx],
        lambda idx: [vertex_id(i) for i in idx],
        np.arange(n) % 2,
        COLLECTIONS,
        modularity=output.modularity,
        member_scores=ties_of(n, src, dst, np.asarray(output.values, dtype=np.int64)).member_ties if grouped else None,
    )
    execution = ExecutionSummary(
        execution_id=f"x-{algorithm}",
        template_id=f"t-{algorithm}",
        algorithm=algorithm,
        graph_name="g",
        vertex_count=n,
        edge_count=len(src),
        result_ref="store/x",
        result_field="value",
        params=params,
        engine=output.engine,
        compute_ms=12.5,
        iterations=output.iterations,
        top=parts.top,
        distribution=parts.distribution,
        groups=parts.groups,
        by_collection=parts.by_collection,
    )
    ids = [vertex_id(i) for i in range(n)]
    names = dict(zip(ids, (str(label) for label in labels), strict=True))
    evidence = Evidence(
        execution=execution,
        ids=pa.array(ids),
        collection=np.arange(n) % 2,
        collections=COLLECTIONS,
        values=np.asarray(output.values, dtype=np.float64),
        display_name=names.get,
    )
    return Run(execution, evidence)


def report_for(run: Run, **kwargs) -> Report:
    return build_report(
        kwargs.get("template") or template(run.execution.algorithm),
        kwargs.get("use_case", USE_CASE),
        kwargs.get("execution") or run.execution,
        kwargs.get("vertical") or vertical(),
        kwargs.get("requirements", REQUIREMENTS),
        run.evidence,
        kwargs.get("constraints"),
    )


def drafted(execution: ExecutionSummary, **kwargs) -> dict[str, str]:
    """The unverified wording of a hand-made execution: insight title -> text, plus "summary"."""
    draft = draft_report(
        kwargs.get("template") or template(execution.algorithm),
        kwargs.get("use_case", USE_CASE),
        execution,
        vertical(),
        REQUIREMENTS,
        [],
    )
    texts = {i.title.text: " ".join(s.text for s in i.body) for i in draft.insights}
    texts["summary"] = " ".join(s.text for s in draft.summary)
    return texts


def insight(report: Report, key: str):
    """The insight whose evidence carries ``key``."""
    return next(i for i in report.insights if key in i.evidence)


class TestFiguresComeFromTheSummary:
    def test_centrality_figures_in_text_and_evidence(self):
        """PageRank's Gini, top-1% share and leader appear in the text exactly as in the summary, all verified."""
        run = execute("pagerank")
        execution = run.execution
        report = report_for(run)
        dist, leader = execution.distribution, execution.top[0]
        concentration = insight(report, "gini")
        assert concentration.evidence["gini"] == dist.gini
        assert concentration.evidence["top_1pct_share"] == dist.top_1pct_share
        assert format_ratio(dist.gini) in concentration.text
        assert format_share(dist.top_1pct_share) in concentration.text
        leading = insight(report, "top1_value")
        assert leading.evidence["top1_value"] == leader.value
        assert leader.label == "Person 11"
        assert leading.title == "Person 11 ranks first among all analysed vertices"
        assert format_value(leader.value) in leading.text
        assert format_value(execution.top[1].value) in leading.text
        assert "every hub matters" in leading.text
        assert format_value(leader.value) in report.summary
        assert "25 vertices, 40 edges" in report.summary
        assert report.claims_rejected == [] and report.claims_verified > 10

    def test_hand_set_figures_are_written_as_expected(self):
        """A Gini of 0.62 and a top-1% share of 0.18 read "0.620" and "18.0%", and count as high concentration."""
        dist = Distribution(
            count=5000,
            min=0.0,
            max=0.031,
            mean=0.0002,
            median=0.0001,
            p90=0.0004,
            p99=0.002,
            std=0.001,
            top_1pct_share=0.18,
            gini=0.62,
        )
        execution = ExecutionSummary(
            execution_id="x", template_id="t-pagerank", algorithm="pagerank", graph_name="g",
            vertex_count=5000, edge_count=40000,
            result_ref="r", result_field="rank", engine="scipy", iterations=30, params={"max_iterations": 100},
            top=[
                RankedVertex(id="people/7", value=0.031, label="Acme Bank"),
                RankedVertex(id="people/9", value=0.02, label="Beta"),
            ],
            distribution=dist,
        )  # fmt: skip
        texts = drafted(execution)
        title = next(t for t in texts if t.startswith("PageRank is highly concentrated"))
        assert "0.620" in texts[title] and "18.0%" in texts[title]
        assert "50 of 5,000" in texts[title]
        assert "Acme Bank ranks first among all analysed vertices" in texts
        assert "155.0×" in texts["Acme Bank ranks first among all analysed vertices"]
        assert "Acme Bank ranks first among all analysed vertices with 0.031" in texts["summary"]

    def test_component_figures_in_text_and_evidence(self):
        """WCC's largest component, its share, the count and singletons are quoted from GroupStats."""
        run = execute("wcc")
        groups = run.execution.groups
        report = report_for(run)
        largest = insight(report, "largest_share")
        assert (groups.largest, groups.count, groups.singletons) == (18, 6, 4)
        assert largest.evidence["largest"] == groups.largest
        assert largest.evidence["largest_share"] == groups.largest_share
        assert f"{format_count(18)} of {format_count(25)} vertices ({format_share(18 / 25)})" in largest.text
        assert "6 weakly connected components in all" in largest.text
        isolated = insight(report, "singletons")
        assert isolated.evidence["singletons"] == 4
        assert "4 vertices (16.0%)" in isolated.text
        assert "6 weakly connected components; the largest holds 18 vertices (72.0%)" in report.summary
        assert report.claims_rejected == []

    def test_community_modularity_in_text_and_evidence(self):
        """Louvain's modularity is quoted with three decimals and drives the structure verdict."""
        run = execute("louvain")
        report = report_for(run)
        structure = insight(report, "modularity")
        assert structure.evidence["modularity"] == run.execution.groups.modularity
        assert format_ratio(run.execution.groups.modularity) in structure.text
        assert format_ratio(run.execution.groups.modularity) in report.summary
        assert structure.title == "Clear community structure"


class TestInsightsDifferByAlgorithm:
    def test_each_algorithm_tells_its_own_story(self):
        """The six algorithms produce six different sets of insight titles on the same graph."""
        titles = {alg: tuple(i.title for i in report_for(execute(alg)).insights) for alg in ALGORITHMS}
        assert len(set(titles.values())) == len(ALGORITHMS)

    @pytest.mark.parametrize(
        ("algorithm", "key"),
        [
            ("pagerank", "gini"),
            ("betweenness", "median"),
            ("wcc", "largest_share"),
            ("scc", "largest_share"),
            ("label_propagation", "modularity"),
            ("louvain", "modularity"),
        ],
    )
    def test_characteristic_evidence(self, algorithm, key):
        """Concentration for centralities, brokers for betweenness, fragmentation for components, modularity for
        communities."""
        report = report_for(execute(algorithm))
        assert any(key in i.evidence for i in report.insights)
        assert all(0 <= i.confidence <= 1 for i in report.insights)

    def test_scc_speaks_of_cycles(self):
        """SCC reports the cyclic core and the vertices on no cycle."""
        report = report_for(execute("scc"))
        text = " ".join(i.text for i in report.insights)
        assert "reach each other along edge direction" in text
        assert "lie on no directed cycle" in text

    def test_betweenness_names_the_broker(self):
        """The betweenness leader (the hub's exit into the cliques) names the ranking insight."""
        run = execute("betweenness")
        report = report_for(run)
        assert (
            insight(report, "top1_value").title
            == f"{run.execution.top[0].label} ranks first among all analysed vertices"
        )
        assert any("shortest path" in i.text for i in report.insights)


class TestConfidence:
    def _summary(self, engine: str, vertices: int) -> ExecutionSummary:
        dist = Distribution(
            count=vertices,
            min=0,
            max=0.2,
            mean=0.001,
            median=0.0,
            p90=0.0,
            p99=0.05,
            std=0.01,
            top_1pct_share=0.4,
            gini=0.8,
        )
        return ExecutionSummary(
            execution_id="x", template_id="t-betweenness", algorithm="betweenness", graph_name="g",
            vertex_count=vertices, edge_count=vertices * 5, result_ref="r", result_field="betweenness", engine=engine,
            params={"samples": 64},
            top=[RankedVertex(id="a/1", value=0.2, label="Alpha")], distribution=dist,
        )  # fmt: skip

    def _draft(self, engine: str, vertices: int):
        return draft_report(
            template("betweenness"), USE_CASE, self._summary(engine, vertices), vertical(), REQUIREMENTS, []
        )

    def test_sampling_lowers_confidence(self):
        """The same figures from a sampled run earn less confidence than from an exact one."""
        exact = self._draft("numba-exact", 20_000)
        sampled = self._draft("numba-sampled(64)", 20_000)
        for a, b in zip(exact.insights, sampled.insights, strict=True):
            assert b.confidence < a.confidence
        leading = next(i for i in sampled.insights if "top1_value" in i.evidence)
        assert any("estimated from 64 sampled source vertices" in s.text for s in leading.body)
        assert any(
            r.priority == "low" and any("more samples" in s.text for s in r.sentences) for r in sampled.recommendations
        )

    def test_small_graphs_lower_confidence(self):
        """The same figures on 20 vertices earn less confidence than on 20,000."""
        large = self._draft("numba-exact", 20_000)
        small = self._draft("numba-exact", 20)
        for a, b in zip(large.insights, small.insights, strict=True):
            assert b.confidence < a.confidence

    def test_unconverged_pagerank_is_flagged(self):
        """PageRank stopped by its iteration limit says so and asks for more iterations."""
        run = execute("pagerank", params={"max_iterations": 2, "tolerance": 0.0})
        report = report_for(run)
        assert any(i.title == "PageRank stopped before converging" for i in report.insights)
        assert any("higher max_iterations than 2" in r.text for r in report.recommendations)


class TestEmptyAndEdgeCases:
    @pytest.mark.parametrize("algorithm", ALGORITHMS)
    def test_no_edges_gives_a_truthful_report(self, algorithm):
        """A 0-edge graph yields one "no structure" insight and a recommendation to load edges."""
        empty = np.array([], dtype=np.int64)
        report = report_for(execute(algorithm, 6, empty, empty))
        assert [i.title for i in report.insights] == ["No structure found"]
        assert report.insights[0].evidence == {"vertex_count": 6.0, "edge_count": 0.0}
        assert "6 vertices but no edges in knows" in report.insights[0].text
        assert report.recommendations and "Load the relationships" in report.recommendations[0].text
        assert "no edges" in report.summary
        assert report.claims_rejected == []

    @pytest.mark.parametrize("algorithm", ["pagerank", "louvain"])
    def test_missing_figures_are_said_not_hidden(self, algorithm):
        """An execution without its figures still yields an insight that says so."""
        bare = ExecutionSummary(
            execution_id="x", template_id="t", algorithm=algorithm, graph_name="g", vertex_count=50, edge_count=80,
            result_ref="r", result_field="v",
        )  # fmt: skip
        texts = drafted(bare)
        assert list(texts) == ["No figures reported", "summary"]
        assert "50 vertices and 80 edges" in texts["No figures reported"]

    def test_missing_pattern_falls_back_to_the_catalog(self):
        """A vertical without a pattern for the algorithm still gets a titled, non-empty report."""
        bare = VerticalProfile(name="bare", display_name="Bare", description="", source="custom")
        report = report_for(execute("wcc"), vertical=bare)
        assert report.title == "Weakly connected components of people and companies in g"
        assert report.insights


class TestTitleSummaryAndPriorities:
    def test_title_says_what_the_report_shows(self):
        """The title names the ranked scope, not the use case's promise; no glossary line; ids follow the template."""
        report = report_for(execute("pagerank"))
        assert report.title == "Top 10 vertices by PageRank"
        assert (report.report_id, report.template_id, report.execution_id) == (
            "report-t-pagerank",
            "t-pagerank",
            "x-pagerank",
        )
        assert "Terms:" not in report.summary
        assert "Find key accounts" not in report.title
        assert report.artifacts == []

    def test_title_is_the_same_without_use_case(self):
        """Without a use case the title still says what is shown."""
        report = report_for(execute("pagerank"), use_case=None)
        assert report.title == "Top 10 vertices by PageRank"

    def test_priorities_follow_linked_requirements(self):
        """The pattern recommendation takes the most urgent linked requirement; data-driven ones follow."""
        report = report_for(execute("wcc"))
        assert report.recommendations[0].text.startswith("Act on the wcc findings.")
        assert report.recommendations[0].priority == "high"
        quality = next(r for r in report.recommendations if "data quality" in r.text)
        assert quality.priority == "medium"
        assert "4 vertices (16.0%)" in quality.text

    def test_priority_falls_back_to_use_case_then_medium(self):
        """Without linked requirements the use case's priority counts; without either, medium."""
        unlinked = msgspec.structs.replace(USE_CASE, requirement_ids=["R9"])
        assert report_for(execute("pagerank"), use_case=unlinked, requirements=[]).recommendations[0].priority == "low"
        assert report_for(execute("pagerank"), use_case=None, requirements=[]).recommendations[0].priority == "medium"

    def test_recommendation_names_the_top_vertices(self):
        """The pattern's recommendation points at the leaders by label."""
        run = execute("pagerank")
        first = report_for(run).recommendations[0].text
        assert all(v.label in first for v in run.execution.top[:3])


# ---------------------------------------------------------------- rendering


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, attrs))

    def handle_data(self, data):
        self.text.append(data)


ALLOWED_TAGS = {
    "html", "head", "meta", "title", "style", "body", "header", "h1", "h2", "p", "main", "section", "table", "thead",
    "tbody", "tr", "th", "td", "strong", "br", "div", "span", "ul", "li", "svg", "rect", "text", "footer",
}  # fmt: skip


def hostile_case() -> tuple[Report, ExecutionSummary, AnalysisTemplate]:
    n, src, dst = graph()
    labels = LABELS.copy()
    labels[11] = SCRIPT
    labels[6] = IMG
    run = execute("pagerank", n, src, dst, labels=labels)
    execution = msgspec.structs.replace(run.execution, graph_name=f"g{IMG}", by_collection={SCRIPT: 3, IMG: 2})
    hostile_template = template("pagerank", title=f"Title {SCRIPT}", note=IMG)
    hostile_use_case = msgspec.structs.replace(USE_CASE, title=f"Use {IMG}")
    report = build_report(
        hostile_template, hostile_use_case, execution, vertical(meaning_suffix=SCRIPT), REQUIREMENTS, run.evidence
    )
    report = msgspec.structs.replace(report, title=f"Use {IMG} {report.title}")
    return report, execution, hostile_template


class TestRendering:
    def test_html_escapes_every_hostile_text(self):
        """Labels, titles, pattern wording, collections, parameters and graph names show as text, never as markup."""
        report, execution, hostile_template = hostile_case()
        page = render_html(report, execution, hostile_template)
        assert "<script" not in page.lower()
        assert "<img" not in page.lower()
        parser = _Collector()
        parser.feed(page)
        tags = {tag for tag, _ in parser.tags}
        assert tags <= ALLOWED_TAGS
        for _, attrs in parser.tags:
            for name, _ in attrs:
                assert not name.startswith("on") and name not in {"src", "href"}
        text = "".join(parser.text)
        assert SCRIPT in text and IMG in text
        assert f"Title {SCRIPT}" in text and f"Use {IMG}" in text

    def test_html_is_self_contained(self):
        """No scripts, no remote loads, a CSP that forbids them, and inline styling only."""
        run = execute("louvain")
        page = render_html(report_for(run), run.execution, template("louvain"))
        for needle in ("src=", "href=", "url(", "@import", "http://", "https://", "<link", "<script"):
            assert needle not in page
        assert "Content-Security-Policy" in page and "default-src 'none'" in page
        assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")

    def test_html_shows_the_figures_bars_and_tables(self):
        """Summary, one confidence bar per insight, a bar per top row, figures, parameters and timings."""
        run = execute("pagerank")
        report = report_for(run)
        page = render_html(report, run.execution, template("pagerank"))
        assert page.count('class="bar "') == len(report.insights)
        assert page.count('class="bar value"') == len(run.execution.top)
        assert format_ratio(run.execution.distribution.gini) in page
        assert "Person 0" in page
        for needle in (
            "Insights",
            "Recommendations",
            "Top vertices",
            "Distribution",
            "Parameters",
            "Timings",
            "damping",
            "12.5 ms",
        ):
            assert needle in page

    def test_html_draws_group_sizes(self):
        """Group reports carry an inline SVG bar per listed group size."""
        run = execute("wcc")
        page = render_html(report_for(run), run.execution, template("wcc"))
        assert page.count("<rect") == len(run.execution.groups.top_sizes)
        assert "Largest groups" in page

    def test_markdown_quotes_figures_and_escapes_markup(self):
        """Markdown carries the report's text and numbers, with hostile text neutralised."""
        report, execution, hostile_template = hostile_case()
        markdown = render_markdown(report, execution, hostile_template)
        assert "<" not in markdown and ">" not in markdown
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in markdown
        assert markdown.startswith("# ")
        assert format_ratio(execution.distribution.gini) in markdown
        assert "| \\# | Vertex | Label | Value |" in markdown
        for i in report.insights:
            assert f"(confidence {format_share(i.confidence)})" in markdown

    def test_json_round_trips(self):
        """JSON holds the report, execution and template, decodable back into the contract types."""
        run = execute("scc")
        report = report_for(run)
        decoded = msgspec.json.decode(render_json(report, run.execution, template("scc")))
        assert set(decoded) == {"report", "execution", "template"}
        assert msgspec.convert(decoded["report"], Report) == report
        assert msgspec.convert(decoded["execution"], ExecutionSummary) == run.execution
        assert msgspec.convert(decoded["template"], AnalysisTemplate) == template("scc")


def test_group_stats_without_modularity_are_reported_honestly():
    """A community summary that lacks modularity says the quality is unknown instead of guessing."""
    execution = ExecutionSummary(
        execution_id="x", template_id="t-louvain", algorithm="louvain", graph_name="g",
        vertex_count=100, edge_count=300,
        result_ref="r", result_field="community",
        groups=GroupStats(count=4, largest=40, largest_share=0.4, singletons=0, top_sizes=[40, 30, 20, 10]),
        top=[RankedVertex(id="community/0", value=40, label="Alpha")],
    )  # fmt: skip
    texts = drafted(execution)
    assert next(iter(texts)) == "4 communities, quality unknown"
    assert "4 communities but reported no modularity" in texts["4 communities, quality unknown"]


@pytest.mark.parametrize(
    ("value", "printed"),
    [
        (0.1834, "18.3%"),
        (0.0, "0.0%"),
        (1.0, "100.0%"),
        (5.7e-05, "0.0057%"),  # the demo's betweenness share, once printed "0.0%"
        (0.00049, "0.049%"),
        (0.99996, "99.996%"),
        (0.9995, "99.95%"),
    ],
)
def test_a_share_that_is_neither_none_nor_all_never_prints_as_either(value, printed):
    assert format_share(value) == printed


@pytest.mark.parametrize(
    ("value", "printed"), [(12.54, "12.5×"), (1.0, "1.0×"), (0.0, "0.0×"), (0.06584, "0.066×"), (0.951, "0.95×")]
)
def test_a_multiple_below_one_is_not_rounded_up(value, printed):
    assert format_times(value) == printed
