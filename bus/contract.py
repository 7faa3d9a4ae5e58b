"""The wire contract: every message body that crosses NATS, as msgspec Structs.

JSON on the wire. Tasks, results and events are tagged unions (field ``kind``), so a
reader decodes once and dispatches on the type. To evolve a message add a field with a
default; never rename or retype one. ``CONTRACT_VERSION`` changes only on a breaking
change. ``python -m bus.schema`` writes the JSON Schemas of the public messages into
``schemas/`` for clients in other languages; a test fails when they drift.

Timestamps are Unix seconds (float); durations are milliseconds.
"""

from __future__ import annotations

from typing import Annotated, Literal

from msgspec import Meta, Struct

CONTRACT_VERSION = 1

Id = Annotated[str, Meta(min_length=1, max_length=200, description="An identifier.")]
Name = Annotated[
    str,
    Meta(
        min_length=1,
        max_length=128,
        pattern=r"^[A-Za-z_][A-Za-z0-9_\-]*$",
        description="A graph or collection name: letters, digits, '_' and '-', starting with a letter or '_'.",
    ),
]
WorkflowId = Annotated[str, Meta(pattern=r"^[A-Za-z0-9_\-]{1,64}$")]
Timestamp = Annotated[float, Meta(ge=0, description="Unix time in seconds.")]
Scalar = str | int | float | bool | None


class _Frozen(Struct, frozen=True, kw_only=True, forbid_unknown_fields=False):
    """Base of every message: immutable, keyword-only, tolerant of unknown fields.

    Every subclass repeats ``frozen=True``: msgspec inherits it, but type checkers read a
    dataclass-like class's keywords per class (PEP 681).
    """


# ---------------------------------------------------------------- client requests


class DocumentInput(_Frozen, frozen=True):
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


class EdgeSemantics(_Frozen, frozen=True):
    """How one edge collection is read.

    ``directed``: an edge goes from ``_from`` to ``_to``; otherwise it is a tie both ways,
    and a pair listed in both directions is one tie. ``weight_field``: the numeric field
    holding each edge's weight (a strength for PageRank, Louvain and label propagation; a
    length for betweenness's shortest paths); ``None`` = every edge counts 1.
    """

    collection: Name
    directed: bool = True
    weight_field: Annotated[str, Meta(min_length=1, max_length=128)] | None = None


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

ALGORITHM_NAMES: tuple[str, ...] = ("pagerank", "wcc", "scc", "label_propagation", "louvain", "betweenness")
"""The algorithms templates may run, in the order the algorithm catalog lists them."""

NonBlank = Annotated[str, Meta(pattern=r"\S", description="A string with at least one non-space character.")]


class CustomPattern(_Frozen, frozen=True):
    """How a custom vertical words the findings of one algorithm."""

    title: NonBlank
    meaning: NonBlank
    recommendation: NonBlank


class CustomPatterns(_Frozen, forbid_unknown_fields=True, frozen=True):
    """A custom vertical's wording per algorithm (one of ``ALGORITHM_NAMES`` each); a missing one is the generic's."""

    pagerank: CustomPattern | None = None
    wcc: CustomPattern | None = None
    scc: CustomPattern | None = None
    label_propagation: CustomPattern | None = None
    louvain: CustomPattern | None = None
    betweenness: CustomPattern | None = None


class VerticalMetadata(_Frozen, frozen=True):
    name: NonBlank
    display_name: str = ""
    description: str = ""
    version: str | int | float = ""


class DomainContext(_Frozen, frozen=True):
    key_entities: list[str] = []
    metrics: list[str] = []
    terminology: dict[str, str] = {}
    keywords: list[str] = []


class CustomVertical(_Frozen, frozen=True):
    """An industry vertical given by a client (``SubmitRequest.custom_vertical``), in the format of the built-in ones.

    Only ``metadata.name`` is required; ``display_name`` defaults to it.
    """

    metadata: VerticalMetadata
    domain_context: DomainContext = DomainContext()
    analysis_prompt: str = ""
    patterns: CustomPatterns = CustomPatterns()


