"""Leiden communities (Traag, Waltman and van Eck 2019), compiled: modularity with a resolution on the
undirected view (weights as strengths, like Louvain), every community connected.

Each level moves vertices with a queue (only the neighbours of a vertex that moved are looked at again),
then refines every community into subcommunities merged only along ties inside it, and aggregates the
graph on the refined partition, each aggregate vertex starting in its unrefined community. Every aggregate
vertex is thus one connected piece of the graph, and an iteration ends at the level where every community
is a single aggregate vertex: every community is connected. The first level graph and the aggregation are
the Louvain's (``communities.community_graph``, ``aggregate_communities``).
"""

from __future__ import annotations

import numpy as np

from gaai.agents.execution.engine.communities import (
    aggregate_communities,
    best_neighbouring_community,
    community_graph,
)
from gaai.agents.execution.engine.compiled import kernel
from gaai.agents.execution.engine.components import join_sets, point_to_roots
from gaai.agents.execution.engine.output import AlgorithmOutput, renumber_by_size

REFINEMENT_RANDOMNESS = 0.01
"""The refinement joins a vertex to an eligible subcommunity with probability proportional to
``exp(gain / REFINEMENT_RANDOMNESS)``, the gain in tie weight: near the best one almost always (igraph's
default ``beta``)."""


def run_leiden(
    n: int,
    src: np.ndarray,
    dst: np.ndarray,
    weights: np.ndarray | None,
    resolution: float,
    iterations: int,
    seed: int,
) -> AlgorithmOutput:
    """Leiden on the undirected simple graph, or with ``weights`` on the tie list ``src``-``dst``
    (each tie once, weights > 0, from ``tie_list``), with the partition's modularity at resolution 1
    (None without edges).

    Runs up to ``iterations`` iterations, each starting from the partition the last one found, and
    stops early after one that changes nothing. ``iterations`` of the output is how many ran.
    Vertices, and at each level the refined communities, are numbered in orders drawn from ``seed``;
    the queue starts in that order and the refinement visits the vertices in it, so a seed fixes the
    result.
    """
    engine = "numba-leiden" if weights is None else "numba-leiden-weighted"
    rng = np.random.default_rng(seed)
    new_ids = rng.permutation(n).astype(src.dtype)
    # The first level graph is built for each iteration and for the modularity, and held by no one but the
    # iteration, which lets go of it once it has aggregated it: at 10^7 edges its entries are 8 B/edge, which
    # would otherwise stay beside the first coarse levels (as large, since refined communities are small).
    levels = [list(community_graph(n, src, dst, weights, new_ids))]
    total = float(levels[0][0][-1]) if weights is None else float(levels[0][3].sum())
    membership = np.arange(n, dtype=levels[0][1].dtype)
    if not total:
        return AlgorithmOutput(renumber_by_size(membership), 0, engine, None)
    ran = 0
    while ran < iterations:
        ran += 1
        first_level = levels.pop() if levels else list(community_graph(n, src, dst, weights, new_ids))
        found = _iterate(first_level, total, resolution, membership, rng)
        unchanged = _same_partition(found, membership)
        membership = found
        if unchanged:
            break
    indptr, indices, weights, strength = community_graph(n, src, dst, weights, new_ids)
    intra = _intra_weight(indptr, indices, weights, membership)
    group_strength = np.bincount(membership, weights=strength)
    modularity = float(intra / total - np.square(group_strength / total).sum())
    return AlgorithmOutput(renumber_by_size(membership[new_ids]), ran, engine, modularity)


