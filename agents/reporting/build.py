"""Build a report from an execution's numbers, worded with the vertical's patterns.

Everything a report says is computed from the ``ExecutionSummary`` it is given: the top
list, the ``Distribution`` of a centrality, or the ``GroupStats`` of components and
communities. Each insight carries the figures behind it in ``evidence`` and a confidence
derived from them: how clear the signal is (how far a Gini coefficient or a modularity is
from the ambiguous middle), how big the graph is, and whether the numbers are estimates
(sampled betweenness) or unfinished (PageRank stopped by its iteration limit).

Numbers are written with one set of formats (``format_count``, ``format_share``,
``format_value``, ``format_ratio``, ``format_times``), shared with the renderers, so a
reader — or a test — finds the summary's figures in the text exactly as written there.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from agents.algorithms import AlgorithmSpec, algorithm_spec
from bus.contract import (
    AlgorithmPattern,
    AnalysisTemplate,
    Distribution,
    ExecutionSummary,
    GroupStats,
    Insight,
    Recommendation,
    Report,
    Requirement,
    UseCase,
    VerticalProfile,
)

__all__ = [
    "PRIORITIES",
    "build_report",
    "format_count",
    "format_ratio",
    "format_share",
    "format_times",
    "format_value",
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


def build_report(
    template: AnalysisTemplate,
    use_case: UseCase | None,
    execution: ExecutionSummary,
    vertical: VerticalProfile,
    requirements: list[Requirement],
) -> Report:
    """The report of one execution.

    Args:
        template: the analysis that ran.
        use_case: the use case it serves, if known.
        execution: what the run found.
        vertical: the industry vertical whose patterns word the findings.
        requirements: requirements; those linked by the use case set the priorities
            (all of them when the use case links none).

    Returns:
        A report with a title, a summary paragraph with the run's figures, insights with
        evidence and confidence, and prioritised recommendations; no artifacts yet.
    """
    spec = algorithm_spec(execution.algorithm)
    pattern = vertical.patterns.get(spec.name) or AlgorithmPattern(title=spec.title, meaning=spec.summary, recommendation="")
    facts = _Facts.of(spec, template, execution)
    priority = _base_priority(use_case, requirements)
    if facts.edges == 0:
        insights = [_no_structure(facts)]
    elif spec.kind == "centrality":
        insights = _centrality_insights(facts, pattern)
    else:
        insights = _group_insights(facts, pattern)
    if not insights:
        insights = [_no_figures(facts)]
    subject = use_case.title if use_case else template.title
    return Report(
        report_id=f"report-{template.id}",
        template_id=template.id,
        execution_id=execution.execution_id,
        title=subject if subject.startswith(pattern.title) else f"{pattern.title}: {subject}",
        summary=_summary(facts, pattern, subject, vertical),
        algorithm=spec.name,
        insights=insights,
        recommendations=_recommendations(facts, pattern, priority),
    )


# ---------------------------------------------------------------- facts


@dataclass(frozen=True)
class _Facts:
    """The execution's figures with the derived flags every wording step needs."""

    spec: AlgorithmSpec
    template: AnalysisTemplate
    execution: ExecutionSummary
    vertices: int
    edges: int
    sampled: bool
    unconverged: bool

    @classmethod
    def of(cls, spec: AlgorithmSpec, template: AnalysisTemplate, execution: ExecutionSummary) -> _Facts:
        max_iterations = execution.params.get("max_iterations")
        unconverged = (
            spec.name == "pagerank"
            and execution.iterations is not None
            and isinstance(max_iterations, int)
            and execution.iterations >= max_iterations
        )
        return cls(
            spec=spec,
            template=template,
            execution=execution,
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
        plural = self.spec.title.lower()
        return plural.removesuffix("s"), plural

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
        return ", ".join(self.template.edge_collections) or "the selected edge collections"


# ---------------------------------------------------------------- insights


def _no_structure(facts: _Facts) -> Insight:
    if facts.spec.kind == "centrality":
        value = facts.execution.distribution.max if facts.execution.distribution else 0.0
        outcome = f"every vertex gets the same {facts.metric} ({format_value(value)}), so no vertex stands out"
    else:
        singular, _ = facts.group_nouns
        outcome = f"every vertex is a {singular} of its own"
    return Insight(
        title="No structure found",
        text=(
            f"The analysed graph has {format_count(facts.vertices)} vertices but no edges in {facts.edge_names()}: "
            f"{outcome}. Nothing here describes relationships yet."
        ),
        confidence=0.95,
        evidence={"vertex_count": float(facts.vertices), "edge_count": 0.0},
    )


def _no_figures(facts: _Facts) -> Insight:
    """Said when the execution carries none of the figures its algorithm should report."""
    return Insight(
        title="No figures reported",
        text=(
            f"The run over {format_count(facts.vertices)} vertices and {format_count(facts.edges)} edges reported no "
            f"{facts.spec.title.lower()} figures, so nothing can be concluded from it; re-run the analysis."
        ),
        confidence=0.9,
        evidence={"vertex_count": float(facts.vertices), "edge_count": float(facts.edges)},
    )


def _centrality_insights(facts: _Facts, pattern: AlgorithmPattern) -> list[Insight]:
    dist = facts.execution.distribution
    top = facts.execution.top
    insights: list[Insight] = []
    if dist is not None:
        insights.append(_concentration(facts, dist))
    if top and dist is not None:
        insights.append(_leaders(facts, dist, pattern))
    if facts.spec.name == "betweenness" and dist is not None:
        insights.append(_brokers(facts, dist))
    if facts.unconverged:
        insights.append(
            Insight(
                title="PageRank stopped before converging",
                text=(
                    f"The power iteration reached its limit of {format_count(facts.execution.iterations or 0)} iterations "
                    f"before the rank vector settled within tolerance {facts.execution.params.get('tolerance')}; "
                    "rankings near the top may still change."
                ),
                confidence=0.9,
                evidence={"iterations": float(facts.execution.iterations or 0)},
            )
        )
    mix = _collection_mix(facts, f"the top {len(top)} by {facts.metric}")
    if mix is not None:
        insights.append(mix)
    return insights


def _concentration(facts: _Facts, dist: Distribution) -> Insight:
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
    # 0.45 is the ambiguous middle between the levels; clear readings earn more confidence.
    clarity = min(1.0, abs(dist.gini - 0.45) / 0.35)
    return Insight(
        title=f"{facts.metric[0].upper()}{facts.metric[1:]} is {level}",
        text=(
            f"The top 1% of vertices ({format_count(top_count)} of {format_count(dist.count)}) hold {format_share(dist.top_1pct_share)} "
            f"of all {facts.metric}, and the Gini coefficient is {format_ratio(dist.gini)} "
            f"(0 = all equal, 1 = one vertex holds everything): {reading}."
        ),
        confidence=_confidence(facts.size_factor * facts.method_factor * (0.6 + 0.35 * clarity)),
        evidence={
            "gini": dist.gini,
            "top_1pct_share": dist.top_1pct_share,
            "top_1pct_count": float(top_count),
            "vertex_count": float(dist.count),
        },
    )


def _leaders(facts: _Facts, dist: Distribution, pattern: AlgorithmPattern) -> Insight:
    top = facts.execution.top
    leader = top[0]
    name = _name(leader.label, leader.id)
    to_mean = leader.value / dist.mean if dist.mean > 0 else 0.0
    followers = [f"{_name(v.label, v.id)} ({format_value(v.value)})" for v in top[1:3]]
    text = f"{name} has the highest {facts.metric}, {format_value(leader.value)}"
    if dist.mean > 0:
        text += f" ({format_times(to_mean)} the mean of {format_value(dist.mean)})"
    text += "."
    if followers:
        text += f" Next come {' and '.join(followers)}."
    if facts.spec.name == "pagerank":
        text += f" A random walk through the graph spends {format_share(leader.value)} of its time at {name}."
    elif facts.spec.name == "betweenness" and facts.execution.params.get("normalized", True):
        text += f" Averaged over all pairs of other vertices, {format_share(leader.value)} of their shortest paths pass through it."
    if facts.sampled:
        text += f" Scores are estimated from {_sample_count(facts)} sampled source vertices."
    text += f" {pattern.meaning}"
    # A leader at 100x the mean is unmistakable; at the mean it is noise.
    prominence = min(1.0, math.log10(max(to_mean, 1.0)) / 2.0)
    evidence = {"top1_value": leader.value, "mean": dist.mean, "top1_to_mean": to_mean}
    if len(top) > 1:
        evidence["top2_value"] = top[1].value
    return Insight(
        title=f"{name} ranks first",
        text=text,
        confidence=_confidence(facts.size_factor * facts.method_factor * (0.5 + 0.45 * prominence)),
        evidence=evidence,
    )


def _brokers(facts: _Facts, dist: Distribution) -> Insight:
    if dist.p90 == 0:
        share_idle, title = "At least 90%", "Very few vertices broker any paths"
    elif dist.median == 0:
        share_idle, title = "At least half", "Few vertices broker the paths"
    else:
        share_idle, title = "Fewer than half", "Brokerage is widely shared"
    text = (
        f"{share_idle} of the vertices lie on no shortest path between others "
        f"(median betweenness {format_value(dist.median)}, 90th percentile {format_value(dist.p90)}, "
        f"99th percentile {format_value(dist.p99)}, maximum {format_value(dist.max)}). "
    )
    if dist.median == 0:
        text += "Paths between groups depend on the few vertices at the top of the ranking; removing them would cut routes."
    else:
        text += "Paths have alternatives through many vertices, so no single one is a bottleneck."
    return Insight(
        title=title,
        text=text,
        confidence=_confidence(facts.size_factor * facts.method_factor * (0.8 if dist.median == 0 else 0.65)),
        evidence={"median": dist.median, "p90": dist.p90, "p99": dist.p99, "max": dist.max},
    )


def _group_insights(facts: _Facts, pattern: AlgorithmPattern) -> list[Insight]:
    groups = facts.execution.groups
    if groups is None:
        return []
    if facts.spec.kind == "community":
        insights = [_modularity(facts, groups, pattern), _largest_community(facts, groups)]
        method = _propagation_rounds(facts) if facts.spec.name == "label_propagation" else _resolution_limit(facts, groups)
        if method is not None:
            insights.append(method)
    else:
        insights = [_largest_component(facts, groups, pattern)]
        if groups.count > 1:
            insights.append(_size_profile(facts, groups))
    if groups.singletons:
        insights.append(_singletons(facts, groups))
    return insights


def _largest_component(facts: _Facts, groups: GroupStats, pattern: AlgorithmPattern) -> Insight:
    singular, plural = facts.group_nouns
    share = groups.largest_share
    if facts.spec.name == "scc":
        title = "A large cyclic core" if share >= 0.5 else ("A cyclic core" if share >= 0.05 else "Flows are mostly one-way")
        what = "vertices that can all reach each other along edge direction"
    else:
        title = "One connected whole" if share >= 0.9 else ("A dominant component with a fringe" if share >= 0.5 else "The graph is fragmented")
        what = "vertices joined by some path, ignoring direction"
    text = (
        f"The largest {singular} ({what}) holds {format_count(groups.largest)} of {format_count(facts.vertices)} vertices "
        f"({format_share(share)}); there are {format_count(groups.count)} {plural} in all."
    )
    sample = _first_group(facts)
    if sample:
        text += f" It includes {sample}."
    mix = _mix_phrase(facts.execution.by_collection)
    if mix:
        text += f" By collection it holds {mix}."
    text += f" {pattern.meaning}"
    return Insight(
        title=title,
        text=text,
        confidence=_confidence(0.55 + 0.4 * facts.size_factor),
        evidence={"largest": float(groups.largest), "largest_share": share, "group_count": float(groups.count), "vertex_count": float(facts.vertices)},
    )


def _size_profile(facts: _Facts, groups: GroupStats) -> Insight:
    _, plural = facts.group_nouns
    runner_up = groups.top_sizes[1] if len(groups.top_sizes) > 1 else 0
    ratio = groups.largest / runner_up if runner_up else 0.0
    next_sizes = ", ".join(format_count(size) for size in groups.top_sizes[1:6])
    text = f"After the largest ({format_count(groups.largest)} vertices) the next {plural} have {next_sizes} vertices"
    text += f"; the largest is {format_times(ratio)} the runner-up." if runner_up else "."
    return Insight(
        title=f"Sizes of the {plural}",
        text=text,
        confidence=_confidence(0.5 + 0.4 * facts.size_factor),
        evidence={"largest": float(groups.largest), "second_largest": float(runner_up), "largest_to_second": ratio},
    )


def _modularity(facts: _Facts, groups: GroupStats, pattern: AlgorithmPattern) -> Insight:
    q = groups.modularity
    # Label propagation is less stable from run to run than modularity optimisation.
    base = 0.85 if facts.spec.name == "louvain" else 0.7
    if q is None:
        return Insight(
            title=f"{format_count(groups.count)} communities, quality unknown",
            text=f"The run found {format_count(groups.count)} communities but reported no modularity to judge them by. {pattern.meaning}",
            confidence=_confidence(0.5 * facts.size_factor),
            evidence={"group_count": float(groups.count)},
        )
    if q >= _CLEAR_MODULARITY:
        title, reading = "Clear community structure", "well above the 0.3 that usually marks real groups"
    elif q >= _WEAK_MODULARITY:
        title, reading = "Weak community structure", "below the 0.3 that usually marks real groups"
    else:
        title, reading = "No meaningful community structure", "about what a random graph would score"
    clarity = min(1.0, abs(q - 0.2) / 0.3)
    return Insight(
        title=title,
        text=f"{format_count(groups.count)} communities with modularity {format_ratio(q)}, {reading}. {pattern.meaning}",
        confidence=_confidence(base * facts.size_factor * (0.65 + 0.35 * clarity)),
        evidence={"modularity": q, "group_count": float(groups.count)},
    )


def _largest_community(facts: _Facts, groups: GroupStats) -> Insight:
    share = groups.largest_share
    runner_up = groups.top_sizes[1] if len(groups.top_sizes) > 1 else 0
    text = f"The largest community has {format_count(groups.largest)} vertices ({format_share(share)} of the graph)"
    sample = _first_group(facts)
    text += f", including {sample}" if sample else ""
    text += f"; the next largest has {format_count(runner_up)}." if runner_up else "."
    mix = _mix_phrase(facts.execution.by_collection)
    if mix:
        text += f" It holds {mix}."
    if share > 0.5:
        title = "One community absorbs most of the graph"
        text += " Such a giant community usually means the method merged across weak ties rather than finding separate groups."
        confidence = 0.55
    else:
        title = "The largest community"
        confidence = 0.75
    return Insight(
        title=title,
        text=text,
        confidence=_confidence(confidence * facts.size_factor),
        evidence={"largest": float(groups.largest), "largest_share": share, "second_largest": float(runner_up)},
    )


def _propagation_rounds(facts: _Facts) -> Insight | None:
    """Whether label propagation settled or was cut off by its round limit."""
    rounds = facts.execution.iterations
    limit = facts.execution.params.get("max_iterations")
    if rounds is None or not isinstance(limit, int):
        return None
    if rounds < limit:
        title = "Labels settled"
        text = (
            f"Label propagation settled after {format_count(rounds)} of at most {format_count(limit)} rounds: every vertex "
            "carries one of the most frequent labels among its neighbours. Ties are broken at random, so another seed "
            "can draw borders between communities differently."
        )
        confidence = 0.7
    else:
        title = "Labels still moving"
        text = (
            f"Label propagation used all {format_count(limit)} rounds without settling; some vertices still lean towards "
            "another community, so borders between communities are provisional."
        )
        confidence = 0.85
    return Insight(
        title=title,
        text=text,
        confidence=_confidence(confidence * facts.size_factor),
        evidence={"rounds": float(rounds), "max_iterations": float(limit)},
    )


def _resolution_limit(facts: _Facts, groups: GroupStats) -> Insight | None:
    """What modularity optimisation cannot see at this resolution (Fortunato & Barthélemy 2007)."""
    resolution = facts.execution.params.get("resolution", 1.0)
    if not isinstance(resolution, (int, float)) or resolution <= 0:
        return None
    # Modularity may merge groups with fewer internal edges than about sqrt(2m); a higher
    # resolution shrinks that bound by its square root.
    bound = math.sqrt(2.0 * facts.edges / resolution)
    return Insight(
        title="Resolution limit",
        text=(
            f"At resolution {format_value(resolution)}, Louvain may merge groups with fewer than about "
            f"{format_count(round(bound))} internal edges into a neighbour, so small tight groups can hide inside larger "
            f"communities. {format_count(groups.count)} communities were found; raise the resolution to look for smaller ones."
        ),
        confidence=_confidence(0.6 * facts.size_factor),
        evidence={"resolution": float(resolution), "min_resolvable_edges": bound, "group_count": float(groups.count)},
    )


def _singletons(facts: _Facts, groups: GroupStats) -> Insight:
    share = groups.singletons / facts.vertices if facts.vertices else 0.0
    count = format_count(groups.singletons)
    if facts.spec.name == "scc":
        title = "Vertices outside any cycle"
        text = f"{count} vertices ({format_share(share)}) lie on no directed cycle: what flows through them never comes back."
    elif facts.spec.name == "wcc":
        title = "Isolated vertices"
        text = f"{count} vertices ({format_share(share)}) have no edge to any other vertex in {facts.edge_names()}."
    else:
        title = "Vertices without a community"
        text = f"{count} vertices ({format_share(share)}) form a community of their own: they are isolated or only loosely attached."
    return Insight(
        title=title,
        text=text,
        confidence=_confidence(0.55 + 0.4 * facts.size_factor),
        evidence={"singletons": float(groups.singletons), "singleton_share": share},
    )


def _collection_mix(facts: _Facts, subject: str) -> Insight | None:
    by_collection = facts.execution.by_collection
    if len(facts.template.vertex_collections) < 2 or not by_collection:
        return None
    return Insight(
        title="Where the top vertices come from",
        text=f"Of {subject}, {_mix_phrase(by_collection)}.",
        confidence=_confidence(0.8 * facts.size_factor * facts.method_factor),
        evidence={f"top_from_{name}": float(count) for name, count in by_collection.items()},
    )


# ---------------------------------------------------------------- recommendations


def _recommendations(facts: _Facts, pattern: AlgorithmPattern, priority: str) -> list[Recommendation]:
    lower = _step_down(priority)
    execution = facts.execution
    items: list[Recommendation] = []
    if facts.edges == 0:
        items.append(
            Recommendation(
                text=(
                    f"Load the relationships: {facts.edge_names()} contributed no edges between the selected vertices. "
                    "Check the edge collections and that their endpoints point into the analysed vertex collections, then re-run."
                ),
                priority=priority,
            )
        )
        return items
    focus = _focus(facts)
    if pattern.recommendation or focus:
        items.append(Recommendation(text=" ".join(part for part in (pattern.recommendation, focus) if part), priority=priority))
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
                Recommendation(
                    text=(
                        f"Check data quality and onboarding: {format_count(groups.singletons)} vertices ({format_share(share)}) "
                        f"{alone} {facts.edge_names()}. Find out whether their relationships are missing "
                        "from the load (or records were not matched to existing entities) and add them, or leave these "
                        "vertices out of downstream decisions."
                    ),
                    priority=priority if share >= 0.25 else lower,
                )
            )
    if facts.spec.name == "wcc" and groups is not None and groups.largest_share < 0.5 and groups.count > 1:
        items.append(
            Recommendation(
                text=(
                    f"The graph splits into {format_count(groups.count)} weakly connected components and the largest covers only "
                    f"{format_share(groups.largest_share)}. Review entity resolution and linking rules before treating the "
                    "components as separate groups."
                ),
                priority=priority,
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
            quality = f"modularity {format_ratio(groups.modularity)}" if groups.modularity is not None else "modularity unknown"
            items.append(
                Recommendation(
                    text=f"Treat community membership as weak evidence here ({quality}, largest community {format_share(groups.largest_share)}); {alternative}.",
                    priority=lower,
                )
            )
    dist = execution.distribution
    if dist is not None and (dist.gini >= 0.6 or dist.top_1pct_share >= 0.25) and execution.top:
        items.append(
            Recommendation(
                text=(
                    f"Track the top {len(execution.top)} by {facts.metric} over time: with {format_share(dist.top_1pct_share)} of all "
                    f"{facts.metric} in 1% of the vertices, a change at one of them moves the whole picture."
                ),
                priority=lower,
            )
        )
    if facts.sampled:
        items.append(
            Recommendation(
                text=(
                    f"Betweenness was estimated from {_sample_count(facts)} sampled sources. Before acting on individual vertices "
                    "beyond the clear leaders, re-run with more samples or a higher exact_limit."
                ),
                priority="low",
            )
        )
    if facts.unconverged:
        items.append(
            Recommendation(
                text=f"Re-run PageRank with a higher max_iterations than {execution.params.get('max_iterations')} so the ranking converges.",
                priority=lower,
            )
        )
    return items


def _focus(facts: _Facts) -> str:
    execution = facts.execution
    if not execution.top:
        return ""
    if facts.spec.kind == "centrality":
        names = [_name(v.label, v.id) for v in execution.top[:3]]
        return f"Start with {_join(names)}."
    singular, _ = facts.group_nouns
    sample = _first_group(facts)
    including = f", which includes {sample}" if sample else ""
    return f"Start with the largest {singular} ({format_count(int(execution.top[0].value))} vertices{including})."


# ---------------------------------------------------------------- summary and priorities


def _summary(facts: _Facts, pattern: AlgorithmPattern, subject: str, vertical: VerticalProfile) -> str:
    execution = facts.execution
    collections = ", ".join(facts.template.vertex_collections)
    scope = f" over {collections}" if collections else ""
    text = (
        f"{facts.spec.title} on graph {execution.graph_name}{scope} "
        f"({format_count(facts.vertices)} vertices, {format_count(facts.edges)} edges) for {subject}. "
    )
    dist, groups = execution.distribution, execution.groups
    if facts.edges == 0:
        text += "The graph has no edges, so there is no structure to report. "
    elif dist is not None and execution.top:
        leader = execution.top[0]
        text += (
            f"{_name(leader.label, leader.id)} ranks first with {format_value(leader.value)}; the top 1% of vertices hold "
            f"{format_share(dist.top_1pct_share)} of all {facts.metric} and the Gini coefficient is {format_ratio(dist.gini)}. "
        )
    elif groups is not None:
        singular, plural = facts.group_nouns
        text += (
            f"{format_count(groups.count)} {plural}; the largest holds {format_count(groups.largest)} vertices ({format_share(groups.largest_share)}) "
            f"and {format_count(groups.singletons)} vertices are alone in a {singular} of their own"
        )
        text += f"; modularity {format_ratio(groups.modularity)}. " if groups.modularity is not None else ". "
    text += f"Computed in {format_value(execution.compute_ms)} ms with {execution.engine or 'the default engine'}"
    text += f" in {format_count(execution.iterations)} iterations." if execution.iterations else "."
    terms = _glossary(pattern, vertical)
    if terms:
        text += f" Terms: {terms}."
    return text


def _glossary(pattern: AlgorithmPattern, vertical: VerticalProfile, limit: int = 2) -> str:
    """Definitions of the vertical's terms that the pattern's wording uses."""
    wording = f"{pattern.title} {pattern.meaning} {pattern.recommendation}".lower()
    used = [
        f"{term} — {definition.rstrip('.')}"
        for term, definition in vertical.terminology.items()
        if re.search(rf"\b{re.escape(term.lower())}", wording)
    ]
    return "; ".join(used[:limit])


def _base_priority(use_case: UseCase | None, requirements: list[Requirement]) -> str:
    """The most urgent priority among the linked requirements, else the use case's own."""
    linked_ids = set(use_case.requirement_ids) if use_case else set()
    linked = [r for r in requirements if r.id in linked_ids] if linked_ids else requirements
    if linked:
        return min((r.priority for r in linked), key=PRIORITIES.index)
    return use_case.priority if use_case else "medium"


def _step_down(priority: str) -> str:
    return PRIORITIES[min(PRIORITIES.index(priority) + 1, len(PRIORITIES) - 1)]


# ---------------------------------------------------------------- wording helpers


def _first_group(facts: _Facts) -> str:
    """A named member of the largest group, when the summary carries one."""
    top = facts.execution.top
    return top[0].label if top and top[0].label else ""


def _mix_phrase(by_collection: dict[str, int]) -> str:
    parts = [f"{format_count(count)} from {name}" for name, count in sorted(by_collection.items(), key=lambda item: (-item[1], item[0]))]
    return _join(parts)


def _sample_count(facts: _Facts) -> str:
    samples = facts.execution.params.get("samples")
    return format_count(samples) if isinstance(samples, int) else "a sample of"


def _name(label: str, vertex_id: str) -> str:
    return label or vertex_id


def _join(parts: list[str]) -> str:
    if len(parts) <= 2:
        return " and ".join(parts)
    return f"{', '.join(parts[:-1])} and {parts[-1]}"


def _confidence(value: float) -> float:
    return round(min(0.99, max(0.05, value)), 2)


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
