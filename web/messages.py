"""The gateway's own JSON bodies (lists, lineage, trace), as msgspec Structs; the rest are the bus's messages."""

from __future__ import annotations

from typing import Annotated

from msgspec import Meta, Struct

from gaai.bus.contract import ErrorInfo, Instance, TaskStatus, WorkflowStatus
from gaai.bus.domain import ArtifactRef, EdgeSemantics, UnansweredQuestion


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
    """One analysis answering a requirement: its template, the execution that ran it and the report it gave."""

    template_id: str
    execution_task_id: str
    execution_label: str
    execution_status: TaskStatus | None
    report_title: str | None
    report_files: list[ArtifactRef]


class RequirementLineage(Struct, frozen=True):
    """What became of one requirement: ``status`` and ``reason`` as the templates agent accounted for it."""

    requirement_id: str
    text: str
    status: str
    reason: str
    executions_needed: int | None
    links: list[LineageLink]


class Lineage(Struct, frozen=True):
    """Each requirement down to its reports, and the questions the graph cannot answer, from the workflow's state."""

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
    """The workflow's timeline: every task's timing, agent instance and language-model use."""

    workflow_id: str
    trace_id: str
    status: WorkflowStatus
    total_time_ms: float
    tasks: list[TraceTask]


class SessionBody(Struct, frozen=True, forbid_unknown_fields=True):
    """``POST /api/session``: trade the bearer token for a same-site cookie the dashboard's pages send."""

    token: Annotated[str, Meta(min_length=1, max_length=1024)]
