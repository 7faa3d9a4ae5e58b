"""The requirements agent's task handler: documents in, a requirements document out."""

from __future__ import annotations

import msgspec

from gaai.agents.lib.context import AgentContext
from gaai.agents.lib.documents import read_documents
from gaai.agents.requirements.constraints import output_constraints
from gaai.agents.requirements.prompt import requirements_prompt
from gaai.bus.contract import RequirementsResult, RequirementsTask
from gaai.bus.domain import RequirementsDoc


async def handle(task: RequirementsTask, ctx: AgentContext) -> RequirementsResult:
    docs = await read_documents(task.documents, ctx)
    requirements = await ctx.llm.ask("requirements", requirements_prompt(docs), RequirementsDoc, context=docs)
    if not requirements.output_constraints:
        # A model may leave them out; the rules read them from the requirements it found.
        requirements = msgspec.structs.replace(requirements, output_constraints=output_constraints(requirements))
    return RequirementsResult(requirements=requirements)
