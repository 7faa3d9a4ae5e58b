"""Asking the request endpoints (the orchestrator's, the catalog's): one request, its typed reply, or a clear error.

Shared by the Python client, the web gateway and the agents that need a workflow's status (the catalog).
"""

from __future__ import annotations

from typing import TypeVar, cast

import nats.errors

from gaai.bus import subjects
from gaai.bus.codec import ReplyDecoder, encode, lineage_reply_decoder, status_reply_decoder
from gaai.bus.connection import Bus
from gaai.bus.contract import ErrorCode, ErrorReply, LineageReply, LineageRequest, StatusRequest, WorkflowProgress
from gaai.bus.errors import BusError, RequestError

R = TypeVar("R")


async def ask(
    bus: Bus,
    subject: str,
    request: object,
    decoder: ReplyDecoder[R],
    timeout: float,
    unserved: BusError | None = None,
) -> R:
    """The reply to ``request`` on ``subject``, decoded by ``decoder``.

    Raises:
        BusError: ``unserved`` when nothing serves the subject (by default ``no_orchestrator``), ``timeout`` without
            an answer in time.
        RequestError: the error the server answered, or ``too_large`` for a request over the server's limit.
    """
    try:
        message = await bus.nc.request(subject, encode(request), timeout=timeout)
    except nats.errors.NoRespondersError:
        raise unserved or BusError(
            "no_orchestrator", f"no orchestrator is serving {subject}; start one with 'gaai up' or 'gaai orchestrator'"
        ) from None
    except (TimeoutError, nats.errors.TimeoutError):
        raise BusError("timeout", f"no answer on {subject} within {timeout:g} s") from None
    except nats.errors.MaxPayloadError as exc:
        raise RequestError("too_large", f"request too large for the server: {exc}") from None
    reply = decoder.decode(message.data)
    if isinstance(reply, ErrorReply):
        # Relayed as received: a newer server may answer with a code this client does not list.
        raise RequestError(cast(ErrorCode, reply.error.code), reply.error.message, retryable=reply.error.retryable)
    return reply


async def workflow_status(bus: Bus, workflow_id: str, timeout: float) -> WorkflowProgress:
    """The orchestrator's view of one workflow (``RequestError`` ``unknown_workflow`` when it has none)."""
    return await ask(bus, subjects.STATUS, StatusRequest(workflow_id=workflow_id), status_reply_decoder, timeout)


async def catalog_lineage(bus: Bus, workflow_id: str, timeout: float) -> LineageReply:
    """The catalog's lineage of one workflow (``RequestError`` ``unknown_workflow`` when it has recorded none of it,
    ``BusError`` ``no_catalog`` when no catalog runs)."""
    request = LineageRequest(workflow_id=workflow_id)
    unserved = BusError(
        "no_catalog",
        f"no catalog is serving {subjects.CATALOG_LINEAGE}; start one with 'gaai up' or 'gaai agent catalog'",
    )
    return await ask(bus, subjects.CATALOG_LINEAGE, request, lineage_reply_decoder, timeout, unserved)
