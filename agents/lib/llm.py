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

Each purpose has an answer budget (``ANSWER_TOKENS``, capped by ``GAAI_LLM_MAX_TOKENS``), and
``prompt_room`` says how much prompt the model's context leaves beside it. ``ask_or_rules``
degrades: an answer cut off or invalid twice, or one its ``judge`` finds unusable, is replaced or
completed by the rules' answer, and the call record and the trace say so and why.
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
from typing import Any, Generic, Literal, Protocol, TypeVar

import msgspec

from gaai.bus.contract import LlmCall
from gaai.bus.errors import TaskError
from gaai.telemetry.tracing import span

T = TypeVar("T")

LLM_PROVIDERS = ("offline", "openai", "anthropic")

ANSWER_TOKENS: dict[str, int] = {"vertical": 256, "use_cases": 2048, "reporting": 2048, "requirements": 4096}
"""The longest answer each purpose needs, in tokens: a vertical is a name and one sentence, a use-case
list about a dozen short objects; requirements grow with the documents. ``GAAI_LLM_MAX_TOKENS`` caps them
and is the budget of any other purpose."""
PROMPT_CHARS_PER_TOKEN = 3
"""Characters per prompt token when sizing a prompt to a context: fewer than prose's four, since names,
ids and JSON tokenise densely, so a prompt sized with it does not overflow."""
PlannedBy = Literal["model", "rules", "model and rules"]
# Answers the model gave but that cannot be used; transport and credential errors are not among them.
_UNUSABLE_ANSWERS = {
    "llm_answer_truncated": "stopped at the token limit before it was complete",
    "llm_bad_output": "did not fit the expected shape, twice",
    "llm_request_rejected": "was refused by its server",
}

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
    max_tokens: int | None = None
    """This answer's budget; the provider sends the smaller of it and its own limit."""


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

    async def context_tokens(self) -> int | None:
        """The model's context window in tokens (prompt and answer), ``None`` when unbounded or unknown."""
        ...

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

    async def context_tokens(self) -> int | None:
        """The rules read any length."""
        return None

    async def close(self) -> None:
        """Nothing to release: the offline provider holds no connections."""


def strip_code_fence(text: str) -> str:
    """The JSON inside a Markdown code fence (```json … ```), which models often add; other text as is."""
    fenced = _CODE_FENCE.match(text.strip())
    return fenced.group(1) if fenced else text


def rules_answer(purpose: str, context: Any) -> Any:
    """The registered rule-based answer to ``purpose`` for ``context``, as the offline provider gives it."""
    return _OFFLINE_RESPONDERS[purpose](context)


@dataclass(frozen=True)
class Answer(Generic[T]):
    """An answer and who gave it; ``note`` says why the rules replaced or completed the model's answer."""

    value: T
    planned_by: PlannedBy
    note: str = ""


class _Identified(Protocol):
    id: str


Identified = TypeVar("Identified", bound=_Identified)


def renumbered(
    items: list[Identified], kept: Callable[[str], object], next_id: Callable[[Identified, set[str]], str]
) -> tuple[list[Identified], list[str]]:
    """A model's items with every id that is not ``kept`` or repeats an earlier one replaced by ``next_id(item,
    taken)`` (an id not in ``taken``); and a phrase per replacement, for the answer's note."""
    taken = {item.id for item in items if kept(item.id)}
    seen: set[str] = set()
    fixed: list[Identified] = []
    renamed: list[str] = []
    for item in items:
        if kept(item.id) and item.id not in seen:
            seen.add(item.id)
            fixed.append(item)
            continue
        new_id = next_id(item, taken)
        taken.add(new_id)
        seen.add(new_id)
        renamed.append(f"{item.id!r} (now {new_id})" if item.id else f"an item with no id (now {new_id})")
        fixed.append(msgspec.structs.replace(item, id=new_id))
    return fixed, renamed


