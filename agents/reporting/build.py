"""Build a report from an execution's numbers, worded with the vertical's patterns, every claim checked.

``draft_report`` is pure: from the ``ExecutionSummary`` it writes the title, summary,
insights and recommendations as ``Sentence``s, each carrying the claims it makes (rank
within a scope, value, share of the top 1 %, group sizes, figures re-read from the summary).
``publish`` checks every claim against the ``Evidence`` (the stored per-vertex results) and
keeps only the sentences whose claims hold (an insight whole or not at all, since its title
reads its figures); the rest are listed in ``claims_rejected``. ``build_report`` does both.

Scopes are explicit: a centrality report ranks each focus collection (the collections the
use cases ask about, else every analysed one) in its own list, so ranks read "first among
customers" and a recommendation names vertices from the list it speaks of; whole-graph
figures say "across all analysed vertices". Titles say what the report shows (the ranked
collections, the groups found), never what a use case hoped for. Vertices are named through
a ``Namer``, so a ``no_names`` constraint holds in every sentence.

Numbers are written with one set of formats (``format_count``, ``format_share``,
``format_value``, ``format_ratio``, ``format_times``), shared with the renderers.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass

import msgspec

from agents.algorithms import AlgorithmSpec, algorithm_spec
from agents.reporting.claims import (
    CollectionMix,
    Evidence,
    GroupCount,
    GroupMember,
    GroupMix,
    GroupSize,
    Outranked,
    Rank,
    RatioToMean,
    Recorded,
    Sentence,
    Singletons,
    Statistic,
    TopShare,
    VertexCount,
    VertexValue,
    scope_phrase,
    verify,
)
from agents.reporting.privacy import Namer, max_items
from agents.use_cases import collection_forms
from bus.contract import (
    AlgorithmPattern,
    AnalysisTemplate,
    AttributeShare,
    Distribution,
    ExecutionSummary,
    GroupDetail,
    GroupStats,
    Insight,
    OutputConstraint,
    RankedVertex,
    Recommendation,
    RejectedClaim,
    Report,
    Requirement,
    UseCase,
    VerticalProfile,
)

__all__ = [
    "PRIORITIES",
    "Draft",
    "build_report",
    "dominant_value",
    "draft_report",
    "format_count",
    "format_ratio",
    "format_share",
    "format_times",
    "format_value",
    "plural",
    "publish",
    "semantics_sentence",
]

PRIORITIES = ("critical", "high", "medium", "low")

# What a score is called in a sentence; other algorithms use their catalog title.
_METRIC_NOUNS = {"pagerank": "PageRank", "betweenness": "betweenness"}

# Modularity above this usually marks real community structure (Newman & Girvan 2004);
# below the lower bound partitions of random graphs score as well.
_CLEAR_MODULARITY = 0.3
_WEAK_MODULARITY = 0.1

# A share of isolated or unattached vertices above this is worth a data-quality check.
_SINGLETON_ALERT = 0.1

# Confidence lost when the numbers are estimates or unfinished.
_SAMPLED_FACTOR = 0.75
_UNCONVERGED_FACTOR = 0.7

# Groups described in full when no max_items constraint says fewer.
_DESCRIBED_GROUPS = 5

# A requirement asking for these wants the small and isolated groups listed.
_ISOLATION_WORDS = re.compile(r"isolat|disconnect|island|orphan|fragment|small (group|component|cluster)s?", re.I)

# How each algorithm reads edges: direction followed, and what a weight means to it.
_FOLLOWS_DIRECTION = {"pagerank", "betweenness", "scc"}
_WEIGHT_MEANING = {
    "pagerank": "as strengths",
    "louvain": "as strengths",
    "label_propagation": "as strengths",
    "betweenness": "as lengths",
}


# ---------------------------------------------------------------- draft


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
class Draft:
    """A report before verification: every statement a ``Sentence`` with its claims.

    ``execution`` is the execution as the report may show it: lists capped by ``max_items``,
    the small groups kept only when a linked requirement asks for isolated groups.
    """

    report_id: str
    template_id: str
    execution_id: str
    algorithm: str
    title: Sentence
    fallback_title: str
    summary: list[Sentence]
    insights: list[DraftInsight]
    recommendations: list[DraftRecommendation]
    semantics: str
    constraints_applied: list[str]
    execution: ExecutionSummary
    warnings: tuple[str, ...] = ()

    def sentences(self) -> list[Sentence]:
        out = [self.title, *self.summary]
        for insight in self.insights:
            out += [insight.title, *insight.body]
        for recommendation in self.recommendations:
            out += recommendation.sentences
        return out


def build_report(
    template: AnalysisTemplate,
    use_case: UseCase | None,
    execution: ExecutionSummary,
    vertical: VerticalProfile,
    requirements: list[Requirement],
    evidence: Evidence,
    constraints: list[OutputConstraint] | None = None,
    warnings: list[str] | None = None,
) -> Report:
    """The report of one execution, with only the claims the stored results confirm.

    Args:
        template: the analysis that ran.
        use_case: the use case it serves, if known.
        execution: what the run found.
        vertical: the industry vertical whose patterns word the findings.
        requirements: requirements; those linked by the use case set the priorities
            (all of them when the use case links none), and one asking for isolated groups
            gets the small groups listed.
        evidence: the stored per-vertex results every claim is checked against.
        constraints: output constraints to obey (``no_names``, ``max_items``, ...).
        warnings: the schema analysis' doubts about how the analysed edge collections were read.
    """
    draft = draft_report(template, use_case, execution, vertical, requirements, constraints or [], warnings or [])
    return publish(draft, evidence)


def draft_report(
    template: AnalysisTemplate,
    use_case: UseCase | None,
    execution: ExecutionSummary,
    vertical: VerticalProfile,
    requirements: list[Requirement],
    constraints: list[OutputConstraint],
    warnings: list[str] | None = None,
) -> Draft:
    """Every statement of the report with its claims, not yet checked; see ``build_report``."""
    spec = algorithm_spec(execution.algorithm)
    catalog_pattern = AlgorithmPattern(title=spec.title, meaning=spec.summary, recommendation="")
    pattern = vertical.patterns.get(spec.name) or catalog_pattern
    facts = _Facts.of(spec, template, execution, Namer.of(constraints, template.vertex_collections), constraints)
    linked = _linked(use_case, template, requirements)
    priority = _base_priority(use_case, linked)
    asks_isolated = spec.kind != "centrality" and any(_ISOLATION_WORDS.search(r.text) for r in linked)
    if facts.edges == 0:
        insights = [_no_structure(facts)]
    elif spec.kind == "centrality":
        insights = _centrality_insights(facts, pattern)
    else:
        insights = _group_insights(facts, pattern, asks_isolated)
    if not insights:
        insights = [_no_figures(facts)]
    title, fallback = _title(facts)
    return Draft(
        report_id=f"report-{template.id}",
        template_id=template.id,
        execution_id=execution.execution_id,
        algorithm=spec.name,
        title=title,
        fallback_title=fallback,
        summary=_summary(facts),
        insights=insights,
        recommendations=_recommendations(facts, pattern, priority),
        semantics=semantics_sentence(spec.name, template.edge_collections, execution),
        constraints_applied=_constraints_applied(constraints, facts.namer),
        execution=facts.execution if asks_isolated else msgspec.structs.replace(facts.execution, small_groups=[]),
        warnings=tuple(warnings or ()),
    )


def publish(draft: Draft, evidence: Evidence) -> Report:
    """The report made of the draft's sentences whose claims all hold; the others are withheld and listed."""
    sentences = draft.sentences()
    verdict = verify(sentences, evidence)
    held = {id(sentences[i]) for i in verdict.held}
    rejected = list(verdict.rejected)
    verified = verdict.verified

    def kept(items: list[Sentence]) -> list[Sentence]:
        return [s for s in items if id(s) in held]

    def text(items: list[Sentence]) -> str:
        return " ".join(_capitalised(s.text) for s in kept(items))

    insights = []
    for insight in draft.insights:
        statements = [insight.title, *insight.body]
        if any(id(s) not in held for s in statements) or not insight.body:
            # An insight stands or falls whole: its title and reading rest on all of its figures.
            verified -= sum(len(s.claims) for s in statements if id(s) in held)
            rejected += [_withheld(s, "withheld with its insight") for s in statements if id(s) in held and s.claims]
            continue
        insights.append(
            Insight(
                title=_capitalised(insight.title.text),
                text=text(insight.body),
                confidence=insight.confidence,
                evidence=insight.evidence,
            )
        )
    recommendations = [
        Recommendation(text=text(r.sentences), priority=r.priority) for r in draft.recommendations if kept(r.sentences)
    ]
    return Report(
        report_id=draft.report_id,
        template_id=draft.template_id,
        execution_id=draft.execution_id,
        title=draft.title.text if id(draft.title) in held else draft.fallback_title,
        summary=text(draft.summary),
        algorithm=draft.algorithm,
        insights=insights,
        recommendations=recommendations,
        semantics=draft.semantics,
        claims_verified=verified,
        claims_rejected=rejected,
        constraints_applied=draft.constraints_applied,
        warnings=list(draft.warnings),
    )


