"""The wire contract: every message body that crosses NATS, as msgspec Structs.

Requests and replies, task and result envelopes, events, workflow progress, dead letters; the ids,
the names a request may use and the error codes (a closed set). The domain values the messages
carry (graph schema, requirements, templates, reports…) are in ``bus.domain``.

JSON on the wire. Tasks, results and events are tagged unions (field ``kind``), so a
reader decodes once and dispatches on the type. To evolve a message add a field with a
default; never rename or retype one. ``CONTRACT_VERSION`` changes only on a breaking
change. ``python -m gaai.bus.schema`` writes the JSON Schemas of the public messages into
``schemas/`` for clients in other languages; a test fails when they drift.

Timestamps are Unix seconds (float); durations are milliseconds.
"""

from __future__ import annotations

from typing import Annotated, Literal

from msgspec import Meta

from gaai.bus.domain import (
    AnalysisTemplate,
    ArtifactRef,
    DocumentRef,
    EdgeSemantics,
    ExecutionSummary,
    FrozenStruct,
    GraphSchema,
    Name,
    OutputConstraint,
    Report,
    Requirement,
    RequirementCoverage,
    RequirementsDoc,
    UnansweredQuestion,
    UseCase,
    VerticalProfile,
)

CONTRACT_VERSION = 1

Id = Annotated[str, Meta(min_length=1, max_length=200, description="An identifier.")]
WorkflowId = Annotated[str, Meta(pattern=r"^[A-Za-z0-9_\-]{1,64}$")]
Timestamp = Annotated[float, Meta(ge=0, description="Unix time in seconds.")]


# ---------------------------------------------------------------- client requests


class DocumentInput(FrozenStruct, frozen=True):
    """A requirement document given by a client: inline ``content`` or a ``path``.

    A path is read by the orchestrator only under its configured documents root; over the
    bus no root is configured by default, so clients send content. ``object_name`` refers
    to a document already put into the ``gaai_documents`` object store under ``upload/``.
    """

    content: Annotated[str, Meta(max_length=4_000_000)] | None = None
    path: Annotated[str, Meta(max_length=4096)] | None = None
    object_name: Annotated[str, Meta(max_length=512)] | None = None
    name: Annotated[str, Meta(max_length=256)] | None = None
    media_type: Annotated[str, Meta(max_length=128)] | None = None


VERTICAL_NAMES: tuple[str, ...] = ("adtech", "ecommerce", "fintech", "fraud", "generic", "social")
"""The built-in industry verticals a request may name in ``industry`` (profiles: ``agents/vertical/profiles/``)."""

INDUSTRY_ALIASES: dict[str, str] = {
    "e_commerce": "ecommerce",
    "retail": "ecommerce",
    "online_retail": "ecommerce",
    "shop": "ecommerce",
    "marketplace": "ecommerce",
    "fraud_intelligence": "fraud",
    "fraud_detection": "fraud",
    "aml": "fraud",
    "anti_money_laundering": "fraud",
    "social_network": "social",
    "social_media": "social",
    "finance": "fintech",
    "financial": "fintech",
    "financial_services": "fintech",
    "banking": "fintech",
    "payments": "fintech",
    "ad_tech": "adtech",
    "advertising": "adtech",
    "ads": "adtech",
    "general": "generic",
    "default": "generic",
}
"""Other accepted ``industry`` values (lowercased, spaces and dashes turned into ``_``) and the vertical each names."""

ALGORITHM_NAMES: tuple[str, ...] = (
    "pagerank",
    "wcc",
    "scc",
    "label_propagation",
    "louvain",
    "leiden",
    "betweenness",
    "closeness",
    "harmonic",
    "hits",
    "degree",
    "eigenvector",
    "k_core",
    "triangles",
    "clustering",
    "k_hop",
    "cycles",
    "similarity",
    "co_occurrence",
)
"""The algorithms templates may run, in the order the algorithm catalog lists them."""

NonBlank = Annotated[str, Meta(pattern=r"\S", description="A string with at least one non-space character.")]


class CustomPattern(FrozenStruct, frozen=True):
    """How a custom vertical words the findings of one algorithm."""

    title: NonBlank
    meaning: NonBlank
    recommendation: NonBlank


