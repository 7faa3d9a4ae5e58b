"""What every algorithm returns (``AlgorithmOutput``) and the group numbering shared by components and communities."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class VertexPairs:
    """Vertex pairs an overlap algorithm found: ``first[i]`` and ``second[i]`` share ``shared[i]``
    vertices, and ``score[i]`` is their Jaccard similarity (shared over combined). Each vertex's
    best partners come first in its run; a pair appears from each end that keeps it."""

    first: np.ndarray
    second: np.ndarray
    shared: np.ndarray
    score: np.ndarray


@dataclass(frozen=True)
class AlgorithmOutput:
    """What one run computed.

    Attributes:
        values: float64 score per vertex (centralities) or int64 group id per vertex
            (components, communities; 0 is the largest group).
        iterations: rounds the algorithm ran, when it iterates (PageRank, label propagation).
        engine: which implementation produced the values, e.g. ``"scipy"`` or
            ``"numba-sampled(256)"``.
        modularity: the standard (resolution 1) modularity of a community partition on the
            undirected simple graph, weighted when weights were given; ``None`` for other
            algorithms or a graph without edges (or without weight).
        pairs: for overlap algorithms (similarity, co-occurrence), each vertex's best partners.
        hubs: for HITS, each vertex's hub score (``values`` holds the authority scores).
    """

    values: np.ndarray
    iterations: int | None
    engine: str
    modularity: float | None = None
    pairs: VertexPairs | None = None
    hubs: np.ndarray | None = None


def renumber_by_size(labels: np.ndarray) -> np.ndarray:
    """Group ids 0..k-1 by decreasing size; equal sizes ordered by their lowest vertex."""
    _, first, inverse = np.unique(labels, return_index=True, return_inverse=True)
    sizes = np.bincount(inverse)
    order = np.lexsort((first, -sizes))
    rank = np.empty_like(order)
    rank[order] = np.arange(order.size)
    return rank[inverse].astype(np.int64)
