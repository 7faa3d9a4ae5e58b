"""HTTP language-model providers: OpenAI-compatible Chat Completions and Anthropic Messages.

Both send the request's JSON Schema so the model answers in shape: the OpenAI protocol
as a ``json_schema`` response format, Anthropic as the input schema of one tool the model
is made to call. An OpenAI-compatible server that refuses ``json_schema`` (a 400/422/500
whose error names the response format, as llama-cpp-python's does) is asked once more with
``json_object`` carrying the schema, then with a forced tool call; the provider keeps the
form that was accepted. Both protocols want an object at the top of the schema, so an answer of
another shape (``list[UseCase]``) is asked for inside ``{"items": …}`` and handed back
without it (``ObjectSchema``).

Transport failures are handled here, answers' content in ``RecordingLlm``:

* 429, 408, 409, 5xx, connection errors and timeouts are retried with exponential backoff
  and jitter, waiting what ``Retry-After`` asks when the server says; after
  ``max_attempts`` the call fails with ``llm_unavailable`` (retryable: the task is
  redelivered later).
* 401/403 fail at once with ``llm_auth``; 400, 404 and other client errors, and a 5xx whose
  error names the structured-output form asked for, with ``llm_request_rejected``. Retrying
  cannot change the answer, so neither is retryable.
  One exception: an OpenAI model that refuses ``max_tokens`` and asks for
  ``max_completion_tokens`` (OpenAI's newer models do) is asked again at once with that
  field, and the provider keeps using it.
* An answer the API stopped at the token limit (``max_tokens``, ``GAAI_LLM_MAX_TOKENS``)
  is handed back marked ``cut_off``, and ``RecordingLlm`` fails the call with
  ``llm_answer_truncated`` rather than judging half an answer.

Each answer's ``max_tokens`` is the request's budget capped by ``GAAI_LLM_MAX_TOKENS``;
``GAAI_LLM_TEMPERATURE`` and ``GAAI_LLM_SEED`` (OpenAI protocol only: Anthropic has no seed)
are sent when set. ``context_tokens`` is ``GAAI_LLM_CONTEXT_TOKENS``, else what an
OpenAI-compatible server's ``/models`` reports for the model, else the vendor's (128k OpenAI, 200k
Anthropic) at the vendor's own URL and ``DEFAULT_CONTEXT_TOKENS`` at any other.

Every message names the provider, the HTTP status and the provider's own error text,
with the API key cut out should the provider echo it.
"""

from __future__ import annotations

import asyncio
import math
import random
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import aiohttp
import msgspec

from gaai.agents.lib.llm import LlmRequest, LlmResponse, estimate_tokens, strip_code_fence
from gaai.bus.errors import GaaiError, TaskError
from gaai.bus.settings import parse_setting

__all__ = ["AnthropicProvider", "ObjectSchema", "OpenAICompatibleProvider", "http_provider_from_env"]

OPENAI_BASE_URL = "https://api.openai.com/v1"
ANTHROPIC_BASE_URL = "https://api.anthropic.com"
ANTHROPIC_VERSION = "2023-06-01"
DEFAULT_TIMEOUT_S = 120.0
DEFAULT_MAX_ATTEMPTS = 4
# Room for the longest answers asked (the requirements of a long document, a report), and
# no more than older models (Claude 3, GPT-3.5) may write in one answer.
DEFAULT_MAX_TOKENS = 4096
DEFAULT_BACKOFF_S = 1.0
# The smallest context window current local models commonly have, for a server at its own base URL that
# does not report one; a larger model's is set with GAAI_LLM_CONTEXT_TOKENS.
DEFAULT_CONTEXT_TOKENS = 8192
# A wait longer than this is better spent with the task back in the queue than holding a slot.
MAX_RETRY_AFTER_S = 60.0
# The answer of a response type that is not a JSON object travels under this one property.
WRAPPER_PROPERTY = "items"