def _iterate(
    first_level: list,
    total: float,
    resolution: float,
    membership: np.ndarray,
    rng: np.random.Generator,
) -> np.ndarray:
    """One Leiden iteration from ``membership`` on the first level graph ``[indptr, indices, weights, strength]``:
    the community of each vertex. The list is emptied, so the level is freed once aggregated."""
    indptr, indices, weights, strength = first_level
    first_level.clear()
    community = membership.copy()
    level_of = np.arange(community.size, dtype=indices.dtype)
    while True:
        _move_nodes_fast(indptr, indices, weights, strength, community, total, resolution)
        _, community = np.unique(community, return_inverse=True)
        community = community.astype(indices.dtype)
        groups = int(community.max()) + 1
        size = strength.size
        if groups == size:
            break
        refined = _refine(
            indptr,
            indices,
            weights,
            strength,
            community,
            np.bincount(community, weights=strength),
            total,
            resolution,
            REFINEMENT_RANDOMNESS,
            int(rng.integers(2**31)),
        )
        _, refined = np.unique(refined, return_inverse=True)
        subgroups = int(refined.max()) + 1
        if subgroups == size:
            # No merge in any community: aggregate on the connected pieces of the communities instead, so the
            # levels still shrink and every aggregate vertex stays one connected piece of the graph.
            _, refined = np.unique(connected_pieces(indptr, indices, community), return_inverse=True)
            subgroups = int(refined.max()) + 1
            if subgroups == size:
                # No two vertices of a community are tied: each vertex is its own community.
                community = np.arange(size, dtype=indices.dtype)
                break
        refined = rng.permutation(subgroups).astype(indices.dtype)[refined]
        next_community = np.empty(subgroups, dtype=indices.dtype)
        next_community[refined] = community
        level_of = refined[level_of]
        indptr, indices, strength, coarse_weights = aggregate_communities(
            indptr, indices, weights, strength, refined, subgroups
        )
        if weights is not None:
            weights = coarse_weights
        community = next_community
    return community[level_of]


def _same_partition(first: np.ndarray, second: np.ndarray) -> bool:
    pairs = np.unique(first.astype(np.int64) * first.size + second)
    return pairs.size == np.unique(first).size == np.unique(second).size


@kernel
def _move_nodes_fast(indptr, indices, weights, strength, community, total, resolution):
    """Leiden's fast local moving, in place on ``community``; returns the moves made.

    A queue holds every vertex, in id order; a vertex taken from it joins the community with the
    largest modularity gain (at ``resolution``): a neighbouring one, or an empty one when leaving
    its own gains more than every other choice, the lowest id among equal gains. When it moves, its
    neighbours outside its new community join the queue unless they wait there already. Every move
    raises modularity, so the queue empties. ``weights`` None: every entry counts 1.
    """
    n = strength.size
    community_strength = np.zeros(n)
    members = np.zeros(n, dtype=np.int64)
    for v in range(n):
        community_strength[community[v]] += strength[v]
        members[community[v]] += 1
    empty = np.empty(n, dtype=indices.dtype)
    empties = 0
    for c in range(n):
        if members[c] == 0:
            empty[empties] = c
            empties += 1
    queue = np.arange(n).astype(indices.dtype)
    queued = np.ones(n, dtype=np.bool_)
    head, waiting = 0, n
    link = np.zeros(n)
    candidates = np.empty(n, dtype=indices.dtype)
    per_strength = resolution / total
    moves = 0
    while waiting:
        v = queue[head]
        head = head + 1 if head + 1 < n else 0
        waiting -= 1
        queued[v] = False
        own = community[v]
        k = strength[v]
        best, best_gain, _ = best_neighbouring_community(
            v, k, indptr, indices, weights, community, community_strength, per_strength, link, candidates
        )
        if best_gain < 0.0 and members[own] > 1:
            empties -= 1
            best = empty[empties]
        community_strength[best] += k
        if best != own:
            members[own] -= 1
            if members[own] == 0:
                empty[empties] = own
                empties += 1
            members[best] += 1
            community[v] = best
            moves += 1
            for j in range(indptr[v], indptr[v + 1]):
                u = indices[j]
                if not queued[u] and community[u] != best:
                    queued[u] = True
                    tail = head + waiting
                    queue[tail if tail < n else tail - n] = u
                    waiting += 1
    return moves


