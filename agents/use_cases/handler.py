"""The use-case agent's task handler: the use cases proposed (by a model, checked and completed by the offline
mapping, or by the mapping alone) and what the schema cannot answer.
"""

from __future__ import annotations

import functools

import msgspec

from gaai.agents.lib.context import AgentContext
from gaai.agents.use_cases.judge import DONE_BY_RULES, judge_use_cases, stamped
from gaai.agents.use_cases.mapping import unanswered_questions, use_cases_prompt
from gaai.bus.contract import UseCasesResult, UseCasesTask
from gaai.bus.domain import UseCase
from gaai.bus.errors import TaskError


async def handle(task: UseCasesTask, ctx: AgentContext) -> UseCasesResult:
    prompt, cuts = bounded_prompt(task, await ctx.llm.prompt_room("use_cases"))
    answer = await ctx.llm.ask_or_rules(
        "use_cases",
        prompt,
        list[UseCase],
        context=task,
        done_by_rules=DONE_BY_RULES,
        judge=functools.partial(judge_use_cases, task=task),
        notes=cuts,
    )
    # Whoever proposed the use cases, the schema decides what cannot be answered.
    unanswered = unanswered_questions(task.requirements, task.schema, task.vertical)
    if not answer.value:
        model = "" if answer.planned_by == "rules" and not answer.note else f"{answer.note.split(': ', 1)[-1]}, and "
        cannot = "; ".join(f"{q.algorithm}: {q.reason}" for q in unanswered) or (
            "no requirement asks a graph question, and none of the default analyses can run on this graph"
        )
        raise TaskError("no_use_case", f"no use case could be planned: {model}the rules found none ({cannot})")
    return UseCasesResult(
        use_cases=stamped(answer),
        unanswered=unanswered,
        planned_by=answer.planned_by,
        notes=[*cuts, answer.note] if answer.note else cuts,
    )


def bounded_prompt(task: UseCasesTask, room: int | None) -> tuple[str, list[str]]:
    """The use-case prompt with the requirements the model's context has room for, in order, and what was left out.

    The requirements left out are served by the rules, as any the model's answer leaves unserved.
    """
    prompt = use_cases_prompt(task)
    listed = task.requirements.requirements
    shown = len(listed)
    while room is not None and len(prompt) > room and shown > 0:
        shown -= 1
        fewer = msgspec.structs.replace(task.requirements, requirements=listed[:shown])
        prompt = use_cases_prompt(msgspec.structs.replace(task, requirements=fewer))
    if shown == len(listed):
        return prompt, []
    left_out = ", ".join(r.id for r in listed[shown:])
    return prompt, [
        f"the model was shown {shown} of {len(listed)} requirements, all its context had room for; left out: {left_out}"
    ]