def _capitalised(text: str) -> str:
    """A sentence starts with a capital, also when it opens with a pseudonym ("customer #3f9a1c")."""
    return text[:1].upper() + text[1:]


def _withheld(sentence: Sentence, reason: str) -> RejectedClaim:
    return RejectedClaim(text=sentence.text, reason=reason)


# ---------------------------------------------------------------- facts


@dataclass(frozen=True)
class _Facts:
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
    ) -> _Facts:
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
        return _join(list(self.template.edge_collections)) or "the selected edge collections"

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
    if spec.kind != "centrality":
        return {}
    focus = [c for c in template.focus_collections if c in template.vertex_collections]
    wanted = focus or list(template.vertex_collections) or list(execution.top_by_collection)
    return {c: execution.top_by_collection[c] for c in wanted if execution.top_by_collection.get(c)}


def _linked(use_case: UseCase | None, template: AnalysisTemplate, requirements: list[Requirement]) -> list[Requirement]:
    ids = set(use_case.requirement_ids if use_case else []) | set(template.requirement_ids)
    return [r for r in requirements if r.id in ids] if ids else requirements


# ---------------------------------------------------------------- title, summary, semantics


def _title(facts: _Facts) -> tuple[Sentence, str]:
    """A title naming what the report shows, and the plain one used should its claim fail."""
    execution = facts.execution
    fallback = f"{facts.spec.title} on {execution.graph_name}"
    if facts.lists and facts.edges:
        names = list(facts.lists)
        shown = f"{format_count(len(facts.lists[names[0]]))} {names[0]}" if len(names) == 1 else _join(names)
        leaders = tuple(Rank(listed[0].id, facts.name(listed[0]), 1, (c,)) for c, listed in facts.lists.items())
        return Sentence(f"Top {shown} by {facts.metric}", leaders), fallback
    if facts.spec.kind == "centrality" and execution.top and facts.edges:
        noun = _join(list(facts.scope)) if facts.scope else "vertices"
        text = f"Top {format_count(len(execution.top))} {noun} by {facts.metric}"
        return Sentence(text, (CollectionMix(len(execution.top), _top_mix(execution.top), facts.scope),)), fallback
    collections = _join(list(facts.template.vertex_collections))
    text = f"{facts.spec.title} of {collections} in {execution.graph_name}" if collections else fallback
    return Sentence(text), fallback


def _summary(facts: _Facts) -> list[Sentence]:
    execution = facts.execution
    collections = _join(list(facts.template.vertex_collections))
    over = f" over {collections}" if collections else ""
    sentences = [
        Sentence(
            f"{facts.spec.title} on graph {execution.graph_name}{over} "
            f"({plural(facts.vertices, 'vertex', 'vertices')}, {plural(facts.edges, 'edge')}).",
            (VertexCount(facts.vertices), Recorded(("edge_count",), facts.edges)),
        )
    ]
    dist, groups = execution.distribution, execution.groups
    if facts.edges == 0:
        sentences.append(Sentence("The graph has no edges, so there is no structure to report."))
    elif dist is not None and (facts.lists or execution.top):
        firsts = [(listed[0], (c,)) for c, listed in facts.lists.items()] or [(execution.top[0], facts.scope)]
        for leader, scope in firsts:
            name = facts.name(leader)
            sentences.append(
                Sentence(
                    f"{name} ranks first {scope_phrase(scope)} with {format_value(leader.value)}.",
                    (Rank(leader.id, name, 1, scope), VertexValue(leader.id, leader.value)),
                )
            )
        best = max((leader for leader, _ in firsts), key=lambda v: v.value)
        if facts.scope and dist.max > best.value:
            sentences.append(_outranked(facts, best, dist))
        top_count = max(1, math.ceil(dist.count * 0.01))
        sentences.append(
            Sentence(
                f"Across all analysed vertices, the top 1% hold {format_share(dist.top_1pct_share)} of all "
                f"{facts.metric} and the Gini coefficient is {format_ratio(dist.gini)}.",
                (TopShare(dist.top_1pct_share, top_count), Statistic("gini", dist.gini)),
            )
        )
    elif groups is not None:
        singular, _ = facts.group_nouns
        claims = [GroupCount(groups.count), Singletons(groups.singletons), VertexCount(facts.vertices)]
        text = f"{facts.groups_word(groups.count)}; the largest holds {plural(groups.largest, 'vertex', 'vertices')}"
        if execution.top:
            claims.append(GroupSize(execution.top[0].id, groups.largest))
        text += f" ({format_share(groups.largest_share)})"
        text += f" and {plural(groups.singletons, 'vertex is', 'vertices are')} alone in a {singular} of their own"
        if groups.modularity is not None:
            text += f"; modularity {format_ratio(groups.modularity)}"
            claims.append(Recorded(("groups", "modularity"), groups.modularity))
        sentences.append(Sentence(text + ".", tuple(claims)))
    timing = f"Computed in {format_value(execution.compute_ms)} ms with {execution.engine or 'the default engine'}"
    claims = [Recorded(("compute_ms",), execution.compute_ms)]
    if execution.iterations:
        timing += f" in {plural(execution.iterations, 'iteration')}"
        claims.append(Recorded(("iterations",), execution.iterations))
    sentences.append(Sentence(timing + ".", tuple(claims)))
    return sentences


