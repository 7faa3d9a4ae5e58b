"""Schema analysis agent: what a graph holds, how its collections connect and how its edges are read.

The task handler is in ``handler``, the logic in ``analysis``; ``python -m gaai.agents.schema`` runs the agent.
"""

from gaai.agents.schema.handler import handle

__all__ = ["handle"]
