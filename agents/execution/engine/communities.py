"""Communities: label propagation (compiled, asynchronous, seeded) and Louvain (compiled, sequential),
and the modularity of a partition.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import numpy as np
import scipy.sparse as sp

from gaai.agents.execution.engine.compiled import kernel
from gaai.agents.execution.engine.graph_views import simple_graph, weighted_ties
from gaai.agents.execution.engine.output import AlgorithmOutput, renumber_by_size

# Entries (vertex, neighbour) handled at once where a step works per entry: the working
# set stays a few MB however large the graph, instead of several arrays per edge.
_BLOCK_ENTRIES = 1 << 16


def _row_blocks(indptr: np.ndarray, rows: np.ndarray, entries: int) -> Iterator[slice]:
    """Consecutive slices of ``rows`` whose rows hold about ``entries`` entries each (at least one row)."""
    ends = np.cumsum(indptr[rows + 1] - indptr[rows])
    cuts = np.searchsorted(ends, np.arange(entries, int(ends[-1]) if ends.size else 0, entries), side="right")
    bounds = np.unique(np.concatenate(([0], cuts, [rows.size])))
    for begin, end in itertools.pairwise(bounds):
        yield slice(int(begin), int(end))


# Louvain's local moving stops after a pass that raised modularity by less than this
# (Blondel et al.'s rule; their code stops at 1e-6): later passes move a few vertices each
# but cost as much as the first, for a gain in the fourth decimal (docs/BENCHMARKS.md,
# "Engine choices").
_LOUVAIN_MIN_PASS_GAIN = 1e-4


def partition_modularity(labels: np.ndarray, ties: sp.csr_array) -> float | None:
    """Newman modularity (resolution 1) of a partition of the undirected simple graph ``ties``.

    ``ties`` holds each tie in both its rows: bool values count each tie 1, float values are
    the ties' weights. ``None`` when the graph has no edges, where modularity is undefined.
    """
    weighted = ties.dtype != np.bool_
    total = float(ties.data.sum()) if weighted else ties.nnz
    if total == 0:
        return None
    n = labels.shape[0]
    row_lengths = np.diff(ties.indptr)
    intra = 0
    for block in _row_blocks(ties.indptr, np.arange(n), _BLOCK_ENTRIES):
        entries = slice(ties.indptr[block.start], ties.indptr[block.stop])
        inside = np.repeat(labels[block], row_lengths[block]) == labels[ties.indices[entries]]
        intra += ties.data[entries][inside].sum() if weighted else np.count_nonzero(inside)
    group_degree = np.bincount(labels, weights=ties.sum(axis=1) if weighted else row_lengths)
    return float(intra / total - np.square(group_degree / total).sum())


def run_label_propagation(ties: sp.csr_array, max_iterations: int, seed: int) -> AlgorithmOutput:
    """Asynchronous label propagation with Raghavan's stopping rule, compiled.

    Each round visits the vertices in a seeded random order; a vertex whose label is not among the most
    frequent labels of its neighbours (a neighbour counting with its tie's weight when ``ties`` holds
    weights rather than bools) takes one of those at once, drawn at random among equally frequent ones,
    and wakes its neighbours. A vertex looked at and found stable sleeps until a neighbour changes. Stops
    when a round changes nothing (every vertex is stable) or after ``max_iterations`` rounds.
    """
    n = ties.shape[0]
    labels = np.arange(n, dtype=np.int64)
    weights = ties.data.astype(np.float64) if ties.dtype != np.bool_ else np.ones(0)
    rounds = _propagate_labels(ties.indptr, ties.indices, weights, labels, max_iterations, seed)
    engine = "numba-lp" if ties.dtype == np.bool_ else "numba-lp-weighted"
    return AlgorithmOutput(renumber_by_size(labels), rounds, engine, partition_modularity(labels, ties))


_HASH_MULTIPLIER = 2654435761
"""Knuth's multiplicative hash: odd, so it maps distinct labels below ``_HASH_RANGE`` to distinct keys."""
_HASH_RANGE = 1 << 32


@kernel
def _propagate_labels(indptr, indices, weights, labels, max_iterations, seed):
    """Rewrites ``labels`` in place; returns the rounds run. ``weights`` empty: every tie counts 1."""
    n = labels.size
    weighted = weights.size > 0
    np.random.seed(seed)
    counts = np.zeros(n, dtype=np.float64)
    seen = np.empty(n, dtype=np.int64)
    awake = np.ones(n, dtype=np.bool_)
    order = np.arange(n)
    rounds = 0
    while rounds < max_iterations:
        rounds += 1
        np.random.shuffle(order)
        changed = 0
        for vertex in order:
            if not awake[vertex]:
                continue
            awake[vertex] = False
            start, end = indptr[vertex], indptr[vertex + 1]
            if start == end:
                continue
            distinct = 0
            for entry in range(start, end):
                label = labels[indices[entry]]
                if counts[label] == 0.0:
                    seen[distinct] = label
                    distinct += 1
                counts[label] += weights[entry] if weighted else 1.0
            top = 0.0
            for position in range(distinct):
                top = max(top, counts[seen[position]])
            own = counts[labels[vertex]]
            # Among equally frequent labels, the one whose salted hash is least: a uniform draw that does not
            # depend on the order in which the neighbours are listed.
            salt = np.random.randint(0, 1 << 31)
            chosen, least = labels[vertex], _HASH_RANGE
            for position in range(distinct):
                label = seen[position]
                if counts[label] == top:
                    key = ((label ^ salt) * _HASH_MULTIPLIER) % _HASH_RANGE
                    if key < least:
                        chosen, least = label, key
                counts[label] = 0.0
            if own < top:
                labels[vertex] = chosen
                changed += 1
                for entry in range(start, end):
                    awake[indices[entry]] = True
        if changed == 0:
            break
    return rounds