def _outranked(facts: _Facts, leader: RankedVertex, dist: Distribution) -> Sentence:
    others = [c for c in facts.template.vertex_collections if c not in facts.scope]
    lists = "lists are" if len(facts.lists) > 1 else "list is"
    return Sentence(
        f"The {lists} limited to {_join(list(facts.scope))}: vertices of {_join(others)} rank higher, up to "
        f"{format_value(dist.max)} across all analysed vertices.",
        (Outranked(leader.id, facts.scope, True), Statistic("max", dist.max)),
    )


def semantics_sentence(algorithm: str, edge_collections: list[str], execution: ExecutionSummary) -> str:
    """One plain sentence on how the edges were read: direction per collection and what weights meant."""
    spec = algorithm_spec(algorithm)
    declared = {s.collection: s for s in execution.edge_semantics}
    collections = list(edge_collections) or sorted(declared)
    if not declared:
        reading = "followed edge direction" if spec.name in _FOLLOWS_DIRECTION else "ignored edge direction"
        return f"Edges were read as directed and unweighted; {spec.title} {reading}."
    directed = [c for c in collections if declared.get(c) is None or declared[c].directed]
    undirected = [c for c in collections if declared.get(c) is not None and not declared[c].directed]
    weights = [f"{s.weight_field} on {c}" for c in collections if (s := declared.get(c)) is not None and s.weight_field]
    if spec.name in _FOLLOWS_DIRECTION:
        parts = []
        if directed:
            parts.append(f"{spec.title} followed edge direction on {_join(directed)}")
        if undirected:
            verb = "was" if len(undirected) == 1 else "were"
            parts.append(f"{_join(undirected)} {verb} read as undirected")
        text = "; ".join(parts)
    else:
        text = f"{spec.title} ignored edge direction on {_join(collections)}"
    if not weights:
        return f"{text}; weights: none."
    meaning = _WEIGHT_MEANING.get(spec.name)
    if meaning is None:
        return f"{text}; weights ({_join(weights)}) do not apply to {spec.title.lower()}."
    return f"{text}; weights: {_join(weights)}, read {meaning}."


def _constraints_applied(constraints: list[OutputConstraint], namer: Namer) -> list[str]:
    applied = []
    for c in constraints:
        if c.kind == "no_names":
            scope = _join(sorted(namer.hidden)) if not namer.everything else "every collection"
            applied.append(f"{c.id} no_names: vertices of {scope} shown as pseudonyms")
        elif c.kind == "max_items" and max_items([c]) is not None:
            applied.append(f"{c.id} max_items: lists show at most {max_items([c])} entries")
        elif c.kind == "format" and str(c.value or "").strip().lower() == "csv":
            applied.append(f"{c.id} format csv: per-vertex results exported as CSV")
        else:
            written = "reports are written in English as Markdown, JSON and HTML"
            applied.append(f"{c.id} {c.kind} {c.value}: not applied, {written}")
    return applied


# ---------------------------------------------------------------- insights


def _insight(
    title: Sentence | str, body: list[Sentence], confidence: float, evidence: dict[str, float]
) -> DraftInsight:
    return DraftInsight(
        title=title if isinstance(title, Sentence) else Sentence(title),
        body=body,
        confidence=_confidence(confidence),
        evidence=evidence,
    )


def _no_structure(facts: _Facts) -> DraftInsight:
    if facts.spec.kind == "centrality":
        value = facts.execution.distribution.max if facts.execution.distribution else 0.0
        outcome = f"every vertex gets the same {facts.metric} ({format_value(value)}), so no vertex stands out"
        claims: tuple = (VertexCount(facts.vertices), Statistic("max", value), Statistic("min", value))
    else:
        singular, _ = facts.group_nouns
        outcome = f"every vertex is a {singular} of its own"
        claims = (VertexCount(facts.vertices), GroupCount(facts.vertices))
    return _insight(
        "No structure found",
        [
            Sentence(
                f"The analysed graph has {plural(facts.vertices, 'vertex', 'vertices')} but no edges in "
                f"{facts.edge_names()}: {outcome}.",
                claims + (Recorded(("edge_count",), 0),),
            ),
            Sentence("Nothing here describes relationships yet."),
        ],
        0.95,
        {"vertex_count": float(facts.vertices), "edge_count": 0.0},
    )


def _no_figures(facts: _Facts) -> DraftInsight:
    """Said when the execution carries none of the figures its algorithm should report."""
    return _insight(
        "No figures reported",
        [
            Sentence(
                f"The run over {plural(facts.vertices, 'vertex', 'vertices')} and {plural(facts.edges, 'edge')} "
                f"reported no {facts.spec.title.lower()} figures, so nothing can be concluded from it; re-run the "
                "analysis.",
                (VertexCount(facts.vertices), Recorded(("edge_count",), facts.edges)),
            )
        ],
        0.9,
        {"vertex_count": float(facts.vertices), "edge_count": float(facts.edges)},
    )


def _centrality_insights(facts: _Facts, pattern: AlgorithmPattern) -> list[DraftInsight]:
    execution = facts.execution
    dist, top = execution.distribution, execution.top
    insights: list[DraftInsight] = []
    if dist is not None:
        insights.append(_concentration(facts, dist, ()))
        if facts.scope and execution.focus_distribution is not None:
            insights.append(_concentration(facts, execution.focus_distribution, facts.scope))
    if dist is not None:
        ranked = [(listed, (c,)) for c, listed in facts.lists.items()] or ([(top, facts.scope)] if top else [])
        for position, (listed, scope) in enumerate(ranked):
            insights.append(_leaders(facts, dist, pattern if position == 0 else None, listed, scope))
    if facts.spec.name == "betweenness" and dist is not None:
        insights.append(_brokers(facts, dist))
    if facts.unconverged:
        insights.append(
            _insight(
                "PageRank stopped before converging",
                [
                    Sentence(
                        f"The power iteration reached its limit of {plural(execution.iterations or 0, 'iteration')} "
                        f"before the rank vector settled within tolerance {execution.params.get('tolerance')}; "
                        "rankings near the top may still change.",
                        (Recorded(("iterations",), execution.iterations or 0),),
                    )
                ],
                0.9,
                {"iterations": float(execution.iterations or 0)},
            )
        )
    if not facts.scope and len(facts.template.vertex_collections) > 1 and top:
        mix = _top_mix(top)
        insights.append(
            _insight(
                "Where the top vertices come from",
                [
                    Sentence(
                        f"Of the top {format_count(len(top))} by {facts.metric} {scope_phrase(())}, "
                        f"{_mix_phrase(mix)}.",
                        (CollectionMix(len(top), mix),),
                    )
                ],
                0.8 * facts.size_factor * facts.method_factor,
                {f"top_from_{name}": float(count) for name, count in mix.items()},
            )
        )
    return insights


