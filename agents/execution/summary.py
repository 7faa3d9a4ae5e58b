"""Result summaries: the few numbers a report needs, computed from per-vertex values.

Centralities (PageRank, betweenness) become a top-k list, each collection's own top-k and a
``Distribution``;
components and communities become ``GroupStats`` and a list of the largest groups, each
named after its member with the highest ``member_scores`` (e.g. ties inside the group). All
work is vectorised over the value array (bincount, partition, one sort for the Gini
coefficient), so a million vertices take well under a second; only the top-k vertices'
ids and labels are looked up.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from gaai.agents.lib.algorithms import algorithm_spec
from gaai.bus.domain import Distribution, GroupStats, RankedVertex, VertexPair

if TYPE_CHECKING:
    # Only for the annotation: importing the engine package loads numba, which the reporting agent never needs.
    from gaai.agents.execution.engine.output import VertexPairs

__all__ = ["TOP_GROUP_SIZES", "SummaryParts", "gini", "summarize_values", "top_indices", "top_pairs"]

# How many group sizes GroupStats.top_sizes lists.
TOP_GROUP_SIZES = 10


@dataclass(frozen=True)
class SummaryParts:
    """The summary fields of an ``ExecutionSummary``.

    Attributes:
        top: the top-k vertices (centralities) or the largest groups (components and
            communities, as ``"component/<id>"`` / ``"community/<id>"`` with the size as value,
            labelled with their most central member's label).
        distribution: how a centrality's values spread; ``None`` for groups.
        groups: group sizes; ``None`` for centralities.
        by_collection: for centralities, how many of the top-k come from each collection;
            for groups, how many vertices of the largest group each collection holds.
            Collections with zero are left out.
        focus_distribution: for a centrality with a focus, the distribution over the focus alone.
        top_by_collection: for centralities, each collection's own top-k, largest first.
    """

    top: list[RankedVertex]
    distribution: Distribution | None
    groups: GroupStats | None
    by_collection: dict[str, int]
    focus_distribution: Distribution | None = None
    top_by_collection: dict[str, list[RankedVertex]] = field(default_factory=dict)


def summarize_values(
    algorithm: str,
    values: np.ndarray,
    labels_for: Callable[[np.ndarray], list[str]],
    ids_for: Callable[[np.ndarray], list[str]],
    collection_index: np.ndarray,
    collections: list[str],
    top_k: int = 10,
    *,
    modularity: float | None = None,
    focus: np.ndarray | None = None,
    member_scores: np.ndarray | None = None,
) -> SummaryParts:
    """Summarise one algorithm's per-vertex values.

    Args:
        algorithm: catalog name; its kind decides between centrality and group summaries.
        values: per-vertex scores (centralities) or group ids ``0..k-1`` (groups).
        labels_for: display labels of the given vertex indices.
        ids_for: document ids of the given vertex indices.
        collection_index: per vertex, the index of its collection in ``collections``.
        collections: collection names.
        top_k: how many vertices (or groups) to list.
        modularity: the partition's modularity, passed through into ``GroupStats``.
        focus: for centralities, the vertex indices the top list is drawn from (the
            collections a use case is about); the distribution still covers every vertex.
        member_scores: for groups, per-vertex centrality inside its group; a group is
            labelled with its highest-scoring member (equal scores: lower index). Without
            it groups are listed unlabelled.

    Returns:
        The top list, distribution or group statistics, and the per-collection counts.
    """
    values = np.asarray(values)
    if values.size == 0:
        return SummaryParts([], None, None, {})
    if algorithm_spec(algorithm).scores:
        return _centrality(
            values.astype(np.float64, copy=False), labels_for, ids_for, collection_index, collections, top_k, focus
        )
    prefix = "component" if algorithm_spec(algorithm).kind == "connectivity" else "community"
    groups = values.astype(np.int64, copy=False)
    return _groups(groups, prefix, labels_for, collection_index, collections, top_k, modularity, member_scores)


def top_pairs(
    pairs: VertexPairs | None,
    labels_for: Callable[[np.ndarray], list[str]],
    ids_for: Callable[[np.ndarray], list[str]],
    top_k: int = 10,
    *,
    by_shared: bool,
) -> list[VertexPair]:
    """The ``top_k`` pairs, each once: by shared count then Jaccard (``by_shared``) or the reverse,
    then by the lower vertex indices."""
    if pairs is None or pairs.first.size == 0:
        return []
    # A pair kept from both ends is listed twice; keep it once, lower index first.
    low, high = np.minimum(pairs.first, pairs.second), np.maximum(pairs.first, pairs.second)
    _, once = np.unique(np.stack([low, high]), axis=1, return_index=True)
    first, second, shared, score = low[once], high[once], pairs.shared[once], pairs.score[once]
    keys = (second, first, -score, -shared) if by_shared else (second, first, -shared, -score)
    chosen = np.lexsort(keys)[:top_k]
    a, b = first[chosen], second[chosen]
    return [
        VertexPair(
            first_id=first_id,
            second_id=second_id,
            shared=int(count),
            score=float(value),
            first_label=first_label,
            second_label=second_label,
        )
        for first_id, second_id, count, value, first_label, second_label in zip(
            ids_for(a), ids_for(b), shared[chosen], score[chosen], labels_for(a), labels_for(b), strict=True
        )
    ]


def top_indices(values: np.ndarray, k: int) -> np.ndarray:
    """Indices of the ``k`` largest values, largest first; equal values by lower index.

    Linear time: a partition finds the threshold, and only the values at or above it are
    sorted.
    """
    k = min(k, values.size)
    if k <= 0:
        return np.empty(0, dtype=np.int64)
    threshold = np.partition(values, values.size - k)[values.size - k]
    above = np.flatnonzero(values > threshold)
    # flatnonzero lists indices in order, so the lowest-indexed ties fill the last places.
    at = np.flatnonzero(values == threshold)[: k - above.size]
    chosen = np.concatenate((above, at))
    return chosen[np.lexsort((chosen, -values[chosen]))]


def gini(values: np.ndarray) -> float:
    """Gini coefficient of non-negative values: 0 when all are equal, near 1 when one holds all."""
    total = values.sum()
    if values.size == 0 or total <= 0:
        return 0.0
    ordered = np.sort(values)
    n = values.size
    weights = np.arange(1, n + 1, dtype=np.float64)
    return float(2.0 * np.dot(weights, ordered) / (n * total) - (n + 1.0) / n)


def _centrality(
    values: np.ndarray,
    labels_for: Callable[[np.ndarray], list[str]],
    ids_for: Callable[[np.ndarray], list[str]],
    collection_index: np.ndarray,
    collections: list[str],
    top_k: int,
    focus: np.ndarray | None,
) -> SummaryParts:
    top = top_indices(values, top_k) if focus is None else focus[top_indices(values[focus], top_k)]
    focused = _distribution(values[focus]) if focus is not None and focus.size else None
    return SummaryParts(
        _ranked(top, values, labels_for, ids_for),
        _distribution(values),
        None,
        _count_by_collection(collection_index[top], collections),
        focused,
        _top_by_collection(values, labels_for, ids_for, collection_index, collections, top_k),
    )


def _ranked(
    rows: np.ndarray,
    values: np.ndarray,
    labels_for: Callable[[np.ndarray], list[str]],
    ids_for: Callable[[np.ndarray], list[str]],
) -> list[RankedVertex]:
    return [
        RankedVertex(id=vertex_id, value=float(value), label=label)
        for vertex_id, value, label in zip(ids_for(rows), values[rows], labels_for(rows), strict=True)
    ]


def _top_by_collection(
    values: np.ndarray,
    labels_for: Callable[[np.ndarray], list[str]],
    ids_for: Callable[[np.ndarray], list[str]],
    collection_index: np.ndarray,
    collections: list[str],
    top_k: int,
) -> dict[str, list[RankedVertex]]:
    """Each collection's top-k by value; equal values by lower index, as in ``top_indices``.

    One stable sort by (collection, descending value) puts every collection's leaders at
    the start of its run, so the work is one sort whatever the number of collections.
    """
    order = np.lexsort((np.arange(values.size), -values, collection_index))
    starts = np.searchsorted(collection_index[order], np.arange(len(collections)), side="left")
    ends = np.searchsorted(collection_index[order], np.arange(len(collections)), side="right")
    return {
        name: _ranked(order[start : min(end, start + top_k)], values, labels_for, ids_for)
        for name, start, end in zip(collections, starts.tolist(), ends.tolist(), strict=True)
        if end > start
    }


def _distribution(values: np.ndarray) -> Distribution:
    n = values.size
    median, p90, p99 = np.percentile(values, [50, 90, 99])
    total = values.sum()
    # The top 1 % is at least one vertex, so small graphs still report their leader's share.
    top_count = max(1, int(np.ceil(n * 0.01)))
    top_sum = np.partition(values, n - top_count)[n - top_count :].sum()
    return Distribution(
        count=int(n),
        min=float(values.min()),
        max=float(values.max()),
        mean=float(values.mean()),
        median=float(median),
        p90=float(p90),
        p99=float(p99),
        std=float(values.std()),
        top_1pct_share=float(top_sum / total) if total > 0 else 0.0,
        gini=gini(values),
    )


def _groups(
    groups: np.ndarray,
    prefix: str,
    labels_for: Callable[[np.ndarray], list[str]],
    collection_index: np.ndarray,
    collections: list[str],
    top_k: int,
    modularity: float | None,
    member_scores: np.ndarray | None,
) -> SummaryParts:
    n = groups.size
    sizes = np.bincount(groups)
    # Ids come renumbered by size from the engine, but rank by size here anyway so the
    # summary never depends on that convention.
    order = np.lexsort((np.arange(sizes.size), -sizes))
    order = order[sizes[order] > 0]
    shown = order[:top_k]
    if member_scores is None:
        samples = [""] * shown.size
    else:
        scores = np.asarray(member_scores, dtype=np.float64)
        members = (np.flatnonzero(groups == g) for g in shown.tolist())
        leaders = [int(rows[top_indices(scores[rows], 1)][0]) for rows in members]
        samples = labels_for(np.array(leaders, dtype=np.int64))
    top = [
        RankedVertex(id=f"{prefix}/{gid}", value=float(sizes[gid]), label=label)
        for gid, label in zip(shown.tolist(), samples, strict=True)
    ]
    largest = int(order[0])
    stats = GroupStats(
        count=int(order.size),
        largest=int(sizes[largest]),
        largest_share=float(sizes[largest] / n),
        singletons=int(np.count_nonzero(sizes == 1)),
        top_sizes=sizes[order[:TOP_GROUP_SIZES]].astype(int).tolist(),
        modularity=modularity,
    )
    return SummaryParts(top, None, stats, _count_by_collection(collection_index[groups == largest], collections))


def _count_by_collection(indices: np.ndarray, collections: list[str]) -> dict[str, int]:
    counts = np.bincount(np.asarray(indices, dtype=np.int64), minlength=len(collections))
    return {name: int(count) for name, count in zip(collections, counts.tolist(), strict=True) if count}
