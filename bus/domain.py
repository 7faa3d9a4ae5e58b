"""The domain model: the values agents compute and tasks and results carry, as msgspec Structs.

Graph schema, requirements, use cases, templates, execution summaries and reports. They are
part of the wire format wherever ``bus.contract`` embeds them, so the same rule holds: evolve
by adding a field with a default; never rename or retype one.
"""

from __future__ import annotations

from typing import Annotated, Literal

from msgspec import Meta, Struct

Name = Annotated[
    str,
    Meta(
        min_length=1,
        max_length=128,
        pattern=r"^[A-Za-z_][A-Za-z0-9_\-]*$",
        description="A graph or collection name: letters, digits, '_' and '-', starting with a letter or '_'.",
    ),
]
Scalar = str | int | float | bool | None


class FrozenStruct(Struct, frozen=True, kw_only=True, forbid_unknown_fields=False):
    """Base of every message and value: immutable, keyword-only, tolerant of unknown fields.

    Every subclass repeats ``frozen=True``: msgspec inherits it, but type checkers read a
    dataclass-like class's keywords per class (PEP 681).
    """


class EdgeSemantics(FrozenStruct, frozen=True):
    """How one edge collection is read.

    ``directed``: an edge goes from ``_from`` to ``_to``; otherwise it is a tie both ways,
    and a pair listed in both directions is one tie. ``weight_field``: the numeric field
    holding each edge's weight (a strength for PageRank, Louvain, Leiden and label propagation;
    a length for betweenness's shortest paths); ``None`` = every edge counts 1.
    """

    collection: Name
    directed: bool = True
    weight_field: Annotated[str, Meta(min_length=1, max_length=128)] | None = None


class DocumentRef(FrozenStruct, frozen=True):
    """A requirement document stored in the ``gaai_documents`` object store."""

    name: str
    object_name: str
    media_type: str
    size: int


class AlgorithmPattern(FrozenStruct, frozen=True):
    """How a vertical words the findings of one algorithm."""

    title: str
    meaning: str
    recommendation: str


class VerticalProfile(FrozenStruct, frozen=True):
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


class AttributeInfo(FrozenStruct, frozen=True):
    name: str
    types: list[str]
    present_ratio: float
    examples: list[str] = []


class CollectionInfo(FrozenStruct, frozen=True):
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


class EdgeDefinition(FrozenStruct, frozen=True):
    """Which vertex collections one edge collection connects (from sampled or all edges)."""

    collection: str
    from_collections: list[str]
    to_collections: list[str]
    count: int


class GraphSchema(FrozenStruct, frozen=True):
    graph_name: str
    vertex_collections: list[CollectionInfo]
    edge_collections: list[CollectionInfo]
    edge_definitions: list[EdgeDefinition]
    core_collections: list[str]
    satellite_collections: list[str]
    total_vertices: int
    total_edges: int
    warnings: list[str] = []


class Objective(FrozenStruct, frozen=True):
    id: str
    text: str
    source: str = ""


class Requirement(FrozenStruct, frozen=True):
    id: str
    text: str
    priority: Literal["critical", "high", "medium", "low"] = "medium"
    kind: Literal["functional", "non_functional"] = "functional"
    source: str = ""
    section: str = ""


class Stakeholder(FrozenStruct, frozen=True):
    name: str
    role: str = ""


class OutputConstraint(FrozenStruct, frozen=True):
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


class RequirementsDoc(FrozenStruct, frozen=True):
    objectives: list[Objective] = []
    requirements: list[Requirement] = []
    stakeholders: list[Stakeholder] = []
    constraints: list[str] = []
    documents: list[str] = []
    domain_terms: list[str] = []
    output_constraints: list[OutputConstraint] = []


class UseCase(FrozenStruct, frozen=True):
    """A graph question worth answering; ``focus_collections`` are the vertex collections it is about."""

    id: str
    title: str
    description: str
    algorithm: str
    reason: str
    requirement_ids: list[str] = []
    priority: Literal["critical", "high", "medium", "low"] = "medium"
    focus_collections: list[str] = []
    planned_by: str = ""
    """``model``, or ``rules`` with the reason the model's answer was not used (empty: not recorded)."""


class AnalysisTemplate(FrozenStruct, frozen=True):
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
    planned_by: str = ""
    """Who planned the use case it serves, as ``UseCase.planned_by`` says."""


class RankedVertex(FrozenStruct, frozen=True):
    id: str
    value: float
    label: str = ""


class Distribution(FrozenStruct, frozen=True):
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


class VertexPair(FrozenStruct, frozen=True):
    """Two vertices and what they share: ``shared`` vertices (common neighbours, or members reached by
    both), ``score`` their Jaccard similarity (shared over combined)."""

    first_id: str
    second_id: str
    shared: int
    score: float
    first_label: str = ""
    second_label: str = ""


class GroupStats(FrozenStruct, frozen=True):
    """Sizes of components or communities."""

    count: int
    largest: int
    largest_share: float
    singletons: int
    top_sizes: list[int] = []
    modularity: float | None = None


class GroupBridge(FrozenStruct, frozen=True):
    """The ties between one group and another: how many, and this group's members carrying most of them."""

    group_id: str
    name: str = ""
    ties: int = 0
    carriers: list[RankedVertex] = []


class AttributeShare(FrozenStruct, frozen=True):
    """An attribute value over-represented in a group: its share there and in the whole collection."""

    collection: str
    attribute: str
    value: str
    count: int = 0
    share: float = 0.0
    overall_share: float = 0.0


class GroupDetail(FrozenStruct, frozen=True):
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


class ExecutionSummary(FrozenStruct, frozen=True):
    """What an algorithm run found; per-vertex values stay in the store at ``result_ref``.

    When the top list is drawn from the template's focus collections, ``focus_distribution``
    is the distribution over those collections alone (``distribution`` covers every vertex).
    For centralities, ``top_by_collection`` ranks each analysed vertex collection on its own
    (its top 10 by value). For overlap algorithms (similarity, co-occurrence) ``top_pairs`` lists the
    pairs sharing most, each pair once. For components and communities, ``group_details`` describes the
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
    top_pairs: list[VertexPair] = []
    top_hubs: list[RankedVertex] = []
    """For HITS (ranked by authority): the top 10 by hub score, drawn from the focus collections as ``top``."""


class Insight(FrozenStruct, frozen=True):
    title: str
    text: str
    confidence: Annotated[float, Meta(ge=0, le=1)]
    evidence: dict[str, float] = {}


class Recommendation(FrozenStruct, frozen=True):
    text: str
    priority: Literal["critical", "high", "medium", "low"] = "medium"


class ArtifactRef(FrozenStruct, frozen=True):
    """A file in the ``gaai_reports`` object store."""

    format: str
    object_name: str
    size: int


class RejectedClaim(FrozenStruct, frozen=True):
    """A statement the report would have made, withheld because the stored results contradict it."""

    text: str
    reason: str


class Report(FrozenStruct, frozen=True):
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


class UnansweredQuestion(FrozenStruct, frozen=True):
    """A graph question the requirements ask that this graph cannot answer, so no use case has it."""

    algorithm: str
    requirement_ids: list[str]
    reason: str


class RequirementCoverage(FrozenStruct, frozen=True):
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
