"""What the gateway shows of a workflow, computed from the orchestrator's status reply (and the catalog's lineage)."""

from __future__ import annotations

from gaai.bus.contract import LineageReply, LineageStep, ReportLocation, TaskState, WorkflowProgress
from gaai.bus.trace import summarize
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


def lineage(progress: WorkflowProgress, recorded: LineageReply) -> Lineage:
    """Requirement → use case → template → execution → report: the catalog's chains under each requirement of the
    workflow's coverage (then any the coverage does not list yet), with the executions' status and the report files
    from the workflow's state, linked by template id."""
    chains: dict[str, list[list[LineageStep]]] = {}
    for chain in recorded.chains:
        chains.setdefault(_bare_id(chain[0].entity_id), []).append(chain)
    accounted = [(c.requirement_id, c.text, c.status, c.reason, c.executions_needed) for c in progress.coverage]
    listed = {c.requirement_id for c in progress.coverage}
    accounted += [
        (root, rooted[0][0].title, "pending", "the templates step has not accounted for it yet", None)
        for root, rooted in chains.items()
        if root not in listed
    ]
    executions = {task.task_id.rsplit(".", 1)[1]: task for task in progress.tasks if task.agent == "execution"}
    reports = {location.template_id: location for location in progress.reports}
    requirements = [
        RequirementLineage(
            requirement_id=requirement_id,
            text=text,
            status=status,
            reason=reason,
            executions_needed=executions_needed,
            links=[_link(chain[1:], executions, reports) for chain in chains.get(requirement_id, []) if len(chain) > 1],
        )
        for requirement_id, text, status, reason, executions_needed in accounted
    ]
    return Lineage(
        workflow_id=progress.workflow_id,
        status=progress.status,
        requirements=requirements,
        unanswered=list(progress.unanswered),
    )


def _link(
    steps: list[LineageStep], executions: dict[str, TaskState], reports: dict[str, ReportLocation]
) -> LineageLink:
    """One chain below its requirement: use case, then template, execution and report as far as it reaches."""
    by_kind = {step.kind: step for step in steps}
    use_case, template, report_step = by_kind.get("use_case"), by_kind.get("template"), by_kind.get("report")
    template_id = _bare_id(template.entity_id) if template else ""
    execution = executions.get(template_id)
    report = reports.get(template_id)
    return LineageLink(
        use_case_id=_bare_id(use_case.entity_id) if use_case else "",
        use_case_title=use_case.title if use_case else "",
        template_id=template_id,
        template_title=template.title if template else "",
        execution_task_id=execution.task_id if execution else "",
        execution_label=execution.label if execution else "",
        execution_status=execution.status if execution else None,
        report_title=report.title if report else report_step.title if report_step else None,
        report_files=list(report.artifacts) if report else [],
    )


def _bare_id(entity_id: str) -> str:
    """``requirement:R1`` → ``R1``."""
    return entity_id.partition(":")[2]


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
        summary=summarize(progress),
        tasks=tasks,
    )
