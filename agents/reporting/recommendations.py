"""Recommendations: what to do with the leaders or groups found, at the priority their requirements carry."""

from __future__ import annotations

import math
import re

from gaai.agents.reporting.centrality import sampled_sentence
from gaai.agents.reporting.claims import (
    CollectionMix,
    GroupCount,
    GroupSize,
    Rank,
    Recorded,
    Sentence,
    Singletons,
    TopShare,
    VertexCount,
    scope_phrase,
)
from gaai.agents.reporting.facts import CLEAR_MODULARITY, PRIORITIES, DraftRecommendation, Facts
from gaai.agents.reporting.group_insights import group_leader
from gaai.agents.reporting.wording import (
    format_count,
    format_ratio,
    format_share,
    join_phrases,
    mix_phrase,
    plural,
    top_mix,
)
from gaai.agents.use_cases.mapping import collection_forms
from gaai.bus.domain import AlgorithmPattern, Requirement, UseCase

# A share of isolated or unattached vertices above this is worth a data-quality check.
_SINGLETON_ALERT = 0.1


def draft_recommendations(facts: Facts, pattern: AlgorithmPattern, priority: str) -> list[DraftRecommendation]:
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
        weak = groups.modularity is not None and groups.modularity < CLEAR_MODULARITY
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
                    sampled_sentence(facts, f"{facts.spec.title} was estimated from {{}} sampled sources."),
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


def _tracking(facts: Facts) -> Sentence | None:
    """Watch the leaders when the scores they are ranked by are concentrated, with the scope's own figure."""
    execution = facts.execution
    dist = execution.focus_distribution if facts.scope else execution.distribution
    if dist is None or not execution.top or not (dist.gini >= 0.6 or dist.top_1pct_share >= 0.25):
        return None
    top_count = max(1, math.ceil(dist.count * 0.01))
    noun = join_phrases(list(facts.scope)) if facts.scope else "vertices"
    listed = (
        f"listed {join_phrases(list(facts.lists))}" if facts.lists else f"top {format_count(len(execution.top))} {noun}"
    )
    return Sentence(
        f"Track the {listed} by {facts.metric} over time: the top 1% of {noun} "
        f"({format_count(top_count)}) hold {format_share(dist.top_1pct_share)} of the {facts.metric} "
        f"{scope_phrase(facts.scope)}, so a change at one of them moves the whole picture.",
        (TopShare(dist.top_1pct_share, top_count, facts.scope), VertexCount(dist.count, facts.scope)),
    )


def _focus(facts: Facts, wording: str) -> Sentence | None:
    """Where to start: the leaders of the lists the recommendation speaks of, or the largest group."""
    execution = facts.execution
    if facts.lists:
        return _start_with(facts, wording)
    if not execution.top:
        return None
    if facts.spec.scores:
        leaders = execution.top[:3]
        names = [facts.name(v) for v in leaders]
        mix = top_mix(leaders)
        claims = tuple(Rank(v.id, facts.name(v), rank, facts.scope) for rank, v in enumerate(leaders, 1))
        return Sentence(
            f"Start with {join_phrases(names)} ({mix_phrase(mix)}).",
            (*claims, CollectionMix(len(leaders), mix, facts.scope)),
        )
    largest = execution.top[0]
    leader, claims = group_leader(facts, largest)
    singular, _ = facts.group_nouns
    led = f", led by {leader}" if leader else ""
    return Sentence(
        f"Start with the largest {singular} ({plural(int(largest.value), 'vertex', 'vertices')}){led}.",
        (GroupSize(largest.id, int(largest.value)), *claims),
    )


def _start_with(facts: Facts, wording: str) -> Sentence:
    """The first three of each list the wording names (of every list when it names none), with their scope."""
    spoken = [c for c in facts.lists if _names_collection(wording, c)] or list(facts.lists)
    parts, claims = [], []
    for collection in spoken:
        leaders = facts.lists[collection][:3]
        names = [facts.name(v) for v in leaders]
        claims += [
            Rank(v.id, name, rank, (collection,)) for rank, (v, name) in enumerate(zip(leaders, names, strict=True), 1)
        ]
        first = "the first" if len(leaders) > 1 else "first"
        count = f" {format_count(len(leaders))}" if len(leaders) > 1 else ""
        parts.append(f"{join_phrases(names)} ({first}{count} {scope_phrase((collection,))})")
    return Sentence(f"Start with {join_phrases(parts)}.", tuple(claims))


def _names_collection(text: str, collection: str) -> bool:
    forms = sorted(collection_forms(collection), key=len, reverse=True)
    return re.search(rf"\b(?:{'|'.join(re.escape(form) for form in forms)})\b", text, re.IGNORECASE) is not None


def base_priority(use_case: UseCase | None, linked: list[Requirement]) -> str:
    """The most urgent priority among the linked requirements, else the use case's own."""
    if linked:
        return min((r.priority for r in linked), key=PRIORITIES.index)
    return use_case.priority if use_case else "medium"


def _step_down(priority: str) -> str:
    return PRIORITIES[min(PRIORITIES.index(priority) + 1, len(PRIORITIES) - 1)]
