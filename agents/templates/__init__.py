"""Template agent: turns use cases into executable, validated analysis templates.

The task handler is in ``handler``, the logic in ``build``; ``python -m gaai.agents.templates`` runs the agent.
"""

from gaai.agents.templates.handler import handle

__all__ = ["handle"]
