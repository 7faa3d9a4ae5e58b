"""Language-model access for agents: one provider interface, every call recorded.

An agent asks for a typed answer: ``await llm.ask(purpose, prompt, response_type, context)``.
The provider gets the response type's JSON Schema and returns JSON text, which is
decoded and validated into ``response_type`` the same way whichever provider answered;
an answer that does not fit is sent back to the model once with the validation error
before the call fails.

The default provider is ``OfflineProvider``: deterministic, no network, no key. It
answers from the request's structured ``context`` with the rule-based function the agent
registered for that purpose (``offline_responder``), so the offline path runs the same
pipeline as an HTTP model would, and is recorded as a call of provider ``offline`` with
estimated token counts and zero cost. The HTTP providers (``agents.lib.llm_http``) send the
prompt and the schema and ignore ``context``.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TypeVar

import msgspec

from gaai.bus.contract import LlmCall
from gaai.bus.errors import TaskError
from gaai.telemetry.tracing import span

T = TypeVar("T")

LLM_PROVIDERS = ("offline", "openai", "anthropic")

_OFFLINE_RESPONDERS: dict[str, Callable[[Any], object]] = {}
_CODE_FENCE = re.compile(r"\A```[A-Za-z]*[ \t]*\n(.*?)\n?```\Z", re.DOTALL)


@dataclass(frozen=True)
class LlmRequest:
    """One question to a model; ``response_schema`` is the JSON Schema its answer must fit."""

    purpose: str
    prompt: str
    system: str = ""
    context: Any = None
    response_schema: dict | None = None


@dataclass(frozen=True)
class LlmResponse:
    text: str
    model: str
    tokens_in: int
    tokens_out: int
    tokens_estimated: bool = False
    cut_off: bool = False
    """The API stopped the answer at its token limit, so ``text`` is incomplete."""


class LlmProvider(Protocol):
    name: str
    model: str

    async def complete(self, request: LlmRequest) -> LlmResponse: ...

    async def close(self) -> None:
        """Release connections; the agent calls it once when it stops."""
        ...


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
    def from_env(cls, environ: Mapping[str, str] | None = None) -> PriceTable:
        path = (os.environ if environ is None else environ).get("GAAI_LLM_PRICES")
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
            raise TaskError(
                "llm_unavailable", f"the offline provider has no answer for {request.purpose!r}", retryable=False
            )
        text = msgspec.json.encode(responder(request.context)).decode()
        return LlmResponse(
            text=text,
            model=self.model,
            tokens_in=estimate_tokens(request.system) + estimate_tokens(request.prompt),
            tokens_out=estimate_tokens(text),
            tokens_estimated=True,
        )

    async def close(self) -> None:
        """Nothing to release: the offline provider holds no connections."""


def strip_code_fence(text: str) -> str:
    """The JSON inside a Markdown code fence (```json … ```), which models often add; other text as is."""
    fenced = _CODE_FENCE.match(text.strip())
    return fenced.group(1) if fenced else text


@functools.cache
def response_schema(response_type: type) -> dict:
    """The JSON Schema of ``response_type`` (shared: callers must not change it)."""
    return msgspec.json.schema(response_type)


class RecordingLlm:
    """The LLM handle an agent gets: calls the provider, validates, records every call."""

    def __init__(self, provider: LlmProvider, calls: list[LlmCall], prices: PriceTable | None = None) -> None:
        self.provider = provider
        self.calls = calls
        self.prices = prices or PriceTable()

    async def ask(
        self, purpose: str, prompt: str, response_type: type[T], *, context: Any = None, system: str = ""
    ) -> T:
        """The model's answer to ``prompt`` as a validated ``response_type``.

        An answer that does not decode into ``response_type`` is sent back once with the
        validation error; both calls are recorded.

        Raises:
            TaskError: ``llm_bad_output`` (retryable) when the repaired answer is invalid
                too; ``llm_answer_truncated`` (not retryable) when an answer was cut off at
                the token limit; the provider's own errors as it raised them.
        """
        request = LlmRequest(
            purpose=purpose,
            prompt=prompt,
            system=system,
            context=context,
            response_schema=response_schema(response_type),
        )
        try:
            return _decode(await self._complete(request), response_type)
        except (msgspec.ValidationError, msgspec.DecodeError) as exc:
            problem = str(exc)
        repair = dataclasses.replace(
            request, prompt=f"{prompt}\n\nYour previous answer was invalid: {problem}. Answer again with JSON only."
        )
        try:
            return _decode(await self._complete(repair), response_type)
        except (msgspec.ValidationError, msgspec.DecodeError) as exc:
            raise TaskError(
                "llm_bad_output",
                f"{self.provider.name} answered {purpose!r} with invalid output twice: {problem}; "
                f"after being told so: {exc}",
                retryable=True,
            ) from None

    async def _complete(self, request: LlmRequest) -> str:
        with span(
            f"chat {self.provider.model}",
            **{
                "gen_ai.operation.name": "chat",
                "gen_ai.system": self.provider.name,
                "gen_ai.request.model": self.provider.model,
                "gaai.llm.purpose": request.purpose,
            },
        ) as current:
            started = time.perf_counter()
            response = await self.provider.complete(request)
            latency_ms = (time.perf_counter() - started) * 1000
            cost = self.prices.cost(response.model, response.tokens_in, response.tokens_out)
            call = LlmCall(
                purpose=request.purpose,
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
        if response.cut_off:
            # Asking again, for a repair or on redelivery, hits the same limit and pays for it again.
            raise TaskError(
                "llm_answer_truncated",
                f"{self.provider.name} stopped its {request.purpose!r} answer at the token limit "
                f"({response.tokens_out} tokens) "
                "before it was complete; raise GAAI_LLM_MAX_TOKENS",
            )
        return response.text


def _decode(text: str, response_type: type[T]) -> T:
    return msgspec.json.decode(strip_code_fence(text), type=response_type)