class CustomPatterns(FrozenStruct, forbid_unknown_fields=True, frozen=True):
    """A custom vertical's wording per algorithm (one of ``ALGORITHM_NAMES`` each); a missing one is the generic's."""

    pagerank: CustomPattern | None = None
    wcc: CustomPattern | None = None
    scc: CustomPattern | None = None
    label_propagation: CustomPattern | None = None
    louvain: CustomPattern | None = None
    leiden: CustomPattern | None = None
    betweenness: CustomPattern | None = None
    closeness: CustomPattern | None = None
    harmonic: CustomPattern | None = None
    hits: CustomPattern | None = None
    degree: CustomPattern | None = None
    eigenvector: CustomPattern | None = None
    k_core: CustomPattern | None = None
    triangles: CustomPattern | None = None
    clustering: CustomPattern | None = None
    k_hop: CustomPattern | None = None
    cycles: CustomPattern | None = None
    similarity: CustomPattern | None = None
    co_occurrence: CustomPattern | None = None


class VerticalMetadata(FrozenStruct, frozen=True):
    name: NonBlank
    display_name: str = ""
    description: str = ""
    version: str | int | float = ""


class DomainContext(FrozenStruct, frozen=True):
    key_entities: list[str] = []
    metrics: list[str] = []
    terminology: dict[str, str] = {}
    keywords: list[str] = []


class CustomVertical(FrozenStruct, frozen=True):
    """An industry vertical given by a client (``SubmitRequest.custom_vertical``), in the format of the built-in ones.

    Only ``metadata.name`` is required; ``display_name`` defaults to it.
    """

    metadata: VerticalMetadata
    domain_context: DomainContext = DomainContext()
    analysis_prompt: str = ""
    patterns: CustomPatterns = CustomPatterns()


class SubmitRequest(FrozenStruct, frozen=True):
    """Start a workflow: sent as a request on ``gaai.workflow.submit``."""

    graph_name: Name
    documents: Annotated[list[DocumentInput], Meta(max_length=64)] = []
    max_executions: Annotated[int, Meta(ge=1, le=256)] = 5
    enable_parallelism: bool = True
    max_concurrency: Annotated[int, Meta(ge=1, le=1024)] | None = None
    core_collections: Annotated[list[Name], Meta(max_length=256)] = []
    satellite_collections: Annotated[list[Name], Meta(max_length=256)] = []
    industry: Annotated[str, Meta(max_length=64)] = "auto"
    # A CustomVertical, checked at submission (bus.codec.decode_custom_vertical); it wins over ``industry``.
    custom_vertical: dict | None = None
    workflow_id: WorkflowId | None = None
    edge_semantics: Annotated[list[EdgeSemantics], Meta(max_length=256)] = []


class SubmitReply(FrozenStruct, frozen=True):
    """The answer to an accepted submission; the workflow state is already stored."""

    workflow_id: Id
    status: str


class StatusRequest(FrozenStruct, frozen=True):
    """Ask for a workflow's state: sent as a request on ``gaai.workflow.status``."""

    workflow_id: WorkflowId


class CancelRequest(FrozenStruct, frozen=True):
    """Stop a workflow: sent as a request on ``gaai.workflow.cancel``; answered with its status."""

    workflow_id: WorkflowId
    reason: Annotated[str, Meta(max_length=500)] = "cancelled by request"


class RetryRequest(FrozenStruct, frozen=True):
    """Run a failed task again (e.g. from the dead-letter stream): a request on ``gaai.workflow.retry``."""

    workflow_id: WorkflowId
    task_id: Annotated[str, Meta(max_length=200)]


class LineageRequest(FrozenStruct, frozen=True):
    """Ask the catalog for a workflow's lineage: sent as a request on ``gaai.catalog.lineage``."""

    workflow_id: WorkflowId


class LineageStep(FrozenStruct, frozen=True):
    """One entity of a lineage chain: ``entity_id`` is ``<kind>:<id>`` (``use_case:UC-1``), ``title`` its title."""

    entity_id: str
    kind: str
    title: str


class LineageReply(FrozenStruct, frozen=True):
    """The catalog's answer: every chain from a requirement or objective down to a report (or as far as it got),
    then what became of each requirement and objective, in the templates agent's order.

    A requirement or objective no use case serves is a chain of one step. The catalog records results moments
    after they are published, so a running workflow's lineage may lag its status.
    """

    workflow_id: str
    chains: list[list[LineageStep]]
    coverage: list[RequirementCoverage] = []


