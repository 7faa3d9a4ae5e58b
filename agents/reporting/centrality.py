"""Insights of a centrality (PageRank, betweenness): concentration, leaders per scope, brokers."""

from __future__ import annotations

import math

from gaai.agents.reporting.claims import (
    CollectionMix,
    Named,
    Rank,
    RatioToMean,
    Recorded,
    Sentence,
    Statistic,
    TopShare,
    VertexCount,
    VertexValue,
    scope_phrase,
)
from gaai.agents.reporting.facts import DraftInsight, Facts, draft_insight
from gaai.agents.reporting.wording import (
    format_count,
    format_ratio,
    format_share,
    format_times,
    format_value,
    join_phrases,
    mix_phrase,
    plural,
    top_mix,
)
from gaai.bus.domain import AlgorithmPattern, Distribution, RankedVertex


def draft_centrality_insights(facts: Facts, pattern: AlgorithmPattern) -> list[DraftInsight]:
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
    if facts.spec.name == "hits" and execution.top_hubs:
        insights.append(_hubs(facts, execution.top_hubs))
    if facts.unconverged:
        insights.append(
            draft_insight(
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
        mix = top_mix(top)
        insights.append(
            draft_insight(
                "Where the top vertices come from",
                [
                    Sentence(
                        f"Of the top {format_count(len(top))} by {facts.metric} {scope_phrase(())}, {mix_phrase(mix)}.",
                        (CollectionMix(len(top), mix),),
                    )
                ],
                0.8 * facts.size_factor * facts.method_factor,
                {f"top_from_{name}": float(count) for name, count in mix.items()},
            )
        )
    return insights


def _concentration(facts: Facts, dist: Distribution, scope: tuple[str, ...]) -> DraftInsight:
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
    where = f"Among {join_phrases(list(scope))}" if scope else "Across all analysed vertices"
    whose = f"the {join_phrases(list(scope))}' {facts.metric}" if scope else f"all {facts.metric}"
    # 0.45 is the ambiguous middle between the levels; clear readings earn more confidence.
    clarity = min(1.0, abs(dist.gini - 0.45) / 0.35)
    metric = f"{facts.metric[0].upper()}{facts.metric[1:]}"
    return draft_insight(
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
    facts: Facts,
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
    elif facts.spec.name in _NEARNESS_READING and pattern is not None:
        body.append(Sentence(_NEARNESS_READING[facts.spec.name]))
    if facts.sampled and pattern is not None:
        wording = _SAMPLED_WORDING.get(facts.spec.name, "Scores are estimated from {} sampled source vertices.")
        body.append(sampled_sentence(facts, wording))
    if pattern is not None and pattern.meaning:
        body.append(Sentence(pattern.meaning))
    # A leader at 100x the mean is unmistakable; at the mean it is noise.
    prominence = min(1.0, math.log10(max(to_mean, 1.0)) / 2.0)
    evidence = {"top1_value": leader.value, "mean": dist.mean, "top1_to_mean": to_mean}
    if len(top) > 1:
        evidence["top2_value"] = top[1].value
    return draft_insight(
        Sentence(f"{name} ranks first {scope_phrase(scope)}", (Rank(leader.id, name, 1, scope),)),
        body,
        facts.size_factor * facts.method_factor * (0.5 + 0.45 * prominence),
        evidence,
    )


_NEARNESS_READING = {
    "closeness": (
        "Closeness counts the shortest paths leading to a vertex, along edge direction: it is high when many vertices "
        "reach it in few steps, and scaled down by the share of vertices that cannot reach it at all."
    ),
    "harmonic": (
        "Harmonic centrality adds up one over the shortest-path distance from every other vertex, along edge "
        "direction; vertices that cannot reach it add nothing."
    ),
    "hits": (
        "An authority score is high when vertices pointing to many good authorities (hubs) point to the vertex; "
        "both scores sum to 1 over all analysed vertices."
    ),
}
_SAMPLED_WORDING = {
    "closeness": "Scores are estimated from the shortest paths of {} sampled source vertices, scaled to all vertices.",
    "harmonic": "Scores are estimated from the shortest paths of {} sampled source vertices, scaled to all vertices.",
}


def _hubs(facts: Facts, hubs: list[RankedVertex]) -> DraftInsight:
    """The vertices pointing most to the authorities: the top of the hub scores the execution recorded."""
    leader = hubs[0]
    name = facts.name(leader)
    shown = hubs[:3]
    listed = [f"{facts.name(v)} ({format_value(v.value)})" for v in shown]
    claims: list = []
    for position, vertex in enumerate(shown):
        claims += [Named(vertex.id, facts.name(vertex)), Recorded(("top_hubs", str(position), "value"), vertex.value)]
    scope = scope_phrase(facts.scope)
    return draft_insight(
        Sentence(f"{name} points most to the authorities", (Named(leader.id, name),)),
        [
            Sentence(
                f"By hub score {scope}, the vertices pointing most to the authorities are {join_phrases(listed)}.",
                tuple(claims),
            ),
            Sentence("A hub's score is the sum of the authority scores of the vertices it points to."),
        ],
        0.8 * facts.size_factor * facts.method_factor,
        {"top_hub_value": leader.value},
    )


def sampled_sentence(facts: Facts, wording: str) -> Sentence:
    samples = facts.execution.params.get("samples")
    if isinstance(samples, int):
        return Sentence(wording.format(format_count(samples)), (Recorded(("params", "samples"), samples),))
    return Sentence(wording.format("a sample of"))


def _brokers(facts: Facts, dist: Distribution) -> DraftInsight:
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
    return draft_insight(
        title,
        body,
        facts.size_factor * facts.method_factor * (0.8 if dist.median == 0 else 0.65),
        {"median": dist.median, "p90": dist.p90, "p99": dist.p99, "max": dist.max},
    )