def run_louvain(
    n: int, src: np.ndarray, dst: np.ndarray, weights: np.ndarray | None, resolution: float, seed: int
) -> AlgorithmOutput:
    labels, modularity = _louvain_communities(n, src, dst, weights, resolution, np.random.default_rng(seed))
    engine = "numba-louvain" if weights is None else "numba-louvain-weighted"
    return AlgorithmOutput(renumber_by_size(labels), None, engine, modularity)


def _louvain_communities(
    n: int, src: np.ndarray, dst: np.ndarray, weights: np.ndarray | None, resolution: float, rng: np.random.Generator
) -> tuple[np.ndarray, float | None]:
    """Louvain (Blondel et al. 2008) on the undirected simple graph, or with ``weights`` on the
    tie list ``src``-``dst`` (each tie once, weights > 0, from ``tie_list``).

    Returns the community of each vertex and the partition's modularity at resolution 1
    (``None`` without edges). Each level moves vertices one at a time to the neighbouring
    community that raises modularity (at ``resolution``) the most, then merges every
    community into one vertex of the next level's graph. Stops at the first level where
    no vertex moves. Vertices, and then communities, are numbered in orders drawn from
    ``rng`` and visited in the order of their numbers, so each pass walks the rows front
    to back, which is faster per pass than visiting them in a random order.

    A coarse graph is a multigraph: a tie of weight w between two communities is w entries,
    not one entry and a weight. On a random graph the first levels merge about two vertices
    per community and hardly any ties coincide, so a weight array (4 bytes per entry) would
    cost more than the repeats it saves. Every weight is thus a count: the sums are exact,
    and a vertex's choice does not depend on the order of its row. The entries left at the
    last level are the level-0 entries between communities, which gives the modularity
    without keeping the level-0 graph. With weights, each entry carries its tie's weight
    instead, through every level.
    """
    new_ids = rng.permutation(n).astype(src.dtype)
    indptr, indices, weights, strength = community_graph(n, src, dst, weights, new_ids)
    total = float(indptr[-1]) if weights is None else float(weights.sum())
    labels = np.arange(n, dtype=indices.dtype)
    while total:
        community, moved = _move_vertices(indptr, indices, weights, strength, total, resolution, _LOUVAIN_MIN_PASS_GAIN)
        if not moved:
            break
        _, community = np.unique(community, return_inverse=True)
        groups = int(community.max()) + 1
        community = rng.permutation(groups).astype(indices.dtype)[community]
        labels = community[labels]
        # Rebinding frees the finer graph once the coarser one is built.
        indptr, indices, strength, coarse_weights = aggregate_communities(
            indptr, indices, weights, strength, community, groups
        )
        if weights is not None:
            weights = coarse_weights
    # ``labels`` is indexed by new id, and vertex v is new_ids[v].
    labels = labels[new_ids]
    if not total:
        return labels, None
    intra = total - (float(indptr[-1]) if weights is None else float(weights.sum()))
    return labels, float(intra / total - np.square(strength / total).sum())


def community_graph(
    n: int, src: np.ndarray, dst: np.ndarray, weights: np.ndarray | None, new_ids: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray]:
    """The first level of a multi-level community search: ``(indptr, indices, weights, strength)``.

    The undirected simple graph, or with ``weights`` the tie list ``src``-``dst`` (each tie once,
    weights > 0, from ``tie_list``), each tie in the rows of both its ends, vertex ``v`` numbered
    ``new_ids[v]``. ``weights`` is None without weights (every entry counts 1); ``strength`` is each
    vertex's weighted degree.
    """
    if weights is None:
        indptr, indices = simple_graph(n, src, dst, both_ways=True, new_ids=new_ids)
        return indptr, indices, None, np.diff(indptr).astype(np.float64)
    ties = weighted_ties(n, new_ids[src], new_ids[dst], weights)
    return ties.indptr.astype(np.int64), ties.indices.astype(src.dtype), ties.data, ties.sum(axis=1)


