"""The workflow state the orchestrator keeps in the ``gaai_workflows`` KV bucket."""

from __future__ import annotations

import msgspec

from gaai.bus.contract import (
    ErrorInfo,
    ReportLocation,
    ReportResult,
    SubmitRequest,
    TaskResult,
    TaskState,
    TemplatesResult,
    UseCasesResult,
    WorkflowProgress,
    WorkflowStatus,
)
from gaai.bus.domain import DocumentRef


class WorkflowState(msgspec.Struct, kw_only=True):
    """Everything needed to continue a workflow after a restart.

    ``outputs`` holds the results of completed tasks: later tasks are built from them.
    Bulk data (per-vertex results, report files) is never here, only references.
    """

    workflow_id: str
    request: SubmitRequest
    documents: list[DocumentRef]
    trace_id: str
    created_at: float
    updated_at: float
    status: WorkflowStatus = "pending"
    tasks: dict[str, TaskState] = {}
    outputs: dict[str, TaskResult] = {}
    failures: list[str] = []
    messages_sent: int = 0
    messages_received: int = 0

    def progress(self) -> WorkflowProgress:
        reports = [
            ReportLocation(
                template_id=output.report.template_id, title=output.report.title, artifacts=output.report.artifacts
            )
            for output in self.outputs.values()
            if isinstance(output, ReportResult)
        ]
        unanswered = [
            question
            for output in self.outputs.values()
            if isinstance(output, UseCasesResult)
            for question in output.unanswered
        ]
        coverage = [
            item for output in self.outputs.values() if isinstance(output, TemplatesResult) for item in output.coverage
        ]
        return WorkflowProgress(
            workflow_id=self.workflow_id,
            status=self.status,
            graph_name=self.request.graph_name,
            created_at=self.created_at,
            updated_at=self.updated_at,
            tasks=list(self.tasks.values()),
            reports=reports,
            failures=list(self.failures),
            trace_id=self.trace_id,
            enable_parallelism=self.request.enable_parallelism,
            unanswered=unanswered,
            coverage=coverage,
        )

    def failure(self, task: TaskState, error: ErrorInfo) -> str:
        return f"{task.label}: {error.message} [{error.code}]"


state_encoder = msgspec.json.Encoder()
state_decoder = msgspec.json.Decoder(WorkflowState)