_BACKOFF_CAP_S = 30.0
_SUCCESSOR_FIELD = "max_completion_tokens"
_RETRYABLE_STATUSES = frozenset({408, 409, 429})
_SCHEMA_NAME = re.compile(r"[^A-Za-z0-9_-]")
_ERROR_TEXT_LIMIT = 500
# An error that names the structured-output form (or the forced tool): the server cannot take it, however often asked.
_NAMES_RESPONSE_FORMAT = re.compile(r"response_format|json_schema|json_object|tool.?choice", re.IGNORECASE)
# The structured-output forms of the OpenAI protocol, in the order they are tried.
_STRUCTURED_FORMS = ("json_schema", "json_object", "tool")
# Where OpenAI-compatible servers put the context window in /models (vLLM, LM Studio, llama.cpp, others).
_CONTEXT_FIELDS = ("context_length", "max_model_len", "context_window", "max_context_length", "n_ctx", "n_ctx_train")


@dataclass(frozen=True)
class ObjectSchema:
    """A response schema with an object at its top, and how to take an answer back out of it.

    A schema whose top is a ``$ref`` to an object (any msgspec Struct) is inlined; any
    other shape is wrapped as the one required property ``items`` of an object.
    """

    schema: dict
    wrapped: bool

    @classmethod
    def of(cls, schema: dict) -> ObjectSchema:
        definitions = schema.get("$defs", {})
        top = {key: value for key, value in schema.items() if key != "$defs"}
        if set(top) == {"$ref"}:
            top = dict(definitions[top["$ref"].rsplit("/", 1)[-1]])
        wrapped = top.get("type") != "object"
        if wrapped:
            top = {"type": "object", "properties": {WRAPPER_PROPERTY: top}, "required": [WRAPPER_PROPERTY]}
        return cls(schema={**top, "$defs": definitions} if definitions else top, wrapped=wrapped)

    def unwrap(self, answer: Any) -> Any:
        """The answer without its wrapper; an answer not in the wrapper is left for validation to judge."""
        if self.wrapped and isinstance(answer, dict) and set(answer) == {WRAPPER_PROPERTY}:
            return answer[WRAPPER_PROPERTY]
        return answer

    def unwrap_text(self, text: str) -> str:
        if not self.wrapped:
            return text
        try:
            answer = msgspec.json.decode(strip_code_fence(text))
        except msgspec.DecodeError:
            return text
        return msgspec.json.encode(self.unwrap(answer)).decode()


def schema_name(purpose: str) -> str:
    """``purpose`` as the protocols allow a schema or tool to be named (``[A-Za-z0-9_-]{1,64}``)."""
    return _SCHEMA_NAME.sub("_", purpose)[:64] or "answer"


