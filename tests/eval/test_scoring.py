"""How the suite judges coverage and privacy: what counts as explained, what as silently dropped,
and which personal data it finds in report files."""

from __future__ import annotations

from pathlib import Path

from gaai.bus.domain import RequirementCoverage
from gaai.eval.cases import build_case, write_files
from gaai.eval.scoring import coverage_outcome, personal_data_found
from gaai.store import EmbeddedStore
from graph_analytics_ai.ai.agents import Report


def _entry(requirement: str, status: str, templates: list[str], reason: str) -> RequirementCoverage:
    return RequirementCoverage(
        requirement_id=requirement, text="", status=status, template_ids=templates, reason=reason
    )


def test_coverage_sorts_answered_explained_and_silently_dropped():
    coverage = [
        _entry("REQ-1", "answered", ["TPL-001"], "answered by TPL-001 (PageRank)"),
        _entry("REQ-2", "answered", ["TPL-009"], "answered by TPL-009 (Louvain communities)"),
        _entry("REQ-3", "no_slot", [], "max_executions 3 would cover it"),
        _entry("REQ-4", "no_data", [], " "),
        _entry("OBJ-1", "answered", ["TPL-002", "TPL-001"], "answered by TPL-001"),
    ]
    outcome = coverage_outcome(["REQ-1", "REQ-2", "REQ-3", "REQ-4", "REQ-5", "OBJ-1"], coverage, {"TPL-001"})
    assert outcome.answered == ["REQ-1", "OBJ-1"]
    assert outcome.explained == ["REQ-3"]
    assert outcome.dropped == [
        "REQ-2: listed as answered, but there is no report of TPL-009",
        "REQ-4: no_data without a reason",
        "REQ-5: not in the workflow's coverage",
    ]


def test_customer_names_are_found_in_any_report_file(tmp_path: Path):
    case = build_case("customers_products")
    store = EmbeddedStore(tmp_path / "home")
    store.import_graph(case.name, write_files(case, tmp_path / "files"), semantics=list(case.semantics))
    first = case.graph.vertices["customers"][0]["name"]
    product = case.graph.vertices["products"][0]["title"]
    clean = Report("TPL-001", "Top products", "", [], [], {"md": f"# {product} ranks first\n".encode()})
    leaking = Report("TPL-002", "Segments", "", [], [], {"html": f"<p>{first} leads</p>".encode(), "md": b"none"})
    assert personal_data_found(case, store, [clean]) == []
    assert personal_data_found(case, store, [clean, leaking]) == [f"TPL-002.html: {first}"]
