"""Overlap reports: the pairs sharing most, worded with their claims, and the re-derivation that checks them.

``draft_overlap_insights`` words the execution's ``top_pairs`` (similarity: common neighbours;
co-occurrence: members reached by both) and, for co-occurrence, which vertices reach the most
members. ``rederive_overlaps`` recounts each named pair from the graph's edges with plain
set operations, independently of the engine's sparse products, so a ``PairOverlap`` claim is
checked against the stored graph rather than against the number it states.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from gaai.agents.reporting.claims import PairOverlap, Rank, Sentence, VertexValue, scope_phrase
from gaai.agents.reporting.facts import DraftInsight, Facts, draft_insight
from gaai.agents.reporting.wording import format_count, format_ratio, join_phrases, plural
from gaai.bus.domain import AlgorithmPattern, VertexPair
from gaai.store import GraphArrays

# Pairs worded in the insight.
SHOWN_PAIRS = 5


def draft_overlap_insights(facts: Facts, pattern: AlgorithmPattern) -> list[DraftInsight]:
    execution = facts.execution
    pairs = execution.top_pairs[:SHOWN_PAIRS]
    insights = []
    if pairs:
        insights.append(_pairs_insight(facts, pattern, pairs))
    if facts.spec.name == "co_occurrence":
        insights += [_reach_insight(facts, collection, listed) for collection, listed in facts.lists.items()]
    return insights


def shared_noun(facts: Facts) -> str:
    """What a pair shares: ``customers`` (co-occurrence's members), or ``neighbours``."""
    if facts.spec.name == "co_occurrence":
        return str(facts.execution.params.get("members") or "members")
    return "neighbours"


def compared_phrase(facts: Facts) -> str:
    return join_phrases(list(facts.template.focus_collections)) or "vertices"


def pair_sentence(facts: Facts, pair: VertexPair) -> Sentence:
    first = facts.namer.name(pair.first_id, pair.first_label)
    second = facts.namer.name(pair.second_id, pair.second_label)
    combined = round(pair.shared / pair.score) if pair.score > 0 else 0
    return Sentence(
        f"{first} and {second} share {format_count(pair.shared)} {shared_noun(facts)} "
        f"(Jaccard {format_ratio(pair.score)}: {format_count(pair.shared)} of the {format_count(combined)} "
        f"{shared_noun(facts)} of either).",
        (PairOverlap(pair.first_id, first, pair.second_id, second, pair.shared, pair.score),),
    )


def _pairs_insight(facts: Facts, pattern: AlgorithmPattern, pairs: list[VertexPair]) -> DraftInsight:
    noun = shared_noun(facts)
    if facts.spec.name == "co_occurrence":
        title = f"The {compared_phrase(facts)} sharing the most {noun}"
        how = (
            f"A {noun.removesuffix('s')} counts for one of the {compared_phrase(facts)} when tied to it directly or "
            f"through one vertex of another collection, along {facts.edge_names()}."
        )
    else:
        title = f"The most similar {compared_phrase(facts)}"
        how = f"Similarity is Jaccard over neighbours in {facts.edge_names()}, read without direction."
    body = [pair_sentence(facts, pair) for pair in pairs]
    if pattern.meaning:
        body.append(Sentence(f"{how} {pattern.meaning.rstrip('.')}."))
    else:
        body.append(Sentence(how))
    return draft_insight(
        title,
        body,
        0.85 * facts.size_factor,
        {"pairs_listed": float(len(pairs)), "top_shared": float(pairs[0].shared), "top_jaccard": pairs[0].score},
    )


def _reach_insight(facts: Facts, collection: str, listed: list) -> DraftInsight:
    noun = shared_noun(facts)
    leaders = listed[:3]
    parts, claims = [], []
    for rank, vertex in enumerate(leaders, start=1):
        name = facts.name(vertex)
        parts.append(f"{name} ({plural(int(vertex.value), noun.removesuffix('s'), noun)})")
        claims += [Rank(vertex.id, name, rank, (collection,)), VertexValue(vertex.id, vertex.value)]
    return draft_insight(
        f"The {collection} reaching the most {noun}",
        [Sentence(f"First {scope_phrase((collection,))}: {join_phrases(parts)}.", tuple(claims))],
        0.8 * facts.size_factor,
        {"leader_reach": float(leaders[0].value)} if leaders else {},
    )


def rederive_overlaps(
    arrays: GraphArrays, algorithm: str, params: dict, focus: Iterable[str], pairs: Iterable[tuple[str, str]]
) -> dict[tuple[str, str], tuple[int, int]]:
    """``(shared, combined)`` per pair of vertex ids, counted from the loaded edges with Python sets.

    Similarity shares neighbours (the undirected simple graph); co-occurrence shares the vertices
    of the ``members`` collection tied to the vertex directly or (``hops`` 2) through one vertex
    outside both the focus and the members collections.
    """
    wanted = list(dict.fromkeys(pairs))
    if not wanted:
        return {}
    collection = arrays.collection_index(np.arange(arrays.num_vertices))
    ids = arrays.vertex_ids(np.arange(arrays.num_vertices))
    position = {vertex_id: i for i, vertex_id in enumerate(ids)}
    # Every tie from both ends, grouped by vertex with one sort; sets are built only for the vertices asked about.
    apart = arrays.src != arrays.dst
    ends = np.concatenate([arrays.src[apart], arrays.dst[apart]]).astype(np.int64)
    others = np.concatenate([arrays.dst[apart], arrays.src[apart]]).astype(np.int64)
    order = np.argsort(ends, kind="stable")
    ends, others = ends[order], others[order]
    starts = np.searchsorted(ends, np.arange(arrays.num_vertices + 1))

    def neighbours_of(vertex: int) -> set[int]:
        return set(others[starts[vertex] : starts[vertex + 1]].tolist())

    if algorithm == "co_occurrence":
        members_at = (
            arrays.collections.index(str(params["members"])) if params.get("members") in arrays.collections else -1
        )
        focus_at = {arrays.collections.index(name) for name in focus if name in arrays.collections}

        def reached(vertex: int) -> set[int]:
            near = neighbours_of(vertex)
            found = {v for v in near if collection[v] == members_at}
            if int(params.get("hops", 2)) == 2:
                for x in near:
                    if collection[x] != members_at and collection[x] not in focus_at:
                        found |= {v for v in neighbours_of(x) if collection[v] == members_at}
            return found
    else:
        reached = neighbours_of

    counted = {}
    for first_id, second_id in wanted:
        if first_id not in position or second_id not in position:
            continue
        first, second = reached(position[first_id]), reached(position[second_id])
        counted[(first_id, second_id)] = (len(first & second), len(first | second))
    return counted