class _HttpProvider:
    """What both protocols share: one session, the retry loop, errors named after the provider.

    Args:
        model: The model to ask; the one that answered is taken from each response.
        base_url: The API's base URL; the vendor's public one when not given.
        api_key: Sent in the protocol's header; ``None`` sends none.
        timeout_s: Longest wait for one answer, body included.
        max_attempts: Requests per question, the first included.
        max_tokens: The longest answer the model may write, in tokens.
        backoff_s: The first retry's wait before jitter; it doubles per retry, up to 30 s.
        temperature: Sent when given.
        seed: Sent when given and the protocol has one.
        context_tokens: The model's context window; asked of the server when not given.
    """

    name: ClassVar[str]
    default_base_url: ClassVar[str]
    api_key_variable: ClassVar[str]
    vendor_context_tokens: ClassVar[int]
    """The context window of the vendor's current models, assumed at the vendor's own base URL."""

    def __init__(
        self,
        *,
        model: str,
        base_url: str | None = None,
        api_key: str | None = None,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
        max_tokens: int = DEFAULT_MAX_TOKENS,
        backoff_s: float = DEFAULT_BACKOFF_S,
        temperature: float | None = None,
        seed: int | None = None,
        context_tokens: int | None = None,
    ) -> None:
        self.model = model
        self.base_url = (base_url or self.default_base_url).rstrip("/")
        self.api_key = api_key
        self.timeout_s = timeout_s
        self.max_attempts = max_attempts
        self.max_tokens = max_tokens
        self.backoff_s = backoff_s
        self.temperature = temperature
        self.seed = seed
        self._context_tokens = context_tokens
        self._session: aiohttp.ClientSession | None = None

    async def context_tokens(self) -> int:
        """The model's context window: as configured, else as the server reports it, else the default."""
        if self._context_tokens is None:
            assumed = self.vendor_context_tokens if self.base_url == self.default_base_url else DEFAULT_CONTEXT_TOKENS
            self._context_tokens = await self._reported_context_tokens() or assumed
        return self._context_tokens

    async def _reported_context_tokens(self) -> int | None:
        """What the server says the model's context window is; Anthropic's API says nothing of it."""
        return None

    def _answer_tokens(self, request: LlmRequest) -> int:
        return min(request.max_tokens or self.max_tokens, self.max_tokens)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _http(self) -> aiohttp.ClientSession:
        # Made on first use, so it belongs to the loop the agent runs its tasks on.
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.timeout_s))
        return self._session

    def _headers(self) -> dict[str, str]:
        raise NotImplementedError

    async def _post(self, path: str, body: dict) -> bytes:
        """The body of a successful POST to ``base_url + path``, retrying what may pass."""
        url = self.base_url + path
        last_problem = ""
        for attempt in range(1, self.max_attempts + 1):
            asked: float | None = None
            try:
                async with self._http().post(url, json=body, headers=self._headers()) as response:
                    payload = await response.read()
                    if response.status < 300:
                        return payload
                    last_problem = f"HTTP {response.status}: {self._error_text(payload)}"
                    if response.status >= 500 and _NAMES_RESPONSE_FORMAT.search(last_problem):
                        raise TaskError(
                            "llm_request_rejected", f"{self.name} at {url} cannot answer in this form ({last_problem})"
                        )
                    if response.status in (401, 403):
                        raise TaskError("llm_auth", f"{self.name} at {url} refused the credentials ({last_problem})")
                    if response.status not in _RETRYABLE_STATUSES and response.status < 500:
                        raise TaskError(
                            "llm_request_rejected", f"{self.name} at {url} rejected the request ({last_problem})"
                        )
                    asked = _retry_after_s(response.headers.get("Retry-After"))
                    if asked is not None and asked > MAX_RETRY_AFTER_S:
                        raise TaskError(
                            "llm_unavailable",
                            f"{self.name} at {url} asked to retry after {asked:g} s ({last_problem})",
                            retryable=True,
                        )
            except TimeoutError:
                last_problem = f"no answer within {self.timeout_s:g} s"
            except (aiohttp.ClientConnectionError, aiohttp.ClientPayloadError) as exc:
                last_problem = f"{type(exc).__name__}: {exc}"
            if attempt < self.max_attempts:
                await asyncio.sleep(self._backoff(attempt) if asked is None else asked)
        raise TaskError(
            "llm_unavailable",
            f"{self.name} at {url} failed {self.max_attempts} attempts; last: {last_problem}",
            retryable=True,
        )

    def _backoff(self, attempt: int) -> float:
        """Exponential, with half of it random so replicas that failed together spread out."""
        ceiling = min(_BACKOFF_CAP_S, self.backoff_s * 2 ** (attempt - 1))
        return ceiling / 2 + random.uniform(0, ceiling / 2)

    def _error_text(self, payload: bytes) -> str:
        """The provider's own error message (``{"error": {"message": …}}`` or ``{"error": "…"}``), else the body."""
        try:
            error = msgspec.json.decode(payload).get("error")
        except (msgspec.DecodeError, AttributeError):
            error = None
        if isinstance(error, dict) and isinstance(error.get("message"), str):
            text = error["message"]
        elif isinstance(error, str):
            text = error
        else:
            text = payload.decode(errors="replace").strip()[:_ERROR_TEXT_LIMIT] or "(empty body)"
        return text.replace(self.api_key, "[API key]") if self.api_key else text

    def _decoded(self, payload: bytes, shape: type[Any]) -> Any:
        try:
            return msgspec.json.decode(payload, type=shape)
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            raise TaskError(
                "llm_bad_response",
                f"{self.name} at {self.base_url} answered in a shape its protocol does not have ({exc}); "
                "check GAAI_LLM_BASE_URL",
            ) from None


