"""The template agent's task handler."""

from __future__ import annotations

from gaai.agents.lib.context import AgentContext
from gaai.agents.templates.build import build_templates
from gaai.bus.contract import TemplatesResult, TemplatesTask


async def handle(task: TemplatesTask, ctx: AgentContext) -> TemplatesResult:
    return build_templates(task.use_cases, task.schema, task.max_templates, task.requirements, task.unanswered)
