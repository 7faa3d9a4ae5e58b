"""Eigenvector centrality: a vertex is central when central vertices point to it.

As networkx's ``eigenvector_centrality`` on a ``DiGraph``: the power iteration
``x ← (x + Aᵀx) / ‖x + Aᵀx‖₂`` from the uniform vector (the identity shift makes it converge
on bipartite and periodic graphs), stopping when the L1 change falls below ``n × tolerance``.
It reads the directed simple graph (undirected ties both ways, self-loops kept); with weights
a step's share is the edge's weight, parallel edges adding up, as PageRank's strengths.
"""

from __future__ import annotations

import numpy as np

from gaai.agents.execution.engine.graph_views import strength_product
from gaai.agents.execution.engine.output import AlgorithmOutput
from gaai.bus.errors import TaskError


def run_eigenvector(
    n: int, src: np.ndarray, dst: np.ndarray, weights: np.ndarray | None, max_iterations: int, tolerance: float
) -> AlgorithmOutput:
    # Row v of the transpose holds the edges pointing to v.
    incoming = strength_product(n, dst, src, weights)
    engine = "numba" if weights is None else "scipy"
    x = np.full(n, 1.0 / n)
    for iteration in range(1, max_iterations + 1):
        following = x + incoming(x)
        norm = np.linalg.norm(following)
        following = following / norm if norm > 0 else following
        if np.abs(following - x).sum() < n * tolerance:
            return AlgorithmOutput(following, iteration, engine)
        x = following
    raise TaskError(
        "bad_params",
        f"eigenvector centrality did not converge within {max_iterations} iterations (tolerance {tolerance}); "
        "raise eigenvector.max_iterations",
    )