def _concentration(facts: _Facts, dist: Distribution, scope: tuple[str, ...]) -> DraftInsight:
    top_count = max(1, math.ceil(dist.count * 0.01))
    if dist.gini >= 0.6 or dist.top_1pct_share >= 0.25:
        level = "highly concentrated"
        reading = "a small set of vertices holds most of it, so they deserve attention first"
    elif dist.gini >= 0.35:
        level = "moderately concentrated"
        reading = "a visible upper tier stands out without dominating"
    else:
        level = "evenly spread"
        reading = "no small group dominates, so single vertices matter less than the whole"
    where = f"Among {_join(list(scope))}" if scope else "Across all analysed vertices"
    whose = f"the {_join(list(scope))}' {facts.metric}" if scope else f"all {facts.metric}"
    # 0.45 is the ambiguous middle between the levels; clear readings earn more confidence.
    clarity = min(1.0, abs(dist.gini - 0.45) / 0.35)
    metric = f"{facts.metric[0].upper()}{facts.metric[1:]}"
    return _insight(
        f"{metric} is {level} {scope_phrase(scope)}",
        [
            Sentence(
                f"{where}, the top 1% ({format_count(top_count)} of {format_count(dist.count)}) hold "
                f"{format_share(dist.top_1pct_share)} of {whose}, and the Gini coefficient is "
                f"{format_ratio(dist.gini)} (0 = all equal, 1 = one vertex holds everything): {reading}.",
                (
                    VertexCount(dist.count, scope),
                    TopShare(dist.top_1pct_share, top_count, scope),
                    Statistic("gini", dist.gini, scope),
                ),
            )
        ],
        facts.size_factor * facts.method_factor * (0.6 + 0.35 * clarity),
        {
            "gini": dist.gini,
            "top_1pct_share": dist.top_1pct_share,
            "top_1pct_count": float(top_count),
            "vertex_count": float(dist.count),
        },
    )


def _leaders(
    facts: _Facts,
    dist: Distribution,
    pattern: AlgorithmPattern | None,
    top: list[RankedVertex],
    scope: tuple[str, ...],
) -> DraftInsight:
    """The first three of one ranked list; the method notes and the pattern's meaning only with ``pattern``."""
    leader = top[0]
    name = facts.name(leader)
    to_mean = leader.value / dist.mean if dist.mean > 0 else 0.0
    first = f"{name} has the highest {facts.metric} {scope_phrase(scope)}, {format_value(leader.value)}"
    claims = [Rank(leader.id, name, 1, scope), VertexValue(leader.id, leader.value)]
    if dist.mean > 0:
        first += f" ({format_times(to_mean)} the mean of {format_value(dist.mean)} over all analysed vertices)"
        claims += [RatioToMean(leader.id, to_mean), Statistic("mean", dist.mean)]
    body = [Sentence(first + ".", tuple(claims))]
    followers = top[1:3]
    if followers:
        names = [f"{facts.name(v)} ({format_value(v.value)})" for v in followers]
        claims = []
        for rank, v in enumerate(followers, 2):
            claims += [Rank(v.id, facts.name(v), rank, scope), VertexValue(v.id, v.value)]
        body.append(Sentence(f"Next come {' and '.join(names)}.", tuple(claims)))
    if facts.spec.name == "pagerank":
        body.append(
            Sentence(
                f"A random walk through the graph spends {format_share(leader.value)} of its time at {name}.",
                (VertexValue(leader.id, leader.value),),
            )
        )
    elif facts.spec.name == "betweenness" and facts.execution.params.get("normalized", True):
        body.append(
            Sentence(
                f"Averaged over all pairs of other vertices, {format_share(leader.value)} of their shortest paths pass "
                f"through {name}.",
                (VertexValue(leader.id, leader.value),),
            )
        )
    if facts.sampled and pattern is not None:
        body.append(_sampled_sentence(facts, "Scores are estimated from {} sampled source vertices."))
    if pattern is not None and pattern.meaning:
        body.append(Sentence(pattern.meaning))
    # A leader at 100x the mean is unmistakable; at the mean it is noise.
    prominence = min(1.0, math.log10(max(to_mean, 1.0)) / 2.0)
    evidence = {"top1_value": leader.value, "mean": dist.mean, "top1_to_mean": to_mean}
    if len(top) > 1:
        evidence["top2_value"] = top[1].value
    return _insight(
        Sentence(f"{name} ranks first {scope_phrase(scope)}", (Rank(leader.id, name, 1, scope),)),
        body,
        facts.size_factor * facts.method_factor * (0.5 + 0.45 * prominence),
        evidence,
    )


def _sampled_sentence(facts: _Facts, wording: str) -> Sentence:
    samples = facts.execution.params.get("samples")
    if isinstance(samples, int):
        return Sentence(wording.format(format_count(samples)), (Recorded(("params", "samples"), samples),))
    return Sentence(wording.format("a sample of"))


def _brokers(facts: _Facts, dist: Distribution) -> DraftInsight:
    if dist.p90 == 0:
        share_idle, title, claim = "At least 90%", "Very few vertices broker any paths", Statistic("p90", 0.0)
    elif dist.median == 0:
        share_idle, title, claim = "At least half", "Few vertices broker the paths", Statistic("median", 0.0)
    else:
        share_idle, title, claim = "Fewer than half", "Brokerage is widely shared", Statistic("median", dist.median)
    body = [
        Sentence(
            f"{share_idle} of the vertices lie on no shortest path between others "
            f"(median betweenness {format_value(dist.median)}, 90th percentile {format_value(dist.p90)}, "
            f"99th percentile {format_value(dist.p99)}, maximum {format_value(dist.max)}).",
            (
                claim,
                Statistic("median", dist.median),
                Statistic("p90", dist.p90),
                Statistic("p99", dist.p99),
                Statistic("max", dist.max),
            ),
        )
    ]
    if dist.median == 0:
        body.append(
            Sentence(
                "Paths between groups depend on the few vertices at the top of the ranking; removing them would cut "
                "routes."
            )
        )
    else:
        body.append(Sentence("Paths have alternatives through many vertices, so no single one is a bottleneck."))
    return _insight(
        title,
        body,
        facts.size_factor * facts.method_factor * (0.8 if dist.median == 0 else 0.65),
        {"median": dist.median, "p90": dist.p90, "p99": dist.p99, "max": dist.max},
    )


