"""Request/reply endpoints (``gaai.workflow.submit``, ``gaai.workflow.status``…).

Every answer is JSON. A handler returns a Struct or raises ``RequestError``; anything
else becomes ``{"error": {"code": "internal", ...}}``. The process never dies of a request.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import nats.errors
import structlog
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription

from gaai.bus.codec import encode
from gaai.bus.connection import Bus
from gaai.bus.contract import ErrorCode, ErrorReply
from gaai.bus.errors import GaaiError, error_info

log = structlog.get_logger("bus.service")

MAX_REQUEST_BYTES = 8 * 1024 * 1024

RequestHandler = Callable[[bytes], Awaitable[object]]


async def add_endpoint(bus: Bus, subject: str, queue: str, handler: RequestHandler) -> Subscription:
    """Serve ``subject`` in queue group ``queue`` so replicas share requests; live on the server when it returns."""

    async def on_request(msg: Msg) -> None:
        if not msg.reply:
            return
        reply = await answer(handler, msg.data)
        try:
            await msg.respond(encode(reply))
        except nats.errors.Error as exc:
            log.warning("could not answer request", subject=subject, error=str(exc))

    subscription = await bus.nc.subscribe(subject, queue=queue, cb=on_request, pending_msgs_limit=65_536)
    await bus.nc.flush()
    return subscription


async def answer(handler: RequestHandler, data: bytes) -> object:
    if len(data) > MAX_REQUEST_BYTES:
        return error_reply("too_large", f"request of {len(data)} bytes exceeds the limit of {MAX_REQUEST_BYTES}")
    try:
        return await handler(data)
    except GaaiError as exc:
        return ErrorReply(error=exc.info())
    except asyncio.CancelledError:
        raise
    except Exception as exc:  # a request must never take the process down
        log.exception("request handler crashed")
        return error_reply("internal", f"internal error: {type(exc).__name__}")


def error_reply(code: ErrorCode, message: str) -> ErrorReply:
    return ErrorReply(error=error_info(code, message))
