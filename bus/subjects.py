"""Subject, stream, consumer, bucket and header names: the bus's address book."""

from __future__ import annotations

SUBMIT = "gaai.workflow.submit"
STATUS = "gaai.workflow.status"
CANCEL = "gaai.workflow.cancel"
RETRY = "gaai.workflow.retry"
CATALOG_LINEAGE = "gaai.catalog.lineage"

TASKS_STREAM = "GAAI_TASKS"
RESULTS_STREAM = "GAAI_RESULTS"
EVENTS_STREAM = "GAAI_EVENTS"
DLQ_STREAM = "GAAI_DLQ"

WORKFLOWS_BUCKET = "gaai_workflows"
CANCELLATIONS_BUCKET = "gaai_cancellations"
DOCUMENTS_BUCKET = "gaai_documents"
REPORTS_BUCKET = "gaai_reports"
UPLOAD_PREFIX = "upload/"
"""Where clients put documents in the documents bucket; a submission may name only these."""

ORCHESTRATOR_CONSUMER = "orchestrator"
CATALOG_CONSUMER = "catalog"
ORCHESTRATOR_QUEUE = "gaai-orchestrator"
CATALOG_QUEUE = "gaai-catalog"

HEADER_MSG_ID = "Nats-Msg-Id"
HEADER_TRACEPARENT = "traceparent"
HEADER_WORKFLOW_ID = "Gaai-Workflow-Id"
HEADER_TASK_ID = "Gaai-Task-Id"


def task_subject(agent: str) -> str:
    return f"gaai.task.{agent}"


def result_subject(agent: str) -> str:
    return f"gaai.result.{agent}"


def event_subject(workflow_id: str) -> str:
    return f"gaai.event.{workflow_id}"


def dlq_subject(agent: str) -> str:
    return f"gaai.dlq.{agent}"


def agent_consumer(agent: str) -> str:
    """The durable pull consumer that all replicas of one agent share."""
    return f"agent-{agent}"