def _group_insights(facts: _Facts, pattern: AlgorithmPattern, asks_isolated: bool) -> list[DraftInsight]:
    groups = facts.execution.groups
    if groups is None:
        return []
    if facts.spec.kind == "community":
        insights = [_modularity(facts, groups, pattern), _largest_community(facts, groups)]
        if facts.spec.name == "label_propagation":
            method = _propagation_rounds(facts)
        else:
            method = _resolution_limit(facts, groups)
        if method is not None:
            insights.append(method)
    else:
        insights = [_largest_component(facts, groups, pattern)]
        if groups.count > 1:
            insights.append(_size_profile(facts, groups))
    described = _described_groups(facts)
    if described is not None:
        insights.append(described)
    if groups.singletons:
        insights.append(_singletons(facts, groups))
    if asks_isolated and facts.execution.small_groups:
        insights.append(_small_groups(facts, groups))
    return insights


def _group_leader(facts: _Facts, group: RankedVertex) -> tuple[str, tuple]:
    """The name of a listed group's most connected member and the claim behind it ("" when not described)."""
    detail = next((d for d in facts.execution.group_details if d.group_id == group.id), None)
    if detail is None or not detail.central:
        return "", ()
    leader = detail.central[0]
    name = facts.name(leader)
    return name, (GroupMember(group.id, leader.id, name),)


def _largest_component(facts: _Facts, groups: GroupStats, pattern: AlgorithmPattern) -> DraftInsight:
    singular, _ = facts.group_nouns
    share = groups.largest_share
    if facts.spec.name == "scc":
        if share >= 0.5:
            title = "A large cyclic core"
        else:
            title = "A cyclic core" if share >= 0.05 else "Flows are mostly one-way"
        what = "vertices that can all reach each other along edge direction"
    else:
        if share >= 0.9:
            title = "One connected whole"
        else:
            title = "A dominant component with a fringe" if share >= 0.5 else "The graph is fragmented"
        what = "vertices joined by some path, ignoring direction"
    top = facts.execution.top
    claims = [GroupCount(groups.count), VertexCount(facts.vertices)]
    if top:
        claims.append(GroupSize(top[0].id, groups.largest))
    body = [
        Sentence(
            f"The largest {singular} ({what}) holds {format_count(groups.largest)} of "
            f"{plural(facts.vertices, 'vertex', 'vertices')} ({format_share(share)}); there "
            f"{'is' if groups.count == 1 else 'are'} {facts.groups_word(groups.count)} in all.",
            tuple(claims),
        )
    ]
    if top:
        body += _group_make_up(facts, top[0])
    if pattern.meaning:
        body.append(Sentence(pattern.meaning))
    return _insight(
        title,
        body,
        0.55 + 0.4 * facts.size_factor,
        {
            "largest": float(groups.largest),
            "largest_share": share,
            "group_count": float(groups.count),
            "vertex_count": float(facts.vertices),
        },
    )


def _group_make_up(facts: _Facts, group: RankedVertex) -> list[Sentence]:
    """Who leads a group and which collections it holds, when the execution described it."""
    detail = next((d for d in facts.execution.group_details if d.group_id == group.id), None)
    if detail is None:
        return []
    out = []
    if detail.central:
        leader = detail.central[0]
        name = facts.name(leader)
        out.append(
            Sentence(
                f"Its most connected member is {name}, with {plural(int(leader.value), 'tie')} inside it.",
                (
                    GroupMember(group.id, leader.id, name),
                    Recorded(("group_details", group.id, "central", "0", "value"), leader.value),
                ),
            )
        )
    if detail.by_collection and len(facts.template.vertex_collections) > 1:
        out.append(
            Sentence(
                f"By collection it holds {_mix_phrase(detail.by_collection)}.",
                (GroupMix(group.id, detail.by_collection),),
            )
        )
    return out


def _size_profile(facts: _Facts, groups: GroupStats) -> DraftInsight:
    _, plural_form = facts.group_nouns
    top = facts.execution.top
    runner_up = groups.top_sizes[1] if len(groups.top_sizes) > 1 else 0
    ratio = groups.largest / runner_up if runner_up else 0.0
    listed = top[1:6]
    claims = tuple(GroupSize(g.id, int(g.value)) for g in listed)
    next_sizes = ", ".join(format_count(int(g.value)) for g in listed)
    largest = plural(groups.largest, "vertex", "vertices")
    text = f"After the largest ({largest}) the next {plural_form} have {next_sizes} vertices"
    text += f"; the largest is {format_times(ratio)} the runner-up." if runner_up else "."
    body = [Sentence(text, claims + ((GroupSize(top[0].id, groups.largest),) if top else ()))] if listed else []
    return _insight(
        f"Sizes of the {plural_form}",
        body,
        0.5 + 0.4 * facts.size_factor,
        {"largest": float(groups.largest), "second_largest": float(runner_up), "largest_to_second": ratio},
    )


def _modularity(facts: _Facts, groups: GroupStats, pattern: AlgorithmPattern) -> DraftInsight:
    q = groups.modularity
    # Label propagation is less stable from run to run than modularity optimisation.
    base = 0.85 if facts.spec.name == "louvain" else 0.7
    meaning = [Sentence(pattern.meaning)] if pattern.meaning else []
    if q is None:
        return _insight(
            f"{facts.groups_word(groups.count)}, quality unknown",
            [
                Sentence(
                    f"The run found {facts.groups_word(groups.count)} but reported no modularity to judge them by.",
                    (GroupCount(groups.count),),
                ),
                *meaning,
            ],
            0.5 * facts.size_factor,
            {"group_count": float(groups.count)},
        )
    if q >= _CLEAR_MODULARITY:
        title, reading = "Clear community structure", "well above the 0.3 that usually marks real groups"
    elif q >= _WEAK_MODULARITY:
        title, reading = "Weak community structure", "below the 0.3 that usually marks real groups"
    else:
        title, reading = "No meaningful community structure", "about what a random graph would score"
    clarity = min(1.0, abs(q - 0.2) / 0.3)
    return _insight(
        title,
        [
            Sentence(
                f"{facts.groups_word(groups.count)} with modularity {format_ratio(q)}, {reading}.",
                (GroupCount(groups.count), Recorded(("groups", "modularity"), q)),
            ),
            *meaning,
        ],
        base * facts.size_factor * (0.65 + 0.35 * clarity),
        {"modularity": q, "group_count": float(groups.count)},
    )


