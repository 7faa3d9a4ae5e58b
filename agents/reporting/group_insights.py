"""Insights of components and communities: sizes, the largest group, modularity, described groups, singletons."""

from __future__ import annotations

import math

from gaai.agents.reporting.claims import (
    GroupCount,
    GroupMember,
    GroupMix,
    GroupSize,
    Recorded,
    Sentence,
    Singletons,
    VertexCount,
)
from gaai.agents.reporting.facts import CLEAR_MODULARITY, DraftInsight, Facts, draft_insight
from gaai.agents.reporting.wording import (
    dominant_value,
    format_count,
    format_ratio,
    format_share,
    format_times,
    format_value,
    join_phrases,
    mix_phrase,
    plural,
)
from gaai.bus.domain import AlgorithmPattern, GroupDetail, GroupStats, RankedVertex

_WEAK_MODULARITY = 0.1

# Groups described in full when no max_items constraint says fewer.
_DESCRIBED_GROUPS = 5


def draft_group_insights(facts: Facts, pattern: AlgorithmPattern, asks_isolated: bool) -> list[DraftInsight]:
    groups = facts.execution.groups
    if groups is None:
        return []
    if facts.spec.kind == "community":
        insights = [_modularity_insight(facts, groups, pattern), _largest_community(facts, groups)]
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


def group_leader(facts: Facts, group: RankedVertex) -> tuple[str, tuple]:
    """The name of a listed group's most connected member and the claim behind it ("" when not described)."""
    detail = next((d for d in facts.execution.group_details if d.group_id == group.id), None)
    if detail is None or not detail.central:
        return "", ()
    leader = detail.central[0]
    name = facts.name(leader)
    return name, (GroupMember(group.id, leader.id, name),)


def _largest_component(facts: Facts, groups: GroupStats, pattern: AlgorithmPattern) -> DraftInsight:
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
    return draft_insight(
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


def _group_make_up(facts: Facts, group: RankedVertex) -> list[Sentence]:
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
                f"By collection it holds {mix_phrase(detail.by_collection)}.",
                (GroupMix(group.id, detail.by_collection),),
            )
        )
    return out


def _size_profile(facts: Facts, groups: GroupStats) -> DraftInsight:
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
    return draft_insight(
        f"Sizes of the {plural_form}",
        body,
        0.5 + 0.4 * facts.size_factor,
        {"largest": float(groups.largest), "second_largest": float(runner_up), "largest_to_second": ratio},
    )


def _modularity_insight(facts: Facts, groups: GroupStats, pattern: AlgorithmPattern) -> DraftInsight:
    q = groups.modularity
    # Label propagation is less stable from run to run than modularity optimisation.
    base = 0.85 if facts.spec.name in ("louvain", "leiden") else 0.7
    meaning = [Sentence(pattern.meaning)] if pattern.meaning else []
    if q is None:
        return draft_insight(
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
    if q >= CLEAR_MODULARITY:
        title, reading = "Clear community structure", "well above the 0.3 that usually marks real groups"
    elif q >= _WEAK_MODULARITY:
        title, reading = "Weak community structure", "below the 0.3 that usually marks real groups"
    else:
        title, reading = "No meaningful community structure", "about what a random graph would score"
    clarity = min(1.0, abs(q - 0.2) / 0.3)
    return draft_insight(
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


def _largest_community(facts: Facts, groups: GroupStats) -> DraftInsight:
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
    return draft_insight(
        title,
        body,
        confidence * facts.size_factor,
        {"largest": float(groups.largest), "largest_share": share, "second_largest": float(runner_up)},
    )


def _described_groups(facts: Facts) -> DraftInsight | None:
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
    return draft_insight(
        f"What holds the largest {singular} together",
        body,
        0.6 + 0.3 * facts.size_factor,
        {f"density_{gid}": largest.density, "graph_density": execution.graph_density},
    )


def _describe_group(facts: Facts, detail: GroupDetail, graph_density: float) -> list[Sentence]:
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
        values = join_phrases([dominant_value(a) for a in detail.attributes])
        out.append(Sentence(f"Over-represented in it: {values}.", tuple(claims)))
    if detail.bridges:
        bridge = detail.bridges[0]
        other = next((d for d in facts.execution.group_details if d.group_id == bridge.group_id), None)
        other_name = f"{facts.name(other.central[0])}'s {singular}" if other and other.central else bridge.group_id
        carriers = [facts.name(v) for v in bridge.carriers[:2]]
        through = f", mostly through {join_phrases(carriers)}" if carriers else ""
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


def _small_groups(facts: Facts, groups: GroupStats) -> DraftInsight:
    """The smallest groups by name, for requirements that ask about isolated ones."""
    _singular, plural_form = facts.group_nouns
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
    return draft_insight(
        f"Small and isolated {plural_form}",
        body,
        0.55 + 0.4 * facts.size_factor,
        {"singletons": float(groups.singletons), "listed": float(len(listed))},
    )


def _propagation_rounds(facts: Facts) -> DraftInsight | None:
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
    return draft_insight(title, body, confidence * facts.size_factor, evidence)


def _resolution_limit(facts: Facts, groups: GroupStats) -> DraftInsight | None:
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
    leiden = facts.spec.name == "leiden"
    # Leiden's refinement merges vertices only along ties inside their community (Traag et al. 2019).
    connected = [
        Sentence("Leiden joins vertices only along ties inside their community, so every community is connected.")
    ]
    return draft_insight(
        "Resolution limit",
        [
            Sentence(
                f"At resolution {format_value(resolution)}, with {plural(ties, 'tie')} in the graph, "
                f"{'Leiden' if leiden else 'Louvain'} may merge "
                f"groups with fewer than about {plural(round(bound), 'internal tie')} into a neighbour, so small tight "
                "groups can hide inside larger communities.",
                (Recorded(source, ties), Recorded(("params", "resolution"), resolution)),
            ),
            Sentence(
                f"{facts.groups_word(groups.count)} {'was' if groups.count == 1 else 'were'} found; raise the "
                "resolution to look for smaller ones.",
                (GroupCount(groups.count),),
            ),
            *(connected if leiden else []),
        ],
        0.6 * facts.size_factor,
        {"resolution": float(resolution), "min_resolvable_ties": bound, "group_count": float(groups.count)},
    )


def _singletons(facts: Facts, groups: GroupStats) -> DraftInsight:
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
    return draft_insight(
        title,
        [Sentence(text, claims)],
        0.55 + 0.4 * facts.size_factor,
        {"singletons": float(groups.singletons), "singleton_share": share},
    )