class _OpenAIFunctionCall(msgspec.Struct):
    arguments: str = ""


class _OpenAIToolCall(msgspec.Struct):
    function: _OpenAIFunctionCall


class _OpenAIMessage(msgspec.Struct):
    content: str | None = None
    tool_calls: list[_OpenAIToolCall] | None = None


class _OpenAIChoice(msgspec.Struct):
    message: _OpenAIMessage
    finish_reason: str | None = None


class _OpenAIUsage(msgspec.Struct):
    prompt_tokens: int
    completion_tokens: int


class _ChatCompletion(msgspec.Struct):
    choices: list[_OpenAIChoice]
    model: str = ""
    usage: _OpenAIUsage | None = None


class OpenAICompatibleProvider(_HttpProvider):
    """The OpenAI Chat Completions protocol: OpenAI, and servers speaking it (vLLM, Ollama, LM Studio, gateways).

    No API key means no ``Authorization`` header, for local servers that ask none.
    """

    name = "openai"
    default_base_url = OPENAI_BASE_URL
    api_key_variable = "OPENAI_API_KEY"
    vendor_context_tokens = 128_000

    def __init__(self, **settings: Any) -> None:
        super().__init__(**settings)
        # OpenAI's newer models refuse max_tokens and name its successor in the 400; servers
        # that speak the older protocol (vLLM, Ollama…) may not know the successor.
        self._token_limit_field = "max_tokens"
        self._structured_form = _STRUCTURED_FORMS[0]

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}

    async def _reported_context_tokens(self) -> int | None:
        """The context window ``/models`` reports for the model (or its only model); ``None`` when it says none."""
        try:
            async with self._http().get(self.base_url + "/models", headers=self._headers()) as response:
                listing = msgspec.json.decode(await response.read()) if response.status < 300 else {}
        except (TimeoutError, aiohttp.ClientError, msgspec.DecodeError):
            return None
        models = [m for m in (listing.get("data") or []) if isinstance(m, dict)] if isinstance(listing, dict) else []
        entry = next((m for m in models if m.get("id") == self.model), models[0] if len(models) == 1 else None)
        if entry is None:
            return None
        for place in (entry, entry.get("meta") or {}):
            for field in _CONTEXT_FIELDS:
                value = place.get(field) if isinstance(place, dict) else None
                if isinstance(value, int) and value > 0:
                    return value
        return None

    async def complete(self, request: LlmRequest) -> LlmResponse:
        shape = ObjectSchema.of(request.response_schema) if request.response_schema else None
        messages = [{"role": "system", "content": request.system}] if request.system else []
        messages.append({"role": "user", "content": request.prompt})
        body: dict[str, Any] = {"model": self.model, "messages": messages}
        if self.temperature is not None:
            body["temperature"] = self.temperature
        if self.seed is not None:
            body["seed"] = self.seed
        if shape is None:
            return self._response(request, None, await self._ask(body, self._answer_tokens(request)))
        while True:
            form = self._structured_form
            try:
                payload = await self._ask(
                    {**body, **self._structured(form, request, shape)}, self._answer_tokens(request)
                )
            except TaskError as exc:
                later = _STRUCTURED_FORMS.index(form) + 1
                if exc.code != "llm_request_rejected" or not _NAMES_RESPONSE_FORMAT.search(exc.message):
                    raise
                if later == len(_STRUCTURED_FORMS):
                    raise TaskError(
                        "llm_request_rejected",
                        f"{exc.message}; it refused every structured-output form: {', '.join(_STRUCTURED_FORMS)}",
                    ) from None
                self._structured_form = _STRUCTURED_FORMS[later]
                continue
            return self._response(request, shape, payload)

    @staticmethod
    def _structured(form: str, request: LlmRequest, shape: ObjectSchema) -> dict[str, Any]:
        """The request fields that ask for an answer fitting ``shape`` in ``form``."""
        name = schema_name(request.purpose)
        if form == "json_schema":
            return {
                "response_format": {
                    "type": "json_schema",
                    "json_schema": {"name": name, "schema": shape.schema, "strict": False},
                }
            }
        if form == "json_object":
            return {"response_format": {"type": "json_object", "schema": shape.schema}}
        function = {"name": name, "description": f"Record the {request.purpose} answer.", "parameters": shape.schema}
        return {
            "tools": [{"type": "function", "function": function}],
            "tool_choice": {"type": "function", "function": {"name": name}},
        }

    async def _ask(self, body: dict[str, Any], answer_tokens: int) -> bytes:
        """POST ``body`` with the answer limit in the field the model takes."""
        try:
            return await self._post("/chat/completions", {**body, self._token_limit_field: answer_tokens})
        except TaskError as exc:
            if (
                exc.code != "llm_request_rejected"
                or self._token_limit_field != "max_tokens"
                or _SUCCESSOR_FIELD not in exc.message
            ):
                raise
            self._token_limit_field = _SUCCESSOR_FIELD
            return await self._post("/chat/completions", {**body, _SUCCESSOR_FIELD: answer_tokens})

    def _response(self, request: LlmRequest, shape: ObjectSchema | None, payload: bytes) -> LlmResponse:
        completion = self._decoded(payload, _ChatCompletion)
        choice = completion.choices[0] if completion.choices else None
        message = choice.message if choice else None
        if message is not None and message.tool_calls:
            text = message.tool_calls[0].function.arguments
        else:
            text = (message.content or "") if message else ""
        if completion.usage is None:  # some compatible servers leave usage out
            tokens_in, tokens_out, estimated = (
                estimate_tokens(request.system) + estimate_tokens(request.prompt),
                estimate_tokens(text),
                True,
            )
        else:
            tokens_in, tokens_out, estimated = completion.usage.prompt_tokens, completion.usage.completion_tokens, False
        return LlmResponse(
            text=shape.unwrap_text(text) if shape else text,
            model=completion.model or self.model,
            tokens_in=tokens_in,
            tokens_out=tokens_out,
            tokens_estimated=estimated,
            cut_off=choice is not None and choice.finish_reason == "length",
        )


