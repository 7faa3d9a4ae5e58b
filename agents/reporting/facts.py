"""What every drafting step reads (``Facts``: the execution's figures and derived flags) and drafts.

A drafted insight or recommendation is a list of ``Sentence``s carrying their claims.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import msgspec

from gaai.agents.lib.algorithms import AlgorithmSpec
from gaai.agents.lib.constraints import max_items
from gaai.agents.reporting.claims import Sentence
from gaai.agents.reporting.privacy import Namer
from gaai.agents.reporting.wording import join_phrases, plural, rounded_confidence
from gaai.bus.domain import (
    AnalysisTemplate,
    ExecutionSummary,
    GroupDetail,
    OutputConstraint,
    RankedVertex,
    Requirement,
    UseCase,
)

PRIORITIES = ("critical", "high", "medium", "low")

# What a score is called in a sentence; other algorithms use their catalog title.
_METRIC_NOUNS = {
    "pagerank": "PageRank",
    "betweenness": "betweenness",
    "closeness": "closeness",
    "harmonic": "harmonic centrality",
    "hits": "authority score",
    "k_core": "core number",
    "k_hop": "k-hop reach",
    "cycles": "short-cycle count",
    "similarity": "best Jaccard similarity",
    "co_occurrence": "members reached",
}

# Modularity above this usually marks real community structure (Newman & Girvan 2004);
# below the lower bound partitions of random graphs score as well.
CLEAR_MODULARITY = 0.3

# Confidence lost when the numbers are estimates or unfinished.
_SAMPLED_FACTOR = 0.75

_UNCONVERGED_FACTOR = 0.7


@dataclass(frozen=True)
class DraftInsight:
    title: Sentence
    body: list[Sentence]
    confidence: float
    evidence: dict[str, float]


@dataclass(frozen=True)
class DraftRecommendation:
    sentences: list[Sentence]
    priority: str


@dataclass(frozen=True)
class Facts:
    """The execution's figures with the derived flags every wording step needs."""

    spec: AlgorithmSpec
    template: AnalysisTemplate
    execution: ExecutionSummary
    namer: Namer
    limit: int | None
    scope: tuple[str, ...]
    lists: dict[str, list[RankedVertex]]
    vertices: int
    edges: int
    sampled: bool
    unconverged: bool

    @classmethod
    def of(
        cls,
        spec: AlgorithmSpec,
        template: AnalysisTemplate,
        execution: ExecutionSummary,
        namer: Namer,
        constraints: list[OutputConstraint],
    ) -> Facts:
        max_iterations = execution.params.get("max_iterations")
        unconverged = (
            spec.name == "pagerank"
            and execution.iterations is not None
            and isinstance(max_iterations, int)
            and execution.iterations >= max_iterations
        )
        limit = max_items(constraints)
        if limit is not None:
            execution = _capped(execution, limit)
        execution = msgspec.structs.replace(execution, top_by_collection=_focus_lists(spec, template, execution))
        return cls(
            spec=spec,
            template=template,
            execution=execution,
            namer=namer,
            limit=limit,
            scope=_top_scope(template, execution),
            lists=execution.top_by_collection,
            vertices=execution.vertex_count,
            edges=execution.edge_count,
            sampled="sampled" in execution.engine,
            unconverged=unconverged,
        )

    @property
    def metric(self) -> str:
        return _METRIC_NOUNS.get(self.spec.name, self.spec.title.lower())

    @property
    def group_nouns(self) -> tuple[str, str]:
        """(singular, plural) for the groups this algorithm finds."""
        if self.spec.kind == "community":
            return "community", "communities"
        plural_form = self.spec.title.lower()
        return plural_form.removesuffix("s"), plural_form

    @property
    def method_factor(self) -> float:
        """How much the way the numbers were computed lets us trust them."""
        factor = 1.0
        if self.sampled:
            factor *= _SAMPLED_FACTOR
        if self.unconverged:
            factor *= _UNCONVERGED_FACTOR
        return factor

    @property
    def size_factor(self) -> float:
        """Small graphs support weaker conclusions: 0.55 at 10 vertices, 1.0 from 10^4."""
        return min(1.0, 0.4 + 0.15 * math.log10(max(self.vertices, 1)))

    def edge_names(self) -> str:
        return join_phrases(list(self.template.edge_collections)) or "the selected edge collections"

    def name(self, vertex: RankedVertex) -> str:
        return self.namer.name(vertex.id, vertex.label)

    def groups_word(self, count: int) -> str:
        singular, plural_form = self.group_nouns
        return plural(count, singular, plural_form)


def _capped(execution: ExecutionSummary, limit: int) -> ExecutionSummary:
    """The execution with every list cut to ``limit`` entries (a ``max_items`` constraint)."""

    def detail(d: GroupDetail) -> GroupDetail:
        return msgspec.structs.replace(
            d, central=d.central[:limit], bridges=d.bridges[:limit], attributes=d.attributes[:limit]
        )

    groups = execution.groups
    return msgspec.structs.replace(
        execution,
        groups=msgspec.structs.replace(groups, top_sizes=groups.top_sizes[:limit]) if groups is not None else None,
        top=execution.top[:limit],
        top_hubs=execution.top_hubs[:limit],
        top_by_collection={name: listed[:limit] for name, listed in execution.top_by_collection.items()},
        group_details=[detail(d) for d in execution.group_details[:limit]],
        small_groups=[detail(d) for d in execution.small_groups[:limit]],
    )


def _top_scope(template: AnalysisTemplate, execution: ExecutionSummary) -> tuple[str, ...]:
    """The collections the top list was drawn from, when that is fewer than all analysed ones."""
    focus = [c for c in template.focus_collections if c in template.vertex_collections]
    if not focus or set(focus) == set(template.vertex_collections) or execution.groups is not None:
        return ()
    return tuple(focus)


def _focus_lists(
    spec: AlgorithmSpec, template: AnalysisTemplate, execution: ExecutionSummary
) -> dict[str, list[RankedVertex]]:
    """For a centrality, the ranked list of each focus collection (every analysed one when none is named)."""
    if not spec.scores:
        return {}
    focus = [c for c in template.focus_collections if c in template.vertex_collections]
    wanted = focus or list(template.vertex_collections) or list(execution.top_by_collection)
    return {c: execution.top_by_collection[c] for c in wanted if execution.top_by_collection.get(c)}


def linked_requirements(
    use_case: UseCase | None, template: AnalysisTemplate, requirements: list[Requirement]
) -> list[Requirement]:
    ids = set(use_case.requirement_ids if use_case else []) | set(template.requirement_ids)
    return [r for r in requirements if r.id in ids] if ids else requirements


def draft_insight(
    title: Sentence | str, body: list[Sentence], confidence: float, evidence: dict[str, float]
) -> DraftInsight:
    return DraftInsight(
        title=title if isinstance(title, Sentence) else Sentence(title),
        body=body,
        confidence=rounded_confidence(confidence),
        evidence=evidence,
    )
