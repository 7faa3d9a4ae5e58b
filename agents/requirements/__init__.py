"""Requirements agent: objectives, requirements, stakeholders and output constraints from documents.

The task handler is in ``handler``; ``parser`` reads the documents offline (the wording it
recognises is in ``patterns``), ``constraints`` reads the output constraints and ``prompt``
asks a model; ``python -m gaai.agents.requirements`` runs the agent.
"""

from gaai.agents.requirements.handler import handle

__all__ = ["handle"]
