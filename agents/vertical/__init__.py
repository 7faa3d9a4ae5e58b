"""Industry vertical agent: picks the vertical whose vocabulary fits the requirements and the graph.

The task handler is in ``handler``, the logic in ``choice``; ``python -m gaai.agents.vertical`` runs the agent.
"""

from gaai.agents.vertical.handler import handle

__all__ = ["handle"]
