"""A weak model's answers, checked for meaning and completed or replaced by the rules, with the reason recorded.

The model is ``LlmApiServer`` (tests/agents/llm_api.py) speaking the OpenAI protocol; the weak answers
are the ones a 135M-parameter model gave in a real trial: empty lists, placeholder ids
("1234567890"), collections the graph does not have, items with no text, the prompt's example.
"""

from __future__ import annotations

import json
import re

import msgspec
import pytest
from aiohttp import web

from gaai.agents import requirements, use_cases
from gaai.agents.lib.llm import PROMPT_CHARS_PER_TOKEN, RecordingLlm
from gaai.agents.lib.llm_http import OpenAICompatibleProvider
from gaai.agents.use_cases.mapping import derive_use_cases, use_cases_prompt
from gaai.agents.vertical.choice import builtin_verticals
from gaai.bus.contract import RequirementsTask, UseCasesTask
from gaai.bus.domain import GraphSchema, Requirement, RequirementsDoc, UseCase
from gaai.bus.errors import TaskError
from graph_analytics_ai.ai.agents import AgenticWorkflowRunner
from tests.agents.contexts import DocumentsAtHand
from tests.agents.llm_api import API_KEY, Received, answers, cut_off, openai_body
from tests.agents.test_llm_http import FOLLOWERS

ASKS = RequirementsDoc(
    requirements=[
        Requirement(id="REQ-1", text="Find the most influential customers.", priority="high"),
        Requirement(id="REQ-2", text="Detect communities of customers who follow one another.", priority="medium"),
    ]
)
TASK = UseCasesTask(requirements=ASKS, schema=FOLLOWERS, vertical=builtin_verticals()["social"])
PAGERANK = {
    "id": "1234567890",
    "title": "Influential customers",
    "description": "PageRank over follows.",
    "algorithm": "pagerank",
    "reason": "most influential customers",
    "requirement_ids": ["REQ-1", "REQ-77"],
    "priority": "high",
    "focus_collections": ["Customers"],
}


@pytest.fixture
async def llm(server):
    provider = OpenAICompatibleProvider(model="small", base_url=f"{server.url}/v1", api_key=API_KEY, backoff_s=0.01)
    yield RecordingLlm(provider, [])
    await provider.close()


def context(llm: RecordingLlm, tmp_path) -> DocumentsAtHand:
    return DocumentsAtHand(workflow_id="wf", task_id="wf.task", attempt=1, store=None, llm=llm, home=tmp_path)


def by_rules(planned: list[UseCase], why: str) -> list[UseCase]:
    return [msgspec.structs.replace(use_case, planned_by=f"rules: {why}") for use_case in planned]


# ---------------------------------------------------------------- use cases


@pytest.mark.parametrize(
    ("answer", "why"),
    [
        ({"items": []}, "the model's answer held no use case"),
        ({"items": [{**PAGERANK, "focus_collections": ["people"]}]},
         "the model's answer named no collection of this graph"),
        ({"items": [{**PAGERANK, "algorithm": "magic"}]}, "the model's answer named no catalog algorithm ('magic')"),
    ],
)  # fmt: skip
async def test_an_unusable_use_case_answer_is_replaced_by_the_rules_saying_why(server, llm, tmp_path, answer, why):
    server.replies = [answers(answer)]
    result = await use_cases.handle(TASK, context(llm, tmp_path))
    assert result.use_cases == by_rules(derive_use_cases(ASKS, FOLLOWERS, TASK.vertical), why)
    assert result.use_cases and {"pagerank", "louvain"} <= {u.algorithm for u in result.use_cases}
    assert (result.planned_by, result.notes) == ("rules", [f"use cases planned by rules: {why}"])
    [call] = llm.calls
    assert call.notes == [f"use cases planned by rules: {why}"]


async def test_a_partly_usable_answer_is_fixed_and_completed_by_the_rules(server, llm, tmp_path):
    """The placeholder id becomes UC-001, the collection takes the graph's spelling, the unknown requirement id
    goes; the use case with no catalog algorithm is dropped, and REQ-2, served by none, gets the rules' one."""
    server.replies = [answers({"items": [PAGERANK, {**PAGERANK, "id": "id1", "algorithm": "magic"}]})]
    result = await use_cases.handle(TASK, context(llm, tmp_path))
    [louvain] = [u for u in derive_use_cases(ASKS, FOLLOWERS, TASK.vertical) if u.algorithm == "louvain"]
    assert result.use_cases == [
        UseCase(**{**PAGERANK, "id": "UC-001", "requirement_ids": ["REQ-1"], "focus_collections": ["customers"]},
                planned_by="model"),
        msgspec.structs.replace(louvain, id="UC-002",
                                planned_by="rules: the model's answer served no use case for REQ-2"),
    ]  # fmt: skip
    note = (
        "use cases checked: dropped 1 of the model's use cases: named no catalog algorithm ('magic'); "
        "gave new ids to '1234567890' (now UC-001); use cases planned by rules for what the model's answer left "
        "unserved: REQ-2"
    )
    assert (result.planned_by, result.notes, llm.calls[0].notes) == ("model and rules", [note], [note])