class SubmitRequest(_Frozen, frozen=True):
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


class SubmitReply(_Frozen, frozen=True):
    """The answer to an accepted submission; the workflow state is already stored."""

    workflow_id: Id
    status: str


class StatusRequest(_Frozen, frozen=True):
    """Ask for a workflow's state: sent as a request on ``gaai.workflow.status``."""

    workflow_id: WorkflowId


class CancelRequest(_Frozen, frozen=True):
    """Stop a workflow: sent as a request on ``gaai.workflow.cancel``; answered with its status."""

    workflow_id: WorkflowId
    reason: Annotated[str, Meta(max_length=500)] = "cancelled by request"


class RetryRequest(_Frozen, frozen=True):
    """Run a failed task again (e.g. from the dead-letter stream): a request on ``gaai.workflow.retry``."""

    workflow_id: WorkflowId
    task_id: Annotated[str, Meta(max_length=200)]


class ErrorInfo(_Frozen, frozen=True):
    """What went wrong, machine-readable ``code`` plus a sentence for people."""

    code: str
    message: str
    retryable: bool = False


class ErrorReply(_Frozen, frozen=True):
    """The answer to any request that could not be served."""

    error: ErrorInfo


# ---------------------------------------------------------------- domain values


class DocumentRef(_Frozen, frozen=True):
    """A requirement document stored in the ``gaai_documents`` object store."""

    name: str
    object_name: str
    media_type: str
    size: int


class AlgorithmPattern(_Frozen, frozen=True):
    """How a vertical words the findings of one algorithm."""

    title: str
    meaning: str
    recommendation: str


class VerticalProfile(_Frozen, frozen=True):
    """An industry vertical: vocabulary and per-algorithm patterns for use cases and reports."""

    name: str
    display_name: str
    description: str
    source: Literal["builtin", "custom"]
    key_entities: list[str] = []
    metrics: list[str] = []
    terminology: dict[str, str] = {}
    analysis_prompt: str = ""
    patterns: dict[str, AlgorithmPattern] = {}
    keywords: list[str] = []
    matched_terms: list[str] = []
    score: float = 0.0
    reason: str = ""


class AttributeInfo(_Frozen, frozen=True):
    name: str
    types: list[str]
    present_ratio: float
    examples: list[str] = []


class CollectionInfo(_Frozen, frozen=True):
    """A collection as schema analysis found it.

    For edge collections: the semantics in force (``directed``, ``weight_field``), the
    measured ``reciprocity`` (share of edges whose reverse edge exists) and the numeric
    fields that look like weights (``weight_candidates``).
    """

    name: str
    kind: Literal["vertex", "edge"]
    count: int
    attributes: list[AttributeInfo] = []
    role: Literal["core", "satellite", "edge"] = "core"
    directed: bool = True
    weight_field: str | None = None
    reciprocity: float | None = None
    weight_candidates: list[str] = []


class EdgeDefinition(_Frozen, frozen=True):
    """Which vertex collections one edge collection connects (from sampled or all edges)."""

    collection: str
    from_collections: list[str]
    to_collections: list[str]
    count: int


class GraphSchema(_Frozen, frozen=True):
    graph_name: str
    vertex_collections: list[CollectionInfo]
    edge_collections: list[CollectionInfo]
    edge_definitions: list[EdgeDefinition]
    core_collections: list[str]
    satellite_collections: list[str]
    total_vertices: int
    total_edges: int
    warnings: list[str] = []


class Objective(_Frozen, frozen=True):
    id: str
    text: str
    source: str = ""


class Requirement(_Frozen, frozen=True):
    id: str
    text: str
    priority: Literal["critical", "high", "medium", "low"] = "medium"
    kind: Literal["functional", "non_functional"] = "functional"
    source: str = ""
    section: str = ""


class Stakeholder(_Frozen, frozen=True):
    name: str
    role: str = ""


