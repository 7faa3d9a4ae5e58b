"""HTTP LLM providers against ``LlmApiServer``, a local server speaking the OpenAI and Anthropic wire protocols."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import msgspec
import pytest
from aiohttp import web

from gaai.agents import requirements, use_cases, vertical
from gaai.agents.lib.llm import PROMPT_CHARS_PER_TOKEN, LlmRequest, OfflineProvider, PriceTable, RecordingLlm
from gaai.agents.lib.llm_config import provider_from_name
from gaai.agents.lib.llm_http import (
    DEFAULT_CONTEXT_TOKENS,
    AnthropicProvider,
    ObjectSchema,
    OpenAICompatibleProvider,
)
from gaai.agents.vertical.choice import builtin_verticals
from gaai.bus.contract import LlmCall, RequirementsTask, UseCasesTask, VerticalResult, VerticalTask
from gaai.bus.domain import (
    CollectionInfo,
    EdgeDefinition,
    GraphSchema,
    Objective,
    Requirement,
    RequirementsDoc,
    UseCase,
)
from gaai.bus.errors import GaaiError, TaskError
from gaai.store import EmbeddedStore
from gaai.store.sample import ensure_sample_graph
from graph_analytics_ai.ai.agents import AgenticWorkflowRunner
from tests.agents.contexts import DocumentsAtHand
from tests.agents.llm_api import (
    API_KEY,
    SERVED_MODEL,
    LlmApiServer,
    Received,
    answers,
    cut_off,
    fails,
    openai_body,
    sleeps,
    structured_form,
)

PRICES = PriceTable({SERVED_MODEL: (3.0, 15.0)})


@pytest.fixture
async def connect(server):
    """Providers pointed at ``server`` (quick backoff unless told), closed after the test."""
    made: list[OpenAICompatibleProvider | AnthropicProvider] = []

    def make(kind: str, **options) -> OpenAICompatibleProvider | AnthropicProvider:
        base_url = f"{server.url}/v1" if kind == "openai" else server.url
        options = {
            "model": "requested-model",
            "base_url": base_url,
            "api_key": server.api_key,
            "backoff_s": 0.01,
            **options,
        }
        provider = (OpenAICompatibleProvider if kind == "openai" else AnthropicProvider)(**options)
        made.append(provider)
        return provider

    yield make
    for provider in made:
        await provider.close()


# ---------------------------------------------------------------- answers


async def test_openai_answer_is_validated_with_the_servers_tokens_model_and_a_price(server, connect):
    """The OpenAI protocol: bearer key, system + user messages, max_tokens, the type's schema; tokens and model from the
    reply, priced."""
    server.replies = [answers({"id": "OBJ-7", "text": "Grow repeat purchases"}, tokens=(1834, 97))]
    calls: list[LlmCall] = []
    answer = await RecordingLlm(connect("openai"), calls, PRICES).ask(
        "objective", "What is the goal?", Objective, system="Be brief."
    )
    assert answer == Objective(id="OBJ-7", text="Grow repeat purchases")
    [request] = server.received
    assert request.path == "/v1/chat/completions" and request.headers["Authorization"] == f"Bearer {API_KEY}"
    assert request.body["model"] == "requested-model" and request.body["max_tokens"] == 4096
    assert request.body["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "What is the goal?"},
    ]
    sent = request.body["response_format"]["json_schema"]
    assert (
        sent["name"] == "objective"
        and sent["schema"]["properties"]["id"] == {"type": "string"}
        and sent["schema"]["required"] == ["id", "text"]
    )
    [call] = calls
    assert (call.provider, call.model, call.tokens_in, call.tokens_out, call.tokens_estimated, call.priced) == (
        "openai",
        SERVED_MODEL,
        1834,
        97,
        False,
        True,
    )
    assert call.cost_usd == pytest.approx((1834 * 3.0 + 97 * 15.0) / 1e6)


async def test_anthropic_answer_is_the_forced_tools_input(server, connect):
    """The Messages API: x-api-key, anthropic-version, system, one tool with the type's schema, forced; tokens from
    usage."""
    server.replies = [answers({"id": "OBJ-8", "text": "Cut churn"}, tokens=(2210, 64))]
    calls: list[LlmCall] = []
    answer = await RecordingLlm(connect("anthropic"), calls, PRICES).ask(
        "test.objective", "What is the goal?", Objective, system="Be brief."
    )
    assert answer == Objective(id="OBJ-8", text="Cut churn")
    [request] = server.received
    assert (
        request.path == "/v1/messages"
        and request.headers["x-api-key"] == API_KEY
        and request.headers["anthropic-version"] == "2023-06-01"
    )
    assert (request.body["model"], request.body["max_tokens"], request.body["system"]) == (
        "requested-model",
        4096,
        "Be brief.",
    )
    assert request.body["messages"] == [{"role": "user", "content": "What is the goal?"}]
    [tool] = request.body["tools"]
    assert tool["name"] == "test_objective" and request.body["tool_choice"] == {
        "type": "tool",
        "name": "test_objective",
    }
    assert tool["input_schema"]["type"] == "object" and set(tool["input_schema"]["properties"]) == {
        "id",
        "text",
        "source",
    }
    [call] = calls
    assert (call.provider, call.model, call.tokens_in, call.tokens_out, call.tokens_estimated) == (
        "anthropic",
        SERVED_MODEL,
        2210,
        64,
        False,
    )
    assert call.cost_usd == pytest.approx((2210 * 3.0 + 64 * 15.0) / 1e6)


async def test_a_model_missing_from_the_price_table_is_unpriced(server, connect):
    """An HTTP model with no price is recorded at zero and flagged, not guessed."""
    server.replies = [answers({"id": "OBJ-1", "text": "x"})]
    calls: list[LlmCall] = []
    await RecordingLlm(connect("openai"), calls, PriceTable({"another-model": (1.0, 1.0)})).ask(
        "objective", "p", Objective
    )
    assert calls[0].priced is False and calls[0].cost_usd == 0.0 and calls[0].tokens_in == 1200


@pytest.mark.parametrize("kind", ["openai", "anthropic"])
async def test_a_list_answer_travels_inside_an_object(server, connect, kind):
    """Both protocols want an object at the top: list[...] is asked for as {"items": [...]} and handed back as the
    list."""
    objectives = [{"id": "OBJ-1", "text": "Find influencers"}, {"id": "OBJ-2", "text": "Find communities"}]
    server.replies = [answers({"items": objectives})]
    answer = await RecordingLlm(connect(kind), []).ask("objectives", "Goals?", list[Objective])
    assert answer == [Objective(id="OBJ-1", text="Find influencers"), Objective(id="OBJ-2", text="Find communities")]
    body = server.received[0].body
    schema = (
        body["tools"][0]["input_schema"] if kind == "anthropic" else body["response_format"]["json_schema"]["schema"]
    )
    assert schema["required"] == ["items"] and schema["properties"]["items"] == {
        "type": "array",
        "items": {"$ref": "#/$defs/Objective"},
    }
    assert "Objective" in schema["$defs"]


@pytest.mark.parametrize("response_type", [Objective, list[Objective]])
async def test_json_in_a_markdown_fence_is_accepted(server, connect, response_type):
    """A model that wraps its JSON in ```json fences is understood the first time, wrapped list or not."""
    value = {"id": "OBJ-3", "text": "Rank products"}
    answer = {"items": [value]} if response_type is not Objective else value
    server.replies = [answers(f"```json\n{json.dumps(answer, indent=2)}\n```", raw=True)]
    calls: list[LlmCall] = []
    got = await RecordingLlm(connect("openai"), calls).ask("objective", "p", response_type)
    assert got == (Objective(**value) if response_type is Objective else [Objective(**value)])
    assert len(calls) == 1


# ---------------------------------------------------------------- repair


@pytest.mark.parametrize(
    ("kind", "first", "error"),
    [
        ("openai", 'Sure! Here is the JSON: {"id": "OBJ-1",', "JSON is malformed"),
        ("anthropic", {"id": 17, "text": "Grow"}, "Expected `str`, got `int` - at `$.id`"),
    ],
)
async def test_an_invalid_answer_is_sent_back_once_with_the_error(server, connect, kind, first, error):
    """Malformed or schema-violating output is repaired: the second prompt quotes the error, both calls are recorded."""
    server.replies = [
        answers(first, tokens=(100, 10), raw=True),
        answers({"id": "OBJ-1", "text": "Grow"}, tokens=(140, 12)),
    ]
    calls: list[LlmCall] = []
    answer = await RecordingLlm(connect(kind), calls).ask("objective", "What is the goal?", Objective)
    assert answer == Objective(id="OBJ-1", text="Grow")
    assert [(c.tokens_in, c.tokens_out) for c in calls] == [(100, 10), (140, 12)]
    first_prompt, second_prompt = (r.prompt for r in server.received)
    assert first_prompt == "What is the goal?"
    assert (
        second_prompt.startswith("What is the goal?\n\nYour previous answer was invalid: ") and error in second_prompt
    )
    assert second_prompt.endswith("Answer again with JSON only.")


async def test_two_invalid_answers_fail_with_llm_bad_output(server, connect):
    """When the repaired answer is invalid too, the call fails (retryable) naming both problems; both calls count."""
    server.replies = [answers({"id": "OBJ-1"}), answers({"id": "OBJ-1", "text": 3})]
    calls: list[LlmCall] = []
    with pytest.raises(TaskError) as caught:
        await RecordingLlm(connect("openai"), calls).ask("objective", "p", Objective)
    assert caught.value.code == "llm_bad_output" and caught.value.retryable
    assert (
        "missing required field `text`" in caught.value.message
        and "Expected `str`, got `int` - at `$.text`" in caught.value.message
    )
    assert len(calls) == 2 and len(server.received) == 2


@pytest.mark.parametrize("kind", ["openai", "anthropic"])
async def test_an_answer_cut_off_at_the_token_limit_fails_naming_the_setting(server, connect, kind):
    """An answer stopped by max_tokens is llm_answer_truncated at once, naming GAAI_LLM_MAX_TOKENS: not
    retryable and not sent back for repair (it would be cut off again); the tokens it cost are recorded."""
    server.replies = [
        cut_off('{"id": "OBJ-1", "text": "Grow repeat purch', {"id": "OBJ-1"}),
        answers({"id": "OBJ-1", "text": "Grow"}),
    ]
    calls: list[LlmCall] = []
    with pytest.raises(TaskError) as caught:
        await RecordingLlm(connect(kind, max_tokens=256), calls).ask("objective", "What is the goal?", Objective)
    assert (caught.value.code, caught.value.retryable) == ("llm_answer_truncated", False)
    assert caught.value.message == (
        f"{kind} stopped its 'objective' answer at the token limit (256 tokens) before it was complete; "
        "raise GAAI_LLM_MAX_TOKENS"
    )
    [request] = server.received
    assert request.body["max_tokens"] == 256
    assert [(call.tokens_in, call.tokens_out) for call in calls] == [(900, 256)]


# ---------------------------------------------------------------- transport failures


async def test_a_429_is_retried_after_the_wait_the_server_asks_for(server, connect):
    """Retry-After: 1 on a 429 is honoured (not the 10 ms backoff), then the answer comes through."""
    server.replies = [
        fails(429, "Rate limit reached for requests", {"Retry-After": "1"}),
        answers({"id": "OBJ-1", "text": "x"}),
    ]
    answer = await RecordingLlm(connect("openai"), []).ask("objective", "p", Objective)
    assert answer.id == "OBJ-1"
    first, second = server.received
    assert 0.95 <= second.at - first.at < 3.0


async def test_an_overloaded_anthropic_api_is_retried(server, connect):
    """529 (overloaded) is a server error: retried with backoff until it answers."""
    server.replies = [fails(529, "Overloaded"), fails(529, "Overloaded"), answers({"id": "OBJ-1", "text": "x"})]
    assert (await RecordingLlm(connect("anthropic"), []).ask("objective", "p", Objective)).id == "OBJ-1"
    assert len(server.received) == 3


async def test_server_errors_until_the_attempts_run_out_are_llm_unavailable(server, connect):
    """500 on every attempt: exactly max_attempts requests, then llm_unavailable (retryable) naming the status and the
    server's words."""
    server.replies = [fails(500, "The server had an error while processing your request.")]
    with pytest.raises(TaskError) as caught:
        await RecordingLlm(connect("openai", max_attempts=3), []).ask("objective", "p", Objective)
    assert caught.value.code == "llm_unavailable" and caught.value.retryable
    assert "openai" in caught.value.message and "3 attempts" in caught.value.message
    assert "HTTP 500: The server had an error while processing your request." in caught.value.message
    assert len(server.received) == 3


@pytest.mark.parametrize("kind", ["openai", "anthropic"])
async def test_a_refused_key_is_llm_auth_at_once_without_the_key(server, connect, kind):
    """401: one request only, llm_auth (not retryable), the server's message quoted, the key never shown even when
    echoed."""
    wrong_key = "sk-wrong-91b3c7d2e8"
    with pytest.raises(TaskError) as caught:
        await RecordingLlm(connect(kind, api_key=wrong_key), []).ask("objective", "p", Objective)
    assert caught.value.code == "llm_auth" and not caught.value.retryable
    assert len(server.received) == 1
    assert "HTTP 401" in caught.value.message and kind in caught.value.message
    assert ("Incorrect API key provided" if kind == "openai" else "invalid x-api-key") in caught.value.message
    assert wrong_key not in caught.value.message and wrong_key not in str(caught.value)


@pytest.mark.parametrize(
    ("status", "code"), [(403, "llm_auth"), (400, "llm_request_rejected"), (404, "llm_request_rejected")]
)
async def test_client_errors_are_not_retried(server, connect, status, code):
    """403, 400 and 404 cannot pass on a second try: one request, a clear code and the server's reason."""
    server.replies = [
        fails(status, f"the model `requested-model` does not exist or you have no access (status {status})")
    ]
    with pytest.raises(TaskError) as caught:
        await RecordingLlm(connect("openai"), []).ask("objective", "p", Objective)
    assert caught.value.code == code and not caught.value.retryable
    assert f"HTTP {status}: the model `requested-model` does not exist" in caught.value.message
    assert len(server.received) == 1


async def test_a_model_that_refuses_max_tokens_is_asked_with_max_completion_tokens(server, connect):
    """OpenAI's newer models refuse max_tokens and name max_completion_tokens: asked again at once, and from then on."""
    server.refuses_max_tokens = True
    server.replies = [answers({"id": "OBJ-1", "text": "t"})]
    provider = connect("openai", max_tokens=900)
    for _ in range(2):
        assert await RecordingLlm(provider, []).ask("objective", "p", Objective) == Objective(id="OBJ-1", text="t")
    assert [("max_tokens" in r.body, r.body.get("max_completion_tokens")) for r in server.received] == [
        (True, None),
        (False, 900),
        (False, 900),
    ]


async def test_a_request_the_api_would_refuse_is_reported_with_its_reason(server, connect):
    """A bad request (here: max_tokens 0) gets the API's own 400 reason back in the error."""
    provider = connect("openai", max_tokens=0)
    with pytest.raises(TaskError) as caught:
        await provider.complete(LlmRequest(purpose="objective", prompt="p"))
    assert (
        caught.value.code == "llm_request_rejected" and "max_tokens: expected an integer >= 1" in caught.value.message
    )


async def test_a_server_that_does_not_speak_the_protocol_is_named_as_such(server, connect):
    """A 200 that is not a chat completion (a base URL pointing at some other server) is a clear error, not a crash."""

    async def web_page(received: Received) -> web.Response:
        return web.Response(text="<html><body>Welcome</body></html>", content_type="text/html")

    server.replies = [web_page]
    with pytest.raises(TaskError) as caught:
        await RecordingLlm(connect("openai"), []).ask("objective", "p", Objective)
    assert caught.value.code == "llm_bad_response" and "GAAI_LLM_BASE_URL" in caught.value.message
    assert len(server.received) == 1


async def test_a_retry_after_too_long_to_wait_gives_the_task_back(server, connect):
    """A Retry-After beyond a minute is not slept through: llm_unavailable (retryable) at once, so the task is
    redelivered later."""
    server.replies = [fails(429, "Rate limit reached", {"Retry-After": "600"})]
    with pytest.raises(TaskError) as caught:
        await RecordingLlm(connect("openai"), []).ask("objective", "p", Objective)
    assert caught.value.code == "llm_unavailable" and caught.value.retryable and "600 s" in caught.value.message
    assert len(server.received) == 1


async def test_a_slow_answer_times_out_and_is_retried(server, connect):
    """An answer slower than the timeout is abandoned and asked again; when none comes in time: llm_unavailable."""
    server.replies = [sleeps(5.0)]
    started = time.monotonic()
    with pytest.raises(TaskError) as caught:
        await RecordingLlm(connect("openai", timeout_s=0.2, max_attempts=2), []).ask("objective", "p", Objective)
    assert caught.value.code == "llm_unavailable" and "no answer within 0.2 s" in caught.value.message
    assert len(server.received) == 2 and time.monotonic() - started < 2.0


async def test_a_server_that_is_not_there_is_llm_unavailable():
    """Connection refused on every attempt: llm_unavailable after the attempts, saying what went wrong."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    provider = OpenAICompatibleProvider(
        model="m", base_url=f"http://127.0.0.1:{port}/v1", max_attempts=2, backoff_s=0.01
    )
    try:
        with pytest.raises(TaskError) as caught:
            await RecordingLlm(provider, []).ask("objective", "p", Objective)
    finally:
        await provider.close()
    assert (
        caught.value.code == "llm_unavailable"
        and "ClientConnectorError" in caught.value.message
        and "2 attempts" in caught.value.message
    )


# ---------------------------------------------------------------- structured-output forms


def forms_asked(server: LlmApiServer) -> list[str | None]:
    return [structured_form(received.body) for received in server.received]


async def test_a_server_refusing_json_schema_is_asked_once_with_json_object_and_the_form_is_kept(server, connect):
    """llama-cpp-python's 500 naming the response format: one more request with json_object and the schema, no
    retries of the refused form (a 5 s backoff would show), and the next question goes straight to json_object."""
    server.structured_forms = {"json_object"}
    server.replies = [answers({"id": "OBJ-7", "text": "Grow repeat purchases"})]
    llm = RecordingLlm(connect("openai", backoff_s=5.0), [])
    started = time.monotonic()
    first = await llm.ask("objective", "What is the goal?", Objective)
    second = await llm.ask("objective", "And again?", Objective)
    assert time.monotonic() - started < 2.0
    assert first == second == Objective(id="OBJ-7", text="Grow repeat purchases")
    assert forms_asked(server) == ["json_schema", "json_object", "json_object"]
    schema = server.received[1].body["response_format"]["schema"]
    assert schema["required"] == ["id", "text"] and schema["type"] == "object"
    assert len(llm.calls) == 2


async def test_a_server_taking_only_tools_gets_a_forced_function_call(server, connect):
    """json_schema and json_object refused: the answer is asked for as the arguments of one forced function."""
    server.structured_forms = {"tool"}
    server.replies = [answers({"items": [{"id": "OBJ-1", "text": "Grow"}]})]
    llm = RecordingLlm(connect("openai"), [])
    assert await llm.ask("objectives", "Goals?", list[Objective]) == [Objective(id="OBJ-1", text="Grow")]
    assert await llm.ask("objectives", "Goals?", list[Objective]) == [Objective(id="OBJ-1", text="Grow")]
    assert forms_asked(server) == ["json_schema", "json_object", "tool", "tool"]
    function = server.received[-1].body["tools"][0]["function"]
    assert function["name"] == "objectives" and function["parameters"]["required"] == ["items"]


async def test_a_server_refusing_every_form_is_rejected_once_each_naming_them(server, connect):
    server.structured_forms = set()
    with pytest.raises(TaskError) as caught:
        await RecordingLlm(connect("openai", backoff_s=5.0), []).ask("objective", "Goal?", Objective)
    assert (caught.value.code, caught.value.retryable) == ("llm_request_rejected", False)
    assert caught.value.message.endswith("it refused every structured-output form: json_schema, json_object, tool")
    assert forms_asked(server) == ["json_schema", "json_object", "tool"]


async def test_a_500_that_does_not_name_the_format_is_still_retried(server, connect):
    server.replies = [
        fails(500, "The server had an error while processing your request."),
        answers({"id": "O", "text": "t"}),
    ]
    assert await RecordingLlm(connect("openai"), []).ask("objective", "Goal?", Objective) == Objective(id="O", text="t")
    assert forms_asked(server) == ["json_schema", "json_schema"]


# ---------------------------------------------------------------- budgets, sampling, context


@pytest.mark.parametrize(
    ("purpose", "limit", "sent"),
    [("vertical", 4096, 256), ("use_cases", 4096, 2048), ("requirements", 4096, 4096), ("use_cases", 1000, 1000),
     ("objective", 3000, 3000)],
)  # fmt: skip
@pytest.mark.parametrize("kind", ["openai", "anthropic"])
async def test_each_purpose_asks_for_its_answer_budget_capped_by_max_tokens(
    server, connect, kind, purpose, limit, sent
):
    server.replies = [answers({"id": "O", "text": "t"})]
    await RecordingLlm(connect(kind, max_tokens=limit), []).ask(purpose, "Goal?", Objective)
    assert server.received[0].body["max_tokens"] == sent


async def test_temperature_and_seed_are_sent_where_the_protocol_has_them(server, connect):
    """OpenAI takes both; Anthropic has a temperature and no seed; unset, neither is sent."""
    server.replies = [answers({"id": "O", "text": "t"})]
    await RecordingLlm(connect("openai", temperature=0.0, seed=7), []).ask("objective", "Goal?", Objective)
    await RecordingLlm(connect("anthropic", temperature=0.2, seed=7), []).ask("objective", "Goal?", Objective)
    await RecordingLlm(connect("openai"), []).ask("objective", "Goal?", Objective)
    sent = [{k: r.body[k] for k in ("temperature", "seed") if k in r.body} for r in server.received]
    assert sent == [{"temperature": 0.0, "seed": 7}, {"temperature": 0.2}, {}]


async def test_the_context_window_is_configured_else_reported_by_the_server_else_the_default(server, connect):
    """8,192 tokens at a server's own URL that reports none; the vendor's window at the vendor's URL."""
    assert await connect("openai").context_tokens() == DEFAULT_CONTEXT_TOKENS
    server.context_length = 8192 * 2
    assert await connect("openai").context_tokens() == 16384
    assert await connect("openai", context_tokens=4000).context_tokens() == 4000
    assert await connect("anthropic").context_tokens() == DEFAULT_CONTEXT_TOKENS
    assert await AnthropicProvider(model="m", api_key="k").context_tokens() == 200_000
    llm = RecordingLlm(connect("openai", max_tokens=3000), [])
    assert await llm.prompt_room("use_cases") == (16384 - 2048) * PROMPT_CHARS_PER_TOKEN
    assert await llm.prompt_room("requirements") == (16384 - 3000) * PROMPT_CHARS_PER_TOKEN
    assert await RecordingLlm(OfflineProvider(), []).prompt_room("requirements") is None


def test_sampling_and_context_settings_are_read_and_checked():
    environ = {"GAAI_LLM_MODEL": "m", "GAAI_LLM_BASE_URL": "http://localhost:8080/v1"}
    provider = provider_from_name(
        "openai",
        {**environ, "GAAI_LLM_TEMPERATURE": "0", "GAAI_LLM_SEED": "0", "GAAI_LLM_CONTEXT_TOKENS": "8192"},
    )
    assert (provider.temperature, provider.seed, provider._context_tokens) == (0.0, 0, 8192)
    for variable, value, expected in [
        ("GAAI_LLM_TEMPERATURE", "warm", "a number >= 0"),
        ("GAAI_LLM_SEED", "1.5", "a whole number >= 0"),
        ("GAAI_LLM_CONTEXT_TOKENS", "0", "a whole number > 0"),
    ]:
        with pytest.raises(GaaiError) as caught:
            provider_from_name("openai", {**environ, variable: value})
        assert caught.value.message == f"{variable}={value!r}: expected {expected}"


async def test_a_long_document_is_cut_to_the_models_context_and_the_cut_is_stated(server, connect, tmp_path):
    """A 2,048-token context: the requirements prompt fits its room beside the answer, and the result and the call
    record say how much of the document the model saw."""
    server.context_length = 2048
    server.replies = [answers({"requirements": [{"id": "REQ-1", "text": "The system must rank customers."}]})]
    llm = RecordingLlm(connect("openai", max_tokens=1024), [])
    ctx = DocumentsAtHand(workflow_id="wf", task_id="wf.requirements", attempt=1, store=None, llm=llm, home=tmp_path)
    text = "# Notes\n\n" + "The system must rank customers by influence. " * 300
    result = await requirements.handle(RequirementsTask(documents=[ctx.hand("notes.md", text)]), ctx)
    [request] = server.received
    assert len(request.prompt) <= (2048 - 1024) * PROMPT_CHARS_PER_TOKEN
    shown = request.prompt.split('<document name="notes.md">\n', 1)[1].split("\n[… the rest", 1)[0]
    cut = (
        f"the model was shown the first {len(shown):,} of {len(text) - 1:,} characters of notes.md, "
        "all its context had room for"
    )
    assert result.notes == [cut] and llm.calls[0].notes == [cut]
    assert result.planned_by == "model" and [r.id for r in result.requirements.requirements] == ["REQ-1"]


# ---------------------------------------------------------------- the object wrapping


def test_object_schemas_inline_a_struct_and_wrap_anything_else():
    """A Struct's schema is inlined as the top object; a list is wrapped under items and unwrapped only from exactly
    that."""
    struct = ObjectSchema.of(msgspec.json.schema(Objective))
    assert not struct.wrapped and struct.schema["type"] == "object" and "$ref" not in struct.schema
    listed = ObjectSchema.of(msgspec.json.schema(list[Objective]))
    assert listed.wrapped and listed.unwrap({"items": [1]}) == [1]
    assert listed.unwrap([1]) == [1] and listed.unwrap({"items": [1], "more": 2}) == {"items": [1], "more": 2}
    assert (
        listed.unwrap_text('{"items": [{"id": "a"}]}') == '[{"id":"a"}]'
        and listed.unwrap_text("not json") == "not json"
    )


# ---------------------------------------------------------------- configuration


@pytest.mark.parametrize(
    ("environ", "code", "message"),
    [
        (
            {"GAAI_LLM_PROVIDER": "nope"},
            "unknown_llm_provider",
            "unknown LLM provider 'nope'; available: offline, openai, anthropic",
        ),
        (
            {"GAAI_LLM_PROVIDER": "openai", "OPENAI_API_KEY": "k"},
            "bad_setting",
            "GAAI_LLM_MODEL is not set: the openai provider needs the name of the model to ask",
        ),
        (
            {"GAAI_LLM_PROVIDER": "anthropic", "GAAI_LLM_MODEL": "m"},
            "bad_setting",
            "no API key for the anthropic provider: set GAAI_LLM_API_KEY or ANTHROPIC_API_KEY",
        ),
        (
            {"GAAI_LLM_PROVIDER": "openai", "GAAI_LLM_MODEL": "m"},
            "bad_setting",
            "no API key for the openai provider: set GAAI_LLM_API_KEY or OPENAI_API_KEY",
        ),
        (
            {"GAAI_LLM_PROVIDER": "openai", "GAAI_LLM_MODEL": "m", "OPENAI_API_KEY": "k", "GAAI_LLM_TIMEOUT_S": "soon"},
            "bad_setting",
            "GAAI_LLM_TIMEOUT_S='soon': expected a number > 0",
        ),
        (
            {
                "GAAI_LLM_PROVIDER": "anthropic",
                "GAAI_LLM_MODEL": "m",
                "ANTHROPIC_API_KEY": "k",
                "GAAI_LLM_MAX_ATTEMPTS": "0",
            },
            "bad_setting",
            "GAAI_LLM_MAX_ATTEMPTS='0': expected a whole number > 0",
        ),
        (
            {
                "GAAI_LLM_PROVIDER": "openai",
                "GAAI_LLM_MODEL": "m",
                "OPENAI_API_KEY": "k",
                "GAAI_LLM_MAX_TOKENS": "lots",
            },
            "bad_setting",
            "GAAI_LLM_MAX_TOKENS='lots': expected a whole number > 0",
        ),
        (
            {
                "GAAI_LLM_PROVIDER": "anthropic",
                "GAAI_LLM_MODEL": "m",
                "ANTHROPIC_API_KEY": "k",
                "GAAI_LLM_MAX_TOKENS": "-1",
            },
            "bad_setting",
            "GAAI_LLM_MAX_TOKENS='-1': expected a whole number > 0",
        ),
        (
            {"GAAI_LLM_PROVIDER": "openai", "GAAI_LLM_MODEL": "m", "GAAI_LLM_BASE_URL": "localhost:8000/v1"},
            "bad_setting",
            "GAAI_LLM_BASE_URL='localhost:8000/v1': expected an http:// or https:// URL",
        ),
    ],
)
def test_a_bad_llm_setting_is_refused_naming_it(environ, code, message):
    with pytest.raises(GaaiError) as caught:
        provider_from_name(environ["GAAI_LLM_PROVIDER"], environ)
    assert (caught.value.code, caught.value.message) == (code, message)


def test_llm_settings_are_read():
    """Model, base URL, timeout, attempts and answer length come from GAAI_LLM_*; GAAI_LLM_API_KEY wins over the
    vendor's variable."""
    provider = provider_from_name(
        "anthropic",
        {
            "GAAI_LLM_MODEL": "m",
            "GAAI_LLM_BASE_URL": "http://gateway:8080/",
            "GAAI_LLM_API_KEY": "ours",
            "ANTHROPIC_API_KEY": "theirs",
            "GAAI_LLM_TIMEOUT_S": "30",
            "GAAI_LLM_MAX_ATTEMPTS": "6",
            "GAAI_LLM_MAX_TOKENS": "16000",
        },
    )
    assert isinstance(provider, AnthropicProvider)
    assert (
        provider.model,
        provider.base_url,
        provider.api_key,
        provider.timeout_s,
        provider.max_attempts,
        provider.max_tokens,
    ) == ("m", "http://gateway:8080", "ours", 30.0, 6, 16000)
    fallback = provider_from_name("openai", {"GAAI_LLM_MODEL": "m", "OPENAI_API_KEY": "theirs"})
    assert (fallback.base_url, fallback.api_key, fallback.timeout_s, fallback.max_attempts, fallback.max_tokens) == (
        "https://api.openai.com/v1",
        "theirs",
        120.0,
        4,
        4096,
    )
    local = provider_from_name("openai", {"GAAI_LLM_MODEL": "llama3", "GAAI_LLM_BASE_URL": "http://localhost:11434/v1"})
    assert local.api_key is None and local._headers() == {}


async def test_a_local_openai_compatible_server_needs_no_key(connect):
    """With no key there is no Authorization header, and a server that asks none answers."""
    keyless = LlmApiServer(api_key=None)
    await keyless.start()
    try:
        keyless.replies = [answers({"id": "OBJ-1", "text": "x"})]
        provider = connect("openai", api_key=None, base_url=f"{keyless.url}/v1")
        assert (await RecordingLlm(provider, []).ask("objective", "p", Objective)).id == "OBJ-1"
        assert "Authorization" not in keyless.received[0].headers
    finally:
        await keyless.stop()


@pytest.mark.parametrize(
    ("environ", "line"),
    [
        (
            {"GAAI_LLM_PROVIDER": "nope"},
            "gaai-vertical: unknown LLM provider 'nope'; available: offline, openai, anthropic [unknown_llm_provider]",
        ),
        (
            {"GAAI_LLM_PROVIDER": "openai", "GAAI_LLM_API_KEY": "k"},
            "gaai-vertical: GAAI_LLM_MODEL is not set: "
            "the openai provider needs the name of the model to ask [bad_setting]",
        ),
        (
            {
                "GAAI_LLM_PROVIDER": "openai",
                "GAAI_LLM_MODEL": "m",
                "GAAI_LLM_API_KEY": "k",
                "GAAI_LLM_MAX_TOKENS": "4k",
            },
            "gaai-vertical: GAAI_LLM_MAX_TOKENS='4k': expected a whole number > 0 [bad_setting]",
        ),
    ],
)
def test_an_agent_given_a_bad_llm_setting_exits_2_with_one_line(tmp_path, environ, line):
    env = {key: value for key, value in os.environ.items() if not key.startswith("GAAI_LLM_")}
    env.update(environ, GAAI_HOME=str(tmp_path), NATS_URL="nats://127.0.0.1:1")
    done = subprocess.run(
        [sys.executable, "-m", "gaai.agents.vertical"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [line]


def test_the_python_api_takes_the_http_providers_and_refuses_others(home, monkeypatch):
    """llm_provider accepts openai/anthropic; an unknown name is refused at once, a missing model before anything
    starts."""
    with pytest.raises(GaaiError) as unknown:
        AgenticWorkflowRunner(llm_provider="gpt")
    assert (
        unknown.value.code == "unknown_llm_provider"
        and "available: offline, openai, anthropic" in unknown.value.message
    )
    monkeypatch.delenv("GAAI_LLM_MODEL", raising=False)
    monkeypatch.setenv("GAAI_LLM_API_KEY", "k")
    runner = AgenticWorkflowRunner(graph_name="ecommerce", llm_provider="anthropic")
    with pytest.raises(GaaiError) as caught:
        runner.run(input_documents=[{"content": "Find influential customers."}])
    assert caught.value.code == "bad_setting" and "GAAI_LLM_MODEL" in caught.value.message
    assert not (home / "logs").exists(), "no process was started"


def test_the_python_api_takes_the_provider_from_the_environment_when_not_given(monkeypatch):
    """Without llm_provider the runner uses GAAI_LLM_PROVIDER, as `gaai run` does; an argument wins over it."""
    monkeypatch.setenv("GAAI_LLM_PROVIDER", "anthropic")
    assert AgenticWorkflowRunner(graph_name="ecommerce").llm_provider == "anthropic"
    assert AgenticWorkflowRunner(graph_name="ecommerce", llm_provider="offline").llm_provider == "offline"
    monkeypatch.delenv("GAAI_LLM_PROVIDER")
    assert AgenticWorkflowRunner(graph_name="ecommerce").llm_provider == "offline"


# ---------------------------------------------------------------- the vertical agent's question


LENDING_BRIEF = (
    "Our lending desk must see how payments flow between customers before it extends a loan. "
    "We want the customers whose payments reach the most others, and the groups that pay one another."
)


async def choose_vertical_with(llm: RecordingLlm, home: Path) -> VerticalResult:
    """The vertical agent's result in auto mode for LENDING_BRIEF on the sample e-commerce graph."""
    store = EmbeddedStore(home)
    ensure_sample_graph(store, "ecommerce")
    ctx = DocumentsAtHand(workflow_id="wf", task_id="wf.vertical", attempt=1, store=store, llm=llm, home=home)
    return await vertical.handle(
        VerticalTask(graph_name="ecommerce", documents=[ctx.hand("brief.md", LENDING_BRIEF)]), ctx
    )


async def test_a_model_chooses_a_builtin_vertical_and_gets_it_as_written(server, connect, tmp_path):
    """In auto mode the model is shown every built-in vertical and asked for a name out of them: its
    answer "fintech" yields the built-in fintech profile, with the evidence auto mode reports."""
    server.replies = [
        answers({"name": "fintech", "reason": "The brief is about loans and payments between customers."})
    ]
    calls: list[LlmCall] = []
    result = await choose_vertical_with(RecordingLlm(connect("openai"), calls), tmp_path)
    builtin = builtin_verticals()["fintech"]
    assert msgspec.structs.replace(result.vertical, matched_terms=[], score=0.0, reason="") == builtin
    assert (result.vertical.matched_terms, result.vertical.score) == (["customer", "payment", "lending", "loan"], 9.0)
    assert result.vertical.reason == "The brief is about loans and payments between customers."
    [request] = server.received
    schema = request.body["response_format"]["json_schema"]["schema"]
    assert schema["properties"]["name"] == {"enum": ["adtech", "ecommerce", "fintech", "fraud", "generic", "social"]}
    assert sorted(schema["required"]) == ["name", "reason"]
    for name, profile in builtin_verticals().items():
        assert f"- {name} ({profile.display_name}): {profile.description}\n" in request.prompt
    assert LENDING_BRIEF in request.prompt and "customers, products, categories" in request.prompt
    assert [call.purpose for call in calls] == ["vertical"]


async def test_a_vertical_that_is_not_built_in_twice_is_chosen_by_the_rules(server, connect, tmp_path):
    """A name outside the built-ins does not fit the schema: sent back once with the error; a second such answer
    leaves the choice to the rules, and the call record says so."""
    server.replies = [answers({"name": "lending", "reason": "loans"}), answers({"name": "banking", "reason": "loans"})]
    calls: list[LlmCall] = []
    result = await choose_vertical_with(RecordingLlm(connect("anthropic"), calls), tmp_path)
    offline = await choose_vertical_with(RecordingLlm(OfflineProvider(), []), tmp_path / "offline")
    assert result == offline
    assert "Invalid enum value 'lending' - at `$.name`" in server.received[1].prompt
    assert [call.notes for call in calls] == [
        [],
        ["vertical chosen by rules: the model's answer did not fit the expected shape, twice"],
    ]


async def test_a_vertical_name_repaired_on_the_second_answer_is_used(server, connect, tmp_path):
    """An invented name sent back with the error and answered with a built-in one: that built-in."""
    server.replies = [
        answers({"name": "lending", "reason": "loans"}),
        answers({"name": "generic", "reason": "no industry fits"}),
    ]
    result = await choose_vertical_with(RecordingLlm(connect("openai"), []), tmp_path)
    assert msgspec.structs.replace(result.vertical, reason="") == builtin_verticals()["generic"]
    assert result.vertical.reason == "no industry fits"
    assert len(server.received) == 2


# ---------------------------------------------------------------- the use-case agent's question


FOLLOWERS = GraphSchema(
    graph_name="followers",
    vertex_collections=[CollectionInfo(name="customers", kind="vertex", count=30)],
    edge_collections=[CollectionInfo(name="follows", kind="edge", count=60, role="edge")],
    edge_definitions=[
        EdgeDefinition(collection="follows", from_collections=["customers"], to_collections=["customers"], count=60)
    ],
    core_collections=["customers"],
    satellite_collections=[],
    total_vertices=30,
    total_edges=60,
)


@pytest.mark.parametrize("kind", ["openai", "anthropic"])
async def test_the_use_cases_prompt_asks_for_the_object_its_schema_describes(server, connect, kind, tmp_path):
    """The use cases, a list, travel inside {"items": ...} in the schema sent, and the prompt asks for
    that object rather than a bare array; the answer comes back as the list."""
    proposed = {
        "id": "UC-001",
        "title": "Influential customers",
        "description": "PageRank over follows.",
        "algorithm": "pagerank",
        "reason": "most influential customers",
        "requirement_ids": ["REQ-1"],
        "priority": "high",
        "focus_collections": ["customers"],
    }
    server.replies = [answers({"items": [proposed]})]
    task = UseCasesTask(
        requirements=RequirementsDoc(
            requirements=[Requirement(id="REQ-1", text="Find the most influential customers.", priority="high")]
        ),
        schema=FOLLOWERS,
        vertical=builtin_verticals()["social"],
    )
    ctx = DocumentsAtHand(
        workflow_id="wf",
        task_id="wf.use_cases",
        attempt=1,
        store=EmbeddedStore(tmp_path),
        llm=RecordingLlm(connect(kind), []),
        home=tmp_path,
    )
    result = await use_cases.handle(task, ctx)
    assert result.use_cases == [UseCase(**proposed, planned_by="model")]
    assert (result.planned_by, result.notes) == ("model", [])
    [request] = server.received
    schema = (
        request.body["tools"][0]["input_schema"]
        if kind == "anthropic"
        else request.body["response_format"]["json_schema"]["schema"]
    )
    [wrapper] = schema["required"]
    assert f'Answer with a JSON object {{"{wrapper}": [...]}} whose list holds the use cases' in request.prompt


# ---------------------------------------------------------------- a whole workflow


DEMO_REQUIREMENTS = {
    "objectives": [{"id": "OBJ-001", "text": "Grow sales through word of mouth", "source": "asks.md"}],
    "requirements": [
        {
            "id": "REQ-001",
            "text": "We must find the most influential customers.",
            "priority": "high",
            "source": "asks.md",
        },
        {
            "id": "REQ-002",
            "text": "We should detect communities of customers who buy together.",
            "priority": "medium",
            "source": "asks.md",
        },
    ],
    "documents": ["asks.md"],
    "domain_terms": ["customers", "communities"],
}
DEMO_USE_CASES = [
    {
        "id": "UC-001",
        "title": "Most influential customers",
        "description": "Rank customers by influence.",
        "algorithm": "pagerank",
        "reason": "most influential customers",
        "requirement_ids": ["REQ-001"],
        "priority": "high",
        "focus_collections": ["customers"],
    },
    {
        "id": "UC-002",
        "title": "Communities of customers",
        "description": "Group customers who buy together.",
        "algorithm": "louvain",
        "reason": "communities of customers",
        "requirement_ids": ["REQ-002"],
        "priority": "medium",
        "focus_collections": ["customers"],
    },
]


class DemoGraphModel:
    """Answers each purpose of the demo workflow, told apart by the schema name it is sent; the
    report is written from the figures in the prompt. Keeps the token counts it reported."""

    def __init__(self) -> None:
        self.served: list[tuple[str, int, int]] = []

    async def __call__(self, received: Received) -> web.Response:
        purpose = received.body["response_format"]["json_schema"]["name"]
        answer = {
            "vertical": lambda: {"name": "ecommerce", "reason": "Customers buying products and following one another."},
            "requirements": lambda: DEMO_REQUIREMENTS,
            "use_cases": lambda: {"items": DEMO_USE_CASES},
            "reporting": lambda: self._report(received.prompt),
        }[purpose]()
        content = json.dumps(answer)
        tokens = (len(received.prompt) // 4 + 11, len(content) // 4 + 3)
        self.served.append((purpose, *tokens))
        return web.json_response(openai_body(content, tokens))

    @staticmethod
    def _report(prompt: str) -> dict:
        figures = json.loads(re.search(r"^Figures: (.*)$", prompt, re.MULTILINE).group(1))
        return {
            "report_id": f"RPT-{figures['template_id']}",
            "template_id": figures["template_id"],
            "execution_id": figures["execution_id"],
            "title": f"Served report: {figures['algorithm']}",
            "summary": (
                f"{figures['algorithm']} ran over {figures['vertex_count']} vertices and {figures['edge_count']} edges."
            ),
            "algorithm": figures["algorithm"],
            "insights": [
                {
                    "title": "Coverage",
                    "text": "Every vertex was scored.",
                    "confidence": 0.9,
                    "evidence": {"vertices": figures["vertex_count"]},
                }
            ],
            "recommendations": [{"text": "Act on the top of the ranking first.", "priority": "high"}],
        }


async def test_a_workflow_runs_on_an_openai_compatible_model(home, server, monkeypatch, tmp_path):
    """The Python API with llm_provider="openai": every agent asks the served model, the reports are its
    answers, and the recorded calls carry its token counts, model and price."""
    model = DemoGraphModel()
    server.replies = [model]
    prices = tmp_path / "prices.json"
    prices.write_text(json.dumps({SERVED_MODEL: {"input_per_million": 3.0, "output_per_million": 15.0}}))
    monkeypatch.setenv("GAAI_LLM_MODEL", "requested-model")
    monkeypatch.setenv("GAAI_LLM_BASE_URL", f"{server.url}/v1")
    monkeypatch.setenv("GAAI_LLM_API_KEY", API_KEY)
    monkeypatch.setenv("GAAI_LLM_PRICES", str(prices))
    monkeypatch.delenv("GAAI_LLM_PROVIDER", raising=False)
    runner = AgenticWorkflowRunner(graph_name="ecommerce", llm_provider="openai", max_executions=2)
    text = "We must find the most influential customers. We should detect communities of customers who buy together."
    state = await runner.run_async(input_documents=[{"content": text, "name": "asks.md"}])
    assert state.status == "completed", state.errors
    assert sorted(report.title for report in state.reports) == ["Served report: louvain", "Served report: pagerank"]
    assert all(re.fullmatch(r"\w+ ran over \d+ vertices and \d+ edges\.", report.summary) for report in state.reports)
    calls = [call for task in state.progress.tasks for call in task.llm_calls]
    assert {call.purpose for call in calls} == {"vertical", "requirements", "use_cases", "reporting"}
    assert sorted((call.purpose, call.tokens_in, call.tokens_out) for call in calls) == sorted(model.served)
    for call in calls:
        assert (call.provider, call.model, call.tokens_estimated, call.priced) == ("openai", SERVED_MODEL, False, True)
        assert call.cost_usd == pytest.approx((call.tokens_in * 3.0 + call.tokens_out * 15.0) / 1e6)
    logs = "".join(path.read_text() for path in (home / "logs").glob("*.log"))
    assert "Unclosed client session" not in logs and "Traceback" not in logs