def _largest_community(facts: _Facts, groups: GroupStats) -> DraftInsight:
    top = facts.execution.top
    share = groups.largest_share
    runner_up = groups.top_sizes[1] if len(groups.top_sizes) > 1 else 0
    claims: list = [VertexCount(facts.vertices)]
    if top:
        claims.append(GroupSize(top[0].id, groups.largest))
    largest = plural(groups.largest, "vertex", "vertices")
    text = f"The largest community has {largest} ({format_share(share)} of the graph)"
    if runner_up and len(top) > 1:
        text += f"; the next largest has {format_count(runner_up)}"
        claims.append(GroupSize(top[1].id, runner_up))
    body = [Sentence(text + ".", tuple(claims))]
    if top:
        body += _group_make_up(facts, top[0])
    if share > 0.5:
        title = "One community absorbs most of the graph"
        body.append(
            Sentence(
                "Such a giant community usually means the method merged across weak ties rather than finding separate "
                "groups."
            )
        )
        confidence = 0.55
    else:
        title = "The largest community"
        confidence = 0.75
    return _insight(
        title,
        body,
        confidence * facts.size_factor,
        {"largest": float(groups.largest), "largest_share": share, "second_largest": float(runner_up)},
    )


def _described_groups(facts: _Facts) -> DraftInsight | None:
    """The largest group: its leader, density against the graph's, dominant values and strongest bridge.

    The other described groups are in the report's table; one sentence points there.
    """
    execution = facts.execution
    details = execution.group_details[: facts.limit or _DESCRIBED_GROUPS]
    if not details or not details[0].central or execution.graph_density is None:
        return None
    singular, plural_form = facts.group_nouns
    largest = details[0]
    body = _describe_group(facts, largest, execution.graph_density)
    if len(details) > 1:
        body.append(
            Sentence(
                f'The table "Largest groups in detail" describes the {format_count(len(details))} largest '
                f"{plural_form} the same way, with their members and bridges."
            )
        )
    gid = largest.group_id.rpartition("/")[2]
    return _insight(
        f"What holds the largest {singular} together",
        body,
        0.6 + 0.3 * facts.size_factor,
        {f"density_{gid}": largest.density, "graph_density": execution.graph_density},
    )


def _describe_group(facts: _Facts, detail: GroupDetail, graph_density: float) -> list[Sentence]:
    singular, plural_form = facts.group_nouns
    gid = detail.group_id
    leader = detail.central[0]
    leader_name = facts.name(leader)
    out = [
        Sentence(
            f"{leader_name}'s {singular} ({plural(detail.size, 'vertex', 'vertices')}, {format_share(detail.share)}) "
            f"centres on {leader_name} ({plural(int(leader.value), 'tie')}).",
            (
                GroupSize(gid, detail.size),
                VertexCount(facts.vertices),
                GroupMember(gid, leader.id, leader_name),
                Recorded(("group_details", gid, "central", "0", "value"), leader.value),
            ),
        )
    ]
    if detail.size > 1 and graph_density > 0:
        out.append(
            Sentence(
                f"Its {plural(detail.internal_ties, 'internal tie')} (pairs joined by an edge in either direction) "
                f"give a density of {format_value(detail.density)}, {format_times(detail.density / graph_density)} "
                f"the whole graph's {format_value(graph_density)}.",
                (
                    Recorded(("group_details", gid, "internal_ties"), detail.internal_ties),
                    Recorded(("group_details", gid, "density"), detail.density),
                    Recorded(("graph_density",), graph_density),
                ),
            )
        )
    if detail.attributes:
        claims = []
        for i, attribute in enumerate(detail.attributes):
            source = ("group_details", gid, "attributes", str(i))
            claims += [
                Recorded((*source, "share"), attribute.share),
                Recorded((*source, "overall_share"), attribute.overall_share),
            ]
        values = _join([dominant_value(a) for a in detail.attributes])
        out.append(Sentence(f"Over-represented in it: {values}.", tuple(claims)))
    if detail.bridges:
        bridge = detail.bridges[0]
        other = next((d for d in facts.execution.group_details if d.group_id == bridge.group_id), None)
        other_name = f"{facts.name(other.central[0])}'s {singular}" if other and other.central else bridge.group_id
        carriers = [facts.name(v) for v in bridge.carriers[:2]]
        through = f", mostly through {_join(carriers)}" if carriers else ""
        claims = [
            Recorded(("group_details", gid, "external_ties"), detail.external_ties),
            Recorded(("group_details", gid, "bridges", bridge.group_id, "ties"), bridge.ties),
            *(GroupMember(gid, v.id, facts.name(v)) for v in bridge.carriers[:2]),
        ]
        if other and other.central:
            claims.append(GroupMember(bridge.group_id, other.central[0].id, facts.name(other.central[0])))
        out.append(
            Sentence(
                f"Of its {plural(detail.external_ties, 'tie')} to other {plural_form}, the most "
                f"({format_count(bridge.ties)}) go to {other_name}{through}.",
                tuple(claims),
            )
        )
    elif detail.external_ties == 0 and detail.size < facts.vertices and facts.spec.name != "wcc":
        # Weakly connected components share no tie by definition; for the others it is news.
        out.append(
            Sentence(f"It has no tie to any other {singular}.", (Recorded(("group_details", gid, "external_ties"), 0),))
        )
    return out


def dominant_value(attribute: AttributeShare) -> str:
    """``brand Tailor (31.4% of its products vs 3.2% of all products)``."""
    return (
        f"{attribute.attribute} {attribute.value} ({format_share(attribute.share)} of its {attribute.collection} vs "
        f"{format_share(attribute.overall_share)} of all {attribute.collection})"
    )


def _small_groups(facts: _Facts, groups: GroupStats) -> DraftInsight:
    """The smallest groups by name, for requirements that ask about isolated ones."""
    singular, plural_form = facts.group_nouns
    small = facts.execution.small_groups
    listed = []
    claims: list = [Singletons(groups.singletons)]
    for detail in small:
        if not detail.central:
            continue
        leader = detail.central[0]
        name = facts.name(leader)
        others = detail.size - 1
        listed.append(f"{name}" + (f" with {plural(others, 'other vertex', 'other vertices')}" if others else " alone"))
        claims += [GroupSize(detail.group_id, detail.size), GroupMember(detail.group_id, leader.id, name)]
    body = [
        Sentence(
            f"{facts.groups_word(groups.singletons)} {'has' if groups.singletons == 1 else 'have'} a single member.",
            (Singletons(groups.singletons),),
        )
    ]
    if listed:
        body.append(Sentence(f"The {len(listed)} smallest {plural_form}: {'; '.join(listed)}.", tuple(claims)))
    return _insight(
        f"Small and isolated {plural_form}",
        body,
        0.55 + 0.4 * facts.size_factor,
        {"singletons": float(groups.singletons), "listed": float(len(listed))},
    )


