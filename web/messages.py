"""The gateway's own JSON bodies (lists, lineage, trace), as msgspec Structs; the rest are the bus's messages."""

from __future__ import annotations

from typing import Annotated

from msgspec import Meta, Struct

from gaai.bus.contract import ErrorInfo, Instance, TaskStatus, WorkflowStatus
from gaai.bus.domain import ArtifactRef, EdgeSemantics, UnansweredQuestion
from gaai.bus.trace import TraceSummary


class CancelBody(Struct, frozen=True, forbid_unknown_fields=True):
    """The optional body of ``POST /api/workflows/{id}/cancel``."""

    reason: Annotated[str, Meta(max_length=500)] = "cancelled from the web gateway"


class WorkflowSummary(Struct, frozen=True):
    """One line of the workflows list."""

    workflow_id: str
    status: WorkflowStatus
    graph_name: str
    created_at: float
    updated_at: float
    completed_tasks: int
    total_tasks: int
    reports: int


class WorkflowList(Struct, frozen=True):
    """Known workflows, most recently created first."""

    workflows: list[WorkflowSummary]


class GraphEntry(Struct, frozen=True):
    """A graph in the store: its collections with their document or edge counts, and how edges are read."""

    name: str
    vertex_collections: dict[str, int]
    edge_collections: dict[str, int]
    edge_semantics: list[EdgeSemantics]
    created_at: float
    version: str


class GraphList(Struct, frozen=True):
    graphs: list[GraphEntry]


class LineageLink(Struct, frozen=True):
    """One chain under a requirement, as the catalog recorded it: the use case serving the requirement, a template
    planned for that use case, the execution that ran the template and the report it gave. Where the chain stops
    the later fields are empty (``""``, None)."""

    use_case_id: str
    use_case_title: str
    template_id: str
    template_title: str
    execution_task_id: str
    execution_label: str
    execution_status: TaskStatus | None
    report_title: str | None
    report_files: list[ArtifactRef]


class RequirementLineage(Struct, frozen=True):
    """What became of one requirement or objective: ``status`` and ``reason`` as the templates agent accounted for
    it (``pending`` before it has), and its chains."""

    requirement_id: str
    text: str
    status: str
    reason: str
    executions_needed: int | None
    links: list[LineageLink]


class Lineage(Struct, frozen=True):
    """Each requirement down to its reports (the catalog's chains, with the workflow's coverage, executions and
    report files), and the questions the graph cannot answer."""

    workflow_id: str
    status: WorkflowStatus
    requirements: list[RequirementLineage]
    unanswered: list[UnansweredQuestion]


class TraceTask(Struct, frozen=True):
    """One task on the workflow's timeline; times in milliseconds from the workflow's creation."""

    task_id: str
    label: str
    agent: str
    status: TaskStatus
    depends_on: list[str]
    start_ms: float | None
    duration_ms: float | None
    instance: Instance | None
    attempt: int
    llm_calls: int
    tokens: int
    cost_usd: float
    error: ErrorInfo | None


class Trace(Struct, frozen=True):
    """The workflow's trace: its summary (as ``gaai trace summary`` prints it) and its timeline, every task's timing,
    agent instance and language-model use."""

    workflow_id: str
    trace_id: str
    status: WorkflowStatus
    total_time_ms: float
    summary: TraceSummary
    tasks: list[TraceTask]


class SessionBody(Struct, frozen=True, forbid_unknown_fields=True):
    """``POST /api/session``: trade the bearer token for a same-site cookie the dashboard's pages send."""

    token: Annotated[str, Meta(min_length=1, max_length=1024)]
