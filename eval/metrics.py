"""Scores: partition agreement (NMI, ARI, purity), top-k overlap, set agreement and modularity.

Written with numpy alone so the suite's numbers do not depend on the library they are compared
with. NMI is normalised by the arithmetic mean of the two entropies, as scikit-learn's default.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping, Sequence

import numpy as np

__all__ = [
    "adjusted_rand_index",
    "jaccard",
    "modularity",
    "normalized_mutual_information",
    "purity",
    "top_k",
    "top_k_overlap",
]


def _contingency(truth: Sequence[Hashable], found: Sequence[Hashable]) -> np.ndarray:
    if len(truth) != len(found):
        raise ValueError(f"partitions of different lengths: {len(truth)} and {len(found)}")
    _, rows = np.unique(np.asarray(truth, dtype=object).astype(str), return_inverse=True)
    _, columns = np.unique(np.asarray(found, dtype=object).astype(str), return_inverse=True)
    table = np.zeros((rows.max(initial=-1) + 1, columns.max(initial=-1) + 1), dtype=np.int64)
    np.add.at(table, (rows, columns), 1)
    return table


def _entropy(counts: np.ndarray) -> float:
    p = counts[counts > 0] / counts.sum()
    return float(-(p * np.log(p)).sum())


def normalized_mutual_information(truth: Sequence[Hashable], found: Sequence[Hashable]) -> float:
    """NMI of two labelings of the same items: 1 when they agree up to renaming, 0 when independent.

    Two single-group labelings agree perfectly (1.0); one single group against a real split
    shares no information (0.0).
    """
    table = _contingency(truth, found)
    n = table.sum()
    if n == 0:
        raise ValueError("empty partitions")
    h_truth, h_found = _entropy(table.sum(axis=1)), _entropy(table.sum(axis=0))
    if h_truth == 0.0 and h_found == 0.0:
        return 1.0
    joint = table[table > 0] / n
    outer = np.outer(table.sum(axis=1), table.sum(axis=0))[table > 0] / (n * n)
    mutual = float((joint * np.log(joint / outer)).sum())
    return max(0.0, min(1.0, mutual / ((h_truth + h_found) / 2)))


def adjusted_rand_index(truth: Sequence[Hashable], found: Sequence[Hashable]) -> float:
    """ARI (Hubert and Arabie 1985): pair agreement corrected for chance; 1 identical, ~0 random."""
    table = _contingency(truth, found)
    n = int(table.sum())

    def pairs(x: np.ndarray) -> float:
        return float((x * (x - 1) // 2).sum())

    together = pairs(table)
    rows, columns = pairs(table.sum(axis=1)), pairs(table.sum(axis=0))
    total = n * (n - 1) / 2
    expected = rows * columns / total if total else 0.0
    maximum = (rows + columns) / 2
    if maximum == expected:
        return 1.0
    return (together - expected) / (maximum - expected)


def purity(truth: Sequence[Hashable], found: Sequence[Hashable]) -> float:
    """Share of items whose found group's majority truth label is their own."""
    table = _contingency(truth, found)
    return float(table.max(axis=0).sum() / table.sum())


def top_k(values: Mapping[str, float], k: int) -> list[str]:
    """The ``k`` keys with the largest values, largest first, ties by key."""
    return sorted(values, key=lambda key: (-values[key], key))[:k]


def top_k_overlap(found: Sequence[str], reference: Mapping[str, float], k: int) -> int:
    """How many of ``found``'s first ``k`` belong to the reference's top ``k``, ties included.

    A vertex counts when its reference value reaches the reference's k-th largest value
    (within a relative 1e-9), so a tie at the boundary is never scored as a miss.
    """
    k = min(k, len(reference))
    if k == 0:
        return 0
    threshold = sorted(reference.values(), reverse=True)[k - 1]
    slack = 1e-9 * max(1.0, abs(threshold))
    return sum(1 for vertex in found[:k] if reference.get(vertex, -np.inf) >= threshold - slack)


def jaccard(a: Iterable[Hashable], b: Iterable[Hashable]) -> float:
    """|a ∩ b| / |a ∪ b|; 1.0 for two empty sets."""
    a, b = set(a), set(b)
    return len(a & b) / len(a | b) if a | b else 1.0


def modularity(
    edges: Iterable[tuple[str, str, float]], groups: Mapping[str, Hashable], resolution: float = 1.0
) -> float:
    """Newman's modularity of a partition of an undirected weighted graph.

    ``edges`` lists each tie once as (u, v, weight); a self-loop counts its weight twice in
    its vertex's degree, as networkx does. Every endpoint must have a group.
    """
    inside: dict[Hashable, float] = {}
    degree: dict[Hashable, float] = {}
    total = 0.0
    for u, v, weight in edges:
        total += weight
        gu, gv = groups[u], groups[v]
        degree[gu] = degree.get(gu, 0.0) + weight
        degree[gv] = degree.get(gv, 0.0) + weight
        if gu == gv:
            inside[gu] = inside.get(gu, 0.0) + weight
    if total == 0:
        return 0.0
    return sum(inside.get(g, 0.0) / total - resolution * (d / (2 * total)) ** 2 for g, d in degree.items())
