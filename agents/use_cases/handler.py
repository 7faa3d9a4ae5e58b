"""The use-case agent's task handler: the use cases proposed (by a model or the offline mapping) and what
the schema cannot answer.
"""

from __future__ import annotations

from gaai.agents.lib.context import AgentContext
from gaai.agents.use_cases.mapping import unanswered_questions, use_cases_prompt
from gaai.bus.contract import UseCasesResult, UseCasesTask
from gaai.bus.domain import UseCase


async def handle(task: UseCasesTask, ctx: AgentContext) -> UseCasesResult:
    use_cases = await ctx.llm.ask("use_cases", use_cases_prompt(task), list[UseCase], context=task)
    # Whoever proposed the use cases, the schema decides what cannot be answered.
    return UseCasesResult(
        use_cases=use_cases, unanswered=unanswered_questions(task.requirements, task.schema, task.vertical)
    )
