"""What the gateway shows of a workflow, computed from the orchestrator's status reply alone."""

from __future__ import annotations

from gaai.bus.contract import WorkflowProgress
from gaai.store import GraphInfo
from gaai.web.messages import (
    GraphEntry,
    Lineage,
    LineageLink,
    RequirementLineage,
    Trace,
    TraceTask,
    WorkflowSummary,
)


def workflow_summary(progress: WorkflowProgress) -> WorkflowSummary:
    return WorkflowSummary(
        workflow_id=progress.workflow_id,
        status=progress.status,
        graph_name=progress.graph_name,
        created_at=progress.created_at,
        updated_at=progress.updated_at,
        completed_tasks=sum(1 for task in progress.tasks if task.status == "completed"),
        total_tasks=len(progress.tasks),
        reports=len(progress.reports),
    )


def graph_entry(info: GraphInfo) -> GraphEntry:
    return GraphEntry(
        name=info.name,
        vertex_collections=dict(info.vertex_collections),
        edge_collections=dict(info.edge_collections),
        edge_semantics=[info.semantics(name) for name in info.edge_collections],
        created_at=info.created_at,
        version=info.version,
    )


def lineage(progress: WorkflowProgress) -> Lineage:
    """Requirement → template → execution → report, linked by the template ids the workflow's tasks carry."""
    executions = {task.task_id.rsplit(".", 1)[1]: task for task in progress.tasks if task.agent == "execution"}
    reports = {location.template_id: location for location in progress.reports}
    requirements = []
    for coverage in progress.coverage:
        links = []
        for template_id in coverage.template_ids:
            execution = executions.get(template_id)
            report = reports.get(template_id)
            links.append(
                LineageLink(
                    template_id=template_id,
                    execution_task_id=execution.task_id if execution else "",
                    execution_label=execution.label if execution else "",
                    execution_status=execution.status if execution else None,
                    report_title=report.title if report else None,
                    report_files=list(report.artifacts) if report else [],
                )
            )
        requirements.append(
            RequirementLineage(
                requirement_id=coverage.requirement_id,
                text=coverage.text,
                status=coverage.status,
                reason=coverage.reason,
                executions_needed=coverage.executions_needed,
                links=links,
            )
        )
    return Lineage(
        workflow_id=progress.workflow_id,
        status=progress.status,
        requirements=requirements,
        unanswered=list(progress.unanswered),
    )


def trace(progress: WorkflowProgress) -> Trace:
    def since_start_ms(at: float | None) -> float | None:
        return None if at is None else round(1000 * (at - progress.created_at), 3)

    tasks = [
        TraceTask(
            task_id=task.task_id,
            label=task.label,
            agent=task.agent,
            status=task.status,
            depends_on=list(task.depends_on),
            start_ms=since_start_ms(task.started_at),
            duration_ms=round(1000 * (task.ended_at - task.started_at), 3)
            if task.started_at is not None and task.ended_at is not None
            else None,
            instance=task.instance,
            attempt=task.attempt,
            llm_calls=len(task.llm_calls),
            tokens=sum(call.tokens_in + call.tokens_out for call in task.llm_calls),
            cost_usd=sum(call.cost_usd for call in task.llm_calls),
            error=task.error,
        )
        for task in progress.tasks
    ]
    return Trace(
        workflow_id=progress.workflow_id,
        trace_id=progress.trace_id,
        status=progress.status,
        total_time_ms=round(1000 * max(0.0, progress.updated_at - progress.created_at), 3),
        tasks=tasks,
    )
