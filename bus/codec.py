"""One JSON encoder and one typed decoder per message type, built once at import."""

from __future__ import annotations

from typing import TypeVar

import msgspec

from bus import contract
from bus.errors import RequestError

T = TypeVar("T")

_encoder = msgspec.json.Encoder()

task_decoder = msgspec.json.Decoder(contract.TaskEnvelope)
result_decoder = msgspec.json.Decoder(contract.ResultEnvelope)
event_decoder = msgspec.json.Decoder(contract.Event)
submit_decoder = msgspec.json.Decoder(contract.SubmitRequest)
status_decoder = msgspec.json.Decoder(contract.StatusRequest)
cancel_decoder = msgspec.json.Decoder(contract.CancelRequest)
retry_decoder = msgspec.json.Decoder(contract.RetryRequest)
dead_letter_decoder = msgspec.json.Decoder(contract.DeadLetter)
progress_decoder = msgspec.json.Decoder(contract.WorkflowProgress)
class ReplyDecoder:
    """Decodes an answer that is either ``reply_type`` or an ``ErrorReply``."""

    def __init__(self, reply_type: type) -> None:
        self._decoder = msgspec.json.Decoder(reply_type)

    def decode(self, data: bytes):
        probe = msgspec.json.decode(data)
        if isinstance(probe, dict) and "error" in probe:
            return msgspec.convert(probe, contract.ErrorReply)
        return self._decoder.decode(data)


submit_reply_decoder = ReplyDecoder(contract.SubmitReply)
status_reply_decoder = ReplyDecoder(contract.WorkflowProgress)


def encode(message: object) -> bytes:
    return _encoder.encode(message)


def decode_request(decoder: msgspec.json.Decoder, data: bytes) -> T:
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
                raise RequestError("bad_request", f"invalid request: {field} must not contain a newline - at `$.{field}`")