def _propagation_rounds(facts: _Facts) -> DraftInsight | None:
    """Whether label propagation settled or was cut off by its round limit."""
    rounds = facts.execution.iterations
    limit = facts.execution.params.get("max_iterations")
    if rounds is None or not isinstance(limit, int):
        return None
    claims = (Recorded(("iterations",), rounds), Recorded(("params", "max_iterations"), limit))
    if rounds < limit:
        title = "Labels settled"
        body = [
            Sentence(
                f"Label propagation settled after {plural(rounds, 'round')} of at most {format_count(limit)}: every "
                "vertex carries one of the most frequent labels among its neighbours.",
                claims,
            ),
            Sentence("Ties are broken at random, so another seed can draw borders between communities differently."),
        ]
        confidence = 0.7
    else:
        title = "Labels still moving"
        body = [
            Sentence(
                f"Label propagation used all {plural(limit, 'round')} without settling; some vertices still lean "
                "towards another community, so borders between communities are provisional.",
                claims,
            )
        ]
        confidence = 0.85
    evidence = {"rounds": float(rounds), "max_iterations": float(limit)}
    return _insight(title, body, confidence * facts.size_factor, evidence)


def _resolution_limit(facts: _Facts, groups: GroupStats) -> DraftInsight | None:
    """What modularity optimisation cannot see at this resolution (Fortunato & Barthélemy 2007)."""
    resolution = facts.execution.params.get("resolution", 1.0)
    if not isinstance(resolution, (int, float)) or resolution <= 0:
        return None
    # Modularity may merge groups with fewer internal ties than about sqrt(2L), L the graph's
    # ties (a pair joined both ways is one tie); a higher resolution shrinks that bound by its
    # square root.
    ties = facts.execution.graph_ties if facts.execution.graph_ties is not None else facts.edges
    source = ("graph_ties",) if facts.execution.graph_ties is not None else ("edge_count",)
    bound = math.sqrt(2.0 * ties / resolution)
    return _insight(
        "Resolution limit",
        [
            Sentence(
                f"At resolution {format_value(resolution)}, with {plural(ties, 'tie')} in the graph, Louvain may merge "
                f"groups with fewer than about {plural(round(bound), 'internal tie')} into a neighbour, so small tight "
                "groups can hide inside larger communities.",
                (Recorded(source, ties), Recorded(("params", "resolution"), resolution)),
            ),
            Sentence(
                f"{facts.groups_word(groups.count)} {'was' if groups.count == 1 else 'were'} found; raise the "
                "resolution to look for smaller ones.",
                (GroupCount(groups.count),),
            ),
        ],
        0.6 * facts.size_factor,
        {"resolution": float(resolution), "min_resolvable_ties": bound, "group_count": float(groups.count)},
    )


def _singletons(facts: _Facts, groups: GroupStats) -> DraftInsight:
    share = groups.singletons / facts.vertices if facts.vertices else 0.0
    count = plural(groups.singletons, "vertex", "vertices")
    claims = (Singletons(groups.singletons), VertexCount(facts.vertices))
    verb = "lies" if groups.singletons == 1 else "lie"
    if facts.spec.name == "scc":
        title = "Vertices outside any cycle"
        text = f"{count} ({format_share(share)}) {verb} on no directed cycle: what flows through them never comes back."
    elif facts.spec.name == "wcc":
        title = "Isolated vertices"
        verb = "has" if groups.singletons == 1 else "have"
        text = f"{count} ({format_share(share)}) {verb} no edge to any other vertex in {facts.edge_names()}."
    else:
        title = "Vertices without a community"
        verb = "forms" if groups.singletons == 1 else "form"
        text = (
            f"{count} ({format_share(share)}) {verb} a community of their own: they are isolated or only loosely "
            "attached."
        )
    return _insight(
        title,
        [Sentence(text, claims)],
        0.55 + 0.4 * facts.size_factor,
        {"singletons": float(groups.singletons), "singleton_share": share},
    )


# ---------------------------------------------------------------- recommendations


def _recommendations(facts: _Facts, pattern: AlgorithmPattern, priority: str) -> list[DraftRecommendation]:
    lower = _step_down(priority)
    execution = facts.execution
    items: list[DraftRecommendation] = []
    if facts.edges == 0:
        items.append(
            DraftRecommendation(
                [
                    Sentence(
                        f"Load the relationships: {facts.edge_names()} contributed no edges between the selected "
                        "vertices."
                    ),
                    Sentence(
                        "Check the edge collections and that their endpoints point into the analysed vertex "
                        "collections, then re-run."
                    ),
                ],
                priority,
            )
        )
        return items
    first = [Sentence(pattern.recommendation)] if pattern.recommendation else []
    focus = _focus(facts, pattern.recommendation)
    if focus is not None:
        first.append(focus)
    if first:
        items.append(DraftRecommendation(first, priority))
    groups = execution.groups
    if groups is not None and facts.spec.name != "scc" and facts.vertices:
        share = groups.singletons / facts.vertices
        alone = (
            "are not connected to anything in"
            if facts.spec.name == "wcc"
            else "share a community with no other vertex, which mostly means they have no edges in"
        )
        if share >= _SINGLETON_ALERT:
            items.append(
                DraftRecommendation(
                    [
                        Sentence(
                            f"Check data quality and onboarding: {plural(groups.singletons, 'vertex', 'vertices')} "
                            f"({format_share(share)}) {alone} {facts.edge_names()}.",
                            (Singletons(groups.singletons), VertexCount(facts.vertices)),
                        ),
                        Sentence(
                            "Find out whether their relationships are missing from the load (or records were not "
                            "matched to existing entities) and add them, or leave these vertices out of downstream "
                            "decisions."
                        ),
                    ],
                    priority if share >= 0.25 else lower,
                )
            )
    if facts.spec.name == "wcc" and groups is not None and groups.largest_share < 0.5 and groups.count > 1:
        claims = [GroupCount(groups.count), VertexCount(facts.vertices)]
        if execution.top:
            claims.append(GroupSize(execution.top[0].id, groups.largest))
        items.append(
            DraftRecommendation(
                [
                    Sentence(
                        f"The graph splits into {facts.groups_word(groups.count)} and the largest covers only "
                        f"{format_share(groups.largest_share)}.",
                        tuple(claims),
                    ),
                    Sentence(
                        "Review entity resolution and linking rules before treating the components as separate groups."
                    ),
                ],
                priority,
            )
        )
    if facts.spec.kind == "community" and groups is not None:
        weak = groups.modularity is not None and groups.modularity < _CLEAR_MODULARITY
        if weak or groups.largest_share > 0.5:
            alternative = (
                "run Louvain, which optimises modularity directly"
                if facts.spec.name == "label_propagation"
                else f"try another resolution (this run used {execution.params.get('resolution', 1.0)})"
            )
            claims = [VertexCount(facts.vertices)]
            if execution.top:
                claims.append(GroupSize(execution.top[0].id, groups.largest))
            if groups.modularity is not None:
                quality = f"modularity {format_ratio(groups.modularity)}"
                claims.append(Recorded(("groups", "modularity"), groups.modularity))
            else:
                quality = "modularity unknown"
            items.append(
                DraftRecommendation(
                    [
                        Sentence(
                            f"Treat community membership as weak evidence here ({quality}, largest community "
                            f"{format_share(groups.largest_share)}); {alternative}.",
                            tuple(claims),
                        )
                    ],
                    lower,
                )
            )
    tracked = _tracking(facts)
    if tracked is not None:
        items.append(DraftRecommendation([tracked], lower))
    if facts.sampled:
        items.append(
            DraftRecommendation(
                [
                    _sampled_sentence(facts, "Betweenness was estimated from {} sampled sources."),
                    Sentence(
                        "Before acting on individual vertices beyond the clear leaders, re-run with more samples or a "
                        "higher exact_limit."
                    ),
                ],
                "low",
            )
        )
    if facts.unconverged:
        limit = execution.params.get("max_iterations")
        items.append(
            DraftRecommendation(
                [
                    Sentence(
                        f"Re-run PageRank with a higher max_iterations than {limit} so the ranking converges.",
                        (Recorded(("params", "max_iterations"), limit),) if isinstance(limit, int) else (),
                    )
                ],
                lower,
            )
        )
    return items


