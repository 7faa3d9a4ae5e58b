"""One JSON encoder and one typed decoder per message type, built once at import.

Also the decoding of what a request carries beyond its own type: an ``industry`` name (aliases resolved) and a
custom vertical, with errors that name the offending field.
"""

from __future__ import annotations

import re
from typing import Generic, TypeVar

import msgspec

from gaai.bus import contract
from gaai.bus.errors import RequestError, TaskError

T = TypeVar("T")
R = TypeVar("R")

_encoder = msgspec.json.Encoder()

task_decoder = msgspec.json.Decoder(contract.TaskEnvelope)
result_decoder = msgspec.json.Decoder(contract.ResultEnvelope)
event_decoder = msgspec.json.Decoder(contract.Event)
submit_decoder = msgspec.json.Decoder(contract.SubmitRequest)
status_decoder = msgspec.json.Decoder(contract.StatusRequest)
cancel_decoder = msgspec.json.Decoder(contract.CancelRequest)
retry_decoder = msgspec.json.Decoder(contract.RetryRequest)
dead_letter_decoder = msgspec.json.Decoder(contract.DeadLetter)
lineage_decoder = msgspec.json.Decoder(contract.LineageRequest)


class ReplyDecoder(Generic[R]):
    """Decodes an answer that is either ``reply_type`` or an ``ErrorReply``."""

    def __init__(self, reply_type: type[R]) -> None:
        self._decoder = msgspec.json.Decoder(reply_type)

    def decode(self, data: bytes) -> R | contract.ErrorReply:
        probe = msgspec.json.decode(data)
        if isinstance(probe, dict) and "error" in probe:
            return msgspec.convert(probe, contract.ErrorReply)
        return self._decoder.decode(data)


submit_reply_decoder = ReplyDecoder(contract.SubmitReply)
status_reply_decoder = ReplyDecoder(contract.WorkflowProgress)
lineage_reply_decoder = ReplyDecoder(contract.LineageReply)


def encode(message: object) -> bytes:
    return _encoder.encode(message)


def decode_request(decoder: msgspec.json.Decoder[T], data: bytes) -> T:
    """Decode a client request, turning any decoding problem into a ``bad_request`` error.

    msgspec names the JSON path of the offending value (``$.documents[0].content``), which
    is the most useful thing we can tell a client in another language.
    """
    try:
        request = decoder.decode(data)
    except msgspec.ValidationError as exc:
        raise RequestError("bad_request", f"invalid request: {exc}") from None
    except (msgspec.DecodeError, UnicodeDecodeError) as exc:
        raise RequestError("bad_request", f"request body is not valid JSON: {exc}") from None
    except RecursionError:
        raise RequestError("bad_request", "request body is nested too deeply") from None
    _reject_trailing_newlines(request)
    return request


_NAME_FIELDS = ("graph_name", "workflow_id", "core_collections", "satellite_collections")


def _reject_trailing_newlines(request: object) -> None:
    """Names and ids are matched with ``$``, which Python also lets match before a final newline."""
    for field in _NAME_FIELDS:
        value = getattr(request, field, None)
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, str) and "\n" in item:
                raise RequestError(
                    "bad_request", f"invalid request: {field} must not contain a newline - at `$.{field}`"
                )


def industry_name(industry: str) -> str:
    """The built-in vertical an ``industry`` value names (aliases resolved), or ``"auto"``.

    Raises:
        TaskError: ``unknown_vertical`` listing the accepted values.
    """
    key = re.sub(r"[\s\-]+", "_", industry.strip().lower())
    if key in ("", "auto"):
        return "auto"
    name = contract.INDUSTRY_ALIASES.get(key, key)
    if name not in contract.VERTICAL_NAMES:
        raise TaskError("unknown_vertical", f"unknown industry {industry!r}; use {industry_choices()}")
    return name


def industry_choices() -> str:
    """The accepted ``industry`` values in a few words, for help texts and errors."""
    aliases = ", ".join(sorted(contract.INDUSTRY_ALIASES))
    return f"auto or one of: {', '.join(contract.VERTICAL_NAMES)} (aliases: {aliases})"


def decode_custom_vertical(data: object) -> contract.CustomVertical:
    """``data``, a decoded JSON object, as a custom vertical.

    Raises:
        TaskError: ``bad_vertical`` naming the first missing or malformed field, e.g.
            ``invalid vertical: patterns.pagerank.title is missing``.
    """
    try:
        return msgspec.convert(data, contract.CustomVertical)
    except msgspec.ValidationError as exc:
        raise TaskError("bad_vertical", f"invalid vertical: {_field_problem(str(exc), data)}") from None


_LOCATED = re.compile(r"^(?P<problem>.*?)(?: - at `\$(?P<path>[^`]*)`)?$", re.DOTALL)
_WANTED = {
    "str": "a string",
    "object": "an object",
    "object | null": "an object",
    "array": "a list",
    "int | float | str": "a string or a number",
}
_JSON_TYPES = {bool: "bool", int: "int", float: "float", str: "str", type(None): "null", list: "array", dict: "object"}


def _field_problem(message: str, data: object) -> str:
    """msgspec's validation message said as ``<field path> <problem>``, the path written ``a.b[2].c``."""
    located = _LOCATED.match(message)
    if located is None:
        return message
    problem, path = located["problem"], (located["path"] or "").lstrip(".")
    if missing := re.fullmatch(r"Object missing required field `(.+)`", problem):
        return f"{_join(path, missing[1])} is missing"
    if unknown := re.fullmatch(r"Object contains unknown field `(.+)`", problem):
        return f"{_join(path, unknown[1])} is not an algorithm; known algorithms: {', '.join(contract.ALGORITHM_NAMES)}"
    if wrong := re.fullmatch(r"Expected `(.+)`, got `(.+)`", problem):
        wanted, got = wrong.groups()
        return f"{_named_keys(path, data, got) or 'vertical'} must be {_WANTED.get(wanted, wanted)}, got {got}"
    if problem.startswith("Expected `str` matching regex"):
        return f"{path} must be a non-empty string"
    return f"{path or 'vertical'}: {problem}"


def _join(path: str, field: str) -> str:
    return f"{path}.{field}" if path else field


def _named_keys(path: str, data: object, got: str) -> str:
    """``path`` with each ``[...]`` (a value in a mapping) named by the key of the first value of JSON type ``got``."""
    steps, node = [], data
    for name, index, in_mapping in re.findall(r"([^.\[\]]+)|\[(\d+)\]|\[(\.\.\.)\]", path):
        if in_mapping:
            entries = node.items() if isinstance(node, dict) else ()
            wrong = [key for key, value in entries if _JSON_TYPES.get(type(value)) == got]
            name = wrong[0] if wrong else "..."
        steps.append(f"[{index}]" if index else f".{name}")
        node = _child(node, int(index) if index else name)
    return "".join(steps).lstrip(".")


def _child(node: object, key: str | int) -> object:
    if isinstance(node, dict):
        return node.get(key)
    if isinstance(node, list) and isinstance(key, int) and key < len(node):
        return node[key]
    return None