class OutputConstraint(_Frozen, frozen=True):
    """A rule from the documents that binds what a report may show.

    ``no_names``: no vertex is named (ids are pseudonymised); ``max_items``: lists show at
    most ``value`` entries; ``language`` / ``format``: the required one in ``value``.
    ``collections`` limits the rule to vertices of those collections (empty = all).
    """

    id: str
    kind: Literal["no_names", "max_items", "language", "format"]
    text: str
    value: Scalar = None
    collections: list[str] = []
    source: str = ""


class RequirementsDoc(_Frozen, frozen=True):
    objectives: list[Objective] = []
    requirements: list[Requirement] = []
    stakeholders: list[Stakeholder] = []
    constraints: list[str] = []
    documents: list[str] = []
    domain_terms: list[str] = []
    output_constraints: list[OutputConstraint] = []


class UseCase(_Frozen, frozen=True):
    """A graph question worth answering; ``focus_collections`` are the vertex collections it is about."""

    id: str
    title: str
    description: str
    algorithm: str
    reason: str
    requirement_ids: list[str] = []
    priority: Literal["critical", "high", "medium", "low"] = "medium"
    focus_collections: list[str] = []


class AnalysisTemplate(_Frozen, frozen=True):
    """One executable analysis: an algorithm, its parameters and the collections it reads.

    ``use_case_ids``: every use case it serves (``use_case_id`` first, near-duplicates merged
    into it after); ``requirement_ids``: the requirements and objectives of all of them.
    """

    id: str
    use_case_id: str
    title: str
    algorithm: str
    vertex_collections: list[str]
    edge_collections: list[str]
    directed: bool = True
    params: dict[str, Scalar] = {}
    result_field: str = "value"
    rationale: str = ""
    focus_collections: list[str] = []
    edge_semantics: list[EdgeSemantics] = []
    requirement_ids: list[str] = []
    use_case_ids: list[str] = []


class RankedVertex(_Frozen, frozen=True):
    id: str
    value: float
    label: str = ""


class Distribution(_Frozen, frozen=True):
    count: int
    min: float
    max: float
    mean: float
    median: float
    p90: float
    p99: float
    std: float
    top_1pct_share: float = 0.0
    gini: float = 0.0


class GroupStats(_Frozen, frozen=True):
    """Sizes of components or communities."""

    count: int
    largest: int
    largest_share: float
    singletons: int
    top_sizes: list[int] = []
    modularity: float | None = None


class GroupBridge(_Frozen, frozen=True):
    """The ties between one group and another: how many, and this group's members carrying most of them."""

    group_id: str
    name: str = ""
    ties: int = 0
    carriers: list[RankedVertex] = []


class AttributeShare(_Frozen, frozen=True):
    """An attribute value over-represented in a group: its share there and in the whole collection."""

    collection: str
    attribute: str
    value: str
    count: int = 0
    share: float = 0.0
    overall_share: float = 0.0


class GroupDetail(_Frozen, frozen=True):
    """One component or community described: size, its most central members, density, make-up and bridges.

    A tie is a pair of vertices joined by at least one edge, in either direction. ``central``
    lists members by their ties inside the group (``value``); ``name`` is the first one's label.
    ``density`` is the group's ties over the pairs it could hold; ``external_ties`` the ties
    leaving it, ``bridges`` those to each other described group.
    """

    group_id: str
    name: str = ""
    size: int = 0
    share: float = 0.0
    central: list[RankedVertex] = []
    internal_ties: int = 0
    density: float = 0.0
    external_ties: int = 0
    by_collection: dict[str, int] = {}
    attributes: list[AttributeShare] = []
    bridges: list[GroupBridge] = []


