"""Template agent: turns use cases into executable, validated analysis templates.

The task handler is in ``handler``, the logic in ``build``; ``python -m agents.templates`` runs the agent.
"""

from agents.templates.handler import handle

__all__ = ["handle"]
