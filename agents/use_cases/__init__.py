"""Use-case agent: maps requirements, schema and vertical to graph-analytics use cases.

The task handler is in ``handler``, the logic in ``mapping``; ``python -m gaai.agents.use_cases`` runs the agent.
"""

from gaai.agents.use_cases.handler import handle

__all__ = ["handle"]