class ExecutionSummary(_Frozen, frozen=True):
    """What an algorithm run found; per-vertex values stay in the store at ``result_ref``.

    When the top list is drawn from the template's focus collections, ``focus_distribution``
    is the distribution over those collections alone (``distribution`` covers every vertex).
    For centralities, ``top_by_collection`` ranks each analysed vertex collection on its own
    (its top 10 by value). For components and communities, ``group_details`` describes the
    largest groups and ``small_groups`` the smallest (isolated vertices first); ``graph_ties`` and
    ``graph_density`` are the whole analysed graph's, to compare group densities with.
    """

    execution_id: str
    template_id: str
    algorithm: str
    graph_name: str
    vertex_count: int
    edge_count: int
    result_ref: str
    result_field: str
    params: dict[str, Scalar] = {}
    engine: str = ""
    started_at: float = 0.0
    load_ms: float = 0.0
    compute_ms: float = 0.0
    write_ms: float = 0.0
    iterations: int | None = None
    top: list[RankedVertex] = []
    distribution: Distribution | None = None
    groups: GroupStats | None = None
    by_collection: dict[str, int] = {}
    edge_semantics: list[EdgeSemantics] = []
    focus_distribution: Distribution | None = None
    group_details: list[GroupDetail] = []
    small_groups: list[GroupDetail] = []
    graph_ties: int | None = None
    graph_density: float | None = None
    top_by_collection: dict[str, list[RankedVertex]] = {}


class Insight(_Frozen, frozen=True):
    title: str
    text: str
    confidence: Annotated[float, Meta(ge=0, le=1)]
    evidence: dict[str, float] = {}


class Recommendation(_Frozen, frozen=True):
    text: str
    priority: Literal["critical", "high", "medium", "low"] = "medium"


class ArtifactRef(_Frozen, frozen=True):
    """A file in the ``gaai_reports`` object store."""

    format: str
    object_name: str
    size: int


class RejectedClaim(_Frozen, frozen=True):
    """A statement the report would have made, withheld because the stored results contradict it."""

    text: str
    reason: str


class Report(_Frozen, frozen=True):
    """One execution's report.

    ``semantics`` is the sentence saying how the graph was read (direction, weights);
    ``claims_verified`` counts the checked statements published, ``claims_rejected`` lists
    those withheld; ``constraints_applied`` names the output constraints obeyed; ``warnings``
    are the schema analysis' doubts about how the analysed edge collections were read.
    """

    report_id: str
    template_id: str
    execution_id: str
    title: str
    summary: str
    algorithm: str
    insights: list[Insight] = []
    recommendations: list[Recommendation] = []
    artifacts: list[ArtifactRef] = []
    semantics: str = ""
    claims_verified: int = 0
    claims_rejected: list[RejectedClaim] = []
    constraints_applied: list[str] = []
    warnings: list[str] = []


# ---------------------------------------------------------------- tasks


class VerticalTask(_Frozen, tag="vertical", tag_field="kind", frozen=True):
    graph_name: str
    documents: list[DocumentRef]
    industry: str = "auto"
    custom_vertical: dict | None = None


class SchemaTask(_Frozen, tag="schema", tag_field="kind", frozen=True):
    graph_name: str
    core_collections: list[str] = []
    satellite_collections: list[str] = []
    sample_size: int = 200
    edge_semantics: list[EdgeSemantics] = []


class RequirementsTask(_Frozen, tag="requirements", tag_field="kind", frozen=True):
    documents: list[DocumentRef]


class UseCasesTask(_Frozen, tag="use_cases", tag_field="kind", frozen=True):
    requirements: RequirementsDoc
    schema: GraphSchema
    vertical: VerticalProfile


class TemplatesTask(_Frozen, tag="templates", tag_field="kind", frozen=True):
    """``requirements`` and ``unanswered`` let the templates agent account for every requirement."""

    use_cases: list[UseCase]
    schema: GraphSchema
    max_templates: int
    requirements: RequirementsDoc | None = None
    unanswered: list[UnansweredQuestion] = []


class ExecutionTask(_Frozen, tag="execution", tag_field="kind", frozen=True):
    graph_name: str
    template: AnalysisTemplate


