"""HITS: hubs point to good authorities, authorities are pointed to by good hubs.

As networkx's ``hits`` on a ``DiGraph`` (``normalized=True``): the authorities are the
principal right singular vector of the adjacency matrix ``A`` and the hubs ``A · authorities``,
each scaled to sum to 1. Found by the power iteration ``a ← Aᵀh, h ← A·a`` (each step scaled
to sum 1) from uniform hubs, stopping when the L1 change of both vectors falls below
``tolerance``. It reads the directed graph (undirected ties both ways, self-loops kept);
without weights each edge counts once, with weights an entry is the edge's strength,
parallel edges adding up, as eigenvector centrality.
"""

from __future__ import annotations

import numpy as np

from gaai.agents.execution.engine.graph_views import strength_product
from gaai.agents.execution.engine.output import AlgorithmOutput
from gaai.bus.errors import TaskError


def run_hits(
    n: int, src: np.ndarray, dst: np.ndarray, weights: np.ndarray | None, max_iterations: int, tolerance: float
) -> AlgorithmOutput:
    """Authority scores as ``values``, hub scores as ``hubs``."""
    adjacency = strength_product(n, src, dst, weights)
    incoming = strength_product(n, dst, src, weights)
    engine = "numba" if weights is None else "scipy"
    hubs = np.full(n, 1.0 / n)
    authorities = np.zeros(n)
    for iteration in range(1, max_iterations + 1):
        next_authorities = incoming(hubs)
        total = next_authorities.sum()
        if total <= 0:
            # No edge with a positive strength: nobody points anywhere.
            return AlgorithmOutput(np.zeros(n), iteration, engine, hubs=np.zeros(n))
        next_authorities /= total
        next_hubs = adjacency(next_authorities)
        next_hubs /= next_hubs.sum()
        change = np.abs(next_authorities - authorities).sum() + np.abs(next_hubs - hubs).sum()
        authorities, hubs = next_authorities, next_hubs
        if change < tolerance:
            return AlgorithmOutput(authorities, iteration, engine, hubs=hubs)
    raise TaskError(
        "bad_params",
        f"HITS did not converge within {max_iterations} iterations (tolerance {tolerance}); raise hits.max_iterations",
    )
