"""LLM calls: typed answers, every call recorded with tokens, latency and a priced cost."""

from __future__ import annotations

import json

import msgspec
import pytest

from gaai.agents.lib.llm import (
    OfflineProvider,
    PriceTable,
    RecordingLlm,
    estimate_tokens,
    offline_responder,
    strip_code_fence,
)
from gaai.bus.contract import LlmCall
from gaai.bus.domain import Objective
from gaai.bus.errors import TaskError
from tests.agents.contexts import ScriptedProvider


@offline_responder("test.objective")
def _objective(text: str) -> Objective:
    return Objective(id="OBJ-1", text=text.upper())


async def test_offline_answer_is_validated_and_recorded():
    """The offline provider answers from the registered rule; the call is recorded at zero cost."""
    calls: list[LlmCall] = []
    llm = RecordingLlm(OfflineProvider(), calls)
    answer = await llm.ask("test.objective", "prompt text " * 10, Objective, context="grow sales")
    assert answer == Objective(id="OBJ-1", text="GROW SALES")
    [call] = calls
    assert call.provider == "offline" and call.cost_usd == 0.0 and call.priced
    assert call.tokens_in == estimate_tokens("prompt text " * 10) and call.tokens_estimated
    assert call.tokens_out == estimate_tokens(
        json.dumps({"id": "OBJ-1", "text": "GROW SALES", "source": ""}, separators=(",", ":"))
    )


async def test_cost_comes_from_the_price_table():
    """Cost = tokens × the configured price per million, per model."""
    calls: list[LlmCall] = []
    llm = RecordingLlm(ScriptedProvider('{"id": "OBJ-2", "text": "x"}'), calls, PriceTable({"scripted-1": (3.0, 15.0)}))
    await llm.ask("anything", "p", Objective)
    assert calls[0].cost_usd == pytest.approx(1200 * 3.0 / 1e6 + 300 * 15.0 / 1e6)
    assert calls[0].priced and not calls[0].tokens_estimated


async def test_unpriced_model_says_so():
    """A model missing from the price table is recorded as unpriced, not guessed."""
    calls: list[LlmCall] = []
    await RecordingLlm(ScriptedProvider('{"id": "OBJ-2", "text": "x"}'), calls).ask("anything", "p", Objective)
    assert calls[0].cost_usd == 0.0 and calls[0].priced is False


async def test_invalid_model_output_is_a_retryable_error_and_still_recorded():
    """Output that still does not fit the schema when sent back raises llm_bad_output (retryable); both calls count."""
    calls: list[LlmCall] = []
    with pytest.raises(TaskError) as caught:
        await RecordingLlm(ScriptedProvider('{"id": 5}'), calls).ask("anything", "p", Objective)
    assert caught.value.code == "llm_bad_output" and caught.value.retryable
    assert "Expected `str`, got `int` - at `$.id`" in caught.value.message
    assert len(calls) == 2


async def test_the_provider_is_given_the_response_types_schema():
    """Each request carries the JSON Schema of the type asked for, so an HTTP model can answer in shape."""
    provider = ScriptedProvider('[{"id": "OBJ-2", "text": "x"}]')
    answer = await RecordingLlm(provider, []).ask("anything", "p", list[Objective])
    assert answer == [Objective(id="OBJ-2", text="x")]
    [request] = provider.requests
    assert request.response_schema == msgspec.json.schema(list[Objective])


def test_a_markdown_code_fence_around_json_is_removed():
    """Models often fence their JSON; the fence goes, anything else stays as it was."""
    assert strip_code_fence('```json\n{"a": 1}\n```') == '{"a": 1}'
    assert strip_code_fence("  ```\n[1]```\n") == "[1]"
    assert strip_code_fence('{"a": "```"}') == '{"a": "```"}'


def test_price_table_file(tmp_path, monkeypatch):
    """GAAI_LLM_PRICES names a JSON file of per-million prices; a broken file is a clear error."""
    path = tmp_path / "prices.json"
    path.write_text('{"m": {"input_per_million": 1.0, "output_per_million": 2.0}}')
    monkeypatch.setenv("GAAI_LLM_PRICES", str(path))
    assert PriceTable.from_env().cost("m", 1_000_000, 500_000) == pytest.approx(2.0)
    path.write_text('{"m": {"input_per_million": "cheap"}}')
    with pytest.raises(TaskError) as caught:
        PriceTable.from_env()
    assert caught.value.code == "bad_price_table"