ErrorCode = Literal[
    "bad_argument",
    "bad_document",
    "bad_format",
    "bad_graph",
    "bad_import",
    "bad_name",
    "bad_params",
    "bad_price_table",
    "bad_request",
    "bad_result_ref",
    "bad_setting",
    "bad_vertical",
    "bad_weight",
    "cancelled",
    "conflicting_hints",
    "constraint_violated",
    "cross_origin",
    "document_missing",
    "document_not_allowed",
    "document_not_found",
    "document_too_large",
    "duplicate_collection",
    "empty_document",
    "empty_graph",
    "graph_changed",
    "graph_exists",
    "internal",
    "jetstream_unavailable",
    "llm_answer_truncated",
    "llm_auth",
    "llm_bad_output",
    "llm_bad_response",
    "llm_request_rejected",
    "llm_unavailable",
    "missing_dependency",
    "nats_server_failed",
    "nats_unavailable",
    "no_bus",
    "no_catalog",
    "no_nats_server",
    "no_nats_url",
    "no_orchestrator",
    "no_run",
    "no_use_case",
    "not_failed",
    "not_ready",
    "overloaded",
    "path_not_allowed",
    "publish_failed",
    "state_conflict",
    "state_unavailable",
    "stopped",
    "timeout",
    "too_large",
    "too_many_attempts",
    "topology_missing",
    "unauthorized",
    "unknown_agent",
    "unknown_algorithm",
    "unknown_bucket",
    "unknown_case",
    "unknown_collection",
    "unknown_dead_letter",
    "unknown_document",
    "unknown_graph",
    "unknown_llm_provider",
    "unknown_report",
    "unknown_result",
    "unknown_route",
    "unknown_task",
    "unknown_vertical",
    "unknown_workflow",
    "unsupported_document",
    "worker_crashed",
    "workflow_exists",
]
"""Every error code the system raises or puts on the wire (``ErrorInfo.code``, ``GaaiError.code``); a closed set."""