def first_free(prefix: str, taken: set[str]) -> str:
    """``PREFIX-001``, or the first of ``PREFIX-002``… not in ``taken``."""
    number = 1
    while f"{prefix}-{number:03d}" in taken:
        number += 1
    return f"{prefix}-{number:03d}"


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
        self,
        purpose: str,
        prompt: str,
        response_type: type[T],
        *,
        context: Any = None,
        system: str = "",
        notes: list[str] | None = None,
    ) -> T:
        """The model's answer to ``prompt`` as a validated ``response_type``.

        An answer that does not decode into ``response_type`` is sent back once with the
        validation error; both calls are recorded, with ``notes`` (e.g. how the prompt was cut).

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
            max_tokens=ANSWER_TOKENS.get(purpose),
        )
        try:
            return _decode(await self._complete(request, notes or []), response_type)
        except (msgspec.ValidationError, msgspec.DecodeError) as exc:
            problem = str(exc)
        repair = dataclasses.replace(
            request, prompt=f"{prompt}\n\nYour previous answer was invalid: {problem}. Answer again with JSON only."
        )
        try:
            return _decode(await self._complete(repair, notes or []), response_type)
        except (msgspec.ValidationError, msgspec.DecodeError) as exc:
            raise TaskError(
                "llm_bad_output",
                f"{self.provider.name} answered {purpose!r} with invalid output twice: {problem}; "
                f"after being told so: {exc}",
                retryable=True,
            ) from None

    async def ask_or_rules(
        self,
        purpose: str,
        prompt: str,
        response_type: type[T],
        *,
        context: Any,
        done_by_rules: str,
        judge: Callable[[T, Callable[[], T]], Answer[T]] | None = None,
        system: str = "",
        notes: list[str] | None = None,
    ) -> Answer[T]:
        """The model's answer as :meth:`ask` gives it, or the rules' where the model's cannot be used.

        An answer cut off at the token limit or invalid twice is replaced by the rules' answer for
        ``context``; ``judge`` (given the answer and a function returning the rules' answer) checks a
        valid one for meaning and may drop, fix or complete parts of it. Whatever the rules did is
        noted on the call record and in the trace: ``done_by_rules`` names it ("use cases planned by
        rules"), followed by the reason. The offline provider is the rules: its answer is theirs.

        Raises:
            TaskError: as :meth:`ask`, except for the two unusable answers above.
        """

        def rules() -> T:
            with span(f"rules answer {purpose}", **{"gaai.llm.purpose": purpose}):
                return rules_answer(purpose, context)

        if self.provider.name == OfflineProvider.name:
            return Answer(await self.ask(purpose, prompt, response_type, context=context, system=system), "rules")
        room = await self.prompt_room(purpose)
        if room is not None and len(system) + len(prompt) > room:
            note = (
                f"{done_by_rules}: the prompt ({len(system) + len(prompt)} characters) does not fit the model's "
                f"context beside a {purpose!r} answer (room for about {room} characters); it was not sent"
            )
            with span(f"{purpose} answer judged", **{"gaai.llm.purpose": purpose, "gaai.llm.note": note}):
                return Answer(rules(), "rules", note)
        try:
            answer = await self.ask(purpose, prompt, response_type, context=context, system=system, notes=notes)
        except TaskError as exc:
            if exc.code not in _UNUSABLE_ANSWERS:
                raise
            reason = _UNUSABLE_ANSWERS[exc.code]
            if exc.code == "llm_request_rejected":
                reason = f"{reason} ({exc.message})"
            judged = Answer(rules(), "rules", f"{done_by_rules}: the model's answer {reason}")
        else:
            judged = judge(answer, rules) if judge is not None else Answer(answer, "model")
        if judged.note:
            self._note_last_call(purpose, judged.note)
        return judged

    async def prompt_room(self, purpose: str) -> int | None:
        """How many characters of prompt the model's context leaves beside ``purpose``'s answer, ``None``
        when the provider has no limit to tell."""
        window = await self.provider.context_tokens()
        if window is None:
            return None
        # The HTTP providers' own answer limit (GAAI_LLM_MAX_TOKENS); the offline one has none.
        limit = getattr(self.provider, "max_tokens", window)
        answer_tokens = min(ANSWER_TOKENS.get(purpose, limit), limit)
        return max(0, window - answer_tokens) * PROMPT_CHARS_PER_TOKEN

    def _note_last_call(self, purpose: str, note: str) -> None:
        with span(f"{purpose} answer judged", **{"gaai.llm.purpose": purpose, "gaai.llm.note": note}):
            for index in range(len(self.calls) - 1, -1, -1):
                if self.calls[index].purpose == purpose:
                    call = self.calls[index]
                    self.calls[index] = msgspec.structs.replace(call, notes=[*call.notes, note])
                    return

    async def _complete(self, request: LlmRequest, notes: list[str]) -> str:
        with span(
            f"chat {self.provider.model}",
            **{
                "gen_ai.operation.name": "chat",
                "gen_ai.system": self.provider.name,
                "gen_ai.request.model": self.provider.model,
                "gaai.llm.purpose": request.purpose,
                "gaai.llm.notes": notes or None,
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
                notes=list(notes),
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
            limit = getattr(self.provider, "max_tokens", None)
            if request.max_tokens is not None and limit is not None and request.max_tokens < limit:
                advice = f"that is the budget of a {request.purpose!r} answer, GAAI_LLM_MAX_TOKENS only lowers it"
            else:
                advice = "raise GAAI_LLM_MAX_TOKENS"
            raise TaskError(
                "llm_answer_truncated",
                f"{self.provider.name} stopped its {request.purpose!r} answer at the token limit "
                f"({response.tokens_out} tokens) before it was complete; {advice}",
            )
        return response.text


def _decode(text: str, response_type: type[T]) -> T:
    return msgspec.json.decode(strip_code_fence(text), type=response_type)