async def test_an_answer_cut_off_at_the_token_limit_is_replaced_by_the_rules_without_a_second_call(
    server, llm, tmp_path
):
    server.replies = [cut_off('{"items": [{"id": "UC-001", "title": "Influ', None)]
    result = await use_cases.handle(TASK, context(llm, tmp_path))
    why = "the model's answer stopped at the token limit before it was complete"
    assert result.use_cases == by_rules(derive_use_cases(ASKS, FOLLOWERS, TASK.vertical), why)
    assert result.notes == [f"use cases planned by rules: {why}"] and result.planned_by == "rules"
    assert len(server.received) == 1 and llm.calls[0].notes == result.notes
    assert server.received[0].body["max_tokens"] == 2048


async def test_requirements_the_context_has_no_room_for_are_left_out_said_and_planned_by_the_rules(server, tmp_path):
    """A context with room for the prompt with REQ-1 only: REQ-2 is left out of the prompt, the cut is stated, and
    the rules plan its use case."""
    one = msgspec.structs.replace(TASK, requirements=RequirementsDoc(requirements=ASKS.requirements[:1]))
    room_tokens = -(-len(use_cases_prompt(one)) // PROMPT_CHARS_PER_TOKEN)
    assert room_tokens * PROMPT_CHARS_PER_TOKEN < len(use_cases_prompt(TASK))
    provider = OpenAICompatibleProvider(
        model="small", base_url=f"{server.url}/v1", api_key=API_KEY, context_tokens=2048 + room_tokens
    )
    llm = RecordingLlm(provider, [])
    server.replies = [answers({"items": [{**PAGERANK, "id": "UC-001"}]})]
    try:
        result = await use_cases.handle(TASK, context(llm, tmp_path))
    finally:
        await provider.close()
    [request] = server.received
    assert request.prompt == use_cases_prompt(one)
    cut = "the model was shown 1 of 2 requirements, all its context had room for; left out: REQ-2"
    assert result.notes[0] == cut and llm.calls[0].notes[0] == cut
    assert [(u.algorithm, u.requirement_ids, u.planned_by) for u in result.use_cases] == [
        ("pagerank", ["REQ-1"], "model"),
        ("louvain", ["REQ-2"], "rules: the model's answer served no use case for REQ-2"),
    ]


async def test_a_graph_neither_model_nor_rules_can_plan_for_fails_saying_which(server, llm, tmp_path):
    no_edges = GraphSchema(
        graph_name="lonely",
        vertex_collections=FOLLOWERS.vertex_collections,
        edge_collections=[],
        edge_definitions=[],
        core_collections=["customers"],
        satellite_collections=[],
        total_vertices=30,
        total_edges=0,
    )
    server.replies = [answers({"items": [{**PAGERANK, "focus_collections": ["people"]}]})]
    task = msgspec.structs.replace(TASK, schema=no_edges)
    with pytest.raises(TaskError) as caught:
        await use_cases.handle(task, context(llm, tmp_path))
    assert (caught.value.code, caught.value.retryable) == ("no_use_case", False)
    assert caught.value.message.startswith(
        "no use case could be planned: the model's answer named no collection of this graph, and the rules found none ("
    )


# ---------------------------------------------------------------- requirements

BRIEF = """# Brief

## Requirements
- FR-1: Find the most influential customers.
- FR-2: Detect communities of customers who buy together.
"""


async def test_requirements_with_no_text_or_copied_from_the_example_are_replaced_by_the_rules(server, llm, tmp_path):
    copied = {"id": "REQ-001", "text": "The analysis must rank customers by influence.", "priority": "high"}
    server.replies = [answers({"requirements": [{"id": "1234567890", "text": " "}, copied], "objectives": []})]
    ctx = context(llm, tmp_path)
    result = await requirements.handle(RequirementsTask(documents=[ctx.hand("brief.md", BRIEF)]), ctx)
    note = (
        "requirements extracted by rules: the model's answer held only an item with no text, "
        "the prompt's example copied"
    )
    assert [(r.id, r.text) for r in result.requirements.requirements] == [
        ("FR-1", "Find the most influential customers."),
        ("FR-2", "Detect communities of customers who buy together."),
    ]
    assert (result.planned_by, result.notes, llm.calls[0].notes) == ("rules", [note], [note])


async def test_requirements_the_model_left_out_are_taken_from_the_rules(server, llm, tmp_path):
    """The placeholder id of an item the documents number takes the documents' id; FR-2, left out, comes from the
    rules; the repeated item goes."""
    found = {"id": "id1", "text": "Find the most influential customers", "priority": "high"}
    server.replies = [answers({"requirements": [found, {**found, "id": "id2"}]})]
    ctx = context(llm, tmp_path)
    result = await requirements.handle(RequirementsTask(documents=[ctx.hand("brief.md", BRIEF)]), ctx)
    assert [(r.id, r.text) for r in result.requirements.requirements] == [
        ("FR-1", "Find the most influential customers"),
        ("FR-2", "Detect communities of customers who buy together."),
    ]
    note = (
        "requirements checked: dropped a repeated item; gave new ids to 'id1' (now FR-1); requirements extracted by "
        "rules where the model left out what the documents name: FR-2"
    )
    assert (result.planned_by, result.notes) == ("model and rules", [note])


# ---------------------------------------------------------------- a whole workflow


class WeakModel:
    """What a very small model answered in a real trial: a vertical in shape, requirements with no text, one use
    case with a placeholder id about a collection the graph does not have, and a report in shape."""

    def __init__(self) -> None:
        self.purposes: list[str] = []

    async def __call__(self, received: Received) -> web.Response:
        purpose = received.body["response_format"]["json_schema"]["name"]
        self.purposes.append(purpose)
        answer = {
            "vertical": lambda: {"name": "ecommerce", "reason": "customers and products"},
            "requirements": lambda: {"requirements": [{"id": "1234567890", "text": ""}]},
            "use_cases": lambda: {"items": [{**PAGERANK, "focus_collections": ["people"]}]},
            "reporting": lambda: self._report(received.prompt),
        }[purpose]()
        return web.json_response(openai_body(json.dumps(answer), (len(received.prompt) // 4, 40)))

    @staticmethod
    def _report(prompt: str) -> dict:
        figures = json.loads(re.search(r"^Figures: (.*)$", prompt, re.MULTILINE).group(1))
        return {
            "report_id": f"RPT-{figures['template_id']}",
            "template_id": figures["template_id"],
            "execution_id": figures["execution_id"],
            "title": f"Report: {figures['algorithm']}",
            "summary": f"{figures['algorithm']} ran.",
            "algorithm": figures["algorithm"],
        }


async def test_a_workflow_with_a_weak_model_ends_with_reports_that_say_the_rules_planned(
    home, server, monkeypatch, tmp_path
):
    """Requirements and use cases come from the rules; the run says so in the task results' call records (status)
    and in every report's parameters, and ends with reports. Worth its ~15 s: the one check that the reasons
    travel from the agents through the orchestrator into the status and the report files."""
    model = WeakModel()
    server.replies = [model]
    monkeypatch.setenv("GAAI_LLM_MODEL", "small")
    monkeypatch.setenv("GAAI_LLM_BASE_URL", f"{server.url}/v1")
    monkeypatch.setenv("GAAI_LLM_API_KEY", API_KEY)
    runner = AgenticWorkflowRunner(graph_name="ecommerce", llm_provider="openai", max_executions=2)
    text = "We must find the most influential customers. We should detect communities of customers who buy together."
    state = await runner.run_async(input_documents=[{"content": text, "name": "asks.md"}])
    assert state.status == "completed", state.errors
    assert len(state.reports) == 2
    notes = {call.purpose: call.notes for task in state.progress.tasks for call in task.llm_calls if call.notes}
    assert notes == {
        "requirements": ["requirements extracted by rules: the model's answer held only an item with no text"],
        "use_cases": ["use cases planned by rules: the model's answer named no collection of this graph"],
    }
    planned_by = "rules: the model's answer named no collection of this graph"
    for report in state.reports:
        assert json.loads(report.files["json"])["template"]["planned_by"] == planned_by
        assert f"| use case planned by | {planned_by} |" in report.files["md"].decode()
    assert {"vertical", "requirements", "use_cases", "reporting"} <= set(model.purposes)
