"""A local server speaking the OpenAI and Anthropic wire protocols, for the HTTP LLM providers' tests.

No real API is reachable here, so ``LlmApiServer`` plays one: it checks each request as
the real API would (path, credentials, version header, model, max_tokens, the schema or
tool it was given) and answers with bodies shaped like the real responses, ``usage``
included. A request the real API would refuse gets that API's error, so a client that
sends the wrong thing fails its test. ``Reply`` functions below script its answers.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

from aiohttp import web

API_KEY = "sk-test-5f0c2a9e7d1b"
SERVED_MODEL = "served-model-2024-06"
_SCHEMA_NAME = re.compile(r"\A[A-Za-z0-9_-]{1,64}\Z")
# What llama-cpp-python's server answers (HTTP 500) to a json_schema response format.
LLAMA_CPP_REFUSAL = (
    "1 validation error for CreateChatCompletionRequest\nresponse_format.type\n  Input should be 'text' or "
    "'json_object' [type=literal_error, input_value='json_schema', input_type=str]"
)


@dataclass
class Received:
    at: float
    path: str
    headers: Mapping[str, str]
    body: dict

    @property
    def prompt(self) -> str:
        return self.body["messages"][-1]["content"]


Reply = Callable[[Received], Awaitable[web.Response]]


class LlmApiServer:
    """A local HTTP server for ``/v1/chat/completions`` (OpenAI) and ``/v1/messages`` (Anthropic).

    ``replies`` are used in order, the last one for every request after it. ``structured_forms``
    are the OpenAI structured-output forms it takes; a ``json_schema`` it does not take is refused
    as llama-cpp-python's server does (HTTP 500, ``Input should be 'text' or 'json_object'``).
    ``context_length``, when set, is reported by ``GET /v1/models`` as llama.cpp-based servers do.
    """

    def __init__(self, api_key: str | None = API_KEY) -> None:
        self.api_key = api_key
        self.refuses_max_tokens = False
        self.structured_forms = {"json_schema", "json_object", "tool"}
        self.context_length: int | None = None
        self.received: list[Received] = []
        self.replies: list[Reply] = []
        self._runner: web.AppRunner | None = None
        self.url = ""

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self._openai)
        app.router.add_post("/v1/messages", self._anthropic)
        app.router.add_get("/v1/models", self._models)
        # A client that gave up on a slow answer cancels its handler, so stopping never waits for it.
        self._runner = web.AppRunner(app, handler_cancellation=True)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self.url = f"http://{host}:{port}"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _openai(self, request: web.Request) -> web.Response:
        received = await self._receive(request)
        if self.api_key and request.headers.get("Authorization") != f"Bearer {self.api_key}":
            given = request.headers.get("Authorization", "").removeprefix("Bearer ")
            return openai_error(
                401, f"Incorrect API key provided: {given}. You can find your API key in your account settings."
            )
        if self.refuses_max_tokens and "max_tokens" in received.body:
            return openai_error(
                400,
                "Unsupported parameter: 'max_tokens' is not supported with this model. "
                "Use 'max_completion_tokens' instead.",
            )
        problem = _openai_request_problem(received.body)
        if problem:
            return openai_error(400, problem)
        form = structured_form(received.body)
        if form is not None and form not in self.structured_forms:
            if form == "json_schema":
                return openai_error(500, LLAMA_CPP_REFUSAL)
            field = "tool_choice" if form == "tool" else f"response_format {form}"
            return openai_error(400, f"{field} is not supported by this server")
        return await self._next_reply(received)

    async def _models(self, request: web.Request) -> web.Response:
        model = {"id": SERVED_MODEL, "object": "model", "owned_by": "local"}
        if self.context_length is not None:
            model["meta"] = {"n_ctx_train": self.context_length, "n_params": 134515008}
        return web.json_response({"object": "list", "data": [model]})

    async def _anthropic(self, request: web.Request) -> web.Response:
        received = await self._receive(request)
        if self.api_key and request.headers.get("x-api-key") != self.api_key:
            return anthropic_error(401, "invalid x-api-key")
        if request.headers.get("anthropic-version") != "2023-06-01":
            return anthropic_error(
                400, f"anthropic-version: unsupported value {request.headers.get('anthropic-version')!r}"
            )
        problem = _anthropic_request_problem(received.body)
        if problem:
            return anthropic_error(400, problem)
        return await self._next_reply(received)

    async def _receive(self, request: web.Request) -> Received:
        received = Received(at=time.monotonic(), path=request.path, headers=request.headers, body=await request.json())
        self.received.append(received)
        return received

    async def _next_reply(self, received: Received) -> web.Response:
        reply = self.replies.pop(0) if len(self.replies) > 1 else self.replies[0]
        return await reply(received)


def _openai_request_problem(body: dict) -> str:
    if not isinstance(body.get("model"), str) or not body["model"]:
        return "you must provide a model parameter"
    limit = body.get("max_tokens", body.get("max_completion_tokens"))
    if not isinstance(limit, int) or limit < 1 or {"max_tokens", "max_completion_tokens"} <= set(body):
        return "max_tokens: expected an integer >= 1"
    messages = body.get("messages")
    if (
        not messages
        or any(set(m) != {"role", "content"} or m["role"] not in ("system", "user") for m in messages)
        or messages[-1]["role"] != "user"
    ):
        return "messages: expected optional system and a user message"
    for field, kind in (("temperature", float), ("seed", int)):
        if field in body and not isinstance(body[field], (int, kind)):
            return f"{field}: expected a number"
    response_format = body.get("response_format")
    if response_format is not None and response_format.get("type") == "json_object":
        if response_format.get("schema", {}).get("type") != "object":
            return "response_format.schema: expected the JSON Schema of an object"
    elif response_format is not None:
        spec = response_format.get("json_schema", {})
        if response_format.get("type") != "json_schema" or not _SCHEMA_NAME.match(spec.get("name", "")):
            return "response_format.json_schema.name: expected [A-Za-z0-9_-]{1,64}"
        if spec.get("schema", {}).get("type") != "object" or spec.get("strict") is not False:
            return "response_format.json_schema: schema must be an object at the top; strict false expected here"
    tools = body.get("tools")
    if tools is not None:
        names = [tool.get("function", {}).get("name", "") for tool in tools if tool.get("type") == "function"]
        if len(names) != len(tools) or not all(_SCHEMA_NAME.match(name) for name in names):
            return "tools[0].function.name: expected [A-Za-z0-9_-]{1,64}"
        if any(tool["function"].get("parameters", {}).get("type") != "object" for tool in tools):
            return "tools[0].function.parameters: expected the JSON Schema of an object"
        choice = body.get("tool_choice", {})
        if choice.get("type") != "function" or choice.get("function", {}).get("name") not in names:
            return "tool_choice: names a function that is not in tools"
    return ""


def structured_form(body: dict) -> str | None:
    """How an OpenAI request asks for structured output: json_schema, json_object, tool, or not at all."""
    if "tools" in body:
        return "tool"
    return body.get("response_format", {}).get("type")


def _anthropic_request_problem(body: dict) -> str:
    if not isinstance(body.get("model"), str) or not body["model"]:
        return "model: Field required"
    if not isinstance(body.get("max_tokens"), int) or body["max_tokens"] < 1:
        return "max_tokens: Field required"
    if not isinstance(body.get("system", ""), str):
        return "system: Input should be a valid string"
    messages = body.get("messages")
    if not messages or messages[-1].get("role") != "user" or not isinstance(messages[-1].get("content"), str):
        return "messages: the last message must be the user's"
    tools = body.get("tools", [])
    for tool in tools:
        if not _SCHEMA_NAME.match(tool.get("name", "")) or tool.get("input_schema", {}).get("type") != "object":
            return "tools.0.input_schema.type: Input should be 'object'"
    choice = body.get("tool_choice")
    if choice is not None and (choice.get("type") != "tool" or choice.get("name") not in {t["name"] for t in tools}):
        return "tool_choice: names a tool that is not in tools"
    return ""


def openai_error(status: int, message: str, headers: dict[str, str] | None = None) -> web.Response:
    body = {
        "error": {
            "message": message,
            "type": "invalid_request_error" if status < 500 else "server_error",
            "param": None,
            "code": None,
        }
    }
    return web.json_response(body, status=status, headers=headers)


def anthropic_error(status: int, message: str, headers: dict[str, str] | None = None) -> web.Response:
    kinds = {
        400: "invalid_request_error",
        401: "authentication_error",
        429: "rate_limit_error",
        529: "overloaded_error",
    }
    return web.json_response(
        {"type": "error", "error": {"type": kinds.get(status, "api_error"), "message": message}},
        status=status,
        headers=headers,
    )


def openai_body(content: str, tokens: tuple[int, int], model: str = SERVED_MODEL) -> dict:
    return {
        "id": "chatcmpl-9Xy7",
        "object": "chat.completion",
        "created": 1718000000,
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content, "refusal": None},
                "logprobs": None,
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": tokens[0], "completion_tokens": tokens[1], "total_tokens": sum(tokens)},
        "system_fingerprint": "fp_3b9c",
    }


def anthropic_body(answer: object, tool: str, tokens: tuple[int, int], model: str = SERVED_MODEL) -> dict:
    return {
        "id": "msg_01XFDUDYJgAACzvnptvVoYEL",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [{"type": "tool_use", "id": "toolu_01A09q90qw90lq917835lq9", "name": tool, "input": answer}],
        "stop_reason": "tool_use",
        "stop_sequence": None,
        "usage": {"input_tokens": tokens[0], "output_tokens": tokens[1]},
    }


def answers(answer: object, tokens: tuple[int, int] = (1200, 300), *, raw: bool = False) -> Reply:
    """Answer ``answer`` in whichever protocol and form was asked: OpenAI as message content (JSON text
    unless ``raw``) or as the forced function call's arguments, Anthropic as the forced tool's input."""

    async def reply(received: Received) -> web.Response:
        if received.path == "/v1/messages":
            return web.json_response(anthropic_body(answer, received.body["tool_choice"]["name"], tokens))
        return web.json_response(openai_reply(received, answer if raw else json.dumps(answer), tokens))

    return reply


def openai_reply(received: Received, content: str, tokens: tuple[int, int]) -> dict:
    """``content`` as the message, or as the arguments of the function the request forced a call of."""
    body = openai_body(content, tokens)
    if structured_form(received.body) == "tool":
        name = received.body["tool_choice"]["function"]["name"]
        call = {"id": "call_7Qe2", "type": "function", "function": {"name": name, "arguments": content}}
        body["choices"][0]["message"].update(content=None, tool_calls=[call])
        body["choices"][0]["finish_reason"] = "tool_calls"
    return body


def cut_off(partial_text: str, partial_input: object) -> Reply:
    """What the API sends when the answer reached ``max_tokens``: that many tokens out, marked as
    stopped by the limit (OpenAI ``finish_reason: length``, Anthropic ``stop_reason: max_tokens``)."""

    async def reply(received: Received) -> web.Response:
        tokens = (900, received.body["max_tokens"])
        if received.path == "/v1/messages":
            body = anthropic_body(partial_input, received.body["tool_choice"]["name"], tokens)
            body["stop_reason"] = "max_tokens"
        else:
            body = openai_body(partial_text, tokens)
            body["choices"][0]["finish_reason"] = "length"
        return web.json_response(body)

    return reply


def fails(status: int, message: str, headers: dict[str, str] | None = None) -> Reply:
    async def reply(received: Received) -> web.Response:
        error = anthropic_error if received.path == "/v1/messages" else openai_error
        return error(status, message, headers)

    return reply


def sleeps(seconds: float) -> Reply:
    async def reply(received: Received) -> web.Response:
        await asyncio.sleep(seconds)
        return web.json_response(openai_body("{}", (1, 1)))

    return reply
