"""Asking the orchestrator's request endpoints: one request, its typed reply, or a clear error.

Shared by the Python client and by the agents that need a workflow's status (the catalog).
"""

from __future__ import annotations

from typing import TypeVar, cast

import nats.errors

from gaai.bus import subjects
from gaai.bus.codec import ReplyDecoder, encode, status_reply_decoder
from gaai.bus.connection import Bus
from gaai.bus.contract import ErrorCode, ErrorReply, StatusRequest, WorkflowProgress
from gaai.bus.errors import BusError, RequestError

R = TypeVar("R")


async def ask(bus: Bus, subject: str, request: object, decoder: ReplyDecoder[R], timeout: float) -> R:
    """The reply to ``request`` on ``subject``, decoded by ``decoder``.

    Raises:
        BusError: ``no_orchestrator`` when nothing serves the subject, ``timeout`` without an answer in time.
        RequestError: the error the orchestrator answered, or ``too_large`` for a request over the server's limit.
    """
    try:
        message = await bus.nc.request(subject, encode(request), timeout=timeout)
    except nats.errors.NoRespondersError:
        raise BusError(
            "no_orchestrator", f"no orchestrator is serving {subject}; start one with 'gaai up' or 'gaai orchestrator'"
        ) from None
    except (TimeoutError, nats.errors.TimeoutError):
        raise BusError("timeout", f"no answer on {subject} within {timeout:g} s") from None
    except nats.errors.MaxPayloadError as exc:
        raise RequestError("too_large", f"request too large for the server: {exc}") from None
    reply = decoder.decode(message.data)
    if isinstance(reply, ErrorReply):
        # Relayed as received: a newer orchestrator may answer with a code this client does not list.
        raise RequestError(cast(ErrorCode, reply.error.code), reply.error.message, retryable=reply.error.retryable)
    return reply


async def workflow_status(bus: Bus, workflow_id: str, timeout: float) -> WorkflowProgress:
    """The orchestrator's view of one workflow (``RequestError`` ``unknown_workflow`` when it has none)."""
    return await ask(bus, subjects.STATUS, StatusRequest(workflow_id=workflow_id), status_reply_decoder, timeout)