ERROR_CODES: dict[ErrorCode, str] = {
    "bad_argument": "A command-line argument is invalid or conflicts with another.",
    "bad_document": "A requirement document cannot be read (binary data, an encrypted or broken file).",
    "bad_format": "An export was asked in a format that does not exist.",
    "bad_graph": "The graph arrays handed to the execution engine are inconsistent.",
    "bad_import": "The files given to import cannot become a graph.",
    "bad_name": "A graph, collection, execution or result field name breaks the naming rule.",
    "bad_params": "A template gives an algorithm a parameter it does not take, of the wrong type or out of range.",
    "bad_price_table": "The LLM price table (GAAI_LLM_PRICES) cannot be read.",
    "bad_request": "A request or task is not valid JSON or breaks the contract; the message names the field.",
    "bad_result_ref": "A string is not a result reference (results/<graph>/<id>.parquet).",
    "bad_setting": "A setting from the environment is missing or invalid.",
    "bad_vertical": "A custom vertical breaks the vertical format; the message names the field.",
    "bad_weight": "An edge-semantics weight field is not a number ≥ 0 on every edge.",
    "cancelled": "The workflow was cancelled, so its tasks cannot be retried.",
    "conflicting_hints": "A collection is hinted both core and satellite.",
    "constraint_violated": "A report would break an output constraint of the requirements.",
    "cross_origin": "A state-changing web request came from another site (its Origin is not the gateway's).",
    "document_missing": "A stored requirement document is no longer in the document store.",
    "document_not_allowed": "A submission names a stored object outside the upload area.",
    "document_not_found": "A document path names no file under the documents root.",
    "document_too_large": "A requirement document exceeds the size limit.",
    "duplicate_collection": "A collection is selected or declared more than once.",
    "empty_document": "A requirement document holds no readable text.",
    "empty_graph": "The selected collections hold no vertices, so there is nothing to analyse.",
    "graph_changed": "The graph was replaced or deleted while being read; trying again helps.",
    "graph_exists": "An import would overwrite an existing graph without replace.",
    "internal": "An unexpected failure inside an agent or a request handler.",
    "jetstream_unavailable": "A JetStream operation (stream, bucket, object store) failed.",
    "llm_answer_truncated": "The language model stopped its answer at the token limit.",
    "llm_auth": "The language-model provider refused the credentials.",
    "llm_bad_output": "The language model answered with invalid output twice.",
    "llm_bad_response": "The language-model provider answered in a shape its protocol does not have.",
    "llm_request_rejected": "The language-model provider rejected the request.",
    "llm_unavailable": "The language-model provider did not answer after every attempt.",
    "missing_dependency": "An optional package this command needs is not installed.",
    "nats_server_failed": "The local nats-server did not start or exited.",
    "nats_unavailable": "No connection to the NATS server.",
    "no_bus": "An operation that needs the bus ran outside a running agent.",
    "no_catalog": "No catalog answers lineage requests.",
    "no_nats_server": "The nats-server executable is not installed and no NATS_URL is set.",
    "no_nats_url": "A command that talks to a running system has no NATS_URL.",
    "no_orchestrator": "No orchestrator answers requests.",
    "no_run": "Results were asked of the Python API before any workflow ran.",
    "no_use_case": "Neither the model nor the rules could plan one analysis from the requirements for this graph.",
    "not_failed": "A retry names a task that has not failed.",
    "not_ready": "Agent replicas did not become ready in time.",
    "overloaded": "The orchestrator is already handling as many requests as it takes; send it again shortly.",
    "path_not_allowed": "A document path leads outside the documents root.",
    "publish_failed": "A message could not be published.",
    "state_conflict": "A workflow's stored state kept changing under the orchestrator.",
    "state_unavailable": "A workflow's stored state cannot be read.",
    "stopped": "The orchestrator stopped while the work was under way.",
    "timeout": "No answer in time: a request unanswered, or a task over its time limit.",
    "too_large": "A request exceeds the size the server accepts.",
    "too_many_attempts": "Too many wrong web tokens from one address within a minute; try again after Retry-After.",
    "topology_missing": "A stream or bucket does not exist and this user may not create it.",
    "unauthorized": "A web request without the gateway's bearer token (GAAI_WEB_TOKEN).",
    "unknown_agent": "An agent name that is not one of the agents.",
    "unknown_algorithm": "An algorithm name the catalog or the engine does not know.",
    "unknown_bucket": "A key-value or object bucket that does not exist.",
    "unknown_case": "An evaluation case name that does not exist.",
    "unknown_collection": "A collection the graph does not have, or not of the kind required.",
    "unknown_dead_letter": "A dead-letter id that names no parked task.",
    "unknown_document": "A submission names an upload that is not in the document store.",
    "unknown_graph": "A graph name that names no imported graph.",
    "unknown_llm_provider": "An LLM provider name that is not one of the providers.",
    "unknown_report": "A report file that is no longer in the report store.",
    "unknown_result": "No result is stored at a result reference.",
    "unknown_route": "An HTTP path or method the web gateway does not serve.",
    "unknown_task": "A task id that the workflow does not have.",
    "unknown_vertical": "An industry that names neither a built-in vertical nor an alias of one.",
    "unknown_workflow": "A workflow id that names no known workflow.",
    "unsupported_document": "A requirement document of a type that cannot be read.",
    "worker_crashed": "The process computing an algorithm died; trying again may help.",
    "workflow_exists": "A workflow id already in use for another graph or submitted concurrently.",
}
"""What each error code means, one line each."""

RETRYABLE_CODES: frozenset[ErrorCode] = frozenset(
    {
        "graph_changed",
        "jetstream_unavailable",
        "llm_bad_output",
        "llm_unavailable",
        "nats_unavailable",
        "no_catalog",
        "no_orchestrator",
        "not_ready",
        "overloaded",
        "publish_failed",
        "state_conflict",
        "state_unavailable",
        "stopped",
        "timeout",
        "too_many_attempts",
        "worker_crashed",
    }
)
"""The codes of temporary conditions: the same request or task, tried again later, can succeed.

This is the default ``retryable`` of every error built from a code (``bus.errors``); a raiser that knows
better for one occurrence says so explicitly.
"""


WireErrorCode = Annotated[
    str,
    Meta(
        min_length=1,
        max_length=64,
        description=(
            "One of the codes in ERROR_CODES. Readers accept a code they do not know (a newer sender's), "
            "so adding a code never breaks an older reader; senders only send the listed ones."
        ),
        examples=sorted(ERROR_CODES),
    ),
]


