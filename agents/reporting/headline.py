"""A report's title, its summary sentences, how its edges were read, and the constraints it obeyed."""

from __future__ import annotations

import math

from gaai.agents.lib.algorithms import algorithm_spec
from gaai.agents.lib.constraints import max_items, wants_csv
from gaai.agents.reporting.claims import (
    CollectionMix,
    GroupCount,
    GroupSize,
    Outranked,
    Rank,
    Recorded,
    Sentence,
    Singletons,
    Statistic,
    TopShare,
    VertexCount,
    VertexValue,
    scope_phrase,
)
from gaai.agents.reporting.facts import Facts
from gaai.agents.reporting.overlaps import compared_phrase, pair_sentence, shared_noun
from gaai.agents.reporting.privacy import Namer
from gaai.agents.reporting.wording import (
    format_count,
    format_ratio,
    format_share,
    format_value,
    join_phrases,
    plural,
    top_mix,
)
from gaai.bus.domain import Distribution, ExecutionSummary, OutputConstraint, RankedVertex

# How each algorithm reads edges: direction followed, and what a weight means to it.
_FOLLOWS_DIRECTION = {
    *("pagerank", "betweenness", "closeness", "harmonic", "hits", "scc"),
    *("degree", "eigenvector", "k_hop", "cycles"),
}

_WEIGHT_MEANING = {
    "pagerank": "as strengths",
    "louvain": "as strengths",
    "leiden": "as strengths",
    "label_propagation": "as strengths",
    "betweenness": "as lengths",
    "closeness": "as lengths",
    "harmonic": "as lengths",
    "hits": "as strengths",
    "degree": "as strengths (summed)",
    "eigenvector": "as strengths",
}


def title_sentence(facts: Facts) -> tuple[Sentence, str]:
    """A title naming what the report shows, and the plain one used should its claim fail."""
    execution = facts.execution
    fallback = f"{facts.spec.title} on {execution.graph_name}"
    if facts.spec.kind == "overlap" and execution.top_pairs and facts.edges:
        pair = pair_sentence(facts, execution.top_pairs[0])
        if facts.spec.name == "co_occurrence":
            text = f"The {compared_phrase(facts)} sharing the most {shared_noun(facts)}"
        else:
            text = f"The most similar {compared_phrase(facts)}"
        return Sentence(text, pair.claims), fallback
    if facts.lists and facts.edges:
        names = list(facts.lists)
        shown = f"{format_count(len(facts.lists[names[0]]))} {names[0]}" if len(names) == 1 else join_phrases(names)
        leaders = tuple(Rank(listed[0].id, facts.name(listed[0]), 1, (c,)) for c, listed in facts.lists.items())
        return Sentence(f"Top {shown} by {facts.metric}", leaders), fallback
    if facts.spec.scores and execution.top and facts.edges:
        noun = join_phrases(list(facts.scope)) if facts.scope else "vertices"
        text = f"Top {format_count(len(execution.top))} {noun} by {facts.metric}"
        return Sentence(text, (CollectionMix(len(execution.top), top_mix(execution.top), facts.scope),)), fallback
    collections = join_phrases(list(facts.template.vertex_collections))
    text = f"{facts.spec.title} of {collections} in {execution.graph_name}" if collections else fallback
    return Sentence(text), fallback


def summary_sentences(facts: Facts) -> list[Sentence]:
    execution = facts.execution
    collections = join_phrases(list(facts.template.vertex_collections))
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
    elif facts.spec.kind == "overlap" and execution.top_pairs:
        sentences.append(pair_sentence(facts, execution.top_pairs[0]))
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


def _outranked(facts: Facts, leader: RankedVertex, dist: Distribution) -> Sentence:
    others = [c for c in facts.template.vertex_collections if c not in facts.scope]
    lists = "lists are" if len(facts.lists) > 1 else "list is"
    return Sentence(
        f"The {lists} limited to {join_phrases(list(facts.scope))}: vertices of {join_phrases(others)} rank "
        f"higher, up to {format_value(dist.max)} across all analysed vertices.",
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
            parts.append(f"{spec.title} followed edge direction on {join_phrases(directed)}")
        if undirected:
            verb = "was" if len(undirected) == 1 else "were"
            parts.append(f"{join_phrases(undirected)} {verb} read as undirected")
        text = "; ".join(parts)
    else:
        text = f"{spec.title} ignored edge direction on {join_phrases(collections)}"
    if not weights:
        return f"{text}; weights: none."
    meaning = _WEIGHT_MEANING.get(spec.name)
    if spec.name == "degree" and not execution.params.get("weighted"):
        meaning = None
    if meaning is None:
        return f"{text}; weights ({join_phrases(weights)}) do not apply to {spec.title.lower()}."
    return f"{text}; weights: {join_phrases(weights)}, read {meaning}."


def constraints_applied_lines(constraints: list[OutputConstraint], namer: Namer) -> list[str]:
    applied = []
    for c in constraints:
        if c.kind == "no_names":
            scope = join_phrases(sorted(namer.hidden)) if not namer.everything else "every collection"
            applied.append(f"{c.id} no_names: vertices of {scope} shown as pseudonyms")
        elif c.kind == "max_items" and max_items([c]) is not None:
            applied.append(f"{c.id} max_items: lists show at most {max_items([c])} entries")
        elif wants_csv([c]):
            applied.append(f"{c.id} format csv: per-vertex results exported as CSV")
        else:
            written = "reports are written in English as Markdown, JSON and HTML"
            applied.append(f"{c.id} {c.kind} {c.value}: not applied, {written}")
    return applied