class _AnthropicBlock(msgspec.Struct):
    type: str
    text: str = ""
    input: Any = None


class _AnthropicUsage(msgspec.Struct):
    input_tokens: int
    output_tokens: int


class _AnthropicMessage(msgspec.Struct):
    content: list[_AnthropicBlock]
    usage: _AnthropicUsage
    model: str = ""
    stop_reason: str | None = None


class AnthropicProvider(_HttpProvider):
    """The Anthropic Messages API; the answer is the input of the one tool the model must call."""

    name = "anthropic"
    default_base_url = ANTHROPIC_BASE_URL
    api_key_variable = "ANTHROPIC_API_KEY"
    vendor_context_tokens = 200_000

    def _headers(self) -> dict[str, str]:
        return {"x-api-key": self.api_key or "", "anthropic-version": ANTHROPIC_VERSION}

    async def complete(self, request: LlmRequest) -> LlmResponse:
        shape = ObjectSchema.of(request.response_schema) if request.response_schema else None
        body: dict[str, Any] = {
            "model": self.model,
            "max_tokens": self._answer_tokens(request),
            "messages": [{"role": "user", "content": request.prompt}],
        }
        if self.temperature is not None:
            body["temperature"] = self.temperature
        if request.system:
            body["system"] = request.system
        if shape is not None:
            tool = schema_name(request.purpose)
            body["tools"] = [
                {"name": tool, "description": f"Record the {request.purpose} answer.", "input_schema": shape.schema}
            ]
            body["tool_choice"] = {"type": "tool", "name": tool}
        message = self._decoded(await self._post("/v1/messages", body), _AnthropicMessage)
        tool_uses = [block.input for block in message.content if block.type == "tool_use"]
        if shape is not None and tool_uses:
            text = msgspec.json.encode(shape.unwrap(tool_uses[0])).decode()
        else:
            text = "".join(block.text for block in message.content if block.type == "text")
        return LlmResponse(
            text=text,
            model=message.model or self.model,
            tokens_in=message.usage.input_tokens,
            tokens_out=message.usage.output_tokens,
            cut_off=message.stop_reason == "max_tokens",
        )