class ErrorInfo(FrozenStruct, frozen=True):
    """What went wrong, machine-readable ``code`` plus a sentence for people.

    Every sender uses an ``ErrorCode`` (mypy and ``tests/bus/test_error_codes.py`` hold them to
    the set); on the wire the code is a plain string, so a reader keeps one it does not know.
    """

    code: WireErrorCode
    message: str
    retryable: bool = False


class ErrorReply(FrozenStruct, frozen=True):
    """The answer to any request that could not be served."""

    error: ErrorInfo


# ---------------------------------------------------------------- tasks


class VerticalTask(FrozenStruct, tag="vertical", tag_field="kind", frozen=True):
    graph_name: str
    documents: list[DocumentRef]
    industry: str = "auto"
    custom_vertical: dict | None = None


class SchemaTask(FrozenStruct, tag="schema", tag_field="kind", frozen=True):
    graph_name: str
    core_collections: list[str] = []
    satellite_collections: list[str] = []
    sample_size: int = 200
    edge_semantics: list[EdgeSemantics] = []


class RequirementsTask(FrozenStruct, tag="requirements", tag_field="kind", frozen=True):
    documents: list[DocumentRef]


class UseCasesTask(FrozenStruct, tag="use_cases", tag_field="kind", frozen=True):
    requirements: RequirementsDoc
    schema: GraphSchema
    vertical: VerticalProfile


class TemplatesTask(FrozenStruct, tag="templates", tag_field="kind", frozen=True):
    """``requirements`` and ``unanswered`` let the templates agent account for every requirement."""

    use_cases: list[UseCase]
    schema: GraphSchema
    max_templates: int
    requirements: RequirementsDoc | None = None
    unanswered: list[UnansweredQuestion] = []


class ExecutionTask(FrozenStruct, tag="execution", tag_field="kind", frozen=True):
    graph_name: str
    template: AnalysisTemplate


class ReportTask(FrozenStruct, tag="reporting", tag_field="kind", frozen=True):
    template: AnalysisTemplate
    use_case: UseCase | None
    execution: ExecutionSummary
    vertical: VerticalProfile
    requirements: list[Requirement] = []
    constraints: list[OutputConstraint] = []
    schema_warnings: list[str] = []


Task = VerticalTask | SchemaTask | RequirementsTask | UseCasesTask | TemplatesTask | ExecutionTask | ReportTask

# ---------------------------------------------------------------- results


class VerticalResult(FrozenStruct, tag="vertical", tag_field="kind", frozen=True):
    vertical: VerticalProfile


class SchemaResult(FrozenStruct, tag="schema", tag_field="kind", frozen=True):
    schema: GraphSchema


class RequirementsResult(FrozenStruct, tag="requirements", tag_field="kind", frozen=True):
    """``planned_by``: who wrote the requirements (``model``, ``rules`` or ``model and rules``); ``notes``: why
    the rules answered or completed the model's answer, and what of the documents the model did not see."""

    requirements: RequirementsDoc
    planned_by: str = ""
    notes: list[str] = []


class UseCasesResult(FrozenStruct, tag="use_cases", tag_field="kind", frozen=True):
    """``planned_by`` and ``notes`` as in :class:`RequirementsResult`; each use case says who planned it too."""

    use_cases: list[UseCase]
    unanswered: list[UnansweredQuestion] = []
    planned_by: str = ""
    notes: list[str] = []


class TemplatesResult(FrozenStruct, tag="templates", tag_field="kind", frozen=True):
    templates: list[AnalysisTemplate]
    rejected: list[str] = []
    coverage: list[RequirementCoverage] = []


class ExecutionResult(FrozenStruct, tag="execution", tag_field="kind", frozen=True):
    summary: ExecutionSummary


class ReportResult(FrozenStruct, tag="reporting", tag_field="kind", frozen=True):
    report: Report


TaskResult = (
    VerticalResult
    | SchemaResult
    | RequirementsResult
    | UseCasesResult
    | TemplatesResult
    | ExecutionResult
    | ReportResult
)

TASK_AGENTS: tuple[str, ...] = (
    "vertical",
    "schema",
    "requirements",
    "use_cases",
    "templates",
    "execution",
    "reporting",
)
"""The agents the orchestrator sends tasks to."""

