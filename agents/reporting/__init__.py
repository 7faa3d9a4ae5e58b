"""Reporting agent: turns an execution's numbers into a report in the vertical's words.

The report (title, summary, insights with confidence and evidence, recommendations) is
built from the execution summary; Markdown, JSON and self-contained HTML renderings go to
the ``gaai_reports`` object store under ``<workflow_id>/<template_id>.<format>``.
"""

from __future__ import annotations

import msgspec

from agents.llm import offline_responder
from agents.reporting.build import build_report
from agents.reporting.render import render_html, render_json, render_markdown
from bus.contract import ArtifactRef, Report, ReportResult, ReportTask
from telemetry.tracing import span


def report_prompt(task: ReportTask) -> str:
    """What an HTTP model is asked: a report on these exact figures, as JSON."""
    figures = msgspec.json.encode(task.execution).decode()
    pattern = task.vertical.patterns.get(task.template.algorithm)
    meaning = f" In {task.vertical.display_name} terms: {pattern.meaning}" if pattern else ""
    return (
        f"{task.vertical.analysis_prompt}\nAnalysis: {task.template.title} ({task.template.algorithm}).{meaning}\n"
        f"Figures: {figures}\n"
        "Write a report as JSON with fields report_id, template_id, execution_id, title, summary, algorithm, "
        "insights (title, text, confidence 0-1, evidence: figures used), recommendations (text, priority). "
        "Quote only figures given above."
    )


@offline_responder("reporting")
def _offline_report(task: ReportTask) -> Report:
    return build_report(task.template, task.use_case, task.execution, task.vertical, task.requirements)


async def handle(task: ReportTask, ctx) -> ReportResult:
    report = await ctx.llm.ask("reporting", report_prompt(task), Report, context=task)
    with span("render report", **{"gaai.report.insights": len(report.insights)}):
        renderings = {
            "md": render_markdown(report, task.execution, task.template).encode(),
            "json": render_json(report, task.execution, task.template),
            "html": render_html(report, task.execution, task.template).encode(),
        }
    artifacts = []
    with span("store report files", **{"gaai.report.bytes": sum(len(d) for d in renderings.values())}):
        for extension, data in renderings.items():
            object_name = await ctx.put_artifact(f"{task.template.id}.{extension}", data)
            artifacts.append(ArtifactRef(format=extension, object_name=object_name, size=len(data)))
    return ReportResult(report=msgspec.structs.replace(report, artifacts=artifacts))

