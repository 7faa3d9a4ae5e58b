"""Language-model access for agents: one provider interface, every call recorded.

An agent asks for a typed answer: ``await llm.ask(purpose, prompt, response_type, context)``.
The provider returns JSON text, which is decoded and validated into ``response_type``
the same way whichever provider answered.

The default provider is ``OfflineProvider``: deterministic, no network, no key. It
answers from the request's structured ``context`` with the rule-based function the agent
registered for that purpose (``offline_responder``), so the offline path runs the same
pipeline as an HTTP model would, and is recorded as a call of provider ``offline`` with
estimated token counts and zero cost. HTTP providers implement ``LlmProvider.complete``
with the prompt and ignore ``context``.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TypeVar

import msgspec

from bus.contract import LlmCall
from bus.errors import TaskError
from telemetry.tracing import span

T = TypeVar("T")

_OFFLINE_RESPONDERS: dict[str, Callable[[Any], object]] = {}


@dataclass(frozen=True)
class LlmRequest:
    purpose: str
    prompt: str
    system: str = ""
    max_tokens: int = 2048
    context: Any = None


@dataclass(frozen=True)
class LlmResponse:
    text: str
    model: str
    tokens_in: int
    tokens_out: int
    tokens_estimated: bool = False


class LlmProvider(Protocol):
    name: str
    model: str

    async def complete(self, request: LlmRequest) -> LlmResponse: ...


class PriceTable:
    """USD per million input and output tokens, per model.

    Loaded from the JSON file named by ``GAAI_LLM_PRICES``
    (``{"model": {"input_per_million": 3.0, "output_per_million": 15.0}}``); the offline
    provider's model costs nothing. A model with no price is costed at zero and says so
    in the call record (``priced=False``), rather than guessed.
    """

    def __init__(self, prices: dict[str, tuple[float, float]] | None = None) -> None:
        self.prices = {OfflineProvider.model: (0.0, 0.0), **(prices or {})}

    @classmethod
    def from_env(cls) -> "PriceTable":
        path = os.environ.get("GAAI_LLM_PRICES")
        if not path:
            return cls()
        try:
            raw = msgspec.json.decode(Path(path).read_bytes(), type=dict[str, dict[str, float]])
            return cls({model: (p["input_per_million"], p["output_per_million"]) for model, p in raw.items()})
        except (OSError, msgspec.DecodeError, msgspec.ValidationError, KeyError) as exc:
            raise TaskError("bad_price_table", f"GAAI_LLM_PRICES={path}: {exc}") from None

    def cost(self, model: str, tokens_in: int, tokens_out: int) -> float | None:
        if model not in self.prices:
            return None
        per_in, per_out = self.prices[model]
        return (tokens_in * per_in + tokens_out * per_out) / 1_000_000


def offline_responder(purpose: str) -> Callable[[Callable[[Any], T]], Callable[[Any], T]]:
    """Register the deterministic function that answers ``purpose`` offline."""

    def register(function: Callable[[Any], T]) -> Callable[[Any], T]:
        _OFFLINE_RESPONDERS[purpose] = function
        return function

    return register


def estimate_tokens(text: str) -> int:
    """About four characters per token, the usual rule of thumb for English text."""
    return max(1, (len(text) + 3) // 4) if text else 0


class OfflineProvider:
    """Answers with the registered rule-based function for the request's purpose."""

    name = "offline"
    model = "offline-rules"

    async def complete(self, request: LlmRequest) -> LlmResponse:
        responder = _OFFLINE_RESPONDERS.get(request.purpose)
        if responder is None:
            raise TaskError("llm_unavailable", f"the offline provider has no answer for {request.purpose!r}")
        text = msgspec.json.encode(responder(request.context)).decode()
        return LlmResponse(
            text=text,
            model=self.model,
            tokens_in=estimate_tokens(request.system) + estimate_tokens(request.prompt),
            tokens_out=estimate_tokens(text),
            tokens_estimated=True,
        )


class RecordingLlm:
    """The LLM handle an agent gets: calls the provider, validates, records every call."""

    def __init__(self, provider: LlmProvider, calls: list[LlmCall], prices: PriceTable | None = None) -> None:
        self.provider = provider
        self.calls = calls
        self.prices = prices or PriceTable()

    async def ask(self, purpose: str, prompt: str, response_type: type[T], *, context: Any = None, system: str = "") -> T:
        request = LlmRequest(purpose=purpose, prompt=prompt, system=system, context=context)
        with span(f"chat {self.provider.model}", **{"gen_ai.operation.name": "chat", "gen_ai.system": self.provider.name, "gen_ai.request.model": self.provider.model, "gaai.llm.purpose": purpose}) as current:
            started = time.perf_counter()
            response = await self.provider.complete(request)
            latency_ms = (time.perf_counter() - started) * 1000
            cost = self.prices.cost(response.model, response.tokens_in, response.tokens_out)
            call = LlmCall(
                purpose=purpose,
                provider=self.provider.name,
                model=response.model,
                tokens_in=response.tokens_in,
                tokens_out=response.tokens_out,
                latency_ms=latency_ms,
                cost_usd=cost or 0.0,
                tokens_estimated=response.tokens_estimated,
                priced=cost is not None,
            )
            current.set_attributes(
                {
                    "gen_ai.response.model": call.model,
                    "gen_ai.usage.input_tokens": call.tokens_in,
                    "gen_ai.usage.output_tokens": call.tokens_out,
                    "gaai.llm.cost_usd": call.cost_usd,
                    "gaai.llm.tokens_estimated": call.tokens_estimated,
                }
            )
        self.calls.append(call)
        try:
            return msgspec.json.decode(response.text, type=response_type)
        except (msgspec.ValidationError, msgspec.DecodeError) as exc:
            raise TaskError("llm_bad_output", f"{self.provider.name} answered {purpose!r} with invalid output: {exc}", retryable=True) from None


def provider_from_name(name: str) -> LlmProvider:
    """The provider called ``name``; only ``offline`` exists until HTTP providers land."""
    if name in ("offline", "", None):
        return OfflineProvider()
    raise TaskError("unknown_llm_provider", f"unknown LLM provider {name!r}; available: offline")