@kernel
def _refine(indptr, indices, weights, strength, community, community_strength, total, resolution, randomness, seed):
    """Leiden's refinement: subcommunities of every community, as the id of a member of each.

    Every vertex starts alone. Visited in id order, a vertex still alone and well connected to the
    rest of its community ``S`` (tie weight to it at least ``resolution / total * k * (K_S - k)``, where
    ``k`` is the vertex's strength and ``K_S`` the community's) joins a subcommunity ``T`` of ``S`` it has
    ties to, one itself well connected to the rest of ``S``, drawn with probability proportional to
    ``exp(gain / randomness)`` among those whose modularity gain ``link(v, T) - resolution / total * k
    * K_T`` is >= 0, staying alone (gain 0) included. A subcommunity is thus joined only along a tie,
    so each one is connected.
    """
    np.random.seed(seed)
    n = strength.size
    refined = np.arange(n).astype(indices.dtype)
    subgroup_strength = strength.copy()
    # Tie weight from each subcommunity to the rest of its community.
    outward = np.zeros(n)
    for v in range(n):
        for j in range(indptr[v], indptr[v + 1]):
            if community[indices[j]] == community[v]:
                outward[v] += 1.0 if weights is None else weights[j]
    joined = np.zeros(n, dtype=np.bool_)
    link = np.zeros(n)
    candidates = np.empty(n, dtype=indices.dtype)
    gains = np.empty(n)
    per_strength = resolution / total
    for v in range(n):
        if joined[v]:
            continue
        own_community = community[v]
        whole = community_strength[own_community]
        k = strength[v]
        if outward[v] < per_strength * k * (whole - k):
            continue
        count = 0
        for j in range(indptr[v], indptr[v + 1]):
            u = indices[j]
            if community[u] != own_community:
                continue
            c = refined[u]
            if link[c] == 0.0:
                candidates[count] = c
                count += 1
            link[c] += 1.0 if weights is None else weights[j]
        best_gain = 0.0
        for t in range(count):
            c = candidates[t]
            part = subgroup_strength[c]
            gains[t] = -1.0
            if outward[c] >= per_strength * part * (whole - part):
                gains[t] = link[c] - per_strength * k * part
                best_gain = max(best_gain, gains[t])
        # Staying alone gains 0; weights relative to the best gain cannot overflow.
        mass = np.exp(-best_gain / randomness)
        for t in range(count):
            if gains[t] >= 0.0:
                mass += np.exp((gains[t] - best_gain) / randomness)
        draw = np.random.random() * mass - np.exp(-best_gain / randomness)
        chosen = v
        if draw >= 0.0:
            for t in range(count):
                if gains[t] >= 0.0:
                    chosen = candidates[t]
                    draw -= np.exp((gains[t] - best_gain) / randomness)
                    if draw < 0.0:
                        break
        if chosen != v:
            refined[v] = chosen
            subgroup_strength[chosen] += k
            outward[chosen] += outward[v] - 2.0 * link[chosen]
            joined[chosen] = True
        for t in range(count):
            link[candidates[t]] = 0.0
    return refined


@kernel
def connected_pieces(indptr, indices, community):
    """A representative vertex per vertex: two vertices share one when ties inside their community join them."""
    parent = np.arange(community.size)
    for v in range(community.size):
        for j in range(indptr[v], indptr[v + 1]):
            u = indices[j]
            if community[u] == community[v]:
                join_sets(parent, v, u)
    point_to_roots(parent)
    return parent


@kernel
def _intra_weight(indptr, indices, weights, membership):
    """Total weight of the entries whose two ends share a community (each tie counted from both ends)."""
    intra = 0.0
    for v in range(membership.size):
        for j in range(indptr[v], indptr[v + 1]):
            if membership[indices[j]] == membership[v]:
                intra += 1.0 if weights is None else weights[j]
    return intra