def _tracking(facts: _Facts) -> Sentence | None:
    """Watch the leaders when the scores they are ranked by are concentrated, with the scope's own figure."""
    execution = facts.execution
    dist = execution.focus_distribution if facts.scope else execution.distribution
    if dist is None or not execution.top or not (dist.gini >= 0.6 or dist.top_1pct_share >= 0.25):
        return None
    top_count = max(1, math.ceil(dist.count * 0.01))
    noun = _join(list(facts.scope)) if facts.scope else "vertices"
    listed = f"listed {_join(list(facts.lists))}" if facts.lists else f"top {format_count(len(execution.top))} {noun}"
    return Sentence(
        f"Track the {listed} by {facts.metric} over time: the top 1% of {noun} "
        f"({format_count(top_count)}) hold {format_share(dist.top_1pct_share)} of the {facts.metric} "
        f"{scope_phrase(facts.scope)}, so a change at one of them moves the whole picture.",
        (TopShare(dist.top_1pct_share, top_count, facts.scope), VertexCount(dist.count, facts.scope)),
    )


def _focus(facts: _Facts, wording: str) -> Sentence | None:
    """Where to start: the leaders of the lists the recommendation speaks of, or the largest group."""
    execution = facts.execution
    if facts.lists:
        return _start_with(facts, wording)
    if not execution.top:
        return None
    if facts.spec.kind == "centrality":
        leaders = execution.top[:3]
        names = [facts.name(v) for v in leaders]
        mix = _top_mix(leaders)
        claims = tuple(Rank(v.id, facts.name(v), rank, facts.scope) for rank, v in enumerate(leaders, 1))
        return Sentence(
            f"Start with {_join(names)} ({_mix_phrase(mix)}).",
            (*claims, CollectionMix(len(leaders), mix, facts.scope)),
        )
    largest = execution.top[0]
    leader, claims = _group_leader(facts, largest)
    singular, _ = facts.group_nouns
    led = f", led by {leader}" if leader else ""
    return Sentence(
        f"Start with the largest {singular} ({plural(int(largest.value), 'vertex', 'vertices')}){led}.",
        (GroupSize(largest.id, int(largest.value)), *claims),
    )


def _start_with(facts: _Facts, wording: str) -> Sentence:
    """The first three of each list the wording names (of every list when it names none), with their scope."""
    spoken = [c for c in facts.lists if _names_collection(wording, c)] or list(facts.lists)
    parts, claims = [], []
    for collection in spoken:
        leaders = facts.lists[collection][:3]
        names = [facts.name(v) for v in leaders]
        claims += [Rank(v.id, name, rank, (collection,)) for rank, (v, name) in enumerate(zip(leaders, names), 1)]
        first = "the first" if len(leaders) > 1 else "first"
        count = f" {format_count(len(leaders))}" if len(leaders) > 1 else ""
        parts.append(f"{_join(names)} ({first}{count} {scope_phrase((collection,))})")
    return Sentence(f"Start with {_join(parts)}.", tuple(claims))


def _names_collection(text: str, collection: str) -> bool:
    forms = sorted(collection_forms(collection), key=len, reverse=True)
    return re.search(rf"\b(?:{'|'.join(re.escape(form) for form in forms)})\b", text, re.IGNORECASE) is not None


# ---------------------------------------------------------------- priorities


def _base_priority(use_case: UseCase | None, linked: list[Requirement]) -> str:
    """The most urgent priority among the linked requirements, else the use case's own."""
    if linked:
        return min((r.priority for r in linked), key=PRIORITIES.index)
    return use_case.priority if use_case else "medium"


def _step_down(priority: str) -> str:
    return PRIORITIES[min(PRIORITIES.index(priority) + 1, len(PRIORITIES) - 1)]


# ---------------------------------------------------------------- wording helpers


def _top_mix(top: list[RankedVertex]) -> dict[str, int]:
    """How many listed vertices come from each collection (ids are ``collection/key``)."""
    return dict(Counter(v.id.partition("/")[0] for v in top))


def _mix_phrase(by_collection: dict[str, int]) -> str:
    ordered = sorted(by_collection.items(), key=lambda item: (-item[1], item[0]))
    parts = [f"{format_count(count)} from {name}" for name, count in ordered]
    return _join(parts)


def _join(parts: list[str]) -> str:
    if len(parts) <= 2:
        return " and ".join(parts)
    return f"{', '.join(parts[:-1])} and {parts[-1]}"


def _confidence(value: float) -> float:
    return round(min(0.99, max(0.05, value)), 2)


def plural(count: int, singular: str, plural_form: str | None = None) -> str:
    """``1 tie``, ``3 ties``, ``1 vertex``, ``2 vertices`` (pass the plural when it is not singular + s)."""
    word = singular if count == 1 else (plural_form or f"{singular}s")
    return f"{format_count(count)} {word}"


def format_count(value: int) -> str:
    """A count with thousands separators: ``12,345``."""
    return f"{value:,}"


def format_share(value: float) -> str:
    """A fraction as a percentage with one decimal: ``0.1834`` → ``18.3%``."""
    return f"{value:.1%}"


def format_value(value: float) -> str:
    """A score with four significant digits: ``0.0031``, ``1.234e-05``."""
    return f"{value:.4g}"


def format_ratio(value: float) -> str:
    """A coefficient in [0, 1] (Gini, modularity) with three decimals: ``0.620``."""
    return f"{value:.3f}"


def format_times(value: float) -> str:
    """A multiple: ``12.5×``."""
    return f"{value:.1f}×"
