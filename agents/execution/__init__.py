"""Execution agent: runs one analysis template on the graph and stores per-vertex results.

The task handler is in ``handler``, the work it hands to a worker process in ``run``, the
algorithms in ``engine``, the summary of a result in ``summary`` and ``groups``;
``python -m gaai.agents.execution`` runs the agent.
"""

from typing import Any

__all__ = ["handle"]


def __getattr__(name: str) -> Any:
    # ``handle`` is imported on first use: its module loads the engine's compiled kernels at import,
    # which callers of ``agents.execution.run`` or ``agents.execution.engine`` alone should not pay for.
    if name == "handle":
        from gaai.agents.execution.handler import handle

        return handle
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