@kernel
def _move_vertices(indptr, indices, weights, strength, total, resolution, min_pass_gain):
    """Louvain's local moving on one level, from singletons: ``(community of each vertex, moved)``.

    A vertex ``v`` of strength ``k`` taken out of its community gains, by joining community
    ``c``, modularity ``2 / total * (link(v, c) - resolution * strength(c) * k / total)``.
    It joins the community with the largest gain if that beats going back to its own
    (``best_neighbouring_community``). Passes over the vertices, in id order, repeat until
    one moves no vertex or gains less than ``min_pass_gain``. Every move raises the
    (bounded) modularity, so with a symmetric graph the passes end.
    """
    n = strength.size
    community = np.arange(n).astype(indices.dtype)
    community_strength = strength.copy()
    link = np.zeros(n)
    candidates = np.empty(n, dtype=indices.dtype)
    per_strength = resolution / total
    moved = False
    while True:
        moves = 0
        pass_gain = 0.0
        for v in range(n):
            own = community[v]
            k = strength[v]
            best, best_gain, stay = best_neighbouring_community(
                v, k, indptr, indices, weights, community, community_strength, per_strength, link, candidates
            )
            community_strength[best] += k
            if best != own:
                community[v] = best
                moves += 1
                pass_gain += best_gain - stay
        moved = moved or moves > 0
        if moves == 0 or 2.0 * pass_gain / total < min_pass_gain:
            return community, moved


@kernel
def best_neighbouring_community(
    v, k, indptr, indices, weights, community, community_strength, per_strength, link, candidates
):
    """Takes vertex ``v``, of strength ``k``, out of its community (``community_strength`` loses ``k``) and finds
    where it gains most: ``(best, best_gain, stay)``. ``best`` is the neighbouring community with the largest gain,
    or ``v``'s own when none beats going back to it (gain ``stay``); the lowest community id among equal gains.

    Joining ``c`` gains ``link(v, c) - per_strength * strength(c) * k`` (modularity's change up to a positive
    factor), where ``link(v, c)`` counts ``v``'s entries into ``c`` (adds up their ``weights`` unless that is None;
    numba compiles the other branch away). ``link`` (zeros) and ``candidates`` are scratch arrays with a slot per
    community; ``link`` is given back as zeros.
    """
    own = community[v]
    count = 0
    for j in range(indptr[v], indptr[v + 1]):
        c = community[indices[j]]
        # Only a community not met yet in this row has no link.
        if link[c] == 0.0:
            candidates[count] = c
            count += 1
        if weights is None:
            link[c] += 1.0
        else:
            link[c] += weights[j]
    community_strength[own] -= k
    stay = link[own] - per_strength * community_strength[own] * k
    best, best_gain = own, stay
    for t in range(count):
        c = candidates[t]
        gain = link[c] - per_strength * community_strength[c] * k
        if gain > best_gain or (gain == best_gain and best != own and c < best):
            best, best_gain = c, gain
        link[c] = 0.0
    return best, best_gain, stay


@kernel
def aggregate_communities(indptr, indices, weights, strength, community, groups):
    """The next level's multigraph: ``(indptr, indices, strength, weights)`` with one vertex per community.

    ``community`` holds ``0..groups-1``. Row ``g`` lists, for every entry of every member of
    community ``g``, the community at its other end, unless that is ``g`` itself: a tie
    inside a community only ever counts through the community's strength (the sum of its
    members'). Each entry keeps its weight; without ``weights`` the returned weights are
    empty. Rows are sized in a first pass and filled in a second, so the arrays are
    allocated at their final size.
    """
    n = community.size
    first = np.zeros(groups + 1, dtype=np.int64)
    for v in range(n):
        first[community[v] + 1] += 1
    for g in range(groups):
        first[g + 1] += first[g]
    members = np.empty(n, dtype=indices.dtype)
    cursor = first[:-1].copy()
    coarse_strength = np.zeros(groups)
    for v in range(n):
        g = community[v]
        members[cursor[g]] = v
        cursor[g] += 1
        coarse_strength[g] += strength[v]
    coarse_indptr = np.zeros(groups + 1, dtype=np.int64)
    for g in range(groups):
        for t in range(first[g], first[g + 1]):
            v = members[t]
            for j in range(indptr[v], indptr[v + 1]):
                if community[indices[j]] != g:
                    coarse_indptr[g + 1] += 1
    for g in range(groups):
        coarse_indptr[g + 1] += coarse_indptr[g]
    coarse_indices = np.empty(coarse_indptr[groups], dtype=indices.dtype)
    coarse_weights = np.empty(0 if weights is None else coarse_indptr[groups])
    for g in range(groups):
        fill = coarse_indptr[g]
        for t in range(first[g], first[g + 1]):
            v = members[t]
            for j in range(indptr[v], indptr[v + 1]):
                h = community[indices[j]]
                if h != g:
                    coarse_indices[fill] = h
                    if weights is not None:
                        coarse_weights[fill] = weights[j]
                    fill += 1
    return coarse_indptr, coarse_indices, coarse_strength, coarse_weights
