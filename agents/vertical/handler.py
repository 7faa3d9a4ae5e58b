"""The vertical agent's task handler: the named or custom vertical, or the one the documents and the graph fit."""

from __future__ import annotations

import structlog

from gaai.agents.lib.context import AgentContext
from gaai.agents.lib.documents import read_documents
from gaai.agents.vertical.choice import choose_vertical, chosen_builtin, vertical_choice_type, vertical_prompt
from gaai.bus.contract import VerticalResult, VerticalTask

log = structlog.get_logger("agents.vertical")


async def handle(task: VerticalTask, ctx: AgentContext) -> VerticalResult:
    info = ctx.store.graph(task.graph_name)
    collection_names = [*info.vertex_collections, *info.edge_collections]
    if task.custom_vertical is not None or task.industry != "auto":
        return VerticalResult(
            vertical=choose_vertical([], collection_names, industry=task.industry, custom=task.custom_vertical)
        )
    texts = [doc.text for doc in await read_documents(task.documents, ctx)]
    answer = await ctx.llm.ask_or_rules(
        "vertical",
        vertical_prompt(texts, collection_names),
        vertical_choice_type(),
        context=(texts, collection_names),
        done_by_rules="vertical chosen by rules",
    )
    choice = answer.value
    chosen = chosen_builtin(choice.name, texts, collection_names, choice.reason)
    log.info(
        "vertical chosen", vertical=chosen.name, asked_for=choice.name, reason=chosen.reason, terms=chosen.matched_terms
    )
    return VerticalResult(vertical=chosen)
