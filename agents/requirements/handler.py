"""The requirements agent's task handler: documents in, a requirements document out.

The model reads as much of the documents as its context holds (the cut is stated); its answer is
checked for meaning and completed or replaced by the rule-based extractor where it falls short.
"""

from __future__ import annotations

import functools

import msgspec

from gaai.agents.lib.context import AgentContext
from gaai.agents.lib.documents import read_documents
from gaai.agents.requirements.constraints import output_constraints
from gaai.agents.requirements.judge import DONE_BY_RULES, judge_requirements
from gaai.agents.requirements.prompt import PROMPT_EXAMPLE, requirements_prompt
from gaai.bus.contract import RequirementsResult, RequirementsTask
from gaai.bus.domain import RequirementsDoc


async def handle(task: RequirementsTask, ctx: AgentContext) -> RequirementsResult:
    docs = await read_documents(task.documents, ctx)
    prompt = requirements_prompt(docs, await ctx.llm.prompt_room("requirements"))
    answer = await ctx.llm.ask_or_rules(
        "requirements",
        prompt.text,
        RequirementsDoc,
        context=docs,
        done_by_rules=DONE_BY_RULES,
        judge=functools.partial(judge_requirements, docs=docs, example=PROMPT_EXAMPLE),
        notes=prompt.cuts,
    )
    requirements = answer.value
    if not requirements.output_constraints:
        # A model may leave them out; the rules read them from the requirements it found.
        requirements = msgspec.structs.replace(requirements, output_constraints=output_constraints(requirements))
    notes = [*prompt.cuts, answer.note] if answer.note else prompt.cuts
    return RequirementsResult(requirements=requirements, planned_by=answer.planned_by, notes=notes)