AGENT_NAMES: tuple[str, ...] = (*TASK_AGENTS, "catalog")
"""Every agent process kind; the catalog takes no tasks, it follows the results stream."""


# ---------------------------------------------------------------- envelopes


class LlmCall(FrozenStruct, frozen=True):
    """One call to a language-model provider, recorded by the agent that made it."""

    purpose: str
    provider: str
    model: str
    tokens_in: int
    tokens_out: int
    latency_ms: float
    cost_usd: float
    tokens_estimated: bool = False
    priced: bool = True
    notes: list[str] = []
    """What the user should know of this call: the prompt cut to fit the context, the answer replaced by rules."""


class Instance(FrozenStruct, frozen=True):
    """The agent process that did a task."""

    agent: str
    host: str
    pid: int
    instance_id: str


class TaskEnvelope(FrozenStruct, frozen=True):
    """A task on ``gaai.task.<agent>``."""

    workflow_id: str
    task_id: str
    task: Task
    attempt: int = 1
    contract_version: int = CONTRACT_VERSION


class ResultEnvelope(FrozenStruct, frozen=True):
    """An agent's answer to one task on ``gaai.result.<agent>``: a result or an error."""

    workflow_id: str
    task_id: str
    instance: Instance
    started_at: Timestamp
    ended_at: Timestamp
    attempt: int = 1
    contract_version: int = CONTRACT_VERSION
    deliveries: int = 1
    result: TaskResult | None = None
    error: ErrorInfo | None = None
    llm_calls: list[LlmCall] = []


# ---------------------------------------------------------------- workflow state and events

WorkflowStatus = Literal["pending", "running", "completed", "failed", "cancelled"]
TaskStatus = Literal["waiting", "dispatched", "running", "completed", "failed", "skipped", "cancelled"]
FINAL_STATUSES: tuple[str, ...] = ("completed", "failed", "cancelled")


class TaskState(FrozenStruct, frozen=True):
    task_id: str
    agent: str
    label: str
    status: TaskStatus = "waiting"
    depends_on: list[str] = []
    attempt: int = 1
    dispatched_at: float | None = None
    started_at: float | None = None
    ended_at: float | None = None
    instance: Instance | None = None
    error: ErrorInfo | None = None
    llm_calls: list[LlmCall] = []


class ReportLocation(FrozenStruct, frozen=True):
    template_id: str
    title: str
    artifacts: list[ArtifactRef] = []


class WorkflowProgress(FrozenStruct, frozen=True):
    """A workflow as ``gaai.workflow.status`` reports it."""

    workflow_id: str
    status: WorkflowStatus
    graph_name: str
    created_at: Timestamp
    updated_at: Timestamp
    tasks: list[TaskState]
    reports: list[ReportLocation] = []
    failures: list[str] = []
    reports_bucket: str = "gaai_reports"
    trace_id: str = ""
    enable_parallelism: bool = True
    unanswered: list[UnansweredQuestion] = []
    coverage: list[RequirementCoverage] = []


class TaskEvent(FrozenStruct, tag="task", tag_field="kind", frozen=True):
    """A task changed state: published on ``gaai.event.<workflow_id>``."""

    workflow_id: str
    task_id: str
    agent: str
    label: str
    status: TaskStatus
    at: Timestamp
    instance: Instance | None = None
    error: ErrorInfo | None = None


class WorkflowEvent(FrozenStruct, tag="workflow", tag_field="kind", frozen=True):
    """A workflow's state was written: published on ``gaai.event.<workflow_id>``, once per write.

    ``status`` and the counts are the workflow's after the write; ``tasks`` are the task
    changes the write made (dispatched, completed, failed), oldest first. The only task
    events published on their own are agents' ``running`` announcements.
    """

    workflow_id: str
    status: WorkflowStatus
    at: Timestamp
    completed_tasks: int = 0
    total_tasks: int = 0
    tasks: list[TaskEvent] = []


Event = TaskEvent | WorkflowEvent


class DeadLetter(FrozenStruct, frozen=True):
    """A task that failed for good, parked on ``gaai.dlq.<agent>`` with its error."""

    task: TaskEnvelope
    agent: str
    error: ErrorInfo
    deliveries: int
    at: Timestamp
    instance: Instance | None = None
