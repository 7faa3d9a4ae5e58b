"""The language-model path against a real small model: SmolLM2-135M-Instruct served by ``tools/llm/server.mjs``.

Worth its time (about two minutes on two cores, most of it the workflow): every other LLM test talks to a fake
server written here, and only a real model shows whether schema-constrained answers decode, whether token counts
come from the server, what a cut-off or a slow answer does, and whether a whole workflow still ends with reports.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from importlib import resources
from typing import Literal

import msgspec
import pytest

from gaai.agents.lib.llm import RecordingLlm
from gaai.agents.lib.llm_config import provider_from_name
from gaai.bus.domain import UseCase
from gaai.bus.errors import TaskError
from graph_analytics_ai.ai.agents import AgenticWorkflowRunner

USE_CASE_PROMPT = (
    "The graph has the vertex collections customers and products and the edge collection purchased. "
    "List two graph-analytics use cases as JSON objects with id, title, description, algorithm (one of "
    "pagerank, louvain), reason, requirement_ids, priority and focus_collections."
)


DEMO_DOCUMENT = (resources.files("graph_analytics_ai") / "data" / "requirements_ecommerce.md").read_text()
ALGORITHM_PROMPT = (
    "Requirement: we must find the most influential customers in the purchase graph.\n"
    'Which graph algorithm answers it? Answer with a JSON object {"algorithm": "<name>", "reason": "<one sentence>"}.'
)


class AlgorithmChoice(msgspec.Struct):
    algorithm: Literal["pagerank", "louvain", "betweenness_centrality", "scc"]
    reason: str


def _ask_use_cases(local_model, **settings: str):
    provider = provider_from_name("openai", local_model.env(**settings))
    calls: list = []
    return provider, calls, RecordingLlm(provider, calls).ask("use_cases", USE_CASE_PROMPT, list[UseCase])


def test_server_reports_the_model_and_its_context(local_model):
    with urllib.request.urlopen(f"{local_model.base_url}/models", timeout=5) as response:
        listed = json.load(response)["data"]
    assert [entry["id"] for entry in listed] == ["SmolLM2-135M-Instruct"]
    assert listed[0]["context_length"] == 2048  # as the fixture started it, of the model's 8,192


async def test_schema_constrained_answer_decodes_with_the_servers_token_counts(local_model):
    """The grammar holds the model to the schema: the answer names one of the listed algorithms."""
    await assert_algorithm_chosen_with_server_token_counts("openai", local_model.env(GAAI_LLM_MAX_TOKENS="256"))


async def test_answer_cut_at_the_token_limit_fails_as_truncated(local_model):
    provider, calls, asking = _ask_use_cases(local_model, GAAI_LLM_MAX_TOKENS="12")
    try:
        with pytest.raises(TaskError) as caught:
            await asking
    finally:
        await provider.close()
    assert caught.value.code == "llm_answer_truncated"
    assert "(12 tokens)" in caught.value.message and "GAAI_LLM_MAX_TOKENS" in caught.value.message
    assert [(call.tokens_out, call.tokens_estimated) for call in calls] == [(12, False)]


async def test_slow_answer_times_out_and_the_server_serves_the_next_at_once(local_model):
    settings = {"GAAI_LLM_TIMEOUT_S": "0.3", "GAAI_LLM_MAX_ATTEMPTS": "2", "GAAI_LLM_MAX_TOKENS": "1024"}
    provider, _, asking = _ask_use_cases(local_model, **settings)
    started = time.monotonic()
    try:
        with pytest.raises(TaskError) as caught:
            await asking
    finally:
        await provider.close()
    assert caught.value.code == "llm_unavailable" and caught.value.retryable
    assert "failed 2 attempts" in caught.value.message and "no answer within 0.3 s" in caught.value.message
    assert time.monotonic() - started < 10
    # The server aborted the generations whose client hung up, so a short question is not queued behind them.
    body = {"messages": [{"role": "user", "content": "Say yes."}], "max_tokens": 4}
    request = urllib.request.Request(
        f"{local_model.base_url}/chat/completions", data=json.dumps(body).encode(), method="POST"
    )
    started = time.monotonic()
    with urllib.request.urlopen(request, timeout=30) as response:
        answer = json.load(response)
    assert time.monotonic() - started < 5
    assert answer["usage"]["completion_tokens"] <= 4


async def test_anthropic_protocol_answers_through_a_forced_tool(local_model):
    environ = {
        "GAAI_LLM_MODEL": local_model.model,
        "GAAI_LLM_BASE_URL": local_model.root_url,
        "GAAI_LLM_API_KEY": "local-server-needs-none",
        "GAAI_LLM_MAX_TOKENS": "256",
    }
    await assert_algorithm_chosen_with_server_token_counts("anthropic", environ)


async def assert_algorithm_chosen_with_server_token_counts(protocol: str, environ: dict[str, str]) -> None:
    """One schema-constrained question over ``protocol``: a valid choice, and token counts the server made."""
    provider = provider_from_name(protocol, environ)
    calls: list = []
    try:
        choice = await RecordingLlm(provider, calls).ask("algorithm", ALGORITHM_PROMPT, AlgorithmChoice)
    finally:
        await provider.close()
    assert isinstance(choice, AlgorithmChoice) and choice.reason.strip()
    (call,) = calls
    assert (call.provider, call.model, call.tokens_estimated) == (protocol, "SmolLM2-135M-Instruct", False)
    # Real token counts: the prompt's exceed a word count (the chat template and sub-word tokens add to it).
    assert call.tokens_in > len(ALGORITHM_PROMPT.split())
    assert 0 < call.tokens_out <= 256


@pytest.mark.timeout(600)
async def test_demo_workflow_against_the_local_model_ends_with_reports(local_model, home, monkeypatch):
    """The demo's graph and document, two executions, every question that fits the context asked of the real model;
    prints per-task timings and token counts (``-s``)."""
    # The provider reads the server's 2,048-token context from /v1/models and fits every prompt into it.
    for name, value in local_model.env(GAAI_LLM_MAX_TOKENS="256").items():
        monkeypatch.setenv(name, value)
    runner = AgenticWorkflowRunner(graph_name="ecommerce", llm_provider="openai", max_executions=2)
    state = await runner.run_async(
        input_documents=[{"content": DEMO_DOCUMENT, "name": "requirements_ecommerce.md"}], max_executions=2
    )
    tasks = state.progress.tasks
    print()
    for task in tasks:
        took = f"{task.ended_at - task.started_at:6.1f} s" if task.started_at and task.ended_at else "      -"
        tokens = ", ".join(
            f"{c.purpose} {c.tokens_in}+{c.tokens_out} tok {c.latency_ms / 1000:.1f} s" for c in task.llm_calls
        )
        print(f"{task.label:40} {task.status:10} {took}  {tokens}")
    assert state.status == "completed", state.errors
    assert state.reports and all(report.title for report in state.reports)
    calls = [call for task in tasks for call in task.llm_calls]
    # A report's prompt (the verified draft and its figures) does not fit 2,048 tokens beside its answer: it is
    # not sent, and the verified draft is the report.
    assert {call.purpose for call in calls} == {"vertical", "requirements", "use_cases"}
    assert all(call.model == "SmolLM2-135M-Instruct" and not call.tokens_estimated for call in calls)
    assert all(0 < call.tokens_in <= 2048 and 0 < call.tokens_out <= 256 for call in calls)
    # An answer cut at the limit is not used, and the run says the rules answered instead.
    cut = [call for call in calls if call.tokens_out == 256]
    assert all(any("stopped at the token limit" in note for note in call.notes) for call in cut), cut


def test_eval_with_a_model_refuses_missing_settings_before_running(tmp_path):
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("GAAI_LLM_", "NATS_URL", "GAAI_HOME"))}
    run = subprocess.run(
        [sys.executable, "-m", "graph_analytics_ai.cli", "eval", "--llm", "openai", "--cases", "karate"],
        cwd=tmp_path,
        env=environ,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 2
    assert run.stderr.strip() == (
        "gaai: GAAI_LLM_MODEL is not set: the openai provider needs the name of the model to ask [bad_setting]"
    )
    assert not run.stdout
