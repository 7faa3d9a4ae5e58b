"""What `gaai run` / `gaai demo` print at the end: counts in English, each schema warning once."""

from __future__ import annotations

from pathlib import Path

from gaai.agents.reporting.render import render_json
from gaai.bus.contract import ReportLocation, WorkflowProgress
from gaai.bus.domain import AnalysisTemplate, ExecutionSummary, Report
from graph_analytics_ai.cli import _print_outcome
from graph_analytics_ai.client import ReportFiles
from graph_analytics_ai.session import RunResult

FOLLOWS = "Edge collection 'follows' is read as directed, but its name suggests ties that go both ways."
CO_PURCHASE = "Edge collection 'co_purchase' has a numeric field 'count' on every edge that looks like a weight."


def files(template_id: str, warnings: list[str]) -> ReportFiles:
    template = AnalysisTemplate(
        id=template_id, use_case_id="UC-1", title="t", algorithm="pagerank", vertex_collections=["a"],
        edge_collections=["follows"],
    )  # fmt: skip
    execution = ExecutionSummary(
        execution_id="x", template_id=template_id, algorithm="pagerank", graph_name="g", vertex_count=1, edge_count=0,
        result_ref="r", result_field="rank",
    )  # fmt: skip
    report = Report(
        report_id=f"report-{template_id}", template_id=template_id, execution_id="x", title="t", summary="",
        algorithm="pagerank", warnings=warnings,
    )  # fmt: skip
    return ReportFiles(template_id=template_id, title="t", files={"json": render_json(report, execution, template)})


def outcome(reports: list[ReportFiles]) -> RunResult:
    progress = WorkflowProgress(
        workflow_id="wf", status="completed", graph_name="g", created_at=1.0, updated_at=2.0, tasks=[],
        reports=[ReportLocation(template_id=r.template_id, title=r.title) for r in reports],
    )  # fmt: skip
    return RunResult(workflow_id="wf", progress=progress, reports=reports)


def test_one_report_is_not_reports_and_each_warning_is_printed_once(capsys):
    """Two reports share the warning on 'follows': it is printed once, the one on 'co_purchase' too."""
    _print_outcome(outcome([files("TPL-1", [FOLLOWS]), files("TPL-2", [FOLLOWS, CO_PURCHASE])]), Path("out"))
    printed = capsys.readouterr().out
    assert "Workflow wf: completed, 2 reports" in printed
    assert printed.count(FOLLOWS) == 1 and printed.count(CO_PURCHASE) == 1
    assert f"  ! {FOLLOWS}\n  ! {CO_PURCHASE}\n" in printed

    _print_outcome(outcome([files("TPL-1", [])]), Path("out"))
    printed = capsys.readouterr().out
    assert "Workflow wf: completed, 1 report\n" in printed
    assert "report(s)" not in printed and "  ! " not in printed