_HTTP_PROVIDERS: dict[str, type[_HttpProvider]] = {"openai": OpenAICompatibleProvider, "anthropic": AnthropicProvider}


def http_provider_from_env(name: str, environ: Mapping[str, str]) -> OpenAICompatibleProvider | AnthropicProvider:
    """The HTTP provider ``name`` configured by ``GAAI_LLM_MODEL``, ``GAAI_LLM_BASE_URL``,
    ``GAAI_LLM_API_KEY`` (else ``OPENAI_API_KEY`` / ``ANTHROPIC_API_KEY``), ``GAAI_LLM_TIMEOUT_S``,
    ``GAAI_LLM_MAX_ATTEMPTS``, ``GAAI_LLM_MAX_TOKENS``, ``GAAI_LLM_TEMPERATURE``, ``GAAI_LLM_SEED`` and
    ``GAAI_LLM_CONTEXT_TOKENS``. An OpenAI-compatible server at its own base
    URL may need no key.

    Raises:
        GaaiError: ``bad_setting``, naming the variable that is missing or wrong.
    """
    provider = _HTTP_PROVIDERS[name]
    model = environ.get("GAAI_LLM_MODEL")
    if not model:
        raise GaaiError(
            "bad_setting", f"GAAI_LLM_MODEL is not set: the {name} provider needs the name of the model to ask"
        )
    base_url = environ.get("GAAI_LLM_BASE_URL") or None
    if base_url is not None and not base_url.startswith(("http://", "https://")):
        raise GaaiError("bad_setting", f"GAAI_LLM_BASE_URL={base_url!r}: expected an http:// or https:// URL")
    api_key = environ.get("GAAI_LLM_API_KEY") or environ.get(provider.api_key_variable) or None
    if api_key is None and not (provider is OpenAICompatibleProvider and base_url is not None):
        raise GaaiError(
            "bad_setting", f"no API key for the {name} provider: set GAAI_LLM_API_KEY or {provider.api_key_variable}"
        )
    timeout = environ.get("GAAI_LLM_TIMEOUT_S")
    attempts = environ.get("GAAI_LLM_MAX_ATTEMPTS")
    max_tokens = environ.get("GAAI_LLM_MAX_TOKENS")
    temperature = environ.get("GAAI_LLM_TEMPERATURE")
    seed = environ.get("GAAI_LLM_SEED")
    context_tokens = environ.get("GAAI_LLM_CONTEXT_TOKENS")
    return provider(
        model=model,
        base_url=base_url,
        api_key=api_key,
        timeout_s=parse_setting("GAAI_LLM_TIMEOUT_S", float, timeout) if timeout else DEFAULT_TIMEOUT_S,
        max_attempts=parse_setting("GAAI_LLM_MAX_ATTEMPTS", int, attempts) if attempts else DEFAULT_MAX_ATTEMPTS,
        max_tokens=parse_setting("GAAI_LLM_MAX_TOKENS", int, max_tokens) if max_tokens else DEFAULT_MAX_TOKENS,
        temperature=parse_setting("GAAI_LLM_TEMPERATURE", float, temperature) if temperature else None,
        seed=parse_setting("GAAI_LLM_SEED", int, seed) if seed else None,
        context_tokens=parse_setting("GAAI_LLM_CONTEXT_TOKENS", int, context_tokens) if context_tokens else None,
    )


def _retry_after_s(value: str | None) -> float | None:
    """``Retry-After`` in seconds; an HTTP date or anything else unreadable means no advice."""
    try:
        seconds = float(value) if value is not None else None
    except ValueError:
        return None
    return seconds if seconds is not None and math.isfinite(seconds) and seconds >= 0 else None
