"""Industry vertical agent: picks the vertical whose vocabulary fits the requirements and the graph.

The task handler is in ``handler``, the logic in ``choice``; ``python -m agents.vertical`` runs the agent.
"""

from agents.vertical.handler import handle

__all__ = ["handle"]
