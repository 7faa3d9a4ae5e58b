"""Overlap: node similarity (Jaccard top-k per vertex) and co-occurrence (what a bipartite projection shares).

Both read the undirected simple graph (no self-loops, each tie once, direction and weights
ignored) as one sparse 0/1 matrix ``A`` and count shared vertices with one sparse product.

* Similarity: two target vertices share their common neighbours; Jaccard is shared over the
  union of their neighbour sets, as networkx's ``jaccard_coefficient`` on a ``Graph``. The work
  is the number of paths ``a - x - b`` between targets, so a neighbour tied to ``d`` targets
  costs ``d²``.
* Co-occurrence: a member (e.g. a customer) reaches a target (e.g. a category) when they are
  tied (``hops=1``) or tied through one vertex that is neither a member nor a target, such as a
  product (``hops=2``). Two targets share the members reaching both: ``R^T R`` where ``R`` is the
  member × target reach matrix. Its diagonal is each target's members reached.

Both first count the pairs the product will examine and stop with a ``bad_params`` error
above ``max_work``, so a question on a graph with huge hubs fails clearly instead of
exhausting the worker's memory. Each target keeps its ``top_k`` partners: by Jaccard then
shared count for similarity, by shared count then Jaccard for co-occurrence, then by lower
vertex index.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from gaai.agents.execution.engine.graph_views import simple_graph
from gaai.agents.execution.engine.output import AlgorithmOutput, VertexPairs
from gaai.bus.errors import TaskError


def run_similarity(
    n: int, src: np.ndarray, dst: np.ndarray, targets: np.ndarray | None, top_k: int, max_work: int
) -> AlgorithmOutput:
    """Per vertex, its best Jaccard similarity to another target (0 without one); the pairs as ``VertexPairs``."""
    ties = _pattern(n, src, dst)
    chosen = np.arange(n) if targets is None else np.flatnonzero(targets)
    if chosen.size == 0:
        raise TaskError("bad_params", "similarity has no vertices to compare: the focus collections hold none")
    rows = ties[chosen]
    # Each neighbour shared by d compared vertices puts d² entries into the product.
    _check_work("similarity", np.asarray(rows.sum(axis=0)).ravel(), max_work, "neighbour")
    shared = (rows @ rows.T).tocoo()
    apart = shared.row != shared.col
    first, second, counts = shared.row[apart], shared.col[apart], shared.data[apart].astype(np.int64)
    degree = np.asarray(rows.sum(axis=1)).ravel().astype(np.int64)
    score = counts / (degree[first] + degree[second] - counts)
    keep = _top_per_row(first, second, -score, -counts, top_k)
    return _output(n, chosen, first[keep], second[keep], counts[keep], score[keep], score[keep], "scipy")


def run_co_occurrence(
    n: int,
    src: np.ndarray,
    dst: np.ndarray,
    targets: np.ndarray,
    members: np.ndarray,
    hops: int,
    top_k: int,
    max_work: int,
) -> AlgorithmOutput:
    """Per target, the members it reaches (0 for other vertices); target pairs and the members they share."""
    target_rows, member_rows = np.flatnonzero(targets), np.flatnonzero(members)
    if target_rows.size == 0 or member_rows.size == 0:
        raise TaskError(
            "bad_params", "co_occurrence needs vertices in both the focus collections and the members collection"
        )
    ties = _pattern(n, src, dst)
    from_members = ties[member_rows]
    reach = from_members[:, target_rows]
    if hops == 2:
        between = np.flatnonzero(~(targets | members))
        reach = reach + from_members[:, between] @ ties[between][:, target_rows]
    reach = (reach > 0).astype(np.int64)
    _check_work("co_occurrence", np.asarray(reach.sum(axis=1)).ravel(), max_work, "member")
    shared = (reach.T @ reach).tocoo()
    audience = np.asarray(reach.sum(axis=0)).ravel().astype(np.int64)
    apart = shared.row != shared.col
    first, second, counts = shared.row[apart], shared.col[apart], shared.data[apart].astype(np.int64)
    score = counts / (audience[first] + audience[second] - counts)
    keep = _top_per_row(first, second, -counts, -score, top_k)
    values = np.zeros(n)
    values[target_rows] = audience
    pairs = _output(n, target_rows, first[keep], second[keep], counts[keep], score[keep], None, "scipy").pairs
    return AlgorithmOutput(values, None, "scipy", pairs=pairs)


def _check_work(algorithm: str, fan_out: np.ndarray, max_work: int, what: str) -> None:
    """Stop before a product that would examine more than ``max_work`` pairs (each of ``fan_out`` squared)."""
    work = int(np.dot(fan_out.astype(np.float64), fan_out.astype(np.float64)))
    if work > max_work:
        raise TaskError(
            "bad_params",
            f"{algorithm} would examine {work:,} vertex pairs, over {algorithm}.max_work={max_work:,} (a {what} tied "
            f"to up to {int(fan_out.max()):,} compared vertices); narrow the compared collections or raise max_work",
        )


def _pattern(n: int, src: np.ndarray, dst: np.ndarray) -> sp.csr_array:
    indptr, indices = simple_graph(n, src, dst, both_ways=True)
    return sp.csr_array((np.ones(indices.size, dtype=np.int64), indices, indptr), shape=(n, n))


def _top_per_row(first: np.ndarray, second: np.ndarray, key1: np.ndarray, key2: np.ndarray, k: int) -> np.ndarray:
    """Positions of each row's ``k`` best entries by ``key1``, ``key2``, then lower partner, rows in order."""
    order = np.lexsort((second, key2, key1, first))
    rows = first[order]
    starts = np.flatnonzero(np.diff(rows, prepend=-1))
    rank = np.arange(rows.size) - np.repeat(starts, np.diff(np.append(starts, rows.size)))
    return order[rank < k]


def _output(
    n: int,
    chosen: np.ndarray,
    first: np.ndarray,
    second: np.ndarray,
    shared: np.ndarray,
    score: np.ndarray,
    best: np.ndarray | None,
    engine: str,
) -> AlgorithmOutput:
    values = np.zeros(n)
    if best is not None:
        np.maximum.at(values, chosen[first], best)
    pairs = VertexPairs(chosen[first].astype(np.int64), chosen[second].astype(np.int64), shared, score.astype(float))
    return AlgorithmOutput(values, None, engine, pairs=pairs)
