"""The lineage the gateway shows: the catalog's chains joined with the workflow's coverage, executions and reports."""

from __future__ import annotations

from gaai.bus.contract import LineageReply, LineageStep, ReportLocation, TaskState, WorkflowProgress
from gaai.bus.domain import ArtifactRef, RequirementCoverage
from gaai.web.views import lineage


def step(entity_id: str, title: str) -> LineageStep:
    return LineageStep(entity_id=entity_id, kind=entity_id.partition(":")[0], title=title)


FILES = [ArtifactRef(format="html", object_name="wf/T1.html", size=10)]
PROGRESS = WorkflowProgress(
    workflow_id="wf",
    status="running",
    graph_name="g",
    created_at=1.0,
    updated_at=2.0,
    tasks=[
        TaskState(task_id="wf.execution.T1", agent="execution", label="Execute T1", status="completed"),
        TaskState(task_id="wf.execution.T2", agent="execution", label="Execute T2", status="running"),
    ],
    reports=[ReportLocation(template_id="T1", title="Hubs report", artifacts=FILES)],
    coverage=[
        RequirementCoverage(
            requirement_id="R1", text="Find hubs.", status="answered", template_ids=["T1", "T2"], reason="by T1, T2"
        ),
        RequirementCoverage(
            requirement_id="R2", text="Grow sales.", status="no_slot", reason="no room", executions_needed=3
        ),
    ],
)
RECORDED = LineageReply(
    workflow_id="wf",
    chains=[
        [
            step("requirement:R1", "Find hubs."),
            step("use_case:UC-1", "Hubs"),
            step("template:T1", "Influence"),
            step("execution:E1", "pagerank on g"),
            step("report:P1", "Hubs report"),
        ],
        [step("requirement:R1", "Find hubs."), step("use_case:UC-1", "Hubs"), step("template:T2", "Bridges")],
        [step("requirement:R2", "Grow sales."), step("use_case:UC-2", "Sales")],
        [step("requirement:R3", "Know churn.")],
    ],
)


def test_each_requirement_shows_its_chains_as_far_as_they_reach_in_the_coverage_order():
    shown = lineage(PROGRESS, RECORDED)
    answered, no_slot, pending = shown.requirements
    assert [
        (link.use_case_id, link.template_id, link.execution_status, link.report_title) for link in answered.links
    ] == [
        ("UC-1", "T1", "completed", "Hubs report"),
        ("UC-1", "T2", "running", None),
    ]
    assert answered.links[0].report_files == FILES and answered.links[1].report_files == []
    assert answered.links[0].execution_task_id == "wf.execution.T1" and answered.links[0].template_title == "Influence"
    assert (no_slot.requirement_id, no_slot.reason, no_slot.executions_needed) == ("R2", "no room", 3)
    assert [(link.use_case_title, link.template_id, link.execution_task_id) for link in no_slot.links] == [
        ("Sales", "", "")
    ]
    assert (pending.requirement_id, pending.text, pending.status, pending.links) == ("R3", "Know churn.", "pending", [])


def test_a_catalog_that_recorded_nothing_leaves_the_coverage_without_chains():
    shown = lineage(PROGRESS, LineageReply(workflow_id="wf", chains=[]))
    assert [(r.requirement_id, r.status, r.links) for r in shown.requirements] == [
        ("R1", "answered", []),
        ("R2", "no_slot", []),
    ]