class ReportTask(_Frozen, tag="reporting", tag_field="kind", frozen=True):
    template: AnalysisTemplate
    use_case: UseCase | None
    execution: ExecutionSummary
    vertical: VerticalProfile
    requirements: list[Requirement] = []
    constraints: list[OutputConstraint] = []
    schema_warnings: list[str] = []


Task = VerticalTask | SchemaTask | RequirementsTask | UseCasesTask | TemplatesTask | ExecutionTask | ReportTask

# ---------------------------------------------------------------- results


class VerticalResult(_Frozen, tag="vertical", tag_field="kind", frozen=True):
    vertical: VerticalProfile


class SchemaResult(_Frozen, tag="schema", tag_field="kind", frozen=True):
    schema: GraphSchema


class RequirementsResult(_Frozen, tag="requirements", tag_field="kind", frozen=True):
    requirements: RequirementsDoc


class UnansweredQuestion(_Frozen, frozen=True):
    """A graph question the requirements ask that this graph cannot answer, so no use case has it."""

    algorithm: str
    requirement_ids: list[str]
    reason: str


class RequirementCoverage(_Frozen, frozen=True):
    """What became of one requirement or objective: answered by templates, or why not.

    ``status``: ``answered`` (``template_ids`` hold its analyses), ``no_slot`` (an analysis
    answers it but ``max_executions`` ran out; ``executions_needed`` would cover it),
    ``no_data`` (the graph lacks what it needs), ``not_analytic`` (no graph algorithm
    answers it, e.g. how the analyses must run), ``output_request`` (a request about the
    reports, not a question of the graph; ``reason`` says whether the reports honour it: a
    CSV export is, another language is not).
    """

    requirement_id: str
    text: str
    status: Literal["answered", "no_slot", "no_data", "not_analytic", "output_request"]
    template_ids: list[str] = []
    reason: str = ""
    executions_needed: int | None = None


class UseCasesResult(_Frozen, tag="use_cases", tag_field="kind", frozen=True):
    use_cases: list[UseCase]
    unanswered: list[UnansweredQuestion] = []


class TemplatesResult(_Frozen, tag="templates", tag_field="kind", frozen=True):
    templates: list[AnalysisTemplate]
    rejected: list[str] = []
    coverage: list[RequirementCoverage] = []


class ExecutionResult(_Frozen, tag="execution", tag_field="kind", frozen=True):
    summary: ExecutionSummary


class ReportResult(_Frozen, tag="reporting", tag_field="kind", frozen=True):
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


class LlmCall(_Frozen, frozen=True):
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


class Instance(_Frozen, frozen=True):
    """The agent process that did a task."""

    agent: str
    host: str
    pid: int
    instance_id: str


class TaskEnvelope(_Frozen, frozen=True):
    """A task on ``gaai.task.<agent>``."""

    workflow_id: str
    task_id: str
    task: Task
    attempt: int = 1
    contract_version: int = CONTRACT_VERSION


class ResultEnvelope(_Frozen, frozen=True):
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


class TaskState(_Frozen, frozen=True):
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


class ReportLocation(_Frozen, frozen=True):
    template_id: str
    title: str
    artifacts: list[ArtifactRef] = []


class WorkflowProgress(_Frozen, frozen=True):
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


class TaskEvent(_Frozen, tag="task", tag_field="kind", frozen=True):
    """A task changed state: published on ``gaai.event.<workflow_id>``."""

    workflow_id: str
    task_id: str
    agent: str
    label: str
    status: TaskStatus
    at: Timestamp
    instance: Instance | None = None
    error: ErrorInfo | None = None


class WorkflowEvent(_Frozen, tag="workflow", tag_field="kind", frozen=True):
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


class DeadLetter(_Frozen, frozen=True):
    """A task that failed for good, parked on ``gaai.dlq.<agent>`` with its error."""

    task: TaskEnvelope
    agent: str
    error: ErrorInfo
    deliveries: int
    at: Timestamp
    instance: Instance | None = None
